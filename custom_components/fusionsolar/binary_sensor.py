"""Binary sensors: plant connectivity and health, device faults and links."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from homeassistant.components.binary_sensor import (
    BinarySensorDeviceClass,
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .api import DeviceKind, PlantHealth
from .coordinator import FusionSolarConfigEntry, PlantState, selected_plants
from .entity import (
    AlarmEntity,
    DeviceEntity,
    PlantEntity,
    alarm_entities,
    as_bool,
    async_add_device_entities,
)

PARALLEL_UPDATES = 0

# Inverter states (spec Table 4-1) that mean something is wrong.
INVERTER_FAULT_STATES = frozenset({768, 770, 773})
BATTERY_FAULTY = 3


def _plant_health(state: PlantState) -> PlantHealth | None:
    source = state.realtime or state.station
    return source.health if source is not None else None


@dataclass(frozen=True, kw_only=True)
class PlantBinaryDescription(BinarySensorEntityDescription):
    """A plant binary sensor derived from the plant's health."""

    is_on_fn: Callable[[PlantHealth], bool]


PLANT_BINARY_SENSORS = (
    PlantBinaryDescription(
        key="connected",
        translation_key="connected",
        device_class=BinarySensorDeviceClass.CONNECTIVITY,
        entity_category=EntityCategory.DIAGNOSTIC,
        is_on_fn=lambda health: health is not PlantHealth.DISCONNECTED,
    ),
    PlantBinaryDescription(
        key="faulty",
        translation_key="faulty",
        device_class=BinarySensorDeviceClass.PROBLEM,
        is_on_fn=lambda health: health is PlantHealth.FAULTY,
    ),
)


@dataclass(frozen=True, kw_only=True)
class DeviceBinaryDescription(BinarySensorEntityDescription):
    """A device binary sensor derived from one KPI key."""

    kpi: str
    is_on_fn: Callable[[float], bool]


_LINK = DeviceBinaryDescription(
    key="connected",
    translation_key="connected",
    kpi="run_state",
    device_class=BinarySensorDeviceClass.CONNECTIVITY,
    entity_category=EntityCategory.DIAGNOSTIC,
    is_on_fn=lambda value: int(value) == 1,
)

DEVICE_BINARY_SENSORS: Mapping[DeviceKind, tuple[DeviceBinaryDescription, ...]] = {
    DeviceKind.INVERTER: (
        _LINK,
        DeviceBinaryDescription(
            key="inverter_fault",
            translation_key="inverter_fault",
            kpi="inverter_state",
            device_class=BinarySensorDeviceClass.PROBLEM,
            is_on_fn=lambda value: int(value) in INVERTER_FAULT_STATES,
        ),
    ),
    DeviceKind.BATTERY: (
        _LINK,
        DeviceBinaryDescription(
            key="battery_fault",
            translation_key="battery_fault",
            kpi="battery_status",
            device_class=BinarySensorDeviceClass.PROBLEM,
            is_on_fn=lambda value: int(value) == BATTERY_FAULTY,
        ),
    ),
    # The grid meter's table (17) has no `run_state` (2021 reference and 26.2): no link.
    DeviceKind.POWER_SENSOR: (
        DeviceBinaryDescription(
            key="meter_online",
            translation_key="meter_online",
            kpi="meter_status",
            device_class=BinarySensorDeviceClass.CONNECTIVITY,
            entity_category=EntityCategory.DIAGNOSTIC,
            is_on_fn=lambda value: int(value) == 1,
        ),
    ),
    DeviceKind.EMI: (_LINK,),
}


async def async_setup_entry(
    hass: HomeAssistant,
    entry: FusionSolarConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Set up binary sensors for plants and their devices."""
    async_add_entities(
        PlantBinarySensor(entry, code, description)
        for code in selected_plants(entry)
        for description in PLANT_BINARY_SENSORS
    )
    async_add_entities(alarm_binary_sensors(entry))
    async_add_device_entities(
        entry,
        async_add_entities,
        lambda device: [
            DeviceBinarySensor(entry, device, description)
            for description in DEVICE_BINARY_SENSORS.get(device.kind, ())
        ],
    )


class PlantBinarySensor(PlantEntity, BinarySensorEntity):
    """A binary sensor of a plant."""

    entity_description: PlantBinaryDescription

    @property
    def is_on(self) -> bool | None:
        """Return the state derived from the plant's health (or the restored one)."""
        if (restored := self.restored) is not None:
            return as_bool(restored.value)
        if (state := self.plant_state) is None or (health := _plant_health(state)) is None:
            return None
        return self.entity_description.is_on_fn(health)

    def _shown_value(self) -> bool | None:
        return self.is_on


class DeviceBinarySensor(DeviceEntity, BinarySensorEntity):
    """A binary sensor of a device."""

    entity_description: DeviceBinaryDescription

    @property
    def is_on(self) -> bool | None:
        """Return the state derived from the device's KPI (or the restored one)."""
        if (restored := self.restored) is not None:
            return as_bool(restored.value)
        if (state := self.device_state) is None:
            return None
        value = state.kpi.values.get(self.entity_description.kpi)
        return None if value is None else self.entity_description.is_on_fn(value)

    def _shown_value(self) -> bool | None:
        return self.is_on


# ---------------------------- issue 18: entities moved from alarms.py


ACTIVE_ALARMS = BinarySensorEntityDescription(
    key="active_alarms",
    translation_key="active_alarms",
    device_class=BinarySensorDeviceClass.PROBLEM,
)


class ActiveAlarmsBinarySensor(AlarmEntity, BinarySensorEntity):
    """On while the plant has an active alarm."""

    @property
    def is_on(self) -> bool:
        """Return whether any alarm is active."""
        return bool(self.plant_alarms)


def alarm_binary_sensors(entry: FusionSolarConfigEntry) -> list[ActiveAlarmsBinarySensor]:
    """Return the active-alarm binary sensors of an entry."""
    return alarm_entities(entry, ActiveAlarmsBinarySensor, (ACTIVE_ALARMS,))
