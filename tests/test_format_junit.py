"""JUnit XML: golden output, read back with junitparser and checked as GitLab/Jenkins read it."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from hypothesis import given
from hypothesis import strategies as st
from junitparser import Failure, JUnitXml, TestSuite
from test_format_markdown import SIDES, assert_matches_golden, clean_report, sample_report

from parity.formats import junit
from parity.report import PackageRow, Report, Severity, Status


def suite_of(report: Report) -> TestSuite:
    """The one ``parity`` suite, parsed by junitparser."""
    xml = JUnitXml.fromstring(junit.render(report))
    suites = list(xml)
    assert len(suites) == 1
    suite = suites[0]
    assert isinstance(suite, TestSuite)
    assert suite.name == "parity"
    return suite


def check_structure(text: str) -> ET.Element:
    """What CI readers rely on without an XSD: counts and times present, numeric, and consistent."""
    root = ET.fromstring(text.encode("utf-8"))
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert len(suites) == 1
    for element in (root, suites[0]):
        for attribute in ("tests", "failures", "errors", "skipped"):
            assert int(element.attrib[attribute]) >= 0
        assert float(element.attrib["time"]) >= 0
    cases = suites[0].findall("testcase")
    failures = [case for case in cases if case.find("failure") is not None]
    for element in (root, suites[0]):
        assert int(element.attrib["tests"]) == len(cases)
        assert int(element.attrib["failures"]) == len(failures)
        assert element.attrib["errors"] == element.attrib["skipped"] == "0"
    for case in cases:
        assert case.attrib["classname"] in ("parity.interpreter", "parity.packages")
        assert "name" in case.attrib
        assert float(case.attrib["time"]) >= 0
    for case in failures:
        failure = case.find("failure")
        assert failure is not None
        assert failure.attrib["message"]
        assert failure.attrib["type"] in {status.value for status in Status}
    return root


def test_sample_report_matches_golden() -> None:
    assert_matches_golden(junit.render(sample_report()), "report.junit.xml")


def test_clean_report_matches_golden() -> None:
    assert_matches_golden(junit.render(clean_report()), "clean.junit.xml")


def test_structure_is_what_ci_readers_expect() -> None:
    text = junit.render(sample_report())
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites ')
    root = check_structure(text)
    assert root.attrib["tests"] == "11"
    assert root.attrib["failures"] == "3"


def test_one_case_per_row_interpreter_first() -> None:
    cases = list(suite_of(sample_report()))
    assert [(case.classname, case.name) for case in cases] == [
        ("parity.interpreter", "python_version"),
        ("parity.interpreter", "implementation"),
        ("parity.interpreter", "libc"),
        ("parity.packages", "attrs"),
        ("parity.packages", "certifi"),
        ("parity.packages", "django"),
        ("parity.packages", "mylib"),
        ("parity.packages", "pywin32"),
        ("parity.packages", "requests"),
        ("parity.packages", "urllib3"),
        ("parity.packages", "weird-pkg"),
    ]


def test_error_rows_fail_with_status_type_and_details() -> None:
    suite = suite_of(sample_report())
    assert (suite.tests, suite.failures, suite.errors, suite.skipped) == (11, 3, 0, 0)
    failed = {case.name: case.result[0] for case in suite if not case.is_passed}
    assert set(failed) == {"django", "requests", "urllib3"}
    django = failed["django"]
    assert isinstance(django, Failure)
    assert django.message == "django 4.2.7 != 5.0.1"
    assert django.type == "version"
    assert django.text == (
        "django: local 4.2.7, container 5.0.1 (major)\n"
        "severity: error\n"
        "declared at: requirements.txt:3"
    )
    assert failed["requests"].type == "missing"
    assert failed["urllib3"].type == "unsatisfied"


def test_warnings_and_infos_pass_with_system_out() -> None:
    cases = {case.name: case for case in suite_of(sample_report())}
    assert cases["attrs"].is_passed
    assert cases["attrs"].system_out == (
        "attrs: local 23.1.0, container 23.2.0 (minor)\nseverity: warning"
    )
    assert cases["python_version"].is_passed
    assert cases["python_version"].system_out.startswith("python_version: local 3.11.7")
    assert cases["weird-pkg"].system_out.startswith(
        "weird-pkg: local 1.0|rc `x`\n100% <b>, container 2.0,final: 50% (other)"
    )


def test_same_rows_pass_silently() -> None:
    cases = {case.name: case for case in suite_of(sample_report())}
    for name in ("certifi", "implementation"):
        assert cases[name].is_passed
        assert cases[name].system_out is None


def test_suite_carries_sides_verdict_and_source_warnings() -> None:
    suite = suite_of(sample_report())
    properties = {prop.name: prop.value for prop in suite.properties()}
    assert properties == {
        "side.local": "venv:.venv",
        "side.container": "image:myapp:latest",
        "side.container.description": "image built from ./Dockerfile (sha256:3f1a)",
        "verdict": "drift",
        "fail_on": "error",
    }
    suite_out = check_structure(junit.render(sample_report())).find("testsuite/system-out")
    assert suite_out is not None
    assert suite_out.text == (
        "drift: 3 errors, 3 warnings, 3 infos (local venv:.venv vs container image:myapp:latest)\n"
        "requirements.txt:9: option --hash ignored"
    )


def test_fail_on_warning_makes_warnings_fail() -> None:
    suite = suite_of(sample_report(fail_on=Severity.WARNING))
    assert suite.failures == 6
    check_structure(junit.render(sample_report(fail_on=Severity.WARNING)))


def test_empty_report_is_an_empty_passing_suite() -> None:
    text = junit.render(Report(sides=SIDES, interpreter=(), packages=()))
    root = check_structure(text)
    assert root.attrib["tests"] == "0"
    assert suite_of(Report(sides=SIDES, interpreter=(), packages=())).tests == 0


def test_xml_safe_replaces_what_xml_cannot_hold() -> None:
    assert junit.xml_safe("a\x00b\x1bc\td\n\ufffe") == "a\ufffdb\ufffdc\td\n\ufffd"


_TEXT = st.text(st.characters(exclude_categories=["Cs"]))


@given(name=_TEXT, value=_TEXT, detail=_TEXT, warning=_TEXT)
def test_any_text_gives_well_formed_xml(name: str, value: str, detail: str, warning: str) -> None:
    rows = (
        PackageRow(name, {"local": value, "container": None}, Status.MISSING, Severity.ERROR),
        PackageRow(
            name, {"local": value, "container": "1"}, Status.SOURCE, Severity.INFO, detail=detail
        ),
    )
    report = Report(sides=SIDES, interpreter=(), packages=rows, warnings=(warning,))
    text = junit.render(report)
    check_structure(text)
    cases = list(suite_of(report))
    assert {case.name for case in cases} == {junit.xml_safe(name)}
    assert sum(1 for case in cases if not case.is_passed) == 1
