"""Pipfile source: real Pipfiles, checked against pipenv's own reading of them."""

from __future__ import annotations

import contextlib
import json
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from packaging.markers import Marker
from packaging.requirements import Requirement as Pep508Requirement
from packaging.specifiers import SpecifierSet

from parity.model import Level, canonical_name
from parity.sources.pipfile import PipfileError, load_pipfile
from tests.conftest import REALWORLD, TEST_DATA
from tests.pipenv_tools import copy_project, run_pipenv

PIPENV_DATA = TEST_DATA / "pipenv"
REALWORLD_PIPFILES = sorted(REALWORLD.glob("*/Pipfile"))


def _by_name(environment: object) -> dict[str, object]:
    return {requirement.key: requirement for requirement in environment.requirements}  # type: ignore[attr-defined]


# --- the committed Pipfile (locked by real pipenv) ----------------------------------------


def test_reads_packages_with_star_extras_and_markers() -> None:
    environment = load_pipfile(PIPENV_DATA / "Pipfile")
    assert environment.kind == "pipfile"
    assert environment.level is Level.DECLARED
    assert environment.python_requirement == "==3.11.*"
    requirements = _by_name(environment)
    assert set(requirements) == {"six", "urllib3", "colorama", "distro"}
    assert requirements["six"].specifier == ""
    assert requirements["urllib3"].specifier == ">=2"
    assert requirements["urllib3"].extras == ("socks",)
    assert requirements["colorama"].marker == "sys_platform == 'win32'"
    # the legacy shorthand key sys_platform = "== 'linux'" becomes a marker
    assert requirements["distro"].marker == "sys_platform == 'linux'"
    assert environment.warnings == ()


def test_dev_packages_only_with_dev() -> None:
    requirements = _by_name(load_pipfile(PIPENV_DATA / "Pipfile", dev=True))
    assert requirements["iniconfig"].specifier == "==2.0.0"
    assert "iniconfig" not in _by_name(load_pipfile(PIPENV_DATA / "Pipfile"))


def test_requirements_point_at_their_lines() -> None:
    requirements = _by_name(load_pipfile(PIPENV_DATA / "Pipfile", dev=True))
    assert requirements["six"].declared_at is not None
    assert requirements["six"].declared_at.line == 7
    assert requirements["iniconfig"].declared_at.line == 13  # type: ignore[union-attr]


# --- every construct ----------------------------------------------------------------------


def test_every_construct() -> None:
    environment = load_pipfile(PIPENV_DATA / "constructs" / "Pipfile")
    requirements = _by_name(environment)
    assert requirements["django"].specifier == "<5,>=4.2"
    assert requirements["attrs"].specifier == "==23.1.0"  # bare version means ==
    assert requirements["any-version"].specifier == ""
    assert requirements["requests"].extras == ("socks", "security")
    assert requirements["requests"].specifier == "~=2.31"
    assert requirements["pywin32"].marker == "sys_platform == 'win32'"
    assert requirements["uvloop"].marker == (
        "implementation_name == 'cpython' and os_name != 'nt' and python_version >= '3.8'"
    )
    assert requirements["either"].marker == (
        "(sys_platform == 'linux' or sys_platform == 'darwin') and platform_machine == 'x86_64'"
    )
    assert requirements["mylib"].url == (
        "git+https://github.com/example/mylib.git@v1.4.0#subdirectory=python"
    )
    assert requirements["mylib"].editable
    assert requirements["plain-git"].url == "git+https://github.com/example/plain.git"
    assert requirements["archive"].url == "https://files.example.org/archive-1.0.tar.gz"
    assert requirements["internal-tool"].specifier == "==1.0"  # index key ignored
    assert requirements["tabled"].extras == ("fast",)
    assert requirements["tabled"].declared_at.line is not None  # type: ignore[union-attr]
    # [requires] python_full_version wins over python_version
    assert environment.python_requirement == "==3.11.7"
    # [packages] wins over [dev-packages] for the same name
    assert _by_name(load_pipfile(PIPENV_DATA / "constructs" / "Pipfile", dev=True))[
        "attrs"
    ].specifier == ("==23.1.0")


def test_generated_keys_for_paths_take_the_projects_name() -> None:
    environment = load_pipfile(PIPENV_DATA / "constructs" / "Pipfile")
    requirements = _by_name(environment)
    assert requirements["local-pkg"].url == "./localpkg"  # from localpkg/pyproject.toml
    assert requirements["local-pkg"].editable
    assert requirements["setuppy-pkg"].url == "./setuppy-pkg"  # from setup.py
    assert requirements["abcdef0"].url == "./not-there"  # unreadable: the key stays
    assert environment.warnings == (
        "'abcdef0' is pipenv's generated key for ./not-there; its project name could not "
        "be read there, so it is compared under that key",
    )


# --- real-world Pipfiles ------------------------------------------------------------------


@pytest.mark.realworld
def test_realworld_pipfiles_read() -> None:
    assert len(REALWORLD_PIPFILES) >= 4
    for pipfile in REALWORLD_PIPFILES:
        environment = load_pipfile(pipfile, dev=True)
        assert environment.requirements, pipfile


@pytest.mark.realworld
def test_realworld_legacy_marker_key_and_editable_paths() -> None:
    pipfile = REALWORLD / "pypa__pipenv__pipenv-markers-editable-paths" / "Pipfile"
    requirements = _by_name(load_pipfile(pipfile, dev=True))
    assert requirements["stdeb"].marker == "sys_platform == 'linux'"
    assert requirements["pipenv"].url == "." and requirements["pipenv"].editable
    assert requirements["flake8"].specifier == "<4,>=3.3.0"
    assert load_pipfile(pipfile).requirements == ()  # empty [packages]


@pytest.mark.realworld
def test_realworld_git_editable_and_requires() -> None:
    pipfile = REALWORLD / "monkut__kippo__pipenv-git-editable" / "Pipfile"
    environment = load_pipfile(pipfile)
    requirements = _by_name(environment)
    assert requirements["ghorgs"].url == "git+https://github.com/monkut/github-org-manager.git"
    assert requirements["ghorgs"].editable
    assert environment.python_requirement == "==3.6.*"


# --- pipenv's own reading -----------------------------------------------------------------


def pipenv_records(output: str) -> set[tuple[object, ...]]:
    """``pipenv requirements --no-lock`` lines as comparable records."""
    records: set[tuple[object, ...]] = set()
    for line in output.splitlines():
        text = line.removeprefix("-e ").strip()
        if not text or text.startswith(("-i ", "--extra-index-url")):
            continue
        vcs = re.match(r"^(git|hg|svn|bzr)\+(.+?)(?:@([^@#/]+))?#egg=([^\[&]+)", text)
        if vcs:
            url = f"{vcs[1]}+{vcs[2]}" + (f"@{vcs[3]}" if vcs[3] else "")
            records.add(("vcs", canonical_name(vcs[4]), url))
        elif text.startswith((".", "/")):
            records.add(("path", text.split(";")[0].strip()))
        else:
            parsed = Pep508Requirement(text)
            marker = str(parsed.marker) if parsed.marker else None
            records.add(
                (
                    "req",
                    canonical_name(parsed.name),
                    parsed.specifier,
                    frozenset(parsed.extras),
                    marker,
                )
            )
    return records


def parity_records(pipfile: Path, dev: bool) -> set[tuple[object, ...]]:
    records: set[tuple[object, ...]] = set()
    for requirement in load_pipfile(pipfile, dev=dev).requirements:
        if requirement.url and requirement.url.startswith(("git+", "hg+", "svn+", "bzr+")):
            records.add(("vcs", requirement.key, requirement.url))
        elif requirement.url:
            records.add(("path", requirement.url))
        else:
            marker = str(Marker(requirement.marker)) if requirement.marker else None
            spec = SpecifierSet(requirement.specifier)
            extras = frozenset(requirement.extras)
            records.add(("req", requirement.key, spec, extras, marker))
    return records


PIPENV_PROJECTS = [PIPENV_DATA, *(pipfile.parent for pipfile in REALWORLD_PIPFILES)]


@pytest.mark.realworld
@pytest.mark.parametrize("dev", [False, True], ids=["default", "dev"])
@pytest.mark.parametrize("source", PIPENV_PROJECTS, ids=lambda path: path.name)
def test_agrees_with_pipenv_requirements_no_lock(source: Path, dev: bool, tmp_path: Path) -> None:
    """parity reads each Pipfile as `pipenv requirements --no-lock` does.

    pipenv's --no-lock output drops extras of path entries and folds only the
    ``sys_platform`` shorthand key, which is all these Pipfiles use.
    """
    project = copy_project(source, tmp_path)
    args = ["requirements", "--no-lock", *(["--dev"] if dev else [])]
    result = run_pipenv(project, *args, home=tmp_path)
    assert result.returncode == 0, result.stderr
    assert parity_records(project / "Pipfile", dev) == pipenv_records(result.stdout)


# --- errors -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "message", "line"),
    [
        ('[packages]\nrequests = "*"\nflask = \n', "invalid TOML", 3),
        ('[packages]\nrequests = ">=>2"\n', "requests: invalid version specifier", 2),
        ('[packages]\n\nx = {version = "*", markers = "os_name = 1"}\n', "invalid marker", 3),
        ("[packages]\nrequests = 3\n", "must be a version string or a table", 2),
        (
            '[packages]\nrequests = {version = "*", extras = "socks"}\n',
            "'extras' must be a list",
            2,
        ),
        (
            '[packages]\nx = {version = "*", sys_platform = 1}\n',
            "'sys_platform' must be a string",
            2,
        ),
        ('[packages]\nx = {version = "*", editable = "yes"}\n', "'editable' must be true", 2),
        ('[packages]\n"bad name!" = "*"\n', "not a valid project name", 2),
        ('packages = "all"\n', "[packages] must be a table", None),
        ("[requires]\npython_version = 3.11\n", "python_version must be a quoted version", None),
        ('[requires]\npython_version = "three"\n', "is not a Python version", None),
    ],
)
def test_errors_name_the_file_and_line(
    content: str, message: str, line: int | None, tmp_path: Path
) -> None:
    pipfile = tmp_path / "Pipfile"
    pipfile.write_text(content)
    with pytest.raises(PipfileError) as raised:
        load_pipfile(pipfile)
    assert message in str(raised.value)
    assert str(raised.value).startswith(str(pipfile))
    if line is not None:
        assert f"{pipfile}:{line}:" in str(raised.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(PipfileError, match="cannot read the file"):
        load_pipfile(tmp_path / "Pipfile")


def test_not_utf8(tmp_path: Path) -> None:
    pipfile = tmp_path / "Pipfile"
    pipfile.write_bytes(b'[packages]\nx = "\xff"\n')
    with pytest.raises(PipfileError, match=r"Pipfile:2: the file is not UTF-8"):
        load_pipfile(pipfile)


# --- fuzz ---------------------------------------------------------------------------------

FIELDS = [
    "version", "extras", "markers", "git", "ref", "subdirectory", "path", "file", "editable",
    "index", "sys_platform", "os_name", "python_version", "python_full_version",
    "platform_machine", "hg",
]  # fmt: skip
INTERESTING = [
    "*", "", "1.2", "==1.0", ">=1,<2", "~=2.31", "== 'linux'", "!= 'nt'", ".", "./pkg",
    "https://github.com/x/y.git", "sys_platform == 'win32'", "os_name == 'nt' or x", "3.11",
    "0a1b2c3", "socks", "<", "(",
]  # fmt: skip
SCALARS = st.one_of(
    st.sampled_from(INTERESTING), st.text(max_size=12), st.integers(-5, 5), st.booleans()
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=8,
)


def toml_value(value: object) -> str:
    """A tiny TOML writer for fuzzing: JSON strings are valid TOML basic strings."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, str)):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    assert isinstance(value, dict)
    return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + "}"


def toml_table(name: str, table: dict[str, object]) -> str:
    lines = [f"[{name}]", *(f"{json.dumps(k)} = {toml_value(v)}" for k, v in table.items())]
    return "\n".join(lines) + "\n"


PACKAGE_NAMES = st.sampled_from(["requests", "0a1b2c3", "Django", "bad name", ""]) | st.text(
    max_size=8
)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    packages=st.dictionaries(PACKAGE_NAMES, VALUES, max_size=4),
    dev_packages=st.dictionaries(PACKAGE_NAMES, VALUES, max_size=3),
    requires=st.dictionaries(st.sampled_from(["python_version", "python_full_version"]), VALUES),
)
def test_fuzz_structured_pipfiles_raise_only_pipfile_error(
    packages: dict[str, object],
    dev_packages: dict[str, object],
    requires: dict[str, object],
    tmp_path: Path,
) -> None:
    pipfile = tmp_path / "Pipfile"
    text = toml_table("packages", packages) + toml_table("dev-packages", dev_packages)
    pipfile.write_text(text + toml_table("requires", requires))
    with contextlib.suppress(PipfileError):
        load_pipfile(pipfile, dev=True)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(content=st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_fuzz_bytes_raise_only_pipfile_error(content: bytes, tmp_path: Path) -> None:
    pipfile = tmp_path / "Pipfile"
    pipfile.write_bytes(content)
    with contextlib.suppress(PipfileError):
        load_pipfile(pipfile, dev=True)
