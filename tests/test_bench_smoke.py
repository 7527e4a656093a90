"""The benchmark script runs end to end in a reduced mode and writes a valid results file.

No timing is asserted: only that every measurement was taken and reported.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO_ROOT, build_network

pytestmark = [pytest.mark.docker, pytest.mark.slow]

BENCH = REPO_ROOT / "bench"
MEASUREMENTS = {
    "floor",
    "floor.docker_run",
    "floor.venv_python",
    "small.by_hand",
    "large.by_hand",
    "startup.python",
    "startup.parity_version",
    "compare.compare",
    "compare.render_table",
    "compare.render_json",
    *(f"{size}.{kind}" for size in ("small", "large") for kind in ("cold", "warm")),
    *(f"{size}.{kind}_image" for size in ("small", "large") for kind in ("cold", "warm")),
    "context.warm",
    "small.after_user_build",
    "small.warm_build",
}


@pytest.fixture(scope="module")
def bench_run(
    tmp_path_factory: pytest.TempPathFactory, base_image: Any, docker_client: Any
) -> Iterator[dict[str, Any]]:
    """One reduced run: 1 round, 20 generated distributions, compare() on 300 packages."""
    base = base_image("3.11")
    workdir = tmp_path_factory.mktemp("bench")
    results = workdir / "results.json"
    argv = [
        sys.executable,
        str(BENCH / "run.py"),
        "--quick",
        "--repeat",
        "1",
        "--distributions",
        "20",
        "--compare-packages",
        "300",
        "--context-mb",
        "10",
        "--workdir",
        str(workdir / "work"),
        "--image-prefix",
        "parity-test/bench",
        "--base-image",
        base,
        "--build-network",
        build_network() or "host",
        "--json",
        str(results),
    ]
    completed = subprocess.run(argv, capture_output=True, text=True, timeout=900)
    assert completed.returncode == 0, completed.stderr[-3000:]
    document: dict[str, Any] = json.loads(results.read_text(encoding="utf-8"))
    document["_stdout"] = completed.stdout
    yield document
    for tag in ("parity-test/bench/context-10:latest", "parity-test/bench/user-build:latest"):
        with contextlib.suppress(Exception):  # the two images only this reduced run makes
            docker_client.api.remove_image(tag)


def test_every_measurement_has_one_sample_per_round(bench_run: dict[str, Any]) -> None:
    assert bench_run["schema"] == "parity.bench/1"
    assert bench_run["rounds"] == 1
    assert set(bench_run["samples"]) == MEASUREMENTS
    for key, values in bench_run["samples"].items():
        assert len(values) == 1, key
        assert all(isinstance(value, float) and value >= 0 for value in values), key
    assert set(bench_run["medians"]) == MEASUREMENTS


def test_targets_are_reported_with_their_limits(bench_run: dict[str, Any]) -> None:
    names = [target["name"] for target in bench_run["targets"]]
    assert names == [
        "small cold / floor",
        "small warm / docker run python -c pass",
        "small cold / by hand",
        "large cold - small cold",
        "10 MB context warm / docker run python -c pass",
        "check after the user's build / (warm build + cold image check)",
        "compare() 300 x 300",
        "parity --version / python -c pass",
        "build steps run by a check after the user's build",
    ]
    for target in bench_run["targets"]:
        assert target["op"] in ("<", "<=")
        assert isinstance(target["passed"], bool)
        assert target["unit"] in ("x", "s", "")
    table = bench_run["_stdout"]
    for name in names:
        assert name in table
    assert "PASS" in table or "FAIL" in table


def test_machine_and_projects_are_described(bench_run: dict[str, Any]) -> None:
    machine = bench_run["machine"]
    assert machine["cpus"] >= 1
    assert machine["docker_api"]
    assert machine["parity"].startswith("parity ")
    assert bench_run["date"].endswith("+00:00")
    projects = bench_run["projects"]
    assert projects["small"]["image"] == "parity-test/bench/small:latest"
    assert projects["large"]["image"] == "parity-test/bench/large-20:latest"
    # The large venv holds the 20 generated distributions (plus pip, maybe setuptools).
    assert 20 <= projects["large"]["local_distributions"] <= 23


def test_the_generated_wheels_are_real_installable_distributions(tmp_path: Path) -> None:
    sys.path.insert(0, str(BENCH))
    try:
        from make_wheels import make_wheelhouse
    finally:
        sys.path.remove(str(BENCH))
    house = make_wheelhouse(tmp_path / "wheelhouse", 12)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    pins = (tmp_path / "wheelhouse" / "local.txt").read_text(encoding="utf-8").split()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(venv / "bin" / "python"),
            "install",
            "--isolated",
            "-q",
            "--no-deps",
            "--index-url",
            house.index_url,
            *pins,
        ],
        check=True,
    )
    listed = subprocess.run(
        [str(venv / "bin" / "python"), "-c", _LIST_DISTS], capture_output=True, text=True
    )
    installed = dict(line.split("==") for line in listed.stdout.split())
    assert {name: installed.get(name) for name, _ in (pin.split("==") for pin in pins)} == dict(
        pin.split("==") for pin in pins
    )
    again = make_wheelhouse(tmp_path / "wheelhouse", 12)
    assert again == house


_LIST_DISTS = """
import importlib.metadata as m, re
for d in m.distributions():
    print(re.sub(r"[-_.]+", "-", d.metadata["Name"]).lower() + "==" + d.version)
"""
