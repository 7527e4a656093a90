"""read_project_facts: the project's name and its development declarations, from real files."""

from __future__ import annotations

from pathlib import Path

import pytest

from parity.sources.project import is_dev_requirements_file, read_project_facts
from tests.conftest import SAMPLES


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def test_pep735_groups_uv_legacy_and_pdm_dev_groups(tmp_path: Path) -> None:
    project = write(
        tmp_path,
        {
            "pyproject.toml": """
[project]
name = "My_App"
dependencies = ["click>=8", "packaging"]
[project.optional-dependencies]
yaml = ["pyyaml"]
[dependency-groups]
test = ["pytest>=8", "packaging"]
lint = ["ruff", {include-group = "test"}]
[tool.uv]
dev-dependencies = ["mypy", "-e ./lib"]
[tool.pdm.dev-dependencies]
docs = ["sphinx"]
"""
        },
    )
    facts = read_project_facts(str(project))
    assert facts.name == "my-app"
    assert facts.main == {"click", "packaging", "pyyaml"}
    assert facts.dev == {"pytest", "ruff", "mypy", "sphinx"}  # packaging also runs the app


def test_poetry_groups_and_old_dev_dependencies(tmp_path: Path) -> None:
    project = write(
        tmp_path,
        {
            "pyproject.toml": """
[tool.poetry]
name = "service"
version = "1.0"
[tool.poetry.dependencies]
python = "^3.11"
django = "^5.0"
[tool.poetry.dev-dependencies]
black = "*"
[tool.poetry.group.test.dependencies]
pytest = "^8"
[tool.poetry.group.test]
optional = true
"""
        },
    )
    facts = read_project_facts(str(project))
    assert (facts.name, facts.main, facts.dev) == ("service", {"django"}, {"black", "pytest"})


def test_pipfile_dev_packages(tmp_path: Path) -> None:
    facts = read_project_facts(str(SAMPLES / "pipenv-system"))
    assert facts.dev == {"pytest", "ruff"}
    assert "requests" in facts.main and "certifi" in facts.main  # the lock's default section


def test_requirements_by_convention(tmp_path: Path) -> None:
    project = write(
        tmp_path,
        {
            "requirements.txt": "-r requirements/base.txt\nflask==3.1.1\n",
            "requirements/base.txt": "click==8.2.1\n",
            "requirements/production.txt": "-r base.txt\ngunicorn\n",
            "requirements/local.txt": "-r base.txt\ndjango-debug-toolbar\n",
            "requirements/test-ci.txt": "coverage\n",
            "dev-requirements.txt": "pytest\nclick\n",
            "tools.txt": "-r requirements.txt\nruff\n",
            "extra/ci.txt": "tox\n",
            "setup.cfg": "[metadata]\nname = flask_app\n",
        },
    )
    facts = read_project_facts(str(project))
    assert facts.name == "flask-app"
    assert facts.main == {"flask", "click"}
    # production.txt includes base.txt too, but its name says it runs the app
    assert facts.dev == {"django-debug-toolbar", "coverage", "pytest"}
    named = read_project_facts(str(project), ("tools.txt", "extra/ci.txt"))
    assert named.dev == facts.dev | {"ruff", "tox"}


def test_a_file_including_the_main_one_is_for_development(tmp_path: Path) -> None:
    project = write(
        tmp_path,
        {"requirements.txt": "flask\n", "requirements-extra.txt": "-r requirements.txt\nipdb\n"},
    )
    assert read_project_facts(str(project)).dev == {"ipdb"}


@pytest.mark.parametrize(
    ("path", "dev"),
    [
        ("requirements-dev.txt", True),
        ("dev-requirements.txt", True),
        ("requirements_test.txt", True),
        ("requirements/dev.txt", True),
        ("requirements/tests-unit.txt", True),
        ("requirements/local.txt", True),
        ("requirements.txt", False),
        ("requirements/production.txt", False),
        ("devices.txt", False),
    ],
)
def test_dev_file_names(path: str, dev: bool) -> None:
    assert is_dev_requirements_file(path) is dev


def test_an_unreadable_file_is_a_warning_naming_its_line(tmp_path: Path) -> None:
    project = write(
        tmp_path,
        {
            "requirements.txt": "flask\n",
            "requirements-dev.txt": "pytest\n--no-such-option\n",
            "pyproject.toml": "[project\n",
            "Pipfile": "[packages]\nrequests = '*'\n[dev-packages]\nruff = '*'\n",
        },
    )
    facts = read_project_facts(str(project))
    assert facts.dev == {"ruff"} and facts.main == {"requests", "flask"}  # what could be read
    assert len(facts.warnings) == 2
    assert "requirements-dev.txt:2" in facts.warnings[1]
    assert "pyproject.toml" in facts.warnings[0]


def test_nothing_declared(tmp_path: Path) -> None:
    facts = read_project_facts(str(tmp_path))
    assert (facts.name, facts.dev, facts.main) == (None, frozenset(), frozenset())


def test_a_named_file_that_is_missing_is_a_warning(tmp_path: Path) -> None:
    facts = read_project_facts(str(tmp_path), ("requirements/ci.txt",))
    assert len(facts.warnings) == 1 and "requirements/ci.txt" in facts.warnings[0]


def test_an_unreadable_file_that_is_not_for_development_is_not_a_warning(tmp_path: Path) -> None:
    project = write(tmp_path, {"requirements_linux.txt": "torch==2.0 --index-url\n"})
    assert read_project_facts(str(project)).warnings == ()
