"""Shared fixtures: a real Docker engine (required in CI), real venvs, the sample projects."""

from __future__ import annotations

import contextlib
import os
import pathlib
from collections.abc import Iterator
from typing import Any

import pytest

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent
SAMPLES = REPO_ROOT / "sample_projects"
REALWORLD = REPO_ROOT.parent / "shared" / "fixtures" / "realworld"
TEST_DATA = pathlib.Path(__file__).resolve().parent / "data"

# Base images scripts/engine-up makes (or pulls) for the tests.
BASE_IMAGES = {"3.9": "python:3.9-slim", "3.11": "python:3.11-slim", "3.13": "python:3.13-slim"}


def shared_fixtures_required() -> bool:
    """CI sets PARITY_REQUIRE_SHARED=1: a missing ../shared/fixtures/realworld then fails."""
    return os.environ.get("PARITY_REQUIRE_SHARED") == "1"


# A test that uses one of these fixtures needs the engine: it carries the ``docker`` marker,
# so ``-m "not docker"`` (CI's macOS and Windows runners) leaves it out.
ENGINE_FIXTURES = frozenset({"docker_client", "engine", "base_image"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests using the engine's fixtures are marked ``docker``. Tests marked ``realworld``
    read ../shared/fixtures/realworld: skip them with the reason in a clone that has no such
    folder beside it, and fail them in CI, which requires it."""
    for item in items:
        if ENGINE_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.docker)
    if REALWORLD.is_dir():
        return
    message = f"{REALWORLD} is missing (the real-world fixtures live beside the repository)"
    if shared_fixtures_required():
        pytest.exit(f"{message}; PARITY_REQUIRE_SHARED=1 requires it", returncode=1)
    marker = pytest.mark.skip(reason=message)
    for item in items:
        if item.get_closest_marker("realworld") is not None:
            item.add_marker(marker)


def docker_required() -> bool:
    """CI sets PARITY_REQUIRE_DOCKER=1: a missing engine then fails the Docker tests."""
    return os.environ.get("PARITY_REQUIRE_DOCKER") == "1"


@pytest.fixture(scope="session")
def docker_client() -> Iterator[Any]:
    """A docker-py client for a live engine; skip (or fail, in CI) when none answers."""
    try:
        import docker

        client = docker.from_env(timeout=120)
        client.ping()
    except Exception as error:  # any failure to reach the engine
        message = f"no Docker engine answers ({error}); run scripts/engine-up"
        if docker_required():
            pytest.fail(message)
        pytest.skip(message)
    yield client
    client.close()


@pytest.fixture(scope="session")
def engine(docker_client: Any) -> Iterator[Any]:
    """parity's own engine client (:func:`parity.engine.client.connect`) for the same engine:
    what parity's engine functions are handed in a run (``docker_client`` is docker-py's)."""
    from parity.engine.client import connect

    client = connect(timeout=120)
    yield client
    client.close()


@pytest.fixture(scope="session")
def base_image(docker_client: Any) -> Any:
    """Return a function giving the local base image tag for a Python minor version."""

    def get(minor: str) -> str:
        tag = BASE_IMAGES[minor]
        try:
            docker_client.images.get(tag)
        except Exception:
            message = f"base image {tag} is missing; run scripts/engine-up"
            if docker_required():
                pytest.fail(message)
            pytest.skip(message)
        return tag

    return get


def build_network() -> str | None:
    """The network mode for test builds that pip install (CI: host)."""
    return os.environ.get("PARITY_BUILD_NETWORK") or None


def parity_image_tags(client: Any, folders: list[pathlib.Path]) -> list[str]:
    """The tags of images parity named for builds in ``folders`` or below them.

    parity names a plain Dockerfile build ``parity-<folder>-<6 hex of its path>:<target>``
    (parity.engine.build.image_name); the hash says which folder it came from.
    """
    import hashlib

    digests: set[str] = set()
    for folder in folders:
        for directory, _, _ in os.walk(folder):
            path = os.path.abspath(directory)
            digests.add(hashlib.sha256(path.encode("utf-8", "surrogateescape")).hexdigest()[:6])
    tags = []
    for image in client.api.images(name="parity-*"):
        for tag in image.get("RepoTags") or ():
            repository = tag.rsplit(":", 1)[0]
            if repository.startswith("parity-") and repository.rsplit("-", 1)[-1] in digests:
                tags.append(tag)
    return tags


def compose_image_tags(client: Any, folders: list[pathlib.Path], since: float) -> list[str]:
    """Tags of images compose's naming gave services of the compose projects in ``folders``
    (``<project>-<service>``, with compose's project label), built since ``since``."""
    from parity.sources.compose import COMPOSE_FILE_NAMES, normal_project_name

    projects: set[str] = set()
    for folder in folders:
        for directory, _, files in os.walk(folder):
            if any(name in files for name in COMPOSE_FILE_NAMES):
                projects.add(normal_project_name(os.path.basename(directory)))
    tags = []
    for image in client.api.images(filters={"label": "com.docker.compose.project"}):
        project = (image.get("Labels") or {}).get("com.docker.compose.project")
        if project in projects and image.get("Created", 0) >= since - 1:
            tags += [tag for tag in image.get("RepoTags") or () if tag.startswith(f"{project}-")]
    return tags


@pytest.fixture(scope="session", autouse=True)
def _remove_parity_named_images(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """At the end, remove the images parity named for this session's builds (its temporary
    folders, the sample projects, the test data); images other sessions made are left."""
    import time

    started = time.time()
    yield
    if os.environ.get("PARITY_KEEP_IMAGES") == "1":
        return
    try:
        import docker

        client = docker.from_env(timeout=120)
        client.ping()
    except Exception:  # no engine: nothing was built
        return
    folders = [tmp_path_factory.getbasetemp(), SAMPLES, TEST_DATA, REPO_ROOT / "bench"]
    tags = parity_image_tags(client, folders) + compose_image_tags(client, folders, started)
    for tag in tags:
        with contextlib.suppress(Exception):  # in use by another session, or gone
            client.api.remove_image(tag)
    client.close()
