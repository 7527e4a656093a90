"""Which tool manages a virtualenv: uv, Pipenv, Poetry, or none (a plain ``venv``).

Fix hints speak that tool: a uv venv has no pip, and a Pipenv or Poetry venv is changed
through its lock, not behind its back. Read from the venv's ``pyvenv.cfg`` (uv writes a
``uv =`` line; Pipenv a ``.project`` file beside it) and the project's files (a Pipfile, a
Poetry or uv lock). Only files are read; nothing is run.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

PLAIN = "venv"
UV = "uv"
PIPENV = "pipenv"
POETRY = "poetry"


@dataclass(frozen=True)
class VenvManager:
    """``tool`` is ``uv``, ``pipenv``, ``poetry`` or ``venv``; ``project`` is true when the
    tool keeps a lock for the project (``uv sync``, not ``uv pip``); ``why`` says how it was
    told."""

    tool: str = PLAIN
    project: bool = False
    why: str = ""

    @property
    def managed(self) -> bool:
        return self.tool != PLAIN


def venv_manager(venv: str | None, project_dir: str | None) -> VenvManager:
    """The tool that manages the venv at ``venv`` for the project in ``project_dir``."""
    cfg = _pyvenv_cfg(venv) if venv else {}
    has = _has_file(project_dir)
    if "uv" in cfg:
        if has("uv.lock") or _pyproject_says(project_dir, "uv"):
            return VenvManager(UV, True, f"made by uv {cfg['uv']}, uv.lock beside it")
        return VenvManager(UV, False, f"made by uv {cfg['uv']} (pyvenv.cfg)")
    if has("poetry.lock") or _pyproject_says(project_dir, "poetry"):
        return VenvManager(POETRY, True, "the project is a Poetry project (poetry.lock)")
    if has("Pipfile") or (venv is not None and os.path.isfile(os.path.join(venv, ".project"))):
        return VenvManager(PIPENV, True, "the project has a Pipfile")
    if has("uv.lock"):
        return VenvManager(UV, True, "the project has uv.lock")
    return VenvManager(PLAIN, False, "a plain virtualenv")


def _pyvenv_cfg(venv: str) -> dict[str, str]:
    values: dict[str, str] = {}
    try:
        with open(os.path.join(venv, "pyvenv.cfg"), encoding="utf-8") as stream:
            for line in stream:
                key, sep, value = line.partition("=")
                if sep:
                    values[key.strip().lower()] = value.strip()
    except OSError:
        pass
    return values


def _has_file(project_dir: str | None) -> Callable[[str], bool]:
    def has(name: str) -> bool:
        return project_dir is not None and os.path.isfile(os.path.join(project_dir, name))

    return has


def _pyproject_says(project_dir: str | None, tool: str) -> bool:
    """Whether pyproject.toml has a ``[tool.TOOL]`` table (a Poetry or uv project)."""
    if project_dir is None:
        return False
    from parity.sources._toml import TomlFileError, read_document

    try:
        data = read_document(os.path.join(project_dir, "pyproject.toml"))
    except TomlFileError:
        return False
    tools = data.get("tool")
    return isinstance(tools, dict) and isinstance(tools.get(tool), dict)
