# parity probe: print one JSON document describing this interpreter and every
# distribution `pip freeze --all` would list.
#
# Run unchanged by the target's own interpreter as `python -c <this source>` on
# Python 2.7 and 3.5 through 3.14: standard library only, old syntax only (no
# f-strings, annotations, keyword-only arguments, `nonlocal`), no file name of
# its own, nothing written anywhere, no network, any user. A broken, huge or
# unreadable distribution costs one entry in "warnings", never the run.
#
# The walk copies pip's: sys.path in order (minus the '' or cwd entry that
# `python -m pip` drops), *.dist-info and *.egg-info in each directory, unpacked
# and zipped eggs on the path, *.egg-link files (pip's importlib backend only),
# the first distribution of each PEP 503 name wins, and freeze's own skip list.
from __future__ import absolute_import, division, print_function

import os
import stat
import sys

# Every import here is paid on every run, and on Python 3.11 `re` alone (with enum,
# functools, collections) costs more than the whole walk. So these are imported where first
# needed, on paths most runs never take: re, json (its C parts _json suffice), platform (its
# answers are read from sys.version and os.uname() where they say the same), zipfile (only
# for an archive on sys.path), importlib.metadata (only where a distributor patched pip's
# flag into it), collections (dicts keep their order from Python 3.7).
if sys.version_info >= (3, 7):
    OrderedDict = dict
else:  # pragma: no cover - exercised by the Python 2.7 and 3.6 runs
    from collections import OrderedDict

PROBE_FORMAT = 1
FILE_CAP = 1024 * 1024  # bytes read from one metadata file at most
SMALL_CAP = 64 * 1024  # INSTALLER, egg-link, os-release
TOTAL_CAP = 64 * 1024 * 1024  # bytes read from all metadata files together
LINE_CHUNK = 64 * 1024
PY2 = sys.version_info[0] == 2
if PY2:  # pragma: no cover - exercised by the Python 2.7 run
    TEXT_TYPES = (unicode,)  # noqa: F821
else:
    TEXT_TYPES = (str,)

# pip's backend switch: an environment variable, or a constant patched into importlib.metadata.
PIP_FLAG = "_PIP_USE_IMPORTLIB_METADATA"
# pip freeze never prints these (pip._internal.utils.compat.stdlib_pkgs).
FREEZE_SKIPS = ("python", "wsgiref", "argparse")
# Patterns are compiled on first use (the re module caches them), not at import.
VALID_NAME = r"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$"
ALNUM = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
NAME_CHARS = ALNUM | frozenset("._-")
SPACES = " \t\n\r\f\v"  # what \s matches in an ASCII pattern
NONBLOCK = getattr(os, "O_NONBLOCK", 0)
BINARY = getattr(os, "O_BINARY", 0)


def zip_module():
    """zipfile, imported on first use: most runs meet no archive on sys.path."""
    import zipfile

    return zipfile


class Unreadable(Exception):
    """A metadata file that cannot or must not be read; the message says why."""


def to_text(value):
    """Return ``value`` as text that encodes as UTF-8, replacing what does not decode."""
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if PY2:  # pragma: no cover
        return value
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:
        try:
            raw = value.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:
            raw = value.encode("utf-8", "replace")
        return raw.decode("utf-8", "replace")


def canonical(name):
    """PEP 503: runs of '-', '_' and '.' become one '-', lower case."""
    name = name.replace("_", "-").replace(".", "-")
    while "--" in name:
        name = name.replace("--", "-")
    return name.lower()


def split_lines(text):
    """``text`` split at every '\\r\\n', '\\r' or '\\n' (not at the other line breaks of
    str.splitlines()); a trailing newline gives a trailing ''."""
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def safe_name(name):
    import re

    return re.sub(r"[^A-Za-z0-9.]+", "-", name)


def valid_name(key):
    """Whether ``key`` matches VALID_NAME (the regex is compiled only for unusual names)."""
    if key and key[0] in ALNUM and key[-1] in ALNUM and all(char in NAME_CHARS for char in key):
        return True
    import re

    return re.match(VALID_NAME, key, re.IGNORECASE) is not None


def version_tuple(text):
    numbers = []
    for part in (text or "").split("."):
        end = 0
        while end < len(part) and is_decimal(part[end]):
            end += 1
        if not end:
            break
        numbers.append(int(part[:end]))
    return tuple(numbers)


def is_decimal(char):
    """What \\d matches: a decimal digit of any script (ASCII 0-9 for a Python 2 str)."""
    return getattr(char, "isdecimal", char.isdigit)()


class Budget(object):
    """Counts the metadata bytes read so far, against TOTAL_CAP."""

    def __init__(self):
        self.used = 0

    def spend(self, count):
        self.used += count

    def exhausted(self):
        return self.used >= TOTAL_CAP


def open_regular(path):
    """Open ``path`` for reading only if it is a regular file (never a FIFO or device)."""
    try:
        mode = os.stat(path).st_mode
    except OSError as error:
        raise Unreadable(describe_os_error(error))
    if not stat.S_ISREG(mode):
        raise Unreadable("is not a regular file")
    try:
        fd = os.open(path, os.O_RDONLY | NONBLOCK | BINARY)
    except OSError as error:
        raise Unreadable(describe_os_error(error))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise Unreadable("is not a regular file")
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def describe_os_error(error):
    return to_text(getattr(error, "strerror", None) or str(error))


def read_header_block(stream, cap):
    """Read RFC 822 header lines up to the first blank line; (bytes, hit_cap)."""
    pieces = []
    used = 0
    at_line_start = True
    while True:
        piece = stream.readline(LINE_CHUNK)
        if not piece:
            return b"".join(pieces), False
        used += len(piece)
        if used > cap:
            return b"".join(pieces), True
        if at_line_start and piece in (b"\n", b"\r\n", b"\r"):
            return b"".join(pieces), False
        pieces.append(piece)
        at_line_start = piece.endswith(b"\n") or piece.endswith(b"\r")


def read_capped(stream, cap):
    """Read a whole small file; raise Unreadable when it is larger than ``cap``."""
    data = stream.read(cap + 1)
    if len(data) > cap:
        raise Unreadable("is larger than %d bytes" % cap)
    return data


class DirSource(object):
    """Metadata files in a directory (a .dist-info, .egg-info or EGG-INFO directory)."""

    def __init__(self, path):
        self.path = path
        self.members = None

    def display(self, member=None):
        return os.path.join(self.path, member) if member else self.path

    def exists(self, member):
        # One directory listing answers every question about this distribution.
        if self.members is None:
            try:
                self.members = frozenset(os.listdir(self.path))
            except OSError:
                return os.path.lexists(os.path.join(self.path, member))
        return member in self.members

    def headers(self, member, budget):
        stream = open_regular(os.path.join(self.path, member))
        try:
            data, hit_cap = read_header_block(stream, FILE_CAP)
        finally:
            stream.close()
        budget.spend(len(data))
        return data, hit_cap

    def small(self, member, cap, budget):
        stream = open_regular(os.path.join(self.path, member))
        try:
            data = read_capped(stream, cap)
        finally:
            stream.close()
        budget.spend(len(data))
        return data


class FileSource(DirSource):
    """A distutils-style .egg-info *file*: the file itself is PKG-INFO."""

    def exists(self, member):
        return member == "PKG-INFO"

    def headers(self, member, budget):
        stream = open_regular(self.path)
        try:
            data, hit_cap = read_header_block(stream, FILE_CAP)
        finally:
            stream.close()
        budget.spend(len(data))
        return data, hit_cap

    def small(self, member, cap, budget):
        raise Unreadable("has no %s" % member)


class ZipSource(object):
    """Metadata files inside a zip archive on sys.path (a zipped egg, or a zip of packages)."""

    def __init__(self, archive, zip_file, prefix, join=os.path.join):
        self.archive = archive
        self.zip_file = zip_file
        self.prefix = prefix
        self.join = join

    def display(self, member=None):
        inner = self.prefix + "/" + member if member else self.prefix
        return self.join(self.archive, inner)

    def exists(self, member):
        try:
            self.zip_file.getinfo(self.prefix + "/" + member)
            return True
        except KeyError:
            return False

    def _open(self, member):
        try:
            return self.zip_file.open(self.prefix + "/" + member)
        except KeyError:
            raise Unreadable("does not exist")
        except (zip_module().BadZipfile, RuntimeError, NotImplementedError) as error:
            raise Unreadable(to_text(str(error)))

    def headers(self, member, budget):
        stream = self._open(member)
        try:
            data = stream.read(FILE_CAP + 1)
        finally:
            stream.close()
        budget.spend(len(data))
        hit_cap = len(data) > FILE_CAP
        lines = []
        for line in data[:FILE_CAP].splitlines(True):
            if line in (b"\n", b"\r\n", b"\r"):
                return b"".join(lines), False
            lines.append(line)
        return b"".join(lines), hit_cap

    def small(self, member, cap, budget):
        stream = self._open(member)
        try:
            data = read_capped(stream, cap)
        finally:
            stream.close()
        budget.spend(len(data))
        return data


class Candidate(object):
    """A metadata directory (or file) found on sys.path, not read yet."""

    def __init__(self, source, kind, location, file_name, via_egg_link=False):
        self.source = source
        self.kind = kind  # "dist-info" or "egg-info"
        self.location = location
        self.file_name = file_name  # "foo-1.0.dist-info", "foo-1.0-py3.9.egg", "EGG-INFO"
        self.via_egg_link = via_egg_link

    def name_and_version_from_file_name(self):
        """(name, version) as pkg_resources reads them from the file name; either may be None."""
        stem = self.file_name
        for suffix in (".dist-info", ".egg-info", ".egg"):
            if stem.lower().endswith(suffix):
                stem = stem[: -len(suffix)]
                break
        parts = stem.split("-")
        name = parts[0] or None
        version = parts[1] if len(parts) > 1 and parts[1] else None
        if name is not None:
            name = name.replace("_", "-")
        return name, version


class OsFiles(object):
    """The walk's only access to files: this machine's file system, symlinks followed.

    parity's static read (--static) gives the same walk another implementation over an
    image's files, so the two cannot drift apart. ``kind`` is "dir", "file", "symlink"
    (only where a link cannot be followed), "other", or None when nothing is there.
    """

    path = os.path

    def listdir(self, directory):
        return sorted(os.listdir(directory))

    def kind(self, path):
        if os.path.isdir(path):
            return "dir"
        if os.path.isfile(path):
            return "file"
        return "other" if os.path.lexists(path) else None

    def read_small(self, path, cap):
        stream = open_regular(path)
        try:
            return read_capped(stream, cap)
        finally:
            stream.close()

    def source(self, path, kind):
        return DirSource(path) if kind == "dir" else FileSource(path)

    def open_zip(self, path):
        zipfile = zip_module()
        if not zipfile.is_zipfile(path):
            return None
        return zipfile.ZipFile(path)

    def zip_source(self, archive, zip_file, prefix):
        return ZipSource(archive, zip_file, prefix)


class Walk(object):
    """Everything found on sys.path: candidates in pip's order, egg-link names, warnings."""

    def __init__(self, paths, files=None):
        self.paths = paths
        self.files = files or OsFiles()
        self.candidates = []
        self.egg_link_names = set()
        self.warnings = []
        self.listings = {}

    def listing(self, directory):
        if directory not in self.listings:
            try:
                self.listings[directory] = self.files.listdir(directory)
            except OSError:
                self.listings[directory] = []
        return self.listings[directory]

    def is_dir(self, path):
        return self.files.kind(path) == "dir"

    def run(self):
        for entry in self.paths:
            directory = entry or "."
            for child in self.listing(directory) if self.is_dir(directory) else ():
                if child.lower().endswith(".egg-link"):
                    self.egg_link_names.add(child)
        for entry in self.paths:
            try:
                self.scan_entry(entry)
            except Exception as error:  # one odd sys.path entry must not end the run
                self.warn("skipped sys.path entry %s: %s" % (to_text(entry), explain(error)))
        return self

    def warn(self, message):
        self.warnings.append(message)

    def scan_entry(self, entry):
        directory = entry or "."
        kind = self.files.kind(directory)
        if kind == "dir":
            if self.is_unpacked_egg(directory):
                self.add_egg_dir(directory)
                return
            self.scan_directory(directory, via_egg_link=False)
            self.follow_egg_links(directory)
        elif kind == "file" and not directory.lower().endswith(".whl"):
            self.scan_zip(directory)

    def is_unpacked_egg(self, directory):
        if not directory.lower().rstrip("/\\").endswith(".egg"):
            return False
        return self.files.kind(self.files.path.join(directory, "EGG-INFO", "PKG-INFO")) == "file"

    def add_egg_dir(self, directory):
        join = self.files.path.join
        source = self.files.source(join(directory, "EGG-INFO"), "dir")
        name = self.files.path.basename(directory.rstrip(self.files.path.sep))
        self.candidates.append(Candidate(source, "egg-info", directory, name))

    def scan_directory(self, directory, via_egg_link):
        for child in self.listing(directory):
            lower = child.lower()
            if not (lower.endswith(".dist-info") or lower.endswith(".egg-info")):
                continue
            path = self.files.path.join(directory, child)
            kind = self.files.kind(path)
            if kind == "symlink":
                self.warn(
                    "%s is a symbolic link that cannot be followed here; skipped it" % to_text(path)
                )
            elif lower.endswith(".dist-info"):
                if kind == "dir":
                    source = self.files.source(path, kind)
                    self.candidates.append(
                        Candidate(source, "dist-info", directory, child, via_egg_link)
                    )
                else:
                    self.warn("%s is not a directory; skipped it" % to_text(path))
            else:
                source = self.files.source(path, kind)
                self.candidates.append(
                    Candidate(source, "egg-info", directory, child, via_egg_link)
                )

    def follow_egg_links(self, directory):
        for child in self.listing(directory):
            if not child.lower().endswith(".egg-link"):
                continue
            path = self.files.path.join(directory, child)
            try:
                text = to_text(self.files.read_small(path, SMALL_CAP))
            except Unreadable as error:
                self.warn("%s %s; skipped it" % (to_text(path), error))
                continue
            target = next((line.strip() for line in split_lines(text) if line.strip()), "")
            if not target:
                continue
            if isinstance(directory, bytes) and not isinstance(target, bytes):
                target = target.encode(sys.getfilesystemencoding() or "utf-8", "replace")
            target = self.files.path.join(directory, target)
            if self.is_dir(target):
                self.scan_directory(target, via_egg_link=True)

    def scan_zip(self, archive):
        try:
            zip_file = self.files.open_zip(archive)
        except Unreadable as error:
            self.warn("cannot read zip archive %s on sys.path: %s" % (to_text(archive), error))
            return
        except (zip_module().BadZipfile, OSError, IOError, RuntimeError) as error:
            self.warn(
                "cannot read zip archive %s on sys.path: %s" % (to_text(archive), explain(error))
            )
            return
        if zip_file is None:
            return
        tops = set()
        for member in zip_file.namelist():
            if "/" in member:
                tops.add(member.split("/", 1)[0])
        base_is_egg = archive.lower().endswith(".egg")
        for top in sorted(tops):
            lower = top.lower()
            if lower.endswith(".dist-info") or lower.endswith(".egg-info"):
                kind = "dist-info" if lower.endswith(".dist-info") else "egg-info"
                source = self.files.zip_source(archive, zip_file, top)
                self.candidates.append(Candidate(source, kind, archive, top))
            elif base_is_egg and lower == "egg-info":
                source = self.files.zip_source(archive, zip_file, top)
                name = self.files.path.basename(archive)
                self.candidates.append(Candidate(source, "egg-info", archive, name))


def explain(error):
    if isinstance(error, (OSError, IOError)):
        return describe_os_error(error)
    return "%s: %s" % (type(error).__name__, to_text(str(error)))


def parse_headers(text):
    """RFC 822 headers as a list of (lower-case key, value), folded lines joined."""
    headers = []
    for line in split_lines(text):
        if line[:1] in (" ", "\t"):
            if headers:
                key, value = headers[-1]
                headers[-1] = (key, (value + " " + line.strip()).strip())
            continue
        key, separator, value = line.partition(":")
        if separator:
            headers.append((key.strip().lower(), value.strip()))
    return headers


def first_header(headers, key):
    for found_key, value in headers:
        if found_key == key:
            return value
    return None


def all_headers(headers, key):
    return [value for found_key, value in headers if found_key == key]


def decode_metadata(data, label, problems):
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        problems.append("%s is not valid UTF-8 (undecodable bytes replaced)" % label)
        return data.decode("utf-8", "replace")


def egg_info_requires(text):
    """requires.txt sections as Requires-Dist lines, as importlib.metadata converts them."""
    requires = []
    section = None
    for raw in split_lines(text):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip()
            continue
        extra, _, markers = (section or "").partition(":")
        if extra and markers:
            markers = "(" + markers + ")"
        conditions = [part for part in (markers, extra and 'extra == "%s"' % extra) if part]
        suffix = "; " + " and ".join(conditions) if conditions else ""
        space = " " if "@" in line and conditions else ""
        requires.append(line + space + suffix)
    return requires


def clean_direct_url(data):
    """A PEP 610 direct_url.json as pip accepts it, or raise ValueError saying why not."""
    if not isinstance(data, dict):
        raise ValueError("is not a JSON object")
    url = data.get("url")
    if not isinstance(url, TEXT_TYPES):
        raise ValueError("has no url")
    infos = [key for key in ("archive_info", "dir_info", "vcs_info") if key in data]
    if len(infos) != 1 or not isinstance(data[infos[0]], dict):
        raise ValueError("needs exactly one of archive_info, dir_info, vcs_info")
    key = infos[0]
    info = data[key]
    cleaned = OrderedDict([("url", url)])
    if key == "dir_info":
        editable = info.get("editable", False)
        if not isinstance(editable, bool):
            raise ValueError("dir_info.editable is not a boolean")
        cleaned[key] = OrderedDict([("editable", editable)])
    elif key == "vcs_info":
        vcs_info = OrderedDict()
        for field, required in (("vcs", True), ("commit_id", True), ("requested_revision", False)):
            value = info.get(field)
            if isinstance(value, TEXT_TYPES):
                vcs_info[field] = value
            elif required or value is not None:
                raise ValueError("vcs_info.%s is not a string" % field)
        cleaned[key] = vcs_info
    else:
        archive_info = OrderedDict()
        if isinstance(info.get("hash"), TEXT_TYPES):
            archive_info["hash"] = info["hash"]
        hashes = info.get("hashes")
        if isinstance(hashes, dict):
            archive_info["hashes"] = OrderedDict(
                (k, v) for k, v in sorted(hashes.items()) if isinstance(v, TEXT_TYPES)
            )
        cleaned[key] = archive_info
    if isinstance(data.get("subdirectory"), TEXT_TYPES):
        cleaned["subdirectory"] = data["subdirectory"]
    return cleaned


class Record(object):
    """One distribution read from its metadata."""

    def __init__(self, candidate, name, version):
        self.candidate = candidate
        self.name = name
        self.version = version
        self.installer = None
        self.requires = []
        self.direct_url = None
        self.editable = False
        self.format = candidate.kind

    @property
    def key(self):
        return canonical(self.name)


class Reader(object):
    """Reads candidates into records, each failure one warning, within the total budget."""

    def __init__(self, pkg_resources_names):
        self.budget = Budget()
        self.warnings = []
        self.budget_warned = False
        self.pkg_resources_names = pkg_resources_names

    def read(self, candidate):
        label = to_text(candidate.source.display())
        try:
            if self.budget.exhausted():
                return self.from_file_name(candidate, label)
            return self.from_metadata(candidate, label)
        except Unreadable as error:
            self.warnings.append("skipped %s: %s" % (label, error))
        except Exception as error:  # a broken distribution costs one warning, never the run
            self.warnings.append("skipped %s: %s" % (label, explain(error)))
        return None

    def from_file_name(self, candidate, label):
        if not self.budget_warned:
            self.budget_warned = True
            self.warnings.append(
                "read %d MiB of metadata; later distributions are named from their file names"
                % (TOTAL_CAP // (1024 * 1024))
            )
        name, version = candidate.name_and_version_from_file_name()
        if not name or not version:
            raise Unreadable("metadata budget exhausted and the file name holds no version")
        return Record(candidate, to_text(name), to_text(version))

    def from_metadata(self, candidate, label):
        source = candidate.source
        problems = []
        member = "METADATA" if candidate.kind == "dist-info" else "PKG-INFO"
        if (
            candidate.kind == "dist-info"
            and not source.exists(member)
            and source.exists("PKG-INFO")
        ):
            member = "PKG-INFO"
        if not source.exists(member):
            raise Unreadable("has no %s file" % member)
        try:
            data, hit_cap = source.headers(member, self.budget)
        except Unreadable as error:
            raise Unreadable("%s %s" % (member, error))
        if hit_cap:
            problems.append("%s headers exceed %d bytes; read only the first" % (member, FILE_CAP))
        headers = parse_headers(decode_metadata(data, member, problems))
        name = first_header(headers, "name")
        version = first_header(headers, "version")
        file_name, file_version = candidate.name_and_version_from_file_name()
        if not name and self.pkg_resources_names and file_name:
            name = to_text(file_name)
        if not version and file_version:
            version = to_text(file_version)
            problems.append("%s has no Version; took it from the file name" % member)
        if not name or not version:
            raise Unreadable("%s has no %s" % (member, "Name" if not name else "Version"))
        record = Record(candidate, name, version)
        record.requires = all_headers(headers, "requires-dist")
        if candidate.kind == "egg-info" and not record.requires:
            record.requires = self.read_requires_txt(source, problems)
        record.installer = self.read_installer(source, problems)
        record.direct_url = self.read_direct_url(source, problems)
        if problems:  # one warning per distribution, however many problems it has
            self.warnings.append("%s: %s" % (label, "; ".join(problems)))
        return record

    def read_requires_txt(self, source, problems):
        if not source.exists("requires.txt"):
            return []
        try:
            data = source.small("requires.txt", FILE_CAP, self.budget)
        except Unreadable as error:
            problems.append("requires.txt %s; Requires-Dist left empty" % error)
            return []
        return egg_info_requires(decode_metadata(data, "requires.txt", problems))

    def read_installer(self, source, problems):
        if not source.exists("INSTALLER"):
            return None
        try:
            data = source.small("INSTALLER", SMALL_CAP, self.budget)
        except Unreadable as error:
            problems.append("INSTALLER %s" % error)
            return None
        lines = decode_metadata(data, "INSTALLER", problems).strip().splitlines()
        return lines[0].strip() if lines and lines[0].strip() else None

    def read_direct_url(self, source, problems):
        if not source.exists("direct_url.json"):
            return None
        try:
            data = source.small("direct_url.json", FILE_CAP, self.budget)
            text = decode_metadata(data, "direct_url.json", problems)
            return clean_direct_url(json_loads(text))
        except Unreadable as error:
            problems.append("direct_url.json %s; ignored it" % error)
        except ValueError as error:  # JSON syntax, or not PEP 610's shape
            problems.append("direct_url.json %s; ignored it" % to_text(str(error)))
        except RecursionError_ as error:
            problems.append("direct_url.json is nested too deeply; ignored it (%s)" % error)
        return None


try:
    RecursionError_ = RecursionError
except NameError:  # pragma: no cover - Python 2.7 and 3.4
    RecursionError_ = RuntimeError


def search_path():
    """sys.path as `python -m pip` sees it: without a leading '' or current directory."""
    paths = list(sys.path)
    try:
        cwd = os.getcwd()
    except OSError:
        cwd = None
    if paths and paths[0] in ("", cwd):
        paths.pop(0)
    return paths


def backend_rule(version, environ, pip_version):
    """pip's rule for its metadata backend: True (importlib), False (pkg_resources), or
    None when the interpreter itself decides (Python 3.11+ with a recent pip).

    ``version`` is the (major, minor) of the target; ``--static`` applies the same rule to
    an image's files without running it.
    """
    if tuple(version) >= (3, 14):
        return True
    choice = environ.get(PIP_FLAG)
    if choice is not None:
        lowered = choice.lower()
        if lowered in ("y", "yes", "t", "true", "on", "1"):
            return True
        if lowered in ("n", "no", "f", "false", "off", "0"):
            return False
    if tuple(version) < (3, 11):
        return False
    if pip_version is not None and version_tuple(pip_version) < (22, 2):
        return False
    return None


def uses_importlib_backend(pip_version):
    """Whether pip reads installed metadata with importlib.metadata (else pkg_resources).

    Where the interpreter decides, pip reads the flag a distributor may patch into
    importlib.metadata (absent: True). Importing that module costs more than the rest of the
    probe, so it is imported only when its file mentions the flag or cannot be found.
    """
    rule = backend_rule(sys.version_info[:2], os.environ, pip_version)
    if rule is not None:
        return rule
    module = sys.modules.get("importlib.metadata")
    if module is None:
        if mentions_pip_flag(importlib_metadata_file(sys.path, sys.modules)) is False:
            return True
        try:
            import importlib.metadata as module
        except ImportError:  # pragma: no cover
            return True
    return bool(getattr(module, PIP_FLAG, True))


def importlib_metadata_file(paths, modules):
    """The file `import importlib.metadata` would load (its source, or the .pyc of a sourceless
    layout), found as the path finder finds it; None where only importing it can tell."""
    package = modules.get("importlib")
    if package is not None:  # imported already: its __path__ is searched
        found = list(getattr(package, "__path__", None) or ())
        return metadata_in(found[0]) if len(found) == 1 else None
    for entry in paths:
        directory = entry or os.curdir
        if not os.path.isdir(directory):
            if os.path.lexists(directory):  # an archive on sys.path: its importer decides
                return None
            continue
        package_dir = os.path.join(directory, "importlib")
        if os.path.isdir(package_dir):
            if first_file(package_dir, ("__init__.py", "__init__.pyc")) is None:
                return None  # a namespace portion or an odd package
            return metadata_in(package_dir)
        if first_file(directory, ("importlib.py", "importlib.pyc")) is not None:
            return None
    return None


def metadata_in(package_dir):
    """importlib's metadata module in ``package_dir``: a package (3.10+) or a module (3.8, 3.9)."""
    join = os.path.join
    return first_file(
        package_dir,
        (
            join("metadata", "__init__.py"),
            join("metadata", "__init__.pyc"),
            "metadata.py",
            "metadata.pyc",
        ),
    )


def first_file(directory, names):
    for name in names:
        path = os.path.join(directory, name)
        if os.path.isfile(path):
            return path
    return None


def mentions_pip_flag(path):
    """Whether the module file at ``path`` names pip's flag (a source file or compiled code
    holds the name as text); None when there is no such file or it cannot be read."""
    if path is None:
        return None
    try:
        stream = open_regular(path)
    except Unreadable:
        return None
    try:
        data = read_capped(stream, FILE_CAP)
    except (Unreadable, OSError, IOError):
        return None
    finally:
        stream.close()
    return PIP_FLAG.encode("ascii") in data


def first_pip_version(records):
    for record in records:
        if record is not None and record.key == "pip" and not record.candidate.via_egg_link:
            return record.version
    return None


def mark_editable(record, egg_link_names):
    """pip's rule: direct_url.json decides; without one, an egg-link named after the project."""
    if record.direct_url is not None:
        dir_info = record.direct_url.get("dir_info") or {}
        record.editable = bool(dir_info.get("editable"))
        return
    linked = bool(egg_link_names) and any(
        name in egg_link_names
        for name in (record.name + ".egg-link", safe_name(record.name) + ".egg-link")
    )
    if linked or record.candidate.via_egg_link:
        record.editable = linked
        record.format = "egg-link"


def select(records, importlib_backend, egg_link_names, warnings):
    """First distribution of each name wins, as pip's environment walk does."""
    found = set()
    selected = []
    link_names = set(to_text(name) for name in egg_link_names)
    for record in records:
        if record is None:
            continue
        if record.candidate.via_egg_link and not importlib_backend:
            continue
        key = record.key
        if key in found:
            continue
        found.add(key)
        if not valid_name(key):
            warnings.append(
                "skipped %s: '%s' is not a valid project name"
                % (to_text(record.candidate.source.display()), to_text(record.name))
            )
            continue
        if key in FREEZE_SKIPS:
            continue
        mark_editable(record, link_names)
        selected.append(record)
    return selected


def find_distributions():
    """(distribution records, pip version, warnings) for what pip freeze --all lists."""
    walk = Walk(search_path()).run()
    pkg_resources_names = sys.version_info < (3, 11)
    reader = Reader(pkg_resources_names)
    records = [reader.read(candidate) for candidate in walk.candidates]
    pip_version = first_pip_version(records)
    importlib_backend = uses_importlib_backend(pip_version)
    warnings = walk.warnings + reader.warnings
    selected = select(records, importlib_backend, walk.egg_link_names, warnings)
    return selected, pip_version, warnings


def record_json(record):
    return OrderedDict(
        [
            ("name", to_text(record.name)),
            ("version", to_text(record.version)),
            ("installer", to_text(record.installer)),
            ("location", to_text(os.path.abspath(record.candidate.location))),
            ("requires", [to_text(line) for line in record.requires]),
            ("direct_url", text_tree(record.direct_url)),
            ("editable", record.editable),
            ("format", record.format),
        ]
    )


def text_tree(value):
    if isinstance(value, dict):
        return OrderedDict((to_text(k), text_tree(v)) for k, v in value.items())
    if isinstance(value, list):
        return [text_tree(item) for item in value]
    if isinstance(value, (bytes,) + TEXT_TYPES):
        return to_text(value)
    return value


def c_json(name):
    """A function of CPython's _json (the C half of json) on Python 3, or None."""
    if PY2:  # json's str/unicode rules differ there: the json module decides
        return None
    try:
        import _json
    except ImportError:
        return None
    return getattr(_json, name, None)


def json_dumps(document):
    """``json.dumps(document, separators=(",", ":"))``: json's own C encoder, made as json
    makes it (without the circular-reference check, which this document never needs), so
    json itself is imported only where its C half is missing."""
    make_encoder = c_json("make_encoder")
    encode = c_json("encode_basestring_ascii")
    if make_encoder is not None and encode is not None:
        try:
            encoder = make_encoder(None, json_default, encode, None, ":", ",", False, False, True)
            return "".join(encoder(document, 0))
        except TypeError:  # another _json than CPython 3's: json knows how to call it
            pass
    import json

    return json.dumps(document, separators=(",", ":"))


def json_default(value):
    raise TypeError("Object of type %s is not JSON serializable" % type(value).__name__)


class JsonContext(object):
    """What json's C scanner reads from a default json.JSONDecoder."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = {
        "-Infinity": float("-inf"),
        "Infinity": float("inf"),
        "NaN": float("nan"),
    }.__getitem__


def json_loads(text):
    """``json.loads(text)``, with json's C scanner alone where it exists; the json module
    for everything else, errors included (their message is what a warning says)."""
    make_scanner = c_json("make_scanner")
    if make_scanner is not None and not text.startswith("\ufeff"):
        blank = " \t\n\r"  # json's WHITESPACE
        try:
            value, end = make_scanner(JsonContext())(text, len(text) - len(text.lstrip(blank)))
        except Exception:  # StopIteration, ValueError, RecursionError: json says which
            value, end = None, -1
        if end >= 0 and not text[end:].strip(blank):
            return value
    import json

    return json.loads(text)


def call(function, default=""):
    try:
        return function()
    except Exception:  # platform facts are best effort
        return default


def uname():
    """(system, release, version, machine) as platform.uname() gives them.

    On Linux and macOS platform only copies os.uname() (blanking 'unknown'), so they are read
    from there: platform's own uname() runs `uname -p` in a child process on Python 2.7-3.8.
    """
    if hasattr(os, "uname") and (sys.platform.startswith("linux") or sys.platform == "darwin"):
        system, node, release, version, machine = os.uname()
        if any((system, node, release, version, machine)) and system not in (
            "OpenVMS",
            "Microsoft",
        ):
            return tuple(
                "" if value == "unknown" else value for value in (system, release, version, machine)
            )
    import platform

    infos = platform.uname()
    return infos[0], infos[2], infos[3], infos[4]


def python_facts():
    """(python_implementation(), python_version(), python_version_tuple()) as platform gives
    them ("" and ("", "") where it fails), without importing platform where the usual CPython
    sys.version shows its answer."""
    implementation = getattr(sys, "implementation", None)  # None on 2.7: sys.version tells
    version = None
    if implementation is None or implementation.name == "cpython":
        version = cpython_version(sys.version, sys.platform)
    if version is not None:
        return "CPython", version, tuple(version.split("."))
    import platform

    return (
        call(platform.python_implementation),
        call(platform.python_version),
        call(platform.python_version_tuple, ("", "")),
    )


def cpython_version(text, sys_platform):
    """platform.python_version() for a CPython ``sys.version`` of the usual shape,
    "3.11.7 (main, Dec  8 2023, 18:56:58) [GCC 12.2.0]", or None for any other.

    Where this answers, platform's CPython pattern (the same on 2.7 and 3.x) matches with the
    version as its first group; anything else is left to platform.
    """
    if sys_platform.startswith("java") or "IronPython" in text or "PyPy" in text:
        return None
    version, _, rest = text.partition(" ")
    if not version or not all(char in ALNUM or char in "_.+" for char in version):
        return None
    rest = rest.lstrip(SPACES)
    close = rest.find(")")
    if not rest.startswith("(") or close < 0:
        return None
    fields = rest[1:close].split(",")
    if not fields[0] or len(fields) > 3:
        return None
    for field, extra in zip(fields[1:], (" _", " _:")):  # build date, build time
        if not all(char in ALNUM or char in extra for char in field.lstrip(SPACES)):
            return None
    compiler = rest[close + 1 :].lstrip(SPACES)
    if not compiler.startswith("[") or compiler[1:2] in ("", "]"):
        return None
    return version + ".0" if len(version.split(".")) == 2 else version


def full_version(info):
    version = "%d.%d.%d" % (info.major, info.minor, info.micro)
    if info.releaselevel != "final":
        version += info.releaselevel[0] + str(info.serial)
    return version


def marker_environment():
    """PEP 508 markers, computed as packaging.markers.default_environment() does."""
    implementation = getattr(sys, "implementation", None)
    if implementation is not None:
        implementation_version = full_version(implementation.version)
        implementation_name = implementation.name
    else:  # Python 2.7: what packaging releases that ran there reported
        implementation_version = "0"
        implementation_name = ""
    system, release, version, machine = call(uname, ("", "", "", ""))
    python_implementation, python_version, python_tuple = python_facts()
    return OrderedDict(
        [
            ("implementation_name", implementation_name),
            ("implementation_version", implementation_version),
            ("os_name", os.name),
            ("platform_machine", machine),
            ("platform_release", release),
            ("platform_system", system),
            ("platform_version", version),
            ("python_full_version", python_version),
            ("platform_python_implementation", python_implementation),
            ("python_version", ".".join(python_tuple[:2])),
            ("sys_platform", sys.platform),
        ]
    )


def read_small_file(path):
    try:
        stream = open_regular(path)
    except Unreadable:
        return None
    try:
        return read_capped(stream, SMALL_CAP).decode("utf-8", "replace")
    except (Unreadable, OSError, IOError):
        return None
    finally:
        stream.close()


def os_release():
    for path in ("/etc/os-release", "/usr/lib/os-release"):
        text = read_small_file(path)
        if text is None:
            continue
        for line in split_lines(text):
            key, separator, value = line.partition("=")
            if separator and key.strip() == "PRETTY_NAME":
                return unquote(value.strip())
    system, release, _, _ = call(uname, ("", "", "", ""))
    return ("%s %s" % (system, release)).strip()


def unquote(value):
    """An os-release value without its shell quotes."""
    if len(value) >= 2 and value[0] == value[-1] == "'":
        return value[1:-1]
    if len(value) >= 2 and value[0] == value[-1] == '"':
        inner = value[1:-1]
        if "\\" not in inner:
            return inner
        import re

        return re.sub(r"\\(.)", r"\1", inner)
    return value


def libc():
    confstr = getattr(os, "confstr", None)
    if confstr is not None:
        try:
            value = confstr("CS_GNU_LIBC_VERSION")
        except (ValueError, OSError):
            value = None
        if value:
            parts = value.split()
            if len(parts) == 2 and parts[0] == "glibc":
                return "glibc " + parts[1]
    return glibc_from_ctypes() or musl()


def glibc_from_ctypes():
    """gnu_get_libc_version() where os.confstr does not know it (Python 2.7)."""
    if not sys.platform.startswith("linux"):
        return ""
    try:
        import ctypes

        function = ctypes.CDLL(None).gnu_get_libc_version
    except (ImportError, OSError, AttributeError):
        return ""
    function.restype = ctypes.c_char_p
    value = function()
    if not isinstance(value, bytes):
        return ""
    return "glibc " + value.decode("ascii", "replace")


def musl():
    if not sys.platform.startswith("linux"):
        return ""
    import glob

    loaders = sorted(glob.glob("/lib/ld-musl-*.so.1"))
    if not loaders:
        return ""
    try:
        import subprocess

        process = subprocess.Popen(
            [loaders[0]], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        _, err = process.communicate()
    except (OSError, ValueError):
        return "musl"
    import re

    match = re.search(r"Version\s+([0-9][0-9A-Za-z.]*)", err.decode("utf-8", "replace"))
    return "musl " + match.group(1) if match else "musl"


def is_virtualenv():
    """pip's running_under_virtualenv(): PEP 405 venvs and legacy virtualenv."""
    return hasattr(sys, "real_prefix") or sys.prefix != getattr(sys, "base_prefix", sys.prefix)


def externally_managed(in_venv):
    """PEP 668, as pip checks it: never inside a virtual environment."""
    if in_venv:
        return False
    try:
        import sysconfig

        stdlib = sysconfig.get_path("stdlib")
    except Exception:  # a broken sysconfig means no marker we can find
        return False
    return bool(stdlib) and os.path.isfile(os.path.join(stdlib, "EXTERNALLY-MANAGED"))


def implementation_name():
    implementation = getattr(sys, "implementation", None)
    if implementation is not None:
        return implementation.name
    return (python_facts()[0] or "cpython").lower()


def interpreter_json(pip_version):
    in_venv = is_virtualenv()
    base_prefix = getattr(sys, "real_prefix", None) or getattr(sys, "base_prefix", sys.prefix)
    return OrderedDict(
        [
            ("implementation", to_text(implementation_name())),
            ("version", to_text(python_facts()[1])),
            ("executable", to_text(sys.executable or "")),
            ("prefix", to_text(sys.prefix or "")),
            ("base_prefix", to_text(base_prefix or "")),
            ("is_venv", in_venv),
            ("machine", to_text(call(uname, ("", "", "", ""))[3])),
            ("os", to_text(call(os_release))),
            ("libc", to_text(call(libc))),
            ("pip_version", to_text(pip_version)),
            ("externally_managed", externally_managed(in_venv)),
            ("markers", text_tree(marker_environment())),
            ("sys_path", [to_text(entry) for entry in sys.path]),
        ]
    )


def main():
    records, pip_version, warnings = find_distributions()
    document = OrderedDict(
        [
            ("probe", PROBE_FORMAT),
            ("interpreter", interpreter_json(pip_version)),
            ("distributions", [record_json(record) for record in records]),
            ("warnings", [to_text(message) for message in warnings]),
        ]
    )
    sys.stdout.write(json_dumps(document) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
