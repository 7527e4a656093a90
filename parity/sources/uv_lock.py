"""uv.lock (version 1, any revision): the packages ``uv export`` / ``uv sync`` would install.

The walk starts at the project: the package whose source is ``editable``, ``virtual`` or
``directory`` ``"."`` (or whose name is ``[project].name`` of the pyproject.toml beside the
lock; failing both, the workspace members the ``[manifest]`` lists). It follows
``dependencies``, the chosen extras' ``optional-dependencies`` and the chosen groups'
``dev-dependencies``, like ``uv export``: the default groups (the root's
``default-groups``, else ``[tool.uv] default-groups``, else ``dev``) are on unless
``no_default_groups``; ``groups`` adds more.

Edge markers are evaluated against ``marker_env`` where it has the variable; uv's conflict
markers (``extra == 'extra-3-app-cpu'``, ``'group-3-app-dev'``) against the chosen extras
and groups. Forked resolutions need nothing special: the edges that pick one fork's
version carry that fork's marker. Without ``marker_env`` each package's ``marker`` is the
exact condition under which the lock installs it (None: always), so a forked package
appears once per version, each with its own marker.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.specifiers import InvalidSpecifier, SpecifierSet

from parity.errors import SourceError
from parity.model import Environment, Level, Location, Origin, Package, canonical_name
from parity.redact import redact_origin
from parity.sources.lockgraph import (
    ALWAYS,
    Condition,
    Edge,
    KnownValues,
    LockDataError,
    NodeKey,
    TomlTable,
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
    split_vcs_url,
)

PROJECT_SOURCES = ("editable", "virtual", "directory")


class UvLockError(SourceError):
    """A uv.lock could not be read, or cannot give what was asked of it."""


@dataclass(frozen=True)
class _Locked:
    """One ``[[package]]`` of a uv.lock, its dependency lists still as written."""

    name: str
    version: str
    source: TomlTable
    dependencies: tuple[TomlTable, ...]
    optional: Mapping[str, tuple[TomlTable, ...]]
    groups: Mapping[str, tuple[TomlTable, ...]]
    default_groups: tuple[str, ...] | None
    provides_extras: tuple[str, ...] | None  # [package.metadata] provides-extras, newer locks

    @property
    def key(self) -> str:
        return canonical_name(self.name)

    @property
    def is_virtual(self) -> bool:
        return "virtual" in self.source

    def is_project_root(self) -> bool:
        return any(self.source.get(kind) == "." for kind in PROJECT_SOURCES)


def load_uv_lock(
    path: str,
    *,
    extras: Sequence[str] = (),
    groups: Sequence[str] = (),
    include_project: bool = False,
    marker_env: Mapping[str, str] | None = None,
    all_extras: bool = False,
    no_default_groups: bool = False,
) -> Environment:
    """Read a uv.lock into the packages it installs (see the module docstring)."""
    try:
        return _load(
            path, extras, groups, include_project, marker_env, all_extras, no_default_groups
        )
    except LockDataError as error:
        raise UvLockError(str(error), error.location(path)) from None


def _load(
    path: str,
    extras: Sequence[str],
    groups: Sequence[str],
    include_project: bool,
    marker_env: Mapping[str, str] | None,
    all_extras: bool,
    no_default_groups: bool,
) -> Environment:
    data = read_toml(path)
    _check_version(data)
    packages = [_read_package(table, index) for index, table in enumerate(_package_tables(data))]
    project = _read_pyproject(Path(path).parent / "pyproject.toml")
    roots = _find_roots(packages, data, project)
    chosen_extras = _choose_extras(packages, roots, extras, all_extras, "revision" in data)
    chosen_groups = _choose_groups(packages, roots, groups, no_default_groups, project)
    _check_conflicts(data, packages, roots, chosen_extras, chosen_groups)
    known: dict[str, str | frozenset[str]] = dict(marker_env or {})
    known["extra"] = _conflict_names(packages, roots, chosen_extras, chosen_groups)
    graph = _Graph(packages, known)
    root_edges = [Edge(root, tuple(chosen_extras)) for root in roots]
    for root in roots:
        for group in chosen_groups:
            root_edges.extend(graph.edges(packages[root].groups.get(group, ()), packages[root]))
    reached = reachability(root_edges, graph.edges_of)
    base = Path(path).resolve().parent
    selected, warnings = _packages(packages, reached, roots, include_project, base, path)
    if marker_env is not None:
        _check_single_versions(selected)
    warnings.extend(_python_warnings(data, marker_env))
    return Environment(
        kind="uv-lock",
        ref=path,
        level=Level.LOCKED,
        packages=tuple(selected),
        python_requirement=get_str(data, "requires-python", ""),
        warnings=tuple(warnings),
        description=f"uv.lock{describe_selection(chosen_extras, chosen_groups)}",
    )


def _check_version(data: TomlTable) -> None:
    version = data.get("version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise LockDataError("not a uv.lock: no integer 'version'")
    if version != 1:
        raise LockDataError(f"uv.lock version {version} is not supported (parity reads 1)")


def _package_tables(data: TomlTable) -> list[TomlTable]:
    return get_tables(data, "package", "")


def _read_package(table: TomlTable, index: int) -> _Locked:
    where = f"package[{index}]."
    name = require_str(table, "name", where)
    where = f"package {name!r}: "
    return _Locked(
        name=name,
        version=get_str(table, "version", where) or "",
        source=get_table(table, "source", where),
        dependencies=tuple(get_tables(table, "dependencies", where)),
        optional=_named_lists(get_table(table, "optional-dependencies", where), where),
        groups=_named_lists(get_table(table, "dev-dependencies", where), where),
        default_groups=_default_groups(table, where),
        provides_extras=_provides_extras(get_table(table, "metadata", where), where),
    )


def _named_lists(table: TomlTable, where: str) -> dict[str, tuple[TomlTable, ...]]:
    return {canonical_name(name): tuple(get_tables(table, name, where)) for name in table}


def _default_groups(table: TomlTable, where: str) -> tuple[str, ...] | None:
    if "default-groups" not in table:
        return None
    return tuple(canonical_name(group) for group in get_strings(table, "default-groups", where))


def _provides_extras(metadata: TomlTable, where: str) -> tuple[str, ...] | None:
    if "provides-extras" not in metadata:
        return None
    extras = get_strings(metadata, "provides-extras", f"{where}metadata.")
    return tuple(canonical_name(extra) for extra in extras)


def _read_pyproject(path: Path) -> TomlTable:
    """The pyproject.toml beside the lock, or an empty table when there is none."""
    return read_toml(str(path)) if path.is_file() else {}


def _find_roots(packages: list[_Locked], data: TomlTable, project: TomlTable) -> list[int]:
    roots = [index for index, package in enumerate(packages) if package.is_project_root()]
    if roots:
        return roots
    name = _project_name(project)
    if name:
        roots = [index for index, package in enumerate(packages) if package.key == name]
        if roots:
            return roots
    members = {
        canonical_name(member)
        for member in get_strings(get_table(data, "manifest", ""), "members", "manifest.")
    }
    roots = [index for index, package in enumerate(packages) if package.key in members]
    if not roots:
        raise LockDataError("no project in uv.lock: no package has source '.'")
    return roots


def _project_name(project: TomlTable) -> str | None:
    table = project.get("project")
    name = table.get("name") if isinstance(table, Mapping) else None
    return canonical_name(name) if isinstance(name, str) else None


def _choose_extras(
    packages: list[_Locked],
    roots: list[int],
    extras: Sequence[str],
    all_extras: bool,
    has_revision: bool,
) -> list[str]:
    defined = sorted({extra for root in roots for extra in packages[root].optional})
    if all_extras:
        return defined
    chosen = [canonical_name(extra) for extra in extras]
    provided = [packages[root].provides_extras for root in roots]
    # Like uv: locks with a revision record provides-extras (omitted when empty); older
    # locks cannot tell an unknown extra, and uv ignores it.
    known = {extra for extras in provided if extras is not None for extra in extras}
    unknown = [extra for extra in chosen if extra not in known]
    if unknown and (has_revision or any(extras is not None for extras in provided)):
        raise LockDataError(
            f"extra {', '.join(unknown)} is not defined by the project"
            f" (it has: {', '.join(sorted(known)) or 'none'})"
        )
    return sorted(set(chosen))


def _choose_groups(
    packages: list[_Locked],
    roots: list[int],
    groups: Sequence[str],
    no_default_groups: bool,
    project: TomlTable,
) -> list[str]:
    defined = sorted({group for root in roots for group in packages[root].groups})
    chosen: list[str] = [canonical_name(group) for group in groups]
    unknown = [group for group in chosen if group not in defined]
    if unknown:
        raise LockDataError(
            f"group {', '.join(unknown)} is not defined by the project"
            f" (it has: {', '.join(defined) or 'none'})"
        )
    if not no_default_groups:
        defaults = _defaults(packages, roots, project, defined)
        chosen.extend(group for group in defaults if group in defined)
    return sorted(set(chosen))


def _defaults(
    packages: list[_Locked], roots: list[int], project: TomlTable, defined: list[str]
) -> list[str]:
    recorded = [packages[root].default_groups for root in roots]
    if any(groups is not None for groups in recorded):
        return [group for groups in recorded if groups for group in groups]
    tool = get_table(get_table(project, "tool", ""), "uv", "") if project else {}
    setting = tool.get("default-groups", ["dev"])
    if setting == "all":
        return defined
    if isinstance(setting, list):
        return [canonical_name(group) for group in setting if isinstance(group, str)]
    return ["dev"]


def _check_conflicts(
    data: TomlTable, packages: list[_Locked], roots: list[int], extras: list[str], groups: list[str]
) -> None:
    """Refuse extras and groups the lock declares incompatible, as uv does."""
    chosen = {("extra", extra) for extra in extras} | {("group", group) for group in groups}
    root_keys = {packages[root].key for root in roots}
    for index, conflict in enumerate(get_list(data, "conflicts", "")):
        if not isinstance(conflict, list):
            raise LockDataError(f"conflicts[{index}] must be an array")
        items = [_conflict_item(item) for item in conflict]
        clashing = [
            f"{kind} {name}"
            for package, kind, name in filter(None, items)
            if package in root_keys and (kind, name) in chosen
        ]
        if len(clashing) > 1:
            raise LockDataError(f"the lock declares {' and '.join(clashing)} incompatible")


def _conflict_item(item: object) -> tuple[str, str, str] | None:
    """``{package, extra}`` or ``{package, group}`` as (package, kind, name)."""
    if not isinstance(item, Mapping):
        return None
    package = item.get("package")
    for kind in ("extra", "group"):
        name = item.get(kind)
        if isinstance(package, str) and isinstance(name, str):
            return canonical_name(package), kind, canonical_name(name)
    return None


def _conflict_names(
    packages: list[_Locked], roots: list[int], extras: list[str], groups: list[str]
) -> frozenset[str]:
    """uv's encoding of chosen extras and groups in conflict markers."""
    names: set[str] = set()
    for root in roots:
        key = packages[root].key
        names.update(f"extra-{len(key)}-{key}-{extra}" for extra in extras)
        names.update(f"group-{len(key)}-{key}-{group}" for group in groups)
    return frozenset(names)


class _Graph:
    """The lock's packages as a graph whose edges carry evaluated conditions."""

    def __init__(self, packages: list[_Locked], known: KnownValues) -> None:
        self.packages = packages
        self.known = known
        self.by_key: dict[str, list[int]] = {}
        for index, package in enumerate(packages):
            self.by_key.setdefault(package.key, []).append(index)

    def edges_of(self, node: NodeKey) -> list[Edge]:
        index, extra = node
        package = self.packages[index]
        if extra:
            return self.edges(package.optional.get(extra, ()), package)
        return self.edges(package.dependencies, package)

    def edges(self, tables: Sequence[TomlTable], owner: _Locked) -> list[Edge]:
        return [self._edge(table, owner) for table in tables]

    def _edge(self, table: TomlTable, owner: _Locked) -> Edge:
        where = f"package {owner.name!r}: dependency "
        name = require_str(table, "name", where)
        extras = tuple(canonical_name(extra) for extra in get_strings(table, "extra", where))
        condition = _edge_condition(table, self.known, where)
        return Edge(self._resolve(table, name, owner), extras, condition)

    def _resolve(self, table: TomlTable, name: str, owner: _Locked) -> int:
        version = get_str(table, "version", f"dependency {name!r}: ")
        source = table.get("source")
        matches = [
            index
            for index in self.by_key.get(canonical_name(name), [])
            if (version is None or self.packages[index].version == version)
            and (source is None or self.packages[index].source == source)
        ]
        if len(matches) != 1:
            problem = "is not in the lock" if not matches else "matches several packages"
            raise LockDataError(f"dependency {name!r} of {owner.name!r} {problem}")
        return matches[0]


def _edge_condition(table: TomlTable, known: KnownValues, where: str) -> Condition:
    marker = get_str(table, "marker", where)
    return parse_condition(marker, known) if marker else ALWAYS


def _packages(
    packages: list[_Locked],
    reached: Mapping[int, Condition],
    roots: list[int],
    include_project: bool,
    base: Path,
    path: str,
) -> tuple[list[Package], list[str]]:
    selected: list[Package] = []
    warnings: list[str] = []
    for index, condition in sorted(reached.items(), key=lambda item: _order(packages[item[0]])):
        package = packages[index]
        if package.is_virtual or (index in roots and not include_project):
            continue
        if condition.approximate:
            warnings.append(f"{package.name}: marker too complex, listed as always installed")
        selected.append(
            Package(
                name=package.name,
                version=package.version,
                origin=redact_origin(_origin(package.source, base)),
                marker=condition.render(),
                declared_at=Location(path),
                requires=_requires(package),
            )
        )
    return selected, warnings


def _requires(package: _Locked) -> tuple[str, ...]:
    """The lock's plain dependencies as Requires-Dist-like lines (what roles are read from)."""
    lines = []
    for table in package.dependencies:
        name = table.get("name")
        if isinstance(name, str):
            marker = table.get("marker")
            lines.append(f"{name}; {marker}" if isinstance(marker, str) and marker else name)
    return tuple(lines)


def _order(package: _Locked) -> tuple[str, str]:
    return package.key, package.version


def _origin(source: TomlTable, base: Path) -> Origin | None:
    for kind, origin_kind in (("editable", "editable"), ("directory", "directory")):
        value = source.get(kind)
        if isinstance(value, str):
            return Origin(origin_kind, file_url(base, value))
    git = source.get("git")
    if isinstance(git, str):
        repository, commit = split_vcs_url(git)
        return Origin("vcs", repository, commit=commit, vcs="git")
    url = source.get("url")
    if isinstance(url, str):
        return Origin("archive", url)
    archive = source.get("path")
    if isinstance(archive, str):
        return Origin("archive", file_url(base, archive))
    return None


def _check_single_versions(packages: list[Package]) -> None:
    """With a marker environment, two unconditional versions of one name are a broken lock."""
    versions: dict[str, list[str]] = {}
    for package in packages:
        if package.marker is None:
            versions.setdefault(package.key, []).append(package.version)
    for key, found in versions.items():
        if len(found) > 1:
            raise LockDataError(f"the lock installs {key} twice here: {', '.join(found)}")


def _python_warnings(data: TomlTable, marker_env: Mapping[str, str] | None) -> list[str]:
    requires_python = get_str(data, "requires-python", "")
    python = (marker_env or {}).get("python_full_version")
    if not requires_python or not python:
        return []
    try:
        allowed = SpecifierSet(requires_python)
    except InvalidSpecifier as error:
        raise LockDataError(f"invalid requires-python {requires_python!r}") from error
    if allowed.contains(python, prereleases=True):
        return []
    return [f"Python {python} is outside the lock's requires-python {requires_python}"]


__all__ = ["UvLockError", "load_uv_lock"]
