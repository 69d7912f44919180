"""Setup and unload of the integration against the simulator."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.fusionsolar import async_remove_config_entry_device
from custom_components.fusionsolar.account import account_key, async_get_registry
from custom_components.fusionsolar.const import DOMAIN
from tests.conftest import registry_device
from tests.simulator import Simulator


async def test_load_unload(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    entry = init_integration
    assert entry.state is ConfigEntryState.LOADED
    # Every enabled entity of the entry has a state, and nothing else does.
    entities = er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
    enabled = {entity.entity_id for entity in entities if not entity.disabled}
    assert {state.entity_id for state in hass.states.async_all()} == enabled
    # The plant and each of the simulator's devices got entities.
    devices = dr.async_get(hass)
    with_entities = {
        identifier
        for entity in entities
        if entity.device_id and (device := devices.async_get(entity.device_id))
        for domain, identifier in device.identifiers
        if domain == DOMAIN
    }
    plant = simulator.plants[0]
    assert with_entities == {plant.code} | {device.sn for device in plant.devices}
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.NOT_LOADED


async def test_setup_retries_while_the_cloud_fails(
    hass: HomeAssistant, simulator: Simulator, mock_config_entry: MockConfigEntry
) -> None:
    simulator.faults.add(None, "http_status", count=0, status=500)
    mock_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert mock_config_entry.state is ConfigEntryState.SETUP_RETRY


async def test_remove_entry_logs_out_and_forgets_the_account(
    hass: HomeAssistant,
    simulator: Simulator,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    freezer.tick(61)  # logout, like login, is limited to once a minute
    assert await hass.config_entries.async_remove(init_integration.entry_id)
    await hass.async_block_till_done()
    assert simulator.calls.count(endpoint="/thirdData/logout") == 1
    assert simulator.calls.count(endpoint="/rest/openapi/pvms/v1/logout") == 1
    assert async_get_registry(hass).get_existing(account_key("nbi_user")) is None


async def test_only_unknown_devices_can_be_removed(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    registry = dr.async_get(hass)
    known = registry_device(hass, simulator.plants[0].code)
    gone = registry.async_get_or_create(
        config_entry_id=init_integration.entry_id, identifiers={(DOMAIN, "SN-GONE")}
    )
    entry = init_integration
    assert not await async_remove_config_entry_device(hass, entry, known)
    assert await async_remove_config_entry_device(hass, entry, gone)


async def test_new_password_reuses_the_account_governor(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    registry = async_get_registry(hass)
    account = registry.get_existing(account_key(simulator.username))
    assert account is not None
    settings = replace(account.settings, password="new-password")
    again = await registry.async_get(settings)
    assert again is account
    assert again.settings.password == "new-password"
    assert again.governor is init_integration.runtime_data.account.governor


async def test_item18_3_removing_an_entry_removes_all_its_stores(
    hass: HomeAssistant,
    simulator: Simulator,
    mock_config_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
) -> None:
    """Every per-entry store (alarms, dispatch, history offsets, lists) goes with its entry."""
    entry_id = mock_config_entry.entry_id
    keys = [f"{DOMAIN}.{kind}.{entry_id}" for kind in ("alarms", "dispatch", "history", "lists")]
    for key in keys:
        hass_storage[key] = {"version": 1, "minor_version": 1, "key": key, "data": {}}
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert await hass.config_entries.async_remove(entry_id)
    await hass.async_block_till_done()
    assert [key for key in keys if key in hass_storage] == []
