"""Issue 16 item 1 at the integration level: 150 plants, listings as bare-list pages."""

from __future__ import annotations

from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant

from custom_components.fusionsolar.api.const import Endpoint
from tests.harness.dayrun import AGE_TARGET, Scenario, start_run
from tests.harness.scenarios import FIELD_SIMULATOR

PLANTS = 150


async def test_item16_1_150_plants_with_bare_list_pages(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, simulator_factory: Any
) -> None:
    """Six simulated hours: 150/150 plants and all 450 devices with data, zero 407.

    (The whole day is the benchmark row spec-150-bare-lists: six hours keep CI short.)
    """
    scenario = Scenario(
        "issue16-150-bare-lists",
        plants=PLANTS,
        hours=6.0,
        restarts=(),
        simulator={"quirks": ["plants_as_list"], "alarm_rate_per_day": 0.0},
    )
    run = await start_run(hass, freezer, simulator_factory, scenario)
    result = await run.run()

    availability = result["availability"]
    assert availability["plants_with_data"] == PLANTS
    assert availability["devices_with_data"] == 3 * PLANTS
    assert availability["unavailable_entity_hours"] == 0
    assert result["quota_refusals"] == 0
    assert result["fail_codes"].get("407") is None
    assert result["calls"][Endpoint.V7_PLANTS] == 2  # 100 + a short page of 50
    assert result["data_age"]["max_s"] <= AGE_TARGET


async def test_item16_2_v7_device_pages_refused_keep_the_legacy_devices(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, simulator_factory: Any
) -> None:
    """Field profile, 100 plants: V7 `devices` pages at 1/min, the second one refused.

    The legacy device list arrived: every plant keeps its devices (without V7 details),
    as when the V7 list is refused, instead of none at all (the field-100 benchmark row).
    """
    scenario = Scenario(
        "issue16-field-100-devices",
        plants=100,
        profile="field",
        hours=0.5,
        restarts=(),
        simulator={**FIELD_SIMULATOR, "alarm_rate_per_day": 0.0},
    )
    run = await start_run(hass, freezer, simulator_factory, scenario)
    result = await run.run()

    assert result["availability"]["devices_with_data"] == 300
    assert result["availability"]["plants_with_data"] == 100


async def test_item16_2_plant_batches_the_quota_holds_back_are_read_in_the_same_refresh(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, simulator_factory: Any
) -> None:
    """Field profile, 150 plants: one power-flow batch per minute. Every refresh reads both
    batches (the second when the quota allows), so no plant waits for a later refresh and
    goes stale; the device lists the quota cut short go on where they stopped."""
    scenario = Scenario(
        "issue16-field-150-plants",
        plants=150,
        profile="field",
        hours=2.0,
        restarts=(),
        simulator={**FIELD_SIMULATOR, "alarm_rate_per_day": 0.0, "history_detail_days": 0},
    )
    run = await start_run(hass, freezer, simulator_factory, scenario)
    result = await run.run()

    availability = result["availability"]
    assert availability["plants_with_data"] == 150
    assert availability["devices_with_data"] == 450
    assert availability["became_unavailable"] == 0
    # Two batches per refresh, 12 refreshes an hour.
    assert result["calls"][Endpoint.VPP_PLANT_REALTIME] >= 2 * 12 * 2
