"""Building an image from a Dockerfile with the engine's own layer cache."""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from parity.errors import BuildError

_CONTROL = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_FROM = re.compile(r"^\s*FROM\s+(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?", re.IGNORECASE)
_STEP = re.compile(r"^(?:Step|STEP) (\d+)/(\d+) ?: (.*)$")  # docker; podman/buildah
_LOG_TAIL_LINES = 25


@dataclass(frozen=True)
class BuildOptions:
    """What the user asked the build to do (all optional)."""

    build_args: Mapping[str, str] = field(default_factory=dict)
    target: str | None = None
    network_mode: str | None = None  # "host" when builds must reach the network through the host
    platform: str | None = None
    pull: bool = False
    context: str | None = None  # the build context of a Dockerfile (None: its layout's default)


@dataclass(frozen=True)
class BuildProgress:
    """One event of a build, for live display: a step started, or a line of output."""

    step: int | None
    total_steps: int | None
    text: str


def build_image(
    client: Any,
    context_dir: str,
    dockerfile: str,
    options: BuildOptions,
    on_progress: Callable[[BuildProgress], None] | None = None,
) -> str:
    """Build ``dockerfile`` in ``context_dir`` and return the image ID (``sha256:...``).

    Nothing is tagged and nothing is pulled unless ``options.pull``. Intermediate
    containers are removed even when a step fails.
    """
    from docker.errors import APIError, DockerException

    if not options.pull:
        _require_local_bases(client, dockerfile, options)
    tail: deque[str] = deque(maxlen=_LOG_TAIL_LINES)
    image_id: str | None = None
    step: int | None = None
    total: int | None = None
    try:
        stream = client.api.build(
            path=context_dir,
            dockerfile=dockerfile,
            buildargs=dict(options.build_args) or None,
            target=options.target,
            network_mode=options.network_mode,
            platform=options.platform,
            pull=options.pull,
            rm=True,
            forcerm=True,
            decode=True,
        )
        for event in stream:
            if "error" in event or "errorDetail" in event:
                detail = event.get("errorDetail") or {}
                message = str(detail.get("message") or event.get("error") or "build failed")
                raise BuildError(_failure_message(dockerfile, message, step), tuple(tail))
            aux = event.get("aux")
            if isinstance(aux, dict) and isinstance(aux.get("ID"), str):
                image_id = aux["ID"]
            text = event.get("stream") or event.get("status") or ""
            for raw_line in str(text).splitlines():
                line = _CONTROL.sub("", raw_line).rstrip()  # no terminal escapes from RUN steps
                if not line:
                    continue
                tail.append(line)
                match = _STEP.match(line)
                if match:
                    step, total = int(match.group(1)), int(match.group(2))
                if on_progress is not None:
                    on_progress(BuildProgress(step, total, line))
                if image_id is None and line.startswith("Successfully built "):
                    image_id = line.split()[-1]
    except BuildError:
        raise
    except APIError as error:
        reason = error.explanation if isinstance(error.explanation, str) else str(error)
        raise BuildError(_failure_message(dockerfile, reason, step), tuple(tail)) from error
    except (DockerException, OSError) as error:
        reason = f"lost the connection to the engine ({type(error).__name__})"
        raise BuildError(_failure_message(dockerfile, reason, step), tuple(tail)) from error
    if image_id is None:
        raise BuildError(f"building {dockerfile} produced no image", tuple(tail))
    return image_id if image_id.startswith("sha256:") else _full_id(client, image_id)


def base_images(dockerfile_text: str, build_args: Mapping[str, str]) -> list[str]:
    """The images a Dockerfile's FROM lines name (stages and ``scratch`` left out).

    ``${ARG}`` and ``$ARG`` are filled from the build args and the ARG defaults before
    the first FROM; a reference still holding a ``$`` is left out (the builder decides).
    """
    defaults: dict[str, str] = {}
    stages: set[str] = set()
    images: list[str] = []
    seen_from = False
    for line in _logical_lines(dockerfile_text):
        words = line.split(None, 1)
        if not words:
            continue
        instruction = words[0].upper()
        if instruction == "ARG" and not seen_from and len(words) > 1:
            name, _, value = words[1].strip().partition("=")
            defaults[name] = value.strip().strip('"')
        match = _FROM.match(line) if instruction == "FROM" else None
        if match is None:
            continue
        seen_from = True
        reference = _substitute(match.group(1), {**defaults, **build_args})
        if match.group(2):
            stages.add(match.group(2).lower())
        if "$" in reference or reference.lower() in stages or reference == "scratch":
            continue
        images.append(reference)
    return images


def _substitute(text: str, values: Mapping[str, str]) -> str:
    """``${NAME}`` and ``$NAME`` replaced from ``values``; unknown names left as they are."""
    return re.sub(
        r"\$\{(\w+)\}|\$(\w+)",
        lambda match: values.get(match.group(1) or match.group(2), match.group(0)),
        text,
    )


def _logical_lines(text: str) -> list[str]:
    """Dockerfile lines with backslash continuations joined and comments dropped."""
    lines: list[str] = []
    current = ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if stripped.startswith("#") and not current:
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        lines.append(current + stripped)
        current = ""
    if current:
        lines.append(current)
    return lines


def _require_local_bases(client: Any, dockerfile: str, options: BuildOptions) -> None:
    """A base image the engine lacks is an error here: parity pulls only with --pull."""
    from docker.errors import ImageNotFound

    try:
        with open(dockerfile, encoding="utf-8", errors="replace") as stream:
            text = stream.read()
    except OSError:
        return  # the build reports it
    for image in base_images(text, options.build_args):
        try:
            client.api.inspect_image(image)
        except ImageNotFound:
            raise BuildError(
                f"building {dockerfile}: base image {image} is not in the engine "
                "(parity does not pull unless --pull is given)"
            ) from None


def _full_id(client: Any, short_id: str) -> str:
    return str(client.api.inspect_image(short_id)["Id"])


def _failure_message(dockerfile: str, reason: str, step: int | None) -> str:
    reason = " ".join(reason.split())
    if "--mount" in reason or "BuildKit" in reason or "heredoc" in reason.lower():
        reason += " (this Dockerfile needs BuildKit, which this engine's API build does not offer)"
    where = f" at step {step}" if step else ""
    return f"building {dockerfile} failed{where}: {reason}"
