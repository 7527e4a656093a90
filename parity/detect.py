"""Choosing the sides of ``parity check`` from what a project folder holds.

Local side, first match wins:
  1. a virtualenv (what is installed): $VIRTUAL_ENV, $UV_PROJECT_ENVIRONMENT, PROJECT/.venv,
     the venv Poetry or Pipenv keeps for the project outside it, then any folder at the
     project root with a pyvenv.cfg (venv/, env/, ...): see parity.sources.venv;
  2. a lock file: poetry.lock, uv.lock, pylock.toml (or one pylock.NAME.toml), Pipfile.lock;
  3. a declaration: Pipfile, then pyproject.toml when it declares dependencies;
  4. requirements.txt.
Container side: PROJECT/Dockerfile, else the first compose service with a local build.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Mapping
from typing import Any

from parity.errors import UsageError
from parity.sources import SourceRef

LOCK_FILES = (
    ("poetry.lock", "poetry-lock"),
    ("uv.lock", "uv-lock"),
    ("pylock.toml", "pylock"),
    ("Pipfile.lock", "pipfile-lock"),
)


def detect_local_source(project_dir: str, environ: Mapping[str, str]) -> SourceRef:
    """The most exact local side the project has (see the module docstring)."""
    return detect_local(project_dir, environ)[0]


def detect_local(project_dir: str, environ: Mapping[str, str]) -> tuple[SourceRef, str]:
    """The local side and why it was chosen (naming the other venvs found, if any)."""
    from parity.sources.venv import find_local_venvs

    venvs = find_local_venvs(project_dir, environ)
    if venvs:
        chosen, others = venvs[0], venvs[1:]
        why = chosen.why
        if others:
            also = "; ".join(f"{other.why}: --local venv:{other.path}" for other in others)
            why += f"; also found {also}"
        return SourceRef("venv", chosen.path), why
    declared = detect_declared_source(project_dir)
    if declared is not None:
        return declared, "no virtualenv found"
    raise UsageError(
        f"{project_dir}: no local environment found (no $VIRTUAL_ENV, no folder with a "
        "pyvenv.cfg, no Poetry or Pipenv venv for it, no lock file, Pipfile, pyproject.toml "
        "or requirements.txt); name one with --local"
    )


def detect_declared_source(project_dir: str) -> SourceRef | None:
    """The project's most exact declaration: a lock file, Pipfile/pyproject, requirements.txt."""
    for name, kind in LOCK_FILES:
        path = os.path.join(project_dir, name)
        if os.path.isfile(path):
            return SourceRef(kind, path)
        if kind == "pylock":
            named = sorted(glob.glob(os.path.join(glob.escape(project_dir), "pylock.*.toml")))
            if len(named) == 1:
                return SourceRef("pylock", named[0])
    pipfile = os.path.join(project_dir, "Pipfile")
    if os.path.isfile(pipfile):
        return SourceRef("pipfile", pipfile)
    pyproject = os.path.join(project_dir, "pyproject.toml")
    if os.path.isfile(pyproject) and _declares_dependencies(pyproject):
        return SourceRef("pyproject", pyproject)
    requirements = os.path.join(project_dir, "requirements.txt")
    if os.path.isfile(requirements):
        return SourceRef("requirements", requirements)
    return None


def _declares_dependencies(path: str) -> bool:
    """Whether a pyproject.toml lists dependencies (PEP 621, PEP 735 or Poetry's tables).

    A file that does not parse counts as declaring: reading it then says what is wrong.
    """
    from parity.sources._toml import TomlFileError, read_document

    try:
        data = read_document(path)
    except TomlFileError as error:
        return not error.unreadable
    project = _table(data, "project")
    poetry = _table(_table(data, "tool"), "poetry")
    return bool(
        project.get("dependencies")
        or project.get("optional-dependencies")
        or data.get("dependency-groups")
        or poetry.get("dependencies")
    )


def _table(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    return value if isinstance(value, dict) else {}


def detect_container_source(project_dir: str) -> SourceRef:
    """The project's container side: see :func:`detect_container`."""
    return detect_container(project_dir)[0]


def container_candidates(project_dir: str) -> list[SourceRef]:
    """Every container side the project offers, the one ``parity check`` takes first.

    A compose file's services that build locally come first (compose's own context,
    Dockerfile, args and environment), then the project's Dockerfiles wherever projects keep
    them (:func:`parity.dockerfile.find_dockerfiles`). A compose file that cannot be read
    is left to ``--container compose:...`` to explain.
    """
    from parity.dockerfile import find_dockerfiles
    from parity.errors import ParityError
    from parity.sources.compose import find_compose_file, load_compose

    found: list[SourceRef] = []
    compose_file = find_compose_file(project_dir)
    if compose_file is not None:
        try:
            project = load_compose(compose_file)
        except ParityError:
            project = None
        for service in project.services if project is not None else ():
            if service.active and service.build is not None and service.build.is_local:
                found.append(SourceRef("compose", f"{service.name}@{compose_file}"))
    for relative in find_dockerfiles(project_dir):
        found.append(SourceRef("dockerfile", os.path.join(project_dir, relative)))
    return found


def detect_container(project_dir: str) -> tuple[SourceRef, str]:
    """The container side ``parity check`` takes, and a note naming the others."""
    found = container_candidates(project_dir)
    if not found:
        raise UsageError(
            f"{project_dir}: no Dockerfile found (looked for Dockerfile, *.Dockerfile and "
            "Dockerfile.* at the root and under docker/, deploy/ and compose/*/), and no "
            "compose service that builds one; name the container side with --container "
            "(dockerfile:PATH, image:NAME, compose:SERVICE)"
        )
    chosen = found[0]
    why = "detected"
    if len(found) > 1:
        why += (
            f"; {len(found) - 1} other candidate{'s' if len(found) > 2 else ''}: see parity doctor"
        )
    return chosen, why


def dockerfile_context(source: SourceRef, project_dir: str, given: str | None) -> tuple[str, str]:
    """(build context, why) of a ``dockerfile:`` side in ``parity check``."""
    from parity.dockerfile import default_context
    from parity.sources.container import resolve_dockerfile

    if given:
        return os.path.abspath(given), "--context"
    _, dockerfile = resolve_dockerfile(source.ref)
    return default_context(dockerfile, project_dir)
