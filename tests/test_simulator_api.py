"""Simulator: login, tokens, sessions, quotas, identities, admin API and error codes."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import BATTERY_DN, BATTERY_ID, INVERTER_DN, INVERTER_ID, METER_ID
from tests.conftest import PLANT_CODE as PLANT
from tests.conftest import StartSimulator as Factory
from tests.simulator import Account
from tests.simulator.testing import NbiTestClient


@pytest.fixture
def make(simulators_on_fake_clock: Factory) -> Factory:
    """Start simulators on a fake clock; yields a factory (sim, client, clock)."""
    return simulators_on_fake_clock


async def test_login_returns_token_in_header_and_cookie(make: Factory) -> None:
    _sim, client, _ = await make()
    for family in ("legacy", "v7"):
        response = await client.login(family)
        body = await response.json()
        assert body["success"] is True
        assert body["failCode"] == 0
        token = response.headers["xsrf-token"]
        assert token.startswith("x-")
        assert f"XSRF-TOKEN={token}" in response.headers["set-cookie"]
    assert client.tokens["legacy"] != client.tokens["v7"]


async def test_requests_need_token_of_their_family(make: Factory) -> None:
    _, client, _ = await make()
    status, body = await client.post("getStationList")
    assert status == 200
    assert body["failCode"] == 305
    await client.login("legacy")
    assert (await client.post("getStationList"))[1]["success"] is True
    # a legacy token is no V7 token
    body = (
        await client.post("plants", {"pageNo": 1, "pageSize": 10}, token=client.tokens["legacy"])
    )[1]
    assert body["failCode"] == 305


async def test_bad_credentials(make: Factory) -> None:
    sim, client, clock = await make(
        accounts=[
            Account("forbidden", "pw", status="forbidden"),
            Account("expired", "pw", status="expired"),
            Account("restricted", "pw", status="restricted"),
        ]
    )
    cases = [
        ("nobody", "x", 20001),
        (sim.username, "wrong", 20400),
        ("forbidden", "pw", 20002),
        ("expired", "pw", 20003),
        ("restricted", "pw", 20403),
    ]
    for family in ("legacy", "v7"):
        for user, pwd, code in cases:
            response = await client.login(family, user, pwd)
            body = await response.json()
            assert body["success"] is False
            assert body["failCode"] == code
            assert "xsrf-token" not in response.headers
            clock.advance(61)


async def test_login_quota_one_per_minute(make: Factory) -> None:
    _, client, clock = await make()
    assert (await (await client.login("legacy")).json())["success"] is True
    refused = await (await client.login("legacy")).json()
    assert refused == {
        "success": False,
        "failCode": 407,
        "message": "ACCESS_FREQUENCY_IS_TOO_HIGH",
        "data": None,
        "params": refused["params"],
    }
    # the V7 login is a different endpoint with its own quota
    assert (await (await client.login("v7")).json())["success"] is True
    clock.advance(59)
    assert (await (await client.login("legacy")).json())["failCode"] == 407
    clock.advance(1.5)
    assert (await (await client.login("legacy")).json())["success"] is True


async def test_old_tokens_stay_valid_after_new_login_in_spec_profile(make: Factory) -> None:
    _, client, clock = await make()
    await client.login("legacy")
    first = client.tokens["legacy"]
    clock.advance(61)
    await client.login("legacy")
    assert client.tokens["legacy"] != first
    assert (await client.post("getStationList", token=first))[1]["success"] is True


async def test_token_idle_timeout(make: Factory) -> None:
    _, client, clock = await make()
    await client.login("v7")
    clock.advance(1799)
    assert (await client.data("plants", {"pageNo": 1, "pageSize": 10}))["total"] == 1
    clock.advance(1799)  # idle time counts from the last use
    assert (await client.post("vpp/plantRealtimeKpi", {"plantCodes": PLANT}))[1]["success"]
    clock.advance(1800)
    body = (await client.post("vpp/plantRealtimeKpi", {"plantCodes": PLANT}))[1]
    assert body == {
        "success": False,
        "failCode": 305,
        "message": body["message"],
        "data": None,
    }


async def test_custom_idle_timeout(make: Factory) -> None:
    _, client, clock = await make(token_idle_seconds=60)
    await client.login("legacy")
    clock.advance(61)
    assert (await client.post("getStationList"))[1]["failCode"] == 305


async def test_logout_invalidates_token(make: Factory) -> None:
    _, client, _ = await make()
    for family, logout in (("legacy", "logout"), ("v7", "/rest/openapi/pvms/v1/logout")):
        await client.login(family)
        token = client.tokens[family]
        key = "xsrfToken" if family == "legacy" else "xsrftoken"
        status, body = await client.post(logout, {key: token})
        assert status == 200
        assert body["success"] is True
        name = "getStationList" if family == "legacy" else "vpp/plantRealtimeKpi"
        assert (await client.post(name, {"plantCodes": PLANT}))[1]["failCode"] == 305


@pytest.mark.parametrize(
    ("endpoint", "body", "limit"),
    [
        ("getStationRealKpi", {"stationCodes": PLANT}, 10),
        ("getDevRealKpi", {"devIds": str(INVERTER_ID), "devTypeId": 38}, 10),
        ("getStationList", {}, 1),
        ("getKpiStationHour", {"stationCodes": PLANT, "collectTime": 1750240860000}, 1),
        (
            "getAlarmList",
            {"stationCodes": PLANT, "beginTime": 0, "endTime": 1, "language": "en_UK"},
            1,
        ),
        ("vpp/plantRealtimeKpi", {"plantCodes": PLANT}, 10),
        ("plants", {"pageNo": 1, "pageSize": 10}, 1),
        ("vpp/plants", {"plantCodes": PLANT}, 1),
        ("vpp/chargeAndDischargeStatus", {"requestID": 1}, 100),
    ],
)
async def test_quota_window(make: Factory, endpoint: str, body: dict[str, Any], limit: int) -> None:
    sim, client, clock = await make()
    family = "v7" if "/" in endpoint or endpoint == "plants" else "legacy"
    await client.login(family)
    start = clock.t
    for i in range(limit):
        clock.t = start + i * (50 / limit)
        status, payload = await client.post(endpoint, body)
        assert status == 200
        assert payload["failCode"] != 407, i
    clock.t = start + 55
    assert (await client.post(endpoint, body))[1]["failCode"] == 407
    assert sim.calls.count(endpoint, fail_code=407) == 1
    assert sim.calls.records[-1].quota_refused is True
    # the first call leaves the window 60 s after it was made: one slot frees up
    clock.t = start + 60.01
    assert (await client.post(endpoint, body))[1]["failCode"] != 407
    assert (await client.post(endpoint, body))[1]["failCode"] == 407


async def test_quota_is_per_account(make: Factory) -> None:
    _, client, _clock = await make(accounts=[Account("second", "pw")])
    await client.login("legacy")
    assert (await client.post("getStationList"))[1]["success"]
    assert (await client.post("getStationList"))[1]["failCode"] == 407
    other = NbiTestClient(client.sim, client.session)
    await other.login("legacy", "second", "pw")
    assert (await other.post("getStationList"))[1]["success"]


async def test_refused_calls_do_not_use_quota_unless_configured(make: Factory) -> None:
    _, client, clock = await make()
    await client.login("legacy")
    start = clock.t
    await client.post("getStationList")
    clock.t = start + 30
    assert (await client.post("getStationList"))[1]["failCode"] == 407
    clock.t = start + 61
    assert (await client.post("getStationList"))[1]["success"]

    _, client2, clock2 = await make(count_refused_calls=True)
    await client2.login("legacy")
    start = clock2.t
    await client2.post("getStationList")
    clock2.t = start + 30
    assert (await client2.post("getStationList"))[1]["failCode"] == 407
    clock2.t = start + 61
    assert (await client2.post("getStationList"))[1]["failCode"] == 407


async def test_quota_overrides(make: Factory) -> None:
    _, client, _ = await make(quota_overrides={"/thirdData/getStationRealKpi": 2})
    await client.login("legacy")
    codes = [
        (await client.post("getStationRealKpi", {"stationCodes": PLANT}))[1]["failCode"]
        for _ in range(3)
    ]
    assert codes == [0, 0, 407]


async def test_identity_across_families(make: Factory) -> None:
    sim, client, _ = await make(
        plants=2, devices=["inverter", "battery", "meter", "power_sensor", "emi"]
    )
    await client.login("legacy")
    await client.login("v7")
    stations = await client.data("getStationList")
    plants = await client.data("plants", {"pageNo": 1, "pageSize": 10})
    assert [s["stationCode"] for s in stations] == [p["plantCode"] for p in plants["list"]]
    assert stations[0]["capacity"] == pytest.approx(plants["list"][0]["capacity"] / 1000)
    legacy = await client.data("getDevList", {"stationCodes": PLANT})
    v7 = await client.data("devices", {"plantCodes": PLANT, "pageNo": 1, "pageSize": 100})
    by_sn = {d["sn"]: d for d in v7["list"]}
    mapping = {38: 20822, 39: 20815, 17: 20816, 47: 20816, 10: 20824}
    assert [d["devTypeId"] for d in legacy] == [38, 39, 17, 47, 10]
    for device in legacy:
        other = by_sn[device["esnCode"]]
        assert other["deviceTypeId"] == mapping[device["devTypeId"]]
        assert other["dn"] == "NE=" + str(device["id"] - 10**15)
        assert other["plantCode"] == device["stationCode"]
    battery = next(d for d in v7["list"] if d["deviceTypeId"] == 20815)
    assert battery["dataItemMap"] == {
        "model": "LUNA2000-10-S0",
        "ratedCapacity": 10.0,
        "usableCapacity": battery["dataItemMap"]["usableCapacity"],
        "dod": 90.0,
    }
    inverter = next(d for d in v7["list"] if d["deviceTypeId"] == 20822)
    assert set(inverter["dataItemMap"]) >= {"model", "ratedPower", "softwareVersion"}
    assert sim.device(inverter["dn"]).dev_id == legacy[0]["id"]


async def test_paging(make: Factory) -> None:
    _, client, _clock = await make(plants=25)
    await client.login("v7")
    page = await client.data("plants", {"pageNo": 3, "pageSize": 10})
    assert page["total"] == 25
    assert page["pageCount"] == 3
    assert page["pageNo"] == 3
    assert len(page["list"]) == 5
    devices = await client.data(
        "devices",
        {
            "plantCodes": ",".join(f"NE={33554432 + 64 * i}" for i in range(25)),
            "pageNo": 2,
            "pageSize": 50,
        },
    )
    assert devices["total"] == 75
    assert len(devices["list"]) == 25
    batteries = await client.data(
        "devices", {"plantCodes": "NE=33554432, NE=33554496", "deviceTypeId": 20815}
    )
    assert [d["deviceTypeId"] for d in batteries["list"]] == [20815, 20815]


async def test_restricted_account_sees_only_its_plants(make: Factory) -> None:
    _, client, _ = await make(plants=3, accounts=[Account("owner", "pw", plants=[1])])
    await client.login("legacy", "owner", "pw")
    stations = await client.data("getStationList")
    assert [s["stationCode"] for s in stations] == ["NE=33554496"]
    body = (await client.post("getStationRealKpi", {"stationCodes": PLANT}))[1]
    assert body["failCode"] == 20007


async def test_account_denied_endpoint(make: Factory) -> None:
    _, client, _ = await make(
        accounts=[Account("limited", "pw", denied_endpoints={"/thirdData/getDevRealKpi": 401})]
    )
    await client.login("legacy", "limited", "pw")
    assert (await client.post("getDevRealKpi", {"devIds": str(INVERTER_ID), "devTypeId": 38}))[1][
        "failCode"
    ] == 401
    assert (await client.post("getStationRealKpi", {"stationCodes": PLANT}))[1]["success"]


async def test_account_without_v7(make: Factory) -> None:
    _, client, _ = await make(accounts=[Account("legacyonly", "pw", v7=False)])
    body = await (await client.login("v7", "legacyonly", "pw")).json()
    assert body["failCode"] == 401


async def test_v7_disabled_is_404(make: Factory) -> None:
    _, client, _ = await make(v7_enabled=False)
    response = await client.login("v7")
    assert response.status == 404


async def test_call_log(make: Factory) -> None:
    sim, client, clock = await make(plants=3)
    await client.login("legacy")
    t0 = clock.t
    await client.post("getStationRealKpi", {"stationCodes": "NE=33554432,NE=33554496"})
    clock.advance(10)
    await client.post("getStationList")
    await client.post("getStationList")
    record = sim.calls.select("getStationRealKpi")[0]
    assert record.account == sim.username
    assert record.family == "legacy"
    assert record.endpoint == "/thirdData/getStationRealKpi"
    assert record.size == 2
    assert record.time == t0
    assert record.http_status == 200
    assert record.fail_code == 0
    assert sim.calls.count() == 4
    assert sim.calls.count("/thirdData/getStationList") == 2
    assert sim.calls.count(fail_code=407) == 1
    assert sim.calls.count(since=t0 + 5) == 2
    assert sim.calls.refused == 1
    assert sim.calls.per_endpoint()["/thirdData/login"] == 1
    sim.calls.clear()
    assert sim.calls.count() == 0


async def test_admin_api(make: Factory) -> None:
    sim, client, clock = await make()
    session = client.session
    base = sim.url + "/_sim"
    async with session.post(
        base + "/faults", json={"endpoint": "getStationList", "kind": "http_status", "status": 502}
    ) as r:
        assert r.status == 200
    async with session.get(base + "/faults") as r:
        assert (await r.json())[0]["kind"] == "http_status"
    await client.login("legacy")
    assert (await client.post("getStationList"))[0] == 502
    async with session.delete(base + "/faults") as r:
        assert r.status == 200
    assert sim.faults.faults == []
    async with session.post(base + "/quirks", json={"pmeter_power": True}) as r:
        assert (await r.json())["pmeter_power"] is True
    assert sim.quirks.pmeter_power
    async with session.post(base + "/quirks", json={"nonsense": True}) as r:
        assert r.status == 400
    async with session.post(base + "/alarms", json={"plantCode": PLANT, "alarmId": 2032}) as r:
        alarm = await r.json()
        assert alarm["dn"] == INVERTER_DN
    async with session.get(base + "/alarms") as r:
        assert any(a["key"] == alarm["key"] for a in await r.json())
    async with session.delete(base + "/alarms", json={"key": alarm["key"]}) as r:
        assert (await r.json())["cleared"] == 1
    async with session.get(base + "/calls") as r:
        calls = await r.json()
        assert calls["summary"]["total"] == 2
        assert calls["records"][0]["endpoint"] == "/thirdData/login"
    async with session.delete(base + "/calls") as r:
        assert r.status == 200
    assert sim.calls.count() == 0
    async with session.post(base + "/clock", json={"advance": 600}) as r:
        assert (await r.json())["offset"] == 600
    assert sim.now() == clock.t + 600
    async with session.get(base + "/state") as r:
        state = await r.json()
        assert state["plants"][0]["plantCode"] == PLANT


# --- error codes ----------------------------------------------------------------------

HUNDRED_AND_ONE = ",".join(f"NE={i}" for i in range(101))
MANY_IDS = ",".join(str(i) for i in range(101))
T = 1750240860000  # 2025-06-18 12:01 Amsterdam

ERROR_CASES: list[tuple[str, str, dict[str, Any], int]] = [
    # legacy plant endpoints
    ("legacy", "getStationRealKpi", {}, 20010),
    ("legacy", "getStationRealKpi", {"stationCodes": ""}, 20010),
    ("legacy", "getStationRealKpi", {"stationCodes": HUNDRED_AND_ONE}, 20014),
    ("legacy", "getStationRealKpi", {"stationCodes": "NE=1"}, 20007),
    ("legacy", "getKpiStationHour", {"stationCodes": PLANT}, 20012),
    ("legacy", "getKpiStationDay", {"stationCodes": PLANT, "collectTime": "soon"}, 20012),
    ("legacy", "getKpiStationMonth", {"collectTime": T}, 20010),
    ("legacy", "getKpiStationYear", {"stationCodes": "NE=1", "collectTime": T}, 20007),
    ("legacy", "getDevList", {"stationCodes": HUNDRED_AND_ONE}, 20014),
    # legacy device endpoints
    ("legacy", "getDevRealKpi", {"devTypeId": 38}, 20005),
    ("legacy", "getDevRealKpi", {"devIds": MANY_IDS, "devTypeId": 38}, 20016),
    ("legacy", "getDevRealKpi", {"devIds": str(INVERTER_ID)}, 20013),
    ("legacy", "getDevRealKpi", {"devIds": str(INVERTER_ID), "devTypeId": 2}, 20013),
    ("legacy", "getDevRealKpi", {"devIds": "123", "devTypeId": 38}, 20008),
    ("legacy", "getDevRealKpi", {"devIds": f"{INVERTER_ID},{BATTERY_ID}", "devTypeId": 38}, 20006),
    ("legacy", "getDevFiveMinutes", {"devIds": str(INVERTER_ID), "devTypeId": 38}, 20012),
    (
        "legacy",
        "getDevFiveMinutes",
        {"devIds": str(INVERTER_ID), "devTypeId": 38, "collectTime": T - 400 * 86400000},
        20026,
    ),
    ("legacy", "getDevKpiDay", {"devIds": str(METER_ID), "devTypeId": 17, "collectTime": T}, 20013),
    (
        "legacy",
        "getDevKpiMonth",
        {"devIds": str(INVERTER_ID), "devTypeId": 39, "collectTime": T},
        20006,
    ),
    ("legacy", "getDevKpiYear", {"devIds": "", "devTypeId": 38, "collectTime": T}, 20005),
    # alarms
    ("legacy", "getAlarmList", {"beginTime": 0, "endTime": T, "language": "en_UK"}, 20010),
    ("legacy", "getAlarmList", {"stationCodes": PLANT, "endTime": T, "language": "en_UK"}, 20012),
    (
        "legacy",
        "getAlarmList",
        {"stationCodes": PLANT, "beginTime": T, "endTime": 0, "language": "en_UK"},
        20023,
    ),
    ("legacy", "getAlarmList", {"stationCodes": PLANT, "beginTime": 0, "endTime": T}, 20024),
    (
        "legacy",
        "getAlarmList",
        {"stationCodes": PLANT, "beginTime": 0, "endTime": T, "language": "xx"},
        20025,
    ),
    # V7 reads
    ("v7", "plants", {"pageSize": 10}, 30004),
    ("v7", "plants", {"pageNo": 1}, 30005),
    ("v7", "plants", {"pageNo": 1, "pageSize": 15}, 30006),
    ("v7", "plants", {"pageNo": 0, "pageSize": 10}, 30021),
    ("v7", "devices", {}, 20010),
    ("v7", "devices", {"plantCodes": HUNDRED_AND_ONE}, 20015),
    ("v7", "devices", {"plantCodes": "NE=1"}, 20007),
    ("v7", "vpp/plants", {"plantCodes": ""}, 20010),
    ("v7", "vpp/plantRealtimeKpi", {"plantCodes": HUNDRED_AND_ONE}, 20015),
    ("v7", "vpp/plantRealtimeKpi", {"plantCodes": "NE=1"}, 20007),
    ("v7", "vpp/plantFiveMinutesKpi", {"startTime": T, "endTime": T + 1}, 20010),
    (
        "v7",
        "vpp/plantFiveMinutesKpi",
        {"plantCode": "NE=1", "startTime": T, "endTime": T + 1},
        20007,
    ),
    ("v7", "vpp/plantFiveMinutesKpi", {"plantCode": PLANT}, 20012),
    ("v7", "vpp/plantFiveMinutesKpi", {"plantCode": PLANT, "startTime": T}, 30007),
    (
        "v7",
        "vpp/plantFiveMinutesKpi",
        {"plantCode": PLANT, "startTime": T, "endTime": T - 1},
        20023,
    ),
    (
        "v7",
        "vpp/plantFiveMinutesKpi",
        {"plantCode": PLANT, "startTime": T - 86400000, "endTime": T},
        20027,
    ),
    # chargeAndDischarge (§5.3.6 table)
    ("v7", "vpp/chargeAndDischarge", {"dispatchSwitch": 0, "requestID": 1}, 20010),
    (
        "v7",
        "vpp/chargeAndDischarge",
        {"plantCodes": HUNDRED_AND_ONE, "dispatchSwitch": 0, "requestID": 1},
        20015,
    ),
    (
        "v7",
        "vpp/chargeAndDischarge",
        {"plantCodes": PLANT, "dispatchSwitch": 3, "requestID": 1},
        20040,
    ),
    (
        "v7",
        "vpp/chargeAndDischarge",
        {"plantCodes": PLANT, "dispatchSwitch": 1, "requestID": 1},
        20041,
    ),
    (
        "v7",
        "vpp/chargeAndDischarge",
        {"plantCodes": PLANT, "dispatchSwitch": 1, "controlType": 3, "requestID": 1},
        20040,
    ),
    (
        "v7",
        "vpp/chargeAndDischarge",
        {"plantCodes": PLANT, "dispatchSwitch": 1, "controlType": 1, "requestID": 1},
        20042,
    ),
    (
        "v7",
        "vpp/chargeAndDischarge",
        {
            "plantCodes": PLANT,
            "dispatchSwitch": 1,
            "controlType": 1,
            "targetSOC": 101,
            "requestID": 1,
        },
        20042,
    ),
    (
        "v7",
        "vpp/chargeAndDischarge",
        {"plantCodes": PLANT, "dispatchSwitch": 2, "controlType": 2, "requestID": 1},
        20043,
    ),
    (
        "v7",
        "vpp/chargeAndDischarge",
        {
            "plantCodes": PLANT,
            "dispatchSwitch": 2,
            "controlType": 2,
            "dispatchTime": 1441,
            "requestID": 1,
        },
        20043,
    ),
    (
        "v7",
        "vpp/chargeAndDischarge",
        {"plantCodes": PLANT, "dispatchSwitch": 1, "controlType": 2, "dispatchTime": 30},
        20044,
    ),
    (
        "v7",
        "vpp/chargeAndDischarge",
        {
            "plantCodes": "NE=1",
            "dispatchSwitch": 1,
            "controlType": 2,
            "dispatchTime": 30,
            "requestID": 1,
        },
        20045,
    ),
    (
        "v7",
        "vpp/chargeAndDischarge",
        {
            "plantCodes": PLANT,
            "dispatchSwitch": 1,
            "controlType": 2,
            "dispatchTime": 30,
            "powerDispatch": -5000,
            "requestID": 1,
        },
        20047,
    ),
    (
        "v7",
        "vpp/chargeAndDischarge",
        {
            "plantCodes": PLANT,
            "dispatchSwitch": 2,
            "controlType": 2,
            "dispatchTime": 30,
            "powerDispatch": 5000,
            "requestID": 1,
        },
        20047,
    ),
    # chargeAndDischargeStatus (§5.3.7 table)
    ("v7", "vpp/chargeAndDischargeStatus", {}, 20044),
    ("v7", "vpp/chargeAndDischargeStatus", {"requestID": 42}, 20050),
    # dod (§5.3.8 table)
    ("v7", "vpp/dod", {"dod": 90}, 20011),
    ("v7", "vpp/dod", {"dns": HUNDRED_AND_ONE, "dod": 90}, 20017),
    ("v7", "vpp/dod", {"dns": BATTERY_DN}, 20039),
    ("v7", "vpp/dod", {"dns": BATTERY_DN, "dod": 101}, 20039),
    ("v7", "vpp/dod", {"dns": "NE=1", "dod": 90}, 20046),
    ("v7", "vpp/dod", {"dns": INVERTER_DN, "dod": 90}, 20051),
    # devOnOff (§5.3.9 table)
    ("v7", "vpp/devOnOff", {"controlType": 1}, 20011),
    ("v7", "vpp/devOnOff", {"dns": HUNDRED_AND_ONE, "controlType": 1}, 20017),
    ("v7", "vpp/devOnOff", {"dns": INVERTER_DN, "controlType": 3}, 20019),
    ("v7", "vpp/devOnOff", {"dns": "NE=1", "controlType": 2}, 20046),
    ("v7", "vpp/devOnOff", {"dns": BATTERY_DN, "controlType": 2}, 20052),
    # registration
    ("v7", "vpp/snEnrolment", {}, 30001),
    ("v7", "vpp/acEnrolment", {"authorizationCodes": ""}, 20038),
    ("v7", "community/snIsRegister", {"account": "x"}, 30001),
    (
        "v7",
        "community/snIsRegister",
        {"sns": ",".join(str(i) for i in range(51)), "account": "x"},
        30002,
    ),
    ("v7", "community/snIsRegister", {"sns": "A1"}, 30003),
    ("v7", "community/snIsRegister", {"sns": "A1", "account": "ghost"}, 20028),
]


@pytest.mark.parametrize(
    ("family", "endpoint", "body", "code"),
    ERROR_CASES,
    ids=[f"{e}-{c}-{i}" for i, (_, e, _, c) in enumerate(ERROR_CASES)],
)
async def test_error_codes(
    make: Factory, family: str, endpoint: str, body: dict[str, Any], code: int
) -> None:
    _, client, _ = await make()
    await client.login(family)
    status, payload = await client.post(endpoint, body)
    assert status == 200
    assert payload["failCode"] == code, payload
    if code != 20028:  # the spec's example answers "user does not exist" with success true
        assert payload["success"] is False
    assert payload["data"] is None
    assert ("params" in payload) == (family == "legacy")


async def test_duplicate_request_id_and_busy_plant(make: Factory) -> None:
    _, client, _ = await make()
    await client.login("v7")
    body = {
        "plantCodes": PLANT,
        "dispatchSwitch": 1,
        "controlType": 2,
        "dispatchTime": 60,
        "powerDispatch": 2000,
        "requestID": 7,
    }
    assert (await client.data("vpp/chargeAndDischarge", body))[0]["dispatchResult"] == 0
    assert (await client.post("vpp/chargeAndDischarge", body))[1]["failCode"] == 20048
    # a second task for a plant with one running is not delivered
    body["requestID"] = 8
    assert (await client.post("vpp/chargeAndDischarge", body))[1]["failCode"] == 20049


async def test_soc_control_unsupported(make: Factory) -> None:
    from tests.simulator import DeviceSpec

    _, client, _ = await make(
        devices=["inverter", DeviceSpec(kind="battery", soc_control_supported=False), "meter"]
    )
    await client.login("v7")
    body = {
        "plantCodes": PLANT,
        "dispatchSwitch": 1,
        "controlType": 1,
        "targetSOC": 90,
        "requestID": 3,
    }
    assert (await client.post("vpp/chargeAndDischarge", body))[1]["failCode"] == 20053


async def test_dispatch_to_plant_without_battery_fails(make: Factory) -> None:
    _, client, _ = await make(devices=["inverter", "meter"])
    await client.login("v7")
    body = {
        "plantCodes": PLANT,
        "dispatchSwitch": 1,
        "controlType": 2,
        "dispatchTime": 5,
        "requestID": 3,
    }
    assert (await client.post("vpp/chargeAndDischarge", body))[1]["failCode"] == 20049


async def test_enrolment_and_sn_query(make: Factory) -> None:
    sim, client, _ = await make(plants=2, accounts=[Account("vpp", "pw", plants=[])])
    await client.login("v7", "vpp", "pw")
    assert (await client.data("plants", {"pageNo": 1, "pageSize": 10}))["total"] == 0
    sn = sim.plants[0].inverters[0].sn
    result = await client.data(
        "vpp/snEnrolment",
        {"devices": [{"sn": sn, "email": "o@example.com"}, {"sn": "nope", "email": "x"}]},
    )
    assert [r["success"] for r in result] == [True, False]
    assert result[0]["plantCode"] == PLANT
    ac = sim.plants[1].authorization_code
    result = await client.data("vpp/acEnrolment", {"authorizationCodes": f"{ac},BAD"})
    assert [r["success"] for r in result] == [True, False]
    assert (await client.data("vpp/plantRealtimeKpi", {"plantCodes": "NE=33554496"}))[0][
        "plantCode"
    ]
    regs = await client.data("community/snIsRegister", {"sns": f"{sn},UNKNOWN", "account": "vpp"})
    assert [r["result"] for r in regs] == [3, 0]


async def test_item18_8_enrolment_paths_of_the_2_1_table(make: Factory) -> None:
    """§2.1 spells the enrolment paths "snEnrollment"/"acEnrollment": both are served."""
    sim, client, _ = await make(plants=2, accounts=[Account("vpp", "pw", plants=[])])
    await client.login("v7", "vpp", "pw")
    sn = sim.plants[0].inverters[0].sn
    by_sn = await client.data("vpp/snEnrollment", {"devices": [{"sn": sn, "email": "o@x.org"}]})
    assert by_sn[0]["plantCode"] == sim.plants[0].code
    ac = sim.plants[1].authorization_code
    by_ac = await client.data("vpp/acEnrollment", {"authorizationCodes": ac})
    assert by_ac[0]["plantCode"] == sim.plants[1].code
    assert sim.calls.count("vpp/snEnrolment") == 1  # one quota bucket with the §5 spelling
    assert sim.calls.count("vpp/acEnrolment") == 1
