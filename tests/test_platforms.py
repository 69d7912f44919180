"""Issue 18: platforms read typed client models; one freshness rule, logged once."""

from __future__ import annotations

import ast
import logging
from datetime import timedelta
from pathlib import Path

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.fusionsolar import api
from custom_components.fusionsolar.api import (
    DEVICE_KPI_UNITS,
    BatteryStatus,
    BatteryWorkingMode,
    Device,
    DeviceKind,
    DeviceRealtimeKpi,
    DevType,
    Endpoint,
    InverterState,
)
from custom_components.fusionsolar.sensor import DEVICE_SENSORS, KpiValue
from tests.simulator import Simulator

SUNNY = "2026-06-18 08:02:00+00:00"

PACKAGE = Path(__file__).parents[1] / "custom_components" / "fusionsolar"
PLATFORMS = ("sensor.py", "binary_sensor.py", "switch.py", "number.py", "entity.py")


def _tree(name: str) -> ast.Module:
    return ast.parse((PACKAGE / name).read_text(encoding="utf-8"))


def test_item18_4_coded_states_and_battery_ranges_come_from_the_client() -> None:
    assert InverterState.from_code(770.0) is InverterState.SHUTDOWN_OVGR
    # 26.2 Table 5-1 adds shutdowns 775-785 (faults: 779, 781, 784, 785).
    faults = [768, 770, 773, 779, 781, 784, 785]
    assert [s.value for s in InverterState if s.is_fault] == faults
    assert [s.value for s in InverterState if s.is_shutdown] == list(range(768, 786))
    assert InverterState.from_code(12345) is InverterState.OTHER
    assert InverterState.from_code(None) is None
    assert BatteryStatus.from_code(3.0) is BatteryStatus.FAULTY
    assert [s for s in BatteryStatus if s.is_fault] == [BatteryStatus.FAULTY]
    assert BatteryWorkingMode.from_code(2).key == "time_of_use"
    # The 2021 tables' state values stay what they were; 26.2 adds codes (Table 5-1).
    assert api.INVERTER_STATES[512] == "grid_connection"
    assert len(api.INVERTER_STATES) == 58
    assert api.const.BATTERY_STATES == {
        0: "offline",
        1: "standby",
        2: "running",
        3: "faulty",
        4: "hibernation",
        5: "restart",  # 26.2 digest, type 39
    }
    lg = Device(id="1", dn=None, plant_code=None, dev_type_id=39, model="LG RESU10H")
    luna = Device(id="2", dn=None, plant_code=None, dev_type_id=39, model="LUNA2000-5-E0")
    assert (lg.dod_range, luna.dod_range) == ((80, 88), (80, 100))


@pytest.mark.parametrize(
    ("values", "on", "connected"),
    [
        ({"inverter_state": 512.0, "run_state": 1.0}, True, True),
        ({"inverter_state": 769.0, "run_state": 1.0}, False, True),
        ({"inverter_state": None, "run_state": 0.0}, False, False),
        ({"inverter_state": 45056.0}, True, None),
        ({}, None, None),
    ],
)
def test_item18_4_inverter_kpis_are_typed(
    values: dict[str, float | None], on: bool | None, connected: bool | None
) -> None:
    kpi = DeviceRealtimeKpi(dev_id="1", dev_type_id=38, values=values)
    assert kpi.switched_on is on
    assert kpi.connected is connected


def test_item18_4_platforms_hold_no_raw_api_codes() -> None:
    """No raw state codes, KPI dict access, maker regex or api.const in the platforms."""
    for name in PLATFORMS:
        tree = _tree(name)
        arithmetic = {
            id(n) for op in ast.walk(tree) if isinstance(op, ast.BinOp) for n in (op.left, op.right)
        }
        for node in ast.walk(tree):
            where = f"{name}:{getattr(node, 'lineno', '?')}"
            if (
                isinstance(node, ast.Constant)
                and type(node.value) is int
                and id(node) not in arithmetic
            ):
                assert node.value < 256, f"state code {node.value} at {where}"
            if isinstance(node, ast.Attribute):
                assert node.attr != "values" or not isinstance(node.value, ast.Attribute), where
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
                names += [alias.name for alias in node.names]
                assert not {"re", "api.const"} & set(names), where


def test_item18_6_descriptions_are_typed() -> None:
    """No field read by name (getattr) and no untyped keyword spreading (**dict)."""
    for name in PLATFORMS:
        for node in ast.walk(_tree(name)):
            if isinstance(node, ast.Call):
                func = node.func
                assert not (isinstance(func, ast.Name) and func.id == "getattr"), (
                    f"getattr at {name}:{node.lineno}"
                )
                assert all(kw.arg is not None for kw in node.keywords), (
                    f"**spread at {name}:{node.lineno}"
                )


def _device_names(hass: HomeAssistant, entity_ids: list[str]) -> set[str]:
    entities, devices = er.async_get(hass), dr.async_get(hass)
    names = set()
    for entity_id in entity_ids:
        entry = entities.async_get(entity_id)
        device = devices.async_get(entry.device_id) if entry and entry.device_id else None
        assert device is not None, entity_id
        names.add(device.name or "")
    return names


@pytest.mark.freeze_time(SUNNY)
async def test_item18_3_stale_device_data_logs_once_per_device(
    hass: HomeAssistant,
    simulator: Simulator,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Quota holds device data back: each device logs once going stale, once coming back."""
    entry = init_integration

    async def refreshes(count: int) -> None:
        for _ in range(count):
            freezer.tick(timedelta(minutes=5))
            async_fire_time_changed(hass)
            await hass.async_block_till_done(wait_background_tasks=True)

    registry = er.async_get(hass)
    device_entities = [
        e.entity_id
        for e in er.async_entries_for_config_entry(registry, entry.entry_id)
        if e.disabled_by is None
        and e.unique_id.split("_")[0] not in {p.code for p in simulator.plants}
        and e.domain in ("sensor", "binary_sensor")
        and hass.states.get(e.entity_id).state != STATE_UNAVAILABLE
    ]
    watched = [
        e for e in device_entities if registry.async_get(e).unique_id.split("_")[0] != "alarm"
    ]
    assert watched
    caplog.set_level(logging.INFO, logger="custom_components.fusionsolar")
    simulator.faults.add(Endpoint.DEV_REAL_KPI, "fail_code", count=0, fail_code=407)
    await refreshes(6)  # 30 minutes without device data
    stale = [e for e in watched if hass.states.get(e).state == STATE_UNAVAILABLE]
    assert stale
    names = _device_names(hass, stale)
    went_stale = [r.getMessage() for r in caplog.records if "unavailable until" in r.getMessage()]
    assert len(went_stale) == len(names), went_stale
    assert all(sum(name in m for m in went_stale) == 1 for name in names), went_stale

    caplog.clear()
    simulator.faults.clear()
    await refreshes(6)  # the governor first waits out the refusals it learned
    assert all(hass.states.get(e).state != STATE_UNAVAILABLE for e in stale)
    back = [r.getMessage() for r in caplog.records if "comes again" in r.getMessage()]
    assert len(back) == len(names), back
    assert all(sum(name in m for m in back) == 1 for name in names), back
    assert not [r for r in caplog.records if "unavailable until" in r.getMessage()]


# Device kinds and the legacy device types whose KPI table (spec §3.6.1) they read.
KIND_TYPES = {
    DeviceKind.INVERTER: (DevType.STRING_INVERTER, DevType.RESIDENTIAL_INVERTER),
    DeviceKind.BATTERY: (DevType.BATTERY,),
    DeviceKind.METER: (DevType.GRID_METER,),
    DeviceKind.POWER_SENSOR: (DevType.POWER_SENSOR,),
    DeviceKind.EMI: (DevType.EMI,),
    DeviceKind.SMART_ASSISTANT: (DevType.SMART_ASSISTANT,),
    DeviceKind.ALL_IN_ONE: (DevType.ALL_IN_ONE,),
}


def test_item18_4_device_sensors_read_documented_kpis_in_their_units() -> None:
    """Every KPI a device sensor reads is in its type's table, in the sensor's unit."""
    checked = 0
    for kind, descriptions in DEVICE_SENSORS.items():
        for description in descriptions:
            if not isinstance(reader := description.value_fn, KpiValue):
                continue
            for dev_type in KIND_TYPES[kind]:
                units = DEVICE_KPI_UNITS[dev_type]
                assert reader.key in units, (kind, description.key, reader.key)
                unit = description.native_unit_of_measurement
                assert units[reader.key] == (unit or ""), (kind, description.key, unit)
                checked += 1
    assert checked > 40
