"""The plain-text phrasing of a report row, shared by the CI formats.

``row_title`` and ``row_message`` say the same thing in GitHub annotations, JUnit failures
and Markdown comments; ``verdict_phrase`` and ``summary`` give the one-line outcome.
"""

from __future__ import annotations

from parity.report import InterpreterRow, PackageRow, Report, Severity, Status

_ABSENT = "absent"
_COUNTED = (Severity.ERROR, Severity.WARNING, Severity.INFO)
_ROLE_NOUNS = {
    Status.DEV: "development only",
    Status.TOOLING: "installer tooling",
    Status.PROJECT: "the project itself",
}


def ordered_rows(report: Report) -> list[InterpreterRow | PackageRow]:
    """Interpreter rows in report order, then package rows by name: a stable order.

    Rows set aside (development-only, installer tooling, the project) only with ``--all``.
    """
    packages = sorted(report.listed_packages(), key=lambda row: (row.name, row.status.value))
    return [*report.interpreter, *packages]


def summary(report: Report) -> str:
    """``drift: 2 errors, 1 warning, 0 infos (local venv:.venv vs container image:app)``."""
    sides = " vs ".join(f"{side.name} {side.kind}:{side.ref}" for side in report.sides)
    return f"{verdict_phrase(report)} ({sides})" if sides else verdict_phrase(report)


def verdict_phrase(report: Report) -> str:
    """``drift: N errors, M warnings, K infos``, or ``parity`` with any lower-severity counts.

    What was set aside follows: ``; 3 rows not counted: 2 development-only, ...``.
    """
    if report.has_drift:
        phrase = f"drift: {count_phrase(report)}"
    elif any(report.count(severity) for severity in _COUNTED):
        phrase = f"parity ({count_phrase(report)})"
    else:
        phrase = "parity"
    return phrase + set_aside_suffix(report)


def set_aside_suffix(report: Report) -> str:
    """``; 3 rows not counted: 2 development-only, 1 installer tooling; --all lists them``."""
    phrase = report.set_aside_phrase()
    if not phrase:
        return ""
    return f"; {phrase}" + ("" if report.show_all else "; --all lists them")


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
    if isinstance(row, PackageRow) and row.status in _ROLE_NOUNS:
        noun = _ROLE_NOUNS[row.status]
        absent = _absent_sides(report, row)
        where = f", absent from {', '.join(absent)}" if absent else ""
        if row.severity >= Severity.WARNING and row.detail:
            return f"{label}: {row.detail}"
        return f"{label} ({noun}){where}"
    return f"{label} {' == '.join(values)}"


def row_message(report: Report, row: InterpreterRow | PackageRow) -> str:
    """Each side's value and the specifics: ``django: local 4.2.7, container 5.0.1 (major)``."""
    values = ", ".join(f"{name} {_value(row, name)}" for name in report.side_names())
    specifics = [part for part in (_change(row), _detail(row)) if part]
    suffix = f" ({'; '.join(specifics)})" if specifics else ""
    return f"{row_label(row)}: {values}{suffix}"


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
