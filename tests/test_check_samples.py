"""End to end: each sample project, a real venv, a real image build, the real CLI.

The expected drift is computed independently from ``pip freeze`` on each side.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SAMPLES
from tests.helpers import (
    drift_rows,
    expected_drift,
    image_freeze,
    load_report,
    make_venv,
    report_rows,
    run_parity,
    venv_freeze,
)

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def tree_digest(root: Path) -> dict[str, str]:
    """Every file under ``root`` (but .venv) with its content hash, to prove nothing changed."""
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file() and ".venv" not in path.parts
    }


@pytest.fixture
def sample(tmp_path: Path, base_image: Any, request: pytest.FixtureRequest) -> Path:
    """A copy of the sample project with its developer venv made from laptop-freeze.txt."""
    base_image("3.11")
    name = request.param
    project = tmp_path / name
    shutil.copytree(SAMPLES / name, project, ignore=shutil.ignore_patterns(".venv"))
    make_venv(project / ".venv", project / "laptop-freeze.txt")
    return project


def check_sample(project: Path, tmp_path: Path) -> tuple[int, dict[str, Any], str]:
    output = tmp_path / "report.json"
    result = run_parity(
        "check",
        str(project),
        "--format",
        "json",
        "--output",
        str(output),
        "-q",
        env={"PARITY_CACHE_DIR": str(tmp_path / "cache"), "VIRTUAL_ENV": ""},
    )
    assert result.returncode in (0, 1), result.stderr
    return result.returncode, load_report(output), result.stderr


@pytest.mark.parametrize("sample", ["flask-requirements", "venv-multistage"], indirect=True)
def test_sample_drift_matches_pip_freeze_on_both_sides(
    sample: Path, tmp_path: Path, docker_client: Any
) -> None:
    before = tree_digest(sample)
    venv_before = venv_freeze(sample / ".venv" / "bin" / "python")
    code, report, _ = check_sample(sample, tmp_path)

    container = next(side for side in report["sides"] if side["name"] == "container")
    local_freeze = venv_freeze(sample / ".venv" / "bin" / "python")
    container_freeze = image_freeze(docker_client, container["image_id"])
    expected = expected_drift(local_freeze, container_freeze)

    assert report["schema"] == "parity.report/1"
    assert report_rows(report, "local", "container") == expected
    assert code == (1 if expected else 0)
    assert report["verdict"] == ("drift" if expected else "parity")
    # parity changed neither the project nor the venv
    assert tree_digest(sample) == before
    assert local_freeze == venv_before


@pytest.mark.parametrize("sample", ["venv-multistage"], indirect=True)
def test_venv_sample_exact_rows(sample: Path, tmp_path: Path) -> None:
    """The multi-stage sample pins everything, so its drift is known exactly."""
    _, report, _ = check_sample(sample, tmp_path)
    rows = {row["name"]: row for row in drift_rows(report)}
    assert set(rows) == {"packaging", "tomli"}
    # requirements.txt beside the venv: a third column says who left the declaration
    assert rows["packaging"]["values"] == {
        "declared": "==24.0",
        "local": "24.1",
        "container": "24.0",
    }
    assert rows["packaging"]["detail"] == "local differs from declared"
    assert [side["name"] for side in report["sides"]] == ["declared", "local", "container"]
    assert rows["packaging"]["change"] == "minor"
    assert rows["tomli"]["status"] == "missing"
    assert rows["tomli"]["missing_from"] == ["container"]
    # The probe ran the venv's interpreter (first on the image's PATH), not the system one.
    container = next(side for side in report["sides"] if side["name"] == "container")
    assert container["kind"] == "dockerfile"


@pytest.mark.parametrize("sample", ["flask-requirements"], indirect=True)
def test_flask_sample_declared_requirements_hold_in_the_image(sample: Path, tmp_path: Path) -> None:
    """requirements.txt (with -r, -c, a marker and an unpinned name) against the built image."""
    output = tmp_path / "diff.json"
    result = run_parity(
        "diff",
        f"requirements:{sample / 'requirements.txt'}",
        f"dockerfile:{sample / 'Dockerfile'}",
        "--format",
        "json",
        "--output",
        str(output),
        "-q",
        env={"PARITY_CACHE_DIR": str(tmp_path / "cache")},
    )
    assert result.returncode == 0, result.stderr + result.stdout
    report = load_report(output)
    assert drift_rows(report) == []
    assert report["verdict"] == "parity"
    assert report["summary"]["compared"] == 6  # 4 requirements and 2 constraints


@pytest.mark.parametrize("sample", ["venv-multistage"], indirect=True)
def test_fix_hints_applied_in_the_venv_remove_the_drift(sample: Path, tmp_path: Path) -> None:
    """--fix-hints prints pip commands; run as printed in the activated venv, drift is gone."""
    env = {"PARITY_CACHE_DIR": str(tmp_path / "cache"), "VIRTUAL_ENV": ""}
    first = run_parity("check", str(sample), "--fix-hints", env=env)
    assert first.returncode == 1, first.stderr
    commands = [
        line for line in first.stdout.splitlines() if line.startswith(("python -m pip", "pip "))
    ]
    assert commands, first.stdout
    activated = {
        **os.environ,
        "PATH": f"{sample / '.venv' / 'bin'}{os.pathsep}{os.environ['PATH']}",
    }
    for command in commands:
        subprocess.run(["bash", "-c", command], check=True, env=activated)
    second = run_parity("check", str(sample), "--format", "json", env=env)
    report = json.loads(second.stdout)
    assert drift_rows(report) == []
    assert second.returncode == 0, second.stdout


@pytest.mark.parametrize("sample", ["venv-multistage"], indirect=True)
def test_warm_check_starts_no_container(sample: Path, tmp_path: Path, docker_client: Any) -> None:
    """A second check of an unchanged project: layer cache and probe cache, no container."""
    env = {"PARITY_CACHE_DIR": str(tmp_path / "cache"), "VIRTUAL_ENV": ""}
    first = run_parity("check", str(sample), "-q", "--format", "json", env=env)
    assert first.returncode == 1, first.stderr
    image_id = json.loads(first.stdout)["sides"][-1]["image_id"]
    # The image and its layers: what a probe or a build step of this project would run.
    ours = {image_id} | {layer["Id"] for layer in docker_client.api.history(image_id)}
    started = time.time()
    second = subprocess.Popen(
        [sys.executable, "-m", "parity", "check", str(sample), "-q"],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    second.communicate(timeout=300)
    assert second.returncode == 1
    events = docker_client.api.events(
        since=int(started) - 1,
        until=int(time.time()) + 1,
        filters={"type": "container", "event": ["create", "start"]},
        decode=True,
    )
    # Other processes may use the engine meanwhile: count only this run's probe containers
    # (labelled with its pid) and build-step containers made from this project's layers.
    mine = [
        event
        for event in events
        if event.get("Actor", {}).get("Attributes", {}).get("io.parity.pid") == str(second.pid)
        or (
            "io.parity.managed" not in event.get("Actor", {}).get("Attributes", {})
            and _image_of(docker_client, event) in ours
        )
    ]
    assert mine == []


def _image_of(client: Any, event: dict[str, Any]) -> str:
    name = str(event.get("Actor", {}).get("Attributes", {}).get("image", ""))
    try:
        return str(client.api.inspect_image(name)["Id"])
    except Exception:  # an image removed meanwhile is not ours
        return name
