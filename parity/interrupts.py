"""Stop signals as exceptions, held back while a child process gets its owner.

The CLI turns Ctrl-C into KeyboardInterrupt and SIGTERM/SIGHUP into :class:`Terminated`, so
every ``finally`` (container removal, probe stop) runs. An exception raised between a
child's fork and the moment its owner can stop it would leave the child running after
parity exits, so starting one happens inside :func:`held`.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class Terminated(BaseException):
    """SIGTERM, raised like Ctrl-C so every ``finally`` (container removal) runs."""


_holds = 0
_pending: int | None = None


def deliver(signum: int) -> None:
    """Raise the exception for ``signum`` now, or when the outermost :func:`held` ends."""
    global _pending
    if _holds:
        _pending = signum
        return
    _raise(signum)


def _raise(signum: int) -> None:
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    raise Terminated


@contextmanager
def held() -> Iterator[None]:
    """Delay a stop signal's exception to the end of the block (signals reach only the main
    thread's handler, so elsewhere this holds nothing)."""
    global _holds, _pending
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _holds += 1
    try:
        yield
    finally:
        _holds -= 1
        if not _holds and _pending is not None:
            signum, _pending = _pending, None
            _raise(signum)
