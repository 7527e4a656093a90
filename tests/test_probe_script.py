"""The probe's own shortcuts: each gives what the slow way it replaces gives.

pip's metadata backend switch is read from importlib.metadata's file instead of importing it;
the rare modules (zipfile, importlib.metadata) stay unimported; platform facts come from
os.uname(); JSON is written and read with json's C half alone, without importing json.
"""

from __future__ import annotations

import importlib
import json
import os
import pathlib
import platform
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from parity.probe.parse import PROBE_SOURCE
from tests.data.probe.probe_testing import (
    assert_same_as_freeze,
    clean_env,
    pip_freeze,
    run_probe_json,
)

script: Any = importlib.import_module("parity.probe.script")

FLAG = "_PIP_USE_IMPORTLIB_METADATA"


def _write(path: pathlib.Path, text: str = "") -> pathlib.Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


# --- which file `import importlib.metadata` loads ---------------------------------------


def test_the_metadata_package_of_the_first_importlib_on_the_path_is_found(
    tmp_path: pathlib.Path,
) -> None:
    first = tmp_path / "first"
    stdlib = tmp_path / "stdlib"
    first.mkdir()
    _write(stdlib / "importlib" / "__init__.py")
    source = _write(stdlib / "importlib" / "metadata" / "__init__.py")
    paths = [str(tmp_path / "missing"), str(first), str(stdlib)]
    assert script.importlib_metadata_file(paths, {}) == str(source)


def test_a_sourceless_layout_gives_the_compiled_file(tmp_path: pathlib.Path) -> None:
    _write(tmp_path / "importlib" / "__init__.pyc")
    compiled = _write(tmp_path / "importlib" / "metadata" / "__init__.pyc")
    assert script.importlib_metadata_file([str(tmp_path)], {}) == str(compiled)


def test_python_3_9_has_a_metadata_module(tmp_path: pathlib.Path) -> None:
    _write(tmp_path / "importlib" / "__init__.py")
    module = _write(tmp_path / "importlib" / "metadata.py")
    assert script.importlib_metadata_file([str(tmp_path)], {}) == str(module)


def test_an_imported_importlib_is_searched_through_its_path(tmp_path: pathlib.Path) -> None:
    source = _write(tmp_path / "metadata" / "__init__.py")

    class Package:
        __path__ = [str(tmp_path)]

    assert script.importlib_metadata_file([], {"importlib": Package()}) == str(source)


@pytest.mark.parametrize(
    "layout",
    ["an archive first", "a namespace portion", "a module named importlib", "nothing"],
)
def test_what_only_an_import_can_tell_gives_none(tmp_path: pathlib.Path, layout: str) -> None:
    stdlib = tmp_path / "stdlib"
    _write(stdlib / "importlib" / "__init__.py")
    _write(stdlib / "importlib" / "metadata" / "__init__.py")
    first = tmp_path / "first"
    first.mkdir()
    if layout == "an archive first":
        archive = tmp_path / "stdlib.zip"
        with zipfile.ZipFile(archive, "w") as opened:
            opened.writestr("importlib/__init__.py", "")
        first = archive
    elif layout == "a namespace portion":
        (first / "importlib").mkdir()
    elif layout == "a module named importlib":
        _write(first / "importlib.py")
    else:
        shutil.rmtree(stdlib)
    assert script.importlib_metadata_file([str(first), str(stdlib)], {}) is None


def test_the_flag_is_seen_in_source_and_compiled_code(tmp_path: pathlib.Path) -> None:
    patched = _write(tmp_path / "patched.py", f"import os\n{FLAG} = False\n")
    plain = _write(tmp_path / "plain.py", "import os\n")
    compiled = tmp_path / "patched.pyc"
    compiled.write_bytes(
        __import__("marshal").dumps(compile(patched.read_text(), "patched.py", "exec"))
    )
    assert script.mentions_pip_flag(str(patched)) is True
    assert script.mentions_pip_flag(str(compiled)) is True
    assert script.mentions_pip_flag(str(plain)) is False
    assert script.mentions_pip_flag(str(tmp_path / "missing.py")) is None
    assert script.mentions_pip_flag(None) is None


def test_this_interpreters_stdlib_is_found_and_names_no_flag() -> None:
    found = script.importlib_metadata_file(sys.path, {})
    assert found is not None
    assert (
        pathlib.Path(found).resolve()
        == pathlib.Path(importlib.import_module("importlib.metadata").__file__ or "").resolve()
    )
    assert script.mentions_pip_flag(found) is False


# --- the flag, end to end: the probe and pip read the same importlib.metadata -----------


@pytest.fixture
def egg_link_only(tmp_path: pathlib.Path) -> pathlib.Path:
    """A site whose one distribution is reachable only through an egg-link.

    pip lists it with its importlib.metadata backend and not with pkg_resources, so what the
    probe lists shows which backend it decided pip uses.
    """
    site = tmp_path / "site"
    unlisted = tmp_path / "unlisted-project"
    _write(unlisted / "linked_only.egg-info" / "PKG-INFO", "Name: linked-only\nVersion: 0.2\n")
    _write(site / "linked-only.egg-link", f"{unlisted}\n.\n")
    return site


def _shadow_importlib(root: pathlib.Path, flag_line: str | None) -> pathlib.Path:
    """A copy of this interpreter's importlib package, as a distributor might patch it."""
    stdlib = pathlib.Path(sysconfig.get_path("stdlib"))
    copy = root / "importlib"
    shutil.copytree(stdlib / "importlib", copy, ignore=shutil.ignore_patterns("__pycache__"))
    if flag_line is not None:
        with open(copy / "metadata" / "__init__.py", "a", encoding="utf-8") as stream:
            stream.write(f"\n{flag_line}\n")
    return root


@pytest.mark.skipif(
    not (3, 11) <= sys.version_info < (3, 14), reason="pip reads the flag on 3.11 to 3.13"
)
@pytest.mark.parametrize(
    ("flag_line", "importlib_backend"),
    [(f"{FLAG} = False", False), (f"{FLAG} = True", True), (None, True)],
    ids=["set-false", "set-true", "absent"],
)
def test_a_distributors_flag_in_importlib_metadata_decides_as_pip_does(
    tmp_path: pathlib.Path,
    egg_link_only: pathlib.Path,
    flag_line: str | None,
    importlib_backend: bool,
) -> None:
    shadow = _shadow_importlib(tmp_path / "shadow", flag_line)
    env = clean_env(PYTHONPATH=os.pathsep.join([str(shadow), str(egg_link_only)]))
    document = run_probe_json(sys.executable, env=env)
    names = {item["name"] for item in document["distributions"]}
    assert ("linked-only" in names) is importlib_backend
    assert_same_as_freeze(document, pip_freeze(sys.executable, env=env))


# --- what the probe imports -------------------------------------------------------------

_IMPORTED = """
import sys
try:
    exec(compile(sys.argv[1], "<probe>", "exec"), {"__name__": "__main__"})
except SystemExit:
    pass
sys.stderr.write("\\nIMPORTED " + " ".join(sorted(sys.modules)) + "\\n")
"""


def _modules_the_probe_imports(python: str, env: dict[str, str]) -> set[str]:
    completed = subprocess.run(
        [python, "-B", "-c", _IMPORTED, PROBE_SOURCE],
        capture_output=True,
        env=env,
        timeout=120,
        check=True,
    )
    last = completed.stderr.decode().strip().splitlines()[-1]
    assert last.startswith("IMPORTED ")
    return set(last.split()[1:])


def test_a_plain_run_imports_only_what_the_interpreter_has_loaded_and_json_c_half(
    tmp_path: pathlib.Path,
) -> None:
    venv = tmp_path / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=300
    )
    imported = _modules_the_probe_imports(str(venv / "bin" / "python"), clean_env())
    rare = {"importlib.metadata", "zipfile", "re", "json", "platform", "collections"}
    assert not rare & imported
    assert "_json" in imported


def test_a_zipped_egg_on_the_path_is_still_read(tmp_path: pathlib.Path) -> None:
    egg = tmp_path / "zipped_egg-2.2-py3.egg"
    with zipfile.ZipFile(egg, "w") as archive:
        archive.writestr("EGG-INFO/PKG-INFO", "Name: zipped-egg\nVersion: 2.2\n")
    env = clean_env(PYTHONPATH=str(egg))
    assert "zipfile" in _modules_the_probe_imports(sys.executable, env)
    document = run_probe_json(sys.executable, env=env)
    assert {"name": "zipped-egg", "version": "2.2"}.items() <= next(
        item for item in document["distributions"] if item["name"] == "zipped-egg"
    ).items()


# --- platform facts and shortcuts that must equal the slow way --------------------------


@pytest.mark.parametrize(
    "text",
    ["", "a", "a\n", "a\r\nb\rc\nd", "\r\r\n\n\r", "x\x0by\x0cz\u2028w\x85v", "\n\r\n"],
)
def test_split_lines_splits_where_the_pattern_it_replaces_did(text: str) -> None:
    import re

    assert script.split_lines(text) == re.split(r"\r\n|\r|\n", text)


@pytest.mark.parametrize(
    "name", ["Foo", "foo_bar", "Foo.-_Bar", "a--b", "__x__", "", "-", "Ωmega_1..2"]
)
def test_canonical_is_pep_503(name: str) -> None:
    import re

    assert script.canonical(name) == re.sub(r"[-_.]+", "-", name).lower()


def test_uname_is_what_platform_reports() -> None:
    infos = platform.uname()
    assert script.uname() == (infos.system, infos.release, infos.version, infos.machine)


def test_python_facts_are_what_platform_reports() -> None:
    assert script.python_facts() == (
        platform.python_implementation(),
        platform.python_version(),
        platform.python_version_tuple(),
    )


CPYTHON_VERSIONS = [
    sys.version,
    "3.11.7 (main, Dec  8 2023, 18:56:58) [GCC 12.2.0]",
    "2.7.18 (default, Apr 20 2020, 00:00:00) \n[GCC 8.3.0]",
    "3.13.0rc1 (main, Aug  1 2024, 10:00:00) [Clang 15.0.0 ]",
    "3.14.0a1+ (heads/main:abc, Oct 16 2024, 12:00:00) [GCC 14.2.0]",
    "3.12 (#1, Jan 1 2024) [MSC v.1937 64 bit (AMD64)]",
    "3.9.18 (main) [GCC]",
    "3.9.18 (#main) [x]",
]
ODD_VERSIONS = [
    "3.13.0 experimental free-threading build (main, Oct  7 2024, 05:02:14) [GCC 12.2.0]",
    "3.10.12 |Anaconda, Inc.| (main, Jul  5 2023, 18:54:27) [GCC 11.2.0]",
    "3.9.18(main, Jan 1 2024, 00:00:00) [GCC]",
    "3.9.18 (main, 2024-01-01, 00:00:00) [GCC]",
    "3.9.18 (main, Jan 1 2024, 00:00:00) []",
    "3.9.18 (main, Jan 1 2024, 00:00:00)",
    "3.9-18 (main, Jan 1 2024, 00:00:00) [GCC]",
    "3.9.18 (, Jan 1 2024) [GCC]",
    "3.9.18 (a, b, c, d) [GCC]",
    "3.10.14 (7.3.17+dfsg-1, Aug 28 2024, 12:00:00)\n[PyPy 7.3.17 with GCC 14.2.0]",
    "",
]


@pytest.mark.parametrize("text", CPYTHON_VERSIONS + ODD_VERSIONS)
def test_cpython_version_answers_only_what_platform_answers(text: str) -> None:
    version = script.cpython_version(text, "linux")
    assert (version is not None) is (text in CPYTHON_VERSIONS)
    if version is not None:
        # platform's parser (what packaging's default_environment() reads) agrees.
        assert platform._sys_version(text)[:2] == ("CPython", version)  # type: ignore[attr-defined]


@given(st.text(alphabet=st.sampled_from("3.1 0a+(),:#[]\n\tMainGC_-|é"), max_size=40))
@example("3 (a) [b]")
def test_cpython_version_never_contradicts_platform(text: str) -> None:
    version = script.cpython_version(text, "linux")
    if version is not None:
        assert platform._sys_version(text)[:2] == ("CPython", version)  # type: ignore[attr-defined]


# --- JSON without the json module -------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


@given(JSON_VALUES)
@example({"a": [True, False, None, 0, -1, 10**30], "é\u2028\U0001f600\ud800": '\x00\x7f"\\'})
def test_json_dumps_is_json_dumps(value: Any) -> None:
    assert script.json_dumps(value) == json.dumps(value, separators=(",", ":"))


def test_json_dumps_encodes_floats_and_odd_keys_as_json_does() -> None:
    value = {"a": 1.5, 2: (1, 2), None: float("nan"), True: -0.0}
    assert script.json_dumps(value) == json.dumps(value, separators=(",", ":"))


def test_json_dumps_refuses_what_json_refuses() -> None:
    with pytest.raises(TypeError, match="Object of type bytes is not JSON serializable"):
        script.json_dumps({"a": [b"x"]})


def _json_outcome(function: Any, text: str) -> tuple[str, Any]:
    try:
        return "value", function(text)
    except (ValueError, RecursionError) as error:
        return type(error).__name__, str(error)


@given(
    st.one_of(
        JSON_VALUES.map(json.dumps),
        st.text(alphabet=st.sampled_from(' \t\r\n{}[]",:0123456789.eE-+truefalsnNIiy\\u\ufeff')),
    )
)
@example(" \n {} \r\n")
@example("\ufeff{}")
@example("[NaN, Infinity, -Infinity]")
@example('{"a": 1} x')
@example("[" * 100000)
def test_json_loads_is_json_loads(text: str) -> None:
    ours = _json_outcome(script.json_loads, text)
    theirs = _json_outcome(json.loads, text)
    assert json.dumps(ours) == json.dumps(theirs)  # NaN == NaN here
