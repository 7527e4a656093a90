"""Shared by the Pipfile and Pipfile.lock tests: running the real pipenv offline."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def pipenv_or_skip() -> list[str]:
    """The pipenv command; skip when it is not installed (fail in CI, where it must be)."""
    if importlib.util.find_spec("pipenv") is None:
        if os.environ.get("CI"):
            pytest.fail("pipenv is not installed; the test extra needs it")
        pytest.skip("pipenv is not installed (pip install pipenv to compare with it)")
    return [sys.executable, "-m", "pipenv"]


def run_pipenv(project: Path, *args: str, home: Path) -> subprocess.CompletedProcess[str]:
    """Run pipenv offline in ``project`` without touching any real virtualenv."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("PIPENV_")}
    environment.pop("VIRTUAL_ENV", None)
    environment.update(
        PIPENV_IGNORE_VIRTUALENVS="1",
        PIPENV_VERBOSITY="-1",
        PIPENV_YES="1",
        PIPENV_NOSPIN="1",
        PIPENV_DONT_LOAD_ENV="1",
        PIP_NO_INDEX="1",
        WORKON_HOME=str(home / "venvs"),
        HOME=str(home),
    )
    return subprocess.run(
        [*pipenv_or_skip(), *args],
        cwd=project,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def copy_project(source: Path, parent: Path) -> Path:
    """A writable copy of a lock's folder (the fixtures are read-only)."""
    target = parent / source.name
    shutil.copytree(source, target)
    for path in [target, *target.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return target
