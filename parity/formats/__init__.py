"""Formats turn a Report into text. Each is a plain function ``render(report) -> str``."""

from __future__ import annotations

import importlib

from parity.errors import UsageError
from parity.report import Report

FORMATS = ("table", "json", "markdown", "junit", "github")


def render(report: Report, format_name: str, *, styled: bool = False, width: int = 100) -> str:
    """Render ``report`` in ``format_name``; only the table knows terminal styling."""
    if format_name not in FORMATS:
        raise UsageError(f"unknown format {format_name!r}; choose from {', '.join(FORMATS)}")
    if format_name == "table":
        from parity.formats import table

        return table.render(report, styled=styled, width=width)
    module = importlib.import_module(f"parity.formats.{format_name}")
    text: str = module.render(report)
    return text
