"""The GitHub Actions workflow cannot run here: check its YAML and that its commands are
the ones scripts/test (and scripts/dev-venv) run."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = REPO_ROOT / ".github" / "workflows" / "ci.yml"


def _workflow() -> dict[str, Any]:
    data = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _runs(job: dict[str, Any]) -> list[list[str]]:
    return [shlex.split(step["run"]) for step in job["steps"] if "run" in step]


def test_workflow_is_well_formed() -> None:
    data = _workflow()
    # YAML 1.1 reads the key `on` as True.
    triggers = data.get("on", data.get(True))
    assert {"push", "pull_request"} <= set(triggers)
    for name, job in data["jobs"].items():
        assert job.get("runs-on"), name
        assert job["steps"], name
        for step in job["steps"]:
            assert ("uses" in step) != ("run" in step), (name, step)
        matrix = (job.get("strategy") or {}).get("matrix") or {}
        text = yaml.safe_dump(job)
        for key in re.findall(r"\$\{\{\s*matrix\.(\w+)\s*\}\}", text):
            assert key in matrix, (name, key)


def test_engine_free_tests_run_on_linux_macos_and_windows() -> None:
    unit = _workflow()["jobs"]["unit"]
    systems = unit["strategy"]["matrix"]["os"]
    assert {system.split("-")[0] for system in systems} == {"ubuntu", "macos", "windows"}
    assert ["python", "-m", "pytest", "-m", "not docker"] in _runs(unit)


def test_engine_tests_run_on_linux_through_scripts_test() -> None:
    engine = _workflow()["jobs"]["engine"]
    assert engine["runs-on"].startswith("ubuntu")
    assert engine["env"]["PARITY_REQUIRE_DOCKER"] == "1"
    assert ["scripts/test", "-m", "docker"] in _runs(engine)
    if os.name == "posix":
        assert (REPO_ROOT / "scripts" / "test").stat().st_mode & 0o111


def test_the_two_selections_cover_every_test() -> None:
    """One job takes ``not docker``, the other ``docker``: together, the whole suite."""
    jobs = _workflow()["jobs"]
    selections = set()
    for job in jobs.values():
        for run in _runs(job):
            if "pytest" in run or run[0] == "scripts/test":
                last_m = len(run) - 1 - run[::-1].index("-m")  # the marker expression
                selections.add(run[last_m + 1])
    assert selections == {"docker", "not docker"}


def test_workflow_commands_match_scripts_test() -> None:
    """The unit job runs pytest and installs parity as scripts/test and scripts/dev-venv do."""
    script = (REPO_ROOT / "scripts" / "test").read_text(encoding="utf-8")
    dev_venv = (REPO_ROOT / "scripts" / "dev-venv").read_text(encoding="utf-8")
    assert re.search(r'"\$VENV/bin/python" -m pytest "\$@"', script)
    assert re.search(
        r'for platform in linux darwin win32; do\s+"\$VENV/bin/mypy" --platform', script
    )
    assert "scripts/dev-venv test" in script
    assert re.search(r'pip install -q -e "\.\[\$extras\]"', dev_venv)
    unit = _workflow()["jobs"]["unit"]
    assert ["python", "-m", "pip", "install", "-e", ".[test]"] in _runs(unit)


def test_not_docker_leaves_out_every_test_that_needs_the_engine() -> None:
    """conftest marks tests using the engine's fixtures ``docker``."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--collect-only",
            "-q",
            "-m",
            "not docker",
            "tests/test_sweep.py",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    collected = [line for line in result.stdout.splitlines() if "::" in line]
    assert collected == ["tests/test_sweep.py::test_parity_labels_name_this_process"]
