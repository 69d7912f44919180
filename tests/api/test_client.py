"""The client end to end against the simulator (spec profile unless stated)."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from custom_components.fusionsolar.api import (
    ApiFamilies,
    ApiFamilyUnavailableError,
    AuthenticationError,
    CommunicationError,
    Device,
    DeviceKind,
    DispatchMode,
    DispatchState,
    Endpoint,
    FusionSolarClient,
    FusionSolarError,
    InvalidArgumentError,
    InvalidRequestError,
    NotAnNbiHostError,
    PermissionDeniedError,
    PlantHealth,
    QuotaExceededError,
    QuotaWouldExceed,
    ServerError,
    ServiceUnavailableError,
    TokenExpiredError,
    UnauthorizedResourceError,
)

from .conftest import ClientFactory
from .fakes import FakeClock

TZ = ZoneInfo("Europe/Amsterdam")


async def test_login_detects_both_families(make_client: ClientFactory) -> None:
    sim, client = await make_client()
    families = await client.async_login()
    assert families == ApiFamilies(legacy=True, v7=True)
    assert client.families == families
    assert client.v7_url is not None
    assert client.v7_url.rstrip("/") == sim.url
    assert sim.calls.count(Endpoint.LEGACY_LOGIN) == 1
    assert sim.calls.count(Endpoint.V7_LOGIN) == 1
    # Already logged in: nothing more is sent.
    await client.async_login()
    assert sim.calls.count(Endpoint.V7_LOGIN) == 1
    assert sim.password not in repr(client)
    assert "***" in repr(client)


async def test_every_read_endpoint(make_client: ClientFactory, clock: FakeClock) -> None:
    sim, client = await make_client(
        plants=2, devices=("inverter", "battery", "meter", "power_sensor", "emi")
    )
    plants = await client.async_get_plants()
    assert sorted(p.code for p in plants) == sorted(p.code for p in sim.plants)
    assert all(p.capacity_kwp and p.capacity_kwp > 0 for p in plants)
    codes = [p.code for p in plants]
    devices = await client.async_get_devices(codes)
    kinds = {d.kind for d in devices}
    assert kinds >= {
        DeviceKind.INVERTER,
        DeviceKind.BATTERY,
        DeviceKind.METER,
        DeviceKind.POWER_SENSOR,
        DeviceKind.EMI,
    }
    assert all(d.id is not None for d in devices)
    assert any(d.dn is not None for d in devices if d.kind is DeviceKind.BATTERY)
    realtime = await client.async_get_plant_realtime(codes)
    assert set(realtime) == set(codes)
    kpi = realtime[codes[0]]
    plant = next(p for p in sim.plants if p.code == codes[0])
    slot = clock.now - clock.now % 300
    assert kpi.health is PlantHealth(plant.health(slot))
    assert kpi.pv_power is not None
    assert kpi.battery_soc is not None
    station = await client.async_get_station_realtime(codes)
    assert station[codes[0]].total_power is not None
    dev_kpis = await client.async_get_device_realtime(devices)
    assert set(dev_kpis) == {d.id for d in devices}
    inverter = next(d for d in devices if d.kind is DeviceKind.INVERTER)
    assert dev_kpis[inverter.id or ""].get("active_power") is not None
    # one getDevRealKpi call per device type
    assert sim.calls.count(Endpoint.DEV_REAL_KPI) == 5
    today = date.fromtimestamp(clock.now)
    five = await client.async_get_plant_five_minutes(codes[0], today, TZ)
    assert five
    assert all(item.start.tzinfo is not None for item in five)
    day_start = int(datetime.combine(today, time.min, tzinfo=TZ).timestamp() * 1000)
    hourly = await client.async_get_plant_hourly(codes, day_start)
    assert hourly
    assert {h.plant_code for h in hourly} <= set(codes)
    sim.raise_alarm(codes[0])
    alarms = await client.async_get_alarms(codes, day_start - 86_400_000, int(clock.now * 1000))
    assert alarms
    assert all(a.key and a.plant_code in codes for a in alarms)
    assert any(a.level is not None and a.raise_time is not None for a in alarms)
    assert sim.calls.refused == 0


async def test_control_endpoints(make_client: ClientFactory) -> None:
    sim, client = await make_client()
    code = sim.plants[0].code
    cmd = await client.async_charge_discharge(
        [code], DispatchMode.CHARGE, target_soc=90, power_w=2500
    )
    assert cmd.success
    assert cmd.results[0].plant_code == code
    status = await client.async_charge_discharge_status(cmd.request_id)
    assert status.entries
    assert status.state in (DispatchState.IN_PROGRESS, DispatchState.COMPLETE)
    stop = await client.async_charge_discharge([code], DispatchMode.STOP)
    assert stop.request_id != cmd.request_id
    cmd2 = await client.async_charge_discharge(
        [code], DispatchMode.DISCHARGE, duration_min=30, power_w=1000
    )
    assert cmd2.results
    assert sim.calls.count(Endpoint.VPP_CHARGE_DISCHARGE) == 3
    devices = await client.async_get_devices([code])
    battery = next(d for d in devices if d.kind is DeviceKind.BATTERY)
    inverter = next(d for d in devices if d.kind is DeviceKind.INVERTER)
    assert battery.dn
    assert inverter.dn
    (dod,) = await client.async_set_dod([battery.dn], 85)
    assert dod.success
    assert dod.set_dod is not None
    (off,) = await client.async_device_on_off([inverter.dn], on=False)
    assert off.success
    (on,) = await client.async_device_on_off([inverter.dn], on=True)
    assert on.success
    assert sim.calls.refused == 0


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        (([], DispatchMode.CHARGE), {"target_soc": 50}),
        ((["P"], DispatchMode.CHARGE), {}),
        ((["P"], DispatchMode.CHARGE), {"target_soc": 50, "duration_min": 10}),
        ((["P"], DispatchMode.CHARGE), {"target_soc": 101}),
        ((["P"], DispatchMode.CHARGE), {"target_soc": -1}),
        ((["P"], DispatchMode.CHARGE), {"target_soc": float("nan")}),
        ((["P"], DispatchMode.CHARGE), {"target_soc": True}),
        ((["P"], DispatchMode.DISCHARGE), {"duration_min": 1441}),
        ((["P"], DispatchMode.DISCHARGE), {"duration_min": -1}),
        ((["P"], DispatchMode.DISCHARGE), {"duration_min": 1.5}),
        ((["P"], DispatchMode.CHARGE), {"target_soc": 50, "power_w": 0}),
        ((["P"], DispatchMode.CHARGE), {"target_soc": 50, "power_w": -100}),
        ((["P"], DispatchMode.STOP), {"target_soc": 50}),
        ((["P"], DispatchMode.STOP), {"power_w": 100}),
        ((["P"], 7), {"target_soc": 50}),
        (([f"P{i}" for i in range(101)], DispatchMode.STOP), {}),
        ((["P", ""], DispatchMode.STOP), {}),
        (("P", DispatchMode.STOP), {}),
    ],
)
async def test_charge_discharge_validation_sends_nothing(
    make_client: ClientFactory, args: tuple[object, ...], kwargs: dict[str, object]
) -> None:
    sim, client = await make_client()
    with pytest.raises(InvalidRequestError) as exc:
        await client.async_charge_discharge(*args, **kwargs)  # type: ignore[arg-type]
    assert isinstance(exc.value, ValueError)
    assert sim.calls.records == []


async def test_other_control_validation_sends_nothing(make_client: ClientFactory) -> None:
    sim, client = await make_client()
    bad_calls = [
        client.async_set_dod([], 50),
        client.async_set_dod(["D"], 101),
        client.async_set_dod(["D"], -1),
        client.async_set_dod(["D"], 50.5),  # type: ignore[arg-type]
        client.async_set_dod([f"D{i}" for i in range(101)], 50),
        client.async_device_on_off([], on=True),
        client.async_device_on_off(["D"], on=1),  # type: ignore[arg-type]
        client.async_charge_discharge_status(0),
        client.async_charge_discharge_status(2**63),
        client.async_charge_discharge_status("1"),  # type: ignore[arg-type]
    ]
    for coro in bad_calls:
        with pytest.raises(ValueError, match=r"must|cannot|range|most"):
            await coro
    assert sim.calls.records == []


async def test_v7_absent(make_client: ClientFactory) -> None:
    sim, client = await make_client(quirks=["no_v7"])
    families = await client.async_login()
    assert families == ApiFamilies(legacy=True, v7=False)
    with pytest.raises(ApiFamilyUnavailableError, match="V7"):
        await client.async_charge_discharge([sim.plants[0].code], DispatchMode.STOP)
    with pytest.raises(ApiFamilyUnavailableError):
        await client.async_get_plant_realtime([sim.plants[0].code])
    plants = await client.async_get_plants()
    assert [p.code for p in plants] == [sim.plants[0].code]
    devices = await client.async_get_devices([plants[0].code])
    assert devices
    assert all(d.dn is None for d in devices)
    assert sim.calls.count(Endpoint.STATION_LIST) == 1


async def test_v7_refused_for_account(make_client: ClientFactory) -> None:
    sim, client = await make_client(username="legacy_only", password="pw", accounts=[])
    sim.accounts["legacy_only"].v7 = False
    families = await client.async_login()
    assert families == ApiFamilies(legacy=True, v7=False)


async def test_wrong_password(make_client: ClientFactory) -> None:
    sim, _ = await make_client()
    _, client = await make_client(sim=sim)
    client._password = "wrong"
    with pytest.raises(AuthenticationError) as exc:
        await client.async_login()
    assert exc.value.fail_code == 20400
    assert "wrong" not in str(exc.value)
    # Never sent again by this client, for either family (five lock the account).
    for call in (client.async_login, lambda: client.async_get_plants(wait=True)):
        with pytest.raises(AuthenticationError, match="not sent again"):
            await call()
    assert sim.calls.count(fail_code=20400) == 1


async def test_empty_login_body(make_client: ClientFactory) -> None:
    _sim, client = await make_client(quirks=["empty_login_body"])
    client._password = "wrong"
    with pytest.raises(AuthenticationError, match="empty"):
        await client.async_login()


@pytest.mark.parametrize(
    ("status", "fail_code", "cls"),
    [
        ("forbidden", 20002, AuthenticationError),
        ("expired", 20003, AuthenticationError),
        ("restricted", 20403, PermissionDeniedError),
    ],
)
async def test_account_states(
    make_client: ClientFactory, status: str, fail_code: int, cls: type[Exception]
) -> None:
    sim, client = await make_client()
    sim.accounts[sim.username].status = status  # type: ignore[assignment]
    with pytest.raises(cls) as exc:
        await client.async_login()
    assert getattr(exc.value, "fail_code", None) == fail_code


@pytest.mark.parametrize("kind", ["html", "http404"])
async def test_not_an_nbi_host(make_client: ClientFactory, kind: str) -> None:
    sim, client = await make_client()
    if kind == "html":
        sim.faults.add("login", "html", count=0)
    else:
        sim.faults.add("login", "http_status", count=0, status=404)
    with pytest.raises(NotAnNbiHostError):
        await client.async_login()
    # Detection refunds its slots: nothing was counted against the login quota.
    assert client.governor.can_call(Endpoint.LEGACY_LOGIN)


async def test_transparent_relogin_once(make_client: ClientFactory, clock: FakeClock) -> None:
    sim, client = await make_client()
    code = sim.plants[0].code
    await client.async_get_station_realtime([code])
    clock.advance(120)
    sim.invalidate_sessions()
    # A kick-out: the re-login waits out the other login's window (issue 17 item 1).
    await client.async_get_station_realtime([code], wait=True)
    assert sim.calls.count(Endpoint.LEGACY_LOGIN) == 2
    assert sim.calls.count(Endpoint.STATION_REAL_KPI, fail_code=305) == 1
    assert client.session_kickouts == 1
    # A quiet half hour ends the kick-out streak.
    clock.advance(31 * 60)
    await client.async_get_station_realtime([code])
    assert client.consecutive_kickouts == 0
    assert client.session_kickouts == 1  # the idle timeout was no kick-out
    assert sim.calls.count(Endpoint.LEGACY_LOGIN) == 3
    # A 305 that persists after the re-login: raised, no loop.
    clock.advance(120)
    sim.faults.add("getStationRealKpi", "fail_code", count=5, fail_code=305)
    with pytest.raises(TokenExpiredError):
        await client.async_get_station_realtime([code], wait=True)
    assert sim.calls.count(Endpoint.LEGACY_LOGIN) == 4
    assert sim.calls.count(Endpoint.STATION_REAL_KPI, fail_code=305) == 3


async def test_305_shape_and_login_quota(make_client: ClientFactory, clock: FakeClock) -> None:
    sim, client = await make_client(quirks=["relogin_305_shape"])
    code = sim.plants[0].code
    await client.async_get_station_realtime([code])
    clock.advance(10)
    sim.invalidate_sessions()
    # Less than 60 s after the login: no second login, the caller is told when to retry.
    with pytest.raises(QuotaWouldExceed) as exc:
        await client.async_get_station_realtime([code])
    assert exc.value.endpoint == Endpoint.LEGACY_LOGIN
    assert 0 < exc.value.retry_after <= 61
    assert sim.calls.count(Endpoint.LEGACY_LOGIN) == 1
    # Waiting is allowed: it logs in once the window has cleared.
    result = await client.async_get_station_realtime([code], wait=True)
    assert code in result
    logins = sim.calls.select(Endpoint.LEGACY_LOGIN)
    assert len(logins) == 2
    assert logins[1].time - logins[0].time >= 60
    assert sim.calls.refused == 0


async def test_single_session_kickouts_back_off(
    make_client: ClientFactory, clock: FakeClock
) -> None:
    sim, client = await make_client(quirks=["single_session"])
    code = sim.plants[0].code
    await client.async_get_station_realtime([code])
    times = []
    for _ in range(4):
        clock.advance(70)
        sim.invalidate_sessions()  # another tool logged in
        await client.async_get_station_realtime([code], wait=True)
        times.append(clock.now)
    assert client.session_kickouts == 4
    assert client.consecutive_kickouts == 4
    logins = [r.time for r in sim.calls.select(Endpoint.LEGACY_LOGIN)]
    gaps = [b - a for a, b in itertools.pairwise(logins)]
    # each re-login waits out the other login's window (61 s), then 1, 2, 4 minutes
    assert gaps[0] >= 70 + 61
    assert gaps[1] >= 70 + 61
    assert gaps[2] >= 70 + 120 - 1
    assert gaps[3] >= 70 + 240 - 1
    # wait=False callers are told to retry later instead of a login ping-pong
    clock.advance(70)
    sim.invalidate_sessions()
    with pytest.raises(QuotaWouldExceed):
        await client.async_get_station_realtime([code])
    # a long quiet session resets the streak
    clock.advance(3600)
    await client.async_get_station_realtime([code], wait=True)
    clock.advance(31 * 60)
    await client.async_get_station_realtime([code])
    assert client.consecutive_kickouts == 0
    assert client.session_kickouts == 5
    assert sim.calls.refused == 0


async def test_quota_403_shape(make_client: ClientFactory) -> None:
    sim, client = await make_client()
    devices = await client.async_get_devices([sim.plants[0].code])
    sim.faults.add("getDevRealKpi", "quota_403")
    with pytest.raises(QuotaExceededError) as exc:
        await client.async_get_device_realtime(devices)
    assert exc.value.retry_after == pytest.approx(61, abs=1)
    # blocked until the window clears: nothing sent
    with pytest.raises(QuotaWouldExceed):
        await client.async_get_device_realtime(devices)
    assert sim.calls.count(Endpoint.DEV_REAL_KPI) == 1


async def test_407_with_message_in_data(make_client: ClientFactory) -> None:
    sim, client = await make_client()
    sim.faults.add("getStationRealKpi", "fail_code", fail_code=407, message="")
    with pytest.raises(QuotaExceededError) as exc:
        await client.async_get_station_realtime([sim.plants[0].code])
    assert exc.value.fail_code == 407
    assert client.governor.refusals(Endpoint.STATION_REAL_KPI) == 1


@pytest.mark.parametrize(
    ("fault", "opts", "cls"),
    [
        ("malformed_json", {}, CommunicationError),
        ("http_status", {"status": 500}, CommunicationError),
        ("http_status", {"status": 503}, ServiceUnavailableError),
        ("html", {}, CommunicationError),
        ("empty_body", {}, CommunicationError),
        ("fail_code", {"fail_code": 20004}, ServerError),
        ("fail_code", {"fail_code": 20009}, InvalidRequestError),
        ("fail_code", {"fail_code": 12345}, FusionSolarError),
    ],
)
async def test_error_classes(
    make_client: ClientFactory, fault: str, opts: dict[str, object], cls: type[Exception]
) -> None:
    sim, client = await make_client()
    await client.async_login()
    sim.faults.add("getStationRealKpi", fault, **opts)
    with pytest.raises(cls) as exc:
        await client.async_get_station_realtime([sim.plants[0].code])
    assert sim.password not in str(exc.value)


async def test_timeout(make_client: ClientFactory) -> None:
    sim, client = await make_client(client_kwargs={"request_timeout": 0.3})
    await client.async_login()
    sim.faults.add("getStationRealKpi", "timeout", seconds=1.0)
    with pytest.raises(CommunicationError, match="timed out"):
        await client.async_get_station_realtime([sim.plants[0].code])


async def test_unauthorized_plant(make_client: ClientFactory) -> None:
    _sim, client = await make_client()
    with pytest.raises(UnauthorizedResourceError):
        await client.async_get_plant_realtime(["NE=does-not-exist"])
    assert client.refused_endpoints == {}


async def test_permission_refusal_on_one_endpoint(make_client: ClientFactory) -> None:
    sim, client = await make_client()
    sim.accounts[sim.username].denied_endpoints = {Endpoint.DEV_REAL_KPI: 20056}
    code = sim.plants[0].code
    devices = await client.async_get_devices([code])
    with pytest.raises(PermissionDeniedError) as exc:
        await client.async_get_device_realtime(devices)
    assert exc.value.fail_code == 20056
    assert set(client.refused_endpoints) == {Endpoint.DEV_REAL_KPI}
    # not asked again
    with pytest.raises(PermissionDeniedError):
        await client.async_get_device_realtime(devices)
    assert sim.calls.count(Endpoint.DEV_REAL_KPI) == 1
    # everything else still works
    assert code in await client.async_get_station_realtime([code])
    assert code in await client.async_get_plant_realtime([code])


async def test_station_list_refused_uses_stations(make_client: ClientFactory) -> None:
    sim, client = await make_client(quirks=["permission", "no_v7"])
    plants = await client.async_get_plants()
    assert [p.code for p in plants] == [sim.plants[0].code]
    assert plants[0].name
    assert Endpoint.STATION_LIST in client.refused_endpoints
    assert sim.calls.count(Endpoint.STATIONS) == 1


@pytest.mark.parametrize("quirk", ["uppercase_cookies", "v7_cookie_example"])
async def test_token_shapes(make_client: ClientFactory, quirk: str) -> None:
    sim, client = await make_client(quirks=[quirk])
    code = sim.plants[0].code
    assert await client.async_login() == ApiFamilies(legacy=True, v7=True)
    assert code in await client.async_get_station_realtime([code])
    assert code in await client.async_get_plant_realtime([code])


@pytest.mark.parametrize(
    "quirks",
    [
        [
            "pmeter_power",
            "plants_as_list",
            "health_out_of_range",
            "legacy_string_values",
            "status_example_names",
            "status_as_map",
            "five_minute_compact_tz",
        ]
    ],
)
async def test_spec_contradictions(
    make_client: ClientFactory, clock: FakeClock, quirks: list[str]
) -> None:
    _sim, client = await make_client(quirks=quirks)
    plants = await client.async_get_plants()
    code = plants[0].code
    kpi = (await client.async_get_plant_realtime([code]))[code]
    assert kpi.grid_power is not None
    assert kpi.health is not None
    station = (await client.async_get_station_realtime([code]))[code]
    assert station.day_power is not None
    devices = await client.async_get_devices([code])
    assert any(d.dn for d in devices)
    five = await client.async_get_plant_five_minutes(code, date.fromtimestamp(clock.now), TZ)
    assert five
    cmd = await client.async_charge_discharge([code], DispatchMode.CHARGE, duration_min=10)
    status = await client.async_charge_discharge_status(cmd.request_id)
    assert status.entries
    assert status.entries[0].start is not None


async def test_close_logs_out(make_client: ClientFactory) -> None:
    sim, client = await make_client()
    await client.async_login()
    await client.async_close()
    assert sim.calls.count(Endpoint.LEGACY_LOGOUT) == 1
    assert sim.calls.count(Endpoint.V7_LOGOUT) == 1
    assert sim.calls.count(Endpoint.V7_LOGOUT, fail_code=0) == 1
    await client.async_close()  # idempotent
    assert sim.calls.count(Endpoint.LEGACY_LOGOUT) == 1


async def test_five_minutes_request_is_one_local_day(
    make_client: ClientFactory, clock: FakeClock
) -> None:
    sim, client = await make_client()
    yesterday = date.fromtimestamp(clock.now) - timedelta(days=1)
    items = await client.async_get_plant_five_minutes(sim.plants[0].code, yesterday, TZ)
    assert len(items) == 288
    assert items[0].start.astimezone(TZ).date() == yesterday


async def test_read_validation_sends_nothing(make_client: ClientFactory) -> None:
    sim, client = await make_client()
    code = sim.plants[0].code
    bad_calls = [
        client.async_get_device_realtime_group(True, ["1"]),  # type: ignore[arg-type]
        client.async_get_device_realtime_group("38", ["1"]),  # type: ignore[arg-type]
        client.async_get_plant_hourly([code], 1.5e12),  # type: ignore[arg-type]
        client.async_get_alarms([code], "0", 1),  # type: ignore[arg-type]
        client.async_get_alarms([code], 2, 1),
    ]
    for coro in bad_calls:
        with pytest.raises(InvalidArgumentError, match="must"):
            await coro
    assert await client.async_get_devices([]) == []
    assert sim.calls.records == []


def test_device_realtime_groups_skip_what_has_no_realtime_kpi() -> None:
    """No id, a type without getDevRealKpi, or a device listed twice: one call per type."""
    inverter = Device(id="1", dn="NE=1", plant_code="P", dev_type_id=38, sn="A")
    devices = [
        inverter,
        replace(inverter, sn="B"),  # the same id again
        Device(id=None, dn="NE=2", plant_code="P", dev_type_id=38, sn="C"),
        Device(id="3", dn="NE=3", plant_code="P", dev_type_id=62, sn="D"),  # Dongle
        Device(id="4", dn="NE=4", plant_code="P", dev_type_id=47, sn="E"),  # meter
    ]
    assert FusionSolarClient.device_realtime_groups(devices) == [(38, ["1"]), (47, ["4"])]


@pytest.mark.parametrize(("fail_code", "kept"), [(20056, True), (20007, False)])
async def test_v7_plant_list_refused(
    make_client: ClientFactory, fail_code: int, kept: bool
) -> None:
    """V7 ``plants`` refused for the interface: the legacy list. Refused for a plant: raised."""
    sim, client = await make_client()
    sim.accounts[sim.username].denied_endpoints = {Endpoint.V7_PLANTS: fail_code}
    if kept:
        assert [p.code for p in await client.async_get_plants()] == [sim.plants[0].code]
        assert sim.calls.count(Endpoint.STATION_LIST) == 1
    else:
        with pytest.raises(UnauthorizedResourceError):
            await client.async_get_plants()
        assert sim.calls.count(Endpoint.STATION_LIST) == 0


async def test_station_list_refused_for_a_plant_is_raised(make_client: ClientFactory) -> None:
    sim, client = await make_client(quirks=["no_v7"])
    sim.accounts[sim.username].denied_endpoints = {Endpoint.STATION_LIST: 20007}
    with pytest.raises(UnauthorizedResourceError):
        await client.async_get_plants()
    assert sim.calls.count(Endpoint.STATIONS) == 0


async def test_device_lists_refused(make_client: ClientFactory) -> None:
    """Either family's device list may be refused; both refused, or a plant refused, raise."""
    sim, client = await make_client()
    code = sim.plants[0].code
    account = sim.accounts[sim.username]

    account.denied_endpoints = {Endpoint.V7_DEVICES: 20056}
    devices = await client.async_get_devices([code])
    assert devices
    assert all(d.id is not None and d.dn is None for d in devices)

    account.denied_endpoints = {Endpoint.DEV_LIST: 20007}
    with pytest.raises(UnauthorizedResourceError):
        await client.async_get_devices([code])

    sim2, client2 = await make_client()
    sim2.accounts[sim2.username].denied_endpoints = {
        Endpoint.DEV_LIST: 20056,
        Endpoint.V7_DEVICES: 20056,
    }
    with pytest.raises(PermissionDeniedError):
        await client2.async_get_devices([sim2.plants[0].code])


async def test_legacy_device_list_refused_without_v7_is_raised(make_client: ClientFactory) -> None:
    sim, client = await make_client(quirks=["no_v7"])
    sim.accounts[sim.username].denied_endpoints = {Endpoint.DEV_LIST: 20056}
    with pytest.raises(PermissionDeniedError):
        await client.async_get_devices([sim.plants[0].code])
