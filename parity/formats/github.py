"""GitHub Actions workflow commands: one annotation per drift row, then a summary notice."""

from __future__ import annotations

from parity.formats._text import ordered_rows, row_message, row_title, summary
from parity.report import InterpreterRow, PackageRow, Report, Severity

_COMMAND = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def render(report: Report) -> str:
    """One workflow command per row with a severity, source warnings, and a summary notice."""
    lines = [_annotation(report, row) for row in ordered_rows(report) if row.severity in _COMMAND]
    lines += [f"::warning::{escape_data(f'parity: {warning}')}" for warning in report.warnings]
    lines.append(f"::notice::{escape_data(f'parity: {summary(report)}')}")
    return "\n".join(lines) + "\n"


def escape_data(text: str) -> str:
    """Escape a workflow command's message, as @actions/core does."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a workflow command property value (``file=``, ``title=``)."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def split_declared_at(declared_at: str) -> tuple[str, str | None]:
    """``requirements.txt:3`` -> (``requirements.txt``, ``3``); a bare path has no line."""
    path, _, line = declared_at.rpartition(":")
    if path and line.isdigit():
        return path, line
    return declared_at, None


def _annotation(report: Report, row: InterpreterRow | PackageRow) -> str:
    properties = [*_file_properties(row), ("title", f"parity: {row_title(report, row)}")]
    rendered = ",".join(f"{key}={escape_property(value)}" for key, value in properties)
    return f"::{_COMMAND[row.severity]} {rendered}::{escape_data(row_message(report, row))}"


def _file_properties(row: InterpreterRow | PackageRow) -> list[tuple[str, str]]:
    if not isinstance(row, PackageRow) or not row.declared_at:
        return []
    path, line = split_declared_at(row.declared_at)
    return [("file", path)] + ([("line", line)] if line else [])
