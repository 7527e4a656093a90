"""Connecting to the container engine: DOCKER_HOST, docker contexts, or the default socket."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from parity.errors import EngineError, SourceError

DEFAULT_SOCKET = "unix:///var/run/docker.sock"
DEFAULT_PIPE = "npipe:////./pipe/docker_engine"  # Docker Desktop on Windows


def default_address(platform: str | None = None) -> str:
    """Where docker-py looks when neither DOCKER_HOST nor a context says: as the CLI does."""
    platform = sys.platform if platform is None else platform
    return DEFAULT_PIPE if platform == "win32" else DEFAULT_SOCKET


def _docker_config_dir(environ: Mapping[str, str]) -> Path:
    return Path(environ.get("DOCKER_CONFIG") or Path.home() / ".docker")


def current_context_name(environ: Mapping[str, str]) -> str | None:
    """The docker context the CLI would use: DOCKER_CONTEXT, then config.json's currentContext."""
    if environ.get("DOCKER_CONTEXT"):
        return environ["DOCKER_CONTEXT"]
    config = _docker_config_dir(environ) / "config.json"
    try:
        data = json.loads(config.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    name = data.get("currentContext") if isinstance(data, dict) else None
    return name if isinstance(name, str) and name else None


def engine_address(environ: Mapping[str, str] | None = None) -> str:
    """Where parity looks for the engine, for messages: DOCKER_HOST, a context, the socket."""
    environ = os.environ if environ is None else environ
    if environ.get("DOCKER_HOST"):
        return f"DOCKER_HOST={environ['DOCKER_HOST']}"
    context = current_context_name(environ)
    if context and context != "default":
        return f"docker context {context!r}"
    default = default_address()
    return f"the default {'pipe' if default.startswith('npipe:') else 'socket'} {default}"


def connect(timeout: int = 300, environ: Mapping[str, str] | None = None) -> Any:
    """A docker-py client that has answered a ping, or EngineError saying where we looked."""
    environ = os.environ if environ is None else environ
    import docker
    from docker.errors import DockerException

    where = engine_address(environ)
    context = current_context_name(environ)
    try:
        if not environ.get("DOCKER_HOST") and context and context != "default":
            from docker.context import ContextAPI

            if ContextAPI.get_context(context) is None:
                raise EngineError(
                    f"docker context {context!r} does not exist "
                    "(see `docker context ls`; unset DOCKER_CONTEXT to use the default)"
                )
        client = docker.DockerClient.from_env(timeout=timeout, environment=dict(environ))
        client.ping()
    except EngineError:
        raise
    except DockerException as error:
        raise EngineError(
            f"no container engine answers at {where}: {_reason(error)}. {_how_to_start()}"
        ) from error
    except Exception as error:  # requests/urllib3 failures that docker-py does not wrap
        raise EngineError(f"no container engine answers at {where}: {_reason(error)}") from error
    return client


def _how_to_start(platform: str | None = None) -> str:
    platform = sys.platform if platform is None else platform
    if platform in ("win32", "darwin"):
        return "Start Docker Desktop, or point DOCKER_HOST at a running engine"
    return (
        "Start Docker (for example `sudo systemctl start docker`, or scripts/engine-up in "
        "parity's repository), or point DOCKER_HOST at a running engine"
    )


def _reason(error: BaseException) -> str:
    text = str(error)
    for marker, reason in (
        ("No such file or directory", "the socket does not exist"),
        ("Permission denied", "permission denied on the socket (join the docker group?)"),
        ("Connection refused", "connection refused"),
        ("timed out", "timed out"),
        ("Name or service not known", "host name not known"),
        ("only supported on Windows", "a named pipe (npipe://) exists only on Windows"),
        ("pypiwin32", "docker-py needs pywin32 for a named pipe (pip install pywin32)"),
        ("The system cannot find the file specified", "the named pipe does not exist"),
    ):
        if marker in text:
            return reason
    return text.splitlines()[0][:200] if text else type(error).__name__


def image_id(client: Any, ref: str, *, pull: bool, platform: str | None = None) -> str:
    """The ID of image ``ref``: a local one, else the one pulled when ``pull`` says so.

    SourceError (naming the image) when it is not there or the engine refuses it.
    """
    from docker.errors import APIError, ImageNotFound

    try:
        return str(client.api.inspect_image(ref)["Id"])
    except ImageNotFound:
        if not pull:
            raise SourceError(
                "image not found locally (parity pulls only with --pull)", f"image {ref}"
            ) from None
    except APIError as error:
        raise SourceError(str(error.explanation or error), f"image {ref}") from error
    try:
        client.images.pull(ref, platform=platform)
        return str(client.api.inspect_image(ref)["Id"])
    except APIError as error:
        raise SourceError(f"cannot pull: {error.explanation or error}", f"image {ref}") from error


def engine_architecture(client: Any) -> str:
    """The engine's CPU architecture (``x86_64``); "" when it does not say."""
    from docker.errors import DockerException

    try:
        return str(client.api.version().get("Arch") or "")
    except (DockerException, OSError):  # the probe will tell
        return ""
