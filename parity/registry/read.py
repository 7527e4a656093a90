"""``registry:`` and ``archive:`` sides: resolve, check the cache, stream, read statically.

The probe cache is keyed by the manifest's digest (content-addressed, so the same digest
gives the same answer). A tag costs one manifest request when warm; a digest none, since
what an index resolved to for a platform is cached beside it.
"""

from __future__ import annotations

import hashlib
import json
import platform as host_platform
import posixpath
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from parity.cache import ProbeCache, cache_dir, probe_key
from parity.errors import ParityError, SourceError
from parity.model import Environment
from parity.registry.client import RegistryClient, StreamBroken
from parity.registry.layers import Readable
from parity.registry.manifest import (
    Descriptor,
    ImageManifest,
    host_platform_text,
    image_manifest,
    is_index,
    load_json,
    media_type_of,
    pick_platform,
)
from parity.registry.reference import Reference, parse_reference

METHOD = "\0layers"
_CONFIG_CAP = 16 * 1024 * 1024


class RegistryImage:
    """One image in a registry, resolved for a platform."""

    def __init__(self, reference: Reference, cache: ProbeCache | None) -> None:
        self.reference = reference
        self.client = RegistryClient(reference)
        self.subject = f"registry image {reference}"
        self.cache = cache
        self.requests = 0  # manifest and blob requests made (the cache tests count them)
        self.remembered_config: str | None = None

    def close(self) -> None:
        self.client.close()

    def resolve(self, platform: str | None) -> tuple[str, ImageManifest | None, str]:
        """(manifest digest, manifest or None when a cached resolution made it unneeded, note)."""
        wanted = platform or host_platform_text()
        if self.reference.digest:
            remembered = self._remembered(self.reference.digest, wanted)
            if remembered is not None:
                return remembered
            body, media_type = self._manifest(self.reference.digest)
            top = self.reference.digest
        else:
            body, media_type = self._manifest(self.reference.target)
            top = "sha256:" + hashlib.sha256(body).hexdigest()
            remembered = self._remembered(top, wanted)
            if remembered is not None:
                return remembered
        document = load_json(body, self.subject)
        picked = ""
        digest = top
        if is_index(media_type_of(document, media_type)):
            entries = [
                Descriptor.from_json(item, self.subject) for item in document.get("manifests") or []
            ]
            chosen, picked = pick_platform(entries, platform, self.subject)
            digest = chosen.digest
            body, media_type = self._manifest(digest)
            document = load_json(body, self.subject)
            if is_index(media_type_of(document, media_type)):
                raise SourceError(
                    "an index inside an index; name the image by its digest", self.subject
                )
        manifest = image_manifest(document, self.subject)
        self._remember(top, wanted, digest, picked, manifest)
        return digest, manifest, picked

    def manifest_of(self, digest: str) -> ImageManifest:
        body, _ = self._manifest(digest)
        return image_manifest(load_json(body, self.subject), self.subject)

    def _manifest(self, target: str) -> tuple[bytes, str]:
        self.requests += 1
        body, media_type, _ = self.client.manifest(target)
        return body, media_type

    def _resolution_key(self, top: str, wanted: str) -> str:
        return hashlib.sha256(f"registry-resolution\0{top}\0{wanted}".encode()).hexdigest()

    def _remembered(self, top: str, wanted: str) -> tuple[str, None, str] | None:
        if self.cache is None:
            return None
        found = self.cache.get(self._resolution_key(top, wanted))
        try:
            data = json.loads(found) if found else None
            if not data:
                return None
            self.remembered_config = str(data["config"])
            return str(data["manifest"]), None, str(data["picked"])
        except (ValueError, KeyError, TypeError):
            return None

    def _remember(
        self, top: str, wanted: str, digest: str, picked: str, manifest: ImageManifest
    ) -> None:
        if self.cache is not None:
            entry = {"manifest": digest, "picked": picked, "config": manifest.config.digest}
            self.cache.put(self._resolution_key(top, wanted), json.dumps(entry).encode())

    @contextmanager
    def blob(self, descriptor: Descriptor) -> Iterator[Readable]:
        self.requests += 1
        with self.client.blob(descriptor.digest) as stream:
            yield stream


def open_source(kind: str, ref: str, cache: ProbeCache | None) -> Any:
    if kind == "registry":
        return RegistryImage(parse_reference(ref), cache)
    from parity.registry.archive import ArchiveImage

    return ArchiveImage(ref)


def read_image(
    source: Any,
    manifest: ImageManifest,
    *,
    python: str | None,
    environment: dict[str, str],
    on_layer: Callable[[int, int], None] | None = None,
) -> bytes:
    """What the probe would print for the image: its config, its layers, the static reader."""
    from parity.probe.image_files import pythonpath_entries
    from parity.probe.image_reader import ImageReader
    from parity.probe.interpreter_choice import ImageFacts
    from parity.registry.layers import ImageTree, LayerFiles, read_layer

    with source.blob(manifest.config) as stream:
        config_bytes = stream.read(_CONFIG_CAP + 1)
    computed = "sha256:" + hashlib.sha256(config_bytes).hexdigest()
    if manifest.config.digest.startswith("sha256:") and computed != manifest.config.digest:
        raise SourceError("the image config does not match its digest", source.subject)
    config = load_json(config_bytes, f"{source.subject}: config")
    if str(config.get("os") or "linux") != "linux":
        raise SourceError(
            f"is a {config.get('os')} image; parity reads Linux images", source.subject
        )
    facts = ImageFacts.from_config(
        config.get("config") or {}, str(config.get("architecture") or ""), environment
    )
    keep_also = frozenset(pythonpath_entries(facts.env))
    programs = frozenset(posixpath.basename(word) for word in facts.program if word)
    tree = ImageTree(keep_also, programs)
    for number, layer in enumerate(manifest.layers, 1):
        label = f"{source.subject}: layer {number} ({layer.digest[:19] or layer.path})"
        if on_layer is not None:
            on_layer(number, len(manifest.layers))
        with source.blob(layer) as raw:
            read_layer(tree, raw, layer.digest, layer.size, label)
    files = LayerFiles(tree, source.subject)
    return bytes(ImageReader(files, facts, host_platform.release()).read(python))


def load_image_side(
    kind: str,
    ref: str,
    *,
    python: str | None = None,
    environment: dict[str, str] | None = None,
    platform: str | None = None,
    use_cache: bool = True,
    on_progress: Callable[[str, str], None] | None = None,
) -> Environment:
    """``registry:REF`` or ``archive:PATH`` as an installed-level Environment (no engine)."""
    from parity.probe.parse import PROBE_SOURCE, parse_probe_output

    environment = dict(environment or {})
    cache = ProbeCache(cache_dir())
    source = open_source(kind, ref, cache if use_cache else None)
    try:
        try:
            digest, manifest, picked = source.resolve(platform)
            short = digest.split(":", 1)[-1][:12]
            description = f"{source.subject} (manifest {short}" + (
                f", {picked})" if picked else ")"
            )
            note = f" ({picked})" if picked else ""
            key = probe_key(digest, python, environment, PROBE_SOURCE + METHOD)
            output = cache.get(key) if use_cache else None
            if output is not None:
                if on_progress is not None:
                    on_progress("cached", f"{kind}:{ref}{note}")
            else:
                if manifest is None:
                    manifest = source.manifest_of(digest)
                if on_progress is not None:
                    count = len(manifest.layers)
                    layers = f"{count} layer{'s' if count != 1 else ''}"
                    on_progress("probe", f"{kind}:{ref}{note}, {layers}")
                shown = on_progress

                def on_layer(number: int, count: int) -> None:
                    if shown is not None and count > 1:
                        shown("probe", f"{kind}:{ref}{note}, layer {number} of {count}")

                output = read_image(
                    source, manifest, python=python, environment=environment, on_layer=on_layer
                )
                cache.put(key, output)
        except StreamBroken as error:
            raise SourceError(
                f"the registry stopped sending mid-read ({error})", source.subject
            ) from None
    finally:
        source.close()
    try:
        parsed = parse_probe_output(output, kind=kind, ref=ref, description=description)
    except ParityError as error:
        raise type(error)(f"{description}: {error}") from error
    if manifest is not None:
        image_id = manifest.config.digest
    else:
        image_id = getattr(source, "remembered_config", None) or digest
    return replace(parsed, image_id=image_id)
