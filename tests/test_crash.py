"""The crash handler: an unexpected exception at any stage is one message, a log, exit 2.

Unexpected exceptions are injected (monkeypatched) into real runs at each stage: reading a
source, building, probing, comparing, writing the report; and in a thread.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from parity import __version__
from parity.cli import main
from parity.crash import CrashHandler, activity
from parity.engine.labels import LABEL_MANAGED, LABEL_PID
from parity.engine.probe_container import (
    ProbeLimits,
    ProbeRequest,
    _remove_quietly,
    _run_once,
    read_probe_output,
)
from parity.errors import EngineError, ProbeError


class Injected(RuntimeError):
    """The unexpected error a test injects."""


def _boom(*args: Any, **kwargs: Any) -> Any:
    raise Injected("injected failure 7f3a")


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PARITY_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "a.txt").write_text("requests==2.31.0\n", encoding="utf-8")
    (tmp_path / "b.txt").write_text("requests==2.32.0\n", encoding="utf-8")
    (tmp_path / "Dockerfile").write_text("FROM python:3.11-slim\n", encoding="utf-8")
    return tmp_path


def _assert_crash(code: int, stderr: str, doing: str, cache: Path) -> None:
    assert code == 2
    assert "Traceback" not in stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    message = lines[0]
    assert message.startswith(f"parity: unexpected error while {doing}: Injected: "), message
    assert f"parity {__version__}" in message
    found = re.search(r"the traceback is in (\S+\.log)", message)
    assert found, message
    log = Path(found.group(1))
    assert log.is_file() and log.parent == cache / "logs"
    text = log.read_text(encoding="utf-8")
    assert "Traceback (most recent call last)" in text
    assert "injected failure 7f3a" in text


STAGES: list[tuple[str, str, list[str], str]] = [
    ("source read", "parity.sources.requirements._read_text", [], "reading a source"),
    ("compare", "parity.compare._compare_packages", [], "comparing the two sides"),
    ("output", "parity.formats.render", ["--format", "json"], "writing the report"),
]


@pytest.mark.parametrize(("stage", "target", "extra", "doing"), STAGES, ids=[s[0] for s in STAGES])
def test_unexpected_error_without_engine(
    project: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    stage: str,
    target: str,
    extra: list[str],
    doing: str,
) -> None:
    monkeypatch.setattr(target, _boom)
    code = main(["diff", "-q", "requirements:a.txt", "requirements:b.txt", *extra])
    _assert_crash(code, capsys.readouterr().err, doing, project / "cache")


def test_unexpected_error_while_building(
    project: Path,
    docker_client: Any,
    base_image: Callable[[str], str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    base_image("3.11")
    monkeypatch.setattr("parity.engine.build._require_local_bases", _boom)
    code = main(["diff", "-q", "requirements:a.txt", "dockerfile:Dockerfile"])
    _assert_crash(code, capsys.readouterr().err, "building the image", project / "cache")


def test_unexpected_error_while_probing(
    project: Path,
    docker_client: Any,
    base_image: Callable[[str], str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    image = base_image("3.11")
    monkeypatch.setattr("parity.engine.probe_container.read_probe_output", _boom)
    code = main(["diff", "-q", "requirements:a.txt", f"image:{image}"])
    _assert_crash(code, capsys.readouterr().err, "probing the container", project / "cache")
    mine = docker_client.api.containers(
        all=True, filters={"label": [f"{LABEL_MANAGED}=1", f"{LABEL_PID}={os.getpid()}"]}
    )
    assert mine == []  # the probe container was removed on the way out


def test_unexpected_error_in_a_thread(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A thread's exception: no thread traceback, the one message, and exit 2."""
    import parity.compare

    real = parity.compare._compare_packages

    def with_a_failing_thread(*args: Any, **kwargs: Any) -> Any:
        worker = threading.Thread(target=_boom, name="worker-1")
        worker.start()
        worker.join()
        return real(*args, **kwargs)

    monkeypatch.setattr(parity.compare, "_compare_packages", with_a_failing_thread)
    code = main(["diff", "-q", "requirements:a.txt", "requirements:b.txt"])
    err = capsys.readouterr().err
    assert code == 2
    assert "Traceback" not in err
    assert "(in thread worker-1)" in err
    assert threading.excepthook is not CrashHandler  # restored after the run


def test_log_falls_back_when_the_cache_cannot_be_written(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = project / "not-a-dir"
    blocker.write_text("")
    monkeypatch.setenv("PARITY_CACHE_DIR", str(blocker))
    monkeypatch.setattr("parity.compare._compare_packages", _boom)
    code = main(["diff", "-q", "requirements:a.txt", "requirements:b.txt"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    found = re.search(r"the traceback is in (\S+\.log)", err)
    assert found and Path(found.group(1)).is_file()


def test_activity_is_the_innermost_parity_frame() -> None:
    assert activity(None) == ""
    try:
        _boom()
    except Injected as error:
        assert activity(error.__traceback__) == ""  # no parity frame at all


# --- engine errors in clean-up and in the timeout thread --------------------------------


class _Api:
    """An engine API that fails the way a dying engine does."""

    def __init__(self, remove_error: BaseException | None, start_error: BaseException | None):
        self.remove_error = remove_error
        self.start_error = start_error
        self.removed: list[str] = []

    def create_host_config(self, **kwargs: Any) -> dict[str, Any]:
        return kwargs

    def create_container(self, image: str, **kwargs: Any) -> dict[str, str]:
        return {"Id": "c0ffee"}

    def attach(self, container_id: str, **kwargs: Any) -> list[Any]:
        return []

    def start(self, container_id: str) -> None:
        if self.start_error is not None:
            raise self.start_error

    def remove_container(self, container_id: str, force: bool) -> None:
        self.removed.append(container_id)
        if self.remove_error is not None:
            raise self.remove_error


def _api_error(text: str) -> BaseException:
    from parity.engine.errors import APIError

    return APIError(500, text)


class _Client:
    def __init__(self, api: _Api) -> None:
        self.api = api


def test_remove_quietly_never_raises() -> None:
    from parity.engine.errors import TransportError

    for error in (_api_error("engine is dying"), TransportError("gone"), RuntimeError("odd")):
        api = _Api(error, None)
        assert _remove_quietly(api, "c0ffee")
    assert _remove_quietly(_Api(_api_error("No such container: c0ffee"), None), "c0ffee") is None
    assert _remove_quietly(_Api(None, None), "c0ffee") is None


def test_a_failing_removal_does_not_hide_the_error_being_handled() -> None:
    api = _Api(_api_error("removal refused"), _api_error("start refused"))
    with pytest.raises(EngineError) as raised:
        _run_once(_Client(api), ProbeRequest("img"), "python3", "pass")
    assert "start refused" in str(raised.value)
    assert api.removed == ["c0ffee"]


def test_a_failing_removal_after_success_is_parity_s_own_error() -> None:
    """The interpreter was not found (nothing else failed): the removal's failure is said."""
    api = _Api(_api_error("removal refused"), _api_error("executable file not found"))
    with pytest.raises(EngineError) as raised:
        _run_once(_Client(api), ProbeRequest("img", label="image img"), "python3", "pass")
    assert str(raised.value).startswith("image img: could not remove the probe container")
    assert "removal refused" in str(raised.value)


def test_the_timeout_thread_never_ends_in_a_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[Any] = []
    monkeypatch.setattr(threading, "excepthook", seen.append)
    release = threading.Event()

    def stream() -> Any:
        release.wait(10)
        return
        yield  # a generator that yields nothing until stopped

    def stop() -> None:
        release.set()
        raise _api_error("engine went away")

    with pytest.raises(ProbeError) as raised:
        read_probe_output(stream(), ProbeLimits(timeout_seconds=0.01), "image img", stop)
    assert seen == []
    assert "stopping it failed: engine went away" in str(raised.value)


def test_a_closed_stdout_is_not_a_crash(project: Path) -> None:
    """`parity diff ... | head`: the reader going away is one plain message, not a bug."""
    lines = "".join(f"pkg{i}==1.0\n" for i in range(3000))
    (project / "a.txt").write_text(lines, encoding="utf-8")
    (project / "b.txt").write_text(lines.replace("==1.0", "==2.0"), encoding="utf-8")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "parity",
            "diff",
            "requirements:a.txt",
            "requirements:b.txt",
            "--format",
            "json",
        ],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # the reader is gone before the report is written
    stderr = process.stderr.read().decode()
    assert process.wait() == 2
    assert stderr == "parity: standard output was closed before the report was written\n"


def test_engine_errors_name_the_image(
    project: Path,
    docker_client: Any,
    base_image: Callable[[str], str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The engine failing during the probe is parity's own error, naming the image."""
    from parity.engine.errors import TransportError

    image = base_image("3.11")

    def dropped(*args: Any, **kwargs: Any) -> Any:
        raise TransportError("connection reset")

    monkeypatch.setattr("parity.engine.probe_container.read_probe_output", dropped)
    code = main(["diff", "-q", "requirements:a.txt", f"image:{image}"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert err.startswith(f"parity: image {image} (")
    assert "lost the connection to the engine during the probe" in err


def test_an_engine_failure_that_escapes_is_not_called_a_bug(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A client-library error where parity wraps none: the engine's failure, and a log."""
    import requests

    def dropped(*args: Any, **kwargs: Any) -> Any:
        raise requests.exceptions.ConnectionError("Connection aborted: reset by peer")

    monkeypatch.setattr("parity.compare._compare_packages", dropped)
    code = main(["diff", "-q", "requirements:a.txt", "requirements:b.txt"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert err.startswith("parity: the container engine failed while comparing the two sides: ")
    assert "reset by peer" in err and "bug" not in err
    found = re.search(r"details in (\S+\.log)\)", err)
    assert found and Path(found.group(1)).is_file()


def test_old_crash_logs_are_pruned(tmp_path: Path) -> None:
    from parity.crash import KEEP_LOGS, write_log

    logs = tmp_path / "logs"
    logs.mkdir()
    for index in range(KEEP_LOGS + 5):
        old = logs / f"crash-old-{index}.log"
        old.write_text("old")
        os.utime(old, (1_000_000 + index, 1_000_000 + index))
    try:
        raise Injected("injected failure 7f3a")
    except Injected as error:
        path, why = write_log(error, ["check"], "running", directory=logs)
    assert path is not None and path.is_file() and why == ""
    remaining = sorted(log.name for log in logs.iterdir())
    assert len(remaining) == KEEP_LOGS and path.name in remaining
    assert "crash-old-0.log" not in remaining
