"""Pipfile.lock source: the exact pins pipenv locked, and whether the lock is stale.

``default`` is always read; ``develop`` too when ``dev`` is true, with ``default``
winning for a name in both (as ``pipenv requirements --dev`` does). Each entry becomes
a :class:`~parity.model.Package`: ``"version": "==X"`` gives version ``X``; a VCS entry
(``git`` + ``ref``) gives ``Origin(kind="vcs")`` with the ref as commit and version ``""``
unless the lock records one; ``path``/``file`` entries give an ``editable``,
``directory`` or ``archive`` origin with a ``file://`` URL. ``markers`` (and any
shorthand marker keys, folded as pipenv does) become ``Package.marker``.

Staleness is what ``pipenv verify`` checks: the SHA-256 of the Pipfile's JSON (its
``[[source]]``, ``[requires]``, ``[packages]``, ``[dev-packages]`` and custom
categories, sorted keys, no spaces) against ``_meta.hash.sha256``. pipenv changed that
recipe over time (see :data:`HASH_SCHEMES`); a lock is stale only when no pipenv
release's recipe gives its hash. A lock that matches only an older recipe gets a
warning, because current pipenv (``verify``, ``install --deploy``) rejects it.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from parity.errors import SourceError
from parity.model import Environment, Level, Location, Origin, Package, canonical_name
from parity.redact import redact_origin
from parity.sources._toml import line_of, load_toml, read_text
from parity.sources.pipfile import (
    VCS_KEYS,
    PipfileError,
    entry_name,
    fold_markers,
    python_requirement,
)

STALE_WARNING = "Pipfile.lock is stale: its _meta.hash does not match Pipfile (run `pipenv lock`)"


class PipfileLockError(SourceError):
    """A Pipfile.lock that cannot be read."""


@dataclass(frozen=True)
class HashScheme:
    """How one generation of pipenv computed ``_meta.hash`` from the Pipfile."""

    name: str
    default_source_url: str  # the [[source]] assumed when the Pipfile has none
    custom_categories: bool  # other package tables ([docs], ...) are hashed too
    canonical_names: bool  # package keys are PEP 503-normalised before hashing


#: Newest first. The first is what current pipenv (2026.x) computes: plette's
#: ``Pipfile.get_hash()`` with PEP 503 names (pipenv #4699). Before that plette hashed
#: the keys as written; before plette the ``pipfile`` library assumed the
#: ``pypi.python.org`` source and knew no custom categories.
HASH_SCHEMES = (
    HashScheme("pipenv with PEP 503 names", "https://pypi.org/simple", True, True),
    HashScheme("plette", "https://pypi.org/simple", True, False),
    HashScheme("plette before custom categories", "https://pypi.org/simple", False, False),
    HashScheme("pipfile library", "https://pypi.python.org/simple", False, False),
)
_PIPFILE_TABLES = frozenset(
    ("source", "packages", "dev-packages", "requires", "scripts", "pipfile", "pipenv")
)


def load_pipfile_lock(path: str | Path, *, dev: bool = False) -> Environment:
    """Read the pins in a Pipfile.lock (``develop`` too when ``dev``)."""
    lock_path = Path(path)
    text = read_text(lock_path, PipfileLockError)
    data = _parse_lock(text, lock_path)
    where = Location(str(lock_path))
    sections = ("default", "develop") if dev else ("default",)
    packages: dict[str, Package] = {}
    warnings: list[str] = []
    for section in sections:
        for package, warning in _read_section(data, section, lock_path, text):
            packages.setdefault(package.key, package)  # default wins, as in pipenv
            if warning:
                warnings.append(warning)
    warnings.extend(_staleness_warnings(lock_path, data))
    meta = data.get("_meta", {})
    requires = meta.get("requires") if isinstance(meta, dict) else None
    return Environment(
        kind="pipfile-lock",
        ref=str(lock_path),
        level=Level.LOCKED,
        packages=tuple(packages.values()),
        python_requirement=python_requirement(requires, where, PipfileLockError),
        warnings=tuple(warnings),
        description=f"{lock_path} [{' + '.join(sections)}]",
    )


def _read_lock(path: Path) -> dict[str, Any]:
    """The lock file's JSON object."""
    return _parse_lock(read_text(path, PipfileLockError), path)


def _parse_lock(text: str, path: Path) -> dict[str, Any]:
    """``text`` (read from ``path``) as a Pipfile.lock's JSON object."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        reason = f"invalid JSON: {error.msg} (column {error.colno})"
        raise PipfileLockError(reason, Location(str(path), error.lineno)) from None
    except (ValueError, RecursionError) as error:  # e.g. a huge integer, deep nesting
        raise PipfileLockError(f"invalid JSON: {error}", str(path)) from None
    if not isinstance(data, dict) or not ({"_meta", "default", "develop"} & data.keys()):
        raise PipfileLockError("not a Pipfile.lock (no _meta, default or develop)", str(path))
    return data


def _read_section(
    data: Mapping[str, Any], section: str, lock_path: Path, text: str
) -> list[tuple[Package, str | None]]:
    table = data.get(section, {})
    section_line = line_of(text, f'"{section}"')
    if not isinstance(table, dict):
        where = Location(str(lock_path), section_line)
        raise PipfileLockError(f'"{section}" must be a JSON object', where)
    return [
        _package(key, entry, Location(str(lock_path), _key_line(text, key, section_line)))
        for key, entry in table.items()
    ]


def _key_line(text: str, key: str, section_line: int | None) -> int | None:
    """The line where ``"key":`` is written in its section (a text search, for messages)."""
    return line_of(text, f"{json.dumps(key)}:", section_line or 1)


def _package(key: str, entry: object, where: Location) -> tuple[Package, str | None]:
    """One lock entry as a Package, plus a warning when it is not pinned or not named."""
    lock_path = Path(where.path)
    if isinstance(entry, str):
        entry = {"version": entry}
    if not isinstance(entry, dict):
        raise PipfileLockError(f"{key}: an entry must be a JSON object", where)
    name, warning = entry_name(key, entry, lock_path.parent)
    origin = redact_origin(_origin(key, entry, lock_path))
    version = _pinned_version(key, entry.get("version"), where)
    try:
        marker = fold_markers(entry)
    except ValueError as error:
        raise PipfileLockError(f"{key}: {error}", where) from None
    if not version and origin is None and marker is None:
        # pipenv writes "*" for packages its platform excludes (they carry a marker);
        # an unpinned entry without one is worth a word.
        warning = f"Pipfile.lock pins no exact version for {name}"
    package = Package(name=name, version=version, origin=origin, marker=marker, declared_at=where)
    return package, warning


def _pinned_version(key: str, value: object, where: Location) -> str:
    """``==X`` or ``===X`` -> ``X``; anything else (none, ``*``, a range) -> ``""``."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise PipfileLockError(f"{key}: 'version' must be a string", where)
    value = value.strip()
    for operator in ("===", "=="):
        if value.startswith(operator):
            return value[len(operator) :].strip()
    return ""


def _origin(key: str, entry: Mapping[str, Any], lock_path: Path) -> Origin | None:
    """Where a VCS, path or file entry comes from; None for index releases."""
    where = Location(str(lock_path))
    editable = entry.get("editable") is True
    for vcs in VCS_KEYS:
        if vcs in entry:
            url = _text(entry, vcs, key, where).removeprefix(f"{vcs}+")
            commit = _text(entry, "ref", key, where) or None
            return Origin(kind="vcs", url=url, commit=commit, vcs=vcs)
    for field, plain_kind in (("path", "directory"), ("file", "archive")):
        if field in entry:
            url = _file_url(lock_path.parent, _text(entry, field, key, where))
            return Origin(kind="editable" if editable else plain_kind, url=url)
    return None


def _text(entry: Mapping[str, Any], field: str, key: str, where: Location) -> str:
    value = entry.get(field, "")
    if not isinstance(value, str):
        raise PipfileLockError(f"{key}: {field!r} must be a string", where)
    return value.strip()


def _file_url(base: Path, location: str) -> str:
    """A URL stays as written; a local path becomes an absolute ``file://`` URL."""
    if "://" in location:
        return location
    return Path(os.path.abspath(base / location)).as_uri()


def lock_is_stale(lock_path: str | Path, pipfile_path: str | Path) -> bool:
    """True when no pipenv release would compute the lock's ``_meta.hash`` from the Pipfile."""
    return matching_hash_scheme(lock_path, pipfile_path) is None


def matching_hash_scheme(lock_path: str | Path, pipfile_path: str | Path) -> HashScheme | None:
    """The newest pipenv hash recipe that reproduces the lock's ``_meta.hash``, if any."""
    lock_data = _read_lock(Path(lock_path))
    return _matching_scheme(lock_data, load_toml(Path(pipfile_path), PipfileError))


def _matching_scheme(
    lock_data: Mapping[str, Any], pipfile_data: Mapping[str, Any]
) -> HashScheme | None:
    recorded = _recorded_hash(lock_data)
    if recorded is None:
        return None
    for scheme in HASH_SCHEMES:
        if pipfile_hash(pipfile_data, scheme) == recorded:
            return scheme
    return None


def _recorded_hash(data: Mapping[str, Any]) -> str | None:
    meta = data.get("_meta")
    digest = meta.get("hash") if isinstance(meta, dict) else None
    value = digest.get("sha256") if isinstance(digest, dict) else None
    return value if isinstance(value, str) else None


def pipfile_hash(
    pipfile_data: Mapping[str, Any], scheme: HashScheme = HASH_SCHEMES[0]
) -> str | None:
    """The ``_meta.hash.sha256`` pipenv would write for this parsed Pipfile.

    None when that pipenv could not hash it (a table of the wrong type, a TOML date).
    """
    payload = _hash_payload(pipfile_data, scheme)
    if payload is None:
        return None
    try:
        content = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    except (TypeError, ValueError, RecursionError):  # dates, deep nesting: pipenv fails too
        return None
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


def _hash_payload(data: Mapping[str, Any], scheme: HashScheme) -> dict[str, Any] | None:
    default_source = {"name": "pypi", "url": scheme.default_source_url, "verify_ssl": True}
    categories = {"default": data.get("packages", {}), "develop": data.get("dev-packages", {})}
    if scheme.custom_categories:
        for table, values in data.items():
            if table not in _PIPFILE_TABLES and table not in ("default", "develop"):
                categories[table] = values
    if scheme.canonical_names:
        if not all(isinstance(values, dict) for values in categories.values()):
            return None
        categories = {
            table: {canonical_name(key): value for key, value in values.items()}
            for table, values in categories.items()
        }
    meta = {"sources": data.get("source", [default_source]), "requires": data.get("requires", {})}
    return {"_meta": meta, **categories}


def _staleness_warnings(lock_path: Path, data: Mapping[str, Any]) -> list[str]:
    """Warnings about the Pipfile next to the lock, if there is one."""
    pipfile = lock_path.with_name("Pipfile")
    if not pipfile.is_file():
        return []
    try:
        pipfile_data = load_toml(pipfile, PipfileError)
    except PipfileError as error:
        return [f"cannot check whether Pipfile.lock is stale: {error}"]
    scheme = _matching_scheme(data, pipfile_data)
    if scheme is None:
        return [STALE_WARNING]
    if scheme == HASH_SCHEMES[0]:
        return []
    return [
        f"Pipfile.lock matches Pipfile only by an older pipenv's hash ({scheme.name}); "
        "current pipenv's `pipenv verify` and `pipenv install --deploy` reject it until "
        "`pipenv lock` is run again"
    ]
