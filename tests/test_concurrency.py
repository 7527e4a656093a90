"""Eight ``parity check`` runs of one project at once, racing to fill one empty probe cache.

They must all give the same, correct report; the cache must hold only whole JSON entries;
a report file they all write must end up whole; nothing they start may be left behind.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from parity.engine.labels import LABEL_MANAGED, LABEL_PID
from tests.conftest import SAMPLES
from tests.helpers import drift_rows, make_venv, run_parity

pytestmark = [pytest.mark.docker, pytest.mark.slow]

RUNS = 8


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, base_image: Any) -> Path:
    """sample_projects/venv-multistage with its developer venv, made once."""
    base_image("3.11")
    project = tmp_path_factory.mktemp("concurrency") / "venv-multistage"
    shutil.copytree(SAMPLES / "venv-multistage", project, ignore=shutil.ignore_patterns(".venv"))
    make_venv(project / ".venv", project / "laptop-freeze.txt")
    return project


def check_args(project: Path, report: Path, shared_markdown: Path) -> list[str]:
    return [
        "check",
        str(project),
        "--format",
        "json",
        "--output",
        str(report),
        "--format",
        "markdown",
        "--output",
        str(shared_markdown),
        "-q",
    ]


def test_eight_checks_at_once_agree_and_share_the_cache(
    project: Path, tmp_path: Path, docker_client: Any
) -> None:
    env = {**os.environ, "VIRTUAL_ENV": "", "NO_COLOR": "1"}
    # One check first, with its own cache: the reference, and a warm layer cache for the build.
    reference_dir = tmp_path / "reference"
    reference_dir.mkdir()
    reference = run_parity(
        *check_args(project, reference_dir / "report.json", reference_dir / "report.md"),
        env={"VIRTUAL_ENV": "", "PARITY_CACHE_DIR": str(reference_dir / "cache")},
    )
    assert reference.returncode == 1, reference.stderr

    cache = tmp_path / "shared-cache"  # empty: every run misses and races to write it
    outputs = tmp_path / "outputs"
    outputs.mkdir()
    shared_markdown = outputs / "shared.md"
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "parity",
                *check_args(project, outputs / f"report-{index}.json", shared_markdown),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**env, "PARITY_CACHE_DIR": str(cache)},
        )
        for index in range(RUNS)
    ]
    results = [(process.pid, *process.communicate(timeout=900)) for process in processes]

    for process, (_, stdout, stderr) in zip(processes, results):
        assert process.returncode == 1, stderr
        assert stderr == ""
        assert stdout == ""
    expected = json.loads((reference_dir / "report.json").read_text(encoding="utf-8"))
    reports = [
        json.loads((outputs / f"report-{index}.json").read_text(encoding="utf-8"))
        for index in range(RUNS)
    ]
    assert all(report == expected for report in reports), "the runs disagree"
    rows = {
        row["name"]: (row["values"]["local"], row["values"]["container"])
        for row in drift_rows(expected)
    }
    assert rows == {"packaging": ("24.1", "24.0"), "tomli": ("2.0.1", None)}

    # The report all eight wrote to one path is whole, and no temporary file is left.
    assert shared_markdown.read_text(encoding="utf-8") == (reference_dir / "report.md").read_text(
        encoding="utf-8"
    )
    assert sorted(path.name for path in outputs.iterdir()) == sorted(
        ["shared.md", *(f"report-{index}.json" for index in range(RUNS))]
    )

    # The cache holds whole entries only, one per probed image.
    entries = sorted((cache / "probes").iterdir())
    assert [entry.name for entry in entries if not entry.name.endswith(".json")] == []
    assert [entry.name for entry in entries if entry.name.startswith(".")] == []
    assert len(entries) == 1
    for entry in entries:
        assert "probe" in json.loads(entry.read_text(encoding="utf-8"))

    # A later run reads that entry and agrees.
    again = run_parity(
        *check_args(project, tmp_path / "again.json", tmp_path / "again.md"),
        env={"VIRTUAL_ENV": "", "PARITY_CACHE_DIR": str(cache)},
    )
    assert again.returncode == 1, again.stderr
    assert json.loads((tmp_path / "again.json").read_text(encoding="utf-8")) == expected

    assert_no_probe_container_left(docker_client, [pid for pid, _, _ in results])


def assert_no_probe_container_left(client: Any, pids: list[int]) -> None:
    wanted = {str(pid) for pid in pids}
    left: list[str] = []
    for _ in range(100):  # auto-removal finishes asynchronously
        found = client.api.containers(all=True, filters={"label": f"{LABEL_MANAGED}=1"})
        left = [c["Id"] for c in found if (c.get("Labels") or {}).get(LABEL_PID) in wanted]
        if not left:
            return
        time.sleep(0.2)
    pytest.fail(f"probe containers left behind: {left}")
