"""Manifests, indexes and the platform an index is read for."""

from __future__ import annotations

import json
import platform as host_platform
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from parity.errors import SourceError, UsageError

INDEX_TYPES = frozenset(
    {
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    }
)
IMAGE_TYPES = frozenset(
    {
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    }
)
# uname's names -> the OCI / Go names docker uses (and the variant it implies).
_ARCHES = {
    "x86_64": ("amd64", ""),
    "amd64": ("amd64", ""),
    "aarch64": ("arm64", ""),
    "arm64": ("arm64", ""),
    "armv7l": ("arm", "v7"),
    "armv6l": ("arm", "v6"),
    "i386": ("386", ""),
    "i686": ("386", ""),
}


@dataclass(frozen=True)
class Descriptor:
    media_type: str
    digest: str
    size: int
    platform: str = ""  # "linux/arm64/v8" in an index
    path: str = ""  # a file of a docker save archive (its older format names no blob)

    @classmethod
    def from_json(cls, data: Any, where: str) -> Descriptor:
        if not isinstance(data, Mapping) or not isinstance(data.get("digest"), str):
            raise SourceError("a manifest entry has no digest", where)
        found = data.get("platform")
        text = ""
        if isinstance(found, Mapping):
            parts = [str(found.get("os") or ""), str(found.get("architecture") or "")]
            if found.get("variant"):
                parts.append(str(found["variant"]))
            text = "/".join(parts)
        size = data.get("size")
        return cls(str(data.get("mediaType") or ""), data["digest"], int(size or 0), text)


@dataclass(frozen=True)
class ImageManifest:
    config: Descriptor
    layers: tuple[Descriptor, ...]


def load_json(body: bytes, where: str) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except ValueError:
        raise SourceError("not valid JSON", where) from None
    if not isinstance(data, dict):
        raise SourceError("not a JSON object", where)
    return data


def media_type_of(document: Mapping[str, Any], header: str = "") -> str:
    """The document's own mediaType, else the one the server said, else by its shape."""
    found = document.get("mediaType") or header
    if isinstance(found, str) and found and found != "application/json":
        return found
    if "manifests" in document:
        return "application/vnd.oci.image.index.v1+json"
    if "layers" in document:
        return "application/vnd.oci.image.manifest.v1+json"
    return str(found or "")


def is_index(media_type: str) -> bool:
    return media_type in INDEX_TYPES


def image_manifest(document: Mapping[str, Any], where: str) -> ImageManifest:
    if document.get("schemaVersion") == 1:
        raise SourceError("a schema 1 manifest (deprecated by docker); push it again", where)
    layers = document.get("layers")
    if not isinstance(layers, list):
        raise SourceError("the manifest lists no layers", where)
    return ImageManifest(
        Descriptor.from_json(document.get("config"), where),
        tuple(Descriptor.from_json(layer, where) for layer in layers),
    )


def normalise_platform(text: str) -> tuple[str, str, str]:
    """``linux/aarch64`` -> (linux, arm64, ""); ``linux/arm64/v8`` -> (linux, arm64, "")."""
    parts = text.strip().lower().split("/")
    if len(parts) < 2 or not all(parts[:2]):
        raise UsageError(f"--platform {text!r}: write OS/ARCH[/VARIANT], e.g. linux/amd64")
    os_name, arch = parts[0], parts[1]
    arch, implied = _ARCHES.get(arch, (arch, ""))
    variant = parts[2] if len(parts) > 2 else implied
    if arch == "arm64" and variant == "v8":
        variant = ""
    return os_name, arch, variant


def host_platform_text() -> str:
    """This machine's platform as docker names it (``x86_64`` is ``amd64``)."""
    arch, variant = _ARCHES.get(host_platform.machine().lower(), (host_platform.machine(), ""))
    return "/".join(["linux", arch, *([variant] if variant else [])])


def pick_platform(
    entries: Sequence[Descriptor], wanted: str | None, where: str
) -> tuple[Descriptor, str]:
    """The entry for ``wanted`` (else this machine's platform), and why it was picked."""
    images = [
        entry for entry in entries if entry.platform and not entry.platform.startswith("unknown/")
    ]
    target = wanted or host_platform_text()
    os_name, arch, variant = normalise_platform(target)
    for entry in images:
        entry_os, entry_arch, entry_variant = normalise_platform(entry.platform)
        if (entry_os, entry_arch) == (os_name, arch) and (not variant or variant == entry_variant):
            how = "--platform" if wanted else "this machine's platform"
            return entry, f"{entry.platform} of {len(images)} platforms, by {how}"
    offered = ", ".join(entry.platform for entry in images) or "none"
    raise SourceError(
        f"the image index has no {target} image (it has {offered}); choose one with --platform",
        where,
    )
