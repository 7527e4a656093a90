"""GitHub Actions workflow commands: golden output, read back as the Actions runner reads them."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given
from hypothesis import strategies as st
from test_format_markdown import SIDES, assert_matches_golden, clean_report, sample_report

from parity.formats import github
from parity.report import InterpreterRow, PackageRow, Report, Severity, Status


@dataclass(frozen=True)
class Command:
    """One workflow command as the Actions runner reads it (actions/runner ActionCommand)."""

    name: str
    properties: dict[str, str]
    data: str


def parse_command(line: str) -> Command:
    """``::name k=v,k=v::data`` with the runner's unescaping of properties and data."""
    assert line.startswith("::")
    info, separator, data = line[2:].partition("::")
    assert separator, line
    name, _, raw_properties = info.partition(" ")
    properties = {}
    for pair in filter(None, raw_properties.split(",")):
        key, _, value = pair.partition("=")
        properties[key] = _unescape_property(value)
    return Command(name, properties, _unescape_data(data))


def _unescape_data(text: str) -> str:
    return text.replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%")


def _unescape_property(text: str) -> str:
    for escaped, raw in (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%")):
        text = text.replace(escaped, raw)
    return text


def commands(report: Report) -> list[Command]:
    text = github.render(report)
    assert text.endswith("\n")
    # The runner reads stdout line by line: only CR and LF end a line.
    assert "\r" not in text
    return [parse_command(line) for line in text[:-1].split("\n")]


def test_sample_report_matches_golden() -> None:
    assert_matches_golden(github.render(sample_report()), "report.github.txt")


def test_clean_report_matches_golden() -> None:
    assert_matches_golden(github.render(clean_report()), "clean.github.txt")


def test_version_row_is_an_error_annotation_on_its_requirement_line() -> None:
    lines = github.render(sample_report()).splitlines()
    assert (
        "::error file=requirements.txt,line=3,title=parity%3A django 4.2.7 != 5.0.1"
        "::django: local 4.2.7, container 5.0.1 (major)"
    ) in lines


def test_one_command_per_row_with_a_severity_then_warnings_then_summary() -> None:
    report = sample_report()
    parsed = commands(report)
    rows_with_severity = report.count(Severity.ERROR) + report.count(Severity.WARNING)
    rows_with_severity += report.count(Severity.INFO)
    assert len(parsed) == rows_with_severity + len(report.warnings) + 1
    assert [command.name for command in parsed].count("error") == 3
    assert [command.name for command in parsed].count("notice") == 3 + 1
    assert parsed[-1].name == "notice"
    assert parsed[-1].data == (
        "parity: drift: 3 errors, 3 warnings, 3 infos "
        "(local venv:.venv vs container image:myapp:latest)"
    )
    assert parsed[-2] == Command("warning", {}, "parity: requirements.txt:9: option --hash ignored")


def test_file_and_line_only_when_known() -> None:
    by_title = {command.properties.get("title"): command for command in commands(sample_report())}
    interpreter = by_title["parity: python_version 3.11.7 != 3.11.2"]
    assert interpreter.name == "warning"
    assert set(interpreter.properties) == {"title"}
    unsatisfied = by_title["parity: urllib3 does not satisfy >=2.0,<3"]
    assert unsatisfied.properties == {
        "file": "pyproject.toml",
        "title": "parity: urllib3 does not satisfy >=2.0,<3",
    }
    missing = by_title["parity: requests missing from container"]
    assert missing.data == "requests: local 2.31.0, container absent"


def test_hostile_values_are_escaped_and_survive_the_round_trip() -> None:
    by_title = {
        command.properties.get("title", ""): command for command in commands(sample_report())
    }
    weird = next(command for title, command in by_title.items() if "weird-pkg" in title)
    assert weird.properties["file"] == "reqs/a,b: c.txt"
    assert weird.properties["line"] == "12"
    assert weird.data == "weird-pkg: local 1.0|rc `x`\n100% <b>, container 2.0,final: 50% (other)"
    raw = next(line for line in github.render(sample_report()).splitlines() if "weird-pkg" in line)
    assert "file=reqs/a%2Cb%3A c.txt,line=12," in raw
    assert "local 1.0|rc `x`%0A100%25 <b>, container 2.0,final: 50%25 (other)" in raw


def test_escape_rules() -> None:
    assert github.escape_data("50%\r\nx:y,z") == "50%25%0D%0Ax:y,z"
    assert github.escape_property("50%\r\nx:y,z") == "50%25%0D%0Ax%3Ay%2Cz"


def test_split_declared_at() -> None:
    assert github.split_declared_at("requirements.txt:3") == ("requirements.txt", "3")
    assert github.split_declared_at("pyproject.toml") == ("pyproject.toml", None)
    assert github.split_declared_at(r"C:\src\req.txt:4") == (r"C:\src\req.txt", "4")
    assert github.split_declared_at(r"C:\src\req.txt") == (r"C:\src\req.txt", None)


def test_clean_report_is_only_the_summary() -> None:
    assert github.render(clean_report()) == (
        "::notice::parity: parity (local venv:.venv vs container image:myapp:latest)\n"
    )


def test_warnings_below_the_failing_severity_still_say_parity() -> None:
    row = InterpreterRow(
        "python_version",
        {"local": "3.11.7", "container": "3.11.2"},
        Status.DIFFERS,
        Severity.WARNING,
    )
    report = Report(sides=SIDES, interpreter=(row,), packages=())
    assert commands(report)[-1].data.startswith("parity: parity (0 errors, 1 warning, 0 infos)")


_PIECES = st.sampled_from(["\r\n", "\r", "\n", "%0A", "%25", "::", ":", ",", "=", " "])
_TEXT = st.lists(st.characters(exclude_categories=["Cs"]) | _PIECES).map("".join)


@given(name=_TEXT, value=_TEXT, detail=_TEXT, path=_TEXT, line=st.integers(1, 10_000))
def test_any_text_round_trips_through_the_runner(
    name: str, value: str, detail: str, path: str, line: int
) -> None:
    detail = f"d{detail}"  # an empty detail adds no parentheses
    row = PackageRow(
        name,
        {"local": value, "container": None},
        Status.SOURCE,
        Severity.ERROR,
        detail=detail,
        declared_at=f"{path}:{line}",
    )
    report = Report(sides=SIDES, interpreter=(), packages=(row,), warnings=(detail,))
    annotation, warning, summary = commands(report)
    assert annotation.name == "error"
    assert annotation.properties["title"] == f"parity: {github.row_title(report, row)}"
    assert annotation.data == f"{name}: local {value}, container absent ({detail})"
    expected_file, expected_line = github.split_declared_at(f"{path}:{line}")
    assert annotation.properties["file"] == expected_file
    assert annotation.properties.get("line") == expected_line
    assert warning.data == f"parity: {detail}"
    assert summary.name == "notice"
