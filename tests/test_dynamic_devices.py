"""Dynamic devices: a device the cloud starts listing gets entities without a reload."""

from __future__ import annotations

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant

from custom_components.fusionsolar.coordinator.base import LIST_REFRESH
from tests.conftest import SUNNY, advance, device_states, next_refresh, setup_integration
from tests.simulator.pytest_plugin import SimulatorFactory


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
    assert device_states(hass, emi.sn) == []
    inverter = next(device for device in plant.devices if device.kind == "inverter")
    assert device_states(hass, inverter.sn)

    plant.devices.append(emi)  # the installer adds it: the cloud lists it from now on
    await advance(hass, freezer, LIST_REFRESH.total_seconds() + 60)  # the daily lists

    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data is runtime  # no reload
    assert device_states(hass, emi.sn)  # its entities exist ...
    await next_refresh(hass, freezer)
    states = device_states(hass, emi.sn)  # ... and show its data from the next refresh
    assert len(states) >= 2
    assert STATE_UNAVAILABLE not in states, states
