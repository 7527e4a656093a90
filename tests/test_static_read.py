"""parity.probe.image_files (pure): tar streams and file facts to the probe's document.

The central check reads a real venv's site-packages through tar streams, as the engine's
archive API would send them, and compares the result with the real probe run by that
venv's own interpreter. The rest pins the rules one by one on small real archives.
"""

from __future__ import annotations

import base64
import io
import json
import os
import pathlib
import sys
import tarfile
from collections.abc import Mapping
from dataclasses import replace

import pytest

from parity.probe.file_access import PathStat
from parity.probe.image_files import (
    FILE_CAP,
    CaptureBudget,
    PythonLayout,
    StaticRead,
    SystemFacts,
    Tree,
    VenvConfig,
    egg_link_targets,
    glibc_from_binary,
    glibc_from_file_name,
    implementation_version,
    machine_for,
    marker_environment,
    musl_from_apk_db,
    os_pretty_name,
    parse_dpkg_status,
    parse_pyvenv_cfg,
    probe_document,
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
    walk,
)
from parity.probe.interpreter_choice import python_program, search_path, version_from_name
from parity.probe.parse import parse_probe_output
from tests.data.probe.probe_testing import (
    build_wheel,
    make_venv,
    run,
    run_probe_json,
    site_packages,
    write_backend_project,
)

SYSTEM = SystemFacts(machine="x86_64", os="Test OS", libc="glibc 2.36", kernel_release="6.1.0")


def tar_of(path: str | os.PathLike[str]) -> io.BytesIO:
    """``path`` as a tar stream shaped like the archive API's (root named by its basename)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        archive.add(os.fspath(path), arcname=os.path.basename(os.fspath(path)), recursive=True)
    buffer.seek(0)
    return buffer


def tree_of(path: str | os.PathLike[str], budget: CaptureBudget | None = None) -> Tree:
    return read_tree(tar_of(path), os.fspath(path), budget or CaptureBudget())


def layout(
    version: tuple[int, int] = (3, 11),
    *,
    prefix: str = "/usr/local",
    base_prefix: str = "/usr/local",
    venv: VenvConfig | None = None,
    debian: bool = False,
    virtual_env_variable_counts: bool = False,
) -> PythonLayout:
    minor = f"{version[0]}.{version[1]}"
    return PythonLayout(
        version=version,
        full_version=f"{minor}.4",
        executable=f"{prefix}/bin/python3",
        prefix=prefix,
        base_prefix=base_prefix,
        venv=venv,
        debian=debian,
        virtual_env_variable_counts=virtual_env_variable_counts,
    )


# --- a real venv, read through tar streams, against the real probe ----------------------------


@pytest.fixture(scope="module")
def rich_venv(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """A real venv with wheels, a PEP 660 editable, an egg-info file and a .pth-added dir."""
    root = tmp_path_factory.mktemp("static-venv")
    python = make_venv(sys.executable, root / "venv")
    wheels = root / "wheels"
    wheels.mkdir()
    build_wheel(wheels, "alpha", "1.0", {"alpha.py": "A = 1\n"}, requires=["beta>=2"])
    build_wheel(wheels, "beta", "2.5", {"beta.py": "B = 2\n"})
    editable = write_backend_project(root / "editable-project", "gamma-app", "0.1.0")
    install: list[str | os.PathLike[str]] = [python, "-m", "pip", "install", "--isolated"]
    install += ["--no-index", "--no-input"]
    run([*install, wheels / "alpha-1.0-py3-none-any.whl", wheels / "beta-2.5-py3-none-any.whl"])
    run([*install, "--no-build-isolation", "-e", editable])
    site = site_packages(python)
    (site / "legacy-0.9.egg-info").write_text("Metadata-Version: 1.0\nName: legacy\nVersion: 0.9\n")
    extra = root / "extra"
    (extra / "delta-3.0.dist-info").mkdir(parents=True)
    (extra / "delta-3.0.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: delta\nVersion: 3.0\n\nA long description.\n"
    )
    (extra / "beta-1.0.dist-info").mkdir()  # shadowed: site-packages' beta comes first
    (extra / "beta-1.0.dist-info" / "METADATA").write_text("Name: beta\nVersion: 1.0\n")
    broken = extra / "broken-1.0.dist-info"
    broken.mkdir()
    if hasattr(os, "mkfifo"):
        os.mkfifo(broken / "METADATA")  # the probe must never block on it; nor does --static
    else:  # Windows: a directory where a file should be is unreadable too
        (broken / "METADATA").mkdir()
    (site / "zz-extra.pth").write_text(f"# a comment\n\n{extra}\nimport os\n{root}/missing\n")
    return python


def static_document_of_local_venv(python: pathlib.Path) -> dict[str, object]:
    """What --static would say about a local venv, reading it only through tar streams."""
    site = os.fspath(site_packages(python))
    venv_dir = python.parent.parent
    budget = CaptureBudget()
    trees = {site: tree_of(site, budget)}
    lines, warnings = pth_lines(trees[site])
    entries = [site, *(line for line in lines if os.path.exists(line))]
    for entry in entries[1:]:
        trees[entry] = tree_of(entry, budget)
    for entry in entries:
        for target in egg_link_targets(trees[entry]):
            trees[target] = tree_of(target, budget)
    config = parse_pyvenv_cfg((venv_dir / "pyvenv.cfg").read_text())
    read = StaticRead(
        layout=layout(
            (sys.version_info[0], sys.version_info[1]),
            prefix=os.fspath(venv_dir),
            base_prefix=sys.base_prefix,
            venv=config,
        ),
        system=SYSTEM,
        sys_path=tuple(entries),
        trees=trees,
        env={},
        warnings=tuple(warnings),
    )
    return probe_document(read)


@pytest.mark.slow
def test_static_read_of_a_real_venv_equals_the_probe(rich_venv: pathlib.Path) -> None:
    probed = run_probe_json(rich_venv)
    static = static_document_of_local_venv(rich_venv)
    assert static["distributions"] == probed["distributions"]
    assert static["warnings"] == probed["warnings"]
    names = {item["name"]: item["version"] for item in probed["distributions"]}
    assert names["beta"] == "2.5"
    assert names["delta"] == "3.0"
    assert names["legacy"] == "0.9"
    assert "gamma-app" in names
    assert any("broken-1.0.dist-info" in warning for warning in probed["warnings"])


@pytest.mark.slow
def test_static_output_parses_like_probe_output(rich_venv: pathlib.Path) -> None:
    document = static_document_of_local_venv(rich_venv)
    environment = parse_probe_output(json.dumps(document), kind="image", ref="x")
    editable = next(package for package in environment.packages if package.name == "gamma-app")
    assert editable.origin is not None and editable.origin.kind == "editable"
    assert environment.interpreter is not None
    assert environment.interpreter.is_venv is True


# --- tar streams ------------------------------------------------------------------------------


def add_file(archive: tarfile.TarFile, name: str, data: bytes = b"", **kinds: object) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    for key, value in kinds.items():
        setattr(info, key, value)
    archive.addfile(info, io.BytesIO(data) if data else None)


def synthetic_tree(
    members: list[tuple[str, bytes, dict[str, object]]], budget: CaptureBudget
) -> Tree:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        add_file(archive, "site-packages", type=tarfile.DIRTYPE)
        for name, data, kinds in members:
            add_file(archive, f"site-packages/{name}", data, **kinds)
    buffer.seek(0)
    return read_tree(buffer, "/sp", budget)


def test_read_tree_keeps_only_metadata_bodies() -> None:
    metadata = b"Name: foo\nVersion: 1.0\n\n" + b"long description\n" * 1000
    tree = synthetic_tree(
        [
            ("foo-1.0.dist-info", b"", {"type": tarfile.DIRTYPE}),
            ("foo-1.0.dist-info/METADATA", metadata, {}),
            ("foo-1.0.dist-info/RECORD", b"foo.py,,\n", {}),
            ("foo-1.0.dist-info/INSTALLER", b"pip\n", {}),
            ("foo", b"", {"type": tarfile.DIRTYPE}),
            ("foo/big.bin", b"\0" * 100_000, {}),
            ("foo/sub.dist-info", b"", {"type": tarfile.DIRTYPE}),
            ("foo/sub.dist-info/METADATA", b"Name: hidden\n", {}),
        ],
        CaptureBudget(),
    )
    assert tree.is_dir
    assert tree.listing() == ["foo", "foo-1.0.dist-info"]
    assert set(tree.captured) == {"foo-1.0.dist-info/METADATA", "foo-1.0.dist-info/INSTALLER"}
    assert tree.captured["foo-1.0.dist-info/METADATA"].data == b"Name: foo\nVersion: 1.0\n"
    assert "foo-1.0.dist-info/RECORD" in tree.members  # known to exist, body skipped
    assert "foo/big.bin" not in tree.members


def test_read_tree_marks_what_cannot_be_read() -> None:
    tree = synthetic_tree(
        [
            ("a-1.dist-info", b"", {"type": tarfile.DIRTYPE}),
            ("a-1.dist-info/METADATA", b"", {"type": tarfile.FIFOTYPE}),
            ("b-1.dist-info", b"", {"type": tarfile.DIRTYPE}),
            ("b-1.dist-info/METADATA", b"", {"type": tarfile.SYMTYPE, "linkname": "/etc/x"}),
            ("c-1.dist-info", b"", {"type": tarfile.DIRTYPE}),
            ("c-1.dist-info/METADATA", b"Name: c\nVersion: 1\n", {}),
            ("d-1.dist-info", b"", {"type": tarfile.DIRTYPE}),
            (
                "d-1.dist-info/METADATA",
                b"",
                {"type": tarfile.LNKTYPE, "linkname": "site-packages/c-1.dist-info/METADATA"},
            ),
            ("e-1.dist-info", b"", {"type": tarfile.DIRTYPE}),
            ("e-1.dist-info/INSTALLER", b"x" * (70 * 1024), {}),
            ("e-1.dist-info/METADATA", b"Name: e\nVersion: 1\n", {}),
        ],
        CaptureBudget(),
    )
    captured = tree.captured
    assert captured["a-1.dist-info/METADATA"].problem == "is not a regular file"
    problem = captured["b-1.dist-info/METADATA"].problem
    assert problem is not None and "symbolic link" in problem
    assert captured["d-1.dist-info/METADATA"].data == b"Name: c\nVersion: 1\n"  # a hard link
    assert captured["e-1.dist-info/INSTALLER"].hit_cap  # over SMALL_CAP: read cap + 1 only
    document = probe_document(
        StaticRead(layout(), SYSTEM, ("/sp",), {"/sp": tree}, env={}, warnings=())
    )
    # d's METADATA is a hard link to c's: it names c again, and the first c wins
    assert [item["name"] for item in document["distributions"]] == ["c", "e"]
    warnings = "\n".join(document["warnings"])
    assert "/sp/a-1.dist-info: METADATA is not a regular file" in warnings
    assert "/sp/e-1.dist-info: INSTALLER is larger than 65536 bytes" in warnings


def test_read_tree_caps_header_blocks_and_the_total() -> None:
    endless = b"Name: big\nVersion: 1\n" + b"X-Field: value\n" * (FILE_CAP // 10)
    budget = CaptureBudget(total=FILE_CAP // 2)
    tree = synthetic_tree(
        [
            ("big-1.dist-info", b"", {"type": tarfile.DIRTYPE}),
            ("big-1.dist-info/METADATA", endless, {}),
            ("later-1.dist-info", b"", {"type": tarfile.DIRTYPE}),
            ("later-1.dist-info/METADATA", b"Name: later\nVersion: 1\n", {}),
        ],
        budget,
    )
    big = tree.captured["big-1.dist-info/METADATA"]
    assert big.hit_cap and len(big.data) <= FILE_CAP
    problem = tree.captured["later-1.dist-info/METADATA"].problem
    assert problem is not None and "budget" in problem


def test_a_single_file_tree_keeps_its_body() -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        add_file(archive, "os-release", b'PRETTY_NAME="Test"\n')
    buffer.seek(0)
    tree = read_tree(buffer, "/etc/os-release", CaptureBudget())
    assert tree.is_file and tree.body == b'PRETTY_NAME="Test"\n'


# --- sys.path rules ---------------------------------------------------------------------------


def test_site_directories_of_debian_and_upstream_pythons() -> None:
    debian = layout(prefix="/usr", base_prefix="/usr", debian=True)
    assert site_directories(debian, {}) == [
        "/usr/local/lib/python3.11/dist-packages",
        "/usr/lib/python3/dist-packages",
        "/usr/lib/python3.11/dist-packages",
    ]
    assert site_directories(layout(), {}) == ["/usr/local/lib/python3.11/site-packages"]
    py2 = layout((2, 7), prefix="/usr", base_prefix="/usr", debian=True)
    assert site_directories(py2, {}) == [
        "/usr/local/lib/python2.7/dist-packages",
        "/usr/lib/python2.7/dist-packages",
    ]
    old = layout((3, 9), prefix="/usr", base_prefix="/usr", debian=True)
    quirky = replace(old, virtual_env_variable_counts=True)
    assert (
        site_directories(old, {"VIRTUAL_ENV": "/x"})[0] == "/usr/local/lib/python3.9/dist-packages"
    )
    assert site_directories(quirky, {"VIRTUAL_ENV": "/x"})[0] == "/usr/lib/python3.9/site-packages"


def test_site_directories_of_venvs() -> None:
    isolated = VenvConfig(home="/usr/bin", include_system_site=False, version="3.11.2")
    shared = VenvConfig(home="/usr/bin", include_system_site=True, version="3.11.2")
    venv = layout(prefix="/opt/venv", base_prefix="/usr", venv=isolated, debian=True)
    assert site_directories(venv, {})[0] == "/opt/venv/lib/python3.11/site-packages"
    assert all(path.startswith("/opt/venv/") for path in site_directories(venv, {}))
    with_system = layout(prefix="/opt/venv", base_prefix="/usr", venv=shared)
    assert site_directories(with_system, {}) == [
        "/opt/venv/lib/python3.11/site-packages",
        "/usr/lib/python3.11/site-packages",
    ]
    user = "/root/.local/lib/python3.11/site-packages"
    assert site_directories(with_system, {}, user) == [
        "/opt/venv/lib/python3.11/site-packages",
        user,
        "/usr/lib/python3.11/site-packages",
    ]
    assert site_directories(layout(), {}, user)[0] == user
    assert user_site(venv, {}, "/root") is None
    assert user_site(with_system, {}, "/root") == "/root/.local/lib/python3.11/site-packages"
    assert user_site(layout(), {"PYTHONNOUSERSITE": "1"}, "/root") is None
    assert user_site(layout(), {"PYTHONUSERBASE": "/u"}, "/h") == "/u/lib/python3.11/site-packages"


def test_pythonpath_and_stdlib_entries() -> None:
    assert pythonpath_entries({"PYTHONPATH": "/a:rel/b::/c/../d"}) == ["/a", "/rel/b", "/d"]
    assert pythonpath_entries({"PYTHONPATH": "x"}, cwd="/app") == ["/app/x"]
    assert stdlib_entries(layout()) == [
        "/usr/local/lib/python311.zip",
        "/usr/local/lib/python3.11",
        "/usr/local/lib/python3.11/lib-dynload",
    ]


def test_pth_lines_follow_site_rules(tmp_path: pathlib.Path) -> None:
    site = tmp_path / "site-packages"
    site.mkdir()
    (site / "a.pth").write_text("\ufeff# comment\n\n../src\nimport sys; sys.path.insert(0, 'x')\n")
    (site / "b.pth").write_text("import _virtualenv\n/abs/dir  \n")
    (site / ".hidden.pth").write_text("/never\n")
    (site / "c.egg-link").write_text("/work/project\n.\n")
    tree = tree_of(site)
    lines, warnings = pth_lines(tree)
    assert lines == [os.path.normpath(tmp_path / "src"), "/abs/dir"]
    assert len(warnings) == 1 and "a.pth" in warnings[0] and "sys.path" in warnings[0]
    assert egg_link_targets(tree) == ["/work/project"]


def test_walk_finds_eggs_and_zips(tmp_path: pathlib.Path) -> None:
    egg = tmp_path / "thing-1.0-py3.11.egg"
    (egg / "EGG-INFO").mkdir(parents=True)
    (egg / "EGG-INFO" / "PKG-INFO").write_text("Name: thing\nVersion: 1.0\n")
    zipped = tmp_path / "zipped.egg"
    import zipfile

    with zipfile.ZipFile(zipped, "w") as archive:
        archive.writestr("EGG-INFO/PKG-INFO", "Name: zipped\nVersion: 2.0\n")
        archive.writestr("zipped.py", "")
    trees = {os.fspath(egg): tree_of(egg), os.fspath(zipped): tree_of(zipped)}
    found = walk([os.fspath(egg), os.fspath(zipped)], trees)
    assert [candidate.file_name for candidate in found.candidates] == [egg.name, zipped.name]
    document = probe_document(
        StaticRead(layout(), SYSTEM, tuple(trees), trees, env={}, warnings=())
    )
    names = {item["name"]: item["version"] for item in document["distributions"]}
    assert names == {"thing": "1.0", "zipped": "2.0"}


# --- facts from files -------------------------------------------------------------------------


def test_versions_from_files() -> None:
    assert version_from_patchlevel(b'#define PY_VERSION      "3.12.4"\n') == "3.12.4"
    binary = b"junk\x003.11.2\x00more\x003.11\x00GCC 12\x00"
    assert version_from_binary(binary, "3.11") == "3.11.2"
    assert version_from_binary(b"\x003.13.0rc1\x00", "3.13") == "3.13.0rc1"
    assert version_from_binary(b"\x003.11.2\x00\x003.11.4\x00", "3.11") is None  # ambiguous
    assert implementation_version("3.13.0rc1") == "3.13.0c1"
    assert implementation_version("3.11.2") == "3.11.2"
    assert implementation_version("3.14.0a1+") == "3.14.0a1"
    assert version_from_name("/usr/bin/python3.11") == "3.11"
    assert version_from_name("/usr/bin/python3") is None


def test_system_facts_from_files() -> None:
    assert glibc_from_file_name("libc-2.31.so") == "glibc 2.31"
    assert glibc_from_file_name("libc.so.6") is None
    banner = b"GNU C Library (Debian GLIBC 2.36-9+deb12u7) stable release version 2.36.\n"
    assert glibc_from_binary(b"\0" + banner) == "glibc 2.36"
    assert musl_from_apk_db("C:Q1x\nP:busybox\nV:1.36\n\nC:Q2\nP:musl\nV:1.2.4-r2\n") == (
        "musl 1.2.4"
    )
    assert musl_from_apk_db("") == "musl"
    assert os_pretty_name('NAME="Debian"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n') == (
        "Debian GNU/Linux 12 (bookworm)"
    )
    assert machine_for("arm64") == "aarch64"
    assert machine_for("amd64") == "x86_64"
    status = (
        "Package: libc6\nStatus: install ok installed\nVersion: 2.36-9+deb12u7\n\n"
        "Package: gone\nStatus: deinstall ok config-files\nVersion: 1.0\n\n"
        "Package: python3.11-minimal\nStatus: install ok installed\nVersion: 3.11.2-6\n"
        "Description: x\n continued: line\n"
    )
    assert parse_dpkg_status(status) == {
        "libc6": "2.36-9+deb12u7",
        "python3.11-minimal": "3.11.2-6",
    }
    assert upstream_version("1:3.11.2-6+deb12u8") == "3.11.2"
    assert upstream_version("2.36") == "2.36"


def test_pyvenv_cfg_and_markers() -> None:
    config = parse_pyvenv_cfg(
        "home = /usr/local/bin\ninclude-system-site-packages = TRUE\nversion = 3.11.9\n"
    )
    assert config == VenvConfig("/usr/local/bin", True, "3.11.9")
    markers = marker_environment(layout(), SYSTEM)
    assert markers["python_full_version"] == "3.11.4"
    assert markers["platform_release"] == "6.1.0"
    assert markers["sys_platform"] == "linux"
    py2 = marker_environment(layout((2, 7)), SYSTEM)
    assert py2["implementation_name"] == "" and py2["sys_platform"] == "linux2"


def test_probe_output_is_one_json_line() -> None:
    output = probe_output(StaticRead(layout(), SYSTEM, (), {}, env={}, warnings=()))
    assert output.endswith(b"\n") and output.count(b"\n") == 1
    environment = parse_probe_output(output, kind="image", ref="x")
    assert environment.interpreter is not None
    assert environment.interpreter.version == "3.11.4"
    assert environment.packages == ()


# --- interpreter lookup rules (pure parts) ----------------------------------------------------


def test_search_path_and_program() -> None:
    assert search_path({"PATH": "/opt/venv/bin:relative:/usr/bin/"}) == (
        "/opt/venv/bin",
        "/usr/bin",
    )
    assert search_path({})[0] == "/usr/local/sbin"
    assert python_program(["python", "app.py"]) == "python"
    assert python_program(["/opt/venv/bin/python3.12", "-m", "app"]) == "/opt/venv/bin/python3.12"
    assert python_program(["tini", "--", "python3", "app.py"]) == "python3"
    assert python_program(["/docker-entrypoint.sh", "python"]) is None
    assert python_program(["pythonista"]) is None
    assert python_program([]) is None


def encoded_stat(mode: int, link: str = "") -> str:
    data: Mapping[str, object] = {"name": "x", "size": 1, "mode": mode, "linkTarget": link}
    return base64.b64encode(json.dumps(data).encode()).decode()


def test_path_stat_reads_go_file_modes() -> None:
    link = PathStat.from_header(encoded_stat(134218239, "/usr/bin/python3.11"))
    assert link.is_symlink and not link.is_regular and link.link_target == "/usr/bin/python3.11"
    executable = PathStat.from_header(encoded_stat(0o755))
    assert executable.is_regular and executable.is_executable
    assert not PathStat.from_header(encoded_stat(0o644)).is_executable
    directory = PathStat.from_header(encoded_stat(2147484141))
    assert directory.is_dir and not directory.is_executable
