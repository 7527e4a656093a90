"""``snapshot:FILE``: an Environment saved by ``parity snapshot`` (schema parity.snapshot/1)."""

from __future__ import annotations

import json
from dataclasses import replace

from parity.errors import SourceError
from parity.model import Environment, Location
from parity.snapshot import SnapshotFormatError, environment_from_dict

MAX_SNAPSHOT_BYTES = 64 * 1024 * 1024


class SnapshotError(SourceError):
    """A snapshot file that cannot be read or is not a valid parity.snapshot/1."""


def load_snapshot(path: str) -> Environment:
    """Read and validate a snapshot; its packages compare as pins (the saved versions)."""
    try:
        with open(path, "rb") as stream:
            raw = stream.read(MAX_SNAPSHOT_BYTES + 1)
    except OSError as error:
        raise SnapshotError(error.strerror or "cannot read", path) from error
    if len(raw) > MAX_SNAPSHOT_BYTES:
        raise SnapshotError("larger than 64 MiB; not a snapshot", path)
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise SnapshotError(f"not UTF-8 (byte {error.start})", path) from error
    except json.JSONDecodeError as error:
        raise SnapshotError(f"invalid JSON: {error.msg}", Location(path, error.lineno)) from error
    except RecursionError as error:
        raise SnapshotError("invalid JSON: nested too deeply", path) from error
    try:
        environment = environment_from_dict(data)
    except SnapshotFormatError as error:
        raise SnapshotError(str(error), path) from error
    description = environment.description or f"{environment.kind}:{environment.ref}"
    return replace(
        environment,
        kind="snapshot",
        ref=path,
        description=f"snapshot of {description}",
    )
