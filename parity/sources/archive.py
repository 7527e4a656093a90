"""``archive:PATH``: an image from a ``docker save`` tarball or an OCI layout, no engine."""

from __future__ import annotations

from parity.model import Environment
from parity.sources.container import ContainerOptions, ProgressCallback
from parity.sources.registry import load_stored_image


def load_archive(
    ref: str, options: ContainerOptions, on_progress: ProgressCallback | None = None
) -> Environment:
    return load_stored_image("archive", ref, options, on_progress)
