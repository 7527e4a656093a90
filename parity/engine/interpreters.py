"""The engine side of finding an image's interpreters: its files through the archive API.

parity reads the files of a container that has not started (the probe's own container,
created for the likely interpreter, or a scout container that never starts): the engine's
archive API answers about candidate paths (``HEAD /containers/{id}/archive``: one stat, no
file body, a few milliseconds each). The engine resolves symbolic links inside the
container's root, never the host's. The rules that choose among the candidates are
:mod:`parity.probe.interpreter_choice`'s (pure).
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from typing import TYPE_CHECKING, Any, BinaryIO

from parity.engine.client import api_of
from parity.engine.errors import APIError, EngineAPIError, ImageNotFound, NotFound
from parity.errors import EngineError, ProbeError
from parity.probe.file_access import FileAccess, PathStat
from parity.probe.interpreter_choice import (
    ImageFacts,
    InterpreterCandidate,
    OtherEnvironment,
    RunOverrides,
    find_other_environments,
    likely_interpreter,
    list_interpreters,
    locate_interpreter,
    runs_as,
)

if TYPE_CHECKING:
    from parity.engine.probe_container import ProbeRequest, ProbeRun

_CHUNK = 1024 * 1024
_DRAIN_LIMIT = 64 * 1024


class ContainerFiles(FileAccess):
    """Stat and read files of one container (started or not) through the archive API."""

    def __init__(self, api: Any, container_id: str, subject: str, deadline: float | None = None):
        super().__init__(subject, deadline)
        self.api = api
        self.container_id = container_id

    def _head(self, path: str) -> PathStat | None:
        try:
            header = self.api.stat_archive(self.container_id, path)
        except NotFound:
            return None
        except APIError as error:
            raise EngineError(
                f"{self.subject}: the engine refused to stat {path} (HTTP {error.status_code})"
            ) from error
        except (EngineAPIError, OSError) as error:  # the connection itself
            raise EngineError(f"{self.subject}: the engine did not answer: {error}") from error
        if not header:
            raise EngineError(f"{self.subject}: the engine refused to stat {path} (no stat)")
        return PathStat.from_header(header)

    @contextmanager
    def archive(self, path: str) -> Iterator[tuple[BinaryIO, PathStat] | None]:
        """The tar stream of ``path`` (a symlink followed first); None when it does not exist."""
        followed = self.follow(path)
        if followed is None:
            yield None
            return
        real, stat = followed
        self._check_deadline()
        try:
            chunks, _ = self.api.get_archive(self.container_id, real, chunk_size=_CHUNK)
        except NotFound:
            yield None
            return
        except APIError as error:
            raise EngineError(f"{self.subject}: cannot read {real}: {_explain(error)}") from error
        except (EngineAPIError, OSError) as error:  # the connection itself
            raise EngineError(
                f"{self.subject}: lost the connection to the engine while reading {real} "
                f"({type(error).__name__})"
            ) from error
        reader = ChunkReader(chunks, self._check_deadline)
        try:
            yield io.BufferedReader(reader, _CHUNK), stat
            reader.drain(_DRAIN_LIMIT)  # the tar's end padding: the connection can be reused
        finally:
            reader.close()


class ChunkReader(io.RawIOBase):
    """A readable binary stream over the engine client's chunk iterator."""

    def __init__(self, chunks: Iterator[bytes], on_read: Any = None) -> None:
        self._chunks = iter(chunks)
        self._pending = b""
        self._on_read = on_read

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if not self._pending:
            if self._on_read is not None:
                self._on_read()
            self._pending = next(self._chunks, b"")
        count = min(len(buffer), len(self._pending))
        buffer[:count] = self._pending[:count]
        self._pending = self._pending[count:]
        return count

    def drain(self, limit: int) -> None:
        """Read what is left when it is at most ``limit`` bytes (else leave it to close)."""
        left = len(self._pending)
        self._pending = b""
        while left <= limit:
            chunk = next(self._chunks, None)
            if chunk is None:
                return
            left += len(chunk)

    def close(self) -> None:
        close = getattr(self._chunks, "close", None)
        if close is not None:
            close()
        super().close()


@contextmanager
def scout_container(
    client: Any, image: str, *, platform: str | None = None, deadline: float | None = None
) -> Iterator[ContainerFiles]:
    """A container of ``image`` that is created, never started, and always removed (by
    parity's own client in the background once done: its ``close`` waits for that)."""
    from parity.engine.probe_container import _remove_quietly, container_name, parity_labels

    api = api_of(client)
    name = container_name("scout")  # removable by name even if interrupted mid-create
    container_id: str | None = None
    try:
        created = api.create_container(
            image,
            name=name,
            entrypoint=["/parity-scout-never-started"],
            command=[],
            labels=parity_labels(),
            network_disabled=True,
            platform=platform,
            host_config=api.create_host_config(network_mode="none"),
        )
        container_id = str(created["Id"])
        yield ContainerFiles(api, container_id, f"image {_short(image)}", deadline)
    except ImageNotFound as error:
        raise ProbeError(f"image {image} not found: {_explain(error)}") from error
    except APIError as error:
        raise EngineError(
            f"image {_short(image)}: the engine refused a container: {_explain(error)}"
        ) from error
    finally:
        later = getattr(api, "remove_container_later", None)
        if container_id is not None and later is not None and sys.exc_info()[0] is None:
            later(container_id)  # nothing waits on it: its removal overlaps the probe's run
        else:
            _remove_quietly(api, container_id or name)


def _explain(error: Any) -> str:
    explanation = getattr(error, "explanation", None)
    return str(explanation if explanation else error)


def _short(image: str) -> str:
    return image.split(":", 1)[1][:12] if image.startswith("sha256:") else image


def image_facts(
    client: Any,
    image: str,
    overrides: Mapping[str, str] | None = None,
    runs: RunOverrides | None = None,
) -> ImageFacts:
    """The image's config (``docker image inspect``) as ImageFacts (run as ``runs`` says)."""
    try:
        attrs = api_of(client).inspect_image(image)
    except ImageNotFound as error:
        raise ProbeError(f"image {image} not found: {_explain(error)}") from error
    except APIError as error:
        raise EngineError(f"image {image}: cannot inspect it: {_explain(error)}") from error
    except (EngineAPIError, OSError) as error:  # the connection itself
        raise EngineError(
            f"image {image}: lost the connection to the engine ({type(error).__name__})"
        ) from error
    return ImageFacts.from_config(
        attrs.get("Config") or {}, str(attrs.get("Architecture") or ""), overrides, runs
    )


def find_interpreters(
    client: Any, image: str, *, platform: str | None = None
) -> tuple[InterpreterCandidate, ...]:
    """Every Python interpreter on ``image``'s PATH, in PATH order; nothing is started."""
    facts = image_facts(client, image)
    with scout_container(client, image, platform=platform) as files:
        return tuple(list_interpreters(files, facts.search_path))


def choose_interpreter(
    client: Any,
    image: str,
    python: str | None = None,
    *,
    environment: Mapping[str, str] | None = None,
    platform: str | None = None,
) -> InterpreterCandidate:
    """The interpreter the probe should run in ``image`` (see the module docstring)."""
    facts = image_facts(client, image, environment)
    with scout_container(client, image, platform=platform) as files:
        return locate_interpreter(files, facts, python)


def probe_chosen_interpreter(
    client: Any,
    request: ProbeRequest,
    source: str,
    facts: ImageFacts,
    on_choice: Callable[[InterpreterCandidate], None],
) -> ProbeRun:
    """Run the probe with the interpreter the image's application runs (or ``--python``).

    The probe container is created for the likely interpreter and the choice is made in
    its own files before it starts (no scout container); only when the choice is another
    interpreter is a second container created for it. Either way one container starts.
    ``facts`` are the image's (with the probe's environment); ``on_choice`` hears the choice
    before the probe runs.
    """
    from parity.engine.probe_container import prepared_probe, run_probe

    likely = likely_interpreter(facts, request.python)
    with prepared_probe(client, request, likely, source) as probe:
        files = ContainerFiles(api_of(client), probe.container_id, request.subject)
        candidate = locate_interpreter(files, facts, request.python)
        on_choice(candidate)
        run = probe.run() if runs_as(files, facts, likely, candidate) else None
    if run is not None:
        return run
    return run_probe(client, replace(request, python=candidate.path), source)


def other_environments(
    client: Any,
    image: str,
    chosen: str,
    *,
    environment: Mapping[str, str] | None = None,
    platform: str | None = None,
) -> list[OtherEnvironment]:
    """The image's venvs other than ``chosen``'s, each with its distributions' versions.

    Read through the archive API in a container that is never started.
    """
    facts = image_facts(client, image, environment)
    with scout_container(client, image, platform=platform) as files:
        return find_other_environments(files, facts, chosen)
