"""Simulator: field-profile quirks (each on its own), spec-contradiction quirks, faults."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tests.simulator import FAULT_KINDS, FIELD_QUIRKS, Quirks, Simulator, SimulatorConfig
from tests.simulator.testing import (
    INVERTER_ID,
    PLANT,
    Factory,
    FakeClock,
    NbiTestClient,
    SimulatorPool,
)

SENSOR_ID = 1000000033554436
REALTIME = {"plantCodes": PLANT}
PAGE = {"pageNo": 1, "pageSize": 10}


@pytest.fixture
async def make(socket_enabled: None) -> AsyncIterator[Factory]:
    """Start simulators on a fake clock; ``quirks=[...]`` switches quirks on."""
    async with SimulatorPool() as pool:

        async def factory(
            clock: FakeClock | None = None, *, login: bool = True, **config: Any
        ) -> tuple[Simulator, NbiTestClient, FakeClock]:
            config.setdefault("alarm_rate_per_day", 0.0)
            wednesday = FakeClock.at(2025, 6, 18, 12, 1)
            sim, client, clk = await pool.start(clock or wednesday, **config)
            if login:
                await client.login("legacy")
                if sim.config.v7_enabled and not sim.quirks.no_v7:
                    await client.login("v7")
            return sim, client, clk

        yield factory


def test_profiles() -> None:
    assert Quirks.for_profile("spec").enabled() == []
    field = Quirks.for_profile("field")
    assert field.enabled() == list(FIELD_QUIRKS)
    assert "v7_cookie_example" not in field.enabled()
    tuned = Quirks.for_profile("field", enable=["status_as_map"], disable=["no_v7"])
    assert tuned.status_as_map
    assert not tuned.no_v7
    with pytest.raises(ValueError, match="unknown quirk"):
        Quirks.for_profile("spec", enable=["bogus"])
    sim = Simulator(SimulatorConfig(profile="field"), clock=lambda: 1750240860.0)
    assert "no_v7" in sim.quirks
    sim.quirks.set("no_v7", False)
    assert "no_v7" not in sim.quirks


# --- field quirks, each on its own ------------------------------------------------------


async def test_strict_quota(make: Factory) -> None:
    _, client, clock = await make(quirks=["strict_quota"])
    assert (await client.post("getStationRealKpi", {"stationCodes": PLANT}))[1]["success"]
    assert (await client.post("getStationRealKpi", {"stationCodes": PLANT}))[1]["failCode"] == 407
    assert (await client.post("vpp/plantRealtimeKpi", REALTIME))[1]["success"]
    assert (await client.post("vpp/plantRealtimeKpi", REALTIME))[1]["failCode"] == 407
    # control-side endpoints keep their limits
    codes = {
        (await client.post("vpp/chargeAndDischargeStatus", {"requestID": 1}))[1]["failCode"]
        for _ in range(5)
    }
    assert codes == {20050}
    clock.advance(60.1)
    assert (await client.post("getStationRealKpi", {"stationCodes": PLANT}))[1]["success"]


async def test_daily_budget(make: Factory) -> None:
    _, client, clock = await make(quirks=["daily_budget"], clock=FakeClock.at(2025, 6, 18, 0, 1))
    body = {"stationCodes": PLANT, "collectTime": int(clock.t * 1000)}
    for i in range(25):  # ceil(1 / 100) + 24
        if i % 20 == 0:
            await client.login("legacy")
        assert (await client.post("getKpiStationHour", body))[1]["success"], i
        clock.advance(61)
    assert (await client.post("getKpiStationHour", body))[1]["failCode"] == 407
    clock.advance(3600)
    await client.login("legacy")
    assert (await client.post("getKpiStationHour", body))[1]["failCode"] == 407
    # not budgeted: realtime data
    assert (await client.post("getStationRealKpi", {"stationCodes": PLANT}))[1]["success"]
    clock.t = FakeClock.at(2025, 6, 19, 0, 1).t  # a new local day
    await client.login("legacy")
    assert (await client.post("getKpiStationHour", body))[1]["success"]


async def test_daily_budget_override(make: Factory) -> None:
    _, client, clock = await make(
        quirks=["daily_budget"],
        daily_budget_overrides={"/rest/openapi/pvms/v1/vpp/plantFiveMinutesKpi": 2},
    )
    body = {
        "plantCode": PLANT,
        "startTime": int(clock.t * 1000) - 3600000,
        "endTime": int(clock.t * 1000),
    }
    codes = [(await client.post("vpp/plantFiveMinutesKpi", body))[1]["failCode"] for _ in range(3)]
    assert codes == [0, 0, 407]


async def test_quota_403(make: Factory) -> None:
    sim, client, _ = await make(
        quirks=["quota_403"], quota_overrides={"/thirdData/getStationList": 1}
    )
    assert (await client.post("getStationList"))[1]["success"]
    assert (await client.post("getStationList"))[1]["failCode"] == 407
    status, body = await client.post("getStationList")
    assert status == 403
    assert body == {
        "errorCode": "49401021002",
        "exceptionInfo": "Request is rejected by api quotaControl",
    }
    assert sim.calls.count("getStationList", quota_refused=True) == 2


async def test_single_session(make: Factory) -> None:
    _, client, clock = await make(quirks=["single_session"])
    old_legacy = client.tokens["legacy"]
    clock.advance(61)
    other = NbiTestClient(client.sim, client.session)
    await other.login("legacy")  # another tool logs in with the same account
    assert (await client.post("getStationList", token=old_legacy))[1]["failCode"] == 305
    assert (await other.post("getStationList"))[1]["success"]
    # the V7 session is independent
    assert (await client.post("vpp/plantRealtimeKpi", REALTIME))[1]["success"]


async def test_sessions_survive_in_spec_profile(make: Factory) -> None:
    _, client, clock = await make()
    old = client.tokens["legacy"]
    clock.advance(61)
    await NbiTestClient(client.sim, client.session).login("legacy")
    assert (await client.post("getStationList", token=old))[1]["success"]


async def test_empty_login_body(make: Factory) -> None:
    _, client, clock = await make(quirks=["empty_login_body"], login=False)
    response = await client.login("legacy", "nbi_user", "wrong")
    assert response.status == 200
    assert await response.read() == b""
    body = await (await client.login("v7", "nbi_user", "wrong")).json()
    assert body["failCode"] == 20400
    clock.advance(61)
    assert (await (await client.login("legacy")).json())["success"]


async def test_relogin_305_shape(make: Factory) -> None:
    _, client, clock = await make(quirks=["relogin_305_shape"])
    clock.advance(1801)
    status, body = await client.post("getStationList")
    assert status == 200
    assert body == {"failCode": 305, "immediately": True, "message": "USER_MUST_RELOGIN"}


async def test_permission(make: Factory) -> None:
    _, client, _ = await make(quirks=["permission"])
    assert (await client.post("getStationList"))[1]["failCode"] == 401
    stations = await client.data("stations", {"pageNo": 1})
    assert stations["total"] == 1
    item = stations["list"][0]
    assert set(item) >= {"plantCode", "plantName", "plantAddress", "contactPerson"}
    assert item["plantCode"] == PLANT
    body = {"devIds": str(INVERTER_ID), "devTypeId": 38, "collectTime": 1750240860000}
    assert (await client.post("getDevKpiYear", body))[1]["failCode"] == 20056
    assert (await client.post("getDevKpiDay", body))[1]["success"]
    assert (await client.post("getStationRealKpi", {"stationCodes": PLANT}))[1]["success"]


async def test_permission_custom_table(make: Factory) -> None:
    _, client, _ = await make(
        quirks=["permission"], permission_denied={"/thirdData/getDevRealKpi": 20056}
    )
    body = {"devIds": str(INVERTER_ID), "devTypeId": 38}
    assert (await client.post("getDevRealKpi", body))[1]["failCode"] == 20056
    assert (await client.post("getStationList"))[1]["success"]


async def test_stations_endpoint_absent_in_spec_profile(make: Factory) -> None:
    _, client, _ = await make()
    assert (await client.post("stations", {"pageNo": 1}))[0] == 404
    _, client, _ = await make(quirks=["stations_endpoint"])
    assert (await client.data("stations", {"pageNo": 1}))["list"][0]["plantCode"] == PLANT


async def test_null_values(make: Factory) -> None:
    _, client, _ = await make(
        quirks=["null_values"], quota_overrides={"/thirdData/getDevRealKpi": 1000}
    )
    seen_null_data = 0
    seen_blank = False
    for _ in range(30):
        status, body = await client.post(
            "getDevRealKpi", {"devIds": str(INVERTER_ID), "devTypeId": 38}
        )
        assert status == 200
        assert body["success"] is True
        if body["data"] is None:
            seen_null_data += 1
            continue
        values = body["data"][0]["dataItemMap"].values()
        seen_blank = seen_blank or any(v in ("", None) for v in values)
    assert seen_null_data == 3
    assert seen_blank


async def test_power_sensor_watts(make: Factory) -> None:
    devices = ["inverter", "battery", "meter", "power_sensor"]
    clock = FakeClock.at(2025, 6, 18, 2, 1)
    _, spec, _ = await make(devices=devices, clock=clock)
    _, field, _ = await make(devices=devices, quirks=["power_sensor_watts"], clock=clock)
    for client in (spec, field):  # inverter (and so the battery) off: the load imports
        await client.data("vpp/devOnOff", {"dns": "NE=33554433", "controlType": 2})
    clock.advance(300)
    body = {"devIds": str(SENSOR_ID), "devTypeId": 47}
    spec_w = (await spec.data("getDevRealKpi", body))[0]["dataItemMap"]["active_power"]
    field_w = (await field.data("getDevRealKpi", body))[0]["dataItemMap"]["active_power"]
    meter_kw = (await field.data("vpp/plantRealtimeKpi", REALTIME))[0]["dataItemMap"]["meterPower"]
    assert meter_kw < 0  # importing
    assert field_w == pytest.approx(meter_kw * 1000, abs=1)
    assert field_w < 0
    assert spec_w == -field_w


async def test_counter_dip(make: Factory) -> None:
    clock = FakeClock.at(2025, 6, 18, 23, 40)
    _, client, _ = await make(quirks=["counter_dip"], clock=clock)
    before = (await client.data("vpp/plantRealtimeKpi", REALTIME))[0]["dataItemMap"]
    clock.advance(1800)  # 00:10
    await client.login("v7")
    await client.login("legacy")
    dip = (await client.data("vpp/plantRealtimeKpi", REALTIME))[0]["dataItemMap"]
    legacy = (await client.data("getStationRealKpi", {"stationCodes": PLANT}))[0]["dataItemMap"]
    assert dip["dayEnergy"] == pytest.approx(before["dayEnergy"], abs=0.01)  # late reset
    assert dip["totalEnergy"] < before["totalEnergy"]  # dips by yesterday's yield
    assert dip["totalEnergy"] == pytest.approx(
        before["totalEnergy"] - before["dayEnergy"], abs=0.01
    )
    assert legacy["day_power"] == dip["dayEnergy"]
    clock.advance(1800)  # 00:40
    await client.login("v7")
    after = (await client.data("vpp/plantRealtimeKpi", REALTIME))[0]["dataItemMap"]
    assert after["dayEnergy"] == 0
    assert after["totalEnergy"] >= before["totalEnergy"]


async def test_no_v7(make: Factory) -> None:
    _, client, _ = await make(quirks=["no_v7"])
    response = await client.login("v7")
    assert response.status == 404
    assert response.headers["Content-Type"].startswith("text/html")
    assert (await client.post("vpp/plantRealtimeKpi", REALTIME))[0] == 404
    assert (await client.post("getStationList"))[1]["success"]


async def test_maintenance_window(make: Factory) -> None:
    clock = FakeClock.at(2025, 6, 18, 12, 1)
    _, client, _ = await make(quirks=["maintenance"], maintenance_start=clock.t + 60, clock=clock)
    assert (await client.post("getStationList"))[1]["success"]
    clock.advance(61)
    status, text = await client.post("getStationRealKpi", {"stationCodes": PLANT}, raw=True)
    assert status == 503
    assert "<html>" in text
    assert (await client.login("legacy")).status == 503
    clock.advance(3600)
    await client.login("legacy")
    assert (await client.post("getStationRealKpi", {"stationCodes": PLANT}))[1]["success"]


def test_default_maintenance_window_is_sunday_night() -> None:
    sim = Simulator(SimulatorConfig(profile="field"), clock=lambda: 0.0)
    assert sim.maintenance_active(FakeClock.at(2025, 6, 22, 2, 30).t)  # Sunday
    assert not sim.maintenance_active(FakeClock.at(2025, 6, 22, 3, 30).t)
    assert not sim.maintenance_active(FakeClock.at(2025, 6, 21, 2, 30).t)  # Saturday


async def test_pmeter_power(make: Factory) -> None:
    _, client, _ = await make(quirks=["pmeter_power"])
    item = (await client.data("vpp/plantRealtimeKpi", REALTIME))[0]["dataItemMap"]
    assert "pmeterPower" in item
    assert "meterPower" not in item


async def test_plants_as_list(make: Factory) -> None:
    _, client, clock = await make(quirks=["plants_as_list"])
    plants = await client.data("plants", PAGE)
    assert isinstance(plants, list)
    assert plants[0]["plantCode"] == PLANT
    devices = await client.data("devices", {"plantCodes": PLANT})
    assert isinstance(devices, list)
    assert len(devices) == 3
    clock.advance(61)  # plants: 1/min
    assert await client.data("plants", {"pageNo": 2, "pageSize": 10}) == []


async def test_item16_1_stations_as_bare_list_and_strict_page_sizes(make: Factory) -> None:
    """Bare-list pages on the field's ``/thirdData/stations``; page sizes as the reference."""
    _, client, clock = await make(plants=25, quirks=["plants_as_list", "stations_endpoint"])
    pages = []
    for page_no in (1, 3, 4):
        pages.append(await client.data("stations", {"pageNo": page_no, "pageSize": 10}))
        clock.advance(61)  # stations: 1/min
    assert [len(page) for page in pages] == [10, 5, 0]
    assert all(isinstance(page, list) for page in pages)
    for name in ("plants", "stations", "devices"):
        body = {"pageNo": 1, "pageSize": 200, "plantCodes": PLANT}
        assert (await client.post(name, body))[1]["failCode"] == 30006


async def test_health_out_of_range(make: Factory) -> None:
    _, client, _ = await make(quirks=["health_out_of_range"])
    item = (await client.data("vpp/plantRealtimeKpi", REALTIME))[0]["dataItemMap"]
    assert item["healthState"] == 3


async def test_uppercase_cookies(make: Factory) -> None:
    sim, client, _ = await make(quirks=["uppercase_cookies"], login=False)
    async with client.session.post(
        sim.url + "/thirdData/login", json={"userName": sim.username, "systemCode": sim.password}
    ) as response:
        cookies = response.headers.getall("Set-Cookie")
        assert len(cookies) == 2
        assert cookies[0].startswith("JSESSIONID=")
        assert cookies[1].startswith("XSRF-TOKEN=x-")
        assert "xsrf-token" not in response.headers
        raw_names = [k for k, _ in response.raw_headers if k.lower() == b"set-cookie"]
        assert raw_names == [b"Set-Cookie", b"Set-Cookie"]
    await client.login("v7")
    assert (await client.post("vpp/plantRealtimeKpi", REALTIME))[1]["success"]


async def test_v7_cookie_example(make: Factory) -> None:
    sim, client, _ = await make(quirks=["v7_cookie_example"], login=False)
    async with client.session.post(
        sim.url + "/rest/openapi/pvms/v1/login",
        json={"username": sim.username, "password": sim.password},
    ) as response:
        cookies = response.headers.getall("set-cookie")
        assert len(cookies) == 1
        assert cookies[0].startswith("JSESSIONID=")
        assert ", XSRF-TOKEN=x-" in cookies[0]
        assert response.headers["xsrftoken"].startswith("x-")
        assert "xsrf-token" not in response.headers


async def test_status_shapes(make: Factory) -> None:
    body = {
        "plantCodes": PLANT,
        "dispatchSwitch": 1,
        "controlType": 2,
        "dispatchTime": 5,
        "requestID": 1,
    }
    _, client, _ = await make(quirks=["status_example_names"])
    await client.data("vpp/chargeAndDischarge", body)
    entry = (await client.data("vpp/chargeAndDischargeStatus", {"requestID": 1}))[0]
    assert "startTime" in entry
    assert "endTime" in entry
    assert "execStartTime" not in entry
    _, client, _ = await make(quirks=["status_as_map"])
    await client.data("vpp/chargeAndDischarge", body)
    entry = await client.data("vpp/chargeAndDischargeStatus", {"requestID": 1})
    assert isinstance(entry, dict)
    assert entry["status"] == 1
    assert "execStartTime" in entry


async def test_five_minute_compact_tz(make: Factory) -> None:
    _, client, clock = await make(quirks=["five_minute_compact_tz"])
    body = {
        "plantCode": PLANT,
        "startTime": int(clock.t * 1000) - 3600000,
        "endTime": int(clock.t * 1000),
    }
    slots = await client.data("vpp/plantFiveMinutesKpi", body)
    assert slots[0]["dateTime"] == "2025-06-18T11:05:00.000+0200"


async def test_legacy_string_values(make: Factory) -> None:
    _, client, _ = await make(quirks=["legacy_string_values"])
    item = (await client.data("getStationRealKpi", {"stationCodes": PLANT}))[0]["dataItemMap"]
    assert all(isinstance(v, str) for v in item.values())
    assert float(item["total_power"]) > 0


async def test_field_profile_end_to_end(make: Factory) -> None:
    clock = FakeClock.at(2025, 6, 18, 12, 1)
    sim, client, _ = await make(profile="field", clock=clock)
    assert (await client.login("v7")).status == 404
    assert (await client.post("getStationList"))[1]["failCode"] == 401
    stations = await client.data("stations", {"pageNo": 1})
    assert isinstance(stations, list)  # plants_as_list: a bare list, like the V7 examples
    assert stations[0]["plantCode"] == PLANT
    assert sim.calls.count(quota_refused=True) == 0


# --- fault injection --------------------------------------------------------------------


def test_fault_kinds_are_known() -> None:
    assert {
        "fail_code",
        "http_status",
        "quota_403",
        "timeout",
        "delay",
        "malformed_json",
        "empty_body",
        "html",
        "nulls",
        "missing_keys",
        "data_as_list",
        "data_as_map",
        "strings",
    } <= FAULT_KINDS
    sim = Simulator(SimulatorConfig(), clock=lambda: 0.0)
    with pytest.raises(ValueError, match="unknown fault kind"):
        sim.faults.add(None, "gremlins")


@pytest.mark.parametrize("code", [407, 305, 401, 20056, 20004])
async def test_fault_fail_code(make: Factory, code: int) -> None:
    sim, client, _ = await make()
    sim.faults.add("getStationList", "fail_code", fail_code=code)
    body = (await client.post("getStationList"))[1]
    assert body["failCode"] == code
    assert body["success"] is False
    assert (await client.post("getStationList"))[1]["success"]  # quota untouched, count 1
    assert sim.calls.records[-2].fault == "fail_code"


async def test_fault_http_status(make: Factory) -> None:
    sim, client, _ = await make()
    sim.faults.add(None, "http_status", count=2, status=503)
    status, text = await client.post("vpp/plantRealtimeKpi", REALTIME, raw=True)
    assert status == 503
    assert "<html>" in text
    assert (await client.post("getStationList"))[0] == 503
    assert (await client.post("getStationList"))[0] == 200
    sim.faults.add("getStationList", "http_status", status=404, body={"error": "nope"})
    assert await client.post("getStationList") == (404, {"error": "nope"})


async def test_fault_quota_403(make: Factory) -> None:
    sim, client, _ = await make()
    sim.faults.add("vpp/plantRealtimeKpi", "quota_403")
    status, body = await client.post("vpp/plantRealtimeKpi", REALTIME)
    assert status == 403
    assert body["errorCode"] == "49401021002"
    assert sim.calls.records[-1].quota_refused


async def test_fault_delay_and_timeout(make: Factory) -> None:
    sim, client, _ = await make()
    sim.faults.add("getStationList", "delay", seconds=0.2)
    started = time.monotonic()
    assert (await client.post("getStationList"))[1]["success"]
    assert time.monotonic() - started >= 0.2
    sim.faults.add("vpp/plantRealtimeKpi", "timeout", seconds=5)
    with pytest.raises(TimeoutError):
        async with client.session.post(
            sim.url + "/rest/openapi/pvms/v1/vpp/plantRealtimeKpi",
            json=REALTIME,
            headers={"XSRF-TOKEN": client.tokens["v7"]},
            timeout=aiohttp.ClientTimeout(total=0.2),
        ) as response:
            await response.read()


@pytest.mark.parametrize("kind", ["malformed_json", "empty_body", "html"])
async def test_fault_broken_bodies(make: Factory, kind: str) -> None:
    sim, client, _ = await make()
    sim.faults.add("getStationList", kind)
    status, text = await client.post("getStationList", raw=True)
    assert status == 200
    with pytest.raises(ValueError):  # noqa: PT011
        json.loads(text)


async def test_fault_nulls(make: Factory) -> None:
    sim, client, _ = await make()
    sim.faults.add("vpp/plantRealtimeKpi", "nulls")
    data = await client.data("vpp/plantRealtimeKpi", REALTIME)
    assert data[0]["plantCode"] == PLANT
    assert set(data[0]["dataItemMap"].values()) == {None}
    sim.faults.add("getStationList", "nulls", keep_ids=False)
    data = await client.data("getStationList")
    assert set(data[0].values()) == {None}


async def test_fault_missing_keys(make: Factory) -> None:
    sim, client, _ = await make()
    sim.faults.add("vpp/plantRealtimeKpi", "missing_keys", keys=["batterySOC", "pvPower"])
    item = (await client.data("vpp/plantRealtimeKpi", REALTIME))[0]["dataItemMap"]
    assert "batterySOC" not in item
    assert "pvPower" not in item
    assert "dayEnergy" in item
    sim.faults.add("vpp/plantRealtimeKpi", "missing_keys")
    item = (await client.data("vpp/plantRealtimeKpi", REALTIME))[0]
    assert item["plantCode"] == PLANT
    assert len(item["dataItemMap"]) == 5  # every second of ten keys


async def test_fault_shapes(make: Factory) -> None:
    sim, client, _ = await make()
    sim.faults.add("plants", "data_as_list")
    assert isinstance(await client.data("plants", PAGE), list)
    sim.faults.add("vpp/plantRealtimeKpi", "data_as_map")
    assert (await client.data("vpp/plantRealtimeKpi", REALTIME))["plantCode"] == PLANT
    sim.faults.add("getStationRealKpi", "strings")
    item = (await client.data("getStationRealKpi", {"stationCodes": PLANT}))[0]["dataItemMap"]
    assert isinstance(item["total_power"], str)
    assert isinstance(item["real_health_state"], str)


async def test_fault_filters_and_clear(make: Factory) -> None:
    sim, client, _ = await make(quota_overrides={"/thirdData/getStationList": 100})
    sim.faults.add(None, "fail_code", count=0, family="v7", fail_code=20004)
    assert (await client.post("vpp/plantRealtimeKpi", REALTIME))[1]["failCode"] == 20004
    assert (await client.post("vpp/plantRealtimeKpi", REALTIME))[1]["failCode"] == 20004
    assert (await client.post("getStationList"))[1]["success"]
    sim.faults.add(None, "fail_code", account="someone-else")
    assert (await client.post("getStationList"))[1]["success"]
    sim.faults.clear()
    assert (await client.post("vpp/plantRealtimeKpi", REALTIME))[1]["success"]
    # login can be faulted too
    sim.faults.add("login", "fail_code", fail_code=407)
    body = await (await client.login("legacy")).json()
    assert body["failCode"] == 407
