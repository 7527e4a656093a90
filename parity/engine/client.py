"""Connecting to the container engine: DOCKER_HOST, docker contexts, or the default socket."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from parity.errors import EngineError, SourceError

if TYPE_CHECKING:
    from parity.engine.api import TLS, EngineAPI
    from parity.engine.docker_py import DockerPyAPI

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


@dataclass(frozen=True)
class Endpoint:
    """Where the engine is, as docker's CLI would find it."""

    host: str  # unix:///var/run/docker.sock, tcp://..., ssh://..., npipe://...
    tls: TLS | None = None  # TLS to a TCP host: docker's certificates, and whether to verify
    context: str | None = None  # the docker context that named it (None: DOCKER_HOST/default)


def _tls_files(directory: Path, verify: bool) -> TLS:
    """docker's ``ca.pem``, ``cert.pem`` and ``key.pem`` in ``directory`` (those present)."""
    from parity.engine.api import TLS

    def present(name: str) -> str:
        path = directory / name
        return str(path) if path.is_file() else ""

    return TLS(
        ca=present("ca.pem"), cert=present("cert.pem"), key=present("key.pem"), verify=verify
    )


def _context_dir(environ: Mapping[str, str], kind: str, name: str) -> Path:
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()
    return _docker_config_dir(environ) / "contexts" / kind / digest


def context_endpoint(name: str, environ: Mapping[str, str]) -> Endpoint | None:
    """A docker context's endpoint, read as docker reads it; None when there is no such context.

    ``contexts/meta/<sha256 of name>/meta.json`` holds ``Endpoints.docker.Host`` (and
    ``SkipTLSVerify``); TLS material lives under ``contexts/tls/<sha256 of name>/docker/``.
    """
    meta = _context_dir(environ, "meta", name) / "meta.json"
    try:
        data = json.loads(meta.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    endpoints = data.get("Endpoints") if isinstance(data, dict) else None
    docker_endpoint = endpoints.get("docker") if isinstance(endpoints, dict) else None
    if not isinstance(docker_endpoint, dict):
        docker_endpoint = {}
    host = docker_endpoint.get("Host")
    skip_verify = docker_endpoint.get("SkipTLSVerify") is True
    tls = _tls_files(_context_dir(environ, "tls", name) / "docker", verify=not skip_verify)
    has_tls = bool(tls.ca or tls.cert or tls.key) or skip_verify
    return Endpoint(
        host=host if isinstance(host, str) and host else default_address(),
        tls=tls if has_tls else None,
        context=name,
    )


def resolve_endpoint(environ: Mapping[str, str]) -> Endpoint:
    """DOCKER_HOST (it wins), else the current docker context, else the default address.

    EngineError when the context named does not exist.
    """
    if environ.get("DOCKER_HOST"):
        # As docker-py reads them: DOCKER_TLS_VERIFY set (not empty) verifies the engine;
        # DOCKER_CERT_PATH alone still speaks TLS, with its client certificate.
        verify = bool(environ.get("DOCKER_TLS_VERIFY"))
        cert_path = environ.get("DOCKER_CERT_PATH") or ""
        if not (verify or cert_path):
            return Endpoint(environ["DOCKER_HOST"])
        directory = Path(cert_path) if cert_path else Path.home() / ".docker"
        return Endpoint(environ["DOCKER_HOST"], tls=_tls_files(directory, verify))
    context = current_context_name(environ)
    if context and context != "default":
        endpoint = context_endpoint(context, environ)
        if endpoint is None:
            raise EngineError(
                f"docker context {context!r} does not exist "
                "(see `docker context ls`; unset DOCKER_CONTEXT to use the default)"
            )
        return endpoint
    return Endpoint(default_address())


class Engine:
    """A connected engine: ``api`` (parity's own client, or docker-py's behind the same
    methods), its ``version()`` (asked once), ``close()``."""

    def __init__(self, api: EngineAPI | DockerPyAPI, endpoint: Endpoint) -> None:
        self.api = api
        self.endpoint = endpoint

    def version(self) -> Any:
        return self.api.version()

    def ping(self) -> bool:
        return True  # it answered on connect

    def close(self) -> None:
        self.api.close()


def connect(timeout: int = 300, environ: Mapping[str, str] | None = None) -> Engine:
    """An engine that has answered a ping, or EngineError saying where we looked."""
    from parity.engine.api import EngineAPI, stdlib_address
    from parity.engine.errors import EngineAPIError

    environ = os.environ if environ is None else environ
    where = engine_address(environ)
    endpoint = resolve_endpoint(environ)
    address = stdlib_address(endpoint.host, endpoint.tls)
    scheme = endpoint.host.partition("://")[0].lower()
    if address is None and scheme not in ("ssh", "npipe", "tcp", "http", "https", "unix"):
        raise EngineError(
            f"no container engine answers at {where}: {scheme or endpoint.host!r} is not an "
            "engine address (unix://, tcp://, ssh:// or npipe://)"
        )
    try:
        if address is not None:
            api = EngineAPI.connect(address, timeout)
            api.ask_version()  # a probe needs the engine's architecture: asked meanwhile
            return Engine(api, endpoint)
        return Engine(_docker_py_api(endpoint, timeout, environ), endpoint)
    except EngineAPIError as error:
        raise EngineError(
            f"no container engine answers at {where}: {_reason(error)}. {_how_to_start()}"
        ) from error
    except Exception as error:  # failures docker-py does not wrap
        raise EngineError(f"no container engine answers at {where}: {_reason(error)}") from error


def _docker_py_api(endpoint: Endpoint, timeout: int, environ: Mapping[str, str]) -> DockerPyAPI:
    """docker-py for an address parity's own client does not reach (ssh://, npipe://)."""
    from parity.engine.docker_py import DockerPyAPI, translated

    with translated():
        import docker

        if endpoint.context is None:
            client = docker.DockerClient.from_env(timeout=timeout, environment=dict(environ))
        else:
            from docker.context import ContextAPI

            context = ContextAPI.get_context(endpoint.context)
            client = docker.DockerClient(
                base_url=endpoint.host,
                tls=getattr(context, "TLSConfig", None) or False,
                version="auto",
                timeout=timeout,
            )
        client.ping()
    return DockerPyAPI(client)


def api_of(client: Any) -> Any:
    """The engine API of ``client``: an :class:`Engine`'s, or a docker-py ``DockerClient``'s
    wrapped so it raises parity's engine errors (callers and tests may hand either)."""
    api = client.api
    if not type(api).__module__.startswith("docker."):
        return api
    wrapped = getattr(client, "_parity_api", None)
    if wrapped is None:
        from parity.engine.docker_py import DockerPyAPI

        wrapped = DockerPyAPI(client)
        with contextlib.suppress(AttributeError):
            client._parity_api = wrapped
    return wrapped


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
        ("CERTIFICATE_VERIFY_FAILED", "the engine's TLS certificate is not trusted (its ca.pem?)"),
        ("WRONG_VERSION_NUMBER", "the engine does not speak TLS there"),
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
    from parity.engine.docker_py import translated
    from parity.engine.errors import APIError, ImageNotFound

    api = api_of(client)
    try:
        return str(api.inspect_image(ref)["Id"])
    except ImageNotFound:
        if not pull:
            raise SourceError(
                "image not found locally (parity pulls only with --pull)", f"image {ref}"
            ) from None
    except APIError as error:
        raise SourceError(str(error.explanation or error), f"image {ref}") from error
    try:
        with translated():
            api.docker_py().images.pull(ref, platform=platform)
        return str(api.inspect_image(ref)["Id"])
    except APIError as error:
        raise SourceError(f"cannot pull: {error.explanation or error}", f"image {ref}") from error


def engine_architecture(client: Any) -> str:
    """The engine's CPU architecture (``x86_64``); "" when it does not say."""
    from parity.engine.errors import EngineAPIError

    try:
        return str(api_of(client).version().get("Arch") or "")
    except (EngineAPIError, OSError):  # the probe will tell
        return ""
