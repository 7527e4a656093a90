"""Windows and macOS: the platform-dependent code driven with those platforms' facts.

This machine runs Linux; the tests replace only the facts the code reads (``sys.platform``,
``os.name``, ``os.path``, the small OS interfaces parity talks to) and run the real code.
"""

from __future__ import annotations

import ctypes
import ntpath
import os
import signal
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from parity.cli import stop_signals
from parity.engine import client as engine_client
from parity.engine.owner import (
    LinuxProcesses,
    MacProcesses,
    Owner,
    Unknown,
    WindowsProcesses,
    host_identity,
    owner_is_gone,
    process_table,
)
from parity.output import write_atomically
from parity.sources.container import display_path
from parity.sources.venv import VenvError, find_venv_python

REPO_ROOT = Path(__file__).resolve().parent.parent


# --- stop signals -----------------------------------------------------------------------


def test_stop_signals_per_platform() -> None:
    hangup = getattr(signal, "SIGHUP", None)  # Windows has none
    if hangup is not None:
        assert hangup in stop_signals("linux")
        assert hangup in stop_signals("darwin")
    windows = stop_signals("win32")
    assert hangup is None or hangup not in windows
    assert windows[:2] == (signal.SIGINT, signal.SIGTERM)  # SIGBREAK too, where it exists


def test_cli_imports_and_runs_where_there_is_no_sighup(tmp_path: Path) -> None:
    """Windows' signal module has no SIGHUP: importing and running the CLI must not need it."""
    (tmp_path / "a.txt").write_text("requests==2.31.0\n", encoding="utf-8")
    (tmp_path / "b.txt").write_text("requests==2.31.0\n", encoding="utf-8")
    code = (
        "import signal, sys\n"
        "if hasattr(signal, 'SIGHUP'):\n    del signal.SIGHUP\n"
        "sys.platform = 'win32'\n"
        "from parity.cli import main, stop_signals\n"
        "assert not hasattr(signal, 'SIGHUP')\n"
        "print(stop_signals())\n"
        "sys.exit(main(['diff', '-q', 'requirements:a.txt', 'requirements:b.txt']))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    expected = [
        signal.SIGINT,
        signal.SIGTERM,
        *([signal.SIGBREAK] if hasattr(signal, "SIGBREAK") else []),
    ]
    assert result.stdout.splitlines()[0] == str(tuple(int(number) for number in expected))


# --- atomic writes ----------------------------------------------------------------------


def test_write_atomically_without_fchmod(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Windows before 3.13 has no os.fchmod, and no POSIX modes: the write must not need it."""
    target = tmp_path / "report.json"
    target.write_text("old\n", encoding="utf-8")
    monkeypatch.setattr(os, "name", "nt")
    monkeypatch.delattr(os, "fchmod")
    write_atomically(str(target), "new\n")
    monkeypatch.undo()
    assert target.read_text(encoding="utf-8") == "new\n"
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]  # no temporary left


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_write_atomically_keeps_the_umask_mode_on_posix(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    write_atomically(str(target), "x\n")
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask


# --- paths on another drive -------------------------------------------------------------


def test_display_path_on_another_drive(monkeypatch: pytest.MonkeyPatch) -> None:
    """os.path.relpath raises ValueError across Windows drives: the path is shown as given."""
    monkeypatch.setattr(os, "path", ntpath)
    monkeypatch.setattr(os, "sep", "\\")
    monkeypatch.setattr(os, "pardir", "..")
    shown = [
        display_path("D:\\project\\Dockerfile", "C:\\work"),
        display_path("C:\\work\\app\\Dockerfile", "C:\\work"),
        display_path("C:\\elsewhere\\Dockerfile", "C:\\work"),
    ]
    monkeypatch.undo()
    assert shown == ["D:\\project\\Dockerfile", "app\\Dockerfile", "C:\\elsewhere\\Dockerfile"]


def test_display_path_below_and_outside(tmp_path: Path) -> None:
    below = display_path(str(tmp_path / "a" / "Dockerfile"), str(tmp_path))
    assert below == os.path.join("a", "Dockerfile")
    assert display_path(str(tmp_path / "Dockerfile"), str(tmp_path / "a")) == str(
        tmp_path / "Dockerfile"
    )


# --- venvs made on Windows --------------------------------------------------------------


def _windows_venv(root: Path) -> Path:
    """The layout `python -m venv` makes on Windows."""
    (root / "Scripts").mkdir(parents=True)
    (root / "Lib" / "site-packages").mkdir(parents=True)
    (root / "pyvenv.cfg").write_text("home = C:\\Python312\nversion = 3.12.1\n")
    python = root / "Scripts" / "python.exe"
    python.write_bytes(b"MZ")
    python.chmod(0o755)  # Windows has no execute bit; os.access(X_OK) is true there
    return python


def test_venv_with_scripts_python_exe(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    python = _windows_venv(tmp_path / ".venv")
    monkeypatch.setattr(os, "name", "nt")
    found = find_venv_python(str(tmp_path / ".venv"))
    monkeypatch.undo()
    assert found == str(python)


def test_windows_venv_without_interpreter_names_scripts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".venv").mkdir()
    (tmp_path / ".venv" / "pyvenv.cfg").write_text("home = C:\\Python312\n")
    monkeypatch.setattr(os, "name", "nt")
    with pytest.raises(VenvError) as raised:
        find_venv_python(str(tmp_path / ".venv"))
    monkeypatch.undo()
    assert "Scripts" in str(raised.value) and "python.exe" in str(raised.value)


# --- the engine's address ---------------------------------------------------------------


def test_npipe_docker_host_is_passed_to_docker_py(monkeypatch: pytest.MonkeyPatch) -> None:
    import docker

    seen: dict[str, Any] = {}

    class Client:
        def ping(self) -> bool:
            return True

    def from_env(**kwargs: Any) -> Client:
        seen.update(kwargs)
        return Client()

    monkeypatch.setattr(docker.DockerClient, "from_env", staticmethod(from_env))
    pipe = "npipe:////./pipe/docker_engine"
    environ = {"DOCKER_HOST": pipe, "DOCKER_CONFIG": "/nonexistent"}
    engine_client.connect(environ=environ)
    assert seen["environment"]["DOCKER_HOST"] == pipe
    assert engine_client.engine_address(environ) == f"DOCKER_HOST={pipe}"


def test_default_engine_address_per_platform(monkeypatch: pytest.MonkeyPatch) -> None:
    assert engine_client.default_address("win32") == "npipe:////./pipe/docker_engine"
    assert engine_client.default_address("darwin") == "unix:///var/run/docker.sock"
    monkeypatch.setattr(sys, "platform", "win32")
    where = engine_client.engine_address({"DOCKER_CONFIG": "/nonexistent"})
    assert where == "the default pipe npipe:////./pipe/docker_engine"


def test_npipe_on_a_host_without_pipes_is_one_clear_error() -> None:
    from parity.errors import EngineError

    if sys.platform == "win32":
        pytest.skip("a named pipe is valid here")
    with pytest.raises(EngineError) as raised:
        engine_client.connect(environ={"DOCKER_HOST": "npipe:////./pipe/docker_engine"})
    assert "only on Windows" in str(raised.value)


# --- process liveness per OS ------------------------------------------------------------


def _no_kill(pid: int, signum: int) -> None:
    raise AssertionError("os.kill must not be used here")


class FakeKernel32:
    """kernel32's process calls with the answers Windows gives for a few PIDs."""

    INVALID_PARAMETER = 87
    ACCESS_DENIED = 5

    def __init__(self, processes: dict[int, tuple[int, int]], denied: set[int] = frozenset()):
        self.processes = processes  # pid -> (exit code, creation FILETIME)
        self.denied = denied
        self.error = 0
        self.open_handles: set[int] = set()

    def OpenProcess(self, access: int, inherit: bool, pid: int) -> int:
        assert access == 0x1000  # PROCESS_QUERY_LIMITED_INFORMATION
        if pid in self.denied:
            self.error = self.ACCESS_DENIED
            return 0
        if pid not in self.processes:
            self.error = self.INVALID_PARAMETER
            return 0
        self.open_handles.add(pid)
        return pid

    def GetExitCodeProcess(self, handle: int, code: Any) -> int:
        code._obj.value = self.processes[handle][0]
        return 1

    def GetProcessTimes(self, handle: int, *times: Any) -> int:
        created = self.processes[handle][1]
        times[0]._obj.low = created & 0xFFFFFFFF
        times[0]._obj.high = created >> 32
        return 1

    def CloseHandle(self, handle: int) -> int:
        self.open_handles.discard(handle)
        return 1


def test_windows_liveness_uses_the_process_api_never_kill(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(os, "kill", _no_kill)
    assert isinstance(process_table("win32"), WindowsProcesses)
    kernel = FakeKernel32({100: (259, 133_000_000_000_000_000), 200: (0, 133_000_000_000)}, {300})
    processes = WindowsProcesses(kernel, lambda: kernel.error)
    assert processes.start_time(100) == "filetime:133000000000000000"
    assert processes.start_time(200) is None  # exited; a handle keeps its entry
    assert processes.start_time(400) is None  # no such process
    with pytest.raises(Unknown):
        processes.start_time(300)  # a protected process: it runs, we may not look
    assert kernel.open_handles == set()
    here = "host-a"
    owner = Owner(here, 100, "filetime:133000000000000000")
    assert not owner_is_gone(owner, here, processes)
    assert owner_is_gone(Owner(here, 100, "filetime:1"), here, processes)  # a recycled PID
    assert owner_is_gone(Owner(here, 400, "filetime:1"), here, processes)
    assert not owner_is_gone(Owner(here, 300, "filetime:1"), here, processes)


def test_windows_liveness_without_kernel32_here_is_unknown() -> None:
    if sys.platform == "win32":
        pytest.skip("kernel32 exists here")
    with pytest.raises(Unknown):
        WindowsProcesses().start_time(os.getpid())


def test_macos_liveness_asks_ps_for_the_start_time() -> None:
    running = {4242: "Sun Dec  6 15:56:46 2026"}
    commands: list[list[str]] = []

    def kill(pid: int, signum: int) -> None:
        assert signum == 0
        if pid not in running:
            raise ProcessLookupError
        if pid == 1:
            raise PermissionError

    def run(command: list[str]) -> str:
        commands.append(command)
        return running.get(int(command[2]), "") + "\n"

    processes = MacProcesses(run, kill)
    assert processes.start_time(4242) == "lstart:Sun Dec 6 15:56:46 2026"
    assert commands == [["ps", "-p", "4242", "-o", "lstart="]]
    assert processes.start_time(4243) is None
    assert isinstance(process_table("darwin"), MacProcesses)
    here = "mac"
    assert not owner_is_gone(Owner(here, 4242, "lstart:Sun Dec 6 15:56:46 2026"), here, processes)
    assert owner_is_gone(Owner(here, 4242, "lstart:Sat Dec 5 09:00:00 2026"), here, processes)


def test_linux_liveness_reads_proc(tmp_path: Path) -> None:
    (tmp_path / "77").mkdir()
    (tmp_path / "77" / "stat").write_text(
        "77 (odd) name)) S 1 77 77 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 98765 1 2 3\n"
    )

    def kill(pid: int, signum: int) -> None:
        raise PermissionError if pid == 88 else ProcessLookupError

    processes = LinuxProcesses(str(tmp_path), kill)
    assert processes.start_time(77) == "ticks:98765"
    assert processes.start_time(99) is None
    with pytest.raises(Unknown):  # hidden by hidepid, but the kernel says it runs
        processes.start_time(88)
    if os.path.exists("/proc/self/stat"):  # this machine's own /proc
        real = LinuxProcesses()
        assert real.start_time(os.getpid()) == real.start_time(os.getpid())
        assert str(real.start_time(os.getpid())).startswith("ticks:")


def test_a_child_that_exited_is_gone_and_we_are_not() -> None:
    processes = process_table()
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    started = processes.start_time(child.pid)
    child.wait()
    here = host_identity()
    assert started is not None
    assert owner_is_gone(Owner(here, child.pid, started), here, processes)
    me = Owner(here, os.getpid(), str(processes.start_time(os.getpid())))
    assert not owner_is_gone(me, here, processes)
    # Another host's (or another container's) run is never ours to judge.
    assert not owner_is_gone(Owner("elsewhere", child.pid, started), here, processes)


def test_host_identity_per_platform() -> None:
    def read(path: str) -> str:
        return {"/etc/machine-id": "m1\n", "/proc/sys/kernel/random/boot_id": "b1\n"}[path]

    linux = host_identity("linux", read, lambda: "box")
    assert linux == host_identity("linux", read, lambda: "box")
    assert linux != host_identity("linux", read, lambda: "other-box")
    mac = host_identity("darwin", hostname=lambda: "box", run=lambda _: "{ sec = 1 }\n")
    assert mac != host_identity("darwin", hostname=lambda: "box", run=lambda _: "{ sec = 2 }\n")
    assert host_identity("win32", hostname=lambda: "box") != linux


def test_ctypes_filetime_is_two_dwords() -> None:
    from parity.engine.owner import _FileTime

    assert ctypes.sizeof(_FileTime) == 8


def test_windows_probe_command_fits_its_command_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """CreateProcess caps a command line at 32 767 characters: Windows gets the compact probe."""
    import subprocess as sp

    from parity.probe.parse import PROBE_SOURCE, probe_command

    python = "C:\\Users\\dev\\project\\.venv\\Scripts\\python.exe"
    monkeypatch.setattr(os, "name", "nt")
    command = probe_command(python)
    monkeypatch.undo()
    assert command[:3] == [python, "-B", "-c"] and command[-1] != PROBE_SOURCE
    assert len(sp.list2cmdline(command)) < 32767
    assert len(sp.list2cmdline(probe_command(python))) > 32767 or os.name == "nt"
