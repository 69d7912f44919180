"""scripts/coverage_floor.py on synthetic coverage reports."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "coverage_floor.py"
PKG = "custom_components/fusionsolar"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("coverage_floor", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


floor = _load()


def _report(**percent: float) -> dict[str, object]:
    """A coverage JSON report as coverage.py writes it (only what the checker reads)."""
    return {
        "meta": {"branch_coverage": True},
        "files": {
            path.replace("__", "/") + ".py": {"summary": {"percent_covered": value}}
            for path, value in percent.items()
        },
        "totals": {"percent_covered": 90.0},
    }


def _run(tmp_path: Path, report: dict[str, object]) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "coverage.json"
    path.write_text(json.dumps(report))
    return subprocess.run(
        [sys.executable, str(SCRIPT), str(path)], capture_output=True, text=True, check=False
    )


def test_item21_coverage_floor_passes_at_the_target(tmp_path: Path) -> None:
    """Every module of the integration at 95 % or more: success (others are ignored)."""
    report = _report(
        custom_components__fusionsolar__sensor=95.0,
        custom_components__fusionsolar__history=100.0,
        tests__test_sensor=10.0,  # not part of the integration: ignored
    )
    result = _run(tmp_path, report)
    assert result.returncode == 0, result.stderr
    assert "2 modules at or above their floor" in result.stdout


def test_item21_coverage_floor_fails_below_target(tmp_path: Path) -> None:
    """A module under 95 % fails, by name; the others are not named."""
    assert floor.FLOORS == {}  # every module reached the target: none may drop below it
    report = _report(
        custom_components__fusionsolar__sensor=94.99,
        custom_components__fusionsolar__entity=100.0,
    )
    result = _run(tmp_path, report)
    assert result.returncode == 1
    assert f"{PKG}/sensor.py: 94.99 % < 95.0 %" in result.stderr
    assert "entity.py" not in result.stderr


def test_item21_a_floor_holds_a_listed_module_below_target() -> None:
    """A listed module passes at its floor and fails under it."""
    floors = {f"{PKG}/history.py": 90.0}
    assert floor.shortfalls({f"{PKG}/history.py": 90.0}, floors) == []
    assert floor.shortfalls({f"{PKG}/history.py": 89.95}, floors) == [
        f"{PKG}/history.py: 89.95 % < 90.0 %"
    ]


def test_item21_coverage_floor_hints_to_ratchet() -> None:
    """An improved module is told to raise or drop its floor; a gone one to drop it."""
    floors = {f"{PKG}/a.py": 80.0, f"{PKG}/b.py": 80.0, f"{PKG}/c.py": 80.0, f"{PKG}/d.py": 80.0}
    coverage = {f"{PKG}/a.py": 80.05, f"{PKG}/b.py": 85.27, f"{PKG}/c.py": 96.0}
    assert floor.stale_floors(coverage, floors) == [
        f"{PKG}/b.py: 85.27 %; raise its floor from 80.0 %",
        f"{PKG}/c.py: 96.00 % reaches 95 %; remove its floor",
        f"{PKG}/d.py: not measured; remove its floor",
    ]
    assert floor.shortfalls(coverage, floors) == []


def test_item21_coverage_floors_are_below_the_target() -> None:
    """A floor is only for a module below the target, and names a real module."""
    root = SCRIPT.parent.parent
    for path, value in floor.FLOORS.items():
        assert value < floor.TARGET, path
        assert (root / path).is_file(), path


def test_item21_coverage_floor_rejects_other_files(tmp_path: Path) -> None:
    """Not a coverage report, or no argument: an error, never a pass."""
    with pytest.raises(ValueError, match="not a coverage JSON report"):
        floor.module_coverage({"totals": {}})
    assert _run(tmp_path, {"totals": {}}).returncode != 0
    usage = subprocess.run(
        [sys.executable, str(SCRIPT)], capture_output=True, text=True, check=False
    )
    assert usage.returncode == 2


def test_item21_scripts_test_runs_the_floor_check_after_the_suite() -> None:
    """The whole-suite run of scripts/test writes the JSON report and checks it."""
    lines = (SCRIPT.parent / "test").read_text().splitlines()
    suite = next(i for i, line in enumerate(lines) if 'json:$report"' in line)
    assert lines[suite + 1] == '.venv/bin/python scripts/coverage_floor.py "$report"'
