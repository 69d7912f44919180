"""Depth of discharge of each battery (V7 `vpp/dod`).

End-of-discharge SOC = 100 % - DoD. The spec allows an end-of-discharge SOC of
0-20 % on Huawei batteries (DoD 80-100 %) and 12-20 % on LG batteries (DoD 80-88 %);
the cloud applies the closest allowed value and answers with it (`setDOD`). The number
shows that value until the next device list reports the battery's DoD.
"""

from __future__ import annotations

from homeassistant.components.number import NumberEntity, NumberEntityDescription, NumberMode
from homeassistant.const import PERCENTAGE, EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .api import Device, DeviceKind
from .control import async_set_dod, current_dod
from .coordinator import FusionSolarConfigEntry, MetadataCoordinator
from .entity import FusionSolarEntity, async_add_control_entities, device_info

PARALLEL_UPDATES = 1

DEPTH_OF_DISCHARGE = NumberEntityDescription(
    key="depth_of_discharge",
    translation_key="depth_of_discharge",
    entity_category=EntityCategory.CONFIG,
    native_unit_of_measurement=PERCENTAGE,
    native_step=1.0,
    mode=NumberMode.BOX,
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: FusionSolarConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Set up a depth-of-discharge number per battery, once the account has control (V7)."""
    async_add_control_entities(
        entry, async_add_entities, DeviceKind.BATTERY, DepthOfDischargeNumber, v7_only=True
    )


class DepthOfDischargeNumber(FusionSolarEntity[MetadataCoordinator], NumberEntity):
    """How deep a battery may discharge."""

    def __init__(self, entry: FusionSolarConfigEntry, device: Device) -> None:
        """Initialize the number with the range of the battery's maker."""
        super().__init__(entry.runtime_data.metadata, DEPTH_OF_DISCHARGE, device.key)
        self._entry = entry
        self._key = device.key
        self._attr_device_info = device_info(device)
        low, high = device.dod_range
        self._attr_native_min_value, self._attr_native_max_value = float(low), float(high)

    @property
    def _device(self) -> Device | None:
        return self.coordinator.data.devices.get(self._key)

    async def async_added_to_hass(self) -> None:
        """Follow the DoD values the cloud applies."""
        await super().async_added_to_hass()
        self.async_on_remove(
            self._entry.runtime_data.dispatch.async_add_listener(self.async_write_ha_state)
        )

    @property
    def available(self) -> bool:
        """Return whether the battery can be controlled (V7 and a device DN)."""
        device = self._device
        return (
            super().available
            and self._entry.runtime_data.account.client.families.v7
            and device is not None
            and device.dn is not None
        )

    @property
    def native_value(self) -> float | None:
        """Return the DoD the cloud applied, until the device list reports one.

        Always a whole percentage as a float: the applied value (an int) and the
        listed one (a float) look the same.
        """
        dod = current_dod(self._entry, self._key)
        return None if dod is None else float(round(dod))

    async def async_set_native_value(self, value: float) -> None:
        """Set the battery's depth of discharge."""
        if (device := self._device) is not None:
            await async_set_dod(self._entry, [device], value)  # checked there (NaN, range)
