"""Helpers for integration tests: real venvs, pip freeze on each side, running the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from pathlib import Path
from typing import Any

from parity.model import canonical_name

TOOLING = {"pip", "setuptools", "wheel", "pkg-resources", "distribute"}


def venv_python(path: Path) -> Path:
    """The interpreter of the venv at ``path``: ``Scripts\\python.exe`` on Windows."""
    return path / "Scripts" / "python.exe" if os.name == "nt" else path / "bin" / "python"


def make_venv(path: Path, requirements: Path | None = None, *packages: str) -> Path:
    """A real virtualenv (``venv`` module, with pip), with ``requirements`` installed."""
    venv.EnvBuilder(with_pip=True, clear=True).create(path)
    python = venv_python(path)
    args = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    if requirements is not None:
        subprocess.run([*args, "-r", str(requirements)], check=True)
    if packages:
        subprocess.run([*args, *packages], check=True)
    return python


def parse_freeze(text: str) -> dict[str, str]:
    """``pip freeze`` output as {PEP 503 name: version} (plain ``name==version`` lines)."""
    versions: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "==" not in line:
            continue
        name, _, version = line.partition("==")
        versions[canonical_name(name)] = version.strip()
    return versions


def venv_freeze(python: Path) -> dict[str, str]:
    output = subprocess.run(
        [str(python), "-m", "pip", "freeze", "--all", "--disable-pip-version-check"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return parse_freeze(output)


def image_freeze(client: Any, image: str, python: str = "python3") -> dict[str, str]:
    """``pip freeze --all`` inside ``image`` (run as the image's own interpreter sees it)."""
    output = client.containers.run(
        image,
        ["-m", "pip", "freeze", "--all", "--disable-pip-version-check"],
        entrypoint=[python],
        network_mode="none",
        remove=True,
        stdout=True,
        stderr=False,
    )
    return parse_freeze(output.decode("utf-8"))


def expected_drift(
    left: dict[str, str], right: dict[str, str]
) -> set[tuple[str, str | None, str | None]]:
    """(name, left version, right version) for every non-tooling package that differs."""
    rows = set()
    for name in left.keys() | right.keys():
        if name in TOOLING:
            continue
        if left.get(name) != right.get(name):
            rows.add((name, left.get(name), right.get(name)))
    return rows


def run_parity(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the real CLI in a subprocess (``python -m parity``)."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "parity", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd,
        timeout=900,
    )


def report_rows(
    report: dict[str, Any], left: str, right: str
) -> set[tuple[str, str | None, str | None]]:
    """(name, left, right) of the rows counted as drift (set-aside rows left out)."""
    return {(row["name"], row["values"][left], row["values"][right]) for row in drift_rows(report)}


SET_ASIDE = ("dev", "tooling", "project")


def drift_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The JSON report's package rows but the set-aside ones (dev, tooling, project below
    warning), which the JSON lists too."""
    return [
        row
        for row in report["packages"]
        if not (row["status"] in SET_ASIDE and row["severity"] in ("none", "info"))
    ]


def load_report(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def image_id_from(report: dict[str, Any], side: str) -> str:
    for entry in report["sides"]:
        if entry["name"] == side:
            return str(entry["image_id"])
    raise KeyError(side)


def marker_env(
    python: str, system: str = "Linux", implementation: str = "CPython"
) -> dict[str, str]:
    """A full PEP 508 marker environment for a made-up interpreter."""
    windows = system == "Windows"
    return {
        "implementation_name": implementation.lower(),
        "implementation_version": python,
        "os_name": "nt" if windows else "posix",
        "platform_machine": "AMD64" if windows else "x86_64",
        "platform_python_implementation": implementation,
        "platform_release": "10" if windows else "6.1.0",
        "platform_system": system,
        "platform_version": "10.0" if windows else "#1 SMP",
        "python_full_version": python,
        "python_version": ".".join(python.split(".")[:2]),
        "sys_platform": {"Windows": "win32", "Darwin": "darwin"}.get(system, "linux"),
    }
