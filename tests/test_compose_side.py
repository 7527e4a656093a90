"""compose:SERVICE on a real engine: the service's build args, environment and image."""

from __future__ import annotations

import json
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import TEST_DATA
from tests.helpers import TOOLING, run_parity

pytestmark = [pytest.mark.docker, pytest.mark.slow]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, docker_client: Any) -> Iterator[Path]:
    """The compose project, in a folder whose name (compose's project name) is this run's."""
    target = tmp_path_factory.mktemp("compose") / f"cside{uuid.uuid4().hex[:8]}"
    shutil.copytree(TEST_DATA / "compose-side", target)
    yield target
    for image in docker_client.api.images(name=f"{target.name}-*"):
        for tag in image.get("RepoTags") or ():
            docker_client.api.remove_image(tag)


def probe(project: Path, service: str, tmp_path: Path, **env: str) -> dict[str, Any]:
    result = run_parity(
        "probe",
        f"compose:{service}@{project / 'compose.yaml'}",
        "--format",
        "json",
        "-q",
        env={"PARITY_CACHE_DIR": str(tmp_path / "cache"), **env},
    )
    assert result.returncode == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def versions(snapshot: dict[str, Any]) -> dict[str, str]:
    return {
        package["name"]: package["version"]
        for package in snapshot["packages"]
        if package["name"] not in TOOLING
    }


def test_service_build_args_and_environment_reach_the_probe(
    project: Path, tmp_path: Path, base_image: Any
) -> None:
    base_image("3.11")
    web = probe(project, "web", tmp_path)
    # build arg from compose's ${SIX_VERSION:-1.15.0}; PYTHONPATH=/extra from the service
    assert versions(web) == {"six": "1.15.0", "attrs": "23.2.0"}
    assert web["kind"] == "compose"
    worker = probe(project, "worker", tmp_path)  # extends web, but clears PYTHONPATH
    assert versions(worker) == {"six": "1.15.0"}
    pinned = probe(project, "web", tmp_path, SIX_VERSION="1.16.0")  # interpolation from env
    assert versions(pinned)["six"] == "1.16.0"


def test_service_image_that_is_not_local_is_a_clear_error(project: Path, tmp_path: Path) -> None:
    result = run_parity("probe", f"compose:db@{project / 'compose.yaml'}", "-q")
    assert result.returncode == 2
    assert "image parity-test/not-here:16: image not found locally" in result.stderr


def test_unknown_service_lists_the_known_ones(project: Path) -> None:
    result = run_parity("probe", f"compose:nope@{project / 'compose.yaml'}")
    assert result.returncode == 2
    # compose's own model lists them in its order (by name)
    assert "no service 'nope' (services: db, debug, static, web, worker)" in result.stderr


def test_check_detects_the_compose_service_when_there_is_no_dockerfile(
    project: Path, tmp_path: Path
) -> None:
    (project / "requirements.txt").write_text("six==1.15.0\nattrs==23.2.0\n")
    result = run_parity(
        "check",
        str(project),
        "--format",
        "json",
        env={"PARITY_CACHE_DIR": str(tmp_path / "cache"), "VIRTUAL_ENV": ""},
    )
    assert result.returncode == 0, result.stderr
    assert f"container side: compose:web@{project / 'compose.yaml'}" in result.stderr
    report = json.loads(result.stdout)
    assert report["verdict"] == "parity"
    assert report["summary"]["compared"] == 2


def test_all_services_checks_each_python_service_and_names_the_skipped(
    project: Path, tmp_path: Path
) -> None:
    (project / "requirements.txt").write_text("six==1.15.0\nattrs==23.2.0\n")
    result = run_parity(
        "check",
        str(project),
        "--all-services",
        "--format",
        "json",
        env={"PARITY_CACHE_DIR": str(tmp_path / "cache"), "VIRTUAL_ENV": ""},
    )
    assert result.returncode == 1, result.stderr  # worker lacks attrs (no PYTHONPATH)
    document = json.loads(result.stdout)
    assert document["schema"] == "parity.report-set/1"
    assert set(document["reports"]) == {"web", "worker"}
    assert document["reports"]["web"]["verdict"] == "parity"
    worker_rows = document["reports"]["worker"]["packages"]
    assert [(row["name"], row["status"]) for row in worker_rows] == [("attrs", "missing")]
    assert document["skipped"] == {
        "db": "image not found locally (parity pulls only with --pull)",
        "static": "no Python in its image",
        "debug": "its profile is not enabled",
    }
    assert "skipped service static: no Python in its image" in result.stderr


def test_dockerfile_inline_is_what_the_service_is_built_from(
    tmp_path: Path, base_image: Any, docker_client: Any
) -> None:
    """build.dockerfile_inline wins over the context's Dockerfile, as compose builds it."""
    base_image("3.9")
    base_image("3.11")
    project = tmp_path / f"inline{uuid.uuid4().hex[:8]}"
    project.mkdir()
    (project / "Dockerfile").write_text("FROM python:3.11-slim\n", encoding="utf-8")
    (project / "compose.yaml").write_text(
        "services:\n"
        "  app:\n"
        "    build:\n"
        "      context: .\n"
        "      dockerfile_inline: |\n"
        "        FROM python:3.9-slim\n"
        "        ENV PARITY_INLINE=1\n",
        encoding="utf-8",
    )
    try:
        snapshot = probe(project, "app", tmp_path)
        assert snapshot["interpreter"]["version"].startswith("3.9.")
        assert not list(Path(tempfile.gettempdir()).glob("parity-inline-*"))
    finally:
        for image in docker_client.api.images(name=f"{project.name}-*"):
            for tag in image.get("RepoTags") or ():
                docker_client.api.remove_image(tag)


def test_the_service_s_command_decides_its_python(
    tmp_path: Path, base_image: Any, docker_client: Any
) -> None:
    """A service whose command runs a venv's Python that the image's own CMD does not:
    parity probes the venv for that service, the image's python3 for the other."""
    base_image("3.11")
    project = tmp_path / f"cmd{uuid.uuid4().hex[:8]}"
    project.mkdir()
    (project / "Dockerfile").write_text(
        "FROM python:3.11-slim\n"
        "RUN python3 -m venv --without-pip /opt/venv\n"
        'CMD ["python3", "-c", "pass"]\n',
        encoding="utf-8",
    )
    (project / "compose.yaml").write_text(
        "services:\n"
        "  plain:\n"
        "    build: .\n"
        "  app:\n"
        "    build: .\n"
        "    command: /opt/venv/bin/python -c pass\n",
        encoding="utf-8",
    )
    try:
        assert (
            probe(project, "app", tmp_path)["interpreter"]["executable"] == "/opt/venv/bin/python"
        )
        plain = probe(project, "plain", tmp_path)
        assert plain["interpreter"]["executable"] == "/usr/bin/python3"
    finally:
        for image in docker_client.api.images(name=f"{project.name}-*"):
            for tag in image.get("RepoTags") or ():
                docker_client.api.remove_image(tag)
