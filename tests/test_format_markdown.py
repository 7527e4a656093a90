"""The Markdown PR comment: golden output, and what a real GFM parser makes of it.

This module also holds the hand-built sample report and the golden-file helper that
test_format_junit and test_format_github share (PARITY_REGEN_GOLDEN=1 rewrites the goldens).
"""

from __future__ import annotations

import os
import pathlib
from html.parser import HTMLParser

from hypothesis import given
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from parity.formats import markdown
from parity.report import InterpreterRow, PackageRow, Report, Severity, Side, Status

GOLDEN = pathlib.Path(__file__).resolve().parent / "data" / "formats"
SIDES = (
    Side("local", "venv", ".venv"),
    Side("container", "image", "myapp:latest", "image built from ./Dockerfile (sha256:3f1a)"),
)
WEIRD_VALUE = "1.0|rc `x`\n100% <b>"


def sample_report(*, fail_on: Severity = Severity.ERROR) -> Report:
    """Every status, every severity, interpreter rows, declared_at, and a hostile value."""
    interpreter = (
        InterpreterRow(
            "python_version",
            {"local": "3.11.7", "container": "3.11.2"},
            Status.DIFFERS,
            Severity.WARNING,
        ),
        InterpreterRow(
            "implementation",
            {"local": "cpython", "container": "cpython"},
            Status.SAME,
            Severity.NONE,
        ),
        InterpreterRow(
            "libc", {"local": None, "container": "glibc 2.36"}, Status.DIFFERS, Severity.INFO
        ),
    )
    packages = (
        PackageRow(
            "requests",
            {"local": "2.31.0", "container": None},
            Status.MISSING,
            Severity.ERROR,
            missing_from=("container",),
        ),
        PackageRow(
            "django",
            {"local": "4.2.7", "container": "5.0.1"},
            Status.VERSION,
            Severity.ERROR,
            change="major",
            declared_at="requirements.txt:3",
        ),
        PackageRow(
            "urllib3",
            {"local": ">=2.0,<3", "container": "1.26.18"},
            Status.UNSATISFIED,
            Severity.ERROR,
            detail=">=2.0,<3",
            declared_at="pyproject.toml",
        ),
        PackageRow(
            "attrs",
            {"local": "23.1.0", "container": "23.2.0"},
            Status.VERSION,
            Severity.WARNING,
            change="minor",
        ),
        PackageRow(
            "mylib",
            {"local": "0.3.0", "container": "0.3.0"},
            Status.SOURCE,
            Severity.WARNING,
            detail="local: editable /src/mylib; container: index",
        ),
        PackageRow(
            "pywin32",
            {"local": "306", "container": None},
            Status.PLATFORM,
            Severity.INFO,
            missing_from=("container",),
            detail="sys_platform == 'win32'",
        ),
        PackageRow(
            "weird-pkg",
            {"local": WEIRD_VALUE, "container": "2.0,final: 50%"},
            Status.VERSION,
            Severity.INFO,
            change="other",
            declared_at="reqs/a,b: c.txt:12",
        ),
        PackageRow(
            "certifi", {"local": "2024.2.2", "container": "2024.2.2"}, Status.SAME, Severity.NONE
        ),
    )
    return Report(
        sides=SIDES,
        interpreter=interpreter,
        packages=packages,
        fail_on=fail_on,
        warnings=("requirements.txt:9: option --hash ignored",),
    )


def clean_report() -> Report:
    """Nothing differs: only ``same`` rows."""
    return Report(
        sides=SIDES,
        interpreter=(),
        packages=(
            PackageRow("certifi", {"local": "1", "container": "1"}, Status.SAME, Severity.NONE),
        ),
    )


def assert_matches_golden(text: str, name: str) -> None:
    """Compare with tests/data/formats/<name>; PARITY_REGEN_GOLDEN=1 rewrites it first."""
    path = GOLDEN / name
    if os.environ.get("PARITY_REGEN_GOLDEN") == "1":
        path.write_bytes(text.encode("utf-8"))
    assert text == path.read_bytes().decode("utf-8")


class _Cells(HTMLParser):
    """Collect the text of every table row's cells from rendered HTML (``<br>`` as newline)."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "br" and self._cell is not None:
            self._cell.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def rendered_tables(text: str) -> list[list[str]]:
    """Render with a GFM-style parser (tables, strikethrough, raw HTML) and read the cells back."""
    html = MarkdownIt("commonmark").enable(["table", "strikethrough"]).render(text)
    parser = _Cells()
    parser.feed(html)
    return parser.rows


def test_sample_report_matches_golden() -> None:
    assert_matches_golden(markdown.render(sample_report()), "report.md")


def test_clean_report_matches_golden() -> None:
    assert_matches_golden(markdown.render(clean_report()), "clean.md")


def test_summary_line_names_verdict_counts_and_sides() -> None:
    lines = markdown.render(sample_report()).splitlines()
    assert lines[0] == markdown.MARKER
    assert lines[1] == (
        "❌ **drift: 3 errors, 3 warnings, 3 infos** — "
        "local (venv:.venv) vs container (image:myapp:latest)"
    )


def test_parity_below_failing_severity_still_counts_lower_rows() -> None:
    report = sample_report()
    below = Report(report.sides, report.interpreter[:1], (), fail_on=Severity.ERROR)
    assert markdown.summary_line(below).startswith("✅ **parity (0 errors, 1 warning, 0 infos)**")
    assert markdown.summary_line(clean_report()).startswith("✅ **parity** — local")


def test_drift_table_lists_warnings_and_up_interpreter_first() -> None:
    rows = rendered_tables(markdown.render(sample_report()))
    header = rows[0]
    assert header == ["name", "local", "container", "status", "severity"]
    drift = rows[1 : rows.index(header, 1)]
    assert [row[0] for row in drift] == [
        "interpreter: python_version",
        "attrs",
        "django (requirements.txt:3)",
        "mylib",
        "requests",
        "urllib3 (pyproject.toml)",
    ]
    assert drift[4] == ["requests", "2.31.0", "—", "missing from container", "❌ error"]


def test_full_report_holds_every_row_with_exact_values() -> None:
    rows = rendered_tables(markdown.render(sample_report()))
    header = rows[0]
    full = rows[rows.index(header, 1) + 1 :]
    report = sample_report()
    assert len(full) == len(report.interpreter) + len(report.packages)
    weird = next(row for row in full if row[0].startswith("weird-pkg"))
    assert weird == [
        "weird-pkg (reqs/a,b: c.txt:12)",
        WEIRD_VALUE,
        "2.0,final: 50%",
        "version (other)",
        "\N{INFORMATION SOURCE}\N{VARIATION SELECTOR-16} info",
    ]
    assert ["certifi", "2024.2.2", "2024.2.2", "same", "none"] in full


def test_full_report_is_folded_in_details() -> None:
    text = markdown.render(sample_report())
    assert "<details><summary>Full report</summary>\n\n" in text
    assert text.rstrip().endswith("</details>")
    assert (
        "- **container**: image:myapp:latest — image built from ./Dockerfile (sha256:3f1a)" in text
    )


def test_fail_on_info_puts_infos_in_the_drift_table() -> None:
    rows = rendered_tables(markdown.render(sample_report(fail_on=Severity.INFO)))
    drift = rows[1 : rows.index(rows[0], 1)]
    assert "weird-pkg (reqs/a,b: c.txt:12)" in [row[0] for row in drift]


def test_no_rows_means_no_tables() -> None:
    text = markdown.render(Report(sides=SIDES, interpreter=(), packages=()))
    summary = "✅ **parity** — local (venv:.venv) vs container (image:myapp:latest)"
    assert text == f"{markdown.MARKER}\n{summary}\n"


_TEXT = st.text(
    st.characters(exclude_categories=("Cs", "Cc")) | st.sampled_from("\n\r|`<>&\\*_[]~%:,")
)


def _one_line_breaks(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


@given(name=_TEXT, value=_TEXT, detail=_TEXT)
def test_any_text_stays_literal_inside_its_cell(name: str, value: str, detail: str) -> None:
    # Padded so that the table's trimming of cell edges does not blur the comparison.
    name, value, detail = f"n{name}n", f"v{value}v", f"d{detail}d"
    row = PackageRow(
        name, {"local": value, "container": None}, Status.SOURCE, Severity.ERROR, detail=detail
    )
    report = Report(sides=SIDES, interpreter=(), packages=(row,))
    rows = rendered_tables(markdown.render(report))
    assert len(rows) == 4  # drift header and row, full-report header and row
    expected = [name, value, "—", f"source ({detail})", "❌ error"]
    assert rows[1] == [_one_line_breaks(cell) for cell in expected]
    assert rows[3] == rows[1]
