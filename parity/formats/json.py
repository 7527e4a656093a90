"""The ``parity.report/1`` JSON document (DESIGN.md): stable keys other tools rely on."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from parity.report import SCHEMA, InterpreterRow, PackageRow, Report, Severity, Side


def to_dict(report: Report) -> dict[str, Any]:
    """The report as plain JSON-ready data."""
    names = report.side_names()
    return {
        "schema": SCHEMA,
        "verdict": report.verdict,
        "fail_on": report.fail_on.value,
        "sides": [_side(side) for side in report.sides],
        "interpreter": [_interpreter_row(row, names) for row in report.interpreter],
        "packages": [_package_row(row, names) for row in report.packages],
        "summary": {
            "errors": report.count(Severity.ERROR),
            "warnings": report.count(Severity.WARNING),
            "infos": report.count(Severity.INFO),
            "compared": report.compared,
            "set_aside": report.set_aside_counts(),
        },
        "warnings": list(report.warnings),
    }


def render(report: Report) -> str:
    return json.dumps(to_dict(report), indent=2, ensure_ascii=False) + "\n"


def _side(side: Side) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": side.name,
        "kind": side.kind,
        "ref": side.ref,
        "description": side.description,
    }
    if side.image_id is not None:
        data["image_id"] = side.image_id
    if side.python_choice:
        data["python"] = side.python_choice
    return data


def _ordered(values: Mapping[str, str | None], names: Sequence[str]) -> dict[str, str | None]:
    """Values in the order of the report's sides."""
    return {name: values.get(name) for name in names}


def _interpreter_row(row: InterpreterRow, names: Sequence[str]) -> dict[str, Any]:
    data: dict[str, Any] = {
        "field": row.field,
        "values": _ordered(row.values, names),
        "status": row.status.value,
        "severity": row.severity.value,
    }
    if row.detail is not None:
        data["detail"] = row.detail
    return data


def _package_row(row: PackageRow, names: Sequence[str]) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": row.name,
        "values": _ordered(row.values, names),
        "status": row.status.value,
    }
    if row.change is not None:
        data["change"] = row.change
    if row.missing_from:
        data["missing_from"] = list(row.missing_from)
    data["severity"] = row.severity.value
    if row.detail is not None:
        data["detail"] = row.detail
    if row.declared_at is not None:
        data["declared_at"] = row.declared_at
    return data
