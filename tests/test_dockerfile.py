"""Reading Dockerfiles and .dockerignore without an engine (parity/dockerfile.py).

.dockerignore matching is checked against docker-py's own PatternMatcher (what its builds
send), on the patterns of the docs: ``!`` exceptions, ``**``, the last line wins.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from parity.detect import container_candidates, dockerfile_context
from parity.dockerfile import (
    DockerIgnore,
    check_context,
    context_size,
    copied_by,
    copy_sources,
    default_context,
    find_dockerfiles,
    large_context_note,
    layer_order,
    parse_instructions,
)
from parity.probe.interpreter_choice import command_words
from parity.sources import SourceRef

IGNORE_CASES = [
    ([".venv"], [".venv/pyvenv.cfg", ".venv", "src/.venv/x", "venv/pyvenv.cfg"]),
    (["**/.venv"], [".venv/pyvenv.cfg", "src/.venv/bin/python", "venv/x"]),
    (["*", "!src", "!requirements.txt"], ["src/app.py", "env/pyvenv.cfg", "requirements.txt"]),
    (["**/*.json", "!keep/*.json"], ["r.json", "a/b/r.json", "keep/r.json", "keep/a/r.json"]),
    (["/env/", "# a comment", "", "docs/**"], ["env/pyvenv.cfg", "docs/a/b", "src/env/x"]),
    (["env?", "[abc].txt", "!enva"], ["env1/pyvenv.cfg", "enva/x", "a.txt", "d.txt"]),
]


@pytest.mark.parametrize(("patterns", "paths"), IGNORE_CASES)
def test_dockerignore_matches_as_docker_does(patterns: list[str], paths: list[str]) -> None:
    from docker.utils.build import PatternMatcher

    reference = PatternMatcher([line for line in patterns if line and not line.startswith("#")])
    ours = DockerIgnore(patterns)
    for path in paths:
        assert ours.excludes(path) == reference.matches(path), (patterns, path)


DOCKERFILE = """\
# syntax=docker/dockerfile:1
FROM python:3.11-slim AS build
COPY --from=ghcr.io/astral-sh/uv:latest /uv /bin/uv
WORKDIR /app
COPY . .
RUN pip install --upgrade pip \\
 && pip install -r requirements.txt
FROM python:3.11-slim
COPY --from=build /app /app
COPY ["requirements/", "/tmp/requirements/"]
ADD https://example.invalid/x.tar.gz /tmp/
"""


def test_instructions_and_copy_sources() -> None:
    instructions = parse_instructions(DOCKERFILE)
    assert [(item.keyword, item.line, item.stage) for item in instructions] == [
        ("FROM", 2, 0),
        ("COPY", 3, 0),
        ("WORKDIR", 4, 0),
        ("COPY", 5, 0),
        ("RUN", 6, 0),
        ("FROM", 8, 1),
        ("COPY", 9, 1),
        ("COPY", 10, 1),
        ("ADD", 11, 1),
    ]
    assert [copy_sources(item) for item in instructions if item.keyword in ("COPY", "ADD")] == [
        None,  # --from: another image
        ["."],
        None,  # --from: another stage
        ["requirements/"],
        [],  # a URL is not from the context
    ]


def test_what_copy_takes_honours_dockerignore() -> None:
    instructions = parse_instructions(DOCKERFILE)
    assert copied_by(instructions, "env/pyvenv.cfg", DockerIgnore()) is instructions[3]
    assert copied_by(instructions, "env/pyvenv.cfg", DockerIgnore(["env/"])) is None
    only = parse_instructions("FROM x\nCOPY src/ requirements*.txt /app/\n")
    assert copied_by(only, "env/pyvenv.cfg", DockerIgnore()) is None
    assert copied_by(only, "requirements-dev.txt", DockerIgnore()) is only[1]
    assert copied_by(only, "src/pkg/mod.py", DockerIgnore()) is only[1]


def test_the_layer_order_lesson(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("flask\n")
    (tmp_path / "requirements").mkdir()
    lesson = layer_order(parse_instructions(DOCKERFILE), str(tmp_path))
    assert lesson is not None
    assert (lesson.copy.line, lesson.install.line) == (5, 6)
    assert lesson.first == ("requirements.txt", "requirements/")
    text = lesson.lesson("Dockerfile")
    assert "Dockerfile:5 `COPY . .` comes before Dockerfile:6 `RUN pip install" in text
    assert "copy requirements.txt requirements/ first" in text
    good = "FROM x\nCOPY requirements.txt .\nRUN pip install -r requirements.txt\nCOPY . .\n"
    assert layer_order(parse_instructions(good), str(tmp_path)) is None
    tools_only = "FROM x\nCOPY . .\nRUN pip install poetry\nRUN echo done\n"
    assert layer_order(parse_instructions(tools_only), str(tmp_path)) is None
    poetry = "FROM x\nCOPY . /app\nRUN pip install poetry && poetry install --no-root\n"
    assert layer_order(parse_instructions(poetry), str(tmp_path)) is not None


@pytest.mark.parametrize(
    ("program", "words"),
    [
        (["/bin/sh", "-c", "poetry run uvicorn app:app"], ["poetry", "run", "uvicorn", "app:app"]),
        (["tini", "--", "sh", "-c", "cd /app && exec gunicorn x"], ["gunicorn", "x"]),
        (["env", "A=1", "python", "-m", "app"], ["python", "-m", "app"]),
        (["/bin/bash", "-c", "PORT=1 uv run app # start"], ["uv", "run", "app"]),
        (["/app/.venv/bin/gunicorn", "-b", ":80"], ["/app/.venv/bin/gunicorn", "-b", ":80"]),
        ([], []),
    ],
)
def test_the_command_an_image_really_runs(program: list[str], words: list[str]) -> None:
    assert command_words(program) == words


def make_project(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_dockerfiles_wherever_they_live(tmp_path: Path) -> None:
    project = make_project(
        tmp_path,
        {
            "docker/Dockerfile": "FROM x\n",
            "docker/production.Dockerfile": "FROM x\n",
            "Dockerfile.prod": "FROM x\n",
            "compose/local/django/Dockerfile": "FROM x\n",
            "deploy/Dockerfile": "FROM x\n",
            "docker/Dockerfile.dockerignore": "",
            "docs/Dockerfile.md": "",
        },
    )
    assert find_dockerfiles(str(project)) == [
        "docker/Dockerfile",
        "deploy/Dockerfile",
        "Dockerfile.prod",
        "docker/production.Dockerfile",
        "compose/local/django/Dockerfile",
    ]
    (project / "Dockerfile").write_text("FROM x\n")
    assert find_dockerfiles(str(project))[0] == "Dockerfile"
    (project / "compose.yaml").write_text("services:\n  web:\n    build: .\n  db:\n    image: x\n")
    candidates = container_candidates(str(project))
    assert candidates[0] == SourceRef("compose", f"web@{project / 'compose.yaml'}")
    assert candidates[1] == SourceRef("dockerfile", str(project / "Dockerfile"))


def test_a_subfolder_dockerfile_builds_where_its_copy_sources_are(tmp_path: Path) -> None:
    """Django with requirements/ at the root and Dockerfiles under docker/ (issue 16)."""
    project = make_project(
        tmp_path,
        {
            "requirements/base.txt": "django\n",
            "manage.py": "",
            "docker/production.Dockerfile": "FROM x\nCOPY requirements/ /r/\nCOPY . /app\n",
            "docker/local/Dockerfile": "FROM x\nCOPY start.sh /start.sh\n",
            "docker/local/start.sh": "",
            "docker/only-all/Dockerfile": "FROM x\nCOPY . /app\n",
            "elsewhere/Dockerfile": "FROM x\nCOPY . /app\n",
        },
    )
    root = str(project)
    assert default_context(str(project / "docker/production.Dockerfile"), root)[0] == root
    local = default_context(str(project / "docker/local/Dockerfile"), root)
    assert local[0] == str(project / "docker/local")
    assert default_context(str(project / "docker/only-all/Dockerfile"), root)[0] == root
    assert default_context(str(project / "elsewhere/Dockerfile"), root)[0] == str(
        project / "elsewhere"
    )
    source = SourceRef("dockerfile", str(project / "docker/local/Dockerfile"))
    assert dockerfile_context(source, root, str(project)) == (str(project), "--context")


def test_context_findings_name_the_path_and_the_fix(tmp_path: Path) -> None:
    project = make_project(
        tmp_path,
        {
            "Dockerfile": "FROM x\nWORKDIR /app\nCOPY . .\n",
            "env/pyvenv.cfg": "home = /usr/bin\n",
            "old.json": "{}",
        },
    )
    dockerfile = str(project / "Dockerfile")
    venvs = [str(project / "env"), str(tmp_path.parent)]
    fresh = str(project / "new.json")
    findings = check_context(dockerfile, str(project), venvs, [fresh, "/elsewhere/r.json"])
    assert len(findings.warnings) == 2
    assert "`COPY . .` copies the local venv env/ into the image" in findings.warnings[0]
    assert "add `env/` to" in findings.warnings[0]
    assert "add `new.json` to" in findings.warnings[1]
    assert findings.refusal is None
    refused = check_context(dockerfile, str(project), [], [str(project / "old.json")])
    assert refused.refusal is not None and "previous report" in refused.refusal
    (project / ".dockerignore").write_text("env/\n*.json\n")
    clean = check_context(dockerfile, str(project), venvs, [str(project / "old.json")])
    assert clean.warnings == () and clean.refusal is None


def test_a_large_context_names_what_makes_it_large(tmp_path: Path) -> None:
    project = make_project(tmp_path, {"app.py": "x", "data/keep.txt": "k"})
    with open(project / "data" / "big.bin", "wb") as stream:
        stream.truncate(60 * 1024 * 1024)  # sparse: no disk used
    size = context_size(str(project), DockerIgnore())
    assert size.largest[0][0] == "data"
    note = large_context_note(str(project), size)
    assert note is not None and "add `data/` to" in note
    ignored = context_size(str(project), DockerIgnore(["data", "!data/keep.txt"]))
    assert ignored.total == 2
    assert large_context_note(str(project), ignored) is None


@pytest.mark.parametrize(
    ("words", "project"),
    [
        (["run", "app"], "/code"),
        (["-C", "/srv/app", "run", "app"], "/srv/app"),
        (["--directory=sub", "-vv", "run", "app"], "/code/sub"),
        (["--project", "..", "run", "app"], "/"),
        (["install"], None),
        (["-C", "/x"], None),
    ],
)
def test_the_project_a_runner_runs_in(words: list[str], project: str | None) -> None:
    from parity.probe.interpreter_choice import _runner_project

    assert _runner_project(words, "/code") == project
