"""docker-py behind parity's engine interface, where the standard-library client does not go.

``ssh://`` and ``npipe://`` hosts, image pulls (registry credentials) and the Engine
API's classic builder go through docker-py. :class:`DockerPyAPI` answers the
same methods as :class:`parity.engine.api.EngineAPI`, and every docker-py, requests or
urllib3 error comes out as one of :mod:`parity.engine.errors`'.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from parity.engine.errors import (
    APIError,
    ImageNotFound,
    NotFound,
    TransportError,
    api_error,
)


def translate(error: BaseException) -> BaseException:
    """parity's error for a docker-py, requests or urllib3 error; others as they are."""
    import docker.errors

    if isinstance(error, docker.errors.APIError):
        response = getattr(error, "response", None)
        status = int(getattr(response, "status_code", 0) or getattr(error, "status_code", 0) or 0)
        reason = str(getattr(response, "reason", "") or "")
        explanation = str(error.explanation or error)
        kind: type[APIError]
        if isinstance(error, docker.errors.ImageNotFound):
            kind = ImageNotFound
        elif isinstance(error, docker.errors.NotFound):
            kind = NotFound
        else:
            return api_error(status, explanation, reason)
        return kind(status, explanation, reason)
    if isinstance(error, docker.errors.DockerException):
        return TransportError(str(error) or type(error).__name__)
    module = type(error).__module__
    if module.startswith(("requests", "urllib3")) and not isinstance(error, TransportError):
        return TransportError(str(error) or type(error).__name__)
    return error


@contextmanager
def translated() -> Iterator[None]:
    """Raise parity's engine errors for docker-py's inside the block."""
    try:
        yield
    except Exception as error:
        better = translate(error)
        if better is error:
            raise
        raise better from error


def translated_iter(items: Iterable[Any]) -> Iterator[Any]:
    """``items``, with docker-py's errors raised mid-stream translated."""
    iterator = iter(items)
    while True:
        with translated():
            try:
                item = next(iterator)
            except StopIteration:
                return
        yield item


class _Stream:
    """docker-py's output stream, translated, with its ``close``."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def __iter__(self) -> Iterator[Any]:
        return translated_iter(self._stream)

    def close(self) -> None:
        with translated():
            self._stream.close()


class DockerPyAPI:
    """docker-py's ``APIClient`` with parity's errors: the methods parity's engine code calls."""

    def __init__(self, client: Any) -> None:
        self.client = client  # a docker.DockerClient

    @property
    def raw(self) -> Any:
        """docker-py's ``APIClient``."""
        return self.client.api

    def version(self, api_version: bool = True) -> Any:
        with translated():
            return self.raw.version(api_version=api_version)

    def inspect_image(self, image: str) -> Any:
        with translated():
            return self.raw.inspect_image(image)

    def remove_image(self, image: str, force: bool = False, noprune: bool = False) -> Any:
        with translated():
            return self.raw.remove_image(image, force=force, noprune=noprune)

    def containers(self, all: bool = False, filters: Mapping[str, object] | None = None) -> Any:
        with translated():
            return self.raw.containers(all=all, filters=filters)

    def create_host_config(self, **options: Any) -> Any:
        with translated():
            return self.raw.create_host_config(**options)

    def create_container(self, image: str, command: Sequence[str] | None = None, **kw: Any) -> Any:
        kw.setdefault("use_config_proxy", False)
        with translated():
            return self.raw.create_container(image, command, **kw)

    def inspect_container(self, container: str) -> Any:
        with translated():
            return self.raw.inspect_container(container)

    def start(self, container: str) -> None:
        with translated():
            self.raw.start(container)

    def remove_container(
        self, container: str, v: bool = False, link: bool = False, force: bool = False
    ) -> None:
        with translated():
            self.raw.remove_container(container, v=v, link=link, force=force)

    def attach(self, container: str, **kw: Any) -> _Stream:
        with translated():
            return _Stream(self.raw.attach(container, **kw))

    def get_archive(
        self, container: str, path: str, chunk_size: int = 2 * 1024 * 1024
    ) -> tuple[Iterator[bytes], Any]:
        with translated():
            chunks, stat = self.raw.get_archive(container, path, chunk_size=chunk_size)
        return translated_iter(chunks), stat

    def stat_archive(self, container: str, path: str) -> str:
        with translated():
            response = self.raw.head(
                self.raw._url("/containers/{0}/archive", container), params={"path": path}
            )
        if response.status_code >= 400:
            raise api_error(response.status_code, f"HTTP {response.status_code}", response.reason)
        return str(response.headers.get("X-Docker-Container-Path-Stat") or "")

    def exec_create(self, container: str, cmd: Sequence[str], **kw: Any) -> Any:
        with translated():
            return self.raw.exec_create(container, cmd, **kw)

    def exec_start(self, exec_id: str, **kw: Any) -> _Stream:
        with translated():
            return _Stream(self.raw.exec_start(exec_id, **kw))

    def exec_inspect(self, exec_id: str) -> Any:
        with translated():
            return self.raw.exec_inspect(exec_id)

    def docker_py(self) -> Any:
        return self.client

    def close(self) -> None:
        self.client.close()
