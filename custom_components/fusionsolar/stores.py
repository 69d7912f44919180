"""The stores of one config entry: one key scheme, and one place that removes them all.

Each kind of state kept across restarts (reported alarms, forced charge/discharge
tasks, learned history offsets, plant and device lists) has its own store per config
entry, `fusionsolar.<kind>.<entry id>`. The account's learned quota is kept per
account (see `account.py`), not here.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers.storage import Store

from .const import DOMAIN

STORAGE_VERSION = 1


class EntryStore(StrEnum):
    """The kinds of state a config entry keeps across restarts."""

    ALARMS = "alarms"
    DISPATCH = "dispatch"
    HISTORY = "history"
    LISTS = "lists"


def entry_store_key(kind: EntryStore, entry_id: str) -> str:
    """Return the storage key of one kind of an entry's state."""
    return f"{DOMAIN}.{kind}.{entry_id}"


def entry_store(hass: HomeAssistant, kind: EntryStore, entry_id: str) -> Store[dict[str, Any]]:
    """Return the store of one kind of an entry's state."""
    return Store(hass, STORAGE_VERSION, entry_store_key(kind, entry_id))


async def async_remove_entry_stores(hass: HomeAssistant, entry_id: str) -> None:
    """Delete every store of a removed config entry."""
    for kind in EntryStore:
        await entry_store(hass, kind, entry_id).async_remove()
