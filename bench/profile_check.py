"""Where one parity run spends its time, phase by phase (needs pyinstrument).

Runs ``parity ARGS`` in a fresh process under pyinstrument (wall-clock sampling, so time
spent waiting on the engine counts), N times, and prints the median inclusive time of
each phase: imports, engine connection, build (context tarball, the engine's cached
build), the probe container (create, start, the probe running, removal), the probe cache,
parsing, compare() and rendering. A phase that did not occur shows 0.

    pip install pyinstrument
    PARITY_CACHE_DIR=$(mktemp -d) python bench/profile_check.py --runs 5 --cold -- \\
        check PROJECT --local venv:VENV --container dockerfile:PROJECT/Dockerfile

``--cold`` gives every run a new empty PARITY_CACHE_DIR; without it the runs share the
caller's (run once first to warm it). ``--tree FILE`` also writes the last run's full
pyinstrument tree.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence

# (label, function name, fragment of the file path); inclusive time of the outermost frames.
PHASES: tuple[tuple[str, str, str], ...] = (
    ("imports (all modules, first use)", "_find_and_load", "importlib._bootstrap"),
    ("command line parsing", "parse_args", "argparse"),
    ("engine: connect + ping", "connect", "parity/engine/client.py"),
    ("engine: sweep stale containers", "sweep_stale_containers", "parity/engine/"),
    ("build: whole (build_image)", "build_image", "parity/engine/build.py"),
    ("build: context tarball", "tar", "docker/utils/build.py"),
    ("build: engine answers (stream)", "_stream_helper", "docker/api/client.py"),
    ("image: inspect", "inspect_image", "docker/api/image.py"),
    ("probe cache: read", "get", "parity/cache.py"),
    ("probe cache: write", "put", "parity/cache.py"),
    ("probe: whole run_probe", "run_probe", "parity/engine/probe_container.py"),
    ("probe: create container", "create_container", "docker/api/container.py"),
    ("probe: attach", "attach", "docker/api/container.py"),
    ("probe: start", "start", "docker/api/container.py"),
    ("probe: wait for output", "_read_with_limits", "parity/engine/probe_container.py"),
    ("probe: wait for output", "read_probe_output", "parity/engine/probe_container.py"),
    ("probe: remove container", "remove_container", "docker/api/container.py"),
    ("local probe: wait + parse", "result", "parity/sources/venv.py"),
    ("parse probe output (both sides)", "parse_probe_output", "parity/probe.py"),
    ("compare()", "compare", "parity/compare.py"),
    ("render report", "render", "parity/formats/__init__.py"),
    ("engine: close", "close", "parity/sources/container.py"),
)

_DRIVER = """
import json, sys, time
start = time.perf_counter()
from pyinstrument import Profiler
profiler = Profiler(interval={interval})
profiler.start()
from parity.cli import main
try:
    code = main({argv!r})
except SystemExit as exit:
    code = exit.code
profiler.stop()
inside = time.perf_counter() - start
sys.stdout.flush()
session = profiler.last_session
phases = {phases!r}
totals = {{}}

IMPORTS = phases[0][0]

def walk(frame, open_labels):
    labels = set(open_labels)
    path = (frame.file_path or "").replace("\\\\", "/")
    for label, function, fragment in phases:
        if frame.function == function and fragment in path and label not in open_labels:
            totals[label] = totals.get(label, 0.0) + frame.time
            labels.add(label)
            if label == IMPORTS:
                for outer in open_labels:  # imports first done inside another phase
                    key = outer + " [imports]"
                    totals[key] = totals.get(key, 0.0) + frame.time
    for child in frame.children:
        walk(child, labels)

root = session.root_frame()
if root is not None:
    walk(root, set())
if {tree!r}:
    with open({tree!r}, "w") as stream:
        stream.write(profiler.output_text(show_all=True))
with open({result!r}, "w") as stream:
    json.dump({{"inside": inside, "exit": code, "phases": totals}}, stream)
"""


def profile_once(
    argv: Sequence[str], env: dict[str, str], interval: float, tree: str
) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as scratch:
        result = os.path.join(scratch, "result.json")
        driver = _DRIVER.format(
            interval=interval, argv=list(argv), phases=PHASES, tree=tree, result=result
        )
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-c", driver],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            check=True,
        )
        wall = time.perf_counter() - start
        with open(result, encoding="utf-8") as stream:
            data = json.load(stream)
    if data["exit"] not in (0, 1):
        raise SystemExit(f"parity exited {data['exit']}")
    timings = {label: float(seconds) for label, seconds in data["phases"].items()}
    timings["wall (process)"] = wall
    timings["interpreter start-up (before the profiler)"] = wall - float(data["inside"])
    return timings


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cold", action="store_true", help="a new empty cache for every run")
    parser.add_argument("--interval", type=float, default=0.0005, help="sampling interval (s)")
    parser.add_argument("--tree", default="", metavar="FILE", help="write the last run's tree")
    parser.add_argument("--json", default="", metavar="FILE", help="write all runs as JSON")
    parser.add_argument("parity_args", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    parity_args = [arg for arg in args.parity_args if arg != "--"] if args.parity_args else []
    if not parity_args:
        parser.error("give parity's arguments after --")
    runs: list[dict[str, float]] = []
    for index in range(args.runs):
        env = dict(os.environ)
        cache = tempfile.mkdtemp(prefix="parity-profile-") if args.cold else None
        if cache is not None:
            env["PARITY_CACHE_DIR"] = cache
        try:
            last = index == args.runs - 1
            runs.append(profile_once(parity_args, env, args.interval, args.tree if last else ""))
        finally:
            if cache is not None:
                shutil.rmtree(cache, ignore_errors=True)
    labels = ["wall (process)", "interpreter start-up (before the profiler)"]
    labels += list(dict.fromkeys(label for label, _, _ in PHASES))
    print(f"{'phase (median of ' + str(args.runs) + ' runs, ms)':<46} {'median':>8} {'min':>8}")
    print(f"{'':<46} {'':>8} {'':>8}  of which imports")
    for label in labels:
        values = [run.get(label, 0.0) * 1000 for run in runs]
        imports = [run.get(label + " [imports]", 0.0) * 1000 for run in runs]
        inside = f"  {statistics.median(imports):8.1f}" if any(imports) else ""
        print(f"{label:<46} {statistics.median(values):8.1f} {min(values):8.1f}{inside}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as stream:
            json.dump(runs, stream, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
