"""Dynamic devices: a device the cloud starts listing gets entities without a reload."""

from __future__ import annotations

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er

from custom_components.fusionsolar.const import DOMAIN
from custom_components.fusionsolar.coordinator import LIST_REFRESH
from tests.conftest import SUNNY, advance, next_refresh, setup_integration
from tests.simulator.pytest_plugin import SimulatorFactory


def entity_states(hass: HomeAssistant, identifier: str) -> dict[str, str]:
    """Entity id -> state of the entities of one registry device (none if it is unknown)."""
    device = dr.async_get(hass).async_get_device(identifiers={(DOMAIN, identifier)})
    if device is None:
        return {}
    return {
        entity.entity_id: state.state
        for entity in er.async_entries_for_device(er.async_get(hass), device.id)
        if (state := hass.states.get(entity.entity_id))
    }


@pytest.mark.freeze_time(SUNNY)
async def test_item18_7_device_added_in_the_cloud_gets_entities_without_reload(
    hass: HomeAssistant, simulator_factory: SimulatorFactory, freezer: FrozenDateTimeFactory
) -> None:
    sim = await simulator_factory(
        devices=["inverter", "battery", "meter", "emi"], alarm_rate_per_day=0
    )
    plant = sim.plants[0]
    emi = next(device for device in plant.devices if device.kind == "emi")
    plant.devices.remove(emi)  # not installed yet: the cloud does not list it
    entry = await setup_integration(hass, sim)
    runtime = entry.runtime_data
    assert entity_states(hass, emi.sn) == {}
    inverter = next(device for device in plant.devices if device.kind == "inverter")
    assert entity_states(hass, inverter.sn)

    plant.devices.append(emi)  # the installer adds it: the cloud lists it from now on
    await advance(hass, freezer, LIST_REFRESH.total_seconds() + 60)  # the daily lists

    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data is runtime  # no reload
    assert entity_states(hass, emi.sn)  # its entities exist ...
    await next_refresh(hass, freezer)
    states = entity_states(hass, emi.sn)  # ... and show its data from the next refresh
    assert len(states) >= 2
    assert STATE_UNAVAILABLE not in states.values(), states
