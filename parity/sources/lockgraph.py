"""Shared machinery for the lock-file sources (poetry.lock, uv.lock, pylock.toml).

Three pieces:

* :class:`Condition`, a PEP 508 marker held as a set of alternatives (``or``) of
  comparisons (``and``). Comparisons whose variables are known (the marker environment
  of the other side, the chosen extras and groups) are evaluated with
  ``packaging.markers`` as the marker is read; the rest stay symbolic. So with a full
  marker environment every condition is simply true or false, and without one a
  package keeps the exact condition under which the lock installs it.
* :func:`reachability`, a walk over a lock's dependency graph that gives every reached
  package the ``or`` over all paths of the ``and`` of the edge conditions.
* Small typed readers for TOML data, raising :class:`LockDataError`, which each source
  turns into its own :class:`parity.errors.SourceError` subclass.
"""

from __future__ import annotations

import ast
import re
import urllib.parse
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Union

from packaging.markers import (
    InvalidMarker,
    Marker,
    UndefinedComparison,
    UndefinedEnvironmentName,
)

from parity.model import Location, canonical_name
from parity.sources._toml import TomlFileError, read_document

# Marker variables already decided: strings, or sets of names for ``extra``/``extras``/
# ``dependency_groups``.
KnownValues = Mapping[str, Union[str, frozenset[str]]]
EvaluateContext = Literal["metadata", "lock_file", "requirement"]

# Above this many alternatives a condition is treated as always true (and flagged).
MAX_TERMS = 256


class LockDataError(ValueError):
    """A lock file's content is not what its format allows.

    ``line`` when known; ``path`` when the problem is in another file than the lock
    (the pyproject.toml beside it).
    """

    def __init__(self, message: str, line: int | None = None, path: str | None = None) -> None:
        super().__init__(message)
        self.line = line
        self.path = path

    def location(self, default_path: str) -> Location:
        return Location(self.path or default_path, self.line)


# --------------------------------------------------------------------------- markers


@dataclass(frozen=True, order=True)
class Atom:
    """One marker comparison, ``left op right``; each side is a variable or a literal."""

    left: str
    op: str
    right: str
    left_is_variable: bool
    right_is_variable: bool

    @property
    def variables(self) -> frozenset[str]:
        names = set()
        if self.left_is_variable:
            names.add(self.left)
        if self.right_is_variable:
            names.add(self.right)
        return frozenset(names)

    def render(self) -> str:
        left = self.left if self.left_is_variable else _quote(self.left)
        right = self.right if self.right_is_variable else _quote(self.right)
        return f"{left} {self.op} {right}"

    def negate(self) -> Atom | None:
        """The opposite comparison, or None when PEP 508 cannot spell it."""
        opposite = _NEGATED_OPS.get(self.op)
        if opposite is None:
            return None
        return Atom(self.left, opposite, self.right, self.left_is_variable, self.right_is_variable)


_NEGATED_OPS = {
    "==": "!=",
    "!=": "==",
    "<": ">=",
    ">=": "<",
    ">": "<=",
    "<=": ">",
    "in": "not in",
    "not in": "in",
}


def _quote(value: str) -> str:
    if '"' not in value:
        return f'"{value}"'
    if "'" not in value:
        return f"'{value}'"
    raise LockDataError(f"marker value {value!r} holds both kinds of quote")


Term = frozenset[Atom]


@dataclass(frozen=True)
class Condition:
    """A marker as alternatives of conjunctions; no alternatives is never, ``{∅}`` always.

    ``approximate`` is set when the condition grew past :data:`MAX_TERMS` alternatives
    and was widened to "always".
    """

    terms: frozenset[Term]
    approximate: bool = False

    @property
    def is_always(self) -> bool:
        return frozenset() in self.terms

    @property
    def is_never(self) -> bool:
        return not self.terms

    def or_(self, other: Condition) -> Condition:
        if self.is_always and not self.approximate:
            return self
        if other.is_always and not other.approximate:
            return other
        return _condition(self.terms | other.terms, self.approximate or other.approximate)

    def and_(self, other: Condition) -> Condition:
        if self.is_never:
            return self
        if other.is_never:
            return other
        if len(self.terms) * len(other.terms) > MAX_TERMS * 4:
            return ALWAYS_APPROXIMATE
        terms = frozenset(left | right for left in self.terms for right in other.terms)
        return _condition(terms, self.approximate or other.approximate)

    def negate(self) -> Condition | None:
        """``not self``, or None when some comparison has no PEP 508 opposite."""
        result = ALWAYS
        for term in self.terms:
            alternatives: set[Term] = set()
            for atom in term:
                opposite = atom.negate()
                if opposite is None:
                    return None
                alternatives.add(frozenset({opposite}))
            result = result.and_(_condition(frozenset(alternatives), False))
        return result

    def render(self) -> str | None:
        """The condition as a PEP 508 marker; None when it always holds."""
        if self.is_always:
            return None
        if self.is_never:
            return 'python_version < "0"'
        rendered = sorted(
            (" and ".join(sorted(atom.render() for atom in term)), len(term)) for term in self.terms
        )
        if len(rendered) == 1:
            return rendered[0][0]
        return " or ".join(f"({text})" if size > 1 else text for text, size in rendered)


def _condition(terms: frozenset[Term], approximate: bool) -> Condition:
    """Build a condition, simplified: ``(A and x) or (A and not x)`` is ``A``, and an
    alternative that a smaller one covers is dropped."""
    if len(terms) > MAX_TERMS:
        return ALWAYS_APPROXIMATE
    terms = _merge_opposites(terms)
    if frozenset() in terms:
        return Condition(frozenset({frozenset()}), approximate)
    kept = [term for term in terms if not any(other < term for other in terms)]
    return Condition(frozenset(kept), approximate)


def _merge_opposites(terms: frozenset[Term]) -> frozenset[Term]:
    current = set(terms)
    changed = True
    while changed:
        changed = False
        for term in list(current):
            for atom in term:
                opposite = atom.negate()
                if opposite is None:
                    continue
                partner = (term - {atom}) | {opposite}
                if partner in current:
                    current -= {term, partner}
                    current.add(term - {atom})
                    changed = True
                    break
            if changed:
                break
    return frozenset(current)


ALWAYS = Condition(frozenset({frozenset()}))
NEVER = Condition(frozenset())
ALWAYS_APPROXIMATE = Condition(frozenset({frozenset()}), approximate=True)


def atom_condition(atom: Atom) -> Condition:
    return Condition(frozenset({frozenset({atom})}))


_TOKEN = re.compile(
    r"""\s*(?:
        (?P<paren>[()])
        |(?P<string>'[^']*'|"[^"]*")
        |(?P<op>===|==|!=|<=|>=|~=|<|>)
        |(?P<word>[A-Za-z_][A-Za-z0-9_.]*)
    )""",
    re.VERBOSE,
)
_ALIASES = {"python_implementation": "platform_python_implementation"}


class _MarkerParser:
    """Recursive-descent PEP 508 marker parser producing a :class:`Condition`."""

    def __init__(self, text: str, known: KnownValues, context: EvaluateContext) -> None:
        self.tokens = _tokenize(text)
        self.position = 0
        self.known = known
        self.context = context

    def parse(self) -> Condition:
        condition = self._or()
        if self.position != len(self.tokens):
            raise LockDataError(f"unexpected {self.tokens[self.position][1]!r} in marker")
        return condition

    def _peek(self) -> tuple[str, str] | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def _take(self) -> tuple[str, str]:
        token = self._peek()
        if token is None:
            raise LockDataError("marker ends too early")
        self.position += 1
        return token

    def _accept_word(self, word: str) -> bool:
        token = self._peek()
        if token == ("word", word):
            self.position += 1
            return True
        return False

    def _or(self) -> Condition:
        condition = self._and()
        while self._accept_word("or"):
            condition = condition.or_(self._and())
        return condition

    def _and(self) -> Condition:
        condition = self._operand()
        while self._accept_word("and"):
            condition = condition.and_(self._operand())
        return condition

    def _operand(self) -> Condition:
        if self._peek() == ("paren", "("):
            self.position += 1
            condition = self._or()
            if self._take() != ("paren", ")"):
                raise LockDataError("unbalanced parenthesis in marker")
            return condition
        left, left_is_variable = self._value()
        op = self._operator()
        right, right_is_variable = self._value()
        return self._decide(Atom(left, op, right, left_is_variable, right_is_variable))

    def _value(self) -> tuple[str, bool]:
        kind, text = self._take()
        if kind == "string":
            return _unquote(text), False
        if kind == "word" and text not in ("and", "or", "in", "not"):
            name = text.replace(".", "_")
            return _ALIASES.get(name, name), True
        raise LockDataError(f"expected a marker variable or string, found {text!r}")

    def _operator(self) -> str:
        kind, text = self._take()
        if kind == "op":
            return text
        if (kind, text) == ("word", "in"):
            return "in"
        if (kind, text) == ("word", "not") and self._accept_word("in"):
            return "not in"
        raise LockDataError(f"expected a marker operator, found {text!r}")

    def _decide(self, atom: Atom) -> Condition:
        """Evaluate the comparison when all its variables are known, else keep it."""
        if not atom.variables <= self.known.keys():
            return atom_condition(atom)
        decided = _extra_membership(atom, self.known)
        if decided is None:
            environment = {name: self.known[name] for name in atom.variables}
            decided = evaluate_marker(Marker(atom.render()), environment, self.context)
        return ALWAYS if decided else NEVER


def _extra_membership(atom: Atom, known: KnownValues) -> bool | None:
    """``extra == "x"`` against a set of chosen extras (packaging < 26.4 wants one string)."""
    if atom.op not in ("==", "!=") or atom.left_is_variable == atom.right_is_variable:
        return None
    variable, value = (atom.left, atom.right) if atom.left_is_variable else (atom.right, atom.left)
    chosen = known.get(variable)
    if variable != "extra" or not isinstance(chosen, frozenset):
        return None
    member = canonical_name(value) in {canonical_name(name) for name in chosen}
    return member if atom.op == "==" else not member


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise LockDataError(f"cannot read marker at {text[position:]!r}")
        kind = match.lastgroup
        assert kind is not None
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


def _unquote(text: str) -> str:
    if "\\" not in text and text.isprintable():
        return text[1:-1]
    try:
        return str(ast.literal_eval(text))
    except (SyntaxError, ValueError) as error:
        raise LockDataError(f"invalid quoted string {text!r} in marker") from error


def evaluate_marker(
    marker: Marker, environment: KnownValues, context: EvaluateContext = "metadata"
) -> bool:
    """``marker.evaluate`` with packaging's own errors turned into :class:`LockDataError`."""
    try:
        return marker.evaluate(dict(environment), context)
    except (UndefinedComparison, UndefinedEnvironmentName, InvalidMarker, TypeError) as error:
        raise LockDataError(f"cannot evaluate marker {str(marker)!r}: {error}") from error


def parse_condition(
    text: str | None, known: KnownValues, context: EvaluateContext = "metadata"
) -> Condition:
    """Read a PEP 508 marker into a condition, evaluating what ``known`` decides."""
    if text is None or not text.strip() or text.strip() == "*":
        return ALWAYS
    try:
        Marker(text)
    except InvalidMarker as error:
        raise LockDataError(f"invalid marker {text!r}: {error}") from error
    return _MarkerParser(text, known, context).parse()


def specifier_condition(variable: str, specifiers: Iterable[tuple[str, str]]) -> Condition:
    """``variable op version`` for each (op, version), joined with ``and``."""
    condition = ALWAYS
    for op, version in specifiers:
        condition = condition.and_(atom_condition(Atom(variable, op, version, True, False)))
    return condition


# ------------------------------------------------------------------------ reachability


@dataclass(frozen=True)
class Edge:
    """A dependency: the target package (by index), the extras it asks for, when it holds."""

    target: int
    extras: tuple[str, ...] = ()
    condition: Condition = ALWAYS


NodeKey = tuple[int, str]  # (package index, extra name or "" for the package itself)


def reachability(
    root_edges: Iterable[Edge], edges_of: Callable[[NodeKey], Sequence[Edge]]
) -> dict[int, Condition]:
    """For each reached package index, the condition under which some path reaches it.

    ``edges_of((index, ""))`` gives a package's own dependencies and
    ``edges_of((index, extra))`` those its extra adds.
    """
    reached: dict[NodeKey, Condition] = {}
    pending: deque[NodeKey] = deque()
    memo: dict[NodeKey, Sequence[Edge]] = {}

    def follow(edge: Edge, condition: Condition) -> None:
        condition = condition.and_(edge.condition)
        if condition.is_never:
            return
        for node in [(edge.target, ""), *((edge.target, extra) for extra in edge.extras)]:
            before = reached.get(node, NEVER)
            after = before.or_(condition)
            if after != before:
                reached[node] = after
                pending.append(node)

    for edge in root_edges:
        follow(edge, ALWAYS)
    while pending:
        node = pending.popleft()
        if node not in memo:
            memo[node] = edges_of(node)
        for edge in memo[node]:
            follow(edge, reached[node])
    return {index: condition for (index, extra), condition in reached.items() if not extra}


# ------------------------------------------------------------------------- TOML helpers

TomlTable = Mapping[str, object]


def read_toml(path: str) -> TomlTable:
    """Parse a TOML file; :class:`LockDataError` (with the line) when it cannot be read."""
    try:
        return read_document(path)
    except TomlFileError as error:
        raise LockDataError(error.reason, error.line, error.path) from None


def get_table(data: TomlTable, key: str, where: str) -> TomlTable:
    """``data[key]`` as a table; an empty table when absent."""
    value = data.get(key, {})
    if not isinstance(value, Mapping):
        raise LockDataError(f"{where}{key} must be a table")
    return value


def get_str(data: TomlTable, key: str, where: str, default: str | None = None) -> str | None:
    value = data.get(key, default)
    if value is not None and not isinstance(value, str):
        raise LockDataError(f"{where}{key} must be a string")
    return value


def require_str(data: TomlTable, key: str, where: str) -> str:
    value = get_str(data, key, where)
    if value is None:
        raise LockDataError(f"{where}{key} is missing")
    return value


def get_list(data: TomlTable, key: str, where: str) -> list[object]:
    value = data.get(key, [])
    if not isinstance(value, list):
        raise LockDataError(f"{where}{key} must be an array")
    return value


def get_tables(data: TomlTable, key: str, where: str) -> list[TomlTable]:
    items = get_list(data, key, where)
    if not all(isinstance(item, Mapping) for item in items):
        raise LockDataError(f"{where}{key} must be an array of tables")
    return [item for item in items if isinstance(item, Mapping)]


def get_strings(data: TomlTable, key: str, where: str) -> list[str]:
    items = get_list(data, key, where)
    if not all(isinstance(item, str) for item in items):
        raise LockDataError(f"{where}{key} must be an array of strings")
    return [item for item in items if isinstance(item, str)]


# ------------------------------------------------------------------------------ origins


def file_url(base_dir: Path, relative: str) -> str:
    """A ``file://`` URL for a path written relative to the lock file's directory."""
    if "://" in relative:
        return relative
    path = (base_dir / relative).resolve() if not Path(relative).is_absolute() else Path(relative)
    return path.as_uri()


def split_vcs_url(url: str) -> tuple[str, str | None]:
    """``https://host/repo?rev=x#commit`` -> (``https://host/repo``, commit)."""
    parts = urllib.parse.urlsplit(url)
    commit = parts.fragment or None
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")), commit


def describe_selection(extras: Sequence[str], groups: Sequence[str]) -> str:
    """`` with extras a, b and groups dev`` for an Environment description."""
    parts = []
    if extras:
        parts.append("extras " + ", ".join(extras))
    if groups:
        parts.append("groups " + ", ".join(groups))
    return " with " + " and ".join(parts) if parts else ""
