"""``parity doctor``: everything between a newcomer and a working ``parity check``.

It looks, in order, at the project's configuration, the container engine, the two sides
``parity check`` would pick, the Python on each side, and then runs the check and prints
its fix hints. Each finding is one line: ``[ok]``, ``[note]`` or ``[problem]`` with what to
do about it. Exit code 0 when nothing stands in the way of a check (drift may still be
shown: the check ran), 2 otherwise.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TextIO

from parity.config import ParityConfig, Settings, load_config, merge
from parity.errors import BuildError, ParityError
from parity.model import Environment, Level
from parity.sources import SourceRef, parse_source

if TYPE_CHECKING:
    from parity.sources.load import SourceLoader

EXIT_READY = 0
EXIT_BLOCKED = 2


def run_doctor(project_dir: str, environ: Mapping[str, str], out: TextIO) -> int:
    """Diagnose ``project_dir`` for ``parity check``; write the findings to ``out``."""
    doctor = _Doctor(out, environ)
    out.write(f"parity doctor: {os.path.abspath(project_dir)}\n")
    if not os.path.isdir(project_dir):
        doctor.problem(f"project directory: {project_dir} does not exist")
        return EXIT_BLOCKED
    settings = _configuration(doctor, project_dir, environ)
    client = _engine(doctor, environ)
    try:
        local = _side(doctor, "local", settings.local if settings else None, project_dir, environ)
        container = _side(
            doctor, "container", settings.container if settings else None, project_dir, environ
        )
        if container is not None and settings is not None:
            settings = _build_context(doctor, settings, container, project_dir, local)
        if settings is not None and local is not None:
            _check(doctor, settings, client, local, container, project_dir)
    finally:
        if client is not None:
            client.close()
    return EXIT_BLOCKED if doctor.problems else EXIT_READY


class _Doctor:
    """Writes findings and counts the problems."""

    def __init__(self, out: TextIO, environ: Mapping[str, str]) -> None:
        self.out = out
        self.environ = environ
        self.problems = 0

    def ok(self, text: str) -> None:
        self._line("ok", text)

    def note(self, text: str, *advice: str) -> None:
        self._line("note", text, advice)

    def problem(self, text: str, *advice: str) -> None:
        self.problems += 1
        self._line("problem", text, advice)

    def _line(self, mark: str, text: str, advice: tuple[str, ...] = ()) -> None:
        self.out.write(f"[{mark}] {text}\n")
        for line in advice:
            self.out.write(f"          {line}\n")
        self.out.flush()

    def section(self, title: str, text: str) -> None:
        self.out.write(f"\n{title}\n")
        self.out.write(text if text.endswith("\n") else text + "\n")


# --- configuration ---------------------------------------------------------------------------


def _configuration(
    doctor: _Doctor, project_dir: str, environ: Mapping[str, str]
) -> Settings | None:
    try:
        config = load_config(project_dir)
    except ParityError as error:
        doctor.problem(f"configuration: {error}", "fix the file; parity check stops on it too")
        return None
    if config.path is None:
        doctor.ok("configuration: none (optional: [tool.parity] in pyproject.toml, or parity.toml)")
    else:
        doctor.ok(f"configuration: {config.path}")
    return merge(config, ParityConfig(), environ)


# --- the engine ------------------------------------------------------------------------------


def _engine(doctor: _Doctor, environ: Mapping[str, str]) -> Any:
    """A connected docker client, or None after saying how to start an engine."""
    from parity.engine.client import connect, current_context_name, engine_address

    try:
        client = connect(timeout=60, environ=environ)
    except ParityError as error:
        doctor.problem(f"container engine: {error}", *_engine_advice(environ))
        return None
    version = _engine_version(client)
    doctor.ok(f"container engine: {version} at {engine_address(environ)}")
    context = current_context_name(environ)
    if context and context != "default" and environ.get("DOCKER_HOST"):
        doctor.note(f"DOCKER_HOST overrides the docker context {context!r}")
    return client


def _engine_version(client: Any) -> str:
    try:
        version = client.version()
    except Exception:  # an engine that answers ping but not version: still usable
        return "an engine"
    name = "Podman" if "podman" in str(version.get("Components", "")).lower() else "Docker"
    return f"{name} {version.get('Version', '?')} (API {version.get('ApiVersion', '?')})"


def _engine_advice(environ: Mapping[str, str]) -> list[str]:
    advice = [
        "to start one:",
        "  Linux: sudo systemctl start docker  (then: sudo usermod -aG docker $USER, log in again)",
        "  macOS, Windows: start Docker Desktop",
        "  Podman: systemctl --user start podman.socket and "
        "export DOCKER_HOST=unix://$XDG_RUNTIME_DIR/podman/podman.sock",
        "  in parity's own repository: scripts/engine-up",
    ]
    if environ.get("DOCKER_HOST"):
        advice.append(
            f"DOCKER_HOST is set to {environ['DOCKER_HOST']}: start the engine it names, "
            "or unset it to use the default socket"
        )
    elif environ.get("DOCKER_CONTEXT"):
        advice.append(
            f"DOCKER_CONTEXT is set to {environ['DOCKER_CONTEXT']}: see `docker context ls`"
        )
    return advice


# --- the sides -------------------------------------------------------------------------------


def _side(
    doctor: _Doctor,
    name: str,
    configured: str | None,
    project_dir: str,
    environ: Mapping[str, str],
) -> SourceRef | None:
    from parity.detect import container_candidates, detect_container, detect_local
    from parity.sources.venv import find_local_venvs

    try:
        if configured:
            source = parse_source(configured)
            doctor.ok(f"{name} side: {source} (from the configuration)")
            return source
        if name == "local":
            source, why = detect_local(project_dir, environ)
            chosen = why.split("; also found")[0]
            doctor.ok(f"local side: {source} (detected: {chosen}; --local overrides)")
            for venv in find_local_venvs(project_dir, environ)[1:]:
                doctor.note(f"also a venv: {venv.why}", f"pick it with --local venv:{venv.path}")
        else:
            candidates = container_candidates(project_dir)
            source, _ = detect_container(project_dir)
            doctor.ok(f"container side: {source} (detected; --container overrides)")
            for other in candidates[1:]:
                doctor.note(f"also a container side: {other}", f"pick it with --container {other}")
    except ParityError as error:
        doctor.problem(f"{name} side: {error}")
        return None
    if name == "local" and source.kind != "venv":
        doctor.note(
            "no virtualenv found ($VIRTUAL_ENV, a folder with a pyvenv.cfg, a Poetry or Pipenv "
            f"venv for the project): parity compares what {source.ref} declares, not what is "
            "installed"
        )
    return source


def _build_context(
    doctor: _Doctor,
    settings: Settings,
    container: SourceRef,
    project_dir: str,
    local: SourceRef | None,
) -> Settings:
    """The build context, and what it takes in: the venv, the layer order, its size."""
    from dataclasses import replace

    from parity.commands._shared import context_notes, context_venvs, dockerfile_build
    from parity.detect import dockerfile_context
    from parity.dockerfile import check_context

    if container.kind == "dockerfile":
        try:
            context, why = dockerfile_context(container, project_dir, settings.context)
        except ParityError as error:
            doctor.problem(f"container side: {error}")
            return settings
        doctor.ok(f"build context: {context} ({why}; --context overrides)")
        settings = replace(settings, context=context)
    build = dockerfile_build(container, settings.context)
    if build is None:
        return settings
    dockerfile, context = build
    venvs = context_venvs(project_dir, doctor.environ, local)
    for warning in check_context(dockerfile, context, venvs, ()).warnings:
        doctor.note(warning)
    for note in context_notes(dockerfile, context):
        doctor.note(note)
    return settings


# --- the check -------------------------------------------------------------------------------


def _check(
    doctor: _Doctor,
    settings: Settings,
    client: Any,
    local_source: SourceRef,
    container_source: SourceRef | None,
    project_dir: str,
) -> None:
    from parity.sources.load import MARKER_DEPENDENT_KINDS

    loader = _loader(settings, client, doctor.environ)
    try:
        container = None
        if client is not None and container_source is not None:
            container = _load(doctor, loader, container_source, "container side")
        if container is not None:
            doctor.ok(f"container Python: {_describe_python(container)}")
            if container.python_choice:
                doctor.note(
                    f"container Python chosen: {container.python_choice}",
                    "another interpreter of the image: --python PATH",
                )
        markers = container.interpreter.markers if container and container.interpreter else None
        dependent = local_source.kind in MARKER_DEPENDENT_KINDS
        local = _load(doctor, loader, local_source, "local side", markers if dependent else None)
        if local is not None and container is not None:
            from parity.commands.check import _better_environment

            for text in _better_environment(loader, local, container):
                doctor.note(text)
        declared = None
        if local_source.kind == "venv" and container is not None:
            from parity.detect import detect_declared_source

            declared_source = detect_declared_source(project_dir)
            if declared_source is not None:
                declared = _load(doctor, loader, declared_source, "declaration", markers)
    finally:
        loader.prober.close()
    if local is not None:
        doctor.ok(f"local Python: {_describe_python(local)}")
    if local is None or container is None:
        doctor.note("the check was not run: fix the problems above first")
        return
    _report(doctor, settings, local, container, project_dir, declared)


def _loader(settings: Settings, client: Any, environ: Mapping[str, str]) -> SourceLoader:
    from parity.cache import ProbeCache, cache_dir
    from parity.commands._shared import build_options
    from parity.sources.container import ContainerOptions, ContainerProber
    from parity.sources.load import DeclarationOptions, SourceLoader

    # the settings' build timeout applies here too, as in check
    options = ContainerOptions(build=build_options(settings), python=settings.python)
    prober = ContainerProber(options, connect=lambda: client)
    prober.cache = ProbeCache(cache_dir(environ))
    return SourceLoader(prober, DeclarationOptions())


def _load(
    doctor: _Doctor,
    loader: SourceLoader,
    source: SourceRef,
    what: str,
    marker_env: Mapping[str, str] | None = None,
) -> Environment | None:
    try:
        environment = loader.load(source, marker_env=marker_env)
    except BuildError as error:
        doctor.problem(f"{what}: {error}", *error.log_tail[-10:])
        return None
    except ParityError as error:
        doctor.problem(f"{what}: {error}")
        return None
    return environment


def _describe_python(environment: Environment) -> str:
    interpreter = environment.interpreter
    if interpreter is None:
        wanted = environment.python_requirement
        declared = f"; it asks for Python {wanted}" if wanted else ""
        return f"none ({environment.ref} is a declaration{declared})"
    implementation = {"cpython": "CPython", "pypy": "PyPy"}.get(
        interpreter.implementation, interpreter.implementation
    )
    where = environment.description or environment.ref
    return f"{implementation} {interpreter.version} ({interpreter.executable}; {where})"


def _report(
    doctor: _Doctor,
    settings: Settings,
    local: Environment,
    container: Environment,
    project_dir: str,
    declared: Environment | None = None,
) -> None:
    from parity.compare import NamedEnvironment, compare, compare_with_declaration
    from parity.formats import render
    from parity.hints import fix_hints
    from parity.sources.project import read_project_facts

    policy = settings.policy()
    facts = read_project_facts(project_dir, settings.dev_requirements)
    pair = (NamedEnvironment("local", local), NamedEnvironment("container", container))
    if declared is not None:  # as `parity check` shows it: the declaration as a third column
        report = compare_with_declaration(
            NamedEnvironment("declared", declared), *pair, policy, facts
        )
    else:
        report = compare(*pair, policy, facts)
    doctor.ok("check: ran (the report is below)")
    doctor.section("Report", render(report, "table"))
    from parity.venv_manager import venv_manager

    counted = replace(report, packages=tuple(report.counted_packages()))
    manager = venv_manager(local.ref if local.kind == "venv" else None, project_dir)
    hints = list(fix_hints(counted, local, container, policy, declared=declared, manager=manager))
    hints += _venv_advice(local, container, project_dir)
    if hints:
        doctor.section(
            "Fix hints (run them in the project folder, venv activated)", "\n".join(hints)
        )
    else:
        doctor.section("Fix hints", "none needed")


def _venv_advice(local: Environment, container: Environment, project_dir: str) -> list[str]:
    """For a project without a venv: how to make one that matches the container."""
    if local.level != Level.DECLARED or container.interpreter is None:
        return []
    minor = container.interpreter.minor_version
    venv = shlex.quote(os.path.join(project_dir, ".venv"))
    steps = [
        f"# no venv yet: make one with the container's Python {minor}",
        f"python{minor} -m venv {venv}",
    ]
    if local.kind == "requirements":
        steps.append(f"{venv}/bin/python -m pip install -r {shlex.quote(local.ref)}")
    return steps
