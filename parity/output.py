"""Where reports go: the --format/--output pairs, atomic file writes, and terminal styling.

Shared by the command line (which parses the pairs) and the commands (which write them).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import TextIO

from parity.errors import UsageError
from parity.report import Report

# Not a --format: the verdict line alone, on stdout when every report goes to a file.
SUMMARY = "summary"


@dataclass(frozen=True)
class OutputRequest:
    """One ``--format X [--output FILE]`` pair; no file means standard output."""

    format_name: str
    path: str | None


def output_requests(args: argparse.Namespace) -> list[OutputRequest]:
    """The ``--format``/``--output`` pairs; a table on stdout when none is given.

    When every requested format goes to a file, stdout carries only the one-line summary
    (``SUMMARY``: the verdict line, for the log), and nothing with ``-q``.
    """
    pairs = [OutputRequest(name, path) for name, path in (args.outputs or [])]
    if not pairs:
        return [OutputRequest("table", None)]
    if sum(1 for pair in pairs if pair.path is None) > 1:
        raise UsageError("only one --format can go to standard output; give the others --output")
    if all(pair.path is not None for pair in pairs) and not args.quiet:
        pairs.insert(0, OutputRequest(SUMMARY, None))
    return pairs


def write_atomically(path: str, text: str) -> None:
    """Write ``text`` to ``path`` whole or not at all (temporary file, then rename).

    A path that is not a regular file (``/dev/stdout``, a FIFO, a device) is written to
    directly: renaming over it would replace it. A symlink is followed.
    """
    target = os.path.realpath(path)
    if os.path.isdir(target):
        raise UsageError(f"cannot write {path}: it is a directory")
    if os.path.exists(target) and not os.path.isfile(target):
        try:
            with open(target, "w", encoding="utf-8") as stream:
                stream.write(text)
        except OSError as error:
            raise UsageError(f"cannot write {path}: {error.strerror}") from error
        return
    directory = os.path.dirname(target)
    try:
        handle, temporary = tempfile.mkstemp(dir=directory, prefix=".parity-", suffix=".tmp")
    except OSError as error:
        raise UsageError(f"cannot write {path}: {error.strerror}") from error
    try:
        _plain_file_mode(handle)
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        _replace(temporary, target)
    except OSError as error:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise UsageError(f"cannot write {path}: {error.strerror}") from error
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _plain_file_mode(handle: int) -> None:
    """Give a mkstemp file (mode 0600) the mode a plain open() would have made.

    POSIX only: Windows has no such modes (and os.fchmod only from Python 3.13, where it
    sets no more than the read-only flag).
    """
    if os.name != "posix":
        return
    fchmod = getattr(os, "fchmod", None)
    if fchmod is None:
        return
    umask = os.umask(0)
    os.umask(umask)
    fchmod(handle, 0o666 & ~umask)


def _replace(source: str, target: str, attempts: int = 5) -> None:
    """os.replace; on Windows a reader holding ``target`` open makes it fail for a moment."""
    for attempt in range(attempts):
        try:
            os.replace(source, target)
            return
        except PermissionError:
            if os.name != "nt" or attempt == attempts - 1:
                raise
            time.sleep(0.05 * (attempt + 1))


def stdout_is_styled(stream: TextIO) -> bool:
    """Style the table only on a terminal, and never when NO_COLOR is set."""
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and not os.environ.get("NO_COLOR")


def write_report_set(
    args: argparse.Namespace,
    reports: list[tuple[str, Report]],
    skipped: list[tuple[str, str]],
) -> None:
    from parity.formats import render_set

    for request in output_requests(args):
        if request.path is None:
            quiet_parity = not any(report.has_drift for _, report in reports)
            if args.quiet and quiet_parity and request.format_name == "table":
                continue
            if request.format_name == SUMMARY:
                sys.stdout.write(summary_lines(reports))
                sys.stdout.flush()
                continue
            styled = stdout_is_styled(sys.stdout)
            width = shutil.get_terminal_size((100, 24)).columns
            text = render_set(reports, skipped, request.format_name, styled=styled, width=width)
            sys.stdout.write(text)
            sys.stdout.flush()
        else:
            write_atomically(request.path, render_set(reports, skipped, request.format_name))


def write_outputs(args: argparse.Namespace, report: Report) -> None:
    from parity.formats import render

    for request in output_requests(args):
        if request.path is None:
            if args.quiet and not report.has_drift and request.format_name == "table":
                continue  # quiet and all is well: say nothing
            if request.format_name == SUMMARY:
                sys.stdout.write(summary_lines([("", report)]))
                sys.stdout.flush()
                continue
            styled = stdout_is_styled(sys.stdout)
            width = shutil.get_terminal_size((100, 24)).columns
            sys.stdout.write(render(report, request.format_name, styled=styled, width=width))
            sys.stdout.flush()
        else:
            write_atomically(request.path, render(report, request.format_name))


def summary_lines(reports: list[tuple[str, Report]]) -> str:
    """The verdict line of each report (``service NAME: ...`` for several)."""
    from parity.formats.table import verdict_line

    lines = [
        f"service {name}: {verdict_line(report)}" if name else verdict_line(report)
        for name, report in reports
    ]
    return "\n".join(lines) + "\n"
