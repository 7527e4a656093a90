"""A small Docker Engine API client on the standard library: parity's hot path.

It implements the part of docker-py's ``APIClient`` that parity calls, with the same
names, arguments and answer shapes (plain dicts, as the engine sends them). It speaks
HTTP/1.1 itself on a ``socket`` (``http.client`` would import ``email`` and ``ssl``: 15 ms):
a Unix socket for ``unix://``, TCP for ``tcp://`` and ``http://``, TLS on TCP (``ssl`` is
imported for it only). Each request opens its own connection (a Unix connect costs
microseconds), so streams never share one. Importing it costs a few milliseconds;
docker-py (requests, urllib3) costs 50-90 ms, and is made only for what this client leaves
to it (:mod:`parity.engine.docker_py`).

Errors are :mod:`parity.engine.errors`': an HTTP error answer is an ``APIError`` (by
status and message, as docker-py classes it); a connection that fails or breaks is a
``TransportError``.
"""

from __future__ import annotations

import base64
import contextlib
import json
import socket
import struct
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO, TypedDict
from urllib.parse import quote, urlencode, urlsplit

from parity.engine.errors import TransportError, api_error

USER_AGENT = "parity"
_STDOUT, _STDERR = 1, 2
_LINE = 65537  # the longest status or header line read
_CHUNK = 65536


class Component(TypedDict, total=False):
    Name: str
    Version: str


class VersionInfo(TypedDict, total=False):
    """``GET /version``: what parity reads of it."""

    Version: str
    ApiVersion: str
    MinAPIVersion: str
    Os: str
    Arch: str
    KernelVersion: str
    Components: list[Component]


@dataclass(frozen=True)
class TLS:
    """TLS to an engine on TCP, as docker sets it up: its ``ca.pem``, the client's
    ``cert.pem`` and ``key.pem`` (paths, "" when absent), and whether to verify the engine."""

    ca: str = ""
    cert: str = ""
    key: str = ""
    verify: bool = True

    def context(self) -> Any:
        """An ``ssl.SSLContext`` (``ssl`` is imported here, for TLS only)."""
        import ssl

        if self.verify:
            context = ssl.create_default_context(cafile=self.ca or None)
        else:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        if self.cert and self.key:
            context.load_cert_chain(self.cert, self.key)
        return context


@dataclass(frozen=True)
class Address:
    """Where the engine listens: a Unix socket ``path``, or TCP ``host``:``port`` (``tls``)."""

    url: str
    path: str = ""
    host: str = ""
    port: int = 0
    tls: TLS | None = None


def stdlib_address(url: str, tls: TLS | None = None) -> Address | None:
    """The address of ``url`` when this client can reach it (``unix://``, ``tcp://``,
    ``http://``, ``https://``), else None (``ssh://``, ``npipe://``: docker-py's)."""
    scheme, _, rest = url.partition("://")
    scheme = scheme.lower()
    if scheme == "unix" and rest:
        if not hasattr(socket, "AF_UNIX"):  # Windows: docker-py says what is wrong
            return None
        return Address(url, path="/" + rest.lstrip("/"))
    if scheme in ("tcp", "http", "https") and rest:
        parts = urlsplit(f"http://{rest}")
        try:
            port = parts.port
        except ValueError:
            return None
        if not parts.hostname:
            return None
        if scheme == "https" and tls is None:
            tls = TLS()
        return Address(url, host=parts.hostname, port=port or (2376 if tls else 2375), tls=tls)
    return None


class _Response:
    """One HTTP/1.1 answer: status, headers, and a body read by its length, its chunks, or
    until the engine closes; ``fp`` is the raw stream (after ``101 UPGRADED``)."""

    def __init__(self, fp: BinaryIO, method: str) -> None:
        self.fp = fp
        line = fp.readline(_LINE)
        if not line:
            raise TransportError("the engine closed the connection without an answer")
        version, _, rest = line.decode("latin-1").rstrip("\r\n").partition(" ")
        code, _, self.reason = rest.partition(" ")
        if not version.startswith("HTTP/") or not code.isdigit():
            raise TransportError(f"the engine's answer is not HTTP: {line[:80]!r}")
        self.status = int(code)
        self.headers: dict[str, str] = {}
        while True:
            line = fp.readline(_LINE)
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            self.headers[name.strip().lower()] = value.strip()
        no_body = method == "HEAD" or self.status < 200 or self.status in (204, 304)
        self.chunked = not no_body and "chunked" in self.headers.get("transfer-encoding", "")
        self._done = False
        self._left: int | None = None  # bytes left in the body (chunked: in this chunk)
        if no_body or self.chunked:
            self._left = 0
        elif self.headers.get("content-length", "").isdigit():
            self._left = int(self.headers["content-length"])

    def getheader(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def read(self, amount: int | None = None) -> bytes:
        """Up to ``amount`` bytes of the body (all of it when None); b"" at its end."""
        if amount is None:
            parts: list[bytes] = []
            while True:
                part = self.read(_CHUNK)
                if not part:
                    return b"".join(parts)
                parts.append(part)
        if self.chunked:
            return self._read_chunked(amount)
        if self._left is None:  # until the engine closes
            read1 = getattr(self.fp, "read1", self.fp.read)
            return bytes(read1(amount))
        if self._left == 0:
            return b""
        data = self.fp.read(min(amount, self._left))
        if not data:
            raise TransportError("the engine's answer ended early")
        self._left -= len(data)
        return data

    def _read_chunked(self, amount: int) -> bytes:
        if self._done:
            return b""
        if not self._left:
            line = self.fp.readline(_LINE)
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise TransportError(f"the engine's answer ended early ({line[:40]!r})") from None
            if size == 0:
                while self.fp.readline(_LINE) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                self._done = True
                return b""
            self._left = size
        data = self.fp.read(min(amount, self._left))
        if not data:
            raise TransportError("the engine's answer ended early")
        self._left -= len(data)
        if self._left == 0:
            self.fp.read(2)  # the chunk's CRLF
        return data


class _Connection:
    """One connection to the engine, for one request."""

    def __init__(self, address: Address, timeout: float | None, tls: Any = None) -> None:
        self.host: str = f"{address.host}:{address.port}"
        if address.path:
            if sys.platform == "win32":  # stdlib_address gives no socket path there
                raise OSError("Unix sockets are not available on Windows")
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.settimeout(timeout)
                sock.connect(address.path)
            except BaseException:
                sock.close()
                raise
            self.host = "localhost"
        else:
            sock = socket.create_connection((address.host, address.port), timeout)
            if tls is not None:  # an ssl.SSLContext
                try:
                    sock = tls.wrap_socket(sock, server_hostname=address.host)
                except BaseException:
                    sock.close()
                    raise
        self.sock: socket.socket | None = sock
        self.fp: BinaryIO = sock.makefile("rb")

    def request(
        self, method: str, url: str, body: bytes | None, headers: Mapping[str, str]
    ) -> _Response:
        lines = [f"{method} {url} HTTP/1.1", f"Host: {self.host}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        if body is not None or method in ("POST", "PUT"):
            lines.append(f"Content-Length: {len(body or b'')}")
        assert self.sock is not None
        self.sock.sendall("\r\n".join([*lines, "", ""]).encode("latin-1") + (body or b""))
        return _Response(self.fp, method)

    def close(self) -> None:
        sock, self.sock = self.sock, None
        with contextlib.suppress(OSError, ValueError):
            self.fp.close()
        if sock is not None:
            sock.close()


def _quote(value: str) -> str:
    return quote(value, safe="/:")


def _flag(value: bool) -> str:
    return "1" if value else "0"


def _explanation(body: bytes) -> str:
    text = body.decode("utf-8", "replace").strip()
    try:
        data = json.loads(text)
    except ValueError:
        return text
    if isinstance(data, dict) and isinstance(data.get("message"), str):
        return str(data["message"])
    return text


def _environment(environment: Mapping[str, str] | Sequence[str] | None) -> list[str] | None:
    if environment is None:
        return None
    if isinstance(environment, Mapping):
        return [f"{key}={value}" for key, value in environment.items()]
    return list(environment)


_HOST_CONFIG_KEYS = {
    "network_mode": "NetworkMode",
    "cap_drop": "CapDrop",
    "cap_add": "CapAdd",
    "security_opt": "SecurityOpt",
    "read_only": "ReadonlyRootfs",
    "tmpfs": "Tmpfs",
    "pids_limit": "PidsLimit",
    "mem_limit": "Memory",
    "memswap_limit": "MemorySwap",
    "auto_remove": "AutoRemove",
    "user_ns_mode": "UsernsMode",
}


class EngineAPI:
    """The Engine API over one address, at the API version the engine's ping said."""

    def __init__(
        self, address: Address, timeout: float, api_version: str, *, podman: bool = False
    ) -> None:
        self.address = address
        self.timeout = timeout
        self.api_version = api_version
        self.podman = podman  # the engine said so in its ping (Libpod-Api-Version)
        self._prefix = f"/v{api_version}" if api_version else ""
        self._version: VersionInfo | None = None
        self._asking: threading.Thread | None = None
        self._docker_py: Any = None
        self._ssl_context: Any = None
        self._removals: list[threading.Thread] = []
        self._lock = threading.Lock()

    @classmethod
    def connect(cls, address: Address, timeout: float) -> EngineAPI:
        """Ping the engine (``GET /_ping``: its API version is a header), or TransportError
        or APIError. ``GET /version`` costs the engine ~15 times more (it asks its runtime
        components), so it waits until :meth:`version` is called."""
        probe = cls(address, timeout, "")
        connection, response = probe._open("GET", "/_ping", versioned=False)
        try:
            response.read()
        except OSError as error:
            raise TransportError(str(error) or type(error).__name__) from error
        finally:
            connection.close()
        api_version = response.getheader("Api-Version") or ""
        podman = bool(response.getheader("Libpod-Api-Version"))
        if not api_version:  # an engine that does not say: its /version does
            version = probe.version()
            api_version = str(version.get("ApiVersion") or "")
            engine = cls(address, timeout, api_version, podman=podman)
            engine._version = version
            return engine
        return cls(address, timeout, api_version, podman=podman)

    # --- the transport --------------------------------------------------------------------

    def _open(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | None] | None = None,
        body: object = None,
        headers: Mapping[str, str] | None = None,
        versioned: bool = True,
    ) -> tuple[_Connection, _Response]:
        """Send a request; its connection and response (status < 400), else the error."""
        query = {key: value for key, value in (params or {}).items() if value is not None}
        url = (self._prefix if versioned else "") + path
        if query:
            url += "?" + urlencode(query)
        all_headers = {"User-Agent": USER_AGENT, **(headers or {})}
        data = None
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            all_headers["Content-Type"] = "application/json"
        try:
            connection = _Connection(self.address, self.timeout, self._tls_context())
        except OSError as error:
            raise TransportError(str(error) or type(error).__name__) from error
        try:
            response = connection.request(method, url, data, all_headers)
            if response.status >= 400:
                text = response.read()
                raise api_error(response.status, _explanation(text), response.reason)
        except OSError as error:
            connection.close()
            if isinstance(error, TransportError):
                raise
            raise TransportError(str(error) or type(error).__name__) from error
        except BaseException:
            connection.close()
            raise
        return connection, response

    def _tls_context(self) -> Any:
        if self.address.tls is None or self.address.path:
            return None
        with self._lock:
            if self._ssl_context is None:
                self._ssl_context = self.address.tls.context()
            return self._ssl_context

    def _json(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | None] | None = None,
        body: object = None,
        versioned: bool = True,
    ) -> Any:
        connection, response = self._open(
            method, path, params=params, body=body, versioned=versioned
        )
        try:
            data = response.read()
        except OSError as error:
            if isinstance(error, TransportError):
                raise
            raise TransportError(str(error) or type(error).__name__) from error
        finally:
            connection.close()
        if not data.strip():
            return None
        try:
            return json.loads(data)
        except ValueError as error:
            raise TransportError(f"the engine's answer is not JSON: {data[:200]!r}") from error

    # --- the engine -----------------------------------------------------------------------

    def ask_version(self) -> None:
        """Start asking ``GET /version`` in the background: :meth:`version` then waits for
        that answer instead of asking (a cold check needs the engine's architecture; the
        engine answers while parity reads the image)."""
        if self._version is None and self._asking is None:
            self._asking = threading.Thread(target=self._version_quietly, daemon=True)
            self._asking.start()

    def _version_quietly(self) -> None:
        with contextlib.suppress(Exception):  # version() asks again, and raises
            self._fetch_version()

    def version(self, api_version: bool = True) -> VersionInfo:
        """The engine's ``GET /version``, asked once (the first time it is needed)."""
        asking = self._asking
        if self._version is None and asking is not None:
            asking.join(self.timeout)
        return self._fetch_version()

    def _fetch_version(self) -> VersionInfo:
        if self._version is None:
            answer = self._json("GET", "/version", versioned=False)
            if not isinstance(answer, dict):
                raise TransportError(f"the engine's /version answer is not an object: {answer!r}")
            self._version = VersionInfo(**answer)  # type: ignore[typeddict-item]
        return self._version

    # --- images ---------------------------------------------------------------------------

    def inspect_image(self, image: str) -> dict[str, Any]:
        return dict(self._json("GET", f"/images/{_quote(image)}/json"))

    def remove_image(self, image: str, force: bool = False, noprune: bool = False) -> Any:
        params = {"force": _flag(force), "noprune": _flag(noprune)}
        return self._json("DELETE", f"/images/{_quote(image)}", params=params)

    # --- containers -----------------------------------------------------------------------

    def containers(
        self, all: bool = False, filters: Mapping[str, object] | None = None
    ) -> list[dict[str, Any]]:
        params: dict[str, str | None] = {"all": _flag(all)}
        if filters:
            params["filters"] = json.dumps(
                {
                    key: [str(item) for item in (value if isinstance(value, list) else [value])]
                    for key, value in filters.items()
                }
            )
        return list(self._json("GET", "/containers/json", params=params) or [])

    def create_host_config(self, **options: Any) -> dict[str, Any]:
        """docker-py's ``create_host_config`` for the options parity uses."""
        config: dict[str, Any] = {}
        for key, value in options.items():
            if key not in _HOST_CONFIG_KEYS:
                raise TypeError(f"create_host_config: unsupported option {key!r}")
            if value is not None:
                config[_HOST_CONFIG_KEYS[key]] = value
        return config

    def create_container(
        self,
        image: str,
        command: Sequence[str] | None = None,
        *,
        name: str | None = None,
        entrypoint: Sequence[str] | None = None,
        environment: Mapping[str, str] | Sequence[str] | None = None,
        labels: Mapping[str, str] | None = None,
        network_disabled: bool = False,
        host_config: Mapping[str, Any] | None = None,
        platform: str | None = None,
        working_dir: str | None = None,
        user: str | None = None,
        stdin_open: bool = False,
        tty: bool = False,
        detach: bool = False,
        use_config_proxy: bool = False,
    ) -> dict[str, Any]:
        """Create a container (never a proxy from the CLI's config: parity's run offline)."""
        config: dict[str, Any] = {
            "Image": image,
            "Cmd": list(command) if command is not None else None,
            "Entrypoint": list(entrypoint) if entrypoint is not None else None,
            "Env": _environment(environment),
            "Labels": dict(labels) if labels is not None else None,
            "NetworkDisabled": network_disabled,
            "HostConfig": dict(host_config) if host_config is not None else None,
            "WorkingDir": working_dir,
            "User": user,
            "OpenStdin": stdin_open,
            "StdinOnce": False,
            "AttachStdin": False,
            "AttachStdout": not detach,
            "AttachStderr": not detach,
            "Tty": tty,
        }
        body = {key: value for key, value in config.items() if value is not None}
        params = {"name": name, "platform": platform}
        return dict(self._json("POST", "/containers/create", params=params, body=body))

    def inspect_container(self, container: str) -> dict[str, Any]:
        return dict(self._json("GET", f"/containers/{_quote(container)}/json"))

    def start(self, container: str) -> None:
        self._json("POST", f"/containers/{_quote(container)}/start")

    def remove_container(
        self, container: str, v: bool = False, link: bool = False, force: bool = False
    ) -> None:
        params = {"v": _flag(v), "link": _flag(link), "force": _flag(force)}
        self._json("DELETE", f"/containers/{_quote(container)}", params=params)

    def attach(
        self,
        container: str,
        stdout: bool = True,
        stderr: bool = True,
        stream: bool = False,
        logs: bool = False,
        demux: bool = False,
    ) -> OutputStream:
        """The container's output as (stdout, stderr) chunks (``stream=True, demux=True``).

        The container must have no TTY (parity's never do): its output is multiplexed.
        """
        if not (stream and demux):
            raise TypeError("attach: parity's client streams demultiplexed output only")
        params = {
            "logs": _flag(logs),
            "stdout": _flag(stdout),
            "stderr": _flag(stderr),
            "stream": "1",
        }
        return self._hijack(f"/containers/{_quote(container)}/attach", params=params, tty=False)

    # --- files ----------------------------------------------------------------------------

    def get_archive(
        self, container: str, path: str, chunk_size: int = 2 * 1024 * 1024
    ) -> tuple[Iterator[bytes], dict[str, Any] | None]:
        """``path``'s tar stream in chunks, and the stat the engine sends with it."""
        connection, response = self._open(
            "GET", f"/containers/{_quote(container)}/archive", params={"path": path}
        )
        header = response.getheader("X-Docker-Container-Path-Stat")
        stat = json.loads(base64.b64decode(header)) if header else None
        return _chunks(connection, response, chunk_size), stat

    def stat_archive(self, container: str, path: str) -> str:
        """``HEAD`` of ``path``: its X-Docker-Container-Path-Stat header ("" without one).

        NotFound when the path does not exist.
        """
        connection, response = self._open(
            "HEAD", f"/containers/{_quote(container)}/archive", params={"path": path}
        )
        connection.close()
        return response.getheader("X-Docker-Container-Path-Stat") or ""

    # --- exec -----------------------------------------------------------------------------

    def exec_create(
        self,
        container: str,
        cmd: Sequence[str],
        stdout: bool = True,
        stderr: bool = True,
        stdin: bool = False,
        tty: bool = False,
        privileged: bool = False,
        user: str = "",
        environment: Mapping[str, str] | Sequence[str] | None = None,
        workdir: str | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "AttachStdin": stdin,
            "AttachStdout": stdout,
            "AttachStderr": stderr,
            "Tty": tty,
            "Privileged": privileged,
            "User": user,
            "Cmd": list(cmd),
        }
        env = _environment(environment)
        if env is not None:
            body["Env"] = env
        if workdir is not None:
            body["WorkingDir"] = workdir
        return dict(self._json("POST", f"/containers/{_quote(container)}/exec", body=body))

    def exec_start(
        self,
        exec_id: str,
        detach: bool = False,
        tty: bool = False,
        stream: bool = False,
        demux: bool = False,
    ) -> OutputStream:
        """The exec's output as (stdout, stderr) chunks (``stream=True, demux=True``)."""
        if detach or not (stream and demux):
            raise TypeError("exec_start: parity's client streams demultiplexed output only")
        return self._hijack(
            f"/exec/{_quote(exec_id)}/start", body={"Detach": False, "Tty": tty}, tty=tty
        )

    def exec_inspect(self, exec_id: str) -> dict[str, Any]:
        return dict(self._json("GET", f"/exec/{_quote(exec_id)}/json"))

    # --- what docker-py does --------------------------------------------------------------

    def docker_py(self) -> Any:
        """docker-py's ``DockerClient`` for this address (image pulls, the API builder)."""
        with self._lock:
            if self._docker_py is None:
                import docker

                tls: Any = False
                if self.address.tls is not None and not self.address.path:
                    from docker.tls import TLSConfig

                    settings = self.address.tls
                    tls = TLSConfig(
                        client_cert=(settings.cert, settings.key)
                        if settings.cert and settings.key
                        else None,
                        ca_cert=settings.ca or None,
                        verify=settings.verify,
                    )
                self._docker_py = docker.DockerClient(
                    base_url=self.address.url,
                    version=self.api_version or "auto",
                    timeout=int(self.timeout),
                    tls=tls,
                )
            return self._docker_py

    def remove_container_later(self, container: str) -> None:
        """Remove ``container`` (forced) in a thread. :meth:`wait_for_removals` and
        :meth:`close` wait for it, and so does the interpreter's exit (not a daemon thread).
        A failure is quiet: the next run's sweep removes what parity's labels name."""
        thread = threading.Thread(
            target=self._remove_quietly, args=(container,), name="parity-remove"
        )
        with self._lock:
            self._removals.append(thread)
        thread.start()

    def _remove_quietly(self, container: str) -> None:
        with contextlib.suppress(Exception):
            self.remove_container(container, force=True)

    def wait_for_removals(self) -> None:
        with self._lock:
            threads, self._removals = self._removals, []
        for thread in threads:
            thread.join(self.timeout)

    def close(self) -> None:
        self.wait_for_removals()
        with self._lock:
            client, self._docker_py = self._docker_py, None
        if client is not None:
            client.close()

    def _hijack(
        self,
        path: str,
        *,
        params: Mapping[str, str | None] | None = None,
        body: object = None,
        tty: bool,
    ) -> OutputStream:
        """Send a request whose answer is the raw stream of a process's output.

        Without a TTY it is multiplexed (8-byte frame headers), whatever the Content-Type
        says (Podman's says raw-stream); docker-py decides the same way.
        """
        headers = {"Connection": "Upgrade", "Upgrade": "tcp"}
        connection, response = self._open("POST", path, params=params, body=body, headers=headers)
        if connection.sock is not None:
            connection.sock.settimeout(None)  # the caller's watchdog bounds the wait
        reader: Any = response if response.chunked else response.fp  # hijacked: raw
        return OutputStream(connection, reader, multiplexed=not tty)


def _chunks(connection: _Connection, response: _Response, size: int) -> Iterator[bytes]:
    try:
        while True:
            try:
                chunk = response.read(size)
            except OSError as error:
                if isinstance(error, TransportError):
                    raise
                raise TransportError(str(error) or type(error).__name__) from error
            if not chunk:
                return
            yield chunk
    finally:
        connection.close()


class OutputStream:
    """A container's output: (stdout, stderr) chunks, one of them None, frame by frame.

    ``close`` may come from another thread (a watchdog): it shuts the socket down, which
    ends a read that waits.
    """

    def __init__(self, connection: _Connection, reader: BinaryIO, multiplexed: bool) -> None:
        self._connection = connection
        self._sock = connection.sock
        self._reader = reader
        self._multiplexed = multiplexed
        self._closed = False
        self._lock = threading.Lock()

    def __iter__(self) -> Iterator[tuple[bytes | None, bytes | None]]:
        try:
            while True:
                if not self._multiplexed:
                    chunk = self._read(65536, exact=False)
                    if not chunk:
                        return
                    yield chunk, None
                    continue
                header = self._read(8)
                if len(header) < 8:
                    return
                kind = header[0]
                (size,) = struct.unpack(">I", header[4:8])
                payload = self._read(size)
                if len(payload) < size:
                    return
                if kind == _STDERR:
                    yield None, payload
                else:
                    yield payload, None
        except (OSError, ValueError) as error:
            if self._closed:
                return
            raise TransportError(str(error) or type(error).__name__) from error

    def _read(self, size: int, *, exact: bool = True) -> bytes:
        if not exact:
            read1 = getattr(self._reader, "read1", self._reader.read)
            return bytes(read1(size))
        data = b""
        while len(data) < size:
            chunk = self._reader.read(size - len(data))
            if not chunk:
                break
            data += chunk
        return data

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        if self._sock is not None:
            with contextlib.suppress(OSError):  # already gone
                self._sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError, ValueError):  # closes the response and its reader
            self._connection.close()
