"""The interpreter a probe container is created for before any file is read (pure)."""

from __future__ import annotations

import pytest

from parity.probe.interpreter_choice import ImageFacts, likely_interpreter


def facts(*program: str) -> ImageFacts:
    return ImageFacts(env={}, user="", working_dir="/app", program=program)


@pytest.mark.parametrize(
    ("program", "python", "likely"),
    [
        (("python", "main.py"), None, "python"),
        (("/opt/venv/bin/python3", "-m", "app"), None, "/opt/venv/bin/python3"),
        (("tini", "--", "python3.11", "app.py"), None, "python3.11"),
        (("/bin/sh", "-c", "cd /app && exec python -m flask run"), None, "python"),
        (("gunicorn", "app:app"), None, "python3"),  # a script: its #! line decides later
        ((), None, "python3"),
        (("./venv/bin/python", "app.py"), None, "python3"),  # relative: the runtime reads it from /
        (("python", "main.py"), "python3.9", "python3.9"),
        (("python", "main.py"), "/usr/bin/python3.9", "/usr/bin/python3.9"),
        (("python", "main.py"), "bin/python", "python"),
    ],
)
def test_the_likely_interpreter(program: tuple[str, ...], python: str | None, likely: str) -> None:
    assert likely_interpreter(facts(*program), python) == likely
