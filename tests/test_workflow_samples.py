"""Each common workflow, set up the way its tool's guide sets it up, both ways.

A correctly set-up project passes ``parity check`` with no flags: development tools on the
laptop only, installers in the image, the project installed at another path are set
aside. Then drift is injected on both sides (an undeclared package installed by hand in
the venv, a version changed in the image, a development tool installed in the image) and
exactly those rows are loud. Real venvs (``uv sync``, ``pipenv install --dev``,
``pip install -r requirements-dev.txt``), real images from the samples' Dockerfiles.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SAMPLES
from tests.helpers import load_report, make_venv, run_parity
from tests.pipenv_tools import pipenv_or_skip

pytestmark = [pytest.mark.docker, pytest.mark.slow]

LOUD = ("warning", "error")


def uv_binary() -> str:
    uv = pytest.importorskip("uv", reason="the uv package makes the uv workflow's venv")
    return str(uv.find_uv_bin())


def _quiet_env(**extra: str) -> dict[str, str]:
    environment = {key: value for key, value in os.environ.items() if key != "VIRTUAL_ENV"}
    environment.update(extra)
    return environment


def uv_sync(project: Path) -> None:
    """``uv sync --frozen``: the default groups (dev) and the project itself, editable."""
    subprocess.run(
        [uv_binary(), "sync", "--frozen"],
        cwd=project,
        env=_quiet_env(UV_PYTHON=sys.executable, UV_PYTHON_DOWNLOADS="never"),
        check=True,
        capture_output=True,
        timeout=600,
    )


def uv_pip_install(project: Path, *packages: str) -> None:
    """A package installed by hand: a uv venv has no pip, so ``uv pip install``."""
    subprocess.run(
        [uv_binary(), "pip", "install", "--python", str(project / ".venv/bin/python"), *packages],
        cwd=project,
        env=_quiet_env(),
        check=True,
        capture_output=True,
        timeout=600,
    )


def pipenv_install_dev(project: Path) -> None:
    """``pipenv install --dev``, the venv in the project (PIPENV_VENV_IN_PROJECT)."""
    subprocess.run(
        [*pipenv_or_skip(), "install", "--dev"],
        cwd=project,
        env=_quiet_env(
            PIPENV_VENV_IN_PROJECT="1",
            PIPENV_YES="1",
            PIPENV_NOSPIN="1",
            PIPENV_VERBOSITY="-1",
            PIPENV_IGNORE_VIRTUALENVS="1",
            PIPENV_PYTHON=sys.executable,
        ),
        check=True,
        capture_output=True,
        timeout=600,
    )


def pip_install_dev(project: Path) -> None:
    """``python -m venv .venv && .venv/bin/pip install -r requirements-dev.txt``."""
    make_venv(project / ".venv", project / "requirements-dev.txt")


def pip_install(project: Path, *packages: str) -> None:
    subprocess.run(
        [str(project / ".venv" / "bin" / "python"), "-m", "pip", "install", "-q", *packages],
        check=True,
        capture_output=True,
        timeout=600,
    )


@dataclass(frozen=True)
class Workflow:
    sample: str
    make_venv: Callable[[Path], None]
    install_by_hand: Callable[..., None]
    image_pip: str  # the command that installs into the app's environment in the image
    changed: tuple[str, str]  # a package of the app and another version of it
    set_aside: frozenset[str]  # statuses the clean check sets aside


WORKFLOWS = {
    "uv": Workflow(
        "uv-app",
        uv_sync,
        uv_pip_install,
        "uv pip install --python /app/.venv/bin/python",
        ("click", "8.1.8"),
        frozenset({"dev", "project"}),
    ),
    "pipenv": Workflow(
        "pipenv-system",
        pipenv_install_dev,
        pip_install,
        "pip install --no-cache-dir",
        ("idna", "3.7"),
        frozenset({"dev", "tooling"}),
    ),
    "requirements": Workflow(
        "requirements-dev",
        pip_install_dev,
        pip_install,
        "pip install --no-cache-dir",
        ("click", "8.1.8"),
        frozenset({"dev", "tooling"}),
    ),
}


@pytest.fixture
def built_images(docker_client: Any) -> Iterator[list[str]]:
    """Image IDs the test's checks built, removed afterwards."""
    images: list[str] = []
    yield images
    for image in images:
        with contextlib.suppress(Exception):  # still used by another image: not only ours
            docker_client.images.remove(image)


def check(project: Path, tmp_path: Path, built: list[str]) -> tuple[int, dict[str, Any]]:
    output = tmp_path / "report.json"
    result = run_parity(
        "check",
        str(project),
        "--format",
        "json",
        "--output",
        str(output),
        env={"PARITY_CACHE_DIR": str(tmp_path / "cache"), "VIRTUAL_ENV": ""},
    )
    assert result.returncode in (0, 1), result.stderr
    report = load_report(output)
    built += [side["image_id"] for side in report["sides"] if side.get("image_id")]
    return result.returncode, report


def loud(report: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {
        row["name"]: (row["status"], row["severity"])
        for row in report["packages"]
        if row["severity"] in LOUD
    }


@pytest.mark.parametrize("name", sorted(WORKFLOWS))
def test_workflow_passes_clean_and_fails_on_real_drift(
    name: str, tmp_path: Path, base_image: Any, built_images: list[str]
) -> None:
    base_image("3.11")
    workflow = WORKFLOWS[name]
    project = tmp_path / workflow.sample
    shutil.copytree(SAMPLES / workflow.sample, project)
    workflow.make_venv(project)

    code, report = check(project, tmp_path, built_images)
    assert (code, report["verdict"], loud(report)) == (0, "parity", {})
    statuses = {row["status"] for row in report["packages"]}
    assert statuses == set(workflow.set_aside), report["packages"]
    assert report["summary"]["set_aside"].keys() == workflow.set_aside
    pytest_row = next(row for row in report["packages"] if row["name"] == "pytest")
    assert (pytest_row["status"], pytest_row["severity"]) == ("dev", "info")
    # The table lists none of them and says what it set aside; --all lists them.
    env = {"PARITY_CACHE_DIR": str(tmp_path / "cache"), "VIRTUAL_ENV": ""}
    table = run_parity("check", str(project), env=env)
    assert table.returncode == 0 and "Packages" not in table.stdout, table.stdout
    counted = sum(report["summary"]["set_aside"].values())
    assert f"{counted} rows not counted: " in table.stdout
    assert "--all lists them" in table.stdout
    listed = run_parity("check", str(project), "--all", env=env)
    assert "pytest" in listed.stdout and "--all lists them" not in listed.stdout

    # Drift on both sides: a package installed by hand on the laptop, a version changed
    # in the image and a development tool shipped in it.
    workflow.install_by_hand(project, "six==1.17.0")
    package, version = workflow.changed
    dockerfile = project / "Dockerfile"
    pytest_version = pytest_row["values"]["local"]
    added = f"RUN {workflow.image_pip} {package}=={version} pytest=={pytest_version}\n"
    dockerfile.write_text(dockerfile.read_text(encoding="utf-8") + added, encoding="utf-8")
    code, report = check(project, tmp_path, built_images)
    assert (code, report["verdict"]) == (1, "drift")
    assert loud(report) == {
        "six": ("missing", "error"),
        package: ("version", "error"),
        "pytest": ("dev", "warning"),
    }


@pytest.mark.parametrize("name", sorted(WORKFLOWS))
def test_without_a_venv_the_declaration_is_the_local_side_and_passes(
    name: str, tmp_path: Path, base_image: Any, built_images: list[str]
) -> None:
    """No .venv yet (day one): the lock or requirements file against the same image."""
    base_image("3.11")
    project = tmp_path / WORKFLOWS[name].sample
    shutil.copytree(SAMPLES / WORKFLOWS[name].sample, project)
    code, report = check(project, tmp_path, built_images)
    local = next(side for side in report["sides"] if side["name"] == "local")
    assert local["kind"] != "venv"
    assert (code, report["verdict"], loud(report)) == (0, "parity", {})
