"""Local live sides: a virtualenv, or any Python interpreter, probed with its own interpreter.

The probe runs as a plain subprocess (no shell, stdin closed, a timeout, the current
environment minus ``PYTHONHOME``); nothing is activated and the venv is never modified.
"""

from __future__ import annotations

import base64
import glob
import hashlib
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from typing import IO, Any

from parity.errors import ProbeError, SourceError
from parity.interrupts import held
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


@dataclass(frozen=True)
class VenvCandidate:
    """A local virtualenv found for a project, and why it counts (for the progress note)."""

    path: str
    why: str  # "the active venv ($VIRTUAL_ENV)", "Poetry's venv for this project"


def detect_local_venv(project_dir: str, environ: Mapping[str, str]) -> str | None:
    """The local venv to use: the first of :func:`find_local_venvs`, or None."""
    found = find_local_venvs(project_dir, environ)
    return found[0].path if found else None


def find_local_venvs(project_dir: str, environ: Mapping[str, str]) -> list[VenvCandidate]:
    """Every virtualenv the developer may keep for ``project_dir``, the preferred one first.

    In order: the active venv ($VIRTUAL_ENV, unless it is pre-commit's hook environment),
    uv's $UV_PROJECT_ENVIRONMENT, the project's ``.venv``, the venv Poetry or Pipenv keeps
    for the project outside it (their configuration and default folders), then any other
    folder at the project root holding a ``pyvenv.cfg`` (``venv``, ``env``, ...).
    """
    found: list[VenvCandidate] = []
    seen: set[str] = set()

    def add(path: str, why: str) -> None:
        real = os.path.realpath(path)
        if path and real not in seen and is_venv(path):
            seen.add(real)
            found.append(VenvCandidate(path, why))

    active = environ.get("VIRTUAL_ENV", "")
    if active and not _is_pre_commit_env(active, environ):
        add(active, "the active venv ($VIRTUAL_ENV)")
    uv_environment = environ.get("UV_PROJECT_ENVIRONMENT", "")
    if uv_environment:
        add(os.path.join(project_dir, uv_environment), "uv's $UV_PROJECT_ENVIRONMENT")
    add(os.path.join(project_dir, ".venv"), "the project's .venv")
    for path, why in _tool_venvs(project_dir, environ):
        add(path, why)
    for name in _root_venv_folders(project_dir):
        add(os.path.join(project_dir, name), f"a venv in the project ({name}/)")
    return found


def _root_venv_folders(project_dir: str) -> list[str]:
    """Folders at the project root with a pyvenv.cfg: ``venv`` and ``env`` first, then by name."""
    try:
        names = sorted(os.listdir(project_dir))
    except OSError:
        return []
    folders = [
        name for name in names if os.path.isfile(os.path.join(project_dir, name, "pyvenv.cfg"))
    ]
    preferred = [name for name in ("venv", "env") if name in folders]
    return preferred + [name for name in folders if name not in preferred]


def _tool_venvs(project_dir: str, environ: Mapping[str, str]) -> list[tuple[str, str]]:
    """The venvs Poetry and Pipenv keep for this project outside it (where they exist)."""
    found: list[tuple[str, str]] = []
    pyproject = _read_toml(os.path.join(project_dir, "pyproject.toml"))
    poetry = _table(_table(pyproject, "tool"), "poetry")
    name = poetry.get("name") or _table(pyproject, "project").get("name")
    if isinstance(name, str) and (
        poetry or os.path.isfile(os.path.join(project_dir, "poetry.lock"))
    ):
        for path in poetry_venvs(project_dir, name, environ):
            found.append((path, f"Poetry's venv for this project ({path})"))
    if os.path.isfile(os.path.join(project_dir, "Pipfile")):
        path = pipenv_venv(project_dir, environ)
        found.append((path, f"Pipenv's venv for this project ({path})"))
    return found


def poetry_env_name(name: str, project_dir: str) -> str:
    """Poetry's ``{name}-{hash}`` for a project (``EnvManager.generate_env_name``).

    ``project_dir`` is the folder of pyproject.toml as Poetry sees it (symlinks resolved).
    """
    from packaging.utils import canonicalize_name

    sanitized = re.sub(r'[ $`!*@"\\\r\n\t]', "_", canonicalize_name(name))[:42]
    digest = hashlib.sha256(os.path.normcase(project_dir).encode("utf-8")).digest()
    return f"{sanitized}-{base64.urlsafe_b64encode(digest).decode()[:8]}"


def pipenv_env_name(project_dir: str) -> str:
    """Pipenv's ``{folder}-{hash}`` for the Pipfile in ``project_dir`` (absolute path)."""
    sanitized = re.sub(r'[ &$`!*@"()\[\]\\\r\n\t]', "_", os.path.basename(project_dir))[:42]
    location = os.path.join(project_dir, "Pipfile")
    digest = hashlib.sha256(location.encode("utf-8")).digest()[:6]
    return f"{sanitized}-{base64.urlsafe_b64encode(digest).decode()[:8]}"


def poetry_venvs(project_dir: str, name: str, environ: Mapping[str, str]) -> list[str]:
    """Poetry's venvs of this project in its virtualenvs folder, the one it would use first."""
    settings = _poetry_settings(project_dir, environ)
    cache = settings.get("cache-dir") or _user_dir("cache", "pypoetry", environ)
    folder = settings.get("virtualenvs.path") or os.path.join("{cache-dir}", "virtualenvs")
    folder = os.path.expanduser(folder.replace("{cache-dir}", cache))
    base = poetry_env_name(name, os.path.realpath(project_dir))
    envs = _table(_read_toml(os.path.join(folder, "envs.toml")), base)
    paths = sorted(glob.glob(os.path.join(glob.escape(folder), f"{glob.escape(base)}-py*")))
    current = os.path.join(folder, f"{base}-py{envs.get('minor', '')}")
    return sorted(paths, key=lambda path: (path != current, path))


def pipenv_venv(project_dir: str, environ: Mapping[str, str]) -> str:
    """Where Pipenv keeps this project's venv outside the project ($WORKON_HOME)."""
    home = environ.get("WORKON_HOME") or os.path.join(
        environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share"), "virtualenvs"
    )
    name = environ.get("PIPENV_CUSTOM_VENV_NAME") or pipenv_env_name(os.path.realpath(project_dir))
    return os.path.join(os.path.expanduser(os.path.expandvars(home)), name)


def _poetry_settings(project_dir: str, environ: Mapping[str, str]) -> dict[str, str]:
    """cache-dir and virtualenvs.path from Poetry's config files and its variables."""
    config_dir = environ.get("POETRY_CONFIG_DIR") or _user_dir("config", "pypoetry", environ)
    settings: dict[str, str] = {}
    for path in (os.path.join(config_dir, "config.toml"), os.path.join(project_dir, "poetry.toml")):
        data = _read_toml(path)
        if isinstance(data.get("cache-dir"), str):
            settings["cache-dir"] = data["cache-dir"]
        virtualenvs = _table(data, "virtualenvs")
        if isinstance(virtualenvs.get("path"), str):
            settings["virtualenvs.path"] = virtualenvs["path"]
    for key, variable in (
        ("cache-dir", "POETRY_CACHE_DIR"),
        ("virtualenvs.path", "POETRY_VIRTUALENVS_PATH"),
    ):
        if environ.get(variable):
            settings[key] = environ[variable]
    return settings


def _user_dir(kind: str, app: str, environ: Mapping[str, str]) -> str:
    """platformdirs' user cache or config folder for ``app`` (what Poetry uses)."""
    if sys.platform == "darwin":
        sub = "Caches" if kind == "cache" else "Application Support"
        return os.path.join(os.path.expanduser("~/Library"), sub, app)
    variable, default = (
        ("XDG_CACHE_HOME", "~/.cache") if kind == "cache" else ("XDG_CONFIG_HOME", "~/.config")
    )
    return os.path.join(environ.get(variable) or os.path.expanduser(default), app)


def _read_toml(path: str) -> dict[str, Any]:
    """A TOML file's tables (the shared loader); empty when it is missing or does not parse."""
    from parity.sources._toml import TomlFileError, read_document

    try:
        return read_document(path)
    except TomlFileError:
        return {}


def _table(data: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    return value if isinstance(value, dict) else {}


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
        # The probe never outlives parity: an interrupt or an error on the other side may
        # leave result() uncalled, and interpreter exit then stops the process. An interrupt
        # waits until that finalizer exists (raised inside Popen, it would orphan the child).
        with held():
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
