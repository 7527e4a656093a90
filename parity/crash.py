"""The crash handler: an exception that is not parity's own is a bug in parity.

Like pre-commit's: the user sees one message on stderr (what parity was doing, its
version, and where the traceback went), the traceback goes to a log file under parity's
cache directory, and the exit code is 2. This holds in every thread: the hooks for
threads and for errors Python cannot raise anywhere (finalizers) lead here too.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from types import TracebackType
from typing import Any, TextIO

from parity import __version__

# Imported when a crash happens, not at start-up (a pre-commit hook starts parity often):
# platform, tempfile, time, traceback, parity.redact.

# The innermost parity module on the traceback says what parity was doing.
_ACTIVITIES = (
    ("parity.engine.build", "building the image"),
    ("parity.engine.client", "connecting to the container engine"),
    ("parity.engine.probe_static", "reading the image's files"),
    ("parity.probe.image_reader", "reading the image's files"),
    ("parity.engine.", "probing the container"),
    ("parity.probe.interpreter_choice", "probing the container"),
    ("parity.probe.file_access", "probing the container"),
    ("parity.probe.", "reading what the probe printed"),
    ("parity.sources.container", "reading the container side"),
    ("parity.sources.compose", "reading the compose file"),
    ("parity.sources.", "reading a source"),
    ("parity.detect", "detecting the project's sources"),
    ("parity.config", "reading parity's settings"),
    ("parity.compare", "comparing the two sides"),
    ("parity.policy", "comparing the two sides"),
    ("parity.report", "comparing the two sides"),
    ("parity.hints", "working out fix hints"),
    ("parity.formats", "writing the report"),
    ("parity.output", "writing the report"),
    ("parity.snapshot", "reading or writing a snapshot"),
)


def activity(tb: TracebackType | None) -> str:
    """What the innermost parity frame of ``tb`` was doing ("" when none is parity's)."""
    import traceback

    found = ""
    for frame, _line in traceback.walk_tb(tb):
        module = str(frame.f_globals.get("__name__", ""))
        for prefix, what in _ACTIVITIES:
            if module == prefix or module.startswith(prefix.rstrip(".") + "."):
                found = what
                break
    return found


def write_log(
    error: BaseException, command: Sequence[str], where: str, directory: Path | None = None
) -> tuple[Path | None, str]:
    """Write the crash log; (its path, "") or (None, why it could not be written)."""
    import platform
    import tempfile
    import time
    import traceback

    from parity.cache import cache_dir
    from parity.redact import redact_url

    text = redact_url(
        "".join(
            [
                f"parity {__version__} crashed while {where}\n",
                f"command: parity {' '.join(command)}\n",
                f"python: {sys.version.split()[0]} ({sys.executable})\n",
                f"platform: {platform.platform()} ({sys.platform})\n",
                f"time: {time.strftime('%Y-%m-%dT%H:%M:%S%z')}\n\n",
                *traceback.format_exception(type(error), error, error.__traceback__),
            ]
        )
    )
    name = f"crash-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{threading.get_ident()}.log"
    reasons = []
    for base in [directory] if directory else [cache_dir() / "logs", Path(tempfile.gettempdir())]:
        path = base / name
        try:
            base.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        except OSError as problem:
            reasons.append(f"{base}: {problem.strerror or problem}")
            continue
        _prune(base)
        return path, ""
    return None, "; ".join(reasons)


KEEP_LOGS = 20


def _prune(directory: Path, keep: int = KEEP_LOGS) -> None:
    """Keep the newest ``keep`` crash logs in ``directory``."""
    with suppress(OSError):
        logs = sorted(directory.glob("crash-*.log"), key=lambda log: log.stat().st_mtime)
        for old in logs[:-keep]:
            old.unlink()


def report(
    error: BaseException,
    command: Sequence[str],
    stream: TextIO | None = None,
    thread: str | None = None,
) -> None:
    """Log ``error`` and print the one message saying so (never a traceback)."""
    from parity.redact import redact_url

    stream = stream or sys.stderr
    where = activity(error.__traceback__) or "running"
    if thread:
        where += f" (in thread {thread})"
    summary = redact_url(f"{type(error).__name__}: {error}".splitlines()[0][:300])
    try:
        path, why = write_log(error, command, where)
    except Exception as problem:  # never a second crash from the crash handler
        path, why = None, f"{type(problem).__name__}: {problem}"
    logged = f"the traceback is in {path}" if path else f"no log could be written ({why})"
    message = (
        f"parity: unexpected error while {where}: {summary}. This is a bug in parity "
        f"{__version__}; {logged} (please attach it to a bug report)"
    )
    with suppress(OSError, ValueError):
        print(message, file=stream, flush=True)


_ENGINE_LIBRARIES = ("docker.", "requests.", "urllib3.", "parity.engine.errors.")


def is_engine_failure(error: BaseException) -> bool:
    """An error of the engine's clients (parity.engine.errors; docker-py, requests, urllib3).

    parity turns these into its own errors where it talks to the engine; one that still
    escapes means the engine failed where parity did not expect it, not a bug in the check.
    """
    return any(
        f"{klass.__module__}.".startswith(_ENGINE_LIBRARIES) for klass in type(error).__mro__
    )


def engine_failure_message(error: BaseException, command: Sequence[str]) -> str:
    """One line for an engine failure that escaped: what parity was doing, why, and the log."""
    from parity.redact import redact_url

    where = activity(error.__traceback__) or "talking to the container engine"
    explanation = getattr(error, "explanation", None) or str(error) or type(error).__name__
    reason = redact_url(str(explanation).splitlines()[0][:300])
    try:
        path, _why = write_log(error, command, where)
    except Exception:  # never a second failure from here
        path = None
    details = f" (details in {path})" if path else ""
    return f"parity: the container engine failed while {where}: {reason}{details}"


class CrashHandler:
    """Routes uncaught exceptions of threads and finalizers to :func:`report` while active."""

    def __init__(self, command: Sequence[str], stream: TextIO | None = None) -> None:
        self.command = list(command)
        self.stream = stream
        self.crashed = False
        self._lock = threading.Lock()

    def handle(self, error: BaseException, thread: str | None = None) -> None:
        with self._lock:
            self.crashed = True
            report(error, self.command, self.stream, thread)

    def _thread_hook(self, hook: Any) -> None:
        if hook.exc_type is SystemExit or hook.exc_value is None:
            return
        name = hook.thread.name if hook.thread is not None else None
        self.handle(hook.exc_value, name)

    def _unraisable_hook(self, hook: Any) -> None:
        if hook.exc_value is not None:
            self.handle(hook.exc_value, "finalizer")

    @contextmanager
    def installed(self) -> Iterator[CrashHandler]:
        previous = (threading.excepthook, sys.unraisablehook)
        threading.excepthook = self._thread_hook
        sys.unraisablehook = self._unraisable_hook
        try:
            yield self
        finally:
            threading.excepthook, sys.unraisablehook = previous
