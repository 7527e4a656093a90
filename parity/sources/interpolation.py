"""Compose's variable interpolation and ``.env`` syntax, ported from compose-go v2.

Docker Compose v2 (compose-go v2.9) reads ``$VAR``, ``${VAR}``, ``${VAR:-default}``,
``${VAR-default}``, ``${VAR:?error}``, ``${VAR?error}``, ``${VAR:+alt}``, ``${VAR+alt}``
and ``$$``. This module reproduces its parser quirk for quirk (a greedy match up to the
last ``}`` on the line, then a split at the first balanced brace; defaults and error
messages interpolated eagerly), so parity resolves a compose file exactly as
``docker compose config`` does. Nothing here touches the file system.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from typing import Optional

from parity.errors import SourceError

# Go's ``(?i)[_a-z]`` also matches the Kelvin sign and the long s (Unicode simple case folding).
_NAME_START = "_a-zA-Z\u017f\u212a"
_NAME = f"[{_NAME_START}][{_NAME_START}0-9]*"
_PATTERN = re.compile(
    r"\$(?:(?P<escaped>\$)|(?P<named>"
    + _NAME
    + r")|\{(?:(?P<braced>"
    + _NAME
    # The greedy ``.*`` runs to the last ``}`` of the line, as in compose-go.
    + r"(?::?[-+?].*)?)\}|(?P<invalid>)))"
)

MissingHandler = Callable[[str], None]
Lookup = Callable[[str], Optional[str]]


class InterpolationError(SourceError):
    """A template compose would refuse: a required variable is unset, or ``$`` is misused.

    ``line`` is the 1-based line inside a ``.env`` text, when the error comes from one.
    """

    def __init__(self, message: str, line: int | None = None) -> None:
        self.line = line
        super().__init__(message)


def interpolate(
    template: str,
    variables: Mapping[str, str],
    on_missing: MissingHandler | None = None,
) -> str:
    """Resolve every ``$`` form in ``template`` from ``variables``, as compose does.

    Unset variables without a default become ``""`` (compose warns; ``on_missing`` hears
    of each). Raises :class:`InterpolationError` for ``${VAR?err}`` with VAR unset and for
    malformed templates such as ``${`` or ``${A B}``.
    """
    return _interpolate(template, variables.get, on_missing)


def _interpolate(template: str, lookup: Lookup, on_missing: MissingHandler | None) -> str:
    try:
        return _Substituter(lookup, on_missing).substitute(template)
    except RecursionError:
        raise InterpolationError(f"interpolation nested too deeply in {template[:80]!r}") from None


class _Substituter:
    """One interpolation run: where values come from, and who hears about unset ones."""

    def __init__(self, lookup: Lookup, on_missing: MissingHandler | None) -> None:
        self.lookup = lookup
        self.on_missing = on_missing

    def substitute(self, template: str) -> str:
        return _PATTERN.sub(lambda match: self._replace(match.group(0), template), template)

    def _replace(self, matched: str, template: str) -> str:
        operator = _first_operator(matched)
        head, rest = _split_at_closing_brace(matched)
        groups = _PATTERN.match(head)
        assert groups is not None  # head starts with the same "$" the pattern matched
        if groups.group("escaped"):
            return "$"
        name = groups.group("named")
        braced = name is None
        if braced:
            name = groups.group("braced")
        if not name:
            raise InterpolationError(
                f"invalid interpolation format in {template!r} (write $$ for a literal $)"
            )
        if braced and operator is not None and operator in name:
            return self._apply_operator(name, operator) + self.substitute(rest)
        value = self.lookup(name)
        if value is None:
            if self.on_missing is not None:
                self.on_missing(name)
            return ""
        return value

    def _apply_operator(self, substitution: str, operator: str) -> str:
        name, _, argument = substitution.partition(operator)
        # compose-go interpolates the default / message before looking at the variable.
        argument = self.substitute(argument)
        value = self.lookup(name)
        if operator in (":?", "?"):
            if value is None or (operator == ":?" and value == ""):
                reason = f": {argument}" if argument else ""
                raise InterpolationError(f"required variable {name} is missing a value{reason}")
            return value
        if operator in (":-", "-"):
            if value is None or (operator == ":-" and value == ""):
                return argument
            return value
        # ":+" and "+": the alternative when set (and, for ":+", not empty)
        if value is not None and (operator == "+" or value != ""):
            return argument
        return value or ""


_OPERATORS = (":?", "?", ":-", "-", ":+", "+")


def _first_operator(text: str) -> str | None:
    """The operator that occurs first in ``text`` (compose-go looks at the whole match)."""
    found = [(text.find(operator), rank, operator) for rank, operator in enumerate(_OPERATORS)]
    present = [entry for entry in found if entry[0] >= 0]
    return min(present)[2] if present else None


def _split_at_closing_brace(text: str) -> tuple[str, str]:
    """Split after the first balanced ``}``, with compose-go's own way of counting.

    compose-go counts every ``{`` and skips the character after it; keep that, since it
    decides where ``${A:-{}}x}`` ends.
    """
    depth = 0
    index = 0
    while index < len(text):
        char = text[index]
        if char == "}":
            depth -= 1
            if depth == 0:
                return text[: index + 1], text[index + 1 :]
        if char == "{":
            depth += 1
            index += 1
        index += 1
    return text, ""


# ---------------------------------------------------------------- .env files

_ESCAPE = re.compile(r'\\(?:[abcfnrtv$"\\]|0[0-9]{0,3})')
_SIMPLE_ESCAPES = {
    "a": "\a",
    "b": "\b",
    "c": None,  # listed by compose's pattern, but not a Go escape: left as written
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
    '"': '"',
    "\\": "\\",
}
_EXPORT = re.compile(r"export[\t\n\f\r ]")  # Go's \s
# Go's unicode.IsSpace (the White_Space property); Python's isspace() adds \x1c-\x1f.
_GO_SPACE = "\t\n\v\f\r \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000" + "".join(
    chr(code) for code in range(0x2000, 0x200B)
)
# compose's dotenv "space": a space that is not a line break.
_LINE_SPACE = "\t\v\f\r \x85\xa0"
_UTF8_BOM = "\ufeff"


def parse_dotenv(
    text: str,
    variables: Mapping[str, str],
    on_missing: MissingHandler | None = None,
    *,
    known: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Parse a ``.env`` / ``env_file`` text with compose's rules.

    ``KEY=VALUE`` and ``KEY: VALUE`` lines, an ``export`` prefix, ``#`` comments (inline
    only after a space on unquoted values), single quotes (literal), double quotes
    (escapes such as ``\\n``, may span lines), and a bare ``KEY`` that copies
    ``variables[KEY]`` when set. Values are interpolated from ``variables`` first, then
    from the keys read so far: ``known`` (compose passes a service's earlier env_files),
    updated line by line. Returns ``known`` updated with this text's keys. Raises
    :class:`InterpolationError` with the line.
    """
    parser = _DotenvParser(variables, on_missing, dict(known or {}))
    return parser.parse(text.removeprefix(_UTF8_BOM))


class _DotenvParser:
    """compose-go's dotenv parser, statement by statement, counting lines for errors."""

    def __init__(
        self,
        variables: Mapping[str, str],
        on_missing: MissingHandler | None,
        values: dict[str, str],
    ) -> None:
        self.variables = variables
        self.on_missing = on_missing
        self.line = 1
        self.values = values

    def parse(self, text: str) -> dict[str, str]:
        rest = self._statement_start(text)
        while rest:
            rest = self._statement_start(self._statement(rest))
        return self.values

    def _statement_start(self, text: str) -> str:
        """Skip blank space and comment lines; return the text from the next statement."""
        while True:
            position = self._first_non_space(text)
            if position < 0:
                return ""
            text = text[position:]
            if text[0] != "#":
                return text
            newline = text.find("\n")
            if newline < 0:
                return ""
            text = text[newline:]

    def _first_non_space(self, text: str) -> int:
        for index, char in enumerate(text):
            if char == "\n":
                self.line += 1
            if char not in _GO_SPACE:
                return index
        return -1

    def _statement(self, text: str) -> str:
        key, rest, inherited = self._key(text)
        if " " in key:
            raise InterpolationError("key cannot contain a space", self.line)
        if inherited:
            value = self.variables.get(key)
            if value is not None:
                self.values[key] = value
            return rest
        value, rest = self._value(rest)
        self.values[key] = value
        return rest

    def _key(self, text: str) -> tuple[str, str, bool]:
        if _EXPORT.match(text):
            text = text[len("export") :].lstrip(_LINE_SPACE)
        if not text:
            raise InterpolationError("zero length string", self.line)
        key, offset, inherited = self._scan_key_end(text)
        if inherited and " " not in key:
            self.line += 1
        key = key.rstrip(_GO_SPACE)
        return key, text[offset:].lstrip(_LINE_SPACE), inherited

    def _scan_key_end(self, text: str) -> tuple[str, int, bool]:
        for index, char in enumerate(text):
            if char in _LINE_SPACE:
                continue
            if char in "=:\n":
                return text[:index], index + 1, char == "\n"
            if not _is_key_char(char):
                first_line = text.split("\n", 1)[0]
                raise InterpolationError(
                    f"unexpected character {char!r} in variable name {first_line!r}", self.line
                )
        # No terminator before the end: compose reads the whole rest as the value of "".
        return "", 0, False

    def _value(self, text: str) -> tuple[str, str]:
        start_line = self.line
        quote = text[:1]
        if quote not in ("'", '"'):
            value, _, rest = text.partition("\n")
            self.line += 1
            value = value.split(" #", 1)[0].rstrip(_GO_SPACE)
            return self._expand(value, start_line), rest
        value, rest, closed = self._quoted(text, quote)
        if not closed:
            first_line = text.split("\n", 1)[0]
            raise InterpolationError(f"unterminated quoted value {first_line}", start_line)
        if quote == '"':
            value = self._expand(_expand_escapes(value), start_line)
        return value, rest

    def _quoted(self, text: str, quote: str) -> tuple[str, str, bool]:
        """Read up to the closing quote; ``\\<quote>`` drops its backslash, others keep it."""
        chars: list[str] = []
        escaped = False
        for index in range(1, len(text)):
            char = text[index]
            if char == "\n":
                self.line += 1
            if escaped:
                escaped = False
                if char != quote:
                    chars.append("\\")
                chars.append(char)
            elif char == "\\":
                escaped = True
            elif char == quote:
                return "".join(chars), text[index + 1 :], True
            else:
                chars.append(char)
        return "", "", False

    def _lookup(self, name: str) -> str | None:
        """compose-go's order: the outer variables first, then the keys read so far."""
        value = self.variables.get(name)
        return self.values.get(name) if value is None else value

    def _expand(self, value: str, line: int) -> str:
        try:
            return _interpolate(value, self._lookup, self.on_missing)
        except InterpolationError as error:
            raise InterpolationError(error.reason, line) from None


def _is_key_char(char: str) -> bool:
    return char in "_.-[]" or unicodedata.category(char)[0] in "LN"


def _expand_escapes(value: str) -> str:
    return _ESCAPE.sub(_unescape, value)


def _unescape(match: re.Match[str]) -> str:
    text = match.group(0)
    if text == "\\$":
        return "$$"  # the interpolation step turns it into a literal "$"
    if text.startswith("\\0"):
        return _octal_escape(text)
    replacement: str | None = _SIMPLE_ESCAPES.get(text[1])
    return text if replacement is None else replacement


def _octal_escape(text: str) -> str:
    r"""``\0ddd`` is Go's ``\ddd`` (exactly three octal digits, at most 0o377)."""
    rewritten = "\\" + text[2:]
    digits = rewritten[1:]
    if len(digits) == 3 and all(digit in "01234567" for digit in digits):
        code = int(digits, 8)
        if code <= 0o377:
            return chr(code)
    return rewritten


def parse_raw_env(text: str, variables: Mapping[str, str]) -> dict[str, str]:
    """Parse an ``env_file`` with ``format: raw`` (docker's ``--env-file`` syntax).

    ``KEY=VALUE`` taken literally (no quotes, no interpolation, no trimming of the value),
    ``#`` comment lines, and a bare ``KEY`` copied from ``variables`` when set.
    """
    values: dict[str, str] = {}
    for number, raw_line in enumerate(_scanner_lines(text.removeprefix(_UTF8_BOM)), start=1):
        line = raw_line.lstrip(_GO_SPACE)
        if not line or line.startswith("#"):
            continue
        name, has_value, value = line.partition("=")
        name = name.lstrip(" \t")
        if " " in name or "\t" in name:
            raise InterpolationError(f"variable {name!r} contains whitespaces", number)
        if not name:
            raise InterpolationError(f"no variable name on line {line!r}", number)
        if has_value:
            values[name] = value
        elif line in variables:
            values[name.strip()] = variables[line]
    return values


def _scanner_lines(text: str) -> list[str]:
    """Lines as Go's bufio.Scanner gives them: split on "\\n", one trailing "\\r" dropped."""
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line.removesuffix("\r") for line in lines]
