"""One freshness rule per data kind (issues 16 item 8 and 18 item 3).

An entity is available while its data is younger than its coordinator's `stale_after`:
twenty minutes for data read every refresh, two reads and a refresh for data the quota
reads less often (device types taking turns on a large account, hourly plant KPIs).
"""

from __future__ import annotations

from datetime import timedelta
from functools import partial

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er

from custom_components.fusionsolar import account as account_module
from custom_components.fusionsolar.api import Endpoint, QuotaGovernor
from custom_components.fusionsolar.const import DOMAIN
from tests.conftest import advance, entity_id_of, setup_integration
from tests.harness.dayrun import Scenario, start_run
from tests.harness.scenarios import FIELD_SIMULATOR
from tests.simulator.pytest_plugin import SimulatorFactory

START = "2025-06-02 10:02:00+00:00"
ALL_KINDS = ["inverter", "string_inverter", "battery", "meter", "power_sensor", "emi"]


@pytest.fixture(autouse=True)
def frozen(freezer: FrozenDateTimeFactory) -> None:
    """Start every test at the same time (before the simulator starts)."""
    freezer.move_to(START)


async def _refreshes(hass: HomeAssistant, freezer: FrozenDateTimeFactory, count: int) -> None:
    """Run `count` cloud refreshes minute by minute (continuations run on time)."""
    for _ in range(5 * count):
        await advance(hass, freezer, 60)


def _unavailable_transitions(hass: HomeAssistant, entity_ids: set[str]) -> list[str]:
    """Collect the entities that go from a value to unavailable from now on."""
    seen: list[str] = []

    @callback
    def _changed(event: Event[EventStateChangedData]) -> None:
        old, new = event.data["old_state"], event.data["new_state"]
        if event.data["entity_id"] not in entity_ids or old is None or new is None:
            return
        if new.state == STATE_UNAVAILABLE and old.state != STATE_UNAVAILABLE:
            seen.append(event.data["entity_id"])

    hass.bus.async_listen("state_changed", _changed)
    return seen


async def test_item16_8_device_types_taking_turns_stay_available(
    hass: HomeAssistant,
    simulator_factory: SimulatorFactory,
    freezer: FrozenDateTimeFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A quota that reads each device type only every 30 minutes keeps its entities up.

    One call of real-time device data per 5 minutes and six device types: each type has
    its turn every sixth refresh. Before, every device entity went unavailable once its
    data was 20 minutes old, for the last ten minutes of each turn.
    """
    slow = partial(QuotaGovernor, margin=240.0, limits={Endpoint.DEV_REAL_KPI: 1})
    monkeypatch.setattr(account_module, "QuotaGovernor", slow)
    sim = await simulator_factory(alarm_rate_per_day=0, devices=ALL_KINDS)
    entry = await setup_integration(hass, sim, poll_alarms=False)
    devices = entry.runtime_data.devices
    assert len(devices.groups()) == 6
    assert devices.read_every == timedelta(minutes=30)
    assert devices.stale_after == timedelta(minutes=65)

    await _refreshes(hass, freezer, 7)  # every type had its turn
    registry = er.async_get(hass)
    watched = {
        entity.entity_id
        for entity in registry.entities.values()
        if entity.platform == DOMAIN
        and entity.domain == "sensor"
        and entity.device_id is not None
        and any(device.sn and device.sn in entity.unique_id for device in sim.plants[0].devices)
        and hass.states.get(entity.entity_id) is not None
    }
    assert len(watched) > 20
    assert all(hass.states.get(e).state != STATE_UNAVAILABLE for e in watched)  # type: ignore[union-attr]
    went = _unavailable_transitions(hass, watched)

    await _refreshes(hass, freezer, 18)  # three rounds of turns
    assert went == []
    assert devices.achieved_interval == timedelta(minutes=30)

    # No more device data at all: stale after two missed turns and a refresh.
    sim.faults.add("getDevRealKpi", "http_status", count=0, status=500)
    await _refreshes(hass, freezer, 15)
    assert set(went) == watched


async def test_item18_3_hourly_plant_kpis_go_stale_by_their_own_time(
    hass: HomeAssistant, simulator_factory: SimulatorFactory, freezer: FrozenDateTimeFactory
) -> None:
    """With V7, income comes from the hourly plant KPIs: its freshness is theirs.

    Before, every refresh stamped the hour-old KPIs with the time of the power flow, so
    income stayed available (and frozen) however long the hourly KPIs failed.
    """
    sim = await simulator_factory(alarm_rate_per_day=0)
    entry = await setup_integration(hass, sim, poll_alarms=False)
    code = sim.plants[0].code
    income = entity_id_of(hass, "sensor", f"{code}_income_today")
    pv_power = entity_id_of(hass, "sensor", f"{code}_pv_power")
    await _refreshes(hass, freezer, 1)
    assert hass.states.get(income).state != STATE_UNAVAILABLE  # type: ignore[union-attr]
    plants = entry.runtime_data.plants
    assert plants.hourly_stale_after == timedelta(minutes=125)

    sim.faults.add("getStationRealKpi", "http_status", count=0, status=500)
    await _refreshes(hass, freezer, 22)  # 11:57: the 11:02 read failed
    assert hass.states.get(income).state != STATE_UNAVAILABLE  # type: ignore[union-attr]
    await _refreshes(hass, freezer, 3)  # 12:12: the 12:02 read failed too: stale
    assert hass.states.get(income).state == STATE_UNAVAILABLE  # type: ignore[union-attr]
    assert hass.states.get(pv_power).state != STATE_UNAVAILABLE  # type: ignore[union-attr]
    assert entry.runtime_data.metadata.last_update_success  # the lists are fine

    sim.faults.clear()
    await _refreshes(hass, freezer, 11)  # 13:07, after the 13:02 read
    assert hass.states.get(income).state != STATE_UNAVAILABLE  # type: ignore[union-attr]


async def test_item16_2_hourly_plant_kpis_read_every_batch_within_the_hour(
    hass: HomeAssistant, simulator_factory: SimulatorFactory, freezer: FrozenDateTimeFactory
) -> None:
    """101 plants on the field profile (one getStationRealKpi call a minute): the hourly
    plant KPIs (income) of the second batch are read minutes after the first, each hour.

    Before, the second batch waited for the next hour (500 plants: each plant's income
    was read every 5 hours and unavailable most of the day).
    """
    scenario = Scenario(
        "issue16-hourly-kpi-batches",
        plants=101,
        profile="field",
        hours=3.0,
        restarts=(),
        simulator={**FIELD_SIMULATOR, "devices": ["inverter"], "alarm_rate_per_day": 0.0},
    )
    run = await start_run(hass, freezer, simulator_factory, scenario)
    result = await run.run()

    assert result["calls_hourly"][Endpoint.STATION_REAL_KPI][1:] == [2, 2]
    stale = [m for m in result["logs"]["messages"] if "(hourly KPIs)" in m["msg"]]
    assert stale == []
    refused = result["refusals"]["per_endpoint"].get(Endpoint.STATION_REAL_KPI, [])
    assert [hour for hour in refused if hour > 0.1] == [], result["refusals"]


async def test_item16_8_a_reload_continues_the_device_types_turns(
    hass: HomeAssistant,
    simulator_factory: SimulatorFactory,
    freezer: FrozenDateTimeFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """After a reload the device type read least recently goes first, as before it.

    Before, a reload started the turns again in the list's order: the type whose turn
    was next waited a whole round more (field-500 benchmark: 100 batteries unavailable
    after the reload).
    """
    slow = partial(QuotaGovernor, margin=240.0, limits={Endpoint.DEV_REAL_KPI: 1})
    monkeypatch.setattr(account_module, "QuotaGovernor", slow)
    sim = await simulator_factory(alarm_rate_per_day=0, devices=ALL_KINDS)
    entry = await setup_integration(hass, sim, poll_alarms=False)
    await _refreshes(hass, freezer, 8)  # every type read, the first two twice
    before = {key: state.updated for key, state in entry.runtime_data.devices.data.items()}
    oldest = {key for key, updated in before.items() if updated == min(before.values())}

    assert await hass.config_entries.async_reload(entry.entry_id)
    await _refreshes(hass, freezer, 2)  # the quota's next calls
    after = {key: state.updated for key, state in entry.runtime_data.devices.data.items()}
    assert {key for key, updated in after.items() if updated == min(after.values())} == oldest
