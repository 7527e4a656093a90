"""Pipfile.lock source: locks written by real pipenv, read as `pipenv requirements` reads them."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from packaging.markers import Marker
from packaging.requirements import Requirement as Pep508Requirement

from parity.model import Level, Origin, canonical_name
from parity.sources._toml import load_toml
from parity.sources.pipfile import PipfileError
from parity.sources.pipfile_lock import (
    HASH_SCHEMES,
    STALE_WARNING,
    PipfileLockError,
    load_pipfile_lock,
    lock_is_stale,
    matching_hash_scheme,
    pipfile_hash,
)
from tests.conftest import REALWORLD, TEST_DATA
from tests.pipenv_tools import copy_project, run_pipenv

PIPENV_DATA = TEST_DATA / "pipenv"
REALWORLD_LOCKS = sorted(REALWORLD.glob("*/Pipfile.lock"))
CURRENT = HASH_SCHEMES[0]


def _by_name(environment: object) -> dict[str, object]:
    return {package.key: package for package in environment.packages}  # type: ignore[attr-defined]


# --- the lock real pipenv wrote for tests/data/pipenv/Pipfile -----------------------------


def test_reads_default_pins_markers_and_requires() -> None:
    environment = load_pipfile_lock(PIPENV_DATA / "Pipfile.lock")
    assert environment.kind == "pipfile-lock"
    assert environment.level is Level.LOCKED
    assert environment.python_requirement == "==3.11.*"
    packages = _by_name(environment)
    assert set(packages) == {"colorama", "distro", "pysocks", "six", "urllib3"}
    assert packages["urllib3"].version == "2.8.0"  # type: ignore[attr-defined]
    assert packages["six"].marker.startswith("python_version >= '2.7'")  # type: ignore[attr-defined]
    assert packages["six"].declared_at.path == str(PIPENV_DATA / "Pipfile.lock")  # type: ignore[attr-defined]
    # pipenv locked colorama (win32 only) on Linux without resolving it: "version": "*"
    assert packages["colorama"].version == ""  # type: ignore[attr-defined]
    # ... and that is expected for a package its marker excludes: no warning on every run
    assert environment.warnings == ()


def test_develop_only_with_dev() -> None:
    packages = _by_name(load_pipfile_lock(PIPENV_DATA / "Pipfile.lock", dev=True))
    assert packages["iniconfig"].version == "2.0.0"  # type: ignore[attr-defined]
    assert "iniconfig" not in _by_name(load_pipfile_lock(PIPENV_DATA / "Pipfile.lock"))


def test_fresh_lock_is_not_stale() -> None:
    lock = PIPENV_DATA / "Pipfile.lock"
    assert not lock_is_stale(lock, PIPENV_DATA / "Pipfile")
    assert matching_hash_scheme(lock, PIPENV_DATA / "Pipfile") == CURRENT
    recorded = json.loads(lock.read_text())["_meta"]["hash"]["sha256"]
    assert pipfile_hash(load_toml(PIPENV_DATA / "Pipfile", PipfileError)) == recorded


def test_edited_pipfile_makes_the_lock_stale(tmp_path: Path) -> None:
    project = copy_project(PIPENV_DATA, tmp_path)
    pipfile = project / "Pipfile"
    pipfile.write_text(pipfile.read_text().replace('six = "*"', 'six = ">=1.16"'))
    assert lock_is_stale(project / "Pipfile.lock", pipfile)
    assert STALE_WARNING in load_pipfile_lock(project / "Pipfile.lock").warnings


def test_renaming_a_package_case_only_keeps_the_lock_fresh(tmp_path: Path) -> None:
    """Current pipenv hashes PEP 503 names: ``Six`` and ``six`` are the same Pipfile."""
    project = copy_project(PIPENV_DATA, tmp_path)
    pipfile = project / "Pipfile"
    pipfile.write_text(pipfile.read_text().replace('six = "*"', 'Six = "*"'))
    assert matching_hash_scheme(project / "Pipfile.lock", pipfile) == CURRENT


def test_lock_without_a_pipfile_beside_it_has_no_staleness_warning(tmp_path: Path) -> None:
    lock = tmp_path / "Pipfile.lock"
    shutil.copy(PIPENV_DATA / "Pipfile.lock", lock)
    assert load_pipfile_lock(lock).warnings == ()


def test_broken_pipfile_beside_the_lock_is_a_warning(tmp_path: Path) -> None:
    shutil.copy(PIPENV_DATA / "Pipfile.lock", tmp_path / "Pipfile.lock")
    (tmp_path / "Pipfile").write_text("[packages\n")
    warnings = load_pipfile_lock(tmp_path / "Pipfile.lock").warnings
    assert any(w.startswith("cannot check whether Pipfile.lock is stale: ") for w in warnings)
    with pytest.raises(PipfileError):
        lock_is_stale(tmp_path / "Pipfile.lock", tmp_path / "Pipfile")


# --- real-world locks ---------------------------------------------------------------------


@pytest.mark.realworld
def test_realworld_locks_all_match_their_pipfiles() -> None:
    """SOURCES.md documents every pair as matching; each matches some pipenv's recipe."""
    assert len(REALWORLD_LOCKS) >= 4
    for lock in REALWORLD_LOCKS:
        assert not lock_is_stale(lock, lock.with_name("Pipfile")), lock
        assert STALE_WARNING not in load_pipfile_lock(lock).warnings


@pytest.mark.realworld
def test_realworld_hash_recipes() -> None:
    expected = {
        "Yubico__python-fido2__pipenv-editable-path": "plette",  # pyOpenSSL, not pyopenssl
        "monkut__kippo__pipenv-git-editable": CURRENT.name,
        "psf__requests__pipenv-legacy-editable-extras": CURRENT.name,
        "pypa__pipenv__pipenv-markers-editable-paths": "pipfile library",  # no [[source]]
    }
    for lock in REALWORLD_LOCKS:
        scheme = matching_hash_scheme(lock, lock.with_name("Pipfile"))
        assert scheme is not None and scheme.name == expected[lock.parent.name], lock


@pytest.mark.realworld
def test_realworld_older_recipe_is_a_warning() -> None:
    lock = REALWORLD / "Yubico__python-fido2__pipenv-editable-path" / "Pipfile.lock"
    warnings = load_pipfile_lock(lock).warnings
    assert any("only by an older pipenv's hash (plette)" in warning for warning in warnings)


@pytest.mark.realworld
def test_realworld_edited_pipfiles_are_stale(tmp_path: Path) -> None:
    for lock in REALWORLD_LOCKS:
        project = copy_project(lock.parent, tmp_path / "edited")
        with (project / "Pipfile").open("a") as pipfile:
            pipfile.write('\n[packages.added-by-test]\nversion = "*"\n')
        assert lock_is_stale(project / "Pipfile.lock", project / "Pipfile"), lock
        assert STALE_WARNING in load_pipfile_lock(project / "Pipfile.lock").warnings


@pytest.mark.realworld
def test_realworld_git_entries_are_vcs_origins() -> None:
    lock = REALWORLD / "monkut__kippo__pipenv-git-editable" / "Pipfile.lock"
    ghorgs = _by_name(load_pipfile_lock(lock))["ghorgs"]
    assert ghorgs.version == ""  # type: ignore[attr-defined]
    assert ghorgs.origin == Origin(  # type: ignore[attr-defined]
        kind="vcs",
        url="https://github.com/monkut/github-org-manager.git",
        commit="de4b09f059ccc1ce59271a691618d05f95bab913",
        vcs="git",
    )


@pytest.mark.realworld
def test_realworld_editable_paths_are_editable_origins() -> None:
    folder = REALWORLD / "pypa__pipenv__pipenv-markers-editable-paths"
    packages = _by_name(load_pipfile_lock(folder / "Pipfile.lock", dev=True))
    assert packages["pipenv"].origin == Origin("editable", folder.as_uri())  # type: ignore[attr-defined]
    assert packages["pytest-pypy"].origin == Origin(  # type: ignore[attr-defined]
        "editable", (folder / "tests" / "pytest-pypi").as_uri()
    )
    assert packages["stdeb"].marker == "sys_platform == 'linux'"  # type: ignore[attr-defined]


@pytest.mark.realworld
def test_generated_key_takes_the_name_of_the_project_at_its_path(tmp_path: Path) -> None:
    """Yubico's lock names fido2 "5448283" = {path = "./../.."}; with the project there
    (a pyproject.toml two levels up) parity reports it as fido2."""
    source = REALWORLD / "Yubico__python-fido2__pipenv-editable-path"
    project = copy_project(source, tmp_path / "repo" / "examples")
    (tmp_path / "repo" / "pyproject.toml").write_text('[project]\nname = "fido2"\n')
    packages = _by_name(load_pipfile_lock(project / "Pipfile.lock"))
    assert "5448283" not in packages
    assert packages["fido2"].origin == Origin("editable", (tmp_path / "repo").as_uri())  # type: ignore[attr-defined]


# --- pipenv's own reading -----------------------------------------------------------------


def pipenv_records(output: str, project: Path) -> set[tuple[object, ...]]:
    """`pipenv requirements` lines as comparable records (hashes are not asked for)."""
    records: set[tuple[object, ...]] = set()
    for line in output.splitlines():
        text = line.removeprefix("-e ").strip()
        if not text or text.startswith(("-i ", "--extra-index-url")):
            continue
        vcs = re.match(r"^(git|hg|svn|bzr)\+(.+?)(?:@([^@#/]+))?#egg=([^\[&]+)", text)
        if vcs:
            records.add(("vcs", canonical_name(vcs[4]), vcs[1], vcs[2], vcs[3]))
        elif text.startswith((".", "/")):
            path = text.split(";")[0].strip()
            records.add(("path", Path(os.path.abspath(project / path)).as_uri()))
        else:
            parsed = Pep508Requirement(text)
            version = str(parsed.specifier).removeprefix("==")
            marker = str(parsed.marker) if parsed.marker else None
            records.add(("pin", canonical_name(parsed.name), version, marker))
    return records


def parity_records(lock: Path, dev: bool) -> set[tuple[object, ...]]:
    records: set[tuple[object, ...]] = set()
    for package in load_pipfile_lock(lock, dev=dev).packages:
        origin = package.origin
        if origin and origin.kind == "vcs":
            records.add(("vcs", package.key, origin.vcs, origin.url, origin.commit))
        elif origin:
            records.add(("path", origin.url))
        else:
            marker = str(Marker(package.marker)) if package.marker else None
            records.add(("pin", package.key, package.version, marker))
    return records


PIPENV_PROJECTS = [PIPENV_DATA, *(lock.parent for lock in REALWORLD_LOCKS)]


@pytest.mark.realworld
@pytest.mark.parametrize("dev", [False, True], ids=["default", "dev"])
@pytest.mark.parametrize("source", PIPENV_PROJECTS, ids=lambda path: path.name)
def test_agrees_with_pipenv_requirements(source: Path, dev: bool, tmp_path: Path) -> None:
    """Every pin, marker, VCS commit and local path matches `pipenv requirements [--dev]`."""
    project = copy_project(source, tmp_path)
    result = run_pipenv(project, "requirements", *(["--dev"] if dev else []), home=tmp_path)
    assert result.returncode == 0, result.stderr
    expected = pipenv_records(result.stdout, project)
    assert expected or not dev  # pipenv's own lock has an empty "default"
    assert parity_records(project / "Pipfile.lock", dev) == expected


@pytest.mark.realworld
@pytest.mark.parametrize("source", PIPENV_PROJECTS, ids=lambda path: path.name)
def test_current_recipe_agrees_with_pipenv_verify(source: Path, tmp_path: Path) -> None:
    """parity's current-pipenv recipe says "fresh" exactly when `pipenv verify` does."""
    project = copy_project(source, tmp_path)
    for edit in (False, True):
        if edit:
            with (project / "Pipfile").open("a") as pipfile:
                pipfile.write('\n[packages.added-by-test]\nversion = "*"\n')
        result = run_pipenv(project, "verify", home=tmp_path)
        if "Traceback" in result.stderr:
            # psf/requests' 2017 Pipfile has a [[source]] without `name`, which current
            # pipenv's Pipfile validation rejects before hashing.
            assert "Missing required field: name" in result.stderr
            pytest.skip("current pipenv cannot load this Pipfile")
        pipenv_says_fresh = result.returncode == 0
        scheme = matching_hash_scheme(project / "Pipfile.lock", project / "Pipfile")
        assert (scheme == CURRENT) == pipenv_says_fresh, (edit, result.stdout, result.stderr)


# --- errors -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "message", "line"),
    [
        ('{\n  "default": {\n    "six": {"version": "==1.0",}\n  }\n}', "invalid JSON", 3),
        ("[1, 2]", "not a Pipfile.lock", None),
        ('{"default": []}', '"default" must be a JSON object', None),
        ('{"default": {"six": 1}}', "six: an entry must be a JSON object", None),
        ('{"default": {"six": {"version": 1}}}', "'version' must be a string", None),
        (
            '{"default": {"x": {"version": "==1", "markers": "os_name = 1"}}}',
            "invalid marker",
            None,
        ),
        ('{"default": {"x": {"git": 1}}}', "'git' must be a string", None),
        ('{"_meta": {"requires": {"python_version": 3}}}', "python_version must be a quoted", None),
    ],
)
def test_errors_name_the_file(content: str, message: str, line: int | None, tmp_path: Path) -> None:
    lock = tmp_path / "Pipfile.lock"
    lock.write_text(content)
    with pytest.raises(PipfileLockError) as raised:
        load_pipfile_lock(lock)
    assert message in str(raised.value)
    assert str(raised.value).startswith(str(lock))
    if line is not None:
        assert f"{lock}:{line}:" in str(raised.value)


def test_shorthand_marker_keys_in_a_lock_are_folded(tmp_path: Path) -> None:
    lock = tmp_path / "Pipfile.lock"
    entry = {"version": "==1.0", "markers": "os_name == 'posix'", "python_version": "< '3.11'"}
    lock.write_text(json.dumps({"_meta": {}, "default": {"tomli": entry}}))
    tomli = _by_name(load_pipfile_lock(lock))["tomli"]
    assert tomli.marker == "os_name == 'posix' and python_version < '3.11'"  # type: ignore[attr-defined]


def test_default_wins_over_develop(tmp_path: Path) -> None:
    lock = tmp_path / "Pipfile.lock"
    default = {"six": {"version": "==1.17.0"}}
    develop = {"six": {"version": "==1.16.0"}, "pytest": {"version": "==8.0.0"}}
    lock.write_text(json.dumps({"_meta": {}, "default": default, "develop": develop}))
    packages = _by_name(load_pipfile_lock(lock, dev=True))
    assert packages["six"].version == "1.17.0"  # type: ignore[attr-defined]
    assert packages["pytest"].version == "8.0.0"  # type: ignore[attr-defined]


# --- fuzz ---------------------------------------------------------------------------------

FIELDS = [
    "version", "markers", "git", "ref", "path", "file", "editable", "hashes", "index",
    "extras", "sys_platform", "python_version", "hg",
]  # fmt: skip
INTERESTING = [
    "==1.0", "*", "", ">=1", "===1.0", ".", "./..", "https://x/y.git", "os_name == 'nt'",
    "< '3'", "0a1b2c3", "(",
]  # fmt: skip
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-5, 5)
    | st.sampled_from(INTERESTING)
    | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=8,
)
SECTIONS = st.dictionaries(
    st.sampled_from(["six", "0a1b2c3", "X"]) | st.text(max_size=6), JSON_VALUES
)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    meta=JSON_VALUES,
    default=SECTIONS | JSON_VALUES,
    develop=SECTIONS | JSON_VALUES,
    pipfile=st.sampled_from(["", '[packages]\nsix = "*"\n', "[packages\n", "x = 1979-05-27\n"]),
)
def test_fuzz_structured_locks_raise_only_lock_error(
    meta: object, default: object, develop: object, pipfile: str, tmp_path: Path
) -> None:
    lock = tmp_path / "Pipfile.lock"
    lock.write_text(json.dumps({"_meta": meta, "default": default, "develop": develop}))
    if pipfile:
        (tmp_path / "Pipfile").write_text(pipfile)
    with contextlib.suppress(PipfileLockError):
        load_pipfile_lock(lock, dev=True)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(content=st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_fuzz_bytes_raise_only_lock_error(content: bytes, tmp_path: Path) -> None:
    lock = tmp_path / "Pipfile.lock"
    lock.write_bytes(content)
    with contextlib.suppress(PipfileLockError):
        load_pipfile_lock(lock, dev=True)
