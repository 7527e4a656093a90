"""Faults during a check: signals in every phase, a probe that hangs or floods.

After each fault: exit 130 (interrupted) or 2 (could not check), one line on stderr and no
traceback, no probe container of the run left (label io.parity.managed=1), no intermediate
build container left (``docker ps -a`` before and after), no local probe process left, and
every ``--output`` file absent or complete. The probe phase itself is interrupted in
tests/test_engine_safety.py.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import stat
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from parity.engine.labels import LABEL_MANAGED, LABEL_PID

# POSIX signals, FIFOs and fcntl: Windows stops processes another way (its runner skips these).
fcntl = pytest.importorskip("fcntl")

F_GETPIPE_SZ = 1032  # fcntl: a pipe's capacity (Linux)
SIGNALS = [pytest.param(signal.SIGINT, id="SIGINT"), pytest.param(signal.SIGTERM, id="SIGTERM")]
WAIT_SECONDS = 120.0


# --- running parity and watching it -------------------------------------------------------


def start_parity(
    *args: str, tmp_path: Path, env: dict[str, str] | None = None, **popen: Any
) -> subprocess.Popen[str]:
    """The real CLI in a subprocess we can signal (``python -m parity``)."""
    popen.setdefault("stdout", subprocess.PIPE)
    popen.setdefault("stderr", subprocess.PIPE)
    return subprocess.Popen(
        [sys.executable, "-m", "parity", *args],
        text=True,
        env={
            **os.environ,
            "PARITY_CACHE_DIR": str(tmp_path / "cache"),
            "NO_COLOR": "1",
            **(env or {}),
        },
        **popen,
    )


# The build-signal tests watch the classic builder's step containers: they run on the
# Engine API's builder (the fallback). BuildKit's steps: tests/test_buildkit.py.
API_BUILDER = {"PARITY_BUILDER": "api"}


def wait_until(condition: Callable[[], bool], what: str, process: subprocess.Popen[str]) -> None:
    """Poll ``condition`` while ``process`` runs (bounded); fail saying ``what`` never came."""
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        if process.poll() is not None:
            _, stderr = process.communicate()
            pytest.fail(f"parity exited ({process.returncode}) before {what}: {stderr}")
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"{what} never happened")
        time.sleep(0.05)


def finish(process: subprocess.Popen[str]) -> tuple[int, str]:
    """Wait for parity to exit (bounded); its exit code and stderr."""
    try:
        _, stderr = process.communicate(timeout=WAIT_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        pytest.fail("parity did not exit after the signal")
    return process.returncode, stderr


def assert_interrupted(code: int, stderr: str) -> None:
    assert code == 130, stderr
    assert stderr == "parity: interrupted\n"


def children_of(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (from /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            status = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        parent = int(status.rsplit(")", 1)[1].split()[1])
        if parent == pid:
            found.append(int(entry))
    return found


def is_alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wchan(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/wchan").read_text()
    except OSError:
        return ""


# --- containers ----------------------------------------------------------------------------


def run_containers(client: Any, pid: int) -> list[str]:
    """Probe containers started by the parity process ``pid``."""
    found = client.api.containers(all=True, filters={"label": f"{LABEL_MANAGED}=1"})
    return [c["Id"] for c in found if (c.get("Labels") or {}).get(LABEL_PID) == str(pid)]


def all_container_ids(client: Any) -> set[str]:
    return {c["Id"] for c in client.api.containers(all=True)}


def build_containers(client: Any, ids: set[str], marker: str) -> list[str]:
    """Of ``ids``, the containers that run a build step carrying ``marker``."""
    found = client.api.containers(all=True)
    return [c["Id"] for c in found if c["Id"] in ids and marker in (c.get("Command") or "")]


def assert_no_containers_left(client: Any, pid: int, before: set[str], marker: str) -> None:
    """Nothing the run started remains: compares ``docker ps -a`` with ``before``."""
    deadline = time.monotonic() + WAIT_SECONDS  # the engine removes them asynchronously
    while True:
        new = all_container_ids(client) - before
        left = run_containers(client, pid) + build_containers(client, new, marker)
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert left == [], f"containers left behind: {left}"


@pytest.fixture
def marker() -> str:
    """A string unique to this test, carried by its build steps' commands."""
    return f"parity-fault-{uuid.uuid4().hex[:12]}"


def sleeping_build(tmp_path: Path, base: str, marker: str) -> Path:
    dockerfile = tmp_path / "project" / "Dockerfile"
    dockerfile.parent.mkdir()
    dockerfile.write_text(f"FROM {base}\nRUN sleep 30 # {marker}\n")
    return dockerfile


def hanging_interpreter(tmp_path: Path) -> Path:
    """A ``python3`` that never answers: a local probe that hangs."""
    python = tmp_path / "bin" / "python3"
    python.parent.mkdir()
    python.write_text("#!/bin/sh\nexec sleep 300\n")
    python.chmod(0o755)
    return python


# --- build phase ---------------------------------------------------------------------------


@pytest.mark.docker
@pytest.mark.parametrize("signal_number", SIGNALS)
def test_signal_during_the_build(
    docker_client: Any, base_image: Any, tmp_path: Path, marker: str, signal_number: int
) -> None:
    """A signal while a RUN step runs: 130, and the step's container goes too."""
    dockerfile = sleeping_build(tmp_path, base_image("3.11"), marker)
    before = all_container_ids(docker_client)
    process = start_parity(
        "probe", f"dockerfile:{dockerfile}", "--no-cache", "-q", tmp_path=tmp_path, env=API_BUILDER
    )
    wait_until(
        lambda: bool(build_containers(docker_client, all_container_ids(docker_client), marker)),
        "the RUN step started",
        process,
    )
    process.send_signal(signal_number)
    assert_interrupted(*finish(process))
    assert_no_containers_left(docker_client, process.pid, before, marker)


@pytest.mark.docker
def test_signal_during_the_build_stops_the_local_probe_too(
    docker_client: Any, base_image: Any, tmp_path: Path, marker: str
) -> None:
    """SIGTERM while the image builds and the local probe still runs: neither survives."""
    dockerfile = sleeping_build(tmp_path, base_image("3.11"), marker)
    python = hanging_interpreter(tmp_path)
    before = all_container_ids(docker_client)
    process = start_parity(
        "diff",
        f"python:{python}",
        f"dockerfile:{dockerfile}",
        "--no-cache",
        "-q",
        tmp_path=tmp_path,
        env=API_BUILDER,
    )
    wait_until(
        lambda: bool(build_containers(docker_client, all_container_ids(docker_client), marker)),
        "the RUN step started",
        process,
    )
    local_probes = children_of(process.pid)
    assert local_probes, "the local probe runs during the build"
    process.send_signal(signal.SIGTERM)
    assert_interrupted(*finish(process))
    assert [pid for pid in local_probes if is_alive(pid)] == []
    assert_no_containers_left(docker_client, process.pid, before, marker)


# --- local probe phase ---------------------------------------------------------------------


@pytest.mark.parametrize("signal_number", SIGNALS)
def test_signal_during_a_local_probe(tmp_path: Path, signal_number: int) -> None:
    """A signal while a local interpreter is being probed: 130, and its process goes too."""
    python = hanging_interpreter(tmp_path)
    process = start_parity("probe", f"python:{python}", "-q", tmp_path=tmp_path)
    wait_until(lambda: bool(children_of(process.pid)), "the local probe started", process)
    local_probes = children_of(process.pid)
    process.send_signal(signal_number)
    assert_interrupted(*finish(process))
    assert [pid for pid in local_probes if is_alive(pid)] == []


def test_a_stop_signal_waits_until_a_started_process_has_its_owner() -> None:
    """The exception for a signal that comes while a child starts is raised after the block."""
    from parity.cli import _interrupt, stop_signals
    from parity.interrupts import held

    previous = {number: signal.signal(number, _interrupt) for number in stop_signals()}
    finished = False
    try:
        with pytest.raises(KeyboardInterrupt), held():
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.01)  # the handler has run: it only recorded the signal
            finished = True
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    assert finished


# --- output phase --------------------------------------------------------------------------


@pytest.fixture
def large_drift(tmp_path: Path) -> tuple[Path, Path]:
    """Two requirements files whose report is far larger than a pipe holds."""
    left, right = tmp_path / "left-requirements.txt", tmp_path / "right-requirements.txt"
    left.write_text("".join(f"package-{i:04d}==1.0.{i}\n" for i in range(3000)))
    right.write_text("".join(f"package-{i:04d}==2.0.{i}\n" for i in range(3000)))
    return left, right


def bytes_waiting(pipe: io.TextIOWrapper) -> int:
    import termios

    raw = fcntl.ioctl(pipe.fileno(), termios.FIONREAD, b"\0\0\0\0")
    return int.from_bytes(raw, sys.byteorder)


@pytest.mark.parametrize("signal_number", SIGNALS)
@pytest.mark.parametrize("order", ["table-then-json", "json-then-table"])
def test_signal_while_writing_the_report(
    tmp_path: Path, large_drift: tuple[Path, Path], order: str, signal_number: int
) -> None:
    """Blocked writing the table to a pipe nobody reads: 130, the JSON file whole or absent."""
    left, right = large_drift
    report = tmp_path / "out" / "report.json"
    report.parent.mkdir()
    json_pair = ["--format", "json", "--output", str(report)]
    table = ["--format", "table"]
    outputs = table + json_pair if order == "table-then-json" else json_pair + table
    process = start_parity(
        "diff", f"requirements:{left}", f"requirements:{right}", *outputs, tmp_path=tmp_path
    )
    assert process.stdout is not None
    capacity = fcntl.fcntl(process.stdout.fileno(), F_GETPIPE_SZ)
    # A full pipe: parity is blocked in the middle of writing the table.
    wait_until(lambda: bytes_waiting(process.stdout) >= capacity, "the pipe filled", process)
    process.send_signal(signal_number)
    code, stderr = finish(process)
    assert_interrupted(code, stderr)
    if order == "table-then-json":
        assert not report.exists()
    else:
        assert len(json.loads(report.read_text(encoding="utf-8"))["packages"]) == 3000
    assert sorted(path.name for path in report.parent.iterdir()) == (
        [] if order == "table-then-json" else ["report.json"]
    ), "no temporary file is left"


def test_output_to_a_fifo_is_written_through(tmp_path: Path) -> None:
    """``--output FIFO`` (a pipe to another tool) writes the report into the FIFO."""
    fifo = tmp_path / "report.fifo"
    os.mkfifo(fifo)
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("requests==2.31.0\n")
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        process = start_parity(
            "diff",
            f"requirements:{requirements}",
            f"requirements:{requirements}",
            "--format",
            "json",
            "--output",
            str(fifo),
            "-q",
            tmp_path=tmp_path,
        )
        code, stderr = finish(process)
        received = _drain(reader)
    finally:
        os.close(reader)
    assert code == 0, stderr
    assert stat.S_ISFIFO(fifo.lstat().st_mode), "the FIFO was replaced by a regular file"
    assert json.loads(received)["verdict"] == "parity"


@pytest.mark.parametrize("signal_number", SIGNALS)
def test_signal_while_waiting_for_a_fifo_reader(tmp_path: Path, signal_number: int) -> None:
    """``--output FIFO`` that nobody reads: parity waits; a signal then is 130, FIFO intact."""
    fifo = tmp_path / "report.fifo"
    os.mkfifo(fifo)
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("requests==2.31.0\n")
    process = start_parity(
        "diff",
        f"requirements:{requirements}",
        f"requirements:{requirements}",
        "--format",
        "json",
        "--output",
        str(fifo),
        "-q",
        tmp_path=tmp_path,
    )
    wait_until(
        lambda: wchan(process.pid) == "wait_for_partner", "parity waited for a reader", process
    )
    process.send_signal(signal_number)
    assert_interrupted(*finish(process))
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert [path for path in tmp_path.iterdir() if path.name.startswith(".parity")] == []


def _drain(descriptor: int) -> bytes:
    chunks = []
    while True:
        try:
            chunk = os.read(descriptor, 65536)
        except BlockingIOError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


# --- probes that misbehave -----------------------------------------------------------------

HANGING_PROBE = "#!/bin/sh\nexec sleep 300\n"
FLOODING_PROBE = "#!/bin/sh\nexec yes parity-flood-line\n"


@pytest.fixture(scope="module")
def misbehaving_image(docker_client: Any, base_image: Any) -> Callable[[str, str], str]:
    """Images whose first ``python3`` on PATH is a script (built once per module)."""
    base = base_image("3.11")
    made: dict[str, str] = {}

    def get(name: str, script: str) -> str:
        if name not in made:
            escaped = script.replace("\\", "\\\\").replace("\n", "\\n")
            python = "/usr/local/bin/python3"
            dockerfile = f"FROM {base}\nRUN printf '{escaped}' > {python} && chmod +x {python}\n"
            image, _ = docker_client.images.build(
                fileobj=io.BytesIO(dockerfile.encode()),
                tag=f"parity-test/fault-{name}:latest",
                rm=True,
                forcerm=True,
            )
            made[name] = str(image.id)
        return made[name]

    return get


@pytest.mark.docker
def test_a_probe_that_hangs_is_stopped(
    docker_client: Any, misbehaving_image: Callable[[str, str], str], tmp_path: Path
) -> None:
    image = misbehaving_image("hang", HANGING_PROBE)
    before = all_container_ids(docker_client)
    process = start_parity(
        "probe", f"image:{image}", "--probe-timeout", "3", "--no-cache", "-q", tmp_path=tmp_path
    )
    code, stderr = finish(process)
    assert code == 2, stderr
    assert stderr.startswith("parity: image ") and stderr.count("\n") == 1, stderr
    assert "did not finish within 3 s" in stderr
    assert_no_containers_left(docker_client, process.pid, before, "no build")


@pytest.mark.docker
def test_a_probe_that_floods_is_stopped(
    docker_client: Any, misbehaving_image: Callable[[str, str], str], tmp_path: Path
) -> None:
    image = misbehaving_image("flood", FLOODING_PROBE)
    before = all_container_ids(docker_client)
    process = start_parity("probe", f"image:{image}", "--no-cache", "-q", tmp_path=tmp_path)
    code, stderr = finish(process)
    assert code == 2, stderr
    assert stderr.startswith("parity: image ") and stderr.count("\n") == 1, stderr
    assert "more than 64 MiB" in stderr
    assert_no_containers_left(docker_client, process.pid, before, "no build")


# --- signals parity does not expect --------------------------------------------------------


@pytest.fixture
def hanging_probe_run(
    docker_client: Any, misbehaving_image: Callable[[str, str], str], tmp_path: Path
) -> Iterator[subprocess.Popen[str]]:
    """parity probing an image whose probe hangs, once its container exists; swept after."""
    image = misbehaving_image("hang", HANGING_PROBE)
    process = start_parity("probe", f"image:{image}", "--no-cache", "-q", tmp_path=tmp_path)
    wait_until(lambda: bool(run_containers(docker_client, process.pid)), "the probe ran", process)
    yield process
    if process.poll() is None:
        process.kill()
        process.communicate()
    for container in run_containers(docker_client, process.pid):
        with contextlib.suppress(Exception):  # already being removed by the engine
            docker_client.api.remove_container(container, force=True)


@pytest.mark.docker
def test_repeated_ctrl_c_still_cleans_up(
    docker_client: Any, hanging_probe_run: subprocess.Popen[str]
) -> None:
    """An impatient user presses Ctrl-C again and again: still 130, nothing left behind."""
    process = hanging_probe_run
    deadline = time.monotonic() + 5
    while process.poll() is None and time.monotonic() < deadline:
        process.send_signal(signal.SIGINT)
        time.sleep(0.002)
    code, stderr = finish(process)
    assert code == 130, stderr
    assert_no_containers_left(docker_client, process.pid, set(), "no build")


@pytest.mark.docker
def test_hangup_cleans_up_like_sigterm(
    docker_client: Any, hanging_probe_run: subprocess.Popen[str]
) -> None:
    process = hanging_probe_run
    process.send_signal(signal.SIGHUP)
    code, stderr = finish(process)
    assert code == 130, stderr
    assert_no_containers_left(docker_client, process.pid, set(), "no build")
