"""Builds as the user builds: BuildKit through the docker CLI, compose's own model, fallbacks.

The projects in tests/data/buildkit use what modern Dockerfiles use (``FROM
--platform=$BUILDPLATFORM``, ``ARG TARGETARCH``, ``RUN --mount=type=cache|bind|secret``,
heredocs, ``COPY --link``, a compose ``target:`` followed by an unused heredoc stage, uv's
Docker guide) and compose's ``include:``, an override file and a profile. No fixture has a
``# syntax=`` line (nothing can pull a frontend here) but the offline-message test.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from parity.build_key import RACY_SECONDS
from parity.engine.build import BUILD_KEY_LABEL, image_name
from parity.sources.compose import load_project
from tests.conftest import TEST_DATA, build_network
from tests.helpers import run_parity

pytestmark = [pytest.mark.docker, pytest.mark.slow]

DATA = TEST_DATA / "buildkit"
SECRET = "id=pip_token,src=pip-token.txt"


def _network_args() -> list[str]:
    network = build_network()
    return ["--build-network", network] if network else []


@pytest.fixture
def app(tmp_path: Path, docker_client: Any, base_image: Any) -> Iterator[Path]:
    """A copy of the compose-app project; the images named for it are removed afterwards."""
    base_image("3.11")
    target = tmp_path / f"bkapp{uuid.uuid4().hex[:8]}"
    shutil.copytree(DATA / "compose-app", target)
    yield target
    for image in docker_client.api.images(name=f"{target.name}-*"):
        for tag in image.get("RepoTags") or ():
            docker_client.api.remove_image(tag)


def _cli_env(project: Path, **extra: str) -> dict[str, str]:
    return {"COMPOSE_PROJECT_NAME": project.name, "VIRTUAL_ENV": "", **extra}


def _run_in(docker_client: Any, image: str, command: str) -> str:
    output: bytes = docker_client.containers.run(
        image, ["sh", "-c", command], remove=True, network_mode="none"
    )
    return output.decode().strip()


def test_buildkit_dockerfile_with_a_secret_checks_clean_and_is_named(
    app: Path, tmp_path: Path, docker_client: Any
) -> None:
    result = run_parity(
        "check",
        str(app),
        "--container",
        f"dockerfile:{app / 'Dockerfile'}",
        "--target",
        "app",
        "--secret",
        f"id=pip_token,src={app / 'pip-token.txt'}",
        *_network_args(),
        "--format",
        "json",
        env={"PARITY_CACHE_DIR": str(tmp_path / "cache"), "VIRTUAL_ENV": ""},
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["verdict"] == "parity"
    image_id = report["sides"][1]["image_id"]
    name = image_name(str(app), str(app / "Dockerfile"), "app")
    assert name == f"parity-{app.name}-{name.split('-')[-1].split(':')[0]}:app"
    assert docker_client.images.get(name).id == image_id  # named: no <none> image left
    # the secret was mounted for the RUN step, and is not in the image
    assert _run_in(docker_client, image_id, "cat /app/secret-lines") == "1"
    assert _run_in(docker_client, image_id, "test -e /run/secrets/pip_token || echo absent") == (
        "absent"
    )
    assert _run_in(docker_client, image_id, "cat /app/arch") in ("amd64", "arm64")


def test_user_build_first_then_check_runs_no_step_again(
    app: Path, tmp_path: Path, docker_client: Any
) -> None:
    """The user's own `docker buildx build` fills the cache parity uses: the same layers.

    The heredoc RUN step writes the build time into the image, so a step run again would
    give another layer. parity's image adds its build-key label to the same layers (another
    config, so another image ID).
    """
    iidfile = tmp_path / "iid"
    user_tag = f"{app.name}-users-own:latest"
    network = build_network()
    subprocess.run(
        [
            "docker",
            "buildx",
            "build",
            "--load",
            "--target",
            "app",
            "--secret",
            SECRET,
            *(["--network", network] if network else []),
            "--iidfile",
            str(iidfile),
            "-t",
            user_tag,
            ".",
        ],
        cwd=app,
        check=True,
        capture_output=True,
    )
    users_image = iidfile.read_text().strip()
    time.sleep(RACY_SECONDS + 0.2)  # the copied files may be keyed: parity labels its image
    result = run_parity(
        "probe",
        f"dockerfile:{app}",
        "--target",
        "app",
        "--secret",
        f"id=pip_token,src={app / 'pip-token.txt'}",
        *_network_args(),
        "-v",
        "--format",
        "json",
        env={"PARITY_CACHE_DIR": str(tmp_path / "cache")},
    )
    assert result.returncode == 0, result.stderr
    name = image_name(str(app), str(app / "Dockerfile"), "app")
    parity_image = docker_client.api.inspect_image(name)
    users = docker_client.api.inspect_image(users_image)
    assert parity_image["RootFS"]["Layers"] == users["RootFS"]["Layers"]
    assert BUILD_KEY_LABEL in parity_image["Config"]["Labels"]
    run_steps = [line for line in result.stderr.splitlines() if "] RUN " in line]
    assert run_steps and all(line.endswith("(cached)") for line in run_steps), run_steps


def test_compose_model_include_override_profile_and_secret(
    app: Path, tmp_path: Path, docker_client: Any
) -> None:
    """compose's own model: include:, compose.override.yaml, a profile, build secrets; the
    image parity builds for a service is the one `docker compose build` makes."""
    environ = {**os.environ, "COMPOSE_PROJECT_NAME": app.name}
    project = load_project(str(app), environ=environ)
    assert project.reader.startswith("compose ")
    services = {item.name: item for item in project.services}
    assert set(services) == {"web", "debug", "tools"}  # tools comes from include:
    assert dict(services["web"].environment)["APP_MODE"] == "override"
    assert not services["debug"].active
    assert services["web"].image_name == f"{app.name}-web"
    assert services["web"].build is not None
    assert services["web"].build.target == "app"
    assert services["web"].build.secrets == (f"id=pip_token,src={app / 'pip-token.txt'}",)

    result = run_parity(
        "check",
        str(app),
        "--all-services",
        *_network_args(),
        "--format",
        "json",
        env={"PARITY_CACHE_DIR": str(tmp_path / "cache"), **_cli_env(app)},
    )
    assert result.returncode == 1, result.stderr  # tools (python:3.11-slim) lacks six
    document = json.loads(result.stdout)
    assert document["reports"]["web"]["verdict"] == "parity"
    assert document["reports"]["tools"]["verdict"] == "drift"
    assert document["skipped"] == {"debug": "its profile is not enabled"}
    assert result.stderr.count("skipped service debug") == 1
    parity_built = docker_client.images.get(f"{app.name}-web:latest").id
    labels = docker_client.api.inspect_image(parity_built)["Config"]["Labels"] or {}
    assert BUILD_KEY_LABEL not in labels  # compose's names and labels only: never skipped
    subprocess.run(
        ["docker", "compose", "build", "-q", "web"],
        cwd=app,
        env={**environ, "BUILDKIT_PROGRESS": "quiet"},
        check=True,
        capture_output=True,
    )
    assert docker_client.images.get(f"{app.name}-web:latest").id == parity_built


def test_uv_guide_layout_checks_clean(tmp_path: Path, base_image: Any) -> None:
    """uv's Docker guide: bind-mounted pyproject.toml and uv.lock, a uv cache mount."""
    base_image("3.11")
    project = tmp_path / f"uvapp{uuid.uuid4().hex[:8]}"
    shutil.copytree(DATA / "uv-app", project)
    result = run_parity(
        "check",
        str(project),
        *_network_args(),
        "--format",
        "json",
        env={"PARITY_CACHE_DIR": str(tmp_path / "cache"), "VIRTUAL_ENV": ""},
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["verdict"] == "parity"
    assert report["summary"]["compared"] == 1


def _without_docker_cli(tmp_path: Path) -> dict[str, str]:
    """PATH with only this Python's folder: no docker CLI, so no buildx and no compose."""
    scripts = tmp_path / "bin"
    scripts.mkdir(exist_ok=True)
    return {"PATH": str(scripts) + os.pathsep + os.path.dirname(sys.executable)}


def test_without_the_docker_cli_the_api_builds_and_buildkit_features_are_named(
    app: Path, tmp_path: Path, base_image: Any
) -> None:
    plain = tmp_path / f"plain{uuid.uuid4().hex[:8]}"
    plain.mkdir()
    (plain / "Dockerfile").write_text("FROM python:3.11-slim\nRUN echo built > /built\n")
    env = {"PARITY_CACHE_DIR": str(tmp_path / "cache"), **_without_docker_cli(tmp_path)}
    assert shutil.which("docker", path=env["PATH"]) is None
    result = run_parity("probe", f"dockerfile:{plain}", "--format", "json", env=env)
    assert result.returncode == 0, result.stderr
    result = run_parity("probe", f"dockerfile:{app}", env=env)
    assert result.returncode == 2
    message = result.stderr.strip()
    assert message.startswith(f"parity: {app / 'Dockerfile'}:1: uses $BUILDPLATFORM, which needs")
    assert "buildx" in message and "Traceback" not in message
    assert len(message.splitlines()) == 1


def test_a_syntax_frontend_that_cannot_be_pulled_is_one_message(
    tmp_path: Path, base_image: Any
) -> None:
    base_image("3.11")
    project = tmp_path / "syntax"
    project.mkdir()
    (project / "Dockerfile").write_text(
        "# syntax=docker/dockerfile:1\nFROM python:3.11-slim\nRUN true\n"
    )
    result = run_parity("probe", f"dockerfile:{project}", "-q")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"parity: {project / 'Dockerfile'}:1: its `# syntax=docker/")
    assert "cannot be pulled" in lines[0]


def test_from_with_an_arg_that_has_no_value_names_the_from_line(tmp_path: Path) -> None:
    project = tmp_path / "argtag"
    project.mkdir()
    (project / "Dockerfile").write_text("ARG TAG\nFROM python:${TAG}\nRUN true\n")
    result = run_parity("probe", f"dockerfile:{project}", "-q")
    assert result.returncode == 2
    assert result.stderr.startswith(f"parity: {project / 'Dockerfile'}:2: `FROM python:${{TAG}}`")
    assert "Traceback" not in result.stderr


def _running(marker: str) -> list[str]:
    """Command lines of this host's processes that hold ``marker``."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if marker in command and "pytest" not in command:
            found.append(command)
    return found


@pytest.mark.parametrize("builder", ["buildx", "api"])
def test_build_timeout_stops_the_build_and_names_the_step(
    tmp_path: Path, base_image: Any, docker_client: Any, builder: str
) -> None:
    base_image("3.11")
    seconds = f"{700 + uuid.uuid4().int % 1000}.5"  # this run's own sleep, to look for
    project = tmp_path / "hang"
    project.mkdir()
    (project / "Dockerfile").write_text(f"FROM python:3.11-slim\nRUN sleep {seconds}\n")
    env = _without_docker_cli(tmp_path) if builder == "api" else {}
    result = run_parity("probe", f"dockerfile:{project}", "--build-timeout", "3", "-q", env=env)
    assert result.returncode == 2
    first = result.stderr.splitlines()[0]
    assert "took longer than the build timeout of 3 s" in first
    assert f"RUN sleep {seconds}" in first
    assert _running(f"sleep {seconds}") == []
    leftovers = [
        container
        for container in docker_client.api.containers(all=True)
        if seconds in str(container.get("Command"))
    ]
    assert leftovers == []


def test_build_timeout_from_the_project_configuration(tmp_path: Path) -> None:
    from parity.config import load_config

    (tmp_path / "pyproject.toml").write_text("[tool.parity]\nbuild-timeout = 300\n")
    assert load_config(str(tmp_path)).build_timeout == 300.0
    (tmp_path / "pyproject.toml").write_text('[tool.parity]\nbuild-timeout = "5m"\n')
    result = run_parity("check", str(tmp_path))
    assert result.returncode == 2
    assert "build-timeout: expected a number of seconds" in result.stderr


def test_all_services_checks_the_others_when_a_base_image_is_missing(
    tmp_path: Path, base_image: Any, docker_client: Any
) -> None:
    base_image("3.11")
    project = tmp_path / f"bkmiss{uuid.uuid4().hex[:8]}"
    (project / "app").mkdir(parents=True)
    (project / "db").mkdir()
    (project / "app" / "Dockerfile").write_text("FROM python:3.11-slim\n")
    (project / "db" / "Dockerfile").write_text("FROM parity-test/missing-base:16\n")
    (project / "compose.yaml").write_text(
        "services:\n  app:\n    build: ./app\n  db:\n    build: ./db\n"
    )
    (project / "requirements.txt").write_text("")
    try:
        result = run_parity(
            "check",
            str(project),
            "--all-services",
            env={"PARITY_CACHE_DIR": str(tmp_path / "cache"), "VIRTUAL_ENV": ""},
        )
        assert result.returncode == 0, result.stderr
        assert "service app" in result.stdout
        skipped = "skipped service db: "
        assert (result.stdout + result.stderr).count(skipped) == 1
        assert "parity-test/missing-base:16 is not in the engine" in result.stdout
        (project / "compose.yaml").write_text("services:\n  db:\n    build: ./db\n")
        none_checked = run_parity(
            "check",
            str(project),
            "--all-services",
            env={"PARITY_CACHE_DIR": str(tmp_path / "cache"), "VIRTUAL_ENV": ""},
        )
        assert none_checked.returncode == 2
        assert "no service could be checked (db: " in none_checked.stderr
    finally:
        for image in docker_client.api.images(name=f"{project.name}-*"):
            for tag in image.get("RepoTags") or ():
                docker_client.api.remove_image(tag)


@pytest.mark.parametrize("signal_number", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_during_a_buildkit_step_stops_it(
    tmp_path: Path, base_image: Any, signal_number: int
) -> None:
    """Ctrl-C or kill while BuildKit runs a RUN step: 130, and the step's process is gone."""
    base_image("3.11")
    seconds = f"{1700 + uuid.uuid4().int % 1000}.5"
    project = tmp_path / "hang"
    project.mkdir()
    (project / "Dockerfile").write_text(f"FROM python:3.11-slim\nRUN sleep {seconds}\n")
    process = subprocess.Popen(
        [sys.executable, "-m", "parity", "probe", f"dockerfile:{project}", "-q"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PARITY_CACHE_DIR": str(tmp_path / "cache")},
    )
    deadline = time.monotonic() + 120
    while not _running(f"sleep {seconds}"):
        assert time.monotonic() < deadline, "the RUN step never started"
        assert process.poll() is None, process.communicate()
        time.sleep(0.1)
    process.send_signal(signal_number)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert _running(f"sleep {seconds}") == []
