"""Issue 20: a simulated day on OAuth: the owner's 1000 basic calls a day are planned."""

from __future__ import annotations

import math
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant

from custom_components.fusionsolar.account import async_get_registry
from custom_components.fusionsolar.api import Endpoint
from tests.harness.dayrun import SLOT, Scenario, start_run
from tests.oauth_helpers import oauth_entry, setup_credentials


@pytest.mark.parametrize("plants", [1, 10])
async def test_item20_oauth_a_day_stays_within_the_owners_budget(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, simulator_factory: Any, plants: int
) -> None:
    scenario = Scenario(
        f"issue20-oauth-{plants}",
        plants=plants,
        profile="cloud-2026",
        hours=24.0,
        simulator={"alarm_rate_per_day": 2.0},
    )
    run = await start_run(hass, freezer, simulator_factory, scenario)
    await setup_credentials(hass)
    run.entry = oauth_entry(run.sim, **scenario.options)
    result = await run.run()

    sim = run.sim
    bearer = [r for r in sim.calls.records if r.account == "oauth:owner"]
    accepted = [r for r in bearer if r.fail_code not in (305, 401, 407)]
    assert sim.oauth.refused == 0, result["refusals"]
    assert result["quota_refusals"] == 0
    assert len(accepted) <= 1000, result["calls"]
    # Power flow every refresh; device types in turn; alarms and lists rarely.
    assert result["calls"][Endpoint.STATION_REAL_KPI] >= 24 * 12 - 6
    assert result["calls"].get(Endpoint.ALARM_LIST, 0) <= 25
    account = async_get_registry(hass).get_existing(str(run.entry.unique_id))
    assert account is not None
    assert account.budget is not None
    plan = account.budget.plan
    availability = result["availability"]
    assert availability["plants_with_data"] == plants
    assert availability["devices_with_data"] == sum(result["devices"].values())
    # The plan: every endpoint's calls together within 1000 - reserve; each device group's
    # turn every `device_refresh` seconds, on the cloud's 5-minute refreshes.
    assert plan.calls_per_day <= 950
    assert plan.device_groups == len(result["devices"])
    turn = math.ceil(plan.device_refresh / SLOT) * SLOT
    # The Device refresh interval sensor shows it; data is never older than a turn + slots.
    assert 0 < result["refresh_interval_s"]["max"] <= turn
    assert result["data_age"]["max_s"] <= turn + 2 * SLOT, result["data_age"]
