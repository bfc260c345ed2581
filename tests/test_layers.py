"""Layer rules (DESIGN.md): arrows point down only; protocol and GUI libraries stay in their layer."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROTOCOL = ("paho", "pymodbus", "amqtt")
GUI = ("PySide6", "pyqtgraph", "smartzone_gui")


def _runtime_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node except those under `if TYPE_CHECKING:` (type hints cost no import at run time)."""
    out: list[ast.AST] = []
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and getattr(node.test, "id", getattr(node.test, "attr", "")) == "TYPE_CHECKING":
            stack.extend(node.orelse)
            continue
        out.append(node)
        stack.extend(ast.iter_child_nodes(node))
    return out


def imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in _runtime_nodes(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def modules(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def offending(folder: str, forbidden: tuple[str, ...]) -> list[str]:
    return [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in modules(folder)
        for name in sorted(imports(path))
        if name.split(".")[0] in forbidden or any(name.startswith(f + ".") or name == f for f in forbidden)
    ]


@pytest.mark.parametrize("folder", ["smartzone/core", "smartzone/definitions"])
def test_core_imports_no_gui_or_protocol_library(folder: str) -> None:
    assert offending(folder, PROTOCOL + GUI + ("smartzone.runtime", "smartzone.endpoints", "smartzone.cli")) == []


def test_definitions_do_not_import_core() -> None:
    assert offending("smartzone/definitions", ("smartzone.core",)) == []


@pytest.mark.parametrize(
    "folder", ["smartzone/runtime", "smartzone/certify", "smartzone/conform", "smartzone/definitions"]
)
def test_protocol_libraries_only_in_endpoints(folder: str) -> None:
    assert offending(folder, PROTOCOL + GUI) == []


def test_runtime_does_not_import_upwards() -> None:
    assert offending("smartzone/runtime", ("smartzone.cli", "smartzone_gui")) == []


def test_only_gui_imports_qt() -> None:
    assert offending("smartzone", ("PySide6", "pyqtgraph")) == []


@pytest.mark.parametrize("folder", ["smartzone/endpoints", "smartzone/certify", "smartzone/conform"])
def test_endpoints_and_certify_do_not_import_upwards(folder: str) -> None:
    assert offending(folder, ("smartzone.cli", "smartzone_gui", "PySide6")) == []


def test_endpoints_do_not_import_the_runtime_at_run_time() -> None:
    assert offending("smartzone/endpoints", ("smartzone.runtime", "smartzone.certify")) == []


def _module_graph() -> dict[str, set[str]]:
    """smartzone module -> the smartzone modules it imports, type-only imports included."""
    paths = {
        ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): p for p in modules("smartzone")
    }
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:  # `from package import submodule` depends on the submodule only
                    sub = f"{node.module}.{alias.name}"
                    deps.add(sub if sub in paths else node.module)
            elif isinstance(node, ast.Import):
                deps.update(alias.name for alias in node.names)
        graph[name] = {d for d in deps if d in paths and d != name}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            v, children = work[-1]
            for w in children:
                if w not in graph:
                    continue
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    component = []
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        component.append(w)
                        if w == v:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def test_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles_between_modules() -> None:
    """Not even through `if TYPE_CHECKING:` imports: a module that needs part of another's
    interface for its types takes a Protocol of it (e.g. core.faults.manager.FaultHost)."""
    assert _cycles(_module_graph()) == []
