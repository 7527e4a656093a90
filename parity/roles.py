"""Which installed packages are the project itself, installers, or there for development only.

Pure: computed from one side's packages (their Requires-Dist) and what the project
declares (:class:`parity.model.ProjectFacts`). A package the application also needs (a
declared runtime dependency, or required by any package that is neither an installer
nor a development tool) keeps being compared.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Set
from dataclasses import dataclass
from functools import lru_cache

from parity.model import Environment, ProjectFacts, canonical_name
from parity.policy import INSTALLERS


@dataclass(frozen=True)
class Roles:
    """One side's packages by role, PEP 503 names."""

    tooling: frozenset[str] = frozenset()  # installers, and what only they require
    dev: frozenset[str] = frozenset()  # declared for development, and what only they require
    dev_roots: frozenset[str] = frozenset()  # the ones declared for development themselves


NO_ROLES = Roles()


def package_roles(
    environment: Environment,
    facts: ProjectFacts | None,
    *,
    include_tooling: bool = False,
    keys: Set[str] | None = None,
) -> Roles:
    """The roles of ``environment``'s packages (see the module docstring).

    ``keys``: the PEP 503 names of its packages, when the caller has them already.
    """
    facts = facts or ProjectFacts()
    if keys is None:
        keys = {package.key for package in environment.packages}
    runtime = facts.main | ({facts.name} if facts.name else set())
    tooling_roots = set() if include_tooling else (INSTALLERS & keys) - runtime
    dev_roots = (facts.dev & keys) - runtime
    if not tooling_roots and not dev_roots:
        return NO_ROLES  # nothing to set aside: no need to read the dependency graph
    graph = dependency_graph(environment)
    tooling_reach = _closure(tooling_roots, graph)
    dev_reach = _closure(dev_roots, graph)
    app_roots = (graph.keys() - tooling_reach - dev_reach) | (runtime & graph.keys())
    app = _closure(app_roots, graph)
    tooling = tooling_reach - app
    dev = dev_reach - app - tooling
    return Roles(frozenset(tooling), frozenset(dev), frozenset(dev_roots & dev))


def dependency_graph(environment: Environment) -> dict[str, set[str]]:
    """Each package's key to the keys of the installed packages it requires (no extras)."""
    keys = {package.key for package in environment.packages}
    graph: dict[str, set[str]] = {}
    for package in environment.packages:
        edges = graph.setdefault(package.key, set())
        for line in package.requires:
            name = _required_name(line)
            if name and name in keys and name != package.key:
                edges.add(name)
    return graph


def _closure(roots: Iterable[str], graph: Mapping[str, set[str]]) -> set[str]:
    seen: set[str] = set()
    stack = list(roots)
    while stack:
        key = stack.pop()
        if key in seen:
            continue
        seen.add(key)
        stack.extend(graph.get(key, ()))
    return seen


@lru_cache(maxsize=65536)
def _required_name(line: str) -> str | None:
    """The PEP 503 name of a Requires-Dist line, None when only an extra asks for it."""
    text, _, marker = line.partition(";")
    if "extra" in marker:
        return None
    name = ""
    for char in text.strip():
        if char.isalnum() or char in "._-":
            name += char
        else:
            break
    return canonical_name(name) if name else None
