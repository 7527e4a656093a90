"""Fix hints: the commands that would make the local side match the container.

The container is taken as the truth (it is what runs in production), so the hints change
the local side:

* a local venv (or interpreter): one ``python -m pip uninstall -y ...`` for the packages
  the container lacks, then one ``python -m pip install ...`` with the container's exact
  versions for everything that differs or is missing locally. Both are runnable as
  printed inside the activated venv; every argument is quoted with :func:`shlex.quote`.
* a declared requirements file: a comment per unpinned (or range) requirement with the
  pin the container resolved, ready to paste, and a comment for each requirement the
  container does not satisfy.
* a lock file or snapshot: a comment per row (the lock, or the image, needs updating).
* the interpreter: a comment saying which Python to recreate the venv with.

Every line that is not a command starts with ``#``. :func:`fix_hints` is pure.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable
from dataclasses import dataclass

from parity.model import Environment, Level, Package, Requirement
from parity.policy import Policy
from parity.report import InterpreterRow, PackageRow, Report, Severity, Status

LIVE_LOCAL_KINDS = ("venv", "python")


def fix_hints(
    report: Report, local: Environment, container: Environment, policy: Policy | None = None
) -> tuple[str, ...]:
    """The hints for every drift row of ``report`` (local side first, container second).

    ``policy`` (the check's) keeps ignored packages out of the pin suggestions; rows
    whose severity is ``none`` get no hint.
    """
    local_name, container_name = report.side_names()[:2]
    sides = _Sides(local_name, container_name, local, container)
    rows = [row for row in report.packages if _wants_hint(row)]
    hints = [
        hint
        for row in report.interpreter
        if _wants_hint(row)
        for hint in _interpreter_hint(row, sides)
    ]
    if local.kind in LIVE_LOCAL_KINDS and local.level == Level.INSTALLED:
        hints += _pip_hints(rows, sides)
    elif local.level == Level.DECLARED:
        hints += _declaration_hints(rows, sides)
        hints += _pin_hints(report, sides, policy or Policy())
    else:
        hints += [_comment_for_row(row, sides) for row in rows]
    return tuple(hints)


@dataclass(frozen=True)
class _Sides:
    """The two sides' report names and environments."""

    local_name: str
    container_name: str
    local: Environment
    container: Environment

    def local_value(self, row: PackageRow | InterpreterRow) -> str | None:
        return row.values.get(self.local_name)

    def container_value(self, row: PackageRow | InterpreterRow) -> str | None:
        return row.values.get(self.container_name)

    @property
    def venv_label(self) -> str:
        return self.local.ref or "the venv"


def _wants_hint(row: PackageRow | InterpreterRow) -> bool:
    return row.status not in (Status.SAME, Status.PLATFORM) and row.severity != Severity.NONE


# --- interpreter -----------------------------------------------------------------------------


def _interpreter_hint(row: InterpreterRow, sides: _Sides) -> Iterable[str]:
    here, there = sides.local_value(row), sides.container_value(row)
    if row.field == "python_version" and row.status == Status.UNSATISFIED:
        yield (
            f"# the container runs Python {there}, which the local declaration does not allow "
            f"({here}): change the image's Python or the declared requires-python"
        )
    elif row.field == "python_version" and there:
        minor = _minor(there)
        venv = shlex.quote(sides.venv_label)
        if here and _minor(here) == minor:
            yield (
                f"# the container runs Python {there}, the local side {here}: only the patch "
                f"release differs; to match exactly, recreate the venv with Python {there}"
            )
        else:
            yield (
                f"# the container runs Python {there}, the local side {here}: recreate the "
                f"venv with Python {minor} (python{minor} -m venv --clear {venv}) and reinstall"
            )
    elif row.field == "implementation":
        yield f"# the container runs {there}, the local side {here}: recreate the venv with {there}"
    elif row.field in ("architecture", "libc"):
        yield (
            f"# the container's {row.field} is {there}, the local side's {here}: compiled "
            "packages differ by platform, which no install here can change"
        )


def _minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


# --- a live local side: pip commands ------------------------------------------------------


def _pip_hints(rows: list[PackageRow], sides: _Sides) -> list[str]:
    pip = _pip_command(sides.local)
    removals: list[str] = []
    installs: list[str] = []
    reinstalls: list[str] = []  # same version, another origin: pip must be told to replace it
    comments: list[str] = []
    for row in rows:
        if row.status == Status.MISSING and sides.container_name in row.missing_from:
            removals.append(row.name)
            continue
        wanted = _container_requirement(row, sides)
        if wanted is None:
            comments.append(_comment_for_row(row, sides))
        elif row.status == Status.SOURCE:
            reinstalls.append(wanted)
        else:
            installs.append(wanted)
    hints: list[str] = []
    if removals or installs or reinstalls:
        hints.append(
            f"# make {sides.venv_label} match the container: remove what the container does "
            "not have, install the container's versions"
        )
    if removals:
        hints.append(f"{pip} uninstall -y {_quoted(removals)}")
    if installs:
        hints.append(f"{pip} install {_quoted(installs)}")
    if reinstalls:
        hints.append(f"{pip} install --force-reinstall --no-deps {_quoted(reinstalls)}")
    return hints + comments


def _pip_command(local: Environment) -> str:
    """``python -m pip`` in an activated venv; a named interpreter's own path otherwise."""
    if local.kind == "python" and local.interpreter is not None:
        return f"{shlex.quote(local.interpreter.executable or local.ref)} -m pip"
    return "python -m pip"


def _container_requirement(row: PackageRow, sides: _Sides) -> str | None:
    """What ``pip install`` needs to get the container's version of ``row``, if pip can."""
    container = sides.container
    if container.level == Level.DECLARED:
        requirement = _requirement(container, row.name)
        if requirement is None or requirement.editable:
            return None
        if requirement.url:
            return f"{row.name} @ {requirement.url}"
        return f"{row.name}{requirement.specifier}"
    package = container.packages_by_key().get(row.name)
    if package is None:
        return None
    if package.origin is None:
        return f"{row.name}=={package.version}"
    return _vcs_requirement(row.name, package)


def _vcs_requirement(name: str, package: Package) -> str | None:
    """A VCS origin can be installed from here; a path inside the image cannot."""
    origin = package.origin
    if origin is None or origin.kind != "vcs" or not origin.vcs:
        return None
    commit = f"@{origin.commit}" if origin.commit else ""
    return f"{name} @ {origin.vcs}+{origin.url}{commit}"


def _requirement(environment: Environment, key: str) -> Requirement | None:
    for requirement in environment.requirements:
        if requirement.key == key and not requirement.is_constraint:
            return requirement
    return None


def _quoted(items: Iterable[str]) -> str:
    return " ".join(shlex.quote(item) for item in items)


# --- a declared local side: what to change in the file, or in the image -------------------


def _declaration_hints(rows: list[PackageRow], sides: _Sides) -> list[str]:
    hints = []
    for row in rows:
        where = row.declared_at or sides.local.ref
        there = sides.container_value(row)
        if row.status == Status.UNSATISFIED:
            hints.append(
                f"# {where}: {row.name}{sides.local_value(row) or ''} is not satisfied by the "
                f"container's {there}: rebuild the image, or declare {row.name}=={there}"
            )
        elif row.status == Status.MISSING and sides.container_name in row.missing_from:
            hints.append(
                f"# {where}: {row.name} is declared but the container does not have it: "
                "does the Dockerfile install this file? rebuild the image"
            )
        else:
            hints.append(_comment_for_row(row, sides))
    return hints


def _pin_hints(report: Report, sides: _Sides, policy: Policy) -> list[str]:
    """For a requirements file: the pin the container resolved for each unpinned requirement."""
    if sides.local.kind != "requirements" or sides.container.level == Level.DECLARED:
        return []
    with_rows = {row.name for row in report.packages if row.status != Status.SAME}
    pinned_by_constraint = {
        requirement.key
        for requirement in sides.local.requirements
        if requirement.is_constraint and _is_exact_pin(requirement.specifier)
    }
    installed = sides.container.packages_by_key()
    hints: list[str] = []
    for requirement in sides.local.requirements:
        key = requirement.key
        package = installed.get(key)
        if (
            package is None
            or requirement.is_constraint
            or requirement.url
            or requirement.editable
            or _is_exact_pin(requirement.specifier)
            or key in with_rows
            or key in pinned_by_constraint
            or policy.ignores(key)
        ):
            continue
        where = str(requirement.declared_at) if requirement.declared_at else sides.local.ref
        hints.append(
            f"# pin in {where}: {_pinned(requirement, package.version)}"
            f"  (declared {requirement.describe()}; the container resolved {package.version})"
        )
    return hints


def _pinned(requirement: Requirement, version: str) -> str:
    """The requirement line with an exact pin, extras and marker kept."""
    extras = f"[{','.join(requirement.extras)}]" if requirement.extras else ""
    marker = f" ; {requirement.marker}" if requirement.marker else ""
    return f"{requirement.name}{extras}=={version}{marker}"


def _is_exact_pin(specifier: str) -> bool:
    parts = [part.strip() for part in specifier.split(",") if part.strip()]
    return any(
        part.startswith("===") or (part.startswith("==") and "*" not in part) for part in parts
    )


# --- anything else: say what differs and where to change it --------------------------------


def _comment_for_row(row: PackageRow, sides: _Sides) -> str:
    here, there = sides.local_value(row), sides.container_value(row)
    source = row.declared_at or sides.local.ref
    if row.status == Status.MISSING and sides.container_name in row.missing_from:
        return f"# {row.name}: {source} has {here}, the container does not have it"
    if row.status == Status.MISSING:
        return f"# {row.name}: the container has {there}, {source} does not"
    if row.status == Status.SOURCE:
        return f"# {row.name}: installed from different places ({row.detail}); reinstall it"
    return f"# {row.name}: {source} has {here}, the container {there}; update one to match"
