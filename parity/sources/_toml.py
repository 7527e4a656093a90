"""Read a TOML file for a source: tomllib on Python 3.11+, tomli below.

Every failure (unreadable file, bad UTF-8, TOML syntax) becomes the caller's own
:class:`~parity.errors.SourceError` subclass, naming the file and, for syntax errors,
the line the decoder reports.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

from parity.errors import SourceError
from parity.model import Location

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.9 and 3.10 only
    import tomli as tomllib

_AT_LINE = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")
_AT_END = re.compile(r"\s*\(at end of document\)\s*$")


def read_text(path: Path, error_type: type[SourceError]) -> str:
    """The file's text, decoded as UTF-8 (a leading BOM is dropped)."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise error_type(f"cannot read the file: {error.strerror or error}", str(path)) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise error_type("the file is not UTF-8 text", Location(str(path), line)) from None


def load_toml(path: Path, error_type: type[SourceError]) -> dict[str, Any]:
    """Parse ``path`` as TOML, raising ``error_type`` with file and line on any failure."""
    text = read_text(path, error_type)
    return parse_toml(text, path, error_type)


def parse_toml(text: str, path: Path, error_type: type[SourceError]) -> dict[str, Any]:
    """Parse TOML ``text`` read from ``path``; errors become ``error_type``."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        reason, line = _split_decode_error(str(error), text)
        raise error_type(f"invalid TOML: {reason}", Location(str(path), line)) from None
    except ValueError as error:  # an integer too long to convert
        raise error_type(f"invalid TOML: {error}", str(path)) from None
    except RecursionError:
        raise error_type("invalid TOML: values are nested too deeply", str(path)) from None


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
