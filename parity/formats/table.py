"""The terminal table: interpreter differences, then package drift, then a one-line verdict.

Plain aligned text when not styled (not a TTY, or NO_COLOR); a rich table when styled.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from parity.formats._text import set_aside_suffix
from parity.report import InterpreterRow, PackageRow, Report, Severity, Status

_MISSING = "-"
_SEVERITY_STYLE = {
    Severity.ERROR: "bold red",
    Severity.WARNING: "yellow",
    Severity.INFO: "cyan",
    Severity.NONE: "green",
}


def render(report: Report, *, styled: bool = False, width: int = 100) -> str:
    """The whole report for a terminal; only the verdict line when there is nothing to show."""
    sections = _sections(report)
    if styled:
        return _render_rich(report, sections, width)
    lines: list[str] = []
    for title, header, rows in sections:
        lines.append(title)
        lines.extend("  " + line for line in _align([header, *rows]))
        lines.append("")
    lines += [f"warning: {warning}" for warning in report.warnings]
    lines.append(verdict_line(report))
    return "\n".join(lines) + "\n"


def verdict_line(report: Report) -> str:
    """``parity: ...`` or ``drift: ...``, with counts and the sides."""
    sides = " vs ".join(
        f"{side.name} {side.description or side.kind + ':' + side.ref}" for side in report.sides
    )
    aside = set_aside_suffix(report)
    if not report.has_drift:
        noted = _count_phrase(report, (Severity.WARNING, Severity.INFO))
        suffix = f" ({noted} below --fail-on {report.fail_on.value})" if noted else ""
        return f"parity: {report.compared} packages compared, no drift{suffix}{aside} [{sides}]"
    counts = _count_phrase(report, (Severity.ERROR, Severity.WARNING, Severity.INFO))
    return f"drift: {counts} ({report.compared} packages compared){aside} [{sides}]"


def _count_phrase(report: Report, severities: Sequence[Severity]) -> str:
    names = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "info"}
    parts = []
    for severity in severities:
        count = report.count(severity)
        if count:
            parts.append(f"{count} {names[severity]}{'s' if count != 1 else ''}")
    return ", ".join(parts)


Section = tuple[str, list[str], list[list[str]]]


def _sections(report: Report) -> list[Section]:
    names = list(report.side_names())
    sections: list[Section] = []
    if report.interpreter:
        header = ["FIELD", *[name.upper() for name in names], "SEVERITY"]
        rows = [_interpreter_cells(row, names) for row in report.interpreter]
        if any(row.detail for row in report.interpreter):
            header.append("NOTE")
            rows = [row + [""] * (len(header) - len(row)) for row in rows]
        sections.append(("Interpreter", header, rows))
    listed = report.listed_packages()
    if listed:
        header = ["PACKAGE", *[name.upper() for name in names], "STATUS", "SEVERITY", "NOTE"]
        rows = [_package_cells(row, names) for row in listed]
        sections.append(("Packages", header, rows))
    return sections


def _interpreter_cells(row: InterpreterRow, names: list[str]) -> list[str]:
    values = [_cell(row.values.get(name)) for name in names]
    return [row.field, *values, row.severity.value, *([row.detail] if row.detail else [])]


def _package_cells(row: PackageRow, names: list[str]) -> list[str]:
    values = [_cell(row.values.get(name)) for name in names]
    status = row.status.value
    if row.status == Status.VERSION and row.change:
        status = f"{status} ({row.change})"
    note = row.detail or ""
    if row.declared_at:
        note = f"{note}; {row.declared_at}" if note else row.declared_at
    return [row.name, *values, status, row.severity.value, note]


def _cell(value: str | None) -> str:
    return _MISSING if value is None else value


def _align(rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[index]) for row in rows) for index in range(len(rows[0]))]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows
    ]


def _render_rich(report: Report, sections: list[Section], width: int) -> str:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=width, highlight=False)
    for title, header, rows in sections:
        table = Table(title=title, title_justify="left", header_style="bold", box=None)
        for column in header:
            table.add_column(column, overflow="fold")
        severity_column = header.index("SEVERITY")
        for row in rows:
            style = _SEVERITY_STYLE.get(Severity(row[severity_column]), "")
            table.add_row(
                *[
                    Text(cell, style=style if index == severity_column else "")
                    for index, cell in enumerate(row)
                ]
            )
        console.print(table)
        console.print()
    for warning in report.warnings:
        console.print(Text(f"warning: {warning}", style="yellow"))
    verdict_style = "bold red" if report.has_drift else "bold green"
    console.print(Text(verdict_line(report), style=verdict_style))
    return buffer.getvalue()
