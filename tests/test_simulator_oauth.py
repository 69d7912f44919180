"""Issue 20: the simulator's OAuth 2.0 authorization server (26.2 digest §3.1, §4.1, §8.1)."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from yarl import URL

from tests.simulator import Simulator
from tests.simulator.oauth import (
    AUTHORIZE,
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    REVOKE,
    SCOPE_BASIC,
    SCOPE_CONTROL,
    TOKEN,
)

CALLBACK = "https://ha.example.com/api/fusionsolar/oauth/callback"
STATIONS = "/thirdData/stations"
CONTROL = "/rest/openapi/pvms/nbi/v2/control/charge-and-discharge/async-task"  # §5.2.1


def link(sim: Simulator, **params: str) -> str:
    query = {
        "response_type": "code",
        "client_id": DEFAULT_CLIENT_ID,
        "redirect_uri": CALLBACK,
        "state": "abc123",
        **params,
    }
    return str(URL(sim.url + AUTHORIZE).with_query(query))


async def consent(
    http: aiohttp.ClientSession,
    sim: Simulator,
    *,
    user: str = "owner",
    password: str = "owner_pass",
    action: str = "authorize",
    scopes: tuple[str, ...] = (SCOPE_BASIC, SCOPE_CONTROL),
    state: str = "abc123",
) -> aiohttp.ClientResponse:
    form = {
        "response_type": "code",
        "client_id": DEFAULT_CLIENT_ID,
        "redirect_uri": CALLBACK,
        "state": state,
        "scope": f"{SCOPE_BASIC} {SCOPE_CONTROL}",
        "username": user,
        "password": password,
        "action": action,
        **dict.fromkeys(scopes, "on"),
    }
    return await http.post(sim.url + AUTHORIZE, data=form, allow_redirects=False)


async def token(http: aiohttp.ClientSession, sim: Simulator, **form: str) -> tuple[int, Any]:
    data = {"client_id": DEFAULT_CLIENT_ID, "client_secret": DEFAULT_CLIENT_SECRET, **form}
    async with http.post(sim.url + TOKEN, data=data) as resp:
        return resp.status, await resp.json()


async def sign_in(http: aiohttp.ClientSession, sim: Simulator, **kwargs: Any) -> dict[str, Any]:
    resp = await consent(http, sim, **kwargs)
    code = URL(resp.headers["Location"]).query["code"]
    status, body = await token(
        http, sim, grant_type="authorization_code", code=code, redirect_uri=CALLBACK
    )
    assert status == 200, body
    return dict(body)


async def stations(http: aiohttp.ClientSession, sim: Simulator, access: str) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {access}"}
    async with http.post(sim.url + STATIONS, json={"pageNo": 1}, headers=headers) as resp:
        return dict(await resp.json())


@pytest.fixture
async def sim(simulator_factory: Any) -> Simulator:
    return await simulator_factory(profile="cloud-2026", plants=2, alarm_rate_per_day=0.0)


async def test_item20_oauth_consent_page_code_and_tokens(sim: Simulator) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(link(sim)) as page:
            assert page.status == 200
            text = await page.text()
        assert "name='username'" in text
        assert SCOPE_CONTROL in text
        resp = await consent(http, sim)
        assert resp.status == 302
        location = URL(resp.headers["Location"])
        assert str(location.with_query(None)) == CALLBACK
        assert location.query["state"] == "abc123"
        status, body = await token(
            http,
            sim,
            grant_type="authorization_code",
            code=location.query["code"],
            redirect_uri=CALLBACK,
        )
        assert status == 200
        assert (body["expires_in"], body["token_type"]) == (3600, "Bearer")
        assert body["scope"] == f"{SCOPE_BASIC} {SCOPE_CONTROL}"
        data = await stations(http, sim, body["access_token"])
        assert data["failCode"] == 0
        assert len(data["data"]["list"]) == 2
        # A code is used once.
        status, again = await token(
            http,
            sim,
            grant_type="authorization_code",
            code=location.query["code"],
            redirect_uri=CALLBACK,
        )
        assert (status, again["error"]) == (400, "1110")


@pytest.mark.parametrize(
    ("params", "valid"),
    [
        ({"state": "a" * 180}, True),
        ({"state": "a" * 181}, False),
        ({"state": "abc.def-1_2"}, False),
        ({"response_type": "token"}, False),
        ({"client_id": "999999999"}, False),
        ({"redirect_uri": "https://localhost:8123/cb"}, False),
    ],
)
async def test_item20_oauth_authorize_link_is_checked(
    sim: Simulator, params: dict[str, str], valid: bool
) -> None:
    async with aiohttp.ClientSession() as http, http.get(link(sim, **params)) as resp:
        assert (resp.status == 200) is valid


async def test_item20_oauth_refusals_reach_the_callback(sim: Simulator) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(link(sim, scope="pvms.openapi.all"), allow_redirects=False) as resp:
            assert resp.status == 302
            assert URL(resp.headers["Location"]).query["error"] == "invalid_scope"
        refused = URL((await consent(http, sim, action="refuse")).headers["Location"])
        assert refused.query["error"] == "10002"
        assert refused.query["error_description"] == "access_is_denied"
        installer = await consent(http, sim, user="installer", password="installer_pass")
        assert URL(installer.headers["Location"]).query["error"] == "10007"
        wrong = await consent(http, sim, password="nope")
        assert wrong.status == 200
        assert "Incorrect" in await wrong.text()


async def test_item20_oauth_expired_code_and_token_errors(sim: Simulator) -> None:
    async with aiohttp.ClientSession() as http:
        resp = await consent(http, sim)
        code = URL(resp.headers["Location"]).query["code"]
        sim.clock_offset += 301
        status, body = await token(
            http, sim, grant_type="authorization_code", code=code, redirect_uri=CALLBACK
        )
        assert (status, body["error"]) == (400, "1110")
        assert (await token(http, sim, grant_type="password"))[1]["error"] == "1111"
        assert (await token(http, sim, grant_type="authorization_code"))[1]["error"] == "1100"
        status, body = await token(
            http, sim, grant_type="refresh_token", refresh_token="x", client_secret="bad"
        )
        assert (status, body["error"]) == (401, "invalid_client")
        async with http.post(sim.url + TOKEN + "?grant_type=refresh_token") as query:
            assert query.status == 400
            assert (await query.json())["error"] == "1114"


async def test_item20_oauth_refresh_reauthorize_revoke(sim: Simulator) -> None:
    async with aiohttp.ClientSession() as http:
        first = await sign_in(http, sim)
        status, refreshed = await token(
            http, sim, grant_type="refresh_token", refresh_token=first["refresh_token"]
        )
        assert status == 200
        # The old access token ends at once; the new one works.
        assert (await stations(http, sim, first["access_token"]))["failCode"] == 305
        assert (await stations(http, sim, refreshed["access_token"]))["failCode"] == 0
        # The access token lives an hour.
        sim.clock_offset += 3601
        expired = await stations(http, sim, refreshed["access_token"])
        assert (expired["failCode"], expired["message"]) == (305, "INVALID_CREDENTIAL")
        # Re-authorizing ends the old pair.
        second = await sign_in(http, sim)
        status, body = await token(
            http, sim, grant_type="refresh_token", refresh_token=first["refresh_token"]
        )
        assert (status, body["error"]) == (400, "1110")
        # Revoke with the refresh token: everything of the grant ends.
        async with http.post(
            sim.url + REVOKE,
            data={"client_id": DEFAULT_CLIENT_ID, "token": second["refresh_token"]},
        ) as resp:
            assert resp.status == 200
        assert (await stations(http, sim, second["access_token"]))["failCode"] == 305
        async with http.post(
            sim.url + REVOKE,
            data={"client_id": DEFAULT_CLIENT_ID, "token": second["refresh_token"]},
        ) as resp:
            assert resp.status == 401
            assert (await resp.json())["error"] == "1106"
        async with http.post(sim.url + REVOKE, data={"client_id": DEFAULT_CLIENT_ID}) as resp:
            assert resp.status == 400


async def test_item20_oauth_owner_revokes_in_the_app(sim: Simulator) -> None:
    async with aiohttp.ClientSession() as http:
        tokens = await sign_in(http, sim)
        async with http.post(sim.url + "/_sim/oauth/revoke", json={"owner": "owner"}) as resp:
            assert (await resp.json())["revoked"] == 1
        assert (await stations(http, sim, tokens["access_token"]))["failCode"] == 305
        status, body = await token(
            http, sim, grant_type="refresh_token", refresh_token=tokens["refresh_token"]
        )
        assert (status, body["error"]) == (400, "1110")


async def test_item20_oauth_control_needs_the_control_scope(sim: Simulator) -> None:
    async with aiohttp.ClientSession() as http:
        basic_only = await sign_in(http, sim, scopes=(SCOPE_BASIC,))
        assert basic_only["scope"] == SCOPE_BASIC
        headers = {"Authorization": f"Bearer {basic_only['access_token']}"}
        async with http.post(sim.url + CONTROL, json={}, headers=headers) as resp:
            body = await resp.json()
        assert body["failCode"] == 401
        assert body["message"] == "Invalid access to current interface!"


async def test_item20_oauth_only_on_todays_cloud(simulator: Simulator) -> None:
    """The 2021 reference (V500R007) has no OAuth: no consent page, no token, no Bearer."""
    async with aiohttp.ClientSession() as http:
        async with http.get(link(simulator)) as page:
            assert page.status == 404
        assert (await consent(http, simulator)).status == 404
        async with http.post(simulator.url + TOKEN, data={"grant_type": "x"}) as resp:
            assert resp.status == 404
        headers = {"Authorization": "Bearer at-of-another-cloud"}
        station_list = simulator.url + "/thirdData/getStationList"
        async with http.post(station_list, json={}, headers=headers) as resp:
            assert (await resp.json())["failCode"] == 305  # not logged in


async def test_item20_oauth_daily_budgets(sim: Simulator) -> None:
    async with aiohttp.ClientSession() as http:
        basic_only = await sign_in(http, sim, scopes=(SCOPE_BASIC,))
        day = sim.local_day(sim.now()).isoformat()
        sim.oauth.used[("oauth:owner", day, SCOPE_BASIC)] = 999
        assert (await stations(http, sim, basic_only["access_token"]))["failCode"] == 0
        refused = await stations(http, sim, basic_only["access_token"])
        assert refused["failCode"] == 407
        assert sim.oauth.usage("owner", day)[SCOPE_BASIC] == 1000
        # The next local day has a new budget.
        sim.clock_offset += 86400
        sim.oauth.expire_access_tokens()
        fresh = await sign_in(http, sim)
        assert (await stations(http, sim, fresh["access_token"]))["failCode"] == 0
