"""Base entities: one device per plant, one per physical device under it."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from homeassistant.core import callback
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import Entity, EntityDescription
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.update_coordinator import CoordinatorEntity
from homeassistant.util import dt as dt_util

from .api import Device, DeviceKind, Plant
from .const import DOMAIN, MANUFACTURER, STALE_AFTER
from .coordinator import (
    DeviceCoordinator,
    DeviceState,
    FusionSolarConfigEntry,
    FusionSolarCoordinator,
    PlantCoordinator,
    PlantState,
)

DEVICE_MODELS = {
    DeviceKind.INVERTER: "Inverter",
    DeviceKind.BATTERY: "Battery",
    DeviceKind.METER: "Grid meter",
    DeviceKind.POWER_SENSOR: "Power sensor",
    DeviceKind.EMI: "Environmental monitoring instrument",
}


def plant_device_info(plant_code: str, plant: Plant | None) -> DeviceInfo:
    """Describe a plant as a device."""
    return DeviceInfo(
        identifiers={(DOMAIN, plant_code)},
        manufacturer=MANUFACTURER,
        model="FusionSolar plant",
        name=plant.name if plant and plant.name else plant_code,
    )


def device_info(device: Device) -> DeviceInfo:
    """Describe an inverter, battery, meter… linked to its plant."""
    info = DeviceInfo(
        identifiers={(DOMAIN, device.key)},
        manufacturer=MANUFACTURER,
        model=device.model or DEVICE_MODELS.get(device.kind),
        name=device.name or device.key,
        serial_number=device.sn,
        sw_version=device.software_version,
    )
    if device.plant_code:
        info["via_device"] = (DOMAIN, device.plant_code)
    return info


def is_fresh(updated: datetime | None) -> bool:
    """Return whether data of this age may still be shown."""
    return updated is not None and dt_util.utcnow() - updated < STALE_AFTER


class FusionSolarEntity[CoordinatorT: FusionSolarCoordinator[Any]](CoordinatorEntity[CoordinatorT]):
    """Common base: entity naming by translation key, unique ids."""

    _attr_has_entity_name = True

    def __init__(
        self, coordinator: CoordinatorT, description: EntityDescription, owner_id: str
    ) -> None:
        """Initialize the entity for a plant or a device identified by `owner_id`."""
        super().__init__(coordinator)
        self.entity_description = description
        self._attr_unique_id = f"{owner_id}_{description.key}"


class PlantEntity(FusionSolarEntity[PlantCoordinator]):
    """An entity of a plant, fed by the real-time plant coordinator."""

    def __init__(
        self,
        entry: FusionSolarConfigEntry,
        plant_code: str,
        description: EntityDescription,
    ) -> None:
        """Initialize the plant entity."""
        super().__init__(entry.runtime_data.plants, description, plant_code)
        self.plant_code = plant_code
        plant = entry.runtime_data.metadata.data.plants.get(plant_code)
        self._attr_device_info = plant_device_info(plant_code, plant)

    @property
    def plant_state(self) -> PlantState | None:
        """Return this plant's latest values."""
        return (self.coordinator.data or {}).get(self.plant_code)

    @property
    def available(self) -> bool:
        """Return whether fresh data exists for this plant."""
        state = self.plant_state
        return super().available and state is not None and is_fresh(state.updated)


class DeviceEntity(FusionSolarEntity[DeviceCoordinator]):
    """An entity of a physical device, fed by the device coordinator."""

    def __init__(
        self, entry: FusionSolarConfigEntry, device: Device, description: EntityDescription
    ) -> None:
        """Initialize the device entity."""
        super().__init__(entry.runtime_data.devices, description, device.key)
        self.device = device
        self._attr_device_info = device_info(device)

    @property
    def device_state(self) -> DeviceState | None:
        """Return this device's latest values."""
        return (self.coordinator.data or {}).get(self.device.key)

    @property
    def available(self) -> bool:
        """Return whether fresh data exists for this device."""
        state = self.device_state
        return super().available and state is not None and is_fresh(state.updated)


def async_add_device_entities(
    entry: FusionSolarConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
    entities_for: Callable[[Device], Iterable[Entity]],
) -> None:
    """Add entities for every device now and for devices that appear later."""
    known: set[str] = set()

    @callback
    def add_new_devices() -> None:
        devices = entry.runtime_data.metadata.data.devices
        new = [device for key, device in devices.items() if key not in known]
        known.update(device.key for device in new)
        async_add_entities(entity for device in new for entity in entities_for(device))

    add_new_devices()
    entry.async_on_unload(entry.runtime_data.metadata.async_add_listener(add_new_devices))
