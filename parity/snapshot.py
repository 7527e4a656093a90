"""Environments as JSON documents (schema ``parity.snapshot/1``), and back, validated.

A snapshot keeps everything compare() uses: the interpreter facts (with the marker
environment), the packages with their origins and markers, the declared requirements.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from parity.model import Environment, Interpreter, Level, Location, Origin, Package, Requirement
from parity.redact import redact_origin

SCHEMA = "parity.snapshot/1"
REPORT_SCHEMA = "parity.report/1"
_REPORT_HINT = "; this is a report, not a snapshot: save one with `parity snapshot SOURCE`"


class SnapshotFormatError(ValueError):
    """The document is not a valid ``parity.snapshot/1``; the message says which field."""


def environment_to_dict(environment: Environment) -> dict[str, Any]:
    """``environment`` as JSON-ready data."""
    interpreter = environment.interpreter
    return {
        "schema": SCHEMA,
        "kind": environment.kind,
        "ref": environment.ref,
        "level": environment.level.value,
        "description": environment.description,
        "python_requirement": environment.python_requirement,
        "interpreter": _interpreter_to_dict(interpreter) if interpreter is not None else None,
        "packages": [_package_to_dict(package) for package in environment.packages],
        "requirements": [_requirement_to_dict(req) for req in environment.requirements],
        "warnings": list(environment.warnings),
    }


def _interpreter_to_dict(interpreter: Interpreter) -> dict[str, Any]:
    return {
        "implementation": interpreter.implementation,
        "version": interpreter.version,
        "executable": interpreter.executable,
        "prefix": interpreter.prefix,
        "base_prefix": interpreter.base_prefix,
        "is_venv": interpreter.is_venv,
        "machine": interpreter.machine,
        "os": interpreter.os,
        "libc": interpreter.libc,
        "pip_version": interpreter.pip_version,
        "externally_managed": interpreter.externally_managed,
        "markers": dict(interpreter.markers),
    }


def _location_to_text(location: Location | None) -> str | None:
    return str(location) if location is not None else None


def _package_to_dict(package: Package) -> dict[str, Any]:
    origin = package.origin
    return {
        "name": package.name,
        "version": package.version,
        "origin": None
        if origin is None
        else {
            "kind": origin.kind,
            "url": origin.url,
            "commit": origin.commit,
            "vcs": origin.vcs,
            **({"hash": origin.hash} if origin.hash else {}),
        },
        "installer": package.installer,
        "location": package.location,
        "requires": list(package.requires),
        "marker": package.marker,
        "declared_at": _location_to_text(package.declared_at),
    }


def _requirement_to_dict(requirement: Requirement) -> dict[str, Any]:
    return {
        "name": requirement.name,
        "specifier": requirement.specifier,
        "extras": list(requirement.extras),
        "marker": requirement.marker,
        "url": requirement.url,
        "editable": requirement.editable,
        "is_constraint": requirement.is_constraint,
        "declared_at": _location_to_text(requirement.declared_at),
    }


# --- reading -------------------------------------------------------------------------------


def environment_from_dict(data: object) -> Environment:
    """Validate and rebuild an Environment; SnapshotFormatError names the bad field."""
    document = _mapping(data, "the document")
    schema = document.get("schema")
    if schema != SCHEMA:
        hint = _REPORT_HINT if schema == REPORT_SCHEMA else ""
        raise SnapshotFormatError(f"unknown schema {schema!r} (expected {SCHEMA!r}){hint}")
    level_text = _text(document, "level")
    try:
        level = Level(level_text)
    except ValueError:
        raise SnapshotFormatError(f"level: unknown value {level_text!r}") from None
    interpreter_data = document.get("interpreter")
    return Environment(
        kind=_text(document, "kind"),
        ref=_text(document, "ref"),
        level=level,
        interpreter=None
        if interpreter_data is None
        else _interpreter_from_dict(_mapping(interpreter_data, "interpreter")),
        packages=tuple(
            _package_from_dict(_mapping(item, f"packages[{index}]"))
            for index, item in enumerate(_list(document, "packages"))
        ),
        requirements=tuple(
            _requirement_from_dict(_mapping(item, f"requirements[{index}]"))
            for index, item in enumerate(_list(document, "requirements"))
        ),
        python_requirement=_optional_text(document, "python_requirement"),
        warnings=tuple(_texts(document, "warnings")),
        description=_optional_text(document, "description") or "",
    )


def _interpreter_from_dict(data: Mapping[str, Any]) -> Interpreter:
    markers = _mapping(data.get("markers", {}), "interpreter.markers")
    for key, value in markers.items():
        if not isinstance(value, str):
            raise SnapshotFormatError(f"interpreter.markers.{key}: expected a string")
    return Interpreter(
        implementation=_text(data, "implementation", "interpreter"),
        version=_text(data, "version", "interpreter"),
        executable=_text(data, "executable", "interpreter"),
        prefix=_optional_text(data, "prefix", "interpreter") or "",
        base_prefix=_optional_text(data, "base_prefix", "interpreter") or "",
        is_venv=_bool(data, "is_venv", "interpreter"),
        machine=_optional_text(data, "machine", "interpreter") or "",
        os=_optional_text(data, "os", "interpreter") or "",
        libc=_optional_text(data, "libc", "interpreter") or "",
        pip_version=_optional_text(data, "pip_version", "interpreter"),
        externally_managed=_bool(data, "externally_managed", "interpreter"),
        markers=dict(markers),
    )


def _package_from_dict(data: Mapping[str, Any]) -> Package:
    origin_data = data.get("origin")
    origin = None
    if origin_data is not None:
        origin_map = _mapping(origin_data, "origin")
        origin = Origin(
            kind=_text(origin_map, "kind", "origin"),
            url=_text(origin_map, "url", "origin"),
            commit=_optional_text(origin_map, "commit", "origin"),
            vcs=_optional_text(origin_map, "vcs", "origin"),
            hash=_optional_text(origin_map, "hash", "origin"),
        )
    return Package(
        name=_text(data, "name", "package"),
        version=_text(data, "version", "package"),
        origin=redact_origin(origin),
        installer=_optional_text(data, "installer", "package"),
        location=_optional_text(data, "location", "package"),
        requires=tuple(_texts(data, "requires", "package")),
        marker=_optional_text(data, "marker", "package"),
        declared_at=_location(_optional_text(data, "declared_at", "package")),
    )


def _requirement_from_dict(data: Mapping[str, Any]) -> Requirement:
    return Requirement(
        name=_text(data, "name", "requirement"),
        specifier=_optional_text(data, "specifier", "requirement") or "",
        extras=tuple(_texts(data, "extras", "requirement")),
        marker=_optional_text(data, "marker", "requirement"),
        url=_optional_text(data, "url", "requirement"),
        editable=_bool(data, "editable", "requirement"),
        is_constraint=_bool(data, "is_constraint", "requirement"),
        declared_at=_location(_optional_text(data, "declared_at", "requirement")),
    )


def _location(text: str | None) -> Location | None:
    if text is None:
        return None
    path, sep, line = text.rpartition(":")
    if sep and line.isdigit():
        return Location(path, int(line))
    return Location(text)


def _mapping(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise SnapshotFormatError(f"{where}: expected an object")
    return value


def _list(data: Mapping[str, Any], key: str) -> list[Any]:
    value = data.get(key, [])
    if not isinstance(value, list):
        raise SnapshotFormatError(f"{key}: expected a list")
    return value


def _text(data: Mapping[str, Any], key: str, where: str = "") -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise SnapshotFormatError(f"{_field(where, key)}: expected a string")
    return value


def _optional_text(data: Mapping[str, Any], key: str, where: str = "") -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise SnapshotFormatError(f"{_field(where, key)}: expected a string or null")
    return value


def _texts(data: Mapping[str, Any], key: str, where: str = "") -> list[str]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise SnapshotFormatError(f"{_field(where, key)}: expected a list of strings")
    return value


def _bool(data: Mapping[str, Any], key: str, where: str = "") -> bool:
    value = data.get(key, False)
    if not isinstance(value, bool):
        raise SnapshotFormatError(f"{_field(where, key)}: expected true or false")
    return value


def _field(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key
