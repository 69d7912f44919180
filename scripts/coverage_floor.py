#!/usr/bin/env python3
"""Fail when a module's test coverage drops below its floor.

``scripts/coverage_floor.py COVERAGE_JSON`` reads the report of ``pytest --cov
--cov-report=json:FILE`` (line and branch coverage, as pyproject.toml configures) and
checks every module of the integration: each must reach TARGET, except the modules in
FLOORS, which were below it when the check came in. Their floor is the figure they had
then, so they can only go up: raise a floor when a module improves, remove it once the
module reaches TARGET. scripts/test runs this after the whole suite.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path

TARGET = 95.0
PACKAGE = "custom_components/fusionsolar/"
# Every module reached TARGET on 2026-11-30 (issues 20 and 21): no floor is left. A module
# that cannot reach TARGET for a reason a reviewer accepts gets a floor here, with the reason.
FLOORS: dict[str, float] = {}


def module_coverage(report: Mapping[str, object]) -> dict[str, float]:
    """Return the percentage covered of each module of the integration in a report."""
    files = report.get("files")
    if not isinstance(files, Mapping):
        raise ValueError("not a coverage JSON report (no 'files')")
    return {
        path.replace("\\", "/"): float(data["summary"]["percent_covered"])
        for path, data in files.items()
        if path.replace("\\", "/").startswith(PACKAGE)
    }


def shortfalls(
    coverage: Mapping[str, float], floors: Mapping[str, float], target: float = TARGET
) -> list[str]:
    """Return a line for each module below its floor (TARGET unless listed in floors)."""
    return [
        f"{path}: {percent:.2f} % < {floors.get(path, target):.1f} %"
        for path, percent in sorted(coverage.items())
        if percent < floors.get(path, target)
    ]


def stale_floors(
    coverage: Mapping[str, float], floors: Mapping[str, float], target: float = TARGET
) -> list[str]:
    """Return a hint for each floor to raise or remove (the module improved or is gone)."""
    hints = []
    for path, floor in sorted(floors.items()):
        if path not in coverage:
            hints.append(f"{path}: not measured; remove its floor")
        elif coverage[path] >= target:
            hints.append(f"{path}: {coverage[path]:.2f} % reaches {target:.0f} %; remove its floor")
        elif int(coverage[path] * 10) / 10 > floor:
            hints.append(f"{path}: {coverage[path]:.2f} %; raise its floor from {floor:.1f} %")
    return hints


def main(argv: list[str]) -> int:
    """Check a coverage JSON report; 0 when every module reaches its floor."""
    if len(argv) != 1:
        print("usage: scripts/coverage_floor.py COVERAGE_JSON", file=sys.stderr)
        return 2
    coverage = module_coverage(json.loads(Path(argv[0]).read_text(encoding="utf-8")))
    for hint in stale_floors(coverage, FLOORS):
        print(f"coverage floor: {hint}")
    if failed := shortfalls(coverage, FLOORS):
        print("coverage floor: modules below their floor:", *failed, sep="\n  ", file=sys.stderr)
        return 1
    print(f"coverage floor: {len(coverage)} modules at or above their floor")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
