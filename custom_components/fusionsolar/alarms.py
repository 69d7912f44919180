"""Alarms: what the alarm list holds, in the user's language, and how it is stored.

The alarm coordinator (`coordinator/alarms.py`) polls `getAlarmList` and reports
what was raised and cleared; the entities (sensor, binary sensor, event platforms)
show it. This module holds the data they share.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from homeassistant.util import dt as dt_util

from .api import Alarm, AlarmLevel

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
