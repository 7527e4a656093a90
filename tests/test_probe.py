"""The probe: it runs on every interpreter here, sees what pip freeze sees, survives bad metadata.

The host side's parser is checked on garbage, wrong types and (with hypothesis) anything at all.
"""

from __future__ import annotations

import ast
import contextlib
import copy
import json
import os
import pathlib
import subprocess
import sys
import zipfile
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from packaging.markers import default_environment

from parity.errors import ProbeError
from parity.model import Level, Origin
from parity.probe.parse import (
    MAX_OUTPUT_BYTES,
    PROBE_SOURCE,
    _compact_source,
    clean_text,
    parse_probe_output,
    probe_command,
)
from tests.conftest import TEST_DATA
from tests.data.probe.probe_testing import (
    assert_same_as_freeze,
    clean_env,
    has_pip,
    pip_freeze,
    pyenv_pythons,
    run,
    run_probe_json,
)

PROBE_DATA = TEST_DATA / "probe"
PYTHONS = pyenv_pythons()


def _python_id(python: pathlib.Path) -> str:
    return python.parent.parent.name


# --- the probe script itself ------------------------------------------------------------


def test_probe_source_is_small_and_has_no_main_file_dependency() -> None:
    assert len(PROBE_SOURCE.encode()) < 100 * 1024
    assert "__file__" not in PROBE_SOURCE


def test_probe_source_uses_only_python_3_5_syntax() -> None:
    # Python 2.7 runs it in the tests below; no 3.5 is installed, so the parser checks 3.5.
    ast.parse(PROBE_SOURCE, feature_version=(3, 5))


def test_probe_command_runs_the_source_with_the_given_interpreter() -> None:
    command = probe_command("/opt/py/bin/python")
    assert command[0] == "/opt/py/bin/python"
    assert command[-2] == "-c"
    assert command[-1] in (PROBE_SOURCE, _compact_source())


def test_probe_prints_one_ascii_json_line_with_the_documented_shape() -> None:
    document = run_probe_json(sys.executable)
    assert list(document) == ["probe", "interpreter", "distributions", "warnings"]
    interpreter = document["interpreter"]
    assert interpreter["implementation"] == sys.implementation.name
    assert interpreter["version"] == ".".join(map(str, sys.version_info[:3]))
    assert interpreter["executable"] == sys.executable
    assert interpreter["is_venv"] is (sys.prefix != sys.base_prefix)
    assert isinstance(interpreter["pip_version"], str)
    for item in document["distributions"]:
        assert set(item) == {
            "name",
            "version",
            "installer",
            "location",
            "requires",
            "direct_url",
            "editable",
            "format",
        }


def test_markers_are_exactly_packagings_default_environment() -> None:
    document = run_probe_json(sys.executable)
    assert document["interpreter"]["markers"] == default_environment()


def test_the_dev_environment_is_what_pip_freeze_lists() -> None:
    environment = parse_probe_output(
        json.dumps(run_probe_json(sys.executable)), kind="python", ref=sys.executable
    )
    assert_same_as_freeze(environment, pip_freeze(sys.executable))
    editable = [package for package in environment.packages if package.key == "docker-env-parity"]
    if editable and editable[0].origin is not None:
        assert editable[0].origin.kind == "editable"


def test_compact_loader_runs_the_same_probe() -> None:
    completed = subprocess.run(
        [sys.executable, "-B", "-c", _compact_source()],
        capture_output=True,
        env=clean_env(),
        timeout=120,
        check=True,
    )
    assert json.loads(completed.stdout)["probe"] == 1


# --- every interpreter on this machine ---------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("python", PYTHONS, ids=[_python_id(p) for p in PYTHONS])
def test_probe_runs_on_each_pyenv_interpreter_and_matches_pip_freeze(python: pathlib.Path) -> None:
    document = run_probe_json(python)
    environment = parse_probe_output(json.dumps(document), kind="python", ref=str(python))
    assert environment.interpreter is not None
    assert environment.interpreter.version.startswith(_python_id(python).rsplit(".", 1)[0])
    assert environment.interpreter.libc.startswith("glibc ")
    assert environment.warnings == ()
    if has_pip(python):
        assert_same_as_freeze(environment, pip_freeze(python))
        assert environment.interpreter.pip_version == next(
            package.version for package in environment.packages if package.key == "pip"
        )


@pytest.mark.slow
@pytest.mark.parametrize("python", PYTHONS, ids=[_python_id(p) for p in PYTHONS])
def test_markers_match_the_packaging_each_interpreter_vendors_in_pip(python: pathlib.Path) -> None:
    if not has_pip(python):
        pytest.skip(f"{python} has no pip (and so no vendored packaging)")
    script = (
        "import json; from pip._vendor.packaging.markers import default_environment; "
        "print(json.dumps(default_environment()))"
    )
    expected = json.loads(run([python, "-c", script]))
    assert run_probe_json(python)["interpreter"]["markers"] == expected


def _py27() -> pathlib.Path | None:
    return next((p for p in PYTHONS if _python_id(p).startswith("2.7")), None)


# --- a hand-made site with every layout pip knows ---------------------------------------


def _dist_info(site: pathlib.Path, name: str, version: str, **extra: str) -> pathlib.Path:
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
        "Requires-Dist: six>=1.0\n\nLong description\nName: not-a-header\n"
    )
    for file_name, text in extra.items():
        (info / file_name.replace("_json", ".json")).write_text(text)
    return info


def _egg_info_dir(site: pathlib.Path, name: str, version: str) -> None:
    info = site / f"{name.replace('-', '_')}-{version}-py3.egg-info"
    info.mkdir(parents=True)
    (info / "PKG-INFO").write_text(f"Metadata-Version: 1.1\nName: {name}\nVersion: {version}\n")
    (info / "requires.txt").write_text(
        "six\n\n[extra]\nidna>=2\n\n[:python_version > '2']\nattrs\n"
    )


def _zipped_egg(path: pathlib.Path, name: str, version: str) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("EGG-INFO/PKG-INFO", f"Name: {name}\nVersion: {version}\n")
        archive.writestr(f"{name}.py", "X = 1\n")


@pytest.fixture
def layouts(tmp_path: pathlib.Path) -> tuple[str, pathlib.Path]:
    """A PYTHONPATH of hand-made sites holding every metadata layout pip reads."""
    return make_layouts(tmp_path), tmp_path


def make_layouts(tmp_path: pathlib.Path) -> str:
    """Write the hand-made sites under ``tmp_path``; return the PYTHONPATH naming them."""
    first = tmp_path / "first"
    second = tmp_path / "second"
    project = tmp_path / "project"
    unlisted = tmp_path / "unlisted-project"
    _dist_info(first, "plain-pkg", "1.0", INSTALLER="pip\n")
    _dist_info(
        first,
        "from-archive",
        "2.0",
        direct_url_json=json.dumps(
            {"url": "file:///tmp/a.whl", "archive_info": {"hashes": {"sha256": "00"}}}
        ),
    )
    _dist_info(
        first,
        "from-git",
        "3.0",
        direct_url_json=json.dumps(
            {"url": "https://example.org/r.git", "vcs_info": {"vcs": "git", "commit_id": "abc"}}
        ),
    )
    _dist_info(
        first,
        "pep660-pkg",
        "4.0",
        direct_url_json=json.dumps({"url": "file:///src/p", "dir_info": {"editable": True}}),
    )
    _dist_info(first, "Shadowed_Pkg", "1.0")
    _dist_info(second, "shadowed-pkg", "9.9")
    _dist_info(second, "second-only", "0.1")
    _egg_info_dir(first, "old-style", "0.5")
    (first / "distutils_pkg-0.3-py3.9.egg-info").write_text(
        "Metadata-Version: 1.0\nName: distutils-pkg\nVersion: 0.3\n"
    )
    (first / "wsgiref-0.1.2.egg-info").write_text("Name: wsgiref\nVersion: 0.1.2\n")
    unpacked = tmp_path / "unpacked_egg-1.1-py3.egg"
    (unpacked / "EGG-INFO").mkdir(parents=True)
    (unpacked / "EGG-INFO" / "PKG-INFO").write_text("Name: unpacked-egg\nVersion: 1.1\n")
    zipped = tmp_path / "zipped_egg-2.2-py3.egg"
    _zipped_egg(zipped, "zipped-egg", "2.2")
    # A develop install: egg-link in the site, the project's egg-info in its directory.
    (project / "develop_pkg.egg-info").mkdir(parents=True)
    (project / "develop_pkg.egg-info" / "PKG-INFO").write_text("Name: develop-pkg\nVersion: 0.9\n")
    (first / "develop-pkg.egg-link").write_text(f"{project}\n.\n")
    # An egg-link whose target is not on sys.path: only pip's importlib backend follows it.
    (unlisted / "linked_only.egg-info").mkdir(parents=True)
    (unlisted / "linked_only.egg-info" / "PKG-INFO").write_text("Name: linked-only\nVersion: 0.2\n")
    (first / "linked-only.egg-link").write_text(f"{unlisted}\n.\n")
    return os.pathsep.join(str(p) for p in (first, second, unpacked, zipped, project))


@pytest.mark.slow
@pytest.mark.parametrize("python", PYTHONS, ids=[_python_id(p) for p in PYTHONS])
def test_every_layout_is_seen_as_pip_freeze_sees_it(
    python: pathlib.Path, layouts: tuple[str, pathlib.Path]
) -> None:
    pythonpath, cwd = layouts
    if not has_pip(python):
        pytest.skip(f"{python} has no pip")
    env = clean_env(PYTHONPATH=pythonpath)
    document = run_probe_json(python, env=env, cwd=str(cwd))
    assert_same_as_freeze(document, pip_freeze(python, env=env, cwd=str(cwd)))
    by_name = {item["name"]: item for item in document["distributions"]}
    assert by_name["Shadowed_Pkg"]["version"] == "1.0"  # the first on sys.path wins
    assert "wsgiref" not in by_name
    # pip follows an egg-link to a directory off sys.path only with its importlib backend.
    minor = tuple(int(part) for part in document["interpreter"]["version"].split(".")[:2])
    importlib_backend = minor >= (3, 11)
    assert ("linked-only" in by_name) is importlib_backend
    assert by_name["develop-pkg"]["editable"] is True
    assert by_name["develop-pkg"]["format"] == "egg-link"
    assert by_name["pep660-pkg"]["editable"] is True
    assert by_name["from-git"]["direct_url"]["vcs_info"]["commit_id"] == "abc"
    assert by_name["old-style"]["requires"] == [
        "six",
        'idna>=2; extra == "extra"',
        "attrs; python_version > '2'",
    ]
    assert by_name["plain-pkg"]["installer"] == "pip"
    assert by_name["plain-pkg"]["requires"] == ["six>=1.0"]
    assert by_name["zipped-egg"]["version"] == "2.2"
    assert by_name["unpacked-egg"]["format"] == "egg-info"


def test_layouts_become_origins(layouts: tuple[str, pathlib.Path]) -> None:
    pythonpath, cwd = layouts
    env = clean_env(PYTHONPATH=pythonpath)
    output = json.dumps(run_probe_json(sys.executable, env=env, cwd=str(cwd)))
    packages = parse_probe_output(output, kind="python", ref="x").packages_by_key()
    assert packages["from-archive"].origin == Origin(
        "archive", "file:///tmp/a.whl", hash="sha256=00"
    )
    assert packages["from-git"].origin == Origin(
        "vcs", "https://example.org/r.git", commit="abc", vcs="git"
    )
    assert packages["pep660-pkg"].origin == Origin("editable", "file:///src/p")
    develop = packages["develop-pkg"]
    assert develop.origin == Origin("editable", (cwd / "project").as_uri())
    assert packages["plain-pkg"].origin is None


def test_the_probe_never_imports_pip(tmp_path: pathlib.Path) -> None:
    (tmp_path / "pip").mkdir()
    (tmp_path / "pip" / "__init__.py").write_text("raise SystemExit('pip was imported')\n")
    _dist_info(tmp_path, "pip", "99.1")
    document = run_probe_json(sys.executable, env=clean_env(PYTHONPATH=str(tmp_path)))
    assert document["interpreter"]["pip_version"] == "99.1"


def test_a_leftover_of_an_interrupted_install_is_skipped_with_a_warning(
    tmp_path: pathlib.Path,
) -> None:
    leftover = tmp_path / "~roken-1.0.dist-info"
    leftover.mkdir()
    (leftover / "METADATA").write_text("Name: ~roken\nVersion: 1.0\n")
    env = clean_env(PYTHONPATH=str(tmp_path))
    document = run_probe_json(sys.executable, env=env)
    assert "~roken" not in {item["name"] for item in document["distributions"]}
    assert [w for w in document["warnings"] if "~roken" in w]
    assert_same_as_freeze(document, pip_freeze(sys.executable, env=env))


def test_the_user_site_is_seen_as_pip_freeze_sees_it(tmp_path: pathlib.Path) -> None:
    base = getattr(sys, "_base_executable", sys.executable)
    env = clean_env(PYTHONUSERBASE=str(tmp_path / "userbase"))
    user_site = run([base, "-c", "import site; print(site.getusersitepackages())"], env=env)
    _dist_info(pathlib.Path(user_site.strip()), "user-only", "5.0")
    document = run_probe_json(base, env=env)
    assert "user-only" in {item["name"] for item in document["distributions"]}
    assert_same_as_freeze(document, pip_freeze(base, env=env))


def test_a_corrupt_zip_on_sys_path_costs_one_warning(tmp_path: pathlib.Path) -> None:
    egg = tmp_path / "corrupt-1.0-py3.egg"
    payload = b"Name: corrupt\nVersion: 1.0\n"
    with zipfile.ZipFile(egg, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("EGG-INFO/PKG-INFO", payload)
    data = egg.read_bytes()
    egg.write_bytes(data.replace(payload, payload.replace(b"corrupt", b"CORRUPT")))
    document = run_probe_json(sys.executable, env=clean_env(PYTHONPATH=str(egg)))
    assert [w for w in document["warnings"] if "corrupt-1.0-py3.egg" in w]
    assert len(document["warnings"]) == 1
    assert "corrupt" not in {item["name"].lower() for item in document["distributions"]}


def test_the_current_directory_is_not_searched_like_python_m_pip(tmp_path: pathlib.Path) -> None:
    _dist_info(tmp_path, "only-in-cwd", "1.0")
    document = run_probe_json(sys.executable, cwd=str(tmp_path))
    assert "only-in-cwd" not in {item["name"] for item in document["distributions"]}


# --- metadata bombs ---------------------------------------------------------------------


def _bomb_site(site: pathlib.Path) -> dict[str, str]:
    """Hostile metadata, one case per distribution; returns {distribution dir: case}."""
    if not hasattr(os, "mkfifo"):
        pytest.skip("FIFOs and /dev/zero exist on POSIX only")
    _dist_info(site, "good-pkg", "1.0")
    cases: dict[str, str] = {}

    def info(name: str) -> pathlib.Path:
        path = site / f"{name}-1.0.dist-info"
        path.mkdir()
        cases[path.name] = name
        return path

    os.mkfifo(info("fifo_pkg") / "METADATA")
    (info("zero_pkg") / "METADATA").symlink_to("/dev/zero")
    with (info("huge_pkg") / "METADATA").open("wb") as huge:
        huge.write(b"Metadata-Version: 2.1\nName: huge-pkg\nVersion: 1.0\nDescription: ")
        block = b"x" * (1024 * 1024)
        for _ in range(50):
            huge.write(block)
    (info("latin1_pkg") / "METADATA").write_bytes(
        b"Metadata-Version: 2.1\nName: latin1-pkg\nVersion: 1.0\nSummary: caf\xe9\n"
    )
    broken_url = info("bad_url_pkg")
    (broken_url / "METADATA").write_text("Name: bad-url-pkg\nVersion: 1.0\n")
    (broken_url / "direct_url.json").write_text("[" * 100000)
    (info("no_version_pkg") / "METADATA").write_text("Name: no-version-pkg\n")
    info("empty_pkg")
    return cases


_PY27 = _py27()
BOMB_PYTHONS = [pathlib.Path(sys.executable), *([_PY27] if _PY27 else [])]


@pytest.mark.slow
@pytest.mark.parametrize("python", BOMB_PYTHONS, ids=["dev", "2.7"][: len(BOMB_PYTHONS)])
def test_each_hostile_distribution_costs_one_warning(
    python: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    cases = _bomb_site(site)
    document = run_probe_json(python, env=clean_env(PYTHONPATH=str(site)))
    names = {item["name"]: item for item in document["distributions"]}
    assert "good-pkg" in names
    assert "huge-pkg" in names  # its Name and Version come before the cap
    assert names["latin1-pkg"]["version"] == "1.0"
    assert names["bad-url-pkg"]["direct_url"] is None
    for directory in cases:
        mentions = [w for w in document["warnings"] if directory in w]
        assert len(mentions) == 1, (directory, document["warnings"])
    assert not {"fifo-pkg", "zero-pkg", "empty-pkg"} & set(names)
    assert len(document["warnings"]) == len(cases)
    environment = parse_probe_output(json.dumps(document), kind="python", ref=str(python))
    assert environment.packages_by_key()["latin1-pkg"].version == "1.0"


@pytest.mark.slow
def test_the_total_metadata_budget_degrades_to_file_names(tmp_path: pathlib.Path) -> None:
    site = tmp_path / "site"
    filler = b"Description: " + b"y" * (1024 * 1024 - 200) + b"\n\n"
    for index in range(70):
        info = site / f"bulk{index}-1.{index}.dist-info"
        info.mkdir(parents=True)
        header = f"Metadata-Version: 2.1\nName: bulk{index}\nVersion: 1.{index}\n".encode()
        (info / "METADATA").write_bytes(header + filler)
    document = run_probe_json(sys.executable, env=clean_env(PYTHONPATH=str(site)))
    versions = {item["name"]: item["version"] for item in document["distributions"]}
    assert all(versions[f"bulk{index}"] == f"1.{index}" for index in range(70))
    assert (
        sum(
            "later distributions are named from their file names" in w for w in document["warnings"]
        )
        == 1
    )


# --- parse_probe_output -----------------------------------------------------------------


def _document() -> dict[str, Any]:
    return {
        "probe": 1,
        "interpreter": {
            "implementation": "cpython",
            "version": "3.11.7",
            "executable": "/usr/bin/python3",
            "prefix": "/usr",
            "base_prefix": "/usr",
            "is_venv": False,
            "machine": "x86_64",
            "os": "Debian GNU/Linux 12 (bookworm)",
            "libc": "glibc 2.36",
            "pip_version": "23.0.1",
            "externally_managed": True,
            "markers": {"python_version": "3.11", "sys_platform": "linux"},
            "sys_path": ["/usr/lib/python3.11"],
            "future_field": {"ignored": True},
        },
        "distributions": [
            {
                "name": "Django",
                "version": "4.2.7",
                "installer": "pip",
                "location": "/usr/lib/python3/dist-packages",
                "requires": ["asgiref<4,>=3.6.0"],
                "direct_url": None,
                "editable": False,
                "format": "dist-info",
            },
            {
                "name": "mine",
                "version": "0.1",
                "installer": None,
                "location": "/src/mine",
                "requires": [],
                "direct_url": None,
                "editable": True,
                "format": "egg-link",
            },
        ],
        "warnings": ["skipped x: odd"],
    }


def test_parse_builds_an_installed_environment() -> None:
    environment = parse_probe_output(
        json.dumps(_document()).encode(), kind="image", ref="sha256:1", description="d"
    )
    assert environment.level is Level.INSTALLED
    assert (environment.kind, environment.ref, environment.description) == (
        "image",
        "sha256:1",
        "d",
    )
    assert environment.interpreter is not None
    assert environment.interpreter.externally_managed is True
    assert environment.interpreter.markers["python_version"] == "3.11"
    django = environment.packages_by_key()["django"]
    assert (django.version, django.installer, django.requires) == (
        "4.2.7",
        "pip",
        ("asgiref<4,>=3.6.0",),
    )
    assert environment.packages_by_key()["mine"].origin == Origin("editable", "file:///src/mine")
    assert environment.warnings == ("skipped x: odd",)


def test_parse_accepts_stray_output_before_the_report() -> None:
    text = "banner from sitecustomize\n{not json\n" + json.dumps(_document()) + "\n"
    assert len(parse_probe_output(text, kind="python", ref="p").packages) == 2


def test_parse_strips_control_characters_from_target_strings() -> None:
    document = _document()
    document["distributions"][0]["name"] = "Dj\x1b[31mango\x85"
    document["distributions"][0]["version"] = "4.2.7\r\n"
    document["interpreter"]["os"] = "Debian\x00 \ud800"
    environment = parse_probe_output(json.dumps(document), kind="python", ref="p")
    assert environment.packages[0].name == "Dj[31mango"
    assert environment.packages[0].version == "4.2.7"
    assert environment.interpreter is not None
    assert environment.interpreter.os == "Debian \ufffd"
    assert clean_text("a\tb\x7fc\x9fd") == "abcd"


@pytest.mark.parametrize(
    ("direct_url", "origin"),
    [
        (
            {"url": "git+https://h/r", "vcs_info": {"vcs": "git", "commit_id": "c0ffee"}},
            Origin("vcs", "git+https://h/r", commit="c0ffee", vcs="git"),
        ),
        ({"url": "file:///p", "dir_info": {}}, Origin("directory", "file:///p")),
        ({"url": "file:///p", "dir_info": {"editable": True}}, Origin("editable", "file:///p")),
        (
            {"url": "https://h/a.tar.gz", "archive_info": {}},
            Origin("archive", "https://h/a.tar.gz"),
        ),
    ],
)
def test_parse_turns_direct_url_into_an_origin(direct_url: dict[str, Any], origin: Origin) -> None:
    document = _document()
    document["distributions"][0]["direct_url"] = direct_url
    environment = parse_probe_output(json.dumps(document), kind="python", ref="p")
    assert environment.packages_by_key()["django"].origin == origin


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "printed nothing"),
        ("   \n", "printed nothing"),
        ("Traceback (most recent call last):\n  boom", "printed no JSON (first bytes: 'Traceback"),
        (b"\xff\xfe garbage", "printed no JSON"),
        ("[1, 2]", "not a probe report (an array)"),
        ('{"probe": 2}', "format 2"),
        ('{"probe": true}', "probe should be an integer"),
        ("[" * 100000, "printed no JSON"),
    ],
)
def test_parse_rejects_garbage(text: str | bytes, message: str) -> None:
    with pytest.raises(ProbeError, match=None) as caught:
        parse_probe_output(text, kind="python", ref="p")
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def _mutations() -> list[tuple[str, Any, str]]:
    return [
        ("interpreter.version", 3.11, "interpreter.version should be a string, not a number"),
        ("interpreter.is_venv", "yes", "interpreter.is_venv should be true or false"),
        ("interpreter.markers", [], "interpreter.markers should be an object"),
        ("interpreter.markers.python_version", 3, "markers.python_version should be a string"),
        ("interpreter.pip_version", 23, "pip_version should be a string or null"),
        ("interpreter.sys_path", "/usr", "sys_path should be an array"),
        ("interpreter", None, "interpreter should be an object, not null"),
        ("distributions", {}, "distributions should be an array"),
        ("distributions.0", "django", "distributions[0] should be an object"),
        ("distributions.0.name", None, "distributions[0].name should be a string"),
        ("distributions.0.name", " ", "distributions[0].name is empty"),
        ("distributions.0.requires", "six", "distributions[0].requires should be an array"),
        ("distributions.0.requires.0", 1, "distributions[0].requires[0] should be a string"),
        ("distributions.0.editable", 0, "distributions[0].editable should be true or false"),
        ("distributions.0.format", "wheel", "distributions[0].format is 'wheel'"),
        ("distributions.0.direct_url", [], "distributions[0].direct_url should be an object"),
        ("distributions.0.direct_url", {"url": "x"}, "needs exactly one of"),
        ("distributions.1.name", "DJANGO", "lists django twice"),
        ("warnings", [1], "warnings[0] should be a string"),
    ]


@pytest.mark.parametrize(("path", "value", "message"), _mutations())
def test_parse_rejects_wrong_types(path: str, value: Any, message: str) -> None:
    document = _document()
    target: Any = document
    keys = path.split(".")
    for key in keys[:-1]:
        target = target[int(key)] if isinstance(target, list) else target[key]
    last = keys[-1]
    if isinstance(target, list):
        target[int(last)] = value
    else:
        target[last] = value
    with pytest.raises(ProbeError) as caught:
        parse_probe_output(json.dumps(document), kind="python", ref="p")
    assert message in str(caught.value)


@pytest.mark.parametrize("missing", ["interpreter", "distributions", "warnings"])
def test_parse_rejects_missing_fields(missing: str) -> None:
    document = _document()
    del document[missing]
    with pytest.raises(ProbeError, match=f"{missing} is missing"):
        parse_probe_output(json.dumps(document), kind="python", ref="p")


def test_parse_rejects_output_over_64_mib() -> None:
    text = b" " * (MAX_OUTPUT_BYTES + 1)
    with pytest.raises(ProbeError, match="more than 64 MiB"):
        parse_probe_output(text, kind="python", ref="p")


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=10,
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.binary(max_size=200), st.text(max_size=200)))
def test_fuzz_parse_raises_only_probe_error_on_any_bytes(text: str | bytes) -> None:
    with contextlib.suppress(ProbeError):
        parse_probe_output(text, kind="python", ref="p")


def _all_paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    paths = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            paths += _all_paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            paths += _all_paths(child, (*prefix, index))
    return paths


_PATHS = _all_paths(_document())[1:]


@settings(max_examples=500, deadline=None)
@given(st.sampled_from(_PATHS), _json_values)
@example(("interpreter", "markers"), {"\n": None})  # a bad key is named in one line
def test_fuzz_parse_survives_any_field_replaced(path: tuple[Any, ...], value: Any) -> None:
    document = copy.deepcopy(_document())
    target: Any = document
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    try:
        parse_probe_output(json.dumps(document), kind="python", ref="p")
    except ProbeError as error:
        assert "\n" not in str(error)


# --- containers -------------------------------------------------------------------------


def _run_in_image(client: Any, image: str, command: list[str], *, locked_down: bool) -> bytes:
    """Run ``command`` in a fresh container of ``image``; always remove it; return stdout."""
    options: dict[str, Any] = {"network_disabled": True, "working_dir": "/", "user": "65534:65534"}
    if locked_down:
        options.update(read_only=True, cap_drop=["ALL"], security_opt=["no-new-privileges"])
    container = client.containers.create(image, command, **options)
    try:
        container.start()
        status = container.wait(timeout=180)["StatusCode"]
        stdout: bytes = container.logs(stdout=True, stderr=False)
        stderr = container.logs(stdout=False, stderr=True).decode("utf-8", "replace")
        assert status == 0, stderr
        return stdout
    finally:
        container.remove(force=True)


def _image_exists(client: Any, tag: str) -> bool:
    from docker.errors import ImageNotFound

    try:
        client.images.get(tag)
    except ImageNotFound:
        return False
    return True


def _check_image(client: Any, image: str) -> dict[str, Any]:
    probe_output = _run_in_image(
        client, image, ["python", "-B", "-c", PROBE_SOURCE], locked_down=True
    )
    freeze_output = _run_in_image(
        client, image, ["python", "-m", "pip", "freeze", "--all"], locked_down=False
    )
    document: dict[str, Any] = json.loads(probe_output)
    environment = parse_probe_output(probe_output, kind="image", ref=image)
    assert_same_as_freeze(environment, freeze_output.decode())
    return document


@pytest.mark.docker
@pytest.mark.slow
@pytest.mark.parametrize("minor", ["3.9", "3.11", "3.13"])
def test_probe_in_a_base_image_matches_pip_freeze(
    docker_client: Any, base_image: Any, minor: str
) -> None:
    document = _check_image(docker_client, base_image(minor))
    interpreter = document["interpreter"]
    assert interpreter["version"].startswith(minor + ".")
    assert interpreter["os"].startswith("Debian GNU/Linux")
    assert interpreter["libc"].startswith("glibc 2.")
    assert interpreter["is_venv"] is False
    assert document["warnings"] == []


@pytest.mark.docker
@pytest.mark.slow
@pytest.mark.parametrize("minor", ["3.9", "3.11", "3.13"])
def test_probe_in_a_built_image_matches_pip_freeze(
    docker_client: Any, base_image: Any, minor: str
) -> None:
    base = base_image(minor)
    tag = f"parity-test-probe:py{minor}"
    created = not _image_exists(docker_client, tag)
    try:
        docker_client.images.build(
            path=str(PROBE_DATA),
            dockerfile="Dockerfile",
            tag=tag,
            buildargs={"BASE": base},
            network_mode="host",
            rm=True,
            forcerm=True,
            pull=False,
        )
        document = _check_image(docker_client, tag)
    finally:
        if created and _image_exists(docker_client, tag):
            docker_client.images.remove(tag, force=True)
    versions = {item["name"].lower(): item["version"] for item in document["distributions"]}
    assert versions["six"] == "1.15.0"  # PYTHONPATH comes first on sys.path
    assert versions["idna"] == "3.7"
    assert versions["attrs"] == "23.2.0"
    assert document["interpreter"]["externally_managed"] is True


def test_probe_runs_without_pip_or_site_packages() -> None:
    completed = subprocess.run(
        [sys.executable, "-I", "-S", "-B", "-c", PROBE_SOURCE],
        capture_output=True,
        timeout=120,
        check=True,
    )
    bare = json.loads(completed.stdout)
    assert bare["interpreter"]["pip_version"] is None
    assert bare["distributions"] == []
    assert bare["warnings"] == []
