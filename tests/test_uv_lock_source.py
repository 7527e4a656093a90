"""uv.lock source: compared with what the real ``uv export`` says for concrete environments."""

from __future__ import annotations

import pathlib
import shutil
import subprocess

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from packaging.markers import Marker, UndefinedComparison
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

from parity.model import Level, Origin
from parity.sources.lockgraph import read_toml
from parity.sources.uv_lock import UvLockError, load_uv_lock
from tests.conftest import REALWORLD, TEST_DATA
from tests.helpers import marker_env

LOCKS = TEST_DATA / "locks"
UV_PROJECTS = [
    LOCKS / "uv-app",
    LOCKS / "uv-conflicts",
    *sorted(path.parent for path in REALWORLD.glob("*/uv.lock")),
]


ENVIRONMENTS = {
    "linux-3.9": marker_env("3.9.18"),
    "linux-3.10": marker_env("3.10.4"),
    "linux-3.12": marker_env("3.12.7"),
    "windows-3.13": marker_env("3.13.2", "Windows"),
    "mac-pypy-3.11": marker_env("3.11.9", "Darwin", "PyPy"),
}

# uv export flags -> load_uv_lock keywords
VARIANTS: dict[str, tuple[list[str], dict[str, object]]] = {
    "defaults": ([], {}),
    "all-extras": (["--all-extras"], {"all_extras": True}),
    "no-default-groups": (["--no-default-groups"], {"no_default_groups": True}),
    "lint-group": (["--group", "lint"], {"groups": ["lint"]}),
    "extra-old-group-idna-new": (
        ["--extra", "old", "--group", "idna-new"],
        {"extras": ["old"], "groups": ["idna-new"]},
    ),
    "extra-yaml-no-dev": (
        ["--extra", "yaml", "--no-dev"],
        {"extras": ["yaml"], "no_default_groups": True},
    ),
}


def uv_binary() -> str:
    """The uv executable installed next to the test interpreter (the ``uv`` package)."""
    uv = pytest.importorskip("uv", reason="the uv package is needed to compare with uv export")
    return str(uv.find_uv_bin())


def uv_export(
    project: pathlib.Path, flags: list[str], cache: pathlib.Path
) -> subprocess.CompletedProcess[str]:
    command = [uv_binary(), "export", "--frozen", "--offline", "--format", "requirements-txt"]
    command += ["--no-hashes", "--no-header", "--no-annotate", "--cache-dir", str(cache), *flags]
    return subprocess.run(command, cwd=project, capture_output=True, text=True, check=False)


def exported_pins(text: str, environment: dict[str, str]) -> tuple[set[tuple[str, str]], set[str]]:
    """Pins (name, version) and local paths of an export that apply in ``environment``."""
    pins: set[tuple[str, str]] = set()
    local: set[str] = set()
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        body, _, marker = line.partition(" ; ")
        if marker and not Marker(marker).evaluate(environment):
            continue
        if body.startswith(("-e ", ".", "/")):
            local.add(body.removeprefix("-e ").strip())
            continue
        requirement = Requirement(body)
        version = str(requirement.specifier).removeprefix("==")
        pins.add((requirement.name.lower().replace("_", "-").replace(".", "-"), version))
    return pins, local


def requires_python(project: pathlib.Path) -> SpecifierSet:
    return SpecifierSet(str(read_toml(str(project / "uv.lock")).get("requires-python", "")))


def local_paths(project: pathlib.Path, origins: list[Origin]) -> set[str]:
    """Origins of local packages written as uv export writes them (``.``, ``./localdep``)."""
    paths = set()
    for origin in origins:
        path = pathlib.Path(origin.url.removeprefix("file://"))
        relative = path.relative_to(project.resolve())
        paths.add("." if str(relative) == "." else f"./{relative}")
    return paths


@pytest.mark.realworld
@pytest.mark.parametrize("project", UV_PROJECTS, ids=lambda path: path.name)
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_matches_uv_export_in_every_environment(
    project: pathlib.Path, variant: str, tmp_path: pathlib.Path
) -> None:
    flags, keywords = VARIANTS[variant]
    result = uv_export(project, flags, tmp_path)
    if result.returncode != 0:
        # uv refuses (unknown extra or group, conflicting extras): parity must refuse too.
        with pytest.raises(UvLockError):
            load_uv_lock(str(project / "uv.lock"), **keywords)  # type: ignore[arg-type]
        return
    python_range = requires_python(project)
    for name, environment in ENVIRONMENTS.items():
        if not python_range.contains(environment["python_full_version"]):
            continue
        want_pins, want_local = exported_pins(result.stdout, environment)
        locked = load_uv_lock(
            str(project / "uv.lock"),
            include_project=True,
            marker_env=environment,
            **keywords,  # type: ignore[arg-type]
        )
        assert locked.level is Level.LOCKED
        got_pins = {(p.key, p.version) for p in locked.packages if p.origin is None}
        got_local = local_paths(project, [p.origin for p in locked.packages if p.origin])
        assert got_pins == want_pins, name
        assert got_local == want_local, name
        assert all(p.marker is None for p in locked.packages), name


@pytest.mark.realworld
@pytest.mark.parametrize("project", UV_PROJECTS, ids=lambda path: path.name)
def test_symbolic_markers_agree_with_each_environment(project: pathlib.Path) -> None:
    """Without marker_env, evaluating each package's marker gives the per-environment answer."""
    lock = str(project / "uv.lock")
    symbolic = load_uv_lock(lock, include_project=True)
    python_range = requires_python(project)
    for name, environment in ENVIRONMENTS.items():
        if not python_range.contains(environment["python_full_version"]):
            continue
        exact = load_uv_lock(lock, include_project=True, marker_env=environment)
        evaluated = {
            (p.key, p.version)
            for p in symbolic.packages
            if p.marker is None or Marker(p.marker).evaluate(environment)
        }
        assert evaluated == {(p.key, p.version) for p in exact.packages}, name


def test_forked_resolution_gives_each_python_its_version() -> None:
    lock = str(LOCKS / "uv-app" / "uv.lock")
    old = load_uv_lock(lock, marker_env=ENVIRONMENTS["linux-3.9"]).packages_by_key()
    new = load_uv_lock(lock, marker_env=ENVIRONMENTS["linux-3.12"]).packages_by_key()
    assert (old["click"].version, new["click"].version) == ("8.1.8", "8.5.1")
    assert "tomli" in old and "tomli" not in new
    both = [p for p in load_uv_lock(lock).packages if p.key == "click"]
    assert [(p.version, p.marker) for p in both] == [
        ("8.1.8", 'python_full_version < "3.10"'),
        ("8.5.1", 'python_full_version >= "3.10"'),
    ]


def test_dev_group_is_on_by_default_and_extras_are_off() -> None:
    lock = str(LOCKS / "uv-app" / "uv.lock")
    default = load_uv_lock(lock, marker_env=ENVIRONMENTS["linux-3.12"]).packages_by_key()
    assert {"iniconfig", "pluggy"} <= default.keys()
    assert not {"pyyaml", "idna", "pycodestyle"} & default.keys()
    bare = load_uv_lock(lock, no_default_groups=True, marker_env=ENVIRONMENTS["linux-3.12"])
    assert "iniconfig" not in bare.packages_by_key()
    assert load_uv_lock(lock).description == "uv.lock with groups dev"


def test_marker_dependency_and_local_origins() -> None:
    lock = str(LOCKS / "uv-app" / "uv.lock")
    packages = load_uv_lock(lock, include_project=True).packages_by_key()
    assert packages["colorama"].marker == 'sys_platform == "win32"'
    assert packages["localdep"].origin == Origin(
        "directory", (LOCKS / "uv-app" / "localdep").as_uri()
    )
    assert packages["uv-app"].origin == Origin("editable", (LOCKS / "uv-app").as_uri())
    assert "uv-app" not in load_uv_lock(lock).packages_by_key()
    assert str(packages["six"].declared_at) == lock


def test_conflict_markers_follow_the_chosen_extra() -> None:
    lock = str(LOCKS / "uv-conflicts" / "uv.lock")
    env = ENVIRONMENTS["linux-3.10"]
    assert (
        load_uv_lock(lock, extras=["old"], marker_env=env).packages_by_key()["six"].version
        == "1.16.0"
    )
    assert (
        load_uv_lock(lock, extras=["new"], marker_env=env).packages_by_key()["six"].version
        == "1.17.0"
    )
    with pytest.raises(UvLockError, match="incompatible"):
        load_uv_lock(lock, extras=["old", "new"])
    # the virtual root is never a package, even when asked for
    assert "uv-conflicts" not in load_uv_lock(lock, include_project=True).packages_by_key()


def test_unknown_extra_or_group_is_refused() -> None:
    lock = str(LOCKS / "uv-app" / "uv.lock")
    with pytest.raises(UvLockError, match="extra nope is not defined"):
        load_uv_lock(lock, extras=["nope"])
    with pytest.raises(UvLockError, match="group nope is not defined"):
        load_uv_lock(lock, groups=["nope"])


def test_python_outside_requires_python_is_a_warning() -> None:
    lock = str(LOCKS / "uv-app" / "uv.lock")
    locked = load_uv_lock(lock, marker_env=marker_env("3.8.10"))
    assert locked.python_requirement == ">=3.9"
    assert any("outside the lock's requires-python" in warning for warning in locked.warnings)


def test_toml_syntax_error_names_file_and_line(tmp_path: pathlib.Path) -> None:
    lock = tmp_path / "uv.lock"
    lock.write_text('version = 1\n\n[[package]]\nname = "x"\nversion = \n')
    with pytest.raises(UvLockError) as caught:
        load_uv_lock(str(lock))
    assert str(caught.value).startswith(f"{lock}:5: invalid TOML")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("version = 2\n", "version 2 is not supported"),
        ('name = "x"\n', "no integer 'version'"),
        (
            'version = 1\n[[package]]\nname = "a"\nversion = "1"\nsource = { registry = "r" }\n',
            "no project",
        ),
        (
            'version = 1\n[[package]]\nname = "a"\nsource = { virtual = "." }\n'
            'dependencies = [{ name = "gone" }]\n',
            "'gone' of 'a' is not in the lock",
        ),
        ('version = 1\npackage = "x"\n', "package must be an array"),
    ],
)
def test_malformed_locks_raise_uv_lock_error(
    tmp_path: pathlib.Path, content: str, message: str
) -> None:
    lock = tmp_path / "uv.lock"
    lock.write_text(content)
    with pytest.raises(UvLockError, match=message):
        load_uv_lock(str(lock))


def test_missing_file_is_a_uv_lock_error(tmp_path: pathlib.Path) -> None:
    with pytest.raises(UvLockError, match="cannot read the file"):
        load_uv_lock(str(tmp_path / "uv.lock"))


def _fuzz_lock(tmp_path: pathlib.Path, content: bytes) -> None:
    lock = tmp_path / "uv.lock"
    lock.write_bytes(content)
    try:
        load_uv_lock(str(lock), marker_env=ENVIRONMENTS["linux-3.12"])
        load_uv_lock(str(lock), all_extras=True)
    except UvLockError:
        pass


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.binary(max_size=300))
def test_fuzz_bytes_only_raise_uv_lock_error(tmp_path: pathlib.Path, content: bytes) -> None:
    _fuzz_lock(tmp_path, content)


TOML_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-3, 3)
    | st.sampled_from(["", ".", "a", "1.0", "python_version < '3.10'", "extra == 'x'", "(", "*"]),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "name",
                    "version",
                    "source",
                    "marker",
                    "extra",
                    "editable",
                    "virtual",
                    "dependencies",
                    "optional-dependencies",
                    "dev-dependencies",
                    "a",
                ]
            ),
            inner,
            max_size=4,
        )
    ),
    max_leaves=12,
)


def _to_toml(value: object) -> str:
    if value is None:
        return '""'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, str)):
        return repr(value).replace("'", '"') if isinstance(value, str) else str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_to_toml(item) for item in value) + "]"
    assert isinstance(value, dict)
    return "{" + ", ".join(f'"{key}" = {_to_toml(item)}' for key, item in value.items()) + "}"


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.dictionaries(
            st.sampled_from(
                [
                    "name",
                    "version",
                    "source",
                    "dependencies",
                    "optional-dependencies",
                    "dev-dependencies",
                    "default-groups",
                ]
            ),
            TOML_VALUES,
            max_size=5,
        ),
        max_size=4,
    )
)
def test_fuzz_structured_locks_only_raise_uv_lock_error(
    tmp_path: pathlib.Path, packages: list[dict[str, object]]
) -> None:
    body = "version = 1\n" + "".join(
        "[[package]]\n"
        + "".join(f'"{key}" = {_to_toml(value)}\n' for key, value in package.items())
        for package in packages
    )
    _fuzz_lock(tmp_path, body.encode())


@pytest.mark.realworld
def test_realworld_locks_read_without_marker_env() -> None:
    for project in UV_PROJECTS[2:]:
        locked = load_uv_lock(str(project / "uv.lock"))
        assert locked.packages and all(p.version for p in locked.packages)


def test_lock_is_read_in_place_without_a_pyproject(tmp_path: pathlib.Path) -> None:
    shutil.copy(LOCKS / "uv-app" / "uv.lock", tmp_path / "uv.lock")
    locked = load_uv_lock(str(tmp_path / "uv.lock"), marker_env=ENVIRONMENTS["linux-3.12"])
    assert "click" in locked.packages_by_key()


MARKER_ATOMS = st.sampled_from(
    [
        "python_version < '3.10'",
        "python_version >= '3.10'",
        "python_full_version == '3.9.18'",
        "'3.11' <= python_version",
        "sys_platform == 'win32'",
        "sys_platform != 'win32'",
        'platform_system == "Windows"',
        "'linux' in sys_platform",
        "'win' not in sys_platform",
        "os.name == 'nt'",
        "platform_python_implementation ~= '3'",
        "python_version == '3.*'",
        "extra == 'old'",
        "extra != 'new'",
    ]
)
MARKERS = st.recursive(
    MARKER_ATOMS,
    lambda inner: st.tuples(inner, st.sampled_from([" and ", " or "]), inner).map(
        lambda parts: f"({parts[0]}{parts[1]}{parts[2]})"
    ),
    max_leaves=8,
)


@settings(max_examples=400, deadline=None)
@given(MARKERS, st.sampled_from(sorted(ENVIRONMENTS)), st.sets(st.sampled_from(["old", "new"])))
def test_symbolic_conditions_evaluate_like_packaging(
    marker: str, environment_name: str, extras: set[str]
) -> None:
    """The marker algebra shared by the lock sources keeps packaging's meaning."""
    from parity.sources.lockgraph import LockDataError, parse_condition

    environment = ENVIRONMENTS[environment_name]
    known = {"extra": frozenset(extras)}
    try:
        expected = Marker(marker).evaluate({**environment, **known})  # type: ignore[dict-item]
    except UndefinedComparison:  # packaging cannot decide (~= on a non-version)
        with pytest.raises(LockDataError):
            parse_condition(marker, {**environment, **known})
        return
    symbolic = parse_condition(marker, known).render()
    got = symbolic is None or Marker(symbolic).evaluate(environment)
    assert got == expected
    exact = parse_condition(marker, {**environment, **known})
    assert exact.is_always == expected and exact.is_never != expected
