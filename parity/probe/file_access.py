"""Stat and read an image's files, whoever answers: the interface the static reader and the
interpreter's choice speak (pure: no engine, no network).

The questions are those of the engine's archive API: the stat of one path (a symlink not
followed), and a path's tar stream. :class:`FileAccess` answers the rest (following links,
``realpath``, reading one small file) from those two. The engine answers through
``parity.engine.interpreters.ContainerFiles``; an image's registry layers through
``parity.registry.layers.LayerFiles``.
"""

from __future__ import annotations

import base64
import json
import posixpath
import tarfile
import time
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import BinaryIO

from parity.errors import ProbeError

MAX_LINK_HOPS = 40

# Go's os.FileMode bits, as the engine reports them in an archive stat.
MODE_DIR = 1 << 31
MODE_SYMLINK = 1 << 27
MODE_DEVICE = 1 << 26
_MODE_TYPE = MODE_DIR | MODE_SYMLINK | MODE_DEVICE | (1 << 25) | (1 << 24) | (1 << 21) | (1 << 19)


@dataclass(frozen=True)
class PathStat:
    """What the engine says about one path in a container (the path itself, not followed)."""

    name: str
    size: int
    mode: int
    link_target: str  # a symlink's target, fully resolved inside the container's root

    @property
    def is_dir(self) -> bool:
        return bool(self.mode & MODE_DIR)

    @property
    def is_symlink(self) -> bool:
        return bool(self.mode & MODE_SYMLINK)

    @property
    def is_regular(self) -> bool:
        return not self.mode & _MODE_TYPE

    @property
    def is_executable(self) -> bool:
        return self.is_regular and bool(self.mode & 0o111)

    @classmethod
    def from_header(cls, header: str) -> PathStat:
        """Decode the ``X-Docker-Container-Path-Stat`` header (base64 JSON)."""
        data = json.loads(base64.b64decode(header))
        return cls(
            name=str(data.get("name", "")),
            size=int(data.get("size", 0)),
            mode=int(data.get("mode", 0)),
            link_target=str(data.get("linkTarget") or ""),
        )


class FileAccess:
    """An image's (or container's) files: a stat per path (cached) and a tar per path.

    A subclass answers :meth:`_head` (the stat of the path itself) and :meth:`archive`.
    """

    def __init__(self, subject: str, deadline: float | None = None) -> None:
        self.subject = subject  # "image myapp:latest", for messages
        self.deadline = deadline
        self._stats: dict[str, PathStat | None] = {}

    def _check_deadline(self) -> None:
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise ProbeError(f"{self.subject}: reading the image's files took too long; stopped")

    def stat(self, path: str) -> PathStat | None:
        """The path itself (a symlink is not followed); None when it does not exist."""
        path = posixpath.normpath(path)
        if path not in self._stats:
            self._check_deadline()
            self._stats[path] = self._head(path)
        return self._stats[path]

    def _head(self, path: str) -> PathStat | None:
        raise NotImplementedError

    def archive(self, path: str) -> AbstractContextManager[tuple[BinaryIO, PathStat] | None]:
        """The tar stream of ``path`` (a symlink followed first); None when it does not exist."""
        raise NotImplementedError

    def follow(self, path: str) -> tuple[str, PathStat] | None:
        """(resolved path, stat of what it points to); None when missing or dangling."""
        path = posixpath.normpath(path)
        for _ in range(MAX_LINK_HOPS):
            found = self.stat(path)
            if found is None:
                return None
            if not found.is_symlink:
                return path, found
            path = posixpath.normpath(posixpath.join(posixpath.dirname(path), found.link_target))
        return None

    def realpath(self, path: str) -> str:
        """``path`` with every symlink (of the file and of its directories) resolved."""
        path = posixpath.normpath(path)
        if path == "/":
            return path
        found = self.stat(path)
        if found is not None and found.is_symlink:
            followed = self.follow(path)
            return followed[0] if followed else path
        parent = self.realpath(posixpath.dirname(path))
        return posixpath.join(parent, posixpath.basename(path))

    def exists(self, path: str) -> bool:
        return self.follow(path) is not None

    def is_dir(self, path: str) -> bool:
        followed = self.follow(path)
        return followed is not None and followed[1].is_dir

    def read_file(self, path: str, cap: int) -> bytes | None:
        """A regular file's bytes; None when missing, not a regular file, or over ``cap``."""
        followed = self.follow(path)
        if followed is None or not followed[1].is_regular or followed[1].size > cap:
            return None
        with self.archive(path) as opened:
            if opened is None:
                return None
            stream, _ = opened
            with tarfile.open(fileobj=stream, mode="r|") as tar:
                for member in tar:
                    if member.isreg() and member.size <= cap:
                        extracted = tar.extractfile(member)
                        return extracted.read(cap) if extracted is not None else None
                    return None
        return None
