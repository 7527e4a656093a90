"""Hints in the venv's own tool, three-way rows, the declared Python (pure: no engine)."""

from __future__ import annotations

import shlex
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from parity.compare import NamedEnvironment, compare_with_declaration
from parity.hints import fix_hints
from parity.model import Environment, Interpreter, Level, Package
from parity.policy import Policy
from parity.report import Report, Severity, Status
from parity.venv_manager import PIPENV, PLAIN, POETRY, UV, VenvManager, venv_manager

LINUX = {"sys_platform": "linux", "platform_system": "Linux", "python_version": "3.11"}


def live(kind: str, *packages: Package, python: str = "3.11.9") -> Environment:
    interpreter = Interpreter("cpython", python, "/usr/bin/python3", markers=LINUX)
    return Environment(
        kind, ".venv" if kind == "venv" else "app", Level.INSTALLED, interpreter, packages
    )


def lock(*packages: Package, python: str | None = None, ref: str = "uv.lock") -> Environment:
    return Environment("uv-lock", ref, Level.LOCKED, packages=packages, python_requirement=python)


def three_way(
    declared: Environment,
    local: Environment,
    container: Environment,
    tool: str,
    project: bool = True,
) -> tuple[Report, tuple[str, ...]]:
    report = compare_with_declaration(
        NamedEnvironment("declared", declared),
        NamedEnvironment("local", local),
        NamedEnvironment("container", container),
    )
    manager = VenvManager(tool, project)
    return report, fix_hints(report, local, container, declared=declared, manager=manager)


def commands(hints: tuple[str, ...]) -> list[str]:
    return [line for line in hints if not line.startswith("#")]


# --- which tool manages the venv ------------------------------------------------------------


def test_manager_from_pyvenv_cfg_and_project_files(tmp_path: Path) -> None:
    venv_dir = tmp_path / ".venv"
    venv_dir.mkdir()
    cfg = venv_dir / "pyvenv.cfg"
    cfg.write_text("home = /usr/bin\nuv = 0.13.9\nversion_info = 3.11.7\n")
    assert venv_manager(str(venv_dir), str(tmp_path)) == VenvManager(
        UV, False, "made by uv 0.13.9 (pyvenv.cfg)"
    )
    (tmp_path / "uv.lock").write_text("version = 1\n")
    assert venv_manager(str(venv_dir), str(tmp_path)).project
    cfg.write_text("home = /usr/bin\nversion = 3.11.7\n")  # python -m venv, in a uv project
    assert venv_manager(str(venv_dir), str(tmp_path)).tool == UV
    (tmp_path / "uv.lock").unlink()
    (tmp_path / "Pipfile").write_text("[packages]\n")
    assert venv_manager(str(venv_dir), str(tmp_path)).tool == PIPENV
    (tmp_path / "Pipfile").unlink()
    (tmp_path / "pyproject.toml").write_text('[tool.poetry]\nname = "app"\n')
    assert venv_manager(str(venv_dir), str(tmp_path)).tool == POETRY
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "app"\n')
    assert venv_manager(str(venv_dir), str(tmp_path)) == VenvManager(
        PLAIN, False, "a plain virtualenv"
    )


def test_pipenv_venv_outside_the_project_has_a_project_file(tmp_path: Path) -> None:
    venv_dir = tmp_path / "virtualenvs" / "app-AbCd1234"
    venv_dir.mkdir(parents=True)
    (venv_dir / "pyvenv.cfg").write_text("home = /usr/bin\nvirtualenv = 20.26.0\n")
    (venv_dir / ".project").write_text(str(tmp_path / "app"))
    assert venv_manager(str(venv_dir), None).tool == PIPENV


def test_a_real_uv_venv_is_told_from_a_real_venv(tmp_path: Path) -> None:
    uv = Path(sys.executable).parent / "uv"
    if not uv.exists():
        pytest.skip("uv is not installed in this interpreter's environment")
    subprocess.run([str(uv), "venv", "-q", str(tmp_path / "uv-made")], check=True)
    venv.EnvBuilder(with_pip=False).create(tmp_path / "venv-made")
    assert venv_manager(str(tmp_path / "uv-made"), None).tool == UV
    assert venv_manager(str(tmp_path / "venv-made"), None).tool == PLAIN


# --- each tool's commands -------------------------------------------------------------------

APP = (Package("httpx", "0.28.1"), Package("idna", "3.10"))


@pytest.mark.parametrize(
    ("tool", "expected"),
    [(UV, ["uv sync"]), (PIPENV, ["pipenv sync", "pipenv clean"]), (POETRY, ["poetry sync"])],
)
def test_the_venv_left_the_lock_sync_it(tool: str, expected: list[str]) -> None:
    local = live("venv", Package("httpx", "0.28.0"), Package("idna", "3.10"), Package("six", "1.0"))
    _, hints = three_way(lock(*APP), local, live("image", *APP), tool)
    assert commands(hints) == expected


def test_poetry_without_extraneous_packages_is_poetry_install() -> None:
    local = live("venv", Package("httpx", "0.28.0"), Package("idna", "3.10"))
    _, hints = three_way(lock(*APP), local, live("image", *APP), POETRY)
    assert commands(hints) == ["poetry install"]


@pytest.mark.parametrize(
    ("tool", "expected"),
    [
        (UV, ["uv lock --upgrade-package idna==3.11", "uv add six==1.17.0", "uv sync"]),
        (PIPENV, ["pipenv install idna==3.11", "pipenv install six==1.17.0", "pipenv sync"]),
        (POETRY, ["poetry add idna==3.11", "poetry add six==1.17.0", "poetry install"]),
    ],
)
def test_the_declaration_is_out_of_date_update_it(tool: str, expected: list[str]) -> None:
    """The image has idna 3.11 where the lock has 3.10, and six on both sides undeclared."""
    local = live("venv", *APP, Package("six", "1.17.0"))
    container = live(
        "image", Package("httpx", "0.28.1"), Package("idna", "3.11"), Package("six", "1.17.0")
    )
    report, hints = three_way(lock(*APP), local, container, tool)
    rows = {row.name: row for row in report.packages}
    assert rows["six"].status == Status.MISSING and rows["six"].missing_from == ("declared",)
    assert commands(hints) == expected


def test_never_uninstall_what_the_declaration_lists() -> None:
    """pytest in the lock (a dev group), absent from the image: the image's to fix."""
    declared = lock(*APP, Package("pytest", "8.3.0"))
    local = live("venv", *APP, Package("pytest", "8.3.0"))
    for tool in (UV, PIPENV, POETRY, PLAIN):
        _, hints = three_way(declared, local, live("image", *APP), tool, project=tool != PLAIN)
        assert commands(hints) == [], hints
        assert any("pytest" in line and "rebuild" in line for line in hints)


def test_never_install_an_installer() -> None:
    """pipenv installed in a one-stage image: never pip-installed into the venv."""
    local = live("venv", *APP)
    container = live("image", *APP, Package("pipenv", "2026.10.3"), Package("virtualenv", "20.0"))
    report, hints = three_way(lock(*APP), local, container, PLAIN, project=False)
    assert {row.name for row in report.packages} == {"pipenv", "virtualenv"}
    assert not any("pipenv" in line or "virtualenv" in line for line in commands(hints))


def test_uv_venv_without_a_project_speaks_uv_pip() -> None:
    local = live("venv", Package("httpx", "0.28.0"), Package("six", "1.0"))
    container = live("image", Package("httpx", "0.28.1"))
    report = compare_with_declaration(
        NamedEnvironment("declared", Environment("requirements", "r.txt", Level.DECLARED)),
        NamedEnvironment("local", local),
        NamedEnvironment("container", container),
    )
    hints = fix_hints(report, local, container, manager=VenvManager(UV, False))
    assert commands(hints) == ["uv pip uninstall six", "uv pip install httpx==0.28.1"]
    assert all(shlex.split(line)[:2] == ["uv", "pip"] for line in commands(hints))


def test_only_drift_rows_get_hints() -> None:
    local = live("venv", Package("httpx", "0.28.0"), Package("idna", "3.10"))
    container = live("image", *APP)
    policy = Policy(severity_overrides={"version:patch": Severity.WARNING})
    report = compare_with_declaration(
        NamedEnvironment("declared", lock(*APP)),
        NamedEnvironment("local", local),
        NamedEnvironment("container", container),
        policy,
    )
    hints = fix_hints(
        report, local, container, policy, declared=lock(*APP), manager=VenvManager(UV, True)
    )
    assert hints == ()


# --- three-way rows -----------------------------------------------------------------------


def test_missing_from_names_exactly_the_sides_that_lack_it() -> None:
    declared = lock(*APP, Package("gunicorn", "23.0.0"))
    local = live("venv", *APP, Package("six", "1.17.0"))
    container = live("image", *APP)
    report, _ = three_way(declared, local, container, UV)
    rows = {row.name: row for row in report.packages}
    assert rows["gunicorn"].missing_from == ("local", "container")
    assert rows["six"].missing_from == ("declared", "container")


# --- the declared Python ------------------------------------------------------------------


def test_declared_python_is_shown_and_who_left_it_is_said() -> None:
    declared = lock(*APP, python="==3.10.*")
    report, _ = three_way(
        declared, live("venv", *APP, python="3.10.14"), live("image", *APP), PIPENV
    )
    row = next(row for row in report.interpreter if row.field == "python_version")
    assert row.values == {"declared": "==3.10.*", "local": "3.10.14", "container": "3.11.9"}
    assert row.status == Status.UNSATISFIED and row.severity == Severity.ERROR
    assert row.detail == "container does not satisfy ==3.10.*"


def test_declared_python_both_sides_satisfy_shows_no_row() -> None:
    declared = lock(*APP, python=">=3.11")
    report, _ = three_way(declared, live("venv", *APP), live("image", *APP), UV)
    assert [row.field for row in report.interpreter if row.field == "python_version"] == []


def test_an_exact_declared_patch_release_is_a_warning() -> None:
    declared = lock(*APP, python="==3.11.7")
    report, _ = three_way(declared, live("venv", *APP, python="3.11.7"), live("image", *APP), UV)
    row = next(row for row in report.interpreter if row.field == "python_version")
    assert row.severity == Severity.WARNING


@pytest.mark.parametrize(
    ("tool", "expected"),
    [
        (UV, ["uv python pin 3.11", "uv sync"]),
        (PIPENV, ["pipenv --python 3.11", "pipenv sync --dev"]),
        (POETRY, ["poetry env use 3.11", "poetry install"]),
        (PLAIN, []),
    ],
)
def test_the_venv_python_is_changed_with_its_tool(tool: str, expected: list[str]) -> None:
    declared = lock(*APP, python=">=3.10")
    local = live("venv", *APP, python="3.10.14")
    _, hints = three_way(declared, local, live("image", *APP), tool, project=tool != PLAIN)
    assert commands(hints) == expected
    if tool == PLAIN:
        assert "python3.11 -m venv --clear .venv" in hints[0]


def test_plain_venv_with_a_lock_says_to_declare_what_both_sides_have() -> None:
    pylock = Environment("pylock", "pylock.toml", Level.LOCKED, packages=APP)
    local = live("venv", *APP, Package("six", "1.17.0"))
    container = live("image", *APP, Package("six", "1.17.0"))
    _, hints = three_way(pylock, local, container, PLAIN, project=False)
    assert hints == (
        "# six: 1.17.0 on both sides, but pylock.toml does not pin it: add six==1.17.0 to the "
        "declaration and lock it again",
    )


def test_a_requirement_neither_side_has_is_missing_from_both() -> None:
    from parity.model import Requirement

    requirements = Environment(
        "requirements",
        "requirements.txt",
        Level.DECLARED,
        requirements=(Requirement("httpx"), Requirement("gunicorn", "==23.0.0")),
    )
    local = live("venv", *APP)
    report, hints = three_way(requirements, local, live("image", *APP), PLAIN, project=False)
    rows = {row.name: row for row in report.packages}
    assert set(rows) == {"gunicorn"}
    assert rows["gunicorn"].missing_from == ("local", "container")
    assert commands(hints) == []
    assert hints == (
        "# gunicorn: requirements.txt declares ==23.0.0, neither side has it: update the "
        "declaration, or install it on both sides",
    )
