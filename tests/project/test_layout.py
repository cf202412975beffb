"""The house rules: the import graph, the layout, and the size of modules and functions."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.tap import REPO

PURE = [
    "tap_data365.errors",
    "tap_data365.normalize",
    "tap_data365.search_results.windows",
]


@pytest.mark.parametrize("module", PURE)
def test_a_pure_module_does_not_import_requests(module: str) -> None:
    probe = f"import sys, {module}; print([m for m in ('requests', 'urllib3') if m in sys.modules])"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=REPO
    )
    assert done.stdout.strip() == "[]", module


def test_one_module_of_the_tap_owns_http_connections() -> None:
    package = REPO / "tap_data365"
    owners = sorted(
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if "emulator" not in path.parts
        and any(maker in path.read_text() for maker in ("requests.Session(", "PoolManager("))
    )
    assert owners == ["http/connection.py"]


def _imports(path: Path) -> set[str]:
    """Every module a file imports, ``TYPE_CHECKING`` blocks and function bodies included."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _tap_modules() -> dict[str, Path]:
    package = REPO / "tap_data365"
    modules = {}
    for path in package.rglob("*.py"):
        parts = path.relative_to(REPO).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        modules[name] = path
    return modules


def test_the_top_level_holds_at_most_eight_modules() -> None:
    top = sorted(path.name for path in (REPO / "tap_data365").glob("*.py"))
    assert len(top) <= 8, top


def test_no_module_outside_settings_reads_the_raw_config() -> None:
    raw_read = re.compile(r"\bconfig(\.get\(|\[)")
    readers = sorted(
        str(path.relative_to(REPO))
        for name, path in _tap_modules().items()
        if not name.startswith("tap_data365.settings") and raw_read.search(path.read_text())
    )
    assert readers == []


def test_outside_search_results_at_most_two_of_its_modules_are_imported() -> None:
    inside = "tap_data365.search_results"
    modules = _tap_modules()
    used = {
        imported
        for name, path in modules.items()
        if not name.startswith(inside)
        for imported in _imports(path)
        if imported.startswith(inside + ".") and imported in modules
    }
    assert len(used) <= 2, sorted(used)


def test_the_tap_has_no_import_cycle() -> None:
    modules = _tap_modules()
    graph = {
        name: {imported for imported in _imports(path) if imported in modules and imported != name}
        for name, path in modules.items()
    }
    # A package's __init__ re-exporting its modules is not a cycle with them.
    graph = {
        name: {dep for dep in deps if not name.startswith(dep + ".")}
        for name, deps in graph.items()
    }
    cycle = _find_cycle(graph)
    assert cycle is None, " -> ".join(cycle or [])


def _find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    done: set[str] = set()
    for start in sorted(graph):
        path: list[str] = []
        on_path: set[str] = set()
        stack = [(start, iter(sorted(graph[start])))]
        if start in done:
            continue
        path.append(start)
        on_path.add(start)
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                stack.pop()
                path.pop()
                on_path.discard(node)
                done.add(node)
            elif child in on_path:
                return [*path[path.index(child) :], child]
            elif child not in done:
                stack.append((child, iter(sorted(graph[child]))))
                path.append(child)
                on_path.add(child)
    return None


HOUSE_FOLDERS = ["tap_data365", "emulator", "orchestration", "bench", "scripts", "tests"]


def _python_files() -> list[Path]:
    return [path for folder in HOUSE_FOLDERS for path in sorted((REPO / folder).rglob("*.py"))]


def test_no_module_is_over_350_lines() -> None:
    long = {
        str(path.relative_to(REPO)): lines
        for path in _python_files()
        if (lines := path.read_text(encoding="utf-8").count("\n")) > 350
    }
    assert long == {}


def test_no_function_is_over_50_lines() -> None:
    long = {
        f"{path.relative_to(REPO)}:{node.name}": node.end_lineno - node.lineno + 1
        for path in _python_files()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 > 50
    }
    assert long == {}
