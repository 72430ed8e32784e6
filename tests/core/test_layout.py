"""The house rules of the layout, checked on the source: imports go one way and never loop.

Every import counts, deferred ones (inside functions) and type-only ones included: a loop through
a deferred import is still a loop a reader has to untangle.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from lyrics_gpt2.testing import subprocess_env

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("lyrics_gpt2", "pipeline")
# The shared core of lyrics_gpt2: it may import only itself (and third-party code).
CORE = {
    f"lyrics_gpt2.{name}"
    for name in ("errors", "cli", "fileio", "genres", "tokenizer", "data", "modeling")
}
COMMANDS = {
    f"lyrics_gpt2.{name}" for name in ("train", "generate", "perplexity", "compare", "gpt2_vocab")
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            found[module_name(path)] = path
    return found


def imports_of(path: Path, modules: dict[str, Path]) -> set[str]:
    """The project modules ``path`` imports anywhere in its body (``from a import b`` counts as
    a.b when b is a module, else as a)."""
    me = module_name(path)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*up, base] if base else up)
            names = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for name in names:
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name and name != me:
                found.add(name)
    # `from lyrics_gpt2.x import y` also lists the package lyrics_gpt2; a package's own
    # __init__ is not a dependency worth a loop.
    return {m for m in found if not (modules[m].name == "__init__.py" and me.startswith(m + "."))}


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    modules = project_modules()
    return {name: imports_of(path, modules) for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
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

    sys.setrecursionlimit(10_000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_module_or_package_imports_itself_in_a_loop(graph):
    assert cycles(graph) == []


def test_the_cycle_finder_finds_a_loop():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_core_imports_only_the_core(graph):
    wrong = {m: sorted(graph[m] - CORE) for m in CORE if graph[m] - CORE}
    assert wrong == {}


def test_inference_and_evaluation_never_import_training_or_a_command(graph):
    wrong = {
        m: sorted(d)
        for m, deps in graph.items()
        if m.startswith(("lyrics_gpt2.inference", "lyrics_gpt2.evaluation"))
        and (d := {x for x in deps if x.startswith("lyrics_gpt2.training") or x in COMMANDS})
    }
    assert wrong == {}


def test_imports_go_one_way_pipeline_to_lyrics_gpt2(graph):
    back = {m: sorted(d) for m, deps in graph.items() if m.startswith("lyrics_gpt2")
            and (d := {x for x in deps if x.startswith("pipeline")})}  # fmt: skip
    assert back == {}


def test_the_top_level_holds_at_most_fifteen_modules():
    top = sorted(p.name for p in (REPO / "lyrics_gpt2").glob("*.py"))
    assert len(top) <= 15, top


def test_no_module_is_over_450_lines():
    long = {
        str(p.relative_to(REPO)): n
        for package in PACKAGES
        for p in (REPO / package).rglob("*.py")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > 450
    }
    assert long == {}


def test_python_m_lyrics_gpt2_lists_every_command_and_each_one_exists():
    from lyrics_gpt2.__main__ import COMMANDS as listed

    done = subprocess.run(
        [sys.executable, "-m", "lyrics_gpt2"], capture_output=True, text=True, env=subprocess_env()
    )
    assert done.returncode == 0, done.stderr
    for command, what in listed:
        assert command in done.stdout and what in done.stdout
        target = command.split()[-1]
        path = REPO / (target if target.endswith(".py") else target.replace(".", "/") + ".py")
        if not path.is_file():
            path = path.with_suffix("") / "__main__.py"
        assert path.is_file(), command
