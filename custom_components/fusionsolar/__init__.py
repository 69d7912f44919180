"""The Huawei FusionSolar integration (SmartPVMS northbound API)."""

from __future__ import annotations

from homeassistant.const import CONF_HOST, CONF_USERNAME, Platform
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryAuthFailed, ConfigEntryNotReady
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.typing import ConfigType

from .account import (
    account_key,
    async_get_registry,
    async_move_quota_store,
    entry_account_key,
    legacy_account_key,
)
from .api import ApiGeneration, AuthenticationError, FusionSolarError
from .const import DOMAIN
from .coordinator import (
    ConfigurationCoordinator,
    DeviceCoordinator,
    DispatchCoordinator,
    FusionSolarConfigEntry,
    FusionSolarRuntimeData,
    MetadataCoordinator,
    PlantCoordinator,
    async_create_alarm_coordinator,
    async_create_history_coordinator,
)
from .oauth import async_account_settings, async_revoke_entry, is_oauth_entry
from .repairs import async_setup_issues
from .services import async_setup_services
from .stores import async_remove_entry_stores

PLATFORMS = [
    Platform.BINARY_SENSOR,
    Platform.EVENT,
    Platform.NUMBER,
    Platform.SELECT,
    Platform.SENSOR,
    Platform.SWITCH,
]

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Set up the integration's actions (once, for every entry)."""
    async_setup_services(hass)
    return True


async def async_migrate_entry(hass: HomeAssistant, entry: FusionSolarConfigEntry) -> bool:
    """Migrate an entry: 1.1 -> 1.2 keys the account by user name, not host and user name."""
    if entry.version > 1:
        return False
    if entry.minor_version < 2:
        old_key = legacy_account_key(entry.data[CONF_HOST], entry.data[CONF_USERNAME])
        new_key = account_key(entry.data[CONF_USERNAME])
        if any(
            other.unique_id == new_key and other.entry_id != entry.entry_id
            for other in hass.config_entries.async_entries(DOMAIN)
        ):
            # The same user name on another host: keep this entry as it is.
            new_key = entry.unique_id or old_key
        else:
            await async_move_quota_store(hass, old_key, new_key)
        hass.config_entries.async_update_entry(entry, unique_id=new_key, minor_version=2)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: FusionSolarConfigEntry) -> bool:
    """Set up a FusionSolar account from a config entry."""
    account = await async_get_registry(hass).async_get(
        await async_account_settings(hass, entry), entry_account_key(entry)
    )
    try:
        await account.client.async_login()
    except AuthenticationError as err:
        raise ConfigEntryAuthFailed(
            translation_domain=DOMAIN, translation_key="authentication_failed"
        ) from err
    except FusionSolarError as err:
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN,
            translation_key="setup_failed",
            translation_placeholders={"error": str(err)},
        ) from err

    metadata = MetadataCoordinator(hass, entry, account)
    if not await metadata.async_start_from_store():
        await metadata.async_config_entry_first_refresh()
    plants = PlantCoordinator(hass, entry, account, metadata, "plants")
    devices = DeviceCoordinator(hass, entry, metadata)
    await plants.async_config_entry_first_refresh()
    await devices.async_config_entry_first_refresh()
    entry.async_on_unload(plants.derive_power_flow_from(devices))
    dispatch = DispatchCoordinator(hass, entry, account)
    await dispatch.async_load()

    entry.runtime_data = FusionSolarRuntimeData(
        account=account,
        metadata=metadata,
        plants=plants,
        devices=devices,
        dispatch=dispatch,
        alarms=await async_create_alarm_coordinator(hass, entry, metadata),
        history=async_create_history_coordinator(hass, entry, metadata),
        configuration=ConfigurationCoordinator(hass, entry, account)
        if account.client.generation is ApiGeneration.CLOUD_2026
        else None,
    )
    options = dict(entry.options)

    async def _async_entry_updated(hass: HomeAssistant, updated: FusionSolarConfigEntry) -> None:
        """Reload when the user changes the plant selection or what to poll.

        A refreshed OAuth token changes the entry's data only: no reload.
        """
        if dict(updated.options) != options:
            await hass.config_entries.async_reload(updated.entry_id)

    entry.async_on_unload(entry.add_update_listener(_async_entry_updated))
    _async_remove_stale_devices(hass, entry)
    entry.async_on_unload(
        metadata.async_add_listener(lambda: _async_remove_stale_devices(hass, entry))
    )
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    if (alarms := entry.runtime_data.alarms) is not None:
        # Once the event entities listen; a failure leaves them unavailable.
        await alarms.async_refresh()
    if (history := entry.runtime_data.history) is not None:
        history.async_start()
    if (configuration := entry.runtime_data.configuration) is not None:
        await configuration.async_refresh()
    async_setup_issues(hass, entry)
    return True


@callback
def _async_remove_stale_devices(hass: HomeAssistant, entry: FusionSolarConfigEntry) -> None:
    """Remove devices and plants the account no longer reports."""
    metadata = entry.runtime_data.metadata.data
    if not metadata.plants or not metadata.devices:
        # An empty answer is more likely a cloud hiccup than a wiped account.
        return
    known = metadata.known
    registry = dr.async_get(hass)
    for device in dr.async_entries_for_config_entry(registry, entry.entry_id):
        if not any(ident in known for domain, ident in device.identifiers if domain == DOMAIN):
            registry.async_update_device(device.id, remove_config_entry_id=entry.entry_id)


async def async_unload_entry(hass: HomeAssistant, entry: FusionSolarConfigEntry) -> bool:
    """Unload a config entry; the account's session and token stay for a reload."""
    entry.runtime_data.account.async_schedule_save()
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


async def async_remove_entry(hass: HomeAssistant, entry: FusionSolarConfigEntry) -> None:
    """Log out (OAuth: revoke), forget the account's learned quota and the entry's stores."""
    if is_oauth_entry(entry):
        await async_revoke_entry(hass, entry)
    await async_get_registry(hass).async_remove(entry_account_key(entry))
    await async_remove_entry_stores(hass, entry.entry_id)


async def async_remove_config_entry_device(
    hass: HomeAssistant, entry: FusionSolarConfigEntry, device: dr.DeviceEntry
) -> bool:
    """Allow removing a device the account no longer reports."""
    known = entry.runtime_data.metadata.data.known
    return not any(
        identifier in known for domain, identifier in device.identifiers if domain == DOMAIN
    )
