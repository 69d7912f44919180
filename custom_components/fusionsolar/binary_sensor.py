"""Binary sensors: plant connectivity and health, device faults and links."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from homeassistant.components.binary_sensor import (
    BinarySensorDeviceClass,
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .api import DeviceKind, DeviceRealtimeKpi, PlantHealth
from .coordinator import FusionSolarConfigEntry, PlantState, selected_plants
from .entity import (
    AlarmEntity,
    CloudDataEntity,
    DeviceEntity,
    PlantEntity,
    alarm_entities,
    as_bool,
    async_add_described_device_entities,
)

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class CloudBinaryDescription[DataT](BinarySensorEntityDescription):
    """A binary sensor and how to read it from its data (a plant's state, a device's KPIs)."""

    is_on_fn: Callable[[DataT], bool | None]


def _plant_health(is_on: Callable[[PlantHealth], bool]) -> Callable[[PlantState], bool | None]:
    """Derive a plant's binary state from its health (V7 real-time, else legacy KPIs)."""

    def read(state: PlantState) -> bool | None:
        source = state.realtime or state.station
        health = source.health if source is not None else None
        return None if health is None else is_on(health)

    return read


PLANT_BINARY_SENSORS: tuple[CloudBinaryDescription[PlantState], ...] = (
    CloudBinaryDescription(
        key="connected",
        translation_key="connected",
        device_class=BinarySensorDeviceClass.CONNECTIVITY,
        entity_category=EntityCategory.DIAGNOSTIC,
        is_on_fn=_plant_health(lambda health: health is not PlantHealth.DISCONNECTED),
    ),
    CloudBinaryDescription(
        key="faulty",
        translation_key="faulty",
        device_class=BinarySensorDeviceClass.PROBLEM,
        is_on_fn=_plant_health(lambda health: health is PlantHealth.FAULTY),
    ),
)

type DeviceBinaryDescription = CloudBinaryDescription[DeviceRealtimeKpi]

_LINK: DeviceBinaryDescription = CloudBinaryDescription(
    key="connected",
    translation_key="connected",
    device_class=BinarySensorDeviceClass.CONNECTIVITY,
    entity_category=EntityCategory.DIAGNOSTIC,
    is_on_fn=lambda kpi: kpi.connected,
)

_INVERTER_FAULT: DeviceBinaryDescription = CloudBinaryDescription(
    key="inverter_fault",
    translation_key="inverter_fault",
    device_class=BinarySensorDeviceClass.PROBLEM,
    is_on_fn=lambda kpi: None if (state := kpi.inverter_state) is None else state.is_fault,
)

_BATTERY_FAULT: DeviceBinaryDescription = CloudBinaryDescription(
    key="battery_fault",
    translation_key="battery_fault",
    device_class=BinarySensorDeviceClass.PROBLEM,
    is_on_fn=lambda kpi: None if (state := kpi.battery_status) is None else state.is_fault,
)

DEVICE_BINARY_SENSORS: Mapping[DeviceKind, tuple[DeviceBinaryDescription, ...]] = {
    DeviceKind.INVERTER: (_LINK, _INVERTER_FAULT),
    DeviceKind.BATTERY: (_LINK, _BATTERY_FAULT),
    DeviceKind.ALL_IN_ONE: (_LINK, _INVERTER_FAULT, _BATTERY_FAULT),
    DeviceKind.SMART_ASSISTANT: (_LINK,),
    # The grid meter's table (17) has no `run_state` (2021 reference and 26.2): no link.
    DeviceKind.POWER_SENSOR: (
        CloudBinaryDescription(
            key="meter_online",
            translation_key="meter_online",
            device_class=BinarySensorDeviceClass.CONNECTIVITY,
            entity_category=EntityCategory.DIAGNOSTIC,
            is_on_fn=lambda kpi: kpi.meter_online,
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
    async_add_described_device_entities(
        entry, async_add_entities, DEVICE_BINARY_SENSORS, DeviceBinarySensor
    )


class _CloudBinarySensor[DataT](CloudDataEntity[Any], BinarySensorEntity):
    """A binary sensor derived from its cloud data (or the restored state)."""

    entity_description: CloudBinaryDescription[DataT]

    def _data(self) -> DataT | None:
        """Return the live data this sensor reads, if any."""
        raise NotImplementedError

    @property
    def is_on(self) -> bool | None:
        """Return the state derived from the live data (or the restored one)."""
        if (restored := self.restored) is not None:
            return as_bool(restored.value)
        data = self._data()
        return None if data is None else self.entity_description.is_on_fn(data)

    def _shown_value(self) -> bool | None:
        return self.is_on


class PlantBinarySensor(_CloudBinarySensor[PlantState], PlantEntity):
    """A binary sensor of a plant."""

    def _data(self) -> PlantState | None:
        return self.plant_state


class DeviceBinarySensor(_CloudBinarySensor[DeviceRealtimeKpi], DeviceEntity):
    """A binary sensor of a device."""

    def _data(self) -> DeviceRealtimeKpi | None:
        state = self.device_state
        return None if state is None else state.kpi


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
