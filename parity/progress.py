"""What the user sees while parity works: a live line on a terminal, the build log with -v.

Everything goes to stderr, so stdout carries only the report.
"""

from __future__ import annotations

import sys
from typing import Any, TextIO

from parity.sources.container import ProbeEvent


class Progress:
    """Shows build and probe progress: live on a TTY, the build log when verbose, else nothing."""

    def __init__(self, *, verbose: bool, quiet: bool, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.verbose = verbose and not quiet
        self.live = not quiet and not verbose and _is_tty(self.stream)
        self._status: Any = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def note(self, message: str) -> None:
        """A line of information (which sources were chosen); hidden with -q."""
        if not self.quiet:
            self._print(message)

    def event(self, event: ProbeEvent) -> None:
        if event.stage == "build" and event.build is not None:
            if self.verbose:
                self._print(event.build.text)
            elif event.build.step is not None:
                self._show(f"building image: step {event.build.step}/{event.build.total_steps}")
        elif event.stage == "probe":
            self._show(f"probing image {event.detail}")
            if self.verbose:
                self._print(f"probing image {event.detail}")
        elif event.stage == "python" and event.detail:
            self.note(f"container Python: {event.detail}")
        elif event.stage == "cached" and self.verbose:
            self._print(f"probe result for image {event.detail} taken from the cache")

    def _show(self, message: str) -> None:
        if not self.live:
            return
        if self._status is None:
            from rich.console import Console

            console = Console(file=self.stream, highlight=False)
            self._status = console.status(message)
            self._status.start()
        else:
            self._status.update(message)

    def stop(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None

    def _print(self, message: str) -> None:
        self.stop()
        print(message, file=self.stream, flush=True)


def _is_tty(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())
