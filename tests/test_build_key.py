"""Skipping a build when nothing that decides it changed (parity.build_key).

The engine tests build real images with ``docker buildx build`` through parity and count
the build's own lines in the ``-v`` log: a skipped build shows none (no buildx ran).
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from parity.build_key import (
    RACY_SECONDS,
    context_entries,
    named_images,
    unkeyable_reason,
)
from parity.dockerfile import DockerIgnore
from parity.engine.build import BUILD_KEY_LABEL, image_name
from tests.helpers import run_parity

# --- pure ----------------------------------------------------------------------------------


def _settle() -> None:
    """Wait past the racy window, so the files just written may be keyed."""
    time.sleep(RACY_SECONDS + 0.2)


def test_context_entries_leave_out_ignored_files_and_see_every_change(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("print(1)\n")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "big.bin").write_bytes(b"0" * 10)
    (tmp_path / "data" / "keep.txt").write_text("k")
    ignore = DockerIgnore(["data", "!data/keep.txt"])
    later = time.time() + 60
    lines, stable = context_entries(str(tmp_path), ignore, now=later)
    names = [line.split("\0")[0] for line in lines]
    assert names == ["app.py", "data/keep.txt"]
    assert stable
    _, racy = context_entries(str(tmp_path), ignore, now=time.time())
    assert not racy  # just written: one mtime tick could hide a second change
    (tmp_path / "data" / "big.bin").write_bytes(b"1" * 10)
    assert context_entries(str(tmp_path), ignore, now=later)[0] == lines
    (tmp_path / "app.py").write_text("print(2)\n")
    os.utime(tmp_path / "app.py", ns=(0, int(later * 1e9)))
    assert context_entries(str(tmp_path), ignore, now=later)[0] != lines


def test_what_cannot_be_keyed() -> None:
    assert unkeyable_reason("# syntax=docker/dockerfile:1\nFROM a\n") == "a # syntax= frontend"
    assert unkeyable_reason("FROM a\nADD https://example.org/x.tgz /x\n") is not None
    assert unkeyable_reason("FROM a\nADD git@github.com:o/r.git /r\n") is not None
    assert unkeyable_reason("FROM a\n# a comment\nADD src /src\nCOPY . /app\n") is None
    text = (
        "FROM python:3.11-slim AS build\n"
        "RUN --mount=type=bind,from=tools:1,target=/t true\n"
        "FROM build\n"
        "COPY --from=build /a /a\n"
        "COPY --link --from=other:2 /b /b\n"
        "COPY --from=0 /c /c\n"
    )
    assert named_images(text, ["python:3.11-slim"], False) == [
        "other:2",
        "python:3.11-slim",
        "tools:1",
    ]
    assert named_images("FROM a\nCOPY --from=$IMG /x /x\n", ["a"], False) is None
    assert named_images("FROM $BASE\n", ["$BASE"], True) is None


# --- real builds ---------------------------------------------------------------------------

DOCKERFILE = """\
FROM {base}
ARG GREETING=hello
COPY app.py /app/app.py
RUN echo "$GREETING" > /greeting && date +%s%N > /built
"""


@pytest.fixture
def project(tmp_path: Path, docker_client: Any, base_image: Any) -> Iterator[Path]:
    """A project FROM a base image of its own; every image it names is removed afterwards."""
    suffix = uuid.uuid4().hex[:8]
    base_tag = f"parity-test-keybase-{suffix}:latest"
    base_dir = tmp_path / "base"
    base_dir.mkdir()
    (base_dir / "Dockerfile").write_text(f"FROM {base_image('3.11')}\nRUN echo one > /base\n")
    docker_client.images.build(path=str(base_dir), tag=base_tag, rm=True, forcerm=True)
    root = tmp_path / f"keyproj{suffix}"
    root.mkdir()
    (root / "Dockerfile").write_text(DOCKERFILE.format(base=base_tag))
    (root / "app.py").write_text("print('hi')\n")
    (root / ".dockerignore").write_text("notes/\n")
    (root / "notes").mkdir()
    (root / "notes" / "todo.txt").write_text("later\n")
    (root / "base").symlink_to(base_dir)  # the base's folder, as a name to rebuild it
    yield root
    name = image_name(str(root), str(root / "Dockerfile"), None)
    for reference in (name, base_tag):
        with contextlib.suppress(Exception):  # a failed setup: not made
            docker_client.api.remove_image(reference)


def _probe(project: Path, tmp_path: Path, *extra: str) -> tuple[int, str]:
    """Probe the project's Dockerfile (empty probe cache); how many build lines it logged."""
    cache = tmp_path / f"cache-{uuid.uuid4().hex[:6]}"
    result = run_parity(
        "probe",
        f"dockerfile:{project / 'Dockerfile'}",
        *extra,
        "-v",
        env={"PARITY_CACHE_DIR": str(cache)},
    )
    assert result.returncode == 0, result.stderr
    return sum(line.lstrip().startswith("=>") for line in result.stderr.splitlines()), (
        result.stderr
    )


def _image(docker_client: Any, project: Path) -> dict[str, Any]:
    info: dict[str, Any] = docker_client.api.inspect_image(
        image_name(str(project), str(project / "Dockerfile"), None)
    )
    return info


@pytest.mark.docker
@pytest.mark.slow
def test_a_build_is_skipped_only_while_nothing_that_decides_it_changed(
    project: Path, tmp_path: Path, docker_client: Any
) -> None:
    _settle()
    built, log = _probe(project, tmp_path)
    assert built > 0, log
    first = _image(docker_client, project)
    key = first["Config"]["Labels"][BUILD_KEY_LABEL]

    skipped, log = _probe(project, tmp_path)
    assert skipped == 0, log  # no buildx ran
    assert _image(docker_client, project)["Id"] == first["Id"]

    # a .dockerignored file: still nothing to build
    (project / "notes" / "todo.txt").write_text("changed\n")
    (project / "notes" / "more.txt").write_text("new\n")
    _settle()
    assert _probe(project, tmp_path)[0] == 0

    def rebuilt_after(change: Any, *extra: str) -> str:
        change()
        _settle()
        count, log = _probe(project, tmp_path, *extra)
        assert count > 0, log
        label: str = _image(docker_client, project)["Config"]["Labels"][BUILD_KEY_LABEL]
        assert _probe(project, tmp_path, *extra)[0] == 0  # and then skipped again
        return label

    keys = {key}
    keys.add(rebuilt_after(lambda: (project / "app.py").write_text("print('changed')\n")))
    keys.add(
        rebuilt_after(
            lambda: (project / "Dockerfile").write_text(
                (project / "Dockerfile").read_text() + "ENV X=1\n"
            )
        )
    )
    keys.add(rebuilt_after(lambda: None, "--build-arg", "GREETING=hi"))

    def new_base() -> None:
        base_dir = project / "base"
        (base_dir / "Dockerfile").write_text(
            (base_dir / "Dockerfile").read_text().replace("one", "two")
        )
        base_tag = (project / "Dockerfile").read_text().split()[1]
        old = docker_client.api.inspect_image(base_tag)["Id"]
        docker_client.images.build(
            path=str(base_dir.resolve()), tag=base_tag, rm=True, forcerm=True
        )
        replaced.append(old)

    replaced: list[str] = []

    keys.add(rebuilt_after(new_base, "--build-arg", "GREETING=hi"))
    assert len(keys) == 5
    output: bytes = docker_client.containers.run(
        _image(docker_client, project)["Id"], ["cat", "/base"], remove=True, network_mode="none"
    )
    assert output.decode().strip() == "two"
    for image_id in replaced:
        docker_client.api.remove_image(image_id)


@pytest.mark.docker
@pytest.mark.slow
def test_no_cache_never_skips(project: Path, tmp_path: Path, docker_client: Any) -> None:
    _settle()
    assert _probe(project, tmp_path)[0] > 0
    assert _probe(project, tmp_path)[0] == 0
    count, log = _probe(project, tmp_path, "--no-cache")
    assert count > 0 and "RUN echo" in log
