"""A wheel is the same distribution wherever it was installed from (a wheelhouse, an index)."""

from __future__ import annotations

import contextlib
import subprocess
from pathlib import Path
from typing import Any

import pytest

from parity.compare import NamedEnvironment, compare
from parity.model import Environment, Level, Origin, Package
from parity.report import Status
from tests.helpers import load_report, make_venv, run_parity


def _env(*packages: Package) -> Environment:
    return Environment("venv", "x", Level.INSTALLED, packages=packages)


def _status(left: Package, right: Package) -> Status:
    report = compare(
        NamedEnvironment("local", _env(left)),
        NamedEnvironment("container", _env(right)),
    )
    rows = [row for row in report.packages if row.name == left.key]
    return rows[0].status if rows else Status.SAME


def _wheel(name: str) -> Origin:
    return Origin("archive", f"file:///wheels/{name}")


def test_a_local_wheel_against_an_index_release_is_the_same() -> None:
    wheel = Package("six", "1.16.0", origin=_wheel("six-1.16.0-py2.py3-none-any.whl"))
    assert _status(Package("six", "1.16.0"), wheel) == Status.SAME
    other_folder = Package(
        "six", "1.16.0", origin=Origin("archive", "file:///tmp/w/six-1.16.0-py2.py3-none-any.whl")
    )
    assert _status(other_folder, wheel) == Status.SAME


def test_a_build_tag_tells_another_build() -> None:
    tagged = Package("six", "1.16.0", origin=_wheel("six-1.16.0-2-py2.py3-none-any.whl"))
    assert _status(Package("six", "1.16.0"), tagged) == Status.SOURCE


def test_two_wheel_files_with_other_hashes_are_other_builds() -> None:
    def wheel(folder: str, digest: str | None) -> Package:
        url = f"file:///{folder}/six-1.16.0-py2.py3-none-any.whl"
        return Package("six", "1.16.0", origin=Origin("archive", url, hash=digest))

    assert _status(wheel("a", "sha256=" + "1" * 64), wheel("b", "sha256=" + "1" * 64)) == (
        Status.SAME
    )
    assert _status(wheel("a", "sha256=" + "1" * 64), wheel("b", "sha256=" + "2" * 64)) == (
        Status.SOURCE
    )
    # One side's hash alone says nothing: an index release records none here.
    assert _status(wheel("a", "sha256=" + "1" * 64), Package("six", "1.16.0")) == Status.SAME


def test_a_wheel_hash_survives_a_snapshot() -> None:
    from parity.snapshot import environment_from_dict, environment_to_dict

    origin = Origin("archive", "file:///w/six-1.16.0-py2.py3-none-any.whl", hash="sha256=ab")
    environment = _env(Package("six", "1.16.0", origin=origin))
    assert environment_from_dict(environment_to_dict(environment)).packages[0].origin == origin


def test_editable_and_sdists_stay_source() -> None:
    editable = Package("app", "1.0", origin=Origin("editable", "file:///home/me/app"))
    assert _status(editable, Package("app", "1.0")) == Status.SOURCE
    assert _status(editable, Package("app", "1.0", origin=_wheel("app-1.0-py3-none-any.whl"))) == (
        Status.SOURCE
    )
    sdist = Package("app", "1.0", origin=Origin("archive", "file:///src/app-1.0.tar.gz"))
    assert _status(sdist, Package("app", "1.0")) == Status.SOURCE


@pytest.mark.slow
def test_a_wheelhouse_venv_against_an_index_venv(tmp_path: Path) -> None:
    """pip wheel into a folder, pip install /wheels/*: the same as pip install from the index."""
    wheels = tmp_path / "wheels"
    index_python = make_venv(tmp_path / "index", None, "six==1.16.0")
    subprocess.run(
        [str(index_python), "-m", "pip", "wheel", "-q", "-w", str(wheels), "six==1.16.0"],
        check=True,
    )
    wheelhouse_python = make_venv(tmp_path / "wheelhouse")
    subprocess.run(
        [str(wheelhouse_python), "-m", "pip", "install", "-q", *map(str, wheels.glob("*.whl"))],
        check=True,
    )
    output = tmp_path / "r.json"
    result = run_parity(
        "diff",
        f"venv:{tmp_path / 'wheelhouse'}",
        f"venv:{tmp_path / 'index'}",
        "--all",
        "--format",
        "json",
        "--output",
        str(output),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    rows = {row["name"]: row for row in load_report(output)["packages"]}
    assert rows["six"]["status"] == "same"


WHEELHOUSE_DOCKERFILE = """\
# A wheelhouse image (a common production layout): wheels built in one stage,
# installed from the files in the next.
FROM python:3.11-slim AS wheels
ENV PIP_BREAK_SYSTEM_PACKAGES=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY requirements.txt .
RUN pip wheel --no-cache-dir -r requirements.txt -w /wheels

FROM python:3.11-slim
ENV PIP_BREAK_SYSTEM_PACKAGES=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY --from=wheels /wheels /wheels
RUN pip install --no-cache-dir /wheels/* && rm -rf /wheels
"""


@pytest.mark.docker
@pytest.mark.slow
def test_a_wheelhouse_image_against_an_index_venv(
    tmp_path: Path, base_image: Any, docker_client: Any
) -> None:
    base_image("3.11")
    project = tmp_path / "app"
    project.mkdir()
    (project / "requirements.txt").write_text("six==1.17.0\nidna==3.10\n")
    (project / "Dockerfile").write_text(WHEELHOUSE_DOCKERFILE)
    (project / ".dockerignore").write_text(".venv\n")
    make_venv(project / ".venv", project / "requirements.txt")
    output = tmp_path / "r.json"
    result = run_parity(
        "check",
        str(project),
        "--all",
        "--format",
        "json",
        "--output",
        str(output),
        env={"PARITY_CACHE_DIR": str(tmp_path / "cache"), "VIRTUAL_ENV": ""},
    )
    report = load_report(output)
    try:
        assert result.returncode == 0, result.stdout + result.stderr
        rows = {row["name"]: row for row in report["packages"]}
        assert rows["six"]["status"] == rows["idna"]["status"] == "same"
    finally:
        with contextlib.suppress(Exception):
            docker_client.images.remove(report["sides"][-1]["image_id"], force=True)
