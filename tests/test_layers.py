"""The layers (docs/DEVELOPING.md), checked on the source: which package may import which, no
import cycles, and no SQL in the dashboard.

Every import counts, the ones inside functions and under TYPE_CHECKING too: a lazy import is still
a dependency. The cycle check is over module-level imports only, which are the ones that run when
a module is imported.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("did_model", "ingest", "queries", "dashboard")
SHARED = ("did_errors", "did_settings", "did_months", "did_audit")  # top-level modules every layer may use

# What each layer must never import (a prefix of the imported module's name).
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "did_model": ("ingest", "queries", "dashboard", "did_cli", "did_audit", "streamlit"),
    "ingest": ("queries", "dashboard", "did_cli", "streamlit"),
    "queries": ("ingest", "dashboard", "did_cli", "streamlit"),
    "dashboard": ("did_cli",),
    **{shared: ("ingest", "queries", "dashboard", "did_cli", "streamlit") for shared in SHARED},
}
# The dashboard reaches ingest/ only through its front door (a provider's upload, a local code
# notified) and the shipped reference files it reads (no store): never the loader, the store or
# the rollups.
DASHBOARD_MAY_IMPORT_FROM_INGEST = ("ingest.submit", "ingest.local_codes", "ingest.reference", "ingest.geography")


# Only the command line's adapters read a parsed command line: `did export`'s and `did report`'s
# plugins turn it into the typed, frozen request a page builds from its widgets, and every other
# module takes that request (queries/exports/__init__.py), so a page and its export share it.
ARGPARSE_ADAPTERS = ("queries.exports", "queries.reports")


def _modules() -> dict[str, Path]:
    """Every project module by dotted name (packages by their __init__)."""
    found = {name: ROOT / f"{name}.py" for name in (*SHARED, "did_cli")}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path, module_level_only: bool = False) -> set[str]:
    """The modules `name` imports, resolved (`from pkg import mod` is pkg.mod when that is a module)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    nodes = tree.body if module_level_only else list(ast.walk(tree))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                full = f"{base}.{alias.name}"
                out.add(full if full in MODULES else base)
    return out


def _layer(name: str) -> str:
    return name.split(".")[0]


def _breaches() -> list[str]:
    found = []
    for name, path in MODULES.items():
        for imported in _imports(name, path):
            for banned in FORBIDDEN.get(_layer(name), ()):
                if imported == banned or imported.startswith(banned + "."):
                    found.append(f"{name} imports {imported}")
            if (
                _layer(name) == "dashboard"
                and _layer(imported) == "ingest"
                and not imported.startswith(DASHBOARD_MAY_IMPORT_FROM_INGEST)
            ):
                found.append(
                    f"{name} imports {imported} (the dashboard may use only {DASHBOARD_MAY_IMPORT_FROM_INGEST})"
                )
    return sorted(found)


def test_each_layer_imports_only_what_it_may():
    assert _breaches() == []


def _argparse_readers() -> list[str]:
    """The modules of the layers, other than the command line's adapters, that import argparse."""
    return sorted(
        name
        for name, path in MODULES.items()
        if _layer(name) in PACKAGES
        and not any(name == a or name.startswith(a + ".") for a in ARGPARSE_ADAPTERS)
        and "argparse" in {i.split(".")[0] for i in _imports(name, path)}
    )


def test_only_the_command_line_adapters_read_a_command_line():
    assert _argparse_readers() == []


@pytest.mark.parametrize(
    ("name", "caught"),
    [("queries.planted", True), ("dashboard.planted", True), ("queries.exports.planted", False)],
)
def test_the_argparse_check_catches_a_planted_reader(tmp_path, monkeypatch, name, caught):
    planted = tmp_path / "planted.py"
    planted.write_text("def f(args):\n    from argparse import Namespace\n")
    monkeypatch.setitem(MODULES, name, planted)
    assert (name in _argparse_readers()) == caught


def test_nothing_imports_the_cli():
    assert [n for n, p in MODULES.items() if n != "did_cli" and "did_cli" in _imports(n, p)] == []


def _cycles() -> list[list[str]]:
    """Strongly connected components of more than one module in the module-level import graph."""
    graph = {
        n: sorted(i for i in _imports(n, p, module_level_only=True) if i in MODULES and i != n)
        for n, p in MODULES.items()
    }
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's algorithm
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return components


def test_no_import_cycles():
    assert _cycles() == []


SQL = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE|CREATE)\b[\s\S]*\b(FROM|INTO|SET|TABLE|VIEW)\b")


def test_the_dashboard_holds_no_sql():
    """No SQL text and no call that runs SQL: every figure comes from a queries/ function."""
    found = []
    for name, path in MODULES.items():
        if _layer(name) != "dashboard":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL.search(node.value):
                found.append(f"{name}:{node.lineno} SQL text")
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) in ("sql", "execute", "query"):
                found.append(f"{name}:{node.lineno} .{node.func.attr}(...)")
    assert found == []


@pytest.mark.parametrize(
    ("layer", "source", "breach"),
    [
        ("queries", "from ingest.store import publish\n", "imports ingest.store"),
        ("ingest", "def f():\n    from queries import headline\n", "imports queries.headline"),
        ("did_model", "from did_model import spec\nimport streamlit as st\n", "imports streamlit"),
        ("dashboard", "from ingest import loader\n", "imports ingest.loader"),
    ],
)
def test_the_check_catches_a_planted_breach(tmp_path, monkeypatch, layer, source, breach):
    planted = tmp_path / "planted.py"
    planted.write_text(source)
    monkeypatch.setitem(MODULES, f"{layer}.planted", planted)
    assert any(breach in b for b in _breaches())


def test_the_check_catches_a_planted_cycle(tmp_path, monkeypatch):
    a, b = tmp_path / "a.py", tmp_path / "b.py"
    a.write_text("from queries import cycle_b\n")
    b.write_text("import queries.cycle_a\n")
    monkeypatch.setitem(MODULES, "queries.cycle_a", a)
    monkeypatch.setitem(MODULES, "queries.cycle_b", b)
    assert ["queries.cycle_a", "queries.cycle_b"] in _cycles()
