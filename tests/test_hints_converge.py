"""The fix hints converge: check, run every printed command in the venv, check again: exit 0.

End to end on every sample project and on a uv project laid out like uv's multi-stage
Docker guide (``/opt/venv``), each with its venv made the way its tool makes it (uv venvs
have no pip). The commands run as printed, in the project folder, with the venv activated.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SAMPLES
from tests.helpers import drift_rows, make_venv, run_parity

pytestmark = [pytest.mark.docker, pytest.mark.slow]

TOOLS_BIN = Path(sys.executable).parent  # uv, pipenv and poetry from the test extra
HEADER = "To make the local side match the container:"


@pytest.fixture
def built_images(docker_client: Any) -> Iterator[set[str]]:
    """The IDs of the images a test's checks built: removed after it."""
    images: set[str] = set()
    yield images
    for image in images:
        with contextlib.suppress(Exception):  # already gone
            docker_client.images.remove(image, force=True)


def _write(project: Path, files: Mapping[str, str]) -> None:
    """A project's files, from dedented texts keyed by path."""
    for name, text in files.items():
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text(textwrap.dedent(text))


def _tool(name: str) -> str:
    path = TOOLS_BIN / name
    if not path.exists():
        pytest.skip(f"{name} is not installed in this interpreter's environment")
    return str(path)


def _uv_venv(project: Path, *requirements: str) -> None:
    """A venv the way uv makes one: ``uv venv`` then ``uv pip install`` (no pip inside)."""
    uv = _tool("uv")
    subprocess.run([uv, "venv", "-q", "--python", sys.executable, ".venv"], cwd=project, check=True)
    if requirements:
        subprocess.run(
            [uv, "pip", "install", "-q", *requirements],
            cwd=project,
            env={**os.environ, "VIRTUAL_ENV": str(project / ".venv")},
            check=True,
        )


def _activated(project: Path, home: Path) -> dict[str, str]:
    venv = project / ".venv"
    environment = {key: value for key, value in os.environ.items() if not key.startswith("PIPENV_")}
    environment.update(
        PATH=os.pathsep.join([str(venv / "bin"), str(TOOLS_BIN), os.environ["PATH"]]),
        VIRTUAL_ENV=str(venv),
        PIPENV_YES="1",
        PIPENV_VERBOSITY="-1",
        PIPENV_NOSPIN="1",
        WORKON_HOME=str(home / "virtualenvs"),
        POETRY_VIRTUALENVS_IN_PROJECT="true",
        POETRY_NO_INTERACTION="1",
    )
    return environment


def _check(project: Path, cache: Path, *extra: str) -> tuple[int, str, str]:
    env = {"PARITY_CACHE_DIR": str(cache), "VIRTUAL_ENV": ""}
    result = run_parity("check", str(project), *extra, env=env)
    assert result.returncode in (0, 1), result.stderr
    return result.returncode, result.stdout, result.stderr


def _printed_commands(stdout: str) -> list[str]:
    assert HEADER in stdout, stdout
    return [
        line
        for line in stdout.split(HEADER, 1)[1].splitlines()
        if line.strip() and not line.startswith("#")
    ]


def _converges(project: Path, tmp_path: Path) -> tuple[list[str], dict[str, Any]]:
    """Check, apply every printed command, check again; the commands and the final report."""
    cache = tmp_path / "cache"
    code, stdout, _ = _check(project, cache, "--fix-hints")
    assert code == 1, stdout
    commands = _printed_commands(stdout)
    assert commands, stdout
    environment = _activated(project, tmp_path)
    for command in commands:
        subprocess.run(
            ["bash", "-c", command], cwd=project, env=environment, check=True, timeout=600
        )
    code, stdout, _ = _check(project, cache, "--format", "json")
    report: dict[str, Any] = json.loads(stdout)
    # Nothing at --fail-on is left; below it, a Python patch release and what the venv
    # cannot change (a development tool shipped in the image is the image's warning).
    errors = [
        row for row in report["packages"] + report["interpreter"] if row["severity"] == "error"
    ]
    assert errors == [], errors
    warnings = [
        row.get("name") or row.get("field")
        for row in report["packages"] + report["interpreter"]
        if row["severity"] == "warning"
    ]
    assert set(warnings) <= {"python_version", "pytest"}, warnings
    assert code == 0
    return commands, report


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("uv-app", ["uv sync"]),
        ("pipenv-system", ["pipenv sync", "pipenv clean"]),
        (
            "requirements-dev",
            ["python -m pip uninstall -y six", "python -m pip install click==8.2.1"],
        ),
    ],
)
def test_every_workflow_sample_converges(
    name: str, expected: list[str], tmp_path: Path, base_image: Any, docker_client: Any
) -> None:
    """The workflow samples pass clean; drift made by hand in the venv is fixed by the hints
    in the venv's own tool, and the development tools are left alone."""
    from tests.test_workflow_samples import WORKFLOWS

    base_image("3.11")
    workflow = next(flow for flow in WORKFLOWS.values() if flow.sample == name)
    project = tmp_path / name
    shutil.copytree(SAMPLES / name, project)
    workflow.make_venv(project)
    package, _ = workflow.changed
    changed = "click==8.1.7" if package == "click" else "idna==3.6"
    workflow.install_by_hand(project, "six==1.17.0", changed)
    images: set[str] = set()
    try:
        commands, report = _converges(project, tmp_path)
        images.add(report["sides"][-1]["image_id"])
        assert commands == expected
        assert not any("pytest" in command for command in commands)
        statuses = {row["name"]: row["status"] for row in report["packages"]}
        assert statuses.get("pytest") == "dev"  # still installed, still set aside
    finally:
        for image in images:
            with contextlib.suppress(Exception):  # still used by another image
                docker_client.images.remove(image)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("uv-lock", ["uv sync"]),
        ("django-pipenv", ["pipenv sync", "pipenv clean"]),
        (
            "venv-multistage",
            ["python -m pip uninstall -y tomli", "python -m pip install packaging==24.0"],
        ),
        ("flask-requirements", None),
    ],
)
def test_every_sample_converges(
    name: str, expected: list[str] | None, tmp_path: Path, base_image: Any
) -> None:
    base_image("3.11")
    project = tmp_path / name
    shutil.copytree(SAMPLES / name, project, ignore=shutil.ignore_patterns(".venv"))
    if name == "uv-lock":
        _uv_venv(project, "-r", str(project / "laptop-freeze.txt"))
    else:
        make_venv(project / ".venv", project / "laptop-freeze.txt")
    commands, _ = _converges(project, tmp_path)
    if expected is not None:
        assert commands == expected
    else:
        assert all(command.startswith("python -m pip install ") for command in commands)
    # uv's venv has no pip: nothing printed may need it
    if name == "uv-lock":
        assert not any("pip " in command and "uv pip" not in command for command in commands)


UV_PROJECT = {
    "pyproject.toml": """\
        [project]
        name = "api"
        version = "0.1.0"
        requires-python = ">=3.11"
        dependencies = ["idna>=3.6"]

        [tool.uv]
        package = false
        """,
    "Dockerfile": """\
        # uv's multi-stage guide: the project's venv at /opt/venv, copied into the runtime.
        FROM python:3.11-slim AS build
        ENV PIP_BREAK_SYSTEM_PACKAGES=1 PIP_DISABLE_PIP_VERSION_CHECK=1
        RUN pip install --no-cache-dir uv==0.13.9
        ENV UV_PYTHON=/usr/bin/python3 UV_PYTHON_DOWNLOADS=never UV_SYSTEM_CERTS=1 \\
            UV_PROJECT_ENVIRONMENT=/opt/venv UV_LINK_MODE=copy UV_COMPILE_BYTECODE=1
        WORKDIR /src
        COPY pyproject.toml uv.lock ./
        RUN uv sync --frozen --no-cache --no-dev
        # Added to the image by hand, never declared: the declaration is what is out of date.
        RUN uv pip install --no-cache --python /opt/venv six==1.17.0

        FROM python:3.11-slim
        COPY --from=build /opt/venv /opt/venv
        ENV PATH=/opt/venv/bin:$PATH
        WORKDIR /app
        CMD ["python", "-c", "import idna, six"]
        """,
    ".dockerignore": ".venv\n",
}


def test_uv_multistage_project_converges_through_the_declaration(
    tmp_path: Path, base_image: Any, built_images: set[str]
) -> None:
    base_image("3.11")
    uv = _tool("uv")
    project = tmp_path / "api"
    project.mkdir()
    _write(project, UV_PROJECT)
    subprocess.run([uv, "lock", "-q"], cwd=project, check=True)
    subprocess.run([uv, "sync", "-q"], cwd=project, check=True, env=_activated(project, tmp_path))
    # By hand on the laptop: six as in the image (undeclared on both sides), an older idna,
    # and a package only the laptop has.
    subprocess.run(
        [uv, "pip", "install", "-q", "six==1.17.0", "idna==3.6", "iniconfig"],
        cwd=project,
        check=True,
        env=_activated(project, tmp_path),
    )
    code, stdout, _ = _check(project, tmp_path / "cache", "--format", "json")
    assert code == 1
    before = json.loads(stdout)
    built_images.add(before["sides"][-1]["image_id"])
    rows = {row["name"]: row for row in drift_rows(before)}
    assert set(rows) == {"six", "idna", "iniconfig"}
    assert rows["six"]["missing_from"] == ["declared"]  # on both sides, not in uv.lock
    assert rows["iniconfig"]["missing_from"] == ["declared", "container"]
    commands, after = _converges(project, tmp_path)
    built_images.add(after["sides"][-1]["image_id"])
    assert commands == ["uv add six==1.17.0", "uv sync"]
    assert "six" in (project / "pyproject.toml").read_text()


POETRY_PROJECT = {
    "pyproject.toml": """\
        [project]
        name = "api"
        version = "0.1.0"
        requires-python = ">=3.11"
        dependencies = ["idna>=3.6"]

        [tool.poetry]
        package-mode = false
        """,
    "Dockerfile": """\
        # Poetry's in-project venv built in one stage, copied into the runtime.
        FROM python:3.11-slim AS build
        # REQUESTS_CA_BUNDLE: Poetry trusts the image's CA store (as pip does), for
        # TLS-inspecting proxies.
        ENV PIP_BREAK_SYSTEM_PACKAGES=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \\
            POETRY_VIRTUALENVS_IN_PROJECT=true POETRY_NO_INTERACTION=1 \\
            REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
        RUN pip install --no-cache-dir poetry==2.5.1
        WORKDIR /app
        COPY pyproject.toml poetry.lock ./
        RUN poetry install --only main --no-root
        # Added to the image by hand, never declared: the declaration is what is out of date.
        RUN /app/.venv/bin/python -m pip install --no-cache-dir six==1.17.0

        FROM python:3.11-slim
        COPY --from=build /app/.venv /app/.venv
        ENV PATH=/app/.venv/bin:$PATH
        WORKDIR /app
        CMD ["python", "-c", "import idna, six"]
        """,
    ".dockerignore": ".venv\n",
}


def test_poetry_project_converges_through_the_declaration(
    tmp_path: Path, base_image: Any, built_images: set[str]
) -> None:
    base_image("3.11")
    poetry = _tool("poetry")
    project = tmp_path / "api"
    project.mkdir()
    _write(project, POETRY_PROJECT)
    environment = _activated(project, tmp_path)
    environment.pop("VIRTUAL_ENV")
    environment.update(POETRY_VIRTUALENVS_IN_PROJECT="true", POETRY_NO_INTERACTION="1")
    subprocess.run([poetry, "lock", "-q"], cwd=project, check=True, env=environment)
    subprocess.run([poetry, "install", "-q"], cwd=project, check=True, env=environment)
    pip = [str(project / ".venv" / "bin" / "python"), "-m", "pip", "install", "-q"]
    subprocess.run([*pip, "six==1.17.0", "idna==3.6", "iniconfig"], check=True)
    code, stdout, _ = _check(project, tmp_path / "cache", "--format", "json")
    assert code == 1
    before = json.loads(stdout)
    built_images.add(before["sides"][-1]["image_id"])
    assert {row["name"] for row in drift_rows(before)} == {"six", "idna", "iniconfig"}
    commands, after = _converges(project, tmp_path)
    built_images.add(after["sides"][-1]["image_id"])
    assert commands == ["poetry add six==1.17.0", "poetry sync"]


PIPENV_PROJECT = {
    "Pipfile": """\
        [[source]]
        url = "https://pypi.org/simple"
        verify_ssl = true
        name = "pypi"

        [packages]
        idna = "*"

        [requires]
        python_version = "3.11"
        """,
    "Dockerfile": """\
        # The image installs what Pipfile.lock pins (exported to requirements.txt), then a
        # newer idna by hand: the image has the version the lock should have.
        FROM python:3.11-slim
        ENV PIP_BREAK_SYSTEM_PACKAGES=1 PIP_DISABLE_PIP_VERSION_CHECK=1
        COPY requirements.txt /tmp/requirements.txt
        RUN pip install --no-cache-dir -r /tmp/requirements.txt \\
            && pip install --no-cache-dir idna==3.11
        """,
    ".dockerignore": ".venv\n",
}


def test_pipenv_project_the_lock_follows_the_image(
    tmp_path: Path, base_image: Any, built_images: set[str]
) -> None:
    base_image("3.11")
    pipenv = _tool("pipenv")
    project = tmp_path / "svc"
    project.mkdir()
    _write(project, PIPENV_PROJECT)
    make_venv(project / ".venv")  # Pipenv uses the project's .venv when there is one
    environment = _activated(project, tmp_path)
    subprocess.run([pipenv, "install", "idna==3.10"], cwd=project, check=True, env=environment)
    (project / "Pipfile").write_text(textwrap.dedent(PIPENV_PROJECT["Pipfile"]))  # idna = "*"
    subprocess.run([pipenv, "lock"], cwd=project, check=True, env=environment)
    requirements = subprocess.run(
        [pipenv, "requirements"], cwd=project, check=True, env=environment, capture_output=True
    ).stdout
    (project / "requirements.txt").write_bytes(requirements)
    code, stdout, _ = _check(project, tmp_path / "cache", "--format", "json")
    report = json.loads(stdout)
    built_images.add(report["sides"][-1]["image_id"])
    rows = {row["name"]: row for row in drift_rows(report)}
    assert code == 1 and set(rows) == {"idna"}, rows
    assert rows["idna"]["values"]["container"] == "3.11"
    commands, after = _converges(project, tmp_path)
    built_images.add(after["sides"][-1]["image_id"])
    assert commands == ["pipenv install idna==3.11", "pipenv sync"]
    assert not any("pip install" in command for command in commands)


DJANGO_STYLE_PROJECT = {
    "requirements/base.txt": "idna==3.10\ncertifi==2024.8.30\n",
    "requirements/dev.txt": "-r base.txt\niniconfig==2.0.0\n",
    "docker/Dockerfile": """\
        # Wheels built in one stage, installed from /wheels in the next; the Dockerfile lives
        # under docker/ and copies requirements/ from the project root.
        FROM python:3.11-slim AS wheels
        ENV PIP_DISABLE_PIP_VERSION_CHECK=1
        COPY requirements/ /requirements/
        RUN pip wheel --no-cache-dir -r /requirements/base.txt -w /wheels

        FROM python:3.11-slim
        ENV PIP_DISABLE_PIP_VERSION_CHECK=1
        COPY --from=wheels /wheels /wheels
        RUN pip install --no-cache-dir /wheels/* && rm -rf /wheels
        WORKDIR /app
        COPY . .
        CMD ["python", "-c", "import idna, certifi"]
        """,
    ".dockerignore": ".venv\n",
}


def test_requirements_folder_and_docker_subfolder_project_converges(
    tmp_path: Path, base_image: Any, built_images: set[str]
) -> None:
    """requirements/ with a dev file, docker/Dockerfile built from the root, a wheel stage:
    found with no flags, and the pip hints for the plain venv converge; the dev file's
    packages are left alone."""
    base_image("3.11")
    project = tmp_path / "site"
    _write(project, DJANGO_STYLE_PROJECT)
    make_venv(project / ".venv", project / "requirements" / "dev.txt")
    # By hand on the laptop: an older idna and a package nothing declares.
    python = str(project / ".venv" / "bin" / "python")
    subprocess.run([python, "-m", "pip", "install", "-q", "idna==3.6", "six==1.16.0"], check=True)
    code, stdout, _ = _check(project, tmp_path / "cache", "--format", "json")
    assert code == 1, stdout
    before = json.loads(stdout)
    built_images.add(before["sides"][-1]["image_id"])
    assert {row["name"] for row in drift_rows(before)} == {"idna", "six"}
    commands, after = _converges(project, tmp_path)
    built_images.add(after["sides"][-1]["image_id"])
    assert not any("iniconfig" in command for command in commands), commands
