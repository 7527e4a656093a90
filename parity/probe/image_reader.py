"""The static reader: one interpreter's world read from an image's files (pure).

Interpreter facts come from files: the version from the interpreter's name, then
``patchlevel.h``, Debian's package database or the PY_VERSION string in the binary; libc
from libc.so.6's name, the package database or its banner; the OS from os-release; the
machine from the image's Architecture (so an arm64 image reads fine on an x86_64 engine).
The distributions come from the site directories the chosen interpreter would put on
sys.path (:mod:`parity.probe.image_files` holds the rules), read as tar streams whose file
bodies are skipped unless the probe would read them.

The files come through a :class:`~parity.probe.file_access.FileAccess`: the engine's
archive API (``parity.engine.probe_static``) or an image's registry layers
(``parity.registry.read``). Through the engine each file read costs a process (~40 ms here)
while a stat costs ~3 ms, so facts are taken from stats and names first.
"""

from __future__ import annotations

import posixpath
from functools import cached_property

from parity.errors import ProbeError
from parity.probe.file_access import FileAccess
from parity.probe.image_files import (
    FILE_CAP,
    SMALL_CAP,
    CaptureBudget,
    PythonLayout,
    StaticRead,
    SystemFacts,
    Tree,
    VenvConfig,
    dedupe,
    egg_link_targets,
    glibc_from_binary,
    glibc_from_file_name,
    machine_for,
    missing_tree,
    musl_from_apk_db,
    os_pretty_name,
    parse_dpkg_status,
    parse_pyvenv_cfg,
    probe_output,
    pth_lines,
    pythonpath_entries,
    read_tree,
    site_directories,
    stdlib_entries,
    upstream_version,
    user_site,
    version_from_binary,
    version_from_patchlevel,
)
from parity.probe.interpreter_choice import (
    MINORS,
    ImageFacts,
    InterpreterCandidate,
    image_home,
    locate_interpreter,
)

BINARY_CAP = 64 * 1024 * 1024  # an interpreter, libpython or libc read to find a version
DPKG_STATUS = "/var/lib/dpkg/status"
_TRIPLETS = {
    "amd64": "x86_64-linux-gnu",
    "arm64": "aarch64-linux-gnu",
    "arm": "arm-linux-gnueabihf",
    "386": "i386-linux-gnu",
    "ppc64le": "powerpc64le-linux-gnu",
    "s390x": "s390x-linux-gnu",
    "riscv64": "riscv64-linux-gnu",
}


class ImageReader:
    """Reads one interpreter's world from a container's files (see the module docstring)."""

    def __init__(self, files: FileAccess, facts: ImageFacts, kernel: str = "") -> None:
        self.files = files
        self.facts = facts
        self.kernel = kernel
        self.warnings: list[str] = []

    def read(self, python: str | None = None) -> bytes:
        """The probe's document, as bytes, for ``python`` (or the default interpreter)."""
        return self.read_for(locate_interpreter(self.files, self.facts, python))

    def read_for(self, interpreter: InterpreterCandidate) -> bytes:
        """The probe's document, as bytes, for ``interpreter``."""
        layout = self.layout(interpreter)
        system = self.system()
        sys_path, trees = self.sys_path(layout)
        marker = posixpath.join(layout.stdlib, "EXTERNALLY-MANAGED")
        read = StaticRead(
            layout=layout,
            system=system,
            sys_path=tuple(sys_path),
            trees=trees,
            env=self.facts.env,
            externally_managed=self.files.exists(marker),
            warnings=tuple(self.warnings),
        )
        return probe_output(read)

    # --- small helpers ------------------------------------------------------------------

    def text(self, path: str, cap: int = SMALL_CAP) -> str | None:
        data = self.files.read_file(path, cap)
        return None if data is None else data.decode("utf-8", "replace")

    @cached_property
    def dpkg(self) -> dict[str, str]:
        """{package: version} from Debian's package database; empty elsewhere."""
        return parse_dpkg_status(self.text(DPKG_STATUS, BINARY_CAP) or "")

    @cached_property
    def is_debian(self) -> bool:
        return self.files.exists("/etc/debian_version")

    # --- the interpreter's layout -------------------------------------------------------

    def layout(self, interpreter: InterpreterCandidate) -> PythonLayout:
        """Version, prefixes, venv and site scheme of ``interpreter``, from files."""
        if posixpath.basename(interpreter.real_path).startswith("pypy"):
            raise ProbeError(
                f"{self.files.subject}: {interpreter.path} is PyPy; --static reads CPython only"
            )
        executable = interpreter.path
        venv_prefix = posixpath.dirname(posixpath.dirname(executable))
        venv = self.venv_config(executable)
        starts = dedupe(
            [*([venv.home] if venv and venv.home else []), posixpath.dirname(interpreter.real_path)]
        )
        minor = interpreter.version or _minor_from_venv(venv) or self.minor_from_lib(starts[0])
        if minor is None:
            raise ProbeError(
                f"{self.files.subject}: cannot tell the Python version of {interpreter.path} "
                "from its files (run without --static)"
            )
        base_prefix, platlibdir = self.find_prefix(starts, minor)
        full_version = self.full_version(interpreter, base_prefix, minor, venv)
        version = (int(minor.split(".")[0]), int(minor.split(".")[1]))
        site_py = self.site_py(base_prefix, platlibdir, minor)
        return PythonLayout(
            version=version,
            full_version=full_version,
            executable=executable,
            prefix=venv_prefix if venv is not None else base_prefix,
            base_prefix=base_prefix,
            venv=venv,
            debian=b"dist-packages" in site_py,
            virtual_env_variable_counts=b"'VIRTUAL_ENV' in os.environ" in site_py,
            platlibdir=platlibdir,
        )

    def venv_config(self, executable: str) -> VenvConfig | None:
        """pyvenv.cfg beside the executable or one level up (as getpath looks for it)."""
        bin_dir = posixpath.dirname(executable)
        for directory in (bin_dir, posixpath.dirname(bin_dir)):
            text = self.text(posixpath.join(directory, "pyvenv.cfg"))
            if text is not None:
                return parse_pyvenv_cfg(text)
        return None

    def minor_from_lib(self, start: str) -> str | None:
        """The X.Y of the first ``lib/pythonX.Y/os.py`` above ``start`` (newest first)."""
        directory = start
        while True:
            for minor in MINORS:
                if self.files.exists(posixpath.join(directory, "lib", f"python{minor}", "os.py")):
                    return minor
            if directory == "/":
                return None
            directory = posixpath.dirname(directory)

    def find_prefix(self, starts: list[str], minor: str) -> tuple[str, str]:
        """(prefix, platlibdir): the first directory above a start with the stdlib landmark.

        The starts are pyvenv.cfg's ``home`` (for a venv) and the real executable's directory;
        $PYTHONHOME, when set, is the prefix itself.
        """
        home = self.facts.env.get("PYTHONHOME", "").split(":")[0]
        for start in [home] if home else starts:
            directory = start
            while True:
                for libdir in ("lib", "lib64"):
                    landmark = posixpath.join(directory, libdir, f"python{minor}", "os.py")
                    if self.files.exists(landmark):
                        return directory, libdir
                if directory == "/" or home:
                    break
                directory = posixpath.dirname(directory)
        self.warnings.append(f"found no standard library for Python {minor}; guessed its prefix")
        return posixpath.dirname(starts[-1]), "lib"

    def full_version(
        self,
        interpreter: InterpreterCandidate,
        base_prefix: str,
        minor: str,
        venv: VenvConfig | None,
    ) -> str:
        """X.Y.Z from patchlevel.h, Debian's database, or the PY_VERSION in the binary."""
        header = posixpath.join(base_prefix, "include", f"python{minor}", "patchlevel.h")
        data = self.files.read_file(header, FILE_CAP)
        found = version_from_patchlevel(data) if data else None
        if not found and self.is_debian and interpreter.real_path == f"/usr/bin/python{minor}":
            found = upstream_version(self.dpkg.get(f"python{minor}-minimal", ""))
        binaries = (
            interpreter.real_path,
            posixpath.join(base_prefix, "lib", f"libpython{minor}.so.1.0"),
        )
        for path in binaries:
            if found:
                break
            data = self.files.read_file(path, BINARY_CAP)
            found = version_from_binary(data, minor) if data else None
        if not found and venv is not None and venv.version:
            found = ".".join(venv.version.split(".")[:3])
        if found and found.startswith(minor + "."):
            return found
        self.warnings.append(f"the patch version of Python {minor} is unknown; reported {minor}")
        return minor

    def site_py(self, base_prefix: str, platlibdir: str, minor: str) -> bytes:
        """The interpreter's site.py where it may be Debian's (prefix /usr), else nothing.

        Debian's patched site.py (dist-packages) exists only for interpreters built for
        /usr; its text decides the site scheme, whatever the rest of the image looks like.
        """
        if base_prefix != "/usr":
            return b""
        path = posixpath.join(base_prefix, platlibdir, f"python{minor}", "site.py")
        return self.files.read_file(path, FILE_CAP) or b""

    # --- machine, OS, libc -----------------------------------------------------------------

    def system(self) -> SystemFacts:
        """Machine from the image's Architecture, OS from os-release, libc from its files."""
        pretty = None
        for path in ("/etc/os-release", "/usr/lib/os-release"):
            text = self.text(path)
            if text is not None:
                pretty = os_pretty_name(text)
                break
        return SystemFacts(
            machine=machine_for(self.facts.architecture),
            os=pretty or f"Linux {self.kernel}".strip(),
            libc=self.libc(),
            kernel_release=self.kernel,
        )

    def libc(self) -> str:
        """``glibc X.Y`` (libc.so.6's link name, the package database, its banner), musl, ""."""
        triplet = _TRIPLETS.get(self.facts.architecture, "")
        candidates = dedupe(
            [
                f"/lib/{triplet}/libc.so.6",
                f"/usr/lib/{triplet}/libc.so.6",
                "/lib64/libc.so.6",
                "/usr/lib64/libc.so.6",
                "/lib/libc.so.6",
                "/usr/lib/libc.so.6",
            ]
        )
        for path in candidates:
            if not self.files.exists(path):
                continue
            found = glibc_from_file_name(posixpath.basename(self.files.realpath(path)))
            if not found and self.is_debian and triplet in path:
                version = upstream_version(self.dpkg.get("libc6", ""))
                found = f"glibc {version}" if version else None
            if not found:
                data = self.files.read_file(path, BINARY_CAP)
                found = glibc_from_binary(data) if data else None
            if found:
                return found
        machine = machine_for(self.facts.architecture)
        if self.files.exists(f"/lib/ld-musl-{machine}.so.1"):
            return musl_from_apk_db(self.text("/lib/apk/db/installed", BINARY_CAP) or "")
        return ""

    # --- sys.path and its trees -----------------------------------------------------------

    def sys_path(self, layout: PythonLayout) -> tuple[list[str], dict[str, Tree]]:
        """sys.path as site.py builds it, and the tree of every entry worth scanning."""
        env = self.facts.env
        budget = CaptureBudget()
        trees: dict[str, Tree] = {}

        def tree(path: str) -> Tree:
            if path not in trees:
                trees[path] = self.fetch_tree(path, budget)
            return trees[path]

        stdlib = stdlib_entries(layout)
        entries = dedupe([*pythonpath_entries(env), *stdlib])
        user = user_site(layout, env, self.home())
        for site_dir in site_directories(layout, env, user):
            if not self.files.is_dir(site_dir):
                continue
            if site_dir not in entries:
                entries.append(site_dir)
            lines, warnings = pth_lines(tree(site_dir))
            self.warnings += warnings
            for line in lines:
                if line not in entries and self.files.exists(line):
                    entries.append(line)
        for entry in entries:
            if entry not in stdlib:
                for target in egg_link_targets(tree(entry)):
                    tree(target)
        return entries, trees

    def fetch_tree(self, path: str, budget: CaptureBudget) -> Tree:
        with self.files.archive(path) as opened:
            if opened is None:
                return missing_tree(path)
            stream, _ = opened
            return read_tree(stream, path, budget)

    def home(self) -> str:
        """$HOME as the engine sets it: the image's, else the user's passwd entry."""
        return image_home(self.files, self.facts, FILE_CAP)


def _minor_from_venv(venv: VenvConfig | None) -> str | None:
    if venv is None or not venv.version:
        return None
    parts = venv.version.split(".")
    return ".".join(parts[:2]) if len(parts) >= 2 else None
