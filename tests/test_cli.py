"""The command line without an engine: version, usage errors, output pairs, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from parity import __version__
from parity.cli import build_parser, main
from parity.errors import UsageError
from parity.output import output_requests, write_atomically
from parity.sources import SourceRef, parse_source
from tests.helpers import run_parity


def test_version_via_module_and_console_script() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "parity", "--version"], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == f"parity {__version__}"
    script = Path(sys.executable).parent / "parity"
    if script.exists():
        direct = subprocess.run([str(script), "--version"], capture_output=True, text=True)
        assert direct.stdout.strip() == f"parity {__version__}"


def test_version_does_not_import_docker_or_rich() -> None:
    code = (
        "import sys; from parity.cli import main\n"
        "try:\n    main(['--version'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('docker', 'rich', 'packaging.requirements') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("venv:.venv", SourceRef("venv", ".venv")),
        ("image:myapp:latest", SourceRef("image", "myapp:latest")),
        ("compose:web@docker-compose.yml", SourceRef("compose", "web@docker-compose.yml")),
        ("requirements-dev.txt", SourceRef("requirements", "requirements-dev.txt")),
        ("deps/constraints.txt", SourceRef("requirements", "deps/constraints.txt")),
        ("Pipfile.lock", SourceRef("pipfile-lock", "Pipfile.lock")),
        ("poetry.lock", SourceRef("poetry-lock", "poetry.lock")),
        ("uv.lock", SourceRef("uv-lock", "uv.lock")),
        ("pylock.toml", SourceRef("pylock", "pylock.toml")),
        ("pylock.dev.toml", SourceRef("pylock", "pylock.dev.toml")),
        ("backend/Dockerfile", SourceRef("dockerfile", "backend/Dockerfile")),
        ("backend.dockerfile", SourceRef("dockerfile", "backend.dockerfile")),
        ("env.json", SourceRef("snapshot", "env.json")),
    ],
)
def test_source_syntax(text: str, expected: SourceRef) -> None:
    assert parse_source(text) == expected


def test_ambiguous_source_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match=r"cannot tell what kind of source 'stuff\.cfg' is"):
        parse_source("stuff.cfg")


def outputs(*argv: str) -> list[tuple[str, str | None]]:
    args = build_parser().parse_args(["check", *argv])
    return [(request.format_name, request.path) for request in output_requests(args)]


def test_format_and_output_pairs() -> None:
    assert outputs() == [("table", None)]
    assert outputs("--format", "json") == [("json", None)]
    assert outputs("--format", "json", "--output", "r.json") == [
        ("summary", None),
        ("json", "r.json"),
    ]
    assert outputs("-q", "--format", "json", "--output", "r.json") == [("json", "r.json")]
    assert outputs("--output", "r.xml", "--format", "markdown") == [
        ("junit", "r.xml"),
        ("markdown", None),
    ]
    assert outputs("--format", "table", "--format", "junit", "--output", "j.xml") == [
        ("table", None),
        ("junit", "j.xml"),
    ]
    with pytest.raises(UsageError, match="only one --format can go to standard output"):
        outputs("--format", "json", "--format", "table")


def test_atomic_write_leaves_old_file_or_new_file(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    write_atomically(str(target), "complete\n")
    assert target.read_text() == "complete\n"
    assert [path.name for path in tmp_path.iterdir()] == ["report.json"]
    with pytest.raises(UsageError, match="cannot write"):
        write_atomically(str(tmp_path / "missing-dir" / "r.json"), "x")


def test_no_command_prints_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "usage: parity" in capsys.readouterr().err


def test_missing_project_dir_is_exit_2(tmp_path: Path) -> None:
    result = run_parity("check", str(tmp_path / "nope"))
    assert result.returncode == 2
    assert result.stderr.strip() == f"parity: {tmp_path / 'nope'}: no such project directory"


def test_project_without_local_side_is_exit_2(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM python:3.11-slim\n")
    result = run_parity("check", str(tmp_path), env={"VIRTUAL_ENV": ""})
    assert result.returncode == 2
    assert "no local environment found" in result.stderr
    assert "Traceback" not in result.stderr


def test_project_without_dockerfile_is_exit_2(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("flask\n")
    result = run_parity("check", str(tmp_path), env={"VIRTUAL_ENV": ""})
    assert result.returncode == 2
    assert "no Dockerfile found" in result.stderr


def test_diff_of_two_declarations_without_an_engine(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("flask==3.0.3\nrequests>=2\n")
    (tmp_path / "b.txt").write_text("flask==3.0.2\nrequests>=2\n")
    result = run_parity(
        "diff",
        f"requirements:{tmp_path / 'a.txt'}",
        f"requirements:{tmp_path / 'b.txt'}",
        "--format",
        "json",
        env={"DOCKER_HOST": "unix:///nonexistent.sock"},
    )
    assert result.returncode == 0  # specifier differences between declarations are warnings
    report = json.loads(result.stdout)
    assert [(row["name"], row["values"]) for row in report["packages"]] == [
        ("flask", {"left": "==3.0.3", "right": "==3.0.2"})
    ]
    strict = run_parity(
        "diff",
        f"requirements:{tmp_path / 'a.txt'}",
        f"requirements:{tmp_path / 'b.txt'}",
        "--fail-on",
        "warning",
    )
    assert strict.returncode == 1
    assert "flask" in strict.stdout


@pytest.mark.parametrize(
    ("content", "detected"),
    [
        ('[project]\nname = "x"\ndependencies = ["flask"]\n', "pyproject"),
        ('[project]\nname = "x"\ndynamic = ["dependencies"]\n', "requirements"),
        ("[tool.poetry.dependencies]\npython = '^3.11'\n", "pyproject"),
        ('[build-system]\nrequires = ["setuptools"]\n', "requirements"),
    ],
)
def test_pyproject_is_the_local_side_only_when_it_declares_dependencies(
    tmp_path: Path, content: str, detected: str
) -> None:
    from parity.detect import detect_declared_source

    (tmp_path / "pyproject.toml").write_text(content)
    (tmp_path / "requirements.txt").write_text("flask\n")
    source = detect_declared_source(str(tmp_path))
    assert source is not None and source.kind == detected
