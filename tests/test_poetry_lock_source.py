"""poetry.lock source: compared with the real ``poetry export`` (poetry-plugin-export)."""

from __future__ import annotations

import pathlib
import re
import shutil
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from packaging.markers import Marker
from packaging.requirements import Requirement

from parity.model import Level, Origin
from parity.sources.lockgraph import read_toml
from parity.sources.poetry_constraint import constraint_allows
from parity.sources.poetry_lock import PoetryLockError, load_poetry_lock
from tests.conftest import REALWORLD, TEST_DATA
from tests.helpers import marker_env

LOCKS = TEST_DATA / "locks"
POETRY_APP = LOCKS / "poetry-app"
POETRY_PROJECTS = [POETRY_APP, *sorted(path.parent for path in REALWORLD.glob("*/poetry.lock"))]


ENVIRONMENTS = {
    "linux-3.9": marker_env("3.9.18"),
    "linux-3.10": marker_env("3.10.4"),
    "windows-3.12.0": marker_env("3.12.0", "Windows"),
    "mac-pypy-3.12": marker_env("3.12.7", "Darwin", "PyPy"),
    "linux-3.13": marker_env("3.13.2"),
}


def project_groups(project: pathlib.Path) -> list[str]:
    data = read_toml(str(project / "pyproject.toml"))
    poetry = data.get("tool", {}).get("poetry", {})  # type: ignore[union-attr]
    groups = set(poetry.get("group", {}))
    if "dev-dependencies" in poetry:
        groups.add("dev")
    return sorted(groups)


def project_python(project: pathlib.Path) -> str:
    data = read_toml(str(project / "pyproject.toml"))
    requires = data.get("project", {}).get("requires-python")  # type: ignore[union-attr]
    poetry = data.get("tool", {}).get("poetry", {}).get("dependencies", {})  # type: ignore[union-attr]
    return str(requires or poetry.get("python", "*"))


def poetry_export(project: pathlib.Path, flags: list[str], tmp: pathlib.Path) -> str:
    """``poetry export`` on a copy of the lock and pyproject (export reads the lock offline)."""
    pytest.importorskip("poetry_plugin_export", reason="poetry + poetry-plugin-export needed")
    work = tmp / project.name
    work.mkdir()
    for name in ("poetry.lock", "pyproject.toml"):
        shutil.copy(project / name, work / name)
    command = [sys.executable, "-m", "poetry", "export", "--without-hashes", *flags]
    result = subprocess.run(command, cwd=work, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


def exported(text: str, environment: dict[str, str]) -> dict[str, str]:
    """name -> version (or direct URL) of export lines that apply in ``environment``."""
    pins: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", "--")):
            continue
        if line.startswith("-e "):
            url, _, marker = line[3:].partition(" ; ")
            if not marker or Marker(marker).evaluate(environment):
                pins[f"-e {pathlib.PurePosixPath(url).name}"] = url
            continue
        requirement = Requirement(line)
        if requirement.marker and not requirement.marker.evaluate(environment):
            continue
        key = re.sub(r"[-_.]+", "-", requirement.name).lower()
        pins[key] = requirement.url or str(requirement.specifier).removeprefix("==")
    return pins


def parity_pins(
    project: pathlib.Path, environment: dict[str, str], **keywords: object
) -> dict[str, str]:
    locked = load_poetry_lock(str(project / "poetry.lock"), marker_env=environment, **keywords)  # type: ignore[arg-type]
    assert locked.level is Level.LOCKED
    pins: dict[str, str] = {}
    for package in locked.packages:
        assert package.marker is None
        origin = package.origin
        if origin is not None and origin.kind == "editable":
            pins[f"-e {origin.url.rsplit('/', 1)[-1]}"] = origin.url
        elif (
            origin is not None
            and origin.kind == "archive"
            and "://" in origin.url
            and not origin.url.startswith("file:")
        ) or (origin is not None and origin.kind == "directory"):
            pins[package.key] = origin.url
        else:
            pins[package.key] = package.version
    return pins


def comparable(pins: dict[str, str]) -> dict[str, str]:
    """Local paths differ between the copy poetry reads and the original: compare names only."""
    return {
        key: ("<local>" if value.startswith(("file:", "/")) else value)
        for key, value in pins.items()
    }


VARIANTS = {
    "main": ([], {}),
    "all-extras": (["--all-extras"], {"all_extras": True}),
    "all-groups": (["--all-groups"], {"groups": "ALL"}),
    "everything": (["--all-groups", "--all-extras"], {"groups": "ALL", "all_extras": True}),
    "only-dev": (["--only", "dev"], {"groups": ["dev"], "no_default_groups": True}),
}


@pytest.mark.realworld
@pytest.mark.parametrize("project", POETRY_PROJECTS, ids=lambda path: path.name)
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_matches_poetry_export(project: pathlib.Path, variant: str, tmp_path: pathlib.Path) -> None:
    flags, keywords = VARIANTS[variant]
    groups = project_groups(project)
    if "dev" in flags and "dev" not in groups:
        pytest.skip("the project has no dev group")
    if keywords.get("groups") == "ALL":
        keywords = {**keywords, "groups": groups}
    text = poetry_export(project, flags, tmp_path)
    python = project_python(project)
    checked = 0
    for name, environment in ENVIRONMENTS.items():
        if not constraint_allows(python, environment["python_full_version"]):
            continue
        checked += 1
        want = comparable(exported(text, environment))
        got = comparable(parity_pins(project, environment, **keywords))
        assert got == want, name
    assert checked


def test_lock_21_and_its_walked_20_twin_agree(tmp_path: pathlib.Path) -> None:
    """Strip 2.1's recorded groups/markers: walking the graph must give the same answers."""
    twin = tmp_path / "poetry-app"
    twin.mkdir()
    shutil.copy(POETRY_APP / "pyproject.toml", twin / "pyproject.toml")
    text = (POETRY_APP / "poetry.lock").read_text()
    text = re.sub(r"^(groups|markers) = .*\n", "", text, flags=re.MULTILINE)
    (twin / "poetry.lock").write_text(text.replace('lock-version = "2.1"', 'lock-version = "2.0"'))
    for extras in ([], ["yaml"], ["http", "yaml"]):
        for groups in ([], ["dev"], ["dev", "lint"]):
            for name, environment in ENVIRONMENTS.items():
                recorded = load_poetry_lock(
                    str(POETRY_APP / "poetry.lock"),
                    extras=extras,
                    groups=groups,
                    marker_env=environment,
                )
                walked = load_poetry_lock(
                    str(twin / "poetry.lock"), extras=extras, groups=groups, marker_env=environment
                )
                assert {(p.key, p.version) for p in walked.packages} == {
                    (p.key, p.version) for p in recorded.packages
                }, (name, extras, groups)
    # and the walk agrees with poetry export where poetry's own walker picks by Python range
    want = comparable(
        exported(poetry_export(twin, ["--all-extras"], twin), ENVIRONMENTS["linux-3.9"])
    )
    got = comparable(parity_pins(twin, ENVIRONMENTS["linux-3.9"], all_extras=True))
    assert got == want


@pytest.mark.realworld
@pytest.mark.parametrize("project", POETRY_PROJECTS, ids=lambda path: path.name)
def test_symbolic_markers_agree_with_each_environment(project: pathlib.Path) -> None:
    lock = str(project / "poetry.lock")
    groups = project_groups(project)
    symbolic = load_poetry_lock(lock, all_extras=True, groups=groups)
    for name, environment in ENVIRONMENTS.items():
        exact = load_poetry_lock(lock, all_extras=True, groups=groups, marker_env=environment)
        evaluated = {
            (p.key, p.version)
            for p in symbolic.packages
            if p.marker is None or Marker(p.marker).evaluate(environment)
        }
        assert evaluated == {(p.key, p.version) for p in exact.packages}, name


@pytest.mark.realworld
def test_origins_of_path_url_and_directory_sources() -> None:
    packages = load_poetry_lock(str(POETRY_APP / "poetry.lock")).packages_by_key()
    assert packages["localdep"].origin == Origin(
        "editable", (LOCKS / "uv-app" / "localdep").as_uri()
    )
    six = packages["six"].origin
    assert (
        six is not None
        and six.kind == "archive"
        and six.url.endswith("six-1.17.0-py2.py3-none-any.whl")
    )
    assert packages["click"].origin is None  # a legacy (index) source is no origin
    fido = REALWORLD / "Yubico__python-fido2__poetry-path-dep"
    fido2 = load_poetry_lock(str(fido / "poetry.lock")).packages_by_key()["fido2"]
    # `url = "../.."` from the lock's folder, with symbolic links resolved
    assert fido2.origin == Origin("directory", fido.parent.parent.resolve().as_uri())
    assert fido2.version == "2.1.2.dev0"


def test_extras_groups_and_markers_of_a_21_lock() -> None:
    lock = str(POETRY_APP / "poetry.lock")
    main = load_poetry_lock(lock).packages_by_key()
    assert not {"pyyaml", "idna", "iniconfig", "pycodestyle"} & main.keys()
    assert (
        main["colorama"].marker
        == '(platform_system == "Windows" and python_version == "3.9") or sys_platform == "win32"'
    )
    with_yaml = load_poetry_lock(lock, extras=["yaml"], groups=["lint"])
    assert {p.key for p in with_yaml.packages} >= {"pyyaml", "pycodestyle", "mccabe"}
    assert with_yaml.description == "poetry.lock with extras yaml and groups lint, main"
    only_dev = load_poetry_lock(lock, groups=["dev"], no_default_groups=True)
    assert {p.key for p in only_dev.packages} == {"iniconfig"}


def test_include_project_adds_the_editable_root() -> None:
    packages = load_poetry_lock(
        str(POETRY_APP / "poetry.lock"), include_project=True
    ).packages_by_key()
    assert packages["poetry-app"].origin == Origin("editable", POETRY_APP.resolve().as_uri())
    assert packages["poetry-app"].version == "0.1.0"


@pytest.mark.realworld
def test_legacy_11_lock_without_pyproject_uses_categories(tmp_path: pathlib.Path) -> None:
    source = (
        REALWORLD / "KuttKatrea__universal-utilities__poetry-lock11-metadata-files" / "poetry.lock"
    )
    shutil.copy(source, tmp_path / "poetry.lock")
    locked = load_poetry_lock(str(tmp_path / "poetry.lock"))
    assert {(p.key, p.version) for p in locked.packages} == {
        ("click", "8.1.1"),
        ("colorama", "0.4.4"),
    }
    assert locked.warnings == ("no pyproject.toml beside the lock: every locked package is listed",)
    with_pyproject = load_poetry_lock(str(source)).packages_by_key()
    assert with_pyproject["colorama"].marker == 'platform_system == "Windows"'


def test_python_outside_the_project_constraint_is_a_warning() -> None:
    locked = load_poetry_lock(str(POETRY_APP / "poetry.lock"), marker_env=marker_env("3.8.10"))
    assert locked.python_requirement == ">=3.9,<4.0"
    assert locked.warnings == (
        "Python 3.8.10 is outside the project's Python constraint >=3.9,<4.0",
    )


@pytest.mark.parametrize(
    ("constraint", "inside", "outside"),
    [
        ("^1.2.3", ["1.2.3", "1.9"], ["1.2.2", "2.0"]),
        ("^0.2.3", ["0.2.9"], ["0.3.0"]),
        ("^0.0.3", ["0.0.3"], ["0.0.4"]),
        ("~1.2", ["1.2.9"], ["1.3"]),
        ("~=3.9", ["3.12"], ["4.0"]),
        (">=2.6,<35 || >35,<49", ["2.6", "36"], ["35", "49"]),
        (">= 1.0, < 2", ["1.5"], ["2.0"]),
        ("1.2.*", ["1.2.7"], ["1.3"]),
        ("*", ["0.1", "99"], []),
        ("==3.12.0", ["3.12.0"], ["3.12.1"]),
        # As poetry-core reads them (the lock once read these two differently from pyproject):
        ("<>1.0", ["1.0"], ["1.1", "0.9"]),
        (">=1 | <0.5", ["0.4", "1.2"], ["0.7"]),
    ],
)
def test_poetry_constraints(constraint: str, inside: list[str], outside: list[str]) -> None:
    assert all(constraint_allows(constraint, version) for version in inside)
    assert not any(constraint_allows(constraint, version) for version in outside)


def test_lock_python_constraints_use_the_one_reader() -> None:
    """poetry.lock's python-versions and pyproject's Poetry tables read one language."""
    from parity.sources.poetry_lock import python_condition
    from parity.sources.pyproject import python_constraint_to_marker

    for constraint in ("~2.7 || ^3.6", ">=3.8.1,<4", "~=3.9", "<>3.11", "3.10.*", "*"):
        marker = python_constraint_to_marker(constraint)
        for version in ("2.7.18", "3.6.0", "3.8.0", "3.8.2", "3.9.5", "3.10.1", "3.11.0", "4.0"):
            environment = marker_env(version)
            expected = marker is None or Requirement(f"x; {marker}").marker.evaluate(environment)
            rendered = python_condition(constraint).render()
            held = rendered is None or Requirement(f"x; {rendered}").marker.evaluate(environment)
            assert held == expected, (constraint, version)


def test_unknown_extra_or_group_is_refused() -> None:
    with pytest.raises(PoetryLockError, match="extra nope is not defined"):
        load_poetry_lock(str(POETRY_APP / "poetry.lock"), extras=["nope"])
    with pytest.raises(PoetryLockError, match="group nope is not defined"):
        load_poetry_lock(str(POETRY_APP / "poetry.lock"), groups=["nope"])


def test_toml_errors_name_the_file_and_line(tmp_path: pathlib.Path) -> None:
    (tmp_path / "poetry.lock").write_text('[[package]]\nname = "a"\nversion = "1"\n[metadata\n')
    with pytest.raises(
        PoetryLockError, match=rf"^{re.escape(str(tmp_path))}/poetry.lock:4: invalid TOML"
    ):
        load_poetry_lock(str(tmp_path / "poetry.lock"))
    (tmp_path / "poetry.lock").write_text('[metadata]\nlock-version = "2.0"\n')
    (tmp_path / "pyproject.toml").write_text("[tool.poetry\n")
    with pytest.raises(PoetryLockError, match=r"pyproject.toml:1: invalid TOML"):
        load_poetry_lock(str(tmp_path / "poetry.lock"))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('[[package]]\nname = "a"\nversion = "1"\n', "no \\[metadata\\] lock-version"),
        ('[metadata]\nlock-version = "3.0"\n', "lock-version '3.0' is not supported"),
        ('[metadata]\nlock-version = "2.0"\n[[package]]\nname = "a"\n', "version is missing"),
        (
            '[metadata]\nlock-version = "2.1"\n[[package]]\nname = "a"\nversion = "1"\n'
            'groups = ["main"]\nmarkers = "python_version >"\n',
            "invalid marker",
        ),
    ],
)
def test_malformed_locks(tmp_path: pathlib.Path, content: str, message: str) -> None:
    (tmp_path / "poetry.lock").write_text(content)
    with pytest.raises(PoetryLockError, match=message):
        load_poetry_lock(str(tmp_path / "poetry.lock"))


def _fuzz(tmp_path: pathlib.Path, lock: bytes, pyproject: bytes | None) -> None:
    (tmp_path / "poetry.lock").write_bytes(lock)
    if pyproject is not None:
        (tmp_path / "pyproject.toml").write_bytes(pyproject)
    try:
        load_poetry_lock(str(tmp_path / "poetry.lock"), marker_env=ENVIRONMENTS["linux-3.10"])
        load_poetry_lock(str(tmp_path / "poetry.lock"), all_extras=True)
    except PoetryLockError:
        pass


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.binary(max_size=300), st.none() | st.binary(max_size=200))
def test_fuzz_bytes_only_raise_poetry_lock_error(
    tmp_path: pathlib.Path, lock: bytes, pyproject: bytes | None
) -> None:
    _fuzz(tmp_path, lock, pyproject)


LINES = st.sampled_from(
    [
        "[[package]]",
        'name = "a"',
        'name = "b"',
        'version = "1.0"',
        'version = "2.0"',
        'python-versions = ">=3.10"',
        'python-versions = "^x"',
        'groups = ["main"]',
        'markers = "extra == \\"x\\""',
        "markers = { main = \"python_version < '3.11'\" }",
        "[package.dependencies]",
        'b = "^1.0"',
        'a = [{version = "1", python = "<3.11"}, {version = "2", markers = "os_name == \\"x\\""}]',
        'b = {version = "*", optional = true, extras = ["x"]}',
        "[package.extras]",
        'x = ["b[x] (>=1)"]',
        "[package.source]",
        'type = "git"',
        'url = "https://example.invalid/r.git"',
        "[metadata]",
        'lock-version = "2.0"',
        'lock-version = "2.1"',
        "[extras]",
        'x = ["b"]',
    ]
)
PYPROJECT_LINES = st.sampled_from(
    [
        "[tool.poetry.dependencies]",
        'python = "^3.9"',
        'a = "*"',
        'b = {version = "^1", optional = true}',
        'a = [{version = "1.0", python = "<3.11"}, {version = ">=2", python = ">=3.11"}]',
        "[tool.poetry.extras]",
        'x = ["b"]',
        "[project]",
        'name = "p"',
        'dependencies = ["a>=1; python_version >= \'3\'", "b[x]"]',
        "[project.optional-dependencies]",
        'x = ["b"]',
        "[dependency-groups]",
        'dev = ["a", {include-group = "dev"}]',
        "[tool.poetry.group.dev.dependencies]",
    ]
)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(LINES, max_size=25), st.lists(PYPROJECT_LINES, max_size=10))
def test_fuzz_structured_locks_only_raise_poetry_lock_error(
    tmp_path: pathlib.Path, lock: list[str], pyproject: list[str]
) -> None:
    _fuzz(tmp_path, "\n".join(lock).encode(), "\n".join(pyproject).encode())
