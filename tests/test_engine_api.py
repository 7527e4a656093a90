"""parity's own Engine API client (parity.engine.api) against the real engine, its errors,
the docker-py fallback behind the same methods, and docker contexts read as docker reads them.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import socket
import subprocess
import sys
import tarfile
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from parity.engine.api import EngineAPI, stdlib_address
from parity.engine.client import Engine, api_of, connect, resolve_endpoint
from parity.engine.docker_py import DockerPyAPI
from parity.engine.errors import APIError, ImageNotFound, NotFound, TransportError
from parity.errors import EngineError

unix_sockets = pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="no Unix sockets here")


def _socket() -> str:
    host = os.environ.get("DOCKER_HOST", "")
    if host and not host.startswith("unix://"):
        pytest.skip("these cases talk to a unix socket; DOCKER_HOST is not one")
    return host.removeprefix("unix://") or "/var/run/docker.sock"


def _missing_image() -> str:
    return f"parity-test/never-made-{uuid.uuid4().hex[:12]}:none"


@pytest.fixture
def container(engine: Engine, base_image: Any) -> Iterator[Any]:
    """Create containers of the 3.11 base image with parity's client; all removed after."""
    made: list[str] = []

    def create(*command: str) -> str:
        api = engine.api
        created = api.create_container(
            base_image("3.11"),
            name=f"parity-test-api-{uuid.uuid4().hex[:12]}",
            command=list(command),
            entrypoint=["python3", "-c"],
            labels={"io.parity.test": "engine-api"},
            network_disabled=True,
            host_config=api.create_host_config(network_mode="none"),
            working_dir="/",
            use_config_proxy=False,
        )
        made.append(str(created["Id"]))
        return str(created["Id"])

    yield create
    for container_id in made:
        with contextlib.suppress(NotFound):
            engine.api.remove_container(container_id, force=True)


# --- the client against the engine -------------------------------------------------------


def test_connect_pings_and_uses_the_engine_s_api_version(engine: Engine) -> None:
    _socket()
    assert isinstance(engine.api, EngineAPI)
    assert api_of(engine) is engine.api
    fresh = connect(timeout=30)
    assert isinstance(fresh.api, EngineAPI) and fresh.api._version is None  # not asked yet
    version = fresh.version()
    assert version["ApiVersion"] and version["Version"] and version["Arch"]
    assert fresh.version() is version  # asked once
    assert fresh.api.api_version == version["ApiVersion"]  # the ping's Api-Version header
    assert fresh.api._prefix == f"/v{version['ApiVersion']}"
    assert fresh.api.podman is False


def test_a_missing_image_is_image_not_found(engine: Engine) -> None:
    image = _missing_image()
    with pytest.raises(ImageNotFound) as raised:
        engine.api.inspect_image(image)
    assert raised.value.status_code == 404
    assert "no such image" in raised.value.explanation.lower()
    # creating a container of it says the same
    with pytest.raises(ImageNotFound):
        engine.api.create_container(image, command=["x"])


def test_create_attach_start_read_and_remove_a_real_container(
    engine: Engine, container: Any
) -> None:
    api = engine.api
    container_id = container(
        "import sys; sys.stdout.write('out-1\\n'); sys.stdout.flush(); "
        "sys.stderr.write('err-1\\n'); sys.stderr.flush(); print('x' * 100000)"
    )
    stream = api.attach(container_id, stdout=True, stderr=True, stream=True, demux=True)
    api.start(container_id)
    stdout, stderr = b"", b""
    for out_chunk, err_chunk in stream:
        assert (out_chunk is None) != (err_chunk is None)
        stdout += out_chunk or b""
        stderr += err_chunk or b""
    stream.close()
    stream.close()  # twice is fine
    assert stdout == b"out-1\n" + b"x" * 100000 + b"\n"
    assert stderr == b"err-1\n"
    info = api.inspect_container(container_id)
    assert info["State"]["ExitCode"] == 0
    assert info["Config"]["Labels"]["io.parity.test"] == "engine-api"
    api.remove_container(container_id, force=True)
    with pytest.raises(NotFound):
        api.inspect_container(container_id)
    with pytest.raises(NotFound):
        api.remove_container(container_id, force=True)


def test_listing_containers_by_label(engine: Engine, container: Any) -> None:
    container_id = container("pass")
    found = engine.api.containers(all=True, filters={"label": "io.parity.test=engine-api"})
    assert container_id in {item["Id"] for item in found}


def test_get_archive_of_a_file_matches_docker_py(
    engine: Engine, docker_client: Any, container: Any
) -> None:
    container_id = container("pass")  # never started: the archive API reads its files
    chunks, stat = engine.api.get_archive(container_id, "/etc/debian_version", chunk_size=7)
    ours = b"".join(chunks)
    theirs_chunks, theirs_stat = docker_client.api.get_archive(container_id, "/etc/debian_version")
    assert ours == b"".join(theirs_chunks)
    assert stat == theirs_stat and stat is not None and stat["name"] == "debian_version"
    with tarfile.open(fileobj=io.BytesIO(ours)) as archive:
        member = archive.extractfile("debian_version")
        assert member is not None and re.match(rb"\d+\.\d+", member.read())
    header = engine.api.stat_archive(container_id, "/etc/debian_version")
    assert header  # base64 JSON, read by PathStat.from_header
    with pytest.raises(NotFound):
        engine.api.get_archive(container_id, "/no/such/file")
    with pytest.raises(NotFound):
        engine.api.stat_archive(container_id, "/no/such/file")


def test_exec_in_a_running_container(engine: Engine, container: Any) -> None:
    api = engine.api
    container_id = container("import time; time.sleep(60)")
    api.start(container_id)
    exec_id = api.exec_create(
        container_id,
        ["python3", "-c", "import os,sys; print(os.environ['X']); sys.stderr.write('e')"],
        environment={"X": "from-exec"},
    )["Id"]
    stdout, stderr = b"", b""
    for out_chunk, err_chunk in api.exec_start(exec_id, stream=True, demux=True):
        stdout += out_chunk or b""
        stderr += err_chunk or b""
    assert (stdout, stderr) == (b"from-exec\n", b"e")
    assert api.exec_inspect(exec_id)["ExitCode"] == 0


def test_an_engine_refusal_is_an_api_error(engine: Engine, container: Any) -> None:
    container_id = container("pass")
    with pytest.raises(APIError) as raised:  # not running: the engine says 409
        engine.api.exec_create(container_id, ["true"])
    assert raised.value.status_code == 409 and not isinstance(raised.value, NotFound)


# --- connecting ---------------------------------------------------------------------------


@unix_sockets
def test_a_socket_that_does_not_exist_is_one_clear_message(tmp_path: Path) -> None:
    with pytest.raises(EngineError) as raised:
        connect(environ={"DOCKER_HOST": f"unix://{tmp_path}/no.sock", "DOCKER_CONFIG": "/none"})
    assert str(raised.value).startswith(
        f"no container engine answers at DOCKER_HOST=unix://{tmp_path}/no.sock: "
        "the socket does not exist. Start Docker"
    )


def test_an_address_that_is_no_engine_address_is_named() -> None:
    with pytest.raises(EngineError) as raised:
        connect(environ={"DOCKER_HOST": "bogus://x"})
    assert "DOCKER_HOST=bogus://x" in str(raised.value) and "'bogus'" in str(raised.value)


def test_addresses_the_standard_library_client_reaches() -> None:
    assert stdlib_address("unix:///var/run/docker.sock") is not None
    assert stdlib_address("unix:///var/run/docker.sock").path == "/var/run/docker.sock"  # type: ignore[union-attr]
    tcp = stdlib_address("tcp://127.0.0.1:2375")
    assert tcp is not None and (tcp.host, tcp.port) == ("127.0.0.1", 2375)
    assert stdlib_address("tcp://engine.internal") is not None
    secure = stdlib_address("https://x")
    assert secure is not None and secure.tls is not None and secure.port == 2376
    for other in ("ssh://user@host", "npipe:////./pipe/docker_engine", "fd://"):
        assert stdlib_address(other) is None


def _make_context(config: Path, name: str, host: str, tls: bool = False) -> None:
    digest = hashlib.sha256(name.encode()).hexdigest()
    meta = config / "contexts" / "meta" / digest
    meta.mkdir(parents=True)
    document = {
        "Name": name,
        "Metadata": {},
        "Endpoints": {"docker": {"Host": host, "SkipTLSVerify": False}},
    }
    (meta / "meta.json").write_text(json.dumps(document))
    if tls:
        material = config / "contexts" / "tls" / digest / "docker"
        material.mkdir(parents=True)
        (material / "ca.pem").write_text("not a real certificate")


def test_a_context_pointing_at_the_socket_is_used(engine: Engine, tmp_path: Path) -> None:
    socket_path = _socket()
    _make_context(tmp_path, "parity-test", f"unix://{socket_path}")
    (tmp_path / "config.json").write_text(json.dumps({"currentContext": "parity-test"}))
    environ = {"DOCKER_CONFIG": str(tmp_path)}
    connected = connect(environ=environ)
    assert isinstance(connected.api, EngineAPI)
    assert connected.endpoint.context == "parity-test"
    assert connected.api.address.path == socket_path
    assert connected.version()["Version"] == engine.version()["Version"]


@unix_sockets
def test_a_context_s_endpoint_is_where_parity_looks(tmp_path: Path) -> None:
    """The context's own host, not the default socket: a dead one is named as the context."""
    _make_context(tmp_path, "parity-dead", f"unix://{tmp_path}/dead.sock")
    environ = {"DOCKER_CONFIG": str(tmp_path), "DOCKER_CONTEXT": "parity-dead"}
    with pytest.raises(EngineError) as raised:
        connect(environ=environ)
    assert "docker context 'parity-dead'" in str(raised.value)
    assert "the socket does not exist" in str(raised.value)
    # DOCKER_HOST wins over the context
    winner = resolve_endpoint({**environ, "DOCKER_HOST": "tcp://127.0.0.1:1"})
    assert winner.host == "tcp://127.0.0.1:1" and winner.context is None


def test_tls_settings_are_read_as_docker_reads_them(tmp_path: Path) -> None:
    _make_context(tmp_path, "parity-tls", "tcp://127.0.0.1:2376", tls=True)
    endpoint = resolve_endpoint({"DOCKER_CONFIG": str(tmp_path), "DOCKER_CONTEXT": "parity-tls"})
    assert endpoint.host == "tcp://127.0.0.1:2376"
    assert endpoint.tls is not None and endpoint.tls.verify and endpoint.tls.ca.endswith("ca.pem")
    assert not endpoint.tls.cert  # only the files present
    (tmp_path / "certs").mkdir()
    for name in ("ca.pem", "cert.pem", "key.pem"):
        (tmp_path / "certs" / name).write_text("x")
    environ = {"DOCKER_HOST": "tcp://x:2376", "DOCKER_CERT_PATH": str(tmp_path / "certs")}
    alone = resolve_endpoint(environ).tls  # a certificate path alone: TLS, not verified
    assert alone is not None and not alone.verify and alone.cert and alone.key
    verified = resolve_endpoint({**environ, "DOCKER_TLS_VERIFY": "1"}).tls
    assert verified is not None and verified.verify
    assert (
        resolve_endpoint({**environ, "DOCKER_CERT_PATH": "", "DOCKER_TLS_VERIFY": ""}).tls is None
    )


def test_a_context_that_does_not_exist_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(EngineError) as raised:
        connect(environ={"DOCKER_CONFIG": str(tmp_path), "DOCKER_CONTEXT": "parity-none"})
    assert "docker context 'parity-none' does not exist" in str(raised.value)


# --- docker-py behind the same methods -----------------------------------------------------


def test_docker_py_raises_parity_s_errors_behind_the_same_methods(docker_client: Any) -> None:
    api = api_of(docker_client)
    assert isinstance(api, DockerPyAPI)
    assert api_of(docker_client) is api  # made once per client
    with pytest.raises(ImageNotFound):
        api.inspect_image(_missing_image())
    with pytest.raises(NotFound):
        api.inspect_container(f"parity-no-such-{uuid.uuid4().hex[:8]}")
    assert api.version()["ApiVersion"]


@unix_sockets
def test_docker_py_transport_errors_are_transport_errors(tmp_path: Path) -> None:
    import docker

    client = docker.DockerClient(base_url=f"unix://{tmp_path}/no.sock", version="1.41")
    try:
        with pytest.raises(TransportError):
            api_of(client).inspect_image("python:3.11-slim")
    finally:
        client.close()


# --- what a check imports -----------------------------------------------------------------

_ENGINE_LIBRARIES = re.compile(r"^(docker|requests|urllib3)(\.|$)")


def test_a_check_imports_neither_docker_py_nor_requests(tmp_path: Path, base_image: Any) -> None:
    """The unix-socket path of a cold and a warm check: `-X importtime` lists every module."""
    _socket()
    project = tmp_path / "project"
    project.mkdir()
    (project / "Dockerfile").write_text(f"FROM {base_image('3.11')}\n")
    (project / "requirements.txt").write_text("")
    env = {**os.environ, "PARITY_CACHE_DIR": str(tmp_path / "cache")}
    for _run in ("cold", "warm"):
        result = subprocess.run(
            [
                sys.executable,
                "-X",
                "importtime",
                "-m",
                "parity",
                "check",
                str(project),
                "--local",
                f"requirements:{project / 'requirements.txt'}",
                "--container",
                f"dockerfile:{project / 'Dockerfile'}",
                "-q",
            ],
            capture_output=True,
            text=True,
            env=env,
            timeout=600,
        )
        imported = [
            line.rsplit("|", 1)[-1].strip()
            for line in result.stderr.splitlines()
            if line.startswith("import time:")
        ]
        messages = [line for line in result.stderr.splitlines() if "import time:" not in line]
        assert result.returncode in (0, 1), "\n".join(messages)
        assert "parity.engine.api" in imported
        assert [name for name in imported if _ENGINE_LIBRARIES.match(name)] == []


# --- the HTTP layer, against canned answers -------------------------------------------------


def _serve_once(path: Path, answer: bytes) -> Any:
    """A Unix socket at ``path`` that answers one request with ``answer``, then closes."""
    import socket
    import threading

    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(1)

    def serve() -> None:
        connection, _ = server.accept()
        with connection:
            request = b""
            while b"\r\n\r\n" not in request:
                request += connection.recv(65536)
            connection.sendall(answer)
        server.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return thread


def _canned(tmp_path: Path, answer: bytes) -> EngineAPI:
    # A short path: macOS allows 104 bytes for a socket's, and its temporary folders are long.
    path = Path(tempfile.mkdtemp(prefix="pe-", dir="/tmp")) / "engine.sock"
    _serve_once(path, answer)
    address = stdlib_address(f"unix://{path}")
    assert address is not None
    return EngineAPI(address, 10, "1.45")


@unix_sockets
@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n"
        b'{"Id": "abc"}',
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b'5;ext=1\r\n{"Id"\r\n8\r\n: "abc"}\r\n0\r\nTrailer: x\r\n\r\n',
        b'HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n{"Id": "abc"}',
    ],
    ids=["content-length", "chunked", "until-close"],
)
def test_answers_by_length_by_chunks_and_until_close(tmp_path: Path, answer: bytes) -> None:
    assert _canned(tmp_path, answer).inspect_container("x") == {"Id": "abc"}


@unix_sockets
def test_answers_that_are_not_http_are_transport_errors(tmp_path: Path) -> None:
    with pytest.raises(TransportError, match="not HTTP"):
        _canned(tmp_path, b"SSH-2.0-OpenSSH\r\n").inspect_container("x")
    with pytest.raises(TransportError, match="without an answer"):
        _canned(tmp_path, b"").inspect_container("x")
    with pytest.raises(TransportError, match="ended early"):
        _canned(tmp_path, b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n{").inspect_container("x")


@unix_sockets
def test_an_error_answer_carries_the_engine_s_message(tmp_path: Path) -> None:
    body = b'{"message": "No such image: nothing:here"}'
    answer = b"HTTP/1.1 404 Not Found\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
    with pytest.raises(ImageNotFound) as raised:
        _canned(tmp_path, answer).inspect_image("nothing:here")
    assert raised.value.explanation == "No such image: nothing:here"
    assert raised.value.status_code == 404


# --- TLS: an engine behind a TLS endpoint that asks for a client certificate -------------


def _certificates(directory: Path) -> dict[str, Path]:
    """A CA, the engine's certificate for 127.0.0.1 and a client's, as docker lays them out."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "parity test CA")])

    def issue(name: str, key: Any, issuer_key: Any, issuer: Any, ca: bool = False) -> Any:
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer or subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if name == "127.0.0.1":
            san = x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(name))])
            builder = builder.add_extension(san, critical=False)
        return builder.sign(issuer_key, hashes.SHA256())

    def write(name: str, certificate: Any, key: Any) -> None:
        (directory / f"{name}.pem").write_bytes(
            certificate.public_bytes(serialization.Encoding.PEM)
        )
        if key is not None:
            (directory / f"{name}-key.pem").write_bytes(
                key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            )

    directory.mkdir(parents=True, exist_ok=True)
    write("ca", issue("parity test CA", ca_key, ca_key, None, ca=True), None)
    for name, common_name in (("server", "127.0.0.1"), ("cert", "parity client")):
        key = ec.generate_private_key(ec.SECP256R1())
        write(name, issue(common_name, key, ca_key, ca_name), key)
    (directory / "key.pem").write_bytes((directory / "cert-key.pem").read_bytes())
    return {name: directory / f"{name}.pem" for name in ("ca", "cert", "key", "server")}


@pytest.fixture
def tls_engine(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A TLS endpoint on 127.0.0.1 (client certificate required) in front of the engine's
    socket: its DOCKER_HOST and the folder of docker's ca.pem, cert.pem and key.pem."""
    import select
    import ssl
    import threading

    engine_socket = _socket()
    files = _certificates(tmp_path / "certs")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(files["server"], tmp_path / "certs" / "server-key.pem")
    context.load_verify_locations(files["ca"])
    context.verify_mode = ssl.CERT_REQUIRED
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    stop = threading.Event()

    def pump(client: socket.socket) -> None:
        try:
            secure = context.wrap_socket(client, server_side=True)
        except (OSError, ssl.SSLError):
            client.close()
            return
        with secure, socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as plain:
            plain.connect(engine_socket)
            while not stop.is_set():
                ready = [secure] if secure.pending() else []
                if not ready:
                    ready, _, _ = select.select([secure, plain], [], [], 0.5)
                for side in ready:
                    data = side.recv(65536)
                    if not data:
                        return
                    (plain if side is secure else secure).sendall(data)

    def serve() -> None:
        while not stop.is_set():
            ready, _, _ = select.select([listener], [], [], 0.2)
            if ready:
                client, _ = listener.accept()
                threading.Thread(target=pump, args=(client,), daemon=True).start()

    server = threading.Thread(target=serve, daemon=True)
    server.start()
    yield f"tcp://127.0.0.1:{port}", tmp_path / "certs"
    stop.set()
    server.join(5)
    listener.close()


def test_a_tls_engine_is_reached_without_docker_py(
    tls_engine: tuple[str, Path], base_image: Any
) -> None:
    from parity.engine.probe_container import ProbeRequest, run_probe

    host, certs = tls_engine
    environ = {"DOCKER_HOST": host, "DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": str(certs)}
    connected = connect(timeout=60, environ=environ)
    assert isinstance(connected.api, EngineAPI) and connected.api.address.tls is not None
    assert connected.version()["ApiVersion"]
    run = run_probe(connected, ProbeRequest(image=base_image("3.11")), "print('over TLS')")
    assert run.stdout == b"over TLS\n"
    connected.close()


def test_a_tls_engine_whose_certificate_is_not_trusted_is_one_message(
    tls_engine: tuple[str, Path], tmp_path: Path
) -> None:
    host, certs = tls_engine
    other = _certificates(tmp_path / "other")  # another CA, and a client it signed
    environ = {
        "DOCKER_HOST": host,
        "DOCKER_TLS_VERIFY": "1",
        "DOCKER_CERT_PATH": str(other["ca"].parent),
    }
    with pytest.raises(EngineError) as raised:
        connect(timeout=30, environ=environ)
    assert f"DOCKER_HOST={host}" in str(raised.value)
    assert "TLS certificate is not trusted" in str(raised.value)
    del certs


# --- what docker-py still does: --pull -----------------------------------------------------


def test_pull_goes_through_docker_py_for_the_same_engine(
    base_image: Any, docker_client: Any, tmp_path: Path
) -> None:
    """`image:REF --pull` for an image only a registry holds: docker-py pulls it (made
    lazily for parity's engine address), parity's client probes it."""
    from tests.helpers import run_parity
    from tests.registry_tools import LocalRegistry

    registry = LocalRegistry()
    registry.start()
    remote = ""
    try:
        remote = registry.push(base_image("3.11"), f"pull/app:{uuid.uuid4().hex[:8]}")
        env = {"PARITY_CACHE_DIR": str(tmp_path / "cache")}
        refused = run_parity("probe", f"image:{remote}", env=env)
        assert refused.returncode == 2 and "parity pulls only with --pull" in refused.stderr
        pulled = run_parity("probe", f"image:{remote}", "--pull", "--format", "json", env=env)
        assert pulled.returncode == 0, pulled.stderr
        assert json.loads(pulled.stdout)["interpreter"]["version"].startswith("3.11.")
    finally:
        if remote:
            with contextlib.suppress(Exception):
                docker_client.images.remove(remote)
        registry.remove()
