"""The one TOML loader: tomllib on Python 3.11+, tomli below.

Every TOML file parity reads (Pipfile, pyproject.toml, the lock files, parity.toml, and
the detection of what a project declares) goes through :func:`read_document`, so all read
the same bytes the same way: UTF-8, a leading BOM dropped. Every failure (unreadable file,
bad UTF-8, TOML syntax) is a :class:`TomlFileError` naming the file and, where known, the
line; :func:`load_toml` and :func:`parse_toml` turn it into the caller's own
:class:`~parity.errors.SourceError` subclass.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

from parity.errors import SourceError
from parity.model import Location

_AT_LINE = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")
_AT_END = re.compile(r"\s*\(at end of document\)\s*$")


class TomlFileError(ValueError):
    """A TOML file that cannot be read: ``reason``, ``path`` and (when known) ``line``."""

    def __init__(
        self, reason: str, path: str, line: int | None = None, *, unreadable: bool = False
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.path = path
        self.line = line
        self.unreadable = unreadable  # the file could not be read at all (not its content)

    def as_source_error(self, error_type: type[SourceError]) -> SourceError:
        where: Location | str = Location(self.path, self.line) if self.line else self.path
        return error_type(self.reason, where)


def decode(data: bytes, path: str) -> str:
    """``data`` decoded as UTF-8, a leading BOM dropped (as pip, Poetry and uv read it)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise TomlFileError("the file is not UTF-8 text", path, line) from None


def read_document_text(path: Path | str) -> str:
    """The file's text; :class:`TomlFileError` when it cannot be read or decoded."""
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        reason = f"cannot read the file: {error.strerror or error}"
        raise TomlFileError(reason, str(path), unreadable=True) from None
    return decode(data, str(path))


def parse_document(text: str, path: Path | str) -> dict[str, Any]:
    """Parse TOML ``text`` read from ``path``; :class:`TomlFileError` with the line."""
    if sys.version_info >= (3, 11):  # imported here: most checks read no TOML at all
        import tomllib
    else:  # pragma: no cover - exercised on Python 3.9 and 3.10 only
        import tomli as tomllib
    try:
        return tomllib.loads(text.removeprefix("\ufeff"))
    except tomllib.TOMLDecodeError as error:
        reason, line = _split_decode_error(str(error), text)
        raise TomlFileError(f"invalid TOML: {reason}", str(path), line) from None
    except ValueError as error:  # an integer too long to convert
        raise TomlFileError(f"invalid TOML: {error}", str(path)) from None
    except RecursionError:
        raise TomlFileError("invalid TOML: values are nested too deeply", str(path)) from None


def read_document(path: Path | str) -> dict[str, Any]:
    """Read and parse the TOML file at ``path``; :class:`TomlFileError` on any failure."""
    return parse_document(read_document_text(path), path)


def read_text(path: Path, error_type: type[SourceError]) -> str:
    """The file's text, decoded as UTF-8 (a leading BOM is dropped)."""
    try:
        return read_document_text(path)
    except TomlFileError as error:
        raise error.as_source_error(error_type) from None


def load_toml(path: Path, error_type: type[SourceError]) -> dict[str, Any]:
    """Parse ``path`` as TOML, raising ``error_type`` with file and line on any failure."""
    try:
        return read_document(path)
    except TomlFileError as error:
        raise error.as_source_error(error_type) from None


def parse_toml(text: str, path: Path, error_type: type[SourceError]) -> dict[str, Any]:
    """Parse TOML ``text`` read from ``path``; errors become ``error_type``."""
    try:
        return parse_document(text, path)
    except TomlFileError as error:
        raise error.as_source_error(error_type) from None


def _split_decode_error(message: str, text: str) -> tuple[str, int | None]:
    """Separate the decoder's "(at line L, column C)" suffix from its reason."""
    found = _AT_LINE.search(message)
    if found:
        return message[: found.start()], int(found.group(1))
    found = _AT_END.search(message)
    if found:
        return f"{message[: found.start()]} at the end of the file", text.count("\n") + 1
    return message, None


def key_lines(text: str) -> dict[tuple[str, str], int]:
    """Map ``(table, key)`` to the 1-based line where ``key = ...`` is written in ``table``
    (or where ``[table.key]`` opens it as a sub-table).

    A cheap line scan (not a TOML parser) used only to point messages at a line: it
    understands ``[table]`` headers and bare or quoted keys, which covers dependency
    tables as people write them. Keys it cannot see are simply absent.
    """
    lines: dict[tuple[str, str], int] = {}
    table = ""
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        header = _TABLE_HEADER.match(stripped)
        if header:
            parts = [_unquote(part) for part in _split_dotted(header.group(1))]
            table = ".".join(parts)
            lines.setdefault((".".join(parts[:-1]), parts[-1]), number)  # [parent.key]
            continue
        key = _KEY.match(stripped)
        if key:
            lines.setdefault((table, _unquote(key.group(1))), number)
    return lines


_TABLE_HEADER = re.compile(r"^\[\[?\s*([^\[\]]+?)\s*\]\]?\s*(?:#.*)?$")
_KEY = re.compile(r"""^("[^"]*"|'[^']*'|[A-Za-z0-9_.-]+)\s*=""")


def _split_dotted(name: str) -> list[str]:
    return [part.strip() for part in re.findall(r"""("[^"]*"|'[^']*'|[^."']+)""", name)]


def _unquote(key: str) -> str:
    key = key.strip()
    if len(key) >= 2 and key[0] == key[-1] and key[0] in "\"'":
        return key[1:-1]
    return key


def line_of(text: str, needle: str, start_line: int = 1) -> int | None:
    """The first 1-based line at or after ``start_line`` containing ``needle``."""
    for number, raw in enumerate(text.splitlines(), start=1):
        if number >= start_line and needle in raw:
            return number
    return None
