"""The library's imports point down its layers, and no import runs in a circle.

The layers, bottom to top (the package map in ``tsgan_lib/__init__.py``)::

    errors, ranges, paths, utils     the foundation
    data
    losses / models / eval           side by side: they may import each other, but not in a circle
    files
    train
    report
    cli, __main__

Every ``import`` of every module is read from its source (``ast``): those at
the top, inside functions and under ``TYPE_CHECKING`` alike. A module may
import its own layer or any layer below it, never one above; no two modules
import each other, directly or round a longer circle, and neither do two
sub-packages.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "tsgan_lib"

LAYERS = {"errors": 0, "ranges": 0, "paths": 0, "utils": 0, "data": 1, "losses": 2, "models": 2, "eval": 2,
          "files": 3, "train": 4, "report": 5, "cli": 6, "__main__": 6}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports_of(name: str) -> set[str]:
    """The ``tsgan_lib`` modules ``name`` imports (``from pkg import module`` counts as the module)."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("tsgan_lib")}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([node.module] if node.module else []))
            if base.startswith("tsgan_lib"):
                subs = {f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in MODULES}
                out |= subs if len(subs) == len(node.names) else subs | {base}
    return {m for m in out if m != name}


GRAPH = {name: imports_of(name) for name in MODULES}


def unit(name: str) -> str:
    """The sub-package or top-level module a module belongs to: ``tsgan_lib.train.loop`` -> ``train``."""
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else "tsgan_lib"


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one member (Tarjan)."""
    index, low, stack, on, found = {}, {}, [], set(), []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_every_module_has_a_layer():
    units = {unit(m) for m in MODULES} - {"tsgan_lib"}
    assert units <= set(LAYERS), f"modules outside the layer map: {sorted(units - set(LAYERS))}"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_imports_point_down(name):
    if unit(name) == "tsgan_lib":
        return  # the package's own __init__ imports nothing (it is the map)
    upward = sorted(m for m in GRAPH[name] if unit(m) != "tsgan_lib" and LAYERS[unit(m)] > LAYERS[unit(name)])
    assert not upward, f"{name} (layer {unit(name)}) imports a layer above it: {upward}"


def test_no_module_imports_itself_back():
    assert cycles(GRAPH) == []


def test_no_two_sub_packages_import_each_other():
    units: dict[str, set[str]] = defaultdict(set)
    for name, targets in GRAPH.items():
        units[unit(name)] |= {unit(t) for t in targets if unit(t) != unit(name)}
    assert cycles(units) == []


def test_the_walk_sees_imports_at_every_depth():
    """The checks above would be empty if the walk missed imports: it finds a lazy one and a relative one."""
    assert "tsgan_lib.train.hooks" in GRAPH["tsgan_lib.report.curves"]  # inside a function
    assert "tsgan_lib.train.loop" in GRAPH["tsgan_lib.train.teacher"]   # from .loop import ...
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
