"""The pure parts of registry: and archive: reading: references, credentials, platforms,
challenges, and layers merged with whiteouts (in-memory tars)."""

from __future__ import annotations

import base64
import io
import json
import tarfile
from pathlib import Path

import pytest

from parity.errors import SourceError, UsageError
from parity.registry.auth import find_credentials
from parity.registry.client import is_loopback, parse_challenge
from parity.registry.layers import ImageTree, LayerFiles
from parity.registry.manifest import Descriptor, normalise_platform, pick_platform
from parity.registry.reference import parse_reference


@pytest.mark.parametrize(
    ("text", "host", "repository", "tag", "digest"),
    [
        ("python:3.11", "docker.io", "library/python", "3.11", None),
        ("org/app", "docker.io", "org/app", "latest", None),
        ("ghcr.io/org/app:prod", "ghcr.io", "org/app", "prod", None),
        ("127.0.0.1:5000/app", "127.0.0.1:5000", "app", "latest", None),
        ("localhost/a/b:1", "localhost", "a/b", "1", None),
        ("host:5000/app@sha256:" + "a" * 64, "host:5000", "app", None, "sha256:" + "a" * 64),
        ("reg.example/app:1@sha256:" + "b" * 64, "reg.example", "app", "1", "sha256:" + "b" * 64),
    ],
)
def test_references_parse_as_docker_parses_them(
    text: str, host: str, repository: str, tag: str | None, digest: str | None
) -> None:
    reference = parse_reference(text)
    assert (reference.host, reference.repository, reference.tag, reference.digest) == (
        host,
        repository,
        tag,
        digest,
    )


@pytest.mark.parametrize("text", ["Host/UPPER", "app@sha256:short", "host:5000/app:bad tag"])
def test_bad_references_are_usage_errors(text: str) -> None:
    with pytest.raises(UsageError):
        parse_reference(text)


def test_credentials_from_auths_helpers_and_none(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    encoded = base64.b64encode(b"me:secret").decode()
    config.write_text(
        json.dumps({"auths": {"https://registry.example:5000/v1/": {"auth": encoded}}})
    )
    env = {"DOCKER_CONFIG": str(tmp_path)}
    found = find_credentials("registry.example:5000", env)
    assert found is not None and (found.username, found.secret) == ("me", "secret")
    assert "secret" not in repr(found)
    assert find_credentials("other.example", env) is None
    assert find_credentials("x", {"DOCKER_CONFIG": str(tmp_path / "missing")}) is None
    config.write_text("{not json")
    with pytest.raises(SourceError, match="not valid JSON"):
        find_credentials("registry.example:5000", env)
    config.write_text(json.dumps({"credHelpers": {"registry.example": "absent-helper"}}))
    with pytest.raises(SourceError, match="docker-credential-absent-helper, which is not on PATH"):
        find_credentials("registry.example", env)


def test_challenges_platforms_and_loopback() -> None:
    scheme, params = parse_challenge(
        'Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a:pull"'
    )
    assert scheme == "bearer"
    assert params == {
        "realm": "https://auth.example/token",
        "service": "registry.example",
        "scope": "repository:a:pull",
    }
    assert normalise_platform("linux/aarch64") == ("linux", "arm64", "")
    assert normalise_platform("linux/arm64/v8") == ("linux", "arm64", "")
    entries = [
        Descriptor("m", "sha256:1", 1, "linux/amd64"),
        Descriptor("m", "sha256:2", 1, "linux/arm/v7"),
        Descriptor("m", "sha256:3", 1, "unknown/unknown"),
    ]
    assert pick_platform(entries, "linux/arm/v7", "x")[0].digest == "sha256:2"
    assert (
        pick_platform(entries, "linux/x86_64", "x")[1]
        == "linux/amd64 of 2 platforms, by --platform"
    )
    with pytest.raises(SourceError, match="has no linux/arm64 image"):
        pick_platform(entries, "linux/arm64", "x")
    assert is_loopback("localhost:5000") and is_loopback("127.0.0.2") and is_loopback("[::1]:5000")
    assert not is_loopback("registry.example:5000") and not is_loopback("10.0.0.1")


def layer(*members: tuple[str, str, bytes | str]) -> io.BytesIO:
    """A layer tar: (name, type "f" file / "d" dir / "l" symlink, content or target)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, kind, content in members:
            info = tarfile.TarInfo(name)
            if kind == "d":
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            elif kind == "l":
                info.type, info.linkname = tarfile.SYMTYPE, str(content)
                tar.addfile(info)
            else:
                data = content if isinstance(content, bytes) else content.encode()
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    buffer.seek(0)
    return buffer


def test_layers_merge_with_whiteouts_opaque_directories_and_links() -> None:
    tree = ImageTree()
    site = "usr/lib/python3/dist-packages"
    tree.apply_layer(
        layer(
            ("usr/lib/python3/dist-packages/a-1.dist-info/METADATA", "f", "Name: a\nVersion: 1\n"),
            ("usr/lib/python3/dist-packages/b-1.dist-info/METADATA", "f", "Name: b\nVersion: 1\n"),
            ("opt/venv/lib/x-1.dist-info/METADATA", "f", "Name: x\n"),
            ("etc/os-release", "l", "../usr/lib/os-release"),
            ("usr/lib/os-release", "f", 'PRETTY_NAME="Test"\n'),
            ("lib", "l", "usr/lib"),
            ("usr/bin/big-file", "f", b"x" * 5000),
        ),
        "layer 1",
    )
    tree.apply_layer(
        layer(
            (f"{site}/.wh.b-1.dist-info", "f", ""),
            ("opt/venv/.wh..wh..opq", "f", ""),
            ("opt/venv/lib/y-1.dist-info/METADATA", "f", "Name: y\n"),
        ),
        "layer 2",
    )
    files = LayerFiles(tree, "test image")
    assert files.exists(f"/{site}/a-1.dist-info/METADATA")
    assert not files.exists(f"/{site}/b-1.dist-info")
    assert not files.exists("/opt/venv/lib/x-1.dist-info")
    assert files.exists("/opt/venv/lib/y-1.dist-info/METADATA")
    assert files.read_file("/etc/os-release", 1000) == b'PRETTY_NAME="Test"\n'
    assert files.realpath("/lib/python3/dist-packages") == f"/{site}"
    assert files.read_file("/usr/bin/big-file", 100) is None  # over the cap
    assert files.read_file("/usr/bin/big-file", 10000) is None and files.missed == [
        "/usr/bin/big-file"
    ]
    with files.archive(f"/{site}") as opened:
        assert opened is not None
        with tarfile.open(fileobj=opened[0]) as tar:
            names = tar.getnames()
    assert names == ["root", "root/a-1.dist-info", "root/a-1.dist-info/METADATA"]


def test_plain_http_only_for_loopback_or_listed_hosts() -> None:
    from parity.registry.client import RegistryClient

    def schemes(reference: str, environ: dict[str, str]) -> tuple[str, ...]:
        return RegistryClient(parse_reference(reference), environ)._schemes()

    assert schemes("127.0.0.1:5000/app", {}) == ("https", "http")
    assert schemes("registry.example:5000/app", {}) == ("https",)
    listed = {"PARITY_INSECURE_REGISTRIES": "registry.example:5000, other"}
    assert schemes("registry.example:5000/app", listed) == ("https", "http")


def test_archives_are_inferred_from_their_names(tmp_path: Path) -> None:
    from parity.sources import parse_source

    layout = tmp_path / "layout"
    layout.mkdir()
    (layout / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    assert parse_source(str(layout)).kind == "archive"
    assert parse_source("image.tar").kind == "archive"
    assert parse_source("image.tar.gz").kind == "archive"
    assert parse_source("registry:ghcr.io/org/app:prod").ref == "ghcr.io/org/app:prod"


def test_gzip_members_padding_and_truncation() -> None:
    import gzip

    from parity.registry.layers import _gunzip

    packed = gzip.compress(b"first ") + gzip.compress(b"second") + b"\x00" * 1024
    assert b"".join(_gunzip(io.BytesIO(packed))) == b"first second"
    with pytest.raises(EOFError):
        b"".join(_gunzip(io.BytesIO(gzip.compress(b"x" * 100000)[:-20])))
