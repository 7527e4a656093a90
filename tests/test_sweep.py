"""The stale-container sweep removes only containers whose owner is provably gone.

Real containers (created, never started) carry crafted owner labels; the real sweep runs
against the real engine with this host's real identity and process table.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from parity.engine.labels import (
    LABEL_HOST,
    LABEL_HOST_ID,
    LABEL_MANAGED,
    LABEL_PID,
    LABEL_STARTED,
    owner_of,
)
from parity.engine.owner import Owner, host_identity, process_table, this_process
from parity.engine.probe_container import parity_labels, sweep_stale_containers

REPO_ROOT = Path(__file__).resolve().parent.parent


def _dead_process() -> Owner:
    """A process of this host that ran and has exited (its PID is free)."""
    processes = process_table()
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    started = processes.start_time(child.pid)
    child.wait()
    assert started is not None
    return Owner(host_identity(), child.pid, started)


def _labels(owner: Owner, **extra: str) -> dict[str, str]:
    labels = {
        LABEL_MANAGED: "1",
        LABEL_PID: str(owner.pid),
        LABEL_HOST: socket.gethostname(),
        LABEL_HOST_ID: owner.host_id,
        LABEL_STARTED: owner.started,
    }
    labels.update(extra)
    return {key: value for key, value in labels.items() if value}


@pytest.fixture
def crafted(docker_client: Any, base_image: Any) -> Iterator[Any]:
    """Create never-started containers with given labels; remove what is left at the end."""
    made: list[str] = []

    def create(labels: dict[str, str]) -> str:
        created = docker_client.api.create_container(
            base_image("3.11"),
            command=["true"],
            name=f"parity-test-sweep-{uuid.uuid4().hex[:12]}",
            labels=labels,
            network_disabled=True,
        )
        made.append(str(created["Id"]))
        return str(created["Id"])

    yield create
    for container_id in made:
        with contextlib.suppress(Exception):  # already swept
            docker_client.api.remove_container(container_id, force=True)


def _exists(client: Any, container_id: str) -> bool:
    return bool(client.api.containers(all=True, filters={"id": container_id}))


def test_parity_labels_name_this_process() -> None:
    owner = owner_of(parity_labels())
    assert owner == this_process()
    assert owner is not None and owner.pid == os.getpid() and owner.started


def test_sweep_removes_only_provably_dead_owners(
    docker_client: Any, engine: Any, crafted: Any
) -> None:
    me = this_process()
    dead = _dead_process()
    recycled = Owner(me.host_id, me.pid, "ticks:1")  # our PID, another start time
    other_host = Owner("0" * 32, dead.pid, dead.started)
    containers = {
        "dead": crafted(_labels(dead)),
        "recycled": crafted(_labels(recycled)),
        "live": crafted(_labels(me)),
        "other host": crafted(_labels(other_host, **{LABEL_HOST: "another-host"})),
        # Labels of an older parity (no host identity, no start time): not provable.
        "unprovable": crafted(_labels(Owner("", me.pid, ""))),
    }
    sweep_stale_containers(engine)
    left = {name for name, cid in containers.items() if _exists(docker_client, cid)}
    assert left == {"live", "other host", "unprovable"}


def test_a_run_inside_a_container_is_another_host(
    docker_client: Any, engine: Any, base_image: Any, crafted: Any
) -> None:
    """Same kernel, same boot, same host name even: another PID namespace is another host."""
    code = (
        "import os, sys; sys.path.insert(0, '/src')\n"
        "from parity.engine.owner import host_identity, process_table\n"
        "print(host_identity(), os.getpid(), process_table().start_time(os.getpid()))\n"
    )
    output = docker_client.containers.run(
        base_image("3.11"),
        ["python3", "-c", code],
        volumes={str(REPO_ROOT / "parity"): {"bind": "/src/parity", "mode": "ro"}},
        network_mode="none",
        hostname=socket.gethostname(),
        labels={"io.parity.test": "sweep"},
        remove=True,
    )
    inside_id, inside_pid, inside_started = output.decode().split()
    assert inside_id != host_identity()
    # A live run in that container, whose PID and start time mean nothing out here.
    dead_here = _dead_process()
    held = crafted(_labels(Owner(inside_id, dead_here.pid, inside_started)))
    sweep_stale_containers(engine)
    assert _exists(docker_client, held)
    assert int(inside_pid) >= 1
