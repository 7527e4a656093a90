"""registry: and archive: sides against a real registry on 127.0.0.1 and real archives.

A docker-registry (distribution 2.8, scripts/registry-up) is started and stopped here;
images are pushed with ``docker push``. A registry read must give exactly what ``--static``
reads through the engine for every test image, and the probe's rows; credentials come from
a docker config or a credential helper, and never appear in what parity prints.
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import hashlib
import importlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from parity.engine.probe_static import static_probe_output
from parity.registry.read import load_image_side, open_source, read_image
from tests.registry_tools import LocalRegistry
from tests.test_container_kinds import CASES, built, probe_image  # noqa: F401 (fixture)
from tests.test_locate_container import EXPECTED as LOCATE_EXPECTED
from tests.test_locate_container import choice_images  # noqa: F401 (fixture)

pytestmark = [pytest.mark.docker, pytest.mark.slow]

USER = "parity-user"
PASSWORD = "S3cret-pa55word"


@pytest.fixture(scope="module")
def registry() -> Iterator[LocalRegistry]:
    local = LocalRegistry()
    local.start()
    yield local
    local.remove()


@pytest.fixture(scope="module")
def private(docker_client: Any, base_image: Any) -> Iterator[LocalRegistry]:
    local = LocalRegistry(USER, PASSWORD)
    local.start()
    local.push(base_image("3.11"), "private/app:1")
    yield local
    local.remove()


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No docker config and an empty cache, for this test only."""
    monkeypatch.setenv("PARITY_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "no-docker-config"))
    return tmp_path


def registry_output(
    kind: str, ref: str, python: str | None = None, platform: str | None = None
) -> bytes:
    source = open_source(kind, ref, None)
    try:
        _, manifest, _ = source.resolve(platform)
        return bytes(read_image(source, manifest, python=python, environment={}))
    finally:
        source.close()


def static_read(client: Any, image: str, python: str | None = None) -> Any:
    """What --static reads through the engine (the call may also return the interpreter)."""
    output = static_probe_output(client, image, python=python)
    return json.loads(output[0] if isinstance(output, tuple) else output)


def parity(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "parity", *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=600,
    )


# --- the same rows as the probe, on every test image --------------------------------------


@pytest.mark.parametrize(("name", "python"), CASES)
def test_registry_read_equals_static_read_and_probe(
    docker_client: Any,
    built: Callable[[str], str],  # noqa: F811
    registry: LocalRegistry,
    isolated: Path,
    name: str,
    python: str | None,
) -> None:
    image = built(name)
    remote = registry.push(image, f"kinds/{name}:latest")
    from_registry = json.loads(registry_output("registry", remote, python))
    static = static_read(docker_client, image, python)
    assert from_registry == static
    probed = json.loads(probe_image(docker_client, image, python))
    assert from_registry["distributions"] == probed["distributions"]


def test_docker_save_archive_and_oci_layout_read_like_the_registry(
    docker_client: Any,
    built: Callable[[str], str],  # noqa: F811
    isolated: Path,
) -> None:
    image = built("venv-app")
    saved = isolated / "saved.tar"
    subprocess.run(["docker", "save", "-o", str(saved), image], check=True)
    static = static_read(docker_client, image)
    # Docker 25+ writes an OCI layout inside docker save's tarball (and manifest.json).
    assert json.loads(registry_output("archive", str(saved))) == static
    # The same, unpacked: an OCI image layout directory.
    layout = isolated / "layout"
    with tarfile.open(saved) as tar:
        tar.extractall(layout, filter="data")
    assert (layout / "oci-layout").is_file()
    assert json.loads(registry_output("archive", str(layout))) == static
    # Docker's own format (manifest.json only), as Docker before 25 wrote it.
    (layout / "index.json").unlink()
    assert json.loads(registry_output("archive", str(layout))) == static
    # gzip and zstd layers, as buildx's OCI exporter writes them.
    for compression in ("gzip", "zstd"):
        recompressed = recompress_layout(saved, isolated / compression, compression)
        assert json.loads(registry_output("archive", str(recompressed))) == static


def zstd_module() -> Any:
    """compression.zstd (3.14+) or its backport (the test extra installs it)."""
    try:
        return importlib.import_module("compression.zstd")
    except ImportError:
        return importlib.import_module("backports.zstd")


def recompress_layout(saved: Path, target: Path, compression: str) -> Path:
    """An OCI layout of the saved image with its layers compressed (gzip or zstd)."""
    with tarfile.open(saved) as tar:
        tar.extractall(target, filter="data")
    blobs = target / "blobs" / "sha256"
    index = json.loads((target / "index.json").read_text())
    manifest_digest = index["manifests"][0]["digest"]
    manifest = json.loads((blobs / manifest_digest.split(":")[1]).read_text())
    for layer in manifest["layers"]:
        data = (blobs / layer["digest"].split(":")[1]).read_bytes()
        packed = gzip.compress(data, 1) if compression == "gzip" else zstd_module().compress(data)
        digest = hashlib.sha256(packed).hexdigest()
        (blobs / digest).write_bytes(packed)
        layer.update(
            digest=f"sha256:{digest}",
            size=len(packed),
            mediaType=f"application/vnd.oci.image.layer.v1.tar+{compression}",
        )
    body = json.dumps(manifest).encode()
    digest = hashlib.sha256(body).hexdigest()
    (blobs / digest).write_bytes(body)
    index["manifests"][0].update(digest=f"sha256:{digest}", size=len(body))
    (target / "index.json").write_text(json.dumps(index))
    return target


# --- a multi-platform index ------------------------------------------------------------------


def put_index(registry: LocalRegistry, name: str, amd64_ref: str) -> str:
    """An index of two platform images pushed through the registry API: the amd64 image,
    and its layers under an arm64 config (this machine cannot build arm64 images)."""
    base = f"http://{registry.address}/v2/{name}"
    accept = {"Accept": "application/vnd.docker.distribution.manifest.v2+json"}
    amd64_manifest = requests.get(f"{base}/manifests/{amd64_ref}", headers=accept, timeout=30)
    manifest = amd64_manifest.json()
    config = requests.get(f"{base}/blobs/{manifest['config']['digest']}", timeout=30).json()
    config["architecture"] = "arm64"
    config["variant"] = "v8"
    config_body = json.dumps(config).encode()
    config_digest = "sha256:" + hashlib.sha256(config_body).hexdigest()
    upload = requests.post(f"{base}/blobs/uploads/", timeout=30)
    location = upload.headers["Location"]
    separator = "&" if "?" in location else "?"
    requests.put(
        f"{location}{separator}digest={config_digest}", data=config_body, timeout=30
    ).raise_for_status()
    manifest["config"].update(digest=config_digest, size=len(config_body))
    arm_body = json.dumps(manifest).encode()
    media = manifest["mediaType"]
    requests.put(
        f"{base}/manifests/arm64", data=arm_body, headers={"Content-Type": media}, timeout=30
    ).raise_for_status()
    entries = [
        {
            "mediaType": media,
            "digest": "sha256:" + hashlib.sha256(amd64_manifest.content).hexdigest(),
            "size": len(amd64_manifest.content),
            "platform": {"architecture": "amd64", "os": "linux"},
        },
        {
            "mediaType": media,
            "digest": "sha256:" + hashlib.sha256(arm_body).hexdigest(),
            "size": len(arm_body),
            "platform": {"architecture": "arm64", "os": "linux", "variant": "v8"},
        },
    ]
    index_type = "application/vnd.docker.distribution.manifest.list.v2+json"
    index = json.dumps({"schemaVersion": 2, "mediaType": index_type, "manifests": entries}).encode()
    requests.put(
        f"{base}/manifests/multi", data=index, headers={"Content-Type": index_type}, timeout=30
    ).raise_for_status()
    return f"{registry.address}/{name}:multi"


def test_an_index_is_read_for_the_platform_asked_else_this_machine(
    base_image: Any, registry: LocalRegistry, isolated: Path
) -> None:
    registry.push(base_image("3.11"), "multi/app:amd64")
    ref = put_index(registry, "multi/app", "amd64")
    host = load_image_side("registry", ref)
    assert host.interpreter is not None and host.interpreter.machine == "x86_64"
    assert "linux/amd64 of 2 platforms, by this machine's platform" in host.description
    arm = load_image_side("registry", ref, platform="linux/arm64")
    assert arm.interpreter is not None and arm.interpreter.machine == "aarch64"
    assert "linux/arm64/v8 of 2 platforms, by --platform" in arm.description
    result = parity("probe", f"registry:{ref}", "--platform", "linux/s390x")
    assert result.returncode == 2
    assert "no linux/s390x image (it has linux/amd64, linux/arm64/v8)" in result.stderr


# --- credentials ---------------------------------------------------------------------------


def write_config(directory: Path, config: dict[str, Any]) -> dict[str, str]:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.json").write_text(json.dumps(config))
    return {"DOCKER_CONFIG": str(directory), "PARITY_CACHE_DIR": str(directory / "cache")}


def assert_no_secret(result: subprocess.CompletedProcess[str]) -> None:
    encoded = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    for secret in (PASSWORD, encoded, "wrong-" + PASSWORD):
        assert secret not in result.stdout + result.stderr


def test_private_image_with_credentials_from_a_docker_config(
    private: LocalRegistry, tmp_path: Path
) -> None:
    auth = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    env = write_config(tmp_path / "docker", {"auths": {private.address: {"auth": auth}}})
    result = parity("probe", f"registry:{private.address}/private/app:1", env=env)
    assert result.returncode == 0, result.stderr
    assert "pip" in result.stdout
    assert_no_secret(result)


def test_private_image_with_credentials_from_a_helper(
    private: LocalRegistry, tmp_path: Path
) -> None:
    helpers = tmp_path / "bin"
    helpers.mkdir()
    helper = helpers / "docker-credential-parity-test"
    answer = json.dumps({"ServerURL": private.address, "Username": USER, "Secret": PASSWORD})
    helper.write_text(
        "#!/bin/sh\n"
        f'[ "$1" = get ] && [ "$(cat)" = "{private.address}" ] || exit 1\n'
        f"echo '{answer}'\n"
    )
    helper.chmod(0o755)
    env = write_config(tmp_path / "docker", {"credsStore": "parity-test"})
    env["PATH"] = f"{helpers}:{os.environ['PATH']}"
    result = parity("probe", f"registry:{private.address}/private/app:1", env=env)
    assert result.returncode == 0, result.stderr
    assert_no_secret(result)


@pytest.mark.parametrize("password", [None, "wrong-" + PASSWORD])
def test_no_or_wrong_credentials_exit_2_with_one_message(
    private: LocalRegistry, tmp_path: Path, password: str | None
) -> None:
    config: dict[str, Any] = {}
    if password is not None:
        auth = base64.b64encode(f"{USER}:{password}".encode()).decode()
        config = {"auths": {f"https://{private.address}": {"auth": auth}}}
    env = write_config(tmp_path / "docker", config)
    result = parity("probe", f"registry:{private.address}/private/app:1", env=env)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "access denied" in lines[0], result.stderr
    assert "Traceback" not in result.stderr
    assert_no_secret(result)


# --- failures: the registry goes away, a layer is corrupt ----------------------------------


class CuttingProxy:
    """A TCP relay to the registry that cuts every connection after ``limit`` bytes of answer."""

    def __init__(self, target: str, limit: int) -> None:
        host, port = target.split(":")
        self.target = (host, int(port))
        self.limit = limit
        self.server = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self.server.getsockname()[1]}"
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            threading.Thread(target=self.pipe, args=(client, upstream, None), daemon=True).start()
            threading.Thread(
                target=self.pipe, args=(upstream, client, self.limit), daemon=True
            ).start()

    def pipe(self, source: socket.socket, sink: socket.socket, limit: int | None) -> None:
        sent = 0
        try:
            while limit is None or sent < limit:
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
                sent += len(data)
        except OSError:
            pass
        for each in (source, sink):
            with contextlib.suppress(OSError):
                each.shutdown(socket.SHUT_RDWR)
            each.close()

    def close(self) -> None:
        self.server.close()


def test_the_registry_going_away_mid_read_exits_2(
    base_image: Any, registry: LocalRegistry, tmp_path: Path
) -> None:
    registry.push(base_image("3.11"), "away/app:1")
    proxy = CuttingProxy(registry.address, 2 * 1024 * 1024)  # inside the first big layer
    try:
        env = {"PARITY_CACHE_DIR": str(tmp_path / "cache"), "DOCKER_CONFIG": str(tmp_path)}
        result = parity("probe", f"registry:{proxy.address}/away/app:1", env=env)
    finally:
        proxy.close()
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert f"registry image {proxy.address}/away/app:1" in result.stderr
    gone = LocalRegistry()
    gone.start()
    gone.push(base_image("3.11"), "gone/app:1")
    gone.stop()
    try:
        result = parity("probe", f"registry:{gone.address}/gone/app:1", env=env)
    finally:
        gone.remove()
    assert result.returncode == 2
    assert "does not answer (connection refused)" in result.stderr


def test_a_corrupt_or_truncated_layer_exits_2(
    base_image: Any, registry: LocalRegistry, tmp_path: Path, docker_client: Any
) -> None:
    remote = registry.push(base_image("3.11"), "corrupt/app:1")
    source = open_source("registry", remote, None)
    _, manifest, _ = source.resolve(None)
    source.close()
    layer = max(manifest.layers, key=lambda descriptor: descriptor.size)
    blob = registry.blob_file(layer.digest)
    data = bytearray(blob.read_bytes())
    original = bytes(data)
    middle = len(data) // 2
    data[middle : middle + 64] = bytes(64)  # same size, wrong bytes
    blob.write_bytes(bytes(data))
    env = {"PARITY_CACHE_DIR": str(tmp_path / "cache"), "DOCKER_CONFIG": str(tmp_path)}
    try:
        result = parity("probe", f"registry:{remote}", env=env)
    finally:
        blob.write_bytes(original)
    assert result.returncode == 2
    assert "layer" in result.stderr and "corrupt" in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    # A truncated layer in an OCI layout.
    saved = tmp_path / "saved.tar"
    subprocess.run(["docker", "save", "-o", str(saved), base_image("3.11")], check=True)
    layout = recompress_layout(saved, tmp_path / "layout", "gzip")
    index = json.loads((layout / "index.json").read_text())
    oci = json.loads((layout / "blobs/sha256" / index["manifests"][0]["digest"][7:]).read_text())
    biggest = max(oci["layers"], key=lambda item: item["size"])
    path = layout / "blobs/sha256" / biggest["digest"][7:]
    path.write_bytes(path.read_bytes()[: biggest["size"] // 2])
    result = parity("probe", f"archive:{layout}", env=env)
    assert result.returncode == 2
    assert "is truncated" in result.stderr, result.stderr


# --- no engine, the cache, a 200 MB layer ------------------------------------------------------


def test_both_kinds_work_with_no_engine(
    base_image: Any, registry: LocalRegistry, tmp_path: Path
) -> None:
    remote = registry.push(base_image("3.11"), "noengine/app:1")
    saved = tmp_path / "saved.tar"
    subprocess.run(["docker", "save", "-o", str(saved), base_image("3.11")], check=True)
    env = {
        "DOCKER_HOST": "tcp://127.0.0.1:9",
        "PARITY_CACHE_DIR": str(tmp_path / "cache"),
        "DOCKER_CONFIG": str(tmp_path),
    }
    for source in (f"registry:{remote}", f"archive:{saved}"):
        result = parity("probe", source, "--format", "json", env=env)
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["interpreter"]["version"].startswith("3.11.")


def test_warm_tag_reads_the_manifest_only_and_a_digest_nothing(
    base_image: Any, registry: LocalRegistry, isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    remote = registry.push(base_image("3.11"), "cached/app:1")
    sent: list[str] = []
    real_send = requests.Session.send

    def counting(self: requests.Session, request: Any, **options: Any) -> Any:
        sent.append(f"{request.method} {request.url}")
        return real_send(self, request, **options)

    monkeypatch.setattr(requests.Session, "send", counting)
    cold = load_image_side("registry", remote)
    assert any("/blobs/" in line for line in sent)
    sent.clear()
    warm = load_image_side("registry", remote)
    assert warm.packages == cold.packages and warm.image_id == cold.image_id
    assert [line for line in sent if not line.startswith("GET https://")] == [
        f"GET http://{remote.replace(':1', '')}/manifests/1".replace(
            f"{registry.address}/", f"{registry.address}/v2/"
        )
    ]
    digest = open_source("registry", remote, None).client.manifest("1")[2]
    sent.clear()
    by_digest = load_image_side("registry", f"{registry.address}/cached/app@{digest}")
    assert sent == []
    assert by_digest.packages == cold.packages and by_digest.image_id == cold.image_id


def test_a_200_mb_layer_is_streamed(
    docker_client: Any, base_image: Any, registry: LocalRegistry, tmp_path: Path
) -> None:
    context = tmp_path / "big"
    context.mkdir()
    (context / "Dockerfile").write_text(
        f"FROM {base_image('3.11')}\nRUN head -c 200000000 /dev/urandom > /big.bin\n"
    )
    tag = "parity-test/big-layer:latest"
    docker_client.images.build(path=str(context), tag=tag, rm=True, forcerm=True, pull=False)
    try:
        remote = registry.push(tag, "big/app:1")
        small = registry.push(base_image("3.11"), "big/small:1")
    finally:
        docker_client.images.remove(tag)
    peaks = {
        name: peak_memory(ref, tmp_path / name) for name, ref in (("big", remote), ("small", small))
    }
    assert peaks["big"] < 100 * 1024 * 1024
    assert peaks["big"] - peaks["small"] < 20 * 1024 * 1024  # flat: the layer is not held


def peak_memory(ref: str, cache: Path) -> int:
    """Peak RSS (bytes) of a fresh interpreter reading ``registry:REF``."""
    code = (
        "import sys\n"
        "from parity.registry.read import load_image_side\n"
        "load_image_side('registry', sys.argv[1], use_cache=False)\n"
        "status = open('/proc/self/status').read().split('VmHWM:')[1]\n"
        "print(int(status.split()[0]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, ref],
        env={**os.environ, "PARITY_CACHE_DIR": str(cache)},
        capture_output=True,
        text=True,
        check=True,
    )
    return int(result.stdout.strip()) * 1024


def test_bearer_token_flow_with_credentials(
    base_image: Any, registry: LocalRegistry, tmp_path: Path
) -> None:
    from tests.token_service import TokenService

    registry.push(base_image("3.11"), "token/app:1")
    tokens = TokenService(tmp_path, USER, PASSWORD)
    guarded = LocalRegistry(
        PARITY_REGISTRY_TOKEN_REALM=tokens.realm,
        PARITY_REGISTRY_TOKEN_CERT=str(tokens.certificate_path),
        PARITY_REGISTRY_STORAGE=str(registry.state / "storage"),
    )
    try:
        guarded.start()
        ref = f"registry:{guarded.address}/token/app:1"
        auth = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        env = write_config(tmp_path / "docker", {"auths": {guarded.address: {"auth": auth}}})
        result = parity("probe", ref, env=env)
        assert result.returncode == 0, result.stderr
        assert tokens.issued == 1  # one token, reused for the manifest and every blob
        assert_no_secret(result)
        env = write_config(tmp_path / "none", {})
        result = parity("probe", ref, env=env)
        assert result.returncode == 2
        assert "access denied, and docker has no credentials" in result.stderr
    finally:
        guarded.remove()
        tokens.close()


def test_whiteouts_and_opaque_directories_hide_lower_layers(
    docker_client: Any, base_image: Any, registry: LocalRegistry, isolated: Path
) -> None:
    site = "/opt/venv/lib/python3.11/site-packages"
    context = isolated / "whiteouts"
    context.mkdir()
    (context / "Dockerfile").write_text(
        f"FROM {base_image('3.11')}\n"
        f"RUN python -m venv --without-pip /opt/venv && mkdir {site}/old-1.0.dist-info && "
        "printf 'Metadata-Version: 2.1\\nName: old\\nVersion: 1.0\\n' "
        f"> {site}/old-1.0.dist-info/METADATA\n"
        # Removed and made again in one layer: an opaque directory over the one below.
        f"RUN rm -rf /opt/venv && python -m venv --without-pip /opt/venv && "
        f"mkdir {site}/new-2.0.dist-info && "
        "printf 'Metadata-Version: 2.1\\nName: new\\nVersion: 2.0\\n' "
        f"> {site}/new-2.0.dist-info/METADATA\n"
        # Files of a lower layer removed: whiteouts.
        "RUN cd /usr/lib/python3/dist-packages && rm -rf setuptools* wheel*\n"
        "ENV PATH=/opt/venv/bin:$PATH\n"
    )
    tag = "parity-test/whiteouts:latest"
    docker_client.images.build(path=str(context), tag=tag, rm=True, forcerm=True, pull=False)
    try:
        remote = registry.push(tag, "whiteouts/app:1")
        static = static_read(docker_client, tag)
        system = static_read(docker_client, tag, "/usr/bin/python3")
    finally:
        docker_client.images.remove(tag)
    from_registry = json.loads(registry_output("registry", remote))
    assert from_registry == static
    assert [item["name"] for item in from_registry["distributions"]] == ["new"]
    from_registry = json.loads(registry_output("registry", remote, "/usr/bin/python3"))
    assert from_registry == system
    assert {item["name"] for item in system["distributions"]} == {"pip"}


def test_https_with_the_registry_certificate_trusted(
    registry: LocalRegistry, base_image: Any, tmp_path: Path
) -> None:
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    registry.push(base_image("3.11"), "tls/app:1")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "registry.crt", tmp_path / "registry.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    secure = LocalRegistry(
        PARITY_REGISTRY_TLS_CERT=str(cert_path),
        PARITY_REGISTRY_TLS_KEY=str(key_path),
        PARITY_REGISTRY_STORAGE=str(registry.state / "storage"),
    )
    try:
        secure.start()
        env = write_config(tmp_path / "docker", {})
        env["REQUESTS_CA_BUNDLE"] = str(cert_path)  # the CA a company registry would use
        source = f"registry:{secure.address}/tls/app:1"
        result = parity("probe", source, "--format", "json", env=env)
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["interpreter"]["version"].startswith("3.11.")
        del env["REQUESTS_CA_BUNDLE"]  # docker's own place for a registry's CA
        certs = tmp_path / "certs.d" / secure.address
        certs.mkdir(parents=True)
        shutil.copy(cert_path, certs / "ca.crt")
        env["PARITY_DOCKER_CERTS_D"] = str(tmp_path / "certs.d")
        env["PARITY_CACHE_DIR"] = str(tmp_path / "certs-cache")
        result = parity("probe", source, env=env)
        assert result.returncode == 0, result.stderr
        del env["PARITY_DOCKER_CERTS_D"]  # untrusted: plain HTTP is tried next, and refused
        env["PARITY_CACHE_DIR"] = str(tmp_path / "other-cache")
        result = parity("probe", source, env=env)
        assert result.returncode == 2
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert "TLS failed (certificate not trusted)" in result.stderr
    finally:
        secure.remove()


def test_check_against_a_registry_image_reports_drift(
    base_image: Any, registry: LocalRegistry, tmp_path: Path
) -> None:
    remote = registry.push(base_image("3.11"), "check/app:1")
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("six==1.16.0\n")
    env = {"PARITY_CACHE_DIR": str(tmp_path / "cache"), "DOCKER_CONFIG": str(tmp_path)}
    result = parity(
        "check",
        "--local",
        f"requirements:{requirements}",
        "--container",
        f"registry:{remote}",
        "--format",
        "json",
        env=env,
    )
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert report["sides"][1]["kind"] == "registry"
    rows = {row["name"]: row for row in report["packages"]}
    assert rows["six"]["status"] == "missing" and rows["six"]["missing_from"] == ["container"]


@pytest.mark.parametrize("target", list(LOCATE_EXPECTED))
def test_registry_read_picks_the_python_the_command_runs(
    docker_client: Any,
    choice_images: dict[str, str],  # noqa: F811 (the fixture)
    registry: LocalRegistry,
    isolated: Path,
    target: str,
) -> None:
    """Shebang scripts, an entrypoint in front, tools' run commands, VIRTUAL_ENV, the
    working directory: the files the choice reads are kept, so it chooses as --static does."""
    image = choice_images[target]
    remote = registry.push(image, f"choices/{target}:latest")
    assert json.loads(registry_output("registry", remote)) == static_read(docker_client, image)
