"""Issue 17: sessions, tokens, logout and sending each request at most once (client level)."""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
import pytest

from custom_components.fusionsolar.api import (
    ApiFamilies,
    ApiFamilyUnavailableError,
    AuthenticationError,
    CommunicationError,
    DispatchMode,
    Endpoint,
    FusionSolarClient,
    PermissionDeniedError,
    QuotaError,
    QuotaWouldExceed,
    ServiceUnavailableError,
    UnauthorizedResourceError,
)
from custom_components.fusionsolar.api.const import PERMISSION_RECHECK
from custom_components.fusionsolar.api.errors import OutcomeUnknownError
from tests.simulator import Simulator
from tests.simulator.testing import NbiTestClient

from .conftest import ClientFactory
from .fakes import FakeClock

MINUTE = 60.0


def deeply_nested_answer(depth: int = 100_000) -> str:
    """A JSON envelope nested deeper than any decoder's recursion limit."""
    return '{"success": true, "failCode": 0, "data": ' + "[" * depth + "]" * depth + "}"


async def other_tool_logs_in(sim: Simulator, http: aiohttp.ClientSession) -> None:
    """Another tool logs in to the same account (one session per account: ours ends)."""
    response = await NbiTestClient(sim, http).login("legacy")
    assert response.status == 200


def refused_logins(sim: Simulator) -> int:
    return sum(
        sim.calls.count(endpoint, fail_code=407)
        for endpoint in (Endpoint.LEGACY_LOGIN, Endpoint.V7_LOGIN)
    )


# ---------------------------------------------------------------- item 1: kick-out re-login


async def single_session_read_earlier(
    make_client: ClientFactory, clock: FakeClock
) -> tuple[Simulator, FusionSolarClient, str]:
    """A single-session account whose plant we read ten minutes ago (logged in since)."""
    sim, client = await make_client(quirks=["single_session"])
    code = sim.plants[0].code
    await client.async_get_station_realtime([code])
    clock.advance(10 * MINUTE)
    return sim, client, code


async def test_item17_1_kickout_relogin_waits_one_login_window(
    make_client: ClientFactory, clock: FakeClock, http: aiohttp.ClientSession
) -> None:
    """The other tool logged in just before our 305: our re-login waits out its window."""
    sim, client, code = await single_session_read_earlier(make_client, clock)
    await other_tool_logs_in(sim, http)  # its login window covers our next call
    clock.advance(5)
    with pytest.raises(QuotaWouldExceed) as exc:
        await client.async_get_station_realtime([code])
    assert exc.value.endpoint == Endpoint.LEGACY_LOGIN
    assert 55 < exc.value.retry_after <= 61
    assert client.session_kickouts == 1
    assert sim.calls.count(Endpoint.LEGACY_LOGIN) == 2  # ours, the other tool's
    # Still inside the window: still no login.
    clock.advance(30)
    with pytest.raises(QuotaWouldExceed):
        await client.async_get_station_realtime([code])
    assert sim.calls.count(Endpoint.LEGACY_LOGIN) == 2
    clock.advance(exc.value.retry_after - 30)
    assert code in await client.async_get_station_realtime([code])
    assert sim.calls.count(Endpoint.LEGACY_LOGIN) == 3
    assert refused_logins(sim) == 0


async def test_item17_1_waiting_callers_log_in_after_the_window(
    make_client: ClientFactory, clock: FakeClock, http: aiohttp.ClientSession
) -> None:
    """``wait=True`` (control, later pages) sleeps out the window and is never refused."""
    sim, client, code = await single_session_read_earlier(make_client, clock)
    await other_tool_logs_in(sim, http)
    detected = clock.now
    assert code in await client.async_get_station_realtime([code], wait=True)
    logins = sim.calls.select(Endpoint.LEGACY_LOGIN)
    assert logins[-1].time - detected >= 61
    assert refused_logins(sim) == 0


# ---------------------------------------------------------------- item 2: token lifetime


async def test_item17_2_legacy_token_renewed_before_absolute_expiry(
    make_client: ClientFactory, clock: FakeClock
) -> None:
    """Used every minute, the legacy token still dies 30 min after login: renew first."""
    sim, client = await make_client()
    code = sim.plants[0].code
    for _ in range(95):  # 95 minutes of one call a minute
        await client.async_get_station_realtime([code])
        clock.advance(MINUTE)
    assert sim.calls.count(Endpoint.STATION_REAL_KPI, fail_code=305) == 0
    assert sim.calls.count(Endpoint.LEGACY_LOGIN) == 4  # at 0, ~28, ~56 and ~84 min
    assert client.session_kickouts == 0
    assert client.consecutive_kickouts == 0


async def test_item17_2_expiry_305_is_not_a_kickout(
    make_client: ClientFactory, clock: FakeClock
) -> None:
    """Renewal impossible (login window busy): the 305 at 30 min is an expiry, not a kick-out."""
    sim, client = await make_client()
    code = sim.plants[0].code

    async def busy_login_window() -> None:  # e.g. a credentials check of the account
        (await client.governor.acquire(Endpoint.LEGACY_LOGIN)).success()

    await client.async_get_station_realtime([code])
    clock.advance(27.9 * MINUTE)
    await busy_login_window()
    clock.advance(0.1 * MINUTE)
    assert code in await client.async_get_station_realtime([code])  # renewal deferred
    clock.advance(1.5 * MINUTE)
    await busy_login_window()
    clock.advance(0.5 * MINUTE)
    with pytest.raises(QuotaWouldExceed):  # 305 at 30 min; login window still busy
        await client.async_get_station_realtime([code])
    clock.advance(MINUTE)
    assert code in await client.async_get_station_realtime([code])
    assert sim.calls.count(Endpoint.STATION_REAL_KPI, fail_code=305) == 1  # at 30 min
    assert client.session_kickouts == 0
    assert client.consecutive_kickouts == 0
    assert sim.calls.count(Endpoint.LEGACY_LOGIN) == 2
    assert refused_logins(sim) == 0


# ---------------------------------------------------------------- item 3: logout keys


async def test_item17_3_logout_sends_each_familys_token_key(make_client: ClientFactory) -> None:
    sim, client = await make_client()
    await client.async_login()
    await client.async_close()
    assert sim.calls.count(Endpoint.LEGACY_LOGOUT, fail_code=0) == 1
    assert sim.calls.count(Endpoint.V7_LOGOUT, fail_code=0) == 1
    assert not sim.sessions


# ---------------------------------------------------------------- item 4: 30029


@pytest.mark.parametrize("endpoint", ["getStationRealKpi", "login"])
async def test_item17_4_fail_code_30029_is_an_authentication_error(
    make_client: ClientFactory, endpoint: str
) -> None:
    sim, client = await make_client()
    sim.faults.add(endpoint, "fail_code", fail_code=30029, family="legacy")
    with pytest.raises(AuthenticationError) as exc:
        await client.async_get_station_realtime([sim.plants[0].code])
    assert exc.value.fail_code == 30029


# ---------------------------------------------------------------- item 5: never sent twice


CONTROLS: list[tuple[str, Any]] = [
    (
        Endpoint.VPP_CHARGE_DISCHARGE,
        lambda c, sim: c.async_charge_discharge(
            [sim.plants[0].code], DispatchMode.CHARGE, target_soc=80
        ),
    ),
    (Endpoint.VPP_DOD, lambda c, sim: c.async_set_dod([_battery_dn(sim)], 80)),
    (Endpoint.VPP_DEV_ON_OFF, lambda c, sim: c.async_device_on_off([_inverter_dn(sim)], True)),
]


def _battery_dn(sim: Simulator) -> str:
    return next(d.dn for d in sim.plants[0].devices if d.kind == "battery")


def _inverter_dn(sim: Simulator) -> str:
    return next(d.dn for d in sim.plants[0].devices if d.kind == "inverter")


@pytest.mark.parametrize(("endpoint", "send"), CONTROLS)
async def test_item17_5_control_is_never_resent_after_a_drop(
    make_client: ClientFactory, endpoint: str, send: Any
) -> None:
    sim, client = await make_client()
    await client.async_login()
    sim.faults.add(endpoint, "disconnect")
    with pytest.raises(OutcomeUnknownError):
        await send(client, sim)
    assert sim.calls.count(endpoint) == 1
    assert sim.calls.count(endpoint, fail_code=20048) == 0


async def test_item17_5_alarm_list_is_not_resent_within_its_minute(
    make_client: ClientFactory, clock: FakeClock
) -> None:
    sim, client = await make_client()
    code = sim.plants[0].code
    sim.faults.add("getAlarmList", "disconnect")
    with pytest.raises(QuotaError) as exc:
        await client.async_get_alarms([code], int(clock.now - 3600) * 1000, int(clock.now) * 1000)
    assert isinstance(exc.value, QuotaWouldExceed)
    assert exc.value.retry_after > 0
    assert sim.calls.count(Endpoint.ALARM_LIST) == 1
    assert sim.calls.refused == 0


async def test_item17_5_read_with_quota_left_is_resent_once(make_client: ClientFactory) -> None:
    sim, client = await make_client()
    code = sim.plants[0].code
    sim.faults.add("getStationRealKpi", "disconnect", count=2)
    with pytest.raises(CommunicationError):
        await client.async_get_station_realtime([code])
    assert sim.calls.count(Endpoint.STATION_REAL_KPI) == 2
    sim.faults.add("getStationRealKpi", "disconnect")
    assert code in await client.async_get_station_realtime([code])
    assert sim.calls.count(Endpoint.STATION_REAL_KPI) == 4
    assert sim.calls.refused == 0


# ---------------------------------------------------------------- item 11: nested JSON


async def test_item17_11_deeply_nested_answer_is_a_communication_error(
    make_client: ClientFactory,
) -> None:
    sim, client = await make_client()
    sim.faults.add("getStationRealKpi", "http_status", status=200, body=deeply_nested_answer())
    with pytest.raises(CommunicationError):
        await client.async_get_station_realtime([sim.plants[0].code])


# ---------------------------------------------------------------- the simulator is strict


async def test_item17_2_simulator_legacy_token_dies_30_min_after_login(
    make_client: ClientFactory, clock: FakeClock, http: aiohttp.ClientSession
) -> None:
    """In use every 10 minutes, a legacy token still ends 30 min after its login."""
    sim, _ = await make_client()
    raw = NbiTestClient(sim, http)
    await raw.login("legacy")
    await raw.login("v7")
    body = {"stationCodes": sim.plants[0].code}
    v7_body = {"plantCodes": sim.plants[0].code}
    for _ in range(2):
        clock.advance(10 * MINUTE)
        assert (await raw.post("getStationRealKpi", body))[1]["failCode"] == 0
        assert (await raw.post("vpp/plantRealtimeKpi", v7_body))[1]["failCode"] == 0
    clock.advance(10 * MINUTE)
    assert (await raw.post("getStationRealKpi", body))[1]["failCode"] == 305
    assert (await raw.post("vpp/plantRealtimeKpi", v7_body))[1]["failCode"] == 0  # idle only


async def test_item17_3_simulator_v7_logout_reads_only_xsrftoken(
    make_client: ClientFactory, clock: FakeClock, http: aiohttp.ClientSession
) -> None:
    sim, _ = await make_client()
    raw = NbiTestClient(sim, http)
    await raw.login("v7")
    token = raw.tokens["v7"]
    logout = "/rest/openapi/pvms/v1/logout"
    assert (await raw.post(logout, {"xsrfToken": token}))[1]["failCode"] == 20004
    clock.advance(MINUTE)  # logout: once a minute
    assert (await raw.post(logout, {"xsrftoken": token}))[1]["failCode"] == 0


# ---------------------------------------------------------------- families and refusals


async def test_refused_endpoint_is_asked_again_after_the_recheck_or_when_cleared(
    make_client: ClientFactory, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    sim, client = await make_client()
    assert client.username == sim.username
    sim.accounts[sim.username].denied_endpoints = {Endpoint.DEV_REAL_KPI: 20056}
    devices = await client.async_get_devices([sim.plants[0].code])
    caplog.set_level(logging.WARNING)
    with pytest.raises(PermissionDeniedError):
        await client.async_get_device_realtime(devices)
    first = client.refused_endpoints[Endpoint.DEV_REAL_KPI].since
    client.clear_refused(Endpoint.STATION_REAL_KPI)  # not refused: nothing to forget
    assert set(client.refused_endpoints) == {Endpoint.DEV_REAL_KPI}
    # Six hours later it is asked again; still refused, the refusal is renewed.
    clock.advance(PERMISSION_RECHECK)
    with pytest.raises(PermissionDeniedError):
        await client.async_get_device_realtime(devices, wait=True)
    assert sim.calls.count(Endpoint.DEV_REAL_KPI) == 2
    assert client.refused_endpoints[Endpoint.DEV_REAL_KPI].since == clock.now > first
    warnings = [r for r in caplog.records if "may not use" in r.getMessage()]
    assert len(warnings) == 1  # the same refusal is not warned about again
    # The user fixed the permission: forgetting the refusal asks at once.
    sim.accounts[sim.username].denied_endpoints = {}
    client.clear_refused(Endpoint.DEV_REAL_KPI)
    assert client.refused_endpoints == {}
    assert await client.async_get_device_realtime(devices, wait=True)
    assert sim.calls.count(Endpoint.DEV_REAL_KPI, fail_code=0) >= 1


async def test_legacy_family_not_offered_then_found_again_by_a_login(
    make_client: ClientFactory,
) -> None:
    sim, client = await make_client()
    code = sim.plants[0].code
    sim.faults.add("login", "http_status", status=404, family="legacy")
    assert await client.async_login() == ApiFamilies(legacy=False, v7=True)
    with pytest.raises(ApiFamilyUnavailableError, match="legacy"):
        await client.async_get_station_realtime([code])
    assert sim.calls.count(Endpoint.STATION_REAL_KPI) == 0
    # An explicit login detects the family again.
    assert await client.async_login() == ApiFamilies(legacy=True, v7=True)
    assert code in await client.async_get_station_realtime([code])


async def test_login_answer_without_token_is_a_communication_error(
    make_client: ClientFactory, clock: FakeClock
) -> None:
    sim, client = await make_client()
    sim.faults.add(
        "login",
        "http_status",
        status=200,
        body={"success": True, "failCode": 0, "data": None},
        family="legacy",
    )
    with pytest.raises(CommunicationError, match="no token"):
        await client.async_login()
    assert not client.families.legacy
    clock.advance(61)
    code = sim.plants[0].code
    assert code in await client.async_get_station_realtime([code])
    assert client.families.legacy


async def test_v7_login_503_leaves_detection_for_first_use(
    make_client: ClientFactory, clock: FakeClock
) -> None:
    sim, client = await make_client()
    sim.faults.add("login", "http_status", status=503, family="v7", count=0)
    assert await client.async_login() == ApiFamilies(legacy=True, v7=False)
    clock.advance(61)
    with pytest.raises(ServiceUnavailableError):
        await client.async_get_plant_realtime([sim.plants[0].code])
    assert client.v7_url is None
    sim.faults.clear()
    clock.advance(61)
    code = sim.plants[0].code
    assert code in await client.async_get_plant_realtime([code])
    assert client.families == ApiFamilies(legacy=True, v7=True)


async def test_v7_login_503_without_legacy_is_raised(make_client: ClientFactory) -> None:
    sim, client = await make_client()
    sim.faults.add("login", "http_status", status=404, family="legacy")
    sim.faults.add("login", "http_status", status=503, family="v7")
    with pytest.raises(ServiceUnavailableError):
        await client.async_login()


async def test_v7_candidates_all_failing_is_no_proof_v7_is_absent(
    make_client: ClientFactory, clock: FakeClock
) -> None:
    sim, client = await make_client()
    # Port 27200 refuses the connection, the host answers 500: nothing says "no V7".
    sim.faults.add("login", "http_status", status=500, family="v7", count=0)
    assert await client.async_login() == ApiFamilies(legacy=True, v7=False)
    clock.advance(61)
    code = sim.plants[0].code
    with pytest.raises(CommunicationError, match="HTTP 500"):
        await client.async_get_plant_realtime([code])
    sim.faults.clear()
    clock.advance(61)
    assert code in await client.async_get_plant_realtime([code])
    assert client.families.v7


async def test_v7_login_for_an_unauthorized_resource_is_raised(
    make_client: ClientFactory, clock: FakeClock
) -> None:
    sim, client = await make_client()
    sim.faults.add("login", "fail_code", fail_code=20007, family="v7")
    with pytest.raises(UnauthorizedResourceError):
        await client.async_login()
    # Not taken for "the account may not use V7": the next use detects it again.
    clock.advance(61)
    code = sim.plants[0].code
    assert code in await client.async_get_plant_realtime([code])
    assert client.families == ApiFamilies(legacy=True, v7=True)


async def test_close_skips_the_logout_while_the_account_is_paused(
    make_client: ClientFactory, clock: FakeClock
) -> None:
    sim, client = await make_client()
    await client.async_login()
    client.governor.pause_all(120)  # e.g. after a 429
    await client.async_close()
    assert sim.calls.count(Endpoint.LEGACY_LOGOUT) == 0
    assert sim.calls.count(Endpoint.V7_LOGOUT) == 0
    # The tokens are dropped all the same: the next use logs in again.
    clock.advance(120)
    code = sim.plants[0].code
    assert code in await client.async_get_station_realtime([code])
    assert sim.calls.count(Endpoint.LEGACY_LOGIN) == 2
