"""Turning a SourceRef into an Environment: one place that knows which module reads which kind.

Modules are imported only when their kind is used, so ``parity check`` on a venv and a
Dockerfile never imports the TOML or lock-file readers.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from parity.errors import UsageError
from parity.model import Environment
from parity.sources import SourceRef
from parity.sources.container import ContainerProber

LIVE_LOCAL_KINDS = ("venv", "python")
MARKER_DEPENDENT_KINDS = ("poetry-lock", "uv-lock", "pylock")
DECLARATION_KINDS = (
    "requirements",
    "pipfile",
    "pipfile-lock",
    "pyproject",
    *MARKER_DEPENDENT_KINDS,
)


@dataclass(frozen=True)
class DeclarationOptions:
    """Which parts of a declaration or lock to read."""

    dev: bool = False
    extras: Sequence[str] = ()
    groups: Sequence[str] = ()
    include_project: bool = False
    no_default_groups: bool = False


class SourceLoader:
    """Loads sources of every kind; container kinds go through one ContainerProber."""

    def __init__(self, prober: ContainerProber, declarations: DeclarationOptions) -> None:
        self.prober = prober
        self.declarations = declarations

    def start(self, source: SourceRef) -> Callable[[], Environment]:
        """Start reading ``source``; call the result to wait for it.

        A live local source (venv, python) starts its probe subprocess now, so it runs
        while the container side builds and probes; other kinds are read when called.
        """
        if source.kind not in LIVE_LOCAL_KINDS:
            return lambda: self.load(source)
        from parity.sources.venv import find_venv_python, start_probe

        python = find_venv_python(source.ref) if source.kind == "venv" else source.ref
        handle = start_probe(python)

        def finish() -> Environment:
            environment: Environment = handle.result()
            return replace(environment, kind=source.kind, ref=source.ref)

        return finish

    def load(self, source: SourceRef, marker_env: Mapping[str, str] | None = None) -> Environment:
        """Read ``source``; ``marker_env`` is the other side's, for lock files that need one.

        A declaration or lock takes the ``.python-version`` beside it into its Python.
        """
        environment = self._load(source, marker_env)
        if source.kind in DECLARATION_KINDS:
            from parity.sources.python_version_file import with_python_version_file

            return with_python_version_file(environment, source.ref)
        return environment

    def _load(self, source: SourceRef, marker_env: Mapping[str, str] | None) -> Environment:
        kind, ref = source.kind, source.ref
        options = self.declarations
        if kind == "venv":
            from parity.sources.venv import load_venv

            return load_venv(ref)
        if kind == "python":
            from parity.sources.venv import load_python

            return load_python(ref)
        if kind == "requirements":
            from parity.sources.requirements import load_requirements

            return load_requirements(ref)
        if kind == "pipfile":
            from parity.sources.pipfile import load_pipfile

            return load_pipfile(ref, dev=options.dev)
        if kind == "pipfile-lock":
            from parity.sources.pipfile_lock import load_pipfile_lock

            return load_pipfile_lock(ref, dev=options.dev)
        if kind == "pyproject":
            from parity.sources.pyproject import load_pyproject

            return load_pyproject(ref, extras=options.extras, groups=options.groups)
        if kind in MARKER_DEPENDENT_KINDS:
            return self._load_lock(kind, ref, marker_env)
        if kind == "snapshot":
            from parity.sources.snapshot import load_snapshot

            return load_snapshot(ref)
        if kind == "dockerfile":
            return self.prober.load_dockerfile(ref)
        if kind == "image":
            return self.prober.load_image(ref)
        if kind == "compose":
            return self.prober.load_compose_service(ref)
        if kind == "container":
            return self.prober.load_container(ref)
        if kind == "registry":
            from parity.sources.registry import load_registry

            return load_registry(ref, self.prober.options, self.prober.on_progress)
        if kind == "archive":
            from parity.sources.archive import load_archive

            return load_archive(ref, self.prober.options, self.prober.on_progress)
        raise UsageError(f"{kind}: sources are not supported yet")

    def _load_lock(self, kind: str, ref: str, marker_env: Mapping[str, str] | None) -> Environment:
        module_name, function_name = _LOCK_READERS[kind]
        reader: Callable[..., Environment] = getattr(
            importlib.import_module(module_name), function_name
        )
        options = self.declarations
        return reader(
            ref,
            extras=options.extras,
            groups=options.groups,
            include_project=options.include_project,
            no_default_groups=options.no_default_groups,
            marker_env=marker_env,
        )


_LOCK_READERS = {
    "poetry-lock": ("parity.sources.poetry_lock", "load_poetry_lock"),
    "uv-lock": ("parity.sources.uv_lock", "load_uv_lock"),
    "pylock": ("parity.sources.pylock", "load_pylock"),
}
