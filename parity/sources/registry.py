"""``registry:REF``: an image read from its registry, with docker's credentials, no engine."""

from __future__ import annotations

from parity.model import Environment
from parity.sources.container import ContainerOptions, ProbeEvent, ProgressCallback


def load_registry(
    ref: str, options: ContainerOptions, on_progress: ProgressCallback | None = None
) -> Environment:
    return load_stored_image("registry", ref, options, on_progress)


def load_stored_image(
    kind: str, ref: str, options: ContainerOptions, on_progress: ProgressCallback | None
) -> Environment:
    """A registry image or an image archive, read statically (see parity.registry)."""
    from parity.registry.read import load_image_side

    def progress(stage: str, detail: str) -> None:
        if on_progress is not None:
            on_progress(ProbeEvent(stage, detail=detail))

    return load_image_side(
        kind,
        ref,
        python=options.python,
        environment=dict(options.environment),
        platform=options.build.platform,
        use_cache=options.use_cache,
        on_progress=progress,
    )
