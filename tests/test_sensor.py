"""Sensors and binary sensors against the simulator: values, units, Energy dashboard."""

from __future__ import annotations

import itertools
import json
from datetime import timedelta
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed
from syrupy.assertion import SnapshotAssertion

from custom_components.fusionsolar.const import DOMAIN
from tests.conftest import entry_for
from tests.simulator import Account, Simulator

# A sunny June morning in the plant's time zone (Europe/Amsterdam, UTC+2).
SUNNY = "2026-06-18 08:02:00+00:00"
PLANT = "sensor.plant_1"
ALL_DEVICES = ["inverter", "battery", "meter", "power_sensor", "emi"]


async def setup_entry(hass: HomeAssistant, sim: Simulator, **options: Any) -> MockConfigEntry:
    entry = entry_for(sim, **options)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


def value(hass: HomeAssistant, entity_id: str) -> float:
    state = hass.states.get(entity_id)
    assert state is not None, entity_id
    return float(state.state)


async def next_refresh(hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> None:
    """Move to just after the next cloud refresh and let the coordinators run."""
    freezer.tick(timedelta(minutes=5))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)


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
    # Asked once, refused, and not asked again; energy comes from the legacy plant KPIs.
    assert sim.calls.count(endpoint=realtime) == 1
    truth = sim.state(sim.plants[0].code)
    assert value(hass, f"{PLANT}_energy_today") == pytest.approx(truth.day["pv"], abs=0.01)
    assert hass.states.get(f"{PLANT}_pv_power").state == STATE_UNKNOWN
