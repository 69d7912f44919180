"""The integration's layering (issue 18): who may import whom, where entities live.

api <- coordinator <- entity <- platforms; the feature modules' data (alarms, history,
lists, stores, errors) sit below the coordinators. Every import counts, also those only
made for type checking.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = "custom_components.fusionsolar"
ROOT = Path(__file__).parents[1] / "custom_components" / "fusionsolar"
PLATFORMS = {"binary_sensor", "event", "number", "sensor", "switch"}
# Entity base classes live in entity.py; every concrete entity in its platform.
ENTITY_MODULES = {*PLATFORMS, "entity"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join([PACKAGE, *parts])


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in ROOT.rglob("*.py")}


def _imports(name: str, path: Path) -> Iterator[str]:
    """Yield every module `path` imports (relative imports resolved, any nesting)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package
            for _ in range(node.level - 1):
                base = base.rpartition(".")[0]
            module = node.module or ""
            yield (f"{base}.{module}" if module else base) if node.level else module


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = set()
        for imported in _imports(name, path):
            # An imported name's module, or the nearest package that is one of ours.
            owner = imported
            while owner and owner not in modules:
                owner = owner.rpartition(".")[0]
            if owner and owner != name:
                targets.add(owner)
        graph[name] = targets
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Return one path for each import cycle found (depth-first)."""
    found: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                found.append([*stack[stack.index(target) :], target])
            elif target not in state:
                visit(target)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return found


def test_item18_1_api_imports_nothing_from_the_integration() -> None:
    graph = _graph()
    api = f"{PACKAGE}.api"
    outside = {
        module: sorted(target for target in targets if not target.startswith(api))
        for module, targets in graph.items()
        if module.startswith(api)
    }
    assert {module: targets for module, targets in outside.items() if targets} == {}


def test_item18_1_no_import_cycles_not_even_for_type_checking() -> None:
    assert _cycles(_graph()) == []


def test_item18_1_cycle_detector_sees_type_checking_imports(tmp_path: Path) -> None:
    """The detector itself: a cycle made only under TYPE_CHECKING is one."""
    package = tmp_path / "fusionsolar"
    package.mkdir()
    (package / "a.py").write_text("from .b import B\n", encoding="utf-8")
    (package / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .a import A\n",
        encoding="utf-8",
    )
    modules = {f"{PACKAGE}.{path.stem}": path for path in package.glob("*.py")}
    graph = {
        name: {target for target in _imports(name, path) if target in modules}
        for name, path in modules.items()
    }
    assert _cycles(graph) == [[f"{PACKAGE}.a", f"{PACKAGE}.b", f"{PACKAGE}.a"]]


def _entity_classes(path: Path) -> list[str]:
    """Return the classes of a module that derive from a Home Assistant entity class."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: list[str] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.ClassDef):
            continue
        bases = [ast.unparse(base) for base in node.bases]
        if any("Entity" in base and "Description" not in base for base in bases):
            names.append(node.name)
    return names


def test_item18_1_entity_classes_only_in_platform_modules() -> None:
    misplaced = {
        name: classes
        for name, path in _modules().items()
        if name.rpartition(".")[2] not in ENTITY_MODULES and (classes := _entity_classes(path))
    }
    assert misplaced == {}
    # The check sees entity classes where they are.
    assert "DispatchStatusSensor" in _entity_classes(ROOT / "sensor.py")
    assert "AlarmEventEntity" in _entity_classes(ROOT / "event.py")
