"""The pre-commit hook (.pre-commit-hooks.yaml) with real pre-commit, and the CI docs.

The end-to-end test commits the working tree under test into a scratch git repository,
points a project's .pre-commit-config.yaml at it, and lets real ``git commit`` run the
hook: a commit with drift is refused with the drift shown; once the venv matches the
container, the commit goes through, and a warm run prints nothing.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
import yaml

from tests.conftest import REPO_ROOT, SAMPLES
from tests.helpers import make_venv, run_parity

HOOKS_FILE = REPO_ROOT / ".pre-commit-hooks.yaml"
DOCS = REPO_ROOT / "docs"


def _hook() -> dict[str, Any]:
    hooks = yaml.safe_load(HOOKS_FILE.read_text(encoding="utf-8"))
    (hook,) = (hook for hook in hooks if hook["id"] == "parity-check")
    assert isinstance(hook, dict)
    return hook


# --- the manifest ------------------------------------------------------------------------------


def test_manifest_is_valid_for_pre_commit() -> None:
    pre_commit = shutil.which("pre-commit") or str(Path(sys.executable).parent / "pre-commit")
    if not Path(pre_commit).exists():
        pytest.skip("pre-commit is not installed")
    result = subprocess.run(
        [pre_commit, "validate-manifest", str(HOOKS_FILE)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    hook = _hook()
    assert hook["entry"] == "parity check -q"
    assert hook["language"] == "python"
    assert hook["pass_filenames"] is False


@pytest.mark.parametrize(
    "path",
    [
        "Dockerfile",
        "docker/Dockerfile.prod",
        "api.dockerfile",
        "compose.yaml",
        "compose.yml",
        "docker-compose.yml",
        "deploy/docker-compose.override.yaml",
        "requirements.txt",
        "requirements-dev.in",
        "requirements/base.txt",
        "constraints.txt",
        "Pipfile",
        "Pipfile.lock",
        "pyproject.toml",
        "poetry.lock",
        "uv.lock",
        "pylock.toml",
        "pylock.dev.toml",
        "service/uv.lock",
        "parity.toml",
    ],
)
def test_hook_runs_for_files_that_change_a_side(path: str) -> None:
    assert re.search(_hook()["files"], path)


@pytest.mark.parametrize(
    "path",
    ["README.md", "src/app.py", "docs/requirements.md", "Pipfile.bak", "compose.json", "x.lock"],
)
def test_hook_skips_other_files(path: str) -> None:
    assert not re.search(_hook()["files"], path)


# --- real pre-commit, real git commit, real engine ----------------------------------------


def _git_environment(home: Path) -> dict[str, str]:
    """An environment for git and pre-commit that ignores the user's own git configuration."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in ("VIRTUAL_ENV", "PYTHONPATH") and not key.startswith("GIT_")
    }
    global_config = home / "gitconfig"
    global_config.write_text(
        "[user]\n\tname = parity tests\n\temail = tests@parity.invalid\n"
        "[init]\n\tdefaultBranch = main\n[commit]\n\tgpgsign = false\n",
        encoding="utf-8",
    )
    environment.update(
        GIT_CONFIG_GLOBAL=str(global_config),
        GIT_CONFIG_NOSYSTEM="1",
        PRE_COMMIT_HOME=str(home / "pre-commit"),
        PARITY_CACHE_DIR=str(home / "parity-cache"),
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    return environment


def _git(*args: str, cwd: Path, env: dict[str, str]) -> str:
    result = subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, f"git {' '.join(args)}: {result.stdout}{result.stderr}"
    return result.stdout


def _working_tree_files() -> list[str]:
    """Every file of the working tree under test that git would not ignore."""
    output = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [name for name in output.split("\0") if name and (REPO_ROOT / name).is_file()]


@pytest.fixture(scope="module")
def scratch_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pre-commit-home")


@pytest.fixture(scope="module")
def hook_repository(scratch_home: Path) -> Iterator[tuple[Path, str]]:
    """A git repository holding the working tree under test in one commit: (path, sha)."""
    if not (REPO_ROOT / ".git").exists() or shutil.which("git") is None:
        pytest.skip("needs parity's git checkout and git")
    env = _git_environment(scratch_home)
    repository = scratch_home / "parity-repo"
    repository.mkdir()
    _git("init", "-q", cwd=repository, env=env)
    for name in _working_tree_files():
        target = repository / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO_ROOT / name, target)
    _git("add", "-A", cwd=repository, env=env)
    _git("commit", "-q", "-m", "the working tree under test", cwd=repository, env=env)
    yield repository, _git("rev-parse", "HEAD", cwd=repository, env=env).strip()


@pytest.mark.docker
@pytest.mark.slow
def test_commit_with_drift_is_refused_then_passes_once_fixed(
    hook_repository: tuple[Path, str], scratch_home: Path, tmp_path: Path, base_image: Any
) -> None:
    base_image("3.11")
    repository, sha = hook_repository
    env = _git_environment(scratch_home)
    project = tmp_path / "project"
    shutil.copytree(SAMPLES / "venv-multistage", project, ignore=shutil.ignore_patterns(".venv"))
    (project / ".gitignore").write_text(".venv/\n", encoding="utf-8")
    (project / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {repository}\n    rev: {sha}\n    hooks:\n      - id: parity-check\n",
        encoding="utf-8",
    )
    make_venv(project / ".venv", project / "laptop-freeze.txt")
    _git("init", "-q", cwd=project, env=env)
    pre_commit = str(Path(sys.executable).parent / "pre-commit")
    subprocess.run([pre_commit, "install"], cwd=project, env=env, check=True, capture_output=True)

    # The laptop venv drifts from the image: the commit is refused and says why.
    _git("add", "-A", cwd=project, env=env)
    refused = subprocess.run(
        ["git", "commit", "-m", "first"], cwd=project, env=env, capture_output=True, text=True
    )
    output = refused.stdout + refused.stderr
    assert refused.returncode != 0, output
    assert "parity check" in output and "Failed" in output
    assert "packaging" in output and "24.1" in output and "24.0" in output
    assert "tomli" in output and "missing" in output
    assert "drift:" in output
    unborn = subprocess.run(
        ["git", "rev-parse", "--verify", "-q", "HEAD"], cwd=project, env=env, capture_output=True
    )
    assert unborn.returncode != 0  # nothing was committed

    # Make the venv match the container (what requirements.txt pins): the commit passes.
    make_venv(project / ".venv", project / "requirements.txt")
    accepted = subprocess.run(
        ["git", "commit", "-m", "first"], cwd=project, env=env, capture_output=True, text=True
    )
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    assert "Passed" in accepted.stdout + accepted.stderr

    # A warm run (layer and probe caches filled) is quiet: the hook prints nothing.
    warm = subprocess.run(
        [pre_commit, "run", "parity-check", "--all-files", "--verbose"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
    )
    assert warm.returncode == 0, warm.stdout + warm.stderr
    hook_output = warm.stdout.split("- duration:", 1)[1].split("\n", 1)[1]
    assert hook_output.strip() == "", warm.stdout


# --- the CI documentation --------------------------------------------------------------------


def _check_flags() -> set[str]:
    """Every option ``parity check --help`` lists."""
    result = run_parity("check", "--help")
    assert result.returncode == 0, result.stderr
    return set(re.findall(r"(?<![\w-])(--[a-z][a-z-]*|-[a-z])\b", result.stdout))


def _parity_commands_in_workflow(document: Any) -> list[str]:
    """The ``parity check ...`` commands in a workflow's run/script strings."""
    found: list[str] = []

    def walk(node: Any, key: object) -> None:
        if isinstance(node, dict):
            for name, value in node.items():
                walk(value, name)
        elif isinstance(node, list):
            for value in node:
                walk(value, key)
        elif key in ("run", "script") and str(node).lstrip().startswith("parity check"):
            found.append(str(node))

    walk(document, None)
    return found


def _parity_commands_in_markdown(text: str) -> list[str]:
    """``parity check`` command lines (with continuations) and hook ``args:`` in code blocks."""
    blocks = re.findall(r"```[a-z]*\n(.*?)```", text, flags=re.S)
    commands = []
    for block in blocks:
        joined = block.replace("\\\n", " ")
        for line in joined.splitlines():
            if "parity check" in line or line.strip().startswith("args:"):
                commands.append(line)
    return commands


@pytest.mark.parametrize("name", ["github-actions.yml", "gitlab-ci.yml"])
def test_workflows_are_yaml_and_use_real_flags(name: str) -> None:
    document = yaml.safe_load((DOCS / name).read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    commands = _parity_commands_in_workflow(document)
    assert len(commands) == 1
    flags = set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", commands[0]))
    assert {"--format", "--output"} <= flags
    assert flags <= _check_flags()
    formats = re.findall(r"--format (\w+)", commands[0])
    assert set(formats) <= {"table", "json", "markdown", "junit", "github"}


def test_github_workflow_shape() -> None:
    document = yaml.safe_load((DOCS / "github-actions.yml").read_text(encoding="utf-8"))
    steps = document["jobs"]["parity"]["steps"]
    assert all("uses" in step or "run" in step for step in steps)
    check = next(step for step in steps if step.get("name") == "parity check")
    assert check["env"]["PARITY_BUILD_NETWORK"] == "host"
    cached = next(step for step in steps if "actions/cache" in step.get("uses", ""))
    assert cached["with"]["path"] == "~/.cache/parity"
    # YAML 1.1 reads a bare `on:` key as True; GitHub reads it as the trigger.
    assert "pull_request" in (document.get("on") or document.get(True))


def test_gitlab_job_shape() -> None:
    job = yaml.safe_load((DOCS / "gitlab-ci.yml").read_text(encoding="utf-8"))["parity"]
    assert job["artifacts"]["reports"]["junit"] == "parity-junit.xml"
    assert job["variables"]["PARITY_CACHE_DIR"] == "$CI_PROJECT_DIR/.parity-cache"
    assert job["cache"]["paths"] == [".parity-cache/"]


@pytest.mark.parametrize("name", ["ci.md", "pre-commit.md"])
def test_markdown_docs_use_real_flags(name: str) -> None:
    commands = _parity_commands_in_markdown((DOCS / name).read_text(encoding="utf-8"))
    assert commands
    flags = set()
    for command in commands:
        flags |= set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", command))
    assert flags <= _check_flags()


@pytest.mark.docker
@pytest.mark.slow
@pytest.mark.parametrize("name", ["github-actions.yml", "gitlab-ci.yml"])
def test_workflow_command_runs_as_written(name: str, tmp_path: Path, base_image: Any) -> None:
    """The documented command, run in a project whose venv matches its image."""
    base_image("3.11")
    project = tmp_path / "project"
    shutil.copytree(SAMPLES / "venv-multistage", project, ignore=shutil.ignore_patterns(".venv"))
    make_venv(project / ".venv", project / "requirements.txt")
    document = yaml.safe_load((DOCS / name).read_text(encoding="utf-8"))
    (command,) = _parity_commands_in_workflow(document)
    argv = shlex.split(command)
    assert argv[:2] == ["parity", "check"]
    result = run_parity(
        *argv[1:],
        cwd=project,
        env={"PARITY_CACHE_DIR": str(tmp_path / "cache"), "VIRTUAL_ENV": ""},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads((project / "parity-report.json").read_text(encoding="utf-8"))
    assert report["verdict"] == "parity"
    assert (
        (project / "parity-report.md")
        .read_text(encoding="utf-8")
        .startswith("<!-- parity-report -->")
    )
    junit = ElementTree.parse(project / "parity-junit.xml").getroot()
    assert junit.tag in ("testsuites", "testsuite")
    if "--format github" in command:
        assert result.stdout.startswith("::")  # workflow commands on standard output
