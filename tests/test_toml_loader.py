"""One TOML loader: every TOML file parity reads is read the same way (UTF-8, BOM dropped)."""

from __future__ import annotations

import codecs
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from parity.config import load_config
from parity.detect import detect_declared_source
from parity.model import Environment
from parity.sources.pipfile import load_pipfile
from parity.sources.poetry_lock import load_poetry_lock
from parity.sources.pylock import load_pylock
from parity.sources.pyproject import load_pyproject
from parity.sources.uv_lock import load_uv_lock

REPO_ROOT = Path(__file__).resolve().parent.parent
LOCKS = Path(__file__).resolve().parent / "data" / "locks"


def _with_bom(directory: Path, *names: str) -> None:
    for name in names:
        path = directory / name
        path.write_bytes(codecs.BOM_UTF8 + path.read_bytes())


def _versions(environment: Environment) -> dict[str, str | None]:
    return {package.name: package.version for package in environment.packages}


READERS: list[tuple[str, str, tuple[str, ...], Callable[[Path], Environment]]] = [
    ("poetry.lock", "poetry-app", ("poetry.lock", "pyproject.toml"),
     lambda d: load_poetry_lock(str(d / "poetry.lock"))),
    ("uv.lock", "uv-app", ("uv.lock", "pyproject.toml"),
     lambda d: load_uv_lock(str(d / "uv.lock"))),
    ("pylock.toml", "pdm-app", ("pylock.toml", "pyproject.toml"),
     lambda d: load_pylock(str(d / "pylock.toml"))),
    ("pyproject.toml", "poetry-app", ("pyproject.toml",),
     lambda d: load_pyproject(d / "pyproject.toml")),
]  # fmt: skip


@pytest.mark.parametrize(("kind", "sample", "files", "read"), READERS, ids=[r[0] for r in READERS])
def test_a_utf8_bom_reads_as_without_it(
    tmp_path: Path, kind: str, sample: str, files: tuple[str, ...], read: Callable[[Path], Any]
) -> None:
    plain = tmp_path / "plain"
    bom = tmp_path / "bom"
    shutil.copytree(LOCKS / sample, plain)
    shutil.copytree(LOCKS / sample, bom)
    _with_bom(bom, *files)
    assert _versions(read(bom)) == _versions(read(plain))


def test_pipfile_config_and_detection_accept_a_bom(tmp_path: Path) -> None:
    text = b'[packages]\nrequests = "==2.31.0"\n\n[requires]\npython_version = "3.11"\n'
    (tmp_path / "plain").mkdir()
    (tmp_path / "bom").mkdir()
    (tmp_path / "plain" / "Pipfile").write_bytes(text)
    (tmp_path / "bom" / "Pipfile").write_bytes(codecs.BOM_UTF8 + text)
    plain = load_pipfile(tmp_path / "plain" / "Pipfile")
    bom = load_pipfile(tmp_path / "bom" / "Pipfile")

    def facts(environment: Environment) -> list[tuple[str, str, int | None]]:
        return [
            (r.name, r.specifier, r.declared_at.line if r.declared_at else None)
            for r in environment.requirements
        ]

    assert facts(bom) == facts(plain) == [("requests", "==2.31.0", 2)]
    assert bom.python_requirement == plain.python_requirement
    (tmp_path / "parity.toml").write_bytes(codecs.BOM_UTF8 + b'fail-on = "warning"\n')
    assert load_config(str(tmp_path)).fail_on is not None
    project = tmp_path / "declares"
    project.mkdir()
    (project / "pyproject.toml").write_bytes(
        codecs.BOM_UTF8 + b'[project]\nname = "x"\nversion = "1"\ndependencies = []\n'
    )
    # Read, not taken for a file that does not parse: it declares nothing.
    assert detect_declared_source(str(project)) is None


def test_only_one_module_imports_a_toml_parser() -> None:
    importers = [
        path.relative_to(REPO_ROOT).as_posix()
        for path in (REPO_ROOT / "parity").rglob("*.py")
        if re.search(r"^\s*(import|from)\s+(tomllib|tomli)\b", path.read_text(), re.MULTILINE)
    ]
    assert importers == ["parity/sources/_toml.py"]
