"""The registry: source against pulling: a cold read from a local registry, in one run.

    python bench/registry.py [--rounds N] [--json PATH]

Starts a docker-registry on 127.0.0.1 (scripts/registry-up) and pushes two images made
here: ``flat`` (python:3.11-slim's files in one layer of its own, so pulling it really
downloads; about 45 MB compressed) and ``big`` (flat plus a 200 MB layer of random bytes).
Each round, round-robin, for each image:

* ``registry``: ``parity probe registry:REF`` with an empty cache (nothing from the engine);
* ``pull_probe``: ``docker pull REF`` then ``parity probe image:REF`` with an empty cache,
  the pulled image removed again before the next command;
* peak memory (max RSS) of an interpreter reading ``registry:REF`` uncached.

Reports medians, the ratio pull_probe / registry (target: above 1), and the peak memory
with the 200 MB layer (target: under 100 MB). Everything it made is removed at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
sys.path.insert(0, str(REPO_ROOT))

from tests.registry_tools import LocalRegistry  # noqa: E402

BASE = "python:3.11-slim"
MEMORY_TARGET = 100 * 1024 * 1024
PEAK_CODE = (
    "import resource, sys\n"
    "from parity.registry.read import load_image_side\n"
    "load_image_side('registry', sys.argv[1], use_cache=False)\n"
    "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)\n"
)


def progress(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def run(*argv: str, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        argv, env={**os.environ, **(env or {})}, capture_output=True, text=True, check=False
    )
    if result.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(argv)} failed:\n{result.stderr[-2000:]}")
    return result.stdout


def build(tag: str, dockerfile: str, workdir: Path) -> None:
    context = workdir / tag.replace("/", "_").replace(":", "_")
    context.mkdir(parents=True, exist_ok=True)
    (context / "Dockerfile").write_text(dockerfile)
    run("docker", "build", "-q", "-t", tag, str(context))


def timed(*argv: str, env: dict[str, str] | None = None) -> float:
    started = time.perf_counter()
    run(*argv, env=env)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    parity = [sys.executable, "-m", "parity"]
    workdir = Path(tempfile.mkdtemp(prefix="parity-bench-registry-"))
    registry = LocalRegistry()
    images = {"flat": "parity-bench/registry-flat:1", "big": "parity-bench/registry-big:1"}
    samples: dict[str, list[float]] = {}
    peaks: dict[str, int] = {}
    try:
        progress(f"registry on {registry.start()}")
        build(images["flat"], f"FROM {BASE} AS src\nFROM scratch\nCOPY --from=src / /\n", workdir)
        build(
            images["big"],
            f"FROM {images['flat']}\nRUN head -c 200000000 /dev/urandom >/big\n",
            workdir,
        )
        remotes = {name: registry.push(tag, f"bench/{name}:1") for name, tag in images.items()}
        for tag in reversed(images.values()):
            run("docker", "rmi", tag)  # a pull must download the layers
        for number in range(args.rounds):
            progress(f"round {number + 1} of {args.rounds}")
            for name, remote in remotes.items():
                cache = {"PARITY_CACHE_DIR": str(workdir / f"cache-{name}-{number}")}
                reg = timed(*parity, "probe", "-q", f"registry:{remote}", env=cache)
                cache = {"PARITY_CACHE_DIR": str(workdir / f"cache-{name}-{number}-pull")}
                started = time.perf_counter()
                run("docker", "pull", "-q", remote)
                run(*parity, "probe", "-q", f"image:{remote}", env=cache)
                pulled = time.perf_counter() - started
                run("docker", "rmi", remote)
                samples.setdefault(f"{name}.registry", []).append(reg)
                samples.setdefault(f"{name}.pull_probe", []).append(pulled)
                peak = int(run(sys.executable, "-c", PEAK_CODE, remote).strip())
                peaks[name] = max(peaks.get(name, 0), peak)
    finally:
        registry.remove()
        for tag in images.values():
            subprocess.run(["docker", "rmi", tag], capture_output=True, check=False)
    medians = {key: statistics.median(values) for key, values in samples.items()}
    report = {
        "medians_seconds": medians,
        "ratios": {
            name: medians[f"{name}.pull_probe"] / medians[f"{name}.registry"] for name in images
        },
        "peak_memory_bytes": peaks,
        "samples": samples,
        "targets": {
            "pull_probe / registry > 1": all(
                medians[f"{name}.pull_probe"] > medians[f"{name}.registry"] for name in images
            ),
            "peak memory with the 200 MB layer < 100 MB": peaks["big"] < MEMORY_TARGET,
        },
    }
    for name in images:
        print(
            f"{name:5} registry {medians[f'{name}.registry']:6.2f} s   pull+probe "
            f"{medians[f'{name}.pull_probe']:6.2f} s   ratio {report['ratios'][name]:5.2f}   "
            f"peak {peaks[name] / 2**20:5.1f} MiB"
        )
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
