"""Energy history imported as long-term statistics, against the simulator.

The simulator's plants are in Europe/Amsterdam, Home Assistant's tests in US/Pacific:
every test here crosses that gap.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
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
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.recorder import get_instance
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)

from custom_components.fusionsolar import history
from custom_components.fusionsolar.api import FiveMinuteKpi
from custom_components.fusionsolar.history import (
    ENERGY_KINDS,
    FIRST_RUN_DELAY,
    STATISTIC_FIELDS,
    PlantClock,
    PlantRun,
    WindowZone,
    add_energy,
    statistic_id,
    statistic_metadata,
)
from tests.conftest import advance_recorded as advance
from tests.conftest import entry_for
from tests.conftest import setup_integration as setup_entry
from tests.harness.statistics import (
    AMSTERDAM,
    COUNTERS,
    FIVE_MINUTES,
    HOUR,
    START,
    assert_imported,
    assert_matches_simulator,
    last_complete_hour,
    restart,
    simulated,
    start_history,
    start_of,
    stored,
)
from tests.simulator import Simulator


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
    assert_imported(sim, code, rows, first=first)
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
    await start_history(hass, freezer, sim, 1)
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
    entry = await start_history(hass, freezer, sim, 30)
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
    assert_imported(sim, code, rows, first=datetime(2025, 3, 11, tzinfo=AMSTERDAM))
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
    await start_history(hass, freezer, sim, 1)
    assert await stored(hass, code) == {}
    assert hass.states.get("sensor.plant_1_history_backfill").state == "unknown"

    # The next hourly run imports everything.
    await advance(hass, freezer, 3600)
    assert float(hass.states.get("sensor.plant_1_history_backfill").state) == 100
    rows = await stored(hass, code)
    assert_imported(sim, code, rows)


@pytest.mark.freeze_time(START)
async def test_hourly_kpis_without_v7(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    simulator_factory: Any,
) -> None:
    sim: Simulator = await simulator_factory(v7_enabled=False)
    code = sim.plants[0].code
    await start_history(hass, freezer, sim, 1)
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
    await start_history(hass, freezer, sim, 1)
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


@pytest.mark.parametrize(
    ("fields", "has_mean", "unit_class"),
    [
        # Before 2025.11: has_mean still exists, unit_class would raise.
        (frozenset({"has_mean", "mean_type"}), True, False),
        # From 2025.11: unit_class exists; a release without has_mean gets none.
        (frozenset({"mean_type", "unit_class"}), False, True),
    ],
)
def test_statistic_metadata_sends_only_fields_the_release_has(
    monkeypatch: pytest.MonkeyPatch, fields: frozenset[str], has_mean: bool, unit_class: bool
) -> None:
    monkeypatch.setattr(history, "STATISTIC_FIELDS", fields)
    meta = dict(statistic_metadata("NE=1", "Roof", ENERGY_KINDS[0]))
    assert ("has_mean" in meta) is has_mean
    assert ("unit_class" in meta) is unit_class
    if has_mean:
        assert meta["has_mean"] is False
    if unit_class:
        assert meta["unit_class"] == "energy"
    assert meta["name"] == "Roof solar production"
    assert meta["statistic_id"] == "fusionsolar:ne_1_solar_production"


def test_window_zone_has_the_day_offsets_and_nothing_else() -> None:
    day = date(2025, 3, 30)
    zone = WindowZone(day, HOUR, 2 * HOUR)
    start = datetime.combine(day, time.min, zone)
    end = datetime.combine(day + timedelta(days=1), time.min, zone)
    assert start.utcoffset() == HOUR
    assert end.utcoffset() == 2 * HOUR
    assert start.isoformat() == "2025-03-30T00:00:00+01:00"
    assert end.isoformat() == "2025-03-31T00:00:00+02:00"
    # The DST day is 23 hours long (same tzinfo: compare in UTC, not wall clock).
    assert end.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=23)
    assert start.dst() is None
    assert start.tzname() is None
    assert zone.utcoffset(None) == HOUR


def test_plant_clock_local_date_when_the_offset_falls_back() -> None:
    clock = PlantClock(AMSTERDAM, None)
    # 26 October: +02:00 at midnight, +01:00 at its end. 22:30 UTC is 23:30 local.
    assert clock.local_date(datetime(2025, 10, 26, 22, 30, tzinfo=UTC)) == date(2025, 10, 26)
    assert clock.local_date(datetime(2025, 10, 26, 23, 0, tzinfo=UTC)) == date(2025, 10, 27)
    assert clock.local_date(datetime(2025, 10, 25, 21, 59, tzinfo=UTC)) == date(2025, 10, 25)
    assert clock.local_date(datetime(2025, 10, 25, 22, 0, tzinfo=UTC)) == date(2025, 10, 26)


def test_plant_clock_without_hint_or_trust_guesses_the_zone_at_noon() -> None:
    pacific = ZoneInfo("US/Pacific")
    clock = PlantClock(pacific, None)
    dst = date(2025, 3, 9)  # US/Pacific moves to -07:00 at 02:00
    assert clock.offset(dst) == timedelta(hours=-8)  # trusted: the zone at midnight
    clock.restore({"trust_fallback": False})
    assert clock.offset(dst) == timedelta(hours=-7)  # not trusted, nothing known: noon
    assert clock.export() == {"offsets": {}, "trust_fallback": False}


def test_plant_clock_learn_keeps_trust_when_the_records_agree() -> None:
    clock = PlantClock(AMSTERDAM, None)
    day = date(2025, 7, 1)
    clock.learn(
        day,
        [
            _record(datetime(2025, 7, 1, 0, tzinfo=AMSTERDAM)),
            _record(datetime(2025, 7, 1, 23, 55, tzinfo=AMSTERDAM)),
        ],
    )
    assert clock.export()["trust_fallback"] is True
    assert clock.exact(day) == (2 * HOUR, 2 * HOUR)
    clock.learn(day, [])  # nothing to learn from
    assert clock.exact(day) == (2 * HOUR, 2 * HOUR)


def test_plant_clock_learns_no_end_from_a_record_of_another_day() -> None:
    pacific = ZoneInfo("US/Pacific")
    clock = PlantClock(pacific, datetime(2023, 1, 5, tzinfo=AMSTERDAM))
    day = date(2025, 7, 1)
    clock.learn(
        day,
        [
            _record(datetime(2025, 7, 1, 0, tzinfo=AMSTERDAM)),
            _record(datetime(2025, 7, 2, 0, 5, tzinfo=AMSTERDAM)),  # not the day's
        ],
    )
    assert clock.exact(day) is None
    assert clock.offset(day) == 2 * HOUR
    # The start is known: only the end is tried, the DST change of the day included.
    assert clock.windows(day) == [
        (2 * HOUR, 2 * HOUR),
        (2 * HOUR, 3 * HOUR),
        (2 * HOUR, 5 * HOUR),
    ]


def test_plant_clock_windows_when_only_the_next_day_is_known() -> None:
    pacific = ZoneInfo("US/Pacific")
    clock = PlantClock(pacific, datetime(2023, 1, 5, tzinfo=AMSTERDAM))
    day = date(2025, 7, 1)
    clock.restore({"offsets": {"2025-07-02": 7200.0}})  # the end of 1 July only
    windows = clock.windows(day)
    assert len(windows) == 6
    assert windows[0] == (2 * HOUR, 2 * HOUR)  # the nearest known offset for the start
    assert (HOUR, HOUR) in windows
    assert (3 * HOUR, 3 * HOUR) in windows
    assert clock.exact(day) is None


def test_plant_run_drops_hours_before_its_cursor() -> None:
    first = datetime(2025, 7, 1, 10, tzinfo=UTC)
    run = PlantRun("NE=1", set(), cursor=first)
    run.add(
        {
            first - HOUR: {"solar_production": 9.0},  # already written
            first: {"solar_production": 1.5},
            first + HOUR: {"solar_production": 2.0, "grid_export": 0.5},
        }
    )
    rows = run.rows(first + 2 * HOUR)
    assert [(r["start"], r["state"], r["sum"]) for r in rows["solar_production"]] == [
        (first, 1.5, 1.5),
        (first + HOUR, 2.0, 3.5),
    ]
    assert [(r["state"], r["sum"]) for r in rows["grid_export"]] == [(0.0, 0.0), (0.5, 0.5)]
    assert run.pending == {}
    assert run.cursor == first + 2 * HOUR


def test_add_energy_skips_missing_values() -> None:
    hour = datetime(2025, 7, 1, 10, tzinfo=UTC)
    hours: dict[datetime, dict[str, float]] = {}
    add_energy(hours, hour, "grid_import", None)
    assert hours == {}
    add_energy(hours, hour, "grid_import", 0.25)
    add_energy(hours, hour, "grid_import", None)
    add_energy(hours, hour, "grid_import", 0.5)
    assert hours == {hour: {"grid_import": 0.75}}
