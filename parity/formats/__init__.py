"""Formats turn a Report into text. Each is a plain function ``render(report) -> str``."""

from __future__ import annotations

import importlib
from collections.abc import Sequence

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


def render_set(
    reports: Sequence[tuple[str, Report]],
    skipped: Sequence[tuple[str, str]],
    format_name: str,
    *,
    styled: bool = False,
    width: int = 100,
) -> str:
    """Several reports, one per compose service (``check --all-services``).

    JSON gives one ``parity.report-set/1`` document holding each service's
    ``parity.report/1``; the other formats give one section per service.
    """
    if format_name == "json":
        import json

        from parity.formats.json import to_dict

        document = {
            "schema": "parity.report-set/1",
            "verdict": "drift" if any(report.has_drift for _, report in reports) else "parity",
            "reports": {name: to_dict(report) for name, report in reports},
            "skipped": dict(skipped),
        }
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    if format_name == "junit":
        return _junit_set(reports)
    sections = []
    for name, report in reports:
        body = render(report, format_name, styled=styled, width=width)
        if format_name in ("table", "markdown"):
            heading = f"## service {name}" if format_name == "markdown" else f"service {name}"
            body = f"{heading}\n{body}"
        sections.append(body)
    if format_name == "table":
        sections += [f"skipped service {name}: {reason}\n" for name, reason in skipped]
    return "\n".join(sections)


def _junit_set(reports: Sequence[tuple[str, Report]]) -> str:
    """One JUnit document with a test suite per service."""
    import xml.etree.ElementTree as ET

    from parity.formats import junit

    root = ET.Element("testsuites", name="parity")
    totals = dict.fromkeys(("tests", "failures", "errors", "skipped"), 0)
    for name, report in reports:
        for suite in ET.fromstring(junit.render(report)).iter("testsuite"):
            suite.set("name", f"parity.{name}")
            for key in totals:
                totals[key] += int(suite.get(key, "0"))
            root.append(suite)
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("time", "0")
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
