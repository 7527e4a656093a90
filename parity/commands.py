"""The subcommands: choose the sides, read them, compare, write the report(s)."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from collections.abc import Mapping

from parity.compare import NamedEnvironment, compare, compare_with_declaration
from parity.config import ParityConfig, Settings, load_config, merge
from parity.detect import detect_container_source, detect_declared_source, detect_local_source
from parity.engine.build import BuildOptions
from parity.engine.probe_run import ProbeLimits
from parity.errors import UsageError
from parity.model import Environment
from parity.policy import Policy
from parity.progress import Progress
from parity.report import Report, Severity
from parity.sources import SourceRef, parse_source
from parity.sources.container import ContainerOptions, ContainerProber
from parity.sources.load import DeclarationOptions, SourceLoader


def settings_for(args: argparse.Namespace, project_dir: str) -> Settings:
    """The effective settings: the command line over $PARITY_BUILD_NETWORK over the config file."""
    given = ParityConfig(
        local=getattr(args, "local", None),
        container=getattr(args, "container", None),
        build_args=_build_args(args.build_args) if args.build_args else None,
        target=args.target,
        build_network=args.build_network,
        platform=args.platform,
        python=args.python,
        ignore=tuple(args.ignore) if getattr(args, "ignore", None) else None,
        fail_on=Severity(args.fail_on) if getattr(args, "fail_on", None) else None,
        include_tooling=getattr(args, "include_tooling", None),
    )
    return merge(load_config(project_dir), given, os.environ)


def run_check(args: argparse.Namespace) -> int:
    """``parity check``: the project's local side against its container side."""
    project_dir = args.project_dir
    if not os.path.isdir(project_dir):
        raise UsageError(f"{project_dir}: no such project directory")
    args.settings = settings = settings_for(args, project_dir)
    with Progress(verbose=args.verbose, quiet=args.quiet) as progress:
        if settings.config_path:
            progress.note(f"settings from {settings.config_path}")
        declared: SourceRef | None = None
        if settings.local:
            local = parse_source(settings.local)
        else:
            local = detect_local_source(project_dir, os.environ)
            progress.note(f"local side: {local} (detected; --local overrides)")
            if local.kind == "venv":
                declared = detect_declared_source(project_dir)
                if declared is not None:
                    progress.note(f"declared: {declared} (shown as a third column)")
        if args.all_services:
            return _check_all_services(args, local, project_dir, progress)
        if settings.container:
            container = parse_source(settings.container)
        else:
            container = detect_container_source(project_dir)
            progress.note(f"container side: {container} (detected; --container overrides)")
        if declared is not None:
            return _check_with_declaration(args, declared, local, container, progress)
        return _compare_and_report(args, ("local", local), ("container", container), progress)


def _check_all_services(
    args: argparse.Namespace, local: SourceRef, project_dir: str, progress: Progress
) -> int:
    """``check --all-services``: the local side against every compose service with Python."""
    from parity.errors import NoInterpreterError
    from parity.sources.compose import find_compose_file, load_compose
    from parity.sources.container import ContainerSourceError
    from parity.sources.load import MARKER_DEPENDENT_KINDS

    compose_file = find_compose_file(project_dir)
    if compose_file is None:
        raise UsageError(f"{project_dir}: --all-services needs a compose file, and there is none")
    project = load_compose(compose_file)
    loader = _loader(args, progress)
    reports: list[tuple[str, Report]] = []
    skipped: list[tuple[str, str]] = []
    try:
        pending_local = None if local.kind in MARKER_DEPENDENT_KINDS else loader.start(local)
        local_env: Environment | None = None
        for service in project.services:
            if not service.active:
                skipped.append((service.name, "its profile is not enabled"))
                continue
            ref = SourceRef("compose", f"{service.name}@{compose_file}")
            try:
                container_env = loader.load(ref)
            except NoInterpreterError:
                skipped.append((service.name, "no Python in its image"))
                continue
            except ContainerSourceError as error:
                skipped.append((service.name, error.reason))
                continue
            if pending_local is not None:
                local_env = local_env or pending_local()
                service_local = local_env
            else:
                service_local = loader.load(local, marker_env=_markers(container_env))
            report = compare(
                NamedEnvironment("local", service_local),
                NamedEnvironment("container", container_env),
                _policy(args),
            )
            reports.append((service.name, report))
    finally:
        loader.prober.close()
        progress.stop()
    for name, reason in skipped:
        progress.note(f"skipped service {name}: {reason}")
    if not reports:
        raise UsageError(f"{compose_file}: no service with Python to check")
    _write_report_set(args, reports, skipped)
    return 1 if any(report.has_drift for _, report in reports) else 0


def run_diff(args: argparse.Namespace) -> int:
    """``parity diff A B``: any two sources, sides named left and right."""
    left, right = parse_source(args.left), parse_source(args.right)
    args.settings = settings_for(args, ".")
    with Progress(verbose=args.verbose, quiet=args.quiet) as progress:
        return _compare_and_report(args, ("left", left), ("right", right), progress)


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
        loader = _loader(args, progress)
        try:
            environment = loader.load(source)
        finally:
            loader.prober.close()
    return environment, progress


def run_doctor(args: argparse.Namespace) -> int:
    """``parity doctor``: everything between a newcomer and a check."""
    from parity.doctor import run_doctor as diagnose

    return diagnose(args.project_dir, os.environ, sys.stdout)


def run_snapshot(args: argparse.Namespace) -> int:
    """``parity snapshot SOURCE -o FILE``: save an environment for later comparison."""
    import json

    from parity.cli import write_atomically
    from parity.snapshot import environment_to_dict

    environment, progress = _load_one(args)
    text = json.dumps(environment_to_dict(environment), indent=2, ensure_ascii=False) + "\n"
    if args.output:
        write_atomically(args.output, text)
        progress.note(f"saved {args.source} to {args.output}; compare with snapshot:{args.output}")
    else:
        sys.stdout.write(text)
    return 0


def _loader(args: argparse.Namespace, progress: Progress) -> SourceLoader:
    settings: Settings = args.settings
    options = ContainerOptions(
        build=BuildOptions(
            build_args=dict(settings.build_args),
            target=settings.target,
            network_mode=settings.build_network,
            platform=settings.platform,
            pull=args.pull,
        ),
        python=settings.python,
        use_cache=not args.no_cache,
        static=args.static,
        limits=ProbeLimits(timeout_seconds=args.probe_timeout),
    )
    prober = ContainerProber(options, on_progress=progress.event)
    declarations = DeclarationOptions(
        dev=args.dev,
        extras=tuple(args.extras),
        groups=tuple(args.groups),
        include_project=args.include_project,
        no_default_groups=args.no_default_groups,
    )
    return SourceLoader(prober, declarations)


def _build_args(items: list[str]) -> dict[str, str]:
    build_args: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not key:
            raise UsageError(f"--build-arg {item!r}: expected KEY=VALUE")
        # Like `docker build --build-arg KEY`: a bare KEY takes its value from the environment.
        build_args[key] = value if sep else os.environ.get(key, "")
    return build_args


def _check_with_declaration(
    args: argparse.Namespace,
    declared: SourceRef,
    local: SourceRef,
    container: SourceRef,
    progress: Progress,
) -> int:
    """Three columns: the project's declaration or lock, the local venv, the container."""
    loader = _loader(args, progress)
    try:
        local_env, container_env = _load_pair(loader, local, container)
        declared_env = loader.load(declared, marker_env=_markers(container_env))
    finally:
        loader.prober.close()
        progress.stop()
    report = compare_with_declaration(
        NamedEnvironment("declared", declared_env),
        NamedEnvironment("local", local_env),
        NamedEnvironment("container", container_env),
        _policy(args),
    )
    _write_outputs(args, report)
    if args.fix_hints:
        pair = compare(
            NamedEnvironment("local", local_env),
            NamedEnvironment("container", container_env),
            _policy(args),
        )
        _print_hints(args, pair, local_env, container_env)
    return 1 if report.has_drift else 0


def _print_hints(
    args: argparse.Namespace, report: Report, local: Environment, container: Environment
) -> None:
    """``--fix-hints``: one command a line, under the table (stderr when stdout is data)."""
    from parity.cli import output_requests
    from parity.hints import fix_hints

    hints = fix_hints(report, local, container, _policy(args))
    if not hints:
        return
    data_on_stdout = any(
        request.path is None and request.format_name != "table" for request in output_requests(args)
    )
    stream = sys.stderr if data_on_stdout else sys.stdout
    print("\nTo make the local side match the container:", file=stream)
    for hint in hints:
        print(hint, file=stream)


def _policy(args: argparse.Namespace) -> Policy:
    settings: Settings = args.settings
    return settings.policy(show_same=args.show_same)


def _compare_and_report(
    args: argparse.Namespace,
    left: tuple[str, SourceRef],
    right: tuple[str, SourceRef],
    progress: Progress,
) -> int:
    loader = _loader(args, progress)
    try:
        left_env, right_env = _load_pair(loader, left[1], right[1])
    finally:
        loader.prober.close()
        progress.stop()
    report = compare(
        NamedEnvironment(left[0], left_env), NamedEnvironment(right[0], right_env), _policy(args)
    )
    _write_outputs(args, report)
    if args.fix_hints:
        _print_hints(args, report, left_env, right_env)
    return 1 if report.has_drift else 0


def _load_pair(
    loader: SourceLoader, left: SourceRef, right: SourceRef
) -> tuple[Environment, Environment]:
    """Read both sides, overlapping a local probe with the container side.

    Live local probes start first and run while the container side builds and probes.
    A lock file whose reading depends on the other side's marker environment is read
    last, with the other side's markers.
    """
    from parity.sources.load import MARKER_DEPENDENT_KINDS

    sides = (left, right)
    deferred = [i for i, side in enumerate(sides) if side.kind in MARKER_DEPENDENT_KINDS]
    if len(deferred) == 2:
        deferred = [1]  # two lock files: the right one is read for the left one's markers
    pending = {i: loader.start(side) for i, side in enumerate(sides) if i not in deferred}
    results: dict[int, Environment] = {}
    for index in sorted(pending, key=lambda i: _reading_order(sides[i])):
        results[index] = pending[index]()
    for index in deferred:
        other = results.get(1 - index)
        markers = _markers(other) if other is not None else None
        results[index] = loader.load(sides[index], marker_env=markers)
    return results[0], results[1]


def _reading_order(source: SourceRef) -> int:
    """Files first (cheap, and their errors come at once), then containers, then live probes.

    A live local probe was started before; waiting for it last lets it run meanwhile.
    """
    from parity.sources.load import LIVE_LOCAL_KINDS

    if source.is_container:
        return 1
    return 2 if source.kind in LIVE_LOCAL_KINDS else 0


def _markers(environment: Environment) -> Mapping[str, str] | None:
    return environment.interpreter.markers if environment.interpreter is not None else None


def _write_report_set(
    args: argparse.Namespace,
    reports: list[tuple[str, Report]],
    skipped: list[tuple[str, str]],
) -> None:
    from parity.cli import output_requests, stdout_is_styled, write_atomically
    from parity.formats import render_set

    for request in output_requests(args):
        if request.path is None:
            quiet_parity = not any(report.has_drift for _, report in reports)
            if args.quiet and quiet_parity and request.format_name == "table":
                continue
            styled = stdout_is_styled(sys.stdout)
            width = shutil.get_terminal_size((100, 24)).columns
            text = render_set(reports, skipped, request.format_name, styled=styled, width=width)
            sys.stdout.write(text)
            sys.stdout.flush()
        else:
            write_atomically(request.path, render_set(reports, skipped, request.format_name))


def _write_outputs(args: argparse.Namespace, report: Report) -> None:
    from parity.cli import output_requests, stdout_is_styled, write_atomically
    from parity.formats import render

    for request in output_requests(args):
        if request.path is None:
            if args.quiet and not report.has_drift and request.format_name == "table":
                continue  # quiet and all is well: say nothing
            styled = stdout_is_styled(sys.stdout)
            width = shutil.get_terminal_size((100, 24)).columns
            sys.stdout.write(render(report, request.format_name, styled=styled, width=width))
            sys.stdout.flush()
        else:
            write_atomically(request.path, render(report, request.format_name))
