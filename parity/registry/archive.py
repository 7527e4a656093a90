"""Image archives: ``docker save`` tarballs (Docker's format, and the OCI layout Docker 25+
writes inside it), OCI image layout directories and tarballs (``buildx --output type=oci``).

``archive:PATH`` reads the one image the archive holds; ``archive:PATH@NAME`` picks one of
several by its name (``myapp:latest``, as ``docker save`` or the layout's annotations say).
A tarball is read in place: its members are found by their headers, and only the
manifests, the config and the layers are read.
"""

from __future__ import annotations

import hashlib
import os
import tarfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, BinaryIO

from parity.errors import SourceError
from parity.registry.manifest import (
    Descriptor,
    ImageManifest,
    image_manifest,
    is_index,
    load_json,
    media_type_of,
    pick_platform,
)

_NAME_ANNOTATIONS = ("io.containerd.image.name", "org.opencontainers.image.ref.name")
_CONFIG_CAP = 16 * 1024 * 1024


class ArchiveStore:
    """Named files of an archive: a directory, or a tarball read in place."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.label = f"archive {path}"
        self._tar: tarfile.TarFile | None = None
        self._members: dict[str, tarfile.TarInfo] = {}
        if os.path.isdir(path):
            return
        try:
            self._tar = tarfile.open(path, "r:*")  # noqa: SIM115 (closed by close())
            for member in self._tar.getmembers():
                name = os.path.normpath(member.name).lstrip("/")
                self._members[name] = member
        except FileNotFoundError:
            raise SourceError("no such file", path) from None
        except (tarfile.TarError, OSError, EOFError) as error:
            raise SourceError(
                f"is not an image archive (a tar or a directory): {error}", path
            ) from None

    def close(self) -> None:
        if self._tar is not None:
            self._tar.close()

    def exists(self, name: str) -> bool:
        if self._tar is None:
            return os.path.isfile(os.path.join(self.path, name))
        return name in self._members

    @contextmanager
    def open(self, name: str) -> Iterator[BinaryIO]:
        if self._tar is None:
            try:
                with open(os.path.join(self.path, name), "rb") as stream:
                    yield stream
            except FileNotFoundError:
                raise SourceError(f"has no {name}", self.label) from None
            return
        member = self._members.get(name)
        while member is not None and (member.issym() or member.islnk()):
            target = os.path.normpath(os.path.join(os.path.dirname(name), member.linkname))
            member = self._members.get(member.linkname if member.islnk() else target)
        extracted = self._tar.extractfile(member) if member is not None else None
        if extracted is None:
            raise SourceError(f"has no {name}", self.label)
        with extracted:
            yield extracted  # type: ignore[misc]

    def read(self, name: str, cap: int = _CONFIG_CAP) -> bytes:
        with self.open(name) as stream:
            data = stream.read(cap + 1)
        if len(data) > cap:
            raise SourceError(f"{name} is larger than {cap} bytes", self.label)
        return data


def blob_name(digest: str) -> str:
    algorithm, _, encoded = digest.partition(":")
    return f"blobs/{algorithm}/{encoded}"


class ArchiveImage:
    """One image of an archive: its manifest (found, not fetched) and its blobs."""

    def __init__(self, ref: str) -> None:
        path, name = ref, ""
        if not os.path.exists(ref) and "@" in ref:
            path, _, name = ref.rpartition("@")
        self.store = ArchiveStore(path)
        self.wanted_name = name
        self.subject = f"archive {path}" + (f"@{name}" if name else "")

    def close(self) -> None:
        self.store.close()

    def resolve(self, platform: str | None) -> tuple[str, ImageManifest, str]:
        """(key digest, manifest, how it was picked)."""
        if self.store.exists("index.json"):
            return self._resolve_oci(platform)
        if self.store.exists("manifest.json"):
            return self._resolve_docker()
        raise SourceError(
            "is neither an OCI image layout (index.json) nor a docker save archive (manifest.json)",
            self.subject,
        )

    def _resolve_oci(self, platform: str | None) -> tuple[str, ImageManifest, str]:
        index = load_json(self.store.read("index.json"), f"{self.subject}: index.json")
        entries = [
            Descriptor.from_json(item, self.subject) for item in index.get("manifests") or []
        ]
        names = [_name_of(item) for item in index.get("manifests") or []]
        chosen = self._choose(entries, names)
        picked = ""
        descriptor = chosen
        for _ in range(
            4
        ):  # an index may point at another index (docker save of a multi-platform image)
            body = self._blob_bytes(descriptor)
            document = load_json(body, f"{self.subject}: {descriptor.digest}")
            media_type = media_type_of(document, descriptor.media_type)
            if not is_index(media_type):
                return descriptor.digest, image_manifest(document, self.subject), picked
            entries = [
                Descriptor.from_json(item, self.subject) for item in document.get("manifests") or []
            ]
            descriptor, picked = pick_platform(entries, platform, self.subject)
        raise SourceError("indexes nest too deep", self.subject)

    def _choose(self, entries: list[Descriptor], names: list[str]) -> Descriptor:
        if self.wanted_name:
            for entry, name in zip(entries, names):
                if self.wanted_name in (name, name.rsplit("/", 1)[-1], _short_name(name)):
                    return entry
            raise SourceError(
                f"holds no image named {self.wanted_name} (it has {', '.join(names)})", self.subject
            )
        if len(entries) == 1:
            return entries[0]
        if not entries:
            raise SourceError("holds no image", self.subject)
        listed = ", ".join(name or entry.digest for entry, name in zip(entries, names))
        raise SourceError(
            f"holds {len(entries)} images ({listed}); write archive:PATH@NAME", self.subject
        )

    def _blob_bytes(self, descriptor: Descriptor) -> bytes:
        body = self.store.read(blob_name(descriptor.digest))
        if "sha256:" + hashlib.sha256(body).hexdigest() != descriptor.digest:
            raise SourceError(f"blob {descriptor.digest} does not match its digest", self.subject)
        return body

    def _resolve_docker(self) -> tuple[str, ImageManifest, str]:
        data: Any = load_json(
            b'{"images": ' + self.store.read("manifest.json") + b"}", self.subject
        )
        images = data["images"] if isinstance(data["images"], list) else []
        names = [", ".join(item.get("RepoTags") or []) for item in images if isinstance(item, dict)]
        if not images:
            raise SourceError("manifest.json lists no image", self.subject)
        position = 0
        if self.wanted_name:
            matches = [
                i
                for i, item in enumerate(images)
                if self.wanted_name in (item.get("RepoTags") or [])
            ]
            if not matches:
                raise SourceError(
                    f"holds no image named {self.wanted_name} (it has {'; '.join(names)})",
                    self.subject,
                )
            position = matches[0]
        elif len(images) > 1:
            raise SourceError(
                f"holds {len(images)} images ({'; '.join(names)}); write archive:PATH@NAME",
                self.subject,
            )
        entry = images[position]
        config_name = str(entry.get("Config") or "")
        config = self.store.read(config_name)
        digest = "sha256:" + hashlib.sha256(config).hexdigest()
        layers = tuple(
            Descriptor("", _digest_of_path(str(name)), 0, path=str(name))
            for name in entry.get("Layers") or []
        )
        config_descriptor = Descriptor("", digest, len(config), path=config_name)
        return digest, ImageManifest(config_descriptor, layers), ""

    @contextmanager
    def blob(self, descriptor: Descriptor) -> Iterator[BinaryIO]:
        if descriptor.path:
            with self.store.open(descriptor.path) as stream:
                yield stream
            return
        with self.store.open(blob_name(descriptor.digest)) as stream:
            yield stream


def _digest_of_path(name: str) -> str:
    """``blobs/sha256/HEX`` names its digest; the older ``ID/layer.tar`` does not."""
    parts = name.split("/")
    if len(parts) == 3 and parts[0] == "blobs":
        return f"{parts[1]}:{parts[2]}"
    return ""


def _name_of(item: Any) -> str:
    annotations = item.get("annotations") if isinstance(item, dict) else None
    if isinstance(annotations, dict):
        for key in _NAME_ANNOTATIONS:
            if annotations.get(key):
                return str(annotations[key])
    return ""


def _short_name(name: str) -> str:
    """``docker.io/library/app:1`` -> ``app:1``."""
    for prefix in ("docker.io/library/", "docker.io/"):
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name
