"""The alarm coordinator: `getAlarmList` polled within its 1/min quota.

The alarm list is polled every cloud refresh, a little after the plant and device
coordinators. Each update compares the active alarms with the ones seen before
(kept in storage, so a restart neither repeats nor loses a notification) and
reports what was raised and cleared; the event entity turns that into events.
The first poll after the integration is added only learns the alarms already
active: events are for new alarms. A reload or restart shows the stored alarms at
once and, when the alarm minute is used up, polls as soon as the quota allows.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util

from ..alarms import AlarmData, alarm_language, restored_alarm, stored_alarm
from ..api import Alarm, FusionSolarError, QuotaWouldExceed
from ..const import CONF_POLL_ALARMS, DEFAULT_POLL_ALARMS, LOGGER, STALE_AFTER
from ..stores import EntryStore, entry_store
from .base import FusionSolarCoordinator, MetadataCoordinator, queried_plants, until_next_poll

SAVE_DELAY = 10
# The time of the last poll only matters after a restart: saved with the next change,
# at the next unload or when Home Assistant stops, whichever comes first.
POLL_TIME_SAVE_DELAY = 3600
# Alarms raised earlier than this are not asked for (an older alarm still active
# is not reported). The query is one call per 100 plants whatever the window.
ALARM_LOOKBACK = timedelta(days=30)
# Poll after the plant and device coordinators (they poll POLL_OFFSET after each refresh).
ALARM_DELAY = timedelta(seconds=15)


class AlarmCoordinator(FusionSolarCoordinator[AlarmData]):
    """Active alarms of the selected plants, every cloud refresh."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        metadata: MetadataCoordinator,
    ) -> None:
        """Initialize the coordinator."""
        super().__init__(hass, entry, metadata.account, "alarms", self._next_poll())
        self._metadata = metadata
        self._store = entry_store(hass, EntryStore.ALARMS, entry.entry_id)
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


async def async_create_alarm_coordinator(
    hass: HomeAssistant, entry: ConfigEntry, metadata: MetadataCoordinator
) -> AlarmCoordinator | None:
    """Create the alarm coordinator if the user wants alarms and the account can list them."""
    if not entry.options.get(CONF_POLL_ALARMS, DEFAULT_POLL_ALARMS):
        return None
    if not metadata.account.client.families.legacy:
        return None
    coordinator = AlarmCoordinator(hass, entry, metadata)
    await coordinator.async_load()
    return coordinator
