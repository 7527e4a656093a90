"""``--static`` through the engine: an image's installed distributions, read from its files;
nothing is started.

A container is created (never started) so the engine's archive API can read the image's
file system; it is removed in ``finally``. What is read, and how, is
:class:`parity.probe.image_reader.ImageReader`'s (pure) business.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from parity.engine.client import api_of
from parity.engine.interpreters import image_facts, scout_container
from parity.model import Environment
from parity.probe.image_reader import ImageReader
from parity.probe.interpreter_choice import (
    InterpreterCandidate,
    RunOverrides,
    locate_interpreter,
)

STATIC_TIMEOUT_SECONDS = 120.0


def static_probe_output(
    client: Any,
    image: str,
    *,
    python: str | None = None,
    environment: Mapping[str, str] | None = None,
    platform: str | None = None,
    timeout: float = STATIC_TIMEOUT_SECONDS,
    runs: RunOverrides | None = None,
) -> tuple[bytes, InterpreterCandidate]:
    """What the probe would print for ``image``, read from its files without starting it,
    and the interpreter it was read for (chosen as a run would choose it)."""
    facts = image_facts(client, image, environment or {}, runs)
    kernel = _kernel_release(client)
    deadline = time.monotonic() + timeout
    with scout_container(client, image, platform=platform, deadline=deadline) as files:
        reader = ImageReader(files, facts, kernel)
        interpreter = locate_interpreter(files, facts, python)
        return reader.read_for(interpreter), interpreter


def static_environment(
    client: Any,
    image_id: str,
    *,
    python: str | None = None,
    environment: Mapping[str, str] | None = None,
    platform: str | None = None,
    kind: str = "image",
    ref: str | None = None,
    description: str = "",
) -> Environment:
    """The installed-level Environment of ``image_id``, read statically (nothing started)."""
    from parity.probe.parse import parse_probe_output

    output, _ = static_probe_output(
        client, image_id, python=python, environment=environment, platform=platform
    )
    parsed = parse_probe_output(output, kind=kind, ref=ref or image_id, description=description)
    return replace(parsed, image_id=image_id)


def _kernel_release(client: Any) -> str:
    """The engine's kernel: what platform.release() says in any of its containers."""
    try:
        return str(api_of(client).version().get("KernelVersion") or "")
    except Exception:  # a fact for markers only; never worth failing over
        return ""
