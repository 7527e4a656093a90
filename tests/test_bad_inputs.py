"""A catalogue of bad inputs, each run through the real CLI.

Every case says in one line what parity must do. The rules for all of them: exit 2 (1 where
the input is valid and shows real drift, 0 where it is valid and matches), no traceback, and
for exit 2 exactly one message on stderr (``parity: ...``, with only the build's indented log
tail after it) that names the file and line, or the image, or the engine address; stdout
empty unless there is a report. Inputs live in ``tests/data/bad``; cases that need a port, a
socket or an engine that fails mid-run make them in the test.

Cases marked ``bug`` are known defects outside the sources (cli, commands, engine): they run
as strict xfails, so fixing the defect turns them into failures until the mark is removed.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import socket
import stat
import subprocess
import sys
import tarfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from parity.engine.labels import LABEL_MANAGED
from tests.conftest import TEST_DATA, build_network
from tests.helpers import run_parity

BAD = TEST_DATA / "bad"
GOOD = "requirements:requirements/good.txt"
EMPTY = "requirements:requirements/empty.txt"
PINS = "snapshot:snapshot/index-pins.json"
SECRET = "S3CRET"
ALL_FORMATS = ("json", "markdown", "junit", "github")


@dataclass(frozen=True)
class Case:
    """One bad input and what parity must do with it."""

    name: str
    expect: str  # one line: the behaviour this case pins down
    args: tuple[str, ...]
    code: int = 2
    says: tuple[str, ...] = ()  # each is in the message (the first line of stderr)
    names_any: tuple[str, ...] = ()  # at least one is in the message (an image's ref or ID)
    log_says: tuple[str, ...] = ()  # each is somewhere on stderr (the build's log tail)
    stdout_says: tuple[str, ...] = ()
    not_says: tuple[str, ...] = ()  # none is on stderr
    needs: tuple[str, ...] = ()  # resources: see RESOURCES
    env: Mapping[str, str] = field(default_factory=dict)
    files: Mapping[str, str] = field(default_factory=dict)  # written under {tmp} first
    secret: bool = False  # every format is written, and no output holds SECRET
    bug: str | None = None  # a known defect: the case is a strict xfail
    flaky_bug: str | None = None  # a defect whose symptom depends on the network: non-strict

    @property
    def docker(self) -> bool:
        return any(need.split(":")[0] in DOCKER_RESOURCES for need in self.needs)


def _requirements(name: str, expect: str, *says: str, **extra: Any) -> Case:
    args = ("diff", f"requirements:requirements/{name}.txt", GOOD)
    return Case(f"requirements-{name}", expect, args, says=says, **extra)


CASES: tuple[Case, ...] = (
    # --- requirements files ------------------------------------------------------------
    _requirements(
        "malformed",
        "a line pip cannot parse is exit 2 naming file:line and the text",
        "requirements/malformed.txt:2",
        "invalid requirement 'flask>>=1'",
    ),
    _requirements(
        "unknown-option",
        "an option pip does not know is exit 2 naming file:line and the option",
        "requirements/unknown-option.txt:2",
        "--frobnicate",
    ),
    _requirements(
        "missing-include",
        "-r naming a missing file is exit 2 naming the including file:line",
        "requirements/missing-include.txt:2",
        "not-there.txt",
    ),
    Case(
        "requirements-include-cycle",
        "-r a -> -r b -> -r a is exit 2 naming the line that closes the cycle",
        ("diff", "requirements:requirements/cycle-a.txt", GOOD),
        says=("requirements/cycle-b.txt:2", "cycle"),
    ),
    Case(
        "requirements-constraint-cycle",
        "-c a -> -c b -> -c a is exit 2 naming the line that closes the cycle",
        ("diff", "requirements:requirements/constraint-cycle-a.txt", GOOD),
        says=("requirements/constraint-cycle-b.txt:1", "cycle"),
    ),
    _requirements(
        "self-include",
        "a file that includes itself is exit 2 naming its own line",
        "requirements/self-include.txt:2",
        "cycle",
    ),
    Case(
        "requirements-conflicting-pins",
        "a name pinned twice (==2.30.0, ==2.31.0) is read with a warning naming both lines",
        ("diff", "requirements:requirements/conflicting-pins.txt", GOOD, "--format=json"),
        code=1,
        stdout_says=(
            "conflicting-pins.txt:3: requests ==2.31.0 is required again",
            "first at requirements/conflicting-pins.txt:1: ==2.30.0",
        ),
    ),
    Case(
        "requirements-remote-include-is-not-fetched",
        "-r http://... is exit 2 and nothing connects to the listening server it names",
        ("diff", "requirements:{tmp}/remote-include.txt", GOOD),
        says=("remote-include.txt:2", "not fetched", "http://127.0.0.1:{listen_port}/base.txt"),
        files={
            "remote-include.txt": "requests==2.31.0\n-r http://127.0.0.1:{listen_port}/base.txt\n"
        },
        needs=("listener",),
    ),
    Case(
        "requirements-remote-include-closed-port",
        "-r https://127.0.0.1:<closed port> is exit 2 'not fetched', never 'connection refused'",
        ("diff", "requirements:{tmp}/remote-include.txt", GOOD),
        says=("remote-include.txt:1", "not fetched"),
        not_says=("refused", "timed out"),
        files={"remote-include.txt": "-r https://127.0.0.1:{closed_port}/base.txt\n"},
        needs=("closed_port",),
    ),
    _requirements(
        "remote-include-credentials",
        "credentials in a remote -r URL are redacted in the error message",
        "requirements/remote-include-credentials.txt:1",
        "https://****@127.0.0.1:9/base.txt",
        secret=True,
    ),
    Case(
        "requirements-bom-is-valid",
        "a UTF-8 byte order mark is read like pip reads it: valid, no drift",
        ("diff", "requirements:requirements/bom.txt", GOOD, "--format", "json"),
        code=0,
        stdout_says=('"verdict": "parity"',),
    ),
    Case(
        "requirements-trailing-backslash-is-valid",
        "a backslash continuation on the last line (no newline) is valid, no drift",
        ("diff", "requirements:requirements/trailing-backslash.txt", GOOD, "--format", "json"),
        code=0,
        stdout_says=('"verdict": "parity"',),
    ),
    _requirements(
        "invalid-utf8",
        "bytes that are not UTF-8 are exit 2 naming file:line (no locale guessing)",
        "requirements/invalid-utf8.txt:2",
        "not valid utf-8",
    ),
    _requirements(
        "bad-marker",
        "an invalid environment marker is exit 2 naming file:line",
        "requirements/bad-marker.txt:1",
        "invalid marker",
    ),
    _requirements(
        "unset-variable",
        "an unset ${VAR} left in a version is exit 2 naming file:line and the text",
        "requirements/unset-variable.txt:2",
        "${PARITY_TEST_UNSET_VERSION}",
    ),
    _requirements(
        "a-directory",
        "a directory given as a requirements file is exit 2 'is not a file'",
        "requirements/a-directory.txt",
        "not a file",
    ),
    _requirements(
        "not-there",
        "a requirements file that does not exist is exit 2 naming it",
        "requirements/not-there.txt",
        "not found",
    ),
    Case(
        "requirements-empty-is-real-drift",
        "an empty requirements file is valid: exit 1, the report lists what it lacks",
        ("diff", EMPTY, GOOD),
        code=1,
        stdout_says=("requests", "missing"),
    ),
    Case(
        "requirements-credentials-redacted-everywhere",
        "credentials in -i, --extra-index-url, -c, @ URLs, VCS, -e and ${VAR} appear in no output",
        ("diff", "requirements:requirements/credentials.txt", EMPTY),
        code=1,
        env={"PARITY_TEST_TOKEN": f"{SECRET}-FROM-ENV"},
        stdout_says=("https://****@files.example.invalid/foo-1.0-py3-none-any.whl",),
        secret=True,
    ),
    # --- Pipfile and Pipfile.lock --------------------------------------------------------
    Case(
        "pipfile-invalid-toml",
        "a Pipfile that is not TOML is exit 2 naming file:line",
        ("diff", "pipfile:pipfile/invalid-toml/Pipfile", GOOD),
        says=("pipfile/invalid-toml/Pipfile:3", "invalid TOML"),
    ),
    Case(
        "pipfile-wrong-type",
        "a package entry that is a number is exit 2 naming file:line and the package",
        ("diff", "pipfile:pipfile/wrong-type/Pipfile", GOOD),
        says=("pipfile/wrong-type/Pipfile:3", "requests"),
    ),
    Case(
        "pipfile-packages-not-a-table",
        "[packages] given as a string is exit 2 naming file:line",
        ("diff", "pipfile:pipfile/packages-not-table/Pipfile", GOOD),
        says=("pipfile/packages-not-table/Pipfile:1", "[packages] must be a table"),
    ),
    Case(
        "pipfile-credentials-redacted-everywhere",
        "credentials in a Pipfile's git and file URLs appear in no output",
        ("diff", "pipfile:pipfile/credentials/Pipfile", EMPTY),
        code=1,
        stdout_says=("git+https://****@github.com/org/bar.git",),
        secret=True,
    ),
    Case(
        "pipfile-lock-invalid-json",
        "a Pipfile.lock that is not JSON is exit 2 naming file:line",
        ("diff", "pipfile-lock:pipfile-lock/invalid-json/Pipfile.lock", GOOD),
        says=("pipfile-lock/invalid-json/Pipfile.lock:5", "invalid JSON"),
    ),
    Case(
        "pipfile-lock-wrong-type",
        "a version that is a number is exit 2 naming file:line and the package",
        ("diff", "pipfile-lock:pipfile-lock/wrong-type/Pipfile.lock", GOOD),
        says=("pipfile-lock/wrong-type/Pipfile.lock:4", "requests", "'version' must be a string"),
    ),
    Case(
        "pipfile-lock-not-a-lock",
        "a JSON array is exit 2 'not a Pipfile.lock'",
        ("diff", "pipfile-lock:pipfile-lock/not-a-lock/Pipfile.lock", GOOD),
        says=("pipfile-lock/not-a-lock/Pipfile.lock", "not a Pipfile.lock"),
    ),
    Case(
        "pipfile-lock-stale-hash-is-a-warning",
        "a lock whose _meta.hash does not match its Pipfile is read (exit 0) with a warning",
        ("diff", "pipfile-lock:pipfile-lock/stale/Pipfile.lock", GOOD, "--format", "json"),
        code=0,
        stdout_says=("Pipfile.lock is stale", '"verdict": "parity"'),
    ),
    Case(
        "pipfile-lock-credentials-redacted-everywhere",
        "credentials in a Pipfile.lock's git and file URLs appear in no output",
        (
            "diff",
            "pipfile-lock:pipfile-lock/credentials/Pipfile.lock",
            PINS,
            "--fail-on",
            "warning",
        ),
        code=1,
        stdout_says=("git+https://****@github.com/org/bar.git",),
        secret=True,
    ),
    # --- pyproject.toml -----------------------------------------------------------------
    Case(
        "pyproject-invalid-toml",
        "an unterminated array is exit 2 naming the file and the line TOML stops at",
        ("diff", "pyproject:pyproject/invalid-toml/pyproject.toml", GOOD),
        says=("pyproject/invalid-toml/pyproject.toml:6", "invalid TOML"),
    ),
    Case(
        "pyproject-dependencies-not-an-array",
        "dependencies given as a string is exit 2 naming file:line",
        ("diff", "pyproject:pyproject/dependencies-not-array/pyproject.toml", GOOD),
        says=("pyproject/dependencies-not-array/pyproject.toml:4", "must be an array of strings"),
    ),
    Case(
        "pyproject-bad-requirement",
        "a dependency that is not PEP 508 is exit 2 naming file:line and the text",
        ("diff", "pyproject:pyproject/bad-requirement/pyproject.toml", GOOD),
        says=("pyproject/bad-requirement/pyproject.toml:6", "'flask >= = 2'"),
    ),
    Case(
        "pyproject-credentials-redacted-everywhere",
        "credentials in PEP 508 URLs and Poetry git sources appear in no output",
        ("diff", "pyproject:pyproject/credentials/pyproject.toml", EMPTY),
        code=1,
        stdout_says=("https://****@files.example.invalid/foo-1.0-py3-none-any.whl",),
        secret=True,
    ),
    # --- lock files -----------------------------------------------------------------------
    Case(
        "poetry-lock-invalid-toml",
        "a broken [[package] header is exit 2 naming file:line",
        ("diff", "poetry-lock:poetry-lock/invalid-toml/poetry.lock", GOOD),
        says=("poetry-lock/invalid-toml/poetry.lock:5", "invalid TOML"),
    ),
    Case(
        "poetry-lock-no-metadata",
        "a TOML file without [metadata] lock-version is exit 2 'not a poetry.lock'",
        ("diff", "poetry-lock:poetry-lock/no-metadata/poetry.lock", GOOD),
        says=("poetry-lock/no-metadata/poetry.lock", "not a poetry.lock"),
    ),
    Case(
        "poetry-lock-unsupported-version",
        "lock-version 9.0 is exit 2 naming the version",
        ("diff", "poetry-lock:poetry-lock/unsupported-version/poetry.lock", GOOD),
        says=("poetry-lock/unsupported-version/poetry.lock", "'9.0'", "not supported"),
    ),
    Case(
        "poetry-lock-credentials-redacted-everywhere",
        "credentials in poetry.lock git, url and legacy sources appear in no output",
        ("diff", "poetry-lock:poetry-lock/credentials/poetry.lock", PINS, "--fail-on", "warning"),
        code=1,
        stdout_says=("git+https://****@github.com/org/bar.git",),
        secret=True,
    ),
    Case(
        "uv-lock-invalid-toml",
        "an unterminated string is exit 2 naming file:line",
        ("diff", "uv-lock:uv-lock/invalid-toml/uv.lock", GOOD),
        says=("uv-lock/invalid-toml/uv.lock:6", "invalid TOML"),
    ),
    Case(
        "uv-lock-package-not-an-array",
        "package = 'requests' is exit 2 'package must be an array'",
        ("diff", "uv-lock:uv-lock/package-not-array/uv.lock", GOOD),
        says=("uv-lock/package-not-array/uv.lock", "package must be an array"),
    ),
    Case(
        "uv-lock-unsupported-version",
        "version = 99 is exit 2 naming the version",
        ("diff", "uv-lock:uv-lock/unsupported-version/uv.lock", GOOD),
        says=("uv-lock/unsupported-version/uv.lock", "version 99", "not supported"),
    ),
    Case(
        "uv-lock-credentials-redacted-everywhere",
        "credentials in uv.lock git, url and registry sources appear in no output",
        ("diff", "uv-lock:uv-lock/credentials/uv.lock", PINS, "--fail-on", "warning"),
        code=1,
        stdout_says=("https://****@files.example.invalid/baz-1.0.tar.gz",),
        secret=True,
    ),
    Case(
        "pylock-wrong-type",
        "a version that is a float is exit 2 naming the field",
        ("diff", "pylock:pylock/wrong-type/pylock.toml", GOOD),
        says=("pylock/wrong-type/pylock.toml", "packages[0].version"),
    ),
    Case(
        "pylock-unsupported-version",
        "lock-version 2.0 is exit 2 naming the version",
        ("diff", "pylock:pylock/unsupported-version/pylock.toml", GOOD),
        says=("pylock/unsupported-version/pylock.toml", "2.0", "not supported"),
    ),
    Case(
        "pylock-missing-lock-version",
        "a pylock.toml without lock-version is exit 2 naming the field",
        ("diff", "pylock:pylock/missing-lock-version/pylock.toml", GOOD),
        says=("pylock/missing-lock-version/pylock.toml", "lock-version"),
    ),
    Case(
        "pylock-credentials-redacted-everywhere",
        "credentials in pylock.toml vcs, archive and index URLs appear in no output",
        ("diff", "pylock:pylock/credentials/pylock.toml", PINS, "--fail-on", "warning"),
        code=1,
        stdout_says=("git+https://****@github.com/org/bar.git",),
        secret=True,
    ),
    Case(
        "venv-credentials-redacted-everywhere",
        "credentials in an installed package's PEP 610 direct_url.json appear in no output",
        ("diff", "venv:{venv}", "snapshot:{venv_pins}", "--fail-on=warning"),
        code=1,
        stdout_says=("git+https://****@github.com/org/foo.git",),
        needs=("venv_with_credentials",),
        secret=True,
    ),
    # --- snapshots ------------------------------------------------------------------------
    Case(
        "snapshot-invalid-json",
        "a snapshot that is not JSON is exit 2 naming file:line",
        ("diff", "snapshot:snapshot/invalid-json.json", GOOD),
        says=("snapshot/invalid-json.json:4", "invalid JSON"),
    ),
    Case(
        "snapshot-unknown-schema",
        "schema parity.snapshot/9 is exit 2 naming the schema",
        ("diff", "snapshot:snapshot/unknown-schema.json", GOOD),
        says=("snapshot/unknown-schema.json", "'parity.snapshot/9'"),
    ),
    Case(
        "snapshot-wrong-type",
        "packages given as an object is exit 2 naming the field",
        ("diff", "snapshot:snapshot/wrong-type.json", GOOD),
        says=("snapshot/wrong-type.json", "packages: expected a list"),
    ),
    Case(
        "snapshot-not-an-object",
        "a JSON array is exit 2 'expected an object'",
        ("diff", "snapshot:snapshot/not-an-object.json", GOOD),
        says=("snapshot/not-an-object.json", "expected an object"),
    ),
    Case(
        "snapshot-utf16",
        "a UTF-16 file is exit 2 'not UTF-8'",
        ("diff", "snapshot:snapshot/utf16.json", GOOD),
        says=("snapshot/utf16.json", "not UTF-8"),
    ),
    Case(
        "snapshot-is-a-report",
        "a --format json report given as a snapshot is exit 2 saying how to make a snapshot",
        ("diff", "snapshot:snapshot/a-report-not-a-snapshot.json", GOOD),
        says=("snapshot/a-report-not-a-snapshot.json", "'parity.report/1'", "parity snapshot"),
    ),
    # --- the command line and output targets -------------------------------------------
    Case(
        "source-unknown-kind",
        "a KIND:REF with an unknown kind is exit 2 naming it and the known kinds",
        ("diff", "frob:x", GOOD),
        says=("'frob:x'", "requirements"),
    ),
    Case(
        "check-nothing-to-compare",
        "check in a folder with no venv, declaration or lock is exit 2 naming the folder",
        ("check", "{tmp}/empty-project"),
        says=("{tmp}/empty-project", "no local environment found"),
        files={"empty-project/README": "nothing here\n"},
        env={"VIRTUAL_ENV": ""},
    ),
    Case(
        "output-into-missing-directory",
        "--output into a directory that does not exist is exit 2 naming the path",
        ("diff", GOOD, GOOD, "--format", "json", "--output", "{tmp}/no/such/dir/report.json"),
        says=("{tmp}/no/such/dir/report.json", "cannot write"),
    ),
    Case(
        "output-onto-a-directory",
        "--output naming an existing directory is exit 2 naming the path",
        ("diff", GOOD, GOOD, "--format", "json", "--output", "{tmp}/a-directory"),
        says=("{tmp}/a-directory",),
        files={"a-directory/.keep": ""},
    ),
    Case(
        "output-onto-a-device",
        "--output naming a device (a copy of /dev/null) writes through it and leaves it a device",
        ("diff", GOOD, GOOD, "--format", "json", "--output", "{device}"),
        code=0,
        needs=("device",),
    ),
    # --- Dockerfiles ----------------------------------------------------------------------
    Case(
        "dockerfile-unknown-instruction",
        "an unknown instruction is exit 2 naming the Dockerfile, the line and the word",
        ("probe", "dockerfile:dockerfile/unknown-instruction/Dockerfile", "--no-cache"),
        says=("dockerfile/unknown-instruction/Dockerfile", "line 2", "INSTAL"),
        needs=("docker",),
    ),
    Case(
        "dockerfile-failing-run",
        "a RUN step that exits 3 is exit 2 naming the step and code, with the log tail",
        ("probe", "dockerfile:dockerfile/failing-run/Dockerfile", "--no-cache"),
        says=("dockerfile/failing-run/Dockerfile", "step 2", "exit code: 3"),
        log_says=("collecting wheels",),
        needs=("docker",),
    ),
    Case(
        "dockerfile-failing-run-stderr",
        "a RUN step's stderr in the log tail carries no terminal escape codes",
        ("probe", "dockerfile:dockerfile/failing-run-stderr/Dockerfile", "--no-cache"),
        says=("dockerfile/failing-run-stderr/Dockerfile", "step 2", "exit code: 3"),
        log_says=("error: no compiler found",),
        needs=("docker",),
    ),
    Case(
        "dockerfile-run-mount-needs-buildkit",
        "RUN --mount=type=cache with no docker CLI (only the API's classic builder) is exit 2 "
        "naming the file, line and feature, and saying what to install",
        ("probe", "dockerfile:dockerfile/mount-cache/Dockerfile", "--no-cache"),
        says=("dockerfile/mount-cache/Dockerfile:2", "RUN --mount", "BuildKit", "buildx"),
        needs=("docker",),
        env={"PARITY_BUILDER": "api"},
    ),
    Case(
        "dockerfile-missing",
        "a Dockerfile that does not exist is exit 2 naming the path",
        ("probe", "dockerfile:dockerfile/not-there/Dockerfile"),
        says=("dockerfile/not-there/Dockerfile", "no such Dockerfile"),
    ),
    Case(
        "dockerfile-from-missing-image",
        "FROM an image the engine does not have is exit 2 naming that image in the message",
        ("probe", "dockerfile:dockerfile/from-missing-image/Dockerfile", "--no-cache"),
        says=("dockerfile/from-missing-image/Dockerfile", "parity-test/no-such-base:1.0"),
        log_says=("parity-test/no-such-base:1.0",),
        needs=("docker",),
    ),
    Case(
        "dockerfile-copy-missing-file",
        "COPY of a file not in the context is exit 2 naming the file",
        ("probe", "dockerfile:dockerfile/copy-missing-file/Dockerfile", "--no-cache"),
        says=("dockerfile/copy-missing-file/Dockerfile", "requirements-not-there.txt"),
        needs=("docker",),
    ),
    Case(
        "dockerfile-unknown-target",
        "--target naming no stage is exit 2 naming the target",
        ("probe", "dockerfile:dockerfile/plain/Dockerfile", "--target", "nope", "--no-cache"),
        says=("dockerfile/plain/Dockerfile", "nope"),
        needs=("docker",),
    ),
    Case(
        "check-local-error-before-the-build",
        "check with a malformed requirements.txt fails on it before building the image",
        ("check", "{tmp}/project"),
        says=("requirements.txt:1", "invalid requirement"),
        files={
            "project/requirements.txt": "flask>>=1\n",
            "project/Dockerfile": "FROM python:3.11-slim\nRUN exit 4\n",
        },
        env={"VIRTUAL_ENV": ""},
        needs=("docker",),
    ),
    # --- images ---------------------------------------------------------------------------
    Case(
        "image-missing-is-not-pulled",
        "an image that is not local is exit 2 naming it; nothing is pulled",
        ("probe", "image:parity-test/does-not-exist:1.0"),
        says=("parity-test/does-not-exist:1.0", "not found locally"),
        needs=("docker",),
    ),
    Case(
        "image-invalid-reference",
        "an image reference that is not valid is exit 2 naming it",
        ("probe", "image:Bad/UPPER:x"),
        says=("Bad/UPPER:x",),
        needs=("docker",),
    ),
    Case(
        "image-only-a-static-file",
        "an image holding one static file (FROM scratch) is exit 2 'no python3 or python'",
        ("probe", "image:{image:scratch}", "--no-cache"),
        says=("no python3 or python",),
        names_any=("{image:scratch}", "{id:scratch}"),
        needs=("image:scratch",),
    ),
    Case(
        "image-python-removed",
        "python:3.11-slim with Python removed is exit 2 'no python3 or python'",
        ("probe", "image:{image:no-python}", "--no-cache"),
        says=("no python3 or python",),
        names_any=("{image:no-python}", "{id:no-python}"),
        needs=("image:no-python",),
    ),
    Case(
        "image-without-a-shell-is-valid",
        "an image with Python but no /bin/sh is probed (exit 0): the probe needs no shell",
        ("probe", "image:{image:no-shell}", "--no-cache"),
        code=0,
        stdout_says=("cpython 3.11",),
        needs=("image:no-shell",),
    ),
    Case(
        "image-python2-only-is-valid",
        "an image whose only Python is 2.7 is probed (exit 0) and reports 2.7",
        ("probe", "image:{image:python2}", "--no-cache"),
        code=0,
        stdout_says=("cpython 2.7.",),
        needs=("image:python2",),
    ),
    Case(
        "image-other-architecture",
        "an arm64 image on an amd64 engine is exit 2 saying the image is arm64",
        ("probe", "image:{image:arm64}", "--no-cache"),
        says=("arm64",),
        names_any=("{image:arm64}", "{id:arm64}"),
        needs=("image:arm64",),
    ),
    Case(
        "image-probe-prints-garbage",
        "a python3 that prints garbage is exit 2 naming the image",
        ("probe", "image:{image:probe-garbage}", "--no-cache"),
        says=("the probe printed no JSON",),
        names_any=("{image:probe-garbage}", "{id:probe-garbage}"),
        needs=("image:probe-garbage",),
    ),
    Case(
        "image-probe-prints-nothing",
        "a python3 that prints nothing is exit 2 naming the image",
        ("probe", "image:{image:probe-silent}", "--no-cache"),
        says=("printed nothing",),
        names_any=("{image:probe-silent}", "{id:probe-silent}"),
        needs=("image:probe-silent",),
    ),
    Case(
        "image-probe-fails",
        "a python3 that fails is exit 2 quoting its stderr",
        ("probe", "image:{image:probe-fails}", "--no-cache"),
        says=("cannot load libpython3.11.so",),
        names_any=("{image:probe-fails}", "{id:probe-fails}"),
        needs=("image:probe-fails",),
    ),
    Case(
        "image-probe-prints-other-json",
        "a python3 that prints a JSON array is exit 2 naming the image",
        ("probe", "image:{image:probe-json-array}", "--no-cache"),
        says=("not a probe report",),
        names_any=("{image:probe-json-array}", "{id:probe-json-array}"),
        needs=("image:probe-json-array",),
    ),
    Case(
        "image-python-option-missing",
        "--python naming a path the image lacks is exit 2 naming the path",
        ("probe", "image:python:3.11-slim", "--python", "/opt/nothing/python3", "--no-cache"),
        says=("/opt/nothing/python3",),
        needs=("docker",),
    ),
    Case(
        "image-platform-mismatch",
        "--platform linux/arm64 for an amd64-only image is exit 2 naming both platforms",
        ("probe", "image:python:3.11-slim", "--platform", "linux/arm64", "--no-cache"),
        says=("linux/arm64", "linux/amd64"),
        needs=("docker",),
    ),
    # --- engines --------------------------------------------------------------------------
    Case(
        "engine-socket-missing",
        "DOCKER_HOST naming a socket that does not exist is exit 2 naming it",
        ("probe", "image:python:3.11-slim"),
        says=("DOCKER_HOST=unix://{tmp}/no.sock", "does not exist"),
        env={"DOCKER_HOST": "unix://{tmp}/no.sock"},
    ),
    Case(
        "engine-socket-is-a-regular-file",
        "DOCKER_HOST naming a regular file is exit 2 naming it",
        ("probe", "image:python:3.11-slim"),
        says=("DOCKER_HOST=unix://{tmp}/regular.sock", "no container engine answers"),
        env={"DOCKER_HOST": "unix://{tmp}/regular.sock"},
        files={"regular.sock": ""},
    ),
    Case(
        "engine-socket-permission-denied",
        "a socket this user may not open is exit 2 'permission denied' naming it",
        ("probe", "image:python:3.11-slim"),
        says=("DOCKER_HOST=unix://{denied_socket}", "permission denied"),
        env={"DOCKER_HOST": "unix://{denied_socket}"},
        needs=("denied_socket",),
    ),
    Case(
        "engine-tcp-closed-port",
        "DOCKER_HOST=tcp://127.0.0.1:<closed port> is exit 2 'connection refused'",
        ("probe", "image:python:3.11-slim"),
        says=("DOCKER_HOST=tcp://127.0.0.1:{closed_port}", "connection refused"),
        env={"DOCKER_HOST": "tcp://127.0.0.1:{closed_port}"},
        needs=("closed_port",),
    ),
    Case(
        "engine-unknown-context",
        "DOCKER_CONTEXT naming no context is exit 2 naming it (no fallback)",
        ("probe", "image:python:3.11-slim"),
        says=("'parity-no-such-context'", "does not exist"),
        env={"DOCKER_CONTEXT": "parity-no-such-context", "DOCKER_HOST": ""},
    ),
    Case(
        "engine-unknown-scheme",
        "DOCKER_HOST=bogus://x is exit 2 naming it",
        ("probe", "image:python:3.11-slim"),
        says=("DOCKER_HOST=bogus://x",),
        env={"DOCKER_HOST": "bogus://x"},
    ),
    Case(
        "engine-hangs-up-at-the-ping",
        "an engine that hangs up when parity first pings it is exit 2 naming its address",
        ("probe", "image:python:3.11-slim", "--no-cache"),
        says=("DOCKER_HOST=unix://{proxy}",),
        env={"DOCKER_HOST": "unix://{proxy}"},
        needs=("proxy:ping",),
    ),
    Case(
        "engine-drops-during-the-build",
        "an engine that goes away during the build is exit 2 naming the Dockerfile",
        ("probe", "dockerfile:dockerfile/plain/Dockerfile", "--no-cache"),
        says=("dockerfile/plain/Dockerfile",),
        # the proxy cuts the Engine API's /build call, which only the API builder makes
        env={"DOCKER_HOST": "unix://{proxy}", "PARITY_BUILDER": "api"},
        needs=("proxy:build",),
    ),
    Case(
        "engine-drops-after-the-probe-container-is-created",
        "an engine that goes away once the probe container exists is exit 2, not a traceback",
        ("probe", "image:python:3.11-slim", "--no-cache"),
        says=("python:3.11-slim",),
        env={"DOCKER_HOST": "unix://{proxy}"},
        needs=("proxy:start",),
    ),
)

DOCKER_RESOURCES = ("docker", "image", "proxy")


def _param(case: Case) -> Any:
    marks: list[Any] = []
    if case.docker:
        marks.append(pytest.mark.docker)
    if case.bug:
        marks.append(pytest.mark.xfail(strict=True, reason=case.bug))
    if case.flaky_bug:
        marks.append(pytest.mark.xfail(strict=False, reason=case.flaky_bug))
    return pytest.param(case, id=case.name, marks=marks)


# --- resources a case can need -------------------------------------------------------------


@dataclass(frozen=True)
class Resource:
    """Placeholder values for a case, and a check to run after parity has."""

    values: dict[str, str]
    verify: Callable[[], None] = lambda: None


class Listener:
    """A TCP server on loopback that counts connections (none must arrive)."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(0.2)
        self.port = self.server.getsockname()[1]
        self.connections = 0
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stopped.is_set():
            try:
                client, _ = self.server.accept()
            except OSError:
                continue
            self.connections += 1
            client.close()

    def close(self) -> None:
        self.stopped.set()
        self.thread.join(timeout=5)
        self.server.close()


def closed_port() -> int:
    """A loopback port nothing listens on (bound, never listening, so nobody takes it)."""
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    _CLOSED_PORT_HOLDERS.append(holder)
    return int(holder.getsockname()[1])


_CLOSED_PORT_HOLDERS: list[socket.socket] = []


class DroppingProxy:
    """A unix-socket proxy to the real engine that hangs up for good once it sees ``trigger``.

    Every connection is closed at that moment, and later ones are refused: to parity, the
    engine has gone away in the middle of its work.
    """

    def __init__(self, path: str, upstream: str, trigger: re.Pattern[bytes]) -> None:
        self.path = path
        self.upstream = upstream
        self.trigger = trigger
        self.tripped = threading.Event()
        self.lock = threading.Lock()
        self.sockets: list[socket.socket] = []
        self.server = socket.socket(socket.AF_UNIX)
        self.server.bind(path)
        self.server.listen(16)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            if self.tripped.is_set():
                client.close()
                continue
            upstream = socket.socket(socket.AF_UNIX)
            upstream.connect(self.upstream)
            with self.lock:
                self.sockets += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket, watch: bool) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                if watch and self.trigger.search(data):
                    self.trip()
                    return
                target.sendall(data)
        except OSError:
            pass
        finally:
            for each in (source, target):
                _shutdown(each)

    def trip(self) -> None:
        self.tripped.set()
        self.server.close()
        with self.lock:
            for each in self.sockets:
                _shutdown(each)
                each.close()

    def close(self) -> None:
        if not self.tripped.is_set():
            self.trip()


def _shutdown(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


PROXY_TRIGGERS = {
    "ping": rb"GET /[^ ]*(?:_ping|version)",  # parity's first request: GET /version
    "build": rb"POST /v[0-9.]+/build",
    "start": rb"POST /v[0-9.]+/containers/[0-9a-f]+/start",
}


def engine_socket() -> str:
    host = os.environ.get("DOCKER_HOST", "")
    if host and not host.startswith("unix://"):
        pytest.skip("the engine-drop cases proxy a unix socket; DOCKER_HOST is not one")
    return host.removeprefix("unix://") or "/var/run/docker.sock"


def orphaned_probe_containers(client: Any) -> list[str]:
    """Probe containers left by parity processes that no longer run."""
    from parity.engine.labels import LABEL_PID

    found = client.api.containers(all=True, filters={"label": f"{LABEL_MANAGED}=1"})
    return [
        str(each["Id"])
        for each in found
        if not _running((each.get("Labels") or {}).get(LABEL_PID, ""))
    ]


def _running(pid: str) -> bool:
    try:
        os.kill(int(pid), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True


# --- images --------------------------------------------------------------------------------


def _aarch64_executable() -> bytes:
    """The smallest ELF header of an aarch64 program: the kernel refuses it on x86-64."""
    import struct

    header = b"\x7fELF" + bytes([2, 1, 1, 0]) + b"\0" * 8
    header += struct.pack("<HHIQQQIHHHHHH", 2, 183, 1, 0x400078, 64, 0, 0, 64, 56, 1, 64, 0, 0)
    program = struct.pack("<IIQQQQQQ", 1, 5, 0, 0x400000, 0x400000, 0x80, 0x80, 0x1000)
    return header + program + b"\0" * 8


def _tar(members: Mapping[str, tuple[bytes, int]]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        directories: set[str] = set()
        for path, (data, mode) in members.items():
            parts = path.split("/")[:-1]
            for depth in range(1, len(parts) + 1):
                directory = "/".join(parts[:depth])
                if directory not in directories:
                    directories.add(directory)
                    info = tarfile.TarInfo(directory)
                    info.type, info.mode = tarfile.DIRTYPE, 0o755
                    archive.addfile(info)
            info = tarfile.TarInfo(path)
            info.size, info.mode = len(data), mode
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def saved_image(tag: str, files: Mapping[str, tuple[bytes, int]], architecture: str) -> bytes:
    """A ``docker save`` archive of a one-layer image with ``files``, for ``docker load``."""
    import hashlib

    layer = _tar(files)
    config = {
        "architecture": architecture,
        "os": "linux",
        "config": {"Env": ["PATH=/usr/local/bin:/usr/bin:/bin"]},
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(layer).hexdigest()]},
        "history": [{"created_by": "parity tests/test_bad_inputs.py"}],
    }
    config_bytes = json.dumps(config).encode()
    config_name = hashlib.sha256(config_bytes).hexdigest() + ".json"
    manifest = [{"Config": config_name, "RepoTags": [tag], "Layers": ["layer.tar"]}]
    return _tar(
        {
            config_name: (config_bytes, 0o644),
            "layer.tar": (layer, 0o644),
            "manifest.json": (json.dumps(manifest).encode(), 0o644),
        }
    )


LOADED_IMAGES = {
    "scratch": ({"hello.txt": (b"hello\n", 0o644)}, "amd64"),
    "arm64": ({"usr/bin/python3": (_aarch64_executable(), 0o755)}, "arm64"),
}


class BadImages:
    """The catalogue's images, made once per module (built from tests/data/bad/images)."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.made: dict[str, str] = {}

    def get(self, name: str) -> str:
        if name not in self.made:
            self.made[name] = self._make(name)
        return self.made[name]

    def _make(self, name: str) -> str:
        tag = f"parity-test/bad-{name}:latest"
        if name in LOADED_IMAGES:
            files, architecture = LOADED_IMAGES[name]
            self.client.images.load(saved_image(tag, files, architecture))
            return tag
        dockerfile = BAD / "images" / f"Dockerfile.{name}"
        try:
            self.client.images.build(
                path=str(dockerfile.parent),
                dockerfile=dockerfile.name,
                tag=tag,
                rm=True,
                forcerm=True,
                network_mode=build_network(),
            )
        except Exception as error:  # the Python 2 image needs Debian's mirrors
            if name == "python2":
                pytest.skip(f"cannot build the Python 2.7 image (no Debian mirror?): {error}")
            raise
        return tag

    def short_id(self, tag: str) -> str:
        return str(self.client.images.get(tag).id).split(":", 1)[-1][:12]


@pytest.fixture(scope="module")
def bad_images(docker_client: Any, base_image: Any) -> BadImages:
    base_image("3.11")
    return BadImages(docker_client)


# --- the fixtures behind ``needs`` ---------------------------------------------------------


@pytest.fixture
def listener() -> Iterator[Resource]:
    server = Listener()

    def verify() -> None:
        assert server.connections == 0, "parity connected to the URL it must not fetch"

    yield Resource({"listen_port": str(server.port)}, verify)
    server.close()


@pytest.fixture
def venv_with_credentials(tmp_path: Path) -> Resource:
    """A real venv holding ``foo`` installed from a git URL with credentials (PEP 610)."""
    import venv

    root = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(root)
    site_packages = next(root.glob("lib/python*/site-packages"))
    dist_info = site_packages / "foo-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: foo\nVersion: 1.0\n")
    (dist_info / "INSTALLER").write_text("pip\n")
    (dist_info / "RECORD").write_text("")
    direct_url = {
        "url": f"https://alice:{SECRET}-VENV@github.com/org/foo.git",
        "vcs_info": {"vcs": "git", "commit_id": "abcdef0123456789abcdef0123456789abcdef01"},
    }
    (dist_info / "direct_url.json").write_text(json.dumps(direct_url))
    pins = json.loads((BAD / "snapshot" / "index-pins.json").read_text(encoding="utf-8"))
    pins["packages"] = [{**pins["packages"][0], "name": "foo"}]
    (tmp_path / "pins.json").write_text(json.dumps(pins))
    return Resource({"venv": str(root), "venv_pins": str(tmp_path / "pins.json")})


@pytest.fixture
def device(tmp_path: Path) -> Resource:
    """A character device like /dev/null (1, 3), made in tmp_path (needs root)."""
    path = tmp_path / "null"
    try:
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("making a device node needs root")

    def verify() -> None:
        assert stat.S_ISCHR(path.lstat().st_mode), "the device was replaced by a regular file"

    return Resource({"device": str(path)}, verify)


@pytest.fixture
def denied_socket(tmp_path: Path) -> Iterator[Resource]:
    """A listening unix socket with mode 000; parity runs without CAP_DAC_OVERRIDE for it."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("emulating 'permission denied' drops root's capabilities: root and setpriv")
    path = tmp_path / "denied.sock"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    server.listen(1)
    os.chmod(path, 0)
    yield Resource({"denied_socket": str(path)})
    server.close()


# Root opens any socket; without these capabilities it obeys the mode bits like anyone.
DROP_DAC = ("-dac_override", "-dac_read_search")


def _setpriv_prefix() -> tuple[str, ...]:
    drop = ",".join(DROP_DAC)
    return ("setpriv", f"--inh-caps={drop}", f"--bounding-set={drop}")


# --- the test ------------------------------------------------------------------------------


@pytest.mark.parametrize("case", [_param(case) for case in CASES])
def test_bad_input(case: Case, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """See ``case.expect`` (the parameter id names the case)."""
    values = {"tmp": str(tmp_path)}
    resources = [_resource(need, request, tmp_path) for need in case.needs]
    for resource in resources:
        values.update(resource.values)
    for relative, content in case.files.items():
        target = tmp_path / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(_expand(content, values), encoding="utf-8")
    args = [*(_expand(arg, values) for arg in case.args), "-q"]
    outputs = _output_files(tmp_path) if case.secret else {}
    for format_name, path in outputs.items():
        args += ["--format", format_name, "--output", str(path)]
    if outputs:
        args += ["--format", "table"]
    env = {"PARITY_CACHE_DIR": str(tmp_path / "cache"), "NO_COLOR": "1"}
    env.update({key: _expand(value, values) for key, value in case.env.items()})
    prefix = _setpriv_prefix() if "denied_socket" in case.needs else ()
    result = _run(args, env, prefix)
    print(f"{case.name}: {case.expect}\n  exit {result.returncode}: {result.stderr}")  # -rP

    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == case.code, f"{case.expect}\n{result.stderr}{result.stdout}"
    if case.code == 2:
        message = _one_message(result.stderr)
        assert result.stdout == "", "exit 2 prints no report"
        for text in case.says:
            assert _expand(text, values) in message, f"{case.expect}\nmessage: {message}"
        if case.names_any:
            names = [_expand(text, values) for text in case.names_any]
            assert any(name in message for name in names), f"names none of {names}: {message}"
    else:
        assert result.stderr == "", "a check that was made says nothing on stderr with -q"
        assert result.stdout or case.code == 0, "drift is reported on stdout"
    for text in case.log_says:
        assert _expand(text, values) in result.stderr
    for text in case.stdout_says:
        assert _expand(text, values) in result.stdout
    for text in case.not_says:
        assert text not in result.stderr
    if case.secret:
        _assert_no_secret(result, outputs)
    for resource in resources:
        resource.verify()
    assert "\x1b" not in result.stderr, "terminal escape codes in the message"


def _resource(need: str, request: pytest.FixtureRequest, tmp_path: Path) -> Resource:
    kind, _, name = need.partition(":")
    if kind == "docker":
        request.getfixturevalue("docker_client")
        return Resource({})
    if kind == "image":
        images: BadImages = request.getfixturevalue("bad_images")
        tag = images.get(name)
        return Resource({f"image:{name}": tag, f"id:{name}": images.short_id(tag)})
    if kind == "closed_port":
        return Resource({"closed_port": str(closed_port())})
    if kind == "proxy":
        return _proxy(request, tmp_path, name)
    resource: Resource = request.getfixturevalue(kind)
    return resource


def _proxy(request: pytest.FixtureRequest, tmp_path: Path, trigger: str) -> Resource:
    client = request.getfixturevalue("docker_client")
    request.getfixturevalue("base_image")("3.11")
    path = tmp_path / "engine.sock"
    proxy = DroppingProxy(str(path), engine_socket(), re.compile(PROXY_TRIGGERS[trigger]))
    before = set(orphaned_probe_containers(client))  # other runs' leftovers are not ours

    def ours() -> list[str]:
        return [each for each in orphaned_probe_containers(client) if each not in before]

    def clean_up() -> None:
        proxy.close()
        for container in ours():
            with contextlib.suppress(Exception):  # the engine may be removing it already
                client.api.remove_container(container, force=True)

    request.addfinalizer(clean_up)

    def verify() -> None:
        # An engine that went away cannot be asked to remove anything; what the run left is
        # removed by the next run, through an engine that answers (the sweep of containers
        # whose parity process is gone).
        if ours():
            follow_up = run_parity("probe", "image:python:3.11-slim", "-q")
            assert follow_up.returncode == 0, follow_up.stderr
        deadline = time.monotonic() + 15
        while ours() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert ours() == [], "parity's next run did not sweep the probe container left behind"

    return Resource({"proxy": str(path)}, verify)


def _expand(text: str, values: Mapping[str, str]) -> str:
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
    return text


def _run(args: list[str], env: dict[str, str], prefix: tuple[str, ...]) -> Any:
    if not prefix:
        return run_parity(*args, env=env, cwd=BAD)
    # The permission case runs the same command under setpriv (see denied_socket).
    return subprocess.run(
        [*prefix, sys.executable, "-m", "parity", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        cwd=BAD,
        timeout=300,
    )


def _one_message(stderr: str) -> str:
    """The single ``parity: ...`` message; only the build's indented log tail may follow."""
    lines = stderr.splitlines()
    assert lines, "exit 2 must say why on stderr"
    assert lines[0].startswith("parity: "), stderr
    assert sum(line.startswith("parity:") for line in lines) == 1, stderr
    for line in lines[1:]:
        assert line == "last lines of the build:" or line.startswith("  "), stderr
    return lines[0]


def _output_files(tmp_path: Path) -> dict[str, Path]:
    directory = tmp_path / "out"
    directory.mkdir()
    return {name: directory / f"report.{name}" for name in ALL_FORMATS}


def _assert_no_secret(result: Any, outputs: Mapping[str, Path]) -> None:
    texts = {"stdout (table)": result.stdout, "stderr": result.stderr}
    for format_name, path in outputs.items():
        if result.returncode != 2:
            assert path.is_file(), f"--format {format_name} was not written"
        texts[format_name] = path.read_text(encoding="utf-8") if path.exists() else ""
    leaks = [where for where, text in texts.items() if SECRET in text]
    assert leaks == [], f"credentials leak into: {leaks}"
    if result.returncode != 2:
        hidden = [where for where, text in texts.items() if "****" in text]
        assert "stdout (table)" in hidden and "json" in hidden, "the redacted URLs are reported"
