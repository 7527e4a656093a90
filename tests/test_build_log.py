"""Narrow unit tests of the build side: buildx's arguments, its rawjson log, names, versions."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from parity.engine.build import (
    BuildOptions,
    BuildProgress,
    base_images,
    buildkit_feature,
    image_name,
)
from parity.engine.buildx import BuildLog, builder_needs_load, buildx_arguments, read_rawjson
from parity.engine.compose_cli import version_tuple


def test_every_build_option_maps_to_its_buildx_flag() -> None:
    options = BuildOptions(
        build_args={"A": "1"},
        target="app",
        network_mode="host",
        platform="linux/amd64",
        pull=True,
        no_cache=True,
        secrets=("id=tok,src=/t",),
        labels={"com.docker.compose.service": "web"},
    )
    arguments = buildx_arguments("/ctx", "/ctx/Dockerfile", options, "name:tag", "/tmp/iid")
    assert arguments == [
        "build",
        "--progress=rawjson",
        "--load",
        "--iidfile",
        "/tmp/iid",
        "-f",
        "/ctx/Dockerfile",
        "--build-arg",
        "A=1",
        "--target",
        "app",
        "--platform",
        "linux/amd64",
        "--network",
        "host",
        "--pull",
        "--no-cache",
        "--label",
        "com.docker.compose.service=web",
        "--secret",
        "id=tok,src=/t",
        "-t",
        "name:tag",
        "/ctx",
    ]


def _document(**fields: object) -> list[str]:
    """A rawjson document as buildx prints it: indented JSON over several lines."""
    return [line + "\n" for line in json.dumps(fields, indent=2).splitlines()]


def _log(vertex: str, text: bytes) -> dict[str, object]:
    return {"vertex": vertex, "stream": 1, "data": base64.b64encode(text).decode()}


def test_log_tails_keep_whole_lines_across_chunks() -> None:
    events: list[BuildProgress] = []
    log = BuildLog(events.append)
    run = {"digest": "sha256:a", "name": "[2/3] RUN make", "started": "t"}
    stream = [
        *_document(vertexes=[run]),
        *_document(logs=[_log("sha256:a", b"compiling mod"), _log("sha256:a", b"ule one\nli")]),
        *_document(logs=[_log("sha256:a", b"nking\r\n")]),
        *_document(vertexes=[{**run, "error": "exit code: 2", "completed": "t"}]),
        "ERROR: failed to solve: exit code: 2\n",
    ]
    read_rawjson(iter(stream), log)
    assert log.tail() == ("compiling module one", "linking", "ERROR: failed to solve: exit code: 2")
    failed = log.failed_step()
    assert failed is not None and failed.name == "[2/3] RUN make"
    assert [(event.step, event.total_steps, event.text) for event in events[:3]] == [
        (2, 3, "=> [2/3] RUN make"),
        (2, 3, "compiling module one"),
        (2, 3, "linking"),
    ]


def test_cached_steps_are_said_and_the_running_step_is_known() -> None:
    log = BuildLog()
    read_rawjson(
        iter(
            [
                *_document(
                    vertexes=[
                        {"digest": "sha256:a", "name": "[1/3] FROM x", "cached": True},
                        {"digest": "sha256:b", "name": "[internal] load", "started": "t"},
                        {"digest": "sha256:c", "name": "[3/3] RUN sleep 9", "started": "t"},
                    ]
                ),
                "not json {\n",
            ]
        ),
        log,
    )
    running = log.running_step()
    assert running is not None and running.name == "[3/3] RUN sleep 9"
    assert list(log.text) == ["not json {"]


def test_from_with_an_arg_without_value_reads_empty() -> None:
    text = "ARG TAG\nARG BASE=python\nFROM ${BASE}:${TAG}\nFROM scratch\n"
    assert base_images(text, {}) == ["python:"]
    assert base_images(text, {"TAG": "3.11-slim"}) == ["python:3.11-slim"]


def test_buildkit_features_are_found_with_their_line() -> None:
    assert buildkit_feature("FROM python:3.11\nRUN echo\n") is None
    assert buildkit_feature("FROM --platform=$BUILDPLATFORM python\n") == (1, "$BUILDPLATFORM")
    assert buildkit_feature("FROM x\nRUN --mount=type=cache,target=/r pip\n") == (
        2,
        "RUN --mount",
    )
    assert buildkit_feature("FROM x\nRUN <<EOF\necho\nEOF\n") == (2, "a heredoc")
    assert buildkit_feature("FROM x\nCOPY --link a b\n") == (2, "COPY --link")


def test_image_names_come_from_the_folder_and_target() -> None:
    name = image_name("/home/me/My App", "/home/me/My App/Dockerfile", None)
    assert name.startswith("parity-my-app-") and name.endswith(":latest")
    assert image_name("/a/app", "/a/app/Dockerfile", "runtime").endswith(":runtime")
    other = image_name("/b/app", "/b/app/Dockerfile", "runtime")
    assert other != image_name("/a/app", "/a/app/Dockerfile", "runtime")  # another folder
    assert image_name("/a/app", "/a/app/Dockerfile.prod", None).startswith(
        "parity-app-dockerfile-prod-"
    )


def test_compose_versions_compare_as_numbers() -> None:
    assert version_tuple("2.26.1-4") == (2, 26, 1)
    assert version_tuple("v2.40.3") == (2, 40, 3)
    assert version_tuple("2.9.0") < version_tuple("2.26.1")


def test_load_only_where_the_builder_needs_it(tmp_path: Path) -> None:
    """The docker driver builds into the engine (no --load); other drivers need --load."""
    environ = {"DOCKER_CONFIG": str(tmp_path)}
    assert builder_needs_load(environ) is False  # no buildx files: the default builder
    (tmp_path / "buildx" / "instances").mkdir(parents=True)
    (tmp_path / "buildx" / "current").write_text('{"Key": "unix:///x", "Name": "ci"}')
    (tmp_path / "buildx" / "instances" / "ci").write_text('{"Name": "ci", "Driver": "docker"}')
    assert builder_needs_load(environ) is False
    (tmp_path / "buildx" / "instances" / "ci").write_text('{"Driver": "docker-container"}')
    assert builder_needs_load(environ) is True
    assert builder_needs_load({**environ, "BUILDX_BUILDER": "some-context"}) is False
    arguments = buildx_arguments("/c", "/c/Dockerfile", BuildOptions(), None, "/i", load=False)
    assert "--load" not in arguments
