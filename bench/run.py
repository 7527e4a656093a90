"""parity's benchmark: how long a check takes against what it replaces, in one run.

    python bench/run.py [--quick] [--repeat N] [--json PATH]

Sets up (once; cached in --workdir and as images tagged PREFIX/...) a small project (the
venv-multistage sample) and a large one (about 2,000 generated wheels on each side), then
runs every measured command once per round, round-robin, for N rounds, and reports the
median of each with the ratios the targets are stated in. bench/README.md says what each
measurement is and how "cold" and "warm" are defined.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from make_wheels import make_wheelhouse

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
SMALL_SAMPLE = REPO_ROOT / "sample_projects" / "venv-multistage"
SCHEMA = "parity.bench/1"
CONTEXT_MB = 300  # the build context of the `context` project (no .dockerignore)
OK_EXIT_CODES = frozenset({0, 1})  # parity: 1 is drift, which both projects have; diff: 1 too


class BenchError(Exception):
    """The benchmark could not be set up or a measured command failed."""


# --- configuration -------------------------------------------------------------------------


@dataclass(frozen=True)
class Config:
    """What to measure, where, and how often."""

    rounds: int
    workdir: Path
    json_path: Path
    distributions: int
    compare_packages: int
    image_prefix: str
    base_image: str
    build_network: str
    parity: str
    python: str
    fail_on_target: bool
    context_mb: int = 300


def parse_args(argv: Sequence[str] | None) -> Config:
    parser = argparse.ArgumentParser(
        description="Benchmark parity check against docker run, pip freeze and diff."
    )
    parser.add_argument("--quick", action="store_true", help="3 rounds instead of 7")
    parser.add_argument("--repeat", type=int, metavar="N", help="rounds (default 7, --quick 3)")
    parser.add_argument(
        "--json", type=Path, metavar="PATH", help="results file (bench/results/DATE.json)"
    )
    parser.add_argument(
        "--workdir", type=Path, default=BENCH_DIR / ".work", help="setup cache (bench/.work)"
    )
    parser.add_argument("--distributions", type=int, default=2000, metavar="N")
    parser.add_argument("--compare-packages", type=int, default=10_000, metavar="N")
    parser.add_argument("--image-prefix", default="parity-bench", metavar="PREFIX")
    parser.add_argument("--base-image", default="python:3.11-slim", metavar="IMAGE")
    parser.add_argument(
        "--context-mb",
        type=int,
        default=CONTEXT_MB,
        help=f"size of the large build context project (default {CONTEXT_MB} MB)",
    )
    parser.add_argument(
        "--build-network",
        default=os.environ.get("PARITY_BUILD_NETWORK") or "host",
        metavar="MODE",
        help="network mode of setup builds and of parity's builds (default host)",
    )
    parser.add_argument("--parity", default=_default_parity(), metavar="PATH")
    parser.add_argument(
        "--fail-on-target", action="store_true", help="exit 1 when a target is missed"
    )
    args = parser.parse_args(argv)
    rounds = args.repeat or (3 if args.quick else 7)
    if rounds < 1:
        parser.error("--repeat must be at least 1")
    workdir = args.workdir.resolve()
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return Config(
        rounds=rounds,
        workdir=workdir,
        json_path=(args.json or BENCH_DIR / "results" / f"{stamp}.json").resolve(),
        distributions=args.distributions,
        compare_packages=args.compare_packages,
        image_prefix=args.image_prefix,
        base_image=args.base_image,
        build_network=args.build_network,
        parity=args.parity,
        python=sys.executable,
        fail_on_target=args.fail_on_target,
        context_mb=args.context_mb,
    )


def _default_parity() -> str:
    """The ``parity`` console script of the interpreter running the benchmark."""
    beside = Path(sys.executable).parent / "parity"
    if beside.is_file():
        return str(beside)
    return shutil.which("parity") or "parity"


# --- setup ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Project:
    """A benchmark project: its build context, its tagged image and the developer's venv."""

    name: str
    directory: Path
    image: str
    venv: Path
    distributions: int

    @property
    def dockerfile(self) -> Path:
        return self.directory / "Dockerfile"


def progress(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def docker_client() -> Any:
    import docker

    client = docker.from_env(timeout=600)
    client.ping()
    return client


def build_image(client: Any, context: Path, tag: str, network: str) -> str:
    """Build and tag ``context/Dockerfile`` as a user does: ``docker buildx build`` (BuildKit,
    the user's builder and cache); return the image ID."""
    del client  # the CLI talks to the engine itself
    with tempfile.TemporaryDirectory() as scratch:
        iidfile = Path(scratch) / "iid"
        result = subprocess.run(
            [
                "docker",
                "buildx",
                "build",
                "--load",
                "--progress=plain",
                "--network",
                network,
                "--iidfile",
                str(iidfile),
                "-t",
                tag,
                str(context),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise BenchError(f"building {tag} failed:\n{result.stderr[-3000:]}")
        return iidfile.read_text(encoding="utf-8").strip()


def sync_tree(source: Path, target: Path) -> None:
    """Copy ``source`` to ``target`` (no venvs, no caches), rewriting only changed files."""
    ignored = {".venv", "venv", "__pycache__", ".pytest_cache"}
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        if ignored & set(relative.parts) or not path.is_file():
            continue
        destination = target / relative
        if destination.is_file() and destination.read_bytes() == path.read_bytes():
            continue
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, destination)


def write_if_changed(path: Path, text: str) -> None:
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def ensure_venv(venv: Path, stamp: str, install: Callable[[Path], None], python: str) -> None:
    """A venv made by ``install``, remade when ``stamp`` (what it was made from) changes."""
    stamp_file = venv / ".bench-stamp"
    stamp = f"{stamp}\n{python}\n"
    if stamp_file.is_file() and stamp_file.read_text(encoding="utf-8") == stamp:
        return
    progress(f"making {venv}")
    if venv.exists():
        shutil.rmtree(venv)
    subprocess.run([python, "-m", "venv", str(venv)], check=True)
    install(venv / "bin" / "python")
    stamp_file.write_text(stamp, encoding="utf-8")


def pip_install(python: Path, *args: str, cwd: Path | None = None) -> None:
    quiet = ["-q", "--disable-pip-version-check", "--no-input"]
    subprocess.run([str(python), "-m", "pip", "install", *quiet, *args], check=True, cwd=cwd)


def setup_small(client: Any, config: Config) -> Project:
    """The venv-multistage sample: its image, and a venv from its laptop-freeze.txt."""
    root = config.workdir / "small"
    project = root / "project"
    sync_tree(SMALL_SAMPLE, project)
    freeze = project / "laptop-freeze.txt"
    venv = root / "venv"
    ensure_venv(
        venv,
        freeze.read_text(encoding="utf-8"),
        lambda py: pip_install(py, "-r", str(freeze)),
        config.python,
    )
    tag = f"{config.image_prefix}/small:latest"
    progress(f"building {tag} (layer cache reused)")
    build_image(client, project, tag, config.build_network)
    return Project("small", project, tag, venv, _count_dists(venv))


# pip's resolver slows down quadratically with the number of requirements in one install
# (about 5 minutes for 2,000 pins in one go): install in batches of INSTALL_BATCH pins.
INSTALL_BATCH = 100

LARGE_BASE_DOCKERFILE = """\
# parity benchmark: {count} generated distributions in a venv at /opt/venv.
FROM {base}
RUN python -m venv /opt/venv
COPY wheelhouse /wheelhouse
RUN xargs -n {batch} /opt/venv/bin/pip install --isolated -q --no-cache-dir \\
    --disable-pip-version-check --no-deps --index-url file:///wheelhouse/simple \\
    < /wheelhouse/container.txt
ENV PATH=/opt/venv/bin:$PATH
"""

LARGE_PROJECT_DOCKERFILE = """\
# parity benchmark: the large project; its image holds {count} distributions.
FROM {base_tag}
WORKDIR /app
COPY main.py ./
CMD ["python", "main.py"]
"""


def setup_large(client: Any, config: Config) -> Project:
    """About ``distributions`` generated wheels in the image's /opt/venv and in a local venv.

    The wheels go into a base image; the project's own Dockerfile starts FROM it with a
    small context, so the large check differs from the small one in the number of
    distributions, not in the size of the build context parity sends.
    """
    count = config.distributions
    root = config.workdir / f"large-{count}"
    house = make_wheelhouse(root / "base" / "wheelhouse", count)
    base_tag = f"{config.image_prefix}/large-{count}-base:latest"
    write_if_changed(
        root / "base" / "Dockerfile",
        LARGE_BASE_DOCKERFILE.format(count=count, base=config.base_image, batch=INSTALL_BATCH),
    )
    project = root / "project"
    write_if_changed(
        project / "Dockerfile", LARGE_PROJECT_DOCKERFILE.format(count=count, base_tag=base_tag)
    )
    write_if_changed(project / "main.py", 'print("the large benchmark project")\n')
    venv = root / "venv"
    local_list = house.directory / "local.txt"
    ensure_venv(
        venv,
        local_list.read_text(encoding="utf-8"),
        lambda python: install_pins(python, house.index_url, local_list),
        config.python,
    )
    progress(f"building {base_tag} (layer cache reused; the first build installs {count} wheels)")
    build_image(client, root / "base", base_tag, config.build_network)
    tag = f"{config.image_prefix}/large-{count}:latest"
    build_image(client, project, tag, config.build_network)
    return Project("large", project, tag, venv, _count_dists(venv))


CONTEXT_DOCKERFILE = """\
# parity benchmark: a {mb} MB build context, no .dockerignore, all of it copied in.
FROM {base}
WORKDIR /app
COPY . /app
CMD ["python", "-c", "pass"]
"""


def setup_context(client: Any, config: Config, small: Project) -> Project:
    """A project whose build context is CONTEXT_MB MB of data files and no .dockerignore."""
    size = config.context_mb
    # Its own folder name: buildx keys its incremental context transfer by the context
    # folder's name, so another "project" folder built in between would re-send it all.
    project = config.workdir / f"context-{size}" / f"context{size}"
    data = project / "data"
    data.mkdir(parents=True, exist_ok=True)
    chunk = 10 * 1024 * 1024
    for index in range(max(1, size // 10)):
        path = data / f"blob-{index:03d}.bin"
        if not path.is_file() or path.stat().st_size != chunk:
            path.write_bytes(os.urandom(chunk))
    write_if_changed(
        project / "Dockerfile", CONTEXT_DOCKERFILE.format(mb=size, base=config.base_image)
    )
    tag = f"{config.image_prefix}/context-{size}:latest"
    progress(f"building {tag} ({size} MB context)")
    build_image(client, project, tag, config.build_network)
    return Project("context", project, tag, small.venv, small.distributions)


def setup_user_build(client: Any, config: Config, small: Project) -> Project:
    """A copy of the small project whose last layer (main.py) the 'user' changes and builds
    before every measured check (``small.after_user_build``)."""
    project = config.workdir / "user-build" / "userbuild"
    sync_tree(small.directory, project)
    tag = f"{config.image_prefix}/user-build:latest"
    build_image(client, project, tag, config.build_network)
    return Project("user", project, tag, small.venv, small.distributions)


def user_build_argv(project: Project, network: str) -> tuple[str, ...]:
    """Change main.py (the last layer) and build as the user does: ``docker buildx build``."""
    main = shlex.quote(str(project.directory / "main.py"))
    script = (
        f'echo "# $(date +%s%N)" >> {main} && docker buildx build --load -q '
        f"--network {shlex.quote(network)} -t {shlex.quote(project.image)} "
        f"{shlex.quote(str(project.directory))} > /dev/null"
    )
    return ("sh", "-c", script)


def warm_build_argv(project: Project, network: str) -> tuple[str, ...]:
    """The user's ``docker buildx build`` again, nothing changed: what a cached build costs."""
    return (
        "docker", "buildx", "build", "--load", "-q", "--network", network,
        "-t", project.image, str(project.directory),
    )  # fmt: skip


def steps_run_after_user_build(config: Config, user: Project) -> int:
    """How many build steps parity's check ran right after the user's own build (goal: 0)."""
    env = parity_env(config, None)
    with tempfile.TemporaryDirectory() as cache:
        env["PARITY_CACHE_DIR"] = cache
        subprocess.run(user_build_argv(user, config.build_network), env=env, check=True)
        result = subprocess.run(
            [*check_argv(config, user, f"dockerfile:{user.dockerfile}"), "-v"],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
    steps = [
        line
        for line in result.stderr.splitlines()
        if line.startswith("=> [") and "/" in line.split("]", 1)[0] and " FROM " not in line
    ]
    return sum(1 for line in steps if not line.endswith("(cached)"))


def install_pins(python: Path, index_url: str, pins: Path) -> None:
    """Install the pins of ``pins`` from the wheelhouse index only (no pip config), in batches."""
    lines = pins.read_text(encoding="utf-8").split()
    for start in range(0, len(lines), INSTALL_BATCH):
        batch = lines[start : start + INSTALL_BATCH]
        pip_install(python, "--isolated", "--no-deps", "--index-url", index_url, *batch)


def _count_dists(venv: Path) -> int:
    return sum(1 for _ in venv.glob("lib/python*/site-packages/*.dist-info"))


# --- what is measured ----------------------------------------------------------------------


@dataclass(frozen=True)
class Measured:
    """One command run once per round.

    ``fresh_cache``: PARITY_CACHE_DIR is a new empty directory for every run (cold).
    ``reported``: the command prints a JSON object of its own timings (seconds); those are
    the samples, named ``key.field``, instead of the command's wall time.
    """

    key: str
    label: str
    argv: tuple[str, ...]
    env: Mapping[str, str]
    fresh_cache: bool = False
    reported: tuple[str, ...] = ()
    prepare: tuple[str, ...] = ()  # run (not timed) before every run of the command


def python_env(config: Config) -> dict[str, str]:
    """The environment of every measured command: bytecode caching on, as when installed.

    An installed parity has compiled bytecode; an editable one under
    PYTHONDONTWRITEBYTECODE=1 would compile every module on every run. The cache goes to
    the workdir (PYTHONPYCACHEPREFIX), not into the source tree.
    """
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(config.workdir / "pycache")
    return env


def parity_env(config: Config, cache: Path | None) -> dict[str, str]:
    env = python_env(config)
    for name in ("VIRTUAL_ENV", "PARITY_CACHE_DIR"):
        env.pop(name, None)
    env["PARITY_BUILD_NETWORK"] = config.build_network
    if cache is not None:
        env["PARITY_CACHE_DIR"] = str(cache)
    return env


def check_argv(config: Config, project: Project, container: str) -> tuple[str, ...]:
    return (
        config.parity,
        "check",
        str(project.directory),
        "--local",
        f"venv:{project.venv}",
        "--container",
        container,
    )


def by_hand_argv(project: Project, scratch: Path) -> tuple[str, ...]:
    """``pip freeze`` in the venv, then in the image, then ``diff``: one after the other."""
    local, container = scratch / f"{project.name}-local.txt", scratch / f"{project.name}-image.txt"
    pip = project.venv / "bin" / "pip"
    script = (
        f"{shlex.quote(str(pip))} freeze > {shlex.quote(str(local))} && "
        f"docker run --rm --network none {shlex.quote(project.image)} pip freeze"
        f" > {shlex.quote(str(container))}"
        f" && diff {shlex.quote(str(local))} {shlex.quote(str(container))}"
    )
    return ("sh", "-c", script)


def measured_commands(
    config: Config,
    small: Project,
    large: Project,
    scratch: Path,
    extra: tuple[Project, Project] | None = None,
) -> list[Measured]:
    """Everything measured, in round-robin order. ``extra``: the context and user projects."""
    warm = parity_env(config, config.workdir / "warm-cache")
    cold = parity_env(config, None)
    plain = python_env(config)
    python = config.python
    commands = [
        Measured(
            "floor.docker_run",
            "docker run --rm --network none IMAGE python -c pass",
            ("docker", "run", "--rm", "--network", "none", small.image, "python", "-c", "pass"),
            plain,
        ),
        Measured(
            "floor.venv_python",
            "VENV/bin/python -c pass",
            (str(small.venv / "bin" / "python"), "-c", "pass"),
            plain,
        ),
        Measured(
            "small.by_hand",
            "pip freeze; docker run pip freeze; diff",
            by_hand_argv(small, scratch),
            plain,
        ),
    ]
    for project in (small, large):
        dockerfile = f"dockerfile:{project.dockerfile}"
        image = f"image:{project.image}"
        name = project.name
        commands += [
            Measured(
                f"{name}.cold",
                "parity check, empty probe cache",
                check_argv(config, project, dockerfile),
                cold,
                fresh_cache=True,
            ),
            Measured(
                f"{name}.warm",
                "parity check again, nothing changed",
                check_argv(config, project, dockerfile),
                warm,
            ),
            Measured(
                f"{name}.cold_image",
                "parity check --container image:, empty cache",
                check_argv(config, project, image),
                cold,
                fresh_cache=True,
            ),
            Measured(
                f"{name}.warm_image",
                "parity check --container image:, cached",
                check_argv(config, project, image),
                warm,
            ),
        ]
    if extra is not None:
        context, user = extra
        commands += [
            Measured(
                "context.warm",
                f"parity check, {config.context_mb} MB context, nothing changed",
                check_argv(config, context, f"dockerfile:{context.dockerfile}"),
                warm,
            ),
            Measured(
                "small.warm_build",
                "docker buildx build of the user's project, nothing changed (all cache hits)",
                warm_build_argv(user, config.build_network),
                plain,
            ),
            Measured(
                "small.after_user_build",
                "parity check right after the user's own docker buildx build",
                check_argv(config, user, f"dockerfile:{user.dockerfile}"),
                cold,
                fresh_cache=True,
                prepare=user_build_argv(user, config.build_network),
            ),
        ]
    commands += [
        Measured(
            "large.by_hand",
            "pip freeze; docker run pip freeze; diff",
            by_hand_argv(large, scratch),
            plain,
        ),
        Measured("startup.python", "python -c pass", (python, "-c", "pass"), plain),
        Measured("startup.parity_version", "parity --version", (config.parity, "--version"), plain),
        Measured(
            "compare",
            f"compare() on {config.compare_packages:,} x {config.compare_packages:,} packages",
            (
                python,
                str(BENCH_DIR / "compare_once.py"),
                "--packages",
                str(config.compare_packages),
            ),
            plain,
            reported=("compare", "render_table", "render_json"),
        ),
    ]
    return commands


# --- running -------------------------------------------------------------------------------


def run_once(command: Measured, scratch: Path) -> dict[str, float]:
    """Run ``command`` once; its samples by name."""
    env = dict(command.env)
    cache: str | None = None
    if command.fresh_cache:
        cache = tempfile.mkdtemp(prefix="cold-cache-", dir=scratch)
        env["PARITY_CACHE_DIR"] = cache
    if command.prepare:
        subprocess.run(command.prepare, env=env, capture_output=True, check=True)
    try:
        start = time.perf_counter()
        result = subprocess.run(
            command.argv, env=env, stdin=subprocess.DEVNULL, capture_output=True, check=False
        )
        elapsed = time.perf_counter() - start
    finally:
        if cache is not None:
            shutil.rmtree(cache, ignore_errors=True)
    if result.returncode not in OK_EXIT_CODES:
        stderr = result.stderr.decode("utf-8", "replace").strip()
        raise BenchError(f"{command.key} exited {result.returncode}: {stderr[-2000:]}")
    if not command.reported:
        return {command.key: elapsed}
    timings = json.loads(result.stdout)
    return {f"{command.key}.{name}": float(timings[name]) for name in command.reported}


def run_rounds(commands: Sequence[Measured], rounds: int, scratch: Path) -> dict[str, list[float]]:
    """One warm-up run of each command (not recorded), then ``rounds`` rounds, round-robin.

    Each round starts one command later than the previous, so no command always runs
    right after the same neighbour.
    """
    progress(f"warm-up: every command once ({len(commands)} commands)")
    for command in commands:
        run_once(command, scratch)
    samples: dict[str, list[float]] = {}
    for index in range(rounds):
        progress(f"round {index + 1}/{rounds}")
        shift = index % len(commands)
        for command in [*commands[shift:], *commands[:shift]]:
            for key, seconds in run_once(command, scratch).items():
                samples.setdefault(key, []).append(seconds)
    return samples


# --- results -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """A stated goal: ``value`` (a ratio, a difference or seconds) compared with ``limit``."""

    name: str
    value: float
    limit: float
    unit: str  # "x" for ratios, "s" for seconds
    strict: bool = False  # "<" rather than "<="

    @property
    def passed(self) -> bool:
        return self.value < self.limit if self.strict else self.value <= self.limit

    def as_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "value": round(self.value, 4),
            "limit": self.limit,
            "unit": self.unit,
            "op": "<" if self.strict else "<=",
            "passed": self.passed,
        }


def derived_samples(samples: Mapping[str, list[float]]) -> dict[str, list[float]]:
    """The floor: a container start plus a local interpreter start, summed round by round."""
    floor = [
        docker + local
        for docker, local in zip(samples["floor.docker_run"], samples["floor.venv_python"])
    ]
    return {"floor": floor}


def medians(samples: Mapping[str, list[float]]) -> dict[str, float]:
    return {key: statistics.median(values) for key, values in samples.items()}


def targets(median: Mapping[str, float], config: Config) -> list[Target]:
    packages = f"{config.compare_packages:,}"
    return [
        Target("small cold / floor", median["small.cold"] / median["floor"], 1.5, "x"),
        Target(
            "small warm / docker run python -c pass",
            median["small.warm"] / median["floor.docker_run"],
            1.0,
            "x",
        ),
        Target("small cold / by hand", median["small.cold"] / median["small.by_hand"], 0.6, "x"),
        Target("large cold - small cold", median["large.cold"] - median["small.cold"], 0.3, "s"),
        Target(
            f"{config.context_mb} MB context warm / docker run python -c pass",
            median["context.warm"] / median["floor.docker_run"],
            1.2,
            "x",
        ),
        Target(
            "check after the user's build / (warm build + cold image check)",
            median["small.after_user_build"]
            / (median["small.warm_build"] + median["small.cold_image"]),
            1.1,
            "x",
        ),
        Target(
            f"compare() {packages} x {packages}", median["compare.compare"], 0.1, "s", strict=True
        ),
        Target(
            "parity --version / python -c pass",
            median["startup.parity_version"] / median["startup.python"],
            4.0,
            "x",
        ),
    ]


def machine_info(client: Any, config: Config) -> dict[str, object]:
    version = client.version()
    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "memory_gib": _memory_gib(),
        "python": platform.python_version(),
        "python_executable": config.python,
        "parity": _parity_version(config),
        "docker_server": version.get("Version"),
        "docker_api": version.get("ApiVersion"),
        "storage_driver": client.info().get("Driver"),
        "git_commit": _git_commit(),
        "git_uncommitted_changes": _git_dirty(),
        "load_average_before": _load_average(),
    }


def _git_dirty() -> bool | None:
    """Whether the working tree differs from the commit measured (read-only check)."""
    try:
        result = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
        )
    except OSError:
        return None
    return bool(result.stdout.strip()) if result.returncode == 0 else None


def _load_average() -> list[float] | None:
    """1, 5 and 15 minute load averages: other work on the machine skews every figure."""
    try:
        return [round(value, 2) for value in os.getloadavg()]
    except OSError:
        return None


def _memory_gib() -> float | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as stream:
            kib = int(stream.readline().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return round(kib / 1024 / 1024, 1)


def _parity_version(config: Config) -> str:
    result = subprocess.run([config.parity, "--version"], capture_output=True, text=True)
    return result.stdout.strip()


def _git_commit() -> str | None:
    try:
        result = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "rev-parse", "HEAD"], capture_output=True, text=True
        )
    except OSError:
        return None
    return result.stdout.strip() or None


def format_table(
    commands: Sequence[Measured],
    samples: Mapping[str, list[float]],
    goals: Sequence[Target],
    config: Config,
) -> str:
    labels = {command.key: command.label for command in commands}
    labels["floor"] = "docker run + venv python, summed per round"
    labels["compare.render_table"] = "render that report as the plain table"
    labels["compare.render_json"] = "render that report as JSON"
    lines = [
        f"parity benchmark: {config.rounds} round(s), seconds (small: {_describe_sizes(config)})",
        "",
        f"  {'measurement':<26} {'median':>8} {'min':>8} {'max':>8}  what",
    ]
    for key in sorted(samples, key=_display_order):
        values = samples[key]
        label = labels.get(key) or labels.get(key.split(".", 1)[0], "")
        lines.append(
            f"  {key:<26} {statistics.median(values):8.3f} {min(values):8.3f} "
            f"{max(values):8.3f}  {label}"
        )
    lines += ["", f"  {'target':<42} {'value':>8} {'goal':>10}  result"]
    for goal in goals:
        goal_text = f"{'<' if goal.strict else '<='} {goal.limit:g}{goal.unit}"
        verdict = "PASS" if goal.passed else "FAIL"
        lines.append(f"  {goal.name:<42} {goal.value:7.3f}{goal.unit} {goal_text:>10}  {verdict}")
    return "\n".join(lines) + "\n"


def _describe_sizes(config: Config) -> str:
    return f"venv-multistage; large: {config.distributions:,} generated distributions"


_ORDER = ("floor", "small", "large", "context", "startup", "compare")


def _display_order(key: str) -> tuple[int, str]:
    head = key.split(".", 1)[0]
    return (_ORDER.index(head) if head in _ORDER else len(_ORDER), key)


def results_document(
    config: Config,
    machine: Mapping[str, object],
    projects: Iterable[Project],
    commands: Sequence[Measured],
    samples: Mapping[str, list[float]],
    goals: Sequence[Target],
) -> dict[str, object]:
    return {
        "schema": SCHEMA,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "rounds": config.rounds,
        "machine": dict(machine),
        "projects": {
            project.name: {
                "directory": str(project.directory),
                "image": project.image,
                "venv": str(project.venv),
                "local_distributions": project.distributions,
            }
            for project in projects
        },
        "commands": {
            command.key: {"label": command.label, "argv": list(command.argv)}
            for command in commands
        },
        "samples": {key: [round(value, 6) for value in values] for key, values in samples.items()},
        "medians": {key: round(value, 6) for key, value in medians(samples).items()},
        "targets": [goal.as_json() for goal in goals],
    }


# --- main ----------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    config = parse_args(argv)
    if shutil.which("docker") is None:
        raise BenchError("the docker CLI is needed for the floor and by-hand measurements")
    config.workdir.mkdir(parents=True, exist_ok=True)
    client = docker_client()
    try:
        small = setup_small(client, config)
        large = setup_large(client, config)
        extra = (setup_context(client, config, small), setup_user_build(client, config, small))
        machine = machine_info(client, config)
    finally:
        client.close()
    scratch = Path(tempfile.mkdtemp(prefix="scratch-", dir=config.workdir))
    try:
        commands = measured_commands(config, small, large, scratch, extra)
        samples = run_rounds(commands, config.rounds, scratch)
        steps_run = steps_run_after_user_build(config, extra[1])
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    machine = {**machine, "load_average_after": _load_average()}
    samples.update(derived_samples(samples))
    goals = [
        *targets(medians(samples), config),
        Target("build steps run by a check after the user's build", steps_run, 0, ""),
    ]
    document = results_document(config, machine, (small, large), commands, samples, goals)
    config.json_path.parent.mkdir(parents=True, exist_ok=True)
    config.json_path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    sys.stdout.write(format_table(commands, samples, goals, config))
    print(
        f"\nload average (1, 5, 15 min) before: {machine['load_average_before']}, "
        f"after: {machine['load_average_after']}\nresults: {config.json_path}"
    )
    if config.fail_on_target and not all(goal.passed for goal in goals):
        return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as error:
        print(f"bench: {error}", file=sys.stderr)
        sys.exit(2)
