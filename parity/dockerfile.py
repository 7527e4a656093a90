"""Reading a project's Dockerfiles and .dockerignore without building anything.

Pure file reading, no engine: where a project keeps its Dockerfiles, which build context a
layout implies, what a ``COPY``/``ADD`` takes from the context (with ``.dockerignore``
honoured as BuildKit reads it: ``!`` exceptions, ``**``, the last matching line wins), the
layer-order lesson (the whole context copied before the dependency install step) and what
makes a build context large.
"""

from __future__ import annotations

import fnmatch
import glob
import json
import os
import re
import shlex
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

DOCKERIGNORE = ".dockerignore"
# Where projects keep Dockerfiles besides the root (issue 16): first match of each wins.
_FOLDERS = ("docker", "deploy", ".docker")
_COMPOSE_GLOBS = ("compose/*", "compose/*/*")
_CONVENTIONAL_TOPS = frozenset({"docker", "deploy", "compose", ".docker"})
_INSTALL = re.compile(
    r"\b(pip3?|python3?(\.\d+)?\s+-m\s+pip|uv|poetry|pipenv|pdm)\b[^\n]*?\b"
    r"(install|sync)\b|\bpip-sync\b"
)
_DEPENDENCY_FILES = (
    "requirements*.txt",
    "requirements/",
    "pyproject.toml",
    "poetry.lock",
    "uv.lock",
    "Pipfile",
    "Pipfile.lock",
    "pylock*.toml",
    "setup.py",
    "setup.cfg",
)
LARGE_CONTEXT_BYTES = 50 * 1024 * 1024


# --- instructions ----------------------------------------------------------------------


@dataclass(frozen=True)
class Instruction:
    """One Dockerfile instruction: its keyword (upper case), arguments, and first line."""

    keyword: str
    arguments: str
    line: int
    stage: int  # index of the FROM stage it belongs to (-1 before the first FROM)

    @property
    def text(self) -> str:
        return f"{self.keyword} {self.arguments}".strip()


def parse_instructions(text: str) -> list[Instruction]:
    """The instructions of a Dockerfile, continuation lines joined, comments dropped.

    The ``# escape=`` parser directive is honoured; heredoc bodies are skipped.
    """
    escape = "\\"
    lines = text.splitlines()
    for line in lines:
        directive = re.match(r"^#\s*(\w+)\s*=\s*(\S+)\s*$", line)
        if directive is None:
            break
        if directive.group(1).lower() == "escape" and directive.group(2) in ("\\", "`"):
            escape = directive.group(2)
    instructions: list[Instruction] = []
    stage = -1
    index = 0
    while index < len(lines):
        start = index
        stripped = lines[index].strip()
        index += 1
        if not stripped or stripped.startswith("#"):
            continue
        logical = stripped
        while logical.endswith(escape) and index < len(lines):
            following = lines[index].strip()
            index += 1
            if following.startswith("#"):
                continue
            logical = logical[: -len(escape)] + " " + following
        heredoc = re.search(r"<<-?\s*[\"']?(\w+)[\"']?", logical)
        if heredoc is not None:
            end = heredoc.group(1)
            while index < len(lines) and lines[index].strip() != end:
                index += 1
            index += 1
        keyword, _, arguments = logical.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            stage += 1
        instructions.append(Instruction(keyword, arguments.strip(), start + 1, stage))
    return instructions


def read_instructions(path: str) -> list[Instruction]:
    """The instructions of the Dockerfile at ``path``; empty when it cannot be read."""
    try:
        with open(path, encoding="utf-8", errors="replace") as stream:
            return parse_instructions(stream.read())
    except OSError:
        return []


def copy_sources(instruction: Instruction) -> list[str] | None:
    """The context paths a ``COPY``/``ADD`` takes; None when it copies from elsewhere.

    ``--from=`` (another stage or image), ``ADD`` of a URL or git repository, and options
    are left out; a JSON array form is read as such.
    """
    if instruction.keyword not in ("COPY", "ADD"):
        return None
    arguments = instruction.arguments
    words: list[str]
    if arguments.lstrip().startswith("["):
        try:
            parsed = json.loads(arguments)
        except ValueError:
            return None
        words = [str(word) for word in parsed]
    else:
        try:
            words = shlex.split(arguments)
        except ValueError:
            words = arguments.split()
    options = [word for word in words if word.startswith("--")]
    if any(option.startswith("--from") for option in options):
        return None
    paths = [word for word in words if not word.startswith("--")]
    if len(paths) < 2:
        return None
    sources = paths[:-1]
    if instruction.keyword == "ADD":
        sources = [source for source in sources if "://" not in source and "@" not in source]
    return [source for source in sources if "<<" not in source]


def is_whole_context(source: str) -> bool:
    """Whether a COPY source is the whole context (``.``, ``./``, ``*``, ``/``)."""
    return os.path.normpath(source.lstrip("/") or ".") in (".", "*", "./*")


# --- .dockerignore ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Pattern:
    text: str
    regex: re.Pattern[str]
    parts: int
    exclusion: bool


class DockerIgnore:
    """The patterns of a ``.dockerignore``, matched as BuildKit's patternmatcher does."""

    def __init__(self, lines: Sequence[str] = ()) -> None:
        self.patterns: list[_Pattern] = []
        for raw in lines:
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            exclusion = line.startswith("!")
            if exclusion:
                line = line[1:].strip()
            line = os.path.normpath(line).lstrip("/") if line not in ("", "/") else "."
            if not line:
                continue
            self.patterns.append(_Pattern(line, _compile(line), len(line.split("/")), exclusion))

    @classmethod
    def read(cls, context_dir: str) -> DockerIgnore:
        """The context's ``.dockerignore`` (none: nothing is excluded)."""
        try:
            with open(os.path.join(context_dir, DOCKERIGNORE), encoding="utf-8") as stream:
                return cls(stream.read().splitlines())
        except (OSError, UnicodeDecodeError):
            return cls()

    def excludes(self, path: str) -> bool:
        """Whether ``path`` (relative to the context, ``/``-separated) is left out of it."""
        path = os.path.normpath(path).replace(os.sep, "/").lstrip("/")
        parents = path.split("/")[:-1]
        excluded = False
        for pattern in self.patterns:
            matched = bool(pattern.regex.match(path))
            if not matched and parents and pattern.parts <= len(parents):
                matched = bool(pattern.regex.match("/".join(parents[: pattern.parts])))
            if matched:
                excluded = not pattern.exclusion
        return excluded


def _compile(pattern: str) -> re.Pattern[str]:
    """A pattern as moby's patternmatcher turns it into a regular expression."""
    regex = "^"
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "*":
            if index + 1 < len(pattern) and pattern[index + 1] == "*":
                index += 1
                if index + 1 < len(pattern) and pattern[index + 1] == "/":
                    index += 1
                regex += ".*" if index + 1 >= len(pattern) else "(.*/)?"
            else:
                regex += "[^/]*"
        elif char == "?":
            regex += "[^/]"
        elif char == "\\" and index + 1 < len(pattern):
            index += 1
            regex += re.escape(pattern[index])
        elif char == "[":
            end = pattern.find("]", index + 1)
            if end == -1:
                regex += re.escape(char)
            else:
                body = pattern[index + 1 : end]
                if body.startswith("!"):
                    body = "^" + body[1:]
                regex += f"[{body}]"
                index = end
        else:
            regex += re.escape(char)
        index += 1
    return re.compile(regex + "$")


# --- what a COPY takes -----------------------------------------------------------------------


def copied_by(
    instructions: Sequence[Instruction], path: str, ignore: DockerIgnore
) -> Instruction | None:
    """The first ``COPY``/``ADD`` that takes ``path`` (relative to the context) into the image.

    None when no instruction's source covers it, or ``.dockerignore`` leaves it out.
    """
    path = os.path.normpath(path).replace(os.sep, "/")
    if ignore.excludes(path):
        return None
    for instruction in instructions:
        for source in copy_sources(instruction) or ():
            if _covers(source, path):
                return instruction
    return None


def _covers(source: str, path: str) -> bool:
    """Whether the COPY source ``source`` (a path or a glob) includes ``path``."""
    if is_whole_context(source):
        return True
    source = os.path.normpath(source.lstrip("/")).replace(os.sep, "/")
    parts = path.split("/")
    for count in range(1, len(parts) + 1):
        if fnmatch.fnmatchcase("/".join(parts[:count]), source):
            return True
    return False


def venv_folder_in(context_dir: str, venv: str) -> str | None:
    """``venv`` relative to the context when it lies inside it, else None."""
    context = os.path.realpath(context_dir)
    target = os.path.realpath(venv)
    if target == context or not target.startswith(context + os.sep):
        return None
    return os.path.relpath(target, context).replace(os.sep, "/")


# --- where Dockerfiles live, and their context ----------------------------------------------


def find_dockerfiles(project_dir: str) -> list[str]:
    """The project's Dockerfiles, most conventional first (paths relative to the project).

    ``Dockerfile``, ``docker/Dockerfile``, then ``*.Dockerfile`` and ``Dockerfile.*`` at the
    root, under ``docker/``, ``deploy/`` and ``compose/*/`` (cookiecutter-django's layout).
    """
    found: list[str] = []

    def add(pattern: str) -> None:
        for path in sorted(glob.glob(os.path.join(glob.escape(project_dir), pattern))):
            relative = os.path.relpath(path, project_dir).replace(os.sep, "/")
            if os.path.isfile(path) and relative not in found and _is_dockerfile_name(relative):
                found.append(relative)

    add("Dockerfile")
    for folder in _FOLDERS:
        add(f"{folder}/Dockerfile")
    for folder in ("", *(f"{name}/" for name in _FOLDERS), *(f"{g}/" for g in _COMPOSE_GLOBS)):
        add(f"{folder}Dockerfile")
        add(f"{folder}*.Dockerfile")
        add(f"{folder}*.dockerfile")
        add(f"{folder}Dockerfile.*")
    return found


def _is_dockerfile_name(path: str) -> bool:
    name = os.path.basename(path)
    if name.endswith((".dockerignore", ".md", ".txt", ".swp", ".orig", ".bak")):
        return False
    return (
        name == "Dockerfile"
        or name.startswith("Dockerfile.")
        or name.lower().endswith(".dockerfile")
    )


def default_context(dockerfile: str, project_dir: str) -> tuple[str, str]:
    """(build context, why) for a Dockerfile of the project when no ``--context`` is given.

    A Dockerfile at the root builds in the root. One in a subfolder builds in the project
    root when its ``COPY`` sources exist there (``docker build -f docker/Dockerfile .``), and
    in its own folder when they exist only there; with nothing to tell (``COPY . .`` only),
    the root for the conventional folders (``docker/``, ``deploy/``, ``compose/``).
    """
    root = os.path.abspath(project_dir)
    folder = os.path.dirname(os.path.abspath(dockerfile))
    if folder == root:
        return root, "the project folder"
    if not folder.startswith(root + os.sep):
        return folder, "the Dockerfile's folder"
    telling = [
        source
        for instruction in read_instructions(dockerfile)
        for source in copy_sources(instruction) or ()
        if not is_whole_context(source)
    ]
    at_root = telling and all(_source_exists(root, source) for source in telling)
    in_folder = telling and all(_source_exists(folder, source) for source in telling)
    conventional = os.path.relpath(folder, root).split(os.sep)[0] in _CONVENTIONAL_TOPS
    if at_root and not in_folder:
        return root, "the project root, where its COPY sources are"
    if in_folder and not at_root:
        return folder, "the Dockerfile's folder, where its COPY sources are"
    if conventional:
        return root, "the project root (as docker build -f DOCKERFILE . uses it)"
    return folder, "the Dockerfile's folder"


def _source_exists(context: str, source: str) -> bool:
    pattern = os.path.join(glob.escape(context), source.lstrip("/"))
    return bool(glob.glob(pattern))


# --- the layer-order lesson ------------------------------------------------------------------


@dataclass(frozen=True)
class LayerOrder:
    """The whole context copied before the step that installs the Python dependencies."""

    copy: Instruction
    install: Instruction
    first: tuple[str, ...]  # the dependency files the project has, to copy first

    def lesson(self, dockerfile: str) -> str:
        files = " ".join(self.first) or "the requirement or lock files"
        return (
            f"{dockerfile}:{self.copy.line} `{_short(self.copy.text)}` comes before "
            f"{dockerfile}:{self.install.line} `{_short(self.install.text)}`: every code change "
            f"reinstalls every dependency (and slows every check); copy {files} first, "
            "install, then copy the rest"
        )


def layer_order(instructions: Sequence[Instruction], context_dir: str) -> LayerOrder | None:
    """The lesson when a stage copies the whole context before installing dependencies."""
    copied: dict[int, Instruction] = {}
    for instruction in instructions:
        sources = copy_sources(instruction)
        if sources and any(is_whole_context(source) for source in sources):
            copied.setdefault(instruction.stage, instruction)
        elif (
            instruction.keyword == "RUN"
            and instruction.stage in copied
            and _INSTALL.search(instruction.arguments)
            and not _installs_only_tools(instruction)
        ):
            first = tuple(_dependency_files(context_dir))
            return LayerOrder(copied[instruction.stage], instruction, first)
    return None


def _installs_only_tools(instruction: Instruction) -> bool:
    """``pip install poetry`` and the like: no project dependencies in that step."""
    text = instruction.arguments
    if re.search(r"-r\s|--requirement|\binstall\s+(-e\s+)?\.(\s|$|\[)|\bsync\b", text):
        return False
    if re.search(r"\b(poetry|pipenv|pdm|uv)\s+install\b", text):
        return False
    words = re.findall(r"install\s+((?:[^&;|]+))", text)
    names = " ".join(words).split()
    tools = {"pip", "setuptools", "wheel", "poetry", "pipenv", "uv", "pdm", "hatch", "-U"}
    return bool(names) and all(
        name.startswith("-") or re.split(r"[=<>!~\[]", name)[0].lower() in tools for name in names
    )


def _dependency_files(context_dir: str) -> Iterator[str]:
    for pattern in _DEPENDENCY_FILES:
        if pattern.endswith("/"):
            if os.path.isdir(os.path.join(context_dir, pattern)):
                yield pattern
            continue
        for path in sorted(glob.glob(os.path.join(glob.escape(context_dir), pattern))):
            yield os.path.basename(path)


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --- the size of the context --------------------------------------------------------------


@dataclass(frozen=True)
class ContextSize:
    """How many bytes the build sends, and the top-level entries that weigh most."""

    total: int
    largest: tuple[tuple[str, int], ...]  # (relative path, bytes), heaviest first


def context_size(context_dir: str, ignore: DockerIgnore, top: int = 3) -> ContextSize:
    """The bytes of the context the build would send (``.dockerignore`` honoured)."""
    sizes: dict[str, int] = {}
    total = 0
    for directory, folders, files in os.walk(context_dir):
        relative_dir = os.path.relpath(directory, context_dir).replace(os.sep, "/")
        prefix = "" if relative_dir == "." else relative_dir + "/"
        folders[:] = [
            name
            for name in folders
            if not (ignore.excludes(prefix + name) and not _has_exception(ignore, prefix + name))
        ]
        for name in files:
            relative = prefix + name
            if ignore.excludes(relative):
                continue
            try:
                size = os.lstat(os.path.join(directory, name)).st_size
            except OSError:
                continue
            total += size
            head = relative.split("/")[0]
            sizes[head] = sizes.get(head, 0) + size
    largest = sorted(sizes.items(), key=lambda item: (-item[1], item[0]))[:top]
    return ContextSize(total, tuple(largest))


def _has_exception(ignore: DockerIgnore, folder: str) -> bool:
    """Whether a ``!`` line may bring back something below an excluded ``folder``."""
    return any(
        pattern.exclusion and (pattern.text.startswith(folder + "/") or "*" in pattern.text)
        for pattern in ignore.patterns
    )


def human_size(count: int) -> str:
    size = float(count)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{count} B"


# --- what parity says about a build context ---------------------------------------------------


@dataclass(frozen=True)
class ContextFindings:
    """What the build would take in that it should not, and what parity must refuse."""

    warnings: tuple[str, ...]  # the developer's venv, a report not yet written
    refusal: str | None  # a report of a previous run that the build would copy in


def check_context(
    dockerfile: str,
    context_dir: str,
    venvs: Sequence[str],
    outputs: Sequence[str],
) -> ContextFindings:
    """Warnings for ``venvs`` and ``outputs`` (paths) a ``COPY``/``ADD`` takes into the image.

    An output file that already exists there (a previous run's report) would change the
    image on every check: that is a refusal, naming the ``.dockerignore`` line that fixes it.
    """
    instructions = read_instructions(dockerfile)
    ignore = DockerIgnore.read(context_dir)
    shown = _display(dockerfile)
    warnings: list[str] = []
    seen: set[str] = set()
    for venv in venvs:
        relative = venv_folder_in(context_dir, venv)
        if relative is None or relative in seen:
            continue
        seen.add(relative)
        copy = copied_by(instructions, relative + "/pyvenv.cfg", ignore)
        if copy is not None:
            warnings.append(
                f"{shown}:{copy.line} `{_short(copy.text)}` copies the local venv {relative}/ "
                f"into the image (its python points at a path the image does not have); add "
                f"`{relative}/` to {_display(os.path.join(context_dir, DOCKERIGNORE))}"
            )
    refusal = None
    for output in outputs:
        relative = venv_folder_in(context_dir, output)
        if relative is None:
            continue
        copy = copied_by(instructions, relative, ignore)
        if copy is None:
            continue
        fix = (
            f"add `{relative}` to {_display(os.path.join(context_dir, DOCKERIGNORE))}, "
            "or write the report outside the build context"
        )
        if os.path.exists(output):
            refusal = (
                f"--output {output} lies in the build context and {shown}:{copy.line} "
                f"`{_short(copy.text)}` would copy the previous report into the image: every "
                f"check would build a new image; {fix}"
            )
        else:
            warnings.append(
                f"--output {output} lies in the build context and {shown}:{copy.line} "
                f"`{_short(copy.text)}` copies it: the next check would build a new image "
                f"with this report inside; {fix}"
            )
    return ContextFindings(tuple(warnings), refusal)


def large_context_note(context_dir: str, size: ContextSize) -> str | None:
    """The note for a context over LARGE_CONTEXT_BYTES: what weighs, and the line to add."""
    if size.total < LARGE_CONTEXT_BYTES or not size.largest:
        return None
    heaviest = ", ".join(f"{path} ({human_size(count)})" for path, count in size.largest)
    name, _ = size.largest[0]
    entry = name + "/" if os.path.isdir(os.path.join(context_dir, name)) else name
    return (
        f"the build context {_display(context_dir)} sends {human_size(size.total)}; the largest "
        f"parts: {heaviest}; if the image does not need {entry}, add `{entry}` to "
        f"{_display(os.path.join(context_dir, DOCKERIGNORE))}"
    )


def _display(path: str) -> str:
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative
