"""Merging plant and device lists: one odd answer loses nothing (issue 16 items 5 and 6)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from homeassistant.core import HomeAssistant

from custom_components.fusionsolar.api import Device, Plant
from custom_components.fusionsolar.lists import ListStore, Metadata, merge_lists
from custom_components.fusionsolar.stores import EntryStore, entry_store_key

NOW = datetime(2025, 6, 2, 10, tzinfo=UTC)
PLANTS = {"NE=1": Plant("NE=1"), "NE=2": Plant("NE=2")}
INVERTER = Device(id="11", dn="NE=11", plant_code="NE=1", dev_type_id=38, sn="HV1")
METER = Device(id="12", dn="NE=12", plant_code="NE=2", dev_type_id=17, sn="DT2")
SELECTED = ["NE=1", "NE=2"]


def _good() -> Metadata:
    devices = {device.key: device for device in (INVERTER, METER)}
    return Metadata(plants=dict(PLANTS), devices=devices, lists_fetched=NOW)


def test_item16_6_a_list_without_ids_keeps_the_previous_ids() -> None:
    """V7 devices only (getDevList refused or null): the legacy ids stay."""
    v7_only = [replace(device, id=None) for device in (INVERTER, METER)]
    merged, removed = merge_lists(_good(), dict(PLANTS), v7_only, SELECTED, NOW)
    assert merged.devices == {"HV1": INVERTER, "DT2": METER}
    assert removed == set()


def test_item16_6_an_empty_device_list_keeps_the_devices_polled() -> None:
    merged, _ = merge_lists(_good(), dict(PLANTS), [], SELECTED, NOW)
    assert merged.devices == {"HV1": INVERTER, "DT2": METER}
    assert set(merged.absent) == {"HV1", "DT2"}


def test_item16_5_a_missing_plant_is_kept_then_removed() -> None:
    """Missing once: kept, not polled. Missing from two answers over a day: removed."""
    only_first = {"NE=1": PLANTS["NE=1"]}
    merged, removed = merge_lists(_good(), only_first, [INVERTER], SELECTED, NOW)
    assert removed == set()
    assert merged.retained == {"DT2": METER}
    assert "DT2" not in merged.devices
    assert merged.known >= {"NE=2", "DT2"}

    later = NOW + timedelta(hours=12)
    merged, removed = merge_lists(merged, only_first, [INVERTER], SELECTED, later)
    assert removed == set()
    merged, removed = merge_lists(merged, only_first, [INVERTER], SELECTED, NOW + timedelta(days=1))
    assert removed == {"NE=2", "DT2"}
    assert merged.known == {"NE=1", "HV1"}


def test_devices_of_plants_no_longer_selected_go_at_once() -> None:
    merged, removed = merge_lists(_good(), {"NE=1": PLANTS["NE=1"]}, [INVERTER], ["NE=1"], NOW)
    assert merged.known == {"NE=1", "HV1"}
    assert removed == set()


def test_no_selected_plant_listed_is_taken_for_a_hiccup() -> None:
    merged, _ = merge_lists(_good(), {}, [], SELECTED, NOW)
    assert merged.plants == PLANTS
    assert merged.devices == {"HV1": INVERTER, "DT2": METER}


def test_item16_6_devices_of_pending_plants_are_kept_as_they_were() -> None:
    """The device list of NE=2 did not arrive (quota): its meter stays polled, not absent."""
    merged, removed = merge_lists(
        _good(), dict(PLANTS), [INVERTER], SELECTED, NOW + timedelta(hours=1), pending=["NE=2"]
    )
    assert merged.devices == {"HV1": INVERTER, "DT2": METER}
    assert merged.absent == {}
    assert removed == set()
    assert merged.lists_fetched == NOW  # not complete: fetched again soon


async def test_stored_lists_round_trip_and_unreadable_lists_are_fetched_again(
    hass: HomeAssistant, hass_storage: dict[str, Any]
) -> None:
    store = ListStore(hass, "entry")
    await store.async_save(_good())
    assert await store.async_load(SELECTED) == _good()

    key = entry_store_key(EntryStore.LISTS, "entry")
    stored = hass_storage[key]["data"]
    for broken in (
        {**stored, "lists_fetched": "yesterday"},  # not a date
        {**stored, "absent": {"DT2": {"since": NOW.isoformat()}}},  # no answers
        {**stored, "plants": [{"name": "no code"}]},
    ):
        hass_storage[key]["data"] = broken
        store = ListStore(hass, "entry")  # a new start reads the file again
        assert await store.async_load(SELECTED) is None
