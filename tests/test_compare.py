"""compare() is pure: these tests build Environments by hand and check every row kind."""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from hypothesis import given
from hypothesis import strategies as st
from packaging.markers import default_environment

from parity.compare import NamedEnvironment, compare, specifier_allows, version_change
from parity.model import (
    Environment,
    Interpreter,
    Level,
    Location,
    Origin,
    Package,
    ProjectFacts,
    Requirement,
)
from parity.policy import Policy
from parity.report import Report, Severity, Status

LINUX = {**default_environment(), "sys_platform": "linux", "platform_system": "Linux"}
DARWIN = {**default_environment(), "sys_platform": "darwin", "platform_system": "Darwin"}


def interpreter(
    version: str = "3.11.7", markers: Mapping[str, str] = LINUX, **facts: str
) -> Interpreter:
    values = {
        "implementation": "cpython",
        "machine": "x86_64",
        "os": "Debian GNU/Linux 12 (bookworm)",
        "libc": "glibc 2.36",
    }
    values.update(facts)
    return Interpreter(
        implementation=values["implementation"],
        version=version,
        executable="/usr/bin/python3",
        machine=values["machine"],
        os=values["os"],
        libc=values["libc"],
        markers={**markers, "python_full_version": version},
    )


def installed(
    *packages: Package, interp: Interpreter | None = None, kind: str = "venv"
) -> Environment:
    return Environment(
        kind=kind,
        ref=kind,
        level=Level.INSTALLED,
        interpreter=interp or interpreter(),
        packages=packages,
    )


def declared(*requirements: Requirement, python: str | None = None) -> Environment:
    return Environment(
        kind="requirements",
        ref="requirements.txt",
        level=Level.DECLARED,
        requirements=requirements,
        python_requirement=python,
    )


def locked(*packages: Package) -> Environment:
    return Environment(kind="uv-lock", ref="uv.lock", level=Level.LOCKED, packages=packages)


def check(left: Environment, right: Environment, policy: Policy | None = None):  # type: ignore[no-untyped-def]
    return compare(NamedEnvironment("local", left), NamedEnvironment("container", right), policy)


def rows_by_name(report):  # type: ignore[no-untyped-def]
    return {row.name: row for row in report.packages}


@pytest.mark.parametrize(
    ("old", "new", "change"),
    [
        ("1.2.3", "2.0.0", "major"),
        ("1.2.3", "1.3.0", "minor"),
        ("1.2.3", "1.2.4", "patch"),
        ("1.2", "1.2.0.1", "patch"),
        ("1.2.3", "1.2.3rc1", "pre"),
        ("1.2.3.dev1", "1.2.3", "pre"),
        ("1.2.3", "1.2.3.post1", "post"),
        ("2.1.0+cu117", "2.1.0+cpu", "local"),
        ("1!1.0", "1.0", "other"),
        ("not a version", "1.0", "other"),
    ],
)
def test_version_change_kinds(old: str, new: str, change: str) -> None:
    assert version_change(old, new) == change


def test_identical_environments_are_in_parity() -> None:
    packages = (Package("Django", "4.2.7"), Package("requests", "2.31.0"))
    report = check(installed(*packages), installed(*packages, kind="image"))
    assert report.verdict == "parity"
    assert report.packages == ()
    assert report.compared == 2


def test_version_drift_and_missing_with_pep503_names() -> None:
    left = installed(Package("Django", "4.2.7"), Package("requests", "2.31.0"))
    right = installed(Package("django", "5.0.1"), Package("Zope.Interface", "6.0"), kind="image")
    report = check(left, right)
    rows = rows_by_name(report)
    assert rows["django"].status == Status.VERSION
    assert rows["django"].change == "major"
    assert rows["django"].severity == Severity.ERROR
    assert rows["requests"].status == Status.MISSING
    assert rows["requests"].missing_from == ("container",)
    assert rows["zope-interface"].missing_from == ("local",)
    assert report.verdict == "drift"


def test_equal_versions_spelled_differently_are_the_same() -> None:
    report = check(installed(Package("a", "1.0")), installed(Package("a", "1.0.0"), kind="image"))
    assert report.packages == ()


def test_tooling_is_set_aside_unless_asked() -> None:
    left = installed(Package("pip", "23.0"), Package("setuptools", "66"), Package("wheel", "0.40"))
    right = installed(Package("pip", "24.0"), kind="image")
    report = check(left, right)
    assert {(row.name, row.status, row.severity) for row in report.packages} == {
        (name, Status.TOOLING, Severity.NONE) for name in ("pip", "setuptools", "wheel")
    }
    assert report.counted_packages() == [] and report.listed_packages() == ()
    assert report.set_aside_counts() == {"tooling": 3}
    assert report.compared == 0 and not report.has_drift
    shown = check(left, right, Policy(include_tooling=True))
    assert {row.name for row in shown.packages} == {"pip", "setuptools", "wheel"}
    assert {row.status for row in shown.packages} == {Status.VERSION, Status.MISSING}


PIPENV = (
    Package("pipenv", "2025.0.4", requires=("certifi", "packaging>=22", "virtualenv>=20.24")),
    Package("virtualenv", "20.31.2", requires=("distlib<1,>=0.3.7", "filelock<4,>=3.12.2")),
    Package("distlib", "0.3.9"),
    Package("filelock", "3.18.0"),
    Package("certifi", "2025.4.26"),
    Package("packaging", "25.0"),
)


def test_installers_and_what_only_they_require_are_tooling() -> None:
    app = (Package("django", "5.2", requires=("asgiref>=3.8",)), Package("asgiref", "3.8.1"))
    local = installed(*app)
    image = installed(*app, *PIPENV, kind="image")
    report = check(local, image)
    assert {row.name for row in report.packages if row.status == Status.TOOLING} == {
        "pipenv",
        "virtualenv",
        "distlib",
        "filelock",
        "certifi",
        "packaging",
    }
    assert not report.has_drift and report.compared == 2


def test_a_package_the_app_also_needs_is_still_compared() -> None:
    requests = Package("requests", "2.32.3", requires=("certifi>=2017.4.17",))
    local = installed(requests, Package("certifi", "2024.1.1"))
    image = installed(requests, *PIPENV, kind="image")
    rows = {row.name: row for row in check(local, image).packages}
    assert rows["certifi"].status == Status.VERSION and rows["certifi"].severity == Severity.ERROR
    assert rows["virtualenv"].status == Status.TOOLING


def test_a_declared_runtime_installer_is_compared() -> None:
    facts = ProjectFacts(name="app", main=frozenset({"virtualenv"}))
    local = installed(Package("virtualenv", "20.0"))
    image = installed(Package("virtualenv", "21.0"), kind="image")
    report = compare(
        NamedEnvironment("local", local), NamedEnvironment("container", image), None, facts
    )
    assert [row.status for row in report.packages] == [Status.VERSION]


PYTEST = (
    Package("pytest", "8.4.1", requires=("iniconfig>=1", "packaging>=20", "pluggy<2,>=1.5")),
    Package("iniconfig", "2.1.0"),
    Package("packaging", "25.0"),
    Package("pluggy", "1.6.0"),
)
FACTS = ProjectFacts(name="site-status", dev=frozenset({"pytest"}), main=frozenset({"click"}))


def check_project(local: Environment, image: Environment, policy: Policy | None = None) -> Report:
    return compare(
        NamedEnvironment("local", local), NamedEnvironment("container", image), policy, FACTS
    )


def test_dev_packages_absent_from_the_container_are_set_aside() -> None:
    click = Package("click", "8.2.1")
    report = check_project(installed(click, *PYTEST), installed(click, kind="image"))
    assert {(row.name, row.status, row.severity) for row in report.packages} == {
        (name, Status.DEV, Severity.INFO) for name in ("pytest", "iniconfig", "packaging", "pluggy")
    }
    assert not report.has_drift and report.count(Severity.INFO) == 0
    assert report.set_aside_phrase() == "4 rows not counted: 4 development-only"
    assert (
        check_project(
            installed(click, *PYTEST), installed(click, kind="image"), Policy(fail_on=Severity.INFO)
        ).verdict
        == "parity"
    )


def test_a_dev_tool_in_the_image_is_a_warning() -> None:
    click = Package("click", "8.2.1")
    report = check_project(installed(click, *PYTEST), installed(click, *PYTEST, kind="image"))
    assert [(row.name, row.status, row.severity) for row in report.packages] == [
        ("pytest", Status.DEV, Severity.WARNING)
    ]
    assert report.counted_packages() == list(report.packages)


def test_an_undeclared_package_beside_the_dev_tools_stays_loud() -> None:
    rich = Package("rich", "14.0.0")
    report = check_project(installed(*PYTEST, rich), installed(kind="image"))
    loud = [row.name for row in report.counted_packages()]
    assert loud == ["rich"]


def test_the_project_itself() -> None:
    here = Origin("editable", "file:///home/me/site-status")
    there = Origin("editable", "file:///app")
    local = installed(Package("site-status", "0.1.0", origin=here))
    same = check_project(local, installed(Package("site-status", "0.1.0", origin=there)))
    assert [(row.status, row.severity) for row in same.packages] == [
        (Status.PROJECT, Severity.NONE)
    ]
    other = check_project(local, installed(Package("site-status", "0.2.0")))
    assert [(row.status, row.severity, row.change) for row in other.packages] == [
        (Status.PROJECT, Severity.INFO, "minor")
    ]
    absent = check_project(local, installed(kind="image"))
    assert [(row.status, row.missing_from) for row in absent.packages] == [
        (Status.PROJECT, ("container",))
    ]
    assert not (same.has_drift or other.has_drift or absent.has_drift)
    assert absent.set_aside_phrase() == "1 row not counted: 1 the project itself"


def test_interpreter_minor_drift_is_an_error_and_patch_a_warning() -> None:
    minor = check(installed(interp=interpreter("3.11.7")), installed(interp=interpreter("3.12.1")))
    assert [(row.field, row.severity) for row in minor.interpreter] == [
        ("python_version", Severity.ERROR)
    ]
    patch = check(installed(interp=interpreter("3.11.7")), installed(interp=interpreter("3.11.2")))
    assert [(row.field, row.severity) for row in patch.interpreter] == [
        ("python_version", Severity.WARNING)
    ]
    assert patch.verdict == "parity"  # a warning is below the default --fail-on error


def test_interpreter_facts_architecture_libc_os() -> None:
    left = installed(interp=interpreter(machine="arm64", libc="glibc 2.36", os="macOS 14"))
    right = installed(interp=interpreter(machine="x86_64", libc="musl 1.2.4", os="Alpine 3.19"))
    fields = {row.field: row.severity for row in check(left, right).interpreter}
    assert fields == {
        "architecture": Severity.ERROR,
        "libc": Severity.ERROR,
        "os": Severity.INFO,
    }


def test_declared_requirements_checked_against_installed_versions() -> None:
    requirements = declared(
        Requirement("flask", "==3.0.3", declared_at=Location("requirements.txt", 1)),
        Requirement("requests", ">=2.28"),
        Requirement("gunicorn", "==22.0.0", marker='sys_platform == "linux"'),
        Requirement("pywin32", "", marker='sys_platform == "win32"'),
        Requirement("missing-one", ""),
    )
    image = installed(
        Package("Flask", "3.0.2"), Package("requests", "2.32.3"), Package("gunicorn", "22.0.0")
    )
    report = check(requirements, image)
    rows = rows_by_name(report)
    assert set(rows) == {"flask", "missing-one"}  # pywin32's marker is false in the container
    assert rows["flask"].status == Status.UNSATISFIED
    assert rows["flask"].values == {"local": "==3.0.3", "container": "3.0.2"}
    assert rows["flask"].declared_at == "requirements.txt:1"
    assert rows["missing-one"].status == Status.MISSING


def test_declared_markers_use_the_other_sides_environment() -> None:
    requirements = declared(Requirement("appnope", "", marker='sys_platform == "darwin"'))
    on_mac = installed(interp=interpreter(markers=DARWIN))
    on_linux = installed(interp=interpreter(markers=LINUX))
    assert rows_by_name(check(requirements, on_mac))["appnope"].status == Status.MISSING
    assert check(requirements, on_linux).packages == ()


def test_constraints_limit_versions_but_require_nothing() -> None:
    requirements = declared(
        Requirement("urllib3", "<2", is_constraint=True),
        Requirement("idna", "<4", is_constraint=True),
    )
    image = installed(Package("urllib3", "2.2.1"))
    rows = rows_by_name(check(requirements, image))
    assert set(rows) == {"urllib3"}
    assert rows["urllib3"].status == Status.UNSATISFIED


def test_requires_python_against_an_interpreter() -> None:
    report = check(declared(python=">=3.12"), installed(interp=interpreter("3.11.7")))
    assert [(row.field, row.status) for row in report.interpreter] == [
        ("python_version", Status.UNSATISFIED)
    ]


def test_locked_package_excluded_by_marker_is_platform_not_missing() -> None:
    lock = locked(
        Package("colorama", "0.4.6", marker='sys_platform == "win32"'),
        Package("click", "8.1.7"),
    )
    image = installed(Package("click", "8.1.7"), interp=interpreter(markers=LINUX))
    assert check(lock, image).packages == ()  # the lock's marker is false in the container
    mac_venv = installed(
        Package("click", "8.1.7"), Package("appnope", "0.1.4"), interp=interpreter(markers=DARWIN)
    )
    lock2 = locked(
        Package("click", "8.1.7"), Package("appnope", "0.1.4", marker='sys_platform == "darwin"')
    )
    rows = rows_by_name(check(mac_venv, lock2))
    assert rows == {}


def test_installed_platform_only_dependency_is_explained_by_requires_dist() -> None:
    ipython = Package("ipython", "8.20.0", requires=('appnope; sys_platform == "darwin"',))
    laptop = installed(ipython, Package("appnope", "0.1.4"), interp=interpreter(markers=DARWIN))
    container = installed(Package("ipython", "8.20.0"), kind="image")
    rows = rows_by_name(check(laptop, container))
    assert rows["appnope"].status == Status.PLATFORM
    assert rows["appnope"].severity == Severity.INFO
    assert rows["appnope"].detail == 'sys_platform == "darwin"'


def test_unexplained_one_sided_package_stays_missing() -> None:
    laptop = installed(Package("appnope", "0.1.4"), interp=interpreter(markers=DARWIN))
    rows = rows_by_name(check(laptop, installed(kind="image")))
    assert rows["appnope"].status == Status.MISSING


def test_source_drift_editable_and_vcs_commit() -> None:
    editable = Package("mylib", "1.0", origin=Origin("editable", "file:///src/mylib"))
    release = Package("mylib", "1.0")
    rows = rows_by_name(check(installed(editable), installed(release, kind="image")))
    assert rows["mylib"].status == Status.SOURCE
    assert rows["mylib"].severity == Severity.WARNING
    one = Package(
        "tool", "2.0", origin=Origin("vcs", "https://x/tool.git", commit="a" * 40, vcs="git")
    )
    two = Package(
        "tool", "2.0", origin=Origin("vcs", "https://x/tool.git", commit="b" * 40, vcs="git")
    )
    assert rows_by_name(check(installed(one), installed(two)))["tool"].status == Status.SOURCE


def test_policy_overrides_and_ignores() -> None:
    left = installed(Package("django", "4.2.7"), Package("boto3", "1.0"))
    right = installed(Package("django", "4.2.8"), Package("boto3", "1.1"))
    policy = Policy(
        ignore=frozenset({"boto3"}),
        severity_overrides={"django:version:patch": Severity.WARNING},
    )
    report = check(left, right, policy)
    assert [(row.name, row.severity) for row in report.packages] == [("django", Severity.WARNING)]
    assert report.verdict == "parity"
    strict = check(left, right, Policy(ignore=frozenset({"boto3"}), fail_on=Severity.WARNING))
    assert strict.verdict == "drift"


def test_show_same_lists_matches() -> None:
    packages = (Package("a", "1"),)
    report = check(installed(*packages), installed(*packages), Policy(show_same=True))
    assert [(row.name, row.status) for row in report.packages] == [("a", Status.SAME)]


def test_two_declarations_compare_specifiers() -> None:
    left = declared(Requirement("django", ">=4.2,<5"), Requirement("rich", ""))
    right = declared(Requirement("Django", "<5,>=4.2"), Requirement("click", "==8.1.7"))
    rows = rows_by_name(check(left, right))
    assert set(rows) == {"rich", "click"}


def test_poetry_or_specifier() -> None:
    assert specifier_allows(">=1.0,<2.0 || >=3.0,<4.0", "3.1")
    assert not specifier_allows(">=1.0,<2.0 || >=3.0,<4.0", "2.5")
    assert specifier_allows("", "anything")
    assert specifier_allows(">=1.0", "2.0rc1")  # a pre-release installed counts as installed


names = st.from_regex(r"[A-Za-z][A-Za-z0-9._-]{0,8}", fullmatch=True)
versions = st.from_regex(r"[0-9]{1,2}(\.[0-9]{1,2}){0,3}", fullmatch=True)


@given(st.dictionaries(names, versions, max_size=15))
def test_an_environment_is_in_parity_with_itself(packages: dict[str, str]) -> None:
    environment = installed(*(Package(name, version) for name, version in packages.items()))
    assert check(environment, environment).verdict == "parity"


@given(st.dictionaries(names, versions, max_size=10), st.dictionaries(names, versions, max_size=10))
def test_drift_is_symmetric(left: dict[str, str], right: dict[str, str]) -> None:
    a = installed(*(Package(n, v) for n, v in left.items()))
    b = installed(*(Package(n, v) for n, v in right.items()))
    forward, backward = check(a, b), check(b, a)
    assert forward.verdict == backward.verdict
    assert sorted((r.name, r.status) for r in forward.packages) == sorted(
        (r.name, r.status) for r in backward.packages
    )


def test_a_declared_dev_requirement() -> None:
    requirements = declared(Requirement("flask", "==3.1.1"), Requirement("pytest", ">=8"))
    flask = Package("flask", "3.1.1")
    facts = ProjectFacts(dev=frozenset({"pytest"}), main=frozenset({"flask"}))
    absent = compare(
        NamedEnvironment("local", requirements),
        NamedEnvironment("container", installed(flask, kind="image")),
        None,
        facts,
    )
    assert [(row.name, row.status, row.severity) for row in absent.packages] == [
        ("pytest", Status.DEV, Severity.INFO)
    ]
    assert not absent.has_drift
    shipped = compare(
        NamedEnvironment("local", requirements),
        NamedEnvironment("container", installed(flask, Package("pytest", "8.4.1"), kind="image")),
        None,
        facts,
    )
    assert [(row.name, row.status, row.severity) for row in shipped.packages] == [
        ("pytest", Status.DEV, Severity.WARNING)
    ]
