"""The emulator's modules import each other without a cycle, ``TYPE_CHECKING`` imports included.

A cycle means two layers know each other (the server and the app, the handlers and the app):
each module here may only use the ones below it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import data365_emulator

PACKAGE = Path(data365_emulator.__file__).resolve().parent
NAME = "data365_emulator"


def _module_name(path: Path) -> str:
    return NAME if path.stem == "__init__" else f"{NAME}.{path.stem}"


def _targets(node: ast.Import | ast.ImportFrom, modules: set[str], here: str) -> set[str]:
    """The package's modules one import statement names (``from pkg import module`` too)."""
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names} & modules
    if node.level:  # relative: resolved against this module's package
        base = ".".join(here.split(".")[: -node.level] if here != NAME else [NAME])
        origin = f"{base}.{node.module}" if node.module else base
    else:
        origin = node.module or ""
    named = {f"{origin}.{alias.name}" for alias in node.names} & modules
    return named or ({origin} & modules)


def import_graph(package: Path = PACKAGE) -> dict[str, set[str]]:
    """Module -> the package's modules it imports anywhere (functions, ``if TYPE_CHECKING:``)."""
    paths = sorted(package.glob("*.py"))
    modules = {_module_name(path) for path in paths}
    graph: dict[str, set[str]] = {}
    for path in paths:
        here = _module_name(path)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imports = (n for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom))
        graph[here] = set().union(*(_targets(n, modules, here) for n in imports)) - {here}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle as a path that ends where it starts, or [] when there is none."""
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> list[str]:
        if module in path:
            return [*path[path.index(module) :], module]
        if module in done:
            return []
        for target in sorted(graph.get(module, ())):
            cycle = visit(target, [*path, module])
            if cycle:
                return cycle
        done.add(module)
        return []

    for module in sorted(graph):
        cycle = visit(module, [])
        if cycle:
            return cycle
    return []


def test_the_graph_sees_every_module_and_its_imports() -> None:
    graph = import_graph()
    assert len(graph) > 10
    assert f"{NAME}.config" in graph[NAME]  # `from data365_emulator.config import ...`
    assert f"{NAME}.lucene" in graph[f"{NAME}.search"]


def test_the_cycle_finder_finds_a_cycle_through_type_checking_imports(tmp_path: Path) -> None:
    (tmp_path / "__init__.py").write_text("")
    (tmp_path / "a.py").write_text(f"from {NAME} import b\n")
    (tmp_path / "b.py").write_text(
        f"from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from {NAME}.a import A\n"
    )
    (tmp_path / "c.py").write_text(f"from {NAME}.a import b\n")
    graph = import_graph(tmp_path)
    assert find_cycle(graph) == [f"{NAME}.a", f"{NAME}.b", f"{NAME}.a"]
    del graph[f"{NAME}.b"]
    assert find_cycle(graph) == []


def test_no_emulator_module_imports_another_that_imports_it_back() -> None:
    cycle = find_cycle(import_graph())
    assert cycle == [], " -> ".join(cycle)
