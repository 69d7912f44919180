"""Issue 20: Sign in with FusionSolar on odd token answers, lost credentials and stale sign-ins."""

from __future__ import annotations

import logging
import time
from typing import Any, cast

import aiohttp
import pytest
from homeassistant.components.application_credentials import ClientCredential
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryNotReady
from homeassistant.helpers import config_entry_oauth2_flow
from pytest_homeassistant_custom_component.test_util.aiohttp import AiohttpClientMocker
from yarl import URL

from custom_components.fusionsolar import application_credentials
from custom_components.fusionsolar.api import CommunicationError
from custom_components.fusionsolar.const import DOMAIN
from custom_components.fusionsolar.oauth import (
    CALLBACK_PATH,
    DATA_PENDING,
    STATE_LIFETIME,
    FusionSolarImplementation,
    PendingSignIn,
    TokenRequestError,
    async_account_settings,
    async_implementation,
    async_revoke_entry,
    authorization_server,
    new_state,
    token_provider,
)
from tests.oauth_helpers import oauth_entry, setup_credentials, start_oauth_flow
from tests.simulator import Simulator
from tests.simulator.oauth import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET

HOST = "https://fs.example.com"
TOKEN_URL = f"{HOST}/rest/dp/uidm/oauth2/v1/token"
REVOKE_URL = f"{HOST}/rest/dp/uidm/oauth2/v1/revoke-token"


@pytest.fixture
async def sim(simulator_factory: Any) -> Simulator:
    return await simulator_factory(profile="cloud-2026", plants=1, alarm_rate_per_day=0.0)


def _impl(hass: HomeAssistant) -> FusionSolarImplementation:
    credential = ClientCredential(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, "Test")
    return FusionSolarImplementation(hass, DOMAIN, credential, authorization_server(HOST))


async def _refresh_reason(hass: HomeAssistant) -> TokenRequestError:
    with pytest.raises(TokenRequestError) as err:
        await _impl(hass).async_refresh_token({"refresh_token": "rt", "access_token": "at"})
    return err.value


async def test_item20_application_credentials_point_at_huawei(hass: HomeAssistant) -> None:
    server = await application_credentials.async_get_authorization_server(hass)
    assert (
        server.authorize_url
        == "https://oauth2.fusionsolar.huawei.com/rest/dp/uidm/oauth2/v1/authorize"
    )
    assert server.token_url.endswith("/oauth2/v1/token")
    placeholders = await application_credentials.async_get_description_placeholders(hass)
    assert placeholders["callback_path"] == CALLBACK_PATH
    assert placeholders["more_info_url"].startswith("https://")


@pytest.mark.parametrize(
    ("status", "body", "reason", "reauth", "code"),
    [
        (502, "<html>Bad gateway</html>", "oauth_server_error", False, "502"),
        (
            400,
            {"error": "unsupported_grant_type"},
            "oauth_token_refused",
            True,
            "unsupported_grant_type",
        ),
        (200, ["not", "a", "map"], "oauth_token_refused", True, "200"),
    ],
)
async def test_item20_oauth_token_odd_answers_are_clear_reasons(
    hass: HomeAssistant,
    aioclient_mock: AiohttpClientMocker,
    status: int,
    body: Any,
    reason: str,
    reauth: bool,
    code: str,
) -> None:
    if isinstance(body, str):
        aioclient_mock.post(TOKEN_URL, status=status, text=body)
    else:
        aioclient_mock.post(TOKEN_URL, status=status, json=body)
    error = await _refresh_reason(hass)
    assert (error.reason, error.reauth, error.code) == (reason, reauth, code)


@pytest.mark.parametrize("exc", [aiohttp.ClientConnectionError(), TimeoutError()])
async def test_item20_oauth_token_no_connection_is_not_a_reauth(
    hass: HomeAssistant, aioclient_mock: AiohttpClientMocker, exc: Exception
) -> None:
    aioclient_mock.post(TOKEN_URL, exc=exc)
    error = await _refresh_reason(hass)
    assert (error.reason, error.reauth) == ("oauth_cannot_connect", False)


@pytest.mark.parametrize(
    ("status", "exc", "log"),
    [(500, None, "refused to revoke"), (200, aiohttp.ClientConnectionError(), "Could not revoke")],
)
async def test_item20_oauth_revoke_failures_are_reported_not_raised(
    hass: HomeAssistant,
    aioclient_mock: AiohttpClientMocker,
    caplog: pytest.LogCaptureFixture,
    status: int,
    exc: Exception | None,
    log: str,
) -> None:
    aioclient_mock.post(REVOKE_URL, status=status, exc=exc)
    with caplog.at_level(logging.WARNING):
        assert await _impl(hass).async_revoke({"refresh_token": "secret-rt"}) is False
    assert log in caplog.text
    assert "secret-rt" not in caplog.text
    assert aioclient_mock.mock_calls[0][2] == {"client_id": DEFAULT_CLIENT_ID, "token": "secret-rt"}


async def test_item20_oauth_stale_sign_ins_are_forgotten(hass: HomeAssistant) -> None:
    old = PendingSignIn("old-flow", "https://ha/cb", time.monotonic() - STATE_LIFETIME - 1)
    pending: dict[str, PendingSignIn] = {"oldstate": old}
    hass.data[DATA_PENDING] = pending
    state = new_state(hass, "new-flow", "https://ha/cb")
    assert list(pending) == [state]
    assert state.isalnum()


async def test_item20_oauth_callback_for_a_cancelled_flow_says_so(
    hass: HomeAssistant, sim: Simulator, hass_client_no_auth: Any
) -> None:
    await setup_credentials(hass)
    result = await start_oauth_flow(hass, sim)
    state = URL(result["url"]).query["state"]
    hass.config_entries.flow.async_abort(result["flow_id"])
    client = await hass_client_no_auth()
    resp = await client.get(f"{CALLBACK_PATH}?code=abc&state={state}")
    assert resp.status == 400
    assert "cancelled" in await resp.text()


async def test_item20_oauth_refused_token_is_refreshed_and_stored(
    hass: HomeAssistant, sim: Simulator
) -> None:
    await setup_credentials(hass)
    entry = oauth_entry(sim)
    entry.add_to_hass(hass)
    impl = await async_implementation(hass, entry)
    assert impl is not None
    session = config_entry_oauth2_flow.OAuth2Session(hass, entry, impl)
    old = entry.data["token"]["access_token"]
    new = await token_provider(hass, entry, session)(old)
    assert new != old
    assert entry.data["token"]["access_token"] == new
    assert new in {grant.access_token for grant in sim.oauth.grants}


class FailingSession:
    """An OAuth2Session whose token check fails as given."""

    def __init__(self, error: Exception) -> None:
        self.token = {"access_token": "at"}
        self.error = error

    async def async_ensure_token_valid(self) -> None:
        raise self.error


@pytest.mark.parametrize(
    "error",
    [TokenRequestError("oauth_server_error", reauth=False), aiohttp.ClientError(), TimeoutError()],
)
async def test_item20_oauth_token_trouble_is_a_communication_error(
    hass: HomeAssistant, sim: Simulator, error: Exception
) -> None:
    entry = oauth_entry(sim)
    session = cast(config_entry_oauth2_flow.OAuth2Session, FailingSession(error))
    with pytest.raises(CommunicationError):
        await token_provider(hass, entry, session)(None)


async def test_item20_oauth_lost_credentials_are_handled(
    hass: HomeAssistant, sim: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    await setup_credentials(hass)
    entry = oauth_entry(sim)
    entry.add_to_hass(hass)
    gone = oauth_entry(sim)
    gone.add_to_hass(hass)
    hass.config_entries.async_update_entry(gone, data={**gone.data, "auth_implementation": "x"})
    assert await async_implementation(hass, gone) is None
    with pytest.raises(ConfigEntryNotReady):
        await async_account_settings(hass, gone)
    with caplog.at_level(logging.WARNING):
        await async_revoke_entry(hass, gone)
    assert "credentials are gone" in caplog.text
    # Another kind of implementation under the entry's name is not ours to use.
    other = config_entry_oauth2_flow.LocalOAuth2Implementation(
        hass, DOMAIN, "id", "secret", f"{HOST}/authorize", TOKEN_URL
    )
    config_entry_oauth2_flow.async_register_implementation(hass, DOMAIN, other)
    hass.config_entries.async_update_entry(
        entry, data={**entry.data, "auth_implementation": DOMAIN}
    )
    assert await async_implementation(hass, entry) is None
