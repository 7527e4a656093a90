"""What a person sees: live progress and colour on a terminal, plain text elsewhere."""

from __future__ import annotations

import os
import re
import select
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import run_parity

pty = pytest.importorskip("pty")  # a pseudo-terminal: POSIX only

pytestmark = pytest.mark.docker


def run_on_terminal(*args: str, env: dict[str, str]) -> tuple[int, str]:
    """Run the CLI with a pseudo-terminal as stdout and stderr; everything it printed."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "parity", *args],
        stdin=subprocess.DEVNULL,
        stdout=terminal,
        stderr=terminal,
        env={**os.environ, "TERM": "xterm-256color", "COLUMNS": "120", **env},
        close_fds=True,
    )
    os.close(terminal)
    chunks: list[bytes] = []
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        ready, _, _ = select.select([controller], [], [], 0.5)
        if ready:
            try:
                data = os.read(controller, 65536)
            except OSError:  # the terminal closed: the process is done
                break
            if not data:
                break
            chunks.append(data)
        elif process.poll() is not None:
            break
    os.close(controller)
    return process.wait(timeout=60), b"".join(chunks).decode("utf-8", "replace")


def test_terminal_shows_live_progress_and_colour(base_image: Any, tmp_path: Path) -> None:
    image = base_image("3.11")
    env = {"PARITY_CACHE_DIR": str(tmp_path / "cache"), "NO_COLOR": ""}
    code, output = run_on_terminal(
        "diff", f"image:{image}", f"image:{image}", "--no-cache", env=env
    )
    assert code == 0, output
    assert "probing image" in output  # the live status line
    assert "\x1b[" in output  # styled
    assert "parity: " in output and "no drift" in output


def test_plain_text_when_not_a_terminal(base_image: Any, tmp_path: Path) -> None:
    image = base_image("3.11")
    result = run_parity(
        "diff", f"image:{image}", f"image:{image}", env={"PARITY_CACHE_DIR": str(tmp_path / "c")}
    )
    assert result.returncode == 0, result.stderr
    assert "\x1b" not in result.stdout + result.stderr
    assert result.stdout.startswith("parity: ")  # in parity: one line
    assert len(result.stdout.splitlines()) == 1


def test_quiet_in_parity_prints_nothing_even_on_a_terminal(base_image: Any, tmp_path: Path) -> None:
    image = base_image("3.11")
    env = {"PARITY_CACHE_DIR": str(tmp_path / "cache")}
    code, output = run_on_terminal("diff", f"image:{image}", f"image:{image}", "-q", env=env)
    assert code == 0
    assert output == ""


def test_no_color_keeps_the_terminal_table_plain(base_image: Any, tmp_path: Path) -> None:
    image = base_image("3.11")
    env = {"PARITY_CACHE_DIR": str(tmp_path / "cache"), "NO_COLOR": "1"}
    code, output = run_on_terminal("diff", f"image:{image}", f"image:{image}", env=env)
    assert code == 0
    # The live status line is erased (cursor movement) before the report; no colours.
    report = re.sub(r"\x1b\[[0-9;]*[AK]", "", output.splitlines()[-1])
    assert report.startswith("parity: ")
    assert not re.search(r"\x1b\[[0-9;]*m", output)


def test_verbose_shows_the_build_log(base_image: Any, tmp_path: Path) -> None:
    image = base_image("3.11")
    (tmp_path / "Dockerfile").write_text(f"FROM {image}\nRUN echo parity-build-step\n")
    result = run_parity(
        "probe",
        f"dockerfile:{tmp_path / 'Dockerfile'}",
        "-v",
        "--no-cache",
        env={"PARITY_CACHE_DIR": str(tmp_path / "cache")},
    )
    assert result.returncode == 0, result.stderr
    assert "=> [2/2] RUN echo parity-build-step" in result.stderr  # BuildKit's step
    assert "\nparity-build-step\n" in result.stderr  # and its output
