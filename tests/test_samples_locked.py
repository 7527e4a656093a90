"""End to end: the sample projects that install from a lock file (Pipfile.lock, uv.lock).

Each sample is copied, given a real developer venv made from its ``laptop-freeze.txt``
(the lock plus a deliberate drift), and checked with the real CLI against the image its
real Dockerfile builds. The expected rows come from ``pip freeze`` on each side, and from
the drift each sample's README documents.
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SAMPLES
from tests.helpers import (
    drift_rows,
    expected_drift,
    image_freeze,
    image_id_from,
    load_report,
    make_venv,
    parse_freeze,
    report_rows,
    run_parity,
    venv_freeze,
)

pytestmark = [pytest.mark.docker, pytest.mark.slow]

Row = tuple[str, "str | None", "str | None"]


@dataclass(frozen=True)
class LockedSample:
    """A sample project, its lock, and the drift its laptop venv has against that lock."""

    name: str
    lock_kind: str
    lock_file: str
    drift: frozenset[Row]  # (name, locked version, venv version)
    option: tuple[str, ...]  # a declaration option that changes what the lock holds
    drift_with_option: frozenset[Row]
    venv_in_image: str | None = None  # site-packages of the image's venv, if it uses one
    dev_in_image: frozenset[str] = frozenset()  # development tools the image ships (warnings)


DJANGO_PIPENV = LockedSample(
    name="django-pipenv",
    lock_kind="pipfile-lock",
    lock_file="Pipfile.lock",
    drift=frozenset({("django", "4.2.30", "4.2.29"), ("django-extensions", None, "4.1")}),
    option=("--dev",),  # [dev-packages]: the venv was made without them
    drift_with_option=frozenset(
        {
            ("django", "4.2.30", "4.2.29"),
            ("django-extensions", None, "4.1"),
            ("django-debug-toolbar", "6.3.0", None),
        }
    ),
)
UV_LOCK = LockedSample(
    name="uv-lock",
    lock_kind="uv-lock",
    lock_file="uv.lock",
    drift=frozenset({("httpx", "0.28.1", "0.28.0"), ("pyyaml", None, "6.0.4")}),
    option=("--extra", "yaml"),  # the venv holds the yaml extra, the image does not
    drift_with_option=frozenset({("httpx", "0.28.1", "0.28.0")}),
    venv_in_image="/app/.venv/lib/python3.11/site-packages",
    dev_in_image=frozenset({"pytest"}),  # the image installs the default groups, dev too
)


@dataclass(frozen=True)
class CheckedSample:
    """A copied sample with its venv, and what one ``parity check`` on it reported."""

    spec: LockedSample
    project: Path
    digest: dict[str, str]  # the project files before parity ran
    venv_before: dict[str, str]
    exit_code: int
    report: dict[str, Any]
    cache: Path

    @property
    def python(self) -> Path:
        return self.project / ".venv" / "bin" / "python"

    @property
    def lock_ref(self) -> str:
        return f"{self.spec.lock_kind}:{self.project / self.spec.lock_file}"


def tree_digest(root: Path) -> dict[str, str]:
    """Every file under ``root`` (but .venv) with its content hash, to prove nothing changed."""
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file() and ".venv" not in path.parts
    }


@pytest.fixture(scope="module", params=[DJANGO_PIPENV, UV_LOCK], ids=lambda spec: spec.name)
def checked(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, base_image: Any
) -> CheckedSample:
    """The sample copied, its .venv made from laptop-freeze.txt, and `parity check` run once."""
    base_image("3.11")
    spec: LockedSample = request.param
    root = tmp_path_factory.mktemp(spec.name)
    project = root / spec.name
    shutil.copytree(SAMPLES / spec.name, project, ignore=shutil.ignore_patterns(".venv"))
    python = make_venv(project / ".venv", project / "laptop-freeze.txt")
    digest, venv_before = tree_digest(project), venv_freeze(python)
    cache, output = root / "cache", root / "check.json"
    result = run_parity(
        *("check", str(project), "--format", "json", "--output", str(output), "-q"),
        env={"PARITY_CACHE_DIR": str(cache), "VIRTUAL_ENV": ""},
    )
    assert result.returncode in (0, 1), result.stderr
    report = load_report(output)
    return CheckedSample(spec, project, digest, venv_before, result.returncode, report, cache)


def diff(
    checked: CheckedSample, left: str, right: str, *options: str
) -> tuple[int, dict[str, Any]]:
    """``parity diff LEFT RIGHT`` with the sample's probe cache; exit code and JSON report."""
    output = checked.cache.parent / "diff.json"
    result = run_parity(
        *("diff", left, right, *options, "--format", "json", "--output", str(output), "-q"),
        env={"PARITY_CACHE_DIR": str(checked.cache)},
    )
    assert result.returncode in (0, 1), result.stderr
    return result.returncode, load_report(output)


def container_freeze(client: Any, image: str, venv_in_image: str | None) -> dict[str, str]:
    """``pip freeze`` of what the app's interpreter sees in ``image``.

    An image whose app runs from a uv venv (no pip in it) is frozen by the system pip
    with ``--path`` pointed at the venv's site-packages.
    """
    if venv_in_image is None:
        return image_freeze(client, image)
    output = client.containers.run(
        image,
        ["-m", "pip", "freeze", "--all", "--disable-pip-version-check", "--path", venv_in_image],
        entrypoint=["/usr/bin/python3"],
        network_mode="none",
        remove=True,
        stdout=True,
        stderr=False,
    )
    return parse_freeze(output.decode("utf-8"))


def assert_untouched(checked: CheckedSample) -> None:
    """parity changed neither the project files nor the venv."""
    assert tree_digest(checked.project) == checked.digest
    assert venv_freeze(checked.python) == checked.venv_before


def swapped(rows: frozenset[Row]) -> set[Row]:
    return {(name, right, left) for name, left, right in rows}


def test_check_reports_what_pip_freeze_shows_on_both_sides(
    checked: CheckedSample, docker_client: Any
) -> None:
    report = checked.report
    sides = {side["name"]: side for side in report["sides"]}
    assert sides["local"]["kind"] == "venv"  # the project's .venv wins over the lock
    # A compose service that builds the Dockerfile is the container side when there is one.
    has_compose = (checked.project / "docker-compose.yml").is_file()
    assert sides["container"]["kind"] == ("compose" if has_compose else "dockerfile")
    image = image_id_from(report, "container")

    local = venv_freeze(checked.python)
    container = container_freeze(docker_client, image, checked.spec.venv_in_image)
    expected = expected_drift(local, container)

    shipped = {
        row["name"]
        for row in report["packages"]
        if (row["status"], row["severity"]) == ("dev", "warning")
    }
    assert shipped == checked.spec.dev_in_image
    rows = {row for row in report_rows(report, "local", "container") if row[0] not in shipped}
    assert rows == expected
    assert expected == swapped(checked.spec.drift)  # the image holds the lock, the venv drifts
    assert checked.exit_code == 1
    assert report["verdict"] == "drift"
    assert_untouched(checked)


def test_the_image_installs_exactly_the_lock(checked: CheckedSample) -> None:
    # The container side check chose (a compose service builds its image with compose's
    # labels: another image ID than a plain build of the same Dockerfile).
    side = next(item for item in checked.report["sides"] if item["name"] == "container")
    container = f"{side['kind']}:{side['ref']}"
    if side["kind"] == "dockerfile":
        container = f"dockerfile:{checked.project / 'Dockerfile'}"
    elif side["kind"] == "compose" and "@" not in side["ref"]:
        container += f"@{checked.project / 'docker-compose.yml'}"
    code, report = diff(checked, checked.lock_ref, container)
    assert (code, report["verdict"], drift_rows(report)) == (0, "parity", [])
    assert report["interpreter"] == []  # the lock's Python requirement holds in the image
    assert image_id_from(report, "right") == image_id_from(checked.report, "container")
    assert_untouched(checked)


def test_the_lock_against_the_venv_is_the_deliberate_drift(checked: CheckedSample) -> None:
    code, report = diff(checked, checked.lock_ref, f"venv:{checked.project / '.venv'}")
    assert report_rows(report, "left", "right") == checked.spec.drift
    assert code == 1
    assert_untouched(checked)


def test_a_declaration_option_changes_what_the_lock_holds(checked: CheckedSample) -> None:
    venv = f"venv:{checked.project / '.venv'}"
    code, report = diff(checked, checked.lock_ref, venv, *checked.spec.option)
    assert report_rows(report, "left", "right") == checked.spec.drift_with_option
    assert code == 1
    assert_untouched(checked)
