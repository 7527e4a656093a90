"""The CLI's container kinds beyond a Dockerfile: --static reads and running containers."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import TOOLING, image_freeze, run_parity

pytestmark = pytest.mark.docker


def packages(stdout: str) -> dict[str, str]:
    snapshot = json.loads(stdout)
    return {package["name"].lower(): package["version"] for package in snapshot["packages"]}


@pytest.mark.parametrize("minor", ["3.9", "3.11", "3.13"])
def test_static_read_equals_the_probe(base_image: Any, tmp_path: Path, minor: str) -> None:
    image = base_image(minor)
    env = {"PARITY_CACHE_DIR": str(tmp_path / "cache")}
    probed = run_parity("probe", f"image:{image}", "--format", "json", "-q", env=env)
    static = run_parity("probe", f"image:{image}", "--static", "--format", "json", "-q", env=env)
    assert probed.returncode == 0, probed.stderr
    assert static.returncode == 0, static.stderr
    assert packages(static.stdout) == packages(probed.stdout)
    assert json.loads(static.stdout)["interpreter"]["version"].startswith(minor)


def test_running_container_is_probed_in_place(
    docker_client: Any, base_image: Any, tmp_path: Path
) -> None:
    image = base_image("3.11")
    name = f"parity-test-running-{uuid.uuid4().hex[:8]}"
    container = docker_client.containers.run(
        image, ["sleep", "300"], name=name, detach=True, network_mode="none"
    )
    try:
        before = {item["Id"] for item in docker_client.api.containers(all=True)}
        result = run_parity("probe", f"container:{name}", "--format", "json", "-q")
        after = {item["Id"] for item in docker_client.api.containers(all=True)}
        assert result.returncode == 0, result.stderr
        assert after - before == set()  # exec: no new container
        found = {k: v for k, v in packages(result.stdout).items() if k not in TOOLING}
        expected = {k: v for k, v in image_freeze(docker_client, image).items() if k not in TOOLING}
        assert found == expected
        container.reload()
        assert container.status == "running"  # the user's container is left as it was
    finally:
        container.remove(force=True)


def test_stopped_or_missing_container_is_a_clear_error() -> None:
    result = run_parity("probe", "container:parity-test-no-such-container")
    assert result.returncode == 2
    assert "parity-test-no-such-container" in result.stderr
    assert "Traceback" not in result.stderr
