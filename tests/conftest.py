"""Shared fixtures: the simulator, a config entry for it, a loaded integration."""

from __future__ import annotations

import pytest
from homeassistant.const import CONF_HOST, CONF_PASSWORD, CONF_USERNAME, CONF_VERIFY_SSL
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from pytest_homeassistant_custom_component.common import MockConfigEntry

import custom_components.fusionsolar  # noqa: F401 - makes the integration importable
from custom_components.fusionsolar.account import account_key
from custom_components.fusionsolar.const import (
    CONF_HISTORY_DAYS,
    CONF_PLANTS,
    CONF_POLL_ALARMS,
    CONF_POLL_DEVICES,
    DOMAIN,
)
from tests.simulator import Simulator

pytest_plugins = ["tests.simulator.pytest_plugin"]


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load custom_components/fusionsolar."""


def entry_for(sim: Simulator, **options: object) -> MockConfigEntry:
    """Build a config entry pointing at a simulator."""
    return MockConfigEntry(
        domain=DOMAIN,
        title=f"{sim.username} (simulator)",
        unique_id=account_key(sim.username),
        minor_version=2,
        data={
            CONF_HOST: sim.url,
            CONF_USERNAME: sim.username,
            CONF_PASSWORD: sim.password,
            CONF_VERIFY_SSL: False,
        },
        options={
            CONF_PLANTS: [plant.code for plant in sim.plants],
            CONF_POLL_DEVICES: True,
            CONF_POLL_ALARMS: True,
            CONF_HISTORY_DAYS: 2,
            **options,
        },
    )


def registry_device(hass: HomeAssistant, identifier: str) -> dr.DeviceEntry:
    """Find a device of this integration by identifier (on every Home Assistant version)."""
    registry = dr.async_get(hass)
    return next(
        device
        for entry in hass.config_entries.async_entries(DOMAIN)
        for device in dr.async_entries_for_config_entry(registry, entry.entry_id)
        if (DOMAIN, identifier) in device.identifiers
    )


@pytest.fixture
def mock_config_entry(simulator: Simulator) -> MockConfigEntry:
    """A config entry for the default simulator."""
    return entry_for(simulator)


@pytest.fixture
async def init_integration(
    simulator: Simulator, hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> MockConfigEntry:
    """Set up the integration against the simulator."""
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    return mock_config_entry
