"""The package's shape: no two modules import each other (directly or around a circle) at
module level, and only ``parity.engine`` imports ``docker`` (issue 13)."""

from __future__ import annotations

import ast
from pathlib import Path

PARITY = Path(__file__).resolve().parent.parent / "parity"


def module_name(path: Path) -> str:
    parts = path.relative_to(PARITY.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PARITY.rglob("*.py"))}


def imported(node: ast.Import | ast.ImportFrom, module: str) -> list[str]:
    """The modules an import statement names (``from parity.x import y``: ``parity.x.y``
    when that is a module, else ``parity.x``); relative imports resolved."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        package = module.split(".")
        if MODULES[module].name != "__init__.py":
            package = package[:-1]
        package = package[: len(package) - node.level + 1]
        base = ".".join([*package, base] if base else package)
    names = [f"{base}.{alias.name}" for alias in node.names]
    return [name for name in names if name in MODULES] or [base]


def _runs_at_import(tree: ast.AST) -> list[ast.AST]:
    """The nodes Python runs when it imports the module: not function bodies, not
    ``if TYPE_CHECKING:`` blocks."""
    found: list[ast.AST] = []
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            found.extend(_runs_at_import(ast.Module(body=node.orelse, type_ignores=[])))
            continue
        found.append(node)
        found.extend(_runs_at_import(node))
    return found


def imports(module: str, *, module_level_only: bool) -> set[str]:
    """What ``module`` imports: when it is imported only, or anywhere (functions too)."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    nodes = _runs_at_import(tree) if module_level_only else list(ast.walk(tree))
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.update(imported(node, module))
    return found


def graph(*, module_level_only: bool) -> dict[str, set[str]]:
    return {
        module: {
            target
            for target in imports(module, module_level_only=module_level_only)
            if target in MODULES and target != module
        }
        for module in MODULES
    }


def cycle(edges: dict[str, set[str]]) -> list[str]:
    """One import circle (``[a, b, a]``), or [] when there is none."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for target in sorted(edges[node]):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state:
                found = visit(target)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return []

    for node in sorted(edges):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return []


def test_the_graph_sees_every_kind_of_import() -> None:
    everywhere = graph(module_level_only=False)
    top = graph(module_level_only=True)
    assert "parity.probe.interpreter_choice" in top["parity.engine.interpreters"]
    # sources.container asks the engine from inside a method, not at import time
    assert "parity.engine.probe_static" in everywhere["parity.sources.container"]
    assert "parity.engine.probe_static" not in top["parity.sources.container"]
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle({"a": {"b"}, "b": set()}) == []


def test_no_module_level_import_circle() -> None:
    assert cycle(graph(module_level_only=True)) == []


def test_only_the_engine_imports_docker() -> None:
    importers = {
        module
        for module in MODULES
        if any(
            name == "docker" or name.startswith("docker.")
            for name in imports(module, module_level_only=False)
        )
    }
    assert importers, "the engine imports docker somewhere"
    assert {module for module in importers if not module.startswith("parity.engine.")} == set()


def test_the_pure_probe_and_the_registry_never_import_the_engine() -> None:
    everywhere = graph(module_level_only=False)
    for module in MODULES:
        if module.startswith(("parity.probe", "parity.registry")):
            engine = {target for target in everywhere[module] if target.startswith("parity.engine")}
            assert engine == set(), module
