"""Running the probe in a throwaway, locked-down container, and always removing it."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from parity.engine.client import api_of
from parity.engine.errors import APIError, EngineAPIError, NotFound
from parity.engine.labels import LABEL_MANAGED, owner_labels, owner_of
from parity.engine.owner import (
    ProcessTable,
    host_identity,
    owner_is_gone,
    process_table,
    this_process,
)
from parity.errors import EngineError, NoInterpreterError, ProbeError

MAX_OUTPUT_BYTES = 64 * 1024 * 1024
_STDERR_TAIL_BYTES = 4096
# Run when the caller names no interpreter: the first the image's PATH finds wins.
DEFAULT_INTERPRETER = "python3"


@dataclass(frozen=True)
class ProbeLimits:
    """Resource limits of the probe container."""

    timeout_seconds: float = 60.0
    memory_bytes: int = 256 * 1024 * 1024
    pids: int = 64
    tmpfs_size: str = "16m"


@dataclass(frozen=True)
class ProbeRun:
    """What the probe printed, and with which interpreter."""

    stdout: bytes
    stderr: bytes
    interpreter: str


@dataclass(frozen=True)
class ProbeRequest:
    """Which image to probe, with which interpreter and environment."""

    image: str
    python: str | None = None
    environment: Mapping[str, str] = field(default_factory=dict)
    platform: str | None = None
    limits: ProbeLimits = field(default_factory=ProbeLimits)
    label: str = ""  # how messages name the image ("image myapp:latest (1a2b3c4d5e6f)")

    @property
    def subject(self) -> str:
        return self.label or f"image {self.image}"


def container_name(purpose: str) -> str:
    """A fresh, unique name for a container parity creates (``parity-probe-PID-...``)."""
    return f"parity-{purpose}-{os.getpid()}-{os.urandom(6).hex()}"  # uuid imports platform


def parity_labels() -> dict[str, str]:
    """Labels naming this run as the owner of a container it creates."""
    return owner_labels(this_process(), socket.gethostname())


def run_probe(client: Any, request: ProbeRequest, source: str) -> ProbeRun:
    """Run the probe ``source`` with the image's interpreter; the container never outlives this."""
    interpreter = request.python or DEFAULT_INTERPRETER
    result = _run_once(client, request, interpreter, source)
    if result is None:
        raise NoInterpreterError(
            f"{request.subject}: no {interpreter} on the image's PATH "
            "(name the interpreter with --python, e.g. --python /usr/local/bin/python3.11)"
        )
    return result


def _run_once(client: Any, request: ProbeRequest, interpreter: str, source: str) -> ProbeRun | None:
    """One container run; None when ``interpreter`` is not found in the image."""
    with prepared_probe(client, request, interpreter, source) as probe:
        return probe.run()


class PreparedProbe:
    """A probe container created for ``interpreter`` and not yet started.

    Its files can be read through the archive API (``container_id``) before :meth:`run`
    starts it; :func:`prepared_probe` removes it unless it ran.
    """

    def __init__(
        self, api: Any, request: ProbeRequest, interpreter: str, container_id: str
    ) -> None:
        self.api = api
        self.request = request
        self.interpreter = interpreter
        self.container_id = container_id
        self.done = False  # it ran to its end: the engine removes it (auto-remove)

    def run(self) -> ProbeRun | None:
        """Start it and read what the probe prints; None when the interpreter is not there."""
        api, request, container_id = self.api, self.request, self.container_id
        with _engine_errors(request):
            stream = api.attach(container_id, stdout=True, stderr=True, stream=True, demux=True)
            try:
                api.start(container_id)
            except APIError as error:
                if _is_not_found(error):
                    return None
                raise
            stdout, stderr = read_probe_output(
                stream, request.limits, request.subject, lambda: _remove_quietly(api, container_id)
            )
            self.done = True
            return ProbeRun(stdout, stderr, self.interpreter)


@contextmanager
def prepared_probe(
    client: Any, request: ProbeRequest, interpreter: str, source: str
) -> Iterator[PreparedProbe]:
    """The probe container for ``interpreter``, created and not started; removed on the way
    out unless it ran (a removal that fails after a clean run is an EngineError)."""
    api = api_of(client)
    # Named before it exists: an interruption while the engine creates it (before its ID
    # comes back) can still remove it by name.
    name = container_name("probe")
    probe: PreparedProbe | None = None
    try:
        with _engine_errors(request):
            container_id = str(_create(api, request, interpreter, source, name)["Id"])
        probe = PreparedProbe(api, request, interpreter, container_id)
        yield probe
    except BaseException:
        if probe is None or not probe.done:
            # Never started (auto-remove does not apply) or interrupted: remove it ourselves.
            # A removal that fails must not hide the error on its way out.
            _remove_quietly(api, probe.container_id if probe is not None else name)
        raise
    if not probe.done:
        problem = _remove_quietly(api, probe.container_id)
        if problem is not None:
            raise EngineError(
                f"{request.subject}: could not remove the probe container {name}: {problem} "
                "(the next run removes it)"
            )


def _create(api: Any, request: ProbeRequest, interpreter: str, source: str, name: str) -> Any:
    limits = request.limits
    host_config = api.create_host_config(
        network_mode="none",
        cap_drop=["ALL"],
        security_opt=["no-new-privileges"],
        read_only=True,
        tmpfs={"/tmp": f"rw,noexec,nosuid,size={limits.tmpfs_size}"},
        pids_limit=limits.pids,
        mem_limit=limits.memory_bytes,
        memswap_limit=limits.memory_bytes,
        auto_remove=True,
    )
    return api.create_container(
        request.image,
        name=name,
        command=["-c", source],
        entrypoint=[interpreter],
        environment=dict(request.environment),
        labels=parity_labels(),
        network_disabled=True,
        host_config=host_config,
        platform=request.platform,
        working_dir="/",
        stdin_open=False,
        tty=False,
        use_config_proxy=False,
    )


@contextmanager
def _engine_errors(request: ProbeRequest) -> Iterator[None]:
    """The engine's errors during a probe, as parity's."""
    try:
        yield
    except NotFound as error:
        raise ProbeError(f"{request.subject}: not found: {_explain(error)}") from error
    except APIError as error:
        raise EngineError(
            f"{request.subject}: the engine refused the probe: {_explain(error)}"
        ) from error
    except (EngineAPIError, OSError) as error:  # the connection itself
        raise EngineError(
            f"{request.subject}: lost the connection to the engine during the probe "
            f"({type(error).__name__}); the next run removes what it left"
        ) from error


def read_probe_output(
    stream: Any, limits: ProbeLimits, subject: str, stop: Callable[[], object]
) -> tuple[bytes, bytes]:
    """Read a probe's (stdout, stderr) chunks; ``stop`` it on timeout or when it floods.

    ``subject`` names what runs the probe in messages (``image X``, ``container web-1``).
    ``stop`` runs in the timeout thread: whatever it raises is kept, never printed there.
    """
    stdout = bytearray()
    stderr = bytearray()
    timed_out = threading.Event()
    stop_failures: list[str] = []

    def kill() -> None:
        timed_out.set()
        try:
            problem = stop()
        except Exception as error:  # a thread must not end in a traceback
            problem = _explain(error)
        if isinstance(problem, str):
            stop_failures.append(problem)

    watchdog = threading.Timer(limits.timeout_seconds, kill)
    watchdog.daemon = True
    watchdog.start()
    flooded = False
    try:
        for out_chunk, err_chunk in stream:
            if out_chunk:
                stdout += out_chunk
                if len(stdout) > MAX_OUTPUT_BYTES:
                    flooded = True
                    break
            if err_chunk:
                stderr += err_chunk
                del stderr[:-_STDERR_TAIL_BYTES]
    except (OSError, ValueError) as error:
        if not timed_out.is_set():
            raise EngineError(f"{subject}: lost the probe's output: {error}") from error
    finally:
        watchdog.cancel()
        close = getattr(stream, "close", None)
        if close is not None:
            close()
    if flooded:
        # Only now: the engine cannot remove a container whose output stream is still open.
        stop()
        raise ProbeError(
            f"{subject}: the probe printed more than "
            f"{MAX_OUTPUT_BYTES // (1024 * 1024)} MiB; stopped it"
        )
    if timed_out.is_set():
        if stop_failures:
            raise ProbeError(
                f"{subject}: the probe did not finish within {limits.timeout_seconds:g} s, "
                f"and stopping it failed: {stop_failures[0]} (the next run removes it)"
            )
        raise ProbeError(
            f"{subject}: the probe did not finish within {limits.timeout_seconds:g} s; stopped it"
        )
    return bytes(stdout), bytes(stderr)


def _is_not_found(error: Any) -> bool:
    text = _explain(error).lower()
    return "executable file not found" in text or "no such file or directory" in text


def _explain(error: Any) -> str:
    explanation = getattr(error, "explanation", None)
    return str(explanation if explanation else error)


def _remove_quietly(api: Any, container_id: str) -> str | None:
    """Remove a container; never raises (it runs in ``finally`` blocks and in threads).

    Gone already, or being removed, is fine. Returns why removal failed otherwise (an engine
    that went away, a refusal); such a container is swept by the next run.
    """
    try:
        api.remove_container(container_id, force=True)
    except NotFound:
        return None
    except APIError as error:
        explanation = _explain(error)
        if "already in progress" in explanation or "No such container" in explanation:
            return None
        return explanation
    except Exception as error:  # the connection, or anything else: never from here
        return f"{type(error).__name__}: {error}"
    return None


def sweep_stale_containers(
    client: Any, processes: ProcessTable | None = None, here: str | None = None
) -> int:
    """Remove containers left by parity runs whose process is provably gone.

    A run killed with SIGKILL cannot clean up after itself; the next run does. Only
    containers whose labels name this host (same machine, boot and PID namespace) and a
    process that no longer runs (its PID free, or held by a process started at another
    time) are removed; a run on another host or in another container is never touched.
    Returns how many containers were removed.
    """
    api = api_of(client)
    try:
        containers = api.containers(all=True, filters={"label": f"{LABEL_MANAGED}=1"})
    except (EngineAPIError, OSError):
        return 0
    here = host_identity() if here is None else here
    processes = process_table() if processes is None else processes
    removed = 0
    for container in containers:
        owner = owner_of(container.get("Labels") or {})
        if owner is None or not owner_is_gone(owner, here, processes):
            continue
        if _remove_quietly(api, container["Id"]) is None:
            removed += 1
    return removed
