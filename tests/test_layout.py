"""The layout docs/architecture.md describes, checked: small modules, imports one way, no cycle.

The import graph is read with `ast` from every import statement, at the top of a module or inside
a function, so an import deferred to dodge a cycle still counts.
"""

import ast
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAX_LINES = 400
# Top-level packages of the project; tests/ may import anything and is not part of the graph.
PACKAGES = ("ml", "recognizer", "api", "accounts", "digitsite", "testkit", "benchmarks")
# docs/architecture.md's layers, bottom first: a module may import its own layer and those below.
# api and accounts sit side by side on recognizer; digitsite (settings, URLs) may import all.
LAYERS = {"ml": 0, "recognizer": 1, "api": 2, "accounts": 2, "digitsite": 3}
DJANGO_WORLD = ("django", "rest_framework", "drf_spectacular", "django_tasks", "simple_history")


def project_files() -> list[Path]:
    """Every .py file of the checkout, not looking into hidden folders (.venv, .git), var/ (the
    local data) or node_modules."""
    found = []
    for folder, subfolders, files in os.walk(ROOT):
        subfolders[:] = [
            name
            for name in subfolders
            if not name.startswith(".")
            and name not in {"node_modules", "__pycache__"}
            and not (Path(folder) == ROOT and name == "var")
        ]
        found += [Path(folder) / name for name in files if name.endswith(".py")]
    return sorted(found)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def graph_files() -> dict[str, Path]:
    return {
        module_name(path): path
        for path in project_files()
        if path.relative_to(ROOT).parts[0] in PACKAGES
        and "migrations" not in path.relative_to(ROOT).parts
    }


def is_main_block(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return (
        isinstance(node, ast.If)
        and isinstance(test, ast.Compare)
        and isinstance(test.left, ast.Name)
        and test.left.id == "__name__"
        and any(isinstance(c, ast.Constant) and c.value == "__main__" for c in test.comparators)
    )


def walk_imported_code(tree: ast.AST):
    """Every node but those under `if __name__ == "__main__":`, which runs only when the file is a
    script (`python -m ml.train` runs ml.train_cli), never when another module imports it."""
    todo = [tree]
    while todo:
        node = todo.pop()
        yield node
        todo.extend(child for child in ast.iter_child_nodes(node) if not is_main_block(child))


def imported_names(path: Path, modules: dict[str, Path]) -> set[str]:
    """Every module name an import in `path` names, relative imports resolved; `from pkg import
    name` names pkg.name when that is a module of the project, else pkg."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in walk_imported_code(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module
            for alias in node.names:
                child = f"{target}.{alias.name}"
                found.add(child if child in modules else target)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = graph_files()
    graph = {}
    for name, path in modules.items():
        graph[name] = {
            target
            for target in imported_names(path, modules)
            if target in modules and target != name
        }
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_module_is_over_400_lines():
    long = {
        str(path.relative_to(ROOT)): lines
        for path in project_files()
        if path.name != "settings.py"
        and "migrations" not in path.parts
        and (lines := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}


def test_ml_imports_nothing_of_django_or_the_apps():
    graph_modules = graph_files()
    offending = {}
    for name, path in graph_modules.items():
        if name.split(".")[0] != "ml":
            continue
        bad = sorted(
            target
            for target in imported_names(path, graph_modules)
            if target.split(".")[0] in set(PACKAGES) - {"ml"} | set(DJANGO_WORLD)
        )
        if bad:
            offending[name] = bad
    assert offending == {}


def test_no_import_runs_up_the_layers():
    upward = {
        f"{source} -> {target}"
        for source, targets in import_graph().items()
        for target in targets
        if source.split(".")[0] in LAYERS
        and target.split(".")[0] in LAYERS
        and source.split(".")[0] != target.split(".")[0]
        and LAYERS[target.split(".")[0]] >= LAYERS[source.split(".")[0]]
    }
    assert upward == set()


def test_no_import_cycle():
    assert cycles(import_graph()) == []


def test_the_checks_see_a_cycle_and_an_upward_import():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]
    graph = import_graph()
    assert "recognizer.views" in graph
    assert "recognizer.uploads" in graph["recognizer.views"]
    assert "ml.decode" in graph["recognizer.images"]
