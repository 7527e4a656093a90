"""Building an image from a Dockerfile: through the user's docker CLI, else the Engine API.

With the docker CLI and buildx installed (and not Podman), builds go through ``docker
buildx build`` (:mod:`parity.engine.buildx`): BuildKit, the user's own builder and cache.
Otherwise the Engine API's builder runs (classic on Docker, buildah on Podman); a
Dockerfile that needs BuildKit then fails at once with a message naming the feature.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from parity.engine.client import api_of
from parity.engine.errors import APIError, EngineAPIError, ImageNotFound, NotFound
from parity.errors import BuildError

if TYPE_CHECKING:
    from parity.build_key import BuildKey

BUILD_KEY_LABEL = "io.parity.build-key"  # the key of the build that made the image

_CONTROL = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_FROM = re.compile(r"^\s*FROM\s+(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?", re.IGNORECASE)
_STEP = re.compile(r"^(?:Step|STEP) (\d+)/(\d+) ?: (.*)$")  # docker; podman/buildah
LOG_TAIL_LINES = 25
_REFERENCE = re.compile(r"^[a-z0-9]+(?:[._/:@-]+[a-zA-Z0-9_.+=-]+)*$")


@dataclass(frozen=True)
class BuildOptions:
    """What the user asked the build to do (all optional)."""

    build_args: Mapping[str, str] = field(default_factory=dict)
    target: str | None = None
    network_mode: str | None = None  # "host" when builds must reach the network through the host
    platform: str | None = None
    pull: bool = False
    context: str | None = None  # the build context of a Dockerfile (None: its layout's default)
    no_cache: bool = False
    secrets: tuple[str, ...] = ()  # buildx --secret specs: "id=NAME,src=PATH" or "id=NAME,env=VAR"
    timeout: float | None = None  # seconds; past it the build is stopped
    labels: Mapping[str, str] = field(default_factory=dict)  # compose's labels on its images


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
    *,
    tag: str | None = None,
) -> str:
    """Build ``dockerfile`` in ``context_dir`` and return the image ID (``sha256:...``).

    The image is tagged ``tag`` (default: :func:`image_name`), so no build leaves an
    unnamed image; the image the tag named before is removed when nothing else names it.
    Nothing is pulled unless ``options.pull``.
    """
    from parity.engine.buildx import build_with_buildx, buildx_command

    named = tag is None  # parity's own name: a plain Dockerfile (compose names its images)
    tag = tag or image_name(context_dir, dockerfile, options.target)
    text = _read_dockerfile(dockerfile)
    if not options.pull:
        _require_local_bases(client, dockerfile, text, options)
    command = None if is_podman(client) else buildx_command()
    key = _build_key(client, context_dir, dockerfile, text, options) if named and command else None
    current = _inspect(client, tag)
    previous = str(current["Id"]) if current is not None else None
    if key is not None and current is not None and _label(current) == key.value:
        return str(current["Id"])  # nothing that decides the build changed since it ran
    if key is not None and key.stable:
        options = replace(options, labels={**options.labels, BUILD_KEY_LABEL: key.value})
    if command is not None:
        image_id = build_with_buildx(
            command, context_dir, dockerfile, options, tag=tag, on_progress=on_progress
        )
    else:
        if is_podman(client):
            _refuse_what_this_podman_lacks(client, dockerfile, text)
        else:
            _refuse_buildkit_features(dockerfile, text)
        image_id = _build_with_api(client, context_dir, dockerfile, options, on_progress, tag)
    if previous is not None and previous != image_id:
        _remove_if_unnamed(client, previous)
    return image_id


def image_name(context_dir: str, dockerfile: str, target: str | None) -> str:
    """parity's name for a plain Dockerfile build: ``parity-<folder>-<hash>:<target>``.

    The folder is the build context's; the six hex digits tell apart same-named folders
    (a hash of the context's absolute path); a Dockerfile not called ``Dockerfile`` adds its
    name; the tag is the target stage, or ``latest``.
    """
    folder = os.path.abspath(context_dir)
    digest = hashlib.sha256(folder.encode("utf-8", "surrogateescape")).hexdigest()[:6]
    parts = [_name_part(os.path.basename(folder)) or "project"]
    base = os.path.basename(dockerfile)
    if base != "Dockerfile":
        parts.append(_name_part(base))
    name = "-".join(["parity", *[part for part in parts if part], digest])
    tag = re.sub(r"[^A-Za-z0-9_.-]+", "-", target or "latest").strip(".-")[:128] or "latest"
    return f"{name}:{tag}"


def _name_part(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60]


def is_podman(client: Any) -> bool:
    """Whether the engine is Podman (its API builds with buildah; parity keeps it there)."""
    cached = getattr(client, "_parity_is_podman", None)
    if cached is None:
        api = api_of(client)
        said = getattr(api, "podman", None)  # parity's own client: the engine's ping said
        if isinstance(said, bool):
            cached = said
        else:
            try:
                version = api.version()
            except (EngineAPIError, OSError):
                version = {}
            components = version.get("Components") or []
            cached = any("podman" in str(item.get("Name", "")).lower() for item in components)
        with contextlib.suppress(AttributeError):
            client._parity_is_podman = cached
    return bool(cached)


def _inspect(client: Any, reference: str) -> dict[str, Any] | None:
    try:
        info = api_of(client).inspect_image(reference)
    except (EngineAPIError, OSError):
        return None
    return info if isinstance(info, dict) and "Id" in info else None


def _label(info: Mapping[str, Any]) -> str | None:
    labels = (info.get("Config") or {}).get("Labels") or {}
    value = labels.get(BUILD_KEY_LABEL)
    return value if isinstance(value, str) else None


def _build_key(
    client: Any, context_dir: str, dockerfile: str, text: str, options: BuildOptions
) -> BuildKey | None:
    """The build's key (:mod:`parity.build_key`), or None when it cannot have one."""
    import time

    from parity.build_key import build_key, named_images, unkeyable_reason
    from parity.engine.buildx import builder_identity

    if options.pull or options.no_cache or unkeyable_reason(text) is not None:
        return None
    froms = _from_lines(text, options.build_args, keep_unresolved=True)
    unresolved = any("$" in reference for _, _, reference in froms)
    images = named_images(text, [reference for _, _, reference in froms], unresolved)
    if images is None:
        return None
    image_ids: dict[str, str] = {}
    for reference in images:
        info = _inspect(client, reference)
        if info is None:
            return None  # not in the engine: the build decides (and says so)
        image_ids[reference] = str(info["Id"])
    try:
        with open(dockerfile, "rb") as stream:
            dockerfile_bytes = stream.read()
    except OSError:
        return None
    plain = {
        "build_args": sorted(options.build_args.items()),
        "target": options.target,
        "network_mode": options.network_mode,
        "platform": options.platform,
        "secrets": options.secrets,
        "labels": sorted(options.labels.items()),
        "source_date_epoch": os.environ.get("SOURCE_DATE_EPOCH"),
    }
    return build_key(
        context_dir=context_dir,
        dockerfile=dockerfile,
        dockerfile_bytes=dockerfile_bytes,
        options=plain,
        image_ids=image_ids,
        builder=builder_identity(os.environ),
        now=time.time(),
        read_bytes=_read_bytes,
    )


def _read_bytes(path: str) -> bytes | None:
    try:
        with open(path, "rb") as stream:
            return stream.read()
    except OSError:
        return None


def _remove_if_unnamed(client: Any, image_id: str) -> None:
    """Remove an image parity's tag moved away from, unless a name or container holds it."""
    api = api_of(client)
    try:
        info = api.inspect_image(image_id)
        if info.get("RepoTags"):
            return
        api.remove_image(image_id, noprune=False)
    except (EngineAPIError, OSError):
        pass  # in use, or already gone: it stays, as after the user's own rebuild


# BuildKit-only Dockerfile features, for the API builder's message: (pattern, feature).
_BUILDKIT_FEATURES = (
    (re.compile(r"^\s*#\s*syntax\s*=", re.IGNORECASE), "the # syntax= directive"),
    (re.compile(r"^\s*RUN\s+(?:--\S+\s+)*--mount=", re.IGNORECASE), "RUN --mount"),
    (re.compile(r"^\s*(?:RUN|COPY)\b.*<<-?[\"']?\w+", re.IGNORECASE), "a heredoc"),
    (re.compile(r"^\s*(?:COPY|ADD)\s+(?:--\S+\s+)*--link\b", re.IGNORECASE), "COPY --link"),
    (re.compile(r"^\s*FROM\s+--platform=\$\{?BUILDPLATFORM", re.IGNORECASE), "$BUILDPLATFORM"),
)


def buildkit_feature(text: str) -> tuple[int, str] | None:
    """The first BuildKit-only feature in a Dockerfile: (line number, feature), or None."""
    for number, line in enumerate(text.splitlines(), start=1):
        for pattern, feature in _BUILDKIT_FEATURES:
            if pattern.search(line):
                return number, feature
    return None


def _refuse_buildkit_features(dockerfile: str, text: str) -> None:
    found = buildkit_feature(text)
    if found is not None:
        number, feature = found
        raise BuildError(
            f"{dockerfile}:{number}: uses {feature}, which needs BuildKit; parity builds with "
            "BuildKit through the docker CLI and its buildx plugin, and neither is installed "
            "here (install the docker CLI with buildx: the docker-buildx package, or Docker "
            "Desktop), so only the Engine API's classic builder is left"
        )


# Podman builds with buildah, which reads heredocs from buildah 1.33 (Podman 4.8) on.
_PODMAN_HEREDOCS = (4, 8)


def _refuse_what_this_podman_lacks(client: Any, dockerfile: str, text: str) -> None:
    """A heredoc on a Podman older than 4.8: one message, not buildah's misreading of it."""
    try:
        version = str(api_of(client).version().get("Version") or "")
    except (EngineAPIError, OSError):
        return
    numbers = tuple(int(part) for part in re.findall(r"\d+", version)[:2])
    if not numbers or numbers >= _PODMAN_HEREDOCS:
        return
    for number, line in enumerate(text.splitlines(), start=1):
        if _BUILDKIT_FEATURES[2][0].search(line):
            raise BuildError(
                f"{dockerfile}:{number}: uses a heredoc (`RUN <<EOF`), which this engine, "
                f"Podman {version}, cannot build: its builder (buildah) reads heredocs from "
                "Podman 4.8 (buildah 1.33) on. Upgrade Podman, or build with Docker"
            )


def syntax_directive(dockerfile: str) -> tuple[int, str] | None:
    """``# syntax=IMAGE`` in the Dockerfile's leading comments: (line number, IMAGE)."""
    for number, line in enumerate(_read_dockerfile(dockerfile).splitlines(), start=1):
        stripped = line.strip()
        if not stripped:
            continue
        if not stripped.startswith("#"):
            return None
        key, sep, value = stripped[1:].partition("=")
        if sep and key.strip().lower() == "syntax" and value.strip():
            return number, value.strip()
    return None


def _read_dockerfile(dockerfile: str) -> str:
    try:
        with open(dockerfile, encoding="utf-8", errors="replace") as stream:
            return stream.read()
    except OSError:
        return ""  # the build reports it


def clean_line(raw_line: str) -> str:
    """A build log line without terminal escapes or trailing blanks."""
    return _CONTROL.sub("", raw_line).rstrip()


def _build_with_api(
    client: Any,
    context_dir: str,
    dockerfile: str,
    options: BuildOptions,
    on_progress: Callable[[BuildProgress], None] | None,
    tag: str | None,
) -> str:
    """The Engine API's builder (classic on Docker, buildah on Podman), through docker-py."""
    from parity.engine.docker_py import translated, translated_iter

    tail: deque[str] = deque(maxlen=LOG_TAIL_LINES)
    image_id: str | None = None
    step: int | None = None
    total: int | None = None
    step_text = ""
    step_container = ""  # the classic builder's container for the running step
    partial = ""
    raw = api_of(client).docker_py().api  # docker-py's APIClient
    timer = _api_timer(raw, options.timeout)
    try:
        with translated():
            stream = raw.build(
                path=context_dir,
                dockerfile=dockerfile,
                tag=tag,
                buildargs=dict(options.build_args) or None,
                target=options.target,
                network_mode=options.network_mode,
                platform=options.platform,
                pull=options.pull,
                nocache=options.no_cache,
                labels=dict(options.labels) or None,
                rm=True,
                forcerm=True,
                decode=True,
            )
        for event in translated_iter(stream):
            if "error" in event or "errorDetail" in event:
                detail = event.get("errorDetail") or {}
                message = str(detail.get("message") or event.get("error") or "build failed")
                if partial.strip():
                    tail.append(clean_line(partial))
                raise BuildError(failure_message(dockerfile, message, step), tuple(tail))
            aux = event.get("aux")
            if isinstance(aux, dict) and isinstance(aux.get("ID"), str):
                image_id = aux["ID"]
            text = str(event.get("stream") or event.get("status") or "")
            # Whole lines only: a chunk may end mid-line, the rest comes in the next one.
            *complete, partial = (partial + text).split("\n")
            for raw_line in complete:
                line = clean_line(raw_line)
                if not line:
                    continue
                tail.append(line)
                match = _STEP.match(line)
                if match:
                    step, total = int(match.group(1)), int(match.group(2))
                    step_text = match.group(3)
                elif line.startswith(" ---> Running in ") or line.startswith("---> Running in "):
                    step_container = line.rsplit(" ", 1)[-1]
                if on_progress is not None:
                    on_progress(BuildProgress(step, total, line))
                if image_id is None and line.startswith("Successfully built "):
                    image_id = line.split()[-1]
    except BuildError:
        raise
    except APIError as error:
        reason = error.explanation if isinstance(error.explanation, str) else str(error)
        raise BuildError(failure_message(dockerfile, reason, step), tuple(tail)) from error
    except Exception as error:  # the connection broke (or the timer cut it)
        if timer is not None and timer.fired:
            if step_container:
                _remove_container(client, step_container)
            running = f" while running step {step}/{total}: {step_text}" if step else ""
            raise BuildError(
                f"building {dockerfile} took longer than the build timeout of "
                f"{options.timeout:g} s and was stopped{running} (raise --build-timeout, "
                "or build-timeout in [tool.parity])",
                tuple(tail),
            ) from error
        if not isinstance(error, (EngineAPIError, OSError)) and not _is_transport_error(error):
            raise
        reason = f"lost the connection to the engine ({type(error).__name__})"
        raise BuildError(failure_message(dockerfile, reason, step), tuple(tail)) from error
    finally:
        if timer is not None:
            timer.cancel()
    if image_id is None:
        raise BuildError(f"building {dockerfile} produced no image", tuple(tail))
    return image_id if image_id.startswith("sha256:") else _full_id(client, image_id)


def _remove_container(client: Any, container: str) -> None:
    """Remove the stopped build's step container now (the engine would, a moment later)."""
    import time

    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            api_of(client).remove_container(container, force=True)
        except NotFound:
            return
        except EngineAPIError:  # its removal is already in progress: wait for it
            time.sleep(0.2)
            continue
        return


def _is_transport_error(error: Exception) -> bool:
    """A requests or urllib3 error: the connection to the engine broke mid-stream."""
    module = type(error).__module__
    return module.startswith(("requests", "urllib3", "http.client"))


class _ApiTimer:
    """Cuts the build's connection when the timeout passes: the engine then cancels the
    build and (``forcerm``) removes its intermediate container, as on a Ctrl-C of
    ``docker build``. The build request's response is caught as docker-py makes it."""

    def __init__(self, api: Any, timeout: float) -> None:
        import threading

        self.fired = False
        self._api = api  # docker-py's APIClient
        self._responses: list[Any] = []
        original = self._api._post

        def post(*args: Any, **kwargs: Any) -> Any:
            response = original(*args, **kwargs)
            self._responses.append(response)
            return response

        self._api._post = post
        self._timer = threading.Timer(timeout, self._fire)
        self._timer.daemon = True
        self._timer.start()

    def _fire(self) -> None:
        import socket

        self.fired = True
        for response in self._responses:
            try:
                raw = self._api._get_raw_response_socket(response)
                getattr(raw, "_sock", raw).shutdown(socket.SHUT_RDWR)  # SocketIO wraps it
            except Exception:  # a connection that is already gone
                pass

    def cancel(self) -> None:
        self._timer.cancel()
        self._api.__dict__.pop("_post", None)


def _api_timer(api: Any, timeout: float | None) -> _ApiTimer | None:
    return _ApiTimer(api, timeout) if timeout else None


def base_images(dockerfile_text: str, build_args: Mapping[str, str]) -> list[str]:
    """The images a Dockerfile's FROM lines name (stages and ``scratch`` left out).

    ``${ARG}`` and ``$ARG`` are filled from the build args and the ARG defaults before
    the first FROM; a reference still holding a ``$`` is left out (the builder decides).
    """
    return [reference for _, _, reference in _from_lines(dockerfile_text, build_args)]


def _from_lines(
    dockerfile_text: str, build_args: Mapping[str, str], *, keep_unresolved: bool = False
) -> list[tuple[int, str, str]]:
    """(line number, the FROM line, the image reference after ARG substitution).

    An ARG declared before the first FROM with no default and no build arg is empty,
    as the builders make it (so ``python:${TAG}`` reads ``python:``). A reference still
    holding a ``$`` is left out unless ``keep_unresolved``.
    """
    values: dict[str, str] = {}
    stages: set[str] = set()
    found: list[tuple[int, str, str]] = []
    seen_from = False
    for number, line in _logical_lines(dockerfile_text):
        words = line.split(None, 1)
        if not words:
            continue
        instruction = words[0].upper()
        if instruction == "ARG" and not seen_from and len(words) > 1:
            for declaration in words[1].split():
                name, has_default, value = declaration.partition("=")
                values[name] = value.strip('"') if has_default else ""
        match = _FROM.match(line) if instruction == "FROM" else None
        if match is None:
            continue
        seen_from = True
        reference = _substitute(match.group(1), {**values, **build_args})
        if match.group(2):
            stages.add(match.group(2).lower())
        if reference.lower() in stages or reference == "scratch":
            continue
        if "$" in reference and not keep_unresolved:
            continue
        found.append((number, line, reference))
    return found


def _substitute(text: str, values: Mapping[str, str]) -> str:
    """``${NAME}`` and ``$NAME`` replaced from ``values``; unknown names left as they are."""
    return re.sub(
        r"\$\{(\w+)\}|\$(\w+)",
        lambda match: values.get(match.group(1) or match.group(2), match.group(0)),
        text,
    )


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """(first line number, text) of each Dockerfile line, continuations joined, comments out."""
    lines: list[tuple[int, str]] = []
    current = ""
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if stripped.startswith("#") and not current:
            continue
        if not current:
            start = number
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        lines.append((start, current + stripped))
        current = ""
    if current:
        lines.append((start, current))
    return lines


def _require_local_bases(client: Any, dockerfile: str, text: str, options: BuildOptions) -> None:
    """A base image the engine lacks is an error here: parity pulls only with --pull.

    A reference that is not a valid image name (``python:`` from an ARG with no value)
    is named with its FROM line.
    """
    api = api_of(client)
    for number, line, image in _from_lines(text, options.build_args):
        if not _REFERENCE.match(image) or image.endswith((":", "@")):
            raise BuildError(
                f"{dockerfile}:{number}: `{line}` names the image {image!r} after its "
                "build args are filled in, which is not a valid image reference (an ARG "
                "with no default and no --build-arg is empty)"
            )
        try:
            api.inspect_image(image)
        except ImageNotFound:
            raise BuildError(
                f"{dockerfile}:{number}: base image {image} is not in the engine "
                "(parity does not pull unless --pull is given)"
            ) from None
        except (EngineAPIError, OSError) as error:
            raise BuildError(f"{dockerfile}:{number}: base image {image}: {error}") from error


def _full_id(client: Any, short_id: str) -> str:
    return str(api_of(client).inspect_image(short_id)["Id"])


def failure_message(dockerfile: str, reason: str, step: int | None) -> str:
    reason = " ".join(reason.split())
    where = f" at step {step}" if step else ""
    return f"building {dockerfile} failed{where}: {reason}"
