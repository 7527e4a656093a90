"""The registry: source against pulling: a cold read from a local registry, in one run.

    python bench/registry.py [--rounds N] [--json PATH]

Starts a docker-registry on 127.0.0.1 (scripts/registry-up) and pushes two images to it
through the registry API (never built here, so no engine or build cache holds their
layers, and a pull really downloads and unpacks them): ``app`` (a small layer of its own,
then python:3.11-slim's layers: about 45 MB compressed) and ``big`` (the same plus a
200 MB layer of random bytes). Each round, for each image:

* ``registry``: ``parity probe registry:REF`` with an empty cache (no engine involved);
* ``pull_probe``: ``docker pull REF`` then ``parity probe image:REF`` with an empty cache;
  the pulled image is removed again (its layers with it) before the next command;
* peak memory (max RSS) of an interpreter reading ``registry:REF`` uncached.

Reports medians, the ratio pull_probe / registry (target: above 1), and the peak memory
with the 200 MB layer (target: under 100 MB). Everything it made is removed at the end.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import requests

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
sys.path.insert(0, str(REPO_ROOT))

from tests.registry_tools import LocalRegistry  # noqa: E402

BASE = "python:3.11-slim"
MEMORY_TARGET = 100 * 1024 * 1024
PEAK_CODE = (
    "import sys\n"
    "from parity.registry.read import load_image_side\n"
    "load_image_side('registry', sys.argv[1], use_cache=False)\n"
    "status = open('/proc/self/status').read().split('VmHWM:')[1]\n"
    "print(int(status.split()[0]) * 1024)\n"
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


def layer_tar(name: str, data: bytes) -> bytes:
    """An uncompressed layer holding one file."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def upload(base: str, data: bytes) -> str:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    location = requests.post(f"{base}/blobs/uploads/", timeout=60).headers["Location"]
    separator = "&" if "?" in location else "?"
    requests.put(f"{location}{separator}digest={digest}", data=data, timeout=600).raise_for_status()
    return digest


def push_image(address: str, name: str, saved: Path, extra: list[bytes]) -> str:
    """Push python:3.11-slim's layers after a layer of its own (and ``extra`` layers after)."""
    base = f"http://{address}/v2/{name}"
    with tarfile.open(saved) as tar:

        def blob(digest: str) -> bytes:
            member = tar.extractfile(f"blobs/sha256/{digest.split(':')[1]}")
            assert member is not None
            return member.read()

        index = json.loads(blob_of_index(tar))
        manifest = json.loads(blob(index["manifests"][0]["digest"]))
        config = json.loads(blob(manifest["config"]["digest"]))
        nonce = layer_tar("parity-bench-nonce", os.urandom(16).hex().encode())
        uncompressed = [nonce, *(blob(layer["digest"]) for layer in manifest["layers"]), *extra]
    layers = []
    for data in uncompressed:
        packed = gzip.compress(data, 1)
        layers.append(
            {
                "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                "digest": upload(base, packed),
                "size": len(packed),
            }
        )
    config["rootfs"]["diff_ids"] = [
        "sha256:" + hashlib.sha256(data).hexdigest() for data in uncompressed
    ]
    config["history"] = [{"created_by": "parity bench"} for _ in uncompressed]
    config_body = json.dumps(config).encode()
    media = "application/vnd.docker.distribution.manifest.v2+json"
    body = {
        "schemaVersion": 2,
        "mediaType": media,
        "config": {
            "mediaType": "application/vnd.docker.container.image.v1+json",
            "digest": upload(base, config_body),
            "size": len(config_body),
        },
        "layers": layers,
    }
    requests.put(
        f"{base}/manifests/1", data=json.dumps(body), headers={"Content-Type": media}, timeout=60
    ).raise_for_status()
    return f"{address}/{name}:1"


def blob_of_index(tar: tarfile.TarFile) -> bytes:
    member = tar.extractfile("index.json")
    assert member is not None
    return member.read()


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
    samples: dict[str, list[float]] = {}
    peaks: dict[str, int] = {}
    names = ("app", "big")
    try:
        progress(f"registry on {registry.start()}")
        saved = workdir / "base.tar"
        run("docker", "save", "-o", str(saved), BASE)
        big = layer_tar("big", os.urandom(200_000_000))
        remotes = {
            "app": push_image(registry.address, "bench/app", saved, []),
            "big": push_image(registry.address, "bench/big", saved, [big]),
        }
        del big
        for number in range(args.rounds):
            progress(f"round {number + 1} of {args.rounds}")
            for name, remote in remotes.items():
                cache = {"PARITY_CACHE_DIR": str(workdir / f"cache-{name}-{number}")}
                reg = timed(*parity, "probe", "-q", f"registry:{remote}", env=cache)
                cache = {"PARITY_CACHE_DIR": str(workdir / f"cache-{name}-{number}-pull")}
                started = time.perf_counter()
                try:
                    run("docker", "pull", "-q", remote)
                    run(*parity, "probe", "-q", f"image:{remote}", env=cache)
                    pulled = time.perf_counter() - started
                finally:
                    subprocess.run(["docker", "rmi", remote], capture_output=True, check=False)
                samples.setdefault(f"{name}.registry", []).append(reg)
                samples.setdefault(f"{name}.pull_probe", []).append(pulled)
                peak = int(run(sys.executable, "-c", PEAK_CODE, remote).strip())
                peaks[name] = max(peaks.get(name, 0), peak)
    finally:
        registry.remove()
    medians = {key: statistics.median(values) for key, values in samples.items()}
    ratios = {name: medians[f"{name}.pull_probe"] / medians[f"{name}.registry"] for name in names}
    report = {
        "medians_seconds": medians,
        "ratios": ratios,
        "peak_memory_bytes": peaks,
        "samples": samples,
        "targets": {
            "pull_probe / registry > 1": all(
                medians[f"{name}.pull_probe"] > medians[f"{name}.registry"] for name in names
            ),
            "peak memory with the 200 MB layer < 100 MB": peaks["big"] < MEMORY_TARGET,
        },
    }
    for name in names:
        print(
            f"{name:5} registry {medians[f'{name}.registry']:6.2f} s   pull+probe "
            f"{medians[f'{name}.pull_probe']:6.2f} s   ratio {ratios[name]:5.2f}   "
            f"peak {peaks[name] / 2**20:5.1f} MiB"
        )
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
