"""No silent data loss in the history import (issue 16): a day read incompletely is
never stored as complete, never settled, retried later and warned about once."""

from __future__ import annotations

import json
import logging
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.recorder import Recorder
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util

from custom_components.fusionsolar.api import FiveMinuteKpi
from custom_components.fusionsolar.diagnostics import async_get_config_entry_diagnostics
from custom_components.fusionsolar.history import FIRST_RUN_DELAY, PlantClock
from tests.conftest import advance_recorded as advance
from tests.conftest import entry_for
from tests.conftest import setup_integration as setup_entry
from tests.harness.statistics import (
    AMSTERDAM,
    COUNTERS,
    FIVE_MINUTES,
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
from tests.simulator.testing import NbiTestClient


def history_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.levelno == logging.WARNING and record.name.startswith("custom_components")
    ]


def backfill(hass: HomeAssistant) -> float:
    state = hass.states.get("sensor.plant_1_history_backfill")
    assert state is not None
    return float(state.state) if state.state != "unknown" else -1.0


@pytest.mark.freeze_time(START)
async def test_item16_10_refused_day_is_not_settled_as_empty(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    simulator_factory: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    sim: Simulator = await simulator_factory()
    code = sim.plants[0].code
    entry = await start_history(hass, freezer, sim, 1)
    before = await stored(hass, code)
    imported_until = start_of(before["solar_production"][-1])

    # Home Assistant is down for two days; then the cloud refuses every day window
    # (a parameter code) for a few hours.
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    freezer.tick(timedelta(days=2))
    sim.faults.add(FIVE_MINUTES, "fail_code", count=0, fail_code=20027)
    await restart(hass, freezer, entry)
    for _ in range(3):  # three more hourly runs, all refused
        await advance(hass, freezer, 3600)
    # Nothing is written for the days that could not be read, and they are not done.
    assert await stored(hass, code) == before
    assert backfill(hass) < 100
    warnings = history_warnings(caplog)
    assert len(warnings) == 1, warnings
    assert imported_until.astimezone(AMSTERDAM).date().isoformat() in warnings[0]

    # Once the cloud answers again, the next run imports everything correctly.
    sim.faults.clear()
    await advance(hass, freezer, 3600)
    rows = await stored(hass, code)
    assert_imported(sim, code, rows)
    assert backfill(hass) == 100


@pytest.mark.freeze_time(START)
async def test_item16_11_null_answer_for_a_past_day_is_read_again(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    simulator_factory: Any,
) -> None:
    # The field quirk, more often: every third read answer is ``data: null``.
    sim: Simulator = await simulator_factory(quirks=["null_values"], null_every=3)
    code = sim.plants[0].code
    await start_history(hass, freezer, sim, 4)
    # Up to 12 simulated hours: which reads answer null depends on the order of calls.
    for _ in range(72):
        # Whatever is stored at any time is right: no hour is written as zero.
        if rows := await stored(hass, code):
            assert_matches_simulator(sim, code, rows)
        if backfill(hass) == 100:
            break
        await advance(hass, freezer, 600)
    assert any(record.quirk == "null_values" for record in sim.calls.records)
    assert backfill(hass) == 100
    rows = await stored(hass, code)
    assert_imported(sim, code, rows, first=datetime(2025, 4, 6, tzinfo=AMSTERDAM))


@pytest.mark.freeze_time(START)
async def test_item16_12_restarts_during_backfill_across_dst_lose_nothing(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    simulator_factory: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Home Assistant in US/Pacific, the plant in Amsterdam (summer time since 30 March).
    assert str(dt_util.get_default_time_zone()) == "US/Pacific"
    sim: Simulator = await simulator_factory()
    code = sim.plants[0].code
    entry = await start_history(hass, freezer, sim, 20)
    # A restart after every run (10 day reads a minute): the first ends on 29 March.
    for _ in range(6):
        if backfill(hass) == 100:
            break
        await advance(hass, freezer, 30)
        await restart(hass, freezer, entry)
    assert backfill(hass) == 100
    rows = await stored(hass, code)
    # What the first run learned survives the restarts: the only windows refused are
    # the very first guess and the end of the DST day (before the next day told it).
    assert sim.calls.count(endpoint=FIVE_MINUTES, fail_code=20027) <= 2
    assert history_warnings(caplog) == []
    assert_imported(sim, code, rows, first=datetime(2025, 3, 21, tzinfo=AMSTERDAM))


def test_item16_12_plant_clock_keeps_offsets_and_knows_a_complete_day() -> None:
    pacific = ZoneInfo("US/Pacific")
    # The plant reported +02:00 once (summer): a wrong guess for 29-30 March.
    summer = datetime(2021, 9, 24, tzinfo=AMSTERDAM)
    clock = PlantClock(pacific, summer)
    day = date(2025, 3, 29)
    slots = [
        FiveMinuteKpi(start=datetime(2025, 3, 28, 23, tzinfo=UTC) + n * timedelta(minutes=5))
        for n in range(288)
    ]
    clock.learn(day, [FiveMinuteKpi(start=s.start.astimezone(AMSTERDAM)) for s in slots])
    assert clock.exact(day) == (timedelta(hours=1), timedelta(hours=1))
    assert clock.complete(day, slots)
    assert not clock.complete(day, slots[12:])  # the first hour missing
    assert not clock.complete(day, slots[:-1])  # the last slot missing
    assert not clock.complete(day, [])

    # A new clock (a restart) takes back what was learned, through JSON.
    restored = PlantClock(pacific, summer)
    restored.restore(json.loads(json.dumps(clock.export())))
    assert restored.exact(day) == clock.exact(day)
    assert restored.local_date(datetime(2025, 3, 29, 22, tzinfo=UTC)) == day
    assert restored.windows(date(2025, 3, 30))[0][0] == timedelta(hours=1)
    restored.restore({"offsets": {"not a day": 1, "2025-03-01": "x"}})  # ignored
    restored.restore(None)
    assert restored.exact(day) == clock.exact(day)


# getKpiStationHour's dataItemMap: the 2021 table (§4.2) and the 26.2 digest's additions.
HOURLY_KEYS = {
    "radiation_intensity",
    "theory_power",
    "inverter_power",
    "ongrid_power",
    "power_profit",
    "chargeCap",
    "dischargeCap",
    "selfProvide",
    "PVYield",
    "inverterYield",
}


@pytest.mark.freeze_time(START)
async def test_item16_15_consumption_is_unavailable_from_hourly_kpis(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    simulator_factory: Any,
) -> None:
    sim: Simulator = await simulator_factory(v7_enabled=False)
    code = sim.plants[0].code
    entry = await start_history(hass, freezer, sim, 1)
    for _ in range(3):  # getKpiStationHour: one call a minute
        await advance(hass, freezer, 62)
    assert backfill(hass) == 100
    # No consumption statistic, and the diagnostics say what is missing and why.
    assert set(await stored(hass, code)) == {"solar_production", "grid_export"}
    history = (await async_get_config_entry_diagnostics(hass, entry))["history"]
    assert history["source"] == "hourly"
    assert set(history["unavailable_statistics"]) == {
        "consumption",
        "grid_import",
        "battery_charge",
        "battery_discharge",
    }
    assert history["incomplete_days"] == {}
    # The simulator sends only what getKpiStationHour documents (no use_power).
    async with aiohttp.ClientSession() as session:
        raw = NbiTestClient(sim, session)
        await raw.login()
        day = await raw.data(
            "getKpiStationHour",
            {"stationCodes": code, "collectTime": int(dt_util.utcnow().timestamp() * 1000)},
        )
    assert day
    assert set().union(*(item["dataItemMap"] for item in day)) <= HOURLY_KEYS


@pytest.mark.freeze_time(START)
async def test_item16_15_every_statistic_is_available_from_five_minute_data(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    simulator_factory: Any,
) -> None:
    sim: Simulator = await simulator_factory()
    entry = await start_history(hass, freezer, sim, 1)
    history = (await async_get_config_entry_diagnostics(hass, entry))["history"]
    assert history["source"] == "five_minutes"
    assert history["unavailable_statistics"] == []
    assert history["progress"] == {sim.plants[0].code: 100.0}


@pytest.mark.freeze_time(START)
async def test_item16_11_null_answer_for_today_does_not_settle_it(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    simulator_factory: Any,
) -> None:
    sim: Simulator = await simulator_factory(null_every=1)
    code = sim.plants[0].code
    await start_history(hass, freezer, sim, 1)
    before = await stored(hass, code)
    # The next hourly run gets ``data: null`` for today (the field quirk, every read).
    sim.quirks.null_values = True
    await advance(hass, freezer, 3600)
    sim.quirks.null_values = False
    assert any(r.quirk == "null_values" for r in sim.calls.records if r.endpoint == FIVE_MINUTES)
    assert await stored(hass, code) == before
    # Today is not taken as done: the run after imports its hours.
    await advance(hass, freezer, 3600)
    rows = await stored(hass, code)
    assert_imported(sim, code, rows)


@pytest.mark.freeze_time(START)
async def test_item16_11_null_answer_for_a_past_day_of_hourly_kpis_is_read_again(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    simulator_factory: Any,
) -> None:
    sim: Simulator = await simulator_factory(v7_enabled=False, null_every=2)
    code = sim.plants[0].code
    entry = entry_for(sim, history_days=3)
    await setup_entry(hass, entry)
    # From here every second read answers `data: null` (a null device list at the first
    # setup is a setup retry, tested with the coordinators), and the first two hourly
    # reads surely do (which reads the quirk hits depends on the coordinators' order).
    sim.quirks.null_values = True
    sim.faults.add("getKpiStationHour", "data_null", count=2)
    await advance(hass, freezer, FIRST_RUN_DELAY + 1)
    for _ in range(144):
        rows = await stored(hass, code)
        for kind, kind_rows in rows.items():  # whatever is stored is right
            for row in kind_rows:
                expected = simulated(sim, code, start_of(row), COUNTERS[kind])
                assert row["state"] == pytest.approx(expected, abs=0.001), (kind, row)
        if backfill(hass) == 100:
            break
        await advance(hass, freezer, 600)
    nulls = [r for r in sim.calls.records if "Hour" in r.endpoint and r.fault == "data_null"]
    assert len(nulls) == 2
    assert backfill(hass) == 100
    rows = await stored(hass, code)
    assert start_of(rows["solar_production"][0]) == datetime(2025, 4, 7, tzinfo=AMSTERDAM)
    assert start_of(rows["solar_production"][-1]) == last_complete_hour()
