"""Compare the imported long-term statistics with the simulator's energy counters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from homeassistant.components.recorder.statistics import statistics_during_period
from homeassistant.core import HomeAssistant
from homeassistant.helpers.recorder import get_instance
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)

from custom_components.fusionsolar.history import ENERGY_KINDS, statistic_id
from tests.simulator import Simulator

from .harness import HOUR, DayRun

# statistic kind -> simulator counter
COUNTERS = {
    "solar_production": "pv",
    "grid_import": "import",
    "grid_export": "export",
    "battery_charge": "charge",
    "battery_discharge": "discharge",
    "consumption": "load",
}
# Five-minute energies are rounded to 1 Wh: twelve of them per hour.
TOLERANCE_KWH = 0.007
CHECKED_PLANTS = 3


async def statistics_lost(hass: HomeAssistant, run: DayRun) -> dict[str, Any]:
    """Hours of the run missing or wrong in the imported statistics (first plants)."""
    first = datetime.fromtimestamp(run.t0, UTC)
    # Every hour but the last: the importer runs a little after each hour ends.
    return await hours_lost(hass, run.sim, first, int(run.scenario.hours) - 1)


async def hours_lost(
    hass: HomeAssistant, sim: Simulator, first: datetime, count: int
) -> dict[str, Any]:
    """Of ``count`` hours from ``first``, those missing or wrong in the statistics."""
    await async_wait_recording_done(hass)
    hours = [first + timedelta(hours=n) for n in range(count)]
    last = hours[-1]
    missing = wrong = checked = 0
    worst = 0.0
    for plant in sim.plants[:CHECKED_PLANTS]:
        ids = {statistic_id(plant.code, kind.key): kind.key for kind in ENERGY_KINDS}
        rows = await get_instance(hass).async_add_executor_job(
            statistics_during_period, hass, first, last + timedelta(hours=1), set(ids),
            "hour", None, {"state"},
        )  # fmt: skip
        for stat_id, kind in ids.items():
            stored = {
                datetime.fromtimestamp(row["start"], UTC): row.get("state")
                for row in rows.get(stat_id, [])
            }
            for hour in hours:
                checked += 1
                if (value := stored.get(hour)) is None:
                    missing += 1
                    continue
                counter = COUNTERS[kind]
                start = sim.state(plant.code, at=hour.timestamp()).total[counter]
                end = sim.state(plant.code, at=hour.timestamp() + HOUR).total[counter]
                error = abs(float(value) - (end - start))
                worst = max(worst, error)
                if error > TOLERANCE_KWH:
                    wrong += 1
    return {
        "plants_checked": min(CHECKED_PLANTS, len(sim.plants)),
        "hour_rows_checked": checked,
        "missing": missing,
        "wrong": wrong,
        "worst_error_kwh": round(worst, 4),
    }
