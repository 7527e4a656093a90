"""GitHub Actions workflow commands: one annotation per drift row, then a summary notice.

Also home of the plain-text phrasing of a row (``row_title``, ``row_message``) that the
JUnit format reuses, so CI annotations and test reports say the same thing.
"""

from __future__ import annotations

from parity.report import InterpreterRow, PackageRow, Report, Severity, Status

_COMMAND = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}
_ABSENT = "absent"


def render(report: Report) -> str:
    """One workflow command per row with a severity, source warnings, and a summary notice."""
    lines = [_annotation(report, row) for row in ordered_rows(report) if row.severity in _COMMAND]
    lines += [f"::warning::{escape_data(f'parity: {warning}')}" for warning in report.warnings]
    lines.append(f"::notice::{escape_data(f'parity: {summary(report)}')}")
    return "\n".join(lines) + "\n"


def ordered_rows(report: Report) -> list[InterpreterRow | PackageRow]:
    """Interpreter rows in report order, then package rows by name: a stable order."""
    packages = sorted(report.packages, key=lambda row: (row.name, row.status.value))
    return [*report.interpreter, *packages]


def summary(report: Report) -> str:
    """``drift: 2 errors, 1 warning, 0 infos (local venv:.venv vs container image:app)``."""
    sides = " vs ".join(f"{side.name} {side.kind}:{side.ref}" for side in report.sides)
    return f"{verdict_phrase(report)} ({sides})" if sides else verdict_phrase(report)


def verdict_phrase(report: Report) -> str:
    """``drift: N errors, M warnings, K infos``, or ``parity`` with any lower-severity counts."""
    if report.has_drift:
        return f"drift: {count_phrase(report)}"
    if any(report.count(severity) for severity in _COMMAND):
        return f"parity ({count_phrase(report)})"
    return "parity"


def count_phrase(report: Report) -> str:
    """``2 errors, 1 warning, 0 infos``."""
    counts = [
        (report.count(Severity.ERROR), "error"),
        (report.count(Severity.WARNING), "warning"),
        (report.count(Severity.INFO), "info"),
    ]
    return ", ".join(f"{count} {noun}{'' if count == 1 else 's'}" for count, noun in counts)


def row_label(row: InterpreterRow | PackageRow) -> str:
    """The package name, or the interpreter field (``python_version``)."""
    return row.field if isinstance(row, InterpreterRow) else row.name


def row_title(report: Report, row: InterpreterRow | PackageRow) -> str:
    """A one-line headline: ``django 4.2.7 != 5.0.1``, ``requests missing from container``."""
    label = row_label(row)
    values = [_value(row, name) for name in report.side_names()]
    if row.status in (Status.VERSION, Status.DIFFERS):
        return f"{label} {' != '.join(values)}"
    if row.status is Status.MISSING:
        return f"{label} missing from {', '.join(_absent_sides(report, row))}"
    if row.status is Status.PLATFORM:
        return f"{label} excluded by a marker on {', '.join(_absent_sides(report, row))}"
    if row.status is Status.UNSATISFIED:
        detail = _detail(row)
        return f"{label} does not satisfy {detail}" if detail else f"{label} unsatisfied"
    if row.status is Status.SOURCE:
        return f"{label} installed from different sources"
    return f"{label} {' == '.join(values)}"


def row_message(report: Report, row: InterpreterRow | PackageRow) -> str:
    """Each side's value and the specifics: ``django: local 4.2.7, container 5.0.1 (major)``."""
    values = ", ".join(f"{name} {_value(row, name)}" for name in report.side_names())
    specifics = [part for part in (_change(row), _detail(row)) if part]
    suffix = f" ({'; '.join(specifics)})" if specifics else ""
    return f"{row_label(row)}: {values}{suffix}"


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


def _value(row: InterpreterRow | PackageRow, side: str) -> str:
    value = row.values.get(side)
    return _ABSENT if value is None else value


def _absent_sides(report: Report, row: InterpreterRow | PackageRow) -> list[str]:
    if isinstance(row, PackageRow) and row.missing_from:
        return list(row.missing_from)
    return [name for name in report.side_names() if row.values.get(name) is None]


def _change(row: InterpreterRow | PackageRow) -> str | None:
    return row.change if isinstance(row, PackageRow) else None


def _detail(row: InterpreterRow | PackageRow) -> str | None:
    return row.detail if isinstance(row, PackageRow) else None
