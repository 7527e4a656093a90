"""Platforms, not strings: Mac and Windows laptops against Linux containers.

The interpreter facts below are what the probe records on each platform: the values
``platform.machine()``, ``sys.platform``, ``os.name`` and the PEP 508 marker environment
take there (Python's documentation and each OS's own naming: macOS says ``arm64`` where
Linux says ``aarch64``; Windows says ``AMD64`` and ``ARM64``). They go through the real CLI
as snapshots (``parity.snapshot/1``), with ``diff`` and with ``check``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from parity.compare import NamedEnvironment, architecture, compare
from parity.model import Environment, Interpreter, Level, Package
from parity.report import Severity, Status
from parity.snapshot import environment_to_dict
from tests.helpers import load_report, run_parity


def _markers(
    machine: str, system: str, sys_platform: str, os_name: str, release: str, version: str
) -> dict[str, str]:
    return {
        "implementation_name": "cpython",
        "implementation_version": "3.11.9",
        "os_name": os_name,
        "platform_machine": machine,
        "platform_python_implementation": "CPython",
        "platform_release": release,
        "platform_system": system,
        "platform_version": version,
        "python_full_version": "3.11.9",
        "python_version": "3.11",
        "sys_platform": sys_platform,
    }


def _mac(machine: str) -> Interpreter:
    kernel = "ARM64_T6020" if machine == "arm64" else "X86_64"
    return Interpreter(
        implementation="cpython",
        version="3.11.9",
        executable="/Users/dev/project/.venv/bin/python",
        prefix="/Users/dev/project/.venv",
        base_prefix="/Library/Frameworks/Python.framework/Versions/3.11",
        is_venv=True,
        machine=machine,
        os="Darwin 23.4.0",  # no /etc/os-release: platform.system() and release()
        libc="",  # os.confstr has no CS_GNU_LIBC_VERSION on macOS
        pip_version="24.0",
        markers=_markers(
            machine,
            "Darwin",
            "darwin",
            "posix",
            "23.4.0",
            "Darwin Kernel Version 23.4.0: Fri Mar 15 00:12:49 PDT 2024; "
            f"root:xnu-10063.101.17~1/RELEASE_{kernel}",
        ),
    )


def _windows(machine: str) -> Interpreter:
    return Interpreter(
        implementation="cpython",
        version="3.11.9",
        executable="C:\\Users\\dev\\project\\.venv\\Scripts\\python.exe",
        prefix="C:\\Users\\dev\\project\\.venv",
        base_prefix="C:\\Users\\dev\\AppData\\Local\\Programs\\Python\\Python311",
        is_venv=True,
        machine=machine,
        os="Windows 10",
        libc="",
        pip_version="24.0",
        markers=_markers(machine, "Windows", "win32", "nt", "10", "10.0.22631"),
    )


def _linux(machine: str) -> Interpreter:
    return Interpreter(
        implementation="cpython",
        version="3.11.9",
        executable="/usr/local/bin/python3",
        prefix="/usr/local",
        base_prefix="/usr/local",
        machine=machine,
        os="Debian GNU/Linux 12 (bookworm)",
        libc="glibc 2.36",
        pip_version="24.0",
        markers=_markers(
            machine, "Linux", "linux", "posix", "6.6.16-linuxkit", "#1 SMP PREEMPT Fri Feb  2"
        ),
    )


LAPTOPS = {
    "mac-arm64": _mac("arm64"),
    "mac-x86_64": _mac("x86_64"),
    "windows-amd64": _windows("AMD64"),
    "windows-arm64": _windows("ARM64"),
}
CONTAINERS = {"linux-aarch64": _linux("aarch64"), "linux-x86_64": _linux("x86_64")}
SAME_CPU = [
    ("mac-arm64", "linux-aarch64"),
    ("mac-x86_64", "linux-x86_64"),
    ("windows-amd64", "linux-x86_64"),
    ("windows-arm64", "linux-aarch64"),
]
OTHER_CPU = [
    ("mac-arm64", "linux-x86_64"),  # an amd64 image run under emulation on Apple Silicon
    ("mac-x86_64", "linux-aarch64"),
    ("windows-amd64", "linux-aarch64"),
    ("windows-arm64", "linux-x86_64"),
]

APP = (
    Package("flask", "3.0.3", requires=("click>=8.1.3", "werkzeug>=3.0.0")),
    Package("werkzeug", "3.0.6"),
)


def _laptop_packages(name: str) -> tuple[Package, ...]:
    """What pip installs for the app there: click needs colorama on Windows only."""
    click_requires = ('colorama; platform_system == "Windows"',)
    packages = (*APP, Package("click", "8.1.7", requires=click_requires))
    if name.startswith("windows"):
        packages += (Package("colorama", "0.4.6"),)
    return packages


def _environment(kind: str, interpreter: Interpreter, packages: tuple[Package, ...]) -> Environment:
    return Environment(
        kind=kind, ref=kind, level=Level.INSTALLED, interpreter=interpreter, packages=packages
    )


def _write(path: Path, environment: Environment) -> Path:
    path.write_text(json.dumps(environment_to_dict(environment)), encoding="utf-8")
    return path


def _sides(tmp_path: Path, laptop: str, image: str) -> tuple[Path, Path]:
    container_packages = (*APP, Package("click", "8.1.7"))
    local = _write(
        tmp_path / f"{laptop}.json",
        _environment("venv", LAPTOPS[laptop], _laptop_packages(laptop)),
    )
    container = _write(
        tmp_path / f"{image}.json",
        _environment("image", CONTAINERS[image], container_packages),
    )
    return local, container


def _run(tmp_path: Path, *args: str) -> tuple[int, dict[str, Any]]:
    output = tmp_path / "report.json"
    result = run_parity(*args, "--format", "json", "--output", str(output), "-q", "--all")
    assert result.returncode in (0, 1), result.stderr
    assert "Traceback" not in result.stderr
    return result.returncode, load_report(output)


def _interpreter_rows(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["field"]: row for row in report["interpreter"]}


@pytest.mark.parametrize("command", ["diff", "check"])
@pytest.mark.parametrize(("laptop", "image"), SAME_CPU)
def test_same_cpu_is_parity(tmp_path: Path, command: str, laptop: str, image: str) -> None:
    local, container = _sides(tmp_path, laptop, image)
    if command == "diff":
        code, report = _run(tmp_path, "diff", f"snapshot:{local}", f"snapshot:{container}")
        left = "left"
    else:
        project = tmp_path / "project"
        project.mkdir()
        code, report = _run(
            tmp_path,
            "check",
            str(project),
            "--local",
            f"snapshot:{local}",
            "--container",
            f"snapshot:{container}",
        )
        left = "local"
    assert code == 0, report
    rows = _interpreter_rows(report)
    assert rows["architecture"]["status"] == "same"
    assert rows["architecture"]["values"][left] == LAPTOPS[laptop].machine  # spelled as it was
    # What a Mac or Windows laptop says about its OS is information, never drift.
    loud = [
        row
        for row in report["interpreter"] + report["packages"]
        if row["severity"]
        in (
            "warning",
            "error",
        )
    ]
    assert loud == []
    assert rows["os"]["severity"] in ("info", "none")
    packages = {row["name"]: row for row in report["packages"]}
    if laptop.startswith("windows"):
        assert packages["colorama"]["status"] == "platform"
        assert packages["colorama"]["severity"] == "info"


@pytest.mark.parametrize(("laptop", "image"), OTHER_CPU)
def test_another_cpu_stays_an_error(tmp_path: Path, laptop: str, image: str) -> None:
    local, container = _sides(tmp_path, laptop, image)
    code, report = _run(tmp_path, "diff", f"snapshot:{local}", f"snapshot:{container}")
    assert code == 1
    row = _interpreter_rows(report)["architecture"]
    assert row["status"] == "differs" and row["severity"] == "error"
    assert row["values"] == {
        "left": LAPTOPS[laptop].machine,
        "right": CONTAINERS[image].machine,
    }


@pytest.mark.parametrize(
    ("spellings", "platform"),
    [
        (("x86_64", "AMD64", "amd64", "x64"), "x86_64"),
        (("arm64", "aarch64", "ARM64"), "aarch64"),
        (("i386", "i686", "x86"), "x86"),
        (("armv7l", "armv8l", "ARM"), "arm"),
        (("ppc64le",), "ppc64le"),
        (("s390x",), "s390x"),
    ],
)
def test_architecture_aliases(spellings: tuple[str, ...], platform: str) -> None:
    assert {architecture(spelling) for spelling in spellings} == {platform}


def test_32_and_64_bit_differ() -> None:
    assert architecture("armv7l") != architecture("aarch64")
    assert architecture("i686") != architecture("x86_64")
    assert architecture("ppc64") != architecture("ppc64le")


def test_an_overridden_architecture_severity_is_kept() -> None:
    from parity.policy import Policy

    local = _environment("venv", LAPTOPS["mac-arm64"], APP)
    container = _environment("image", CONTAINERS["linux-x86_64"], APP)
    policy = Policy(severity_overrides={"architecture": Severity.WARNING})
    report = compare(
        NamedEnvironment("local", local), NamedEnvironment("container", container), policy
    )
    row = next(row for row in report.interpreter if row.field == "architecture")
    assert (row.status, row.severity) == (Status.DIFFERS, Severity.WARNING)


@pytest.mark.parametrize("laptop", sorted(LAPTOPS))
def test_three_columns_with_a_lock_read_for_the_container(laptop: str) -> None:
    """`parity check` with a lock beside the venv: the laptop's platform rows stay info."""
    from parity.compare import compare_with_declaration

    image = "linux-aarch64" if "arm64" in laptop else "linux-x86_64"
    lock = Environment(
        "uv-lock",
        "uv.lock",
        Level.LOCKED,
        packages=(*APP, Package("click", "8.1.7")),  # read for Linux: no colorama
        python_requirement=">=3.11",
    )
    report = compare_with_declaration(
        NamedEnvironment("declared", lock),
        NamedEnvironment("local", _environment("venv", LAPTOPS[laptop], _laptop_packages(laptop))),
        NamedEnvironment(
            "container", _environment("image", CONTAINERS[image], (*APP, Package("click", "8.1.7")))
        ),
    )
    assert not report.has_drift
    assert [row for row in report.rows_at_or_above(Severity.WARNING)] == []
