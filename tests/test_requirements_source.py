"""The requirements-file source, checked against small files and against pip's own parser."""

from __future__ import annotations

import codecs
import contextlib
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from packaging.utils import canonicalize_name

from parity.errors import SourceError
from parity.model import Level, Location, Requirement
from parity.sources.requirements import (
    RequirementsError,
    RequirementsFile,
    RequirementsOption,
    load_requirements,
    parse_requirements,
    redact_url,
)
from tests.conftest import REALWORLD, TEST_DATA

DATA = TEST_DATA / "requirements"


def parse(path: Path, environ: dict[str, str] | None = None) -> RequirementsFile:
    return parse_requirements(str(path), environ={} if environ is None else environ)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def by_line(result: RequirementsFile) -> dict[int, Requirement]:
    return {
        requirement.declared_at.line: requirement
        for requirement in result.requirements
        if requirement.declared_at is not None and requirement.declared_at.line is not None
    }


def error_of(path: Path, environ: dict[str, str] | None = None) -> RequirementsError:
    with pytest.raises(RequirementsError) as caught:
        parse(path, environ)
    return caught.value


# --- pip's own parser, as the reference --------------------------------------------


@dataclass(frozen=True)
class View:
    """The facts both parsers must agree on for one requirement."""

    name: str | None
    specifier: str
    extras: tuple[str, ...]
    marker: str | None
    editable: bool
    url: str | None
    constraint: bool
    file: str
    line: int


def pip_views(path: Path, monkeypatch: pytest.MonkeyPatch) -> list[View]:
    """What pip's parser yields for ``path`` (run from the file's directory, never fetching)."""
    from pip._internal.network.session import PipSession
    from pip._internal.req.constructors import install_req_from_parsed_requirement
    from pip._internal.req.req_file import parse_requirements as pip_parse

    monkeypatch.chdir(path.parent)
    session = PipSession()

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"pip tried to fetch {args}")

    monkeypatch.setattr(session, "request", refuse)
    views = []
    for parsed in pip_parse(path.name, session=session):
        ireq = install_req_from_parsed_requirement(parsed)
        source = re.fullmatch(r"line (\d+) of (.*)", parsed.line_source or "")
        assert source is not None
        views.append(
            View(
                name=canonicalize_name(ireq.req.name) if ireq.req else None,
                specifier=str(ireq.req.specifier) if ireq.req else "",
                extras=tuple(sorted(ireq.extras)),
                marker=str(ireq.markers) if ireq.markers else None,
                editable=ireq.editable,
                url=redact_url(ireq.link.url) if ireq.link else None,
                constraint=ireq.constraint,
                file=os.path.basename(source.group(2)),
                line=int(source.group(1)),
            )
        )
    return list(dict.fromkeys(views))  # a file included twice yields its lines twice


def my_views(result: RequirementsFile) -> list[View]:
    views = []
    for requirement in result.requirements:
        assert requirement.declared_at is not None
        assert requirement.declared_at.line is not None
        views.append(
            View(
                name=canonicalize_name(requirement.name),
                specifier=requirement.specifier,
                extras=requirement.extras,
                marker=requirement.marker,
                editable=requirement.editable,
                url=requirement.url,
                constraint=requirement.is_constraint,
                file=os.path.basename(requirement.declared_at.path),
                line=requirement.declared_at.line,
            )
        )
    return views


def assert_same_as_pip(path: Path, monkeypatch: pytest.MonkeyPatch) -> RequirementsFile:
    """Parse ``path`` with both parsers; every requirement pip yields must match ours.

    Where pip cannot name a requirement before building it (a bare VCS URL, a local
    directory), only its name (and the version parity reads from a file name) is ours alone.
    """
    result = parse_requirements(str(path.resolve()))  # pip reads os.environ too
    ours = my_views(result)
    theirs = pip_views(path.resolve(), monkeypatch)
    assert len(ours) == len(theirs), (ours, theirs)
    for mine, pips in zip(ours, theirs):
        if pips.name is None:
            mine = View(None, pips.specifier, *_after_specifier(mine))
        assert mine == pips
    return result


def _after_specifier(view: View) -> tuple[Any, ...]:
    return (
        view.extras,
        view.marker,
        view.editable,
        view.url,
        view.constraint,
        view.file,
        view.line,
    )


# --- plain requirements ------------------------------------------------------------


def test_specifiers_extras_markers_comments_and_continuations() -> None:
    result = parse(DATA / "basic.txt")
    lines = by_line(result)
    assert lines[2] == Requirement(
        name="requests",
        specifier="<3,>=2.28",
        declared_at=Location(str(DATA / "basic.txt"), 2),
    )
    assert lines[3].extras == ("argon2", "bcrypt")
    assert lines[3].specifier == "==4.2.7"
    assert lines[4].marker == 'python_version < "3.10"'
    assert lines[5].specifier == ">=2"
    # The same package under two markers stays two requirements (gwpy's pandas).
    pandas = [requirement for requirement in result.requirements if requirement.key == "pandas"]
    assert [(r.specifier, r.marker) for r in pandas] == [
        ("", 'python_version != "3.4"'),
        ("<0.21", 'python_version == "3.4"'),
    ]
    # A continued line is declared where it starts; an indented comment ends no line.
    assert lines[9].name == "urllib3"
    assert lines[9].specifier == ">=1.26"
    assert lines[9].marker == 'python_version >= "3.8"'
    # --hash options on continuation lines are accepted and recorded nowhere.
    assert lines[12].name == "cffi"
    assert lines[12].marker == 'platform_python_implementation != "PyPy"'
    assert lines[15].name == "mylib"  # --config-settings / -C belong to the line
    assert lines[16].specifier == "===1.0.0.weird"
    assert lines[18].specifier == "==1.11.*"
    assert lines[19].name == "protobuf" and lines[19].specifier == ""
    assert lines[20].key == "flask-socketio"
    assert result.warnings == ()
    assert result.files == (str(DATA / "basic.txt"),)


def test_basic_file_matches_pip(monkeypatch: pytest.MonkeyPatch) -> None:
    assert_same_as_pip(DATA / "basic.txt", monkeypatch)


def test_trailing_backslash_at_end_of_file_is_joined_with_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    result = assert_same_as_pip(DATA / "trailing-backslash.txt", monkeypatch)
    assert [
        (r.name, r.declared_at.line if r.declared_at else None) for r in result.requirements
    ] == [
        ("six", 1),
        ("attrs", 2),
    ]


def test_hash_inside_a_url_fragment_is_not_a_comment(tmp_path: Path) -> None:
    path = write(
        tmp_path / "requirements.txt",
        "foo @ https://example.com/foo-1.0.tar.gz#sha256=abc # a real comment\n"
        "https://example.com/bar.zip#egg=bar\n",
    )
    first, second = parse(path).requirements
    assert first.url == "https://example.com/foo-1.0.tar.gz#sha256=abc"
    assert second.name == "bar"
    assert second.url == "https://example.com/bar.zip#egg=bar"


def test_comment_line_inside_a_continuation_ends_it(tmp_path: Path) -> None:
    path = write(tmp_path / "r.txt", "six \\\n# comment \\\nattrs\n")
    assert [r.name for r in parse(path).requirements] == ["six", "attrs"]


def test_line_numbers_follow_pip_splitlines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "r.txt"
    path.write_bytes(b"six\r\nattrs\x0cidna\r\n\r\nbad==>1\n")
    error = error_of(path)
    assert error.location == Location(str(path), 5)
    path.write_bytes(b"six\r\nattrs\x0cidna\r\n")
    assert_same_as_pip(path, monkeypatch)


# --- options -----------------------------------------------------------------------


def test_global_options_are_recorded_with_their_line_and_never_read_as_packages() -> None:
    path = DATA / "options.txt"
    result = parse(path)
    assert [r.name for r in result.requirements] == ["six"]
    assert [(o.name, o.value, o.declared_at.line) for o in result.options] == [
        ("--index-url", "https://pypi.org/simple", 1),
        ("--index-url", "https://pypi.example.com/simple", 2),
        ("--extra-index-url", "https://****@private.example.com/simple", 3),
        ("--trusted-host", "private.example.com", 4),
        ("--find-links", "./wheels", 5),
        ("--find-links", "https://download.example.com/links.html", 6),
        ("--no-binary", ":all:", 7),
        ("--only-binary", "numpy,scipy", 8),
        ("--prefer-binary", None, 9),
        ("--require-hashes", None, 10),
        ("--pre", None, 11),
        ("--use-feature", "fast-deps", 12),
        ("--no-index", None, 13),
        ("--extra-index-url", "https://download.pytorch.org/whl/cu116", 14),
        ("--trusted-host", "download.pytorch.org", 14),
    ]
    assert all(option.declared_at.path == str(path) for option in result.options)
    assert result.warnings == ()


def test_options_file_matches_pip(monkeypatch: pytest.MonkeyPatch) -> None:
    assert_same_as_pip(DATA / "options.txt", monkeypatch)


@pytest.mark.parametrize(
    ("line", "name", "value"),
    [
        ("-ihttps://example.com/simple", "--index-url", "https://example.com/simple"),
        ("--index-url=https://example.com/simple", "--index-url", "https://example.com/simple"),
        ("--pypi-url https://example.com/simple", "--index-url", "https://example.com/simple"),
        (
            "--extra-index https://example.com/simple",
            "--extra-index-url",
            "https://example.com/simple",
        ),
        ("--no-require-hashes", "--no-require-hashes", None),
        ("--only-final :all:", "--only-final", ":all:"),
        ("-f'./my wheels'", "--find-links", "./my wheels"),
    ],
)
def test_option_spellings_pip_accepts(
    tmp_path: Path, line: str, name: str, value: str | None
) -> None:
    result = parse(write(tmp_path / "r.txt", line + "\n"))
    assert result.options == (
        RequirementsOption(name, value, Location(str(tmp_path / "r.txt"), 1)),
    )


def test_global_options_on_a_requirement_line_are_ignored_as_pip_ignores_them(
    tmp_path: Path,
) -> None:
    path = write(
        tmp_path / "r.txt", "torch==2.0.1 --extra-index-url https://download.pytorch.org/whl\n"
    )
    result = parse(path)
    assert [r.specifier for r in result.requirements] == ["==2.0.1"]
    assert result.options == ()
    assert result.warnings == (f"{path}:1: pip ignores --extra-index-url on a requirement line",)


def test_hash_without_a_requirement_is_a_warning(tmp_path: Path) -> None:
    path = write(tmp_path / "r.txt", "--hash=sha256:abcd\n")
    result = parse(path)
    assert result.requirements == result.options == ()
    assert result.warnings == (f"{path}:1: --hash without a requirement is ignored",)


def test_legacy_per_line_options_are_accepted_with_a_warning(tmp_path: Path) -> None:
    path = write(
        tmp_path / "r.txt",
        'pycurl --global-option="--with-openssl" --install-option="--prefix=/x"\n',
    )
    result = parse(path)
    assert [r.name for r in result.requirements] == ["pycurl"]
    assert result.warnings == (
        f"{path}:1: --global-option was removed from recent pip, which rejects this line",
        f"{path}:1: --install-option was removed from recent pip, which rejects this line",
    )


def test_unknown_feature_is_a_warning_not_an_error(tmp_path: Path) -> None:
    path = write(tmp_path / "r.txt", "--use-feature=2020-resolver\n")
    result = parse(path)
    assert result.options[0].value == "2020-resolver"
    assert "2020-resolver is not a feature current pip knows" in result.warnings[0]


# --- ${VAR} expansion --------------------------------------------------------------


def test_environment_variables_expand_in_the_braced_form_only() -> None:
    path = DATA / "env.txt"
    result = parse(path, {"PARITY_TEST_TOKEN": "t0ken", "PARITY_TEST_PKG": "six"})
    assert result.options == (
        RequirementsOption(
            "--extra-index-url",
            "https://****@private.example.com/simple",
            Location(str(path), 1),
        ),
    )
    six, requests = result.requirements
    assert (six.name, six.specifier) == ("six", "==1.0")
    assert requests.url == "https://files.example.com/${PARITY_TEST_UNSET}/requests-2.31.0.tar.gz"
    assert result.warnings == (f"{path}:3: ${{PARITY_TEST_UNSET}} is not set; left as written",)
    assert "t0ken" not in repr(result)


def test_environment_defaults_to_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARITY_TEST_TOKEN", "t0ken")
    monkeypatch.setenv("PARITY_TEST_PKG", "attrs")
    result = parse_requirements(str(DATA / "env.txt"))
    assert result.requirements[0].name == "attrs"


def test_env_file_matches_pip(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARITY_TEST_TOKEN", "t0ken")
    monkeypatch.setenv("PARITY_TEST_PKG", "six")
    monkeypatch.delenv("PARITY_TEST_UNSET", raising=False)
    result = parse_requirements(str(DATA / "env.txt"))
    assert_same_as_pip(DATA / "env.txt", monkeypatch)
    assert result.requirements[0].name == "six"


@pytest.mark.parametrize("text", ["$PKG==1.0\n", "${pkg}==1.0\n", "${PKG-x}==1.0\n"])
def test_other_variable_forms_are_not_expanded(tmp_path: Path, text: str) -> None:
    path = write(tmp_path / "r.txt", text)
    error = error_of(path, {"PKG": "six", "pkg": "six"})
    assert error.location == Location(str(path), 1)


# --- URLs, VCS and direct references -----------------------------------------------


def test_urls_direct_references_wheels_sdists_and_vcs() -> None:
    path = DATA / "urls.txt"
    result = parse(path)
    lines = by_line(result)
    assert (lines[1].name, lines[1].specifier, lines[1].url) == (
        "attrs",
        "",
        "https://files.example.com/attrs-23.1.0-py3-none-any.whl",
    )
    # A bare wheel URL: name and version come from the file name.
    assert (lines[2].name, lines[2].specifier, lines[2].marker) == (
        "some-pkg",
        "==1.2.3",
        'sys_platform == "linux"',
    )
    assert (lines[3].name, lines[3].specifier) == ("other-pkg", "")  # from #egg=
    assert (lines[4].name, lines[4].specifier) == ("sdist-only", "==2.0")  # sdist file name
    assert lines[5].name == "repo-name"
    # A VCS URL without #egg=: named after the repository, with a warning.
    assert (lines[6].name, lines[6].url) == (
        "no-egg",
        "git+https://github.com/example/no-egg.git@main",
    )
    assert lines[7].url == "git+ssh://git@github.com/example/private.git#egg=private-pkg"
    assert lines[8].name == "hgproj"
    assert lines[9].url == "https://****@private.example.com/pkgs/secret_pkg-1.0-py3-none-any.whl"
    assert (
        lines[9].describe()
        == "@ https://****@private.example.com/pkgs/secret_pkg-1.0-py3-none-any.whl"
    )
    assert (lines[10].extras, lines[10].marker) == (("security",), 'python_version >= "3.8"')
    assert lines[11].name == "archived"
    assert result.warnings == (
        f"{path}:6: git+https://github.com/example/no-egg.git@main has no #egg=name; "
        "assuming the project is named 'no-egg'",
    )
    assert "hunter2" not in repr(result)


def test_urls_file_matches_pip(monkeypatch: pytest.MonkeyPatch) -> None:
    assert_same_as_pip(DATA / "urls.txt", monkeypatch)


def test_egg_fragment_with_a_version_is_read_as_old_pip_read_it(tmp_path: Path) -> None:
    path = write(tmp_path / "r.txt", "git+https://github.com/edx/calc.git@e9b6#egg=calc==0.4\n")
    (calc,) = parse(path).requirements
    assert (calc.name, calc.specifier) == ("calc", "==0.4")
    assert parse(path).warnings == (
        f"{path}:1: #egg=calc==0.4 is not a bare project name; recent pip rejects it",
    )


def test_url_the_parser_cannot_name_is_skipped_with_a_warning(tmp_path: Path) -> None:
    path = write(tmp_path / "r.txt", "https://github.com/x/y/archive/refs/heads/main.zip\nsix\n")
    result = parse(path)
    assert [r.name for r in result.requirements] == ["six"]
    assert result.warnings == (
        f"{path}:1: cannot tell which project "
        "https://github.com/x/y/archive/refs/heads/main.zip installs (add #egg=name); skipped",
    )


def test_local_wheel_and_archive_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "dist").mkdir()
    (tmp_path / "dist" / "local_pkg-0.3-py3-none-any.whl").write_bytes(b"")
    (tmp_path / "dist" / "other-1.1.tar.gz").write_bytes(b"")
    path = write(
        tmp_path / "r.txt",
        "./dist/local_pkg-0.3-py3-none-any.whl\ndist/other-1.1.tar.gz[fast]\n",
    )
    wheel, sdist = assert_same_as_pip(path, monkeypatch).requirements
    assert (wheel.name, wheel.specifier) == ("local-pkg", "==0.3")
    assert wheel.url == (tmp_path / "dist" / "local_pkg-0.3-py3-none-any.whl").as_uri()
    assert (sdist.name, sdist.specifier, sdist.extras) == ("other", "==1.1", ("fast",))


# --- editables and local projects --------------------------------------------------


def test_editables_local_paths_and_vcs() -> None:
    path = DATA / "editables" / "requirements.txt"
    projects = DATA / "editables" / "projects"
    result = parse(path)
    lines = by_line(result)
    assert all(lines[number].editable for number in (1, 2, 3, 4, 5, 6, 8))
    assert (lines[1].name, lines[1].url) == (
        "from-pyproject-name",
        (projects / "from-pyproject").as_uri(),
    )
    assert (lines[2].name, lines[2].extras) == ("cfg-name", ("extra1",))
    assert lines[3].name == "setup-py-name"
    assert lines[4].name == "editable-repo"
    assert (lines[5].name, lines[5].extras, lines[5].marker) == (
        "named-edit",
        ("x",),
        'python_version >= "3.8"',
    )
    assert lines[6].name == "no-metadata"
    assert not lines[7].editable and lines[7].name == "setup-py-name"
    assert lines[8].url == "git+git:https://github.com/example/old-style.git#egg=old-style"
    assert result.warnings == (
        f"{path}:6: no project name found in {projects / 'no-metadata'}; assuming 'no-metadata'",
    )


def test_editables_match_pip(monkeypatch: pytest.MonkeyPatch) -> None:
    assert_same_as_pip(DATA / "editables" / "requirements.txt", monkeypatch)


def test_editables_pip_cannot_name_are_named_with_a_warning() -> None:
    path = DATA / "editables" / "no-egg.txt"
    result = parse(path)
    vcs, missing = result.requirements
    assert (vcs.name, vcs.editable) == ("noegg", True)
    assert (missing.name, missing.editable) == ("not-here", True)
    missing_path = DATA / "editables" / "projects" / "not-here"
    assert missing.url == missing_path.as_uri()
    assert result.warnings == (
        f"{path}:1: git+https://github.com/example/noegg.git@abc123 has no #egg=name; "
        "assuming the project is named 'noegg'",
        f"{path}:2: {missing_path} does not exist; "
        "assuming the project at './projects/not-here' is named 'not-here'",
    )


def test_editable_that_is_neither_path_nor_vcs_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path / "r.txt", "six\n-e https://example.com/pkg.zip\n")
    error = error_of(path)
    assert error.location == Location(str(path), 2)
    assert "'https://example.com/pkg.zip' is not a valid editable requirement" in str(error)


def test_editable_constraint_is_an_error(tmp_path: Path) -> None:
    write(tmp_path / "c.txt", "-e ./pkg\n")
    path = write(tmp_path / "r.txt", "-c c.txt\n")
    error = error_of(path)
    assert error.location == Location(str(tmp_path / "c.txt"), 1)
    assert "editable requirements are not allowed as constraints" in str(error)


def test_short_option_with_attached_value(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "pkg" / "pyproject.toml", '[tool.poetry]\nname = "poetry-named"\n')
    path = write(tmp_path / "r.txt", "-e./pkg\n--editable=pkg\n")
    result = assert_same_as_pip(path, monkeypatch)
    assert [r.name for r in result.requirements] == ["poetry-named", "poetry-named"]


# --- includes and constraints ------------------------------------------------------


def test_includes_are_relative_to_the_including_file() -> None:
    main = DATA / "includes" / "main.txt"
    result = parse(main)
    assert [(r.name, r.specifier, r.is_constraint) for r in result.requirements] == [
        ("itsdangerous", "", False),
        ("click", ">=8", False),
        ("click", "<9", True),
        ("flask", "==3.0.0", True),
        ("markupsafe", ">=2", False),  # -r inside a constraints file: real requirements
        ("flask", "", False),
    ]
    includes = DATA / "includes"
    assert result.files == (
        str(main),
        str(includes / "sub" / "child.txt"),
        str(includes / "shared.txt"),
        str(includes / "constraints.txt"),
        str(includes / "extra.txt"),
    )
    assert result.requirements[0].declared_at == Location(str(includes / "shared.txt"), 1)


def test_includes_match_pip(monkeypatch: pytest.MonkeyPatch) -> None:
    assert_same_as_pip(DATA / "includes" / "main.txt", monkeypatch)


def test_a_file_included_twice_is_read_twice_but_listed_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    result = assert_same_as_pip(DATA / "includes" / "diamond.txt", monkeypatch)
    assert [r.name for r in result.requirements] == ["itsdangerous", "click"]
    assert len(result.files) == 3


def test_relative_include_spelled_from_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "a" / "b.txt", "six\n")
    write(tmp_path / "a" / "main.txt", "-r b.txt\n")
    monkeypatch.chdir(tmp_path)
    result = parse_requirements("a/main.txt", environ={})
    assert result.files == ("a/main.txt", "a/b.txt")
    assert result.requirements[0].declared_at == Location("a/b.txt", 1)


def test_include_cycle_names_the_include_that_closes_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(DATA / "cycle")
    with pytest.raises(RequirementsError) as caught:
        parse_requirements("a.txt")
    assert (
        str(caught.value)
        == "b.txt:2: -r a.txt includes a.txt again (cycle a.txt -> b.txt -> a.txt)"
    )
    with pytest.raises(RequirementsError) as caught:
        parse_requirements("self.txt")
    assert (
        str(caught.value)
        == "self.txt:1: -r ./self.txt includes self.txt again (cycle self.txt -> self.txt)"
    )


def test_deeply_nested_includes_stop_with_an_error(tmp_path: Path) -> None:
    for level in range(60):
        write(tmp_path / f"r{level}.txt", f"pkg{level}\n-r r{level + 1}.txt\n")
    write(tmp_path / "r60.txt", "six\n")
    error = error_of(tmp_path / "r0.txt")
    assert error.location == Location(str(tmp_path / "r49.txt"), 2)
    assert "includes are nested more than 50 deep" in str(error)


def test_missing_include_names_the_including_line(tmp_path: Path) -> None:
    path = write(tmp_path / "r.txt", "six\n\n-c missing.txt\n")
    error = error_of(path)
    assert str(error) == (
        f"{path}:3: -c missing.txt: {tmp_path / 'missing.txt'} not found "
        "(includes are relative to the including file's directory)"
    )


def test_remote_constraint_is_skipped_with_a_warning() -> None:
    path = DATA / "remote" / "constraint.txt"
    result = parse(path)
    assert [r.name for r in result.requirements] == ["six"]
    assert result.warnings == (
        f"{path}:1: remote constraints are not fetched: "
        "https://raw.githubusercontent.com/example/lint/master/common_constraints.txt "
        "(constraints add no packages)",
    )


def test_remote_requirement_include_is_an_error_with_credentials_redacted() -> None:
    path = DATA / "remote" / "requirement.txt"
    error = error_of(path)
    assert str(error) == (
        f"{path}:2: remote includes are not fetched: https://****@example.com/requirements.txt"
    )
    assert "s3cr3t" not in str(error)


def test_file_url_include_is_read_locally(tmp_path: Path) -> None:
    write(tmp_path / "other.txt", "six\n")
    path = write(tmp_path / "r.txt", f"-r {(tmp_path / 'other.txt').as_uri()}\n")
    assert [r.name for r in parse(path).requirements] == ["six"]


def test_remote_top_level_file_is_not_fetched() -> None:
    with pytest.raises(RequirementsError, match="remote requirements files are not fetched"):
        parse_requirements("https://example.com/requirements.txt")


def test_missing_top_level_file(tmp_path: Path) -> None:
    with pytest.raises(RequirementsError) as caught:
        parse(tmp_path / "nope.txt")
    assert str(caught.value) == f"{tmp_path / 'nope.txt'}: file not found"
    with pytest.raises(RequirementsError, match="is not a file"):
        parse(tmp_path)


# --- malformed lines ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("requests==>2.0", "invalid requirement 'requests==>2.0'"),
        ("requests=2.0", "= is not a valid operator, did you mean ==?"),
        ('requests; python_version <> "3"', "invalid marker 'python_version <> \"3\"'"),
        ("requests --frobnicate", "no such option: --frobnicate"),
        ("--index-url", "--index-url option requires 1 argument"),
        ("--pre=yes", "--pre option does not take a value"),
        ("--no x", "ambiguous option: --no"),
        ("--glob x", "no such option: --glob"),
        ("six --hash=md5:abcd", "allowed hash algorithms for --hash are sha256, sha384, sha512"),
        ("six --hash=abcd", "arguments to --hash must be a hash name and a value"),
        ("six -C nokey", "arguments to --config-settings must be of the form KEY=VAL"),
        ('--index-url "https://unterminated', "cannot split the options"),
        ("--no-binary --pre", "--no-binary option requires 1 argument"),
        ("https://example.com/not_a_wheel.whl", "invalid wheel file name"),
        ("git+https://github.com/x/y#egg=bad name!", "invalid #egg= fragment"),
        ("torch==2.0 torchvision==0.15", "pip reads one requirement per line"),
        ("-e notapath", "'notapath' is not a valid editable requirement"),
    ],
)
def test_malformed_line_names_file_line_and_text(tmp_path: Path, text: str, reason: str) -> None:
    path = write(tmp_path / "requirements.txt", f"# header\nsix\n{text}\n")
    error = error_of(path)
    assert isinstance(error, SourceError)
    assert error.location == Location(str(path), 3)
    assert str(error).startswith(f"{path}:3: ")
    assert reason in str(error)


@pytest.mark.parametrize(
    "text",
    [
        "requests==>2.0",
        'requests; python_version <> "3"',
        "requests --frobnicate",
        "six --hash=md5:abcd",
        "torch==2.0 torchvision==0.15",
        "--no x",
        "--glob x",
        "--pre=yes",
        "-e notapath",
        "--index-url",
    ],
)
def test_pip_rejects_the_malformed_lines_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    from pip._internal.exceptions import InstallationError

    path = write(tmp_path / "requirements.txt", f"six\n{text}\n")
    with pytest.raises(InstallationError):
        pip_views(path, monkeypatch)
    assert error_of(path).location == Location(str(path), 2)


def test_unknown_option_message_quotes_the_line(tmp_path: Path) -> None:
    path = write(tmp_path / "r.txt", "requests --frobnicate\n")
    assert (
        str(error_of(path)) == f"{path}:1: no such option: --frobnicate in 'requests --frobnicate'"
    )


def test_constraint_with_extras_and_ignored_include_options_warn(tmp_path: Path) -> None:
    write(tmp_path / "c.txt", "requests[socks]<3\n")
    path = write(tmp_path / "r.txt", "-c c.txt --pre\nsix -r c.txt\n")
    result = parse(path)
    assert [(r.name, r.is_constraint) for r in result.requirements] == [
        ("requests", True),
        ("six", False),
    ]
    assert result.options == ()
    assert result.warnings == (
        f"{path}:1: pip reads only -c c.txt on this line",
        f"{tmp_path / 'c.txt'}:1: pip's resolver rejects constraints with extras",
        f"{path}:2: pip ignores --requirement on a requirement line",
    )


def test_warnings_redact_credentials(tmp_path: Path) -> None:
    path = write(tmp_path / "r.txt", "-c https://ci:t0k3n@example.com/c.txt\n")
    (warning,) = parse(path).warnings
    assert "t0k3n" not in warning
    assert "https://****@example.com/c.txt" in warning


def test_error_quoting_a_url_redacts_its_credentials(tmp_path: Path) -> None:
    path = write(tmp_path / "r.txt", "foo @ https://user:pa55@example.com/x.zip ; bad marker\n")
    error = error_of(path)
    assert "pa55" not in str(error)
    assert "https://****@example.com/x.zip" in str(error)


# --- encodings ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bom", "encoding"),
    [
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
        (codecs.BOM_UTF32_LE, "utf-32-le"),
        (codecs.BOM_UTF32_BE, "utf-32-be"),
    ],
)
def test_a_bom_names_the_encoding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bom: bytes, encoding: str
) -> None:
    path = tmp_path / "r.txt"
    path.write_bytes(bom + "six==1.16\nattrs\n".encode(encoding))
    result = assert_same_as_pip(path, monkeypatch)
    assert [r.name for r in result.requirements] == ["six", "attrs"]


def test_pep263_coding_comment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "r.txt"
    path.write_bytes("# -*- coding: latin-1 -*-\n# caf\xe9\nsix\n".encode("latin-1"))
    assert [r.name for r in assert_same_as_pip(path, monkeypatch).requirements] == ["six"]


def test_invalid_utf8_is_an_error_naming_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "r.txt"
    path.write_bytes(b"six\nattrs # caf\xe9\n")
    error = error_of(path)
    assert error.location == Location(str(path), 2)
    assert "not valid utf-8 text" in str(error)


def test_unknown_declared_encoding_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "r.txt"
    path.write_bytes(b"# coding: no-such-codec\nsix\n")
    assert "unknown encoding 'no-such-codec'" in str(error_of(path))


# --- real-world files, against pip -------------------------------------------------


def realworld_files() -> list[Path]:
    patterns = (
        "**/*requirements*.txt",
        "**/*.in",
        "**/*constraints*.txt",
        "**/requirements/**/*.txt",
    )
    found = {path for pattern in patterns for path in REALWORLD.glob(pattern)}
    return sorted(found)


def fixture_id(path: Path) -> str:
    return str(path.relative_to(REALWORLD))


# Lines current pip rejects but parity reads on purpose (see the module docstring):
# remote -c includes, #egg=name==version, and a VCS editable with no #egg= at all.
_PIP_REJECTS = re.compile(r"^-c https?://|#egg=[^&\s]*[=<>!~\[]|^-e git\+\S*#(?!egg=)")

# Local projects the fixtures name but do not hold (pip needs them to exist).
_LOCAL_PROJECTS = {
    "bmaltais__kohya_ss__requirements-extra-index-multi-req-lines": ("",),
    "openedx__edx-platform__requirements-constraints-vcs-editable": (
        "requirements/edx-sandbox/common/lib/sandbox-packages",
        "requirements/edx-sandbox/common/lib/symmath",
    ),
}

# Files that are not valid pip input: (line, text in the message).
_INVALID = {
    "bmaltais__kohya_ss__requirements-extra-index-multi-req-lines/requirements_linux.txt": (
        1,
        "invalid requirement 'torch==2.0.1+cu118 torchvision==0.15.2+cu118'",
    ),
    "invoke-ai__InvokeAI__requirements-extra-index-trusted-host-url-eggs/"
    "environments-and-requirements/requirements-lin-cuda.txt": (
        2,
        "-r environments-and-requirements/requirements-base.txt: ",
    ),
    "invoke-ai__InvokeAI__requirements-extra-index-trusted-host-url-eggs/"
    "environments-and-requirements/requirements-win-colab-cuda.txt": (
        1,
        "-r environments-and-requirements/requirements-base.txt: ",
    ),
}


def pip_comparable_copy(source: Path, tmp_path: Path) -> Path:
    """Copy a fixture folder, blanking the lines pip rejects and adding missing projects."""
    folder = source.relative_to(REALWORLD).parts[0]
    copy = tmp_path / folder
    shutil.copytree(REALWORLD / folder, copy)
    for path in copy.rglob("*"):
        if path.is_file() and path.suffix in (".txt", ".in"):
            lines = path.read_text(encoding="utf-8").split("\n")
            kept = ["" if _PIP_REJECTS.search(line) else line for line in lines]
            path.write_text("\n".join(kept), encoding="utf-8")
    for project in _LOCAL_PROJECTS.get(folder, ()):
        directory = copy / project
        directory.mkdir(parents=True, exist_ok=True)
        name = directory.resolve().name.replace("_", "-")
        (directory / "setup.py").write_text(f"from setuptools import setup\nsetup(name={name!r})\n")
    return copy / source.relative_to(REALWORLD / folder)


@pytest.mark.realworld
@pytest.mark.parametrize("source", realworld_files(), ids=fixture_id)
def test_realworld_file_matches_pip(
    source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    invalid = _INVALID.get(fixture_id(source))
    if invalid is not None:
        line, text = invalid
        error = error_of(source)
        assert error.location == Location(str(source), line)
        assert text in str(error)
        from pip._internal.exceptions import InstallationError

        with pytest.raises(InstallationError):
            pip_views(source, monkeypatch)
        return
    original = parse(source)  # parity reads the untouched file
    assert original.requirements
    assert_same_as_pip(pip_comparable_copy(source, tmp_path), monkeypatch)


@pytest.mark.realworld
def test_realworld_file_list_covers_every_requirements_fixture() -> None:
    names = {fixture_id(path) for path in realworld_files()}
    assert len(names) == 21
    assert set(_INVALID) <= names


@pytest.mark.realworld
def test_gwpy_includes_markers_and_unnamed_vcs() -> None:
    folder = REALWORLD / "gwpy__gwpy__requirements-r-includes-vcs-markers"
    result = parse(folder / "requirements-dev.txt")
    assert len(result.files) == 4
    pandas = [r for r in result.requirements if r.key == "pandas"]
    assert len(pandas) == 2
    ligo = next(r for r in result.requirements if r.url)
    assert (ligo.name, ligo.url) == (
        "ligo.org",
        "git+https://github.com/duncanmmacleod/ligo.org.git",
    )
    pycbc = next(r for r in result.requirements if r.key == "pycbc")
    assert (pycbc.specifier, pycbc.marker) == (
        ">=1.10.1",
        'python_version == "2.7" and sys_platform != "win32"',
    )


@pytest.mark.realworld
def test_edx_constraints_and_versioned_eggs() -> None:
    folder = REALWORLD / "openedx__edx-platform__requirements-constraints-vcs-editable"
    path = folder / "requirements" / "edx-sandbox" / "base.in"
    result = parse(path)
    constraints = [r for r in result.requirements if r.is_constraint]
    assert len(constraints) == 35
    assert all(
        str(r.declared_at).startswith(str(folder / "requirements" / "constraints.txt"))
        for r in constraints
    )
    calc = next(r for r in result.requirements if r.key == "calc")
    assert (calc.specifier, calc.declared_at) == ("==0.4", Location(str(path), 26))
    shared = folder / "requirements" / "edx-sandbox" / "shared.txt"
    assert str(shared) in result.files
    editables = [r.name for r in result.requirements if r.editable]
    assert editables == ["sandbox-packages", "symmath"]
    assert any("remote constraints are not fetched" in warning for warning in result.warnings)


@pytest.mark.realworld
def test_edx_github_in_editable_without_egg_is_named_after_its_repository() -> None:
    path = (
        REALWORLD
        / "openedx__edx-platform__requirements-constraints-vcs-editable/requirements/edx/github.in"
    )
    result = parse(path)
    enterprise = by_line(result)[71]
    assert (enterprise.name, enterprise.editable) == ("edx-enterprise", True)
    mongo = by_line(result)[59]
    assert (mongo.name, mongo.specifier) == ("MongoDBProxy", "==0.1.0+edx.2")


@pytest.mark.realworld
def test_kohya_requirements_local_project_is_named_with_a_warning() -> None:
    folder = REALWORLD / "bmaltais__kohya_ss__requirements-extra-index-multi-req-lines"
    result = parse(folder / "requirements.txt")
    last = result.requirements[-1]
    assert (last.name, last.declared_at) == (
        folder.name,
        Location(str(folder / "requirements.txt"), 30),
    )
    assert any("pip cannot install it" in warning for warning in result.warnings)


@pytest.mark.realworld
def test_invokeai_options_and_direct_references() -> None:
    folder = REALWORLD / "invoke-ai__InvokeAI__requirements-extra-index-trusted-host-url-eggs"
    mac = parse(folder / "environments-and-requirements" / "requirements-mac-mps-cpu.txt")
    grpcio = [r for r in mac.requirements if r.key == "grpcio"]
    assert [bool(r.url) for r in grpcio] == [False, True, True]
    amd = parse(folder / "environments-and-requirements" / "requirements-lin-amd.txt")
    assert [(o.name, o.value) for o in amd.options] == [
        ("--extra-index-url", "https://download.pytorch.org/whl/rocm5.2"),
        ("--trusted-host", "https://download.pytorch.org"),
    ]


# --- the Environment ---------------------------------------------------------------


def test_load_requirements_gives_a_declared_environment() -> None:
    path = str(DATA / "includes" / "main.txt")
    environment = load_requirements(path, environ={})
    assert (environment.kind, environment.ref, environment.level) == (
        "requirements",
        path,
        Level.DECLARED,
    )
    assert environment.requirements == parse_requirements(path, environ={}).requirements
    assert sum(r.is_constraint for r in environment.requirements) == 2
    assert environment.packages == ()
    assert environment.interpreter is None
    assert "requirements file" in environment.description


def test_load_requirements_keeps_warnings() -> None:
    environment = load_requirements(str(DATA / "remote" / "constraint.txt"))
    assert len(environment.warnings) == 1


# --- redaction ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "redacted"),
    [
        ("https://user:token@host/simple", "https://****@host/simple"),
        ("https://token@host/simple", "https://****@host/simple"),
        ("https://host/simple", "https://host/simple"),
        (
            "git+https://u:p@github.com/o/r.git@v1#egg=r",
            "git+https://****@github.com/o/r.git@v1#egg=r",
        ),
        ("git+ssh://git@github.com/o/r.git@v1", "git+ssh://git@github.com/o/r.git@v1"),
        ("git+ssh://git:pw@github.com/o/r.git", "git+ssh://****@github.com/o/r.git"),
        ("see https://a:b@x/1 and http://c@y/2", "see https://****@x/1 and http://****@y/2"),
        ("https://****@host/", "https://****@host/"),
        ("name @ https://host/pkg@v1.zip", "name @ https://host/pkg@v1.zip"),
    ],
)
def test_redact_url(url: str, redacted: str) -> None:
    assert redact_url(url) == redacted


# --- fuzzing -----------------------------------------------------------------------

_PIECES = st.sampled_from(
    [
        "six",
        "Django",
        "[",
        "]",
        ",",
        "extra",
        "==",
        ">=",
        "~=",
        "1.0",
        "*",
        ";",
        "; ",
        'python_version < "3.10"',
        " and ",
        "@",
        " @ ",
        "https://",
        "git+https://",
        "git+ssh://git@",
        "file:",
        "example.com/",
        "pkg-1.0-py3-none-any.whl",
        "pkg-1.0.tar.gz",
        "#egg=",
        "&subdirectory=",
        "#",
        " #",
        "\\",
        "\\\n",
        "\n",
        "\r\n",
        " ",
        "\t",
        "-r ",
        "-c ",
        "-e ",
        "--hash=sha256:",
        "--index-url ",
        "-i",
        "--pre",
        "--editable=",
        "${",
        "}",
        "${HOME}",
        "./",
        "../",
        ".",
        "/",
        "'",
        '"',
        "--",
        "-",
        "user:pw@",
        "\x00",
        "\x0c",
    ]
)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=st.one_of(st.text(), st.lists(_PIECES, max_size=30).map("".join)))
def test_fuzz_text_gives_a_result_or_a_requirements_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "requirements.txt"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    try:
        result = parse_requirements(str(path), environ={})
    except RequirementsError as error:
        assert str(error)
    else:
        assert isinstance(result, RequirementsFile)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.binary(max_size=200))
def test_fuzz_bytes_give_a_result_or_a_requirements_error(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "requirements.txt"
    path.write_bytes(data)
    with contextlib.suppress(RequirementsError):
        parse_requirements(str(path), environ={})
