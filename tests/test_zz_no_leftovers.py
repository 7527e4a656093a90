"""Runs last (files run in name order): the whole suite left no parity container behind."""

from __future__ import annotations

import time
from typing import Any

import pytest

from parity.engine.labels import LABEL_MANAGED

pytestmark = pytest.mark.docker


def test_the_suite_left_no_parity_container(docker_client: Any) -> None:
    leftovers: list[Any] = []
    for _ in range(50):  # auto-removal completes asynchronously
        leftovers = docker_client.api.containers(all=True, filters={"label": f"{LABEL_MANAGED}=1"})
        if not leftovers:
            break
        time.sleep(0.2)
    assert leftovers == []


def test_the_suite_left_no_image_with_parity_label(docker_client: Any) -> None:
    labelled = docker_client.images.list(filters={"label": f"{LABEL_MANAGED}=1"})
    assert labelled == []
