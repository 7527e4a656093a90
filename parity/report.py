"""What compare() returns: rows of drift between named sides, with severities."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum

SCHEMA = "parity.report/1"


class Severity(str, Enum):
    """How much a row matters. Ordered: ``none`` < ``info`` < ``warning`` < ``error``."""

    NONE = "none"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"

    @property
    def rank(self) -> int:
        return _RANK[self]

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank >= other.rank

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank > other.rank

    def __le__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank <= other.rank

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank < other.rank


_RANK = {Severity.NONE: 0, Severity.INFO: 1, Severity.WARNING: 2, Severity.ERROR: 3}


class Status(str, Enum):
    """What kind of difference a row shows (DESIGN.md, JSON report)."""

    SAME = "same"
    VERSION = "version"
    MISSING = "missing"
    UNSATISFIED = "unsatisfied"
    SOURCE = "source"
    PLATFORM = "platform"
    DEV = "dev"  # declared only for development
    TOOLING = "tooling"  # an installer, or needed only by installers
    PROJECT = "project"  # the project itself
    DIFFERS = "differs"  # interpreter rows


# Statuses of rows the rules keep out of the drift (unless loud: a dev tool in the image).
SET_ASIDE = (Status.DEV, Status.TOOLING, Status.PROJECT)
SET_ASIDE_NOUNS = {
    Status.DEV: "development-only",
    Status.TOOLING: "installer tooling",
    Status.PROJECT: "the project itself",
}


@dataclass(frozen=True)
class Side:
    """One side of a report: its name in the report (``local``) and what it was read from."""

    name: str
    kind: str
    ref: str
    description: str = ""
    image_id: str | None = None
    python_choice: str = ""  # container sides: the interpreter probed, and why it was chosen


@dataclass(frozen=True)
class InterpreterRow:
    """One interpreter fact compared across the sides."""

    field: str
    values: Mapping[str, str | None]
    status: Status
    severity: Severity
    detail: str | None = None  # which side left the declared Python


@dataclass(frozen=True)
class PackageRow:
    """One distribution compared across the sides.

    ``values`` maps side name to version, requirement specifier, or None where absent.
    ``change`` is set on version rows; ``missing_from`` on missing rows; ``detail`` carries
    the marker of a platform row, the origins of a source row, or the unmet specifier.
    """

    name: str
    values: Mapping[str, str | None]
    status: Status
    severity: Severity
    change: str | None = None
    missing_from: tuple[str, ...] = ()
    detail: str | None = None
    declared_at: str | None = None  # "requirements.txt:3" when a declared side names it


@dataclass(frozen=True)
class Report:
    """The outcome of comparing environments. Pure data; formats turn it into text."""

    sides: tuple[Side, ...]
    interpreter: tuple[InterpreterRow, ...]
    packages: tuple[PackageRow, ...]
    fail_on: Severity = Severity.ERROR
    warnings: tuple[str, ...] = field(default=())
    compared: int = 0  # how many package names were compared
    show_all: bool = False  # --all: list matches and set-aside rows too

    def rows_at_or_above(self, severity: Severity) -> list[InterpreterRow | PackageRow]:
        rows: list[InterpreterRow | PackageRow] = [*self.interpreter, *self.counted_packages()]
        return [row for row in rows if row.severity != Severity.NONE and row.severity >= severity]

    def counted_packages(self) -> list[PackageRow]:
        """Package rows that count as drift: all but the set-aside ones."""
        return [row for row in self.packages if not is_set_aside(row)]

    def set_aside(self) -> list[PackageRow]:
        """Rows kept out of the drift: development-only, installer tooling, the project."""
        return [row for row in self.packages if is_set_aside(row)]

    def listed_packages(self) -> tuple[PackageRow, ...]:
        """The package rows a text format lists: set-aside rows only with ``--all``."""
        if self.show_all:
            return self.packages
        return tuple(row for row in self.packages if not is_set_aside(row))

    def set_aside_counts(self) -> dict[str, int]:
        """How many rows each rule set aside, by status (``{"dev": 6, "tooling": 5}``)."""
        counts: dict[str, int] = {}
        for row in self.set_aside():
            counts[row.status.value] = counts.get(row.status.value, 0) + 1
        return counts

    def set_aside_phrase(self) -> str:
        """``12 rows not counted: 6 development-only, 5 installer tooling, 1 the project ...``."""
        rows = self.set_aside()
        if not rows:
            return ""
        parts = [
            f"{count} {SET_ASIDE_NOUNS[status]}"
            for status in SET_ASIDE
            if (count := sum(1 for row in rows if row.status == status))
        ]
        noun = "row" if len(rows) == 1 else "rows"
        return f"{len(rows)} {noun} not counted: {', '.join(parts)}"

    @property
    def has_drift(self) -> bool:
        """True when any row reaches the failing severity (exit code 1)."""
        return bool(self.rows_at_or_above(self.fail_on))

    @property
    def verdict(self) -> str:
        return "drift" if self.has_drift else "parity"

    def count(self, severity: Severity) -> int:
        rows: list[InterpreterRow | PackageRow] = [*self.interpreter, *self.counted_packages()]
        return sum(1 for row in rows if row.severity == severity)

    def side_names(self) -> tuple[str, ...]:
        return tuple(side.name for side in self.sides)


def is_set_aside(row: PackageRow) -> bool:
    """A dev, tooling or project row below warning: listed with ``--all``, never counted."""
    return row.status in SET_ASIDE and row.severity < Severity.WARNING
