"""Today's cloud (26.2): new devices, and daily battery energies as daily sensors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import aiohttp
import pytest

from custom_components.fusionsolar.api import (
    DEVICE_KPI_UNITS,
    ApiGeneration,
    BatteryWorkingMode,
    Device,
    DeviceKind,
    InverterState,
)
from custom_components.fusionsolar.api.models import DeviceRealtimeKpi
from custom_components.fusionsolar.api.parsers import parse_device_realtime
from custom_components.fusionsolar.binary_sensor import DEVICE_BINARY_SENSORS
from custom_components.fusionsolar.counters import CounterGuard, CounterPeriod
from custom_components.fusionsolar.entity import DEVICE_MODELS
from custom_components.fusionsolar.sensor import (
    DEVICE_SENSORS,
    DeviceSensorDescription,
    KpiValue,
    PeriodKpi,
)
from tests.simulator import Simulator
from tests.simulator.config import CloudOptions
from tests.simulator.testing import FakeClock, NbiTestClient

PLANT_ZONE = timezone(timedelta(hours=8))  # e.g. gridConnectionDate "...+08:00"


def _utc(hour: int, minute: int, day: int = 18) -> datetime:
    return datetime(2026, 6, day, hour, minute, tzinfo=UTC)


def test_daily_energy_resets_at_the_plants_midnight_not_home_assistants() -> None:
    """Home Assistant on UTC, plant on UTC+8: the plant's day ends at 16:00 UTC."""
    guard = CounterGuard(CounterPeriod.DAY, zone=PLANT_ZONE)
    assert guard.accept(12.0, _utc(15, 50)) == 12.0
    # Minutes after the plant's midnight the day's charge drops to ~0: a reset.
    assert guard.accept(0.1, _utc(16, 5)) == 0.1
    assert guard.accept(0.3, _utc(16, 35)) == 0.3


def test_daily_energy_dip_elsewhere_in_the_plants_day_is_rejected() -> None:
    """Home Assistant's midnight (00:00 UTC) is mid-day for the plant: a dip is a glitch."""
    guard = CounterGuard(CounterPeriod.DAY, zone=PLANT_ZONE)
    assert guard.accept(6.0, _utc(23, 50)) == 6.0
    assert guard.accept(0.0, _utc(0, 5, day=19)) == 6.0
    # Never frozen: the next real value is shown again.
    assert guard.accept(6.2, _utc(0, 10, day=19)) == 6.2


async def _cloud_kpis(simulator_factory: Any, **cloud: Any) -> dict[int, DeviceRealtimeKpi]:
    """The first device of each type of a cloud-2026 plant, parsed as on 26.x (13:00)."""
    sim: Simulator = await simulator_factory(
        clock=FakeClock.at(2026, 6, 15, 13, 0),
        profile="cloud-2026",
        alarm_rate_per_day=0.0,
        cloud=CloudOptions(**cloud),
    )
    async with aiohttp.ClientSession() as http:
        raw = NbiTestClient(sim, http)
        assert (await raw.login()).status == 200
        codes = ",".join(plant.code for plant in sim.plants)
        first: dict[int, str] = {}
        for device in await raw.data("getDevList", {"stationCodes": codes}):
            first.setdefault(device["devTypeId"], str(device["id"]))
        kpis = {}
        for dev_type, dev_id in first.items():
            if dev_type in {1, 10, 17, 38, 39, 47, 23070, 23093}:
                body = {"devIds": dev_id, "devTypeId": dev_type}
                data = await raw.data("getDevRealKpi", body)
                kpis[dev_type] = parse_device_realtime(data, dev_type, ApiGeneration.CLOUD_2026)[
                    dev_id
                ]
    return kpis


def _values(kind: DeviceKind, kpi: DeviceRealtimeKpi) -> dict[str, Any]:
    return {d.key: d.value_fn(kpi) for d in DEVICE_SENSORS[kind]}


def _description(kind: DeviceKind, key: str) -> DeviceSensorDescription:
    return next(d for d in DEVICE_SENSORS[kind] if d.key == key)


def test_devtypes_new_device_types_are_devices() -> None:
    """SmartAssistant/EMMA (23070) and the all-in-one (23093) are devices with sensors."""
    for dev_type, kind in ((23070, DeviceKind.SMART_ASSISTANT), (23093, DeviceKind.ALL_IN_ONE)):
        device = Device(id="1", dn=None, plant_code="P", dev_type_id=dev_type)
        assert device.kind is kind
        assert DEVICE_MODELS[kind]
        assert DEVICE_SENSORS[kind]
        assert DEVICE_BINARY_SENSORS[kind][0].key == "connected"


def test_devtypes_sensors_of_new_devices_read_documented_keys_in_their_units() -> None:
    """Every key a 23070/23093 sensor reads is in the digest's table, in the sensor's unit."""
    for kind, dev_type in ((DeviceKind.SMART_ASSISTANT, 23070), (DeviceKind.ALL_IN_ONE, 23093)):
        units = DEVICE_KPI_UNITS[dev_type]
        for description in DEVICE_SENSORS[kind]:
            reader = description.value_fn
            keys = (
                (reader.key,)
                if isinstance(reader, KpiValue)
                else reader.keys[:1]
                if isinstance(reader, PeriodKpi)
                else ()
            )
            for key in keys:
                assert key in units, (kind, description.key, key)
                unit = description.native_unit_of_measurement or ""
                assert units[key] == unit, (kind, description.key, unit)


async def test_devtypes_all_in_one_sensors_on_cloud_2026(simulator_factory: Any) -> None:
    """All-in-one (23093): power flow in kW, SOC, the day's battery energies as daily
    counters, inverter state from Table 5-1, working mode 0-12."""
    kpis = await _cloud_kpis(simulator_factory, all_in_one_plants=(0,))
    unit = kpis[23093]
    values = _values(DeviceKind.ALL_IN_ONE, unit)
    assert 0 <= values["state_of_charge"] <= 100
    assert 0 < values["active_power"] < 50  # kW at 13:00
    raw_power = unit.values["ch_discharge_power"]
    assert raw_power is not None
    assert abs(raw_power) < 50  # W -> kW like type 39
    assert values["charged_energy_today"] == unit.get("charge_cap")
    assert values["charged_energy_today"] > 0
    assert "charged_energy" not in values  # no lifetime battery counter on 23093
    today = _description(DeviceKind.ALL_IN_ONE, "charged_energy_today")
    assert today.counter is CounterPeriod.DAY
    assert today.state_class == "total_increasing"
    assert today.native_unit_of_measurement == "kWh"
    assert today.device_class == "energy"
    assert values["inverter_state"] in _description(DeviceKind.ALL_IN_ONE, "inverter_state").options
    assert values["working_mode"] in _description(DeviceKind.ALL_IN_ONE, "working_mode").options


async def test_devtypes_smart_assistant_and_battery_sensors_on_cloud_2026(
    simulator_factory: Any,
) -> None:
    """EMMA (23070): grid power and energies (kW/kWh); battery (39) on 26.x: lifetime
    counters from ``total_*_energy``, the day's from ``charge_cap``."""
    kpis = await _cloud_kpis(simulator_factory)
    emma = _values(DeviceKind.SMART_ASSISTANT, kpis[23070])
    assert emma["active_power"] == kpis[23070].get("active_power")
    assert emma["grid_export_energy"] > 0
    assert emma["external_active_power"] > 0  # PV output at 13:00, kW
    battery = _values(DeviceKind.BATTERY, kpis[39])
    assert battery["charged_energy"] == kpis[39].get("total_charged_energy")
    assert battery["discharged_energy"] == kpis[39].get("total_discharged_energy")
    assert battery["charged_energy_today"] == kpis[39].get("charge_cap")
    assert battery["charged_energy"] > battery["charged_energy_today"]
    assert battery["rated_capacity"] == 10.0
    lifetime = _description(DeviceKind.BATTERY, "charged_energy")
    assert lifetime.counter is CounterPeriod.LIFETIME


def test_devtypes_battery_on_v500r007_keeps_charge_cap_as_lifetime() -> None:
    """V500R007: ``charge_cap`` is the lifetime counter; no day energy is made up."""
    kpi = DeviceRealtimeKpi("1", 39, {"charge_cap": 812.5, "discharge_cap": 700.0})
    values = _values(DeviceKind.BATTERY, kpi)
    assert values["charged_energy"] == 812.5
    assert values["discharged_energy"] == 700.0
    assert values["charged_energy_today"] is None


@pytest.mark.parametrize(
    ("code", "key"),
    [
        (4, "automatic"),
        (5, "fully_fed_to_grid"),
        (7, "remote_maximum_self_consumption"),
        (12, "third_party_dispatch"),
        (13, "other"),
    ],
)
def test_devtypes_working_mode_0_to_12_is_an_enum_sensor(code: int, key: str) -> None:
    """``ch_discharge_model`` 0-12 (26.2 digest) as translated enum states."""
    kpi = DeviceRealtimeKpi("1", 39, {"ch_discharge_model": float(code)})
    mode = _description(DeviceKind.BATTERY, "working_mode")
    assert mode.value_fn(kpi) == key
    assert mode.options is not None
    assert key in mode.options
    assert len(BatteryWorkingMode) == 14


def test_devtypes_inverter_state_table_5_1_of_26_2() -> None:
    """Table 5-1 (26.2): new codes are named; shutdowns 775-785 switch the inverter off."""
    assert InverterState.from_code(524) is InverterState.RUNNING_ALL_IN_ONE_LIMITED_POWER
    assert InverterState.from_code(40961) is InverterState.STANDBY_NO_DC_INPUT
    kpi = DeviceRealtimeKpi("1", 23093, {"inverter_state": 780.0, "run_state": 1.0})
    assert kpi.switched_on is False


def test_daily_energy_reset_one_dst_hour_early_is_not_frozen() -> None:
    """The plant's offset comes from its grid connection date (winter, +01:00); in summer
    its midnight is 23:00 at that offset: the reset is still seen, not held for an hour."""
    guard = CounterGuard(CounterPeriod.DAY, zone=timezone(timedelta(hours=1)))
    assert guard.accept(9.0, _utc(21, 50)) == 9.0  # 23:50 CEST
    assert guard.accept(0.05, _utc(22, 5)) == 0.05  # 00:05 CEST
    assert guard.accept(4.0, _utc(12, 0, day=19)) == 4.0
    assert guard.accept(0.0, _utc(12, 5, day=19)) == 4.0  # a dip at noon stays a glitch
