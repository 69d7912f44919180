"""Event entities: an alarm raised or cleared on a plant."""

from __future__ import annotations

from homeassistant.components.event import EventEntity, EventEntityDescription
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .alarms import alarm_attributes
from .coordinator import FusionSolarConfigEntry
from .entity import AlarmEntity, alarm_entities

PARALLEL_UPDATES = 0

ALARM_RAISED = "alarm_raised"
ALARM_CLEARED = "alarm_cleared"

ALARM_EVENTS = EventEntityDescription(
    key="alarms",
    translation_key="alarms",
    event_types=[ALARM_RAISED, ALARM_CLEARED],
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: FusionSolarConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Set up an alarm event entity per plant."""
    async_add_entities(alarm_entities(entry, AlarmEventEntity, (ALARM_EVENTS,)))


class AlarmEventEntity(AlarmEntity, EventEntity):
    """Fires once for each new alarm of the plant, and once when it clears."""

    @callback
    def _handle_coordinator_update(self) -> None:
        """Fire the events of the latest alarm update."""
        if (data := self.coordinator.data) is not None:
            for event_type, alarms in ((ALARM_RAISED, data.raised), (ALARM_CLEARED, data.cleared)):
                for alarm in alarms:
                    if alarm.plant_code == self.plant_code:
                        self._trigger_event(event_type, alarm_attributes(alarm))
                        self.async_write_ha_state()
        super()._handle_coordinator_update()
