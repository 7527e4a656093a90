"""Source references (``KIND:REF``) and how a bare path's kind is inferred.

Each kind is read by its own module in this package; see :mod:`parity.sources.load`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from parity.errors import UsageError

LOCAL_KINDS = (
    "venv",
    "python",
    "requirements",
    "pipfile",
    "pipfile-lock",
    "pyproject",
    "poetry-lock",
    "uv-lock",
    "pylock",
    "snapshot",
)
CONTAINER_KINDS = ("dockerfile", "image", "container", "compose", "registry", "archive")
KINDS = LOCAL_KINDS + CONTAINER_KINDS

_PYLOCK = re.compile(r"^pylock\.([^.]+\.)?toml$")


@dataclass(frozen=True)
class SourceRef:
    """A parsed ``KIND:REF``."""

    kind: str
    ref: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.ref}"

    @property
    def is_container(self) -> bool:
        return self.kind in CONTAINER_KINDS


def parse_source(text: str) -> SourceRef:
    """Parse ``KIND:REF``, or infer the kind from a path where that is unambiguous."""
    kind, sep, ref = text.partition(":")
    if sep and kind in KINDS:
        if not ref:
            raise UsageError(f"source {text!r} names no {kind}")
        return SourceRef(kind, ref)
    inferred = infer_kind(text)
    if inferred is None:
        raise UsageError(
            f"cannot tell what kind of source {text!r} is; write KIND:{text} "
            f"with KIND one of {', '.join(KINDS)}"
        )
    return SourceRef(inferred, text)


def infer_kind(path: str) -> str | None:
    """The source kind a path's name makes clear, or None."""
    name = os.path.basename(os.path.normpath(path))
    lowered = name.lower()
    if os.path.isdir(path):
        if os.path.isfile(os.path.join(path, "pyvenv.cfg")):
            return "venv"
        if os.path.isfile(os.path.join(path, "oci-layout")):
            return "archive"  # an OCI image layout
        return None
    by_name = {
        "pipfile": "pipfile",
        "pipfile.lock": "pipfile-lock",
        "pyproject.toml": "pyproject",
        "poetry.lock": "poetry-lock",
        "uv.lock": "uv-lock",
    }
    if lowered in by_name:
        return by_name[lowered]
    if _PYLOCK.match(lowered):
        return "pylock"
    if (
        lowered == "dockerfile"
        or lowered.endswith(".dockerfile")
        or lowered.startswith("dockerfile.")
    ):
        return "dockerfile"
    if lowered.endswith((".txt", ".in")) and (
        "requirements" in lowered or "constraints" in lowered
    ):
        return "requirements"
    if lowered.endswith(".json"):
        return "snapshot"
    if lowered.endswith((".tar", ".tar.gz", ".tgz")):
        return "archive"  # docker save, or an OCI layout in a tarball
    if lowered.startswith(("python", "pypy")) and os.path.isfile(path) and os.access(path, os.X_OK):
        return "python"
    return None
