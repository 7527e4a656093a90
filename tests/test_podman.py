"""parity against Podman's Docker-compatible API (DOCKER_HOST=unix://...podman socket).

scripts/podman-up brings the service and the base image up. Podman is optional: without
PARITY_TEST_PODMAN these tests skip when podman is not installed (or cannot be brought
up); with PARITY_TEST_PODMAN=1 a failure to bring it up fails them.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import pytest

from parity.engine.build import image_name
from parity.engine.labels import LABEL_MANAGED
from parity.model import canonical_name
from tests.conftest import BASE_IMAGES, REPO_ROOT
from tests.helpers import drift_rows, load_report, make_venv, parse_freeze, run_parity

pytestmark = pytest.mark.docker

PODMAN_UP = REPO_ROOT / "scripts" / "podman-up"
DEFAULT_SOCKET = "/run/parity-podman.sock"  # scripts/podman-up's default
BASE_IMAGE = BASE_IMAGES["3.11"]
CONTAINER_PIN = "six==1.16.0"
LOCAL_PIN = "six==1.17.0"


def podman_cli(url: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """``podman --remote`` against the service at ``url`` (so its own configuration applies)."""
    return subprocess.run(
        ["podman", "--remote", "--url", url, *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=check,
    )


def all_containers(url: str) -> frozenset[str]:
    """IDs of all the service's containers, build containers too (``--external``)."""
    listed = podman_cli(url, "ps", "--all", "--external", "--no-trunc", "--format", "{{.ID}}")
    return frozenset(listed.stdout.split())


@dataclass(frozen=True)
class Podman:
    """A Podman API service: its DOCKER_HOST URL, and the containers it held beforehand."""

    url: str
    containers_before: frozenset[str]

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return podman_cli(self.url, *args, check=check)


def podman_requested() -> str | None:
    """PARITY_TEST_PODMAN: "1" makes bring-up failures fail, "0" skips, unset decides alone."""
    return os.environ.get("PARITY_TEST_PODMAN")


def socket_answers(path: str) -> bool:
    """Whether an API service answers ``GET /_ping`` on the unix socket ``path``."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.settimeout(5)
            client.connect(path)
            client.sendall(b"GET /_ping HTTP/1.0\r\nHost: podman\r\n\r\n")
            status_line = client.recv(256).split(b"\r\n", 1)[0]
    except OSError:
        return False
    return status_line.startswith(b"HTTP/") and b" 200" in status_line


def unavailable(reason: str) -> NoReturn:
    """Skip, or fail when PARITY_TEST_PODMAN=1 asked for Podman."""
    if podman_requested() == "1":
        pytest.fail(f"PARITY_TEST_PODMAN=1 but {reason}")
    pytest.skip(reason)


def bring_up() -> Podman:
    try:
        result = subprocess.run(
            [str(PODMAN_UP)], capture_output=True, text=True, timeout=900, check=False
        )
    except subprocess.TimeoutExpired:
        unavailable("scripts/podman-up did not finish within 15 minutes")
    if result.returncode != 0:
        unavailable(f"scripts/podman-up failed:\n{result.stderr[-2000:]}")
    url = result.stdout.strip()
    return Podman(url, all_containers(url))


@pytest.fixture(scope="session")
def podman() -> Iterator[Podman]:
    """The service scripts/podman-up brings up; stopped afterwards unless it ran before."""
    if podman_requested() == "0":
        pytest.skip("PARITY_TEST_PODMAN=0")
    if podman_requested() is None and shutil.which("podman") is None:
        pytest.skip("podman is not installed (PARITY_TEST_PODMAN=1 installs and tests it)")
    was_running = socket_answers(os.environ.get("PARITY_PODMAN_SOCKET", DEFAULT_SOCKET))
    try:
        yield bring_up()
    finally:
        if not was_running:
            subprocess.run([str(PODMAN_UP), "--stop"], capture_output=True, timeout=60, check=False)


def parity_env(podman: Podman, tmp_path: Path) -> dict[str, str]:
    """The CLI's environment: the Podman service as the engine, a fresh cache."""
    return {
        "DOCKER_HOST": podman.url,
        "PARITY_CACHE_DIR": str(tmp_path / "cache"),
        "PARITY_BUILD_NETWORK": "host",
        "VIRTUAL_ENV": "",
    }


def podman_python(podman: Podman, image: str, *args: str) -> str:
    """Output of ``python3 ARGS`` in a throwaway container of ``image``, run by Podman."""
    return podman.run("run", "--rm", "--network", "none", image, "python3", *args).stdout


def podman_freeze(podman: Podman, image: str) -> dict[str, str]:
    return parse_freeze(
        podman_python(podman, image, "-m", "pip", "freeze", "--all", "--disable-pip-version-check")
    )


@pytest.fixture(scope="module")
def built_images(podman: Podman) -> Iterator[list[str]]:
    """Image IDs parity built in Podman; removed at the end of the module."""
    images: list[str] = []
    yield images
    for image_id in images:
        podman.run("rmi", "--force", image_id, check=False)


@pytest.fixture(scope="module")
def drift_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project whose image pins one version of six and whose venv holds another."""
    project = tmp_path_factory.mktemp("podman") / "project"
    project.mkdir()
    (project / "Dockerfile").write_text(
        f"FROM {BASE_IMAGE}\n"
        f"RUN pip install --no-cache-dir --disable-pip-version-check {CONTAINER_PIN}\n",
        encoding="utf-8",
    )
    make_venv(project / ".venv", None, LOCAL_PIN)
    return project


def test_probe_through_podman_matches_pip_freeze(podman: Podman, tmp_path: Path) -> None:
    result = run_parity(
        "probe", f"image:{BASE_IMAGE}", "--format", "json", env=parity_env(podman, tmp_path)
    )
    assert result.returncode == 0, result.stderr
    snapshot = json.loads(result.stdout)

    probed = {canonical_name(p["name"]): p["version"] for p in snapshot["packages"]}
    assert probed == podman_freeze(podman, BASE_IMAGE)
    assert probed  # the image has pip at least: an empty match would prove nothing
    version = podman_python(
        podman, BASE_IMAGE, "-c", "import platform; print(platform.python_version())"
    )
    assert snapshot["interpreter"]["version"] == version.strip()
    # The image parity probed is Podman's (Docker's copy of the tag has another ID).
    image_id = podman.run("image", "inspect", "--format", "{{.Id}}", BASE_IMAGE).stdout.strip()
    assert image_id.removeprefix("sha256:")[:12] in snapshot["description"]


def test_check_builds_with_podman_and_reports_the_exact_row(
    podman: Podman, drift_project: Path, built_images: list[str], tmp_path: Path
) -> None:
    output = tmp_path / "report.json"
    result = run_parity(
        "check",
        str(drift_project),
        "-q",
        "--format",
        "table",
        "--format",
        "json",
        "--output",
        str(output),
        env=parity_env(podman, tmp_path),
    )
    assert output.exists(), result.stderr
    report = load_report(output)
    container = next(side for side in report["sides"] if side["name"] == "container")
    built_images.append(container["image_id"])

    assert result.returncode == 1, result.stderr
    assert report["verdict"] == "drift"
    assert drift_rows(report) == [
        {
            "name": "six",
            "values": {"local": "1.17.0", "container": "1.16.0"},
            "status": "version",
            "change": "minor",
            "severity": "error",
        }
    ]
    table_rows = [line.split() for line in result.stdout.splitlines()]
    assert ["six", "1.17.0", "1.16.0", "version", "(minor)", "error"] in table_rows
    # Podman built the image parity probed, and it holds what the Dockerfile pinned.
    assert container["kind"] == "dockerfile"
    assert podman_freeze(podman, container["image_id"])["six"] == "1.16.0"


def test_no_container_remains_in_podman(podman: Podman) -> None:
    """Runs after the tests above (file order): every probe and build container is gone."""
    leftovers = ""
    for _ in range(50):  # auto-removal completes asynchronously
        leftovers = podman.run(
            "ps", "--all", "--filter", f"label={LABEL_MANAGED}=1", "--format", "{{.ID}} {{.Names}}"
        ).stdout.strip()
        if not leftovers:
            break
        time.sleep(0.2)
    assert leftovers == ""
    assert all_containers(podman.url) <= podman.containers_before


def test_buildkit_constructs_build_with_podman(
    podman: Podman, built_images: list[str], tmp_path: Path
) -> None:
    """Podman stays on the API path (buildah): RUN --mount=type=cache builds there; a heredoc
    builds from Podman 4.8 (buildah 1.33) on, and is one clear message before that."""
    project = tmp_path / "mounts"
    project.mkdir()
    (project / "Dockerfile").write_text(
        f"FROM {BASE_IMAGE}\n"
        "RUN --mount=type=cache,target=/root/.cache/pip pip --version > /pip-version\n",
        encoding="utf-8",
    )
    env = parity_env(podman, tmp_path)
    result = run_parity("probe", f"dockerfile:{project}", "-q", env=env)
    assert result.returncode == 0, result.stderr
    name = image_name(str(project), str(project / "Dockerfile"), None)
    built_images.append(name)
    assert "pip " in podman.run("run", "--rm", name, "cat", "/pip-version").stdout

    (project / "Dockerfile").write_text(
        f"FROM {BASE_IMAGE}\nRUN <<EOF\necho from-a-heredoc > /heredoc\nEOF\n", encoding="utf-8"
    )
    result = run_parity("probe", f"dockerfile:{project}", "-q", env=env)
    version = podman.run("version", "--format", "{{.Server.Version}}").stdout.strip()
    if tuple(int(part) for part in version.split(".")[:2]) >= (4, 8):
        assert result.returncode == 0, result.stderr
        assert podman.run("run", "--rm", name, "cat", "/heredoc").stdout == "from-a-heredoc\n"
    else:
        assert result.returncode == 2
        assert result.stderr.startswith(
            f"parity: {project / 'Dockerfile'}:2: uses a heredoc (`RUN <<EOF`), which this "
            f"engine, Podman {version}, cannot build"
        ), result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
