"""Requirements files (``requirements.txt``, ``*.in``, ``constraints.txt``), read as pip reads them.

The line handling follows pip's own parser (``pip/_internal/req/req_file.py`` and
``req/constructors.py``): backslash continuations, comments, ``${VAR}`` expansion,
options split off with ``shlex`` and read with ``optparse``, ``-r``/``-c`` includes
relative to the including file, editables, direct references and bare URLs.

Where parity deliberately differs from pip, it says so in a warning and never guesses
silently:

* Nothing is fetched. A remote ``-r`` is an error; a remote ``-c`` is skipped with a
  warning (constraints add no packages).
* Local paths (``.``, ``-e ./pkg``, ``./dist/x.whl``) are resolved relative to the
  directory of the file that names them (pip uses its working directory). A path that
  does not exist there, or a directory pip could not install, is kept with a warning.
* A name pip cannot know before building is taken from the project's metadata
  (pyproject.toml, setup.cfg, setup.py), an sdist file name, or for a VCS URL without
  ``#egg=`` the repository name (with a warning), instead of failing or staying unnamed.
* ``#egg=name==1.0`` (which pip accepted until recent versions) is read as a
  requirement, with a warning; ``--global-option``/``--install-option`` (removed from
  recent pip) are accepted and ignored, with a warning.
* Bytes that are not valid UTF-8 (and carry no BOM or ``# -*- coding: ... -*-`` line)
  are an error; pip would fall back to the locale's encoding.
"""

from __future__ import annotations

import ast
import codecs
import configparser
import functools
import os
import re
import shlex
import urllib.parse
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, NoReturn

from packaging.markers import InvalidMarker, Marker
from packaging.requirements import InvalidRequirement
from packaging.requirements import Requirement as PackagingRequirement
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    parse_sdist_filename,
    parse_wheel_filename,
)

from parity.errors import SourceError
from parity.model import Environment, Level, Location, Requirement
from parity.redact import redact_origin, redact_url

__all__ = [
    "RequirementsError",
    "RequirementsFile",
    "RequirementsOption",
    "load_requirements",
    "parse_requirements",
    "redact_origin",
    "redact_url",
]


class RequirementsError(SourceError):
    """A requirements file that cannot be read as pip reads it; names the file and line.

    Credentials in any URL inside the message are redacted.
    """

    def __init__(self, message: str, location: Location | str | None = None) -> None:
        super().__init__(redact_url(message), location)


@dataclass(frozen=True)
class RequirementsOption:
    """A global option line (``--index-url URL``, ``--pre``) and where it was written.

    ``name`` is the option's long spelling (``-i`` is recorded as ``--index-url``);
    ``value`` is ``None`` for flags and has credentials redacted.
    """

    name: str
    value: str | None
    declared_at: Location


@dataclass(frozen=True)
class RequirementsFile:
    """Everything one requirements file (and the files it includes) declares."""

    requirements: tuple[Requirement, ...]  # constraints included, with is_constraint=True
    options: tuple[RequirementsOption, ...]
    files: tuple[str, ...]  # every file read, the named one first
    warnings: tuple[str, ...]


def parse_requirements(path: str, *, environ: Mapping[str, str] | None = None) -> RequirementsFile:
    """Read ``path`` and every file it includes; ``environ`` expands ``${VAR}`` (os.environ)."""
    if _is_remote(path):
        if not path.lower().startswith("file:"):
            raise RequirementsError(f"remote requirements files are not fetched: {path}")
        local = _file_url_path(path)
        if local is None:
            raise RequirementsError(f"only local file URLs can be read: {path}")
        path = local
    if "\x00" in path:
        raise RequirementsError("the file name contains a NUL character", repr(path))
    reader = _Reader(os.environ if environ is None else environ)
    if not os.path.isfile(path):
        reason = "is not a file" if os.path.exists(path) else "file not found"
        raise RequirementsError(reason, path)
    reader.read(path, constraint=False, chain=())
    return reader.result()


def load_requirements(path: str, environ: Mapping[str, str] | None = None) -> Environment:
    """The declared side a requirements file describes (constraints kept, flagged)."""
    parsed = parse_requirements(path, environ=environ)
    constraints = sum(1 for requirement in parsed.requirements if requirement.is_constraint)
    description = f"requirements file {path} ({len(parsed.requirements) - constraints} requirements"
    if constraints:
        description += f", {constraints} constraints"
    if len(parsed.files) > 1:
        description += f", {len(parsed.files)} files"
    return Environment(
        kind="requirements",
        ref=path,
        level=Level.DECLARED,
        requirements=parsed.requirements,
        warnings=parsed.warnings,
        description=description + ")",
    )


# --- credentials ------------------------------------------------------------------

# --- reading files ----------------------------------------------------------------

# Order matters: the UTF-16 LE BOM is a prefix of the UTF-32 LE one.
_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF16, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
)
_PEP263 = re.compile(rb"coding[:=]\s*([-\w.]+)")


def _read_text(path: str) -> str:
    """The file's text, decoded the way pip decodes requirements files."""
    try:
        with open(path, "rb") as stream:
            data = stream.read()
    except OSError as error:
        raise RequirementsError(f"cannot read the file: {error.strerror or error}", path) from None
    return _decode(data, path)


def _decode(data: bytes, path: str) -> str:
    """A BOM names the encoding, else a PEP 263 comment in the first two lines, else UTF-8."""
    encoding, body = _detect_encoding(data)
    try:
        return body.decode(encoding)
    except LookupError:
        raise RequirementsError(
            f"unknown encoding {encoding!r} in the coding comment", path
        ) from None
    except UnicodeError as error:
        line = data[: getattr(error, "start", 0)].count(b"\n") + 1
        hint = (
            "; declare the real encoding with a '# -*- coding: ... -*-' first line"
            if encoding == "utf-8"
            else ""
        )
        reason = f"the file is not valid {encoding} text ({_first_line(str(error))}){hint}"
        raise RequirementsError(reason, Location(path, line)) from None


def _detect_encoding(data: bytes) -> tuple[str, bytes]:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return encoding, data[len(bom) :]
    for line in data.split(b"\n")[:2]:
        if line[:1] == b"#":
            declared = _PEP263.search(line)
            if declared is not None:
                return declared.group(1).decode("ascii"), data
    return "utf-8", data


# --- logical lines ----------------------------------------------------------------

_COMMENT = re.compile(r"(^|\s+)#.*$")
_ENV_VAR = re.compile(r"(?P<var>\$\{(?P<name>[A-Z0-9_]+)\})")


@dataclass(frozen=True)
class _Line:
    """One logical line: continuations joined, comment stripped, variables expanded."""

    file: str
    number: int  # where the logical line starts
    text: str

    @property
    def location(self) -> Location:
        return Location(self.file, self.number)


def _join_continuations(lines: Iterable[tuple[int, str]]) -> Iterator[tuple[int, str]]:
    """Join lines ending in a backslash, as pip's ``join_lines`` does (comments end a run)."""
    start = 0
    pending: list[str] = []
    for number, line in lines:
        is_comment = _COMMENT.match(line) is not None
        if line.endswith("\\") and not is_comment:
            if not pending:
                start = number
            pending.append(line.strip("\\"))
            continue
        if is_comment:
            line = " " + line
        if pending:
            pending.append(line)
            yield start, "".join(pending)
            pending = []
        else:
            yield number, line
    if pending:
        yield start, "".join(pending)


def _strip_comments(lines: Iterable[tuple[int, str]]) -> Iterator[tuple[int, str]]:
    for number, line in lines:
        stripped = _COMMENT.sub("", line).strip()
        if stripped:
            yield number, stripped


def _expand_variables(text: str, environ: Mapping[str, str]) -> tuple[str, list[str]]:
    """Expand ``${NAME}`` like pip; return the text and the names left unexpanded."""
    unset: list[str] = []
    for variable, name in _ENV_VAR.findall(text):
        value = environ.get(name)
        if not value:
            unset.append(name)
            continue
        text = text.replace(variable, value)
    return text, unset


# --- options ----------------------------------------------------------------------

# (spellings, takes a value); the first long spelling is the recorded name.
_GLOBAL_OPTIONS: tuple[tuple[tuple[str, ...], bool], ...] = (
    (("-i", "--index-url", "--pypi-url"), True),
    (("--extra-index-url",), True),
    (("--no-index",), False),
    (("-c", "--constraint"), True),
    (("-r", "--requirement"), True),
    (("-e", "--editable"), True),
    (("-f", "--find-links"), True),
    (("--no-binary",), True),
    (("--only-binary",), True),
    (("--prefer-binary",), False),
    (("--require-hashes",), False),
    (("--no-require-hashes",), False),
    (("--pre",), False),
    (("--all-releases",), True),
    (("--only-final",), True),
    (("--trusted-host",), True),
    (("--use-feature",), True),
)
_REQUIREMENT_OPTIONS: tuple[tuple[tuple[str, ...], bool], ...] = (
    (("--hash",), True),
    (("-C", "--config-settings"), True),
)
# Removed from recent pip; matched only when spelled out in full, so they never make
# an abbreviation pip accepts ambiguous.
_LEGACY_OPTIONS = ("--global-option", "--install-option")
_INCLUDE_OPTIONS = ("--requirement", "--constraint")
_PER_REQUIREMENT = ("--hash", "--config-settings", *_LEGACY_OPTIONS)
_STRONG_HASHES = ("sha256", "sha384", "sha512")
_FEATURES = (
    "fast-deps",
    "inprocess-build-deps",
    "venv-isolation",
    "truststore",
    "no-binary-enable-wheel-cache",
    "build-constraint",
)


class _OptionError(Exception):
    """optparse rejected a line's options."""


@dataclass(frozen=True)
class _LineParts:
    """A logical line split the way pip splits it."""

    args: str  # the requirement text before the first ``-`` token
    options: tuple[tuple[str, str | None], ...]  # (long name, value) in written order
    leftovers: tuple[str, ...]  # positional words after the options, which pip ignores

    def values(self, name: str) -> list[str]:
        return [value or "" for option, value in self.options if option == name]


@functools.cache
def _line_option_parser() -> type[Any]:
    """pip's per-line option parser class (optparse imported on the first line with options)."""
    import optparse

    class _LineOptionParser(optparse.OptionParser):
        """pip's per-line option parser, recording every option in the order written."""

        def __init__(self) -> None:
            super().__init__(add_help_option=False, usage=optparse.SUPPRESS_USAGE)
            self.seen: list[tuple[str, str | None]] = []
            self.notes: list[str] = []
            for spellings, takes_value in _GLOBAL_OPTIONS + _REQUIREMENT_OPTIONS:
                self._add(spellings, takes_value)
            for legacy in _LEGACY_OPTIONS:
                self._add((legacy,), True)

        def _add(self, spellings: tuple[str, ...], takes_value: bool) -> None:
            self.add_option(
                *spellings,
                action="callback",
                callback=self._record,
                type="string" if takes_value else None,
            )

        def _record(self, option: optparse.Option, _opt: str, value: Any, _parser: Any) -> None:
            name = option.get_opt_string()
            if value is not None:
                self._check_value(name, str(value))
            self.seen.append((name, None if value is None else str(value)))

        def _check_value(self, name: str, value: str) -> None:
            """The value checks pip's option callbacks make."""
            if name == "--hash":
                algorithm, sep, _digest = value.partition(":")
                if not sep:
                    self.error(f"arguments to --hash must be a hash name and a value: {value!r}")
                if algorithm not in _STRONG_HASHES:
                    self.error(
                        f"allowed hash algorithms for --hash are {', '.join(_STRONG_HASHES)}"
                    )
            elif name == "--config-settings" and "=" not in value:
                self.error(f"arguments to --config-settings must be of the form KEY=VAL: {value!r}")
            elif name in ("--no-binary", "--only-binary", "--all-releases", "--only-final"):
                if value.startswith("-"):
                    self.error(f"{name} option requires 1 argument")
            elif name == "--use-feature" and value not in _FEATURES:
                self.notes.append(f"--use-feature={value} is not a feature current pip knows")

        def _match_long_opt(self, opt: str) -> str:
            if opt in _LEGACY_OPTIONS:
                return opt
            names = [name for name in self._long_opt if name not in _LEGACY_OPTIONS]
            if opt in names:
                return opt
            candidates = sorted(name for name in names if name.startswith(opt))
            if len(candidates) == 1:
                return candidates[0]
            if candidates:
                raise optparse.AmbiguousOptionError(opt, candidates)
            raise optparse.BadOptionError(opt)

        def error(self, msg: str) -> NoReturn:
            raise _OptionError(msg)

        def exit(self, status: int = 0, msg: str | None = None) -> NoReturn:
            raise _OptionError(msg or f"option parsing stopped ({status})")

    return _LineOptionParser


def _split_line(line: _Line) -> tuple[_LineParts, list[str]]:
    """Split a line into requirement text and options (pip's ``break_args_options``)."""
    tokens = line.text.split(" ")
    first_option = next(
        (index for index, token in enumerate(tokens) if token.startswith("-")), len(tokens)
    )
    args = " ".join(tokens[:first_option])
    options_text = " ".join(tokens[first_option:])
    try:
        words = shlex.split(options_text)
    except ValueError as error:
        raise _line_error(line, f"cannot split the options ({error})") from None
    if not words:  # no options: nothing for pip's option parser to do
        return _LineParts(args, (), ()), []
    parser = _line_option_parser()()
    try:
        _values, leftovers = parser.parse_args(words)
    except _OptionError as error:
        raise _line_error(line, str(error)) from None
    return _LineParts(args, tuple(parser.seen), tuple(leftovers)), parser.notes


def _line_error(line: _Line, reason: str) -> RequirementsError:
    return RequirementsError(f"{reason} in {line.text!r}", line.location)


# --- includes and the reader ------------------------------------------------------

_REMOTE = re.compile(r"^(http|https|file):", re.IGNORECASE)
_MAX_INCLUDE_DEPTH = 50


def _is_remote(path: str) -> bool:
    return _REMOTE.match(path) is not None


@dataclass(frozen=True)
class _Visit:
    """One file on the current include chain."""

    identity: str  # real path, to recognise a file however it is spelled
    display: str


class _Reader:
    """Collects what a file and its includes declare (mutable only while reading)."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ
        self.requirements: list[Requirement] = []
        self.options: list[RequirementsOption] = []
        self.files: list[str] = []
        self.warnings: list[str] = []

    def result(self) -> RequirementsFile:
        requirements = _unique(self.requirements)
        return RequirementsFile(
            requirements=tuple(requirements),
            options=tuple(_unique(self.options)),
            files=tuple(_unique(self.files)),
            warnings=tuple(_unique([*self.warnings, *_repeated_names(requirements)])),
        )

    def warn(self, location: Location, message: str) -> None:
        self.warnings.append(redact_url(f"{location}: {message}"))

    def read(self, path: str, *, constraint: bool, chain: tuple[_Visit, ...]) -> None:
        """Read one file (``path`` already checked to be a file) and what it includes."""
        chain = (*chain, _Visit(os.path.realpath(path), path))
        text = _read_text(path)
        self.files.append(path)
        for line in self._lines(path, text):
            self._handle(line, constraint=constraint, chain=chain)

    def _lines(self, path: str, text: str) -> Iterator[_Line]:
        numbered = _strip_comments(_join_continuations(enumerate(text.splitlines(), start=1)))
        for number, raw in numbered:
            expanded, unset = _expand_variables(raw, self.environ)
            for name in unset:
                self.warn(Location(path, number), f"${{{name}}} is not set; left as written")
            yield _Line(path, number, expanded)

    def _handle(self, line: _Line, *, constraint: bool, chain: tuple[_Visit, ...]) -> None:
        parts, notes = _split_line(line)
        for note in notes:
            self.warn(line.location, note)
        if parts.leftovers:
            ignored = " ".join(parts.leftovers)
            self.warn(line.location, f"pip ignores {ignored!r} after the options")
        editables = parts.values("--editable")
        if parts.args or editables:
            self._requirement_line(line, parts, constraint=constraint)
            return
        includes = [(name, value) for name, value in parts.options if name in _INCLUDE_OPTIONS]
        if includes:
            self._include_line(line, parts, includes, chain)
            return
        self._option_line(line, parts)

    def _requirement_line(self, line: _Line, parts: _LineParts, *, constraint: bool) -> None:
        editables = parts.values("--editable")
        ignored = sorted(
            {
                name
                for name, _value in parts.options
                if name not in _PER_REQUIREMENT and name != "--editable"
            }
        )
        for name in ignored:
            self.warn(line.location, f"pip ignores {name} on a requirement line")
        if len(editables) > 1 or (parts.args and editables):
            self.warn(line.location, "pip reads only one requirement per line; the rest is ignored")
        self._warn_legacy(line, parts)
        text = parts.args or editables[0]
        builder = _RequirementBuilder(line, constraint, self.warn)
        requirement = builder.build(text, editable=bool(editables))
        if requirement is not None:
            self.requirements.append(requirement)

    def _include_line(
        self,
        line: _Line,
        parts: _LineParts,
        includes: list[tuple[str, str | None]],
        chain: tuple[_Visit, ...],
    ) -> None:
        requirement_files = [value for name, value in includes if name == "--requirement"]
        if requirement_files:
            option, written, nested_constraint = "-r", requirement_files[0] or "", False
        else:
            option, written, nested_constraint = "-c", includes[0][1] or "", True
        if len(includes) > 1 or len(parts.options) > len(includes):
            self.warn(line.location, f"pip reads only {option} {written} on this line")
        target = self._include_target(line, option, written)
        if target is None:
            return
        visit = _Visit(os.path.realpath(target), target)
        if any(earlier.identity == visit.identity for earlier in chain):
            cycle = " -> ".join([earlier.display for earlier in chain] + [target])
            reason = f"{option} {written} includes {target} again (cycle {cycle})"
            raise RequirementsError(reason, line.location)
        if len(chain) >= _MAX_INCLUDE_DEPTH:
            reason = f"{option} {written}: includes are nested more than {_MAX_INCLUDE_DEPTH} deep"
            raise RequirementsError(reason, line.location)
        self.read(target, constraint=nested_constraint, chain=chain)

    def _include_target(self, line: _Line, option: str, written: str) -> str | None:
        """The included file's path, or None for a remote constraint file (skipped)."""
        if "\x00" in written:
            raise _line_error(line, f"{option} names a path with a NUL character")
        path = written
        if _is_remote(written):
            if written.lower().startswith("file:"):
                local = _file_url_path(written)
                if local is None:
                    raise _line_error(line, f"only local file URLs can be included: {written}")
                path = local
            elif option == "-r":
                raise RequirementsError(
                    f"remote includes are not fetched: {written}", line.location
                )
            else:
                self.warn(
                    line.location,
                    f"remote constraints are not fetched: {written} (constraints add no packages)",
                )
                return None
        target = os.path.normpath(os.path.join(os.path.dirname(line.file), path))
        if not os.path.isfile(target):
            problem = "is not a file" if os.path.exists(target) else "not found"
            reason = f"{option} {written}: {target} {problem}"
            if not os.path.isabs(path):
                reason += " (includes are relative to the including file's directory)"
            raise RequirementsError(reason, line.location)
        return target

    def _option_line(self, line: _Line, parts: _LineParts) -> None:
        for name, value in parts.options:
            if name in _PER_REQUIREMENT:
                self.warn(line.location, f"{name} without a requirement is ignored")
                continue
            recorded = None if value is None else redact_url(value)
            self.options.append(RequirementsOption(name, recorded, line.location))

    def _warn_legacy(self, line: _Line, parts: _LineParts) -> None:
        for name in sorted({name for name, _value in parts.options if name in _LEGACY_OPTIONS}):
            self.warn(line.location, f"{name} was removed from recent pip, which rejects this line")


def _repeated_names(requirements: Iterable[Requirement]) -> Iterator[str]:
    """Warnings for a name required again, under the same marker, with another version or URL.

    pip installs one distribution per name and needs every such line to hold: two
    different pins make it refuse to install.
    """
    first: dict[tuple[str, str | None], Requirement] = {}
    for requirement in requirements:
        if requirement.is_constraint:
            continue
        earlier = first.setdefault((requirement.key, requirement.marker), requirement)
        if earlier.describe() != requirement.describe():
            yield (
                f"{requirement.declared_at}: {requirement.name} {requirement.describe()} is "
                f"required again (first at {earlier.declared_at}: {earlier.describe()}); "
                "pip needs every line to hold"
            )


def _unique(items: Iterable[Any]) -> list[Any]:
    """Items in first-seen order without exact repeats (a file included twice)."""
    seen: set[Any] = set()
    kept = []
    for item in items:
        if item not in seen:
            seen.add(item)
            kept.append(item)
    return kept


def _file_url_path(url: str) -> str | None:
    """The local path a ``file:`` URL names, or None for a URL naming another host."""
    parts = _urlsplit(url)
    if parts is None or parts.netloc not in ("", "localhost"):
        return None
    from urllib.request import url2pathname

    return url2pathname(parts.path)


# --- requirements -----------------------------------------------------------------

_VCS_NAMES = ("git", "hg", "svn", "bzr")
_VCS_SCHEMES = frozenset(
    {
        "git+http",
        "git+https",
        "git+ssh",
        "git+git",
        "git+file",
        "hg+file",
        "hg+http",
        "hg+https",
        "hg+ssh",
        "hg+static-http",
        "svn+ssh",
        "svn+http",
        "svn+https",
        "svn+svn",
        "svn+file",
        "bzr+http",
        "bzr+https",
        "bzr+ssh",
        "bzr+sftp",
        "bzr+ftp",
        "bzr+lp",
        "bzr+file",
    }
)
_URL_SCHEMES = frozenset({"http", "https", "file", "ftp"}) | _VCS_SCHEMES
_ARCHIVE_EXTENSIONS = (
    ".zip",
    ".whl",
    ".tar.bz2",
    ".tbz",
    ".tar.gz",
    ".tgz",
    ".tar",
    ".tar.xz",
    ".txz",
    ".tlz",
    ".tar.lz",
    ".tar.lzma",
)
_EGG = re.compile(r"[#&]egg=([^&]*)")
_SUBDIRECTORY = re.compile(r"[#&]subdirectory=([^&]*)")
_PROJECT_NAME = re.compile(r"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$", re.IGNORECASE)
_EXTRAS_SUFFIX = re.compile(r"^(.+)(\[[^\]]+\])$")
_OPERATORS = ("~=", "==", "!=", "<=", ">=", "<", ">", "===")


def _urlsplit(text: str) -> urllib.parse.SplitResult | None:
    try:
        return urllib.parse.urlsplit(text)
    except ValueError:  # e.g. an unbalanced "[" in the host part
        return None


def _scheme(text: str) -> str:
    parts = _urlsplit(text)
    return parts.scheme if parts is not None else ""


def _is_url(text: str) -> bool:
    return _scheme(text) in _URL_SCHEMES


def _looks_like_path(text: str) -> bool:
    return os.sep in text or (os.altsep is not None and os.altsep in text) or text.startswith(".")


def _splitext(path: str) -> tuple[str, str]:
    """``os.path.splitext`` that keeps ``.tar`` with the compression suffix."""
    base, ext = os.path.splitext(path)
    if base.lower().endswith(".tar"):
        return base[:-4], base[-4:] + ext
    return base, ext


def _is_archive(path: str) -> bool:
    return _splitext(path)[1].lower() in _ARCHIVE_EXTENSIONS


def _path_to_url(path: str) -> str:
    """A ``file:`` URL for a local path, made absolute (pip's ``path_to_url``)."""
    absolute = os.path.normpath(os.path.abspath(path))
    from urllib.request import pathname2url

    return urllib.parse.urljoin("file://", pathname2url(absolute))


def _url_basename(url: str) -> str:
    """The last component of a URL's path (pip's ``Link.filename`` without the host fallback)."""
    parts = _urlsplit(url)
    if parts is None:
        return ""
    return os.path.basename(urllib.parse.unquote(parts.path).rstrip("/"))


_PLAIN_PATH = re.compile(r"^[A-Za-z0-9_.~+/-]+$")


def _missing_project_name(text: str, base_dir: str) -> str | None:
    """The name to assume for ``text`` when it reads as a path to a project that is not here.

    Only plain relative or absolute paths qualify (no URL, ``@`` or markup) whose last
    component is a valid project name; anything else stays an invalid requirement.
    """
    path_text = _strip_suffix_extras(text)
    if not (_looks_like_path(path_text) and _PLAIN_PATH.match(path_text)):
        return None
    path = os.path.normpath(os.path.join(base_dir, path_text))
    if os.path.exists(path):
        return None
    name = os.path.basename(path)
    return name if _PROJECT_NAME.match(name) else None


def _is_installable(directory: str) -> bool:
    return any(
        os.path.isfile(os.path.join(directory, name)) for name in ("pyproject.toml", "setup.py")
    )


@dataclass(frozen=True)
class _Parts:
    """What a requirement line says, before it becomes a model Requirement."""

    name: str
    specifier: str = ""
    extras: tuple[str, ...] = ()
    marker: str | None = None
    url: str | None = None


WarnFunction = Callable[[Location, str], None]


class _RequirementBuilder:
    """Turns one requirement line's text into a Requirement, as pip's constructors would."""

    def __init__(self, line: _Line, constraint: bool, warn: WarnFunction) -> None:
        self.line = line
        self.constraint = constraint
        self._warn = warn
        self.base_dir = os.path.dirname(line.file)

    def warn(self, message: str) -> None:
        self._warn(self.line.location, message)

    def error(self, reason: str) -> RequirementsError:
        return RequirementsError(reason, self.line.location)

    def build(self, text: str, *, editable: bool) -> Requirement | None:
        if editable and self.constraint:
            raise self.error(f"editable requirements are not allowed as constraints: {text!r}")
        try:
            parts = self._editable(text) if editable else self._plain(text)
        except RecursionError:
            raise self.error(f"the requirement is nested too deeply: {text!r}") from None
        if parts is None:
            return None
        if self.constraint and parts.extras:
            self.warn("pip's resolver rejects constraints with extras")
        return Requirement(
            name=parts.name,
            specifier=parts.specifier,
            extras=parts.extras,
            marker=parts.marker,
            url=None if parts.url is None else redact_url(parts.url),
            editable=editable,
            declared_at=self.line.location,
            is_constraint=self.constraint,
        )

    # -- plain lines (pip's parse_req_from_line) --

    def _plain(self, text: str) -> _Parts | None:
        separator = "; " if _is_url(text) else ";"
        marker: str | None = None
        if separator in text:
            text, marker_text = text.split(separator, 1)
            marker = self._marker(marker_text.strip())
        text = text.strip()
        if _is_url(text):
            return self._from_url(text, (), marker)
        path = os.path.normpath(os.path.join(self.base_dir, text))
        path, extras = self._strip_extras(path)
        if _looks_like_path(text) and os.path.isdir(path):
            if not _is_installable(path):
                self.warn(f"{path} has no pyproject.toml or setup.py; pip cannot install it")
            return self._from_directory(path, extras, marker, _path_to_url(path))
        if _is_archive(path):
            if os.path.isfile(path):
                return self._from_url(_path_to_url(path), extras, marker)
            before_at = text.split("@", 1)
            if len(before_at) < 2 or _looks_like_path(before_at[0]):
                self.warn(f"{text!r} looks like a file name, but {path} does not exist")
                return self._from_url(_path_to_url(path), extras, marker)
        return self._from_specifier(text, extras, marker)

    def _marker(self, marker_text: str) -> str | None:
        if not marker_text:
            return None
        try:
            return str(Marker(marker_text))
        except InvalidMarker as error:
            reason = f"invalid marker {marker_text!r}: {_first_line(str(error))}"
            raise self.error(f"{reason} in {self.line.text!r}") from None

    def _strip_extras(self, text: str) -> tuple[str, tuple[str, ...]]:
        """Split ``path[extra1,extra2]`` (pip's ``strip_extras``; extras lower-cased)."""
        found = _EXTRAS_SUFFIX.match(text)
        if found is None:
            return text, ()
        try:
            extras = PackagingRequirement("placeholder" + found.group(2).lower()).extras
        except InvalidRequirement as error:
            raise self.error(f"invalid extras in {text!r}: {_first_line(str(error))}") from None
        return found.group(1).rstrip(), tuple(sorted(extras))

    def _from_specifier(
        self, text: str, extras: tuple[str, ...], marker: str | None
    ) -> _Parts | None:
        try:
            requirement = PackagingRequirement(text)
        except InvalidRequirement as error:
            if _missing_project_name(text, self.base_dir) is not None:
                return self._missing_path(text, extras, marker)
            raise self.error(self._invalid_message(text, error)) from None
        return _Parts(
            name=requirement.name,
            specifier=str(requirement.specifier),
            extras=extras or tuple(sorted(requirement.extras)),
            marker=marker or _marker_text(requirement),
            url=requirement.url,
        )

    def _invalid_message(self, text: str, error: InvalidRequirement) -> str:
        message = f"invalid requirement {text!r}: {_first_line(str(error))}"
        words = text.split()
        if len(words) > 1 and all(_parses(word) for word in words):
            message += "; pip reads one requirement per line"
        elif "=" in text and not any(operator in text for operator in _OPERATORS):
            message += "; = is not a valid operator, did you mean ==?"
        return message

    # -- URLs, archives and directories --

    def _from_url(self, url: str, extras: tuple[str, ...], marker: str | None) -> _Parts | None:
        if _scheme(url) == "file" and "../" in url:
            url = _path_to_url(os.path.join(self.base_dir, _url_filesystem_path(url)))
        filename = _url_basename(url)
        if _splitext(filename)[1] == ".whl":
            try:
                name, version, _build, _tags = parse_wheel_filename(filename)
            except InvalidWheelFilename as error:
                raise self.error(f"invalid wheel file name in {url!r}: {error}") from None
            return _Parts(str(name), f"=={version}", extras, marker, url)
        named = self._from_egg(url, extras, marker)
        if named is not None:
            return named
        return self._unnamed_url(url, filename, extras, marker)

    def _from_egg(self, url: str, extras: tuple[str, ...], marker: str | None) -> _Parts | None:
        """The requirement an ``#egg=`` fragment names (old pip read it as a requirement)."""
        found = _EGG.search(url)
        if found is None:
            return None
        egg = found.group(1)
        try:
            requirement = PackagingRequirement(egg)
        except InvalidRequirement as error:
            raise self.error(f"invalid #egg= fragment {egg!r}: {_first_line(str(error))}") from None
        if not _PROJECT_NAME.match(egg):
            self.warn(f"#egg={egg} is not a bare project name; recent pip rejects it")
        return _Parts(
            name=requirement.name,
            specifier=str(requirement.specifier),
            extras=extras or tuple(sorted(requirement.extras)),
            marker=marker or _marker_text(requirement),
            url=url,
        )

    def _unnamed_url(
        self, url: str, filename: str, extras: tuple[str, ...], marker: str | None
    ) -> _Parts | None:
        """A URL pip cannot name before building it: guess from the sdist name or repo."""
        if _scheme(url) == "file":
            local = _url_filesystem_path(url)
            if os.path.isdir(local):
                return self._from_directory(local, extras, marker, url)
        try:
            name, version = parse_sdist_filename(filename)
        except InvalidSdistFilename:
            pass
        else:
            if _PROJECT_NAME.match(name):
                return _Parts(str(name), f"=={version}", extras, marker, url)
        if _scheme(url) in _VCS_SCHEMES:
            guessed = _repository_name(url)
            if guessed is not None:
                self.warn(f"{url} has no #egg=name; assuming the project is named {guessed!r}")
                return _Parts(guessed, "", extras, marker, url)
        self.warn(f"cannot tell which project {url} installs (add #egg=name); skipped")
        return None

    def _from_directory(
        self, directory: str, extras: tuple[str, ...], marker: str | None, url: str
    ) -> _Parts | None:
        """A local project directory, named by its metadata or else by the directory."""
        name = _project_name(directory)
        if name is None:
            name = os.path.basename(os.path.abspath(directory))
            self.warn(f"no project name found in {directory}; assuming {name!r}")
        if not _PROJECT_NAME.match(name):
            raise self.error(f"cannot tell which project {directory} holds: {name!r} is no name")
        return _Parts(name, "", extras, marker, url)

    def _missing_path(self, written: str, extras: tuple[str, ...], marker: str | None) -> _Parts:
        """A local path that does not exist here (pip resolves it from its working directory)."""
        path = os.path.normpath(os.path.join(self.base_dir, _strip_suffix_extras(written)))
        name = os.path.basename(path)
        self.warn(f"{path} does not exist; assuming the project at {written!r} is named {name!r}")
        return _Parts(name, "", extras, marker, _path_to_url(path))

    # -- editables (pip's parse_editable) --

    def _editable(self, text: str) -> _Parts | None:
        direct = _direct_reference(text)
        if direct is not None:
            return self._editable_direct(text, direct)
        without_extras, extras = self._strip_extras(text)
        local = os.path.join(self.base_dir, without_extras)
        if os.path.isdir(local):
            without_extras = _path_to_url(local)
        if without_extras.lower().startswith("file:"):
            named = self._from_egg(without_extras, extras, None)
            if named is not None:
                return named
            return self._editable_file_url(without_extras, extras)
        url = text
        for vcs in _VCS_NAMES:
            if url.lower().startswith(f"{vcs}:"):
                url = f"{vcs}+{url}"
                break
        if _scheme(url) not in _VCS_SCHEMES:
            if _missing_project_name(text, self.base_dir) is not None:
                return self._missing_path(text, extras, None)
            raise self.error(
                f"{text!r} is not a valid editable requirement: it should be a path to a "
                "local project or a VCS URL (beginning with git+, hg+, svn+ or bzr+)"
            )
        named = self._from_egg(url, (), None)
        if named is not None:
            return named
        return self._unnamed_url(url, "", (), None)

    def _editable_direct(self, text: str, requirement: PackagingRequirement) -> _Parts:
        url = requirement.url or ""
        if _scheme(url) not in _VCS_SCHEMES and not url.startswith("file:"):
            raise self.error(
                f"{text!r} is not a valid editable requirement: it should be a path to a "
                "local project or a VCS URL (beginning with git+, hg+, svn+ or bzr+)"
            )
        return _Parts(
            name=requirement.name,
            specifier=str(requirement.specifier),
            extras=tuple(sorted(requirement.extras)),
            marker=_marker_text(requirement),
            url=url,
        )

    def _editable_file_url(self, url: str, extras: tuple[str, ...]) -> _Parts | None:
        local = _url_filesystem_path(url)
        if os.path.isdir(local):
            return self._from_directory(local, extras, None, url)
        self.warn(f"{local} does not exist")
        name = os.path.basename(local.rstrip("/"))
        if not _PROJECT_NAME.match(name):
            self.warn(f"cannot tell which project {url} installs (add #egg=name); skipped")
            return None
        return _Parts(name, "", extras, None, url)


def _direct_reference(text: str) -> PackagingRequirement | None:
    """``name[extras] @ url ; marker`` when ``text`` is one, else None."""
    try:
        requirement = PackagingRequirement(text)
    except InvalidRequirement:
        return None
    return requirement if requirement.url else None


def _marker_text(requirement: PackagingRequirement) -> str | None:
    return None if requirement.marker is None else str(requirement.marker)


def _parses(text: str) -> bool:
    try:
        PackagingRequirement(text)
    except InvalidRequirement:
        return False
    return True


def _strip_suffix_extras(text: str) -> str:
    found = _EXTRAS_SUFFIX.match(text)
    return found.group(1).rstrip() if found else text


def _url_filesystem_path(url: str) -> str:
    parts = _urlsplit(url)
    if parts is None:
        return ""
    from urllib.request import url2pathname

    return url2pathname(parts.path)


def _repository_name(url: str) -> str | None:
    """The project name a VCS URL most likely installs: its subdirectory or repository."""
    subdirectory = _SUBDIRECTORY.search(url)
    if subdirectory is not None:
        candidate = os.path.basename(subdirectory.group(1).rstrip("/"))
    else:
        parts = _urlsplit(url)
        path = "" if parts is None else parts.path
        candidate = path.rstrip("/").rpartition("/")[2].partition("@")[0]
        if candidate.endswith(".git"):
            candidate = candidate[: -len(".git")]
    return candidate if _PROJECT_NAME.match(candidate) else None


# --- project names from local directories -----------------------------------------


def _project_name(directory: str) -> str | None:
    """The name a local project declares (pyproject.toml, setup.cfg or setup.py), or None."""
    for reader in (_name_from_pyproject, _name_from_setup_cfg, _name_from_setup_py):
        name = reader(directory)
        if name:
            return name
    return None


def _name_from_pyproject(directory: str) -> str | None:
    from parity.sources._toml import load_toml

    path = Path(directory, "pyproject.toml")
    if not path.is_file():
        return None
    try:
        document = load_toml(path, RequirementsError)
    except RequirementsError:
        return None
    tool = document.get("tool")
    poetry = tool.get("poetry") if isinstance(tool, dict) else None
    for table in (document.get("project"), poetry):
        if isinstance(table, dict) and isinstance(table.get("name"), str):
            return str(table["name"])
    return None


def _name_from_setup_cfg(directory: str) -> str | None:
    path = os.path.join(directory, "setup.cfg")
    if not os.path.isfile(path):
        return None
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(path, encoding="utf-8")
        name = parser.get("metadata", "name", fallback=None)
    except (configparser.Error, OSError, UnicodeDecodeError):
        return None
    return name.strip() if name else None


def _name_from_setup_py(directory: str) -> str | None:
    path = os.path.join(directory, "setup.py")
    if not os.path.isfile(path):
        return None
    try:
        with open(path, "rb") as stream:
            tree = ast.parse(stream.read())
    except (OSError, SyntaxError, ValueError, RecursionError):
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _called_name(node.func) == "setup":
            for keyword in node.keywords:
                value = keyword.value
                if (
                    keyword.arg == "name"
                    and isinstance(value, ast.Constant)
                    and isinstance(value.value, str)
                ):
                    return value.value
    return None


def _called_name(function: ast.expr) -> str | None:
    if isinstance(function, ast.Name):
        return function.id
    if isinstance(function, ast.Attribute):
        return function.attr
    return None


def _first_line(message: str) -> str:
    lines = message.strip().splitlines()
    return lines[0] if lines else message
