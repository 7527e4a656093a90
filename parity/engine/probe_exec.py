"""Probing a running container in place, with the exec API: no new container.

The probe runs as the container's own user, with its own environment and working
directory, using the interpreter its PATH (or its program) names, found beforehand
through the archive API (:mod:`parity.engine.interpreters`; the rules are
:mod:`parity.probe.interpreter_choice`'s). An exec cannot be killed through the engine,
so the probe runs under a tiny launcher that arms ``SIGALRM``: the kernel ends it a few
seconds after parity stops waiting, whatever happens to parity.
"""

from __future__ import annotations

import contextlib
import math
import threading
from collections.abc import Iterator, Mapping
from typing import Any

from parity.engine.client import api_of
from parity.engine.errors import APIError, EngineAPIError, NotFound
from parity.engine.interpreters import ContainerFiles
from parity.engine.probe_container import ProbeLimits, _explain, read_probe_output
from parity.errors import EngineError, ParityError, ProbeError, SourceError
from parity.probe.interpreter_choice import ImageFacts, locate_interpreter

EXEC_TIMEOUT_SECONDS = 60.0
# Seconds the in-container alarm waits beyond parity's own deadline, so parity stops first
# (and says why) and the alarm only cleans up.
ALARM_GRACE_SECONDS = 5
# Python 2.7 and 3.x: arm the alarm, then run the probe (argv[1]) as the main module.
LAUNCHER = "import signal,sys;signal.alarm(%d);exec(compile(sys.argv[1],'<parity-probe>','exec'))"


class ContainerStateError(SourceError):
    """A container that does not exist or is not running. Names the container."""


def exec_probe(
    client: Any,
    container: str,
    *,
    python: str | None = None,
    timeout: float = EXEC_TIMEOUT_SECONDS,
    environment: Mapping[str, str] | None = None,
) -> bytes:
    """Run the probe inside the running ``container`` (name or ID); return what it printed."""
    from parity.probe.parse import PROBE_SOURCE

    info = inspect_running(client, container)
    subject = f"container {container}"
    facts = ImageFacts.from_config(info.get("Config") or {}, overrides=environment or {})
    api = api_of(client)
    files = ContainerFiles(api, str(info["Id"]), subject)
    interpreter = locate_interpreter(files, facts, python)
    alarm = math.ceil(timeout) + ALARM_GRACE_SECONDS
    command = [interpreter.path, "-B", "-c", LAUNCHER % alarm, PROBE_SOURCE]
    stdout, stderr, exit_code = _run_exec(api, info, subject, command, timeout, environment)
    if not stdout.strip():
        lines = stderr.decode("utf-8", "replace").strip().splitlines()
        last = lines[-1] if lines else f"exit code {exit_code}"
        raise ProbeError(f"{subject}: the probe printed nothing ({last})")
    return stdout


def inspect_running(client: Any, container: str) -> dict[str, Any]:
    """``docker inspect`` of a running container, or ContainerStateError saying why not."""
    try:
        info: dict[str, Any] = api_of(client).inspect_container(container)
    except NotFound:
        raise ContainerStateError(
            "no such container (see `docker ps`)", f"container {container}"
        ) from None
    except APIError as error:
        raise EngineError(f"container {container}: cannot inspect it: {_explain(error)}") from error
    except (EngineAPIError, OSError) as error:  # the connection itself
        raise EngineError(
            f"container {container}: lost the connection to the engine ({type(error).__name__})"
        ) from error
    state = info.get("State") or {}
    if state.get("Paused"):
        raise ContainerStateError("is paused (unpause it to probe it)", f"container {container}")
    if not state.get("Running") or state.get("Restarting"):
        status = state.get("Status") or "not running"
        raise ContainerStateError(
            f"is not running (status: {status}); start it, or probe its image with "
            f"image:{(info.get('Config') or {}).get('Image') or info.get('Image', '')}",
            f"container {container}",
        )
    return info


def _run_exec(
    api: Any,
    info: Mapping[str, Any],
    subject: str,
    command: list[str],
    timeout: float,
    environment: Mapping[str, str] | None,
) -> tuple[bytes, bytes, int | None]:
    container_id = str(info["Id"])
    try:
        exec_id = api.exec_create(
            container_id,
            command,
            stdout=True,
            stderr=True,
            stdin=False,
            tty=False,
            environment=dict(environment) if environment else None,
        )["Id"]
        output = ExecOutput(api.exec_start(exec_id, stream=True, demux=True))
    except APIError as error:
        raise _exec_refused(subject, error) from error
    except (EngineAPIError, OSError) as error:  # the connection itself
        raise EngineError(
            f"{subject}: lost the connection to the engine ({type(error).__name__})"
        ) from error
    # The container is the user's and must survive: stopping a runaway probe means
    # cutting our connection; the launcher's alarm then ends the process.
    stdout, stderr = read_probe_output(
        output, ProbeLimits(timeout_seconds=timeout), subject, output.close
    )
    return stdout, stderr, _exit_code(api, exec_id)


def _exec_refused(subject: str, error: Any) -> ParityError:
    text = _explain(error)
    if getattr(error, "status_code", None) == 409 or "is not running" in text:
        return ContainerStateError(f"cannot run the probe: {text}", subject)
    return EngineError(f"{subject}: the engine refused the probe: {text}")


def _exit_code(api: Any, exec_id: str) -> int | None:
    try:
        code = api.exec_inspect(exec_id).get("ExitCode")
    except Exception:  # only for the message when the probe printed nothing
        return None
    return code if isinstance(code, int) else None


class ExecOutput:
    """The exec's (stdout, stderr) chunks; ``close`` may be called twice, from any thread."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self._lock = threading.Lock()
        self._closed = False

    def __iter__(self) -> Iterator[tuple[bytes | None, bytes | None]]:
        for item in self._stream:
            if isinstance(item, tuple):
                yield item
            else:  # an engine that does not demultiplex: all of it is stdout
                yield item, None

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        with contextlib.suppress(OSError):
            self._stream.close()
