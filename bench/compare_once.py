"""Time parity.compare.compare() once, in a fresh process, on two synthetic environments.

A fresh process per sample starts with empty caches, as a ``parity check`` does. The two
sides look like a macOS laptop venv and a Linux image: each package has a few Requires-Dist
lines (some with markers), about 1 % of versions differ, some names are missing on either
side, and a few local-only packages are explained by a ``sys_platform == "darwin"`` marker.
Prints one JSON object: seconds spent in compare() and in rendering the table and JSON.

    python bench/compare_once.py [--packages 10000]
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from parity.compare import NamedEnvironment, compare
from parity.formats import render
from parity.model import Environment, Interpreter, Level, Package

_LINUX = {
    "implementation_name": "cpython",
    "implementation_version": "3.11.2",
    "os_name": "posix",
    "platform_machine": "x86_64",
    "platform_python_implementation": "CPython",
    "platform_release": "6.1.0",
    "platform_system": "Linux",
    "platform_version": "#1 SMP",
    "python_full_version": "3.11.2",
    "python_version": "3.11",
    "sys_platform": "linux",
}
_DARWIN = {
    **_LINUX,
    "implementation_version": "3.11.7",
    "platform_machine": "arm64",
    "platform_release": "23.1.0",
    "platform_system": "Darwin",
    "python_full_version": "3.11.7",
    "sys_platform": "darwin",
}


def interpreter(markers: dict[str, str], executable: str, os_name: str) -> Interpreter:
    return Interpreter(
        implementation="cpython",
        version=markers["python_full_version"],
        executable=executable,
        prefix=executable.rsplit("/bin/", 1)[0],
        is_venv=True,
        machine=markers["platform_machine"],
        os=os_name,
        libc="glibc 2.36" if markers["sys_platform"] == "linux" else "",
        pip_version="24.0",
        markers=markers,
    )


def package(index: int, count: int, *, version_shift: int = 0) -> Package:
    spellings = ("pkg-{:05d}", "pkg_{:05d}", "Pkg.{:05d}")
    requires = [f"pkg-{(index * 7 + 3) % count:05d}>=0.1", f"pkg-{(index * 13 + 5) % count:05d}"]
    if index % 10 == 0:
        requires.append('pkg-00000; python_version < "3.8"')
    if index % 20 == 0:
        requires.append('pkg-00001; extra == "test"')
    version = f"{1 + index % 5}.{index % 13 + version_shift}.{index % 7}"
    return Package(
        spellings[index % 3].format(index),
        version,
        installer="pip",
        location="/site-packages",
        requires=tuple(requires),
    )


def environments(count: int) -> tuple[Environment, Environment]:
    """(laptop venv, container) with ``count`` packages each and realistic drift."""
    local: list[Package] = []
    container: list[Package] = []
    for index in range(count):
        local.append(package(index, count))
        if index % 211 == 7:
            continue  # local only: missing in the container
        container.append(package(index, count, version_shift=1 if index % 97 == 3 else 0))
    for index in range(count // 400):
        container.append(Package(f"only-in-image-{index}", "1.0", installer="pip"))
    for index in range(count // 1000):
        local.append(Package(f"macos-helper-{index}", "10.0", installer="pip"))
        requirer = local[index * 3]
        local[index * 3] = Package(
            requirer.name,
            requirer.version,
            installer="pip",
            requires=(*requirer.requires, f'macos-helper-{index}; sys_platform == "darwin"'),
        )
    return (
        Environment(
            "venv",
            ".venv",
            Level.INSTALLED,
            interpreter(_DARWIN, "/Users/dev/app/.venv/bin/python", "macOS 14.1"),
            tuple(local),
        ),
        Environment(
            "image",
            "sha256:0123",
            Level.INSTALLED,
            interpreter(_LINUX, "/opt/venv/bin/python", "Debian GNU/Linux 12 (bookworm)"),
            tuple(container),
        ),
    )


def measure(count: int) -> dict[str, float]:
    # compare() imports packaging's marker and specifier modules on first use; that is
    # start-up cost (measured by the start-up figure), not the compare step's.
    import packaging.markers
    import packaging.specifiers  # noqa: F401

    local, container = environments(count)
    start = time.perf_counter()
    report = compare(NamedEnvironment("local", local), NamedEnvironment("container", container))
    compared = time.perf_counter()
    render(report, "table")
    tabled = time.perf_counter()
    render(report, "json")
    done = time.perf_counter()
    return {
        "compare": compared - start,
        "render_table": tabled - compared,
        "render_json": done - tabled,
        "rows": float(len(report.packages)),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packages", type=int, default=10_000)
    args = parser.parse_args(argv)
    json.dump(measure(args.packages), sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
