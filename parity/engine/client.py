"""Connecting to the container engine: DOCKER_HOST, docker contexts, or the default socket."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from parity.errors import EngineError

DEFAULT_SOCKET = "unix:///var/run/docker.sock"


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
    return f"the default socket {DEFAULT_SOCKET}"


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
            f"no container engine answers at {where}: {_reason(error)}. Start Docker "
            "(for example `sudo systemctl start docker`, or scripts/engine-up in parity's "
            "repository), or point DOCKER_HOST at a running engine"
        ) from error
    except Exception as error:  # requests/urllib3 failures that docker-py does not wrap
        raise EngineError(f"no container engine answers at {where}: {_reason(error)}") from error
    return client


def _reason(error: BaseException) -> str:
    text = str(error)
    for marker, reason in (
        ("No such file or directory", "the socket does not exist"),
        ("Permission denied", "permission denied on the socket (join the docker group?)"),
        ("Connection refused", "connection refused"),
        ("timed out", "timed out"),
        ("Name or service not known", "host name not known"),
    ):
        if marker in text:
            return reason
    return text.splitlines()[0][:200] if text else type(error).__name__
