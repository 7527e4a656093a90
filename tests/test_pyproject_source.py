"""pyproject.toml source: PEP 621, PEP 735 groups and Poetry, on real files."""

from __future__ import annotations

import contextlib
import itertools
import json
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from parity.model import Level, Requirement
from parity.sources.poetry_constraint import constraint_allows
from parity.sources.pyproject import (
    PyprojectError,
    load_pyproject,
    poetry_constraint_to_specifiers,
    python_constraint_to_marker,
    resolve_dependency_group,
)
from tests.conftest import REALWORLD, TEST_DATA

DATA = TEST_DATA / "pyproject"


def _named(requirements: tuple[Requirement, ...]) -> dict[str, Requirement]:
    return {requirement.key: requirement for requirement in requirements}


def _summary(requirements: tuple[Requirement, ...]) -> list[tuple[str, str]]:
    return [(requirement.name, requirement.specifier) for requirement in requirements]


# --- real-world pyproject.toml files ------------------------------------------------------


@pytest.mark.realworld
def test_realworld_pep621_with_groups() -> None:
    path = REALWORLD / "Clinical-Genomics__stranger__uv-lock-forked-groups" / "pyproject.toml"
    environment = load_pyproject(path)
    assert environment.kind == "pyproject"
    assert environment.level is Level.DECLARED
    assert environment.python_requirement == ">=3.9"
    assert _summary(environment.requirements) == [
        ("click", ""),
        ("coloredlogs", ""),
        ("importlib-resources", ">=5.12.0"),
        ("PyYAML", ""),
    ]
    with_groups = load_pyproject(path, groups=["dev", "lint"]).requirements
    assert _summary(with_groups)[4:] == [
        ("pytest-cov", ">=4.1.0"),
        ("pytest", ">=7.4.4"),
        ("black", ">=23.3.0"),
        ("isort", ">=5.11.5"),
        ("ruff", ">=0.8.0"),
    ]


@pytest.mark.realworld
def test_realworld_one_line_dependencies_point_at_their_line() -> None:
    path = REALWORLD / "CliveUnger__aoc-mgz__uv-lock-groups-sdist-only" / "pyproject.toml"
    environment = load_pyproject(path, groups=["dev"])
    assert _summary(environment.requirements) == [
        ("aocref", ">=2.0.35"),
        ("construct", "==2.8.16"),
        ("tabulate", ">=0.9.0"),
        ("ruff", ">=0.16.0"),
        ("ty", ">=0.0.63"),
    ]
    assert {r.declared_at.line for r in environment.requirements[:3]} == {9}  # type: ignore[union-attr]
    assert environment.python_requirement == ">=3.12"


@pytest.mark.realworld
def test_realworld_setuptools_project() -> None:
    path = REALWORLD / "ClimenteA__curs-valutar-bnr__uv-lock-rev3-simple" / "pyproject.toml"
    environment = load_pyproject(path)
    assert _summary(environment.requirements) == [
        ("diskcache", ">=5.6.3"),
        ("requests", ">=2.32.5"),
        ("xmltodict", ">=1.0.2"),
    ]
    with pytest.raises(
        PyprojectError, match=r"unknown dependency group 'dev' \(known groups: none\)"
    ):
        load_pyproject(path, groups=["dev"])


@pytest.mark.realworld
def test_realworld_poetry_caret() -> None:
    path = (
        REALWORLD / "DavidVujic__python-polylith-example__poetry-lock20-minimal" / "pyproject.toml"
    )
    environment = load_pyproject(path)
    assert _summary(environment.requirements) == [("confluent-kafka", ">=2.2.0,<3.0.0")]
    assert environment.python_requirement == ">=3.10,<4.0"


@pytest.mark.realworld
def test_realworld_poetry_indented_tables_and_dev_group() -> None:
    folder = "Kurt-von-Laven__pre-commit-language-versions__poetry-lock20-group-indented-toml"
    path = REALWORLD / folder / "pyproject.toml"
    assert load_pyproject(path).requirements == ()
    assert load_pyproject(path).python_requirement == "==3.12.0"
    dev = load_pyproject(path, groups=["dev"]).requirements
    assert _summary(dev) == [("pre-commit", "==3.5.0")]
    assert dev[0].declared_at.line == 21  # type: ignore[union-attr]


@pytest.mark.realworld
def test_realworld_poetry_empty_legacy_dev_dependencies() -> None:
    path = (
        REALWORLD
        / "KuttKatrea__universal-utilities__poetry-lock11-metadata-files"
        / "pyproject.toml"
    )
    environment = load_pyproject(path, groups=["dev"])
    assert _summary(environment.requirements) == [("click", ">=8.1.1,<9.0.0")]
    assert environment.python_requirement == ">=3.8,<4.0"


@pytest.mark.realworld
def test_realworld_poetry2_path_enriches_a_pep621_dependency() -> None:
    path = REALWORLD / "Yubico__python-fido2__poetry-path-dep" / "pyproject.toml"
    requirements = _named(load_pyproject(path).requirements)
    assert requirements["flask"].specifier == "<3,>=2.0"  # "Flask (>=2.0, <3)"
    assert requirements["fido2"].url == "../.."  # from [tool.poetry.dependencies]
    assert load_pyproject(path).python_requirement == "<4,>=3.10"


@pytest.mark.realworld
def test_every_realworld_pyproject_reads() -> None:
    paths = sorted(REALWORLD.glob("*/pyproject.toml"))
    assert len(paths) >= 7
    for path in paths:
        load_pyproject(path)


# --- PEP 621 + PEP 735 --------------------------------------------------------------------

PEP621 = DATA / "pep621" / "pyproject.toml"


def test_pep621_dependencies() -> None:
    environment = load_pyproject(PEP621)
    requirements = _named(environment.requirements)
    assert list(requirements) == ["requests", "tomli", "mylib"]
    assert requirements["requests"].extras == ("socks",)
    assert requirements["requests"].specifier == "<3,>=2.31"
    assert requirements["tomli"].marker == 'python_version < "3.11"'
    assert requirements["mylib"].url == "git+https://github.com/example/mylib.git@v1.0"
    assert requirements["requests"].declared_at.line == 10  # type: ignore[union-attr]
    assert environment.python_requirement == ">=3.9"


def test_extras_normalised_and_self_references_expanded() -> None:
    fast = _named(load_pyproject(PEP621, extras=["fast.io"]).requirements)
    assert fast["uvloop"].marker == 'sys_platform != "win32"'
    every = _named(load_pyproject(PEP621, extras=["all"]).requirements)
    assert {"uvloop", "psycopg"} <= set(every)
    assert "demo-app" not in every
    assert every["psycopg"].extras == ("binary",)


def test_unknown_extra_names_it() -> None:
    with pytest.raises(PyprojectError, match=r"unknown extra 'nope' \(known extras: all, fast-io"):
        load_pyproject(PEP621, extras=["nope"])


def test_dependency_groups_follow_includes() -> None:
    requirements = load_pyproject(PEP621, groups=["DEV"]).requirements
    assert _summary(requirements)[3:] == [
        ("pytest", ">=8"),
        ("coverage", ">=7"),
        ("ruff", ">=0.6"),
        ("psycopg", ">=3.1"),
    ]
    # the group's self reference keeps its marker
    assert requirements[-1].marker == 'os_name == "posix"'


def test_dependency_group_cycle_is_an_error() -> None:
    with pytest.raises(PyprojectError, match=r"Cyclic dependency group include: a -> b -> a"):
        load_pyproject(DATA / "group-cycle" / "pyproject.toml", groups=["a"])


def test_duplicate_group_names_are_an_error() -> None:
    with pytest.raises(
        PyprojectError, match=r"Duplicate dependency group names: test \(Test, test\)"
    ):
        load_pyproject(DATA / "duplicate-groups" / "pyproject.toml", groups=["test"])


def test_unknown_group_names_it() -> None:
    with pytest.raises(
        PyprojectError,
        match=r"unknown dependency group 'docs' \(known groups: coverage, dev, test\)",
    ):
        load_pyproject(PEP621, groups=["docs"])


def test_reference_algorithm_examples_from_pep_735() -> None:
    groups = {
        "test": ["pytest", {"include-group": "Coverage"}],
        "coverage": ["coverage[toml]"],
    }
    with pytest.raises(ValueError, match="Duplicate dependency group names"):
        resolve_dependency_group({**groups, "Coverage": []}, "test")
    assert resolve_dependency_group(groups, "TEST") == ["pytest", "coverage[toml]"]
    with pytest.raises(LookupError):
        resolve_dependency_group(groups, "docs")
    with pytest.raises(ValueError, match="Invalid dependency group item"):
        resolve_dependency_group({"a": [{"include-group": "b", "extra": 1}], "b": []}, "a")


def test_invalid_requirement_names_its_line() -> None:
    path = DATA / "bad-requirement" / "pyproject.toml"
    with pytest.raises(
        PyprojectError, match=rf"^{re.escape(str(path))}:6: invalid requirement 'flask >>> 2'"
    ):
        load_pyproject(path)


def test_invalid_toml_names_its_line() -> None:
    path = DATA / "bad-toml" / "pyproject.toml"
    with pytest.raises(PyprojectError, match=rf"^{re.escape(str(path))}:5: invalid TOML"):
        load_pyproject(path)


def test_dynamic_dependencies_are_a_warning() -> None:
    environment = load_pyproject(DATA / "dynamic" / "pyproject.toml")
    assert environment.requirements == ()
    assert environment.warnings == (
        "[project] dependencies are dynamic (computed by the build backend), "
        "so they cannot be read from pyproject.toml",
    )


# --- Poetry -------------------------------------------------------------------------------

POETRY = DATA / "poetry" / "pyproject.toml"


def test_poetry_constraints() -> None:
    environment = load_pyproject(POETRY)
    assert environment.python_requirement == ">=3.9,<4.0"
    specifiers = {r.key: r.specifier for r in environment.requirements if r.key != "numpy"}
    assert specifiers == {
        "requests": ">=2.31.0,<3.0.0",
        "zero-minor": ">=0.2.3,<0.3.0",
        "zero-patch": ">=0.0.3,<0.0.4",
        "major-only": ">=1,<2",
        "tilde": ">=1.2.3,<1.3.0",
        "tilde-major": ">=1,<2",
        "wildcard": "==1.*",
        "either": ">=1.2,<2.0 || >=2.0,<3.0",
        "range": ">=1.0,<2.0",
        "compatible": "~=1.4.5",
        "exact": "==1.2.3",
        "anything": "",
        "rich": ">=13.0,<14.0",
        "pywin32": ">=306",
        "tomli": ">=2.0,<3.0",
        "platformed": ">=1.0,<2.0",
        "mylib": "",
        "sibling": "",
        "wheel-file": "",
    }


def test_poetry_tables() -> None:
    requirements = _named(load_pyproject(POETRY).requirements)
    assert requirements["rich"].extras == ("jupyter",)
    assert requirements["pywin32"].marker == "sys_platform == 'win32'"
    assert requirements["tomli"].marker == "python_version < '3.11'"
    assert requirements["platformed"].marker == "sys_platform == 'linux'"
    assert requirements["mylib"].url == "git+https://github.com/example/mylib.git@v1.4.0"
    assert requirements["sibling"].url == "../sibling" and requirements["sibling"].editable
    assert requirements["wheel-file"].url.endswith("wheel_file-1.0-py3-none-any.whl")  # type: ignore[union-attr]
    assert "psycopg" not in requirements  # optional: only with its extra


def test_poetry_multiple_constraints() -> None:
    numpy = [r for r in load_pyproject(POETRY).requirements if r.key == "numpy"]
    assert [(r.specifier, r.marker) for r in numpy] == [
        (">=1.26,<2.0", "python_version >= '3.9' and python_version < '3.13'"),
        (">=2.1,<3.0", "python_version >= '3.13'"),
    ]


def test_poetry_extras_groups_and_legacy_dev() -> None:
    assert _named(load_pyproject(POETRY, extras=["postgres"]).requirements)[
        "psycopg"
    ].specifier == (">=3.1,<4.0")
    lint = _named(load_pyproject(POETRY, groups=["lint"]).requirements)
    assert lint["ruff"].specifier == ">=0.6"
    assert lint["pytest"].specifier == ">=8.0,<9.0"  # include-groups = ["test"]
    assert _named(load_pyproject(POETRY, groups=["dev"]).requirements)["black"].specifier == (
        ">=24.0,<25.0"
    )
    with pytest.raises(PyprojectError, match=r"unknown extra 'mysql' \(known extras: postgres\)"):
        load_pyproject(POETRY, extras=["mysql"])


def test_bad_poetry_constraint_names_its_line() -> None:
    path = DATA / "bad-constraint" / "pyproject.toml"
    with pytest.raises(
        PyprojectError, match=rf"^{re.escape(str(path))}:7: requests: could not parse"
    ):
        load_pyproject(path)


@pytest.mark.parametrize(
    ("constraint", "expected"),
    [
        ("^0.0.3", (">=0.0.3,<0.0.4",)),
        ("^0.2.3", (">=0.2.3,<0.3.0",)),
        ("^1.2.3", (">=1.2.3,<2.0.0",)),
        ("^1", (">=1,<2",)),
        ("^0", (">=0,<1",)),
        ("^0.0", (">=0.0,<0.1",)),
        ("~1.2.3", (">=1.2.3,<1.3.0",)),
        ("~1.2", (">=1.2,<1.3",)),
        ("~1", (">=1,<2",)),
        ("~=1.4.5", ("~=1.4.5",)),
        ("~=1", (">=1,<2",)),
        ("1.*", ("==1.*",)),
        ("!=1.2.*", ("!=1.2.*",)),
        ("*", ("",)),
        ("1.2.3", ("==1.2.3",)),
        ("=1.2", ("==1.2",)),
        (">=1.0 <2.0", (">=1.0,<2.0",)),
        (">= 1.0, < 2.0", (">=1.0,<2.0",)),
        ("^1.2 || ^2.0", (">=1.2,<2.0", ">=2.0,<3.0")),
        ("^1.2 | ^2.0", (">=1.2,<2.0", ">=2.0,<3.0")),
        ("* || ^2.0", ("",)),
        ("^1.0-beta.2", (">=1.0b2,<2.0",)),
        ("^1!2.3", (">=1!2.3,<1!3.0",)),
    ],
)
def test_poetry_constraint_translation(constraint: str, expected: tuple[str, ...]) -> None:
    assert poetry_constraint_to_specifiers(constraint) == expected


@pytest.mark.parametrize("constraint", ["", "^^1", "~", ">=1.0+local", "==1.0b1.*", "latest"])
def test_poetry_constraints_poetry_or_pep_440_rejects(constraint: str) -> None:
    with pytest.raises(ValueError):
        poetry_constraint_to_specifiers(constraint)


def test_python_constraint_to_marker() -> None:
    assert (
        python_constraint_to_marker("^3.8") == "python_version >= '3.8' and python_version < '4.0'"
    )
    assert python_constraint_to_marker(">=3.8.1") == "python_full_version >= '3.8.1'"
    assert python_constraint_to_marker("~2.7 || ^3.6") == (
        "(python_version >= '2.7' and python_version < '2.8') or "
        "(python_version >= '3.6' and python_version < '4.0')"
    )
    assert python_constraint_to_marker("*") is None


# --- agreement with poetry-core -----------------------------------------------------------

RELEASES = st.lists(st.integers(0, 3), min_size=1, max_size=4).map(lambda p: ".".join(map(str, p)))
SUFFIXES = st.sampled_from(["", "a0", "b1", "rc2", ".post1", ".dev0", "b1.dev2", ".post0.dev1"])
VERSIONS = st.builds(lambda release, suffix: release + suffix, RELEASES, SUFFIXES)
# Every release of up to three parts from 0-3 (plus a few suffixed and local forms):
# dense enough that each bound a generated constraint names has neighbours on both sides.
CANDIDATES = [
    ".".join(map(str, parts)) + suffix
    for length in (1, 2, 3)
    for parts in itertools.product(range(4), repeat=length)
    for suffix in ("", "a0", ".post1", ".dev0", "+loc1")
] + ["4", "4.0.1", "1.0.0.1", "0.0.0.1", "1!1.0"]
SHORT_RELEASES = st.lists(st.integers(0, 3), min_size=1, max_size=3).map(
    lambda p: ".".join(map(str, p))
)
SINGLE_CONSTRAINTS = st.one_of(
    st.builds(
        lambda op, version: op + version,
        st.sampled_from(["^", "~", "~=", ">=", ">", "<=", "<", "==", "!=", "<>", "", "="]),
        VERSIONS,
    ),
    st.builds(
        lambda op, release: f"{op}{release}.*", st.sampled_from(["", "==", "!="]), SHORT_RELEASES
    ),
    st.sampled_from(["*", "x", "1.x"]),
)
CONSTRAINTS = st.lists(
    st.lists(SINGLE_CONSTRAINTS, min_size=1, max_size=2).map(", ".join), min_size=1, max_size=2
).flatmap(lambda branches: st.sampled_from([" || ", " | ", "||"]).map(lambda s: s.join(branches)))


def _trimmed(release: tuple[int, ...]) -> tuple[int, ...]:
    while len(release) > 1 and release[-1] == 0:
        release = release[:-1]
    return release


def _is_boundary_variant(candidate: Version, constraint: str) -> bool:
    """A post-release or local version of a version the constraint names.

    Only there do poetry-core and PEP 440 part ways, in poetry-core's own range algebra:
    it builds ``!=V`` as ``<V || >V`` (so ``!=1`` rejects ``1.post1``), and intersecting
    or joining ranges (``>3, >=3.post1``; ``>1 || <=1``) drops PEP 440's rule that ``>V``
    excludes V's post and local releases. Everywhere else the answers must be equal.
    """
    if candidate.post is None and candidate.local is None:
        return False
    named = {
        _trimmed(tuple(int(part) for part in text.split(".")))
        for text in re.findall(r"\d+(?:\.\d+)*", constraint)
    }
    return _trimmed(candidate.release) in named


@settings(max_examples=1000, deadline=None)
@given(constraint=CONSTRAINTS)
def test_translation_agrees_with_poetry_core(constraint: str) -> None:
    parser = pytest.importorskip("poetry.core.constraints.version")
    try:
        branches = poetry_constraint_to_specifiers(constraint)
    except ValueError:
        # PEP 440 has no wildcard on a pre, post or dev release; anything else we reject,
        # Poetry rejects too
        if not re.search(r"(a|b|rc|post|dev)\d+\.\*", constraint):
            with pytest.raises(ValueError):
                parser.parse_constraint(constraint)
        return
    poetry_constraint = parser.parse_constraint(constraint)
    specifier_sets = [SpecifierSet(branch) for branch in branches]
    for text in CANDIDATES:
        candidate = Version(text)
        if _is_boundary_variant(candidate, constraint):
            continue
        ours = any(spec.contains(candidate, prereleases=True) for spec in specifier_sets)
        theirs = poetry_constraint.allows(parser.Version.parse(text))
        assert ours == theirs, (constraint, branches, text)
        # poetry.lock's reading of the same constraint is the same reader's.
        assert constraint_allows(constraint, text) == theirs, (constraint, text)


# --- fuzz ---------------------------------------------------------------------------------

STRINGS = st.sampled_from(
    [
        "requests>=2",
        "demo[a]",
        "x; os_name == 'nt'",
        "^1.2",
        "~1",
        "1.*",
        "*",
        "|| ^2",
        ">=1.0+local",
        "",
        "git+https://x/y.git",
        "../p",
        "linux",
        ">=3.8",
        "^^1",
        "(",
    ]
) | st.text(max_size=12)
POETRY_FIELDS = [
    "version", "extras", "markers", "python", "platform", "optional", "git", "tag", "rev",
    "branch", "path", "develop", "url", "file", "subdirectory", "source",
]  # fmt: skip
TOML_VALUES = st.recursive(
    STRINGS | st.booleans() | st.integers(-3, 3),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from([*POETRY_FIELDS, "include-group"]), inner, max_size=4)
    ),
    max_leaves=8,
)
NAMES = st.sampled_from(["demo", "requests", "python", "dev", "Test", "a"]) | st.text(max_size=6)


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


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    project=st.dictionaries(
        st.sampled_from(
            ["name", "dependencies", "optional-dependencies", "requires-python", "dynamic"]
        ),
        TOML_VALUES,
    ),
    groups_table=st.dictionaries(NAMES, TOML_VALUES, max_size=3),
    poetry=st.dictionaries(NAMES, TOML_VALUES, max_size=4),
    poetry_extras=st.dictionaries(NAMES, TOML_VALUES, max_size=2),
    chosen_extras=st.lists(NAMES, max_size=2),
    chosen_groups=st.lists(NAMES, max_size=2),
)
def test_fuzz_structured_pyprojects_raise_only_pyproject_error(
    project: dict[str, object],
    groups_table: dict[str, object],
    poetry: dict[str, object],
    poetry_extras: dict[str, object],
    chosen_extras: list[str],
    chosen_groups: list[str],
    tmp_path: Path,
) -> None:
    path = tmp_path / "pyproject.toml"
    text = (
        toml_table("project", project)
        + toml_table("dependency-groups", groups_table)
        + toml_table("tool.poetry.dependencies", poetry)
        + toml_table("tool.poetry.extras", poetry_extras)
        + toml_table("tool.poetry.group.dev.dependencies", poetry)
    )
    path.write_text(text)
    with contextlib.suppress(PyprojectError):
        load_pyproject(path, extras=chosen_extras, groups=chosen_groups)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(content=st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_fuzz_bytes_raise_only_pyproject_error(content: bytes, tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_bytes(content)
    with contextlib.suppress(PyprojectError):
        load_pyproject(path, extras=["a"], groups=["dev"])


@settings(max_examples=500, deadline=None)
@given(text=STRINGS | st.text(alphabet="^~=<>!*|,. 0123456789abvx+-", max_size=16))
def test_fuzz_constraints_raise_only_value_error(text: str) -> None:
    try:
        branches = poetry_constraint_to_specifiers(text)
    except ValueError:
        return
    for branch in branches:
        SpecifierSet(branch)  # every branch is valid PEP 440
