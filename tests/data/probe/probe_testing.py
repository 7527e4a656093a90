"""Helpers the probe and venv tests share: pip freeze parsing, hand-built wheels, projects.

Loaded by path from tests/test_probe.py and tests/test_venv_source.py (tests/ is no package).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import pathlib
import re
import subprocess
import zipfile
from collections.abc import Mapping, Sequence
from typing import Any

from parity.model import Environment, canonical_name
from parity.probe.parse import PROBE_SOURCE

# Old pip (< 21) run as ``python -m pip`` also searches the current directory: run from one
# that holds no metadata, so every pip sees the same sys.path as the probe.
NEUTRAL_CWD = os.path.abspath(os.sep)
PYENV_ROOT = pathlib.Path(os.environ.get("PYENV_ROOT", "/root/.pyenv")) / "versions"
_PINNED = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)\s*={2,3}\s*(\S+)$")
_COMMENTED_PIN = re.compile(r"\(([A-Za-z0-9][A-Za-z0-9._-]*)==([^()\s]+)\)")
_EGG_FRAGMENT = re.compile(r"[#&]egg=([A-Za-z0-9][A-Za-z0-9._-]*)")


def pyenv_pythons() -> list[pathlib.Path]:
    """Every pyenv interpreter on this machine (bin/python of each version)."""
    if not PYENV_ROOT.is_dir():
        return []
    found = [PYENV_ROOT / name / "bin" / "python" for name in sorted(os.listdir(PYENV_ROOT))]
    return [path for path in found if path.is_file()]


def clean_env(**extra: str) -> dict[str, str]:
    """The environment for probe and pip runs: no pip config, no PYTHONPATH unless given."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PIP_", "PYTHON", "VIRTUAL_ENV"))
    }
    environment["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    environment["PIP_NO_INPUT"] = "1"
    environment.update(extra)
    return environment


def run_probe_json(
    python: str | os.PathLike[str], env: Mapping[str, str] | None = None, cwd: str | None = None
) -> dict[str, Any]:
    """Run the probe with ``python`` and return its parsed JSON (exit status must be 0)."""
    completed = subprocess.run(
        [os.fspath(python), "-B", "-c", PROBE_SOURCE],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        env=dict(env) if env is not None else clean_env(),
        cwd=cwd or NEUTRAL_CWD,
        timeout=180,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr.decode("utf-8", "replace")
    lines = completed.stdout.decode("ascii").splitlines()
    assert len(lines) == 1, "the probe must print exactly one line"
    document: dict[str, Any] = json.loads(lines[0])
    return document


def pip_freeze(
    python: str | os.PathLike[str], env: Mapping[str, str] | None = None, cwd: str | None = None
) -> str:
    """``python -m pip freeze --all`` output."""
    completed = subprocess.run(
        [os.fspath(python), "-m", "pip", "freeze", "--all", "--isolated"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        env=dict(env) if env is not None else clean_env(),
        cwd=cwd or NEUTRAL_CWD,
        timeout=180,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr.decode("utf-8", "replace")
    return completed.stdout.decode("utf-8")


def has_pip(python: str | os.PathLike[str]) -> bool:
    completed = subprocess.run(
        [os.fspath(python), "-m", "pip", "--version"],
        capture_output=True,
        env=clean_env(),
        timeout=120,
        check=False,
    )
    return completed.returncode == 0


def parse_freeze(text: str) -> dict[str, str | None]:
    """``pip freeze`` lines as {normalised name: version, or None where freeze shows a URL}."""
    found: dict[str, str | None] = {}
    commented: tuple[str, str] | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            match = _COMMENTED_PIN.search(line)
            commented = (match.group(1), match.group(2)) if match else None
            continue
        if line.startswith("-e "):
            fragment = _EGG_FRAGMENT.search(line)
            if commented:
                found[canonical_name(commented[0])] = commented[1]
            elif fragment:
                found[canonical_name(fragment.group(1))] = None
            else:
                raise AssertionError(f"cannot name the editable line {line!r}")
        elif line.startswith("-"):
            pass  # options such as -f
        elif " @ " in line:
            found[canonical_name(line.split(" @ ", 1)[0])] = None
        else:
            match = _PINNED.match(line)
            assert match, f"unexpected pip freeze line {line!r}"
            found[canonical_name(match.group(1))] = match.group(2)
        commented = None
    return found


def probe_versions(source: Environment | Mapping[str, Any]) -> dict[str, str]:
    """{normalised name: version} from an Environment or the probe's raw JSON."""
    if isinstance(source, Environment):
        return {package.key: package.version for package in source.packages}
    return {canonical_name(item["name"]): item["version"] for item in source["distributions"]}


def assert_same_as_freeze(source: Environment | Mapping[str, Any], freeze_text: str) -> None:
    """The probe saw exactly the names pip freeze printed, with the same versions."""
    probed = probe_versions(source)
    frozen = parse_freeze(freeze_text)
    assert sorted(probed) == sorted(frozen), (
        f"probe only: {sorted(set(probed) - set(frozen))}; "
        f"freeze only: {sorted(set(frozen) - set(probed))}"
    )
    for name, version in frozen.items():
        if version is not None:
            assert probed[name] == version, f"{name}: probe {probed[name]}, freeze {version}"


def record_line(path: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}"


def build_wheel(
    directory: pathlib.Path,
    name: str,
    version: str,
    files: Mapping[str, str],
    requires: Sequence[str] = (),
) -> pathlib.Path:
    """Write a pure-Python wheel (``files`` maps archive paths to text) and return its path."""
    stem = f"{re.sub(r'[-_.]+', '_', name)}-{version}"
    info = f"{stem}.dist-info"
    metadata = "".join(
        [f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"]
        + [f"Requires-Dist: {line}\n" for line in requires]
    )
    contents = {path: text.encode() for path, text in files.items()}
    contents[f"{info}/METADATA"] = metadata.encode()
    contents[f"{info}/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: parity-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    record = [record_line(path, data) for path, data in contents.items()]
    record.append(f"{info}/RECORD,,")
    contents[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    wheel = directory / f"{stem}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, data in contents.items():
            archive.writestr(path, data)
    return wheel


BACKEND = '''"""A tiny in-tree PEP 517/660 build backend, so installs need no index."""
import base64, hashlib, os, zipfile

NAME = {name!r}
VERSION = {version!r}
MODULE = {module!r}
STEM = NAME.replace("-", "_") + "-" + VERSION
INFO = STEM + ".dist-info"


def _record(path, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return "%s,sha256=%s,%d" % (path, digest, len(data))


def _wheel(directory, contents):
    contents[INFO + "/METADATA"] = (
        "Metadata-Version: 2.1\\nName: %s\\nVersion: %s\\n" % (NAME, VERSION)
    ).encode()
    contents[INFO + "/WHEEL"] = (
        b"Wheel-Version: 1.0\\nGenerator: backend\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n"
    )
    record = [_record(path, data) for path, data in contents.items()] + [INFO + "/RECORD,,"]
    contents[INFO + "/RECORD"] = ("\\n".join(record) + "\\n").encode()
    name = STEM + "-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(directory, name), "w") as archive:
        for path, data in contents.items():
            archive.writestr(path, data)
    return name


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_editable(config_settings=None):
    return []


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, MODULE + ".py"), "rb") as source:
        return _wheel(wheel_directory, {{MODULE + ".py": source.read()}})


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    here = os.path.dirname(os.path.abspath(__file__))
    return _wheel(wheel_directory, {{"_" + MODULE + "_editable.pth": (here + "\\n").encode()}})
'''


def write_backend_project(directory: pathlib.Path, name: str, version: str) -> pathlib.Path:
    """A local project built by its own in-tree backend (no index, no setuptools needed)."""
    module = re.sub(r"[-.]+", "_", name)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "pyproject.toml").write_text(
        '[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["."]\n'
    )
    (directory / "backend.py").write_text(BACKEND.format(name=name, version=version, module=module))
    (directory / f"{module}.py").write_text(f"VERSION = {version!r}\n")
    return directory


def write_setuptools_project(directory: pathlib.Path, name: str, version: str) -> pathlib.Path:
    """A classic setup.py project (for egg-info, egg and develop installs)."""
    module = re.sub(r"[-.]+", "_", name)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "setup.py").write_text(
        "from setuptools import setup\n"
        f"setup(name={name!r}, version={version!r}, py_modules=[{module!r}],\n"
        "      extras_require={'extra': ['idna>=2; python_version > \"3\"']})\n"
    )
    (directory / f"{module}.py").write_text("X = 1\n")
    return directory


def make_venv(base_python: str | os.PathLike[str], path: pathlib.Path) -> pathlib.Path:
    """``python -m venv PATH`` (with the bundled pip); return the venv's interpreter."""
    subprocess.run(
        [os.fspath(base_python), "-m", "venv", os.fspath(path)],
        check=True,
        env=clean_env(),
        capture_output=True,
        timeout=300,
    )
    return path / "bin" / "python"


def run(
    command: Sequence[str | os.PathLike[str]],
    cwd: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
) -> str:
    """Run a command that must succeed; return its stdout."""
    completed = subprocess.run(
        [os.fspath(part) for part in command],
        cwd=cwd,
        env=dict(env) if env is not None else clean_env(),
        capture_output=True,
        timeout=600,
        check=False,
    )
    assert completed.returncode == 0, (
        f"{command} failed:\n{completed.stdout.decode(errors='replace')}\n"
        f"{completed.stderr.decode(errors='replace')}"
    )
    return completed.stdout.decode("utf-8", "replace")


def site_packages(venv_python: pathlib.Path) -> pathlib.Path:
    out = run([venv_python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"])
    return pathlib.Path(out.strip())
