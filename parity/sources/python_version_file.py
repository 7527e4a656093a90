"""``.python-version`` (pyenv, uv python pin): the Python a project asks for, as a specifier.

The file names a version (``3.11``, ``3.11.7``, ``cpython@3.11``, ``cpython-3.11.7``); it
becomes ``==3.11.*``: the minor release is what the project chose, a patch release is what
one machine happened to install. It is added to the declaration's own Python requirement.
"""

from __future__ import annotations

import os
import re
from dataclasses import replace

from parity.model import Environment

FILE_NAME = ".python-version"
_VERSION = re.compile(r"(?:^|[^0-9.])(\d+)\.(\d+)(?:\.\d+)?")


def python_version_file(directory: str) -> str | None:
    """The specifier ``directory/.python-version`` asks for, or None (absent, unreadable)."""
    try:
        with open(os.path.join(directory, FILE_NAME), encoding="utf-8") as stream:
            lines = [line.split("#", 1)[0].strip() for line in stream]
    except (OSError, UnicodeDecodeError):
        return None
    for line in lines:
        if line:
            match = _VERSION.search(" " + line)
            return f"=={match.group(1)}.{match.group(2)}.*" if match else None
    return None


def with_python_version_file(environment: Environment, path: str) -> Environment:
    """``environment`` (read from ``path``) with the ``.python-version`` beside it."""
    wanted = python_version_file(os.path.dirname(os.path.abspath(path)))
    if wanted is None:
        return environment
    own = environment.python_requirement
    if not own:
        combined = wanted
    else:
        combined = " || ".join(f"{branch},{wanted}" for branch in own.split(" || "))
    return replace(environment, python_requirement=combined)
