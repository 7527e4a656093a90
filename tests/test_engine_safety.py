"""The probe container on a real engine: locked down, time-limited, always removed."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from parity.engine.labels import LABEL_MANAGED, LABEL_PID
from parity.engine.owner import Unknown, process_table
from parity.engine.probe_container import ProbeLimits, ProbeRequest, run_probe
from parity.errors import ProbeError
from tests.helpers import run_parity

pytestmark = pytest.mark.docker

# Run inside the probe container: reports what the sandbox allows, as JSON.
SANDBOX_REPORT = r"""
import json, os, socket
facts = {}
try:
    socket.create_connection(("1.1.1.1", 53), timeout=2)
    facts["network"] = "open"
except OSError as error:
    facts["network"] = "closed: %s" % error
try:
    open("/parity-write-test", "w").write("x")
    facts["root_writable"] = True
except OSError:
    facts["root_writable"] = False
status = open("/proc/self/status").read()
fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
facts["cap_eff"] = fields["CapEff"].strip()
facts["no_new_privs"] = fields.get("NoNewPrivs", "").strip()
facts["environ"] = sorted(os.environ)
facts["mounts"] = open("/proc/self/mounts").read()
children = 0
try:
    for _ in range(200):
        if os.fork() == 0:
            import time; time.sleep(5); os._exit(0)
        children += 1
except OSError:
    pass
facts["forked"] = children
print(json.dumps(facts))
"""


def parity_containers(client: Any, owner: int | None = None) -> list[Any]:
    """Containers parity made; only those of the process ``owner`` when given.

    The engine is shared (other runs, other test sessions): a test looks at its own.
    """
    # The low-level list: the high-level one inspects each container, racing auto-removal.
    labels = [f"{LABEL_MANAGED}=1", *([f"{LABEL_PID}={owner}"] if owner is not None else [])]
    return list(client.api.containers(all=True, filters={"label": labels}))


def _left_behind(client: Any, before: set[str]) -> list[str]:
    """Containers made since ``before`` whose parity process no longer runs (or is us)."""
    processes = process_table()
    left = []
    for container in parity_containers(client):
        pid = int((container.get("Labels") or {}).get(LABEL_PID, "0") or 0)
        if container["Id"] in before:
            continue
        try:
            gone = processes.start_time(pid) is None
        except Unknown:  # it runs, as far as anyone can tell
            gone = False
        if pid == os.getpid() or gone:
            left.append(str(container["Id"]))
    return left


@pytest.fixture
def no_leftovers(docker_client: Any) -> Any:
    before = {str(container["Id"]) for container in parity_containers(docker_client)}
    yield
    for _ in range(150):  # the engine's auto-remove finishes asynchronously
        if not _left_behind(docker_client, before):
            return
        time.sleep(0.1)
    pytest.fail(f"parity left containers behind: {_left_behind(docker_client, before)}")


def test_probe_container_is_locked_down(
    docker_client: Any, engine: Any, base_image: Any, no_leftovers: Any
) -> None:
    image = base_image("3.11")
    os.environ["PARITY_TEST_SECRET"] = "must-not-leak"
    try:
        run = run_probe(engine, ProbeRequest(image=image), SANDBOX_REPORT)
    finally:
        del os.environ["PARITY_TEST_SECRET"]
    facts = json.loads(run.stdout)
    assert facts["network"].startswith("closed")
    assert facts["root_writable"] is False
    assert int(facts["cap_eff"], 16) == 0
    assert facts["no_new_privs"] == "1"
    assert "PARITY_TEST_SECRET" not in facts["environ"]
    assert not any(name.lower().endswith("_proxy") for name in facts["environ"])
    assert facts["forked"] < ProbeLimits().pids
    bind_mounts = [line for line in facts["mounts"].splitlines() if " /host" in line]
    assert bind_mounts == []


def test_probe_that_hangs_is_stopped_and_removed(
    docker_client: Any, engine: Any, base_image: Any, no_leftovers: Any
) -> None:
    image = base_image("3.11")
    request = ProbeRequest(image=image, limits=ProbeLimits(timeout_seconds=2))
    started = time.monotonic()
    with pytest.raises(ProbeError, match="did not finish within 2 s"):
        run_probe(engine, request, "import time; time.sleep(120)")
    assert time.monotonic() - started < 60


def test_probe_that_floods_is_stopped(
    docker_client: Any, engine: Any, base_image: Any, no_leftovers: Any
) -> None:
    image = base_image("3.11")
    flood = "import sys\nchunk = 'x' * 1048576\nwhile True: sys.stdout.write(chunk)"
    with pytest.raises(ProbeError, match="more than 64 MiB"):
        run_probe(engine, ProbeRequest(image=image), flood)


def test_missing_interpreter_is_one_clear_message(
    docker_client: Any, engine: Any, base_image: Any, no_leftovers: Any
) -> None:
    image = base_image("3.11")
    with pytest.raises(ProbeError, match="no /opt/nothing/python"):
        run_probe(engine, ProbeRequest(image=image, python="/opt/nothing/python"), "pass")


def build_sleeper_image(client: Any, base: str, tmp_path: Path) -> str:
    """An image whose python3 (first on PATH) sleeps instead of probing."""
    dockerfile = (
        f"FROM {base}\n"
        "RUN printf '#!/bin/sh\\nsleep 300\\n' > /usr/local/bin/python3 "
        "&& chmod +x /usr/local/bin/python3\n"
    )
    image, _ = client.images.build(
        forcerm=True,
        fileobj=io.BytesIO(dockerfile.encode()),
        tag="parity-test/sleeper:latest",
        rm=True,
    )
    return str(image.id)


@pytest.mark.parametrize("signal_number", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_during_probe_removes_the_container(
    docker_client: Any, base_image: Any, tmp_path: Path, no_leftovers: Any, signal_number: int
) -> None:
    image = build_sleeper_image(docker_client, base_image("3.11"), tmp_path)
    process = subprocess.Popen(
        [sys.executable, "-m", "parity", "probe", f"image:{image}", "--no-cache", "-q"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PARITY_CACHE_DIR": str(tmp_path / "cache")},
    )
    deadline = time.monotonic() + 60
    while not parity_containers(docker_client, owner=process.pid):
        assert time.monotonic() < deadline, "the probe container never appeared"
        assert process.poll() is None, process.communicate()
        time.sleep(0.1)
    process.send_signal(signal_number)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "interrupted" in stderr
    assert "Traceback" not in stderr


def test_unreachable_engine_is_exit_2_naming_where(tmp_path: Path) -> None:
    result = run_parity(
        "probe", "image:python:3.11-slim", env={"DOCKER_HOST": f"unix://{tmp_path}/no.sock"}
    )
    assert result.returncode == 2
    assert f"DOCKER_HOST=unix://{tmp_path}/no.sock" in result.stderr
    assert "the socket does not exist" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_docker_context_is_an_error_not_a_fallback() -> None:
    result = run_parity(
        "probe", "image:python:3.11-slim", env={"DOCKER_CONTEXT": "no-such-context"}
    )
    assert result.returncode == 2
    assert "docker context 'no-such-context' does not exist" in result.stderr


def test_failing_build_step_is_exit_2_and_leaves_no_intermediate_container(
    docker_client: Any, base_image: Any, tmp_path: Path
) -> None:
    base = base_image("3.11")
    (tmp_path / "Dockerfile").write_text(f"FROM {base}\nRUN echo building && exit 3\n")

    def ours() -> set[str]:  # the engine is shared: the build step's own containers
        return {
            str(container["Id"])
            for container in docker_client.api.containers(all=True)
            if "echo building && exit 3" in str(container.get("Command") or "")
        }

    before = ours()
    result = run_parity("probe", f"dockerfile:{tmp_path / 'Dockerfile'}", "-q")
    after = ours()
    assert result.returncode == 2
    assert "failed at step 2" in result.stderr
    assert "exit code: 3" in result.stderr  # BuildKit's words ("returned a non-zero code" classic)
    assert "last lines of the build:" in result.stderr
    assert "  building" in result.stderr  # the RUN step's own output, from the log tail
    assert "Traceback" not in result.stderr
    assert after - before == set()


def test_missing_image_is_not_pulled(docker_client: Any) -> None:
    result = run_parity("probe", "image:parity-test/does-not-exist:1.0")
    assert result.returncode == 2
    assert "image parity-test/does-not-exist:1.0: image not found locally" in result.stderr


def test_containers_of_dead_runs_are_swept_at_the_next_start(
    docker_client: Any, base_image: Any, tmp_path: Path, no_leftovers: Any
) -> None:
    """A run killed with SIGKILL leaves its container; the next run removes it."""
    image = build_sleeper_image(docker_client, base_image("3.11"), tmp_path)
    process = subprocess.Popen(
        [sys.executable, "-m", "parity", "probe", f"image:{image}", "--no-cache", "-q"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PARITY_CACHE_DIR": str(tmp_path / "cache")},
    )
    deadline = time.monotonic() + 60
    while not parity_containers(docker_client, owner=process.pid):
        assert time.monotonic() < deadline, "the probe container never appeared"
        time.sleep(0.1)
    process.kill()
    process.wait()
    killed = parity_containers(docker_client, owner=process.pid)
    assert killed, "SIGKILL cannot clean up; the container stays"
    result = run_parity("probe", "image:python:3.11-slim", "-q", "--no-cache")
    assert result.returncode == 0, result.stderr
