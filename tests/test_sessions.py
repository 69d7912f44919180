"""Issue 17, integration side of the session and decoding rules (against the simulator)."""

from __future__ import annotations

from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import HomeAssistant

from custom_components.fusionsolar.const import DOMAIN
from tests.conftest import PLANT, SUNNY, next_refresh
from tests.conftest import setup_integration as setup_entry
from tests.simulator import Simulator

PLANT_REALTIME = "vpp/plantRealtimeKpi"


def deeply_nested_answer(depth: int = 100_000) -> str:
    """A JSON envelope nested deeper than any decoder's recursion limit."""
    return '{"success": true, "failCode": 0, "data": ' + "[" * depth + "]" * depth + "}"


@pytest.mark.freeze_time(SUNNY)
async def test_item17_4_fail_code_30029_starts_reauthentication(
    hass: HomeAssistant, simulator: Simulator, freezer: FrozenDateTimeFactory
) -> None:
    """30029 "Authentication failed" (§7) asks the user for credentials again."""
    entry = await setup_entry(hass, simulator)
    simulator.faults.add(PLANT_REALTIME, "fail_code", fail_code=30029)
    await next_refresh(hass, freezer)
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == ["reauth"]
    assert entry.state is ConfigEntryState.LOADED


@pytest.mark.freeze_time(SUNNY)
async def test_item17_11_deeply_nested_answer_keeps_entity_data(
    hass: HomeAssistant, simulator: Simulator, freezer: FrozenDateTimeFactory
) -> None:
    """One answer nested too deep to decode is a transient error: entities keep data."""
    await setup_entry(hass, simulator)
    before = hass.states.get(f"{PLANT}_pv_power")
    assert before is not None
    assert before.state not in (STATE_UNAVAILABLE, STATE_UNKNOWN)
    options: dict[str, Any] = {"status": 200, "body": deeply_nested_answer()}
    fault = simulator.faults.add(PLANT_REALTIME, "http_status", **options)
    await next_refresh(hass, freezer)
    assert fault.hits == 1
    after = hass.states.get(f"{PLANT}_pv_power")
    assert after is not None
    assert after.state == before.state
    await next_refresh(hass, freezer)
    again = hass.states.get(f"{PLANT}_pv_power")
    assert again is not None
    assert again.state not in (STATE_UNAVAILABLE, STATE_UNKNOWN)
