"""parity's error types: each is one clear sentence for the user, and means exit code 2.

The CLI catches :class:`ParityError` in one place, prints ``parity: <message>`` and exits 2.
Anything else escaping is a bug in parity.
"""

from __future__ import annotations

from parity.model import Location


class ParityError(Exception):
    """A check that could not be made. ``str(error)`` is the whole message for the user."""


class SourceError(ParityError):
    """A source (file, venv, image reference) could not be read. Names the file and line."""

    def __init__(self, message: str, location: Location | str | None = None) -> None:
        self.location = location
        self.reason = message
        super().__init__(f"{location}: {message}" if location else message)


class UsageError(ParityError):
    """The command line or configuration asks for something that cannot be done."""


class EngineError(ParityError):
    """The container engine could not be reached or refused a request."""


class BuildError(ParityError):
    """An image build failed. ``log_tail`` holds the build's last lines."""

    def __init__(self, message: str, log_tail: tuple[str, ...] = ()) -> None:
        self.log_tail = log_tail
        super().__init__(message)


class ProbeError(ParityError):
    """The probe could not run in, or gave no usable answer from, an environment."""


class NoInterpreterError(ProbeError):
    """The image has no Python interpreter where parity looked for one."""
