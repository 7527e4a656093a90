"""What a project folder says about its own packages: its name, and which are for development.

``parity check`` reads this beside the local and container sides (even when ``--local``
names the venv), so that compare() can set aside what is declared only for development
and the project itself. Read from every file present:

* pyproject.toml: the project name; ``[project].dependencies``, Poetry's main
  dependencies and the extras run it; PEP 735 groups, Poetry's other groups (and the
  old ``dev-dependencies``), uv's ``dev-dependencies`` and PDM's dev groups are for
  development;
* Pipfile ``[dev-packages]`` (Pipfile.lock ``develop`` when there is no Pipfile), less
  what the main sections have;
* requirements files by the common conventions: ``requirements.txt`` (or
  ``requirements/base.txt``, ``requirements/production.txt``) runs it;
  ``requirements-dev.txt``, ``dev-requirements.txt``, ``requirements-test.txt``,
  ``requirements/dev.txt``, ``requirements/test*.txt``, ``requirements/local.txt``, a
  requirements file that ``-r``-includes the main one, and the files ``[tool.parity]
  dev-requirements`` names are for development;
* setup.cfg / setup.py: the project name when pyproject.toml has none.
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from parity.errors import SourceError
from parity.model import Package, ProjectFacts, Requirement, canonical_name

MAIN_REQUIREMENTS = (
    "requirements.txt",
    os.path.join("requirements", "production.txt"),
    os.path.join("requirements", "prod.txt"),
    os.path.join("requirements", "base.txt"),
)
_PRODUCTION_WORDS = re.compile(r"(^|[-_.])(prod|production|base|main|common|runtime)([-_.]|$)")
_DEV_WORDS = re.compile(
    r"(^|[-_.])(dev|devel|develop|development|test|tests|testing|local|lint|ci|docs)([-_.]|$)"
)


def read_project_facts(project_dir: str, dev_requirements: Sequence[str] = ()) -> ProjectFacts:
    """The project's name and its runtime and development declarations (module docstring).

    A file that cannot be read leaves its declarations out, with a warning: these facts
    only soften verdicts, so they never stop a check.
    """
    name: str | None = None
    main: set[str] = set()
    dev: set[str] = set()
    sources: list[str] = []
    warnings: list[str] = []
    pyproject = os.path.join(project_dir, "pyproject.toml")
    if os.path.isfile(pyproject):
        from parity.sources.pyproject import read_declared_roles

        try:
            project_name, runs, develops = read_declared_roles(pyproject)
        except SourceError as error:
            warnings.append(_unread(error))
        else:
            name = project_name or None
            main |= runs
            dev |= develops
            sources.append(pyproject)
    readers: list[Callable[[str], tuple[set[str], set[str], list[str]]]] = [
        _pipenv_roles,
        lambda folder: requirements_roles(folder, dev_requirements, warnings),
    ]
    for reader in readers:
        try:
            found_main, found_dev, found_sources = reader(project_dir)
        except SourceError as error:
            warnings.append(_unread(error))
            continue
        main |= found_main
        dev |= found_dev
        sources += found_sources
    if name is None:
        from parity.sources.pipfile import local_project_name

        found = local_project_name(Path(project_dir))
        name = canonical_name(found) if found else None
    dev -= main
    if name:
        dev.discard(name)
    return ProjectFacts(name, frozenset(dev), frozenset(main), tuple(sources), tuple(warnings))


def _unread(error: SourceError) -> str:
    return f"{error}: its development declarations are not used"


def _pipenv_roles(project_dir: str) -> tuple[set[str], set[str], list[str]]:
    """Names in the Pipfile's (and lock's) main sections, and in their dev sections only."""
    main: set[str] = set()
    every: set[str] = set()
    sources: list[str] = []
    pipfile = os.path.join(project_dir, "Pipfile")
    if os.path.isfile(pipfile):
        from parity.sources.pipfile import load_pipfile

        main |= _keys(load_pipfile(pipfile).requirements)
        every |= _keys(load_pipfile(pipfile, dev=True).requirements)
        sources.append(pipfile)
    lock = os.path.join(project_dir, "Pipfile.lock")
    if os.path.isfile(lock):
        from parity.sources.pipfile_lock import load_pipfile_lock

        main |= _keys(load_pipfile_lock(lock).packages)
        if not sources:  # the lock's develop section holds dependencies of dependencies too
            every |= _keys(load_pipfile_lock(lock, dev=True).packages)
        sources.append(lock)
    return main, every - main, sources


def requirements_roles(
    project_dir: str, dev_requirements: Sequence[str] = (), warnings: list[str] | None = None
) -> tuple[set[str], set[str], list[str]]:
    """Names the main requirements file (and its includes) asks for, and the dev files' others.

    A development file that cannot be read is left out with a warning in ``warnings``
    (raised when None).
    """
    from parity.sources.requirements import parse_requirements

    main_file = next(
        (
            os.path.join(project_dir, name)
            for name in MAIN_REQUIREMENTS
            if os.path.isfile(os.path.join(project_dir, name))
        ),
        None,
    )
    main: set[str] = set()
    main_files: set[str] = set()
    sources: list[str] = []
    if main_file is not None:
        parsed = parse_requirements(main_file)
        main = _keys(r for r in parsed.requirements if not r.is_constraint)
        main_files = {os.path.realpath(path) for path in parsed.files}
        sources.append(main_file)
    dev: set[str] = set()
    named = [os.path.join(project_dir, path) for path in dev_requirements]
    for path in [*named, *_candidate_files(project_dir)]:
        real = os.path.realpath(path)
        if real in main_files or path in sources:
            continue
        production = bool(_PRODUCTION_WORDS.search(Path(path).stem.lower()))
        wanted = path in named or (not production and is_dev_requirements_file(path))
        try:
            parsed = parse_requirements(path)
        except SourceError as error:
            if not wanted:
                continue  # read only to see whether it includes the main file
            if warnings is None:
                raise
            warnings.append(_unread(error))
            continue
        included = {os.path.realpath(file) for file in parsed.files}
        if wanted or (not production and main_files & included):
            dev |= _keys(r for r in parsed.requirements if not r.is_constraint)
            sources.append(path)
    return main, dev - main, sources


def is_dev_requirements_file(path: str) -> bool:
    """Whether a requirements file's name says it is for development (``requirements-dev.txt``)."""
    stem = os.path.splitext(os.path.basename(path))[0].lower()
    folder = os.path.basename(os.path.dirname(path)).lower()
    return bool(_DEV_WORDS.search(stem)) and ("requirements" in stem or folder == "requirements")


def _candidate_files(project_dir: str) -> list[str]:
    """Requirements files by their usual names, at the top and in ``requirements/``."""
    root = glob.escape(project_dir)
    found = [
        *glob.glob(os.path.join(root, "*requirements*.txt")),
        *glob.glob(os.path.join(root, "*requirements*.in")),
        *glob.glob(os.path.join(root, "requirements", "*.txt")),
        *glob.glob(os.path.join(root, "requirements", "*.in")),
    ]
    return sorted(dict.fromkeys(found))


def _keys(items: Iterable[Requirement | Package]) -> set[str]:
    return {item.key for item in items}
