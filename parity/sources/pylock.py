"""pylock.toml (PEP 751): validated with ``packaging.pylock``, then selected as PEP 751 says.

The file must be named ``pylock.toml`` or ``pylock.NAME.toml``. Selection: the extras in
``extras`` (or every declared extra with ``all_extras``) and the dependency groups
``default-groups`` plus ``groups`` (``no_default_groups`` drops the defaults); package
markers see them as ``extras`` and ``dependency_groups``.

With ``marker_env``: the lock's ``requires-python`` and ``environments`` must accept it
(else :class:`PylockError`, as PEP 751 requires), each package's ``marker`` decides, a
selected package's own ``requires-python`` must hold, and two selected entries of one
name are an error. Without it every package whose marker can hold is listed with that
marker (extras and groups already decided; None: always).

A directory package at the lock's own directory (``path = "."``) is the project itself
and is listed only with ``include_project``. Directory and VCS entries without a
``version`` take it from a static ``[project] version`` in the directory's
pyproject.toml when there is one, else ``""``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from packaging.pylock import (
    Package as LockedPackage,
)
from packaging.pylock import (
    PackageArchive,
    PackageDirectory,
    PackageVcs,
    Pylock,
    PylockValidationError,
)

from parity.errors import SourceError
from parity.model import Environment, Level, Location, Origin, Package, canonical_name
from parity.redact import redact_origin
from parity.sources.lockgraph import (
    Condition,
    LockDataError,
    TomlTable,
    describe_selection,
    file_url,
    get_str,
    get_table,
    parse_condition,
    read_toml,
)

_FILE_NAME = re.compile(r"pylock(\.[^.]+)?\.toml")


class PylockError(SourceError):
    """A pylock.toml could not be read, is not valid PEP 751, or cannot serve the request."""


def load_pylock(
    path: str,
    *,
    extras: Sequence[str] = (),
    groups: Sequence[str] = (),
    include_project: bool = False,
    marker_env: Mapping[str, str] | None = None,
    all_extras: bool = False,
    no_default_groups: bool = False,
) -> Environment:
    """Read a pylock.toml into the packages it installs (see the module docstring)."""
    try:
        lock = _validated(path)
        chosen_extras = _choose_extras(lock, extras, all_extras)
        chosen_groups = _choose_groups(lock, groups, no_default_groups)
        if marker_env is not None:
            _check_environment(lock, marker_env)
        known: dict[str, str | frozenset[str]] = dict(marker_env or {})
        known["extras"] = frozenset(chosen_extras)
        known["dependency_groups"] = frozenset(chosen_groups)
        base = Path(path).resolve().parent
        packages = _select(lock, known, marker_env, base, include_project, path)
    except LockDataError as error:
        raise PylockError(str(error), error.location(path)) from None
    return Environment(
        kind="pylock",
        ref=path,
        level=Level.LOCKED,
        packages=tuple(packages),
        python_requirement=str(lock.requires_python) if lock.requires_python else None,
        description=f"{Path(path).name}{describe_selection(chosen_extras, chosen_groups)}",
    )


def _validated(path: str) -> Pylock:
    if not _FILE_NAME.fullmatch(Path(path).name):
        raise LockDataError("a PEP 751 lock file is named pylock.toml or pylock.NAME.toml")
    data = read_toml(path)
    try:
        return Pylock.from_dict(data)
    except PylockValidationError as error:
        raise LockDataError(f"not a valid pylock.toml: {error}") from None


def _choose_extras(lock: Pylock, extras: Sequence[str], all_extras: bool) -> list[str]:
    declared: list[str] = sorted(lock.extras or ())
    if all_extras:
        return declared
    chosen = sorted({canonical_name(extra) for extra in extras})
    unknown = [extra for extra in chosen if extra not in declared]
    if unknown:
        raise LockDataError(
            f"extra {', '.join(unknown)} is not declared by the lock"
            f" (it has: {', '.join(declared) or 'none'})"
        )
    return chosen


def _choose_groups(lock: Pylock, groups: Sequence[str], no_default_groups: bool) -> list[str]:
    declared = {*(lock.dependency_groups or ()), *(lock.default_groups or ())}
    by_key = {canonical_name(group): group for group in declared}
    unknown = sorted(group for group in groups if canonical_name(group) not in by_key)
    if unknown:
        raise LockDataError(
            f"dependency group {', '.join(unknown)} is not declared by the lock"
            f" (it has: {', '.join(sorted(declared)) or 'none'})"
        )
    chosen = {by_key[canonical_name(group)] for group in groups}
    if not no_default_groups:
        chosen.update(lock.default_groups or ())
    return sorted(chosen)


def _check_environment(lock: Pylock, marker_env: Mapping[str, str]) -> None:
    python = marker_env.get("python_full_version")
    if lock.requires_python and python and not lock.requires_python.contains(python, True):
        raise LockDataError(
            f"pylock.toml does not support this environment: Python {python}"
            f" is outside requires-python {lock.requires_python}"
        )
    if lock.environments is None:
        return
    for environment in lock.environments:
        if parse_condition(str(environment), marker_env, "requirement").is_always:
            return
    supported = "; ".join(str(environment) for environment in lock.environments)
    raise LockDataError(f"pylock.toml does not support this environment: it supports {supported}")


def _select(
    lock: Pylock,
    known: Mapping[str, str | frozenset[str]],
    marker_env: Mapping[str, str] | None,
    base: Path,
    include_project: bool,
    path: str,
) -> list[Package]:
    selected: list[Package] = []
    seen: dict[str, int] = {}
    for index, locked in enumerate(lock.packages):
        condition = _package_condition(locked, known)
        if condition.is_never:
            continue
        if marker_env is not None:
            _check_package(locked, index, marker_env, seen)
        if _is_project(locked, base) and not include_project:
            continue
        selected.append(
            Package(
                name=locked.name,
                version=_version(locked, base),
                origin=redact_origin(_origin(locked, base)),
                marker=condition.render(),
                declared_at=Location(path),
            )
        )
    return sorted(selected, key=lambda package: (package.key, package.version))


def _package_condition(
    locked: LockedPackage, known: Mapping[str, str | frozenset[str]]
) -> Condition:
    marker = str(locked.marker) if locked.marker is not None else None
    return parse_condition(marker, known, "lock_file")


def _check_package(
    locked: LockedPackage, index: int, marker_env: Mapping[str, str], seen: dict[str, int]
) -> None:
    python = marker_env.get("python_full_version")
    if locked.requires_python and python and not locked.requires_python.contains(python, True):
        raise LockDataError(
            f"package {locked.name} (packages[{index}]) requires Python"
            f" {locked.requires_python}, not {python}"
        )
    if locked.name in seen:
        raise LockDataError(
            f"packages[{seen[locked.name]}] and packages[{index}] both install"
            f" {locked.name} in this environment"
        )
    seen[locked.name] = index


def _is_project(locked: LockedPackage, base: Path) -> bool:
    directory = locked.directory
    return directory is not None and (base / directory.path).resolve() == base


def _origin(locked: LockedPackage, base: Path) -> Origin | None:
    source = locked.vcs or locked.directory or locked.archive
    if isinstance(source, PackageVcs):
        url = source.url or file_url(base, source.path or ".")
        return Origin("vcs", url, commit=source.commit_id, vcs=source.type)
    if isinstance(source, PackageDirectory):
        kind = "editable" if source.editable else "directory"
        return Origin(kind, file_url(base, source.path))
    if isinstance(source, PackageArchive):
        return Origin("archive", source.url or file_url(base, source.path or "."))
    return None


def _version(locked: LockedPackage, base: Path) -> str:
    if locked.version is not None:
        return str(locked.version)
    local = locked.directory.path if locked.directory else None
    if local is None and locked.vcs is not None:
        local = locked.vcs.path
    return _static_version(base / local) if local else ""


def _static_version(directory: Path) -> str:
    """``[project] version`` of a local project when it is written out, else ``""``."""
    pyproject = directory / "pyproject.toml"
    if not pyproject.is_file():
        return ""
    try:
        project: TomlTable = get_table(read_toml(str(pyproject)), "project", "")
        return get_str(project, "version", "project.") or ""
    except LockDataError:
        return ""


__all__ = ["PylockError", "load_pylock"]
