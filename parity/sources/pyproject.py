"""pyproject.toml source: the requirements a project declares (PEP 621, PEP 735, Poetry).

* ``[project].dependencies`` (PEP 621), plus ``[project.optional-dependencies]`` for the
  chosen extras. A requirement on the project itself (``myproj[test]``) is replaced by
  the requirements of those extras.
* ``[dependency-groups]`` (PEP 735) for the chosen groups, with ``{include-group = ...}``
  resolved by the PEP's reference algorithm (names normalised, cycles and unknown groups
  are errors).
* Poetry: ``[tool.poetry.dependencies]`` when ``[project]`` declares no dependencies
  (Poetry's own rule), ``[tool.poetry.extras]`` for the chosen extras,
  ``[tool.poetry.group.<g>.dependencies]`` (and the legacy ``dev-dependencies``, which
  Poetry treats as group ``dev``) for the chosen groups. When ``[project]`` does declare
  dependencies, a Poetry entry of the same name only adds its source (``path``, ``git``,
  ``url``, ``develop``), as Poetry 2 does.
* ``requires-python`` (or Poetry's ``python = ...``) becomes the Python requirement.

Poetry constraints are translated to PEP 440 by the one Poetry constraint reader,
:mod:`parity.sources.poetry_constraint` (as poetry-core's ``parse_constraint`` reads them;
poetry.lock uses it too). A constraint with ``||`` alternatives is stored in
``Requirement.specifier`` as its PEP 440 branches joined with ``" || "`` (only when there
is more than one branch); compare() reads that as OR.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import Any

from packaging.markers import InvalidMarker, Marker
from packaging.requirements import InvalidRequirement
from packaging.requirements import Requirement as Pep508Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet

from parity.errors import SourceError
from parity.model import Environment, Level, Location, Requirement, canonical_name
from parity.redact import redact_url
from parity.sources._toml import key_lines, line_of, parse_toml, read_text
from parity.sources.poetry_constraint import (
    poetry_constraint_to_specifiers,
    python_constraint_to_marker,
)

OR_SEPARATOR = " || "


class PyprojectError(SourceError):
    """A pyproject.toml that cannot be read, or a dependency declaration that is invalid."""


def load_pyproject(
    path: str | Path, *, extras: Sequence[str] = (), groups: Sequence[str] = ()
) -> Environment:
    """Read what a pyproject.toml declares: dependencies, chosen extras and groups."""
    pyproject = Path(path)
    text = read_text(pyproject, PyprojectError)
    document = _Document(pyproject, text, parse_toml(text, pyproject, PyprojectError))
    warnings: list[str] = []
    requirements = [
        *_main_requirements(document, warnings),
        *_extra_requirements(document, extras),
        *_group_requirements(document, groups),
    ]
    chosen = [f"extras {', '.join(extras)}"] if extras else []
    chosen += [f"groups {', '.join(groups)}"] if groups else []
    return Environment(
        kind="pyproject",
        ref=str(pyproject),
        level=Level.DECLARED,
        requirements=tuple(dict.fromkeys(requirements)),
        python_requirement=_python_requirement(document),
        warnings=tuple(warnings),
        description=" ".join([str(pyproject), *chosen]),
    )


def read_declared_roles(path: str | Path) -> tuple[str, frozenset[str], frozenset[str]]:
    """(project name, names declared to run it, names declared only for development).

    Running: ``[project].dependencies``, Poetry's main dependencies, every extra.
    Development: every PEP 735 group and Poetry group, uv's legacy
    ``[tool.uv].dev-dependencies`` and PDM's ``[tool.pdm.dev-dependencies]`` groups.
    """
    pyproject = Path(path)
    text = read_text(pyproject, PyprojectError)
    document = _Document(pyproject, text, parse_toml(text, pyproject, PyprojectError))
    main = [
        *_main_requirements(document, []),
        *_extra_requirements(document, _all_extras(document)),
    ]
    groups = sorted(
        {canonical_name(name) for name in document.table("dependency-groups")}
        | _poetry_groups(document).keys()
    )
    dev = list(_group_requirements(document, groups))
    legacy = [
        *_legacy_list(document, document.table("tool", "uv").get("dev-dependencies", [])),
        *(
            text
            for items in document.table("tool", "pdm", "dev-dependencies").values()
            for text in _legacy_list(document, items)
        ),
    ]
    dev += [_pep508(document, text) for text in legacy]
    main_names = frozenset(requirement.key for requirement in main)
    dev_names = frozenset(requirement.key for requirement in dev) - main_names
    return document.project_name, main_names, dev_names - {document.project_name}


def _all_extras(document: _Document) -> list[str]:
    project = document.table("project")
    if "optional-dependencies" in project or "dependencies" in project:
        return sorted(document.table("project", "optional-dependencies"))
    return sorted(document.table("tool", "poetry", "extras"))


def _legacy_list(document: _Document, items: object) -> list[str]:
    """The PEP 508 strings of a uv / PDM dev list (editable ``-e`` entries left out)."""
    if not isinstance(items, list):
        raise PyprojectError("dev-dependencies must be a list of strings", document.where())
    return [item for item in items if isinstance(item, str) and not item.startswith("-e")]


@dataclass(frozen=True)
class _Document:
    """A parsed pyproject.toml with what is needed to point errors at lines."""

    path: Path
    text: str
    data: Mapping[str, Any]

    def table(self, *keys: str) -> dict[str, Any]:
        """A nested table (``{}`` when absent); an error when it is not a table."""
        value: Any = self.data
        for depth, key in enumerate(keys):
            value = value.get(key, {})
            if not isinstance(value, dict):
                dotted = ".".join(keys[: depth + 1])
                raise PyprojectError(f"[{dotted}] must be a table", self.where())
        return dict(value)

    def where(self, line: int | None = None) -> Location:
        return Location(str(self.path), line)

    def line_of_string(self, value: str) -> Location:
        """The line of a quoted string (such as a dependency in an array), if found."""
        for quoted in (f'"{value}"', f"'{value}'"):
            line = line_of(self.text, quoted)
            if line:
                return self.where(line)
        return self.where()

    def line_of_key(self, table: str, key: str) -> Location:
        return self.where(self._key_lines.get((table, key)))

    @cached_property
    def _key_lines(self) -> dict[tuple[str, str], int]:
        return key_lines(self.text)

    @property
    def project_name(self) -> str:
        name = self.table("project").get("name") or self.table("tool", "poetry").get("name")
        return canonical_name(name) if isinstance(name, str) else ""


# --- [project] (PEP 621) ---------------------------------------------------------------


def _main_requirements(document: _Document, warnings: list[str]) -> list[Requirement]:
    project = document.table("project")
    poetry_dependencies = document.table("tool", "poetry", "dependencies")
    if "dependencies" in project:
        declared = _pep508_list(
            document,
            project["dependencies"],
            "[project] dependencies",
            document.line_of_key("project", "dependencies"),
        )
        enriched = [_enrich_from_poetry(document, r, poetry_dependencies) for r in declared]
        return _expand_self_references(document, enriched)
    if poetry_dependencies:
        return _poetry_table(document, poetry_dependencies, "tool.poetry.dependencies", ())
    if "dependencies" in _string_list(document, project.get("dynamic", []), "dynamic"):
        warnings.append(
            "[project] dependencies are dynamic (computed by the build backend), "
            "so they cannot be read from pyproject.toml"
        )
    return []


def _extra_requirements(document: _Document, extras: Sequence[str]) -> list[Requirement]:
    if not extras:
        return []
    project = document.table("project")
    if "optional-dependencies" in project or "dependencies" in project:
        optional = _optional_dependencies(document)
        return [r for extra in extras for r in _extra(document, optional, extra, ())]
    return _poetry_extras(document, extras)


def _optional_dependencies(document: _Document) -> dict[str, list[Requirement]]:
    """``[project.optional-dependencies]`` by normalised extra name."""
    table = document.table("project", "optional-dependencies")
    return {
        canonical_name(extra): _pep508_list(document, values, f"optional-dependencies {extra}")
        for extra, values in table.items()
    }


def _extra(
    document: _Document,
    optional: Mapping[str, list[Requirement]],
    extra: str,
    seen: tuple[str, ...],
) -> list[Requirement]:
    """One extra's requirements, following references to the project's own extras."""
    name = canonical_name(extra)
    if name not in optional:
        known = ", ".join(sorted(optional)) or "none"
        raise PyprojectError(f"unknown extra {extra!r} (known extras: {known})", document.where())
    if name in seen:
        return []
    return _expand(document, optional, optional[name], (*seen, name))


def _expand(
    document: _Document,
    optional: Mapping[str, list[Requirement]],
    requirements: list[Requirement],
    seen: tuple[str, ...],
) -> list[Requirement]:
    """Replace ``myproj[a]`` (the project itself) by the requirements of its extra ``a``."""
    expanded: list[Requirement] = []
    for requirement in requirements:
        if not _is_self_reference(document, requirement):
            expanded.append(requirement)
            continue
        for extra in requirement.extras:
            for inner in _extra(document, optional, extra, seen):
                marker = _and_markers([requirement.marker, inner.marker])
                expanded.append(replace(inner, marker=marker))
    return expanded


def _is_self_reference(document: _Document, requirement: Requirement) -> bool:
    return bool(document.project_name) and requirement.key == document.project_name


def _expand_self_references(
    document: _Document, requirements: list[Requirement]
) -> list[Requirement]:
    """Dependencies or a group with the project's own extras replaced by their contents."""
    if not any(_is_self_reference(document, requirement) for requirement in requirements):
        return requirements
    return _expand(document, _optional_dependencies(document), requirements, ())


def _pep508_list(
    document: _Document, values: object, what: str, where: Location | None = None
) -> list[Requirement]:
    return [_pep508(document, text) for text in _string_list(document, values, what, where)]


def _string_list(
    document: _Document, values: object, what: str, where: Location | None = None
) -> list[str]:
    if not isinstance(values, list) or not all(isinstance(value, str) for value in values):
        raise PyprojectError(f"{what} must be an array of strings", where or document.where())
    return list(values)


def _pep508(document: _Document, text: str) -> Requirement:
    where = document.line_of_string(text)
    try:
        parsed = Pep508Requirement(text)
    except InvalidRequirement as error:
        reason = str(error).splitlines()[0]
        raise PyprojectError(f"invalid requirement {text!r}: {reason}", where) from None
    return Requirement(
        name=parsed.name,
        specifier=str(parsed.specifier),
        extras=tuple(sorted(parsed.extras)),
        marker=str(parsed.marker) if parsed.marker else None,
        url=redact_url(parsed.url) if parsed.url else None,
        declared_at=where,
    )


def _python_requirement(document: _Document) -> str | None:
    project = document.table("project")
    where = document.line_of_key("project", "requires-python")
    if "requires-python" in project:
        return _valid_specifier(project["requires-python"], "requires-python", where)
    python = document.table("tool", "poetry", "dependencies").get("python")
    if python is None:
        return None
    where = document.line_of_key("tool.poetry.dependencies", "python")
    if not isinstance(python, str):
        raise PyprojectError("python must be a version constraint string", where)
    return _poetry_specifier(python, "python", where) or None


def _valid_specifier(value: object, what: str, where: Location) -> str:
    if not isinstance(value, str):
        raise PyprojectError(f"{what} must be a string", where)
    try:
        return str(SpecifierSet(value))
    except InvalidSpecifier:
        raise PyprojectError(f"{what} {value!r} is not a PEP 440 specifier", where) from None


# --- [dependency-groups] (PEP 735) -----------------------------------------------------


def resolve_dependency_group(dependency_groups: Mapping[str, Any], group: str) -> list[str]:
    """The requirement strings of one PEP 735 group, includes expanded.

    PEP 735's reference algorithm: group names are normalised (two spellings of one
    name are an error), ``{include-group = "..."}`` items are replaced by that group's
    items, a cycle raises ValueError and an unknown group LookupError; every string must
    be a valid PEP 508 requirement (``InvalidRequirement``, a ValueError).
    """
    if not isinstance(dependency_groups, Mapping):
        raise TypeError("Dependency Groups table is not a dict")
    return _resolve_group(_normalize_group_names(dependency_groups), canonical_name(group), ())


def _normalize_group_names(dependency_groups: Mapping[str, Any]) -> dict[str, Any]:
    original_names: dict[str, list[str]] = {}
    normalized: dict[str, Any] = {}
    for group_name, value in dependency_groups.items():
        name = canonical_name(group_name)
        original_names.setdefault(name, []).append(group_name)
        normalized[name] = value
    duplicates = [
        f"{name} ({', '.join(names)})" for name, names in original_names.items() if len(names) > 1
    ]
    if duplicates:
        raise ValueError(f"Duplicate dependency group names: {', '.join(duplicates)}")
    return normalized


def _resolve_group(groups: Mapping[str, Any], group: str, past: tuple[str, ...]) -> list[str]:
    if group in past:
        raise ValueError(f"Cyclic dependency group include: {' -> '.join((*past, group))}")
    if group not in groups:
        raise LookupError(f"Dependency group '{group}' not found")
    items = groups[group]
    if not isinstance(items, list):
        raise ValueError(f"Dependency group '{group}' is not a list")
    realized: list[str] = []
    for item in items:
        if isinstance(item, str):
            Pep508Requirement(item)
            realized.append(item)
        elif isinstance(item, dict) and tuple(item) == ("include-group",):
            included = item["include-group"]
            if not isinstance(included, str):
                raise ValueError(f"Invalid dependency group item: {item}")
            realized.extend(_resolve_group(groups, canonical_name(included), (*past, group)))
        else:
            raise ValueError(f"Invalid dependency group item: {item}")
    return realized


def _group_requirements(document: _Document, groups: Sequence[str]) -> list[Requirement]:
    found: list[Requirement] = []
    for group in groups:
        found.extend(_one_group(document, canonical_name(group), ()))
    return found


def _one_group(document: _Document, group: str, past: tuple[str, ...]) -> list[Requirement]:
    """A group from [dependency-groups] and/or Poetry's groups (Poetry merges the two)."""
    if group in past:
        cycle = " -> ".join((*past, group))
        raise PyprojectError(f"cyclic dependency group include: {cycle}", document.where())
    pep735 = document.table("dependency-groups")
    pep735_names = {canonical_name(name) for name in pep735}
    poetry_groups = _poetry_groups(document)
    if group not in pep735_names and group not in poetry_groups:
        known = ", ".join(sorted(pep735_names | poetry_groups.keys())) or "none"
        message = f"unknown dependency group {group!r} (known groups: {known})"
        raise PyprojectError(message, document.where())
    requirements: list[Requirement] = []
    if group in pep735_names:
        requirements += _pep735_group(document, pep735, group)
    if group in poetry_groups:
        requirements += _poetry_group(document, poetry_groups[group], (*past, group))
    return _expand_self_references(document, requirements)


def _pep735_group(document: _Document, table: Mapping[str, Any], group: str) -> list[Requirement]:
    try:
        texts = resolve_dependency_group(table, group)
    except (ValueError, LookupError) as error:  # includes InvalidRequirement
        reason = str(error).splitlines()[0]
        where = document.line_of_key("", "dependency-groups")
        raise PyprojectError(f"[dependency-groups]: {reason}", where) from None
    return [_pep508(document, text) for text in texts]


# --- Poetry ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _PoetryGroup:
    """One Poetry group: the tables that declare its dependencies, and the groups it includes."""

    tables: tuple[tuple[str, Mapping[str, Any]], ...]  # (dotted table name, dependencies)
    includes: tuple[str, ...]


def _poetry_groups(document: _Document) -> dict[str, _PoetryGroup]:
    """``[tool.poetry.group.*]`` by normalised name, with ``dev-dependencies`` as ``dev``."""
    groups: dict[str, _PoetryGroup] = {}
    for raw_name, config in document.table("tool", "poetry", "group").items():
        table = f"tool.poetry.group.{raw_name}"
        if not isinstance(config, dict):
            raise PyprojectError(f"[{table}] must be a table", document.where())
        dependencies = document.table("tool", "poetry", "group", raw_name, "dependencies")
        includes = _string_list(document, config.get("include-groups", []), "include-groups")
        groups[canonical_name(raw_name)] = _PoetryGroup(
            ((f"{table}.dependencies", dependencies),), tuple(map(canonical_name, includes))
        )
    legacy_dev = document.table("tool", "poetry").get("dev-dependencies")
    if legacy_dev is not None:
        legacy = (
            "tool.poetry.dev-dependencies",
            document.table("tool", "poetry", "dev-dependencies"),
        )
        dev = groups.get("dev", _PoetryGroup((), ()))
        groups["dev"] = _PoetryGroup((*dev.tables, legacy), dev.includes)
    return groups


def _poetry_group(
    document: _Document, group: _PoetryGroup, past: tuple[str, ...]
) -> list[Requirement]:
    found: list[Requirement] = []
    for table_name, table in group.tables:
        found += _poetry_table(document, table, table_name, ())
    for included in group.includes:
        found += _one_group(document, included, past)
    return found


def _poetry_extras(document: _Document, extras: Sequence[str]) -> list[Requirement]:
    """Optional Poetry dependencies named by the chosen ``[tool.poetry.extras]``."""
    defined = {
        canonical_name(name): _string_list(document, members, f"[tool.poetry.extras] {name}")
        for name, members in document.table("tool", "poetry", "extras").items()
    }
    chosen: set[str] = set()
    for extra in extras:
        if canonical_name(extra) not in defined:
            known = ", ".join(sorted(defined)) or "none"
            message = f"unknown extra {extra!r} (known extras: {known})"
            raise PyprojectError(message, document.where())
        chosen.update(canonical_name(member) for member in defined[canonical_name(extra)])
    table = document.table("tool", "poetry", "dependencies")
    optional = _poetry_table(document, table, "tool.poetry.dependencies", tuple(chosen))
    return [requirement for requirement in optional if requirement.key in chosen]


def _poetry_table(
    document: _Document, table: Mapping[str, Any], table_name: str, chosen: tuple[str, ...]
) -> list[Requirement]:
    """Requirements of a Poetry dependencies table (``python`` is not a dependency).

    Optional dependencies are included only when their name is in ``chosen`` (the
    members of the chosen extras); otherwise they are not installed by default.
    """
    found: list[Requirement] = []
    for name, value in table.items():
        if name == "python":
            continue
        where = document.line_of_key(table_name, name)
        for entry in value if isinstance(value, list) else [value]:
            requirement = _poetry_requirement(name, entry, where)
            if not _is_optional(entry, where) or canonical_name(name) in chosen:
                found.append(requirement)
    return found


def _is_optional(entry: object, where: Location) -> bool:
    if not isinstance(entry, dict):
        return False
    optional = entry.get("optional", False)
    if not isinstance(optional, bool):
        raise PyprojectError("'optional' must be true or false", where)
    return optional


def _poetry_requirement(name: str, entry: object, where: Location) -> Requirement:
    """One Poetry dependency declaration (a constraint string or a table)."""
    if isinstance(entry, str):
        return Requirement(name, _poetry_specifier(entry, name, where), declared_at=where)
    if not isinstance(entry, dict):
        raise PyprojectError(f"{name}: must be a version constraint or a table", where)
    return Requirement(
        name=name,
        specifier=_poetry_specifier(_field(entry, "version", name, where) or "*", name, where),
        extras=tuple(_extras_field(entry, name, where)),
        marker=_poetry_marker(entry, name, where),
        url=_poetry_url(entry, name, where),
        editable=_develop(entry, name, where),
        declared_at=where,
    )


def _field(entry: Mapping[str, Any], field: str, name: str, where: Location) -> str:
    value = entry.get(field, "")
    if not isinstance(value, str):
        raise PyprojectError(f"{name}: {field!r} must be a string", where)
    return value.strip()


def _extras_field(entry: Mapping[str, Any], name: str, where: Location) -> list[str]:
    extras = entry.get("extras", [])
    if not isinstance(extras, list) or not all(isinstance(extra, str) for extra in extras):
        raise PyprojectError(f"{name}: 'extras' must be an array of strings", where)
    return list(extras)


def _develop(entry: Mapping[str, Any], name: str, where: Location) -> bool:
    develop = entry.get("develop", False)
    if not isinstance(develop, bool):
        raise PyprojectError(f"{name}: 'develop' must be true or false", where)
    return develop


def _poetry_url(entry: Mapping[str, Any], name: str, where: Location) -> str | None:
    """A git URL (``git+URL@rev#subdirectory=...``), a path, a file or a URL, if given.

    Credentials in the URL are hidden.
    """
    url = _written_poetry_url(entry, name, where)
    return redact_url(url) if url else None


def _written_poetry_url(entry: Mapping[str, Any], name: str, where: Location) -> str | None:
    if "git" in entry:
        url = _field(entry, "git", name, where)
        ref = next(
            (_field(entry, key, name, where) for key in ("rev", "tag", "branch") if key in entry),
            "",
        )
        subdirectory = _field(entry, "subdirectory", name, where)
        url = url if url.startswith("git+") else f"git+{url}"
        url += f"@{ref}" if ref else ""
        return url + (f"#subdirectory={subdirectory}" if subdirectory else "")
    for field in ("path", "file", "url"):
        if field in entry:
            return _field(entry, field, name, where) or None
    return None


def _poetry_marker(entry: Mapping[str, Any], name: str, where: Location) -> str | None:
    """``markers``, ``python`` and ``platform`` of a Poetry table as one PEP 508 marker."""
    markers = _field(entry, "markers", name, where) or None
    python = _field(entry, "python", name, where)
    platform = _field(entry, "platform", name, where)
    try:
        python_marker = python_constraint_to_marker(python) if python else None
    except ValueError as error:
        raise PyprojectError(f"{name}: python {python!r}: {error}", where) from None
    combined = _and_markers([markers, python_marker, _platform_marker(platform)])
    if combined is not None:
        try:
            Marker(combined)
        except InvalidMarker:
            raise PyprojectError(f"{name}: invalid marker {combined!r}", where) from None
    return combined


def _platform_marker(platform: str) -> str | None:
    """Poetry's ``platform = "linux || darwin"`` as ``sys_platform`` comparisons."""
    if not platform:
        return None
    branches = []
    for alternative in re.split(r"\s*\|\|?\s*", platform.strip()):
        operator = "!=" if alternative.startswith("!=") else "=="
        value = alternative.removeprefix("!=").removeprefix("==").strip()
        branches.append(f"sys_platform {operator} {value!r}")
    return " or ".join(branches)


def _and_markers(markers: Sequence[str | None]) -> str | None:
    present = [marker for marker in markers if marker]
    if len(present) <= 1:
        return present[0] if present else None
    return " and ".join(f"({m})" if re.search(r"\bor\b", m) else m for m in present)


def _enrich_from_poetry(
    document: _Document, requirement: Requirement, poetry_dependencies: Mapping[str, Any]
) -> Requirement:
    """Add the source a ``[tool.poetry.dependencies]`` entry gives a [project] dependency."""
    for name, value in poetry_dependencies.items():
        if canonical_name(name) != requirement.key:
            continue
        where = document.line_of_key("tool.poetry.dependencies", name)
        for entry in value if isinstance(value, list) else [value]:
            if isinstance(entry, dict):
                url = _poetry_url(entry, name, where)
                if url:
                    return replace(requirement, url=url, editable=_develop(entry, name, where))
    return requirement


def _poetry_specifier(constraint: str, name: str, where: Location) -> str:
    try:
        branches = poetry_constraint_to_specifiers(constraint)
    except ValueError as error:
        raise PyprojectError(f"{name}: {error}", where) from None
    return OR_SEPARATOR.join(branches)


__all__ = [
    "OR_SEPARATOR",
    "PyprojectError",
    "load_pyproject",
    "poetry_constraint_to_specifiers",
    "python_constraint_to_marker",
    "resolve_dependency_group",
]
