"""Pipfile source: what a Pipfile's ``[packages]`` (and ``[dev-packages]``) ask for.

Entries become :class:`~parity.model.Requirement` values the way pipenv reads them:

* ``"*"`` means any version (specifier ``""``); a bare version ``"1.2"`` means ``==1.2``.
* Tables may give ``version``, ``extras``, ``markers``, ``editable``, a VCS URL
  (``git``/``hg``/``svn``/``bzr`` with ``ref`` and ``subdirectory``), a ``path`` or a
  ``file``. ``index`` (and any other key pipenv does not use to select a release) is
  ignored.
* Marker shorthand keys (``sys_platform = "== 'linux'"``, ``os_name``, ``python_version``,
  any PEP 508 environment marker name) are folded into the ``markers`` string with
  ``and``, as pipenv does when it locks.
* ``[requires] python_version = "3.11"`` becomes the Python requirement ``==3.11.*``;
  ``python_full_version = "3.11.7"`` becomes ``==3.11.7`` (and wins when both are given).
* A name in both tables keeps its ``[packages]`` entry; custom categories are not read.

Pipenv names a local path dependency by a generated key (``"5448283" = {path = "."}``):
the first 7 hex digits of a hash. For such keys the project name is read from the path's
``pyproject.toml`` (``[project]`` or ``[tool.poetry]``), ``setup.cfg`` or ``setup.py``;
when none can be read the key is kept and a warning says so.
"""

from __future__ import annotations

import configparser
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from packaging.markers import InvalidMarker, Marker
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    parse_sdist_filename,
    parse_wheel_filename,
)

from parity.errors import SourceError
from parity.model import Environment, Level, Location, Requirement
from parity.redact import redact_url
from parity.sources._toml import key_lines, load_toml, parse_toml, read_text

#: PEP 508 environment marker names pipenv accepts as keys of a Pipfile entry.
MARKER_KEYS = (
    "os_name",
    "sys_platform",
    "platform_machine",
    "platform_python_implementation",
    "platform_release",
    "platform_system",
    "platform_version",
    "python_version",
    "python_full_version",
    "implementation_name",
    "implementation_version",
)
VCS_KEYS = ("git", "hg", "svn", "bzr")
_OPERATOR = re.compile(r"^\s*(===|==|!=|~=|<=|>=|<|>)")
_GENERATED_KEY = re.compile(r"^[0-9a-f]{7}$")
_PROJECT_NAME = re.compile(r"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$", re.IGNORECASE)
_SETUP_PY_NAME = re.compile(r"""\bname\s*=\s*["']([A-Za-z0-9][A-Za-z0-9._-]*)["']""")


class PipfileError(SourceError):
    """A Pipfile that cannot be read, or an entry pipenv could not use."""


def load_pipfile(path: str | Path, *, dev: bool = False) -> Environment:
    """Read a Pipfile's ``[packages]`` (plus ``[dev-packages]`` when ``dev``)."""
    pipfile = Path(path)
    text = read_text(pipfile, PipfileError)
    data = parse_toml(text, pipfile, PipfileError)
    lines = key_lines(text)
    sections = ("packages", "dev-packages") if dev else ("packages",)
    requirements: dict[str, Requirement] = {}
    warnings: list[str] = []
    for section in sections:
        for requirement, warning in _read_section(data, section, pipfile, lines):
            requirements.setdefault(requirement.key, requirement)  # [packages] wins
            if warning:
                warnings.append(warning)
    return Environment(
        kind="pipfile",
        ref=str(pipfile),
        level=Level.DECLARED,
        requirements=tuple(requirements.values()),
        python_requirement=python_requirement(data.get("requires"), Location(str(pipfile))),
        warnings=tuple(warnings),
        description=f"{pipfile} [{'] + ['.join(sections)}]",
    )


def _read_section(
    data: Mapping[str, Any], section: str, pipfile: Path, lines: Mapping[tuple[str, str], int]
) -> list[tuple[Requirement, str | None]]:
    """Requirements (each with an optional warning) declared in one Pipfile table."""
    table = data.get(section, {})
    if not isinstance(table, dict):
        where = Location(str(pipfile), lines.get(("", section)))
        raise PipfileError(f"[{section}] must be a table", where)
    found = []
    for key, entry in table.items():
        where = Location(str(pipfile), lines.get((section, key)))
        found.append(requirement_from_entry(key, entry, where, pipfile.parent))
    return found


def requirement_from_entry(
    key: str, entry: object, where: Location, base: Path
) -> tuple[Requirement, str | None]:
    """One Pipfile entry as a Requirement, plus a warning when its name had to be guessed."""
    if isinstance(entry, str):
        _check_name(key, where)
        return Requirement(key, _version_specifier(entry, key, where), declared_at=where), None
    if not isinstance(entry, dict):
        raise PipfileError(f"{key}: an entry must be a version string or a table", where)
    name, warning = entry_name(key, entry, base)
    _check_name(name, where)
    requirement = Requirement(
        name=name,
        specifier=_version_specifier(_string_field(entry, "version", key, where), key, where),
        extras=_extras(entry, key, where),
        marker=_marker(entry, key, where),
        url=_direct_url(entry, key, where),
        editable=_editable(entry, key, where),
        declared_at=where,
    )
    return requirement, warning


def _version_specifier(text: str, key: str, where: Location) -> str:
    """Pipfile version text as a PEP 440 specifier: ``*`` -> ``""``, ``1.2`` -> ``==1.2``."""
    text = text.strip()
    if text in ("", "*"):
        return ""
    if not _OPERATOR.match(text):
        text = f"=={text}"
    try:
        return str(SpecifierSet(text))
    except InvalidSpecifier:
        raise PipfileError(f"{key}: invalid version specifier {text!r}", where) from None


def _string_field(entry: Mapping[str, Any], field: str, key: str, where: Location) -> str:
    value = entry.get(field, "")
    if not isinstance(value, str):
        raise PipfileError(f"{key}: {field!r} must be a string", where)
    return value


def _extras(entry: Mapping[str, Any], key: str, where: Location) -> tuple[str, ...]:
    extras = entry.get("extras", [])
    if not isinstance(extras, list) or not all(isinstance(extra, str) for extra in extras):
        raise PipfileError(f"{key}: 'extras' must be a list of strings", where)
    for extra in extras:
        _check_name(extra, where, what="extra")
    return tuple(extras)


def _editable(entry: Mapping[str, Any], key: str, where: Location) -> bool:
    editable = entry.get("editable", False)
    if not isinstance(editable, bool):
        raise PipfileError(f"{key}: 'editable' must be true or false", where)
    return editable


def _marker(entry: Mapping[str, Any], key: str, where: Location) -> str | None:
    try:
        return fold_markers(entry)
    except ValueError as error:
        raise PipfileError(f"{key}: {error}", where) from None


def fold_markers(entry: Mapping[str, Any]) -> str | None:
    """One PEP 508 marker from an entry's ``markers`` and shorthand marker keys.

    ``{markers = "os_name == 'nt'", python_version = ">= '3.8'"}`` gives
    ``os_name == 'nt' and python_version >= '3.8'``; a lone ``markers`` string is kept
    as written. Raises ValueError naming the bad marker.
    """
    parts: list[str] = []
    markers = entry.get("markers")
    if markers is not None and not isinstance(markers, str):
        raise ValueError("'markers' must be a string")
    if markers and markers.strip():
        parts.append(markers.strip())
    for name in MARKER_KEYS:
        value = entry.get(name)
        if value is None:
            continue
        if not isinstance(value, str):
            raise ValueError(f"{name!r} must be a string such as \"== 'linux'\"")
        parts.append(f"{name} {value.strip()}")
    for part in parts:
        _check_marker(part)
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]
    combined = " and ".join(f"({part})" if _has_or(part) else part for part in parts)
    _check_marker(combined)
    return combined


def _has_or(marker: str) -> bool:
    return re.search(r"\bor\b", marker) is not None


def _check_marker(text: str) -> None:
    try:
        Marker(text)
    except InvalidMarker:
        raise ValueError(f"invalid marker {text!r}") from None


def _direct_url(entry: Mapping[str, Any], key: str, where: Location) -> str | None:
    """The entry's VCS URL (``git+URL@ref#subdirectory=...``), path or file, if any.

    Credentials in the URL are hidden.
    """
    url = _written_url(entry, key, where)
    return redact_url(url) if url else None


def _written_url(entry: Mapping[str, Any], key: str, where: Location) -> str | None:
    for vcs in VCS_KEYS:
        if vcs in entry:
            return _vcs_url(entry, vcs, key, where)
    for field in ("path", "file"):
        if field in entry:
            value = _string_field(entry, field, key, where)
            if not value.strip():
                raise PipfileError(f"{key}: {field!r} is empty", where)
            return value
    return None


def _vcs_url(entry: Mapping[str, Any], vcs: str, key: str, where: Location) -> str:
    url = _string_field(entry, vcs, key, where).strip()
    if not url:
        raise PipfileError(f"{key}: {vcs!r} URL is empty", where)
    if not url.startswith(f"{vcs}+"):
        url = f"{vcs}+{url}"
    ref = _string_field(entry, "ref", key, where).strip()
    if ref:
        url = f"{url}@{ref}"
    subdirectory = _string_field(entry, "subdirectory", key, where).strip()
    if subdirectory:
        url = f"{url}#subdirectory={subdirectory}"
    return url


def python_requirement(
    requires: object, where: Location, error_type: type[SourceError] = PipfileError
) -> str | None:
    """``[requires]`` as a specifier: ``python_full_version`` wins over ``python_version``."""
    if requires is None:
        return None
    if not isinstance(requires, dict):
        raise error_type("[requires] must be a table", where)
    for field, template in (("python_full_version", "=={}"), ("python_version", "=={}.*")):
        value = requires.get(field)
        if value is None:
            continue
        if not isinstance(value, str):
            raise error_type(f'[requires] {field} must be a quoted version such as "3.11"', where)
        specifier = template.format(value.strip())
        try:
            SpecifierSet(specifier)
        except InvalidSpecifier:
            raise error_type(
                f"[requires] {field} {value!r} is not a Python version", where
            ) from None
        return specifier
    return None


def _check_name(name: str, where: Location, what: str = "project name") -> None:
    if not _PROJECT_NAME.match(name):
        raise PipfileError(f"{name!r} is not a valid {what}", where)


def entry_name(key: str, entry: Mapping[str, Any], base: Path) -> tuple[str, str | None]:
    """The project name for a Pipfile or Pipfile.lock entry, and a warning if it is a guess.

    Only pipenv's generated keys (7 hex digits) on ``path``/``file`` entries are replaced,
    by the name the local project declares; other keys are the name.
    """
    location = entry.get("path", entry.get("file"))
    if not _GENERATED_KEY.match(key) or not isinstance(location, str):
        return key, None
    name = local_project_name(base / location)
    if name:
        return name, None
    return key, (
        f"{key!r} is pipenv's generated key for {location}; its project name could not be "
        "read there, so it is compared under that key"
    )


def local_project_name(target: Path) -> str | None:
    """The project name a local directory or distribution file declares, if readable."""
    try:
        if target.is_dir():
            return _name_in_directory(target)
    except OSError:
        return None
    return _name_from_filename(target.name)


def _name_in_directory(directory: Path) -> str | None:
    for reader in (_name_in_pyproject, _name_in_setup_cfg, _name_in_setup_py):
        name = reader(directory)
        if name and _PROJECT_NAME.match(name):
            return name
    return None


def _name_in_pyproject(directory: Path) -> str | None:
    path = directory / "pyproject.toml"
    if not path.is_file():
        return None
    try:
        data = load_toml(path, PipfileError)
    except PipfileError:
        return None
    tool = data.get("tool")
    poetry = tool.get("poetry") if isinstance(tool, dict) else None
    for table in (data.get("project"), poetry):
        if isinstance(table, dict) and isinstance(table.get("name"), str):
            return str(table["name"])
    return None


def _name_in_setup_cfg(directory: Path) -> str | None:
    path = directory / "setup.cfg"
    if not path.is_file():
        return None
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(read_text(path, PipfileError))
    except (PipfileError, configparser.Error):
        return None
    return parser.get("metadata", "name", fallback=None)


def _name_in_setup_py(directory: Path) -> str | None:
    path = directory / "setup.py"
    if not path.is_file():
        return None
    try:
        found = _SETUP_PY_NAME.search(read_text(path, PipfileError))
    except PipfileError:
        return None
    return found.group(1) if found else None


def _name_from_filename(filename: str) -> str | None:
    try:
        if filename.endswith(".whl"):
            return str(parse_wheel_filename(filename)[0])
        return str(parse_sdist_filename(filename)[0])
    except (InvalidWheelFilename, InvalidSdistFilename):
        return None
