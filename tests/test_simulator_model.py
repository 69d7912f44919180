"""Simulator: physics, refresh cadence, counters, agreement between endpoints, control, alarms."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from tests.simulator import DeviceSpec, Simulator, SimulatorConfig
from tests.simulator.model import COUNTERS, SLOT
from tests.simulator.testing import (
    BATTERY_DN,
    BATTERY_ID,
    INVERTER_DN,
    INVERTER_ID,
    METER_ID,
    PLANT,
    Factory,
    FakeClock,
    NbiTestClient,
    SimulatorPool,
)


@pytest.fixture
async def make(socket_enabled: None) -> AsyncIterator[Factory]:
    """Start simulators on a fake clock; yields a factory (sim, client, clock)."""
    async with SimulatorPool() as pool:

        async def factory(
            clock: FakeClock | None = None, *, login: bool = True, **config: Any
        ) -> tuple[Simulator, NbiTestClient, FakeClock]:
            config.setdefault("alarm_rate_per_day", 0.0)
            sim, client, clk = await pool.start(clock or FakeClock.at(2025, 6, 18, 12, 1), **config)
            if login:
                await client.login("legacy")
                await client.login("v7")
            return sim, client, clk

        yield factory


async def realtime(client: NbiTestClient) -> dict[str, Any]:
    data = await client.data("vpp/plantRealtimeKpi", {"plantCodes": PLANT})
    return data[0]["dataItemMap"]


async def dev_kpi(client: NbiTestClient, dev_id: int, type_id: int) -> dict[str, Any]:
    data = await client.data("getDevRealKpi", {"devIds": str(dev_id), "devTypeId": type_id})
    return data[0]["dataItemMap"]


# --- physics ------------------------------------------------------------------------------


def test_deterministic_from_seed() -> None:
    clock = FakeClock.at(2025, 6, 18, 12, 1)
    a = Simulator(SimulatorConfig(seed=3), clock=clock).state(0)
    b = Simulator(SimulatorConfig(seed=3), clock=clock).state(0)
    c = Simulator(SimulatorConfig(seed=4), clock=clock).state(0)
    assert a == b
    assert a.pv_kw != c.pv_kw


@pytest.mark.parametrize("month", [1, 4, 6, 10])
def test_energy_conservation_per_slot(month: int) -> None:
    clock = FakeClock.at(2025, month, 15, 23, 59)
    sim = Simulator(SimulatorConfig(plants=3, seed=month), clock=clock)
    for plant in sim.plants:
        for offset in (0, 1, 10):
            day = plant.day(plant.anchor_day - timedelta(days=offset))
            for k in range(day.n):
                supply = day.pv[k] + day.imp[k] + day.discharge[k]
                demand = day.load[k] + day.exp[k] + day.charge[k]
                assert supply == pytest.approx(demand, abs=1e-9)
                assert day.imp[k] * day.exp[k] == 0
                assert min(day.pv[k], day.imp[k], day.exp[k], day.charge[k]) >= 0
                assert 0 <= day.soc[k] <= 100


def test_pv_follows_the_sun() -> None:
    clock = FakeClock.at(2025, 6, 21, 23, 0)
    sim = Simulator(SimulatorConfig(seed=1), clock=clock)
    plant = sim.plants[0]
    summer = plant.day(plant.anchor_day)
    per_hour = [sum(summer.pv[h * 12 : h * 12 + 12]) / 12 for h in range(24)]
    assert per_hour[0] == per_hour[2] == per_hour[23] == 0
    assert max(per_hour) == max(per_hour[10:16])
    assert sum(per_hour) > 10  # kWh on a June day for a 4-11 kWp plant
    winter = plant.day(plant.anchor_day.replace(month=1, day=10))
    assert sum(winter.pv) < sum(summer.pv)
    assert sum(1 for v in winter.pv if v > 0) < sum(1 for v in summer.pv if v > 0)


def test_battery_respects_soc_limits() -> None:
    clock = FakeClock.at(2025, 6, 25, 23, 59)
    sim = Simulator(SimulatorConfig(seed=2), clock=clock)
    plant = sim.plants[0]
    eod = plant.plant_eod(clock.t)
    assert eod == 10.0  # Huawei default DoD 90
    d = plant.anchor_day
    day = plant.day(d)
    assert min(day.soc) >= eod - 1e-9
    assert max(day.soc) <= 100
    assert max(day.charge) <= plant.max_battery_kw + 1e-9
    assert max(day.discharge) <= plant.max_battery_kw + 1e-9


def test_counters_monotonic_and_daily_reset() -> None:
    clock = FakeClock.at(2025, 6, 29, 0, 0)  # crosses a month boundary
    sim = Simulator(SimulatorConfig(seed=5), clock=clock)
    plant = sim.plants[0]
    previous = plant.state(clock.t)
    resets = 0
    for step in range(1, 4 * 288):
        t = clock.t + step * SLOT
        state = plant.state(t)
        for key in COUNTERS:
            assert state.total[key] >= previous.total[key] - 1e-9
            if plant.local_date(t) == plant.local_date(previous.time):
                assert state.day[key] >= previous.day[key] - 1e-9
        if plant.local_date(t) != plant.local_date(previous.time):
            resets += 1
            assert state.day["pv"] == 0  # exactly at local midnight
            assert state.day["load"] == 0
            if plant.local_date(t).day == 1:
                assert state.month["pv"] == 0
        previous = state
    assert resets == 3


async def test_refresh_cadence(make: Factory) -> None:
    _, client, clock = await make(clock=FakeClock.at(2025, 6, 18, 12, 0, 1))
    first = await realtime(client)
    legacy = await client.data("getStationRealKpi", {"stationCodes": PLANT})
    clock.advance(298)  # 12:04:59
    assert await realtime(client) == first
    assert await client.data("getStationRealKpi", {"stationCodes": PLANT}) == legacy
    clock.advance(1)  # 12:05:00
    later = await realtime(client)
    assert later != first
    assert later["dayEnergy"] > first["dayEnergy"]


async def test_endpoints_agree(make: Factory) -> None:
    sim, client, clock = await make(
        clock=FakeClock.at(2025, 6, 18, 16, 2),
        devices=["inverter", "battery", "meter", "power_sensor", "emi"],
    )
    v7 = await realtime(client)
    legacy = (await client.data("getStationRealKpi", {"stationCodes": PLANT}))[0]["dataItemMap"]
    assert v7["dayEnergy"] == legacy["day_power"]
    assert v7["monthEnergy"] == legacy["month_power"]
    assert v7["totalEnergy"] == legacy["total_power"]
    assert legacy["real_health_state"] == 3
    assert v7["healthState"] == 0
    # power balance in the realtime view (V7 signs)
    assert v7["pvPower"] + v7["batteryPower"] - v7["meterPower"] == pytest.approx(
        v7["loadPower"], abs=0.003
    )
    inverter = await dev_kpi(client, INVERTER_ID, 38)
    battery = await dev_kpi(client, BATTERY_ID, 39)
    meter = await dev_kpi(client, METER_ID, 17)
    sensor = await dev_kpi(client, 1000000033554436, 47)
    assert inverter["day_cap"] == v7["dayEnergy"]
    assert inverter["total_cap"] == v7["totalEnergy"]
    assert inverter["mppt_power"] == v7["pvPower"]
    assert inverter["inverter_state"] == 512
    assert inverter["run_state"] == 1
    assert inverter["active_power"] == pytest.approx(v7["pvPower"] + v7["batteryPower"], abs=0.002)
    assert battery["battery_soc"] == v7["batterySOC"]
    assert battery["ch_discharge_power"] == pytest.approx(-v7["batteryPower"] * 1000, abs=1)
    assert meter["active_power"] == v7["meterPower"]
    assert sensor["active_power"] == pytest.approx(-v7["meterPower"] * 1000, abs=1)
    # five-minute plant data for today sums to the day counters
    day_start = sim.plants[0].day_start(sim.plants[0].local_date(clock.t)) * 1000
    slots = await client.data(
        "vpp/plantFiveMinutesKpi",
        {"plantCode": PLANT, "startTime": int(day_start), "endTime": int(day_start + 86400000)},
    )
    assert len(slots) == 16 * 12  # 00:00 .. 15:55 published at 16:00
    assert sum(s["pvEnergy"] for s in slots) == pytest.approx(v7["dayEnergy"], abs=0.05)
    for s in slots:
        supply = s["pvEnergy"] + s["inputEnergy"] + s["dischargeEnergy"]
        demand = s["loadEnergy"] + s["ongridEnergy"] + s["chargeEnergy"]
        assert supply == pytest.approx(demand, abs=0.002)
    assert slots[-1]["batterySOC"] == v7["batterySOC"]
    assert slots[0]["dateTime"] == "2025-06-18T00:00:00+02:00"
    # hourly and daily plant KPIs
    hours = await client.data(
        "getKpiStationHour", {"stationCodes": PLANT, "collectTime": int(clock.t * 1000)}
    )
    assert len(hours) == 16
    assert sum(h["dataItemMap"]["inverter_power"] for h in hours) == pytest.approx(
        v7["dayEnergy"], abs=0.02
    )
    assert hours[0]["collectTime"] == int(day_start)
    clock.advance(61)
    days = await client.data(
        "getKpiStationDay", {"stationCodes": PLANT, "collectTime": int(clock.t * 1000)}
    )
    assert days[-1]["dataItemMap"]["inverter_power"] == v7["dayEnergy"]
    assert sum(d["dataItemMap"]["inverter_power"] for d in days) == pytest.approx(
        v7["monthEnergy"], abs=0.05
    )
    months = await client.data(
        "getKpiStationMonth", {"stationCodes": PLANT, "collectTime": int(clock.t * 1000)}
    )
    assert months[-1]["dataItemMap"]["inverter_power"] == pytest.approx(v7["monthEnergy"], abs=0.01)
    years = await client.data(
        "getKpiStationYear", {"stationCodes": PLANT, "collectTime": int(clock.t * 1000)}
    )
    assert len(years) >= 1
    # device five-minute data ends at the realtime values
    fives = await client.data(
        "getDevFiveMinutes",
        {"devIds": str(METER_ID), "devTypeId": 17, "collectTime": int(clock.t * 1000)},
    )
    assert fives[-1]["dataItemMap"]["active_cap"] == meter["active_cap"]
    assert fives[-1]["dataItemMap"]["reverse_active_cap"] == meter["reverse_active_cap"]
    imports = sum(s["inputEnergy"] for s in slots)
    first, last = fives[0]["dataItemMap"], fives[-1]["dataItemMap"]
    assert last["reverse_active_cap"] - first["reverse_active_cap"] == (
        pytest.approx(imports - slots[0]["inputEnergy"], abs=0.05)
    )
    emi = await dev_kpi(client, 1000000033554437, 10)
    assert emi["radiant_line"] >= 0
    dev_days = await client.data(
        "getDevKpiDay",
        {"devIds": str(BATTERY_ID), "devTypeId": 39, "collectTime": int(clock.t * 1000)},
    )
    assert dev_days[-1]["dataItemMap"]["charge_cap"] == pytest.approx(
        sum(s["chargeEnergy"] for s in slots), abs=0.05
    )


async def test_counters_across_midnight_over_http(make: Factory) -> None:
    _, client, clock = await make(clock=FakeClock.at(2025, 6, 18, 23, 50, 30))
    before = await realtime(client)
    meter_before = await dev_kpi(client, METER_ID, 17)
    clock.advance(600)  # 00:00:30
    after = await realtime(client)
    meter_after = await dev_kpi(client, METER_ID, 17)
    assert after["dayEnergy"] == 0
    assert after["totalEnergy"] >= before["totalEnergy"]
    assert meter_after["active_cap"] >= meter_before["active_cap"]
    assert meter_after["reverse_active_cap"] >= meter_before["reverse_active_cap"]


# --- control ------------------------------------------------------------------------------


async def status_of(client: NbiTestClient, request_id: int) -> dict[str, Any]:
    return (await client.data("vpp/chargeAndDischargeStatus", {"requestID": request_id}))[0]


async def test_forced_charge_to_target_soc(make: Factory) -> None:
    sim, client, clock = await make(clock=FakeClock.at(2025, 6, 18, 4, 1))
    soc0 = (await realtime(client))["batterySOC"]
    assert soc0 < 60
    result = await client.data(
        "vpp/chargeAndDischarge",
        {
            "plantCodes": PLANT,
            "dispatchSwitch": 1,
            "controlType": 1,
            "targetSOC": 90,
            "powerDispatch": 5000,
            "requestID": 1001,
        },
    )
    assert result == [
        {
            "plantCode": PLANT,
            "sn": sim.plants[0].inverters[0].sn,
            "dispatchResult": 0,
            "remoteID": result[0]["remoteID"],
        }
    ]
    status = await status_of(client, 1001)
    assert status["status"] == 1
    assert status["execEndTime"] is None
    assert status["dischargedCapacity"] is None
    assert status["execStartTime"] == "2025-06-18T04:01:00+02:00"
    clock.advance(299)
    kpi = await realtime(client)
    assert kpi["batteryPower"] == pytest.approx(-5.0)  # charging shows negative (V7)
    assert kpi["meterPower"] < -4  # from the grid at night
    battery = await dev_kpi(client, BATTERY_ID, 39)
    assert battery["ch_discharge_model"] == 1
    assert battery["ch_discharge_power"] == pytest.approx(5000.0)
    for _ in range(24):
        clock.advance(300)
        status = await status_of(client, 1001)
        if status["status"] == 0:
            break
    assert status["status"] == 0
    assert status["execEndTime"] is not None
    await client.login("legacy")  # idled out while polling V7
    kpi = await realtime(client)
    assert kpi["batterySOC"] == pytest.approx(90, abs=0.2)
    expected = (90 - soc0) / 100 * 10 / 0.97
    assert status["chargedCapacity"] == pytest.approx(expected, abs=0.2)
    clock.advance(300)
    kpi = await realtime(client)
    assert kpi["batteryPower"] > -1  # back to self-consumption (a little PV at dawn)
    assert (await dev_kpi(client, BATTERY_ID, 39))["ch_discharge_model"] == 4


async def test_forced_discharge_for_duration_and_stop(make: Factory) -> None:
    _, client, clock = await make(clock=FakeClock.at(2025, 6, 18, 14, 1))
    assert (await realtime(client))["batterySOC"] > 50
    await client.data(
        "vpp/chargeAndDischarge",
        {
            "plantCodes": PLANT,
            "dispatchSwitch": 2,
            "controlType": 2,
            "dispatchTime": 30,
            "powerDispatch": -2000,
            "requestID": 2001,
        },
    )
    clock.advance(299)
    assert (await realtime(client))["batteryPower"] == pytest.approx(2.0)
    clock.advance(1200)  # 14:25:59; the task runs from the 14:00 slot for 30 minutes
    status = await status_of(client, 2001)
    assert status["status"] == 1
    clock.advance(300)
    status = await status_of(client, 2001)
    assert status["status"] == 0
    assert status["dischargedCapacity"] == pytest.approx(1.0, abs=0.01)
    assert status["chargedCapacity"] is None
    # a long charge, stopped after 10 minutes
    await client.data(
        "vpp/chargeAndDischarge",
        {
            "plantCodes": PLANT,
            "dispatchSwitch": 1,
            "controlType": 2,
            "dispatchTime": 120,
            "requestID": 2002,
        },
    )
    clock.advance(600)
    assert (await status_of(client, 2002))["status"] == 1
    await client.data(
        "vpp/chargeAndDischarge", {"plantCodes": PLANT, "dispatchSwitch": 0, "requestID": 2003}
    )
    assert (await status_of(client, 2003))["status"] == 0
    clock.advance(300)
    status = await status_of(client, 2002)
    assert status["status"] == 0
    assert status["chargedCapacity"] > 0


async def test_forced_charge_times_out_when_inverter_is_off(make: Factory) -> None:
    _, client, clock = await make(clock=FakeClock.at(2025, 6, 18, 12, 1))
    await client.data("vpp/devOnOff", {"dns": INVERTER_DN, "controlType": 2})
    await client.data(
        "vpp/chargeAndDischarge",
        {
            "plantCodes": PLANT,
            "dispatchSwitch": 2,
            "controlType": 1,
            "targetSOC": 20,
            "requestID": 3001,
        },
    )
    clock.advance(23 * 3600)
    await client.login("v7")  # the token idled out
    assert (await status_of(client, 3001))["status"] == 1
    clock.advance(3600)
    await client.login("v7")
    status = await status_of(client, 3001)
    assert status["status"] == 2
    assert status["dischargedCapacity"] == 0


@pytest.mark.parametrize(
    ("vendor", "requested", "expected"),
    [
        ("huawei", 95, 95),
        ("huawei", 100, 100),
        ("huawei", 50, 80),
        ("huawei", 0, 80),
        ("lg", 95, 88),
        ("lg", 85, 85),
        ("lg", 10, 80),
    ],
)
async def test_dod_clamping(make: Factory, vendor: str, requested: int, expected: int) -> None:
    sim, client, clock = await make(
        devices=["inverter", DeviceSpec(kind="battery", vendor=vendor), "meter"]  # type: ignore[arg-type]
    )
    result = await client.data("vpp/dod", {"dns": BATTERY_DN, "dod": requested})
    assert result == [{"dn": BATTERY_DN, "result": 0, "setDOD": expected}]
    plant = sim.plants[0]
    assert plant.eod(plant.batteries[0], clock.t) == 100 - expected
    clock.advance(300)
    assert (await realtime(client))["batteryDOD"] == expected
    devices = await client.data("devices", {"plantCodes": PLANT, "deviceTypeId": 20815})
    assert devices["list"][0]["dataItemMap"]["dod"] == expected


async def test_dod_limits_night_discharge(make: Factory) -> None:
    sim, client, _clock = await make(clock=FakeClock.at(2025, 6, 18, 18, 0, 30))
    await client.data("vpp/dod", {"dns": BATTERY_DN, "dod": 80})
    plant = sim.plants[0]
    day = plant.day(plant.anchor_day + timedelta(days=1))
    assert min(day.soc) >= 20 - 1e-9


async def test_dev_on_off(make: Factory) -> None:
    _, client, clock = await make(clock=FakeClock.at(2025, 6, 18, 12, 1))
    assert (await realtime(client))["pvPower"] > 0
    result = await client.data("vpp/devOnOff", {"dns": INVERTER_DN, "controlType": 2})
    assert result == [{"dn": INVERTER_DN, "result": 0}]
    clock.advance(299)
    kpi = await realtime(client)
    assert kpi["pvPower"] == 0
    assert kpi["batteryPower"] == 0
    inverter = await dev_kpi(client, INVERTER_ID, 38)
    assert inverter["inverter_state"] == 769
    assert inverter["run_state"] == 0
    assert inverter["active_power"] == 0
    assert inverter["mppt_power"] == 0
    day_energy = kpi["dayEnergy"]
    clock.advance(1500)
    assert (await realtime(client))["dayEnergy"] == day_energy
    await client.data("vpp/devOnOff", {"dns": INVERTER_DN, "controlType": 1})
    clock.advance(300)
    await client.login("legacy")
    assert (await realtime(client))["pvPower"] > 0
    assert (await dev_kpi(client, INVERTER_ID, 38))["inverter_state"] == 512


# --- alarms -------------------------------------------------------------------------------


async def test_alarm_hook_and_health(make: Factory) -> None:
    sim, client, clock = await make()
    alarm = sim.raise_alarm(PLANT, 2032)
    body = {
        "stationCodes": PLANT,
        "beginTime": 0,
        "endTime": int(clock.t * 1000) + 1,
        "language": "zh_CN",
    }
    alarms = await client.data("getAlarmList", body)
    assert len(alarms) == 1
    item = alarms[0]
    assert item["alarmName"] == "电网掉电"
    assert item["lev"] == 2
    assert item["status"] == 1
    assert item["devTypeId"] == 38
    assert item["esnCode"] == sim.plants[0].inverters[0].sn
    assert item["repairSuggestion"]
    assert item["raiseTime"] == int(sim.boundary() * 1000)
    assert (await realtime(client))["healthState"] == 2
    legacy = (await client.data("getStationRealKpi", {"stationCodes": PLANT}))[0]
    assert legacy["dataItemMap"]["real_health_state"] == 2
    sim.clear_alarm(alarm.key)
    clock.advance(61)
    alarms = await client.data("getAlarmList", {**body, "language": "en_UK"})
    assert alarms[0]["status"] == 5
    assert alarms[0]["alarmName"] == "Grid Loss"
    assert (await realtime(client))["healthState"] == 0
    clock.advance(61)
    assert await client.data("getAlarmList", {**body, "status": "1"}) == []


async def test_seeded_alarms_raise_and_clear(make: Factory) -> None:
    sim, client, clock = await make(alarm_rate_per_day=3.0, clock=FakeClock.at(2025, 6, 18, 23, 59))
    plant = sim.plants[0]
    body = {
        "stationCodes": PLANT,
        "beginTime": int(plant.day_start(plant.anchor_day) * 1000),
        "endTime": int(clock.t * 1000),
        "language": "en_UK",
    }
    alarms = await client.data("getAlarmList", body)
    assert alarms
    assert all(a["status"] in (1, 6) for a in alarms)
    assert any(a["status"] == 6 for a in alarms)
    again = Simulator(SimulatorConfig(alarm_rate_per_day=3.0), clock=clock)
    assert [a.raise_time for a in again.plants[0].seeded_alarms(plant.anchor_day)] == [
        a.raise_time for a in plant.seeded_alarms(plant.anchor_day)
    ]


async def test_backfill_thirty_days_is_cheap(make: Factory) -> None:
    sim, client, clock = await make(clock=FakeClock.at(2025, 6, 18, 12, 1))
    plant = sim.plants[0]
    for offset in range(30):
        d = plant.anchor_day - timedelta(days=offset)
        start = int(plant.day_start(d) * 1000)
        slots = await client.data(
            "vpp/plantFiveMinutesKpi",
            {"plantCode": PLANT, "startTime": start, "endTime": start + 86400000},
        )
        assert len(slots) == (288 if offset else 12 * 12)
        clock.advance(6.1)
    assert sim.calls.count("plantFiveMinutesKpi", fail_code=0) == 30


def test_item16_device_ids_unique_beyond_the_ne_stride() -> None:
    """More than 63 devices in a plant must not take the next plant's NE numbers."""
    config = SimulatorConfig(plants=3, plant_devices={0: ["inverter"] * 70}, history_detail_days=0)
    sim = Simulator(config, clock=FakeClock.at(2025, 6, 18, 12, 1))
    devices = [d for p in sim.plants for d in p.devices]
    assert len(devices) == 70 + 2 * 3
    numbers = [d.ne for d in devices] + [p.ne for p in sim.plants]
    assert len(set(numbers)) == len(numbers)
    assert len(sim._devices_by_id) == len(devices)
    assert all(sim.device(d.dev_id) is d for d in devices)
