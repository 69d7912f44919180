"""Plant and device lists: merged so that one odd answer loses nothing, and stored.

* A device the new list gives without its legacy id (a degraded `getDevList`
  answer) keeps the id of the previous list; a device missing from the answer
  while its plant is listed is kept and still polled.
* A plant or device missing from the lists is kept (its devices not polled) until
  it was missing from at least `ABSENT_ANSWERS_TO_REMOVE` answers over at least
  `REMOVE_AFTER`, or the user confirmed the removal (the plant_removed repair).
* The lists are stored, so that a restart starts from them at once.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import datetime, timedelta
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util

from .api import Device, Plant, StationRealtimeKpi
from .const import LOGGER
from .stores import EntryStore, entry_store

REMOVE_AFTER = timedelta(days=1)
ABSENT_ANSWERS_TO_REMOVE = 2


@dataclass(slots=True)
class Absence:
    """Since when, and in how many list answers, a plant or device was missing."""

    since: datetime
    answers: int = 1


@dataclass(slots=True)
class Metadata:
    """Plants, devices and the slow legacy plant KPIs."""

    plants: dict[str, Plant] = field(default_factory=dict)
    devices: dict[str, Device] = field(default_factory=dict)
    station: dict[str, StationRealtimeKpi] = field(default_factory=dict)
    # When each plant's legacy KPIs were read (their data's time).
    station_read: dict[str, datetime] = field(default_factory=dict)
    lists_fetched: datetime | None = None
    # Devices of plants missing from the latest lists: kept, not polled.
    retained: dict[str, Device] = field(default_factory=dict)
    # Plant codes and device keys missing from the latest lists.
    absent: dict[str, Absence] = field(default_factory=dict)

    @property
    def known(self) -> set[str]:
        """Identifiers whose registry devices stay."""
        return {*self.plants, *self.devices, *self.retained, *self.absent}


def merge_lists(
    previous: Metadata,
    plants: dict[str, Plant],
    devices: list[Device],
    selected: list[str],
    now: datetime,
    *,
    pending: Collection[str] = (),
) -> tuple[Metadata, set[str]]:
    """Return the new lists and the identifiers now removed for good.

    ``pending`` plants' device lists did not arrive (quota, ``data: null``): their devices
    are kept as they were, and the lists count as fetched only when nothing is pending.
    """
    if not plants:
        plants = previous.plants  # no selected plant listed: more likely a hiccup
    fetched = {device.key: device for device in devices}
    before = {
        key: device
        for key, device in {**previous.retained, **previous.devices}.items()
        if device.plant_code is None or device.plant_code in selected
    }
    for key, device in fetched.items():
        if device.id is None and (old := before.get(key)) is not None and old.id is not None:
            fetched[key] = replace(device, id=old.id)
    had_plants = previous.plants.keys() | previous.absent.keys()
    missing = [code for code in selected if code not in plants and code in had_plants]
    for key, device in before.items():
        if device.plant_code in pending and key not in fetched:
            fetched[key] = device
    missing += [key for key in before if key not in fetched]
    fetched_at = previous.lists_fetched if pending else now
    metadata = Metadata(
        plants=plants,
        devices=fetched,
        station=previous.station,
        station_read=previous.station_read,
        lists_fetched=fetched_at,
    )
    removed: set[str] = set()
    for identifier in missing:
        earlier = previous.absent.get(identifier)
        absence = Absence(earlier.since, earlier.answers + 1) if earlier else Absence(now)
        if absence.answers >= ABSENT_ANSWERS_TO_REMOVE and now - absence.since >= REMOVE_AFTER:
            removed.add(identifier)
            continue
        metadata.absent[identifier] = absence
        if (kept := before.get(identifier)) is not None:
            if kept.plant_code in plants:
                metadata.devices[identifier] = kept
            else:
                metadata.retained[identifier] = kept
    return metadata, removed


class ListStore:
    """The lists of one config entry, kept across restarts."""

    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        """Initialize the store."""
        self._store = entry_store(hass, EntryStore.LISTS, entry_id)

    async def async_load(self, selected: list[str]) -> Metadata | None:
        """Return the stored lists of the selected plants, if any."""
        try:
            stored = await self._store.async_load()
            return _from_json(stored, selected) if stored else None
        except (KeyError, TypeError, ValueError) as err:
            LOGGER.debug("Stored plant and device lists unreadable: %s", err)
            return None

    async def async_save(self, metadata: Metadata) -> None:
        """Store the lists (they change about once a day)."""
        await self._store.async_save(_to_json(metadata))


def _to_json(metadata: Metadata) -> dict[str, Any]:
    def plant(item: Plant) -> dict[str, Any]:
        data = asdict(item)
        if (connected := item.grid_connection_date) is not None:
            data["grid_connection_date"] = connected.isoformat()
        return data

    return {
        "plants": [plant(item) for item in metadata.plants.values()],
        "devices": [asdict(item) for item in metadata.devices.values()],
        "retained": [asdict(item) for item in metadata.retained.values()],
        "absent": {
            key: {"since": absence.since.isoformat(), "answers": absence.answers}
            for key, absence in metadata.absent.items()
        },
        "lists_fetched": metadata.lists_fetched.isoformat() if metadata.lists_fetched else None,
    }


def _from_json(data: dict[str, Any], selected: list[str]) -> Metadata | None:
    plants = {item.code: item for item in map(_plant, data["plants"]) if item.code in selected}
    absent = {
        key: Absence(_datetime(value["since"]), int(value["answers"]))
        for key, value in data.get("absent", {}).items()
    }
    if not plants or any(code not in plants and code not in absent for code in selected):
        return None  # the selection changed: fetch the lists first

    def devices(key: str) -> dict[str, Device]:
        items = (_fields(Device, raw) for raw in data.get(key, []))
        return {
            device.key: device
            for device in (Device(**item) for item in items)
            if device.plant_code is None or device.plant_code in selected
        }

    fetched = data.get("lists_fetched")
    return Metadata(
        plants=plants,
        devices=devices("devices"),
        retained=devices("retained"),
        absent=absent,
        lists_fetched=_datetime(fetched) if fetched else None,
    )


def _plant(raw: dict[str, Any]) -> Plant:
    item = _fields(Plant, raw)
    if (connected := item.get("grid_connection_date")) is not None:
        item["grid_connection_date"] = _datetime(connected)
    return Plant(**item)


def _fields(cls: type[Any], raw: dict[str, Any]) -> dict[str, Any]:
    names = {item.name for item in fields(cls)}
    return {key: value for key, value in raw.items() if key in names}


def _datetime(value: str) -> datetime:
    parsed = dt_util.parse_datetime(value)
    if parsed is None:
        raise ValueError(f"not a date and time: {value!r}")
    return parsed
