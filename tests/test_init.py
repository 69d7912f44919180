"""Setup and unload of the integration against the simulator."""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from tests.simulator import Simulator


async def test_load_unload(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    entry = init_integration
    assert entry.state is ConfigEntryState.LOADED
    states = hass.states.async_all()
    assert len(states) > 10
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.NOT_LOADED
