"""One walk over site directories: the probe's ``Walk`` over the disk (``OsFiles``) and
over an image's tar streams (``TreeFiles``, for --static) find the same things."""

from __future__ import annotations

import io
import os
import tarfile
import zipfile
from pathlib import Path
from typing import Any

import pytest

import parity.probe.image_files as image_files
from parity.probe import script
from parity.probe.image_files import CaptureBudget, TreeFiles, read_tree, walk


def _site(root: Path) -> tuple[Path, Path]:
    """A site directory with every kind of entry the walk knows, and an egg-link target."""
    site = root / "site-packages"
    src = root / "src"
    (site / "alpha-1.0.dist-info").mkdir(parents=True)
    (site / "alpha-1.0.dist-info" / "METADATA").write_text("Name: alpha\nVersion: 1.0\n")
    (site / "beta-2.0.egg-info").mkdir()
    (site / "beta-2.0.egg-info" / "PKG-INFO").write_text("Name: beta\nVersion: 2.0\n")
    (site / "gamma-3.0-py3.11.egg-info").write_text("Name: gamma\nVersion: 3.0\n")
    (site / "odd-1.0.dist-info").write_text("not a directory")
    (site / "devpkg.egg-link").write_text(f"{src}\n.\n")
    (site / "huge.egg-link").write_text("x" * (script.SMALL_CAP + 1))
    (site / "README.txt").write_text("ignored")
    (src / "devpkg.egg-info").mkdir(parents=True)
    (src / "devpkg.egg-info" / "PKG-INFO").write_text("Name: devpkg\nVersion: 0.1\n")
    egg = root / "zeta-1.0-py3.11.egg"
    (egg / "EGG-INFO").mkdir(parents=True)
    (egg / "EGG-INFO" / "PKG-INFO").write_text("Name: zeta\nVersion: 1.0\n")
    with zipfile.ZipFile(root / "bundle.zip", "w") as bundle:
        bundle.writestr("eta-1.0.dist-info/METADATA", "Name: eta\nVersion: 1.0\n")
        bundle.writestr("eta/__init__.py", "")
    return site, src


def _tree(path: Path, budget: CaptureBudget) -> Any:
    """``path`` as the engine's archive API sends it (its own name first), read as --static."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        tar.add(path, arcname=path.name)
    buffer.seek(0)
    return read_tree(buffer, os.fspath(path), budget)


def _facts(found: Any) -> tuple[Any, ...]:
    candidates = [
        (c.kind, os.path.normpath(c.location), c.file_name, c.via_egg_link)
        for c in found.candidates
    ]
    return candidates, sorted(found.egg_link_names), list(found.warnings)


@pytest.mark.skipif(os.name != "posix", reason="an image's paths are POSIX paths")
def test_disk_and_tar_streams_give_the_same_walk(tmp_path: Path) -> None:
    site, src = _site(tmp_path)
    entries = [
        os.fspath(p) for p in (site, tmp_path / "zeta-1.0-py3.11.egg", tmp_path / "bundle.zip")
    ]
    entries.append(os.fspath(tmp_path / "missing"))
    on_disk = script.Walk(entries).run()
    budget = CaptureBudget()
    trees = {entry: _tree(Path(entry), budget) for entry in entries[:3]}
    trees[os.fspath(src)] = _tree(src, budget)
    from_image = walk(entries, trees)
    assert _facts(from_image) == _facts(on_disk)
    names = [c.file_name for c in on_disk.candidates]
    assert names == [
        "alpha-1.0.dist-info",
        "beta-2.0.egg-info",
        "gamma-3.0-py3.11.egg-info",
        "devpkg.egg-info",
        "zeta-1.0-py3.11.egg",
        "eta-1.0.dist-info",
    ]
    assert any("odd-1.0.dist-info is not a directory" in w for w in on_disk.warnings)
    assert any("huge.egg-link is larger than" in w for w in on_disk.warnings)


def test_static_walk_is_the_probe_s_walk() -> None:
    """--static has no walk of its own: it runs the probe's, through TreeFiles."""
    assert not any(name.startswith("_scan") for name in vars(image_files))
    files = TreeFiles({})
    for method in ("listdir", "kind", "read_small", "source", "open_zip", "zip_source"):
        assert callable(getattr(files, method)) and callable(getattr(script.OsFiles(), method))
