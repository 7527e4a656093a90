"""The build key: everything that decides a plain Dockerfile build, hashed (pure, no engine).

parity labels the image it builds with the key (``io.parity.build-key``); a later check
whose key equals the label of the image parity's tag names skips the build. The key holds
the Dockerfile's bytes, the ``.dockerignore`` rules, every file and folder of the build
context they leave in (relative path, type and mode, size, mtime and ctime in ns, inode,
owner: ``stat`` only, no file is read), the build options, the image IDs of every image
the Dockerfile names (``FROM``, ``COPY --from``, ``RUN --mount=from=``) and the builder. A
Dockerfile whose inputs cannot be known without building (``ADD`` of a URL or git
repository, a ``# syntax=`` frontend, an image reference still holding a ``$``) has no
key, and neither has a build with ``--pull`` or ``--no-cache``.

As ``git`` does, a file is taken as unchanged while its size, times and inode are; a
file changed within :data:`RACY_SECONDS` of the key (when one mtime tick could hide a
second change) makes the key not :attr:`BuildKey.stable`, and an unstable key is never
stored.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from parity.dockerfile import DOCKERIGNORE, DockerIgnore, _has_exception

KEY_VERSION = "parity-build-key/1"
RACY_SECONDS = 2.0

_ADD_REMOTE = re.compile(
    r"^\s*ADD\s+(?:--\S+\s+)*.*(?:\b[a-z][a-z0-9+.-]*://|git@)", re.IGNORECASE | re.MULTILINE
)
_COPY_FROM = re.compile(r"^\s*(?:COPY|ADD)\s+(?:--\S+\s+)*?--from=(\S+)", re.IGNORECASE)
_MOUNT_FROM = re.compile(r"--mount=\S*?\bfrom=([^,\s]+)", re.IGNORECASE)
_STAGE = re.compile(r"^\s*FROM\s+(?:--\S+\s+)*\S+\s+AS\s+(\S+)", re.IGNORECASE)
_SYNTAX = re.compile(r"^\s*#\s*syntax\s*=", re.IGNORECASE)


@dataclass(frozen=True)
class BuildKey:
    """A build's key, and whether it may be stored (no racily recent file)."""

    value: str
    stable: bool


def unkeyable_reason(dockerfile_text: str) -> str | None:
    """Why a Dockerfile's build cannot be keyed without building it, or None."""
    for line in dockerfile_text.splitlines():
        if not line.strip():
            continue
        if not line.lstrip().startswith("#"):
            break
        if _SYNTAX.match(line):
            return "a # syntax= frontend"
    if _ADD_REMOTE.search(dockerfile_text):
        return "ADD of a URL or git repository"
    return None


def named_images(
    dockerfile_text: str, from_references: list[str], unresolved_from: bool
) -> list[str] | None:
    """Every image the Dockerfile names: its FROM images (``from_references``, stages left
    out) and the images of ``COPY --from`` and ``RUN --mount=from=``. None when one of them
    is not known before the build (a ``$`` left in it)."""
    if unresolved_from:
        return None
    stages = {
        match.group(1).lower() for match in map(_STAGE.match, dockerfile_text.splitlines()) if match
    }
    images = list(from_references)
    for line in dockerfile_text.splitlines():
        found = [m.group(1) for m in (_COPY_FROM.match(line),) if m]
        found += _MOUNT_FROM.findall(line)
        for reference in found:
            reference = reference.strip("\"'")
            if reference.lower() in stages or reference.isdigit():
                continue
            if "$" in reference:
                return None
            images.append(reference)
    return sorted(set(images))


def context_entries(
    context_dir: str, ignore: DockerIgnore, *, now: float, racy_seconds: float = RACY_SECONDS
) -> tuple[list[str], bool]:
    """One line per entry of the build context the ignore rules leave in, sorted, and
    whether no entry changed within ``racy_seconds`` of ``now`` (``stat`` only)."""
    lines: list[str] = []
    newest = 0
    stack = [("", context_dir)]
    while stack:
        prefix, directory = stack.pop()
        try:
            entries = list(os.scandir(directory))
        except OSError as error:
            lines.append(f"E {prefix} {error.errno}")
            continue
        for entry in entries:
            relative = prefix + entry.name
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                lines.append(f"E {relative}")
                continue
            is_dir = stat.S_ISDIR(info.st_mode)
            if ignore.excludes(relative):
                if is_dir and _has_exception(ignore, relative):
                    stack.append((relative + "/", entry.path))
                continue
            newest = max(newest, info.st_mtime_ns, info.st_ctime_ns)
            line = (
                f"{relative}\0{info.st_mode:o}\0{info.st_size}\0{info.st_mtime_ns}"
                f"\0{info.st_ctime_ns}\0{info.st_ino}\0{info.st_uid}\0{info.st_gid}"
            )
            if stat.S_ISLNK(info.st_mode):
                try:
                    line += "\0" + os.readlink(entry.path)
                except OSError:
                    line += "\0?"
            lines.append(line)
            if is_dir:
                stack.append((relative + "/", entry.path))
    lines.sort()
    stable = newest < (now - racy_seconds) * 1_000_000_000
    return lines, stable


def build_key(
    *,
    context_dir: str,
    dockerfile: str,
    dockerfile_bytes: bytes,
    options: Mapping[str, object],
    image_ids: Mapping[str, str],
    builder: str,
    now: float,
    read_bytes: Callable[[str], bytes | None],
) -> BuildKey:
    """The key of a build (see the module's docstring); ``options`` are the build options
    as plain values, ``image_ids`` the image ID of every image the Dockerfile names."""
    digest = hashlib.sha256()

    def add(*parts: object) -> None:
        for part in parts:
            data = part if isinstance(part, bytes) else str(part).encode("utf-8", "surrogateescape")
            digest.update(len(data).to_bytes(8, "big") + data)

    context_dir = os.path.abspath(context_dir)
    add(KEY_VERSION, context_dir, os.path.abspath(dockerfile), dockerfile_bytes, builder)
    for name in sorted(options):
        add(name, repr(options[name]))
    for reference in sorted(image_ids):
        add(reference, image_ids[reference])
    # BuildKit reads <Dockerfile>.dockerignore next to the Dockerfile first, then the
    # context's .dockerignore.
    specific = read_bytes(dockerfile + ".dockerignore")
    rules = (
        specific if specific is not None else read_bytes(os.path.join(context_dir, DOCKERIGNORE))
    )
    add(rules if rules is not None else b"\0none")
    ignore = DockerIgnore((rules or b"").decode("utf-8", "replace").splitlines())
    lines, stable = context_entries(context_dir, ignore, now=now)
    for line in lines:
        add(line)
    return BuildKey(digest.hexdigest(), stable)
