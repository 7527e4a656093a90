"""The container's Python is the one the application runs with; the build context is the one
the project's layout implies; parity's report never changes the image (issues 15 and 16).

Real images from real Dockerfiles, built by parity itself or by the engine; projects laid out
as the issues describe them: Poetry with an in-project venv and ``CMD poetry run ...`` (the
venv not on PATH), ``COPY . .`` with a venv in ``env/`` and a report in the folder, a
Dockerfile under ``docker/`` copying ``requirements/`` from the project root.
"""

from __future__ import annotations

import contextlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker.errors
import pytest

from parity.engine.interpreters import choose_interpreter
from parity.engine.probe_static import static_probe_output
from parity.sources.venv import pipenv_env_name
from tests.conftest import TEST_DATA
from tests.helpers import drift_rows, load_report, make_venv, run_parity

pytestmark = [pytest.mark.docker, pytest.mark.slow]

LAYOUTS = TEST_DATA / "layouts"


def check(project: Path, cache: Path, *options: str) -> Any:
    return run_parity(
        "check",
        str(project),
        *options,
        env={"PARITY_CACHE_DIR": str(cache), "VIRTUAL_ENV": ""},
    )


POETRY_LAYOUTS = {
    "poetry-run": "Poetry's in-project venv /app/.venv",
    "poetry-venvs-path": "Poetry's venv for /srv/app: /opt/poetry-venvs/poetry-venvs-path-app-",
}


@pytest.mark.parametrize("layout", list(POETRY_LAYOUTS))
def test_poetry_run_probes_poetrys_venv(base_image: Any, tmp_path: Path, layout: str) -> None:
    """`poetry run` with Poetry's venv off PATH (in the project, or in the folder Poetry's
    config.toml names): that venv is probed, not /usr/bin/python3 (which holds Poetry and an
    older six); --static chooses the same; with every report in a file, stdout is one line."""
    base_image("3.11")
    project = tmp_path / layout
    shutil.copytree(LAYOUTS / layout, project)
    make_venv(project / ".venv", None, "six==1.16.0", "idna==3.7")
    output = tmp_path / "report.json"
    options = ("--format", "json", "--output", str(output))
    result = check(project, tmp_path / "cache", *options)
    assert result.returncode == 0, result.stderr
    reason = f"(`poetry run` in the image's command: {POETRY_LAYOUTS[layout]}"
    report = load_report(output)
    container = next(side for side in report["sides"] if side["name"] == "container")
    assert reason in container["python"] and container["python"].endswith(")")
    assert f"container Python: {container['python']}" in result.stderr
    assert drift_rows(report) == []  # six and idna match
    # the venvs' installers differ (Poetry's venv and `venv` seed different pips): set aside
    assert set(report["summary"].get("set_aside", {})) <= {"tooling"}
    assert result.stdout.count("\n") == 1 and result.stdout.startswith("parity: ")
    cached = check(project, tmp_path / "cache", "-v", *options)  # the probe comes from the cache
    assert "taken from the cache" in cached.stderr
    assert f"container Python: {container['python']}" in cached.stderr
    static = check(project, tmp_path / "cache", "--static", *options)
    assert static.returncode == 0, static.stderr
    assert f"container Python: {container['python']}" in static.stderr
    quiet = check(project, tmp_path / "cache", "-q", *options)
    assert quiet.returncode == 0 and quiet.stdout == ""


CHOICES = """\
FROM python:3.11-slim AS base
RUN python3 -m venv --without-pip /srv/venv \\
 && python3 -m venv --without-pip /code/env \\
 && python3 -m venv --without-pip /opt/uvenv
COPY serve long-serve env-serve /usr/local/bin/
COPY start.sh /code/start.sh
COPY serve /code/run-app
RUN chmod +x /usr/local/bin/serve /usr/local/bin/long-serve /usr/local/bin/env-serve \\
        /code/start.sh /code/run-app
ARG PIPENV_NAME
RUN python3 -m venv --without-pip /root/.local/share/virtualenvs/$PIPENV_NAME
WORKDIR /code

FROM base AS shebang
CMD ["serve", "--port", "80"]

FROM base AS relative-shebang
CMD ["./run-app"]

FROM base AS behind-entrypoint
ENTRYPOINT ["/code/start.sh"]
CMD ["serve"]

FROM base AS long-shebang
CMD ["tini", "--", "long-serve"]

FROM base AS env-shebang
CMD env-serve

FROM base AS virtual-env
ENV VIRTUAL_ENV=/srv/venv
CMD ["./start.sh"]

FROM base AS workdir
CMD ["./start.sh"]

FROM base AS uv-run
ENV UV_PROJECT_ENVIRONMENT=/opt/uvenv
CMD ["/bin/sh", "-c", "exec uv run app"]

FROM base AS pipenv-run
CMD ["pipenv", "run", "gunicorn", "app"]

FROM base AS path
WORKDIR /
CMD ["./start.sh"]
"""
# Console scripts as pip writes them: a #! line, and pip's sh form for long interpreter paths.
SCRIPTS = {
    "serve": "#!/srv/venv/bin/python\nprint(1)\n",
    "long-serve": "#!/bin/sh\n'''exec' \"/srv/venv/bin/python\" \"$0\" \"$@\"\n' '''\nprint(1)\n",
    "env-serve": "#!/usr/bin/env python3\nprint(1)\n",
    "start.sh": "#!/bin/sh\nexec true\n",
}
EXPECTED = {
    "shebang": ("/srv/venv/bin/python", "/usr/local/bin/serve, whose #! line names it"),
    "relative-shebang": ("/srv/venv/bin/python", "/code/run-app, whose #! line names it"),
    "behind-entrypoint": ("/srv/venv/bin/python", "/usr/local/bin/serve, whose #! line"),
    "long-shebang": ("/srv/venv/bin/python", "/usr/local/bin/long-serve, whose #! line"),
    "env-shebang": ("/usr/bin/python3", "/usr/local/bin/env-serve, whose #! line names it"),
    "virtual-env": ("/srv/venv/bin/python", "VIRTUAL_ENV=/srv/venv in the image's environment"),
    "workdir": ("/code/env/bin/python", "a venv in the working directory /code"),
    "uv-run": ("/opt/uvenv/bin/python", "`uv run` in the image's command: uv's UV_PROJECT_"),
    "pipenv-run": ("/root/.local/share/virtualenvs/", "`pipenv run` in the image's command"),
    "path": ("/usr/bin/python3", "the first python3 on the image's PATH"),
}


@pytest.fixture(scope="module")
def choice_images(docker_client: Any, base_image: Any, tmp_path_factory: Any) -> Iterator[Any]:
    base_image("3.11")
    context = tmp_path_factory.mktemp("choices")
    (context / "Dockerfile").write_text(CHOICES)
    for name, text in SCRIPTS.items():
        (context / name).write_text(text)
    tags: dict[str, str] = {}
    try:
        for target in EXPECTED:
            tag = f"parity-test/locate-{target}:latest"
            docker_client.images.build(
                path=str(context),
                tag=tag,
                target=target,
                buildargs={"PIPENV_NAME": pipenv_env_name("/code")},
                rm=True,
                forcerm=True,
                pull=False,
            )
            tags[target] = tag
        yield tags
    finally:
        for tag in tags.values():
            # test_registry builds the same tags with this fixture and removes them too
            with contextlib.suppress(docker.errors.ImageNotFound):
                docker_client.images.remove(tag, force=True)


@pytest.mark.parametrize("target", list(EXPECTED))
def test_the_python_the_command_runs_is_chosen_and_static_agrees(
    docker_client: Any, engine: Any, choice_images: dict[str, str], target: str
) -> None:
    path, reason = EXPECTED[target]
    chosen = choose_interpreter(engine, choice_images[target])
    assert chosen.path.startswith(path) and reason in chosen.reason, chosen
    _, static = static_probe_output(engine, choice_images[target])
    assert (static.path, static.reason) == (chosen.path, chosen.reason)


def test_copy_all_with_a_venv_and_a_report_in_the_folder(base_image: Any, tmp_path: Path) -> None:
    """COPY . . with env/ and --output r.json in the project: one warning each, naming the
    .dockerignore line; a previous report in the context is refused; with the lines added,
    the image stays the same from run to run."""
    base_image("3.11")
    project = tmp_path / "copy-all"
    shutil.copytree(LAYOUTS / "copy-all", project)
    make_venv(project / "env", project / "requirements.txt")
    report = project / "r.json"
    cache = tmp_path / "cache"
    first = check(project, cache, "--format", "json", "--output", str(report))
    assert first.returncode == 0, first.stderr
    warnings = load_report(report)["warnings"]
    assert len(warnings) == 2, warnings
    assert "`COPY . .` copies the local venv env/ into the image" in warnings[0]
    assert "add `env/` to" in warnings[0] and "add `r.json` to" in warnings[1]
    assert f"warning: {project / 'Dockerfile'}:5 `COPY . .` copies the local venv env/" in (
        first.stderr
    )
    second = check(project, cache, "--format", "json", "--output", str(report))
    assert second.returncode == 2
    assert "would copy the previous report into the image" in second.stderr
    assert second.stderr.count("\n") <= 5 and "Traceback" not in second.stderr
    (project / ".dockerignore").write_text("env/\nr.json\n")
    images = []
    for _ in range(2):
        again = check(project, cache, "--format", "json", "--output", str(report))
        assert again.returncode == 0, again.stderr
        document = load_report(report)
        assert document["warnings"] == []
        images.append(next(s["image_id"] for s in document["sides"] if s["name"] == "container"))
    assert images[0] == images[1]
    lesson = check(project, cache, "-v")
    assert "layer order: " in lesson.stderr and "copy requirements.txt first" in lesson.stderr


def test_a_dockerfile_under_docker_builds_from_the_project_root(
    base_image: Any, tmp_path: Path
) -> None:
    """docker/Dockerfile copying requirements/ from the root: found, built with the root as
    its context (as `docker build -f docker/Dockerfile .`), or with --context."""
    base_image("3.11")
    project = tmp_path / "django-docker"
    shutil.copytree(LAYOUTS / "django-docker", project)
    make_venv(project / ".venv", project / "requirements" / "base.txt")
    cache = tmp_path / "cache"
    result = check(project, cache)
    assert result.returncode == 0, result.stderr
    dockerfile = project / "docker" / "Dockerfile"
    assert f"container side: dockerfile:{dockerfile} (detected; 1 other candidate" in result.stderr
    assert f"build context: {project} (the project root, where its COPY sources are" in (
        result.stderr
    )
    other = project / "docker" / "production.Dockerfile"
    explicit = check(
        project, cache, "--container", f"dockerfile:{other}", "--context", str(project)
    )
    assert explicit.returncode == 0, explicit.stderr
    assert f"build context: {project} (--context" in explicit.stderr
    doctor = run_parity(
        "doctor", str(project), env={"PARITY_CACHE_DIR": str(cache), "VIRTUAL_ENV": ""}
    )
    assert f"pick it with --container dockerfile:{other}" in doctor.stdout


def test_another_venv_of_the_image_that_matches_better_is_named(
    base_image: Any, tmp_path: Path
) -> None:
    """/opt/venv off PATH, run through a script: the system python3 is probed (and lacks the
    packages); the warning names /opt/venv and the --python that checks it, which passes."""
    base_image("3.11")
    project = tmp_path / "venv-off-path"
    shutil.copytree(LAYOUTS / "venv-off-path", project)
    make_venv(project / ".venv", project / "laptop-freeze.txt")
    cache = tmp_path / "cache"
    output = tmp_path / "report.json"
    result = check(project, cache, "--format", "json", "--output", str(output))
    assert result.returncode == 1, result.stderr
    warnings = load_report(output)["warnings"]
    assert warnings == [
        "the image also holds /opt/venv/bin/python3 (a venv at /opt/venv), where 3 of the 3 "
        "local packages are at the same version, against 0 for /usr/bin/python3: to check "
        "it, add --python /opt/venv/bin/python3"
    ]
    # The image's other venvs are cached by image ID: a warm check says the same from there.
    cached = [
        json.loads(path.read_text(encoding="utf-8"))
        for path in cache.rglob("*.json")
        if path.read_text(encoding="utf-8").startswith("[")
    ]
    assert [[item["python"] for item in entry] for entry in cached] == [["/opt/venv/bin/python3"]]
    again = check(project, cache, "--format", "json", "--output", str(output))
    assert again.returncode == 1, again.stderr
    assert load_report(output)["warnings"] == warnings
    doctor = run_parity(
        "doctor", str(project), env={"PARITY_CACHE_DIR": str(cache), "VIRTUAL_ENV": ""}
    )
    assert f"[note] {warnings[0]}" in doctor.stdout
    fixed = check(project, cache, "--python", "/opt/venv/bin/python3")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
