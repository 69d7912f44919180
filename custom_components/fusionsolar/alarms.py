"""Alarms: `getAlarmList` polled within its 1/min quota, and the entities fed by it.

The alarm list is polled every cloud refresh, a little after the plant and device
coordinators. Each update compares the active alarms with the ones seen before
(kept in storage, so a restart neither repeats nor loses a notification) and
reports what was raised and cleared; the event entity turns that into events.
The first poll after the integration is added only learns the alarms already
active: events are for new alarms. A reload or restart shows the stored alarms at
once and, when the alarm minute is used up, polls as soon as the quota allows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import timedelta
from typing import Any

from homeassistant.components.binary_sensor import (
    BinarySensorDeviceClass,
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.components.sensor import (
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity import EntityDescription
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from .api import Alarm, AlarmLevel, FusionSolarError, QuotaWouldExceed
from .const import CONF_POLL_ALARMS, DEFAULT_POLL_ALARMS, DOMAIN, LOGGER, STALE_AFTER
from .coordinator import (
    FusionSolarConfigEntry,
    FusionSolarCoordinator,
    MetadataCoordinator,
    queried_plants,
    selected_plants,
    until_next_poll,
)
from .entity import FusionSolarEntity, plant_device_info

STORAGE_VERSION = 1
SAVE_DELAY = 10
# The time of the last poll only matters after a restart: saved with the next change,
# at the next unload or when Home Assistant stops, whichever comes first.
POLL_TIME_SAVE_DELAY = 3600
# Alarms raised earlier than this are not asked for (an older alarm still active
# is not reported). The query is one call per 100 plants whatever the window.
ALARM_LOOKBACK = timedelta(days=30)
# Poll after the plant and device coordinators (they poll POLL_OFFSET after each refresh).
ALARM_DELAY = timedelta(seconds=15)

# Home Assistant language (primary subtag) -> getAlarmList language (spec §3.7).
ALARM_LANGUAGES = {
    "zh": "zh_CN",
    "en": "en_UK",
    "ja": "ja_JP",
    "it": "it_IT",
    "nl": "nl_NL",
    "pt": "pt_BR",
    "de": "de_DE",
    "fr": "fr_FR",
    "es": "es_ES",
    "pl": "po_PO",
}
DEFAULT_ALARM_LANGUAGE = "en_UK"


def alarm_language(language: str | None) -> str:
    """Return the alarm language for a Home Assistant language such as `de` or `pt-BR`."""
    primary = (language or "").replace("_", "-").split("-")[0].lower()
    return ALARM_LANGUAGES.get(primary, DEFAULT_ALARM_LANGUAGE)


def alarm_attributes(alarm: Alarm) -> dict[str, Any]:
    """Describe an alarm for an event or a template."""
    return {
        "alarm_id": alarm.alarm_id,
        "alarm_name": alarm.alarm_name,
        "level": alarm.level.name.lower() if alarm.level is not None else None,
        "device": alarm.dev_name,
        "raise_time": alarm.raise_time.isoformat() if alarm.raise_time else None,
        "cause": alarm.cause,
        "repair_suggestion": alarm.repair_suggestion,
    }


def stored_alarm(alarm: Alarm) -> dict[str, Any]:
    """Return an alarm as JSON for the store."""
    return {
        **asdict(alarm),
        "level": int(alarm.level) if alarm.level is not None else None,
        "raise_time": alarm.raise_time.isoformat() if alarm.raise_time else None,
    }


def restored_alarm(stored: Any) -> Alarm | None:
    """Return an alarm from the store (None for anything malformed)."""
    if not isinstance(stored, Mapping):
        return None
    values = {name.name: stored.get(name.name) for name in fields(Alarm)}
    try:
        if values["level"] is not None:
            values["level"] = AlarmLevel(values["level"])
        if values["raise_time"] is not None:
            values["raise_time"] = dt_util.parse_datetime(values["raise_time"], raise_on_error=True)
    except (TypeError, ValueError):
        return None
    return Alarm(**values)


@dataclass(frozen=True, slots=True)
class AlarmData:
    """Active alarms by key, and what changed with the latest update.

    `pending` while nothing was fetched or stored yet (the entities are unavailable).
    """

    active: dict[str, Alarm] = field(default_factory=dict)
    raised: tuple[Alarm, ...] = ()
    cleared: tuple[Alarm, ...] = ()
    pending: bool = False

    def for_plant(self, plant_code: str) -> list[Alarm]:
        """Return the active alarms of one plant."""
        return [alarm for alarm in self.active.values() if alarm.plant_code == plant_code]


class AlarmCoordinator(FusionSolarCoordinator[AlarmData]):
    """Active alarms of the selected plants, every cloud refresh."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: FusionSolarConfigEntry,
        metadata: MetadataCoordinator,
    ) -> None:
        """Initialize the coordinator."""
        super().__init__(hass, entry, metadata.account, "alarms", self._next_poll())
        self._metadata = metadata
        self._store: Store[dict[str, Any]] = Store(hass, STORAGE_VERSION, store_key(entry))
        # Keys of the alarms already reported as active; None until known.
        self._known: set[str] | None = None
        self._active: dict[str, Alarm] = {}
        self._created = dt_util.utcnow()

    @staticmethod
    def _next_poll() -> timedelta:
        return until_next_poll(dt_util.utcnow()) + ALARM_DELAY

    async def async_load(self) -> None:
        """Restore the alarms reported before a reload or restart; show them until a poll."""
        stored = await self._store.async_load()
        if stored is None or not isinstance(keys := stored.get("active"), list):
            return
        self._known = {str(key) for key in keys}
        details = stored.get("alarms")
        alarms = [restored_alarm(item) for item in details] if isinstance(details, list) else []
        self._active = {alarm.key: alarm for alarm in alarms if alarm is not None}
        if set(self._active) == self._known:
            self.data = AlarmData(active=self._active)
            # As fresh as they were: kept through trouble like alarms polled just now.
            fetched = stored.get("fetched")
            self.last_success = (
                dt_util.parse_datetime(fetched) if isinstance(fetched, str) else None
            )

    async def _async_update_data(self) -> AlarmData:
        self.update_interval = self._next_poll()
        return await super()._async_update_data()

    async def _async_fetch(self) -> AlarmData:
        now = dt_util.utcnow()
        alarms = await self.account.client.async_get_alarms(
            queried_plants(self.config_entry, self._metadata.data),
            int((now - ALARM_LOOKBACK).timestamp() * 1000),
            int(now.timestamp() * 1000),
            language=alarm_language(self.hass.config.language),
        )
        return self._compare(alarms)

    def _keep_or_fail(self, err: FusionSolarError) -> AlarmData:
        """Keep the last alarms (reporting no change); retry as soon as the quota allows.

        A quota wait within STALE_AFTER of the last poll (or of the start, e.g. a reload
        inside the alarm minute) is routine: no error, the known alarms stay. Longer, the
        alarms are held back like any other trouble.
        """
        if isinstance(err, QuotaWouldExceed):
            retry = timedelta(seconds=max(err.retry_after, 1.0))
            self.update_interval = min(self.update_interval or retry, retry)
            if dt_util.utcnow() - (self.last_success or self._created) < STALE_AFTER:
                LOGGER.debug("%s: polling in %.0f s (%s)", self.name, retry.total_seconds(), err)
                return replace(self.data or AlarmData(pending=True), raised=(), cleared=())
        return replace(super()._keep_or_fail(err), raised=(), cleared=())

    def _compare(self, alarms: list[Alarm]) -> AlarmData:
        """Find the alarms raised and cleared since the previous update."""
        by_key = {alarm.key: alarm for alarm in alarms}
        active = {key: alarm for key, alarm in by_key.items() if alarm.active}
        known = set(active) if self._known is None else self._known
        raised = tuple(alarm for key, alarm in active.items() if key not in known)
        # A cleared alarm raised before the query window is no longer described.
        cleared = tuple(by_key[key] for key in sorted(known - set(active)) if key in by_key)
        self._active = active
        changed = self._known != set(active)
        self._known = set(active)
        self._store.async_delay_save(self._stored, SAVE_DELAY if changed else POLL_TIME_SAVE_DELAY)
        return AlarmData(active=active, raised=raised, cleared=cleared)

    def _stored(self) -> dict[str, Any]:
        return {
            "active": sorted(self._known or ()),
            "alarms": [stored_alarm(alarm) for alarm in self._active.values()],
            "fetched": self.last_success.isoformat() if self.last_success else None,
        }

    async def async_shutdown(self) -> None:
        """Save the reported alarms now: a reload reads them back at once."""
        await super().async_shutdown()
        if self._known is not None:
            await self._store.async_save(self._stored())


def store_key(entry: FusionSolarConfigEntry) -> str:
    """Return the storage key of an entry's reported alarms."""
    return f"{DOMAIN}.alarms.{entry.entry_id}"


async def async_create_alarm_coordinator(
    hass: HomeAssistant, entry: FusionSolarConfigEntry, metadata: MetadataCoordinator
) -> AlarmCoordinator | None:
    """Create the alarm coordinator if the user wants alarms and the account can list them."""
    if not entry.options.get(CONF_POLL_ALARMS, DEFAULT_POLL_ALARMS):
        return None
    if not metadata.account.client.families.legacy:
        return None
    coordinator = AlarmCoordinator(hass, entry, metadata)
    await coordinator.async_load()
    return coordinator


async def async_start_alarms(entry: FusionSolarConfigEntry) -> None:
    """Fetch the alarms once the event entities listen (a failure leaves them unavailable)."""
    if (coordinator := entry.runtime_data.alarms) is not None:
        await coordinator.async_refresh()


async def async_remove_alarm_store(hass: HomeAssistant, entry: FusionSolarConfigEntry) -> None:
    """Forget the reported alarms of a removed entry."""
    await Store[dict[str, Any]](hass, STORAGE_VERSION, store_key(entry)).async_remove()


# ----------------------------------------------------------------------------- entities


class AlarmEntity(FusionSolarEntity[AlarmCoordinator]):
    """An entity of a plant, fed by the alarm coordinator."""

    def __init__(
        self,
        coordinator: AlarmCoordinator,
        entry: FusionSolarConfigEntry,
        plant_code: str,
        description: EntityDescription,
    ) -> None:
        """Initialize the entity on the plant's device."""
        super().__init__(coordinator, description, plant_code)
        self.plant_code = plant_code
        plant = entry.runtime_data.metadata.data.plants.get(plant_code)
        self._attr_device_info = plant_device_info(plant_code, plant)

    @property
    def available(self) -> bool:
        """Return whether the alarm list was fetched (or restored)."""
        data = self.coordinator.data
        return super().available and data is not None and not data.pending

    @property
    def plant_alarms(self) -> list[Alarm]:
        """Return this plant's active alarms."""
        return self.coordinator.data.for_plant(self.plant_code) if self.coordinator.data else []


@dataclass(frozen=True, kw_only=True)
class AlarmCountDescription(SensorEntityDescription):
    """A sensor counting the active alarms of one level."""

    level: AlarmLevel


ALARM_COUNT_SENSORS = tuple(
    AlarmCountDescription(
        key=f"{level.name.lower()}_alarms",
        translation_key=f"{level.name.lower()}_alarms",
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=0,
        level=level,
    )
    for level in AlarmLevel
)

ACTIVE_ALARMS = BinarySensorEntityDescription(
    key="active_alarms",
    translation_key="active_alarms",
    device_class=BinarySensorDeviceClass.PROBLEM,
)


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


class AlarmCountSensor(AlarmEntity, SensorEntity):
    """The number of active alarms of one level on a plant."""

    entity_description: AlarmCountDescription

    @property
    def native_value(self) -> int:
        """Return the count of active alarms of this level."""
        level = self.entity_description.level
        return sum(1 for alarm in self.plant_alarms if alarm.level is level)


class ActiveAlarmsBinarySensor(AlarmEntity, BinarySensorEntity):
    """On while the plant has an active alarm."""

    @property
    def is_on(self) -> bool:
        """Return whether any alarm is active."""
        return bool(self.plant_alarms)


def alarm_sensors(entry: FusionSolarConfigEntry) -> list[AlarmCountSensor]:
    """Return the alarm count sensors of an entry."""
    return alarm_entities(entry, AlarmCountSensor, ALARM_COUNT_SENSORS)


def alarm_binary_sensors(entry: FusionSolarConfigEntry) -> list[ActiveAlarmsBinarySensor]:
    """Return the active-alarm binary sensors of an entry."""
    return alarm_entities(entry, ActiveAlarmsBinarySensor, (ACTIVE_ALARMS,))
