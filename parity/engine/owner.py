"""Who owns a container parity created: this host, this process, and when it started.

A stale-container sweep may remove a container only when its owner is provably gone: the
owner ran on this same host (same machine, same boot, same PID namespace) and no process
with its PID and start time runs any more. A recycled PID has another start time; a run on
another host, or in another container, has another host identity and is never touched.

Each OS answers through a small interface (``/proc`` on Linux, ``ps`` on macOS, the
kernel32 process API on Windows) that tests replace with the facts of another platform.
``os.kill(pid, 0)`` is used only on POSIX: on Windows signal 0 is ``CTRL_C_EVENT``.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import os
import socket
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol


class Unknown(Exception):
    """Whether the process runs cannot be told: it counts as running."""


class ProcessTable(Protocol):
    """Start times of processes on this host."""

    def start_time(self, pid: int) -> str | None:
        """An opaque token of when ``pid`` started; None when no such process runs.

        Raises :class:`Unknown` when the answer cannot be had.
        """


@dataclass(frozen=True)
class Owner:
    """The process that created a container, as its labels record it."""

    host_id: str
    pid: int
    started: str


# --------------------------------------------------------------------------- Linux


class LinuxProcesses:
    """``/proc/PID/stat`` field 22: the start time in clock ticks since boot."""

    def __init__(self, proc: str = "/proc", kill: Callable[[int, int], None] = os.kill) -> None:
        self.proc = proc
        self.kill = kill

    def start_time(self, pid: int) -> str | None:
        try:
            with open(os.path.join(self.proc, str(pid), "stat"), "rb") as stream:
                text = stream.read().decode("ascii", "replace")
        except FileNotFoundError:
            # /proc mounted with hidepid hides other users' processes: ask the kernel.
            return None if not _posix_alive(pid, self.kill) else _raise_unknown(pid)
        except OSError as error:
            raise Unknown(f"cannot read process {pid}: {error}") from error
        fields = text.rpartition(")")[2].split()
        if len(fields) < 20:
            raise Unknown(f"process {pid}: unexpected /proc stat line")
        return f"ticks:{fields[19]}"


# --------------------------------------------------------------------------- macOS


class MacProcesses:
    """``ps -o lstart=`` (the start time to the second), after ``kill(pid, 0)``."""

    def __init__(
        self,
        run: Callable[[list[str]], str] | None = None,
        kill: Callable[[int, int], None] = os.kill,
    ) -> None:
        self.run = run or _run_text
        self.kill = kill

    def start_time(self, pid: int) -> str | None:
        if not _posix_alive(pid, self.kill):
            return None
        try:
            started = self.run(["ps", "-p", str(pid), "-o", "lstart="]).strip()
        except (OSError, subprocess.SubprocessError) as error:
            if _posix_alive(pid, self.kill):
                raise Unknown(f"process {pid}: ps failed: {error}") from error
            return None
        if not started:
            return None if not _posix_alive(pid, self.kill) else _raise_unknown(pid)
        return f"lstart:{' '.join(started.split())}"


def _run_text(command: list[str]) -> str:
    environment = {**os.environ, "LC_ALL": "C"}
    return subprocess.run(
        command, capture_output=True, check=True, text=True, env=environment, timeout=10
    ).stdout


def _posix_alive(pid: int, kill: Callable[[int, int], None]) -> bool:
    try:
        kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, and belongs to someone else
    except OSError as error:
        raise Unknown(f"process {pid}: {error}") from error
    return True


def _raise_unknown(pid: int) -> str:
    raise Unknown(f"process {pid} runs, but its start time cannot be read")


# --------------------------------------------------------------------------- Windows

_PROCESS_QUERY_LIMITED_INFORMATION = 0x1000
_STILL_ACTIVE = 259
_ERROR_INVALID_PARAMETER = 87  # OpenProcess on a PID no process has


class _FileTime(ctypes.Structure):
    _fields_ = [("low", ctypes.c_uint32), ("high", ctypes.c_uint32)]


class WindowsProcesses:
    """OpenProcess, GetExitCodeProcess and GetProcessTimes (creation time) from kernel32."""

    def __init__(self, kernel32: Any = None, last_error: Callable[[], int] | None = None) -> None:
        self._kernel32 = kernel32
        self._last_error = last_error

    @property
    def kernel32(self) -> Any:
        if self._kernel32 is None:
            if sys.platform != "win32":
                raise Unknown("kernel32 exists only on Windows")
            self._kernel32 = _declare(ctypes.WinDLL("kernel32", use_last_error=True))
            self._last_error = self._last_error or ctypes.get_last_error
        return self._kernel32

    def last_error(self) -> int:
        return self._last_error() if self._last_error is not None else 0

    def start_time(self, pid: int) -> str | None:
        handle = self.kernel32.OpenProcess(_PROCESS_QUERY_LIMITED_INFORMATION, False, pid)
        if not handle:
            if self.last_error() == _ERROR_INVALID_PARAMETER:
                return None
            raise Unknown(f"process {pid}: OpenProcess failed ({self.last_error()})")
        try:
            code = ctypes.c_uint32()
            if not self.kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
                raise Unknown(f"process {pid}: GetExitCodeProcess failed")
            if code.value != _STILL_ACTIVE:
                return None  # exited; only a handle keeps its entry
            created, exited, kernel, user = (_FileTime() for _ in range(4))
            if not self.kernel32.GetProcessTimes(
                handle,
                ctypes.byref(created),
                ctypes.byref(exited),
                ctypes.byref(kernel),
                ctypes.byref(user),
            ):
                raise Unknown(f"process {pid}: GetProcessTimes failed")
            return f"filetime:{(created.high << 32) | created.low}"
        finally:
            self.kernel32.CloseHandle(handle)


def _declare(kernel32: Any) -> Any:
    """Argument and result types (a HANDLE is pointer-sized; ctypes' default is a C int)."""
    handle, dword, filetime = ctypes.c_void_p, ctypes.c_uint32, ctypes.POINTER(_FileTime)
    kernel32.OpenProcess.argtypes = [dword, ctypes.c_int, dword]
    kernel32.OpenProcess.restype = handle
    kernel32.GetExitCodeProcess.argtypes = [handle, ctypes.POINTER(dword)]
    kernel32.GetExitCodeProcess.restype = ctypes.c_int
    kernel32.GetProcessTimes.argtypes = [handle, filetime, filetime, filetime, filetime]
    kernel32.GetProcessTimes.restype = ctypes.c_int
    kernel32.CloseHandle.argtypes = [handle]
    kernel32.CloseHandle.restype = ctypes.c_int
    return kernel32


# --------------------------------------------------------------------------- this host


def process_table(platform: str | None = None) -> ProcessTable:
    """The process interface of this OS."""
    platform = sys.platform if platform is None else platform
    if platform == "win32":
        return WindowsProcesses()
    if platform == "darwin":
        return MacProcesses()
    return LinuxProcesses()


def host_identity(
    platform: str | None = None,
    read: Callable[[str], str] | None = None,
    hostname: Callable[[], str] = socket.gethostname,
    run: Callable[[list[str]], str] | None = None,
) -> str:
    """A digest naming this host, this boot and (on Linux) this PID namespace.

    Two processes get the same identity only when their PIDs name the same processes:
    a container's own PID namespace, another machine, or a reboot gives another one.
    """
    platform = sys.platform if platform is None else platform
    read = read or _read_first_line
    facts = [platform, hostname()]
    if platform == "win32":
        facts.append(_quietly(_windows_machine_guid))
    elif platform == "darwin":
        facts.append(_quietly(lambda: (run or _run_text)(["sysctl", "-n", "kern.boottime"])))
    else:
        facts.append(_quietly(lambda: read("/etc/machine-id")))
        facts.append(_quietly(lambda: read("/proc/sys/kernel/random/boot_id")))
        facts.append(_quietly(lambda: os.readlink("/proc/self/ns/pid")))
    digest = hashlib.sha256("\n".join(fact.strip() for fact in facts).encode("utf-8"))
    return digest.hexdigest()[:32]


def _read_first_line(path: str) -> str:
    with open(path, encoding="utf-8") as stream:
        return stream.readline()


def _quietly(fact: Callable[[], str]) -> str:
    try:
        return fact()
    except (OSError, ImportError, subprocess.SubprocessError, ValueError):
        return ""


def _windows_machine_guid() -> str:
    """The installation's MachineGuid from the registry ("" where there is none)."""
    if sys.platform != "win32":
        return ""
    import winreg

    with contextlib.suppress(OSError):
        path = r"SOFTWARE\Microsoft\Cryptography"
        with winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, path) as key:
            value, _kind = winreg.QueryValueEx(key, "MachineGuid")
            return str(value)
    return ""


_SELF: Owner | None = None


def this_process() -> Owner:
    """This process as an owner (computed once per process)."""
    global _SELF
    pid = os.getpid()
    if _SELF is None or _SELF.pid != pid:
        try:
            started = process_table().start_time(pid) or ""
        except Unknown:
            started = ""
        _SELF = Owner(host_identity(), pid, started)
    return _SELF


def owner_is_gone(owner: Owner, here: str, processes: ProcessTable) -> bool:
    """True only when ``owner`` provably no longer runs: same host, and its process is gone
    (or its PID now names a process that started at another time)."""
    if not owner.host_id or owner.host_id != here or not owner.started or owner.pid <= 0:
        return False
    try:
        started = processes.start_time(owner.pid)
    except Unknown:
        return False
    return started is None or started != owner.started
