"""Building through the user's own docker CLI: ``docker buildx build`` (BuildKit).

The CLI brings the active docker context and buildx builder, the user's BuildKit cache
(a check right after the user's own build runs no step again) and every modern Dockerfile
feature (``RUN --mount``, heredocs, ``COPY --link``, ``$BUILDPLATFORM``). Progress comes
as ``--progress=rawjson``: one JSON document per update, pretty-printed over several lines.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import IO, Any

from parity.engine.build import (
    LOG_TAIL_LINES,
    BuildOptions,
    BuildProgress,
    clean_line,
    failure_message,
    syntax_directive,
)
from parity.errors import BuildError

_buildx_cache: dict[str, list[str] | None] = {}


def buildx_command(environ: Mapping[str, str] | None = None) -> list[str] | None:
    """``["docker", "buildx"]`` when the docker CLI with buildx is installed, else None.

    The plugin is looked for where the docker CLI looks (no process started); only where
    it is not found there is ``docker buildx version`` asked. ``PARITY_BUILDER=api`` asks
    for the Engine API's builder instead.
    """
    environ = os.environ if environ is None else environ
    if environ.get("PARITY_BUILDER", "").lower() == "api":
        return None
    docker = shutil.which("docker", path=environ.get("PATH"))
    if docker is None:
        return None
    if docker not in _buildx_cache:
        found = find_cli_plugin("buildx", environ) is not None or _answers(
            [docker, "buildx", "version"], environ
        )
        _buildx_cache[docker] = [docker, "buildx"] if found else None
    return _buildx_cache[docker]


def cli_plugin_dirs(environ: Mapping[str, str]) -> list[str]:
    """The folders the docker CLI takes plugins from, in its order."""
    config = environ.get("DOCKER_CONFIG") or os.path.join(os.path.expanduser("~"), ".docker")
    folders = [os.path.join(config, "cli-plugins")]
    try:
        with open(os.path.join(config, "config.json"), encoding="utf-8") as handle:
            extra = json.load(handle).get("cliPluginsExtraDirs") or []
        folders += [str(item) for item in extra if isinstance(item, str)]
    except (OSError, ValueError, AttributeError):
        pass
    if os.name == "nt":
        program_data = environ.get("ProgramData", r"C:\ProgramData")
        program_files = environ.get("ProgramFiles", r"C:\Program Files")
        folders += [
            os.path.join(program_data, "Docker", "cli-plugins"),
            os.path.join(program_files, "Docker", "cli-plugins"),
        ]
    else:
        folders += [
            "/usr/local/lib/docker/cli-plugins",
            "/usr/local/libexec/docker/cli-plugins",
            "/usr/lib/docker/cli-plugins",
            "/usr/libexec/docker/cli-plugins",
            "/Applications/Docker.app/Contents/Resources/cli-plugins",
        ]
    return folders


def find_cli_plugin(name: str, environ: Mapping[str, str]) -> str | None:
    """The path of the docker CLI plugin ``docker-NAME``, or None."""
    executable = f"docker-{name}.exe" if os.name == "nt" else f"docker-{name}"
    for folder in cli_plugin_dirs(environ):
        path = os.path.join(folder, executable)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


def _answers(command: list[str], environ: Mapping[str, str]) -> bool:
    try:
        result = subprocess.run(
            command, capture_output=True, timeout=30, env=dict(environ), check=False
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return result.returncode == 0 and result.stdout.strip() != b""


def builder_needs_load(environ: Mapping[str, str]) -> bool:
    """Whether the active buildx builder needs ``--load`` to put the image into the engine.

    A builder of the ``docker`` driver (the default, named after a docker context) builds
    into the engine's image store itself; ``--load`` would export the image as a tarball and
    load it again (seconds for a large image). Other drivers (``docker-container``,
    ``kubernetes``, ``remote``) need it. Read from buildx's own files, no process started.
    """
    config = environ.get("DOCKER_CONFIG") or os.path.join(os.path.expanduser("~"), ".docker")
    name = environ.get("BUILDX_BUILDER", "")
    if not name:
        try:
            with open(os.path.join(config, "buildx", "current"), encoding="utf-8") as handle:
                current = json.load(handle)
            name = str(current.get("Name") or "") if isinstance(current, dict) else ""
        except (OSError, ValueError):
            name = ""
    if not name:
        return False  # the default builder: the current docker context's, docker driver
    try:
        with open(os.path.join(config, "buildx", "instances", name), encoding="utf-8") as handle:
            instance = json.load(handle)
    except FileNotFoundError:
        return False  # a docker context's name: its builder has the docker driver
    except (OSError, ValueError):
        return True  # unknown: --load is always correct, only slower
    return not (isinstance(instance, dict) and instance.get("Driver") == "docker")


def builder_identity(environ: Mapping[str, str]) -> str:
    """What names the builder a build would use: the docker context and buildx builder
    (environment, then the CLI's and buildx's own files). Read from files, no process."""
    config = environ.get("DOCKER_CONFIG") or os.path.join(os.path.expanduser("~"), ".docker")
    parts = [f"{name}={environ.get(name, '')}" for name in _BUILDER_VARIABLES]
    for path in (os.path.join(config, "config.json"), os.path.join(config, "buildx", "current")):
        try:
            with open(path, encoding="utf-8") as handle:
                document = json.load(handle)
        except (OSError, ValueError):
            document = None
        if isinstance(document, dict):
            parts.append(str(document.get("currentContext") or document.get("Name") or ""))
            parts.append(str(document.get("Key") or ""))
    return "\n".join(parts)


_BUILDER_VARIABLES = ("DOCKER_CONTEXT", "DOCKER_HOST", "BUILDX_BUILDER", "DOCKER_CONFIG")


def buildx_arguments(
    context_dir: str,
    dockerfile: str,
    options: BuildOptions,
    tag: str | None,
    iidfile: str,
    *,
    load: bool = True,
) -> list[str]:
    """The ``docker buildx build`` arguments for ``options`` (after ``docker buildx``)."""
    arguments = ["build", "--progress=rawjson", *(["--load"] if load else [])]
    arguments += ["--iidfile", iidfile, "-f", dockerfile]
    for key, value in options.build_args.items():
        arguments += ["--build-arg", f"{key}={value}"]
    if options.target:
        arguments += ["--target", options.target]
    if options.platform:
        arguments += ["--platform", options.platform]
    if options.network_mode:
        arguments += ["--network", options.network_mode]
    if options.pull:
        arguments.append("--pull")
    if options.no_cache:
        arguments.append("--no-cache")
    for key, value in options.labels.items():
        arguments += ["--label", f"{key}={value}"]
    for secret in options.secrets:
        arguments += ["--secret", secret]
    if tag:
        arguments += ["-t", tag]
    arguments.append(context_dir)
    return arguments


@dataclass
class _Vertex:
    name: str
    started: bool = False
    completed: bool = False
    cached: bool = False
    error: str = ""
    lines: deque[str] = field(default_factory=lambda: deque(maxlen=LOG_TAIL_LINES))
    partial: str = ""


@dataclass
class BuildLog:
    """What a BuildKit build has said so far: its steps, their output, the plain text."""

    on_progress: Callable[[BuildProgress], None] | None = None
    vertices: dict[str, _Vertex] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    text: deque[str] = field(default_factory=lambda: deque(maxlen=LOG_TAIL_LINES))

    def feed(self, document: Mapping[str, Any]) -> None:
        """One rawjson document: vertex updates and log chunks."""
        for raw in document.get("vertexes") or ():
            digest = str(raw.get("digest") or "")
            vertex = self.vertices.get(digest)
            if vertex is None:
                vertex = self.vertices[digest] = _Vertex(str(raw.get("name") or ""))
                self.order.append(digest)
            was_started, was_done = vertex.started, vertex.completed or vertex.cached
            vertex.started = vertex.started or bool(raw.get("started"))
            vertex.completed = vertex.completed or bool(raw.get("completed"))
            vertex.cached = vertex.cached or bool(raw.get("cached"))
            if raw.get("error"):
                vertex.error = str(raw["error"])
            if vertex.started and not was_started and not vertex.cached:
                self._say(vertex, vertex.name)
            if vertex.cached and not was_done:
                self._say(vertex, f"{vertex.name} (cached)")
        for log in document.get("logs") or ():
            vertex = self.vertices.get(str(log.get("vertex") or ""))
            if vertex is None:
                continue
            try:
                data = base64.b64decode(str(log.get("data") or "")).decode("utf-8", "replace")
            except ValueError:
                continue
            self._output(vertex, data)

    def plain(self, line: str) -> None:
        """A line of plain text on the CLI's stderr (the error summary at the end)."""
        line = clean_line(line)
        if line:
            self.text.append(line)
            if self.on_progress is not None:
                self.on_progress(BuildProgress(None, None, line))

    def _output(self, vertex: _Vertex, data: str) -> None:
        """A chunk of a step's output: whole lines only, the rest kept for the next chunk."""
        data = vertex.partial + data.replace("\r\n", "\n").replace("\r", "\n")
        *complete, vertex.partial = data.split("\n")
        for raw_line in complete:
            line = clean_line(raw_line)
            if line:
                vertex.lines.append(line)
                self._emit(vertex, line)

    def _say(self, vertex: _Vertex, text: str) -> None:
        self._emit(vertex, f"=> {text}")

    def _emit(self, vertex: _Vertex, text: str) -> None:
        if self.on_progress is None:
            return
        step, total = _step_numbers(vertex.name)
        self.on_progress(BuildProgress(step, total, text))

    def flush(self) -> None:
        for vertex in self.vertices.values():
            if vertex.partial.strip():
                line = clean_line(vertex.partial)
                vertex.partial = ""
                if line:
                    vertex.lines.append(line)

    def failed_step(self) -> _Vertex | None:
        for digest in reversed(self.order):
            if self.vertices[digest].error:
                return self.vertices[digest]
        return None

    def running_step(self) -> _Vertex | None:
        """The step most recently started and not finished (a timeout names it)."""
        running = [
            self.vertices[digest]
            for digest in self.order
            if self.vertices[digest].started
            and not self.vertices[digest].completed
            and not self.vertices[digest].cached
        ]
        steps = [vertex for vertex in running if not vertex.name.startswith("[internal]")]
        candidates = steps or running
        return candidates[-1] if candidates else None

    def tail(self) -> tuple[str, ...]:
        """The failed step's last lines, else the build's last plain lines."""
        self.flush()
        failed = self.failed_step()
        lines = list(failed.lines) if failed is not None else []
        return tuple(lines + [line for line in self.text if line not in lines])[-LOG_TAIL_LINES:]


def _step_numbers(name: str) -> tuple[int | None, int | None]:
    """``[stage 3/5] RUN ...`` -> (3, 5)."""
    if not name.startswith("["):
        return None, None
    inside = name[1 : name.find("]")] if "]" in name else ""
    numbers = inside.rsplit(" ", 1)[-1]
    done, _, total = numbers.partition("/")
    if done.isdigit() and total.isdigit():
        return int(done), int(total)
    return None, None


def read_rawjson(stream: Iterable[str], log: BuildLog) -> None:
    """Feed ``log`` from the CLI's stderr: JSON documents (``{`` ... ``}`` lines) and text."""
    pending: list[str] = []
    for line in stream:
        if pending:
            pending.append(line)
            if line.rstrip("\r\n") == "}":
                try:
                    document = json.loads("".join(pending))
                except ValueError:
                    for text in pending:
                        log.plain(text)
                else:
                    if isinstance(document, dict):
                        log.feed(document)
                pending = []
        elif line.rstrip("\r\n") == "{":
            pending = [line]
        else:
            log.plain(line)
    for text in pending:
        log.plain(text)


def build_with_buildx(
    command: list[str],
    context_dir: str,
    dockerfile: str,
    options: BuildOptions,
    *,
    tag: str | None,
    on_progress: Callable[[BuildProgress], None] | None = None,
    environ: Mapping[str, str] | None = None,
) -> str:
    """Build with ``docker buildx build``; the image ID (``sha256:...``)."""
    log = BuildLog(on_progress)
    with tempfile.TemporaryDirectory(prefix="parity-build-") as scratch:
        iidfile = os.path.join(scratch, "iid")
        env = dict(os.environ if environ is None else environ)
        load = builder_needs_load(env)
        arguments = [
            *command,
            *buildx_arguments(context_dir, dockerfile, options, tag, iidfile, load=load),
        ]
        env.setdefault("BUILDX_NO_DEFAULT_ATTESTATIONS", "1")
        try:
            process = subprocess.Popen(
                arguments,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
                encoding="utf-8",
                errors="replace",
                env=env,
                start_new_session=True,  # a Ctrl-C reaches parity first; parity stops the build
            )
        except OSError as error:
            raise BuildError(f"building {dockerfile}: cannot run {command[0]}: {error}") from error
        timed_out = threading.Event()
        running: list[str] = []

        def expire() -> None:
            """Note the step that was running, then stop the build."""
            try:
                step = log.running_step()
            except RuntimeError:  # the reader changed the log meanwhile
                step = None
            running.append(step.name if step is not None else "")
            timed_out.set()
            _stop(process)

        timer = _start_timer(options.timeout, expire)
        try:
            assert process.stderr is not None
            read_rawjson(_lines(process.stderr), log)
            code = process.wait()
        except BaseException:
            _stop(process)
            raise
        finally:
            if timer is not None:
                timer.cancel()
        if timed_out.is_set():
            step = f" while running {running[0]}" if running and running[0] else ""
            raise BuildError(
                f"building {dockerfile} took longer than the build timeout of "
                f"{options.timeout:g} s and was stopped{step} (raise --build-timeout, or "
                "build-timeout in [tool.parity])",
                log.tail(),
            )
        if code != 0:
            message, show_tail = _buildx_failure(dockerfile, log)
            raise BuildError(message, log.tail() if show_tail else ())
        try:
            with open(iidfile, encoding="utf-8") as handle:
                image_id = handle.read().strip()
        except OSError:
            image_id = ""
    if not image_id.startswith("sha256:"):
        raise BuildError(f"building {dockerfile} produced no image ID", log.tail())
    return image_id


def _lines(stream: IO[str]) -> Iterable[str]:
    yield from iter(stream.readline, "")


def _start_timer(timeout: float | None, expire: Callable[[], None]) -> threading.Timer | None:
    if not timeout:
        return None
    timer = threading.Timer(timeout, expire)
    timer.daemon = True
    timer.start()
    return timer


def _stop(process: subprocess.Popen[str]) -> None:
    """Stop the CLI as Ctrl-C would: buildx cancels the build, BuildKit removes its step."""
    if process.poll() is not None:
        return
    if sys.platform == "win32":
        process.terminate()  # no process groups to signal; the engine ends the session
    else:
        try:
            os.killpg(process.pid, signal.SIGINT)
        except OSError:
            process.terminate()
    deadline = time.monotonic() + 15
    while process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    if process.poll() is None:
        process.kill()
        process.wait()


def _buildx_failure(dockerfile: str, log: BuildLog) -> tuple[str, bool]:
    """One message: the step that failed and why, or the CLI's own error line; and whether
    the build's last lines help (they do not for a frontend that cannot be pulled)."""
    failed = log.failed_step()
    errors = [line for line in log.text if line.startswith("ERROR:") or "error:" in line[:40]]
    reason = errors[-1].removeprefix("ERROR:").strip() if errors else ""
    directive = syntax_directive(dockerfile)
    if directive is not None and (
        f"docker.io/{directive[1]}" in " ".join(log.text) or directive[1] in reason
    ):
        line_number, image = directive
        return (
            f"{dockerfile}:{line_number}: its `# syntax={image}` line asks BuildKit to pull "
            "that frontend image, and it cannot be pulled here (offline, or no access to the "
            "registry). Remove the line to build with the builder's own Dockerfile frontend, "
            "or make the image available"
        ), False
    if failed is not None:
        step, total = _step_numbers(failed.name)
        instruction = failed.name.split("] ", 1)[-1] if step is not None else failed.name
        stage = failed.name[1:].split(" ", 1)[0] if step is not None else ""
        where = f" at step {step}/{total}" if step is not None else ""
        if stage and "/" not in stage:
            where += f" of stage {stage}"
        reason = f"{instruction}: {failed.error}"
        return f"building {dockerfile} failed{where}: {' '.join(reason.split())}", True
    return failure_message(dockerfile, reason or "docker buildx build failed", None), True
