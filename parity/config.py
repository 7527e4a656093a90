"""Project configuration: ``[tool.parity]`` in pyproject.toml, or a parity.toml file.

Where parity looks, in PROJECT_DIR:

* ``parity.toml``: the keys at the top level (no ``[tool.parity]`` table);
* else ``pyproject.toml``: the keys in its ``[tool.parity]`` table.

Both configuring parity is an error (one place only). Keys are kebab-case::

    [tool.parity]
    local = "venv:.venv"                # a source, as --local takes it
    container = "dockerfile:docker/Dockerfile"
    context = "."                       # the build context of a Dockerfile side
    build-args = { PYTHON_VERSION = "3.11" }
    target = "runtime"
    build-network = "host"
    build-timeout = 600                 # seconds; a build still running then is stopped
    platform = "linux/amd64"
    python = "/usr/local/bin/python3.11"
    ignore = ["debugpy"]
    fail-on = "warning"                 # error | warning | info
    include-tooling = false
    dev-requirements = ["requirements/ci.txt"]   # more requirements files for development

    [tool.parity.severity]              # error | warning | info | none
    "version:patch" = "warning"         # a row kind
    django = "error"                    # a package
    "boto3:version:minor" = "none"      # a package and a kind

Paths in ``local``, ``container`` and ``context`` are relative to the project directory. Values are
checked here: an unknown key or a wrong type is a :class:`ConfigError` naming the file,
the key and its line.

:func:`merge` lays the command line over the file: a flag the user gave wins, ``ignore``
and ``build-args`` add up (the command line's build arguments win per key), and
``PARITY_BUILD_NETWORK`` sits between the two (flag, then variable, then file).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from parity.errors import SourceError
from parity.model import Location, canonical_name, is_valid_name
from parity.policy import Policy
from parity.report import Severity
from parity.sources import CONTAINER_KINDS, KINDS, LOCAL_KINDS
from parity.sources._toml import key_lines, line_of, parse_toml, read_text

CONFIG_FILE = "parity.toml"
PYPROJECT_FILE = "pyproject.toml"
BUILD_NETWORK_VARIABLE = "PARITY_BUILD_NETWORK"

FAIL_ON_VALUES = ("error", "warning", "info")
SEVERITY_VALUES = ("error", "warning", "info", "none")

_CHANGES = ("major", "minor", "patch", "pre", "post", "local", "other")
PACKAGE_KINDS = frozenset(
    {"version", "missing", "unsatisfied", "source", "platform", "dev", "project"}
    | {f"version:{change}" for change in _CHANGES}
)
INTERPRETER_KINDS = frozenset(
    {"python_version", "implementation", "architecture", "libc", "libc_version", "os"}
    | {f"python_version:{change}" for change in (*_CHANGES, "unsatisfied")}
)
ROW_KINDS = PACKAGE_KINDS | INTERPRETER_KINDS
_KIND_NAMES = (
    "version, version:CHANGE (CHANGE: major, minor, patch, pre, post, local, other), missing, "
    "unsatisfied, source, platform, dev, project"
)


class ConfigError(SourceError):
    """A configuration file that cannot be read or holds a key or value parity does not take."""


@dataclass(frozen=True)
class ParityConfig:
    """Settings from a configuration file (or from the command line); None means not set."""

    local: str | None = None
    container: str | None = None
    context: str | None = None
    build_args: Mapping[str, str] | None = None
    target: str | None = None
    build_network: str | None = None
    build_timeout: float | None = None
    platform: str | None = None
    python: str | None = None
    ignore: tuple[str, ...] | None = None
    fail_on: Severity | None = None
    include_tooling: bool | None = None
    severity: Mapping[str, Severity] | None = None
    dev_requirements: tuple[str, ...] | None = None
    path: str | None = None  # the file the settings came from; None for none


@dataclass(frozen=True)
class Settings:
    """The effective settings of a run: file, environment and command line merged."""

    local: str | None = None
    container: str | None = None
    context: str | None = None  # the build context of a Dockerfile side (None: its layout's)
    build_args: Mapping[str, str] = field(default_factory=dict)
    target: str | None = None
    build_network: str | None = None
    build_timeout: float | None = None  # seconds; None: no limit
    platform: str | None = None
    python: str | None = None
    ignore: frozenset[str] = frozenset()
    fail_on: Severity = Severity.ERROR
    include_tooling: bool = False
    severity: Mapping[str, Severity] = field(default_factory=dict)
    dev_requirements: tuple[str, ...] = ()
    config_path: str | None = None

    def policy(self, *, show_same: bool = False) -> Policy:
        """The compare() policy these settings ask for."""
        return Policy(
            include_tooling=self.include_tooling,
            ignore=self.ignore,
            show_same=show_same,
            fail_on=self.fail_on,
            severity_overrides=dict(self.severity),
        )


def merge(config: ParityConfig, cli: ParityConfig, environ: Mapping[str, str]) -> Settings:
    """The effective settings: ``cli`` (only what the user gave) over ``environ`` over ``config``.

    ``ignore`` lists and ``build_args`` tables add up; for the same build argument the
    command line wins. ``severity`` comes from the file only.
    """
    return Settings(
        local=_first(cli.local, config.local),
        container=_first(cli.container, config.container),
        context=_first(cli.context, config.context),
        build_args={**(config.build_args or {}), **(cli.build_args or {})},
        target=_first(cli.target, config.target),
        build_network=_first(
            cli.build_network, environ.get(BUILD_NETWORK_VARIABLE) or None, config.build_network
        ),
        build_timeout=_first(cli.build_timeout, config.build_timeout),
        platform=_first(cli.platform, config.platform),
        python=_first(cli.python, config.python),
        ignore=frozenset(
            canonical_name(name) for name in (*(config.ignore or ()), *(cli.ignore or ()))
        ),
        fail_on=_first(cli.fail_on, config.fail_on) or Severity.ERROR,
        include_tooling=bool(_first(cli.include_tooling, config.include_tooling)),
        severity=dict(config.severity or {}),
        dev_requirements=config.dev_requirements or (),
        config_path=config.path,
    )


def _first(*values: Any) -> Any:
    """The first value that is set (not None)."""
    return next((value for value in values if value is not None), None)


# --- finding and reading the file ------------------------------------------------------------


def load_config(project_dir: str) -> ParityConfig:
    """The configuration of the project in ``project_dir``; an empty one when it has none."""
    dedicated = Path(project_dir) / CONFIG_FILE
    pyproject = Path(project_dir) / PYPROJECT_FILE
    from_pyproject = _pyproject_table(pyproject) if pyproject.is_file() else None
    if dedicated.is_file():
        if from_pyproject is not None:
            raise ConfigError(
                f"parity is configured twice: here and in [tool.parity] of {pyproject}; keep one",
                str(dedicated),
            )
        text = read_text(dedicated, ConfigError)
        table = parse_toml(text, dedicated, ConfigError)
        return _Reader(dedicated, text, (), project_dir).read(table)
    if from_pyproject is not None:
        text, table = from_pyproject
        return _Reader(pyproject, text, ("tool", "parity"), project_dir).read(table)
    return ParityConfig()


def _pyproject_table(path: Path) -> tuple[str, dict[str, Any]] | None:
    """(text, [tool.parity]) of a pyproject.toml, or None when it has no such table."""
    text = read_text(path, ConfigError)
    if "parity" not in text:
        return None  # cheap: a pyproject.toml that never names parity is not parsed at all
    document = parse_toml(text, path, ConfigError)
    tool = document.get("tool", {})
    if not isinstance(tool, dict) or "parity" not in tool:
        return None
    table = tool["parity"]
    if not isinstance(table, dict):
        line = key_lines(text).get(("tool", "parity"))
        raise ConfigError("[tool.parity] must be a table", Location(str(path), line))
    return text, table


_KEYS = (
    "local",
    "container",
    "context",
    "build-args",
    "target",
    "build-network",
    "build-timeout",
    "platform",
    "python",
    "ignore",
    "fail-on",
    "include-tooling",
    "severity",
    "dev-requirements",
)


@dataclass(frozen=True)
class _Reader:
    """Checks one configuration table, pointing errors at the file, key and line."""

    path: Path
    text: str
    table_path: tuple[str, ...]  # ("tool", "parity") in pyproject.toml, () in parity.toml
    project_dir: str

    def read(self, table: Mapping[str, Any]) -> ParityConfig:
        for key in table:
            if key not in _KEYS:
                self._unknown_key(key, table)
        readers: dict[str, Callable[[str, Any], Any]] = {
            "local": self._source,
            "container": self._source,
            "context": self._directory,
            "build-args": self._build_args,
            "target": self._string,
            "build-network": self._string,
            "build-timeout": self._seconds,
            "platform": self._string,
            "python": self._string,
            "ignore": self._names,
            "fail-on": self._fail_on,
            "include-tooling": self._boolean,
            "severity": self._severity_table,
            "dev-requirements": self._paths,
        }
        values = {
            key.replace("-", "_"): readers[key](key, table[key]) for key in _KEYS if key in table
        }
        return ParityConfig(**values, path=str(self.path))

    # --- errors ---

    def error(
        self, key: str, message: str, table: tuple[str, ...] = (), line: int | None = None
    ) -> ConfigError:
        """A ConfigError for ``key`` (inside sub-table ``table``), at its line when found."""
        full_table = ".".join((*self.table_path, *table))
        line = line or self._lines.get((full_table, key))
        if line is None and table:
            line = self._lines.get((".".join((*self.table_path, *table[:-1])), table[-1]))
        name = ".".join((*table, key))
        where = f"[{'.'.join(self.table_path)}] " if self.table_path else ""
        return ConfigError(f"{where}{name}: {message}", Location(str(self.path), line))

    @cached_property
    def _lines(self) -> dict[tuple[str, str], int]:
        return key_lines(self.text)

    def _unknown_key(self, key: str, table: Mapping[str, Any]) -> None:
        if not self.table_path and key == "tool":
            raise self.error(
                key,
                f"{CONFIG_FILE} takes its keys at the top level, without [tool.parity]",
                line=line_of(self.text, "[tool"),
            )
        suggestion = key.replace("_", "-").lower()
        hint = f" (did you mean {suggestion}?)" if suggestion in _KEYS else ""
        raise self.error(key, f"unknown key{hint}; known keys: {', '.join(_KEYS)}")

    # --- value readers ---

    def _string(self, key: str, value: Any, table: tuple[str, ...] = ()) -> str:
        if not isinstance(value, str):
            raise self.error(key, f"expected a string, got {_type_name(value)}", table)
        if not value.strip():
            raise self.error(key, "must not be empty", table)
        return value

    def _seconds(self, key: str, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.error(key, f"expected a number of seconds, got {_type_name(value)}")
        if not value > 0:
            raise self.error(key, "must be more than 0 seconds")
        return float(value)

    def _boolean(self, key: str, value: Any) -> bool:
        if not isinstance(value, bool):
            raise self.error(key, f"expected true or false, got {_type_name(value)}")
        return value

    def _source(self, key: str, value: Any) -> str:
        text = self._string(key, value)
        kind, sep, _ = text.partition(":")
        if sep and kind in KINDS:
            allowed = LOCAL_KINDS if key == "local" else CONTAINER_KINDS
            if kind not in allowed:
                raise self.error(
                    key,
                    f"{kind!r} sources cannot be the {key} side; use one of {', '.join(allowed)}",
                )
        return resolve_source(text, self.project_dir)

    def _directory(self, key: str, value: Any) -> str:
        return _join(self.project_dir, self._string(key, value))

    def _build_args(self, key: str, value: Any) -> dict[str, str]:
        if not isinstance(value, dict):
            raise self.error(key, f"expected a table of strings, got {_type_name(value)}")
        for name, item in value.items():
            if not isinstance(item, str):
                raise self.error(name, f"expected a string, got {_type_name(item)}", (key,))
        return dict(value)

    def _names(self, key: str, value: Any) -> tuple[str, ...]:
        if not isinstance(value, list):
            raise self.error(key, f"expected a list of package names, got {_type_name(value)}")
        names = []
        for item in value:
            if not isinstance(item, str):
                raise self.error(key, f"expected package names (strings), got {_type_name(item)}")
            line = line_of(self.text, f'"{item}"') or line_of(self.text, f"'{item}'")
            names.append(self._package_name(key, item, line=line))
        return tuple(names)

    def _paths(self, key: str, value: Any) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise self.error(key, f"expected a list of file paths, got {_type_name(value)}")
        return tuple(value)

    def _package_name(
        self, key: str, name: str, table: tuple[str, ...] = (), line: int | None = None
    ) -> str:
        if not is_valid_name(name):
            raise self.error(key, f"{name!r} is not a valid package name", table, line)
        return canonical_name(name)

    def _fail_on(self, key: str, value: Any) -> Severity:
        return Severity(self._choice(key, value, FAIL_ON_VALUES))

    def _choice(
        self, key: str, value: Any, choices: tuple[str, ...], table: tuple[str, ...] = ()
    ) -> str:
        if not isinstance(value, str) or value not in choices:
            shown = repr(value) if isinstance(value, str) else _type_name(value)
            raise self.error(key, f"expected one of {', '.join(choices)}, got {shown}", table)
        return value

    def _severity_table(self, key: str, value: Any) -> dict[str, Severity]:
        if not isinstance(value, dict):
            raise self.error(key, f"expected a table of severities, got {_type_name(value)}")
        overrides: dict[str, Severity] = {}
        for name, severity in value.items():
            chosen = Severity(self._choice(name, severity, SEVERITY_VALUES, (key,)))
            overrides[self._severity_key(name, (key,))] = chosen
        return overrides

    def _severity_key(self, key: str, table: tuple[str, ...]) -> str:
        """A package name, a row kind, or NAME:KIND, in the form Policy.severity_for looks up."""
        if key in ROW_KINDS:
            return key
        name, sep, kind = key.partition(":")
        if not sep:
            return self._package_name(key, key, table)
        if kind in INTERPRETER_KINDS:
            raise self.error(
                key, f"{kind!r} is an interpreter row kind; it takes no package name", table
            )
        if kind not in PACKAGE_KINDS:
            raise self.error(
                key,
                f"unknown row kind {kind!r}; expected one of {_KIND_NAMES}",
                table,
            )
        return f"{self._package_name(key, name, table)}:{kind}"


def _type_name(value: Any) -> str:
    names = {bool: "a boolean", int: "an integer", float: "a number", str: "a string"}
    names.update({list: "a list", dict: "a table"})
    return names.get(type(value), type(value).__name__)


def resolve_source(text: str, base_dir: str) -> str:
    """A source string from a configuration file, its paths made relative to ``base_dir``.

    Image and container names are left alone; ``compose:SERVICE@FILE`` has its file resolved.
    """
    kind, sep, ref = text.partition(":")
    if not (sep and kind in KINDS):
        return _join(base_dir, text)
    if kind in ("image", "container", "registry"):
        return text
    if kind == "compose":
        service, at, compose_file = ref.partition("@")
        return f"compose:{service}@{_join(base_dir, compose_file)}" if at else text
    return f"{kind}:{_join(base_dir, ref)}"


def _join(base_dir: str, path: str) -> str:
    expanded = os.path.expanduser(path)
    if os.path.isabs(expanded):
        return expanded
    return os.path.normpath(os.path.join(base_dir, expanded))
