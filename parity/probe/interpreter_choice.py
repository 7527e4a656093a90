"""Finding the Python interpreters of an image or container without running anything in it.

The rules that choose an interpreter, over an image's files (:class:`FileAccess`: the
engine's archive API, or an image's registry layers) and its config; pure. A shell in the
image would run the first ``python3`` on the image's PATH; parity finds the same file
before it starts anything, so the probe container starts exactly once, with the absolute
path of the interpreter, and ``--static`` needs no process at all.

The default choice is the Python the application runs with, read from the image's config
(``Entrypoint``, ``Cmd``, ``WorkingDir``, ``Env``, ``User``), in order:

1. the program itself when it is a Python (``["python", "app.py"]``, ``/app/.venv/bin/python``);
2. a script it runs (``/app/.venv/bin/gunicorn``, ``uvicorn`` on PATH): its ``#!`` line
   names the interpreter; an entrypoint script that is not Python (``docker-entrypoint.sh``
   ending in ``exec "$@"``) is looked through to the command after it;
3. ``poetry run``, ``uv run``, ``pipenv run``, ``pdm run``, ``hatch run``: that tool's
   environment for the project in the working directory (its in-project ``.venv``, the
   tool's variables, its default virtualenv folder);
4. ``VIRTUAL_ENV`` in the image's environment;
5. a venv in the working directory (``.venv``, ``venv``, ``env``);
6. the image's PATH: ``python3``, then ``python``, then any other (``python3.X``, 2.7).

A shell form (``/bin/sh -c "exec poetry run ..."``) and an init wrapper (``tini --``) are
looked through. Every choice carries its reason, for the progress note and the report.
"""

from __future__ import annotations

import posixpath
import re
import shlex
import tarfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from parity.errors import NoInterpreterError
from parity.probe.file_access import FileAccess

# The PATH runc uses when the image sets none.
DEFAULT_SEARCH_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
DEFAULT_NAMES = ("python3", "python")
# Other names worth looking for when listing: newest first, then Python 2.
VERSIONED_NAMES = (*(f"python3.{minor}" for minor in range(16, 4, -1)), "python2", "python2.7")
_INIT_WRAPPERS = frozenset({"tini", "tini-static", "dumb-init", "catatonit"})
_PYTHON_PROGRAM = re.compile(r"^python(\d+(\.\d+)?)?$")
_VERSION_IN_NAME = re.compile(r"^python(\d+\.\d+)")
# Versions a venv's lib folder may be named for: newest first, then Python 2.
MINORS = (*(f"3.{minor}" for minor in range(16, 4, -1)), "2.7")


@dataclass(frozen=True)
class InterpreterCandidate:
    """One Python interpreter found in an image or container."""

    path: str  # how it is invoked: "/opt/venv/bin/python3" (what sys.executable will say)
    real_path: str  # symlinks resolved inside the image: "/usr/local/bin/python3.11"
    version: str | None  # "3.11" when the real file's name says so
    found_by: str  # "entrypoint", "PATH", "--python", "script", "poetry", "VIRTUAL_ENV", ...
    shadowed: bool = False  # an earlier PATH directory has a file of the same name
    reason: str = ""  # why: "`poetry run` in the image's command: Poetry's in-project venv"

    @property
    def name(self) -> str:
        return posixpath.basename(self.path)

    def describe(self) -> str:
        version = f" (Python {self.version})" if self.version else ""
        target = f" -> {self.real_path}" if self.real_path != self.path else ""
        return f"{self.path}{target}{version}"

    def explain(self) -> str:
        """``/app/.venv/bin/python (`poetry run` in the image's command: ...)``."""
        return f"{self.path} ({self.reason})" if self.reason else self.path


@dataclass(frozen=True)
class RunOverrides:
    """How a container runs its image instead of the image's own settings (a compose
    service's ``entrypoint:``, ``command:`` and ``working_dir:``); None: the image's."""

    entrypoint: tuple[str, ...] | None = None
    command: tuple[str, ...] | None = None
    working_dir: str | None = None

    def apply(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """An image ``Config`` as the container runs it: an entrypoint that is set clears
        the image's command (as ``docker run --entrypoint`` and compose do)."""
        result = dict(config)
        if self.entrypoint is not None:
            result["Entrypoint"] = list(self.entrypoint)
            result["Cmd"] = list(self.command or ())
        elif self.command is not None:
            result["Cmd"] = list(self.command)
        if self.working_dir:
            result["WorkingDir"] = self.working_dir
        return result


@dataclass(frozen=True)
class ImageFacts:
    """What an image or container config says about how its process runs."""

    env: Mapping[str, str]
    user: str
    working_dir: str
    program: tuple[str, ...]  # ENTRYPOINT + CMD (or Path + Args of a container)
    architecture: str = ""

    @property
    def search_path(self) -> tuple[str, ...]:
        return search_path(self.env)

    @classmethod
    def from_config(
        cls,
        config: Mapping[str, Any],
        architecture: str = "",
        overrides: Mapping[str, str] | None = None,
        runs: RunOverrides | None = None,
    ) -> ImageFacts:
        """From an image's or container's ``Config`` (``docker inspect``), run as ``runs``
        says (a compose service's command), with ``overrides`` in its environment."""
        if runs is not None:
            config = runs.apply(config)
        env = parse_env(config.get("Env") or ())
        env.update(overrides or {})
        entrypoint = config.get("Entrypoint") or []
        command = config.get("Cmd") or []
        return cls(
            env=env,
            user=str(config.get("User") or ""),
            working_dir=str(config.get("WorkingDir") or "/"),
            program=tuple(str(part) for part in [*entrypoint, *command]),
            architecture=architecture,
        )


def parse_env(items: Sequence[str]) -> dict[str, str]:
    """``["A=1", "B=2"]`` as a dict (a later duplicate wins, as in the engine)."""
    env: dict[str, str] = {}
    for item in items:
        key, _, value = str(item).partition("=")
        if key:
            env[key] = value
    return env


def search_path(env: Mapping[str, str]) -> tuple[str, ...]:
    """The directories a lookup by name searches, in order (absolute ones only)."""
    text = env.get("PATH", DEFAULT_SEARCH_PATH)
    return tuple(posixpath.normpath(part) for part in text.split(":") if part.startswith("/"))


def python_program(program: Sequence[str]) -> str | None:
    """The image's program when it is a Python interpreter (``python``, ``/x/bin/python3.11``).

    An init wrapper in front (``tini --``, ``dumb-init``) and a shell form are looked through.
    """
    words = command_words(program)
    if words and _PYTHON_PROGRAM.match(posixpath.basename(words[0])):
        return words[0]
    return None


_SHELLS = frozenset({"sh", "bash", "dash", "ash", "zsh"})
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_SEPARATORS = frozenset({"&&", "||", ";", "|", "&"})
RUNNERS = ("poetry", "uv", "pipenv", "pdm", "hatch")


def command_words(program: Sequence[str]) -> list[str]:
    """The words of the command the image really runs, wrappers and shell form peeled off.

    ``["tini", "--", "/bin/sh", "-c", "cd /app && exec poetry run app"]`` gives
    ``["poetry", "run", "app"]``: the last command of a chain, without ``exec``, ``env`` or
    ``NAME=value`` in front.
    """
    words = list(program)
    for _ in range(4):
        while words and posixpath.basename(words[0]) in _INIT_WRAPPERS:
            words = words[1:]
            while words and words[0].startswith("-"):
                words = words[1:]
        while words and (words[0] in ("exec", "env") or _ASSIGNMENT.match(words[0])):
            words = words[1:]
        if len(words) >= 3 and posixpath.basename(words[0]) in _SHELLS and words[1] == "-c":
            try:
                tokens = shlex.split(words[2], comments=True)
            except ValueError:
                return words
            commands: list[list[str]] = [[]]
            for token in tokens:
                if token in _SEPARATORS:
                    commands.append([])
                else:
                    commands[-1].append(token)
            nonempty = [command for command in commands if command]
            words = nonempty[-1] if nonempty else []
            continue
        break
    return words


def version_from_name(path: str) -> str | None:
    """``"3.11"`` for ``.../python3.11``; None when the file name does not say."""
    match = _VERSION_IN_NAME.match(posixpath.basename(path))
    return match.group(1) if match else None


# --- lookups ----------------------------------------------------------------------------


def _candidate(
    files: FileAccess, path: str, found_by: str, shadowed: bool = False
) -> InterpreterCandidate | None:
    """An executable regular file at ``path`` (after links), as a candidate."""
    followed = files.follow(path)
    if followed is None or not followed[1].is_executable:
        return None
    real_path = files.realpath(path)
    return InterpreterCandidate(path, real_path, version_from_name(real_path), found_by, shadowed)


def which(
    files: FileAccess,
    directories: Sequence[str],
    name: str,
    found_by: str = "PATH",
    cwd: str = "/",
) -> InterpreterCandidate | None:
    """The first executable ``name`` on ``directories``, as a shell (or runc) finds it.

    A name with a slash is a path (a relative one from ``cwd``, the working directory).
    """
    if "/" in name:
        return _candidate(files, posixpath.normpath(posixpath.join(cwd, name)), found_by)
    for directory in directories:
        found = _candidate(files, posixpath.join(directory, name), found_by)
        if found is not None:
            return found
    return None


def list_interpreters(files: FileAccess, directories: Sequence[str]) -> list[InterpreterCandidate]:
    """Every interpreter on ``directories``, in the order a PATH lookup meets them."""
    found: list[InterpreterCandidate] = []
    seen_names: set[str] = set()
    seen_directories: set[str] = set()
    for directory in directories:
        real_directory = files.realpath(directory)
        if real_directory in seen_directories or not files.is_dir(directory):
            continue
        seen_directories.add(real_directory)
        for name in (*DEFAULT_NAMES, *VERSIONED_NAMES):
            path = posixpath.join(directory, name)
            candidate = _candidate(files, path, "PATH", shadowed=name in seen_names)
            if candidate is not None:
                found.append(candidate)
                seen_names.add(name)
    return found


def locate_interpreter(
    files: FileAccess, facts: ImageFacts, python: str | None = None
) -> InterpreterCandidate:
    """The interpreter to run: ``python`` when given (a name or a path), else the default.

    Raises ProbeError naming what was looked for and what the image holds instead.
    """
    directories = facts.search_path
    if python:
        found = which(files, directories, python, "--python")
        if found is not None:
            return _with_reason(found, "named with --python")
        raise _not_found(files, directories, f"no {python}")
    for step in (_from_program, _from_virtual_env, _from_working_dir):
        found = step(files, facts)
        if found is not None:
            return found
    for name in DEFAULT_NAMES:
        found = which(files, directories, name)
        if found is not None:
            return _with_reason(found, f"the first {name} on the image's PATH")
    others = list_interpreters(files, directories)
    if others:
        return _with_reason(others[0], "the first Python on the image's PATH")
    raise _not_found(files, directories, "no python3 or python")


def likely_interpreter(facts: ImageFacts, python: str | None = None) -> str:
    """The interpreter the probe container is created for before any file is read: the
    ``--python`` given, else the Python the image's command runs, else ``python3``.

    A name is looked up on PATH by the runtime as by :func:`which`; a relative path (which
    the runtime would read from ``/``, not the working directory) is never the answer.
    """
    for name in (python, python_program(facts.program)):
        if name and (name.startswith("/") or "/" not in name):
            return name
    return DEFAULT_NAMES[0]


def runs_as(
    files: FileAccess, facts: ImageFacts, name: str, candidate: InterpreterCandidate
) -> bool:
    """Whether a container created for ``name`` runs ``candidate`` (the runtime's lookup of
    ``name`` on the image's PATH finds that very path)."""
    found = which(files, facts.search_path, name)
    return found is not None and found.path == candidate.path


def _with_reason(candidate: InterpreterCandidate, reason: str) -> InterpreterCandidate:
    return replace(candidate, reason=reason)


def _from_program(
    files: FileAccess, facts: ImageFacts, nested: bool = False
) -> InterpreterCandidate | None:
    """The Python the image's command runs: itself, a script's shebang, or a tool's venv.

    An entrypoint script that is not Python (``docker-entrypoint.sh``, which usually ends
    with ``exec "$@"``) is looked through once, to the command after it.
    """
    words = command_words(facts.program)
    if not words:
        return None
    directories = facts.search_path
    program = words[0]
    name = posixpath.basename(program)
    workdir = facts.working_dir or "/"
    if _PYTHON_PROGRAM.match(name):
        found = which(files, directories, program, "entrypoint", workdir)
        return None if found is None else _with_reason(found, f"the image's command runs {program}")
    if name in RUNNERS:
        project = _runner_project(words[1:], workdir)
        if project is None:
            return None
        return tool_environment(files, replace(facts, working_dir=project), name)
    script = _script_path(files, directories, program, workdir)
    if script is None:
        return None
    found = _shebang_interpreter(files, facts, script)
    if found is None:
        if nested or len(words) < 2:
            return None
        return _from_program(files, replace(facts, program=tuple(words[1:])), nested=True)
    return _with_reason(found, f"the image's command runs {script}, whose #! line names it")


_PROJECT_OPTIONS = frozenset({"-C", "--directory", "--project", "-p", "--path"})


def _runner_project(words: Sequence[str], workdir: str) -> str | None:
    """The project folder of ``TOOL [OPTIONS] run ...`` (``-C DIR``, ``--directory DIR``...);
    None when the tool is not running a command."""
    project = workdir
    index = 0
    while index < len(words):
        word = words[index]
        option, equals, value = word.partition("=")
        if option in _PROJECT_OPTIONS:
            if not equals:
                index += 1
                value = words[index] if index < len(words) else ""
            project = posixpath.normpath(posixpath.join(workdir, value))
        elif word == "run":
            return project
        elif not word.startswith("-"):
            return None
        index += 1
    return None


def _script_path(
    files: FileAccess, directories: Sequence[str], program: str, workdir: str
) -> str | None:
    if "/" in program:
        return posixpath.normpath(posixpath.join(workdir, program))
    for directory in directories:
        path = posixpath.join(directory, program)
        followed = files.follow(path)
        if followed is not None and followed[1].is_executable:
            return path
    return None


_SCRIPT_CAP = 64 * 1024  # a script worth reading a #! line from; binaries are larger
_PIP_LONG_SHEBANG = re.compile(r"""^'''exec' "?([^"\s]+)"? """)


def _shebang_interpreter(
    files: FileAccess, facts: ImageFacts, script: str
) -> InterpreterCandidate | None:
    """The Python a script's ``#!`` line names (``/usr/bin/env python3`` looked up on PATH)."""
    head = files.read_file(script, _SCRIPT_CAP)
    if not head or not head.startswith(b"#!"):
        return None
    lines = head.decode("utf-8", "replace").splitlines()
    words = lines[0][2:].split()
    if words and posixpath.basename(words[0]) in _SHELLS and len(lines) > 1:
        match = _PIP_LONG_SHEBANG.match(lines[1])  # pip's form for long interpreter paths
        words = [match.group(1)] if match else []
    if words and posixpath.basename(words[0]) == "env":
        words = [word for word in words[1:] if not word.startswith("-")][:1]
    if not words or not _PYTHON_PROGRAM.match(posixpath.basename(words[0])):
        return None
    return which(files, facts.search_path, words[0], "script")


def _is_off(value: str) -> bool:
    return value.strip().lower() in ("false", "0", "no", "off")


def tool_environment(
    files: FileAccess, facts: ImageFacts, tool: str
) -> InterpreterCandidate | None:
    """The venv ``TOOL run`` uses for the project in the image's working directory."""
    from parity.sources.venv import pipenv_env_name, poetry_env_name

    env = facts.env
    workdir = facts.working_dir or "/"
    in_project = posixpath.join(workdir, ".venv")
    places: list[tuple[str, str]] = []
    if tool == "uv":
        custom = env.get("UV_PROJECT_ENVIRONMENT", "")
        if custom:
            path = posixpath.normpath(posixpath.join(workdir, custom))
            places.append((path, f"uv's UV_PROJECT_ENVIRONMENT ({path})"))
        else:
            places.append((in_project, f"uv's project environment {in_project}"))
    elif tool == "poetry":
        config = _poetry_config(files, facts)
        if not _is_off(config.get("virtualenvs.in-project", "")):
            places.append((in_project, f"Poetry's in-project venv {in_project}"))
        name = _project_name(files, workdir)
        if name and not _is_off(config.get("virtualenvs.create", "")):
            cache = config.get("cache-dir") or posixpath.join(
                image_home(files, facts), ".cache", "pypoetry"
            )
            folder = config.get("virtualenvs.path", "").replace("{cache-dir}", cache)
            folder = folder or posixpath.join(cache, "virtualenvs")
            base = poetry_env_name(name, files.realpath(workdir))
            for minor in MINORS:
                path = posixpath.join(folder, f"{base}-py{minor}")
                places.append((path, f"Poetry's venv for {workdir}: {path}"))
    elif tool == "pipenv":
        if not _is_off(env.get("PIPENV_VENV_IN_PROJECT", "")):
            places.append((in_project, f"Pipenv's in-project venv {in_project}"))
        home = env.get("WORKON_HOME") or posixpath.join(
            env.get("XDG_DATA_HOME") or posixpath.join(image_home(files, facts), ".local", "share"),
            "virtualenvs",
        )
        path = posixpath.join(home, env.get("PIPENV_CUSTOM_VENV_NAME") or pipenv_env_name(workdir))
        places.append((path, f"Pipenv's venv for {workdir}: {path}"))
    else:  # pdm, hatch: their in-project venv
        places.append((in_project, f"{tool}'s in-project venv {in_project}"))
    for path, why in places:
        found = _venv_interpreter(files, path, tool)
        if found is not None:
            return _with_reason(found, f"`{tool} run` in the image's command: {why}")
    return None


def _venv_interpreter(files: FileAccess, venv: str, found_by: str) -> InterpreterCandidate | None:
    """``VENV/bin/python`` when ``venv`` is a virtualenv (pyvenv.cfg) whose python runs."""
    if files.stat(posixpath.join(venv, "pyvenv.cfg")) is None:
        return None
    for name in DEFAULT_NAMES:  # python3 first, as a PATH lookup tries them
        found = _candidate(files, posixpath.join(venv, "bin", name), found_by)
        if found is not None:
            return found
    return None


def _from_virtual_env(files: FileAccess, facts: ImageFacts) -> InterpreterCandidate | None:
    venv = facts.env.get("VIRTUAL_ENV", "")
    if not venv.startswith("/"):
        return None
    found = _venv_interpreter(files, venv, "VIRTUAL_ENV")
    if found is None:
        return None
    return _with_reason(found, f"VIRTUAL_ENV={venv} in the image's environment")


def _from_working_dir(files: FileAccess, facts: ImageFacts) -> InterpreterCandidate | None:
    workdir = facts.working_dir or "/"
    if workdir == "/":
        return None
    for name in (".venv", "venv", "env"):
        found = _venv_interpreter(files, posixpath.join(workdir, name), "workdir")
        if found is not None:
            return _with_reason(found, f"a venv in the working directory {workdir}")
    return None


def _poetry_config(files: FileAccess, facts: ImageFacts) -> dict[str, str]:
    """Poetry's settings in the image: its config.toml, the project's poetry.toml, then
    ``POETRY_*`` variables (``poetry config virtualenvs.in-project true`` writes the first)."""
    env = facts.env
    config_dir = env.get("POETRY_CONFIG_DIR") or posixpath.join(
        env.get("XDG_CONFIG_HOME") or posixpath.join(image_home(files, facts), ".config"),
        "pypoetry",
    )
    settings: dict[str, str] = {}
    for path in (
        posixpath.join(config_dir, "config.toml"),
        posixpath.join(facts.working_dir or "/", "poetry.toml"),
    ):
        document = _read_toml(files, path)
        virtualenvs = document.get("virtualenvs")
        for key, value in [
            ("cache-dir", document.get("cache-dir")),
            *(
                (f"virtualenvs.{name}", virtualenvs.get(name))
                for name in ("in-project", "create", "path")
                if isinstance(virtualenvs, dict)
            ),
        ]:
            if isinstance(value, (str, bool)):
                settings[key] = str(value).lower() if isinstance(value, bool) else value
    variables = {
        "cache-dir": "POETRY_CACHE_DIR",
        "virtualenvs.in-project": "POETRY_VIRTUALENVS_IN_PROJECT",
        "virtualenvs.create": "POETRY_VIRTUALENVS_CREATE",
        "virtualenvs.path": "POETRY_VIRTUALENVS_PATH",
    }
    for key, variable in variables.items():
        if env.get(variable):
            settings[key] = env[variable]
    return settings


def _read_toml(files: FileAccess, path: str) -> dict[str, Any]:
    """A small TOML file of the image (the shared loader); empty when missing or not TOML."""
    from parity.sources._toml import TomlFileError, decode, parse_document

    data = files.read_file(path, _SCRIPT_CAP)
    if data is None:
        return {}
    try:
        return parse_document(decode(data, path), path)
    except TomlFileError:
        return {}


def _project_name(files: FileAccess, workdir: str) -> str | None:
    """The project's name in ``workdir``/pyproject.toml (Poetry's table, else PEP 621's)."""
    document = _read_toml(files, posixpath.join(workdir, "pyproject.toml"))
    tool = document.get("tool")
    poetry = tool.get("poetry") if isinstance(tool, dict) else None
    project = document.get("project")
    for table in (poetry, project):
        if isinstance(table, dict) and isinstance(table.get("name"), str):
            return str(table["name"])
    return None


def image_home(files: FileAccess, facts: ImageFacts, cap: int = _SCRIPT_CAP) -> str:
    """$HOME as the engine sets it: the image's, else the user's passwd entry (/etc/passwd
    read when at most ``cap`` bytes)."""
    if facts.env.get("HOME"):
        return facts.env["HOME"]
    user = facts.user.split(":", 1)[0] or "root"
    if user in ("root", "0"):
        return "/root"
    text = (files.read_file("/etc/passwd", cap) or b"").decode("utf-8", "replace")
    for line in text.splitlines():
        fields = line.split(":")
        if len(fields) >= 6 and user in (fields[0], fields[2]):
            return fields[5] or "/"
    return "/"


def _not_found(files: FileAccess, directories: Sequence[str], what: str) -> NoInterpreterError:
    listed = [item for item in list_interpreters(files, directories) if not item.shadowed]
    where = ":".join(directories) or "(empty)"
    found = ""
    example = "/usr/local/bin/python3.11"
    if listed:
        names = ", ".join(f"{item.path} ({item.version or '?'})" for item in listed)
        found = f"; it has {names}"
        example = listed[0].path
    return NoInterpreterError(
        f"{files.subject}: {what} on its PATH ({where}){found}; name the interpreter with "
        f"--python, e.g. --python {example}"
    )


# --- other environments an image holds -------------------------------------------------------

# Where images commonly keep a venv, besides what the config points at.
COMMON_VENVS = ("/opt/venv", "/venv", "/app/.venv", "/app/venv", "/usr/src/app/.venv")
_DIST_INFO = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._]*)-([^-/]+?)\.dist-info$")


@dataclass(frozen=True)
class OtherEnvironment:
    """A venv of the image besides the chosen interpreter, with what its site-packages holds."""

    python: str
    where: str  # why parity looked there: "a venv in the working directory /app"
    versions: Mapping[str, str]  # PEP 503 name -> version, from *.dist-info names


def find_other_environments(
    files: FileAccess, facts: ImageFacts, chosen: str
) -> list[OtherEnvironment]:
    """The image's venvs other than ``chosen``'s, each with its distributions' versions: the
    names of the ``*.dist-info`` folders of each venv's site-packages."""
    found: dict[str, tuple[InterpreterCandidate, str]] = {}
    routes: list[InterpreterCandidate | None] = [
        *(tool_environment(files, facts, tool) for tool in RUNNERS),
        _from_virtual_env(files, facts),
    ]
    workdir = facts.working_dir or "/"
    places = [posixpath.join(workdir, name) for name in (".venv", "venv", "env")]
    for venv in dict.fromkeys([*places, *COMMON_VENVS]):
        candidate = _venv_interpreter(files, venv, "image")
        if candidate is not None:
            routes.append(_with_reason(candidate, f"a venv at {venv}"))
    for candidate in routes:
        if candidate is None:
            continue
        venv = posixpath.dirname(posixpath.dirname(candidate.path))
        if venv not in found and posixpath.dirname(posixpath.dirname(chosen)) != venv:
            found[venv] = (candidate, candidate.reason)
    result = []
    for venv, (candidate, why) in found.items():
        versions = _site_versions(files, venv, candidate.version)
        if versions:
            result.append(OtherEnvironment(candidate.path, why, versions))
    return result


def _site_versions(files: FileAccess, venv: str, minor: str | None) -> dict[str, str]:
    """{name: version} from the *.dist-info names in the venv's site-packages."""
    minors = [minor] if minor else list(MINORS)
    for version in minors:
        site = posixpath.join(venv, "lib", f"python{version}", "site-packages")
        if not files.is_dir(site):
            continue
        versions: dict[str, str] = {}
        with files.archive(site) as opened:
            if opened is None:
                return {}
            stream, _ = opened
            with tarfile.open(fileobj=stream, mode="r|") as tar:
                for member in tar:
                    parts = member.name.strip("/").split("/")
                    if len(parts) == 2 and member.isdir():
                        match = _DIST_INFO.match(parts[1])
                        if match:
                            name = re.sub(r"[-_.]+", "-", match.group(1)).lower()
                            versions.setdefault(name, match.group(2))
        return versions
    return {}
