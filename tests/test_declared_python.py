"""The declared Python (requires-python, Pipfile [requires], Poetry's python, .python-version)
in the three-way view, and the fix hints in the project's own tool. End to end: real venvs,
real project files, the container side as a snapshot of a Linux image's Python."""

from __future__ import annotations

import json
import subprocess
import sys
import venv
from pathlib import Path
from typing import Any

import pytest

from parity.model import Environment, Interpreter, Level, Package
from parity.snapshot import environment_to_dict
from parity.sources.python_version_file import python_version_file
from tests.helpers import run_parity

HERE = f"{sys.version_info.major}.{sys.version_info.minor}"
NEXT = f"{sys.version_info.major}.{sys.version_info.minor + 1}"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3.11\n", "==3.11.*"),
        ("3.11.7\n", "==3.11.*"),
        ("cpython@3.12\n", "==3.12.*"),
        ("cpython-3.10.14-linux-x86_64-gnu\n", "==3.10.*"),
        ("# pinned by uv\n\n3.13\n3.12\n", "==3.13.*"),
        ("system\n", None),
        ("", None),
    ],
)
def test_python_version_file(tmp_path: Path, text: str, expected: str | None) -> None:
    (tmp_path / ".python-version").write_text(text)
    assert python_version_file(str(tmp_path)) == expected


def _image(tmp_path: Path, python: str) -> Path:
    """A snapshot of an image's Python (Debian, the official image's layout)."""
    markers = {
        "python_version": ".".join(python.split(".")[:2]),
        "python_full_version": python,
        "sys_platform": "linux",
        "platform_system": "Linux",
        "os_name": "posix",
        "platform_machine": "x86_64",
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
    }
    interpreter = Interpreter(
        "cpython",
        python,
        "/usr/local/bin/python3",
        machine="x86_64",
        os="Debian GNU/Linux 12 (bookworm)",
        libc="glibc 2.36",
        markers=markers,
    )
    environment = Environment(
        "image",
        "app:latest",
        Level.INSTALLED,
        interpreter,
        packages=(Package("pip", "24.0"),),
    )
    path = tmp_path / "image.json"
    path.write_text(json.dumps(environment_to_dict(environment)))
    return path


def _check(project: Path, image: Path) -> tuple[int, dict[str, Any], list[str]]:
    output = project.parent / "report.json"
    result = run_parity(
        "check",
        str(project),
        "--container",
        f"snapshot:{image}",
        "--fix-hints",
        "--format",
        "json",
        "--output",
        str(output),
        env={"VIRTUAL_ENV": ""},
    )
    assert result.returncode in (0, 1), result.stderr
    report = json.loads(output.read_text())
    hints = result.stdout.split("To make the local side match the container:", 1)[-1]
    return result.returncode, report, [line for line in hints.splitlines() if line]


def _python_row(report: dict[str, Any]) -> dict[str, Any]:
    return next(row for row in report["interpreter"] if row["field"] == "python_version")


def _pipenv_project(tmp_path: Path, python: str) -> Path:
    project = tmp_path / "app"
    project.mkdir()
    (project / "Pipfile").write_text(
        f'[packages]\n\n[dev-packages]\n\n[requires]\npython_version = "{python}"\n'
    )
    venv.EnvBuilder(with_pip=False).create(project / ".venv")
    return project


def test_pipfile_python_the_image_does_not_run(tmp_path: Path) -> None:
    """Pipfile asks for this Python; the image runs the next minor: the image left it."""
    project = _pipenv_project(tmp_path, HERE)
    code, report, hints = _check(project, _image(tmp_path, f"{NEXT}.1"))
    assert code == 1
    row = _python_row(report)
    assert row["values"]["declared"] == f"=={HERE}.*"
    assert row["status"] == "unsatisfied" and row["severity"] == "error"
    assert row["detail"] == f"container does not satisfy =={HERE}.*"
    assert [line for line in hints if not line.startswith("#")] == []
    assert any("declaration does not allow" in line for line in hints)


def test_pipenv_venv_on_another_python_is_recreated_by_pipenv(tmp_path: Path) -> None:
    """Pipfile and image agree on the next minor; the Pipenv venv runs this one."""
    project = _pipenv_project(tmp_path, NEXT)
    code, report, hints = _check(project, _image(tmp_path, f"{NEXT}.1"))
    assert code == 1
    row = _python_row(report)
    assert row["detail"] == f"local does not satisfy =={NEXT}.*"
    assert [line for line in hints if not line.startswith("#")] == [
        f"pipenv --python {NEXT}",
        "pipenv sync --dev",
    ]


def test_uv_project_python_version_file(tmp_path: Path) -> None:
    """A uv venv, requires-python and .python-version: `uv python pin` and `uv sync`."""
    uv = Path(sys.executable).parent / "uv"
    if not uv.exists():
        pytest.skip("uv is not installed in this interpreter's environment")
    project = tmp_path / "app"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[project]\nname = "app"\nversion = "0.1.0"\nrequires-python = ">=3.9"\n'
        'dependencies = ["six"]\n\n[tool.uv]\npackage = false\n'
    )
    (project / ".python-version").write_text(f"{NEXT}\n")
    subprocess.run(
        [str(uv), "venv", "-q", "--python", sys.executable, str(project / ".venv")], check=True
    )
    code, report, hints = _check(project, _image(tmp_path, f"{NEXT}.1"))
    assert code == 1
    row = _python_row(report)
    assert row["values"]["declared"] == f">=3.9,=={NEXT}.*"
    assert row["detail"] == f"local does not satisfy >=3.9,=={NEXT}.*"
    assert [line for line in hints if not line.startswith("#")][:2] == [
        f"uv python pin {NEXT}",
        "uv sync",
    ]


def test_plain_venv_gets_plain_venv_advice(tmp_path: Path) -> None:
    project = tmp_path / "app"
    project.mkdir()
    (project / "requirements.txt").write_text("")
    (project / ".python-version").write_text(f"{NEXT}.2\n")
    venv.EnvBuilder(with_pip=False).create(project / ".venv")
    code, report, hints = _check(project, _image(tmp_path, f"{NEXT}.1"))
    assert code == 1
    assert _python_row(report)["values"]["declared"] == f"=={NEXT}.*"
    assert [line for line in hints if not line.startswith("#")] == []
    assert any(f"python{NEXT} -m venv --clear" in line for line in hints)
