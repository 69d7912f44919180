"""Sensors and binary sensors against the simulator: values, units, Energy dashboard."""

from __future__ import annotations

import itertools
import json
import re
from datetime import timedelta
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.sensor import SensorStateClass
from homeassistant.const import STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
    async_mock_restore_state_shutdown_restart,
)
from syrupy.assertion import SnapshotAssertion

from custom_components.fusionsolar.account import DATA_ACCOUNTS
from custom_components.fusionsolar.const import DOMAIN, STALE_AFTER
from custom_components.fusionsolar.sensor import ALARM_COUNT_SENSORS, DEVICE_SENSORS, PLANT_SENSORS
from tests.conftest import PLANT, SUNNY, entry_for, next_refresh
from tests.conftest import setup_integration as setup_entry
from tests.simulator import Account, Simulator
from tests.simulator.const import REAL_KPI_KEYS
from tests.simulator.kpis import device_item

ALL_DEVICES = ["inverter", "battery", "meter", "power_sensor", "emi"]


def value(hass: HomeAssistant, entity_id: str) -> float:
    state = hass.states.get(entity_id)
    assert state is not None, entity_id
    return float(state.state)


@pytest.mark.freeze_time(SUNNY)
async def test_entities_snapshot(
    hass: HomeAssistant, simulator_factory: Any, snapshot: SnapshotAssertion
) -> None:
    sim: Simulator = await simulator_factory(devices=ALL_DEVICES)
    entry = await setup_entry(hass, sim)
    registry = er.async_get(hass)
    entities = er.async_entries_for_config_entry(registry, entry.entry_id)
    assert entities
    states = {
        entity.entity_id: (
            {"state": state.state, "attributes": json.loads(json.dumps(dict(state.attributes)))}
            if (state := hass.states.get(entity.entity_id))
            else {"disabled_by": str(entity.disabled_by)}
        )
        for entity in sorted(entities, key=lambda item: item.entity_id)
    }
    assert states == snapshot


@pytest.mark.freeze_time(SUNNY)
async def test_devices_linked_to_plant(hass: HomeAssistant, simulator: Simulator) -> None:
    entry = await setup_entry(hass, simulator)
    registry = dr.async_get(hass)
    devices = dr.async_entries_for_config_entry(registry, entry.entry_id)
    plant = next(dev for dev in devices if (DOMAIN, simulator.plants[0].code) in dev.identifiers)
    children = [device for device in devices if device.via_device_id == plant.id]
    assert sorted(str(device.serial_number) for device in children) == sorted(
        device.sn for device in simulator.plants[0].devices
    )
    models = {device.model for device in children}
    # Inverter and battery report their model; a meter's type is all the API says.
    assert models >= {"Grid meter"}
    assert len(models) == 3
    for device in children:
        assert device.manufacturer == "Huawei"
        assert device.serial_number
        assert (DOMAIN, device.serial_number) in device.identifiers


@pytest.mark.freeze_time(SUNNY)
async def test_power_flow_matches_simulator_and_signs(
    hass: HomeAssistant, simulator: Simulator
) -> None:
    await setup_entry(hass, simulator)
    code = simulator.plants[0].code
    truth = simulator.state(code)
    assert value(hass, f"{PLANT}_pv_power") == pytest.approx(truth.pv_kw, abs=0.001)
    assert value(hass, f"{PLANT}_load_power") == pytest.approx(truth.load_kw, abs=0.001)
    # V7 convention: grid > 0 export, battery > 0 discharge.
    assert value(hass, f"{PLANT}_grid_power") == pytest.approx(truth.grid_kw, abs=0.001)
    assert value(hass, f"{PLANT}_battery_power") == pytest.approx(truth.battery_kw, abs=0.001)
    assert value(hass, f"{PLANT}_grid_export_power") == pytest.approx(truth.export_kw, abs=0.001)
    assert value(hass, f"{PLANT}_grid_import_power") == pytest.approx(truth.import_kw, abs=0.001)
    assert value(hass, f"{PLANT}_battery_charge_power") == pytest.approx(truth.charge_kw, abs=0.001)
    assert value(hass, f"{PLANT}_battery_discharge_power") == pytest.approx(
        truth.discharge_kw, abs=0.001
    )
    assert value(hass, f"{PLANT}_battery_state_of_charge") == pytest.approx(truth.soc, abs=0.5)
    # A sunny morning: PV produces, and the surplus charges the battery or is exported.
    assert truth.pv_kw > 0
    assert (
        value(hass, f"{PLANT}_grid_import_power") * value(hass, f"{PLANT}_grid_export_power") == 0
    )


@pytest.mark.freeze_time(SUNNY)
async def test_meter_energy_directions(
    hass: HomeAssistant, simulator: Simulator, freezer: FrozenDateTimeFactory
) -> None:
    await setup_entry(hass, simulator)
    meter = next(dev for dev in simulator.plants[0].devices if dev.dev_type_id == 17)
    base = f"sensor.meter_{meter.sn.lower()}"
    code = simulator.plants[0].code
    truth = simulator.state(code)
    imported, exported = truth.total["import"], truth.total["export"]
    assert value(hass, f"{base}_grid_import_energy") == pytest.approx(imported, abs=0.01)
    assert value(hass, f"{base}_grid_export_energy") == pytest.approx(exported, abs=0.01)


@pytest.mark.freeze_time(SUNNY)
async def test_values_follow_each_cloud_refresh(
    hass: HomeAssistant, simulator: Simulator, freezer: FrozenDateTimeFactory
) -> None:
    await setup_entry(hass, simulator)
    code = simulator.plants[0].code
    seen = []
    for _ in range(4):
        await next_refresh(hass, freezer)
        assert value(hass, f"{PLANT}_pv_power") == pytest.approx(
            simulator.state(code).pv_kw, abs=0.001
        )
        seen.append(value(hass, f"{PLANT}_energy_today"))
    assert seen == sorted(seen)
    assert seen[-1] > seen[0]


@pytest.mark.freeze_time(SUNNY)
async def test_nulls_and_missing_keys_keep_coordinator_alive(
    hass: HomeAssistant, simulator: Simulator, freezer: FrozenDateTimeFactory
) -> None:
    entry = await setup_entry(hass, simulator)
    simulator.faults.add("/rest/openapi/pvms/v1/vpp/plantRealtimeKpi", "nulls", count=1)
    simulator.faults.add("/thirdData/getDevRealKpi", "missing_keys", count=0)
    await next_refresh(hass, freezer)
    pv = hass.states.get(f"{PLANT}_pv_power")
    assert pv is not None
    assert pv.state == STATE_UNKNOWN
    # Counters hold their last value rather than dropping to unknown or zero.
    assert value(hass, f"{PLANT}_total_energy") > 0
    assert entry.runtime_data.plants.last_update_success
    assert entry.runtime_data.devices.last_update_success

    simulator.faults.clear()
    simulator.faults.add(None, "data_as_map", count=2)
    await next_refresh(hass, freezer)
    assert entry.runtime_data.plants.last_update_success
    await next_refresh(hass, freezer)
    assert value(hass, f"{PLANT}_pv_power") == pytest.approx(
        simulator.state(simulator.plants[0].code).pv_kw, abs=0.001
    )


@pytest.mark.freeze_time(SUNNY)
async def test_short_outage_keeps_entities_then_goes_unavailable(
    hass: HomeAssistant, simulator: Simulator, freezer: FrozenDateTimeFactory
) -> None:
    await setup_entry(hass, simulator)
    simulator.faults.add(None, "http_status", count=0, status=500)
    await next_refresh(hass, freezer)
    await next_refresh(hass, freezer)
    # Ten minutes of trouble: the last values stay.
    assert hass.states.get(f"{PLANT}_pv_power").state not in (STATE_UNAVAILABLE, STATE_UNKNOWN)
    for _ in range(4):
        await next_refresh(hass, freezer)
    assert hass.states.get(f"{PLANT}_pv_power").state == STATE_UNAVAILABLE

    simulator.faults.clear()
    await next_refresh(hass, freezer)
    assert hass.states.get(f"{PLANT}_pv_power").state != STATE_UNAVAILABLE


@pytest.mark.freeze_time(SUNNY)
async def test_new_and_removed_devices(
    hass: HomeAssistant, simulator_factory: Any, freezer: FrozenDateTimeFactory
) -> None:
    sim: Simulator = await simulator_factory(plants=2)
    entry = await setup_entry(hass, sim)
    registry = dr.async_get(hass)
    before = len(dr.async_entries_for_config_entry(registry, entry.entry_id))
    assert before == 2 + 2 * 3

    # The user drops the second plant: its devices disappear with the next lists.
    hass.config_entries.async_update_entry(
        entry, options={**entry.options, "plants": [sim.plants[0].code]}
    )
    await hass.async_block_till_done()
    assert len(dr.async_entries_for_config_entry(registry, entry.entry_id)) == 1 + 3


@pytest.mark.freeze_time("2026-06-18 21:45:00+00:00")  # 23:45 in the plant's time zone
async def test_counter_dip_after_midnight_never_reaches_sensors(
    hass: HomeAssistant,
    simulator_factory: Any,
    freezer: FrozenDateTimeFactory,
) -> None:
    await hass.config.async_set_time_zone("Europe/Amsterdam")
    sim: Simulator = await simulator_factory(quirks=["counter_dip"])
    await setup_entry(hass, sim)
    totals, months, todays = [], [], []
    for _ in range(12):  # one hour across midnight
        await next_refresh(hass, freezer)
        totals.append(value(hass, f"{PLANT}_total_energy"))
        months.append(value(hass, f"{PLANT}_energy_this_month"))
        todays.append(value(hass, f"{PLANT}_energy_today"))
    assert totals == sorted(totals)
    assert months == sorted(months)
    # The day counter resets once, after midnight, and only to about zero.
    drops = [(a, b) for a, b in itertools.pairwise(todays) if b < a]
    assert len(drops) == 1
    assert drops[0][1] <= 1.0


@pytest.mark.freeze_time(SUNNY)
async def test_refused_v7_realtime_falls_back_to_legacy_plant_kpis(
    hass: HomeAssistant, simulator_factory: Any, freezer: FrozenDateTimeFactory
) -> None:
    realtime = "/rest/openapi/pvms/v1/vpp/plantRealtimeKpi"
    sim: Simulator = await simulator_factory(
        accounts=[Account(username="owner", password="pw", denied_endpoints={realtime: 401})]
    )
    entry = entry_for(sim)
    entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        entry, data={**entry.data, "username": "owner", "password": "pw"}
    )
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    for _ in range(3):
        await next_refresh(hass, freezer)
    # Asked once, refused, and not asked again; energy comes from the legacy plant KPIs,
    # the power flow from the devices (issue 19).
    assert sim.calls.count(endpoint=realtime) == 1
    truth = sim.state(sim.plants[0].code)
    assert value(hass, f"{PLANT}_energy_today") == pytest.approx(truth.day["pv"], abs=0.01)
    assert value(hass, f"{PLANT}_pv_power") == pytest.approx(truth.pv_kw, abs=0.011)
    assert value(hass, f"{PLANT}_grid_power") == pytest.approx(truth.grid_kw, abs=0.011)


# --------------------------------------------------------------------------- issue 16


async def device_entity_ids(
    hass: HomeAssistant, entry: MockConfigEntry, sim: Simulator
) -> set[str]:
    """Return the enabled entities of the plant's devices (not the plant's own)."""
    devices = dr.async_get(hass)
    serials = {device.sn for plant in sim.plants for device in plant.devices}
    return {
        entity.entity_id
        for entity in er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
        if entity.disabled_by is None
        and entity.device_id is not None
        and (device := devices.async_get(entity.device_id)) is not None
        and device.serial_number in serials
    }


async def settle_devices(hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> None:
    """Let every device type take its 1/min turn (strict quota) and refresh twice."""
    for _ in range(12):
        freezer.tick(timedelta(seconds=30))
        async_fire_time_changed(hass)
        await hass.async_block_till_done(wait_background_tasks=True)


async def watched_device_entities(
    hass: HomeAssistant, simulator_factory: Any, freezer: FrozenDateTimeFactory
) -> tuple[MockConfigEntry, set[str]]:
    """Every device type on a strict quota, each fetched: the entry and its device entities."""
    sim: Simulator = await simulator_factory(devices=ALL_DEVICES, quirks=["strict_quota"])
    entry = await setup_entry(hass, sim)
    await settle_devices(hass, freezer)
    return entry, await device_entity_ids(hass, entry, sim)


async def stop_process(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, entry: MockConfigEntry, down: timedelta
) -> None:
    """Stop as Home Assistant does (entities store their state), forget the account, wait."""
    assert await hass.config_entries.async_unload(entry.entry_id)
    await async_mock_restore_state_shutdown_restart(hass)  # through storage (JSON)
    hass.data.pop(DATA_ACCOUNTS, None)  # a new process
    freezer.tick(down)
    await hass.async_block_till_done()


async def set_up_again(hass: HomeAssistant, entry: MockConfigEntry, watched: set[str]) -> list[str]:
    """Set the entry up again; the list fills with watched entities turning unavailable."""
    turned_unavailable = unavailable_transitions(hass, watched)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return turned_unavailable


def unavailable_transitions(hass: HomeAssistant, watched: set[str]) -> list[str]:
    """Record every watched entity that turns unavailable from now on."""
    seen: list[str] = []

    def record(event: Any) -> None:
        new = event.data["new_state"]
        if event.data["entity_id"] in watched and new is not None and new.state == "unavailable":
            seen.append(event.data["entity_id"])

    hass.bus.async_listen("state_changed", record)
    return seen


@pytest.mark.freeze_time(SUNNY)
async def test_item16_8_reload_keeps_device_entities_available(
    hass: HomeAssistant, simulator_factory: Any, freezer: FrozenDateTimeFactory
) -> None:
    entry, watched = await watched_device_entities(hass, simulator_factory, freezer)
    assert all(hass.states.get(e).state != "unavailable" for e in watched)
    before = {e: hass.states.get(e).state for e in watched}

    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    turned_unavailable = await set_up_again(hass, entry, watched)
    # Device types still waiting for their quota turn show their last value.
    assert {e: hass.states.get(e).state for e in watched} == before
    await settle_devices(hass, freezer)
    assert turned_unavailable == []


@pytest.mark.freeze_time(SUNNY)
async def test_item16_8_restart_keeps_device_entities_available(
    hass: HomeAssistant, simulator_factory: Any, freezer: FrozenDateTimeFactory
) -> None:
    entry, watched = await watched_device_entities(hass, simulator_factory, freezer)
    before = {e: hass.states.get(e).state for e in watched}

    # Stop: entities store their state, the account is forgotten (a new process).
    await stop_process(hass, freezer, entry, timedelta(minutes=1))
    turned_unavailable = await set_up_again(hass, entry, watched)
    # A minute later: the type fetched first may have new values, the others the last.
    shown = {e: hass.states.get(e).state for e in watched}
    assert "unavailable" not in shown.values()
    assert sum(shown[e] == before[e] for e in watched) > len(watched) / 2
    await settle_devices(hass, freezer)
    assert turned_unavailable == []


@pytest.mark.freeze_time(SUNNY)
async def test_item16_8_restored_values_expire_like_live_data(
    hass: HomeAssistant, simulator_factory: Any, freezer: FrozenDateTimeFactory
) -> None:
    entry, watched = await watched_device_entities(hass, simulator_factory, freezer)
    # Down for longer than data stays fresh: nothing old is shown as current.
    await stop_process(hass, freezer, entry, STALE_AFTER)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    stale = [e for e in watched if hass.states.get(e).state == "unavailable"]
    fresh = [e for e in watched if hass.states.get(e).state != "unavailable"]
    assert stale  # device types waiting for their turn
    assert fresh  # the type fetched at setup
    await settle_devices(hass, freezer)
    assert all(hass.states.get(e).state != "unavailable" for e in watched)


@pytest.mark.freeze_time(SUNNY)
async def test_item16_9_absurd_energy_value_does_not_latch(
    hass: HomeAssistant, simulator: Simulator, freezer: FrozenDateTimeFactory
) -> None:
    await setup_entry(hass, simulator)
    total_before = value(hass, f"{PLANT}_total_energy")
    today_before = value(hass, f"{PLANT}_energy_today")
    simulator.faults.add(
        "vpp/plantRealtimeKpi", "values", values={"totalEnergy": 1e9, "dayEnergy": 1e9}
    )
    await next_refresh(hass, freezer)
    assert value(hass, f"{PLANT}_total_energy") == total_before
    assert value(hass, f"{PLANT}_energy_today") == today_before
    await next_refresh(hass, freezer)
    truth = simulator.state(simulator.plants[0].code)
    assert value(hass, f"{PLANT}_total_energy") == pytest.approx(truth.total["pv"], abs=0.01)
    assert value(hass, f"{PLANT}_energy_today") == pytest.approx(truth.day["pv"], abs=0.01)
    assert value(hass, f"{PLANT}_energy_today") > today_before


async def test_item16_14_simulator_sends_only_reference_keys(simulator_factory: Any) -> None:
    for profile in ("spec", "field"):
        sim: Simulator = await simulator_factory(
            devices=[*ALL_DEVICES, "string_inverter"], profile=profile
        )
        plant = sim.plants[0]
        state = sim.state(plant.code)
        for device in plant.devices:
            item = device_item(
                plant, device, state, realtime=True, power_sensor_export_positive=False
            )
            unlisted = set(item) - REAL_KPI_KEYS[device.dev_type_id]
            assert not unlisted, (device.kind, unlisted)


@pytest.mark.freeze_time(SUNNY)
async def test_item16_14_meter_has_no_connected_sensor(
    hass: HomeAssistant, simulator_factory: Any
) -> None:
    sim: Simulator = await simulator_factory(devices=ALL_DEVICES)
    entry = await setup_entry(hass, sim)
    registry = er.async_get(hass)
    connected = {
        entity.unique_id.removesuffix("_connected")
        for entity in er.async_entries_for_config_entry(registry, entry.entry_id)
        if entity.domain == "binary_sensor" and entity.unique_id.endswith("_connected")
    }
    serials = {device.kind: device.sn for device in sim.plants[0].devices}
    # The inverter, battery and EMI tables list `run_state`; the meter's does not.
    assert {serials["inverter"], serials["battery"], serials["emi"]} <= connected
    assert serials["meter"] not in connected
    for kind in ("inverter", "battery", "emi"):
        entity_id = registry.async_get_entity_id(
            "binary_sensor", DOMAIN, f"{serials[kind]}_connected"
        )
        assert hass.states.get(entity_id).state == "on"


# --------------------------------------------------------------------------- issue 21


def test_item21_every_measurement_description_has_a_display_precision() -> None:
    descriptions = [
        *PLANT_SENSORS,
        *(d for group in DEVICE_SENSORS.values() for d in group),
        *ALARM_COUNT_SENSORS,
    ]
    missing = [
        d.key
        for d in descriptions
        if d.state_class is SensorStateClass.MEASUREMENT and d.suggested_display_precision is None
    ]
    assert missing == []


@pytest.mark.freeze_time(SUNNY)
async def test_item21_every_measurement_sensor_entity_has_a_display_precision(
    hass: HomeAssistant, simulator_factory: Any
) -> None:
    sim: Simulator = await simulator_factory(devices=ALL_DEVICES)
    entry = await setup_entry(hass, sim)
    registry = er.async_get(hass)
    measured = [
        entity
        for entity in er.async_entries_for_config_entry(registry, entry.entry_id)
        if entity.domain == "sensor"
        and (entity.capabilities or {}).get("state_class") == SensorStateClass.MEASUREMENT
    ]
    assert len(measured) > 20
    missing = [
        entity.entity_id
        for entity in measured
        if entity.disabled_by is None
        and "suggested_display_precision" not in entity.options.get("sensor", {})
    ]
    assert missing == []


@pytest.mark.freeze_time(SUNNY)
async def test_item21_control_entities_only_with_v7(
    hass: HomeAssistant, simulator_factory: Any
) -> None:
    sim: Simulator = await simulator_factory(quirks=["no_v7"])
    entry = await setup_entry(hass, sim)
    plant = sim.plants[0]
    registry = er.async_get(hass)
    control = (
        ("sensor", f"{plant.code}_dispatch_status"),
        ("switch", f"{plant.inverters[0].sn}_inverter_power"),
        ("number", f"{plant.batteries[0].sn}_depth_of_discharge"),
    )
    assert [registry.async_get_entity_id(p, DOMAIN, uid) for p, uid in control] == [None] * 3
    assert registry.async_get_entity_id("sensor", DOMAIN, f"{plant.code}_energy_total")

    # The account gains V7: after a reload it has the control entities, and they work.
    sim.quirks.no_v7 = False
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    for platform, unique_id in control:
        entity_id = registry.async_get_entity_id(platform, DOMAIN, unique_id)
        assert entity_id is not None, unique_id
        assert hass.states.get(entity_id).state != "unavailable", entity_id


@pytest.mark.freeze_time(SUNNY)
async def test_item21_depth_of_discharge_keeps_one_format(
    hass: HomeAssistant, simulator: Simulator
) -> None:
    await setup_entry(hass, simulator)
    battery = simulator.plants[0].batteries[0]
    number = er.async_get(hass).async_get_entity_id(
        "number", DOMAIN, f"{battery.sn}_depth_of_discharge"
    )
    listed = hass.states.get(number)
    assert listed.attributes["step"] == 1
    await hass.services.async_call(
        "number", "set_value", {"entity_id": number, "value": 92}, blocking=True
    )
    applied = hass.states.get(number).state
    # The listed value (a float) and the applied one (an int) look alike: "92.0".
    assert re.fullmatch(r"\d+\.0", listed.state)
    assert applied == "92.0"
