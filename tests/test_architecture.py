"""The integration's import graph, read with ``ast`` (issue 18, "Must show").

* ``api/`` imports nothing from the integration around it, nor Home Assistant;
* no import cycles among the integration's modules, counting imports under
  ``TYPE_CHECKING`` and inside functions;
* entity classes (subclasses of Home Assistant's ``Entity``) live only in platform
  modules (``sensor``, ``switch``, ...) and ``entity.py`` (their bases).
"""

from __future__ import annotations

import ast
import importlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from homeassistant.const import Platform
from homeassistant.helpers.entity import Entity

PACKAGE = "custom_components.fusionsolar"
ROOT = Path(__file__).parent.parent / "custom_components" / "fusionsolar"
API = f"{PACKAGE}.api"
ENTITY_MODULES = frozenset({platform.value for platform in Platform} | {"entity"})

# Violations of today's code, removed by the layering work: the tests fail on any
# violation not listed here AND on any listed one that no longer exists, so the list
# can only shrink (to empty).
KNOWN_VIOLATIONS: frozenset[str] = frozenset()


@dataclass
class Module:
    """One module of the integration: what it imports and the classes it defines."""

    name: str
    tree: ast.Module
    is_package: bool
    imports: set[str] = field(default_factory=set)  # integration modules
    external: set[str] = field(default_factory=set)  # other top-level packages
    names: dict[str, tuple[str, str]] = field(default_factory=dict)  # alias -> (module, attr)
    classes: dict[str, ast.ClassDef] = field(default_factory=dict)


def short(name: str) -> str:
    """A module name relative to the integration (``api.client``; ``__init__`` for the root)."""
    return name.removeprefix(f"{PACKAGE}.") if name != PACKAGE else "__init__"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join((PACKAGE, *parts))


def absolute(module: Module, node: ast.ImportFrom) -> str:
    """The absolute module name an ``ImportFrom`` reads from."""
    if not node.level:
        return node.module or ""
    base = module.name.split(".")
    base = base if module.is_package else base[:-1]
    base = base[: len(base) - node.level + 1]
    return ".".join([*base, *([node.module] if node.module else [])])


@cache
def modules() -> dict[str, Module]:
    """Every module of the integration, its imports resolved (all of them, at any depth)."""
    found = {
        module_name(path): Module(
            module_name(path), ast.parse(path.read_text()), path.name == "__init__.py"
        )
        for path in sorted(ROOT.rglob("*.py"))
    }
    for module in found.values():
        for node in ast.walk(module.tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    record(module, found, alias.name, None, alias.asname)
            elif isinstance(node, ast.ImportFrom):
                source = absolute(module, node)
                for alias in node.names:
                    record(module, found, source, alias.name, alias.asname)
            elif isinstance(node, ast.ClassDef):
                module.classes[node.name] = node
    return found


def record(
    module: Module, found: dict[str, Module], source: str, attr: str | None, alias: str | None
) -> None:
    """Note one imported name: the integration module it comes from, or the package."""
    if attr is not None and f"{source}.{attr}" in found:  # ``from . import sensor``
        source, attr = f"{source}.{attr}", None
    if source in found:
        module.imports.add(source)
    elif source.startswith(f"{PACKAGE}."):
        raise AssertionError(f"{short(module.name)} imports unknown module {source}")
    else:
        module.external.add(source.split(".")[0])
    if attr is not None:
        module.names[alias or attr] = (source, attr)
    elif alias is not None:
        module.names[alias] = (source, "")


def import_cycles() -> list[list[str]]:
    """Strongly connected groups of modules (Tarjan), each sorted: the import cycles."""
    graph = {name: sorted(module.imports) for name, module in modules().items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while (member := stack.pop()) != node:
                group.append(member)
            group.append(node)
            if len(group) > 1 or node in graph[node]:
                cycles.append(sorted(short(name) for name in group))

    for node in graph:
        if node not in index:
            visit(node)
    return sorted(cycles)


def base_names(node: ast.ClassDef) -> Iterator[ast.expr]:
    for base in node.bases:
        yield base.value if isinstance(base, ast.Subscript) else base  # Generic[...]


@cache
def is_entity(module_name: str, class_name: str) -> bool:
    """Whether the class is a Home Assistant ``Entity``, following bases across modules."""
    module = modules()[module_name]
    if class_name in module.classes:
        return any(base_is_entity(module, base) for base in base_names(module.classes[class_name]))
    if class_name in module.names:  # re-exported
        source, attr = module.names[class_name]
        return resolves_to_entity(source, attr)
    return False


def base_is_entity(module: Module, base: ast.expr) -> bool:
    if isinstance(base, ast.Name):
        if base.id in module.classes:
            return is_entity(module.name, base.id)
        source, attr = module.names.get(base.id, ("builtins", base.id))
        return resolves_to_entity(source, attr)
    if isinstance(base, ast.Attribute) and isinstance(base.value, ast.Name):
        source, attr = module.names.get(base.value.id, ("", ""))
        return resolves_to_entity(".".join(filter(None, (source, attr))), base.attr)
    return False


def resolves_to_entity(source: str, attr: str) -> bool:
    if source in modules():
        return is_entity(source, attr)
    if not source.startswith("homeassistant"):
        return False
    found = getattr(importlib.import_module(source), attr, None)
    return isinstance(found, type) and issubclass(found, Entity)


def entity_classes() -> dict[str, list[str]]:
    """Module (short name) -> the entity classes it defines."""
    return {
        short(name): names
        for name, module in modules().items()
        if (names := sorted(cls for cls in module.classes if is_entity(name, cls)))
    }


def check(kind: str, violations: set[str]) -> None:
    """Fail on a violation not allow-listed, and on an allow-listed one that is gone."""
    known = {item for item in KNOWN_VIOLATIONS if item.startswith(kind)}
    new = sorted(violations - known)
    fixed = sorted(known - violations)
    assert not new, "new violations:\n  " + "\n  ".join(new)
    assert not fixed, "gone (remove them from KNOWN_VIOLATIONS):\n  " + "\n  ".join(fixed)


def test_item18_import_graph_is_read() -> None:
    """The reader sees the real imports and classes (the other tests rely on it)."""
    found = modules()
    assert {f"{PACKAGE}.sensor", f"{PACKAGE}.api", f"{PACKAGE}.api.const"} <= set(found)
    assert f"{PACKAGE}.entity" in found[f"{PACKAGE}.sensor"].imports
    assert f"{PACKAGE}.api" in found[f"{PACKAGE}.coordinator.base"].imports
    assert "homeassistant" in found[f"{PACKAGE}.sensor"].external
    assert "aiohttp" in found[API].external | found[f"{API}.client"].external
    classes = entity_classes()
    assert len(classes.get("sensor", [])) >= 2
    assert classes.get("binary_sensor")
    assert not is_entity(f"{API}.models", "Plant")


def test_item18_api_imports_nothing_from_the_integration() -> None:
    violations = {
        f"api imports the integration: {short(name)} -> {short(target)}"
        for name, module in modules().items()
        if name == API or name.startswith(f"{API}.")
        for target in module.imports
        if not (target == API or target.startswith(f"{API}."))
    } | {
        f"api imports Home Assistant: {short(name)}"
        for name, module in modules().items()
        if (name == API or name.startswith(f"{API}.")) and "homeassistant" in module.external
    }
    check("api imports", violations)


def test_item18_no_import_cycles() -> None:
    """Counting imports under ``TYPE_CHECKING`` and inside functions."""
    check("import cycle", {f"import cycle: {', '.join(group)}" for group in import_cycles()})


def test_item18_entity_classes_only_in_platform_modules() -> None:
    violations = {
        f"entity class outside the platform modules: {name}.{cls}"
        for name, classes in entity_classes().items()
        if name.split(".")[0] not in ENTITY_MODULES
        for cls in classes
    }
    check("entity class", violations)


def imported_names(node: ast.AST) -> list[str]:
    """Dotted names an import statement reads (``module.name`` for ``from`` imports)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        return [f"{node.module or ''}.{alias.name}" for alias in node.names]
    return []


#: Libraries whose modules are named test_* (not our test modules).
THIRD_PARTY_TEST_PACKAGES = frozenset({"pytest_homeassistant_custom_component"})


def test_item18_7_tests_import_no_test_module_nor_benchmarks() -> None:
    """Shared test code lives in conftest.py and helper modules; benchmarks use tests."""
    tests = Path(__file__).parent
    violations = [
        f"{path.relative_to(tests)} imports {name}"
        for path in sorted(tests.rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text()))
        for name in imported_names(node)
        if name.split(".")[0] == "benchmarks"
        or (
            name.split(".")[0] not in THIRD_PARTY_TEST_PACKAGES
            and any(part.startswith("test_") for part in name.split("."))
        )
    ]
    assert violations == []
    assert imported_names(ast.parse("from tests.test_sensor import PLANT").body[0]) == [
        "tests.test_sensor.PLANT"
    ]


#: "No module over about 500 lines" (issue 18, target for ``api/``).
MAX_MODULE_LINES = 550


def test_item18_8_no_api_module_over_about_500_lines() -> None:
    sizes = {
        str(path.relative_to(ROOT)): len(path.read_text().splitlines())
        for path in sorted((ROOT / "api").rglob("*.py"))
    }
    assert len(sizes) > 10
    assert {path: lines for path, lines in sizes.items() if lines > MAX_MODULE_LINES} == {}


#: Home Assistant's hand-made timers: outside a coordinator, a schedule is a coordinator.
TIMERS = frozenset(
    {
        "async_call_later",
        "async_track_point_in_time",
        "async_track_point_in_utc_time",
        "async_track_time_change",
        "async_track_time_interval",
        "async_track_utc_time_change",
    }
)


def test_item18_2_schedules_only_in_coordinators() -> None:
    """Anything that runs on a schedule is a ``DataUpdateCoordinator`` (``coordinator/``)."""
    violations = {
        f"timer outside the coordinators: {short(name)} uses {attr}"
        for name, module in modules().items()
        if not name.startswith(f"{PACKAGE}.coordinator")
        for source, attr in module.names.values()
        if source == "homeassistant.helpers.event" and attr in TIMERS
    }
    assert violations == set()
    assert ("homeassistant.helpers.event", "async_track_point_in_utc_time") in modules()[
        f"{PACKAGE}.coordinator.base"
    ].names.values()
