"""Base entities: one device per plant, one per physical device under it.

One freshness rule (`is_fresh`): an entity showing cloud data is available while
the data it shows is younger than its coordinator's `stale_after`, by the data's own
time (data read every refresh: 20 minutes; data the quota reads less often, such as
hourly plant KPIs or device types taking turns on a large account: two of its reads
and a refresh; `coordinator.base.stale_after`), whether
its coordinator's last update worked or not (a coordinator raises `UpdateFailed`
when it fails; the data it had stays until it is stale). When a plant's or
device's data goes stale, and when it comes again, one line is logged for it
(not one per entity).

Plant and device entities remember what they showed and the time of the cloud
data it came from (Home Assistant's restore state). After a reload or restart
they show it again until fresh data arrives, as long as it is still fresh by
the same rule: device types waiting for their quota turn do not flap to
unavailable.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from weakref import WeakKeyDictionary

from homeassistant.core import callback
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import Entity, EntityDescription
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.restore_state import ExtraStoredData, RestoreEntity
from homeassistant.helpers.update_coordinator import CoordinatorEntity
from homeassistant.util import dt as dt_util

from .api import Alarm, Device, DeviceKind, Plant
from .const import DOMAIN, LOGGER, MANUFACTURER
from .control import can_control
from .coordinator import (
    AlarmCoordinator,
    DeviceCoordinator,
    DeviceState,
    FusionSolarConfigEntry,
    FusionSolarCoordinator,
    PlantCoordinator,
    PlantState,
    selected_plants,
)

DEVICE_MODELS = {
    DeviceKind.INVERTER: "Inverter",
    DeviceKind.BATTERY: "Battery",
    DeviceKind.METER: "Grid meter",
    DeviceKind.POWER_SENSOR: "Power sensor",
    DeviceKind.EMI: "Environmental monitoring instrument",
    DeviceKind.SMART_ASSISTANT: "SmartAssistant (EMMA)",
    DeviceKind.ALL_IN_ONE: "PV + storage all-in-one",
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


def is_fresh(updated: datetime | None, stale_after: timedelta) -> bool:
    """Return whether data of this time may still be shown."""
    return updated is not None and dt_util.utcnow() - updated < stale_after


# Per coordinator: the plants and devices whose data went stale (logged once each).
_STALE: WeakKeyDictionary[FusionSolarCoordinator[Any], set[str]] = WeakKeyDictionary()


def log_freshness(
    coordinator: FusionSolarCoordinator[Any],
    owner: str,
    updated: datetime | None,
    stale_after: timedelta,
) -> None:
    """Log once when the data of a plant or device goes stale, and once when it comes again."""
    stale = _STALE.setdefault(coordinator, set())
    if is_fresh(updated, stale_after):
        if owner in stale:
            stale.discard(owner)
            LOGGER.info("%s: data of %s comes again", coordinator.name, owner)
    elif updated is not None and owner not in stale:
        stale.add(owner)
        LOGGER.info(
            "%s: no new data of %s since %s; its entities are unavailable until it comes",
            coordinator.name,
            owner,
            updated.isoformat(),
        )


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


def plant_capacity_kw(entry: FusionSolarConfigEntry, plant_code: str | None) -> float | None:
    """Return a plant's capacity (kWp) as the plant list reports it, if known."""
    plant = entry.runtime_data.metadata.data.plants.get(plant_code or "")
    return None if plant is None else plant.capacity_kwp


def plant_zone(entry: FusionSolarConfigEntry, plant_code: str | None) -> tzinfo | None:
    """Return a plant's UTC offset, from its grid connection date (26.2: "...+08:00").

    None (Home Assistant's zone, with its daylight saving time) when the date has no
    offset (the client reads those as UTC) or when Home Assistant's zone had the same.
    """
    plant = entry.runtime_data.metadata.data.plants.get(plant_code or "")
    connected = None if plant is None else plant.grid_connection_date
    if connected is None or connected.tzinfo is UTC:
        return None
    if dt_util.as_local(connected).utcoffset() == connected.utcoffset():
        return None
    return connected.tzinfo


type ShownValue = str | int | float | bool | None

UPDATED = "data_updated"


@dataclass(slots=True)
class CloudData(ExtraStoredData):
    """What an entity showed, and the time of the cloud data it came from."""

    value: ShownValue
    updated: datetime | None

    def as_dict(self) -> dict[str, Any]:
        """Return the data to store."""
        return {"value": self.value, UPDATED: stored_time(self.updated)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CloudData | None:
        """Return the stored data, or None when it is not usable."""
        value = data.get("value")
        if value is not None and not isinstance(value, str | int | float | bool):
            return None
        return cls(value, restored_time(data))


def as_bool(value: ShownValue) -> bool | None:
    """Return a restored on/off state (None stays unknown)."""
    return None if value is None else bool(value)


def stored_time(moment: datetime | None) -> str | None:
    """Return a data time as stored."""
    return None if moment is None else moment.isoformat()


def restored_time(data: Mapping[str, Any]) -> datetime | None:
    """Return the data time stored with an entity's last value, if any."""
    raw = data.get(UPDATED)
    return dt_util.parse_datetime(raw) if isinstance(raw, str) else None


class CloudDataEntity[CoordinatorT: FusionSolarCoordinator[Any]](
    FusionSolarEntity[CoordinatorT], RestoreEntity
):
    """An entity showing cloud data; restores its last value while that is fresh."""

    _restored: CloudData | None = None

    @property
    @abstractmethod
    def _owner(self) -> str:
        """Return the plant or device whose data this is, as logs name it."""

    @abstractmethod
    def _live_updated(self) -> datetime | None:
        """Return the time of the live data for this entity, if any."""

    @abstractmethod
    def _shown_value(self) -> ShownValue:
        """Return the value the entity shows (stored for a restart)."""

    @property
    def _stale_after(self) -> timedelta:
        """Return the age at which the data shown is stale: its coordinator's rule."""
        return self.coordinator.stale_after

    def _load_restored(self, data: Mapping[str, Any]) -> CloudData | None:
        """Parse what `extra_restore_state_data` stored."""
        return CloudData.from_dict(data)

    async def async_added_to_hass(self) -> None:
        """Restore the last value shown and the time of its data."""
        await super().async_added_to_hass()
        if (extra := await self.async_get_last_extra_data()) is not None:
            restored = self._load_restored(extra.as_dict())
            if restored is not None and restored.updated is not None:
                self._restored = restored

    @property
    def restored(self) -> CloudData | None:
        """Return the restored data while no live data exists and it is fresh."""
        restored = self._restored
        if restored is None or self._live_updated() is not None:
            return None
        return restored if is_fresh(restored.updated, self._stale_after) else None

    @property
    def data_updated(self) -> datetime | None:
        """Return the time of the data shown: live, else restored."""
        live = self._live_updated()
        if live is not None or self._restored is None:
            return live
        return self._restored.updated

    @property
    def available(self) -> bool:
        """Return whether the data shown (live or restored) is fresh."""
        return is_fresh(self.data_updated, self._stale_after)

    @callback
    def _handle_coordinator_update(self) -> None:
        log_freshness(self.coordinator, self._owner, self.data_updated, self._stale_after)
        super()._handle_coordinator_update()

    @property
    def extra_restore_state_data(self) -> ExtraStoredData:
        """Store the value shown and the time of its data."""
        return CloudData(self._shown_value(), self.data_updated)


class PlantEntity(CloudDataEntity[PlantCoordinator]):
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
    def _owner(self) -> str:
        return f"plant {self.plant_code}"

    @property
    def plant_state(self) -> PlantState | None:
        """Return this plant's latest values."""
        return (self.coordinator.data or {}).get(self.plant_code)

    def _live_updated(self) -> datetime | None:
        return None if (state := self.plant_state) is None else state.updated


class DeviceEntity(CloudDataEntity[DeviceCoordinator]):
    """An entity of a physical device, fed by the device coordinator."""

    def __init__(
        self, entry: FusionSolarConfigEntry, device: Device, description: EntityDescription
    ) -> None:
        """Initialize the device entity."""
        super().__init__(entry.runtime_data.devices, description, device.key)
        self.device = device
        self._attr_device_info = device_info(device)

    @property
    def _owner(self) -> str:
        return f"{self.device.name or self.device.key} ({self.device.key})"

    @property
    def device_state(self) -> DeviceState | None:
        """Return this device's latest values."""
        return (self.coordinator.data or {}).get(self.device.key)

    def _live_updated(self) -> datetime | None:
        return None if (state := self.device_state) is None else state.updated


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


def async_add_described_device_entities[DescriptionT: EntityDescription](
    entry: FusionSolarConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
    descriptions: Mapping[DeviceKind, Iterable[DescriptionT]],
    entity_for: Callable[[FusionSolarConfigEntry, Device, DescriptionT], Entity],
) -> None:
    """Add an entity per description of each device's kind, now and for later devices."""
    async_add_device_entities(
        entry,
        async_add_entities,
        lambda device: [
            entity_for(entry, device, description)
            for description in descriptions.get(device.kind, ())
        ],
    )


def async_add_control_entities(
    entry: FusionSolarConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
    kind: DeviceKind,
    entity_for: Callable[[FusionSolarConfigEntry, Device], Entity],
    *,
    v7_only: bool = False,
) -> None:
    """Add a control entity per device of `kind`, once the account has control."""
    async_when_ready(
        entry,
        lambda: can_control(entry, v7_only=v7_only),
        lambda: async_add_device_entities(
            entry,
            async_add_entities,
            lambda device: [entity_for(entry, device)] if device.kind is kind else [],
        ),
    )


def async_when_ready(
    entry: FusionSolarConfigEntry, ready: Callable[[], bool], start: Callable[[], None]
) -> None:
    """Call `start` now if `ready()`, else after the first refresh that makes it so.

    Entities that need a capability (e.g. V7 for control) are only created once the
    account has it; an account that gains it later gets them then.
    """
    if ready():
        start()
        return
    runtime = entry.runtime_data
    unsubscribe: list[Callable[[], None]] = []

    @callback
    def stop_waiting() -> None:
        while unsubscribe:
            unsubscribe.pop()()

    @callback
    def check() -> None:
        if unsubscribe and ready():
            stop_waiting()
            start()

    unsubscribe.extend(
        coordinator.async_add_listener(check) for coordinator in (runtime.metadata, runtime.plants)
    )
    entry.async_on_unload(stop_waiting)


# ---------------------------- issue 18: moved from alarms.py (the base of alarm entities)


class PlantScopedEntity[CoordinatorT: FusionSolarCoordinator[Any]](FusionSolarEntity[CoordinatorT]):
    """An entity on a plant's device, fed by any coordinator (alarms, tasks, history)."""

    def __init__(
        self,
        coordinator: CoordinatorT,
        entry: FusionSolarConfigEntry,
        plant_code: str,
        description: EntityDescription,
    ) -> None:
        """Initialize the entity on the plant's device."""
        super().__init__(coordinator, description, plant_code)
        self.plant_code = plant_code
        plant = entry.runtime_data.metadata.data.plants.get(plant_code)
        self._attr_device_info = plant_device_info(plant_code, plant)


class AlarmEntity(PlantScopedEntity[AlarmCoordinator]):
    """An entity of a plant, fed by the alarm coordinator."""

    @property
    def available(self) -> bool:
        """Return whether the alarm list was fetched (or restored)."""
        data = self.coordinator.data
        return super().available and data is not None and not data.pending

    @property
    def plant_alarms(self) -> list[Alarm]:
        """Return this plant's active alarms."""
        return self.coordinator.data.for_plant(self.plant_code) if self.coordinator.data else []


def alarm_entities[EntityT: AlarmEntity](
    entry: FusionSolarConfigEntry,
    factory: type[EntityT],
    descriptions: tuple[EntityDescription, ...],
) -> list[EntityT]:
    """Build an alarm entity per plant and description (none without alarm polling)."""
    if (coordinator := entry.runtime_data.alarms) is None:
        return []
    return [
        factory(coordinator, entry, code, description)
        for code in selected_plants(entry)
        for description in descriptions
    ]
