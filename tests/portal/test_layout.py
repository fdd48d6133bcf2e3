"""The shape of the code (issue 27): no import cycle at top level, apps depend one way, no module over 400 lines.

The import graph is read from the source with `ast`; `graphlib` (the standard library's topological
sort) finds cycles. The direction between apps is the one README's "Layout" paragraph documents.
"""
from __future__ import annotations

import ast
import graphlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ["accounts", "alerts", "calls", "conferencing", "ops", "portal", "queues", "recordings", "sandbox", "webhooks"]
MAX_LINES = 400
LONG_ALLOWED = {"portal/settings.py"}  # every setting read from the environment in one place (house style)

# portal holds the project (settings, urls, the dashboard, /metrics' gauges, ...), which reads every
# app, and the core every app uses (gateway, command bus, live updates, roles, models). These modules
# are the project (with the management commands); every other portal module is core.
PROJECT = {
    "portal.settings", "portal.urls", "portal.asgi", "portal.wsgi", "portal.routing", "portal.views",
    "portal.selectors", "portal.health", "portal.ops_views", "portal.metrics_gauges", "portal.metrics_exposition",
}
# Layers, top first: a module may import its own layer and those below, never one above.
LAYERS = [
    {"project"},
    {"alerts"},
    {"conferencing"},
    {"recordings"},
    {"queues"},
    {"calls"},
    {"webhooks", "accounts"},
    {"core", "ops"},
]
# Imports against the direction on purpose, each saying why: (importer, imported).
ALLOWED_UPWARD = {
    # Every app publishes the dashboard through portal.live; its counters read every app, when rendered.
    ("portal.live", "portal.selectors"),
    # A conference's recording is named by its conference's name (issue 31): one subquery on the row, no code.
    ("recordings.selectors", "conferencing.models"),
}


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            relative = path.relative_to(ROOT)
            if "migrations" in relative.parts:
                continue
            parts = list(relative.with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _targets(node: ast.Import | ast.ImportFrom, module: str) -> set[str]:
    """The project modules one import statement loads (the deepest that exist)."""
    names = []
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        base = node.module or ""
        if node.level:  # relative: from the module's package, up one more per extra dot
            package = module.split(".") if MODULES[module].name == "__init__.py" else module.split(".")[:-1]
            package = package[: len(package) - node.level + 1]
            base = ".".join([*package, *([base] if base else [])])
        names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base for alias in node.names]
    return {name for name in names if name in MODULES and name != module}


def _imports(module: str) -> tuple[set[str], set[str]]:
    """(imported when the module loads, imported later from inside a function)."""
    tree = ast.parse(MODULES[module].read_text(), filename=str(MODULES[module]))
    top, later = set(), set()

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                continue  # for type checkers only; never imported at run time
            if isinstance(child, ast.Import | ast.ImportFrom):
                (later if in_function else top).update(_targets(child, module))
            visit(child, in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda))

    visit(tree, False)
    return top, later


GRAPH = {module: _imports(module) for module in MODULES}


def _layer(module: str) -> int:
    package = module.split(".")[0]
    project = module in PROJECT or module.startswith("portal.management.")  # commands are entry points
    name = "project" if project else ("core" if package == "portal" else package)
    return next(i for i, layer in enumerate(LAYERS) if name in layer)


def test_no_import_cycle_between_modules_at_top_level():
    sorter = graphlib.TopologicalSorter({module: top for module, (top, _later) in GRAPH.items()})
    try:
        sorter.prepare()
    except graphlib.CycleError as error:
        pytest.fail(f"Modules import each other at top level: {' -> '.join(error.args[1])}")


def test_the_graph_is_read():
    """The reader sees what is there: known imports at top level and inside functions (so the checks can fail)."""
    assert "conferencing.live" in GRAPH["conferencing.services"][0]
    assert "recordings.tasks" in GRAPH["recordings.capture"][1]  # a service queuing its own task
    assert "portal.selectors" in GRAPH["portal.live"][1]


@pytest.mark.parametrize("package", [p for p in PACKAGES if p != "sandbox"])
def test_apps_depend_one_way(package):
    """Every import, at top level or inside a function, points to the importer's layer or one below it."""
    against = []
    for module, (top, later) in GRAPH.items():
        if module.split(".")[0] != package:
            continue
        for imported in sorted(top | later):
            if imported.split(".")[0] == "sandbox" or (module, imported) in ALLOWED_UPWARD:
                continue
            if _layer(imported) < _layer(module):
                against.append(f"{module} -> {imported}")
    assert not against, "Against the direction in README's Layout: " + ", ".join(against)


def test_the_sandbox_imports_nothing_from_the_portal():
    inward = [f"{m} -> {i}" for m, (top, later) in GRAPH.items() if m.startswith("sandbox") for i in top | later
              if not i.startswith("sandbox")]
    assert not inward


def test_the_allowed_upward_imports_are_still_needed():
    """An exception nobody needs any more goes (the list only shrinks)."""
    for module, imported in ALLOWED_UPWARD:
        top, later = GRAPH[module]
        assert imported in top | later, f"{module} no longer imports {imported}: drop it from ALLOWED_UPWARD"


def test_no_module_passes_400_lines():
    long = []
    for package in [*PACKAGES, "bench"]:
        for path in (ROOT / package).rglob("*.py"):
            relative = path.relative_to(ROOT).as_posix()
            if "migrations" in path.parts or relative in LONG_ALLOWED:
                continue
            lines = len(path.read_text().splitlines())
            if lines > MAX_LINES:
                long.append(f"{relative} ({lines})")
    assert not long, "Split by job: " + ", ".join(long)
