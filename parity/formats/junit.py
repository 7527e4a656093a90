"""JUnit XML for CI test dashboards (GitLab, Jenkins, ...): one test case per report row.

A row that reaches the report's failing severity (errors, by default) is a ``<failure>``;
any other difference passes with its description in ``<system-out>``; ``same`` rows pass.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from parity.formats._text import ordered_rows, row_label, row_message, row_title, summary
from parity.report import InterpreterRow, PackageRow, Report, Severity, Status

_SUITE = "parity"
_NO_TIME = "0.000"
# Characters XML 1.0 cannot hold at all, even escaped.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def render(report: Report) -> str:
    """The report as a ``<testsuites>`` document holding one ``<testsuite name="parity">``."""
    suite = _suite(report)
    suites = ET.Element("testsuites", _counts(suite, name=_SUITE))
    suites.append(suite)
    ET.indent(suites)
    body = ET.tostring(suites, encoding="unicode")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{body}\n'


def xml_safe(text: str) -> str:
    """Replace characters XML 1.0 forbids (NUL, most control characters) with U+FFFD."""
    return _NOT_XML.sub("\ufffd", text)


def _suite(report: Report) -> ET.Element:
    suite = ET.Element("testsuite", {"name": _SUITE})
    suite.append(_properties(report))
    failing_ids = {id(row) for row in report.rows_at_or_above(report.fail_on)}
    for row in ordered_rows(report):
        suite.append(_testcase(report, row, failing=id(row) in failing_ids))
    _add_text(suite, "system-out", "\n".join([summary(report), *report.warnings]))
    suite.attrib.update(_counts(suite, name=_SUITE))
    return suite


def _properties(report: Report) -> ET.Element:
    properties = ET.Element("properties")
    facts = [(f"side.{side.name}", f"{side.kind}:{side.ref}") for side in report.sides]
    facts += [(f"side.{side.name}.description", side.description) for side in report.sides]
    facts += [("verdict", report.verdict), ("fail_on", report.fail_on.value)]
    for name, value in facts:
        if value:
            ET.SubElement(
                properties, "property", {"name": xml_safe(name), "value": xml_safe(value)}
            )
    return properties


def _testcase(report: Report, row: InterpreterRow | PackageRow, *, failing: bool) -> ET.Element:
    classname = "parity.interpreter" if isinstance(row, InterpreterRow) else "parity.packages"
    case = ET.Element(
        "testcase", {"classname": classname, "name": xml_safe(row_label(row)), "time": _NO_TIME}
    )
    if failing:
        failure = ET.SubElement(
            case,
            "failure",
            {"message": xml_safe(row_title(report, row)), "type": row.status.value},
        )
        failure.text = xml_safe(_details(report, row))
    elif row.status is not Status.SAME or row.severity is not Severity.NONE:
        _add_text(case, "system-out", _details(report, row))
    return case


def _details(report: Report, row: InterpreterRow | PackageRow) -> str:
    lines = [row_message(report, row), f"severity: {row.severity.value}"]
    if isinstance(row, PackageRow) and row.declared_at:
        lines.append(f"declared at: {row.declared_at}")
    return "\n".join(lines)


def _add_text(parent: ET.Element, tag: str, text: str) -> None:
    ET.SubElement(parent, tag).text = xml_safe(text)


def _counts(suite: ET.Element, *, name: str) -> dict[str, str]:
    cases = suite.findall("testcase")
    failures = sum(1 for case in cases if case.find("failure") is not None)
    return {
        "name": name,
        "tests": str(len(cases)),
        "failures": str(failures),
        "errors": "0",
        "skipped": "0",
        "time": _NO_TIME,
    }
