"""Container sides: an image built from a Dockerfile, or an existing image, probed."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from parity.cache import ProbeCache, cache_dir, probe_key
from parity.engine.build import BuildOptions, BuildProgress
from parity.engine.probe_container import ProbeLimits
from parity.errors import ParityError, ProbeError, SourceError
from parity.model import Environment

if TYPE_CHECKING:
    from parity.probe.interpreter_choice import OtherEnvironment, RunOverrides


class ContainerSourceError(SourceError):
    """A container-side reference (Dockerfile path, image name) that cannot be used."""


@dataclass(frozen=True)
class ContainerOptions:
    """How to build and probe the container side."""

    build: BuildOptions = field(default_factory=BuildOptions)
    python: str | None = None
    environment: Mapping[str, str] = field(default_factory=dict)
    use_cache: bool = True
    limits: ProbeLimits = field(default_factory=ProbeLimits)
    static: bool = False  # read the image's files; start no process in it
    runs: RunOverrides | None = None  # a compose service's entrypoint/command/working_dir


@dataclass(frozen=True)
class ProbeEvent:
    """Progress of the container side, for the terminal: building, probing, cached."""

    stage: str  # "build", "probe", "cached", "python" (the interpreter chosen, and why)
    build: BuildProgress | None = None
    detail: str = ""


ProgressCallback = Callable[[ProbeEvent], None]


def resolve_dockerfile(ref: str) -> tuple[str, str]:
    """(context directory, Dockerfile path) for ``dockerfile:REF`` (a file, or a directory)."""
    path = os.path.abspath(ref)
    if os.path.isdir(path):
        path = os.path.join(path, "Dockerfile")
    if not os.path.isfile(path):
        raise ContainerSourceError("no such Dockerfile", ref)
    return os.path.dirname(path), path


class ContainerProber:
    """Builds and probes images through one engine connection, opened on first use."""

    def __init__(
        self,
        options: ContainerOptions,
        on_progress: ProgressCallback | None = None,
        connect: Callable[[], Any] | None = None,
    ) -> None:
        self.options = options
        self.on_progress = on_progress
        self._connect = connect
        self._client: Any = None
        self._engine_arch: str | None = None
        self.cache = ProbeCache(cache_dir())
        self._choices: dict[str, str] = {}  # image ID -> the interpreter chosen, and why
        self.compose_projects: dict[str, Any] = {}  # "" or the FILE of compose:SERVICE@FILE

    @property
    def client(self) -> Any:
        if self._client is None:
            if self._connect is not None:
                self._client = self._connect()
            else:
                from parity.engine.client import connect

                self._client = connect()
            from parity.engine.probe_container import sweep_stale_containers

            sweep_stale_containers(self._client)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _emit(self, event: ProbeEvent) -> None:
        if self.on_progress is not None:
            self.on_progress(event)

    def load_dockerfile(self, ref: str) -> Environment:
        """Build the image for ``dockerfile:REF`` (layer cache reused) and probe it."""
        context, dockerfile = resolve_dockerfile(ref)
        if self.options.build.context:
            context = os.path.abspath(self.options.build.context)
            if not os.path.isdir(context):
                raise ContainerSourceError("no such build context directory", context)
        image_id = self.build(context, dockerfile)
        description = f"image {_short(image_id)} built from {display_path(dockerfile)}"
        return self._probe(image_id, kind="dockerfile", ref=ref, description=description)

    def load_compose_service(self, ref: str, project: Any = None) -> Environment:
        """``compose:SERVICE[@FILE]``: build or take the service's image, probe it with its env.

        The model is compose's own (``docker compose config``) where compose is installed;
        a built image carries compose's name for it (``image:``, else ``<project>-<service>``),
        so the image probed is the one ``docker compose up`` runs.
        """
        from parity.sources.compose import ComposeError, load_project, service

        name, _, path = ref.partition("@")
        project = project or self.compose_projects.get(path)
        if project is None:
            try:
                project = self.compose_projects[path] = load_project(".", path or None)
            except ComposeError as error:
                if path or error.location is None or "no compose file" not in error.reason:
                    raise
                raise ContainerSourceError(
                    "no compose file here (compose.yaml, docker-compose.yml...); "
                    "write compose:SERVICE@FILE",
                    f"compose:{ref}",
                ) from None
        chosen = service(project, name)
        environment = {key: value for key, value in chosen.environment if value is not None}
        prober = self.with_environment(environment, chosen.platform, chosen.runs)
        where = f"service {chosen.name} of {display_path(project.path)}"
        if chosen.build is not None and chosen.build.is_local:
            build = chosen.build
            options = prober.options.build
            build_args = {**dict(build.args), **dict(options.build_args)}
            prober = prober.with_build(
                replace(
                    options,
                    build_args=build_args,
                    target=options.target or build.target,
                    network_mode=options.network_mode or build.network,
                    secrets=(*build.secrets, *options.secrets),
                    labels=_compose_labels(project, chosen.name),
                )
            )
            with _dockerfile_of(build) as dockerfile:
                image_id = prober.build(build.context, dockerfile, tag=chosen.image_name or None)
            description = f"image {_short(image_id)} built for {where}"
        elif chosen.image:
            image_id = prober.image_id(chosen.image)
            description = f"image {chosen.image} ({_short(image_id)}) of {where}"
        else:
            raise ContainerSourceError(
                f"service {chosen.name!r} has neither a local build nor an image",
                chosen.declared_at,
            )
        return prober._probe(image_id, kind="compose", ref=ref, description=description)

    def with_environment(
        self, environment: Mapping[str, str], platform: str | None, runs: RunOverrides | None
    ) -> ContainerProber:
        """A prober sharing this one's connection, probing with ``environment``, choosing
        the interpreter as the container runs (``runs``: a compose service's command)."""
        build = self.options.build
        if platform and not build.platform:
            build = replace(build, platform=platform)
        options = replace(self.options, environment=environment, build=build, runs=runs)
        return self._sibling(options)

    def with_build(self, build: BuildOptions) -> ContainerProber:
        return self._sibling(replace(self.options, build=build))

    def _sibling(self, options: ContainerOptions) -> ContainerProber:
        sibling = ContainerProber(options, self.on_progress, self._connect)
        sibling._client = self.client
        return sibling

    def build(self, context: str, dockerfile: str, tag: str | None = None) -> str:
        """Build ``dockerfile`` in ``context`` (the user's build cache); the image ID.

        The image is tagged ``tag``, by default parity's name for the folder and target.
        """
        from parity.engine.build import build_image

        def forward(progress: BuildProgress) -> None:
            self._emit(ProbeEvent("build", progress))

        return build_image(self.client, context, dockerfile, self.options.build, forward, tag=tag)

    def load_image(self, ref: str) -> Environment:
        """Probe an image that exists locally (never pulled unless the build options say so)."""
        image_id = self.image_id(ref)
        description = f"image {ref} ({_short(image_id)})"
        return self._probe(image_id, kind="image", ref=ref, description=description)

    def image_id(self, ref: str) -> str:
        from parity.engine.client import image_id

        build = self.options.build
        return image_id(self.client, ref, pull=build.pull, platform=build.platform)

    def _probe(self, image_id: str, *, kind: str, ref: str, description: str) -> Environment:
        from parity.probe.parse import PROBE_SOURCE, parse_probe_output

        method = PROBE_SOURCE + ("\0static" if self.options.static else "")
        if self.options.runs is not None:  # the interpreter chosen depends on how it runs
            method += f"\0runs={self.options.runs!r}"
        key = probe_key(image_id, self.options.python, self.options.environment, method)
        if self.options.use_cache:
            cached = self.cache.get(key)
            choice = _cached_choice(cached) if cached is not None else ""
            if cached is not None and choice:  # an entry without the choice: probed again
                try:
                    environment = parse_probe_output(
                        cached, kind=kind, ref=ref, description=description
                    )
                except ParityError:
                    self.cache.discard(key)
                else:
                    self._emit(ProbeEvent("cached", detail=_short(image_id)))
                    self._emit(ProbeEvent("python", detail=choice))
                    return replace(environment, image_id=image_id, python_choice=choice)
        if self.options.static:
            output = self.read_statically(image_id)
        else:
            output = self.run_probe(image_id, description)
        try:
            environment = parse_probe_output(output, kind=kind, ref=ref, description=description)
        except ProbeError as error:
            raise type(error)(f"{description}: {error}") from error
        choice = self._choices.get(image_id, "")
        self.cache.put(key, _with_choice(output, choice))
        return replace(environment, image_id=image_id, python_choice=choice)

    def _chose(self, image_id: str, candidate: Any) -> None:
        """Remember (and say) which interpreter was chosen in ``image_id``, and why."""
        self._choices[image_id] = candidate.explain()
        self._emit(ProbeEvent("python", detail=candidate.explain()))

    def read_statically(self, image_id: str) -> bytes:
        """``--static``: what the probe would print, read from the image's files."""
        from parity.engine.probe_static import static_probe_output

        self._emit(ProbeEvent("probe", detail=f"{_short(image_id)} (static read)"))
        output, candidate = static_probe_output(
            self.client,
            image_id,
            python=self.options.python,
            environment=self.options.environment,
            platform=self.options.build.platform,
            timeout=max(self.options.limits.timeout_seconds, 120.0),
            runs=self.options.runs,
        )
        self._chose(image_id, candidate)
        return output

    def other_environments(self, image_id: str, chosen: str) -> list[OtherEnvironment]:
        """The image's venvs besides ``chosen``'s, with their versions (cached per image ID).

        Read through the archive API in a container that is never started; an image's
        files never change, so a later check reads the answer from the cache.
        """
        import json

        from parity.engine.interpreters import other_environments
        from parity.probe.interpreter_choice import OtherEnvironment

        options = self.options
        key = probe_key(image_id, options.python, options.environment, "others\0" + chosen)
        cached = self.cache.get(key) if options.use_cache else None
        if cached is not None:
            try:
                return [
                    OtherEnvironment(
                        str(item["python"]), str(item["where"]), dict(item["versions"])
                    )
                    for item in json.loads(cached)
                ]
            except (ValueError, TypeError, KeyError):
                self.cache.discard(key)
        found = other_environments(
            self.client,
            image_id,
            chosen,
            environment=options.environment,
            platform=options.build.platform,
        )
        document = [
            {"python": item.python, "where": item.where, "versions": dict(item.versions)}
            for item in found
        ]
        self.cache.put(key, json.dumps(document).encode("utf-8"))
        return found

    def load_container(self, ref: str) -> Environment:
        """``container:NAME``: probe a running container in place (exec; never cached)."""
        from parity.engine.probe_exec import exec_probe, inspect_running
        from parity.probe.parse import parse_probe_output

        info = inspect_running(self.client, ref)
        self._emit(ProbeEvent("probe", detail=f"container {ref}"))
        output = exec_probe(
            self.client,
            ref,
            python=self.options.python,
            timeout=self.options.limits.timeout_seconds,
            environment=self.options.environment or None,
        )
        environment = parse_probe_output(
            output, kind="container", ref=ref, description=f"running container {ref}"
        )
        return replace(environment, image_id=str(info["Image"]))

    def run_probe(self, image_id: str, label: str = "") -> bytes:
        """Run the probe in a fresh container of ``image_id``; return what it printed.

        ``label`` names the image in messages (the reference the user gave).
        """
        from parity.engine.interpreters import image_facts, probe_chosen_interpreter
        from parity.engine.probe_container import ProbeRequest
        from parity.probe.parse import PROBE_SOURCE

        self._emit(ProbeEvent("probe", detail=_short(image_id)))
        request = ProbeRequest(
            image=image_id,
            python=self.options.python,
            environment=self.options.environment,
            platform=self.options.build.platform,
            limits=self.options.limits,
            label=label or f"image {_short(image_id)}",
        )
        facts = image_facts(self.client, image_id, self.options.environment, self.options.runs)
        self._require_runnable(facts.architecture, request.subject)
        # The interpreter the application runs with, found in the image's files (read in the
        # probe's container before it starts): the one start is the probe's own.
        run = probe_chosen_interpreter(
            self.client,
            request,
            PROBE_SOURCE,
            facts,
            lambda candidate: self._chose(image_id, candidate),
        )
        if not run.stdout.strip():
            stderr = run.stderr.decode("utf-8", "replace").strip().splitlines()
            last = stderr[-1] if stderr else "no output at all"
            raise ProbeError(f"{request.subject}: the probe printed nothing ({last})")
        return run.stdout

    def _require_runnable(self, architecture: str, subject: str) -> None:
        """An image for another CPU architecture cannot run here: say so, before trying."""
        if not architecture or self.options.build.platform:
            return  # an explicit --platform asks the engine to emulate
        engine = self._engine_architecture()
        if engine and _normal_arch(architecture) != _normal_arch(engine):
            raise ProbeError(
                f"{subject} is built for {architecture}, and this engine runs {engine}: "
                "it cannot run its Python (use --static to read its files instead, or "
                "--platform to ask for emulation)"
            )

    def _engine_architecture(self) -> str:
        if self._engine_arch is None:
            from parity.engine.client import engine_architecture

            self._engine_arch = engine_architecture(self.client)
        return self._engine_arch


_CHOICE_KEY = "parity_python"  # the cache entry's note of the interpreter chosen, and why


def _with_choice(output: bytes, choice: str) -> bytes:
    """The probe's document with the interpreter's choice added (for the cache)."""
    import json

    try:
        document = json.loads(output)
    except ValueError:
        return output  # noise around the JSON: cached as printed, without the choice
    if not isinstance(document, dict):
        return output
    document[_CHOICE_KEY] = choice
    return json.dumps(document, ensure_ascii=False).encode("utf-8")


def _cached_choice(cached: bytes) -> str:
    import json

    try:
        document = json.loads(cached)
    except ValueError:
        return ""
    value = document.get(_CHOICE_KEY) if isinstance(document, dict) else None
    return value if isinstance(value, str) else ""


def display_path(path: str, start: str | None = None) -> str:
    """``path`` relative to the working directory when it lies below it, else as given.

    A path on another drive (Windows) has no relative form: it is shown as given.
    """
    try:
        relative = os.path.relpath(path, start)
    except ValueError:
        return path
    return path if relative == os.pardir or relative.startswith(os.pardir + os.sep) else relative


@contextmanager
def _dockerfile_of(build: Any) -> Iterator[str]:
    """The Dockerfile compose builds a service from: its file, or its ``dockerfile_inline``
    text written to a file outside the context for the build (and removed after it)."""
    if build.dockerfile_inline is None:
        yield build.dockerfile
        return
    import tempfile

    with tempfile.TemporaryDirectory(prefix="parity-inline-") as folder:
        path = os.path.join(folder, "Dockerfile")
        with open(path, "w", encoding="utf-8") as stream:
            stream.write(build.dockerfile_inline)
        yield path


def _compose_labels(project: Any, service_name: str) -> dict[str, str]:
    """The labels ``docker compose build`` puts on a service's image (same image, same ID)."""
    reader = str(project.reader)
    if not reader.startswith("compose "):
        return {}
    return {
        "com.docker.compose.project": str(project.name),
        "com.docker.compose.service": service_name,
        "com.docker.compose.version": reader.split(" ", 1)[1].split("-", 1)[0],
    }


def _normal_arch(name: str) -> str:
    """Go and uname spellings of one architecture as one name."""
    aliases = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i386": "386"}
    return aliases.get(name, name)


def _short(image_id: str) -> str:
    return image_id.split(":", 1)[-1][:12]
