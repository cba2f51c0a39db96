"""The project's import graph, read from its source as Python would resolve it.

Every import counts: absolute or relative, at module level, inside a function, or under
``TYPE_CHECKING`` (a type-only cycle still ties two modules together). An edge joins two of the
project's own modules; an import of anything else is not an edge.
"""
from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path


def modules_under(path_entry: Path, package: str) -> dict[str, Path]:
    """Dotted module name -> file, for one package found on one sys.path entry."""
    found = {}
    for path in sorted((path_entry / package).rglob("*.py")):
        parts = list(path.relative_to(path_entry).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def imported_names(module: str, path: Path) -> Iterable[tuple[str, tuple[str, ...]]]:
    """(absolute module, names imported from it) for every import statement in the file."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, ()
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[:len(parts) - (node.level - 1)])
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            yield target, tuple(alias.name for alias in node.names)


def import_edges(modules: Mapping[str, Path]) -> dict[str, set[str]]:
    """Module -> the project modules it imports. ``from a import b`` names the module a.b when
    there is one, else a itself; ``import a.b.c`` names the longest of a.b.c, a.b, a that exists."""
    edges: dict[str, set[str]] = {}
    for module, path in modules.items():
        targets = edges.setdefault(module, set())
        for target, names in imported_names(module, path):
            for name in names or ("",):
                candidate = f"{target}.{name}" if name else target
                while candidate and candidate not in modules:
                    candidate = candidate.rpartition(".")[0]
                if candidate and candidate != module:
                    targets.add(candidate)
    return edges


def cycles(edges: Mapping[str, set[str]]) -> list[list[str]]:
    """Every group of modules that import each other, directly or round a loop (Tarjan's
    strongly connected components of more than one module), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return sorted(found)
