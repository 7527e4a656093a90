"""What counts as drift and how much it matters: the knobs compare() takes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from parity.model import canonical_name
from parity.report import Severity

# Installer tooling that differs between any two environments and rarely matters.
TOOLING = frozenset({"pip", "setuptools", "wheel", "pkg-resources", "distribute"})

# Installers and environment managers people add to images and venvs. With TOOLING, and
# what only they require (computed from Requires-Dist), their rows are status ``tooling``.
INSTALLERS = TOOLING | frozenset(
    {
        "pipenv",
        "poetry",
        "poetry-core",
        "poetry-plugin-export",
        "uv",
        "pdm",
        "pip-tools",
        "virtualenv",
        "pipx",
        "hatch",
        "build",
        "installer",
        "conda",
    }
)


@dataclass(frozen=True)
class Policy:
    """Options for compare(): what to ignore, what to show, and when a check fails.

    ``severity_overrides`` maps a package name (PEP 503), a row kind (``version:patch``,
    ``missing``, ``unsatisfied``, ``source``, ``platform``, ``python_version``, ...) or
    ``NAME:KIND`` (``django:version:patch``) to the severity to use instead of the default.
    The most specific key wins: ``NAME:KIND`` over ``NAME`` over ``KIND``.
    """

    include_tooling: bool = False
    ignore: frozenset[str] = frozenset()
    show_same: bool = False
    fail_on: Severity = Severity.ERROR
    severity_overrides: Mapping[str, Severity] = field(default_factory=dict)

    def ignores(self, name: str) -> bool:
        return self.ignores_key(canonical_name(name))

    def ignores_key(self, key: str) -> bool:
        """``ignores`` for a name already PEP 503-normalised."""
        if key in self.ignore:
            return True
        return not self.include_tooling and key in TOOLING

    def severity_for(self, name: str | None, kind: str, default: Severity) -> Severity:
        """The severity of a row of ``kind`` (``version:major``, ``missing``...) for ``name``."""
        candidates: list[str] = []
        kinds = [kind]
        if ":" in kind:
            kinds.append(kind.split(":", 1)[0])
        if name is not None:
            key = canonical_name(name)
            candidates += [f"{key}:{k}" for k in kinds]
            candidates.append(key)
        candidates += kinds
        for candidate in candidates:
            if candidate in self.severity_overrides:
                return self.severity_overrides[candidate]
        return default
