"""Fix hints: the commands that make the local side match the container, in the venv's tool.

The container is taken as the truth (it is what runs in production). Hints are given only
for rows that are drift (severity at or above ``--fail-on``), and they converge: running
every printed command and checking again finds no drift.

* a venv managed by uv, Pipenv or Poetry for a project with a lock (``declared``): the
  declaration is brought to what the image has where the image differs from it (``uv lock
  --upgrade-package``, ``uv add``, ``pipenv install``, ``poetry add``), then the venv is
  synced from it (``uv sync``, ``pipenv sync`` and ``pipenv clean``, ``poetry install`` or
  ``poetry sync``). A package the declaration lists but the image lacks is the
  image's to fix: a comment, never an uninstall.
* a plain venv (``python -m pip``) or a uv venv without a project (``uv pip``): one
  uninstall for what the container lacks (never what the declaration lists, never an
  installer), then one install with the container's exact versions.
* a declared requirements file: a comment per unpinned (or range) requirement with the
  pin the container resolved, ready to paste, and a comment for each requirement the
  container does not satisfy.
* a lock file or snapshot: a comment per row (the lock, or the image, needs updating).
* the interpreter: the tool's own way to change the venv's Python (``uv python pin``,
  ``pipenv --python``, ``poetry env use``), a comment for a plain venv.

Every line that is not a command starts with ``#``; every argument is quoted with
:func:`shlex.quote`. :func:`fix_hints` is pure.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable
from dataclasses import dataclass, field

from parity.compare import distribution_origin
from parity.model import Environment, Level, Package, Requirement, canonical_name
from parity.policy import Policy
from parity.report import InterpreterRow, PackageRow, Report, Severity, Status
from parity.venv_manager import PIPENV, POETRY, UV, VenvManager

LIVE_LOCAL_KINDS = ("venv", "python")

# Rows a hint can act on; any other status (set aside as development-only, tooling, the
# project itself...) is never changed by a hint.
_ACTIONABLE = (Status.VERSION, Status.MISSING, Status.UNSATISFIED, Status.SOURCE, Status.DIFFERS)

# Installers: never installed into the application's environment by a hint.
INSTALLERS = frozenset(
    {"pip", "setuptools", "wheel", "pipenv", "poetry", "uv", "pdm", "pip-tools", "pipx"}
    | {"virtualenv", "hatch", "flit", "conda", "poetry-plugin-export", "pkg-resources"}
)


def fix_hints(
    report: Report,
    local: Environment,
    container: Environment,
    policy: Policy | None = None,
    *,
    declared: Environment | None = None,
    manager: VenvManager | None = None,
) -> tuple[str, ...]:
    """The hints for every drift row of ``report``.

    ``report`` compares ``local`` with ``container`` (its first two sides), or, with
    ``declared``, is the three-way report (declared, local, container). ``manager`` is the
    tool that manages a local venv (a plain venv when not given). ``policy`` (the check's)
    keeps ignored packages out of the pin suggestions.
    """
    policy = policy or Policy()
    names = report.side_names()
    if len(names) >= 3:
        declared_name, local_name, container_name = names[:3]
    else:
        declared, declared_name = None, ""
        local_name, container_name = names[:2]
    manager = manager or VenvManager()
    sides = _Sides(local_name, container_name, local, container, declared_name, declared, manager)
    rows = [row for row in report.packages if _wants_hint(row, report.fail_on)]
    hints = [
        hint
        for row in report.interpreter
        if _wants_hint(row, report.fail_on)
        for hint in _interpreter_hint(row, sides)
    ]
    if local.kind in LIVE_LOCAL_KINDS and local.level == Level.INSTALLED:
        if manager.project and declared is not None and local.kind == "venv":
            hints += _tool_hints(rows, sides, policy)
        else:
            hints += _pip_hints(rows, sides)
    elif local.level == Level.DECLARED:
        hints += _declaration_hints(rows, sides)
        hints += _pin_hints(report, sides, policy)
    else:
        hints += [_comment_for_row(row, sides) for row in rows]
    return tuple(_dedupe(hints))


def _dedupe(lines: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(lines))


@dataclass(frozen=True)
class _Sides:
    """The sides' report names and environments, and the tool of the local venv."""

    local_name: str
    container_name: str
    local: Environment
    container: Environment
    declared_name: str = ""
    declared: Environment | None = None
    manager: VenvManager = field(default_factory=VenvManager)

    def local_value(self, row: PackageRow | InterpreterRow) -> str | None:
        return row.values.get(self.local_name)

    def container_value(self, row: PackageRow | InterpreterRow) -> str | None:
        return row.values.get(self.container_name)

    def declared_value(self, row: PackageRow | InterpreterRow) -> str | None:
        return row.values.get(self.declared_name) if self.declared_name else None

    @property
    def venv_label(self) -> str:
        return self.local.ref or "the venv"

    def declares(self, key: str) -> bool:
        """Whether the declaration (any group) names ``key``."""
        declared = self.declared
        if declared is None:
            return False
        return any(r.key == key and not r.is_constraint for r in declared.requirements) or any(
            p.key == key for p in declared.packages
        )


def _wants_hint(row: PackageRow | InterpreterRow, fail_on: Severity) -> bool:
    return row.status in _ACTIONABLE and row.severity != Severity.NONE and row.severity >= fail_on


# --- interpreter -----------------------------------------------------------------------------


def _interpreter_hint(row: InterpreterRow, sides: _Sides) -> Iterable[str]:
    here, there = sides.local_value(row), sides.container_value(row)
    if row.field == "python_version" and sides.local.level == Level.DECLARED:
        if row.status == Status.UNSATISFIED:
            yield (
                f"# the container runs Python {there}, which the local declaration does not "
                f"allow ({here}): change the image's Python or the declared requires-python"
            )
    elif row.field == "python_version" and there:
        declared = sides.declared_value(row)
        if declared and not _allows(declared, there):
            yield (
                f"# the container runs Python {there}, which the declaration does not allow "
                f"({declared}): change the image's Python or the declared Python"
            )
            return
        if here and _minor(here) == _minor(there):
            yield (
                f"# the container runs Python {there}, the local side {here}: only the patch "
                f"release differs; to match exactly, recreate the venv with Python {there}"
            )
            return
        yield from _recreate_venv(sides, _minor(there), here or "?", there)
    elif row.field == "implementation":
        yield f"# the container runs {there}, the local side {here}: recreate the venv with {there}"
    elif row.field in ("architecture", "libc"):
        yield (
            f"# the container's {row.field} is {there}, the local side's {here}: compiled "
            "packages differ by platform, which no install here can change"
        )


def _recreate_venv(sides: _Sides, minor: str, here: str, there: str) -> Iterable[str]:
    """The venv's own tool recreating it with Python ``minor``."""
    tool = sides.manager.tool if sides.local.kind == "venv" else ""
    intro = f"# the container runs Python {there}, the local side {here}: "
    if tool == UV and sides.manager.project:
        yield intro + f"pin Python {minor} for the project and let uv recreate the venv"
        yield f"uv python pin {minor}"
        yield "uv sync"
    elif tool == PIPENV:
        yield intro + f"recreate the Pipenv venv with Python {minor}"
        yield f"pipenv --python {minor}"
        yield "pipenv sync --dev"
    elif tool == POETRY:
        yield intro + f"switch the Poetry venv to Python {minor}"
        yield f"poetry env use {minor}"
        yield "poetry install"
    elif tool == UV:
        venv = shlex.quote(sides.venv_label)
        yield intro + (
            f"recreate the venv with Python {minor} (uv venv --python {minor} {venv}) and reinstall"
        )
    else:
        venv = shlex.quote(sides.venv_label)
        yield intro + (
            f"recreate the venv with Python {minor} (python{minor} -m venv --clear {venv}) "
            "and reinstall"
        )


def _allows(specifier: str, version: str) -> bool:
    from parity.compare import specifier_allows

    return specifier_allows(specifier, version)


def _minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


# --- a tool-managed venv: change the declaration where the image differs, then sync --------


def _tool_hints(rows: list[PackageRow], sides: _Sides, policy: Policy) -> list[str]:
    """uv, Pipenv or Poetry: the lock follows the image, the venv follows the lock."""
    from parity.compare import NamedEnvironment, compare

    assert sides.declared is not None
    declared = NamedEnvironment(sides.declared_name, sides.declared)
    off: dict[str, set[str]] = {}
    for name, environment in (
        (sides.local_name, sides.local),
        (sides.container_name, sides.container),
    ):
        report = compare(declared, NamedEnvironment(name, environment), policy)
        off[name] = {row.name for row in report.packages if row.status != Status.SAME}
    tool = sides.manager.tool
    lock = sides.declared.ref
    declare: list[tuple[str, str, bool]] = []  # name, the image's version, already declared
    comments: list[str] = []
    sync = False
    extras: list[str] = []  # only in the venv, declared nowhere: the sync removes them
    for row in rows:
        name = row.name
        there, here = sides.container_value(row), sides.local_value(row)
        container_off = name in off[sides.container_name]
        local_off = name in off[sides.local_name]
        if row.status == Status.SOURCE:
            if local_off:
                sync = True
            else:
                comments.append(_comment_for_row(row, sides))
        elif there is not None and (container_off or not local_off):
            if name in INSTALLERS:
                comments.append(f"# {name}: an installer in the image; not installed here")
                continue
            version = _container_version(row, sides)
            if version is None:
                comments.append(_comment_for_row(row, sides))
                continue
            declare.append((name, version, sides.declares(name)))
            sync = True
        elif there is None and container_off:
            comments.append(
                f"# {name}: {lock} declares it but the container does not have it: does the "
                "Dockerfile install from it? rebuild the image"
            )
        else:  # the venv left the declaration, the image follows it
            sync = True
            if here is not None and there is None:
                extras.append(name)
    hints: list[str] = []
    if declare or sync:
        hints.append(
            f"# make {sides.venv_label} match the container with {tool}: the declaration "
            "takes the image's versions, the venv is synced from it"
        )
    for name, version, known in declare:
        requirement = shlex.quote(f"{name}=={version}")
        if tool == UV:
            hints.append(
                f"uv lock --upgrade-package {requirement}" if known else f"uv add {requirement}"
            )
        elif tool == PIPENV:
            hints.append(f"pipenv install {requirement}")
        else:
            hints.append(f"poetry add {requirement}")
    if sync:
        if tool == UV:
            hints.append("uv sync")
        elif tool == PIPENV:
            # Without --dev: the lock's packages at their versions; [dev-packages] already
            # in the venv stay (pipenv clean keeps every section of the lock).
            hints.append("pipenv sync")
            if extras:
                hints.append("pipenv clean")
        else:
            hints.append("poetry sync" if extras else "poetry install")
    if extras:
        hints.append(_keep_for_development(extras, tool))
    return hints + comments


def _container_version(row: PackageRow, sides: _Sides) -> str | None:
    """The container's exact version of ``row``, when it is a plain release."""
    package = sides.container.packages_by_key().get(row.name)
    if sides.container.level == Level.DECLARED or package is None or package.origin is not None:
        return None
    return package.version


# --- a live local side: pip commands ------------------------------------------------------


def _pip_hints(rows: list[PackageRow], sides: _Sides) -> list[str]:
    pip = _pip_command(sides)
    removals: list[str] = []
    installs: list[str] = []
    reinstalls: list[str] = []  # same version, another origin: pip must be told to replace it
    comments: list[str] = []
    for row in rows:
        if row.status == Status.MISSING and sides.container_name in row.missing_from:
            if sides.local_value(row) is None:  # neither side has it: the declaration's row
                comments.append(_comment_for_row(row, sides))
            elif sides.declares(row.name):
                where = sides.declared.ref if sides.declared is not None else "the declaration"
                comments.append(
                    f"# {row.name}: {where} declares it but the container does not have it: "
                    "does the Dockerfile install it? rebuild the image"
                )
            else:
                removals.append(row.name)
            continue
        wanted = _container_requirement(row, sides)
        if row.status != Status.SOURCE and sides.local_value(row) == sides.container_value(row):
            comments += _declaration_follows(row, sides)  # both sides agree: the declaration
            continue
        if canonical_name(row.name) in INSTALLERS:
            comments.append(f"# {row.name}: an installer in the image; not installed here")
        elif wanted is None:
            comments.append(_comment_for_row(row, sides))
        elif row.status == Status.SOURCE:
            reinstalls.append(wanted)
        else:
            installs.append(wanted)
        if sides.declared is not None and wanted is not None and row.status != Status.SOURCE:
            comments += _declaration_follows(row, sides)
    hints: list[str] = []
    if removals or installs or reinstalls:
        hints.append(
            f"# make {sides.venv_label} match the container: remove what the container does "
            "not have, install the container's versions"
        )
    uninstall = "uninstall" if sides.manager.tool == UV else "uninstall -y"
    if removals:
        hints.append(f"{pip} {uninstall} {_quoted(removals)}")
    if installs:
        hints.append(f"{pip} install {_quoted(installs)}")
    if reinstalls:
        hints.append(f"{pip} install --force-reinstall --no-deps {_quoted(reinstalls)}")
    if removals:
        hints.append(_keep_for_development(removals, sides.manager.tool))
    return hints + comments


def _keep_for_development(names: list[str], tool: str) -> str:
    """What to do instead of removing packages the project needs while developing."""
    how = {
        UV: "uv add --dev",
        PIPENV: "pipenv install --dev",
        POETRY: "poetry add --group dev",
    }.get(tool, "a line in requirements-dev.txt")
    return (
        f"# {', '.join(names)}: if the project needs {'it' if len(names) == 1 else 'them'} "
        f"to develop or test, declare {'it' if len(names) == 1 else 'them'} for development "
        f"({how}) instead of removing {'it' if len(names) == 1 else 'them'}"
    )


def _declaration_follows(row: PackageRow, sides: _Sides) -> list[str]:
    """When the image left the declaration too, the declaration needs the image's version."""
    declared, there = sides.declared_value(row), sides.container_value(row)
    if there is None or sides.declared is None:
        return []
    if declared is None:
        if sides.declared.level != Level.LOCKED or sides.local_value(row) != there:
            return []
        return [
            f"# {row.name}: {there} on both sides, but {sides.declared.ref} does not pin it: "
            f"add {row.name}=={there} to the declaration and lock it again"
        ]
    if sides.declared.level == Level.DECLARED:
        requirement = _requirement(sides.declared, row.name)
        if requirement is None or _allows(requirement.specifier, there):
            return []
    if declared == there:
        return []
    where = row.declared_at or sides.declared.ref
    return [f"# {where}: declares {row.name} {declared}, the container has {there}: update it"]


def _pip_command(sides: _Sides) -> str:
    """``python -m pip`` (``uv pip`` in a uv venv) in an activated venv; a named
    interpreter's own path otherwise."""
    local = sides.local
    if local.kind == "python" and local.interpreter is not None:
        return f"{shlex.quote(local.interpreter.executable or local.ref)} -m pip"
    if sides.manager.tool == UV:
        return "uv pip"
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
    if package.origin is None or not distribution_origin(package):
        # an index release, or a wheel file the image installed from a wheelhouse: the index
        # gives the same distribution
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
    if here is None and there is None and sides.declared is not None:
        return (
            f"# {row.name}: {row.declared_at or sides.declared.ref} declares "
            f"{sides.declared_value(row)}, neither side has it: update the declaration, or "
            "install it on both sides"
        )
    if row.status == Status.MISSING and sides.container_name in row.missing_from:
        return f"# {row.name}: {source} has {here}, the container does not have it"
    if row.status == Status.MISSING:
        return f"# {row.name}: the container has {there}, {source} does not"
    if row.status == Status.SOURCE:
        return f"# {row.name}: installed from different places ({row.detail}); reinstall it"
    return f"# {row.name}: {source} has {here}, the container {there}; update one to match"
