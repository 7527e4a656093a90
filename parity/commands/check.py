"""``parity check`` and ``parity diff``: choose the sides, read them, compare, write the report."""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from dataclasses import replace

from parity.commands._shared import (
    Deferred,
    context_notes,
    context_venvs,
    dockerfile_build,
    load_pair,
    make_loader,
    markers_of,
    policy_for,
    print_hints,
    settings_for,
    start_deferred,
)
from parity.compare import NamedEnvironment, compare, compare_with_declaration
from parity.detect import (
    detect_container,
    detect_declared_source,
    detect_local,
    dockerfile_context,
)
from parity.errors import UsageError
from parity.model import Environment, ProjectFacts
from parity.output import write_outputs, write_report_set
from parity.progress import Progress
from parity.report import Report
from parity.sources import SourceRef, parse_source
from parity.sources.load import SourceLoader
from parity.sources.project import read_project_facts


def run_check(args: argparse.Namespace) -> int:
    """``parity check``: the project's local side against its container side."""
    project_dir = args.project_dir
    if not os.path.isdir(project_dir):
        raise UsageError(f"{project_dir}: no such project directory")
    args.settings = settings = settings_for(args, project_dir)
    # Read while the probe container runs (or when compared, if nothing is probed).
    args.project_facts = Deferred(
        lambda: read_project_facts(project_dir, settings.dev_requirements)
    )
    with Progress(verbose=args.verbose, quiet=args.quiet) as progress:
        if settings.config_path:
            progress.note(f"settings from {settings.config_path}")
        declared: SourceRef | None = None
        if settings.local:
            local = parse_source(settings.local)
        else:
            local, why = detect_local(project_dir, os.environ)
            progress.note(f"local side: {local} (detected: {why}; --local overrides)")
            if local.kind == "venv":
                declared = detect_declared_source(project_dir)
                if declared is not None:
                    progress.note(f"declared: {declared} (shown as a third column)")
        if args.all_services:
            return _check_all_services(args, local, project_dir, progress)
        if settings.container:
            container = parse_source(settings.container)
        else:
            container, why = detect_container(project_dir)
            progress.note(f"container side: {container} ({why}; --container overrides)")
        if container.kind == "dockerfile":
            context, why = dockerfile_context(container, project_dir, settings.context)
            if settings.context or context != os.path.dirname(os.path.abspath(container.ref)):
                progress.note(f"build context: {context} ({why}; --context overrides)")
            args.settings = settings = replace(settings, context=context)
        notes = _context_findings(args, project_dir, local, container, progress)
        if declared is not None:
            return _check_with_declaration(args, declared, local, container, progress, notes)
        return _compare_and_report(
            args, ("local", local), ("container", container), progress, notes
        )


def _context_findings(
    args: argparse.Namespace,
    project_dir: str,
    local: SourceRef,
    container: SourceRef,
    progress: Progress,
) -> tuple[str, ...]:
    """Warnings about what the build context takes in (the local venv, parity's own report).

    A previous report that the build would copy in is refused (exit 2): it would change the
    image on every check. With -v, the layer-order lesson and a large context are noted.
    """
    from parity.dockerfile import check_context
    from parity.output import output_requests

    build = dockerfile_build(container, args.settings.context)
    if build is None:
        return ()
    dockerfile, context = build
    venvs = context_venvs(project_dir, os.environ, local)
    outputs = [request.path for request in output_requests(args) if request.path]
    findings = check_context(dockerfile, context, venvs, outputs)
    if findings.refusal is not None:
        raise UsageError(findings.refusal)
    table_on_stdout = any(
        request.path is None and request.format_name == "table" for request in output_requests(args)
    )
    if not table_on_stdout:  # the table would show them; else they would go unseen
        for warning in findings.warnings:
            progress.note(f"warning: {warning}")
    if args.verbose:
        for note in context_notes(dockerfile, context):
            progress.note(note)
    return findings.warnings


def _check_all_services(
    args: argparse.Namespace, local: SourceRef, project_dir: str, progress: Progress
) -> int:
    """``check --all-services``: the local side against every compose service it can check.

    A service that cannot be built or probed is reported with its reason and the others
    are still checked; the exit code is the worst of the checked services, and 2 only
    when none could be checked.
    """
    from parity.errors import NoInterpreterError, ParityError
    from parity.sources.compose import load_project
    from parity.sources.load import MARKER_DEPENDENT_KINDS

    project = load_project(project_dir)
    progress.note(f"compose model from {project.reader} ({project.path})")
    loader = make_loader(args, progress)
    loader.prober.compose_projects[project.path] = project
    reports: list[tuple[str, Report]] = []
    skipped: list[tuple[str, str]] = []
    try:
        pending_local = None if local.kind in MARKER_DEPENDENT_KINDS else loader.start(local)
        local_env: Environment | None = None
        for service in project.services:
            if not service.active:
                skipped.append((service.name, "its profile is not enabled"))
                continue
            ref = SourceRef("compose", f"{service.name}@{project.path}")
            try:
                container_env = loader.load(ref)
            except NoInterpreterError:
                skipped.append((service.name, "no Python in its image"))
                continue
            except ParityError as error:
                skipped.append((service.name, _reason(error)))
                continue
            if pending_local is not None:
                local_env = local_env or pending_local()
                service_local = local_env
            else:
                service_local = loader.load(local, marker_env=markers_of(container_env))
            report = compare(
                NamedEnvironment("local", service_local),
                NamedEnvironment("container", container_env),
                policy_for(args),
                _project_facts(args),
            )
            reports.append((service.name, report))
    finally:
        loader.prober.close()
        progress.stop()
    if not _skips_on_stdout(args):
        for name, reason in skipped:
            progress.note(f"skipped service {name}: {reason}")
    if not reports:
        reasons = "; ".join(f"{name}: {reason}" for name, reason in skipped) or "none"
        raise UsageError(f"{project.path}: no service could be checked ({reasons})")
    write_report_set(args, reports, skipped)
    return 1 if any(report.has_drift for _, report in reports) else 0


def _project_facts(args: argparse.Namespace) -> ProjectFacts | None:
    """The project facts ``check`` started reading; None for ``diff``."""
    pending = getattr(args, "project_facts", None)
    return pending() if pending is not None else None


def _reason(error: Exception) -> str:
    """The reason a service was skipped: the error's own words, on one line."""
    from parity.errors import SourceError

    text = error.reason if isinstance(error, SourceError) else str(error)
    return " ".join(text.split())


def _skips_on_stdout(args: argparse.Namespace) -> bool:
    """Whether the report on stdout lists the skipped services itself (table, markdown)."""
    from parity.output import output_requests

    return any(
        request.path is None and request.format_name in ("table", "markdown")
        for request in output_requests(args)
    )


def run_diff(args: argparse.Namespace) -> int:
    """``parity diff A B``: any two sources, sides named left and right."""
    left, right = parse_source(args.left), parse_source(args.right)
    args.settings = settings_for(args, ".")
    args.project_facts = None  # two arbitrary sources: no project to read
    with Progress(verbose=args.verbose, quiet=args.quiet) as progress:
        return _compare_and_report(args, ("left", left), ("right", right), progress)


def _check_with_declaration(
    args: argparse.Namespace,
    declared: SourceRef,
    local: SourceRef,
    container: SourceRef,
    progress: Progress,
    notes: tuple[str, ...] = (),
) -> int:
    """Three columns: the project's declaration or lock, the local venv, the container."""
    loader = make_loader(args, progress)
    try:
        local_env, container_env = load_pair(loader, local, container, lambda: start_deferred(args))
        declared_env = loader.load(declared, marker_env=markers_of(container_env))
        notes += _better_environment(loader, local_env, container_env)
    finally:
        loader.prober.close()
        progress.stop()
    report = compare_with_declaration(
        NamedEnvironment("declared", declared_env),
        NamedEnvironment("local", local_env),
        NamedEnvironment("container", container_env),
        policy_for(args),
        _project_facts(args),
    )
    report = replace(report, warnings=report.warnings + notes)
    write_outputs(args, report)
    if args.fix_hints:
        print_hints(args, report, local_env, container_env, declared_env)
    return 1 if report.has_drift else 0


def _compare_and_report(
    args: argparse.Namespace,
    left: tuple[str, SourceRef],
    right: tuple[str, SourceRef],
    progress: Progress,
    notes: tuple[str, ...] = (),
) -> int:
    loader = make_loader(args, progress)
    try:
        left_env, right_env = load_pair(loader, left[1], right[1], lambda: start_deferred(args))
        if right[0] == "container":
            notes += _better_environment(loader, left_env, right_env)
    finally:
        loader.prober.close()
        progress.stop()
    report = compare(
        NamedEnvironment(left[0], left_env),
        NamedEnvironment(right[0], right_env),
        policy_for(args),
        _project_facts(args),
    )
    report = replace(report, warnings=report.warnings + notes)
    write_outputs(args, report)
    if args.fix_hints:
        print_hints(args, report, left_env, right_env)
    return 1 if report.has_drift else 0


def _better_environment(
    loader: SourceLoader, local: Environment, container: Environment
) -> tuple[str, ...]:
    """A warning when another venv of the image matches the local side clearly better.

    Looked for only when the chosen interpreter holds less than half of the local side's
    packages (at their versions): the image's venvs are listed through the archive API in a
    container that is never started.
    """
    from parity.policy import TOOLING

    if container.image_id is None or container.interpreter is None or container.kind == "container":
        return ()
    wanted: dict[str, str | None] = {
        package.key: package.version for package in local.packages if package.key not in TOOLING
    }
    wanted.update({item.key: None for item in local.requirements if item.key not in TOOLING})
    if len(wanted) < 3:
        return ()

    def score(versions: Mapping[str, str]) -> int:
        return sum(
            1
            for name, version in wanted.items()
            if name in versions and version in (None, versions[name])
        )

    current = score({package.key: package.version for package in container.packages})
    if current * 2 >= len(wanted):
        return ()
    others = loader.prober.other_environments(container.image_id, container.interpreter.executable)
    if not others:
        return ()
    best = max(others, key=lambda other: score(other.versions))
    matched = score(best.versions)
    if matched < max(2 * current, current + 3):
        return ()
    return (
        f"the image also holds {best.python} ({best.where}), where {matched} of the "
        f"{len(wanted)} local packages are at the same version, against {current} for "
        f"{container.interpreter.executable}: to check it, add --python {best.python}",
    )
