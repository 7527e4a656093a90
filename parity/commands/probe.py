"""``parity probe`` and ``parity snapshot``: read one source and show or save it."""

from __future__ import annotations

import argparse
import sys

from parity.commands._shared import make_loader, settings_for
from parity.model import Environment
from parity.progress import Progress
from parity.sources import parse_source


def run_probe(args: argparse.Namespace) -> int:
    """``parity probe SOURCE``: one environment's facts."""
    from parity.formats.environment import render_environment

    environment, _ = _load_one(args)
    sys.stdout.write(render_environment(environment, args.format))
    return 0


def _load_one(args: argparse.Namespace) -> tuple[Environment, Progress]:
    """Read ``args.source`` (probe, snapshot): one environment, progress shown meanwhile."""
    source = parse_source(args.source)
    args.settings = settings_for(args, ".")
    with Progress(verbose=args.verbose, quiet=args.quiet) as progress:
        loader = make_loader(args, progress)
        try:
            environment = loader.load(source)
        finally:
            loader.prober.close()
    return environment, progress


def run_snapshot(args: argparse.Namespace) -> int:
    """``parity snapshot SOURCE -o FILE``: save an environment for later comparison."""
    import json

    from parity.output import write_atomically
    from parity.snapshot import environment_to_dict

    environment, progress = _load_one(args)
    text = json.dumps(environment_to_dict(environment), indent=2, ensure_ascii=False) + "\n"
    if args.output:
        write_atomically(args.output, text)
        progress.note(f"saved {args.source} to {args.output}; compare with snapshot:{args.output}")
    else:
        sys.stdout.write(text)
    return 0
