"""Fix hints: exact lines for each drift row, and (with Docker) applying them removes the drift."""

from __future__ import annotations

import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from parity.compare import NamedEnvironment, compare
from parity.engine.build import BuildOptions
from parity.hints import fix_hints
from parity.model import (
    Environment,
    Interpreter,
    Level,
    Location,
    Origin,
    Package,
    Requirement,
)
from parity.policy import Policy
from parity.report import Report, Severity
from parity.sources.container import ContainerOptions, ContainerProber
from parity.sources.requirements import load_requirements
from parity.sources.venv import load_venv
from tests.conftest import SAMPLES, build_network
from tests.helpers import drift_rows, image_freeze, load_report, make_venv, run_parity, venv_freeze

LINUX = {"sys_platform": "linux", "platform_system": "Linux", "python_version": "3.11"}
DARWIN = {"sys_platform": "darwin", "platform_system": "Darwin", "python_version": "3.11"}


def interpreter(version: str = "3.11.2", markers: dict[str, str] | None = None) -> Interpreter:
    return Interpreter(
        implementation="cpython",
        version=version,
        executable="/usr/bin/python3",
        markers=markers if markers is not None else LINUX,
    )


def live(kind: str, ref: str, *packages: Package, python: str = "3.11.2") -> Environment:
    return Environment(
        kind=kind,
        ref=ref,
        level=Level.INSTALLED,
        interpreter=interpreter(python),
        packages=packages,
    )


def check(
    local: Environment, container: Environment, policy: Policy | None = None
) -> tuple[Report, tuple[str, ...]]:
    report = compare(
        NamedEnvironment("local", local), NamedEnvironment("container", container), policy
    )
    return report, fix_hints(report, local, container, policy)


def commands(hints: tuple[str, ...]) -> list[list[str]]:
    return [shlex.split(line) for line in hints if not line.startswith("#")]


# --- a venv against an image ---------------------------------------------------------------


def test_venv_hints_uninstall_then_install_the_containers_versions() -> None:
    local = live(
        "venv",
        ".venv",
        Package("Django", "4.2.7"),
        Package("tomli", "2.0.1"),
        Package("black", "24.1.0"),
        Package("attrs", "23.2.0"),
        Package("pip", "23.0"),
    )
    container = live(
        "dockerfile",
        "Dockerfile",
        Package("django", "5.0.1"),
        Package("requests", "2.32.3"),
        Package("attrs", "23.2.0"),
        Package("pip", "24.0"),
    )
    _, hints = check(local, container)
    assert commands(hints) == [
        ["python", "-m", "pip", "uninstall", "-y", "black", "tomli"],
        ["python", "-m", "pip", "install", "django==5.0.1", "requests==2.32.3"],
    ]
    assert hints[0].startswith("# make .venv match the container")
    assert all(
        line.startswith(("#", "python -m pip install ", "python -m pip uninstall "))
        for line in hints
    )


def test_no_drift_no_hints() -> None:
    packages = (Package("attrs", "23.2.0"),)
    assert check(live("venv", ".venv", *packages), live("image", "app", *packages))[1] == ()


def test_arguments_are_shell_quoted() -> None:
    origin = Origin(kind="vcs", url="https://example.com/lib.git", commit="0" * 40, vcs="git")
    local = live("venv", ".venv", Package("lib", "1.0"))
    container = live("image", "app", Package("lib", "1.1", origin=origin))
    _, hints = check(local, container)
    install = next(line for line in hints if line.startswith("python -m pip install"))
    assert install == f"python -m pip install 'lib @ git+https://example.com/lib.git@{'0' * 40}'"
    assert shlex.split(install)[-1] == f"lib @ git+https://example.com/lib.git@{'0' * 40}"


def test_same_version_other_origin_is_force_reinstalled() -> None:
    local = live(
        "venv",
        ".venv",
        Package("mylib", "1.0", origin=Origin(kind="editable", url="file:///home/me/mylib")),
    )
    container = live("image", "app", Package("mylib", "1.0"))
    # A source row is a warning: hinted with --fail-on warning, not below it.
    assert check(local, container)[1] == ()
    _, hints = check(local, container, Policy(fail_on=Severity.WARNING))
    assert commands(hints) == [
        ["python", "-m", "pip", "install", "--force-reinstall", "--no-deps", "mylib==1.0"]
    ]


def test_a_path_inside_the_image_cannot_be_installed_here() -> None:
    local = live("venv", ".venv", Package("app", "1.0"))
    container = live(
        "image", "app", Package("app", "1.1", origin=Origin(kind="directory", url="file:///app"))
    )
    _, hints = check(local, container)
    assert commands(hints) == []
    assert hints == ("# app: .venv has 1.0, the container 1.1; update one to match",)


def test_platform_rows_and_rows_set_to_none_get_no_hint() -> None:
    # appnope is pulled in by ipython on macOS only: a platform row, nothing to fix.
    laptop = Environment(
        kind="venv",
        ref=".venv",
        level=Level.INSTALLED,
        interpreter=interpreter("3.11.2", DARWIN),
        packages=(
            Package("ipython", "8.0", requires=('appnope; sys_platform == "darwin"',)),
            Package("appnope", "0.1.4"),
            Package("six", "1.15.0"),
        ),
    )
    container = live("image", "app", Package("ipython", "8.0"), Package("six", "1.16.0"))
    policy = Policy(severity_overrides={"six": Severity.NONE})
    report, hints = check(laptop, container, policy)
    assert {row.name for row in report.packages} == {"appnope", "six"}
    assert hints == ()


def test_a_named_interpreter_gets_its_own_pip() -> None:
    local = Environment(
        kind="python",
        ref="/usr/bin/python3.11",
        level=Level.INSTALLED,
        interpreter=Interpreter(
            "cpython", "3.11.2", "/opt/my python/bin/python3.11", markers=LINUX
        ),
        packages=(Package("six", "1.15.0"),),
    )
    _, hints = check(local, live("image", "app", Package("six", "1.16.0")))
    assert commands(hints) == [
        ["/opt/my python/bin/python3.11", "-m", "pip", "install", "six==1.16.0"]
    ]


# --- the interpreter -----------------------------------------------------------------------


def test_minor_python_drift_says_which_python_to_recreate_the_venv_with() -> None:
    _, hints = check(live("venv", ".venv", python="3.12.1"), live("image", "app", python="3.11.9"))
    assert hints == (
        "# the container runs Python 3.11.9, the local side 3.12.1: recreate the venv with "
        "Python 3.11 (python3.11 -m venv --clear .venv) and reinstall",
    )


def test_patch_python_drift_is_a_comment_too() -> None:
    local, container = live("venv", ".venv", python="3.11.7"), live("image", "a", python="3.11.2")
    assert check(local, container)[1] == ()  # a warning, below the default --fail-on
    _, hints = check(local, container, Policy(fail_on=Severity.WARNING))
    assert len(hints) == 1
    assert hints[0].startswith("# the container runs Python 3.11.2, the local side 3.11.7")
    assert "patch" in hints[0]


def test_python_drift_set_to_none_gets_no_hint() -> None:
    policy = Policy(severity_overrides={"python_version": Severity.NONE})
    local, container = live("venv", ".venv", python="3.12.1"), live("image", "a", python="3.11.9")
    assert check(local, container, policy)[1] == ()


# --- a declared local side -----------------------------------------------------------------


def declared(*requirements: Requirement, kind: str = "requirements") -> Environment:
    return Environment(
        kind=kind, ref="requirements.txt", level=Level.DECLARED, requirements=requirements
    )


def at(line: int, path: str = "requirements.txt") -> Location:
    return Location(path, line)


def test_requirements_get_the_pin_the_container_resolved() -> None:
    local = declared(
        Requirement("requests", declared_at=at(1)),
        Requirement("Django", ">=4.2", declared_at=at(2)),
        Requirement("flask", "==3.0.3", declared_at=at(3)),
        Requirement("werkzeug", ">=3.0", declared_at=at(4)),
        Requirement("werkzeug", "==3.0.6", is_constraint=True, declared_at=at(1, "c.txt")),
        Requirement("pip", declared_at=at(5)),
        Requirement("debugpy", declared_at=at(6)),
        Requirement("mylib", url="git+https://example.com/mylib.git", declared_at=at(7)),
        Requirement(
            "gunicorn",
            "<23",
            extras=("gevent",),
            marker='sys_platform == "linux"',
            declared_at=at(3, "requirements/prod.txt"),
        ),
    )
    container = live(
        "dockerfile",
        "Dockerfile",
        Package("requests", "2.32.3"),
        Package("django", "5.0.1"),
        Package("flask", "3.0.3"),
        Package("werkzeug", "3.0.6"),
        Package("pip", "24.0"),
        Package("debugpy", "1.8.0"),
        Package(
            "mylib", "1.0", origin=Origin("vcs", "https://example.com/mylib.git", "a" * 40, "git")
        ),
        Package("gunicorn", "22.0.0"),
    )
    _, hints = check(local, container, Policy(ignore=frozenset({"debugpy"})))
    assert hints == (
        "# pin in requirements.txt:1: requests==2.32.3"
        "  (declared *; the container resolved 2.32.3)",
        "# pin in requirements.txt:2: Django==5.0.1"
        "  (declared >=4.2; the container resolved 5.0.1)",
        '# pin in requirements/prod.txt:3: gunicorn[gevent]==22.0.0 ; sys_platform == "linux"'
        "  (declared <23; the container resolved 22.0.0)",
    )


def test_requirements_the_container_does_not_satisfy() -> None:
    local = declared(
        Requirement("flask", ">=3.1", declared_at=at(3)),
        Requirement("redis", "==5.0.1", declared_at=at(4)),
    )
    container = live("dockerfile", "Dockerfile", Package("flask", "3.0.3"))
    report, hints = check(local, container)
    assert {row.name: row.status.value for row in report.packages} == {
        "flask": "unsatisfied",
        "redis": "missing",
    }
    assert hints == (
        "# requirements.txt:3: flask>=3.1 is not satisfied by the container's 3.0.3: "
        "rebuild the image, or declare flask==3.0.3",
        "# requirements.txt:4: redis is declared but the container does not have it: "
        "does the Dockerfile install this file? rebuild the image",
    )


def test_requires_python_the_container_does_not_meet() -> None:
    local = Environment(
        kind="pyproject",
        ref="pyproject.toml",
        level=Level.DECLARED,
        python_requirement=">=3.12",
    )
    _, hints = check(local, live("image", "app", python="3.11.2"))
    assert len(hints) == 1
    assert "Python 3.11.2" in hints[0] and ">=3.12" in hints[0]


def test_a_venv_against_a_declaration_installs_what_it_asks_for() -> None:
    """``parity diff venv:.venv requirements.txt``: the declared side is the target."""
    local = live("venv", ".venv", Package("flask", "2.0.0"))
    target = declared(
        Requirement("flask", ">=3.0", declared_at=at(1)),
        Requirement("requests", declared_at=at(2)),
    )
    _, hints = check(local, target)
    assert commands(hints) == [["python", "-m", "pip", "install", "flask>=3.0", "requests"]]


# --- a lock file ---------------------------------------------------------------------------


def test_lock_file_rows_are_comments() -> None:
    lock = Environment(
        kind="poetry-lock",
        ref="poetry.lock",
        level=Level.LOCKED,
        packages=(Package("django", "4.2.7"), Package("tomli", "2.0.1")),
    )
    container = live("image", "app", Package("django", "5.0.1"), Package("six", "1.16.0"))
    _, hints = check(lock, container)
    assert hints == (
        "# django: poetry.lock has 4.2.7, the container 5.0.1; update one to match",
        "# six: the container has 1.16.0, poetry.lock does not",
        "# tomli: poetry.lock has 2.0.1, the container does not have it",
    )


# --- applied for real: a venv, an image, pip ---------------------------------------------


@pytest.fixture
def sample(tmp_path: Path, base_image: Any, request: pytest.FixtureRequest) -> Path:
    """A copy of a sample project with its developer venv made from laptop-freeze.txt."""
    base_image("3.11")
    project = tmp_path / request.param
    shutil.copytree(SAMPLES / request.param, project, ignore=shutil.ignore_patterns(".venv"))
    make_venv(project / ".venv", project / "laptop-freeze.txt")
    return project


def run_check(project: Path, cache: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    output = project.parent / "report.json"
    result = run_parity(
        "check",
        str(project),
        *extra,
        "--format",
        "json",
        "--output",
        str(output),
        "-q",
        env={"PARITY_CACHE_DIR": str(cache), "VIRTUAL_ENV": ""},
    )
    assert result.returncode in (0, 1), result.stderr
    return result.returncode, load_report(output)


def load_container(project: Path, cache: Path, monkeypatch: pytest.MonkeyPatch) -> Environment:
    monkeypatch.setenv("PARITY_CACHE_DIR", str(cache))
    options = ContainerOptions(build=BuildOptions(network_mode=build_network()))
    prober = ContainerProber(options)
    try:
        return prober.load_dockerfile(str(project / "Dockerfile"))
    finally:
        prober.close()


@pytest.mark.docker
@pytest.mark.slow
@pytest.mark.parametrize("sample", ["venv-multistage", "flask-requirements"], indirect=True)
def test_applying_the_hints_removes_the_drift(
    sample: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    code, before = run_check(sample, cache)
    assert code == 1 and before["packages"]

    local = load_venv(str(sample / ".venv"))
    container = load_container(sample, cache, monkeypatch)
    report, hints = check(local, container)
    rows = {
        (row.name, row.values["local"], row.values["container"])
        for row in report.counted_packages()
    }
    assert rows == {
        (row["name"], row["values"]["local"], row["values"]["container"])
        for row in drift_rows(before)
    }
    if sample.name == "venv-multistage":
        assert commands(hints) == [
            ["python", "-m", "pip", "uninstall", "-y", "tomli"],
            ["python", "-m", "pip", "install", "packaging==24.0"],
        ]

    # Run every command as printed, in the activated venv.
    for line in hints:
        if line.startswith("#"):
            continue
        assert line.startswith(("python -m pip install ", "python -m pip uninstall "))
        subprocess.run(
            f". .venv/bin/activate && {line}", shell=True, cwd=sample, check=True, timeout=600
        )

    code, after = run_check(sample, cache)
    assert drift_rows(after) == [], after["packages"]
    assert code == 0
    assert venv_freeze(sample / ".venv" / "bin" / "python").items() >= {
        (row[0], row[2]) for row in rows if row[2] is not None
    }


@pytest.mark.docker
@pytest.mark.slow
@pytest.mark.parametrize("sample", ["flask-requirements"], indirect=True)
def test_requirements_pin_is_what_the_image_installed(
    sample: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, docker_client: Any
) -> None:
    cache = tmp_path / "cache"
    requirements = sample / "requirements.txt"
    code, report_json = run_check(sample, cache, "--local", f"requirements:{requirements}")
    assert code == 0 and drift_rows(report_json) == []

    local = load_requirements(str(requirements))
    container = load_container(sample, cache, monkeypatch)
    _, hints = check(local, container)
    installed = image_freeze(docker_client, container.image_id or "")
    line = next(
        number
        for number, text in enumerate(requirements.read_text().splitlines(), 1)
        if text == "requests"
    )
    assert hints == (
        f"# pin in {requirements}:{line}: requests=={installed['requests']}"
        f"  (declared *; the container resolved {installed['requests']})",
    )
