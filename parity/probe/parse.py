"""The probe: its source text, the command that runs it, and strict parsing of what it prints.

The probe itself is ``probe_script.py`` (stdlib only, Python 2.7 and 3.5+), run unchanged by
the target's own interpreter. Everything it prints comes from a machine parity does not
trust, so :func:`parse_probe_output` checks the type of every field, strips control
characters from every string and turns anything unexpected into one :class:`ProbeError`.
"""

from __future__ import annotations

import base64
import json
import os
import re
import zlib
from collections.abc import Iterator, Mapping
from importlib import resources
from pathlib import PurePosixPath, PureWindowsPath
from urllib.parse import quote

from parity.errors import ProbeError
from parity.model import Environment, Interpreter, Level, Origin, Package, canonical_name
from parity.redact import redact_origin

PROBE_FORMAT = 1
MAX_OUTPUT_BYTES = 64 * 1024 * 1024
DIST_FORMATS = frozenset({"dist-info", "egg-info", "egg-link"})
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_WINDOWS_ABSOLUTE = re.compile(r"^[A-Za-z]:[\\/]")


def _load_source() -> str:
    return resources.files("parity.probe").joinpath("script.py").read_text(encoding="utf-8")


PROBE_SOURCE: str = _load_source()


def probe_command(python: str) -> list[str]:
    """The argv that runs the probe with ``python`` (no shell; writes no bytecode)."""
    source = _compact_source() if os.name == "nt" else PROBE_SOURCE
    return [python, "-B", "-c", source]


def _compact_source() -> str:
    """The probe as a short loader: Windows caps a command line at 32 767 characters."""
    packed = base64.b64encode(zlib.compress(PROBE_SOURCE.encode("utf-8"), 9)).decode("ascii")
    return (
        "import base64,zlib;"
        f"exec(compile(zlib.decompress(base64.b64decode('{packed}')),'<parity-probe>','exec'))"
    )


def clean_text(value: str) -> str:
    """``value`` without control characters (C0, DEL, C1) and with lone surrogates replaced."""
    if value.isascii() and value.isprintable():  # the common case: nothing to clean
        return value
    return _SURROGATE.sub("\ufffd", _CONTROL.sub("", value))


def parse_probe_output(
    text: str | bytes, *, kind: str, ref: str, description: str = ""
) -> Environment:
    """Validate the probe's JSON and build the installed-level :class:`Environment`."""
    document = _Fields(_load_document(text), "")
    probe_format = document.integer("probe")
    if probe_format != PROBE_FORMAT:
        raise ProbeError(
            f"the probe reported format {probe_format}; this parity reads format {PROBE_FORMAT}"
        )
    packages = tuple(_package(item) for item in document.objects("distributions"))
    _reject_duplicates(packages)
    return Environment(
        kind=kind,
        ref=ref,
        level=Level.INSTALLED,
        interpreter=_interpreter(document.object("interpreter")),
        packages=packages,
        warnings=document.texts("warnings"),
        description=description,
    )


def _load_document(text: str | bytes) -> Mapping[str, object]:
    if len(text) > MAX_OUTPUT_BYTES:
        raise ProbeError(
            f"the probe printed more than {MAX_OUTPUT_BYTES // (1024 * 1024)} MiB "
            f"({len(text)} bytes)"
        )
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    stripped = text.strip()
    if not stripped:
        raise ProbeError("the probe printed nothing")
    for candidate in _json_candidates(stripped):
        try:
            value = json.loads(candidate)
        except (ValueError, RecursionError):
            continue
        if isinstance(value, dict) and "probe" in value:
            return value
        if candidate is stripped:
            raise ProbeError(
                f"the probe printed JSON that is not a probe report ({_json_type(value)})"
            )
    raise ProbeError(f"the probe printed no JSON (first bytes: {stripped[:80]!r})")


def _json_candidates(text: str) -> Iterator[str]:
    """The whole output, then (last first) lines that could be the report after stray output."""
    yield text
    lines = text.splitlines()
    if len(lines) > 1:
        for line in reversed(lines):
            if line.startswith("{"):
                yield line


def _json_type(value: object) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return "a number"
    return names.get(type(value), type(value).__name__)


class _Fields:
    """Typed access to one JSON object; a wrong or missing field is a ProbeError naming it."""

    def __init__(self, data: object, where: str) -> None:
        if not isinstance(data, dict):
            raise self._error(where or "the report", "an object", data)
        self.data: Mapping[str, object] = data
        self.where = where

    @staticmethod
    def _error(where: str, expected: str, value: object) -> ProbeError:
        return ProbeError(
            f"the probe's report is malformed: {where} should be {expected}, "
            f"not {_json_type(value)}"
        )

    def _path(self, key: str) -> str:
        key = clean_text(key)  # a key from the report (a marker's name) may hold anything
        return f"{self.where}.{key}" if self.where else key

    def _get(self, key: str) -> object:
        if key not in self.data:
            raise ProbeError(f"the probe's report is malformed: {self._path(key)} is missing")
        return self.data[key]

    def text(self, key: str) -> str:
        value = self._get(key)
        if not isinstance(value, str):
            raise self._error(self._path(key), "a string", value)
        return clean_text(value)

    def optional_text(self, key: str) -> str | None:
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self._error(self._path(key), "a string or null", value)
        return clean_text(value)

    def flag(self, key: str, default: bool | None = None) -> bool:
        value = self.data.get(key, default) if default is not None else self._get(key)
        if not isinstance(value, bool):
            raise self._error(self._path(key), "true or false", value)
        return value

    def integer(self, key: str) -> int:
        value = self._get(key)
        if not isinstance(value, int) or isinstance(value, bool):
            raise self._error(self._path(key), "an integer", value)
        return value

    def _array(self, key: str) -> list[object]:
        value = self._get(key)
        if not isinstance(value, list):
            raise self._error(self._path(key), "an array", value)
        return value

    def texts(self, key: str) -> tuple[str, ...]:
        items = self._array(key)
        for index, item in enumerate(items):
            if not isinstance(item, str):
                raise self._error(f"{self._path(key)}[{index}]", "a string", item)
        return tuple(clean_text(item) for item in items if isinstance(item, str))

    def text_map(self, key: str) -> dict[str, str]:
        fields = self.object(key)
        result: dict[str, str] = {}
        for name in fields.data:
            result[clean_text(name)] = fields.text(name)
        return result

    def object(self, key: str) -> _Fields:
        return _Fields(self._get(key), self._path(key))

    def optional_object(self, key: str) -> _Fields | None:
        value = self.data.get(key)
        return None if value is None else _Fields(value, self._path(key))

    def objects(self, key: str) -> list[_Fields]:
        path = self._path(key)
        return [_Fields(item, f"{path}[{index}]") for index, item in enumerate(self._array(key))]


def _interpreter(fields: _Fields) -> Interpreter:
    fields.texts("sys_path")  # validated; the model keeps no copy
    return Interpreter(
        implementation=fields.text("implementation"),
        version=fields.text("version"),
        executable=fields.text("executable"),
        prefix=fields.text("prefix"),
        base_prefix=fields.text("base_prefix"),
        is_venv=fields.flag("is_venv"),
        machine=fields.text("machine"),
        os=fields.text("os"),
        libc=fields.text("libc"),
        pip_version=fields.optional_text("pip_version"),
        externally_managed=fields.flag("externally_managed"),
        markers=fields.text_map("markers"),
    )


def _package(fields: _Fields) -> Package:
    name = fields.text("name")
    if not name.strip():
        raise ProbeError(f"the probe's report is malformed: {fields.where}.name is empty")
    dist_format = fields.text("format")
    if dist_format not in DIST_FORMATS:
        raise ProbeError(
            f"the probe's report is malformed: {fields.where}.format is {dist_format!r}, "
            f"not one of {', '.join(sorted(DIST_FORMATS))}"
        )
    location = fields.text("location")
    editable = fields.flag("editable")
    return Package(
        name=name.strip(),
        version=fields.text("version").strip(),
        origin=redact_origin(_origin(fields.optional_object("direct_url"), editable, location)),
        installer=fields.optional_text("installer"),
        location=location,
        requires=fields.texts("requires"),
    )


def _origin(direct_url: _Fields | None, editable: bool, location: str) -> Origin | None:
    """PEP 610 facts as an Origin; a legacy (egg-link) editable has only its location."""
    if direct_url is None:
        return Origin("editable", _file_url(location)) if editable else None
    url = direct_url.text("url")
    infos = {
        key: info
        for key in ("archive_info", "dir_info", "vcs_info")
        if (info := direct_url.optional_object(key)) is not None
    }
    if len(infos) != 1:
        raise ProbeError(
            f"the probe's report is malformed: {direct_url.where} needs exactly one of "
            "archive_info, dir_info, vcs_info"
        )
    dir_info = infos.get("dir_info")
    if editable or (dir_info is not None and dir_info.flag("editable", default=False)):
        return Origin("editable", url)
    vcs_info = infos.get("vcs_info")
    if vcs_info is not None:
        return Origin("vcs", url, commit=vcs_info.text("commit_id"), vcs=vcs_info.text("vcs"))
    if dir_info is not None:
        return Origin("directory", url)
    return Origin("archive", url, hash=_archive_hash(infos["archive_info"]))


def _archive_hash(archive_info: _Fields) -> str | None:
    """``sha256=...`` from PEP 610's ``hashes`` (or the older ``hash``), when given."""
    hashes = archive_info.data.get("hashes")
    if isinstance(hashes, dict):
        for algorithm in sorted(hashes):
            if isinstance(hashes[algorithm], str):
                return f"{algorithm}={hashes[algorithm]}"
    legacy = archive_info.data.get("hash")
    return legacy.replace(":", "=", 1) if isinstance(legacy, str) else None


def _file_url(location: str) -> str:
    if location.startswith("/"):
        return PurePosixPath(location).as_uri()
    if _WINDOWS_ABSOLUTE.match(location):
        return PureWindowsPath(location).as_uri()
    return quote(location)


def _reject_duplicates(packages: tuple[Package, ...]) -> None:
    seen: set[str] = set()
    for package in packages:
        key = canonical_name(package.name)
        if key in seen:
            raise ProbeError(f"the probe's report lists {key} twice")
        seen.add(key)
