"""The package has no import circles, and its light modules import cheaply.

Every ``import`` in every module counts — also the deferred ones inside functions, since a
circle hidden by a deferred import is still a circle (only ``if TYPE_CHECKING:`` blocks are left
out: they never run). Checked at two levels: between modules, and between the first-level
parts of the package (``patentscope.landscape`` <-> ``patentscope.normalize`` would be a circle
even if no two modules formed one).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "patentscope"

# Known circles, each to be removed when the code that makes it goes (delete the line then).
KNOWN_MODULE_CIRCLES: set[frozenset[str]] = set()
KNOWN_PART_CIRCLES: set[frozenset[str]] = set()


def module_name(p: Path) -> str:
    parts = list(p.relative_to(PKG.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in PKG.rglob("*.py")}


def imports(name: str, path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
            for n in ast.walk(node)}
    pkg = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    out: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name in MODULES}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = pkg.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            for a in node.names:
                if f"{base}.{a.name}" in MODULES:
                    out.add(f"{base}.{a.name}")
                elif base in MODULES:
                    out.add(base)
    out.discard(name)
    return out


def circles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """Strongly connected components of more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[frozenset[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while True:
                w = stack.pop()
                comp.add(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(frozenset(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


GRAPH = {m: imports(m, p) for m, p in MODULES.items()}


def test_no_module_import_circles():
    assert set(circles(GRAPH)) <= KNOWN_MODULE_CIRCLES, circles(GRAPH)


def part(m: str) -> str:
    return ".".join(m.split(".")[:2])


def test_no_circles_between_the_parts_of_the_package():
    parts: dict[str, set[str]] = {}
    for m, targets in GRAPH.items():
        if m == "patentscope":  # the package's own __init__ (lazy: it imports api on first use)
            continue
        parts.setdefault(part(m), set()).update(part(t) for t in targets if part(t) not in (part(m), "patentscope"))
    assert set(circles(parts)) <= KNOWN_PART_CIRCLES, circles(parts)


def test_the_circle_finder_finds_circles():
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [frozenset({"a", "b", "c"})]


def test_light_modules_import_without_polars_or_duckdb():
    code = ("import sys, patentscope, patentscope.normalize.numbers, patentscope.errors, patentscope.landscape; "
            "print(sorted(m for m in ('polars', 'duckdb', 'numpy', 'httpx') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
