"""Local live sides: a virtualenv, or any Python interpreter, probed with its own interpreter.

The probe runs as a plain subprocess (no shell, stdin closed, a timeout, the current
environment minus ``PYTHONHOME``); nothing is activated and the venv is never modified.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
import weakref
from collections.abc import Mapping
from typing import IO

from parity.errors import ProbeError, SourceError
from parity.model import Environment
from parity.probe.parse import MAX_OUTPUT_BYTES, parse_probe_output, probe_command

PROBE_TIMEOUT_SECONDS = 60.0
_STDERR_TAIL_BYTES = 4096
_CHUNK = 64 * 1024
# Where a virtualenv keeps its interpreter: bin/ on POSIX, Scripts\ on Windows (bin\ for
# MSYS2/MinGW Pythons).
_POSIX_VENV_PYTHONS = (("bin", "python"), ("bin", "python3"), ("Scripts", "python.exe"))
_WINDOWS_VENV_PYTHONS = (("Scripts", "python.exe"), ("bin", "python.exe"), ("bin", "python"))


def venv_python_candidates() -> tuple[tuple[str, ...], ...]:
    """The interpreter paths inside a virtualenv, in the order this OS makes them."""
    return _WINDOWS_VENV_PYTHONS if os.name == "nt" else _POSIX_VENV_PYTHONS


class VenvError(SourceError):
    """A virtualenv or interpreter that cannot be probed. Names the path or interpreter."""


def find_venv_python(path: str) -> str:
    """The interpreter of the virtualenv at ``path`` (``bin/python`` or ``Scripts/python.exe``)."""
    if not os.path.isfile(os.path.join(path, "pyvenv.cfg")):
        raise VenvError(f"{path} is not a virtualenv (no pyvenv.cfg)")
    candidates = venv_python_candidates()
    for parts in candidates:
        candidate = os.path.join(os.path.abspath(path), *parts)
        # Windows has no execute bit: os.access(X_OK) is true for any file there.
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    expected = os.path.join(*candidates[0])
    raise VenvError(f"{path} is a virtualenv without an interpreter (no {expected})")


def is_venv(path: str) -> bool:
    """Whether ``path`` is a virtualenv with an interpreter parity can run."""
    try:
        find_venv_python(path)
    except VenvError:
        return False
    return True


def detect_local_venv(project_dir: str, environ: Mapping[str, str]) -> str | None:
    """The local venv to use: $VIRTUAL_ENV if valid, else PROJECT/.venv, else PROJECT/venv.

    Inside a pre-commit hook, $VIRTUAL_ENV is pre-commit's own hook environment, not the
    user's: it is skipped when it lies in pre-commit's store.
    """
    active = environ.get("VIRTUAL_ENV", "")
    if active and _is_pre_commit_env(active, environ):
        active = ""
    candidates = [
        active,
        os.path.join(project_dir, ".venv"),
        os.path.join(project_dir, "venv"),
    ]
    for candidate in candidates:
        if candidate and is_venv(candidate):
            return candidate
    return None


def _is_pre_commit_env(path: str, environ: Mapping[str, str]) -> bool:
    """Whether ``path`` is one of pre-commit's hook environments (we run inside a hook)."""
    if environ.get("PRE_COMMIT") != "1":
        return False
    store = environ.get("PRE_COMMIT_HOME") or os.path.join(
        environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "pre-commit"
    )
    real_store = os.path.realpath(store)
    return os.path.realpath(path).startswith(real_store + os.sep)


def load_venv(path: str) -> Environment:
    """Probe the virtualenv at ``path`` (kind ``venv``)."""
    python = find_venv_python(path)
    return start_probe(python, kind="venv", ref=path, description=f"virtualenv {path}").result()


def load_python(executable: str) -> Environment:
    """Probe the interpreter ``executable`` (a path, or a name on PATH; kind ``python``)."""
    return start_probe(executable, kind="python", ref=executable).result()


def start_probe(
    python: str, *, kind: str = "python", ref: str | None = None, description: str = ""
) -> RunningProbe:
    """Start the probe with ``python`` without waiting; ``.result()`` gives the Environment."""
    return RunningProbe(python, kind=kind, ref=ref or python, description=description)


def _probe_environment() -> dict[str, str]:
    environment = dict(os.environ)
    environment.pop("PYTHONHOME", None)
    return environment


def _resolve_interpreter(python: str) -> str:
    if os.sep in python or (os.altsep and os.altsep in python):
        if not os.path.isfile(python):
            raise VenvError(f"{python}: no such interpreter")
        return python
    found = shutil.which(python)
    if found is None:
        raise VenvError(f"{python}: no such interpreter on PATH")
    return found


class _Drain:
    """Reads a pipe to its end in a thread, keeping at most ``limit`` bytes (head or tail)."""

    def __init__(self, pipe: IO[bytes], limit: int, keep_tail: bool) -> None:
        self._pipe = pipe
        self._limit = limit
        self._keep_tail = keep_tail
        self.data = bytearray()
        self.overflowed = False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        read = getattr(self._pipe, "read1", self._pipe.read)
        try:
            while chunk := read(_CHUNK):
                self.data += chunk
                if len(self.data) > self._limit:
                    self.overflowed = True
                    if not self._keep_tail:
                        return
                    del self.data[: -self._limit]
        except (OSError, ValueError):
            return  # the pipe was closed under us: the process was killed

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)


def _stop_process(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.kill()
        process.wait()


class RunningProbe:
    """The probe running in a subprocess, its pipes drained in the background."""

    def __init__(self, python: str, *, kind: str, ref: str, description: str) -> None:
        self.python = python
        self.kind = kind
        self.ref = ref
        self.description = description
        executable = _resolve_interpreter(python)
        self._deadline = time.monotonic() + PROBE_TIMEOUT_SECONDS
        try:
            self._process = subprocess.Popen(
                probe_command(executable),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=_probe_environment(),
                shell=False,
            )
        except OSError as error:
            raise VenvError(f"{python}: cannot run it: {error.strerror or error}") from error
        # The probe never outlives parity: an interrupt or an error on the other side may
        # leave result() uncalled, and interpreter exit then stops the process.
        self._stop = weakref.finalize(self, _stop_process, self._process)
        assert self._process.stdout is not None and self._process.stderr is not None
        self._stdout = _Drain(self._process.stdout, MAX_OUTPUT_BYTES, keep_tail=False)
        self._stderr = _Drain(self._process.stderr, _STDERR_TAIL_BYTES, keep_tail=True)
        self._result: Environment | None = None

    def __enter__(self) -> RunningProbe:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.cancel()

    def result(self) -> Environment:
        """Wait for the probe (until its 60 s deadline) and parse what it printed."""
        if self._result is None:
            try:
                self._result = self._finish()
            finally:
                self.cancel()
        return self._result

    def is_running(self) -> bool:
        """Whether the probe process has not exited yet."""
        return self._process.poll() is None

    def cancel(self) -> None:
        """Stop the probe if it still runs (safe to call more than once)."""
        self._stop()
        for pipe in (self._process.stdout, self._process.stderr):
            if pipe is not None:
                pipe.close()

    def _finish(self) -> Environment:
        returncode = self._wait()
        self._stdout.join(max(0.0, self._deadline - time.monotonic()) + 1.0)
        self._stderr.join(1.0)
        if self._stdout.overflowed:
            raise VenvError(
                f"{self.python}: the probe printed more than "
                f"{MAX_OUTPUT_BYTES // (1024 * 1024)} MiB; stopped it"
            )
        if returncode != 0:
            raise VenvError(f"{self.python}: the probe failed (exit {returncode}): {self._why()}")
        try:
            return parse_probe_output(
                bytes(self._stdout.data),
                kind=self.kind,
                ref=self.ref,
                description=self.description,
            )
        except ProbeError as error:
            raise VenvError(f"{self.python}: {error}") from error

    def _wait(self) -> int:
        while True:
            remaining = self._deadline - time.monotonic()
            try:
                return self._process.wait(timeout=max(0.0, min(remaining, 0.5)))
            except subprocess.TimeoutExpired:
                if self._stdout.overflowed:
                    self._process.kill()
                    return self._process.wait()
                if remaining <= 0:
                    self._process.kill()
                    self._process.wait()
                    raise VenvError(
                        f"{self.python}: the probe did not finish within "
                        f"{PROBE_TIMEOUT_SECONDS:g} s; stopped it"
                    ) from None

    def _why(self) -> str:
        lines = bytes(self._stderr.data).decode("utf-8", "replace").strip().splitlines()
        return lines[-1].strip() if lines else "no error output"
