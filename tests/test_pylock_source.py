"""pylock.toml source: compared with packaging's reference ``Pylock.select`` and with uv.lock."""

from __future__ import annotations

import pathlib
import shutil

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from packaging.markers import Marker
from packaging.pylock import Pylock
from packaging.tags import Tag
from packaging.utils import parse_wheel_filename

from parity.model import Level, Origin
from parity.sources.lockgraph import read_toml
from parity.sources.pylock import PylockError, load_pylock
from parity.sources.uv_lock import load_uv_lock
from tests.conftest import REALWORLD, TEST_DATA
from tests.helpers import marker_env

LOCKS = TEST_DATA / "locks"
PDM_LOCK = LOCKS / "pdm-app" / "pylock.toml"  # written by `pdm lock` (extras/groups markers)
UV_EXPORT = LOCKS / "uv-app" / "pylock.uv.toml"  # written by `uv export --format pylock.toml`
PIP_LOCK = LOCKS / "pip-lock" / "pylock.pip.toml"  # written by `pip lock -e ./localpkg ...`
PYLOCKS = [PDM_LOCK, UV_EXPORT, PIP_LOCK, *sorted(REALWORLD.glob("*/pylock*.toml"))]


ENVIRONMENTS = {
    "linux-3.9": marker_env("3.9.18"),
    "linux-3.10": marker_env("3.10.4"),
    "windows-3.12": marker_env("3.12.7", "Windows"),
    "linux-3.13": marker_env("3.13.2"),
}


def every_wheel_tag(path: pathlib.Path) -> list[Tag]:
    """All tags of the lock's wheels, so that the reference never fails on wheel choice."""
    lock = Pylock.from_dict(read_toml(str(path)))
    tags: set[Tag] = set()
    for package in lock.packages:
        for wheel in package.wheels or ():
            tags.update(parse_wheel_filename(wheel.filename)[3])
    return sorted(tags, key=str)


def reference(
    path: pathlib.Path, environment: dict[str, str], extras: list[str], groups: list[str] | None
) -> set[tuple[str, str]]:
    lock = Pylock.from_dict(read_toml(str(path)))
    selected = lock.select(
        environment=environment,  # type: ignore[arg-type]
        tags=every_wheel_tag(path),
        extras=extras,
        dependency_groups=groups,
    )
    return {(package.name, str(package.version or "")) for package, _ in selected}


def selections(path: pathlib.Path) -> list[tuple[list[str], list[str] | None, dict[str, object]]]:
    """(extras, groups for select, keywords for load_pylock) combinations a lock declares."""
    lock = Pylock.from_dict(read_toml(str(path)))
    extras = list(lock.extras or [])
    groups = list(lock.dependency_groups or [])
    combos: list[tuple[list[str], list[str] | None, dict[str, object]]] = [([], None, {})]
    combos.append((extras, None, {"all_extras": True}))
    combos.append(([], [], {"no_default_groups": True}))
    combos.extend(
        ([], sorted({group, *(lock.default_groups or [])}), {"groups": [group]}) for group in groups
    )
    return combos


def parity_selection(
    path: pathlib.Path, environment: dict[str, str], **keywords: object
) -> set[tuple[str, str]]:
    locked = load_pylock(str(path), include_project=True, marker_env=environment, **keywords)  # type: ignore[arg-type]
    assert locked.level is Level.LOCKED
    assert all(package.marker is None for package in locked.packages)
    versions = {}
    for package in locked.packages:
        # the reference leaves directory packages without a version
        bare = package.origin is not None and package.origin.kind in ("directory", "editable")
        versions[package.key] = "" if bare else package.version
    return set(versions.items())


@pytest.mark.realworld
@pytest.mark.parametrize("path", PYLOCKS, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_matches_the_packaging_reference_selection(path: pathlib.Path) -> None:
    lock = Pylock.from_dict(read_toml(str(path)))
    checked = 0
    for name, environment in ENVIRONMENTS.items():
        if lock.requires_python and not lock.requires_python.contains(
            environment["python_full_version"]
        ):
            with pytest.raises(PylockError, match="does not support this environment"):
                load_pylock(str(path), marker_env=environment)
            continue
        for extras, groups, keywords in selections(path):
            assert parity_selection(path, environment, **keywords) == reference(
                path, environment, extras, groups
            ), (name, keywords)
            checked += 1
    assert checked


@pytest.mark.realworld
@pytest.mark.parametrize("path", PYLOCKS, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_symbolic_markers_agree_with_each_environment(path: pathlib.Path) -> None:
    symbolic = load_pylock(str(path), all_extras=True, include_project=True)
    for name, environment in ENVIRONMENTS.items():
        try:
            exact = load_pylock(
                str(path), all_extras=True, include_project=True, marker_env=environment
            )
        except PylockError:
            continue
        evaluated = {
            (p.key, p.version)
            for p in symbolic.packages
            if p.marker is None or Marker(p.marker).evaluate(environment)
        }
        assert evaluated == {(p.key, p.version) for p in exact.packages}, name


def test_uv_pylock_export_agrees_with_the_uv_lock() -> None:
    """``uv export --all-extras --all-groups --format pylock.toml`` and the uv.lock it came from."""
    for name, environment in ENVIRONMENTS.items():
        exported = load_pylock(str(UV_EXPORT), marker_env=environment)
        locked = load_uv_lock(
            str(LOCKS / "uv-app" / "uv.lock"),
            all_extras=True,
            groups=["dev", "lint"],
            marker_env=environment,
        )
        assert {(p.key, p.version, p.origin) for p in exported.packages} == {
            (p.key, p.version, p.origin) for p in locked.packages
        }, name


def test_pdm_extras_and_groups_markers() -> None:
    env = ENVIRONMENTS["linux-3.9"]
    default = load_pylock(str(PDM_LOCK), marker_env=env)
    assert {p.key for p in default.packages} == {"click", "tomli"}
    everything = load_pylock(
        str(PDM_LOCK), extras=["http", "yaml"], groups=["dev", "lint"], marker_env=env
    )
    assert {p.key for p in everything.packages} == {
        "click",
        "tomli",
        "idna",
        "typing-extensions",
        "pyyaml",
        "iniconfig",
        "pycodestyle",
    }
    assert (
        everything.description == "pylock.toml with extras http, yaml and groups default, dev, lint"
    )
    symbolic = load_pylock(str(PDM_LOCK), extras=["http"]).packages_by_key()
    assert symbolic["typing-extensions"].marker == 'python_version < "3.10"'
    assert symbolic["idna"].marker is None
    assert "pyyaml" not in symbolic
    assert load_pylock(str(PDM_LOCK)).python_requirement == ">=3.9"


def test_environments_that_the_lock_does_not_support(tmp_path: pathlib.Path) -> None:
    text = PDM_LOCK.read_text().replace('requires-python = ">=3.9"\n', "")
    text = text.replace('"python_version >= \\"3.9\\"",', '"sys_platform == \\"win32\\"",')
    lock = tmp_path / "pylock.toml"
    lock.write_text(text)
    with pytest.raises(
        PylockError,
        match=r"does not support this environment: it supports sys_platform == \"win32\"",
    ):
        load_pylock(str(lock), marker_env=ENVIRONMENTS["linux-3.13"])
    assert load_pylock(str(lock), marker_env=ENVIRONMENTS["windows-3.12"]).packages


@pytest.mark.realworld
def test_origins_and_the_project_itself() -> None:
    pip = load_pylock(str(PIP_LOCK)).packages_by_key()
    assert pip["localpkg"].origin == Origin("editable", (LOCKS / "pip-lock" / "localpkg").as_uri())
    assert pip["localpkg"].version == "0.3.0"  # from the directory's static [project] version
    uv = load_pylock(str(UV_EXPORT)).packages_by_key()
    assert "uv-app" not in uv
    assert load_pylock(str(UV_EXPORT), include_project=True).packages_by_key()[
        "uv-app"
    ].origin == Origin("editable", (LOCKS / "uv-app").as_uri())
    archive = REALWORLD / "InKCre__ext-reg__pylock-uv-archive-pyodide" / "pylock.toml"
    toolkit = load_pylock(str(archive)).packages_by_key()["inkcre-extension-toolkit"]
    assert toolkit.origin is not None and toolkit.origin.kind == "archive"
    assert toolkit.origin.url.startswith("https://github.com/InKCre/ext-reg/releases/download/")


def test_file_name_must_be_pylock(tmp_path: pathlib.Path) -> None:
    shutil.copy(PIP_LOCK, tmp_path / "lock.toml")
    with pytest.raises(PylockError, match=r"named pylock\.toml or pylock\.NAME\.toml"):
        load_pylock(str(tmp_path / "lock.toml"))
    shutil.copy(PIP_LOCK, tmp_path / "pylock.dev.toml")
    assert load_pylock(str(tmp_path / "pylock.dev.toml")).packages


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            'lock-version = "1.0"\npackages = []\n',
            "not a valid pylock.toml: Missing required value in 'created-by'",
        ),
        (
            'lock-version = "2.0"\ncreated-by = "x"\npackages = []\n',
            "pylock version 2.0 is not supported",
        ),
        ('lock-version = "1.0"\ncreated-by = "x"\n[[packages]]\nname = "A_b"\n', "not normalized"),
        (
            'lock-version = "1.0"\ncreated-by = "x"\n[[packages]]\nname = "a"\nmarker = "os >"\n',
            "not a valid pylock.toml",
        ),
        ('lock-version = "1.0"\ncreated-by = "x"\npackages = [\n', "invalid TOML"),
    ],
)
def test_invalid_locks(tmp_path: pathlib.Path, content: str, message: str) -> None:
    (tmp_path / "pylock.toml").write_text(content)
    with pytest.raises(PylockError, match=message) as caught:
        load_pylock(str(tmp_path / "pylock.toml"))
    assert str(caught.value).startswith(str(tmp_path / "pylock.toml"))


def test_unknown_extra_or_group_and_duplicates(tmp_path: pathlib.Path) -> None:
    with pytest.raises(PylockError, match="extra nope is not declared"):
        load_pylock(str(PDM_LOCK), extras=["nope"])
    with pytest.raises(PylockError, match="dependency group nope is not declared"):
        load_pylock(str(PDM_LOCK), groups=["nope"])
    doubled = tmp_path / "pylock.toml"
    archive = 'archive = {url = "https://x.invalid/a.tar.gz", hashes = {sha256 = "00"}}'
    doubled.write_text(
        'lock-version = "1.0"\ncreated-by = "t"\n'
        f'[[packages]]\nname = "a"\nversion = "1"\n{archive}\n'
        f'[[packages]]\nname = "a"\nversion = "2"\n{archive}\n'
    )
    with pytest.raises(PylockError, match=r"packages\[0\] and packages\[1\] both install a"):
        load_pylock(str(doubled), marker_env=ENVIRONMENTS["linux-3.13"])
    assert [p.version for p in load_pylock(str(doubled)).packages] == ["1", "2"]


def _fuzz(tmp_path: pathlib.Path, content: bytes) -> None:
    (tmp_path / "pylock.toml").write_bytes(content)
    try:
        load_pylock(str(tmp_path / "pylock.toml"), marker_env=ENVIRONMENTS["linux-3.10"])
        load_pylock(str(tmp_path / "pylock.toml"), all_extras=True)
    except PylockError:
        pass


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.binary(max_size=300))
def test_fuzz_bytes_only_raise_pylock_error(tmp_path: pathlib.Path, content: bytes) -> None:
    _fuzz(tmp_path, content)


LINES = st.sampled_from(
    [
        'lock-version = "1.0"',
        'created-by = "t"',
        'requires-python = ">=3.9"',
        'requires-python = "nonsense"',
        'environments = ["os_name == \\"posix\\""]',
        'extras = ["x"]',
        'dependency-groups = ["g"]',
        'default-groups = ["g"]',
        "[[packages]]",
        'name = "a"',
        'version = "1"',
        'marker = "\\"x\\" in extras"',
        'marker = "\\"g\\" in dependency_groups and python_version < \\"3.11\\""',
        'marker = "extra == \\"x\\""',
        'requires-python = ">=3.12"',
        'directory = {path = ".", editable = true}',
        'vcs = {type = "git", url = "https://x.invalid/r", commit-id = "abc"}',
        'archive = {path = "a.tar.gz", hashes = {sha256 = "00"}}',
        'wheels = [{name = "a-1-py3-none-any.whl", path = "a.whl", hashes = {sha256 = "0"}}]',
    ]
)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(LINES, max_size=16))
def test_fuzz_structured_locks_only_raise_pylock_error(
    tmp_path: pathlib.Path, lines: list[str]
) -> None:
    _fuzz(tmp_path, "\n".join(lines).encode())
