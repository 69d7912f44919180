"""Issue 16, no silent data loss: one failing part never takes the others down."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.fusionsolar.api import Endpoint
from custom_components.fusionsolar.coordinator import cloud_slot
from tests.conftest import advance as _advance
from tests.conftest import device_states as _entity_states
from tests.conftest import find_device
from tests.conftest import repair_issues as _issues
from tests.conftest import setup_integration as _setup
from tests.simulator import Simulator
from tests.simulator.pytest_plugin import SimulatorFactory

START = "2025-06-02 10:02:00+00:00"


@pytest.fixture(autouse=True)
def frozen(freezer: FrozenDateTimeFactory) -> None:
    """Start every test at the same time (before the simulator starts)."""
    freezer.move_to(START)


async def _polls(hass: HomeAssistant, freezer: FrozenDateTimeFactory, count: int) -> None:
    """Run `count` cloud refreshes, each with the retries a quota window after it."""
    for _ in range(count):
        await _advance(hass, freezer, 210)
        await _advance(hass, freezer, 90)


async def _refresh_lists(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    entry: MockConfigEntry,
    after: timedelta = timedelta(seconds=61),
) -> None:
    """Fetch the lists again (the plant list allows one call a minute)."""
    freezer.tick(after)
    await entry.runtime_data.metadata.async_refresh_lists()
    await _advance(hass, freezer, 11)  # past the debouncer's cooldown


def _device_of(sim: Simulator, kind: str, plant: int = 0) -> Any:
    return next(device for device in sim.plants[plant].devices if device.kind == kind)


def _slot() -> Any:
    return cloud_slot(dt_util.utcnow())


async def _lose_plant(hass: HomeAssistant, sim: Simulator, entry: MockConfigEntry) -> None:
    """The account loses the second plant (no public simulator helper for this)."""
    sim._account_plants[sim.username] = {sim.plants[0].code}


async def test_item16_3_refused_device_type_does_not_block_the_others(
    hass: HomeAssistant,
    sim: Simulator,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A device type the account may not read is backed off; the others keep updating."""
    sim.faults.add("getDevRealKpi", "fail_code", count=0, fail_code=20013, match={"devTypeId": 39})
    with caplog.at_level(logging.INFO):
        entry = await _setup(hass, sim)
        await _polls(hass, freezer, 6)
    devices = entry.runtime_data.devices
    slot = _slot()
    for kind in ("inverter", "meter"):
        device = _device_of(sim, kind)
        assert devices.data[device.sn].updated == slot
        states = _entity_states(hass, device.sn)
        assert states
        assert STATE_UNAVAILABLE not in states
    assert _device_of(sim, "battery").sn not in devices.data
    # Backed off: not asked again every refresh.
    assert sim.calls.count("getDevRealKpi", fail_code=20013) == 1
    (issue,) = _issues(hass, "endpoint_refused")
    assert issue.translation_placeholders is not None
    assert "39" in issue.translation_placeholders["endpoint"]
    warnings = [
        r
        for r in caplog.records
        if r.levelno >= logging.WARNING
        and r.name.startswith("custom_components.fusionsolar")
        and "39" in r.message
    ]
    assert len(warnings) == 1


async def test_item16_3_refused_device_type_is_asked_again_later(
    hass: HomeAssistant, sim: Simulator, freezer: FrozenDateTimeFactory
) -> None:
    """Once the account may read the type again, its data comes back and the issue goes."""
    sim.faults.add("getDevRealKpi", "fail_code", count=0, fail_code=20013, match={"devTypeId": 39})
    entry = await _setup(hass, sim)
    sim.faults.clear()
    await _polls(hass, freezer, 24)  # two hours
    battery = _device_of(sim, "battery")
    assert entry.runtime_data.devices.data[battery.sn].updated == _slot()
    assert _issues(hass, "endpoint_refused") == []


async def test_item16_4_plant_losing_access_keeps_the_others(
    hass: HomeAssistant, simulator_factory: SimulatorFactory, freezer: FrozenDateTimeFactory
) -> None:
    """20007 on the plant batch and 20008 on the device batch: the lists are fetched again
    early, the lost plant is dropped from the calls, the other plant keeps its data."""
    sim = await simulator_factory(plants=2, alarm_rate_per_day=0)
    entry = await _setup(hass, sim)
    await _advance(hass, freezer, 60)
    await _lose_plant(hass, sim, entry)
    await _polls(hass, freezer, 6)

    runtime = entry.runtime_data
    kept = sim.plants[0].code
    slot = _slot()
    assert runtime.plants.last_update_success
    assert runtime.plants.data[kept].updated == slot
    inverter = _device_of(sim, "inverter")
    assert runtime.devices.data[inverter.sn].updated == slot
    assert STATE_UNAVAILABLE not in _entity_states(hass, kept)
    assert STATE_UNAVAILABLE not in _entity_states(hass, inverter.sn)
    # The lists were fetched once more, not every refresh.
    assert sim.calls.count(Endpoint.V7_PLANTS) == 2
    (issue,) = _issues(hass, "plant_removed")
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["plant"] == sim.plants[1].code


async def test_item16_5_plant_missing_from_one_list_keeps_its_devices(
    hass: HomeAssistant, simulator_factory: SimulatorFactory, freezer: FrozenDateTimeFactory
) -> None:
    """A plant missing from one list answer keeps its devices and the user's names; when
    it is listed again, its devices update again without a reload."""
    sim = await simulator_factory(plants=2, alarm_rate_per_day=0)
    entry = await _setup(hass, sim)
    inverter = _device_of(sim, "inverter", plant=1)
    registry = er.async_get(hass)
    device = find_device(hass, inverter.sn)
    assert device is not None
    entity = er.async_entries_for_device(registry, device.id)[0]
    registry.async_update_entity(entity.entity_id, name="My inverter")

    await _lose_plant(hass, sim, entry)
    await _refresh_lists(hass, freezer, entry)
    assert len(_issues(hass, "plant_removed")) == 1
    for identifier in (sim.plants[1].code, inverter.sn):
        assert find_device(hass, identifier)
    renamed = registry.async_get(entity.entity_id)
    assert renamed is not None
    assert renamed.name == "My inverter"

    sim._account_plants[sim.username] = None  # access restored
    await _refresh_lists(hass, freezer, entry)
    await _polls(hass, freezer, 1)
    assert _issues(hass, "plant_removed") == []
    assert entry.runtime_data.devices.data[inverter.sn].updated == _slot()
    assert STATE_UNAVAILABLE not in _entity_states(hass, inverter.sn)


async def test_item16_5_devices_removed_after_repeated_absence_come_back(
    hass: HomeAssistant, simulator_factory: SimulatorFactory, freezer: FrozenDateTimeFactory
) -> None:
    """Absent from the lists for more than a day: removed. Listed again: added again."""
    sim = await simulator_factory(plants=2, alarm_rate_per_day=0)
    entry = await _setup(hass, sim)
    inverter = _device_of(sim, "inverter", plant=1)
    await _lose_plant(hass, sim, entry)
    for _ in range(2):
        await _refresh_lists(hass, freezer, entry, timedelta(hours=25))
    assert find_device(hass, inverter.sn) is None

    sim._account_plants[sim.username] = None
    await _refresh_lists(hass, freezer, entry)
    await _polls(hass, freezer, 2)
    states = _entity_states(hass, inverter.sn)
    assert states
    assert STATE_UNAVAILABLE not in states


async def test_item16_6_null_device_list_keeps_the_device_ids(
    hass: HomeAssistant, sim: Simulator, freezer: FrozenDateTimeFactory
) -> None:
    """`getDevList` answering `data: null` at the list refresh keeps the good list."""
    entry = await _setup(hass, sim)
    sim.faults.add("getDevList", "data_null", count=1)
    await _refresh_lists(hass, freezer, entry)
    assert sim.calls.count("getDevList") == 2
    devices = entry.runtime_data.metadata.data.devices
    assert all(device.id is not None for device in devices.values())
    await _polls(hass, freezer, 1)
    inverter = _device_of(sim, "inverter")
    assert entry.runtime_data.devices.data[inverter.sn].updated == _slot()


async def test_item16_6_null_device_list_after_a_reload_keeps_the_stored_list(
    hass: HomeAssistant,
    simulator_factory: SimulatorFactory,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """After a reload the stored lists stand when `getDevList` answers `data: null`.

    Before, the metadata update failed for an hour with an error in the log, though
    the stored lists were good.
    """
    sim = await simulator_factory(alarm_rate_per_day=0)
    entry = await _setup(hass, sim)
    before = dict(entry.runtime_data.metadata.data.devices)
    sim.faults.add("getDevList", "data_null", count=1)
    assert await hass.config_entries.async_reload(entry.entry_id)
    await _advance(hass, freezer, 30)
    metadata = entry.runtime_data.metadata
    assert metadata.last_update_success
    assert metadata.data.devices == before
    ours = [r for r in caplog.records if r.name.startswith("custom_components.fusionsolar")]
    assert [r.getMessage() for r in ours if r.levelno >= logging.WARNING] == []
    # The lists are asked for again once, a quota window later (before: an hour), and come.
    calls = sim.calls.count("getDevList")
    lists_read = metadata.data.lists_fetched
    await _advance(hass, freezer, 32)
    assert sim.calls.count("getDevList") == calls + 1
    assert metadata.data.lists_fetched != lists_read
    assert metadata.data.devices.keys() == before.keys()
    # Then nothing more until the lists are due (daily).
    await _advance(hass, freezer, 3600)
    assert sim.calls.count("getDevList") == calls + 1


async def test_item16_7_null_device_answer_is_asked_again_within_the_refresh(
    hass: HomeAssistant, sim: Simulator, freezer: FrozenDateTimeFactory
) -> None:
    """A `data: null` device answer is not taken for this refresh's data."""
    entry = await _setup(hass, sim)
    sim.faults.add("getDevRealKpi", "data_null", count=1, match={"devTypeId": 38})
    since = sim.now() + 1
    await _polls(hass, freezer, 1)
    inverter = _device_of(sim, "inverter")
    assert entry.runtime_data.devices.data[inverter.sn].updated == _slot()
    assert sim.calls.count("getDevRealKpi", since=since) == 4  # 3 types + 1 retry


async def test_item16_7_null_plant_answer_is_asked_again_within_the_refresh(
    hass: HomeAssistant, sim: Simulator, freezer: FrozenDateTimeFactory
) -> None:
    """A `data: null` plant answer is asked again too."""
    entry = await _setup(hass, sim)
    sim.faults.add("vpp/plantRealtimeKpi", "data_null", count=1)
    since = sim.now() + 1
    await _polls(hass, freezer, 1)
    assert entry.runtime_data.plants.data[sim.plants[0].code].updated == _slot()
    assert sim.calls.count("vpp/plantRealtimeKpi", since=since) == 2


@pytest.mark.parametrize("endpoint", ["vpp/plantRealtimeKpi", "getDevRealKpi"])
async def test_item16_7_transient_5xx_is_retried_after_the_quota_window(
    hass: HomeAssistant,
    sim: Simulator,
    freezer: FrozenDateTimeFactory,
    endpoint: str,
) -> None:
    """A 500 costs one minute, not one refresh."""
    entry = await _setup(hass, sim)
    sim.faults.add(endpoint, "http_status", count=1, status=500)
    await _polls(hass, freezer, 1)
    runtime = entry.runtime_data
    slot = _slot()
    assert runtime.plants.data[sim.plants[0].code].updated == slot
    for device in sim.plants[0].devices:
        assert runtime.devices.data[device.sn].updated == slot


async def test_item16_16_setup_starts_from_stored_lists(
    hass: HomeAssistant, sim: Simulator, freezer: FrozenDateTimeFactory
) -> None:
    """Setup does not wait for the lists: it starts from those stored last time and
    fetches them again in the background."""
    entry = await _setup(hass, sim)
    before = dict(entry.runtime_data.metadata.data.devices)
    account = entry.runtime_data.account
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    account.forget_plants()

    # The lists cannot be fetched now: setup works from the stored ones.
    for name in ("pvms/v1/plants", "getDevList", "pvms/v1/devices"):
        sim.faults.add(name, "http_status", count=0, status=500)
    freezer.tick(61)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert entry.state is ConfigEntryState.LOADED
    runtime = entry.runtime_data
    assert runtime.metadata.data.devices == before
    inverter = _device_of(sim, "inverter")
    assert runtime.devices.data[inverter.sn].updated == _slot()
    assert sim.calls.count(Endpoint.V7_PLANTS, since=sim.now() - 1) >= 1  # asked in the background


async def test_item16_4_device_gone_from_the_account_stops_blocking_its_type(
    hass: HomeAssistant, simulator_factory: SimulatorFactory, freezer: FrozenDateTimeFactory
) -> None:
    """20008 for a device the lists no longer have: it is not asked for again, while
    a device missing from a degraded list (no refusal) is still polled."""
    sim = await simulator_factory(alarm_rate_per_day=0, devices=["inverter", "inverter", "meter"])
    entry = await _setup(hass, sim)
    await _advance(hass, freezer, 60)
    gone, kept = [d for d in sim.plants[0].devices if d.kind == "inverter"]
    # The account loses one inverter (no public simulator helper for this).
    sim.plants[0].devices.remove(gone)
    del sim._devices_by_id[gone.dev_id]
    await _polls(hass, freezer, 2)

    devices = entry.runtime_data.devices
    assert devices.data[kept.sn].updated == _slot()
    assert STATE_UNAVAILABLE not in _entity_states(hass, kept.sn)
    assert sim.calls.count("getDevRealKpi", fail_code=20008) == 1
    # Kept in the registry (with the user's names) until it stays gone for a day.
    assert find_device(hass, gone.sn) is not None
