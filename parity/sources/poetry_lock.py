"""poetry.lock (lock-version 1.1, 2.0, 2.1): the packages ``poetry export`` would list.

Groups: ``main`` plus ``groups`` (``no_default_groups`` drops ``main``), as
``poetry export --with`` / ``--only``. Extras: the project's extras named in ``extras``.

* lock-version 2.1 records each package's ``groups`` and ``markers``; a package is
  installed when one of its groups is chosen and that group's marker holds, the
  marker's ``extra`` meaning the project's chosen extras (this is what Poetry 2 does).
* Older locks are walked from the project's dependencies in the pyproject.toml beside
  the lock (``[project]`` dependencies and optional-dependencies, ``[tool.poetry]``
  dependencies, groups, dev-dependencies and extras, ``[dependency-groups]``) through
  each package's ``[package.dependencies]`` (string, table or list of tables with
  ``version``, ``markers``, ``python``, ``platform``, ``extras``, ``optional``) and, for
  requested extras, ``[package.extras]``. When a name is locked in several versions the
  dependency's constraint picks among them, then each version's ``python-versions``
  (the highest version whose range holds the Python wins), like poetry-plugin-export.
  Without a pyproject.toml every locked package is listed (1.1: by ``category``).

Markers are evaluated against ``marker_env`` where it has the variable; without it
each package's ``marker`` is the exact condition under which it is installed (None:
always). The project's own Python constraint is not applied (a warning says when
``marker_env``'s Python is outside it).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.version import InvalidVersion, Version

from parity.errors import SourceError
from parity.model import Environment, Level, Location, Origin, Package, canonical_name
from parity.redact import redact_origin
from parity.sources.lockgraph import (
    ALWAYS,
    NEVER,
    Atom,
    Condition,
    Edge,
    KnownValues,
    LockDataError,
    NodeKey,
    TomlTable,
    atom_condition,
    describe_selection,
    file_url,
    get_list,
    get_str,
    get_strings,
    get_table,
    get_tables,
    parse_condition,
    reachability,
    read_toml,
    require_str,
    specifier_condition,
)
from parity.sources.poetry_constraint import (
    constraint_allows,
    poetry_constraint_to_specifiers,
    specifier_pairs,
)

MAIN_GROUP = "main"


class PoetryLockError(SourceError):
    """A poetry.lock (or its pyproject.toml) could not be read, or cannot give what was asked."""


# ------------------------------------------------------------------- Poetry constraints


def python_condition(text: str | None) -> Condition:
    """A Poetry Python constraint as a marker condition on the Python version."""
    if not text:
        return ALWAYS
    try:
        branches = poetry_constraint_to_specifiers(text)
    except ValueError:
        raise LockDataError(f"cannot read Python constraint {text!r}") from None
    condition = NEVER
    for branch in branches:
        condition = condition.or_(_python_branch(specifier_pairs(branch)))
    return condition


def _python_branch(pairs: list[tuple[str, str]]) -> Condition:
    condition = ALWAYS
    for op, version in pairs:
        precise = len(version.removesuffix(".*").split(".")) > 2
        variable = "python_full_version" if precise else "python_version"
        condition = condition.and_(specifier_condition(variable, [(op, version)]))
    return condition


# --------------------------------------------------------------------- lock contents


@dataclass(frozen=True)
class _Spec:
    """One dependency constraint: ``name = "^1"`` or one table of a list of tables."""

    name: str
    constraint: str = "*"
    marker: str | None = None
    python: str | None = None
    platform: str | None = None
    extras: tuple[str, ...] = ()
    optional: bool = False

    @property
    def key(self) -> str:
        return canonical_name(self.name)


@dataclass(frozen=True)
class _Locked:
    """One ``[[package]]`` of a poetry.lock."""

    name: str
    version: str
    python_versions: str
    dependencies: tuple[_Spec, ...]
    extras: Mapping[str, tuple[tuple[str, tuple[str, ...]], ...]]  # extra -> (key, extras)
    groups: tuple[str, ...] | None
    markers: str | Mapping[str, str] | None
    category: str | None
    origin: Origin | None

    @property
    def key(self) -> str:
        return canonical_name(self.name)


def _read_spec(name: str, value: object, where: str) -> list[_Spec]:
    if isinstance(value, str):
        return [_Spec(name, value)]
    if isinstance(value, Mapping):
        return [_spec_table(name, value, where)]
    if isinstance(value, list) and all(isinstance(item, Mapping) for item in value):
        return [_spec_table(name, item, where) for item in value if isinstance(item, Mapping)]
    raise LockDataError(f"{where}{name} must be a string, a table or an array of tables")


def _spec_table(name: str, table: TomlTable, where: str) -> _Spec:
    where = f"{where}{name}."
    optional = table.get("optional", False)
    if not isinstance(optional, bool):
        raise LockDataError(f"{where}optional must be true or false")
    return _Spec(
        name=name,
        constraint=get_str(table, "version", where) or "*",
        marker=get_str(table, "markers", where),
        python=get_str(table, "python", where),
        platform=get_str(table, "platform", where),
        extras=tuple(canonical_name(extra) for extra in get_strings(table, "extras", where)),
        optional=optional,
    )


_EXTRA_ENTRY = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[([^\]]*)\])?")


def _extra_entry(entry: str, where: str) -> tuple[str, tuple[str, ...]]:
    """``"build[virtualenv] (>=1.0.3)"`` -> (``build``, (``virtualenv``,))."""
    match = _EXTRA_ENTRY.match(entry)
    if match is None:
        raise LockDataError(f"{where}cannot read extra entry {entry!r}")
    extras = tuple(canonical_name(e) for e in (match.group(2) or "").split(",") if e.strip())
    return canonical_name(match.group(1)), extras


def _read_package(table: TomlTable, index: int, base: Path) -> _Locked:
    name = require_str(table, "name", f"package[{index}].")
    where = f"package {name!r}: "
    dependencies = get_table(table, "dependencies", where)
    extras = get_table(table, "extras", where)
    return _Locked(
        name=name,
        version=require_str(table, "version", where),
        python_versions=get_str(table, "python-versions", where) or "*",
        dependencies=tuple(
            spec
            for dep_name, value in dependencies.items()
            for spec in _read_spec(dep_name, value, f"{where}dependencies.")
        ),
        extras={
            canonical_name(extra): tuple(
                _extra_entry(entry, where) for entry in get_strings(extras, extra, where)
            )
            for extra in extras
        },
        groups=tuple(get_strings(table, "groups", where)) if "groups" in table else None,
        markers=_package_markers(table, where),
        category=get_str(table, "category", where),
        origin=redact_origin(_origin(table, base, where)),
    )


def _package_markers(table: TomlTable, where: str) -> str | Mapping[str, str] | None:
    markers = table.get("markers")
    if markers is None or isinstance(markers, str):
        return markers
    if isinstance(markers, Mapping) and all(isinstance(v, str) for v in markers.values()):
        return {canonical_name(group): str(value) for group, value in markers.items()}
    raise LockDataError(f"{where}markers must be a string or a table of strings")


def _origin(table: TomlTable, base: Path, where: str) -> Origin | None:
    source = get_table(table, "source", where)
    kind = get_str(source, "type", f"{where}source.")
    url = get_str(source, "url", f"{where}source.")
    if kind is None or url is None or kind in ("legacy", "pypi"):
        return None
    if kind == "directory":
        develop = table.get("develop") is True
        return Origin("editable" if develop else "directory", file_url(base, url))
    if kind == "file":
        return Origin("archive", file_url(base, url))
    if kind == "url":
        return Origin("archive", url)
    commit = get_str(source, "resolved_reference", f"{where}source.")
    commit = commit or get_str(source, "reference", f"{where}source.")
    return Origin("vcs", url, commit=commit, vcs=kind)


# ------------------------------------------------------------------------ the project


@dataclass(frozen=True)
class _Project:
    """What the pyproject.toml beside the lock says about dependencies and extras."""

    name: str | None = None
    version: str | None = None
    package_mode: bool = True
    python: str | None = None
    groups: Mapping[str, tuple[_Spec, ...]] = field(default_factory=dict)
    extras: Mapping[str, tuple[_Spec, ...]] = field(default_factory=dict)
    found: bool = False


def _read_project(path: Path) -> _Project:
    if not path.is_file():
        return _Project()
    try:
        data = read_toml(str(path))
        return _project_from(data)
    except LockDataError as error:
        raise LockDataError(str(error), error.line, str(path)) from None


def _project_from(data: TomlTable) -> _Project:
    project = get_table(data, "project", "")
    poetry = get_table(get_table(data, "tool", ""), "poetry", "tool.")
    poetry_deps = dict(get_table(poetry, "dependencies", "tool.poetry."))
    python = poetry_deps.pop("python", None)
    enrich = {
        canonical_name(name): _read_spec(name, value, "tool.poetry.dependencies.")
        for name, value in poetry_deps.items()
    }
    if "dependencies" in project:
        main = _pep621_specs(get_strings(project, "dependencies", "project."), enrich)
    else:
        main = [spec for specs in enrich.values() for spec in specs]
    groups = {MAIN_GROUP: tuple(main), **_poetry_groups(poetry), **_dependency_groups(data)}
    extras = _extras(project, poetry, main)
    requires_python = get_str(project, "requires-python", "project.")
    version = get_str(project, "version", "project.") or get_str(poetry, "version", "tool.poetry.")
    package_mode = poetry.get("package-mode", True) is not False
    return _Project(
        name=get_str(project, "name", "project.") or get_str(poetry, "name", "tool.poetry."),
        version=version,
        package_mode=package_mode,
        python=requires_python or (_pep440(python) if isinstance(python, str) else None),
        groups=groups,
        extras=extras,
        found=True,
    )


def _pep440(constraint: str) -> str:
    """A Poetry Python constraint (``^3.9``) as a PEP 440 specifier when it has one form."""
    try:
        branches = poetry_constraint_to_specifiers(constraint)
    except ValueError:
        return constraint
    return branches[0] if len(branches) == 1 else constraint


def _pep621_specs(lines: Sequence[str], enrich: Mapping[str, list[_Spec]]) -> list[_Spec]:
    specs: list[_Spec] = []
    for line in lines:
        requirement = _requirement(line)
        marker = str(requirement.marker) if requirement.marker else None
        richer = enrich.get(canonical_name(requirement.name))
        if richer:
            specs.extend(_with_marker(spec, marker) for spec in richer)
            continue
        specs.append(
            _Spec(
                requirement.name,
                str(requirement.specifier) or "*",
                marker,
                extras=tuple(canonical_name(extra) for extra in sorted(requirement.extras)),
            )
        )
    return specs


def _requirement(line: str) -> Requirement:
    try:
        return Requirement(line)
    except InvalidRequirement as error:
        raise LockDataError(f"invalid requirement {line!r}: {error}") from error


def _with_marker(spec: _Spec, marker: str | None) -> _Spec:
    if not marker:
        return spec
    joined = f"({spec.marker}) and ({marker})" if spec.marker else marker
    return _Spec(
        spec.name, spec.constraint, joined, spec.python, spec.platform, spec.extras, spec.optional
    )


def _poetry_groups(poetry: TomlTable) -> dict[str, tuple[_Spec, ...]]:
    groups: dict[str, tuple[_Spec, ...]] = {}
    if "dev-dependencies" in poetry:
        legacy = get_table(poetry, "dev-dependencies", "tool.poetry.")
        groups["dev"] = _specs_of(legacy, "tool.poetry.dev-dependencies.")
    for name, table in get_table(poetry, "group", "tool.poetry.").items():
        if not isinstance(table, Mapping):
            raise LockDataError(f"tool.poetry.group.{name} must be a table")
        where = f"tool.poetry.group.{name}."
        specs = _specs_of(get_table(table, "dependencies", where), f"{where}dependencies.")
        key = canonical_name(name)
        groups[key] = groups.get(key, ()) + specs
    return groups


def _specs_of(table: TomlTable, where: str) -> tuple[_Spec, ...]:
    return tuple(
        spec
        for name, value in table.items()
        if name != "python"
        for spec in _read_spec(name, value, where)
    )


def _dependency_groups(data: TomlTable) -> dict[str, tuple[_Spec, ...]]:
    table = get_table(data, "dependency-groups", "")
    return {
        canonical_name(name): tuple(_group_specs(table, name, set()))
        for name in table
        if name != MAIN_GROUP
    }


def _group_specs(table: TomlTable, name: str, seen: set[str]) -> list[_Spec]:
    """PEP 735 group entries, following ``{include-group = ...}``."""
    if name in seen:
        raise LockDataError(f"dependency-groups.{name} includes itself")
    specs: list[_Spec] = []
    for entry in get_list(table, name, "dependency-groups."):
        if isinstance(entry, str):
            specs.extend(_pep621_specs([entry], {}))
        elif isinstance(entry, Mapping) and isinstance(entry.get("include-group"), str):
            specs.extend(_group_specs(table, str(entry["include-group"]), seen | {name}))
        else:
            raise LockDataError(f"dependency-groups.{name} has an unreadable entry")
    return specs


def _extras(
    project: TomlTable, poetry: TomlTable, main: list[_Spec]
) -> dict[str, tuple[_Spec, ...]]:
    extras: dict[str, tuple[_Spec, ...]] = {}
    optional = get_table(project, "optional-dependencies", "project.")
    for name in optional:
        specs = _pep621_specs(get_strings(optional, name, "project.optional-dependencies."), {})
        extras[canonical_name(name)] = tuple(specs)
    by_key: dict[str, list[_Spec]] = {}
    for spec in main:
        by_key.setdefault(spec.key, []).append(spec)
    poetry_extras = get_table(poetry, "extras", "tool.poetry.")
    for name in poetry_extras:
        members = get_strings(poetry_extras, name, "tool.poetry.extras.")
        specs = [spec for member in members for spec in by_key.get(_extra_entry(member, "")[0], [])]
        extras[canonical_name(name)] = tuple(specs)
    return extras


# ---------------------------------------------------------------------------- loading


def load_poetry_lock(
    path: str,
    *,
    extras: Sequence[str] = (),
    groups: Sequence[str] = (),
    include_project: bool = False,
    marker_env: Mapping[str, str] | None = None,
    all_extras: bool = False,
    no_default_groups: bool = False,
) -> Environment:
    """Read a poetry.lock into the packages it installs (see the module docstring)."""
    try:
        request = _Request(extras, groups, marker_env, all_extras, no_default_groups)
        return _load(path, request, include_project)
    except LockDataError as error:
        raise PoetryLockError(str(error), error.location(path)) from None


@dataclass(frozen=True)
class _Request:
    extras: Sequence[str]
    groups: Sequence[str]
    marker_env: Mapping[str, str] | None
    all_extras: bool
    no_default_groups: bool


def _load(path: str, request: _Request, include_project: bool) -> Environment:
    data = read_toml(path)
    lock_version = _lock_version(data)
    base = Path(path).resolve().parent
    packages = [
        _read_package(table, index, base)
        for index, table in enumerate(get_tables(data, "package", ""))
    ]
    get_table(get_table(data, "metadata", ""), "files", "metadata.")  # legacy hashes
    project = _read_project(Path(path).parent / "pyproject.toml")
    chosen_extras = _choose_extras(request, project, data)
    chosen_groups = _choose_groups(request, project, packages)
    warnings: list[str] = []
    if lock_version >= (2, 1) and all(package.groups is not None for package in packages):
        reached = _locked_markers(packages, chosen_groups, chosen_extras, request.marker_env)
    elif project.found:
        reached = _walk(packages, project, chosen_groups, chosen_extras, request.marker_env)
    else:
        reached = _everything(packages, chosen_groups)
        warnings.append("no pyproject.toml beside the lock: every locked package is listed")
    selected = _packages(packages, reached, path, warnings, request.marker_env is not None)
    if include_project:
        selected = [*_project_package(project, base, path), *selected]
    warnings.extend(_python_warnings(project.python, request.marker_env))
    return Environment(
        kind="poetry-lock",
        ref=path,
        level=Level.LOCKED,
        packages=tuple(selected),
        python_requirement=project.python,
        warnings=tuple(warnings),
        description=f"poetry.lock{describe_selection(chosen_extras, chosen_groups)}",
    )


def _lock_version(data: TomlTable) -> tuple[int, int]:
    metadata = get_table(data, "metadata", "")
    text = get_str(metadata, "lock-version", "metadata.")
    if text is None:
        raise LockDataError("not a poetry.lock: no [metadata] lock-version")
    match = re.fullmatch(r"(\d+)\.(\d+)", text)
    if match is None or int(match.group(1)) not in (1, 2):
        raise LockDataError(f"poetry.lock lock-version {text!r} is not supported")
    return int(match.group(1)), int(match.group(2))


def _choose_extras(request: _Request, project: _Project, data: TomlTable) -> list[str]:
    lock_extras = get_table(data, "extras", "")
    defined = sorted({*project.extras, *(canonical_name(name) for name in lock_extras)})
    if request.all_extras:
        return defined
    chosen = sorted({canonical_name(extra) for extra in request.extras})
    unknown = [extra for extra in chosen if extra not in defined]
    if unknown:
        raise LockDataError(
            f"extra {', '.join(unknown)} is not defined by the project"
            f" (it has: {', '.join(defined) or 'none'})"
        )
    return chosen


def _choose_groups(request: _Request, project: _Project, packages: list[_Locked]) -> list[str]:
    defined = {MAIN_GROUP, *project.groups}
    defined.update(canonical_name(group) for p in packages for group in p.groups or ())
    chosen = {canonical_name(group) for group in request.groups}
    unknown = sorted(chosen - defined)
    if unknown:
        raise LockDataError(
            f"group {', '.join(unknown)} is not defined by the project"
            f" (it has: {', '.join(sorted(defined))})"
        )
    if not request.no_default_groups:
        chosen.add(MAIN_GROUP)
    return sorted(chosen)


def _known(marker_env: Mapping[str, str] | None, extras: Sequence[str]) -> KnownValues:
    known: dict[str, str | frozenset[str]] = dict(marker_env or {})
    known["extra"] = frozenset(extras)
    return known


def _locked_markers(
    packages: list[_Locked],
    groups: list[str],
    extras: list[str],
    marker_env: Mapping[str, str] | None,
) -> dict[int, Condition]:
    """lock-version 2.1: each package's recorded groups and markers decide."""
    known = _known(marker_env, extras)
    reached: dict[int, Condition] = {}
    for index, package in enumerate(packages):
        condition = NEVER
        for group in {canonical_name(group) for group in package.groups or ()}:
            if group in groups:
                condition = condition.or_(parse_condition(_group_marker(package, group), known))
        if not condition.is_never:
            reached[index] = condition
    return reached


def _group_marker(package: _Locked, group: str) -> str | None:
    if isinstance(package.markers, Mapping):
        return package.markers.get(group)
    return package.markers


def _everything(packages: list[_Locked], groups: list[str]) -> dict[int, Condition]:
    """No pyproject: every package, or those of the chosen categories (lock 1.1)."""
    return {
        index: ALWAYS
        for index, package in enumerate(packages)
        if package.category is None or canonical_name(package.category) in groups
    }


def _walk(
    packages: list[_Locked],
    project: _Project,
    groups: list[str],
    extras: list[str],
    marker_env: Mapping[str, str] | None,
) -> dict[int, Condition]:
    graph = _Graph(packages, marker_env)
    root_known = _known(marker_env, extras)
    specs = [spec for group in groups for spec in project.groups.get(group, ())]
    specs = [spec for spec in specs if not spec.optional]
    specs.extend(spec for extra in extras for spec in project.extras.get(extra, ()))
    if project.name:
        specs = [spec for spec in specs if spec.key != canonical_name(project.name)]
    root_edges = [edge for spec in specs for edge in graph.spec_edges(spec, root_known)]
    return reachability(root_edges, graph.edges_of)


class _Graph:
    """Locked packages as a graph; edges pick among several locked versions of a name."""

    def __init__(self, packages: list[_Locked], marker_env: Mapping[str, str] | None) -> None:
        self.packages = packages
        self.marker_env = marker_env
        self.by_key: dict[str, list[int]] = {}
        for index, package in enumerate(packages):
            self.by_key.setdefault(package.key, []).append(index)

    def edges_of(self, node: NodeKey) -> list[Edge]:
        index, extra = node
        package = self.packages[index]
        known = _known(self.marker_env, [extra] if extra else [])
        if not extra:
            wanted = [spec for spec in package.dependencies if not spec.optional]
            return [edge for spec in wanted for edge in self.spec_edges(spec, known)]
        edges: list[Edge] = []
        for key, more_extras in package.extras.get(extra, ()):
            for spec in package.dependencies:
                if spec.key == key:
                    edges.extend(self.spec_edges(spec, known, more_extras))
        return edges

    def spec_edges(
        self, spec: _Spec, known: KnownValues, more_extras: tuple[str, ...] = ()
    ) -> list[Edge]:
        condition = parse_condition(spec.marker, known)
        condition = condition.and_(self._evaluate(python_condition(spec.python)))
        if spec.platform:
            condition = condition.and_(self._evaluate(_platform(spec.platform)))
        if condition.is_never:
            return []
        extras = tuple(sorted({*spec.extras, *more_extras}))
        return [
            Edge(index, extras, condition.and_(choice)) for index, choice in self._candidates(spec)
        ]

    def _candidates(self, spec: _Spec) -> list[tuple[int, Condition]]:
        """The locked versions a constraint may mean, each with when it is the one."""
        indexes = self.by_key.get(spec.key, [])
        if len(indexes) <= 1:
            return [(index, ALWAYS) for index in indexes]
        fitting = [
            i for i in indexes if constraint_allows(spec.constraint, self.packages[i].version)
        ]
        fitting = fitting or indexes
        fitting.sort(key=lambda i: _sort_version(self.packages[i].version), reverse=True)
        if len(fitting) == 1:
            return [(fitting[0], ALWAYS)]
        return self._by_python(fitting)

    def _by_python(self, indexes: list[int]) -> list[tuple[int, Condition]]:
        """Highest version first: each applies where its range holds and no higher one's."""
        choices: list[tuple[int, Condition]] = []
        taken = NEVER
        for index in indexes:
            own = self._evaluate(python_condition(self.packages[index].python_versions))
            not_taken = taken.negate()
            condition = own.and_(not_taken) if not_taken is not None else own
            if not condition.is_never:
                choices.append((index, condition))
            taken = taken.or_(own)
        return choices

    def _evaluate(self, condition: Condition) -> Condition:
        """Re-read a built condition so that ``marker_env`` decides what it can."""
        if self.marker_env is None or condition.is_always or condition.is_never:
            return condition
        return parse_condition(condition.render(), self.marker_env)


def _platform(platform: str) -> Condition:
    return atom_condition(Atom("sys_platform", "==", platform, True, False))


def _sort_version(text: str) -> tuple[int, Version | str]:
    try:
        return 1, Version(text)
    except InvalidVersion:
        return 0, text


# ---------------------------------------------------------------------------- results


def _packages(
    packages: list[_Locked],
    reached: Mapping[int, Condition],
    path: str,
    warnings: list[str],
    exact: bool,
) -> list[Package]:
    selected: list[Package] = []
    for index in sorted(reached, key=lambda i: (packages[i].key, packages[i].version)):
        package, condition = packages[index], reached[index]
        if condition.approximate:
            warnings.append(f"{package.name}: marker too complex, listed as always installed")
        selected.append(
            Package(
                name=package.name,
                version=package.version,
                origin=package.origin,
                marker=condition.render(),
                declared_at=Location(path),
                requires=tuple(spec.name for spec in package.dependencies if not spec.optional),
            )
        )
    if exact:
        _check_single_versions(selected)
    return selected


def _check_single_versions(packages: list[Package]) -> None:
    versions: dict[str, list[str]] = {}
    for package in packages:
        if package.marker is None:
            versions.setdefault(package.key, []).append(package.version)
    for key, found in versions.items():
        if len(found) > 1:
            raise LockDataError(f"the lock installs {key} twice here: {', '.join(found)}")


def _project_package(project: _Project, base: Path, path: str) -> list[Package]:
    if not project.name or not project.package_mode:
        return []
    return [
        Package(
            name=project.name,
            version=project.version or "",
            origin=Origin("editable", base.as_uri()),
            declared_at=Location(path),
        )
    ]


def _python_warnings(python: str | None, marker_env: Mapping[str, str] | None) -> list[str]:
    version = (marker_env or {}).get("python_full_version")
    if not python or not version:
        return []
    if constraint_allows(python, version):
        return []
    return [f"Python {version} is outside the project's Python constraint {python}"]


__all__ = ["PoetryLockError", "load_poetry_lock"]
