"""Must-show of issue 16: with the field profile, restarts and Home Assistant in another
time zone than the plants, a multi-day backfill loses no hour and gets none wrong."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.recorder import Recorder
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util

from tests.conftest import advance_recorded as advance
from tests.harness.scenarios import FIELD_SIMULATOR
from tests.harness.statistics import (
    AMSTERDAM,
    CHECKED_PLANTS,
    FIVE_MINUTES,
    HOUR,
    START,
    hours_lost,
    last_complete_hour,
    restart,
    start_history,
)
from tests.simulator import Simulator

HISTORY_DAYS = 4


def backfills(hass: HomeAssistant) -> list[str]:
    return [
        state.state
        for state in hass.states.async_all("sensor")
        if state.entity_id.endswith("_history_backfill")
    ]


@pytest.mark.freeze_time(START)
async def test_item16_field_profile_backfill_with_restarts_loses_no_hour(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    simulator_factory: Any,
) -> None:
    assert str(dt_util.get_default_time_zone()) == "US/Pacific"  # the plants: Amsterdam
    # The field profile as the benchmarks run it (V7 present, no maintenance window).
    sim: Simulator = await simulator_factory(
        plants=CHECKED_PLANTS, profile="field", **FIELD_SIMULATOR
    )
    entry = await start_history(hass, freezer, sim, HISTORY_DAYS)
    restarts = 0
    for step in range(60):
        if set(backfills(hass)) == {"100.0"}:
            break
        if step % 6 == 5:  # a restart every few minutes of the backfill
            await restart(hass, freezer, entry)
            restarts += 1
        else:
            await advance(hass, freezer, 62)
    assert set(backfills(hass)) == {"100.0"}
    assert restarts >= 2
    assert any(r.quirk == "null_values" for r in sim.calls.records if r.endpoint == FIVE_MINUTES)

    first = datetime.combine(
        dt_util.utcnow().astimezone(AMSTERDAM).date() - timedelta(days=HISTORY_DAYS),
        datetime.min.time(),
        AMSTERDAM,
    )
    count = int((last_complete_hour() - first) / HOUR) + 1
    lost = await hours_lost(hass, sim, first, count)
    assert lost["hour_rows_checked"] == CHECKED_PLANTS * 6 * count
    assert lost["missing"] == 0
    assert lost["wrong"] == 0


@pytest.mark.freeze_time("2025-06-15 20:40:00+00:00")  # 22:40 in Amsterdam
async def test_item16_13_a_quota_pause_does_not_read_the_same_day_again(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    simulator_factory: Any,
) -> None:
    """Soon after the plants' midnight an hourly run reads yesterday again (late
    corrections) and today: two calls, and the quota allows one a minute.

    Before, the run paused for the quota after yesterday, and the run after the pause
    began with yesterday again: it read yesterday once a minute and never today, and
    spent the day's budget of five-minute reads within half an hour.
    """
    sim: Simulator = await simulator_factory(quota_overrides={FIVE_MINUTES: 1})
    await start_history(hass, freezer, sim, 1)
    for _ in range(80):  # 22:00: the import is up to date
        await advance(hass, freezer, 60)
    since = sim.now()
    for _ in range(100):  # 22:00 .. 23:40 UTC: the hourly runs after the plants' midnight
        await advance(hass, freezer, 60)
    reads = sim.calls.count(FIVE_MINUTES, since=since)
    assert reads == 3  # 22:06 yesterday's last hour; 23:06 yesterday again and today
    lost = await hours_lost(hass, sim, last_complete_hour() - 3 * HOUR, 4)
    assert lost["missing"] == 0, lost
