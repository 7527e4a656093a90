"""Local live sides: real venvs (python -m venv) holding every kind of install, probed.

Each venv is compared with what its own ``pip freeze --all`` prints; installs come from
hand-built wheels, local setuptools projects and a local git repository (no index needed).
"""

from __future__ import annotations

import os
import pathlib
import shutil
import stat
import subprocess
import sys
from typing import Any

import pytest

from parity.errors import SourceError
from parity.model import Level
from parity.sources import venv as venv_source
from parity.sources.venv import (
    VenvError,
    detect_local_venv,
    find_venv_python,
    load_python,
    load_venv,
    start_probe,
)
from tests.data.probe.probe_testing import (
    assert_same_as_freeze,
    build_wheel,
    clean_env,
    make_venv,
    pip_freeze,
    pyenv_pythons,
    run,
    write_backend_project,
    write_setuptools_project,
)
from tests.helpers import venv_python

# One interpreter per pip metadata backend and venv flavour: 3.9 (pkg_resources),
# 3.11 (importlib, setuptools in the venv), 3.13 (importlib, no setuptools).
BASES = [
    p for p in pyenv_pythons() if p.parent.parent.name.rsplit(".", 1)[0] in {"3.9", "3.11", "3.13"}
]


def _pip(
    python: pathlib.Path, *args: str | os.PathLike[str], cwd: pathlib.Path | None = None
) -> None:
    run([python, "-m", "pip", "install", "--isolated", "--no-index", "--no-input", *args], cwd=cwd)


def _has_setuptools(python: pathlib.Path) -> bool:
    completed = subprocess.run(
        [python, "-c", "import setuptools"], capture_output=True, env=clean_env(), check=False
    )
    return completed.returncode == 0


def _git(repo: pathlib.Path, *args: str) -> str:
    identity = ["-c", "user.name=parity", "-c", "user.email=parity@example.invalid"]
    return run(["git", *identity, *args], cwd=repo).strip()


def _populate(venv_python: pathlib.Path, work: pathlib.Path) -> dict[str, str]:
    """Install one distribution of each kind; return {name: expected origin kind or ''}."""
    expected: dict[str, str] = {}
    wheels = work / "wheels"
    wheels.mkdir()
    build_wheel(
        wheels, "plain-wheel", "1.2.3", {"plain_wheel.py": "X = 1\n"}, ["six; extra == 'x'"]
    )
    _pip(venv_python, "--find-links", wheels, "plain-wheel==1.2.3")
    expected["plain-wheel"] = ""
    archive = build_wheel(work, "archive-wheel", "0.4", {"archive_wheel.py": "X = 1\n"})
    _pip(venv_python, archive)
    expected["archive-wheel"] = "archive"

    editable = write_backend_project(work / "editable-proj", "editable-proj", "0.1")
    _pip(venv_python, "-e", editable)
    expected["editable-proj"] = "editable"
    directory = write_backend_project(work / "dir-proj", "dir-proj", "0.2")
    _pip(venv_python, directory)
    expected["dir-proj"] = "directory"

    repo = write_backend_project(work / "vcs-repo", "vcs-proj", "0.3")
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "initial")
    commit = _git(repo, "rev-parse", "HEAD")
    _pip(venv_python, f"git+{repo.as_uri()}@{commit}")
    expected["vcs-proj"] = f"vcs:{commit}"

    if _has_setuptools(venv_python):
        setup_install = ["setup.py", "-q", "install"]
        egg_info = write_setuptools_project(work / "egg-info-proj", "egg-info-proj", "0.5")
        flags = ["--single-version-externally-managed", "--record", "installed.txt"]
        run([venv_python, *setup_install, *flags], cwd=egg_info)
        expected["egg-info-proj"] = ""
        egg = write_setuptools_project(work / "egg-proj", "egg-proj", "0.6")
        run([venv_python, *setup_install], cwd=egg)
        expected["egg-proj"] = ""
        develop = write_setuptools_project(work / "develop-proj", "develop-proj", "0.7")
        run([venv_python, "setup.py", "-q", "develop", "--no-deps"], cwd=develop)
        expected["develop-proj"] = "editable"
    return expected


@pytest.fixture(scope="module", params=BASES, ids=[p.parent.parent.name for p in BASES])
def populated_venv(
    request: Any, tmp_path_factory: pytest.TempPathFactory
) -> tuple[pathlib.Path, dict[str, str]]:
    work = tmp_path_factory.mktemp("venv-" + request.param.parent.parent.name)
    python = make_venv(request.param, work / "venv")
    expected = _populate(python, work)
    return work / "venv", expected


@pytest.mark.slow
def test_a_venv_is_exactly_what_its_pip_freeze_lists(
    populated_venv: tuple[pathlib.Path, dict[str, str]],
) -> None:
    path, _ = populated_venv
    environment = load_venv(str(path))
    assert_same_as_freeze(environment, pip_freeze(venv_python(path)))
    assert environment.kind == "venv"
    assert environment.ref == str(path)
    assert environment.level is Level.INSTALLED
    assert environment.interpreter is not None
    assert environment.interpreter.is_venv is True
    assert environment.interpreter.externally_managed is False
    assert environment.interpreter.prefix == str(path)
    assert environment.warnings == ()


@pytest.mark.slow
def test_each_kind_of_install_gets_its_origin(
    populated_venv: tuple[pathlib.Path, dict[str, str]],
) -> None:
    path, expected = populated_venv
    packages = load_venv(str(path)).packages_by_key()
    for name, origin in expected.items():
        package = packages[name]
        if not origin:
            assert package.origin is None, name
        elif origin.startswith("vcs:"):
            assert package.origin is not None
            assert (package.origin.kind, package.origin.vcs) == ("vcs", "git")
            assert package.origin.commit == origin.split(":", 1)[1]
        else:
            assert package.origin is not None and package.origin.kind == origin, name
    assert packages["plain-wheel"].installer == "pip"
    assert packages["plain-wheel"].requires == ("six; extra == 'x'",)
    if "develop-proj" in packages:
        develop = packages["develop-proj"]
        assert develop.origin is not None
        assert develop.origin.url.endswith("/develop-proj")


def _tree(root: pathlib.Path) -> dict[str, tuple[int, int, int]]:
    found = {}
    for directory, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(directory, name)
            info = os.lstat(path)
            found[os.path.relpath(path, root)] = (info.st_mode, info.st_size, info.st_mtime_ns)
    return found


@pytest.mark.slow
def test_probing_never_modifies_the_venv(
    populated_venv: tuple[pathlib.Path, dict[str, str]],
) -> None:
    path, _ = populated_venv
    before = _tree(path)
    load_venv(str(path))
    assert _tree(path) == before


@pytest.mark.slow
def test_probes_started_together_each_give_their_result(
    populated_venv: tuple[pathlib.Path, dict[str, str]],
) -> None:
    path, _ = populated_venv
    first = start_probe(find_venv_python(str(path)), kind="venv", ref=str(path))
    second = start_probe(sys.executable)
    assert second.result().kind == "python"
    environment = first.result()
    assert environment.kind == "venv"
    assert first.result() is environment


@pytest.mark.skipif(shutil.which("sh") is None, reason="needs /bin/sh")
def test_leaving_the_with_block_stops_an_unfinished_probe(tmp_path: pathlib.Path) -> None:
    python = _fake_python(tmp_path, "exec sleep 30")
    with start_probe(python) as probe:
        pass
    assert not probe.is_running()


def test_a_probe_handle_works_as_a_context_manager() -> None:
    with start_probe(sys.executable, ref="here") as probe:
        environment = probe.result()
    assert environment.ref == "here"


def test_load_python_probes_a_base_interpreter() -> None:
    python = sys._base_executable if hasattr(sys, "_base_executable") else sys.executable
    environment = load_python(python)
    assert (environment.kind, environment.ref) == ("python", python)
    assert environment.interpreter is not None
    assert environment.interpreter.is_venv is False


def test_load_python_finds_a_name_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    name = os.path.basename(sys.executable)
    directory = os.path.dirname(sys.executable)
    monkeypatch.setenv("PATH", directory + os.pathsep + os.environ.get("PATH", ""))
    environment = load_python(name)
    assert environment.ref == name
    assert environment.interpreter is not None
    assert environment.interpreter.executable == sys.executable


def test_pythonhome_is_not_passed_to_the_probe(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONHOME", "/nonexistent/home")
    environment = load_python(sys.executable)
    assert environment.interpreter is not None


# --- finding venvs ----------------------------------------------------------------------


def _fake_venv(path: pathlib.Path) -> pathlib.Path:
    """Just enough of a venv for lookups: pyvenv.cfg and an executable bin/python."""
    (path / "bin").mkdir(parents=True)
    (path / "pyvenv.cfg").write_text("home = /usr/bin\n")
    python = path / "bin" / "python"
    python.write_text("#!/bin/sh\nexit 0\n")
    python.chmod(python.stat().st_mode | stat.S_IXUSR)
    return python


def test_find_venv_python_names_a_directory_that_is_no_venv(tmp_path: pathlib.Path) -> None:
    with pytest.raises(VenvError) as caught:
        find_venv_python(str(tmp_path))
    assert str(caught.value) == f"{tmp_path} is not a virtualenv (no pyvenv.cfg)"
    assert isinstance(caught.value, SourceError)


def test_find_venv_python_needs_an_interpreter(tmp_path: pathlib.Path) -> None:
    (tmp_path / "pyvenv.cfg").write_text("home = /usr/bin\n")
    with pytest.raises(VenvError, match="without an interpreter"):
        find_venv_python(str(tmp_path))


def test_find_venv_python_returns_bin_python(tmp_path: pathlib.Path) -> None:
    python = _fake_venv(tmp_path / "v")
    assert find_venv_python(str(tmp_path / "v")) == str(python)


def test_detect_local_venv_prefers_virtual_env_then_dot_venv_then_venv(
    tmp_path: pathlib.Path,
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    assert detect_local_venv(str(project), {}) is None
    _fake_venv(project / "venv")
    assert detect_local_venv(str(project), {}) == str(project / "venv")
    _fake_venv(project / ".venv")
    assert detect_local_venv(str(project), {}) == str(project / ".venv")
    active = tmp_path / "active"
    _fake_venv(active)
    assert detect_local_venv(str(project), {"VIRTUAL_ENV": str(active)}) == str(active)
    invalid = {"VIRTUAL_ENV": str(tmp_path / "gone")}
    assert detect_local_venv(str(project), invalid) == str(project / ".venv")


# --- interpreters that misbehave ---------------------------------------------------------


def _fake_python(tmp_path: pathlib.Path, body: str) -> str:
    script = tmp_path / "python-fake"
    script.write_text("#!/bin/sh\n" + body + "\n")
    script.chmod(0o755)
    return str(script)


def test_a_missing_interpreter_is_a_venv_error(tmp_path: pathlib.Path) -> None:
    with pytest.raises(VenvError, match="no such interpreter"):
        load_python(str(tmp_path / "python9"))
    with pytest.raises(VenvError, match="python-does-not-exist"):
        load_python("python-does-not-exist")


def test_load_venv_on_a_plain_directory_fails_clearly(tmp_path: pathlib.Path) -> None:
    with pytest.raises(VenvError, match="not a virtualenv"):
        load_venv(str(tmp_path))


@pytest.mark.skipif(shutil.which("sh") is None, reason="needs /bin/sh")
def test_garbage_output_is_a_venv_error_naming_the_interpreter(tmp_path: pathlib.Path) -> None:
    python = _fake_python(tmp_path, "echo 'Python 0.0: not really'")
    with pytest.raises(VenvError) as caught:
        load_python(python)
    assert str(caught.value).startswith(python + ": the probe printed no JSON")


@pytest.mark.skipif(shutil.which("sh") is None, reason="needs /bin/sh")
def test_a_failing_probe_reports_its_last_error_line(tmp_path: pathlib.Path) -> None:
    python = _fake_python(tmp_path, "echo 'first' >&2; echo 'SyntaxError: boom' >&2; exit 3")
    with pytest.raises(VenvError) as caught:
        load_python(python)
    assert str(caught.value) == f"{python}: the probe failed (exit 3): SyntaxError: boom"


@pytest.mark.skipif(shutil.which("sh") is None, reason="needs /bin/sh")
def test_a_hanging_probe_is_stopped(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(venv_source, "PROBE_TIMEOUT_SECONDS", 0.5)
    python = _fake_python(tmp_path, "exec sleep 30")
    with pytest.raises(VenvError, match=r"did not finish within 0\.5 s"):
        load_python(python)


@pytest.mark.skipif(shutil.which("head") is None, reason="needs head")
def test_a_flooding_probe_is_stopped(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(venv_source, "MAX_OUTPUT_BYTES", 1024 * 1024)
    python = _fake_python(tmp_path, "exec head -c 50000000 /dev/zero")
    with pytest.raises(VenvError, match="printed more than 1 MiB"):
        load_python(python)


@pytest.mark.skipif(shutil.which("sh") is None, reason="needs /bin/sh")
def test_the_probe_gets_no_stdin(tmp_path: pathlib.Path) -> None:
    python = _fake_python(tmp_path, "cat; echo '{\"probe\": 7}'")
    with pytest.raises(VenvError, match="format 7"):
        load_python(python)
