"""The command line: the only place that prints the report or exits.

Exit codes: 0 parity, 1 drift at or above --fail-on, 2 the check could not be made,
130 interrupted (every container this run started has been removed).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Callable, Mapping, Sequence
from types import FrameType

from parity import __version__
from parity.crash import CrashHandler, engine_failure_message, is_engine_failure
from parity.errors import BuildError, ParityError
from parity.interrupts import Terminated, deliver

EXIT_PARITY = 0
EXIT_DRIFT = 1
EXIT_ERROR = 2
EXIT_INTERRUPTED = 130

_OUTPUT_SUFFIX_FORMATS = {".json": "json", ".xml": "junit", ".md": "markdown"}


class _FormatAction(argparse.Action):
    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: str | None = None,
    ) -> None:
        pairs = list(getattr(namespace, "outputs", None) or [])
        pairs.append([str(values), None])
        namespace.outputs = pairs


class _OutputAction(argparse.Action):
    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: str | None = None,
    ) -> None:
        pairs = list(getattr(namespace, "outputs", None) or [])
        if pairs and pairs[-1][1] is None:
            pairs[-1][1] = str(values)
        else:
            suffix = os.path.splitext(str(values))[1].lower()
            pairs.append([_OUTPUT_SUFFIX_FORMATS.get(suffix, "table"), str(values)])
        namespace.outputs = pairs


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="parity",
        description="Does your local Python environment match your project's container?",
    )
    parser.add_argument("--version", action="version", version=f"parity {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    check = commands.add_parser(
        "check",
        help="compare the project's local environment with its container",
        description="Compare a project's local Python environment with its container.",
    )
    check.add_argument("project_dir", nargs="?", default=".", metavar="PROJECT_DIR")
    check.add_argument("--local", metavar="SOURCE", help="local side (default: detected)")
    check.add_argument("--container", metavar="SOURCE", help="container side (default: detected)")
    check.add_argument(
        "--all-services",
        action="store_true",
        help="check every service of the project's compose file that has Python",
    )
    _add_container_options(check)
    _add_declaration_options(check)
    _add_output_options(check)

    diff = commands.add_parser(
        "diff",
        help="compare any two sources",
        description="Compare any two sources (sides 'left' and 'right').",
    )
    diff.add_argument("left", metavar="SOURCE")
    diff.add_argument("right", metavar="SOURCE")
    _add_container_options(diff)
    _add_declaration_options(diff)
    _add_output_options(diff)

    probe = commands.add_parser(
        "probe",
        help="show one environment's facts",
        description="Show what one source holds: interpreter facts and packages.",
    )
    probe.add_argument("source", metavar="SOURCE")
    _add_container_options(probe)
    _add_declaration_options(probe)
    probe.add_argument("--format", choices=("table", "json"), default="table")
    probe.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    probe.add_argument("-v", "--verbose", action="store_true", help="show the build log")

    doctor = commands.add_parser(
        "doctor",
        help="say what stands between this project and a check",
        description="For a newcomer: engine, detected sources, interpreter, then a check "
        "with the commands that would fix each drift.",
    )
    doctor.add_argument("project_dir", nargs="?", default=".", metavar="PROJECT_DIR")

    snapshot = commands.add_parser(
        "snapshot",
        help="save an environment as JSON (parity.snapshot/1)",
        description="Save any source's environment, to compare against later as snapshot:FILE.",
    )
    snapshot.add_argument("source", metavar="SOURCE")
    snapshot.add_argument("-o", "--output", metavar="FILE", help="write here (default: stdout)")
    _add_container_options(snapshot)
    _add_declaration_options(snapshot)
    snapshot.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    snapshot.add_argument("-v", "--verbose", action="store_true", help="show the build log")
    return parser


def _add_container_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("container side")
    group.add_argument(
        "--python", metavar="PATH", help="interpreter in the image (default: the image's PATH)"
    )
    group.add_argument(
        "--build-arg",
        action="append",
        default=None,
        metavar="K=V",
        dest="build_args",
        help="build argument (repeatable)",
    )
    group.add_argument(
        "--context",
        metavar="DIR",
        help="build context of a Dockerfile (default: the project root for docker/Dockerfile "
        "and the like when its COPY sources are there, else the Dockerfile's folder)",
    )
    group.add_argument("--target", metavar="STAGE", help="build stage to probe")
    group.add_argument(
        "--build-network",
        metavar="MODE",
        help="network mode for RUN steps (default: $PARITY_BUILD_NETWORK, else the engine's)",
    )
    group.add_argument("--platform", metavar="OS/ARCH", help="platform to build and run for")
    group.add_argument("--pull", action="store_true", help="pull base images / missing images")
    group.add_argument(
        "--no-cache",
        action="store_true",
        help="build without the build cache and probe again (no cached results)",
    )
    group.add_argument(
        "--secret",
        action="append",
        default=None,
        metavar="id=NAME,src=PATH",
        dest="secrets",
        help="a build secret for RUN --mount=type=secret, as docker build takes it (repeatable)",
    )
    group.add_argument(
        "--build-timeout",
        type=_positive_seconds,
        default=None,
        metavar="SECONDS",
        help="stop a build still running after SECONDS (default: no limit)",
    )
    group.add_argument(
        "--static",
        action="store_true",
        help="read the image's files instead of running its Python (untrusted or foreign images)",
    )
    group.add_argument(
        "--probe-timeout", type=float, default=60.0, metavar="SECONDS", help=argparse.SUPPRESS
    )


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value > 0:
        raise argparse.ArgumentTypeError("must be more than 0 seconds")
    return value


def _add_declaration_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("declared and locked sides")
    group.add_argument("--dev", action="store_true", help="include Pipfile dev packages")
    group.add_argument("--extra", action="append", default=[], metavar="NAME", dest="extras")
    group.add_argument("--group", action="append", default=[], metavar="NAME", dest="groups")
    group.add_argument(
        "--no-default-groups",
        action="store_true",
        help="leave out the groups a lock installs by default (uv's dev group: uv sync --no-dev)",
    )
    group.add_argument(
        "--include-project", action="store_true", help="count the lock's own project as a package"
    )


def _add_output_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("output")
    group.add_argument(
        "--format",
        action=_FormatAction,
        choices=("table", "json", "markdown", "junit", "github"),
        help="report format (repeatable, each optionally followed by --output)",
    )
    group.add_argument(
        "--output", action=_OutputAction, metavar="FILE", help="write the preceding format here"
    )
    group.add_argument(
        "--include-tooling",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="also compare installers (pip, pipenv, uv ...) and what only they need",
    )
    group.add_argument(
        "--ignore", action="append", default=None, metavar="NAME", help="a package to leave out"
    )
    group.add_argument(
        "--all",
        action="store_true",
        dest="show_same",
        help="list matches, and rows set aside (dev, tooling, project), too",
    )
    group.add_argument(
        "--fail-on",
        choices=("error", "warning", "info"),
        default=None,
        help="lowest severity that makes the exit code 1 (default: error)",
    )
    group.add_argument(
        "--fix-hints",
        action="store_true",
        help="print commands that would make the local side match the container",
    )
    group.add_argument("-q", "--quiet", action="store_true", help="print only the report")
    group.add_argument("-v", "--verbose", action="store_true", help="show the build log")
    parser.set_defaults(outputs=None)


def main(argv: Sequence[str] | None = None) -> int:
    """Run parity; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_ERROR
    command = list(sys.argv[1:] if argv is None else argv)
    crashes = CrashHandler(command)
    signals = stop_signals()
    previous = {number: signal.signal(number, _interrupt) for number in signals}
    try:
        with crashes.installed():
            try:
                code = _dispatch(args)
            except ParityError as error:
                _print_error(error)
                code = EXIT_ERROR
            except BrokenPipeError:
                # The reader of stdout went away (`parity check | head`): not a bug.
                _silence_stdout()
                print(
                    "parity: standard output was closed before the report was written",
                    file=sys.stderr,
                )
                code = EXIT_ERROR
            except Exception as error:
                if is_engine_failure(error):  # the engine failed where parity did not expect
                    print(engine_failure_message(error, command), file=sys.stderr)
                else:  # not parity's own: a bug, said once, logged
                    crashes.handle(error)
                code = EXIT_ERROR
    except (KeyboardInterrupt, Terminated):
        # Further signals stay ignored until exit: the clean-up has run, nothing may cut
        # the exit short (a restored default handler would print a traceback).
        print("parity: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    for number, handler in previous.items():
        signal.signal(number, handler)
    return EXIT_ERROR if crashes.crashed else code


def stop_signals(platform: str | None = None) -> tuple[int, ...]:
    """The signals that stop a check: Ctrl-C, kill, a closed terminal; Ctrl-Break on Windows.

    Windows has no SIGHUP; SIGTERM exists there but only the process itself sends it.
    """
    platform = sys.platform if platform is None else platform
    names = ("SIGINT", "SIGTERM", "SIGBREAK") if platform == "win32" else _POSIX_STOP_SIGNALS
    return tuple(int(getattr(signal, name)) for name in names if hasattr(signal, name))


_POSIX_STOP_SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP")


def _interrupt(signum: int, frame: FrameType | None) -> None:
    """Raise once; further signals are ignored so the clean-up (container removal) finishes."""
    for number in stop_signals():
        signal.signal(number, signal.SIG_IGN)
    deliver(signum)


def _silence_stdout() -> None:
    """Point stdout at the null device, so flushing it at exit cannot fail again."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)
    except (OSError, ValueError):
        pass


def _print_error(error: ParityError) -> None:
    print(f"parity: {error}", file=sys.stderr)
    if isinstance(error, BuildError) and error.log_tail:
        print("last lines of the build:", file=sys.stderr)
        for line in error.log_tail:
            print(f"  {line}", file=sys.stderr)


def _dispatch(args: argparse.Namespace) -> int:
    from parity import commands

    handlers: Mapping[str, Callable[[argparse.Namespace], int]] = {
        "check": commands.run_check,
        "diff": commands.run_diff,
        "probe": commands.run_probe,
        "snapshot": commands.run_snapshot,
        "doctor": commands.run_doctor,
    }
    return handlers[args.command](args)
