"""Compare the imported long-term statistics with the simulator's energy counters.

Also the history tests' common ground: their start time, restarts, stored rows.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.recorder.statistics import statistics_during_period
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers.recorder import get_instance
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)

from custom_components.fusionsolar.api import Endpoint
from custom_components.fusionsolar.history import ENERGY_KINDS, FIRST_RUN_DELAY, statistic_id
from tests.conftest import advance_recorded as advance
from tests.conftest import setup_integration
from tests.simulator import Simulator

from .dayrun import DayRun

# 11:17 in Amsterdam (UTC+2), 02:17 in US/Pacific; 30 days back crosses Amsterdam's
# switch to summer time (2025-03-30).
START = "2025-04-10 09:17:00+00:00"
AMSTERDAM = ZoneInfo("Europe/Amsterdam")
HOUR = timedelta(hours=1)
FIVE_MINUTES = Endpoint.VPP_PLANT_FIVE_MINUTES.value

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
TOLERANCE = 0.007
CHECKED_PLANTS = 3


async def statistics_lost(hass: HomeAssistant, run: DayRun) -> dict[str, Any]:
    """Hours of the run missing or wrong in the imported statistics (first plants)."""
    first = datetime.fromtimestamp(run.t0, UTC)
    # Every hour but the last: the importer runs a little after each hour ends.
    return await hours_lost(hass, run.sim, first, int(run.scenario.hours) - 1)


async def start_history(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, sim: Simulator, days: int
) -> MockConfigEntry:
    """Set up the integration importing ``days`` of history, and let the first import run."""
    entry = await setup_integration(hass, sim, history_days=days)
    await advance(hass, freezer, FIRST_RUN_DELAY + 1)
    return entry


async def restart(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, entry: MockConfigEntry
) -> None:
    """Unload and set up the entry again, then let the first import run."""
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    if entry.state is ConfigEntryState.SETUP_RETRY:
        # After a long outage the expired token costs the 1/min plant list its slot:
        # Home Assistant sets the entry up again a minute later.
        await advance(hass, freezer, 62)
    assert entry.state is ConfigEntryState.LOADED
    await advance(hass, freezer, FIRST_RUN_DELAY + 1)


async def stored(hass: HomeAssistant, code: str) -> dict[str, list[dict[str, Any]]]:
    """Return every stored hourly row of the plant, per kind."""
    ids = {statistic_id(code, kind.key): kind.key for kind in ENERGY_KINDS}
    stats = await get_instance(hass).async_add_executor_job(
        statistics_during_period,
        hass,
        datetime(2020, 1, 1, tzinfo=UTC),
        None,
        set(ids),
        "hour",
        None,
        {"state", "sum"},
    )
    return {ids[stat_id]: rows for stat_id, rows in stats.items()}


def start_of(row: dict[str, Any]) -> datetime:
    return dt_util.utc_from_timestamp(row["start"])


def simulated(sim: Simulator, code: str, hour: datetime, counter: str) -> float:
    """The simulator's energy counter over one hour."""
    end = sim.state(code, at=(hour + HOUR).timestamp()).total[counter]
    return end - sim.state(code, at=hour.timestamp()).total[counter]


def assert_imported(
    sim: Simulator, code: str, rows: dict[str, list[dict[str, Any]]], first: datetime | None = None
) -> None:
    """The rows run from ``first`` (if given) to the last complete hour, as simulated."""
    if first is not None:
        assert start_of(rows["solar_production"][0]) == first
    assert start_of(rows["solar_production"][-1]) == last_complete_hour()
    assert_matches_simulator(sim, code, rows)


def assert_matches_simulator(sim: Simulator, code: str, rows: dict[str, list[dict[str, Any]]]):
    """Every hour's sum increase equals the simulator's counters; no gap anywhere."""
    assert set(rows) == set(COUNTERS)
    for kind, kind_rows in rows.items():
        starts = [start_of(row) for row in kind_rows]
        assert starts == [starts[0] + n * HOUR for n in range(len(starts))], kind
        previous = kind_rows[0]["sum"] - kind_rows[0]["state"]
        for row in kind_rows:
            expected = simulated(sim, code, start_of(row), COUNTERS[kind])
            assert row["sum"] - previous == pytest.approx(expected, abs=TOLERANCE), (kind, row)
            assert row["state"] == pytest.approx(expected, abs=TOLERANCE)
            previous = row["sum"]


def last_complete_hour() -> datetime:
    return dt_util.utcnow().replace(minute=0, second=0, microsecond=0) - HOUR


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
                error = abs(float(value) - simulated(sim, plant.code, hour, counter))
                worst = max(worst, error)
                if error > TOLERANCE:
                    wrong += 1
    return {
        "plants_checked": min(CHECKED_PLANTS, len(sim.plants)),
        "hour_rows_checked": checked,
        "missing": missing,
        "wrong": wrong,
        "worst_error_kwh": round(worst, 4),
    }
