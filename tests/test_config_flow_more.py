"""Config flow paths of the FusionSolar sign-in and reconfigure, against the simulator."""

from __future__ import annotations

from typing import Any

import pytest
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_HOST
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import config_entry_oauth2_flow
from yarl import URL

from custom_components.fusionsolar.const import CONF_PLANTS, DOMAIN
from custom_components.fusionsolar.oauth import CALLBACK_PATH
from tests.conftest import setup_integration
from tests.oauth_helpers import (
    CREDENTIAL_ID,
    EXTERNAL_URL,
    call_back,
    consent,
    oauth_entry,
    setup_credentials,
    start_oauth_flow,
)
from tests.simulator import Simulator
from tests.simulator.oauth import SCOPE_BASIC
from tests.simulator.pytest_plugin import SimulatorFactory


@pytest.fixture
async def sim(simulator_factory: SimulatorFactory) -> Simulator:
    return await simulator_factory(profile="cloud-2026", plants=2, alarm_rate_per_day=0.0)


async def signed_in(
    hass: HomeAssistant,
    sim: Simulator,
    hass_client_no_auth: Any,
    user: str = "owner",
    password: str = "owner_pass",
) -> dict[str, Any]:
    """Start the sign-in, consent at FusionSolar, come back: the flow's next result."""
    result = await start_oauth_flow(hass, sim)
    assert result["type"] is FlowResultType.EXTERNAL_STEP
    location = await consent(sim, result["url"], user=user, password=password)
    assert await call_back(hass_client_no_auth, location) == 200
    return dict(await hass.config_entries.flow.async_configure(result["flow_id"]))


async def test_oauth_host_that_is_no_url_is_named_and_asked_again(
    hass: HomeAssistant, sim: Simulator
) -> None:
    await setup_credentials(hass)
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": "user"})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "oauth"}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOST: "https://"}
    )
    assert (result["type"], result["step_id"]) == (FlowResultType.FORM, "oauth")
    assert result["errors"] == {CONF_HOST: "invalid_host"}
    # The user corrects it: the sign-in goes on at that host.
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_HOST: sim.url})
    if result["type"] is FlowResultType.FORM:
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"implementation": CREDENTIAL_ID}
        )
    assert result["type"] is FlowResultType.EXTERNAL_STEP
    assert str(URL(result["url"]).with_query(None)).startswith(sim.url)
    assert hass.config_entries.async_entries(DOMAIN) == []


async def test_oauth_with_another_implementation_its_link_is_kept(
    hass: HomeAssistant, sim: Simulator, current_request_with_host: None
) -> None:
    await setup_credentials(hass)
    config_entry_oauth2_flow.async_register_implementation(
        hass,
        DOMAIN,
        config_entry_oauth2_flow.LocalOAuth2Implementation(
            hass,
            DOMAIN,
            "local-client",
            "local-secret",
            "https://idp.example.com/authorize",
            "https://idp.example.com/token",
        ),
    )
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": "user"})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "oauth"}
    )
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_HOST: sim.url})
    assert result["step_id"] == "pick_implementation"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"implementation": DOMAIN}
    )
    assert result["type"] is FlowResultType.EXTERNAL_STEP
    link = URL(result["url"])
    # Not moved to the simulator's authorization server: that implementation's own.
    assert str(link.with_query(None)) == "https://idp.example.com/authorize"
    assert link.query["client_id"] == "local-client"


async def test_oauth_unknown_callback_error_is_shown_with_its_code(
    hass: HomeAssistant, sim: Simulator, hass_client_no_auth: Any
) -> None:
    await setup_credentials(hass)
    started = await start_oauth_flow(hass, sim)
    state = URL(started["url"]).query["state"]
    # FusionSolar sends back an error this integration has no message of its own for.
    location = URL(EXTERNAL_URL + CALLBACK_PATH).with_query(
        {"error": "server_error", "error_description": "busy", "state": state}
    )
    assert await call_back(hass_client_no_auth, location) == 200
    result = await hass.config_entries.flow.async_configure(started["flow_id"])
    assert (result["type"], result["reason"]) == (FlowResultType.ABORT, "oauth_rejected")
    assert result["description_placeholders"] == {"error": "server_error"}
    assert hass.config_entries.async_entries(DOMAIN) == []


async def test_oauth_token_refused_on_the_plant_list_ends_the_sign_in(
    hass: HomeAssistant, sim: Simulator, hass_client_no_auth: Any
) -> None:
    await setup_credentials(hass)
    # FusionSolar answers the first data call with "invalid credential" (305).
    sim.faults.add(None, "fail_code", count=0, fail_code=305, family="legacy")
    result = await signed_in(hass, sim, hass_client_no_auth)
    assert (result["type"], result["reason"]) == (
        FlowResultType.ABORT,
        "oauth_authorization_ended",
    )
    assert hass.config_entries.async_entries(DOMAIN) == []


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ({"kind": "http_status", "status": 500}, "cannot_connect"),
        ({"kind": "fail_code", "fail_code": 407}, "quota_exceeded"),
    ],
)
async def test_oauth_plant_list_failing_after_sign_in_names_the_error(
    hass: HomeAssistant,
    sim: Simulator,
    hass_client_no_auth: Any,
    fault: dict[str, Any],
    error: str,
) -> None:
    await setup_credentials(hass)
    sim.faults.add(None, count=0, family="legacy", **fault)
    result = await signed_in(hass, sim, hass_client_no_auth)
    assert (result["type"], result["reason"]) == (FlowResultType.ABORT, "oauth_no_data")
    assert result["description_placeholders"] == {"error": error}
    assert hass.config_entries.async_entries(DOMAIN) == []


async def test_oauth_owner_without_plants_is_told_so(
    hass: HomeAssistant, sim: Simulator, hass_client_no_auth: Any
) -> None:
    await setup_credentials(hass)
    sim.oauth.add_owner("empty", "empty_pass", plants=[])
    result = await signed_in(hass, sim, hass_client_no_auth, user="empty", password="empty_pass")
    assert (result["type"], result["reason"]) == (FlowResultType.ABORT, "no_plants")
    assert hass.config_entries.async_entries(DOMAIN) == []


async def test_oauth_reauth_as_another_owner_is_refused(
    hass: HomeAssistant, sim: Simulator, hass_client_no_auth: Any
) -> None:
    await setup_credentials(hass)
    # The entry has the first plant; the other owner only the second.
    entry = oauth_entry(sim, (SCOPE_BASIC,), **{CONF_PLANTS: [sim.plants[0].code]})
    await setup_integration(hass, entry)
    before = dict(entry.data)
    sim.oauth.add_owner("neighbour", "neighbour_pass", plants=[sim.plants[1].code])
    result = await entry.start_reauth_flow(hass)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    if result["type"] is FlowResultType.FORM:
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"implementation": CREDENTIAL_ID}
        )
    assert result["type"] is FlowResultType.EXTERNAL_STEP
    location = await consent(sim, result["url"], user="neighbour", password="neighbour_pass")
    assert await call_back(hass_client_no_auth, location) == 200
    result = await hass.config_entries.flow.async_configure(result["flow_id"])
    assert (result["type"], result["reason"]) == (FlowResultType.ABORT, "wrong_account")
    assert dict(entry.data) == before
    assert entry.state is ConfigEntryState.LOADED


async def test_oauth_entry_cannot_be_reconfigured(hass: HomeAssistant, sim: Simulator) -> None:
    await setup_credentials(hass)
    entry = oauth_entry(sim, (SCOPE_BASIC,))
    await setup_integration(hass, entry)
    before = dict(entry.data)
    result = await entry.start_reconfigure_flow(hass)
    assert (result["type"], result["reason"]) == (FlowResultType.ABORT, "oauth_reconfigure")
    assert dict(entry.data) == before
