"""One simulated day per scenario; each writes benchmarks/results/raw/<scenario>.json.

Run with ``scripts/benchmark`` (all, then the report) or, for a subset,
``.venv/bin/python -m pytest benchmarks -k spec-1`` followed by
``.venv/bin/python -m benchmarks.report``.
"""

from __future__ import annotations

import json
import platform
from pathlib import Path
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant import const as ha_const
from homeassistant.core import HomeAssistant

from tests.harness.dayrun import Scenario, real_monotonic, start_run
from tests.harness.scenarios import ALL, SOAK_FAULTS
from tests.harness.statistics import statistics_lost

RAW = Path(__file__).parent / "results" / "raw"


@pytest.mark.parametrize("scenario", ALL, ids=[scenario.name for scenario in ALL])
async def test_scenario(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    simulator_factory: Any,
    scenario: Scenario,
) -> None:
    wall = real_monotonic()
    run = await start_run(hass, freezer, simulator_factory, scenario)
    result = await run.run()
    if scenario.recorder:
        result["statistics"] = await statistics_lost(hass, run)
    if scenario.faults:
        rows = [fault for fault in SOAK_FAULTS if not fault.name.startswith("(")]
        ends = [fault.at_h for fault in rows[1:]] + [scenario.hours]
        result["soak"] = [
            {"at_h": fault.at_h, "fault": fault.name, **run.window(fault.at_h, end)}
            for fault, end in zip(rows, ends, strict=True)
        ]
    result["wall_seconds"] = round(real_monotonic() - wall, 1)
    result["environment"] = {
        "home_assistant": ha_const.__version__,
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {_cpus()} CPUs",
    }
    RAW.mkdir(parents=True, exist_ok=True)
    (RAW / f"{scenario.name}.json").write_text(json.dumps(result, indent=1) + "\n")
    # The hard invariant of the spec profile: the quota is never exceeded.
    if scenario.profile == "spec" and not scenario.faults:
        assert result["quota_refusals"] == 0, result["refusals"]


def _cpus() -> int:
    import os  # noqa: PLC0415

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 0
