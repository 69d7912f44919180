"""Energy history imported as long-term statistics, against the simulator.

The simulator's plants are in Europe/Amsterdam, Home Assistant's tests in US/Pacific:
every test here crosses that gap.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.recorder import Recorder
from homeassistant.components.recorder.models import StatisticData, StatisticMeanType
from homeassistant.components.recorder.statistics import (
    async_add_external_statistics,
    get_metadata,
    statistics_during_period,
)
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.recorder import get_instance
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)

from custom_components.fusionsolar.api import Endpoint, FiveMinuteKpi
from custom_components.fusionsolar.history import (
    ENERGY_KINDS,
    FIRST_RUN_DELAY,
    STATISTIC_FIELDS,
    PlantClock,
    statistic_id,
    statistic_metadata,
)
from tests.conftest import entry_for
from tests.simulator import Simulator

# 11:17 in Amsterdam (UTC+2), 02:17 in US/Pacific; 30 days back crosses Amsterdam's
# switch to summer time (2025-03-30).
START = "2025-04-10 09:17:00+00:00"
AMSTERDAM = ZoneInfo("Europe/Amsterdam")
HOUR = timedelta(hours=1)
# statistic kind -> simulator counter
COUNTERS = {
    "solar_production": "pv",
    "grid_import": "import",
    "grid_export": "export",
    "battery_charge": "charge",
    "battery_discharge": "discharge",
    "consumption": "load",
}
FIVE_MINUTES = Endpoint.VPP_PLANT_FIVE_MINUTES.value
# Five-minute energies are rounded to 1 Wh: twelve of them per hour.
TOLERANCE = 0.007


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(request: pytest.FixtureRequest) -> None:
    """Start the recorder (when a test asks for it) before Home Assistant."""
    if "recorder_mock" in request.fixturenames:
        request.getfixturevalue("recorder_mock")
    request.getfixturevalue("enable_custom_integrations")


async def setup_entry(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    if entry.entry_id not in hass.config_entries.async_entry_ids():
        entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id), (entry.state, entry.reason)
    await hass.async_block_till_done()


async def advance(hass: HomeAssistant, freezer: FrozenDateTimeFactory, seconds: float) -> None:
    """Move time on, let every timer fire and the recorder commit."""
    freezer.tick(timedelta(seconds=seconds))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    await async_wait_recording_done(hass)


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


@pytest.mark.freeze_time(START)
async def test_outage_is_filled_and_restarts_import_nothing_twice(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    simulator_factory: Any,
) -> None:
    sim: Simulator = await simulator_factory()
    code = sim.plants[0].code
    entry = entry_for(sim, history_days=1)
    await setup_entry(hass, entry)
    assert entry.runtime_data.history is not None
    await advance(hass, freezer, FIRST_RUN_DELAY + 1)

    rows = await stored(hass, code)
    # The window starts at the plant's local midnight one day back, not Home Assistant's.
    first = datetime(2025, 4, 9, tzinfo=AMSTERDAM)
    assert start_of(rows["solar_production"][0]) == first
    assert start_of(rows["solar_production"][-1]) == last_complete_hour()
    assert_matches_simulator(sim, code, rows)
    before_outage = start_of(rows["solar_production"][-1])

    # Home Assistant is down for 6 hours.
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    freezer.tick(timedelta(hours=6))
    await restart(hass, freezer, entry)

    rows = await stored(hass, code)
    assert start_of(rows["solar_production"][0]) == first
    assert start_of(rows["solar_production"][-1]) == last_complete_hour()
    assert start_of(rows["solar_production"][-1]) - before_outage == timedelta(hours=6)
    assert_matches_simulator(sim, code, rows)
    sensor = hass.states.get("sensor.plant_1_history_backfill")
    assert sensor is not None
    assert float(sensor.state) == 100

    # Two restarts within the hour: no request, no row added or changed.
    calls = sim.calls.count(endpoint=FIVE_MINUTES)
    await restart(hass, freezer, entry)
    await restart(hass, freezer, entry)
    assert await stored(hass, code) == rows
    assert sim.calls.count(endpoint=FIVE_MINUTES) == calls
    assert sim.calls.count(fail_code=407) == 0


@pytest.mark.freeze_time(START)
async def test_current_day_is_imported_again_to_correct_late_data(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    simulator_factory: Any,
) -> None:
    sim: Simulator = await simulator_factory()
    code = sim.plants[0].code
    entry = entry_for(sim, history_days=1)
    await setup_entry(hass, entry)
    await advance(hass, freezer, FIRST_RUN_DELAY + 1)
    good = await stored(hass, code)

    # Pretend the cloud had delivered an hour of today short: a wrong row and every
    # later sum off by 5 kWh.
    kind = ENERGY_KINDS[0]
    wrong_hour = last_complete_hour() - 2 * HOUR
    rows = [row for row in good[kind.key] if start_of(row) >= wrong_hour]
    async_add_external_statistics(
        hass,
        statistic_metadata(code, "Plant 1", kind),
        [
            StatisticData(start=start_of(row), state=row["state"] + 5, sum=row["sum"] + 5)
            for row in rows
        ],
    )
    await async_wait_recording_done(hass)
    assert (await stored(hass, code))[kind.key] != good[kind.key]

    await advance(hass, freezer, 3600)  # the next hourly run
    rows = await stored(hass, code)
    assert rows[kind.key][: len(good[kind.key])] == good[kind.key]
    assert start_of(rows[kind.key][-1]) == last_complete_hour()
    assert_matches_simulator(sim, code, rows)


@pytest.mark.freeze_time(START)
async def test_backfill_of_30_days_stays_within_quota(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    simulator_factory: Any,
) -> None:
    sim: Simulator = await simulator_factory()
    code = sim.plants[0].code
    entry = entry_for(sim, history_days=30)
    await setup_entry(hass, entry)
    await advance(hass, freezer, FIRST_RUN_DELAY + 1)
    progress = [float(hass.states.get("sensor.plant_1_history_backfill").state)]
    # A restart in the middle of the backfill: it goes on where the statistics end.
    await advance(hass, freezer, 30)
    await restart(hass, freezer, entry)
    progress.append(float(hass.states.get("sensor.plant_1_history_backfill").state))
    for _ in range(10):
        if progress[-1] == 100:
            break
        await advance(hass, freezer, 62)
        progress.append(float(hass.states.get("sensor.plant_1_history_backfill").state))
    # Spread over several runs as the quota allows (10 calls a minute), then done.
    assert 0 < progress[0] < progress[1] < 100
    assert progress == sorted(progress)
    assert progress[-1] == 100
    assert sim.calls.count(fail_code=407) == 0

    rows = await stored(hass, code)
    assert start_of(rows["solar_production"][0]) == datetime(2025, 3, 11, tzinfo=AMSTERDAM)
    assert start_of(rows["solar_production"][-1]) == last_complete_hour()
    assert_matches_simulator(sim, code, rows)
    # The 23-hour day of the DST change is complete, too.
    dst_day = [
        row
        for row in rows["consumption"]
        if datetime(2025, 3, 30, tzinfo=AMSTERDAM)
        <= start_of(row)
        < datetime(2025, 3, 31, tzinfo=AMSTERDAM)
    ]
    assert len(dst_day) == 23
    # One call per day, plus a few to find the plant's offsets (no time zone given).
    assert sim.calls.count(endpoint=FIVE_MINUTES) <= 31 + 3


@pytest.mark.freeze_time(START)
async def test_import_survives_cloud_errors(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    simulator_factory: Any,
) -> None:
    sim: Simulator = await simulator_factory()
    code = sim.plants[0].code
    sim.faults.add("vpp/plantFiveMinutesKpi", "http_status", status=502)
    entry = entry_for(sim, history_days=1)
    await setup_entry(hass, entry)
    await advance(hass, freezer, FIRST_RUN_DELAY + 1)
    assert await stored(hass, code) == {}
    assert hass.states.get("sensor.plant_1_history_backfill").state == "unknown"

    # The next hourly run imports everything.
    await advance(hass, freezer, 3600)
    assert float(hass.states.get("sensor.plant_1_history_backfill").state) == 100
    rows = await stored(hass, code)
    assert start_of(rows["solar_production"][-1]) == last_complete_hour()
    assert_matches_simulator(sim, code, rows)


@pytest.mark.freeze_time(START)
async def test_hourly_kpis_without_v7(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    simulator_factory: Any,
) -> None:
    sim: Simulator = await simulator_factory(v7_enabled=False)
    code = sim.plants[0].code
    entry = entry_for(sim, history_days=1)
    await setup_entry(hass, entry)
    await advance(hass, freezer, FIRST_RUN_DELAY + 1)
    for _ in range(3):  # getKpiStationHour: one call a minute
        await advance(hass, freezer, 62)
    assert float(hass.states.get("sensor.plant_1_history_backfill").state) == 100
    assert sim.calls.count(fail_code=407) == 0

    rows = await stored(hass, code)
    # The legacy hourly KPIs only know production and feed-in.
    assert set(rows) == {"solar_production", "grid_export"}
    assert start_of(rows["solar_production"][0]) == datetime(2025, 4, 9, tzinfo=AMSTERDAM)
    assert start_of(rows["solar_production"][-1]) == last_complete_hour()
    for kind in rows:
        previous = 0.0
        for row in rows[kind]:
            expected = simulated(sim, code, start_of(row), COUNTERS[kind])
            assert row["sum"] - previous == pytest.approx(expected, abs=0.001)
            previous = row["sum"]


@pytest.mark.freeze_time(START)
async def test_statistic_metadata(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    simulator_factory: Any,
) -> None:
    sim: Simulator = await simulator_factory()
    await setup_entry(hass, entry_for(sim, history_days=1))
    await advance(hass, freezer, FIRST_RUN_DELAY + 1)
    metadata = await get_instance(hass).async_add_executor_job(
        partial(get_metadata, hass, statistic_ids={statistic_id(sim.plants[0].code, "grid_import")})
    )
    (_, meta) = metadata["fusionsolar:ne_33554432_grid_import"]
    assert meta["name"] == "Plant 1 grid import"
    assert meta["source"] == "fusionsolar"
    assert meta["has_sum"] is True
    assert meta["mean_type"] is StatisticMeanType.NONE
    assert meta["unit_of_measurement"] == "kWh"
    if "unit_class" in STATISTIC_FIELDS:
        assert meta["unit_class"] == "energy"


@pytest.mark.freeze_time(START)
async def test_no_import_without_recorder(
    hass: HomeAssistant, simulator: Simulator, entity_registry: er.EntityRegistry
) -> None:
    entry = entry_for(simulator)
    await setup_entry(hass, entry)
    assert entry.runtime_data.history is None
    assert (
        entity_registry.async_get_entity_id("sensor", "fusionsolar", "NE=33554432_history_backfill")
        is None
    )


def _record(moment: datetime) -> FiveMinuteKpi:
    return FiveMinuteKpi(start=moment)


def test_plant_clock_learns_offsets_across_dst() -> None:
    pacific = ZoneInfo("US/Pacific")
    # The plant reported +01:00 once (winter in Amsterdam): Home Assistant's zone is not it.
    clock = PlantClock(pacific, datetime(2023, 1, 5, tzinfo=AMSTERDAM))
    day = date(2025, 3, 29)
    assert clock.midnight(day) == datetime(2025, 3, 28, 23, tzinfo=UTC)
    assert len(clock.windows(day)) > 1

    clock.learn(
        day,
        [
            _record(datetime(2025, 3, 29, 0, tzinfo=AMSTERDAM)),
            _record(datetime(2025, 3, 29, 23, 55, tzinfo=AMSTERDAM)),
        ],
    )
    assert clock.exact(day) == (HOUR, HOUR)
    # The next day switches to summer time: the end is a guess, the next window right.
    dst = date(2025, 3, 30)
    windows = clock.windows(dst)
    assert windows[0] == (HOUR, HOUR)
    assert (HOUR, 2 * HOUR) in windows
    clock.learn(dst, [_record(datetime(2025, 3, 30, 23, 55, tzinfo=AMSTERDAM))])
    assert clock.exact(dst) == (HOUR, 2 * HOUR)
    assert clock.local_date(datetime(2025, 3, 30, 22, 30, tzinfo=UTC)) == date(2025, 3, 31)
    assert clock.local_date(datetime(2025, 3, 29, 23, 30, tzinfo=UTC)) == dst


def test_plant_clock_trusts_home_assistant_zone_when_it_agrees() -> None:
    clock = PlantClock(AMSTERDAM, datetime(2023, 1, 5, tzinfo=AMSTERDAM))
    assert clock.windows(date(2025, 3, 30))[0] == (HOUR, 2 * HOUR)
    assert clock.midnight(date(2025, 7, 1)) == datetime(2025, 6, 30, 22, tzinfo=UTC)
