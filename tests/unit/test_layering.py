"""The rooms of the code depend on each other one way: no import cycle between the subpackages
of ovtriton (tfs, server, seed, bench, commands, reliability, converter, backend; each
top-level module counts as a room of its own), and the backend (loaded by Triton's Python stub
inside tritonserver) imports nothing of the converter or of the CLI.

Imports are read from the source with ``ast`` (every import statement, also those inside
functions and under TYPE_CHECKING: a lazy import is still a dependency).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Folder -> the package name it is imported as (converter/ and backend/ live at the root and
# are linked into ovtriton/).
PACKAGES = {ROOT / "ovtriton": "ovtriton", ROOT / "converter": "ovtriton.converter",
            ROOT / "backend": "ovtriton.backend"}  # fmt: skip


def modules() -> Iterator[tuple[str, Path]]:
    """(dotted module name, file) of every module, each file once."""
    for folder, package in PACKAGES.items():
        for path in sorted(folder.rglob("*.py")):
            relative = path.relative_to(folder)
            if relative.parts[0] in ("converter", "backend") and package == "ovtriton":
                continue  # the links to the root folders, listed under their own names
            parts = [*relative.parent.parts, path.stem]
            if parts[-1] == "__init__":
                parts.pop()
            yield ".".join([package, *parts]), path


def imported(module: str, path: Path) -> set[str]:
    """The ovtriton modules ``module`` imports (relative imports resolved)."""
    is_package = path.name == "__init__.py"
    package = module.split(".") if is_package else module.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            found.add(name)
            found.update(f"{name}.{alias.name}" for alias in node.names)  # submodules
    return {name for name in found if name == "ovtriton" or name.startswith("ovtriton.")}


def room(module: str) -> str:
    """ovtriton.tfs.front -> ovtriton.tfs; ovtriton.cli -> ovtriton.cli; ovtriton -> ovtriton."""
    return ".".join(module.split(".")[:2])


def room_graph() -> dict[str, dict[str, str]]:
    """Room -> {room it imports: one "module -> module" line that shows it}."""
    known = dict(modules())
    graph: dict[str, dict[str, str]] = {}
    for module, path in known.items():
        edges = graph.setdefault(room(module), {})
        for target in imported(module, path):
            while target not in known and "." in target:
                target = target.rsplit(".", 1)[0]  # a name imported from a module
            if room(target) != room(module):
                edges.setdefault(room(target), f"{module} -> {target}")
    return graph


def cycles(graph: dict[str, dict[str, str]]) -> list[list[str]]:
    """The strongly connected groups of more than one room (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph.get(node, {}):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_graph_sees_the_known_rooms_and_imports() -> None:
    graph = room_graph()
    rooms = set(graph)
    assert {"ovtriton.tfs", "ovtriton.server", "ovtriton.seed", "ovtriton.bench"} <= rooms
    assert {"ovtriton.commands", "ovtriton.converter", "ovtriton.backend"} <= rooms
    assert "ovtriton.backend" in graph["ovtriton.converter"]  # the converter reads backend's
    assert "ovtriton.tfs" in graph["ovtriton.bench"]  # bench --tfs measures the front


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b": ""}, "b": {"c": ""}, "c": {"a": ""}, "d": {"a": ""}}
    assert cycles(graph) == [["a", "b", "c"]]
    assert cycles({"a": {"b": ""}, "b": {}}) == []


def test_no_import_cycle_between_rooms() -> None:
    graph = room_graph()
    found = cycles(graph)
    shown = [
        " / ".join(group)
        + ": "
        + "; ".join(graph[a][b] for a in group for b in group if b in graph.get(a, {}))
        for group in found
    ]
    assert not found, "import cycles between rooms:\n" + "\n".join(shown)


def test_the_backend_imports_nothing_of_the_converter_the_cli_or_the_server() -> None:
    """Triton's stub loads the backend alone: it stands on OpenVINO and numpy only."""
    assert room_graph()["ovtriton.backend"] == {}
