"""Snapshots: save any environment, load it back validated, compare without Docker."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from parity.errors import ParityError
from parity.model import Environment, Interpreter, Level, Location, Origin, Package, Requirement
from parity.snapshot import SCHEMA, environment_to_dict
from parity.sources.snapshot import SnapshotError, load_snapshot
from tests.helpers import make_venv, run_parity


def sample_environment() -> Environment:
    return Environment(
        kind="venv",
        ref=".venv",
        level=Level.INSTALLED,
        interpreter=Interpreter(
            implementation="cpython",
            version="3.11.7",
            executable="/x/bin/python",
            is_venv=True,
            machine="x86_64",
            os="Debian GNU/Linux 12 (bookworm)",
            libc="glibc 2.36",
            pip_version="24.0",
            markers={"sys_platform": "linux", "python_version": "3.11"},
        ),
        packages=(
            Package("Django", "4.2.7", requires=("asgiref>=3.6",), location="/x/site-packages"),
            Package("mylib", "0.1", origin=Origin("editable", "file:///src/mylib")),
            Package("tool", "1.0", origin=Origin("vcs", "https://g/t.git", "abc1234", "git")),
        ),
        requirements=(
            Requirement("flask", "==3.0.3", declared_at=Location("requirements.txt", 3)),
        ),
        python_requirement=">=3.10",
        warnings=("one warning",),
        description="virtualenv .venv",
    )


def test_round_trip_keeps_everything(tmp_path: Path) -> None:
    environment = sample_environment()
    path = tmp_path / "env.json"
    path.write_text(json.dumps(environment_to_dict(environment)))
    loaded = load_snapshot(str(path))
    assert loaded.kind == "snapshot"
    assert loaded.ref == str(path)
    assert loaded.level == environment.level
    assert loaded.interpreter == environment.interpreter
    assert loaded.packages == environment.packages
    assert loaded.requirements == environment.requirements
    assert loaded.python_requirement == ">=3.10"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{", "invalid JSON"),
        ('{"schema": "parity.snapshot/99"}', "unknown schema 'parity.snapshot/99'"),
        ("[]", "expected an object"),
        (json.dumps({"schema": SCHEMA, "kind": "venv", "ref": "x", "level": "sideways"}), "level"),
        (
            json.dumps(
                {
                    "schema": SCHEMA,
                    "kind": "venv",
                    "ref": "x",
                    "level": "installed",
                    "packages": [{"name": 1}],
                }
            ),
            "package.name: expected a string",
        ),
    ],
)
def test_invalid_snapshots_name_the_file(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(SnapshotError) as caught:
        load_snapshot(str(path))
    assert str(path) in str(caught.value)
    assert message in str(caught.value)


@given(st.binary(max_size=300))
def test_arbitrary_bytes_only_raise_snapshot_errors(
    tmp_path_factory: pytest.TempPathFactory, data: bytes
) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "env.json"
    path.write_bytes(data)
    with contextlib.suppress(ParityError):
        load_snapshot(str(path))


def test_snapshot_command_then_diff_without_docker(tmp_path: Path) -> None:
    python = make_venv(tmp_path / "venv", None, "six==1.16.0")
    saved = tmp_path / "baseline.json"
    result = run_parity("snapshot", f"venv:{tmp_path / 'venv'}", "-o", str(saved), "-q")
    assert result.returncode == 0, result.stderr
    assert json.loads(saved.read_text())["schema"] == SCHEMA
    no_engine = {"DOCKER_HOST": "unix:///nonexistent.sock"}
    same = run_parity("diff", f"snapshot:{saved}", f"venv:{tmp_path / 'venv'}", "-q", env=no_engine)
    assert same.returncode == 0, same.stderr + same.stdout
    assert same.stdout == ""  # quiet and in parity: nothing at all
    import subprocess

    subprocess.run([str(python), "-m", "pip", "install", "-q", "six==1.15.0"], check=True)
    drift = run_parity(
        "diff", f"snapshot:{saved}", f"venv:{tmp_path / 'venv'}", "--format", "json", env=no_engine
    )
    assert drift.returncode == 1
    rows = json.loads(drift.stdout)["packages"]
    assert [(row["name"], row["values"]) for row in rows] == [
        ("six", {"left": "1.16.0", "right": "1.15.0"})
    ]
