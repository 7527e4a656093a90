"""compare(): a pure function from two named environments and a Policy to a Report.

Names are compared PEP 503-normalised, versions as PEP 440 versions, and every marker is
evaluated against the marker environment of the side it applies to (a side that only
declares requirements has none of its own and borrows the other side's).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Set
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import TYPE_CHECKING

from packaging.version import InvalidVersion, Version

from parity.model import (
    Environment,
    Interpreter,
    Level,
    Package,
    ProjectFacts,
    Requirement,
    canonical_name,
)
from parity.policy import Policy
from parity.report import SET_ASIDE, InterpreterRow, PackageRow, Report, Severity, Side, Status
from parity.roles import Roles, package_roles

if TYPE_CHECKING:
    from packaging.markers import Marker


@dataclass(frozen=True)
class NamedEnvironment:
    """An environment with the name it has in the report (``local``, ``container``...)."""

    name: str
    environment: Environment


def compare(
    left: NamedEnvironment,
    right: NamedEnvironment,
    policy: Policy | None = None,
    project: ProjectFacts | None = None,
) -> Report:
    """Compare two environments and classify every difference.

    ``project`` (``parity check``) names the project and what it declares for development;
    the right side is then the deployed one, where a development tool is a warning.
    """
    policy = policy or Policy()
    left_markers = _marker_environment(left.environment, right.environment)
    right_markers = _marker_environment(right.environment, left.environment)
    interpreter_rows = tuple(
        row
        for row in _compare_interpreters(left, right, policy)
        if row.status != Status.SAME or policy.show_same
    )
    rows, compared = _compare_packages(left, right, left_markers, right_markers, policy, project)
    package_rows = tuple(sorted(rows, key=lambda row: row.name))
    sides = tuple(
        Side(
            named.name,
            named.environment.kind,
            named.environment.ref,
            named.environment.description,
            named.environment.image_id,
            named.environment.python_choice,
        )
        for named in (left, right)
    )
    warnings = tuple(
        f"{named.name}: {warning}"
        for named in (left, right)
        for warning in named.environment.warnings
    ) + tuple(f"project: {warning}" for warning in (project.warnings if project else ()))
    return Report(
        sides,
        interpreter_rows,
        package_rows,
        policy.fail_on,
        warnings,
        compared,
        show_all=policy.show_same,
    )


# --- markers -------------------------------------------------------------------------------


def _marker_environment(own: Environment, other: Environment) -> Mapping[str, str] | None:
    """The marker environment a side's markers are evaluated in: its own, else the other's."""
    for environment in (own, other):
        if environment.interpreter is not None and environment.interpreter.markers:
            return environment.interpreter.markers
    return None


@lru_cache(maxsize=4096)
def _parse_marker(text: str) -> Marker | None:
    from packaging.markers import InvalidMarker, Marker  # only when a marker is evaluated

    try:
        return Marker(text)
    except InvalidMarker:
        return None


def marker_applies(marker: str | None, environment: Mapping[str, str] | None) -> bool:
    """True when ``marker`` holds in ``environment`` (or when either is unknown)."""
    if not marker or environment is None:
        return True
    parsed = _parse_marker(marker)
    if parsed is None:
        return True
    from packaging.markers import UndefinedComparison, UndefinedEnvironmentName

    try:
        return parsed.evaluate({"extra": "", **environment})
    except (UndefinedComparison, UndefinedEnvironmentName):
        return True


# --- interpreter ---------------------------------------------------------------------------


def _compare_interpreters(
    left: NamedEnvironment, right: NamedEnvironment, policy: Policy
) -> Iterable[InterpreterRow]:
    left_interp, right_interp = left.environment.interpreter, right.environment.interpreter
    if left_interp is not None and right_interp is not None:
        yield from _compare_two_interpreters(
            left.name, left_interp, right.name, right_interp, policy
        )
        return
    for declared, live in ((left, right), (right, left)):
        requirement = declared.environment.python_requirement
        live_interp = live.environment.interpreter
        if requirement and live_interp is not None:
            yield _requires_python_row(declared.name, requirement, live.name, live_interp, policy)


def _compare_two_interpreters(
    left_name: str, left: Interpreter, right_name: str, right: Interpreter, policy: Policy
) -> Iterable[InterpreterRow]:
    yield _python_version_row(left_name, left, right_name, right, policy)
    facts = (
        ("implementation", left.implementation, right.implementation, Severity.ERROR),
        ("architecture", left.machine, right.machine, Severity.ERROR),
        ("libc", _libc_family(left.libc), _libc_family(right.libc), Severity.ERROR),
        ("libc_version", left.libc, right.libc, Severity.INFO),
        ("os", left.os, right.os, Severity.INFO),
    )
    for field_name, left_value, right_value, severity in facts:
        if field_name == "libc_version" and _libc_family(left.libc) != _libc_family(right.libc):
            continue  # already reported as a libc family difference
        values = {left_name: left_value, right_name: right_value}
        if field_name == "architecture":
            yield _architecture_row(values, policy)
            continue
        yield _interpreter_row(field_name, values, severity, policy)


# What platform.machine() says for one CPU architecture on each OS Python runs on: macOS
# says arm64 where Linux says aarch64 and Windows ARM64; Windows says AMD64 where the
# others say x86_64 (amd64 on the BSDs and in Debian's names).
_ARCHITECTURE_ALIASES = {
    "x86_64": ("x86_64", "amd64", "x64", "em64t", "x86-64"),
    "aarch64": ("aarch64", "arm64", "armv8", "armv8-a", "arm64-v8a"),
    "x86": ("x86", "i386", "i486", "i586", "i686", "i86pc", "ia32"),
    # 32-bit ARM: armv8l is a 32-bit userland on a 64-bit ARM kernel.
    "arm": ("arm", "armv6l", "armv7l", "armv7", "armv7a", "armv8l", "armhf", "armel"),
    "ppc64le": ("ppc64le", "ppc64el", "powerpc64le"),
    "ppc64": ("ppc64", "powerpc64"),
    "s390x": ("s390x",),
    "riscv64": ("riscv64",),
    "loongarch64": ("loongarch64",),
}
_ARCHITECTURES = {
    alias: platform for platform, aliases in _ARCHITECTURE_ALIASES.items() for alias in aliases
}


def architecture(machine: str) -> str:
    """The platform ``machine`` (a ``platform.machine()`` value) names: ``arm64`` -> ``aarch64``."""
    text = machine.strip().lower()
    return _ARCHITECTURES.get(text, text)


def _architecture_row(values: Mapping[str, str | None], policy: Policy) -> InterpreterRow:
    """Architectures compared as platforms; the row keeps each side's own spelling."""
    platforms = {architecture(value or "") for value in values.values()}
    if len(platforms) <= 1 or "" in platforms:
        return InterpreterRow("architecture", values, Status.SAME, Severity.NONE)
    severity = policy.severity_for(None, "architecture", Severity.ERROR)
    return InterpreterRow("architecture", values, Status.DIFFERS, severity)


def _libc_family(libc: str) -> str:
    return libc.split(" ", 1)[0] if libc else ""


def _interpreter_row(
    field_name: str, values: Mapping[str, str | None], severity: Severity, policy: Policy
) -> InterpreterRow:
    distinct = {value or "" for value in values.values()}
    if len(distinct) <= 1 or "" in distinct:
        # Equal, or one side could not tell (an unknown is not drift).
        return InterpreterRow(field_name, values, Status.SAME, Severity.NONE)
    return InterpreterRow(
        field_name, values, Status.DIFFERS, policy.severity_for(None, field_name, severity)
    )


def _python_version_row(
    left_name: str, left: Interpreter, right_name: str, right: Interpreter, policy: Policy
) -> InterpreterRow:
    values: dict[str, str | None] = {left_name: left.version, right_name: right.version}
    if left.version == right.version:
        return InterpreterRow("python_version", values, Status.SAME, Severity.NONE)
    change = version_change(left.version, right.version)
    default = Severity.ERROR if change in ("major", "minor", "other") else Severity.WARNING
    severity = policy.severity_for(None, f"python_version:{change}", default)
    return InterpreterRow("python_version", values, Status.DIFFERS, severity)


def _requires_python_row(
    declared_name: str, requirement: str, live_name: str, live: Interpreter, policy: Policy
) -> InterpreterRow:
    values: dict[str, str | None] = {declared_name: requirement, live_name: live.version}
    if specifier_allows(requirement, live.version):
        return InterpreterRow("python_version", values, Status.SAME, Severity.NONE)
    severity = policy.severity_for(None, "python_version:unsatisfied", Severity.ERROR)
    return InterpreterRow("python_version", values, Status.UNSATISFIED, severity)


# --- versions ------------------------------------------------------------------------------


@lru_cache(maxsize=65536)
def _parse_version(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None


def version_change(old: str, new: str) -> str:
    """Classify a version difference: major, minor, patch, pre, post, local or other."""
    left, right = _parse_version(old), _parse_version(new)
    if left is None or right is None or left.epoch != right.epoch:
        return "other"
    left_release = left.release + (0,) * (3 - len(left.release))
    right_release = right.release + (0,) * (3 - len(right.release))
    for index, kind in enumerate(("major", "minor")):
        if left_release[index] != right_release[index]:
            return kind
    if left_release[2:] != right_release[2:]:
        return "patch"
    if left.pre != right.pre or left.dev != right.dev:
        return "pre"
    if left.post != right.post:
        return "post"
    if left.local != right.local:
        return "local"
    return "other"


def specifier_allows(specifier: str, version: str) -> bool:
    """True when ``version`` satisfies ``specifier``; ``" || "`` separates alternatives (Poetry)."""
    if not specifier.strip():
        return True
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    parsed_version = _parse_version(version)
    for branch in specifier.split(" || "):
        try:
            specifier_set = SpecifierSet(branch)
        except InvalidSpecifier:
            continue
        if parsed_version is not None and specifier_set.contains(parsed_version, prereleases=True):
            return True
        if parsed_version is None and any(spec.version == version for spec in specifier_set):
            return True
    return False


# --- packages ------------------------------------------------------------------------------


def _compare_packages(
    left: NamedEnvironment,
    right: NamedEnvironment,
    left_markers: Mapping[str, str] | None,
    right_markers: Mapping[str, str] | None,
    policy: Policy,
    project: ProjectFacts | None = None,
) -> tuple[list[PackageRow], int]:
    """The package rows, and how many package names were compared."""
    left_env, right_env = left.environment, right.environment
    if left_env.level == Level.DECLARED and right_env.level == Level.DECLARED:
        return _compare_declarations(left, right, left_markers, policy)
    dev = project.dev if project is not None else frozenset()
    if left_env.level == Level.DECLARED:  # the right side is the deployed one
        return _compare_declared_with_pins(left, right, right_markers, policy, dev, True)
    if right_env.level == Level.DECLARED:
        return _compare_declared_with_pins(right, left, left_markers, policy, dev)
    return _compare_pins(left, right, left_markers, right_markers, policy, project)


def _applicable_packages(
    environment: Environment,
    markers: Mapping[str, str] | None,
    policy: Policy,
    keep_tooling: bool = False,
) -> dict[str, Package]:
    """Packages of a side that apply in its marker environment, by PEP 503 name.

    Ignored names are left out, and pip, setuptools and wheel too unless ``keep_tooling``.
    """
    selected: dict[str, Package] = {}
    for package in environment.packages:
        key = package.key
        if key in selected or (key in policy.ignore if keep_tooling else policy.ignores_key(key)):
            continue
        if package.marker is None or marker_applies(package.marker, markers):
            selected[key] = package
    return selected


def _compare_pins(
    left: NamedEnvironment,
    right: NamedEnvironment,
    left_markers: Mapping[str, str] | None,
    right_markers: Mapping[str, str] | None,
    policy: Policy,
    project: ProjectFacts | None = None,
) -> tuple[list[PackageRow], int]:
    left_packages = _applicable_packages(left.environment, left_markers, policy, True)
    right_packages = _applicable_packages(right.environment, right_markers, policy, True)
    keys = left_packages.keys() | right_packages.keys()
    rows: list[PackageRow] = []
    tooling = policy.include_tooling
    left_roles = package_roles(
        left.environment, project, include_tooling=tooling, keys=left_packages.keys()
    )
    right_roles = package_roles(
        right.environment, project, include_tooling=tooling, keys=right_packages.keys()
    )
    roles = _SideRoles(left.name, left_roles, right.name, right_roles, project)
    set_aside_tooling = 0
    indexes: dict[str, dict[str, list[tuple[str, str | None]]]] = {}

    one_sided = left_packages.keys() ^ right_packages.keys()

    def requirers(side: NamedEnvironment) -> dict[str, list[tuple[str, str | None]]]:
        if side.name not in indexes:  # built once, and only when a package is one-sided
            indexes[side.name] = requirers_index(side.environment, one_sided)
        return indexes[side.name]

    for key in keys:
        left_package, right_package = left_packages.get(key), right_packages.get(key)
        role_row = roles.row(key, left_package, right_package, policy)
        if role_row is not None:
            set_aside_tooling += role_row.status == Status.TOOLING
            if role_row.status != Status.SAME or policy.show_same:
                rows.append(role_row)
            continue
        if left_package is not None and right_package is not None:
            row = _compare_pair(left.name, left_package, right.name, right_package, policy)
        elif left_package is not None:
            row = _one_sided(
                left,
                left_package,
                left_markers,
                right,
                right_markers,
                right_packages,
                requirers(left),
                policy,
            )
        else:
            assert right_package is not None
            row = _one_sided(
                right,
                right_package,
                right_markers,
                left,
                left_markers,
                left_packages,
                requirers(right),
                policy,
            )
        if row.status != Status.SAME or policy.show_same:
            rows.append(row)
    return rows, len(keys) - set_aside_tooling - roles.same_tooling


@dataclass
class _SideRoles:
    """Both sides' package roles, and the rows they make (project, tooling, dev)."""

    left_name: str
    left: Roles
    right_name: str
    right: Roles
    project: ProjectFacts | None
    same_tooling: int = 0  # tooling packages equal on both sides (not counted as compared)

    def __post_init__(self) -> None:
        self.with_roles = self.left.tooling | self.left.dev | self.right.tooling | self.right.dev
        self.project_name = self.project.name if self.project is not None else None

    def row(
        self, key: str, left: Package | None, right: Package | None, policy: Policy
    ) -> PackageRow | None:
        """The row of a package with a role, or None for an ordinary package."""
        if key not in self.with_roles and key != self.project_name:
            return None
        if key == self.project_name:
            return self._project_row(key, left, right, policy)
        present = [
            (name, roles)
            for name, roles, package in (
                (self.left_name, self.left, left),
                (self.right_name, self.right, right),
            )
            if package is not None
        ]
        if any(key in roles.tooling for _, roles in present):
            row = self._set_aside(key, left, right, Status.TOOLING, Severity.NONE, policy)
            if row.status == Status.SAME:
                self.same_tooling += 1
            return row
        if self.project is None:
            return None
        if right is not None and key in self.right.dev_roots:
            values = {self.left_name: _version(left), self.right_name: right.version}
            severity = policy.severity_for(key, "dev", Severity.WARNING)
            detail = f"declared for development only, installed in {self.right_name}"
            return PackageRow(key, values, Status.DEV, severity, detail=detail)
        if any(key in roles.dev for _, roles in present):
            severity = policy.severity_for(key, "dev", Severity.INFO)
            return self._set_aside(key, left, right, Status.DEV, severity, policy)
        return None

    def _project_row(
        self, key: str, left: Package | None, right: Package | None, policy: Policy
    ) -> PackageRow:
        if left is not None and right is not None:
            pair = _compare_pair(self.left_name, left, self.right_name, right, policy)
            if pair.status == Status.SAME:
                return pair
            default = Severity.INFO if pair.status == Status.VERSION else Severity.NONE
            severity = policy.severity_for(key, "project", default)
            return replace(pair, status=Status.PROJECT, severity=severity)
        severity = policy.severity_for(key, "project", Severity.INFO)
        return self._set_aside(key, left, right, Status.PROJECT, severity, policy)

    def _set_aside(
        self,
        key: str,
        left: Package | None,
        right: Package | None,
        status: Status,
        severity: Severity,
        policy: Policy,
    ) -> PackageRow:
        """A row kept out of the drift: SAME when both sides agree, else ``status``."""
        if left is not None and right is not None:
            pair = _compare_pair(self.left_name, left, self.right_name, right, policy)
            if pair.status == Status.SAME:
                return pair
            return replace(pair, status=status, severity=severity)
        values = {self.left_name: _version(left), self.right_name: _version(right)}
        absent = self.left_name if left is None else self.right_name
        return PackageRow(key, values, status, severity, missing_from=(absent,))


def _version(package: Package | None) -> str | None:
    return package.version if package is not None else None


def _compare_pair(
    left_name: str, left: Package, right_name: str, right: Package, policy: Policy
) -> PackageRow:
    values: dict[str, str | None] = {left_name: left.version, right_name: right.version}
    name = left.key
    where = _declared_at(left, right)
    unpinned = not left.version or not right.version  # a lock entry that pins no version
    if (
        not unpinned
        and left.version != right.version
        and _parse_version(left.version) != _parse_version(right.version)
    ):
        change = version_change(left.version, right.version)
        severity = policy.severity_for(name, f"version:{change}", Severity.ERROR)
        return PackageRow(name, values, Status.VERSION, severity, change=change, declared_at=where)
    if left.origin is None and right.origin is None:  # two index releases: the common case
        return PackageRow(name, values, Status.SAME, Severity.NONE, declared_at=where)
    left_origin = distribution_origin(left)
    right_origin = distribution_origin(right)
    left_hash, right_hash = _wheel_hash(left), _wheel_hash(right)
    if left_hash and right_hash and left_hash != right_hash:
        left_origin, right_origin = f"wheel {left_hash}", f"wheel {right_hash}"
    if left_origin != right_origin:
        if left_origin and right_origin:
            detail = f"{left_name}: {_origin_text(left)}; {right_name}: {_origin_text(right)}"
        else:
            described, side = (left, left_name) if left_origin else (right, right_name)
            detail = f"{side}: {_origin_text(described)}"
        severity = policy.severity_for(name, "source", Severity.WARNING)
        return PackageRow(name, values, Status.SOURCE, severity, detail=detail, declared_at=where)
    return PackageRow(name, values, Status.SAME, Severity.NONE, declared_at=where)


def _origin_text(package: Package) -> str:
    return package.origin.describe() if package.origin is not None else ""


def _wheel_hash(package: Package) -> str | None:
    """The hash of the local wheel file ``package`` was installed from, when recorded."""
    origin = package.origin
    if origin is None or origin.kind != "archive" or distribution_origin(package):
        return None
    return origin.hash


def distribution_origin(package: Package) -> str:
    """What tells one build of a release from another: ``""`` for a plain release.

    A wheel installed from a local file (a wheelhouse stage's ``pip install /wheels/*``) is
    the same distribution an index would give, wherever the file lay; only a wheel build tag
    (``name-1.0-1-py3-none-any.whl``) tells a different build.
    """
    origin = package.origin
    if origin is None:
        return ""
    if origin.kind == "archive" and origin.url.startswith("file:"):
        filename = origin.url.split("#", 1)[0].rstrip("/").rsplit("/", 1)[-1]
        if filename.endswith(".whl"):
            parts = filename[: -len(".whl")].split("-")
            return f"wheel build {parts[2]}" if len(parts) == 6 else ""
    return origin.describe()


def _declared_at(*items: Package | Requirement | None) -> str | None:
    for item in items:
        if item is not None and item.declared_at is not None and item.declared_at.line:
            return str(item.declared_at)
    return None


def _one_sided(
    present: NamedEnvironment,
    package: Package,
    present_markers: Mapping[str, str] | None,
    absent: NamedEnvironment,
    absent_markers: Mapping[str, str] | None,
    absent_packages: Mapping[str, Package],
    requirers: Mapping[str, list[tuple[str, str | None]]],
    policy: Policy,
) -> PackageRow:
    """A package on one side only: missing, unless a marker explains its absence."""
    values: dict[str, str | None] = {present.name: package.version, absent.name: None}
    name = package.key
    marker = _platform_marker(
        package, present, present_markers, absent_markers, absent_packages, requirers
    )
    if marker is not None:
        severity = policy.severity_for(name, "platform", Severity.INFO)
        return PackageRow(
            name,
            values,
            Status.PLATFORM,
            severity,
            missing_from=(absent.name,),
            detail=marker,
            declared_at=_declared_at(package),
        )
    severity = policy.severity_for(name, "missing", Severity.ERROR)
    return PackageRow(
        name,
        values,
        Status.MISSING,
        severity,
        missing_from=(absent.name,),
        declared_at=_declared_at(package),
    )


def _platform_marker(
    package: Package,
    present: NamedEnvironment,
    present_markers: Mapping[str, str] | None,
    absent_markers: Mapping[str, str] | None,
    absent_packages: Mapping[str, Package],
    requirers: Mapping[str, list[tuple[str, str | None]]],
) -> str | None:
    """The marker that excludes ``package`` on the absent side, or None if none explains it.

    A lock pin carries its own marker. For installed environments, the package is explained
    when every installed distribution that requires it does so under a marker that is true
    here and false there (a macOS-only dependency in a laptop venv).
    """
    if absent_markers is None:
        return None
    if package.marker:
        return None if marker_applies(package.marker, absent_markers) else package.marker
    if present.environment.level != Level.INSTALLED:
        return None
    markers = requirers.get(package.key, [])
    if not markers:
        return None
    for requirer_key, marker in markers:
        if requirer_key not in absent_packages or marker is None:
            return None
        if not marker_applies(marker, present_markers) or marker_applies(marker, absent_markers):
            return None
    return " or ".join(sorted({marker for _, marker in markers if marker}))


def requirers_index(
    environment: Environment, wanted: Set[str]
) -> dict[str, list[tuple[str, str | None]]]:
    """For each ``wanted`` name, (requirer, marker) of every distribution that requires it.

    Requirements reached only through an extra are left out: they say nothing about
    platforms.
    """
    index: dict[str, list[tuple[str, str | None]]] = {}
    for requirer in environment.packages:
        requirer_key = requirer.key
        for line in requirer.requires:
            requirement_name, _, marker = line.partition(";")
            name = _requirement_name(requirement_name)
            if name not in wanted:
                continue
            marker_text = marker.strip() or None
            if marker_text and "extra" in marker_text:
                continue
            index.setdefault(name, []).append((requirer_key, marker_text))
    return index


_REQUIREMENT_NAME = re.compile(r"\s*([A-Za-z0-9._-]*)")


@lru_cache(maxsize=65536)
def _requirement_name(text: str) -> str:
    """The PEP 503 name a Requires-Dist line starts with."""
    match = _REQUIREMENT_NAME.match(text)
    return canonical_name(match.group(1)) if match else ""


def _compare_declared_with_pins(
    declared: NamedEnvironment,
    pinned: NamedEnvironment,
    pinned_markers: Mapping[str, str] | None,
    policy: Policy,
    dev: Set[str] = frozenset(),
    deployed: bool = False,
) -> tuple[list[PackageRow], int]:
    """Check each declared requirement against the other side's installed or locked versions.

    A declaration has no marker environment of its own: its markers are evaluated in the
    environment it is checked against.
    """
    packages = _applicable_packages(pinned.environment, pinned_markers, policy)
    rows: list[PackageRow] = []
    compared: set[str] = set()
    for requirement in _merged_requirements(declared.environment.requirements, policy):
        if not marker_applies(requirement.marker, pinned_markers):
            if policy.show_same:
                rows.append(
                    PackageRow(
                        requirement.key,
                        {declared.name: requirement.describe(), pinned.name: None},
                        Status.PLATFORM,
                        policy.severity_for(requirement.key, "platform", Severity.INFO),
                        missing_from=(pinned.name,),
                        detail=requirement.marker,
                        declared_at=_declared_at(requirement),
                    )
                )
            continue
        compared.add(requirement.key)
        row = _check_requirement(
            declared.name, requirement, pinned.name, packages, policy, dev, deployed
        )
        if row is not None and (row.status != Status.SAME or policy.show_same):
            rows.append(row)
    return rows, len(compared)


def _merged_requirements(
    requirements: Iterable[Requirement], policy: Policy
) -> Iterable[Requirement]:
    """Requirements (constraints included) minus ignored names; constraints follow their package."""
    for requirement in requirements:
        if not policy.ignores(requirement.name):
            yield requirement


def _check_requirement(
    declared_name: str,
    requirement: Requirement,
    pinned_name: str,
    packages: Mapping[str, Package],
    policy: Policy,
    dev: Set[str] = frozenset(),
    deployed: bool = False,
) -> PackageRow | None:
    """The row of one declared requirement; ``dev`` names those declared for development.

    A development requirement installed on a ``deployed`` side is a warning.
    """
    name = requirement.key
    package = packages.get(name)
    where = _declared_at(requirement)
    values: dict[str, str | None] = {
        declared_name: requirement.describe(),
        pinned_name: package.version if package is not None else None,
    }
    if package is None:
        if requirement.is_constraint:
            return None  # a constraint only limits what is installed
        if dev and name in dev:
            severity = policy.severity_for(name, "dev", Severity.INFO)
            return PackageRow(
                name, values, Status.DEV, severity, missing_from=(pinned_name,), declared_at=where
            )
        severity = policy.severity_for(name, "missing", Severity.ERROR)
        return PackageRow(
            name, values, Status.MISSING, severity, missing_from=(pinned_name,), declared_at=where
        )
    if deployed and name in dev and not requirement.is_constraint:
        severity = policy.severity_for(name, "dev", Severity.WARNING)
        detail = f"declared for development only, installed in {pinned_name}"
        return PackageRow(name, values, Status.DEV, severity, detail=detail, declared_at=where)
    if requirement.specifier and not specifier_allows(requirement.specifier, package.version):
        severity = policy.severity_for(name, "unsatisfied", Severity.ERROR)
        return PackageRow(
            name,
            values,
            Status.UNSATISFIED,
            severity,
            detail=f"{package.version} does not satisfy {requirement.specifier}",
            declared_at=where,
        )
    if requirement.url and not requirement.is_constraint:
        mismatch = _url_mismatch(requirement, package)
        if mismatch is not None:
            severity = policy.severity_for(name, "source", Severity.WARNING)
            return PackageRow(
                name, values, Status.SOURCE, severity, detail=mismatch, declared_at=where
            )
    return PackageRow(name, values, Status.SAME, Severity.NONE, declared_at=where)


def _url_mismatch(requirement: Requirement, package: Package) -> str | None:
    """Why an installed package does not come from the URL a requirement names, if it does not."""
    origin = package.origin
    if origin is None:
        return f"declared from {requirement.url}, installed from an index"
    if requirement.editable and origin.kind != "editable":
        return f"declared editable, installed as {origin.describe()}"
    if origin.kind == "vcs" and origin.commit and requirement.url:
        wanted = requirement.url.rsplit("@", 1)[-1].split("#", 1)[0]
        if _looks_like_commit(wanted) and not origin.commit.startswith(wanted):
            return f"declared at {wanted}, installed at {origin.commit}"
    return None


def _looks_like_commit(text: str) -> bool:
    return 7 <= len(text) <= 40 and all(char in "0123456789abcdef" for char in text.lower())


def _compare_declarations(
    left: NamedEnvironment,
    right: NamedEnvironment,
    markers: Mapping[str, str] | None,
    policy: Policy,
) -> tuple[list[PackageRow], int]:
    """Two declarations: compare what each asks for, name by name."""
    left_requirements = _declared_by_key(left.environment, markers, policy)
    right_requirements = _declared_by_key(right.environment, markers, policy)
    keys = left_requirements.keys() | right_requirements.keys()
    rows: list[PackageRow] = []
    for key in keys:
        left_requirement, right_requirement = (
            left_requirements.get(key),
            right_requirements.get(key),
        )
        values: dict[str, str | None] = {
            left.name: left_requirement.describe() if left_requirement else None,
            right.name: right_requirement.describe() if right_requirement else None,
        }
        where = _declared_at(left_requirement, right_requirement)
        if left_requirement is None or right_requirement is None:
            absent = left.name if left_requirement is None else right.name
            severity = policy.severity_for(key, "missing", Severity.ERROR)
            rows.append(
                PackageRow(
                    key, values, Status.MISSING, severity, missing_from=(absent,), declared_at=where
                )
            )
        elif not _same_specifier(left_requirement, right_requirement):
            severity = policy.severity_for(key, "version:other", Severity.WARNING)
            rows.append(
                PackageRow(key, values, Status.VERSION, severity, change="other", declared_at=where)
            )
        elif policy.show_same:
            rows.append(PackageRow(key, values, Status.SAME, Severity.NONE, declared_at=where))
    return rows, len(keys)


def _declared_by_key(
    environment: Environment, markers: Mapping[str, str] | None, policy: Policy
) -> dict[str, Requirement]:
    selected: dict[str, Requirement] = {}
    for requirement in environment.requirements:
        if requirement.is_constraint or policy.ignores(requirement.name):
            continue
        if marker_applies(requirement.marker, markers):
            selected.setdefault(requirement.key, requirement)
    return selected


def _same_specifier(left: Requirement, right: Requirement) -> bool:
    if left.url or right.url:
        return left.url == right.url
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    try:
        return SpecifierSet(left.specifier) == SpecifierSet(right.specifier)
    except InvalidSpecifier:
        return left.specifier == right.specifier


# --- three sides ---------------------------------------------------------------------------


def compare_with_declaration(
    declared: NamedEnvironment,
    local: NamedEnvironment,
    container: NamedEnvironment,
    policy: Policy | None = None,
    project: ProjectFacts | None = None,
) -> Report:
    """Local against container, with a third column: what the project declares or locks.

    Rows come from the local/container comparison; a row is added where both agree but
    the declaration says otherwise. Each row's ``detail`` says which side left the
    declaration, so a user sees whether to fix the venv or rebuild the image.
    """
    policy = policy or Policy()
    main = compare(local, container, policy, project)
    against_local = compare(declared, local, policy, project)
    against_container = compare(declared, container, policy, project)
    local_off = _off_rows(against_local)
    container_off = _off_rows(against_container)
    rows: dict[str, PackageRow] = {row.name: row for row in main.packages}
    for name, row in local_off.items():
        if name not in rows and name in container_off:
            rows[name] = row  # local and container agree, and both left the declaration
    merged = []
    for name, row in rows.items():
        values = {declared.name: _value_from(name, declared, against_local, against_container)}
        values.update({side: row.values.get(side) for side in (local.name, container.name)})
        for side, report in ((local.name, against_local), (container.name, against_container)):
            if values.get(side) is None:
                values[side] = _row_value(report, name, side)
        left = [
            side
            for side, off in ((local.name, local_off), (container.name, container_off))
            if name in off
        ]
        detail = row.detail
        if left and len(left) < 2 and row.status not in SET_ASIDE:
            note = f"{left[0]} differs from {declared.name}"
            detail = f"{detail}; {note}" if detail else note
        missing_from = row.missing_from
        if row.status == Status.MISSING:
            # Exactly the sides that lack it; a lock lacks what it does not pin, while a
            # declaration of requirements does not list every dependency.
            named = [local.name, container.name]
            if declared.environment.level == Level.LOCKED:
                named.insert(0, declared.name)
            missing_from = tuple(side for side in named if values.get(side) is None)
        merged.append(replace(row, values=values, detail=detail, missing_from=missing_from))
    sides = (
        Side(
            declared.name,
            declared.environment.kind,
            declared.environment.ref,
            declared.environment.description,
        ),
        *main.sides,
    )
    interpreter = _declared_python(declared, local, container, main.interpreter, policy)
    return replace(
        main,
        sides=sides,
        interpreter=interpreter,
        packages=tuple(sorted(merged, key=lambda row: row.name)),
        warnings=tuple(f"{declared.name}: {text}" for text in declared.environment.warnings)
        + main.warnings,
    )


def _off_rows(report: Report) -> dict[str, PackageRow]:
    """Rows where a side left the declaration (set-aside rows do not count)."""
    return {
        row.name: row
        for row in report.packages
        if row.status != Status.SAME and row.status not in SET_ASIDE
    }


def _declared_python(
    declared: NamedEnvironment,
    local: NamedEnvironment,
    container: NamedEnvironment,
    rows: tuple[InterpreterRow, ...],
    policy: Policy,
) -> tuple[InterpreterRow, ...]:
    """The python_version row with the declared Python, and which side left it."""
    wanted = declared.environment.python_requirement
    versions = {
        named.name: named.environment.interpreter.version
        for named in (local, container)
        if named.environment.interpreter is not None
    }
    if not wanted or len(versions) < 2:
        return rows
    row = next((row for row in rows if row.field == "python_version"), None)
    if row is None:  # same version on both sides, and --all not given
        row = InterpreterRow("python_version", dict(versions), Status.SAME, Severity.NONE)
    left = [side for side, version in versions.items() if not specifier_allows(wanted, version)]
    status, severity, detail = row.status, row.severity, row.detail
    if left:
        note = f"{' and '.join(left)} {'does' if len(left) == 1 else 'do'} not satisfy {wanted}"
        detail = f"{detail}; {note}" if detail else note
    if container.name in left:
        status = Status.UNSATISFIED
        version = versions[container.name]
        kind = "patch" if _pins_same_minor(wanted, version) else "unsatisfied"
        default = Severity.WARNING if kind == "patch" else Severity.ERROR
        unmet = policy.severity_for(None, f"python_version:{kind}", default)
        severity = max(severity, unmet, key=lambda item: item.rank)
    values = {declared.name: wanted, **row.values}
    updated = replace(row, values=values, status=status, severity=severity, detail=detail)
    if updated.status == Status.SAME and not policy.show_same:
        return tuple(r for r in rows if r.field != "python_version")
    others = tuple(r for r in rows if r.field != "python_version")
    return (updated, *others)


def _pins_same_minor(specifier: str, version: str) -> bool:
    """``==3.11.7`` against 3.11.9: only the patch release is off."""
    pinned = specifier.strip()
    if not pinned.startswith("==") or "," in pinned or "*" in pinned:
        return False
    return pinned[2:].strip().split(".")[:2] == version.split(".")[:2]


def _row_value(report: Report, name: str, side: str) -> str | None:
    for row in report.packages:
        if row.name == name:
            return row.values.get(side)
    return None


def _value_from(name: str, declared: NamedEnvironment, *reports: Report) -> str | None:
    for report in reports:
        value = _row_value(report, name, declared.name)
        if value is not None:
            return value
    environment = declared.environment
    for package in environment.packages:
        if package.key == name:
            return package.version
    for requirement in environment.requirements:
        if requirement.key == name and not requirement.is_constraint:
            return requirement.describe()
    return None
