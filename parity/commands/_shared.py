"""What the commands share: settings, the source loader, the policy, reading both sides."""

from __future__ import annotations

import argparse
import os
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Generic, TypeVar

from parity.config import ParityConfig, Settings, load_config, merge
from parity.engine.build import BuildOptions
from parity.engine.probe_container import ProbeLimits
from parity.errors import UsageError
from parity.model import Environment
from parity.policy import Policy
from parity.progress import Progress
from parity.report import Report, Severity
from parity.sources import SourceRef
from parity.sources.container import ContainerOptions, ContainerProber, ProbeEvent
from parity.sources.load import DeclarationOptions, SourceLoader

T = TypeVar("T")


class Deferred(Generic[T]):
    """A pure reading (files only: no engine, no subprocess), done when first asked for, or
    started earlier in a thread (:meth:`start`) to run while the main thread waits on the
    engine. Its exception is raised where its value is asked for.
    """

    def __init__(self, function: Callable[[], T]) -> None:
        self._function = function
        self._thread: threading.Thread | None = None
        self._outcome: list[T] = []
        self._failure: list[BaseException] = []

    def start(self) -> None:
        """Run it in a daemon thread now (a second call does nothing)."""
        if self._thread is None and not self._outcome and not self._failure:
            self._thread = threading.Thread(target=self._run, name="parity-deferred", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        try:
            self._outcome.append(self._function())
        except BaseException as error:  # handed to whoever asks for the value
            self._failure.append(error)

    def __call__(self) -> T:
        if self._thread is not None:
            self._thread.join()
        elif not self._outcome and not self._failure:
            self._run()
        if self._failure:
            raise self._failure[0]
        return self._outcome[0]


def settings_for(args: argparse.Namespace, project_dir: str) -> Settings:
    """The effective settings: the command line over $PARITY_BUILD_NETWORK over the config file."""
    given = ParityConfig(
        local=getattr(args, "local", None),
        container=getattr(args, "container", None),
        context=getattr(args, "context", None),
        build_args=_build_args(args.build_args) if args.build_args else None,
        target=args.target,
        build_network=args.build_network,
        build_timeout=getattr(args, "build_timeout", None),
        platform=args.platform,
        python=args.python,
        ignore=tuple(args.ignore) if getattr(args, "ignore", None) else None,
        fail_on=Severity(args.fail_on) if getattr(args, "fail_on", None) else None,
        include_tooling=getattr(args, "include_tooling", None),
    )
    return merge(load_config(project_dir), given, os.environ)


def build_options(
    settings: Settings, *, pull: bool = False, no_cache: bool = False, secrets: tuple[str, ...] = ()
) -> BuildOptions:
    """How the container side is built, from the settings (check, diff, probe and doctor)."""
    return BuildOptions(
        build_args=dict(settings.build_args),
        target=settings.target,
        network_mode=settings.build_network,
        platform=settings.platform,
        pull=pull,
        context=settings.context,
        no_cache=no_cache,
        secrets=secrets,
        timeout=settings.build_timeout,
    )


def start_deferred(args: argparse.Namespace) -> None:
    """Start reading the project's facts now, if ``check`` deferred them (see Deferred)."""
    pending = getattr(args, "project_facts", None)
    if isinstance(pending, Deferred):
        pending.start()


def make_loader(args: argparse.Namespace, progress: Progress) -> SourceLoader:
    settings: Settings = args.settings
    options = ContainerOptions(
        build=build_options(
            settings,
            pull=args.pull,
            no_cache=args.no_cache,
            secrets=tuple(getattr(args, "secrets", None) or ()),
        ),
        python=settings.python,
        use_cache=not args.no_cache,
        static=args.static,
        limits=ProbeLimits(timeout_seconds=args.probe_timeout),
    )

    def on_progress(event: ProbeEvent) -> None:
        progress.event(event)
        if event.stage == "probe":
            start_deferred(args)  # read the project's facts while the probe container runs

    prober = ContainerProber(options, on_progress=on_progress)
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


def policy_for(args: argparse.Namespace) -> Policy:
    settings: Settings = args.settings
    return settings.policy(show_same=args.show_same)


def print_hints(
    args: argparse.Namespace,
    report: Report,
    local: Environment,
    container: Environment,
    declared: Environment | None = None,
) -> None:
    """``--fix-hints``: one command a line, under the table (stderr when stdout is data).

    ``report`` is the one shown (three columns with ``declared``); the commands speak the
    tool that manages the local venv.
    """
    from parity.hints import fix_hints
    from parity.output import SUMMARY, output_requests
    from parity.venv_manager import venv_manager

    # Rows set aside (development-only, installer tooling, the project) need no fixing.
    counted = replace(report, packages=tuple(report.counted_packages()))
    project_dir = getattr(args, "project_dir", None)
    manager = venv_manager(local.ref if local.kind == "venv" else None, project_dir)
    hints = fix_hints(
        counted, local, container, policy_for(args), declared=declared, manager=manager
    )
    if not hints:
        return
    # Under the table or the summary line; on stderr when stdout carries data (JSON...).
    data_on_stdout = any(
        request.path is None and request.format_name not in ("table", SUMMARY)
        for request in output_requests(args)
    )
    stream = sys.stderr if data_on_stdout else sys.stdout
    print("\nTo make the local side match the container:", file=stream)
    for hint in hints:
        print(hint, file=stream)


def load_pair(
    loader: SourceLoader,
    left: SourceRef,
    right: SourceRef,
    while_waiting: Callable[[], None] | None = None,
) -> tuple[Environment, Environment]:
    """Read both sides, overlapping a local probe with the container side.

    Live local probes start first and run while the container side builds and probes.
    A lock file whose reading depends on the other side's marker environment is read
    last, with the other side's markers. ``while_waiting`` is called before waiting for a
    local probe (to start other work meanwhile).
    """
    from parity.sources.load import LIVE_LOCAL_KINDS, MARKER_DEPENDENT_KINDS

    sides = (left, right)
    deferred = [i for i, side in enumerate(sides) if side.kind in MARKER_DEPENDENT_KINDS]
    if len(deferred) == 2:
        deferred = [1]  # two lock files: the right one is read for the left one's markers
    pending = {i: loader.start(side) for i, side in enumerate(sides) if i not in deferred}
    results: dict[int, Environment] = {}
    for index in sorted(pending, key=lambda i: _reading_order(sides[i])):
        if while_waiting is not None and sides[index].kind in LIVE_LOCAL_KINDS:
            while_waiting()
        results[index] = pending[index]()
    for index in deferred:
        other = results.get(1 - index)
        markers = markers_of(other) if other is not None else None
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


def markers_of(environment: Environment) -> Mapping[str, str] | None:
    return environment.interpreter.markers if environment.interpreter is not None else None


def context_venvs(
    project_dir: str, environ: Mapping[str, str], local: SourceRef | None
) -> list[str]:
    """The local venvs a build context may take in: the local side's first, then those found."""
    from parity.sources.venv import find_local_venvs

    venvs = [found.path for found in find_local_venvs(project_dir, environ)]
    if local is not None and local.kind == "venv":
        venvs.insert(0, local.ref)
    return venvs


def dockerfile_build(container: SourceRef, context: str | None) -> tuple[str, str] | None:
    """(Dockerfile, context) the container side builds from; None for an existing image."""
    from parity.errors import ParityError
    from parity.sources.container import resolve_dockerfile

    try:
        if container.kind == "dockerfile":
            folder, dockerfile = resolve_dockerfile(container.ref)
            return dockerfile, context or folder
        if container.kind == "compose":
            from parity.sources.compose import find_compose_file, load_compose, service

            name, _, path = container.ref.partition("@")
            compose_file = path or find_compose_file(".", search_parents=True)
            if compose_file is None:
                return None
            build = service(load_compose(compose_file), name).build
            if build is not None and build.is_local and build.dockerfile_inline is None:
                return build.dockerfile, build.context
    except ParityError:
        return None  # the check itself says what is wrong with the side
    return None


def context_notes(dockerfile: str, context: str) -> list[str]:
    """The layer-order lesson and the large-context note, when they apply."""
    from parity.dockerfile import (
        DockerIgnore,
        context_size,
        large_context_note,
        layer_order,
        read_instructions,
    )

    notes = []
    lesson = layer_order(read_instructions(dockerfile), context)
    if lesson is not None:
        notes.append(f"layer order: {lesson.lesson(os.path.relpath(dockerfile))}")
    large = large_context_note(context, context_size(context, DockerIgnore.read(context)))
    if large is not None:
        notes.append(large)
    return notes
