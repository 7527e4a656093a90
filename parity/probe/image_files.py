"""Reading an image's installed distributions from its files, without running anything.

Pure: everything here turns tar streams (as the engine's archive API sends them) and facts
read from files into the probe's JSON document, which :func:`parity.probe.parse.parse_probe_output`
then checks like any probe output. The rules are the probe's own: the probe's ``Walk``
runs over the trees through :class:`TreeFiles` (the probe's file-system interface, which
it otherwise fills with ``OsFiles``), and the probe's ``Reader`` and ``select`` (first
distribution of each name wins, freeze's skip list, editables) decide, so ``--static``
and the probe cannot drift apart.

Differences from the probe, by design: the standard library directories are not scanned
(they hold only the names ``pip freeze`` skips: python, wsgiref, argparse); ``import`` lines
of ``.pth`` files are not executed (a warning names any that edits ``sys.path``); metadata
files that are symlinks are not followed; ``platform_version`` (``uname -v``) is unknown.
"""

from __future__ import annotations

import importlib
import io
import json
import posixpath
import re
import tarfile
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, BinaryIO

_probe: Any = importlib.import_module("parity.probe.script")

FILE_CAP: int = _probe.FILE_CAP
SMALL_CAP: int = _probe.SMALL_CAP
TOTAL_CAP: int = _probe.TOTAL_CAP
ZIP_CAP = TOTAL_CAP  # a zip archive on sys.path is read whole, up to this size
_TAR_BUFFER = 1024 * 1024
_METADATA_DIRS = (".dist-info", ".egg-info")
_HEADER_MEMBERS = ("METADATA", "PKG-INFO")
_SMALL_MEMBERS = {"INSTALLER": SMALL_CAP, "requires.txt": FILE_CAP, "direct_url.json": FILE_CAP}
_MACHINES = {
    "amd64": "x86_64",
    "arm64": "aarch64",
    "arm": "armv7l",
    "386": "i686",
    "ppc64le": "ppc64le",
    "s390x": "s390x",
    "riscv64": "riscv64",
}
_PY_VERSION_DEFINE = re.compile(rb'#define\s+PY_VERSION\s+"([^"]+)"')
_GLIBC_FILE = re.compile(r"^libc-(\d+\.\d+)\.so$")
_GLIBC_BANNER = re.compile(rb"release version (\d+\.\d+)")
_APK_MUSL = re.compile(r"^P:musl\nV:(\d[^\s-]*)", re.MULTILINE)


# --- tar streams -----------------------------------------------------------------------


@dataclass(frozen=True)
class Member:
    """One archive member: its kind ("dir", "file", "symlink", "hardlink", "other")."""

    kind: str
    size: int = 0
    link: str = ""  # a hard link's target, relative to the tree's root


@dataclass(frozen=True)
class Captured:
    """A metadata file's bytes, read as the probe reads it (header block, or capped whole)."""

    data: bytes = b""
    hit_cap: bool = False
    problem: str | None = None  # why it could not be read ("is not a regular file")


class CaptureBudget:
    """Bytes kept in memory from all trees together, against the probe's TOTAL_CAP."""

    def __init__(self, total: int = TOTAL_CAP) -> None:
        self.total = total
        self.used = 0

    def allows(self) -> bool:
        return self.used < self.total

    def spend(self, count: int) -> None:
        self.used += count


@dataclass(frozen=True)
class Tree:
    """One path of the image as the archive API sent it: a directory, a file, or nothing."""

    path: str
    root: Member | None  # None: the path does not exist
    members: Mapping[str, Member] = field(default_factory=dict)  # relative path -> member
    captured: Mapping[str, Captured] = field(default_factory=dict)
    body: bytes | None = None  # a regular file's bytes (a zip on sys.path), within ZIP_CAP

    @property
    def is_dir(self) -> bool:
        return self.root is not None and self.root.kind == "dir"

    @property
    def is_file(self) -> bool:
        return self.root is not None and self.root.kind == "file"

    def listing(self) -> list[str]:
        """Top-level names, sorted as the probe sorts ``os.listdir``."""
        return sorted(name for name in self.members if "/" not in name)


def missing_tree(path: str) -> Tree:
    return Tree(path, None)


def read_tree(stream: BinaryIO, path: str, budget: CaptureBudget) -> Tree:
    """Read the archive of ``path``: names, and only the metadata bodies the probe reads.

    File bodies that are not needed are skipped as the stream goes by (never kept).
    """
    is_egg = path.lower().rstrip("/").endswith(".egg")
    root: Member | None = None
    members: dict[str, Member] = {}
    captured: dict[str, Captured] = {}
    body: bytes | None = None
    with tarfile.open(fileobj=stream, mode="r|", bufsize=_TAR_BUFFER) as tar:
        for info in tar:
            parts = _relative_parts(info.name)
            member = _member(info)
            if not parts:
                root = member
                if member.kind == "file" and info.size <= ZIP_CAP:
                    body = _read(tar, info, ZIP_CAP)
                continue
            if not _is_recorded(parts, is_egg):
                continue
            relative = "/".join(parts)
            members[relative] = member
            wanted = _capture_rule(parts, is_egg)
            if wanted is not None and member.kind != "dir":
                captured[relative] = _capture(tar, info, member, wanted, captured, budget)
    return Tree(path, root, members, captured, body)


def _relative_parts(name: str) -> tuple[str, ...]:
    """A member's path below the archive's root (the first component is the root itself)."""
    parts = [part for part in name.split("/") if part not in ("", ".")]
    return tuple(parts[1:])


def _member(info: tarfile.TarInfo) -> Member:
    if info.isdir():
        return Member("dir")
    if info.isreg():
        return Member("file", info.size)
    if info.issym():
        return Member("symlink")
    if info.islnk():
        return Member("hardlink", link="/".join(_relative_parts(info.linkname)))
    return Member("other")


def _is_metadata_parent(name: str, is_egg: bool) -> bool:
    return name.lower().endswith(_METADATA_DIRS) or (is_egg and name == "EGG-INFO")


def _is_recorded(parts: tuple[str, ...], is_egg: bool) -> bool:
    """Top-level names, and the names inside metadata directories (for ``exists``)."""
    return len(parts) == 1 or (len(parts) == 2 and _is_metadata_parent(parts[0], is_egg))


def _capture_rule(parts: tuple[str, ...], is_egg: bool) -> tuple[str, int] | None:
    """("headers" | "small", cap) for a member whose body the probe would read."""
    if len(parts) == 1:
        lower = parts[0].lower()
        if lower.endswith(".pth"):
            return ("small", FILE_CAP)
        if lower.endswith(".egg-link"):
            return ("small", SMALL_CAP)
        if lower.endswith(".egg-info"):
            return ("headers", FILE_CAP)  # an egg-info *file* is PKG-INFO itself
        return None
    name = parts[1]
    if name in _HEADER_MEMBERS:
        return ("headers", FILE_CAP)
    if name in _SMALL_MEMBERS:
        return ("small", _SMALL_MEMBERS[name])
    return None


def _capture(
    tar: tarfile.TarFile,
    info: tarfile.TarInfo,
    member: Member,
    rule: tuple[str, int],
    captured: Mapping[str, Captured],
    budget: CaptureBudget,
) -> Captured:
    if member.kind == "hardlink":
        return captured.get(member.link) or Captured(problem="is a hard link to a file not read")
    if member.kind == "symlink":
        return Captured(problem="is a symbolic link (not followed when reading statically)")
    if member.kind != "file":
        return Captured(problem="is not a regular file")
    if not budget.allows():
        return Captured(problem="was not read: the metadata budget is exhausted")
    kind, cap = rule
    extracted = tar.extractfile(info)
    if extracted is None:
        return Captured(problem="is not a regular file")
    if kind == "headers":
        data, hit_cap = _probe.read_header_block(extracted, cap)
        budget.spend(len(data))
        return Captured(bytes(data), bool(hit_cap))
    data = extracted.read(cap + 1)
    budget.spend(len(data))
    return Captured(data, len(data) > cap)


def _read(tar: tarfile.TarFile, info: tarfile.TarInfo, cap: int) -> bytes | None:
    extracted = tar.extractfile(info)
    return None if extracted is None else extracted.read(cap)


# --- metadata sources over trees (the probe's DirSource interface) ------------------------


class MemorySource:
    """A .dist-info / .egg-info / EGG-INFO directory (or an .egg-info file) inside a Tree."""

    def __init__(self, tree: Tree, relative: str, file_form: bool = False) -> None:
        self.tree = tree
        self.relative = relative  # "" for the tree itself (an unpacked egg's EGG-INFO parent)
        self.file_form = file_form
        self.path = posixpath.join(tree.path, relative) if relative else tree.path

    def display(self, member: str | None = None) -> str:
        return posixpath.join(self.path, member) if member else self.path

    def _key(self, member: str) -> str:
        if self.file_form:
            return self.relative
        return f"{self.relative}/{member}" if self.relative else member

    def exists(self, member: str) -> bool:
        if self.file_form:
            return member == "PKG-INFO"
        return self._key(member) in self.tree.members

    def _captured(self, member: str) -> Captured:
        found = self.tree.captured.get(self._key(member))
        if found is None:
            raise _probe.Unreadable("was not read")
        if found.problem is not None:
            raise _probe.Unreadable(found.problem)
        return found

    def headers(self, member: str, budget: Any) -> tuple[bytes, bool]:
        found = self._captured(member)
        budget.spend(len(found.data))
        return found.data, found.hit_cap

    def small(self, member: str, cap: int, budget: Any) -> bytes:
        if self.file_form:
            raise _probe.Unreadable(f"has no {member}")
        found = self._captured(member)
        if len(found.data) > cap:
            raise _probe.Unreadable(f"is larger than {cap} bytes")
        budget.spend(len(found.data))
        return found.data


# --- sys.path, as the target interpreter's site module builds it ------------------------


@dataclass(frozen=True)
class VenvConfig:
    """A pyvenv.cfg: where the base interpreter lives, and whether system site is used."""

    home: str
    include_system_site: bool
    version: str | None  # "3.11.7" (``version`` or ``version_info``), when written


def parse_pyvenv_cfg(text: str) -> VenvConfig:
    values: dict[str, str] = {}
    for line in text.splitlines():
        key, separator, value = line.partition("=")
        if separator:
            values[key.strip().lower()] = value.strip()
    return VenvConfig(
        home=values.get("home", ""),
        include_system_site=values.get("include-system-site-packages", "false").lower() == "true",
        version=values.get("version_info") or values.get("version"),
    )


@dataclass(frozen=True)
class PythonLayout:
    """Where one interpreter's sys.path comes from: version, prefixes, its site scheme."""

    version: tuple[int, int]  # (3, 11)
    full_version: str  # "3.11.2", or "3.11" when no file says more
    executable: str  # as invoked: "/opt/venv/bin/python3"
    prefix: str  # sys.prefix: the venv, or the base prefix
    base_prefix: str  # "/usr", "/usr/local"
    venv: VenvConfig | None = None
    debian: bool = False  # Debian's site.py: dist-packages
    virtual_env_variable_counts: bool = False  # Debian 3.9: $VIRTUAL_ENV adds site-packages
    platlibdir: str = "lib"

    @property
    def minor(self) -> str:
        return f"{self.version[0]}.{self.version[1]}"

    @property
    def stdlib(self) -> str:
        return posixpath.join(self.base_prefix, self.platlibdir, f"python{self.minor}")


def pythonpath_entries(env: Mapping[str, str], cwd: str = "/") -> list[str]:
    """$PYTHONPATH entries as absolute paths (sys.path puts them first)."""
    text = env.get("PYTHONPATH", "")
    return [_absolute(part, cwd) for part in text.split(":") if part]


def _absolute(path: str, cwd: str) -> str:
    return posixpath.normpath(posixpath.join(cwd, path))


def stdlib_entries(layout: PythonLayout) -> list[str]:
    """The standard library entries of sys.path (listed, never scanned)."""
    major, minor = layout.version
    zipped = f"python{major}{minor}.zip"
    lib = posixpath.join(layout.base_prefix, layout.platlibdir)
    return [posixpath.join(lib, zipped), layout.stdlib, f"{layout.stdlib}/lib-dynload"]


def user_site(layout: PythonLayout, env: Mapping[str, str], home: str) -> str | None:
    """The user site directory when site.py would enable it; None when disabled."""
    if env.get("PYTHONNOUSERSITE"):
        return None
    if layout.venv is not None and not layout.venv.include_system_site:
        return None
    base = env.get("PYTHONUSERBASE") or posixpath.join(home or "/", ".local")
    return posixpath.join(base, "lib", f"python{layout.minor}", "site-packages")


def site_directories(
    layout: PythonLayout, env: Mapping[str, str], user_site_dir: str | None = None
) -> list[str]:
    """Site directories in site.py's order.

    A venv's own come first (site.venv adds them at once), then the user site when enabled,
    then the base installation's (outside a venv, or with include-system-site-packages).
    """
    own: list[str] = []
    if layout.venv is not None:
        own = _prefix_site_dirs(layout, env, layout.prefix)
    base: list[str] = []
    if layout.venv is None or layout.venv.include_system_site:
        base = _prefix_site_dirs(layout, env, layout.base_prefix)
    user = [user_site_dir] if user_site_dir else []
    directories: list[str] = []
    for directory in [*own, *user, *base]:
        if directory not in directories:
            directories.append(directory)
    return directories


def _prefix_site_dirs(layout: PythonLayout, env: Mapping[str, str], prefix: str) -> list[str]:
    minor = f"python{layout.minor}"
    libdirs = [layout.platlibdir] + (["lib"] if layout.platlibdir != "lib" else [])
    if not layout.debian:
        found = [posixpath.join(prefix, libdir, minor, "site-packages") for libdir in libdirs]
        if layout.version[0] == 2:
            found.append(posixpath.join(prefix, "lib", "site-python"))
        return found
    if layout.version[0] == 2:
        return [
            posixpath.join(prefix, "local/lib", minor, "dist-packages"),
            posixpath.join(prefix, "lib", minor, "dist-packages"),
        ]
    found = []
    in_venv = layout.venv is not None
    if in_venv or (layout.virtual_env_variable_counts and "VIRTUAL_ENV" in env):
        found.append(posixpath.join(prefix, "lib", minor, "site-packages"))
    found.append(posixpath.join(prefix, "local/lib", minor, "dist-packages"))
    found.append(posixpath.join(prefix, "lib", "python3", "dist-packages"))
    found += [posixpath.join(prefix, libdir, minor, "dist-packages") for libdir in libdirs]
    return found


def pth_lines(tree: Tree) -> tuple[list[str], list[str]]:
    """(path lines in processing order, warnings) of the .pth files at ``tree``'s top level."""
    paths: list[str] = []
    warnings: list[str] = []
    for name in tree.listing():
        if not name.endswith(".pth") or name.startswith("."):
            continue
        found = tree.captured.get(name)
        label = posixpath.join(tree.path, name)
        if found is None or found.problem is not None or found.hit_cap:
            reason = found.problem if found and found.problem else "is too large"
            warnings.append(f"skipped {label}: {reason}")
            continue
        for line in found.data.decode("utf-8", "replace").lstrip("\ufeff").splitlines():
            if line.startswith("#") or not line.strip():
                continue
            if line.startswith(("import ", "import\t")):
                if "sys.path" in line:
                    warnings.append(
                        f"{label} runs code that changes sys.path; --static cannot follow it"
                    )
                continue
            paths.append(posixpath.normpath(posixpath.join(tree.path, line.rstrip())))
    return paths, warnings


# --- the walk: the probe's Walk, over trees ---------------------------------------------


@dataclass
class WalkResult:
    """Candidates in the probe's order, egg-link names, and warnings."""

    candidates: list[Any] = field(default_factory=list)
    egg_link_names: set[str] = field(default_factory=set)
    warnings: list[str] = field(default_factory=list)


def egg_link_targets(tree: Tree) -> list[str]:
    """Directories the .egg-link files of ``tree`` point at (the probe scans them too)."""
    targets = []
    for name in tree.listing():
        if not name.lower().endswith(".egg-link"):
            continue
        found = tree.captured.get(name)
        if found is None or found.problem is not None or found.hit_cap:
            continue
        target = _first_line(found.data)
        if target:
            targets.append(posixpath.normpath(posixpath.join(tree.path, target)))
    return targets


def _first_line(data: bytes) -> str:
    text = _probe.to_text(data)
    return next((line.strip() for line in _probe.split_lines(text) if line.strip()), "")


class TreeFiles:
    """The probe's file-system interface (``OsFiles``) over the trees read from an image.

    A path is a tree's own path, or a name one or two levels inside it (what
    :func:`read_tree` records). Symbolic links are not followed: their kind is "symlink".
    """

    path = posixpath

    def __init__(self, trees: Mapping[str, Tree]) -> None:
        self.trees = {posixpath.normpath(path): tree for path, tree in trees.items()}

    def _find(self, path: str) -> tuple[Tree, str] | None:
        path = posixpath.normpath(path)
        inner: list[str] = []
        for _ in range(3):
            tree = self.trees.get(path)
            if tree is not None:
                return tree, "/".join(reversed(inner))
            path, name = posixpath.split(path)
            if not name:
                return None
            inner.append(name)
        return None

    def kind(self, path: str) -> str | None:
        found = self._find(path)
        if found is None:
            return None
        tree, relative = found
        member = tree.root if not relative else tree.members.get(relative)
        if member is None:
            return None
        return member.kind if member.kind in ("dir", "file", "symlink") else "other"

    def listdir(self, directory: str) -> list[str]:
        found = self._find(directory)
        if found is None or found[1] or not found[0].is_dir:
            raise FileNotFoundError(directory)
        return found[0].listing()

    def _captured(self, path: str) -> Captured:
        found = self._find(path)
        captured = found[0].captured.get(found[1]) if found is not None else None
        if captured is None:
            raise _probe.Unreadable("was not read")
        if captured.problem is not None:
            raise _probe.Unreadable(captured.problem)
        return captured

    def read_small(self, path: str, cap: int) -> bytes:
        captured = self._captured(path)
        if captured.hit_cap or len(captured.data) > cap:
            raise _probe.Unreadable(f"is larger than {cap} bytes")
        return captured.data

    def source(self, path: str, kind: str | None) -> MemorySource:
        found = self._find(path)
        if found is None:
            raise _probe.Unreadable("was not read")
        tree, relative = found
        return MemorySource(tree, relative, file_form=kind != "dir")

    def open_zip(self, path: str) -> zipfile.ZipFile | None:
        found = self._find(path)
        if found is None or found[1]:
            return None
        body = found[0].body
        if body is None:
            raise _probe.Unreadable(f"larger than {ZIP_CAP} bytes")
        if not zipfile.is_zipfile(io.BytesIO(body)):
            return None
        return zipfile.ZipFile(io.BytesIO(body))

    def zip_source(self, archive: str, zip_file: zipfile.ZipFile, prefix: str) -> Any:
        return _probe.ZipSource(archive, zip_file, prefix, posixpath.join)


def walk(paths: Sequence[str], trees: Mapping[str, Tree]) -> WalkResult:
    """What the probe's ``Walk`` finds on ``paths``: the same walk, with ``trees`` for a disk."""
    found = _probe.Walk(list(paths), TreeFiles(trees)).run()
    return WalkResult(list(found.candidates), set(found.egg_link_names), list(found.warnings))


# --- interpreter facts from files -------------------------------------------------------


def machine_for(architecture: str) -> str:
    """platform.machine() for an image's Architecture (``amd64`` -> ``x86_64``)."""
    return _MACHINES.get(architecture, architecture)


def version_from_patchlevel(text: bytes) -> str | None:
    """PY_VERSION from ``Include/patchlevel.h``."""
    match = _PY_VERSION_DEFINE.search(text)
    return match.group(1).decode("ascii", "replace") if match else None


def version_from_binary(data: bytes, minor: str) -> str | None:
    """The PY_VERSION string (``3.11.2``) an interpreter or libpython carries."""
    pattern = re.compile(
        rb"\x00(" + re.escape(minor.encode()) + rb"\.\d+(?:(?:a|b|rc)\d+)?\+?)\x00"
    )
    found = sorted({match.group(1) for match in pattern.finditer(data)})
    return found[0].decode("ascii") if len(found) == 1 else None


def os_pretty_name(text: str) -> str | None:
    """PRETTY_NAME from an os-release file."""
    for line in _probe.split_lines(text):
        key, separator, value = line.partition("=")
        if separator and key.strip() == "PRETTY_NAME":
            return str(_probe.unquote(value.strip()))
    return None


def glibc_from_file_name(name: str) -> str | None:
    """``glibc 2.31`` for ``libc-2.31.so`` (what libc.so.6 links to before glibc 2.34)."""
    match = _GLIBC_FILE.match(name)
    return f"glibc {match.group(1)}" if match else None


def glibc_from_binary(data: bytes) -> str | None:
    """``glibc 2.36`` from libc.so.6's banner ("... stable release version 2.36.")."""
    match = _GLIBC_BANNER.search(data)
    return f"glibc {match.group(1).decode('ascii')}" if match else None


def parse_dpkg_status(text: str) -> dict[str, str]:
    """{package: version} of the installed packages in Debian's ``/var/lib/dpkg/status``."""
    versions: dict[str, str] = {}
    for stanza in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        for line in stanza.splitlines():
            key, separator, value = line.partition(":")
            if separator and not line[:1].isspace():
                fields[key.strip().lower()] = value.strip()
        name, version = fields.get("package"), fields.get("version")
        installed = fields.get("status", "").endswith(" installed")
        if name and version and installed:
            versions.setdefault(name, version)
    return versions


def upstream_version(debian_version: str) -> str | None:
    """The upstream part of a Debian version: ``1:3.11.2-6+deb12u8`` -> ``3.11.2``."""
    version = debian_version.split(":", 1)[-1]
    if "-" in version:
        version = version.rsplit("-", 1)[0]
    return version or None


def musl_from_apk_db(text: str) -> str:
    """``musl 1.2.4`` from Alpine's package database, or plain ``musl``."""
    match = _APK_MUSL.search(text)
    return f"musl {match.group(1)}" if match else "musl"


def implementation_version(full_version: str) -> str:
    """sys.implementation.version as the probe formats it (``3.13.0rc1`` -> ``3.13.0c1``)."""
    match = re.match(r"^(\d+\.\d+(?:\.\d+)?)(a|b|rc)?(\d+)?", full_version)
    if not match:
        return full_version
    base = match.group(1) if match.group(1).count(".") == 2 else match.group(1) + ".0"
    level = {"a": "a", "b": "b", "rc": "c"}.get(match.group(2) or "")
    return base + (level + (match.group(3) or "0") if level else "")


@dataclass(frozen=True)
class SystemFacts:
    """Facts about the image outside Python: machine, OS, libc, the engine's kernel."""

    machine: str
    os: str
    libc: str
    kernel_release: str = ""


def marker_environment(layout: PythonLayout, system: SystemFacts) -> dict[str, str]:
    """PEP 508 markers as the probe computes them, from files instead of a running process."""
    py2 = layout.version[0] == 2
    return {
        "implementation_name": "" if py2 else "cpython",
        "implementation_version": "0" if py2 else implementation_version(layout.full_version),
        "os_name": "posix",
        "platform_machine": system.machine,
        "platform_release": system.kernel_release,
        "platform_system": "Linux",
        "platform_version": "",
        "python_full_version": layout.full_version,
        "platform_python_implementation": "CPython",
        "python_version": layout.minor,
        "sys_platform": "linux2" if py2 else "linux",
    }


# --- from walk to the probe's document ----------------------------------------------------


def uses_importlib_backend(
    version: tuple[int, int], env: Mapping[str, str], pip: str | None
) -> bool:
    """The probe's rule for which metadata backend pip uses, for the target's version.

    Where the interpreter itself would decide (3.11+ with a recent pip), importlib.
    """
    rule = _probe.backend_rule(version, env, pip)
    return True if rule is None else bool(rule)


@dataclass(frozen=True)
class StaticRead:
    """Everything read from the image's files, ready to become the probe's document."""

    layout: PythonLayout
    system: SystemFacts
    sys_path: tuple[str, ...]
    trees: Mapping[str, Tree]
    env: Mapping[str, str]
    externally_managed: bool = False
    warnings: tuple[str, ...] = ()


def probe_document(read: StaticRead) -> dict[str, Any]:
    """The probe's JSON document (format 1) for what was read."""
    scanned = [path for path in read.sys_path if path not in stdlib_entries(read.layout)]
    found = walk(scanned, read.trees)
    reader = _probe.Reader(read.layout.version < (3, 11))
    records = [reader.read(candidate) for candidate in found.candidates]
    pip_version = _probe.first_pip_version(records)
    backend = uses_importlib_backend(read.layout.version, read.env, pip_version)
    warnings = [*read.warnings, *found.warnings, *reader.warnings]
    selected = _probe.select(records, backend, found.egg_link_names, warnings)
    return {
        "probe": _probe.PROBE_FORMAT,
        "interpreter": _interpreter_document(read, pip_version),
        "distributions": [_record_document(record) for record in selected],
        "warnings": [str(_probe.to_text(message)) for message in warnings],
    }


def probe_output(read: StaticRead) -> bytes:
    """:func:`probe_document` as the bytes the probe would print."""
    return (json.dumps(probe_document(read), separators=(",", ":")) + "\n").encode("utf-8")


def _interpreter_document(read: StaticRead, pip_version: str | None) -> dict[str, Any]:
    layout = read.layout
    return {
        "implementation": "cpython",
        "version": layout.full_version,
        "executable": layout.executable,
        "prefix": layout.prefix,
        "base_prefix": layout.base_prefix,
        "is_venv": layout.venv is not None,
        "machine": read.system.machine,
        "os": read.system.os,
        "libc": read.system.libc,
        "pip_version": pip_version,
        "externally_managed": read.externally_managed and layout.venv is None,
        "markers": marker_environment(layout, read.system),
        "sys_path": ["", *read.sys_path],  # the probe runs with -c: sys.path[0] is ""
    }


def _record_document(record: Any) -> dict[str, Any]:
    return {
        "name": _probe.to_text(record.name),
        "version": _probe.to_text(record.version),
        "installer": _probe.to_text(record.installer),
        "location": posixpath.normpath(record.candidate.location),
        "requires": [_probe.to_text(line) for line in record.requires],
        "direct_url": _probe.text_tree(record.direct_url),
        "editable": record.editable,
        "format": record.format,
    }


def dedupe(paths: Iterable[str]) -> list[str]:
    """``paths`` without repeats, first occurrence kept (site.removeduppaths)."""
    seen: set[str] = set()
    kept = []
    for path in paths:
        if path not in seen:
            seen.add(path)
            kept.append(path)
    return kept
