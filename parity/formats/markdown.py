"""A pull-request comment: a summary line, a table of the drift, and the full report folded away."""

from __future__ import annotations

import re

from parity.formats._text import ordered_rows, row_label, verdict_phrase
from parity.report import InterpreterRow, PackageRow, Report, Severity, Side, Status

MARKER = "<!-- parity-report -->"  # lets a CI job find and update its earlier comment
_VERDICT_ICON = {"drift": "❌", "parity": "✅"}
_SEVERITY_ICON = {
    Severity.ERROR: "❌ error",
    Severity.WARNING: "⚠️ warning",
    Severity.INFO: "\N{INFORMATION SOURCE}\N{VARIATION SELECTOR-16} info",
    Severity.NONE: "none",
}
_ABSENT = "—"
_NEWLINE = re.compile(r"\r\n|\r|\n")
_BACKSLASHED = re.compile(r"([\\`*_\[\]|~])")


def render(report: Report) -> str:
    """The report as GitHub-flavoured Markdown for a PR comment."""
    blocks = [f"{MARKER}\n{summary_line(report)}"]
    drift = [row for row in ordered_rows(report) if _is_drift(report, row)]
    if drift:
        blocks.append(_table(report, drift))
    if report.warnings:
        blocks.append("\n".join(f"- ⚠️ {escape(warning)}" for warning in report.warnings))
    if report.interpreter or report.listed_packages():
        blocks.append(_full_report(report))
    return "\n\n".join(blocks) + "\n"


def summary_line(report: Report) -> str:
    """``❌ **drift: 2 errors, 1 warning, 0 infos** — local (venv:.venv) vs container (...)``."""
    sides = " vs ".join(
        f"{escape(side.name)} ({escape(_reference(side))})" for side in report.sides
    )
    line = f"{_VERDICT_ICON[report.verdict]} **{escape(verdict_phrase(report))}**"
    return f"{line} — {sides}" if sides else line


def escape(text: str) -> str:
    """Make text literal in a Markdown table cell: no markup, no HTML, no line breaks."""
    text = _BACKSLASHED.sub(r"\\\1", text)
    text = text.replace("&", "&amp;").replace("<", "&lt;")
    return _NEWLINE.sub("<br>", text)


def _reference(side: Side) -> str:
    return f"{side.kind}:{side.ref}"


def _is_drift(report: Report, row: InterpreterRow | PackageRow) -> bool:
    """Rows worth a reviewer's eye: warnings and up, or whatever fails the check."""
    threshold = min(Severity.WARNING, max(report.fail_on, Severity.INFO))
    return row.severity is not Severity.NONE and row.severity >= threshold


def _full_report(report: Report) -> str:
    sides = [
        f"- **{escape(side.name)}**: {escape(_reference(side))}"
        + (f" — {escape(side.description)}" if side.description else "")
        for side in report.sides
    ]
    return "\n\n".join(
        [
            "<details><summary>Full report</summary>",
            "\n".join(sides),
            f"Fails on: {report.fail_on.value}",
            _table(report, ordered_rows(report)),
            "</details>",
        ]
    )


def _table(report: Report, rows: list[InterpreterRow | PackageRow]) -> str:
    header = ["name", *(escape(name) for name in report.side_names()), "status", "severity"]
    lines = [_table_line(header), _table_line(["---"] * len(header))]
    lines += [_table_line(_cells(report, row)) for row in rows]
    return "\n".join(lines)


def _table_line(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _cells(report: Report, row: InterpreterRow | PackageRow) -> list[str]:
    values = [_value_cell(row.values.get(name)) for name in report.side_names()]
    return [_name_cell(row), *values, _status_cell(row), _SEVERITY_ICON[row.severity]]


def _name_cell(row: InterpreterRow | PackageRow) -> str:
    name = escape(row_label(row))
    if isinstance(row, InterpreterRow):
        return f"interpreter: {name}"
    return f"{name} ({escape(row.declared_at)})" if row.declared_at else name


def _value_cell(value: str | None) -> str:
    return _ABSENT if value is None else escape(value)


def _status_cell(row: InterpreterRow | PackageRow) -> str:
    if isinstance(row, InterpreterRow):
        return row.status.value
    if row.status is Status.MISSING and row.missing_from:
        status = f"missing from {', '.join(row.missing_from)}"
    else:
        status = row.status.value
    specifics = [part for part in (row.change, row.detail) if part]
    suffix = f" ({'; '.join(specifics)})" if specifics else ""
    return escape(status + suffix)
