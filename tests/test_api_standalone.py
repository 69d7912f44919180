"""The client in custom_components/fusionsolar/api must stay a standalone library."""

from __future__ import annotations

import ast
from pathlib import Path

API_DIR = Path(__file__).parent.parent / "custom_components" / "fusionsolar" / "api"


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    modules: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module)
    return modules


def test_api_has_modules() -> None:
    assert {p.name for p in API_DIR.glob("*.py")} >= {
        "__init__.py",
        "client.py",
        "transport.py",
        "session.py",
        "batching.py",
        "legacy.py",
        "v7.py",
        "quota.py",
        "models.py",
        "parsers.py",
        "values.py",
        "errors.py",
        "const.py",
    }


def test_api_does_not_import_homeassistant() -> None:
    offenders = {
        path.name: sorted(m for m in _imported_modules(path) if m.split(".")[0] == "homeassistant")
        for path in API_DIR.glob("*.py")
    }
    assert {name: mods for name, mods in offenders.items() if mods} == {}


def test_detector_sees_homeassistant_imports(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("import homeassistant.core\nfrom homeassistant.const import X\n")
    assert _imported_modules(sample) == {"homeassistant.core", "homeassistant.const"}
