"""The probe cache: probe output keyed by image ID, which names immutable content.

Entries are written atomically (a temporary file renamed into place), so concurrent checks
never see half an entry; a corrupt or unreadable entry is treated as a miss.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path


def cache_dir(environ: Mapping[str, str] | None = None) -> Path:
    """$PARITY_CACHE_DIR, else $XDG_CACHE_HOME/parity, else ~/.cache/parity."""
    environ = os.environ if environ is None else environ
    if environ.get("PARITY_CACHE_DIR"):
        return Path(environ["PARITY_CACHE_DIR"])
    base = environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "parity"


def probe_key(image_id: str, python: str | None, environment: Mapping[str, str], probe: str) -> str:
    """A key naming everything the probe's answer depends on."""
    material = json.dumps(
        {
            "image": image_id,
            "python": python or "",
            "environment": sorted(environment.items()),
            "probe": hashlib.sha256(probe.encode("utf-8")).hexdigest(),
        },
        sort_keys=True,
    )
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


class ProbeCache:
    """Probe outputs on disk under ``directory/probes``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory / "probes"

    def get(self, key: str) -> bytes | None:
        try:
            return (self.directory / f"{key}.json").read_bytes()
        except OSError:
            return None

    def put(self, key: str, output: bytes) -> None:
        """Store ``output``; a cache that cannot be written is silently skipped."""
        import tempfile

        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self.directory, prefix=".tmp-", suffix=".json")
        except OSError:
            return
        try:
            with os.fdopen(handle, "wb") as stream:
                stream.write(output)
            os.replace(temporary, self.directory / f"{key}.json")
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(temporary)

    def discard(self, key: str) -> None:
        with contextlib.suppress(OSError):
            (self.directory / f"{key}.json").unlink()
