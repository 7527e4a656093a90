"""Project configuration: [tool.parity] in pyproject.toml or parity.toml, and merging flags."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from parity.compare import NamedEnvironment, compare
from parity.config import (
    ConfigError,
    ParityConfig,
    Settings,
    load_config,
    merge,
    resolve_source,
)
from parity.errors import SourceError
from parity.model import Environment, Interpreter, Level, Package
from parity.report import Severity
from parity.sources import parse_source
from tests.conftest import TEST_DATA

DATA = TEST_DATA / "config"


# --- reading ---------------------------------------------------------------------------------


def test_every_key_from_pyproject_tool_parity() -> None:
    project = DATA / "pyproject-full"
    config = load_config(str(project))
    assert config.path == str(project / "pyproject.toml")
    # Paths are relative to the project directory, as `parity check PROJECT` sees them.
    assert config.local == str(project / "requirements" / "prod.txt")
    assert config.container == f"dockerfile:{project / 'docker' / 'Dockerfile'}"
    assert config.build_args == {"PYTHON_VERSION": "3.11", "EXTRAS": ""}
    assert config.target == "runtime"
    assert config.build_network == "host"
    assert config.platform == "linux/amd64"
    assert config.python == "/opt/venv/bin/python"  # inside the image: not resolved
    assert config.ignore == ("debugpy", "ipython")  # PEP 503 names
    assert config.fail_on is Severity.WARNING
    assert config.include_tooling is True
    assert config.severity == {
        "version:patch": Severity.INFO,
        "django": Severity.ERROR,
        "boto3:version:minor": Severity.NONE,
        "python_version:patch": Severity.NONE,
        "missing": Severity.WARNING,
    }


def test_parity_toml_takes_top_level_keys() -> None:
    project = DATA / "parity-toml"
    config = load_config(str(project))
    assert config.path == str(project / "parity.toml")
    assert config.local == f"venv:{project / '.venv'}"
    assert config.container == "image:shop:latest"  # an image name is not a path
    assert config.fail_on is Severity.INFO
    assert config.ignore == ("pytest",)
    assert config.severity == {"platform": Severity.NONE}
    assert config.include_tooling is None  # not set
    assert config.build_args is None


@pytest.mark.parametrize("project", ["none-pyproject", "no-config"])
def test_no_configuration_is_an_empty_config(project: str) -> None:
    assert load_config(str(DATA / project)) == ParityConfig()


def test_configuring_parity_twice_is_an_error() -> None:
    with pytest.raises(ConfigError) as raised:
        load_config(str(DATA / "both"))
    message = str(raised.value)
    assert message.startswith(str(DATA / "both" / "parity.toml"))
    assert "pyproject.toml" in message and "keep one" in message


def test_a_broken_pyproject_that_never_names_parity_is_not_read(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[project\nname = ", encoding="utf-8")
    assert load_config(str(tmp_path)) == ParityConfig()


def test_relative_project_dir_gives_paths_relative_to_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(DATA / "pyproject-full", tmp_path / "shop")
    monkeypatch.chdir(tmp_path)
    config = load_config("shop")
    assert config.local == os.path.join("shop", "requirements", "prod.txt")
    assert parse_source(config.container or "").ref == os.path.join("shop", "docker", "Dockerfile")


@pytest.mark.parametrize(
    ("case", "file", "line", "words"),
    [
        ("unknown-key", "pyproject.toml", 6, ["[tool.parity] failon", "unknown key"]),
        ("snake-case-key", "parity.toml", 2, ["fail_on", "did you mean fail-on?"]),
        ("fail-on-value", "parity.toml", 2, ["fail-on", "error, warning, info", "'fatal'"]),
        ("fail-on-type", "parity.toml", 1, ["fail-on", "got an integer"]),
        ("include-tooling-type", "pyproject.toml", 2, ["include-tooling", "true or false"]),
        ("ignore-type", "parity.toml", 1, ["ignore", "list of package names"]),
        ("ignore-bad-name", "parity.toml", 3, ["'not a name' is not a valid package name"]),
        ("severity-value", "pyproject.toml", 6, ["severity.django", "none", "'fatal'"]),
        ("severity-unknown-kind", "parity.toml", 2, ["unknown row kind 'versoin'"]),
        ("severity-interpreter-with-name", "parity.toml", 3, ["interpreter row kind"]),
        ("severity-not-table", "parity.toml", 1, ["severity", "table of severities"]),
        ("tool-table-in-parity-toml", "parity.toml", 1, ["top level", "[tool.parity]"]),
        ("build-args-type", "parity.toml", 2, ["build-args.PYTHON_VERSION", "a string"]),
        ("local-is-container-kind", "parity.toml", 1, ["'image'", "local side"]),
        ("container-is-local-kind", "pyproject.toml", 2, ["'requirements'", "container side"]),
        ("empty-target", "parity.toml", 1, ["target", "must not be empty"]),
        ("dev-requirements-type", "parity.toml", 1, ["dev-requirements", "list of file paths"]),
        ("bad-toml", "parity.toml", 3, ["invalid TOML"]),
        ("tool-parity-not-table", "pyproject.toml", 5, ["[tool.parity] must be a table"]),
    ],
)
def test_errors_name_the_file_key_and_line(
    case: str, file: str, line: int, words: list[str]
) -> None:
    path = DATA / "errors" / case / file
    with pytest.raises(ConfigError) as raised:
        load_config(str(path.parent))
    error = raised.value
    assert isinstance(error, SourceError)
    assert str(error).startswith(f"{path}:{line}: "), str(error)
    for word in words:
        assert word in str(error)


def test_an_unreadable_config_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "parity.toml").write_bytes(b'fail-on = "error"\nignore = ["\xff"]\n')
    with pytest.raises(ConfigError, match=r"parity\.toml:2: the file is not UTF-8 text"):
        load_config(str(tmp_path))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("requirements.txt", "proj/requirements.txt"),
        ("venv:.venv", "venv:proj/.venv"),
        ("dockerfile:../Dockerfile", "dockerfile:Dockerfile"),
        ("dockerfile:/abs/Dockerfile", "dockerfile:/abs/Dockerfile"),
        ("image:registry.example.com:5000/app:1.0", "image:registry.example.com:5000/app:1.0"),
        ("container:web-1", "container:web-1"),
        ("compose:web@deploy/compose.yaml", "compose:web@proj/deploy/compose.yaml"),
        ("compose:web", "compose:web"),
    ],
)
def test_resolve_source(text: str, expected: str) -> None:
    assert resolve_source(text, "proj") == expected


# --- merging with the command line -----------------------------------------------------------


def test_nothing_set_gives_the_defaults() -> None:
    assert merge(ParityConfig(), ParityConfig(), {}) == Settings()
    assert Settings().fail_on is Severity.ERROR


def test_flags_the_user_gave_win_over_the_file() -> None:
    config = load_config(str(DATA / "pyproject-full"))
    cli = ParityConfig(
        local="venv:.venv",
        target="build",
        fail_on=Severity.ERROR,
        include_tooling=False,
        ignore=("Rich",),
        build_args={"PYTHON_VERSION": "3.12", "DEBUG": "1"},
    )
    settings = merge(config, cli, {})
    assert settings.local == "venv:.venv"
    assert settings.container == config.container  # not given: the file's
    assert settings.target == "build"
    assert settings.fail_on is Severity.ERROR
    assert settings.include_tooling is False  # an explicit False wins over the file's True
    assert settings.ignore == {"debugpy", "ipython", "rich"}  # lists add up
    assert settings.build_args == {"PYTHON_VERSION": "3.12", "EXTRAS": "", "DEBUG": "1"}
    assert settings.platform == "linux/amd64"
    assert settings.python == "/opt/venv/bin/python"
    assert settings.config_path == config.path


def test_build_network_flag_then_variable_then_file() -> None:
    config = ParityConfig(build_network="bridge")
    assert merge(config, ParityConfig(), {}).build_network == "bridge"
    variable = {"PARITY_BUILD_NETWORK": "host"}
    assert merge(config, ParityConfig(), variable).build_network == "host"
    flag = ParityConfig(build_network="none")
    assert merge(config, flag, variable).build_network == "none"
    assert merge(ParityConfig(), ParityConfig(), {"PARITY_BUILD_NETWORK": ""}).build_network is None


def test_severity_table_reaches_compare() -> None:
    """The keys are stored in the form Policy.severity_for looks them up."""
    config = load_config(str(DATA / "pyproject-full"))
    policy = merge(config, ParityConfig(), {}).policy()
    assert policy.fail_on is Severity.WARNING
    assert policy.include_tooling is True
    assert policy.ignores("DebugPy")

    def side(*packages: tuple[str, str], python: str) -> Environment:
        interpreter = Interpreter(implementation="cpython", version=python, executable="python")
        return Environment(
            kind="venv",
            ref="x",
            level=Level.INSTALLED,
            interpreter=interpreter,
            packages=tuple(Package(name, version) for name, version in packages),
        )

    local = side(
        ("Django", "4.2.7"), ("boto3", "1.34.0"), ("attrs", "23.2.0"), ("six", "1.16.0"),
        python="3.11.7",
    )  # fmt: skip
    container = side(
        ("django", "4.2.8"), ("boto3", "1.35.0"), ("attrs", "23.2.1"),
        python="3.11.2",
    )  # fmt: skip
    report = compare(
        NamedEnvironment("local", local), NamedEnvironment("container", container), policy
    )
    severities = {row.name: row.severity for row in report.packages}
    assert severities == {
        "django": Severity.ERROR,  # the package's own key beats the kind's
        "boto3": Severity.NONE,  # NAME:KIND
        "attrs": Severity.INFO,  # version:patch
        "six": Severity.WARNING,  # missing
    }
    (python_row,) = report.interpreter
    assert python_row.severity is Severity.NONE  # python_version:patch


def test_dev_requirements_name_more_development_files(tmp_path: Path) -> None:
    (tmp_path / "parity.toml").write_text(
        'dev-requirements = ["ci/requirements.txt"]\n', encoding="utf-8"
    )
    config = load_config(str(tmp_path))
    assert config.dev_requirements == ("ci/requirements.txt",)
    settings = merge(config, ParityConfig(), {})
    assert settings.dev_requirements == ("ci/requirements.txt",)
