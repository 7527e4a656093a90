"""The data every part of parity exchanges: interpreters, packages, requirements, environments.

Everything here is a frozen dataclass holding plain values, so sources, compare() and
the formats can pass them around (and snapshot them to JSON) without surprises.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from functools import lru_cache

_NORMALIZE = re.compile(r"[-_.]+")
# PEP 508's name rule, as packaging.utils.canonicalize_name(validate=True) checks it.
_VALID_NAME = re.compile(r"[a-z0-9]|[a-z0-9][a-z0-9._-]*[a-z0-9]", re.IGNORECASE | re.ASCII)


def is_valid_name(name: str) -> bool:
    """Whether ``name`` is a valid project name (PEP 508)."""
    return _VALID_NAME.fullmatch(name) is not None


@lru_cache(maxsize=65536)
def canonical_name(name: str) -> str:
    """PEP 503 normalised project name (``Foo.Bar_baz`` -> ``foo-bar-baz``)."""
    return _NORMALIZE.sub("-", name).lower()


@dataclass(frozen=True)
class Location:
    """Where something was declared: a file and (where the format has lines) a 1-based line."""

    path: str
    line: int | None = None

    def __str__(self) -> str:
        return f"{self.path}:{self.line}" if self.line else self.path


@dataclass(frozen=True)
class Interpreter:
    """Facts about one Python interpreter, as the probe reports them."""

    implementation: str  # "cpython", "pypy"
    version: str  # full version, "3.11.7"
    executable: str
    prefix: str = ""
    base_prefix: str = ""
    is_venv: bool = False
    machine: str = ""  # platform.machine(), "x86_64"
    os: str = ""  # "Debian GNU/Linux 12 (bookworm)" or platform.system()
    libc: str = ""  # "glibc 2.36", "musl 1.2.4", "" when none
    pip_version: str | None = None
    externally_managed: bool = False
    markers: Mapping[str, str] = field(default_factory=dict)  # PEP 508 marker environment

    @property
    def minor_version(self) -> str:
        return ".".join(self.version.split(".")[:2])


@dataclass(frozen=True)
class Origin:
    """Where an installed or locked distribution came from, when not a plain index release.

    ``kind`` is one of ``editable``, ``vcs``, ``directory``, ``archive`` (PEP 610's cases).
    """

    kind: str
    url: str
    commit: str | None = None  # VCS commit id
    vcs: str | None = None  # "git", "hg", ...
    hash: str | None = None  # an archive's "sha256=..." (PEP 610 archive_info)

    def describe(self) -> str:
        if self.kind == "vcs":
            ref = f"@{self.commit}" if self.commit else ""
            return f"{self.vcs or 'vcs'}+{self.url}{ref}"
        if self.kind == "editable":
            return f"editable {self.url}"
        return f"{self.kind} {self.url}"


@dataclass(frozen=True)
class Package:
    """One distribution that is installed (live sources) or pinned (lock files, snapshots)."""

    name: str  # as the metadata spells it
    version: str
    origin: Origin | None = None
    installer: str | None = None
    location: str | None = None
    requires: tuple[str, ...] = ()  # Requires-Dist lines
    marker: str | None = None  # lock files: only installed where this marker is true
    declared_at: Location | None = None

    @property
    def key(self) -> str:
        return canonical_name(self.name)


@dataclass(frozen=True)
class Requirement:
    """One declared requirement (requirements.txt line, Pipfile entry, pyproject dependency)."""

    name: str
    specifier: str = ""  # ">=2.28,<3" ; "" means any version
    extras: tuple[str, ...] = ()
    marker: str | None = None
    url: str | None = None  # direct reference (PEP 508 ``@ url``, VCS URL, local path)
    editable: bool = False
    declared_at: Location | None = None
    is_constraint: bool = False  # from a ``-c`` file: limits versions, installs nothing

    @property
    def key(self) -> str:
        return canonical_name(self.name)

    def describe(self) -> str:
        """The requirement as a user would write it, for report cells."""
        if self.url:
            return f"@ {self.url}"
        return self.specifier or "*"


class Level(str, Enum):
    """How exact a side's knowledge is: what is installed, what is locked, what is asked for."""

    INSTALLED = "installed"
    LOCKED = "locked"
    DECLARED = "declared"


@dataclass(frozen=True)
class Environment:
    """One side of a comparison.

    Live sources (venv, image, container) fill ``interpreter`` and ``packages``.
    Lock files and snapshots fill ``packages`` (pins, with markers). Declared sources
    (requirements, Pipfile, pyproject) fill ``requirements`` and may set
    ``python_requirement``.
    """

    kind: str  # "venv", "requirements", "image", ...
    ref: str  # what the user named, or the image ID
    level: Level
    interpreter: Interpreter | None = None
    packages: tuple[Package, ...] = ()
    requirements: tuple[Requirement, ...] = ()
    python_requirement: str | None = None  # requires-python / [requires] python_version
    warnings: tuple[str, ...] = ()
    description: str = ""  # e.g. "image built from ./Dockerfile (sha256:...)"
    image_id: str | None = None  # container sides: the probed image's ID
    python_choice: str = ""  # container sides: the interpreter probed, and why it was chosen

    def packages_by_key(self) -> dict[str, Package]:
        return {package.key: package for package in self.packages}


@dataclass(frozen=True)
class ProjectFacts:
    """What a project's own files say about its packages, for ``parity check``.

    ``name`` is the project's own distribution (PEP 503), ``dev`` the names declared only
    for development (dev groups, ``[dev-packages]``, requirements-dev.txt ...), ``main``
    the names declared for running it; ``sources`` the files they were read from.
    """

    name: str | None = None
    dev: frozenset[str] = frozenset()
    main: frozenset[str] = frozenset()
    sources: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()  # files that could not be read for this, and why
