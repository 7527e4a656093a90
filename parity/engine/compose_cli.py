"""The user's own Docker Compose (v2 or later): which binary, and its model of a project.

parity asks compose for a project's model (``docker compose config --format json``), so
interpolation, ``include:``, override files, ``COMPOSE_FILE``, profiles, ``extends`` and
``env_file`` are compose's own, at the version the user has. The binary is, in order:
``$PARITY_COMPOSE_CLI`` (a command line), ``docker compose`` (the plugin), ``docker-compose``
when it is v2 or later. Compose v1 (Python) reads files differently and is not used.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

COMPOSE_CLI_VARIABLE = "PARITY_COMPOSE_CLI"
# The compose release whose reading rules parity's built-in reader follows (compose-go
# v2.9): its tests check it against a compose binary at least this new. Older compose
# releases differ (2.26 rejects ``env_file`` ``format: raw`` and ``.inf`` values).
BUILTIN_READER_FOLLOWS = (2, 40)


@dataclass(frozen=True)
class ComposeCli:
    """A compose binary that answered: its command line and version (``2.26.1``)."""

    command: tuple[str, ...]
    version: str

    @property
    def version_tuple(self) -> tuple[int, ...]:
        return version_tuple(self.version)


def version_tuple(version: str) -> tuple[int, ...]:
    """``v2.26.1-4`` -> (2, 26, 1)."""
    numbers: list[int] = []
    for part in version.lstrip("v").split("-", 1)[0].split("+", 1)[0].split("."):
        if not part.isdigit():
            break
        numbers.append(int(part))
    return tuple(numbers)


def candidates(environ: Mapping[str, str]) -> Iterator[list[str]]:
    """The compose command lines parity tries, in order."""
    override = environ.get(COMPOSE_CLI_VARIABLE)
    if override:
        yield shlex.split(override)
        return
    yield ["docker", "compose"]
    yield ["docker-compose"]


_found: dict[tuple[str, ...], ComposeCli | None] = {}


def probe_cli(command: Sequence[str], environ: Mapping[str, str]) -> ComposeCli | None:
    """``command`` as a ComposeCli when it runs and is compose v2 or later, else None."""
    executable = shutil.which(command[0], path=environ.get("PATH"))
    if executable is None:
        return None
    key = (executable, *command[1:])
    if key not in _found:
        try:
            result = subprocess.run(
                [executable, *command[1:], "version", "--short"],
                capture_output=True,
                text=True,
                timeout=60,
                env=dict(environ),
                check=False,
            )
        except (OSError, subprocess.SubprocessError):
            result = None
        version = result.stdout.strip() if result is not None and result.returncode == 0 else ""
        usable = bool(version) and version_tuple(version)[:1] >= (2,)
        _found[key] = ComposeCli(key, version.lstrip("v")) if usable else None
    return _found[key]


def find_compose_cli(
    environ: Mapping[str, str] | None = None, *, minimum: tuple[int, ...] = (2,)
) -> ComposeCli | None:
    """The compose binary parity uses (see the module's doc), or None when there is none.

    ``minimum`` asks for the first candidate at least that new.
    """
    environ = os.environ if environ is None else environ
    for command in candidates(environ):
        found = probe_cli(command, environ)
        if found is not None and found.version_tuple >= minimum:
            return found
    return None


class ComposeCliError(Exception):
    """compose refused the project: ``message`` is compose's own last error line."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


def compose_config(
    cli: ComposeCli,
    *,
    project_dir: str,
    files: Sequence[str] = (),
    all_profiles: bool = False,
    environ: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """``compose [-f FILE]... [--profile '*'] config --format json``, run in ``project_dir``."""
    arguments = list(cli.command)
    for path in files:
        arguments += ["-f", path]
    if all_profiles:
        arguments += ["--profile", "*"]
    arguments += ["config", "--format", "json"]
    try:
        result = subprocess.run(
            arguments,
            cwd=project_dir,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            timeout=120,
            env=dict(os.environ if environ is None else environ),
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as error:
        raise ComposeCliError(f"cannot run {' '.join(cli.command)}: {error}") from error
    if result.returncode != 0:
        lines = [line.strip() for line in result.stderr.splitlines() if line.strip()]
        raise ComposeCliError(lines[-1] if lines else f"exit code {result.returncode}")
    try:
        document = json.loads(result.stdout)
    except ValueError as error:
        raise ComposeCliError(f"compose printed no JSON model ({error})") from error
    if not isinstance(document, dict):
        raise ComposeCliError("compose printed no JSON model")
    unescaped: dict[str, Any] = _unescape(document)
    return unescaped


def _unescape(value: Any) -> Any:
    """``compose config`` writes every ``$`` as ``$$``; undo that."""
    if isinstance(value, str):
        return value.replace("$$", "$")
    if isinstance(value, dict):
        return {_unescape(key): _unescape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_unescape(item) for item in value]
    return value
