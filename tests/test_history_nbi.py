"""Issue 19, history on today's cloud (``cloud-2026``): no V7 five-minute data, so the
statistics come from the 26.2 device history (5-minute rows of each device)."""

from __future__ import annotations

import itertools
import logging
from datetime import datetime, time, timedelta
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.recorder import Recorder
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util

from custom_components.fusionsolar.api import Endpoint
from custom_components.fusionsolar.history import FIRST_RUN_DELAY
from tests.conftest import advance_recorded as advance
from tests.conftest import entry_for
from tests.conftest import setup_integration as setup_entry
from tests.harness.statistics import (
    AMSTERDAM,
    COUNTERS,
    HOUR,
    START,
    TOLERANCE,
    assert_matches_simulator,
    hours_lost,
    last_complete_hour,
    restart,
    simulated,
    start_of,
    stored,
)
from tests.simulator import Simulator
from tests.simulator.config import CloudOptions

HISTORY = Endpoint.NBI_DEVICE_HISTORY.value
REFUSALS = (407, 429, 20618)


def backfill(hass: HomeAssistant) -> float:
    state = hass.states.get("sensor.plant_1_history_backfill")
    assert state is not None
    return float(state.state) if state.state != "unknown" else -1.0


def refusals(sim: Simulator) -> int:
    return sum(sim.calls.count(fail_code=code) for code in REFUSALS)


async def advance_by_steps(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, seconds: float, step: float = 300
) -> None:
    """Let time pass in steps: the import's waits for quota run (a little late)."""
    for _ in range(int(seconds // step)):
        await advance(hass, freezer, step)


async def until_backfilled(hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> None:
    for _ in range(200):
        if backfill(hass) == 100:
            return
        await advance(hass, freezer, 120)


@pytest.mark.freeze_time(START)
async def test_item19_history_of_a_simulated_day_matches_the_cloud_hour_by_hour(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    simulator_factory: Any,
) -> None:
    sim: Simulator = await simulator_factory(profile="cloud-2026", alarm_rate_per_day=0.0)
    code = sim.plants[0].code
    entry = entry_for(sim, history_days=2)
    await setup_entry(hass, entry)
    await advance(hass, freezer, FIRST_RUN_DELAY + 1)
    await until_backfilled(hass, freezer)
    assert backfill(hass) == 100
    # A simulated day goes by: every hour is imported as it completes.
    await advance_by_steps(hass, freezer, 24 * 3600)
    rows = await stored(hass, code)
    assert start_of(rows["solar_production"][0]) == datetime(2025, 4, 8, tzinfo=AMSTERDAM)
    assert start_of(rows["solar_production"][-1]) == last_complete_hour()
    assert_matches_simulator(sim, code, rows)
    assert sim.calls.count(endpoint=HISTORY) > 0
    assert refusals(sim) == 0


@pytest.mark.freeze_time(START)
async def test_item19_history_with_a_restart_imports_nothing_twice_and_misses_nothing(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    simulator_factory: Any,
) -> None:
    sim: Simulator = await simulator_factory(profile="cloud-2026", alarm_rate_per_day=0.0)
    code = sim.plants[0].code
    entry = entry_for(sim, history_days=3)
    await setup_entry(hass, entry)
    await advance(hass, freezer, FIRST_RUN_DELAY + 1)
    # A restart in the middle of the backfill, and a 5-hour outage after it.
    await advance(hass, freezer, 600)
    await restart(hass, freezer, entry)
    await until_backfilled(hass, freezer)
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    freezer.tick(timedelta(hours=5))
    await restart(hass, freezer, entry)
    await until_backfilled(hass, freezer)
    await advance_by_steps(hass, freezer, 3600)
    rows = await stored(hass, code)
    assert start_of(rows["solar_production"][0]) == datetime(2025, 4, 7, tzinfo=AMSTERDAM)
    assert start_of(rows["solar_production"][-1]) == last_complete_hour()
    assert_matches_simulator(sim, code, rows)
    assert refusals(sim) == 0


def history_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.levelno == logging.WARNING and record.name.startswith("custom_components")
    ]


@pytest.mark.freeze_time(START)
async def test_item19_history_odd_answers_never_write_a_wrong_hour(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    simulator_factory: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    sim: Simulator = await simulator_factory(profile="cloud-2026", alarm_rate_per_day=0.0)
    code = sim.plants[0].code
    # Numbers as strings, rows of nulls (a past day read in part), data: null.
    sim.faults.add(HISTORY, "strings", count=3)
    sim.faults.add(HISTORY, "nulls", count=3)
    sim.faults.add(HISTORY, "data_null", count=2)
    entry = entry_for(sim, history_days=2)
    await setup_entry(hass, entry)
    await advance(hass, freezer, FIRST_RUN_DELAY + 1)
    for _ in range(200):
        # Whatever is stored at any time is right: no hour is written as zero.
        if rows := await stored(hass, code):
            assert_matches_simulator(sim, code, rows)
        if backfill(hass) == 100:
            break
        await advance(hass, freezer, 120)
    assert not sim.faults.faults  # every odd answer was served
    rows = await stored(hass, code)
    assert start_of(rows["solar_production"][0]) == datetime(2025, 4, 8, tzinfo=AMSTERDAM)
    assert start_of(rows["solar_production"][-1]) == last_complete_hour()
    assert_matches_simulator(sim, code, rows)
    warnings = history_warnings(caplog)
    assert warnings, "a day read in part is warned about"
    assert len(warnings) == len(set(warnings)) <= 2  # once per day and cause
    assert refusals(sim) == 0


@pytest.mark.freeze_time(START)
async def test_item19_history_backfill_across_dst_with_home_assistant_elsewhere(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    simulator_factory: Any,
) -> None:
    # Home Assistant in US/Pacific; the plant in Amsterdam, summer time since 30 March.
    assert str(dt_util.get_default_time_zone()) == "US/Pacific"
    sim: Simulator = await simulator_factory(profile="cloud-2026", alarm_rate_per_day=0.0)
    code = sim.plants[0].code
    entry = entry_for(sim, history_days=13)
    await setup_entry(hass, entry)
    await advance(hass, freezer, FIRST_RUN_DELAY + 1)
    await until_backfilled(hass, freezer)
    assert backfill(hass) == 100
    rows = await stored(hass, code)
    assert_matches_simulator(sim, code, rows)
    dst_day = [
        row
        for row in rows["consumption"]
        if datetime(2025, 3, 30, tzinfo=AMSTERDAM)
        <= start_of(row)
        < datetime(2025, 3, 31, tzinfo=AMSTERDAM)
    ]
    assert len(dst_day) == 23
    assert start_of(rows["solar_production"][-1]) == last_complete_hour()
    assert refusals(sim) == 0


@pytest.mark.freeze_time(START)
async def test_item19_history_of_many_plants_is_paced_within_the_quota(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    simulator_factory: Any,
) -> None:
    """21 plants, 63 devices with energy counters: a run reads each once, an hour of
    quota at 1 call a minute (§7.2), so runs come every 2 hours instead of every hour."""
    sim: Simulator = await simulator_factory(
        profile="cloud-2026", plants=21, alarm_rate_per_day=0.0
    )
    entry = entry_for(sim, history_days=0, poll_devices=False, poll_alarms=False)
    await setup_entry(hass, entry)
    await advance(hass, freezer, FIRST_RUN_DELAY + 1)
    begin = dt_util.utcnow()
    # 3 hours; every wait for the next slot (61 s) runs as due.
    await advance_by_steps(hass, freezer, 3 * 3600, step=63)
    history_calls = [r.time for r in sim.calls.records if r.endpoint == HISTORY]
    assert all(b - a >= 60 for a, b in itertools.pairwise(history_calls))
    assert refusals(sim) == 0
    # The backfill (63 calls, 09:17-10:21), then nothing until the run of 12:06: hourly
    # runs would have gone on calling from 11:06 (and never caught up).
    first_run = [t for t in history_calls if t < begin.timestamp() + 2 * 3600]
    assert len(first_run) == 63
    assert (
        min(set(history_calls) - set(first_run))
        >= datetime(2025, 4, 10, 12, 6, tzinfo=dt_util.UTC).timestamp()
    )
    assert len(history_calls) <= 63 + 15
    first = datetime.combine(begin.astimezone(AMSTERDAM).date(), time.min, AMSTERDAM)
    lost = await hours_lost(hass, sim, first, int((last_complete_hour() - first) / HOUR) - 2)
    assert lost["missing"] == lost["wrong"] == 0, lost


@pytest.mark.freeze_time(START)
@pytest.mark.parametrize(
    ("config", "kinds"),
    [
        # The grid from a SmartAssistant (no meter), PV and battery from an all-in-one.
        (
            {"devices": ("inverter", "battery"), "cloud": CloudOptions(all_in_one_plants=(0,))},
            set(COUNTERS),
        ),
        # No grid device at all: no grid or consumption statistic (never zeros).
        (
            {"devices": ("inverter", "battery"), "cloud": CloudOptions(smart_assistant_plants=())},
            {"solar_production", "battery_charge", "battery_discharge"},
        ),
    ],
    ids=["smartassistant-all-in-one", "no-grid-device"],
)
async def test_item19_history_statistics_follow_the_plants_devices(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    simulator_factory: Any,
    config: dict[str, Any],
    kinds: set[str],
) -> None:
    sim: Simulator = await simulator_factory(profile="cloud-2026", alarm_rate_per_day=0.0, **config)
    code = sim.plants[0].code
    entry = entry_for(sim, history_days=1)
    await setup_entry(hass, entry)
    await advance(hass, freezer, FIRST_RUN_DELAY + 1)
    await until_backfilled(hass, freezer)
    rows = await stored(hass, code)
    assert set(rows) == kinds
    for kind, kind_rows in rows.items():
        assert start_of(kind_rows[0]) == datetime(2025, 4, 9, tzinfo=AMSTERDAM)
        assert start_of(kind_rows[-1]) == last_complete_hour()
        for row in kind_rows:
            expected = simulated(sim, code, start_of(row), COUNTERS[kind])
            assert row["state"] == pytest.approx(expected, abs=TOLERANCE), (kind, row)
    diagnostics = entry.runtime_data.history.diagnostics()
    assert diagnostics["source"] == "device_history"
    assert set(diagnostics["unavailable_statistics"]) == set(COUNTERS) - kinds
    assert refusals(sim) == 0
