"""No silent data loss in the history import (issue 16): a day read incompletely is
never stored as complete, never settled, retried later and warned about once."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.recorder import Recorder
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util

from custom_components.fusionsolar.history import FIRST_RUN_DELAY
from tests.conftest import entry_for
from tests.simulator import Simulator
from tests.test_history import (
    AMSTERDAM,
    FIVE_MINUTES,
    START,
    advance,
    assert_matches_simulator,
    auto_enable_custom_integrations,  # noqa: F401  (starts the recorder first)
    last_complete_hour,
    restart,
    setup_entry,
    start_of,
    stored,
)


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
    entry = entry_for(sim, history_days=1)
    await setup_entry(hass, entry)
    await advance(hass, freezer, FIRST_RUN_DELAY + 1)
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
    assert start_of(rows["solar_production"][-1]) == last_complete_hour()
    assert_matches_simulator(sim, code, rows)
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
    entry = entry_for(sim, history_days=4)
    await setup_entry(hass, entry)
    await advance(hass, freezer, FIRST_RUN_DELAY + 1)
    for _ in range(24):
        # Whatever is stored at any time is right: no hour is written as zero.
        if rows := await stored(hass, code):
            assert_matches_simulator(sim, code, rows)
        if backfill(hass) == 100:
            break
        await advance(hass, freezer, 600)
    assert any(record.quirk == "null_values" for record in sim.calls.records)
    assert backfill(hass) == 100
    rows = await stored(hass, code)
    assert start_of(rows["solar_production"][0]) == datetime(2025, 4, 6, tzinfo=AMSTERDAM)
    assert start_of(rows["solar_production"][-1]) == last_complete_hour()
    assert_matches_simulator(sim, code, rows)


@pytest.mark.freeze_time(START)
async def test_item16_12_restarts_during_backfill_across_dst_lose_nothing(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    simulator_factory: Any,
) -> None:
    # Home Assistant in US/Pacific, the plant in Amsterdam (summer time since 30 March).
    assert str(dt_util.get_default_time_zone()) == "US/Pacific"
    sim: Simulator = await simulator_factory()
    code = sim.plants[0].code
    entry = entry_for(sim, history_days=20)
    await setup_entry(hass, entry)
    await advance(hass, freezer, FIRST_RUN_DELAY + 1)
    # A restart after every run (10 day reads a minute): the first ends on 29 March.
    for _ in range(6):
        if backfill(hass) == 100:
            break
        await advance(hass, freezer, 30)
        await restart(hass, freezer, entry)
    assert backfill(hass) == 100
    rows = await stored(hass, code)
    assert start_of(rows["solar_production"][0]) == datetime(2025, 3, 21, tzinfo=AMSTERDAM)
    assert start_of(rows["solar_production"][-1]) == last_complete_hour()
    assert_matches_simulator(sim, code, rows)
