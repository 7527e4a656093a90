"""The local side found where the developer keeps it: any folder with a pyvenv.cfg, the active
venv, and the venvs Poetry and Pipenv keep outside the project, checked against the tools'
own answer (``poetry env info --path``, ``pipenv --venv``)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from parity.detect import detect_local
from parity.sources import SourceRef
from parity.sources.venv import find_local_venvs

TOOLS = Path(sys.executable).parent


def plain_venv(path: Path) -> Path:
    venv.EnvBuilder(with_pip=False).create(path)
    return path


def clean_environ(**extra: str) -> dict[str, str]:
    keep = {"PATH", "HOME", "LANG"}
    environ = {key: value for key, value in os.environ.items() if key in keep}
    environ.update(extra)
    return environ


def test_a_venv_named_env_is_found(tmp_path: Path) -> None:
    """fastapi-tdd-docker's README makes env/: it is the local side, not requirements.txt."""
    (tmp_path / "requirements.txt").write_text("fastapi\n")
    plain_venv(tmp_path / "env")
    source, why = detect_local(str(tmp_path), clean_environ())
    assert source == SourceRef("venv", str(tmp_path / "env"))
    assert why == "a venv in the project (env/)"


def test_several_venvs_the_chosen_one_is_named_with_the_others(tmp_path: Path) -> None:
    for name in ("venv", ".venv", "py311", "env"):
        plain_venv(tmp_path / name)
    (tmp_path / "notavenv").mkdir()
    found = find_local_venvs(str(tmp_path), clean_environ())
    assert [Path(item.path).name for item in found] == [".venv", "venv", "env", "py311"]
    source, why = detect_local(str(tmp_path), clean_environ())
    assert source.ref == str(tmp_path / ".venv")
    assert f"; a venv in the project (env/): --local venv:{tmp_path / 'env'}" in why
    active = plain_venv(tmp_path.parent / f"{tmp_path.name}-active")
    source, why = detect_local(str(tmp_path), clean_environ(VIRTUAL_ENV=str(active)))
    assert source.ref == str(active) and why.startswith("the active venv ($VIRTUAL_ENV)")
    shutil.rmtree(active)


POETRY_PROJECT = """\
[tool.poetry]
name = "My_App.Name"
version = "0.1.0"
description = ""
authors = ["a <a@example.invalid>"]
package-mode = false

[tool.poetry.dependencies]
python = ">=3.9"
"""


@pytest.mark.slow
def test_poetrys_venv_outside_the_project_is_found(tmp_path: Path) -> None:
    project = tmp_path / "my project"
    project.mkdir()
    (project / "pyproject.toml").write_text(POETRY_PROJECT)
    environ = clean_environ(
        POETRY_CACHE_DIR=str(tmp_path / "poetry-cache"),
        POETRY_CONFIG_DIR=str(tmp_path / "poetry-config"),
        POETRY_VIRTUALENVS_IN_PROJECT="false",
    )
    poetry = [str(TOOLS / "poetry"), "--no-interaction", "-C", str(project)]
    subprocess.run([*poetry, "env", "use", sys.executable], env=environ, check=True)
    where = subprocess.run(
        [*poetry, "env", "info", "--path"], env=environ, check=True, capture_output=True, text=True
    ).stdout.strip()
    assert where.startswith(str(tmp_path / "poetry-cache" / "virtualenvs"))
    source, why = detect_local(str(project), environ)
    assert source == SourceRef("venv", where)
    assert why == f"Poetry's venv for this project ({where})"


@pytest.mark.slow
def test_pipenvs_venv_in_workon_home_is_found(tmp_path: Path) -> None:
    project = tmp_path / "service"
    project.mkdir()
    (project / "Pipfile").write_text('[packages]\n\n[requires]\npython_version = "3.11"\n')
    environ = clean_environ(
        WORKON_HOME=str(tmp_path / "workon"),
        PIPENV_YES="1",
        PIPENV_NOSPIN="1",
        PIPENV_IGNORE_VIRTUALENVS="1",
    )
    pipenv = str(TOOLS / "pipenv")
    subprocess.run([pipenv, "--python", sys.executable], cwd=project, env=environ, check=True)
    where = subprocess.run(
        [pipenv, "--venv"], cwd=project, env=environ, check=True, capture_output=True, text=True
    ).stdout.strip()
    assert where.startswith(str(tmp_path / "workon"))
    source, why = detect_local(str(project), environ)
    assert source == SourceRef("venv", where)
    assert why == f"Pipenv's venv for this project ({where})"
