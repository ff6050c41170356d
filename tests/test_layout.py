"""The package layout is the architecture: imports flow one way and never in a circle.

Every import statement counts, wherever it stands (module top, inside a function, under
`TYPE_CHECKING`), and so does `importlib.import_module("literal")`: a lazy import still ties
the modules together. Layers, lowest first (DEVELOPERS.md states the same rules):

    base (types, errors, config) < text < encode < store < retrieve
                                    answer (beside store: never imports it) < chat
    ingest (uses store) ;  api < ui ; cli on top ; evals / benchmarks use the public API
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("assistant", "ingest", "evals", "benchmarks", "prompts")

BASE = {"base"}
#: layer -> the layers it may import (itself included)
ALLOWED: dict[str, set[str]] = {
    "base": BASE,
    "text": BASE | {"text"},
    "encode": BASE | {"encode"},
    "store": BASE | {"text", "encode", "store"},
    "retrieve": BASE | {"text", "encode", "store", "retrieve"},
    "answer": BASE | {"text", "encode", "answer", "prompts"},
    "chat": BASE | {"text", "encode", "answer", "prompts", "chat"},
    "ingest": BASE | {"text", "encode", "store", "ingest"},
    "api": BASE | {"text", "encode", "store", "retrieve", "answer", "chat", "ingest", "api", "llamaindex"},
    "llamaindex": BASE | {"text", "encode", "store", "retrieve", "answer", "chat", "llamaindex"},
    "ui": BASE | {"text", "encode", "store", "retrieve", "answer", "chat", "api", "ui"},
    "cli": {"base", "text", "encode", "store", "retrieve", "answer", "chat", "ingest", "api", "ui", "cli", "evals", "benchmarks"},
    "evals": {"base", "text", "encode", "store", "retrieve", "answer", "chat", "ingest", "api", "cli", "evals"},
    "benchmarks": {"base", "text", "encode", "store", "retrieve", "answer", "ingest", "api", "cli", "evals", "benchmarks"},
    "prompts": {"prompts"},
}


def layer(module: str) -> str:
    parts = module.split(".")
    if parts[0] != "assistant":
        return parts[0]
    if len(parts) == 1 or parts[1] in {"api", "__main__"}:
        return "api" if parts[1:] != ["__main__"] else "cli"
    if parts[1] in {"types", "errors", "config"}:
        return "base"
    return parts[1].removesuffix(".py")


def modules() -> dict[str, Path]:
    found = {}
    for pkg in PACKAGES:
        for path in (ROOT / pkg).rglob("*.py"):
            rel = path.relative_to(ROOT).with_suffix("")
            parts = list(rel.parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The project modules `name` imports (a `from pkg import sub` counts as pkg.sub if that is a module)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_pkg = path.name == "__init__.py"
    out: set[str] = set()

    def add(target: str) -> None:
        while target and target not in known:
            target = target.rpartition(".")[0]
        if target and target != name:
            out.add(target)

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                add(a.name)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                pkg = name if is_pkg else name.rpartition(".")[0]
                for _ in range(node.level - 1):
                    pkg = pkg.rpartition(".")[0]
                base = f"{pkg}.{base}".strip(".")
            for a in node.names:
                full = f"{base}.{a.name}"
                add(full if full in known else base)
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) == "import_module":
            if node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                add(node.args[0].value)
    return out


def graph() -> dict[str, set[str]]:
    mods = modules()
    known = set(mods)
    g = {m: imports_of(m, p, known) for m, p in mods.items()}
    # the CLI's command groups are imported by name from a tuple of literals
    for m, p in mods.items():
        tree = ast.parse(p.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Tuple):
                names = [e.value for e in node.value.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
                if names and all(n in known for n in names) and "import_module" in ast.unparse(tree):
                    g[m] |= set(names)
    return g


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in g.get(v, ()):
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
                out.append(sorted(comp))

    for v in sorted(g):
        if v not in index:
            visit(v)
    return out


def test_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_import_graph_is_read() -> None:
    g = graph()
    assert "assistant.store.catalog" in g["assistant.store.store"]
    assert "assistant.chat" in g["assistant.api"]
    assert "evals.cli" in g["assistant.cli.main"]  # importlib over the command-group tuple


def test_no_import_cycles() -> None:
    assert cycles(graph()) == []


def test_lower_layers_never_import_higher_ones() -> None:
    bad = []
    for mod, deps in graph().items():
        mine = layer(mod)
        for d in deps:
            if layer(d) not in ALLOWED[mine]:
                bad.append(f"{mod} ({mine}) imports {d} ({layer(d)})")
    assert bad == []


@pytest.mark.parametrize("pkg", ["text", "encode", "store", "retrieve", "answer", "llamaindex", "ui", "cli"])
def test_each_subpackage_states_what_it_owns_and_may_import(pkg: str) -> None:
    doc = ast.get_docstring(ast.parse((ROOT / "assistant" / pkg / "__init__.py").read_text()))
    assert doc and "May import" in doc


def test_top_level_of_assistant_is_only_the_facade_and_shared_types() -> None:
    top = sorted(p.name for p in (ROOT / "assistant").glob("*.py"))
    assert top == ["__init__.py", "__main__.py", "api.py", "chat.py", "config.py", "errors.py", "types.py"]
