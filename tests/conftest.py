"""Shared fixtures: a real Docker engine (required in CI), real venvs, the sample projects."""

from __future__ import annotations

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
