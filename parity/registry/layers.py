"""Image layers streamed into one file index, keeping only what the static read needs.

Each layer is read once, in order, as its bytes arrive: every path's kind, size, mode and
link target go into the index (a tree of small nodes); file bodies are kept only where
:func:`keep_rule` says the static read may need them: Python metadata (the probe's own
capture rules), ``.pth`` and ``.egg-link`` files, ``pyvenv.cfg``, ``patchlevel.h`` and
``site.py``, os-release, passwd and the package databases, eggs; of interpreters,
libpython and libc only the version strings their patterns can match. Whiteouts
(``.wh.NAME``, ``.wh..wh..opq``) remove what lower layers put there, as overlayfs does.

:class:`LayerFiles` answers the static reader's questions (stat, follow, read, archive)
from that index, so the registry and archive sources run the very reader ``--static`` runs
through the engine's archive API.
"""

from __future__ import annotations

import hashlib
import importlib
import io
import posixpath
import queue
import re
import tarfile
import threading
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import IO, Any, BinaryIO, Protocol

from parity.errors import SourceError
from parity.probe.file_access import (
    MAX_LINK_HOPS,
    MODE_DEVICE,
    MODE_DIR,
    MODE_SYMLINK,
    FileAccess,
    PathStat,
)
from parity.probe.image_files import FILE_CAP, SMALL_CAP, ZIP_CAP
from parity.probe.image_reader import BINARY_CAP

_probe: Any = importlib.import_module("parity.probe.script")

CHUNK = 1024 * 1024
_TAR_BUFFER = 256 * 1024  # tarfile copies what is left of its buffer at every header
_METADATA_PARENTS = (".dist-info", ".egg-info")
_METADATA_SMALL = {"INSTALLER": SMALL_CAP, "requires.txt": FILE_CAP, "direct_url.json": FILE_CAP}
_WHOLE_PATHS = {
    "/etc/os-release": SMALL_CAP,
    "/usr/lib/os-release": SMALL_CAP,
    "/etc/passwd": FILE_CAP,
    "/etc/debian_version": SMALL_CAP,
    "/var/lib/dpkg/status": BINARY_CAP,
    "/lib/apk/db/installed": BINARY_CAP,
    "/usr/lib/apk/db/installed": BINARY_CAP,
}
SCRIPT_CAP = 64 * 1024  # a script or small config the interpreter's choice may read
# Small files choosing the interpreter may read: a project's and Poetry's settings.
_SETTINGS_NAMES = frozenset({"pyproject.toml", "poetry.toml", "config.toml"})
_BINARY_NAME = re.compile(
    r"^(python\d[\d.]*[a-z]*|libpython\d.*\.so.*|libc\.so\.6|libc-\d+\.\d+\.so)$"
)
# What version_from_binary and glibc_from_binary look for, kept from binaries.
_VERSION_STRING = re.compile(rb"(?<=\x00)\d+\.\d+\.\d+(?:(?:a|b|rc)\d+)?\+?(?=\x00)")
_GLIBC_BANNER = re.compile(rb"release version \d+\.\d+")
_OVERLAP = 64
_GZIP_MAGIC = b"\x1f\x8b"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


class Readable(Protocol):
    """A blob's bytes as they arrive (a file, a tar member, an HTTP body)."""

    def read(self, size: int = -1, /) -> bytes: ...


class LayerError(SourceError):
    """A layer that is corrupt, truncated, or not what its manifest says."""


# --- what to keep --------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """How much of a file to keep: "headers" (the probe's header read), "small" (cap + 1
    bytes, as read_tree reads), "whole" (the file when at most ``cap``), "strings"."""

    how: str
    cap: int


def keep_rule(
    path: str, extra: frozenset[str] = frozenset(), programs: frozenset[str] = frozenset()
) -> Rule | None:
    """What of the regular file at ``path`` (as the layer names it) the static read needs.

    ``extra``: paths kept whole (a zip on $PYTHONPATH); ``programs``: the file names of the
    image's entrypoint and command, kept when small (a script's ``#!`` line names its Python).
    """
    if path in _WHOLE_PATHS:
        return Rule("whole", _WHOLE_PATHS[path])
    parent, name = posixpath.split(path)
    lower = name.lower()
    parent_name = posixpath.basename(parent)
    if parent_name.lower().endswith(_METADATA_PARENTS) or parent_name == "EGG-INFO":
        if name in ("METADATA", "PKG-INFO"):
            return Rule("headers", FILE_CAP)
        if name in _METADATA_SMALL:
            return Rule("small", _METADATA_SMALL[name])
    if lower.endswith(".pth"):
        return Rule("small", FILE_CAP)
    if lower.endswith(".egg-link"):
        return Rule("small", SMALL_CAP)
    if lower.endswith(".egg-info"):
        return Rule("headers", FILE_CAP)
    if name == "pyvenv.cfg":
        return Rule("whole", SMALL_CAP)
    if path in extra or lower.endswith(".egg"):
        return Rule("whole", ZIP_CAP)
    grandparent = posixpath.basename(posixpath.dirname(parent))
    if name == "patchlevel.h" and grandparent == "include":
        return Rule("whole", FILE_CAP)
    if name == "site.py" and parent_name.startswith("python") and grandparent.startswith("lib"):
        return Rule("whole", FILE_CAP)
    if _BINARY_NAME.match(name):
        return Rule("strings", BINARY_CAP)
    if name in _SETTINGS_NAMES or name in programs:
        return Rule("whole", SCRIPT_CAP)
    return None


def _keep(stream: IO[bytes], size: int, rule: Rule) -> bytes | None:
    if rule.how == "headers":
        recorder = _Recorder(stream)
        _probe.read_header_block(recorder, rule.cap)
        return b"".join(recorder.pieces)
    if rule.how == "small":
        return stream.read(rule.cap + 1)
    if size > rule.cap:
        return None
    if rule.how == "whole":
        return stream.read(rule.cap)
    return _strings(stream)


class _Recorder:
    """Records what ``read_header_block`` reads, so a later read of it gives the same."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.pieces: list[bytes] = []

    def readline(self, size: int = -1) -> bytes:
        piece = self.stream.readline(size)
        self.pieces.append(piece)
        return piece


def _strings(stream: IO[bytes]) -> bytes:
    """The version strings and glibc banners of a binary, each between NULs."""
    found: list[bytes] = []
    seen: set[bytes] = set()
    tail = b""
    while True:
        chunk = stream.read(CHUNK)
        if not chunk:
            break
        window = tail + chunk
        for pattern in (_VERSION_STRING, _GLIBC_BANNER):
            for match in pattern.finditer(window):
                if match.group(0) not in seen:
                    seen.add(match.group(0))
                    found.append(match.group(0))
        tail = window[-_OVERLAP:]
    return b"".join(b"\x00" + item + b"\x00" for item in found)


# --- the index ------------------------------------------------------------------------------


class Node:
    """One path: kind ("dir", "file", "symlink", "other"), mode, size, link, kept body."""

    __slots__ = ("body", "children", "implied", "kind", "link", "mode", "size")

    def __init__(self, kind: str, mode: int = 0o755, size: int = 0, link: str = "") -> None:
        self.kind = kind
        self.mode = mode
        self.size = size
        self.link = link
        self.body: bytes | None = None
        self.children: dict[str, Node] | None = {} if kind == "dir" else None
        self.implied = False  # a directory no tar entry named (its parent of something)

    def copy_file(self) -> Node:
        node = Node(self.kind, self.mode, self.size, self.link)
        node.body = self.body
        return node


def _parts(name: str) -> list[str]:
    return [part for part in name.split("/") if part not in ("", ".", "..")]


class ImageTree:
    """The merged file tree of an image's layers."""

    def __init__(
        self, keep_also: frozenset[str] = frozenset(), programs: frozenset[str] = frozenset()
    ) -> None:
        self.root = Node("dir")
        self.keep_also = keep_also  # absolute paths kept whole (a zip on $PYTHONPATH)
        self.programs = programs  # file names of the image's entrypoint and command

    def lookup(self, parts: list[str], root: Node | None = None) -> Node | None:
        node = root or self.root
        for part in parts:
            if node.children is None:
                return None
            found = node.children.get(part)
            if found is None:
                return None
            node = found
        return node

    def apply_layer(self, stream: IO[bytes], label: str) -> None:
        """Merge one uncompressed layer tar over what the layers below it made."""
        layer = Node("dir")
        whiteouts: list[list[str]] = []
        opaque: list[list[str]] = []
        try:
            with tarfile.open(fileobj=stream, mode="r|", bufsize=_TAR_BUFFER) as tar:
                for info in tar:
                    parts = _parts(info.name)
                    if not parts:
                        continue
                    name = parts[-1]
                    if name == ".wh..wh..opq":
                        opaque.append(parts[:-1])
                        continue
                    if name.startswith(".wh."):
                        whiteouts.append([*parts[:-1], name[4:]])
                        continue
                    node = self._node(tar, info, parts, layer)
                    _insert(layer, parts, node)
        except (tarfile.TarError, EOFError, zlib.error, OSError) as error:
            raise LayerError(f"is not a readable tar ({error})", label) from None
        for parts in whiteouts:
            parent = self.lookup(parts[:-1])
            if parent is not None and parent.children is not None:
                parent.children.pop(parts[-1], None)
        for parts in opaque:
            directory = self.lookup(parts)
            if directory is not None and directory.children is not None:
                directory.children.clear()
        _merge(self.root, layer)

    def _node(
        self, tar: tarfile.TarFile, info: tarfile.TarInfo, parts: list[str], layer: Node
    ) -> Node:
        mode = info.mode & 0o7777
        if info.isdir():
            return Node("dir", mode)
        if info.issym():
            return Node("symlink", mode, 0, info.linkname)
        if info.islnk():
            target_parts = _parts(info.linkname)
            target = self.lookup(target_parts, layer) or self.lookup(target_parts)
            if target is not None and target.kind == "file":
                return target.copy_file()
            return Node("file", mode)
        if not info.isreg():
            return Node("other", mode)
        node = Node("file", mode, info.size)
        rule = keep_rule("/" + "/".join(parts), self.keep_also, self.programs)
        if rule is not None:
            extracted = tar.extractfile(info)
            if extracted is not None:
                node.body = _keep(extracted, info.size, rule)
        return node


def _insert(layer: Node, parts: list[str], node: Node) -> None:
    directory = layer
    for part in parts[:-1]:
        assert directory.children is not None
        child = directory.children.get(part)
        if child is None or child.kind != "dir":
            child = Node("dir")
            child.implied = True
            directory.children[part] = child
        directory = child
    assert directory.children is not None
    existing = directory.children.get(parts[-1])
    if node.kind == "dir" and existing is not None and existing.kind == "dir":
        existing.mode, existing.implied = node.mode, False
        return
    directory.children[parts[-1]] = node


def _merge(base: Node, layer: Node) -> None:
    assert base.children is not None and layer.children is not None
    for name, node in layer.children.items():
        below = base.children.get(name)
        if node.kind == "dir" and below is not None and below.kind == "dir":
            if not node.implied:
                below.mode = node.mode
            _merge(below, node)
        else:
            base.children[name] = node


# --- reading a layer blob ---------------------------------------------------------------------


class VerifiedStream(io.RawIOBase):
    """Reads a blob's raw bytes, counting and hashing them for :meth:`verify`."""

    def __init__(self, raw: Readable, on_read: Callable[[int], None] | None = None) -> None:
        self.raw = raw
        self.sha256 = hashlib.sha256()
        self.count = 0
        self.on_read = on_read

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.raw.read(len(buffer))
        if not data:
            return 0
        count = len(data)
        buffer[:count] = data
        self.sha256.update(data)
        self.count += count
        if self.on_read is not None:
            self.on_read(count)
        return count

    def drain(self) -> None:
        """Read what is left of the blob."""
        while self.readinto(bytearray(CHUNK)):
            pass

    def problem(self, digest: str, size: int) -> str | None:
        """Why the bytes read are not the blob the manifest names, or None."""
        if size and self.count < size:
            return f"is truncated ({self.count} of {size} bytes)"
        if size and self.count > size:
            return f"is longer than the manifest says ({self.count} bytes, not {size})"
        algorithm, _, expected = digest.partition(":")
        if algorithm == "sha256" and self.sha256.hexdigest() != expected:
            return "is corrupt (its bytes do not match the manifest's digest)"
        return None  # only sha256 is computed; other algorithms are trusted as sent


def decompressed(stream: io.RawIOBase, label: str) -> Iterator[bytes]:
    """The uncompressed tar of a layer, in chunks: gzip, zstd or plain, told by its first
    bytes. gzip goes to zlib a megabyte at a time (GzipFile's small reads cost more)."""
    buffered = io.BufferedReader(stream, CHUNK)
    head = buffered.peek(4)[:4]
    if head.startswith(_GZIP_MAGIC):
        yield from _gunzip(buffered)
        return
    source: IO[bytes] = buffered
    if head == _ZSTD_MAGIC:
        source = _zstd_module(label).ZstdFile(buffered, mode="rb")
    while True:
        chunk = source.read(CHUNK)
        if not chunk:
            return
        yield chunk


def _gunzip(stream: IO[bytes]) -> Iterator[bytes]:
    """gzip members one after another, NUL padding allowed between them and after the last
    (as GzipFile allows); zlib checks each member's CRC and length."""
    inflater = zlib.decompressobj(31)
    fed = False  # the current member has begun
    while True:
        data = stream.read(CHUNK)
        if not data:
            break
        while data:
            if not fed:
                data = data.lstrip(b"\x00")
                if not data:
                    break
            fed = True
            out = inflater.decompress(data)
            if out:
                yield out
            data = b""
            if inflater.eof:
                data = inflater.unused_data
                inflater, fed = zlib.decompressobj(31), False
    if fed:
        raise EOFError("the compressed stream ended before its end marker")


def _zstd_module(label: str) -> Any:
    """compression.zstd (Python 3.14+), else its backport, the optional parity[zstd]."""
    for name in ("compression.zstd", "backports.zstd"):
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    raise LayerError(
        "is compressed with zstd, which this Python cannot read: "
        "pip install 'docker-env-parity[zstd]' (backports.zstd)",
        label,
    )


def read_layer(tree: ImageTree, raw: Readable, digest: str, size: int, label: str) -> None:
    """Stream one layer blob into ``tree``, then check its size and digest.

    A thread receives, hashes and decompresses (zlib and hashlib release the GIL) while
    this one reads the tar: the two overlap, and at most a few chunks wait in between.
    """
    verified = VerifiedStream(raw)
    pipe = _Pipe(verified, label)
    try:
        tree.apply_layer(io.BufferedReader(pipe, CHUNK), label)
        pipe.finish()
    except (LayerError, zlib.error, EOFError, OSError) as error:
        pipe.stop()
        reason = error.reason if isinstance(error, LayerError) else f"is not readable ({error})"
        with suppress(zlib.error, EOFError, OSError):
            verified.drain()
        raise LayerError(verified.problem(digest, size) or reason, label) from None
    except BaseException:
        pipe.stop()
        raise
    problem = verified.problem(digest, size)
    if problem:
        raise LayerError(problem, label)


class _Pipe(io.RawIOBase):
    """The decompressed bytes of a blob, produced by a thread, read here."""

    _DEPTH = 4

    def __init__(self, verified: VerifiedStream, label: str) -> None:
        self.queue: queue.Queue[bytes | BaseException | None] = queue.Queue(self._DEPTH)
        self.stopped = threading.Event()
        self.pending = memoryview(b"")
        self.done = False
        self.thread = threading.Thread(target=self._produce, args=(verified, label), daemon=True)
        self.thread.start()

    def _put(self, item: bytes | BaseException | None) -> bool:
        while not self.stopped.is_set():
            try:
                self.queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _produce(self, verified: VerifiedStream, label: str) -> None:
        try:
            for chunk in decompressed(verified, label):
                if not self._put(chunk):
                    return
            verified.drain()
            self._put(None)
        except BaseException as error:  # handed to the reading thread, raised there
            self._put(error)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if not self.pending:
            if self.done:
                return 0
            item = self.queue.get()
            if item is None or isinstance(item, BaseException):
                self.done = True
                self.thread.join()
                if item is None:
                    return 0
                raise item
            self.pending = memoryview(item)
        count = min(len(buffer), len(self.pending))
        buffer[:count] = self.pending[:count]
        self.pending = self.pending[count:]
        return count

    def finish(self) -> None:
        """Read to the end (the tar's padding), so the whole blob is hashed."""
        while self.readinto(bytearray(CHUNK)):
            pass

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join()


# --- the static reader's view of the tree ------------------------------------------------------


class LayerFiles(FileAccess):
    """The image's files as the static reader asks for them, answered from an ImageTree.

    The engine's archive API (stat, follow, realpath, archive) is what the static reader
    speaks; here the stats come from the index and an archive is a small tar made from it.
    """

    def __init__(self, tree: ImageTree, subject: str) -> None:
        super().__init__(subject)
        self.tree = tree
        self.missed: list[str] = []  # files read whose body was not kept (a rule to add)

    def _resolve(self, path: str, follow_last: bool) -> tuple[str, Node] | None:
        parts = _parts(path)
        node = self.tree.root
        real: list[str] = []
        hops = 0
        index = 0
        while index < len(parts):
            if node.children is None:
                return None
            child = node.children.get(parts[index])
            if child is None:
                return None
            last = index == len(parts) - 1
            if child.kind == "symlink" and (not last or follow_last):
                hops += 1
                if hops > MAX_LINK_HOPS:
                    return None
                target = posixpath.join("/" + "/".join(real), child.link)
                parts = _parts(posixpath.normpath(target)) + parts[index + 1 :]
                node, real, index = self.tree.root, [], 0
                continue
            real.append(parts[index])
            node = child
            index += 1
        return "/" + "/".join(real), node

    def _head(self, path: str) -> PathStat | None:
        found = self._resolve(path, follow_last=False)
        if found is None:
            return None
        real, node = found
        mode = node.mode & 0o777
        link = ""
        if node.kind == "dir":
            mode |= MODE_DIR
        elif node.kind == "symlink":
            mode |= MODE_SYMLINK
            link = posixpath.normpath(posixpath.join(posixpath.dirname(real), node.link))
        elif node.kind == "other":
            mode |= MODE_DEVICE
        return PathStat(posixpath.basename(real), node.size, mode, link)

    def _node(self, path: str) -> tuple[str, Node] | None:
        return self._resolve(path, follow_last=True)

    def read_file(self, path: str, cap: int) -> bytes | None:
        found = self._node(path)
        if found is None or found[1].kind != "file" or found[1].size > cap:
            return None
        if found[1].body is None and found[1].size:
            self.missed.append(found[0])
            return None
        return found[1].body or b""

    @contextmanager
    def archive(self, path: str) -> Iterator[tuple[BinaryIO, PathStat] | None]:
        found = self._node(path)
        stat = self.stat(found[0]) if found is not None else None
        if found is None or stat is None:
            yield None
            return
        yield _tar_of(found[1]), stat


def _tar_of(node: Node) -> BinaryIO:
    """A tar of ``node`` as the engine's archive API would send it, cut to what read_tree
    reads: the root, its children, and the members of metadata directories."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        _add(tar, "root", node)
        for name, child in sorted((node.children or {}).items()):
            _add(tar, f"root/{name}", child)
            if child.kind == "dir" and (
                name.lower().endswith(_METADATA_PARENTS) or name == "EGG-INFO"
            ):
                for member, grandchild in sorted((child.children or {}).items()):
                    _add(tar, f"root/{name}/{member}", grandchild)
    buffer.seek(0)
    return buffer


def _add(tar: tarfile.TarFile, name: str, node: Node) -> None:
    info = tarfile.TarInfo(name)
    info.mode = node.mode & 0o7777
    if node.kind == "dir":
        info.type = tarfile.DIRTYPE
    elif node.kind == "symlink":
        info.type, info.linkname = tarfile.SYMTYPE, node.link
    elif node.kind == "other":
        info.type = tarfile.FIFOTYPE
    else:
        body = node.body or b""
        info.size = len(body)
        tar.addfile(info, io.BytesIO(body))
        return
    tar.addfile(info)
