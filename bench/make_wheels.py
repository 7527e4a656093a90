"""Generate a wheelhouse of small, real wheels for the benchmark's large project.

Every wheel is a valid, installable distribution (``METADATA``, ``WHEEL`` and a ``RECORD``
with sha256 hashes, one importable module), built byte for byte the same on every run, so a
Dockerfile that COPYs the wheelhouse keeps its layer cache. A PEP 503 ``simple/`` index
comes with it (``pip install --index-url file://.../simple``: installed as from an index,
with no PEP 610 direct_url.json, and without pip's slow scan of a 2,000-file --find-links
directory), and two pin lists: ``local.txt`` (the developer's venv) and ``container.txt``
(the image), which differ the way real environments drift: a few versions, a few packages
missing on either side.

    python bench/make_wheels.py OUTDIR [--count 2000]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import re
import sys
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

GENERATOR = "parity-bench-make-wheels 2"
MANIFEST = "manifest.json"
_EPOCH = (1980, 1, 1, 0, 0, 0)  # fixed zip timestamps: identical bytes on every run


@dataclass(frozen=True)
class Dist:
    """One distribution to build: its name as METADATA spells it, version and Requires-Dist."""

    name: str
    version: str
    requires: tuple[str, ...] = ()
    extras: tuple[str, ...] = ()

    @property
    def normalized(self) -> str:
        return self.name.replace("-", "_").replace(".", "_").lower()

    @property
    def project(self) -> str:
        """The PEP 503 name, as the simple index and the pin lists spell it."""
        return re.sub(r"[-_.]+", "-", self.name).lower()

    @property
    def filename(self) -> str:
        return f"{self.normalized}-{self.version}-py3-none-any.whl"


@dataclass(frozen=True)
class Wheelhouse:
    """A generated wheelhouse: where it is and what each side installs from it."""

    directory: Path
    count: int
    local: tuple[Dist, ...]  # what the developer's venv installs
    container: tuple[Dist, ...]  # what the image installs

    @property
    def index_url(self) -> str:
        """The ``--index-url`` of the wheelhouse's simple index, where it is now."""
        return (self.directory / "simple").as_uri()

    @property
    def drift(self) -> int:
        """How many names differ between the two sides (missing on one, or another version)."""
        local = {dist.normalized: dist.version for dist in self.local}
        container = {dist.normalized: dist.version for dist in self.container}
        return sum(local.get(key) != container.get(key) for key in local.keys() | container.keys())


def plan(count: int) -> tuple[list[Dist], list[Dist]]:
    """(local, container) distributions: ``count`` names, about 1.5 % of them drifting."""
    local: list[Dist] = []
    container: list[Dist] = []
    for index in range(count):
        dist = _dist(index, count)
        local.append(dist)
        if index % 211 == 7:
            continue  # installed locally, never in the image
        if index % 97 == 3:
            dist = Dist(dist.name, _bump(dist.version, minor=True), dist.requires, dist.extras)
        elif index % 89 == 5:
            dist = Dist(dist.name, _bump(dist.version, minor=False), dist.requires, dist.extras)
        container.append(dist)
    for index in range(max(1, count // 400)):
        container.append(Dist(f"bench-extra-{index:04d}", "0.1.0"))  # only in the image
    return local, container


def _dist(index: int, count: int) -> Dist:
    # A mix of spellings, as real metadata has: names compare PEP 503-normalised.
    spellings = ("bench-dist-{:05d}", "bench_dist_{:05d}", "Bench.Dist.{:05d}")
    name = spellings[index % 3].format(index)
    version = f"{1 + index % 5}.{index % 13}.{index % 7}"
    requires: list[str] = []
    for step, offset in ((7, 3), (13, 5)):
        target = (index * step + offset) % count
        if target != index:
            requires.append(f"bench-dist-{target:05d}>=0.1")
    if index % 10 == 0:
        requires.append('bench-dist-00000; python_version < "3.8"')
    extras: tuple[str, ...] = ()
    if index % 20 == 0:
        extras = ("test",)
        requires.append('bench-dist-00001; extra == "test"')
    return Dist(name, version, tuple(requires), extras)


def _bump(version: str, *, minor: bool) -> str:
    major, minor_part, patch = (int(part) for part in version.split("."))
    if minor:
        return f"{major}.{minor_part + 1}.0"
    return f"{major}.{minor_part}.{patch + 1}"


def metadata(dist: Dist) -> str:
    lines = [
        "Metadata-Version: 2.1",
        f"Name: {dist.name}",
        f"Version: {dist.version}",
        "Summary: A tiny distribution generated for parity's benchmark",
        "Requires-Python: >=3.7",
    ]
    lines += [f"Provides-Extra: {extra}" for extra in dist.extras]
    lines += [f"Requires-Dist: {requirement}" for requirement in dist.requires]
    return "\n".join(lines) + "\n\n"


def wheel_bytes(dist: Dist) -> dict[str, bytes]:
    """The files of the wheel, RECORD last, by archive path."""
    info = f"{dist.normalized}-{dist.version}.dist-info"
    files = {
        f"{dist.normalized}/__init__.py": f'__version__ = "{dist.version}"\n'.encode(),
        f"{info}/METADATA": metadata(dist).encode(),
        f"{info}/WHEEL": (
            f"Wheel-Version: 1.0\nGenerator: {GENERATOR}\nRoot-Is-Purelib: true\n"
            "Tag: py3-none-any\n\n"
        ).encode(),
    }
    record = [f"{path},sha256={_digest(data)},{len(data)}" for path, data in files.items()]
    record.append(f"{info}/RECORD,,")
    files[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    return files


def _digest(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def write_wheel(directory: Path, dist: Dist) -> Path:
    path = directory / dist.filename
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in wheel_bytes(dist).items():
            entry = zipfile.ZipInfo(name, date_time=_EPOCH)
            entry.external_attr = 0o644 << 16
            entry.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(entry, data)
    return path


def make_wheelhouse(directory: Path, count: int) -> Wheelhouse:
    """Write the wheels and the two install lists; reuse them when already there."""
    local, container = plan(count)
    house = Wheelhouse(directory, count, tuple(local), tuple(container))
    manifest = {"generator": GENERATOR, "count": count}
    manifest_path = directory / MANIFEST
    if _manifest_matches(manifest_path, manifest) and _complete(house):
        return house
    directory.mkdir(parents=True, exist_ok=True)
    every = _unique(local + container)
    for dist in every:
        write_wheel(directory, dist)
    write_simple_index(directory, every)
    _write_pins(directory / "local.txt", house.local)
    _write_pins(directory / "container.txt", house.container)
    manifest_path.write_text(json.dumps(manifest) + "\n", encoding="utf-8")
    return house


def write_simple_index(directory: Path, dists: Iterable[Dist]) -> None:
    """``simple/<project>/index.html`` pages (PEP 503) linking to the wheels, with hashes."""
    by_project: dict[str, list[Dist]] = {}
    for dist in dists:
        by_project.setdefault(dist.project, []).append(dist)
    root = directory / "simple"
    for project, versions in by_project.items():
        links = "".join(
            f'<a href="../../{dist.filename}#sha256={_hexdigest(directory / dist.filename)}">'
            f"{dist.filename}</a>\n"
            for dist in versions
        )
        page = root / project / "index.html"
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text(f"<!DOCTYPE html>\n<html><body>\n{links}</body></html>\n", "utf-8")
    anchors = "".join(f'<a href="{project}/">{project}</a>\n' for project in sorted(by_project))
    (root / "index.html").write_text(
        f"<!DOCTYPE html>\n<html><body>\n{anchors}</body></html>\n", "utf-8"
    )


def _hexdigest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _unique(dists: Iterable[Dist]) -> list[Dist]:
    return list({dist.filename: dist for dist in dists}.values())


def _complete(house: Wheelhouse) -> bool:
    dists = (*house.local, *house.container)
    return all((house.directory / dist.filename).is_file() for dist in dists)


def _manifest_matches(path: Path, expected: dict[str, object]) -> bool:
    try:
        return bool(json.loads(path.read_text(encoding="utf-8")) == expected)
    except (OSError, ValueError):
        return False


def _write_pins(path: Path, dists: Iterable[Dist]) -> None:
    path.write_text("".join(f"{dist.project}=={dist.version}\n" for dist in dists), "utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--count", type=int, default=2000, help="distributions (default 2000)")
    args = parser.parse_args(argv)
    house = make_wheelhouse(args.directory, args.count)
    print(
        f"{args.directory}: {len(house.local)} local, {len(house.container)} container wheels "
        f"({house.drift} names differ)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
