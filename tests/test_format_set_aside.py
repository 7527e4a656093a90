"""Every format with rows the rules set aside: dev, tooling and project rows.

Hidden from the text formats by default and counted in the summary; listed with --all;
always in the JSON, with their status.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import replace

import pytest

from parity.formats import FORMATS, render
from parity.report import PackageRow, Report, Severity, Side, Status

SIDES = (Side("local", "venv", ".venv"), Side("container", "image", "app:latest"))
ROWS = (
    PackageRow(
        "django", {"local": "5.0", "container": "5.1"}, Status.VERSION, Severity.ERROR, "minor"
    ),
    PackageRow(
        "greeter",
        {"local": "0.1.0", "container": "0.1.0"},
        Status.PROJECT,
        Severity.NONE,
        detail="local: editable file:///home/me/greeter; container: editable file:///app",
    ),
    PackageRow(
        "pipenv",
        {"local": None, "container": "2026.10.3"},
        Status.TOOLING,
        Severity.NONE,
        missing_from=("local",),
    ),
    PackageRow(
        "pluggy",
        {"local": "1.7.0", "container": None},
        Status.DEV,
        Severity.INFO,
        missing_from=("container",),
    ),
    PackageRow(
        "pytest",
        {"local": "8.4.1", "container": "8.4.1"},
        Status.DEV,
        Severity.WARNING,
        detail="declared for development only, installed in container",
    ),
)
REPORT = Report(SIDES, (), ROWS, compared=3)
SUMMARY = "3 rows not counted: 1 development-only, 1 installer tooling, 1 the project itself"


def test_counts_leave_the_set_aside_rows_out() -> None:
    assert (REPORT.count(Severity.ERROR), REPORT.count(Severity.WARNING)) == (1, 1)
    assert REPORT.count(Severity.INFO) == 0 and REPORT.count(Severity.NONE) == 0
    assert REPORT.set_aside_phrase() == SUMMARY
    assert not replace(REPORT, packages=ROWS[1:4], fail_on=Severity.INFO).has_drift


@pytest.mark.parametrize("format_name", [name for name in FORMATS if name != "json"])
def test_text_formats_hide_set_aside_rows_and_count_them(format_name: str) -> None:
    text = render(REPORT, format_name)
    assert "django" in text and "pytest" in text  # the loud rows
    for hidden in ("greeter", "pipenv", "pluggy"):
        assert hidden not in text, format_name
    assert SUMMARY in text.replace("\\", "")
    assert "--all lists them" in text.replace("\\", "")
    shown = render(replace(REPORT, show_all=True), format_name)
    # GitHub annotates rows with a severity only: the info row, not the two at none.
    listed = ("pluggy",) if format_name == "github" else ("greeter", "pipenv", "pluggy")
    for name in listed:
        assert name in shown, format_name
    assert "--all lists them" not in shown.replace("\\", "")


def test_json_lists_every_row_with_its_status() -> None:
    data = json.loads(render(REPORT, "json"))
    assert [(row["name"], row["status"], row["severity"]) for row in data["packages"]] == [
        ("django", "version", "error"),
        ("greeter", "project", "none"),
        ("pipenv", "tooling", "none"),
        ("pluggy", "dev", "info"),
        ("pytest", "dev", "warning"),
    ]
    assert data["summary"]["set_aside"] == {"project": 1, "tooling": 1, "dev": 1}
    assert (data["summary"]["errors"], data["summary"]["infos"]) == (1, 0)


def test_junit_fails_only_on_counted_rows() -> None:
    root = ET.fromstring(render(replace(REPORT, show_all=True, fail_on=Severity.INFO), "junit"))
    cases = {case.get("name"): case.find("failure") for case in root.iter("testcase")}
    assert set(cases) == {"django", "greeter", "pipenv", "pluggy", "pytest"}
    assert {name for name, failure in cases.items() if failure is not None} == {
        "django",
        "pytest",
    }
