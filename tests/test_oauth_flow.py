"""Issue 20: Sign in with FusionSolar (config flow, callback, token lifecycle, removal)."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import SOURCE_USER, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_entry_oauth2_flow
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    MockModule,
    mock_config_flow,
    mock_integration,
    mock_platform,
)
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from yarl import URL

from custom_components.fusionsolar.api import DailyBudgetSpentError
from custom_components.fusionsolar.const import CONF_PLANTS, DOMAIN
from custom_components.fusionsolar.errors import control_error
from custom_components.fusionsolar.oauth import CALLBACK_PATH
from tests.conftest import registry_device, setup_integration
from tests.oauth_helpers import (
    EXTERNAL_URL,
    call_back,
    consent,
    oauth_entry,
    setup_credentials,
    start_oauth_flow,
)
from tests.simulator import Simulator
from tests.simulator.oauth import SCOPE_BASIC, SCOPE_CONTROL, STATE_RE


@pytest.fixture
async def sim(simulator_factory: Any) -> Simulator:
    return await simulator_factory(profile="cloud-2026", plants=2, alarm_rate_per_day=0.0)


async def finish(hass: HomeAssistant, flow_id: str) -> dict[str, Any]:
    """The flow after the callback (Home Assistant's frontend does this)."""
    return dict(await hass.config_entries.flow.async_configure(flow_id))


async def test_item20_oauth_sign_in_creates_a_working_entry(
    hass: HomeAssistant, sim: Simulator, hass_client_no_auth: Any
) -> None:
    await setup_credentials(hass)
    result = await start_oauth_flow(hass, sim)
    assert result["type"] is FlowResultType.EXTERNAL_STEP
    link = URL(result["url"])
    assert str(link.with_query(None)) == sim.url + "/rest/dp/uidm/oauth2/v1/authorize"
    assert STATE_RE.fullmatch(link.query["state"])  # Huawei: <= 180 letters and digits
    assert link.query["redirect_uri"] == EXTERNAL_URL + CALLBACK_PATH
    assert link.query["scope"] == f"{SCOPE_BASIC} {SCOPE_CONTROL}"

    location = await consent(sim, result["url"])
    assert await call_back(hass_client_no_auth, location) == 200
    result = await finish(hass, result["flow_id"])
    assert result["step_id"] == "plants"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_PLANTS: [sim.plants[0].code]}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done(wait_background_tasks=True)
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    assert entry.state is ConfigEntryState.LOADED
    assert entry.data["token"]["scope"] == f"{SCOPE_BASIC} {SCOPE_CONTROL}"
    # Data came with the owner's Bearer token: no login at all.
    records = sim.calls.records
    assert records
    assert {r.account for r in records} == {"oauth:owner"}
    assert not [r for r in records if r.endpoint.endswith("/login")]
    assert not ir.async_get(hass).async_get_issue(DOMAIN, f"oauth_control_scope_{entry.entry_id}")


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"action": "refuse"}, "oauth_refused"),
        ({"user": "installer", "password": "installer_pass"}, "oauth_not_owner"),
    ],
)
async def test_item20_oauth_owner_outcomes_are_clear_aborts(
    hass: HomeAssistant,
    sim: Simulator,
    hass_client_no_auth: Any,
    kwargs: dict[str, str],
    reason: str,
) -> None:
    await setup_credentials(hass)
    result = await start_oauth_flow(hass, sim)
    location = await consent(sim, result["url"], **kwargs)
    await call_back(hass_client_no_auth, location)
    result = await finish(hass, result["flow_id"])
    assert (result["type"], result["reason"]) == (FlowResultType.ABORT, reason)


async def test_item20_oauth_invalid_scope_is_a_clear_abort(
    hass: HomeAssistant, sim: Simulator, hass_client_no_auth: Any
) -> None:
    await setup_credentials(hass)
    # Huawei opened only the basic scope to this application: asking for control fails.
    client = next(iter(sim.oauth.clients.values()))
    client.scopes = (SCOPE_BASIC,)
    result = await start_oauth_flow(hass, sim)
    location = await consent(sim, result["url"])
    assert location.query["error"] == "invalid_scope"
    await call_back(hass_client_no_auth, location)
    result = await finish(hass, result["flow_id"])
    assert result["reason"] == "oauth_invalid_scope"


async def test_item20_oauth_expired_code_is_a_clear_abort(
    hass: HomeAssistant, sim: Simulator, hass_client_no_auth: Any
) -> None:
    await setup_credentials(hass)
    result = await start_oauth_flow(hass, sim)
    location = await consent(sim, result["url"])
    sim.clock_offset += 301  # codes live 5 minutes
    await call_back(hass_client_no_auth, location)
    result = await finish(hass, result["flow_id"])
    assert result["reason"] == "oauth_code_expired"


async def test_item20_oauth_wrong_client_secret_is_a_clear_abort(
    hass: HomeAssistant, sim: Simulator, hass_client_no_auth: Any
) -> None:
    await setup_credentials(hass, secret="not-the-secret")
    result = await start_oauth_flow(hass, sim)
    location = await consent(sim, result["url"])
    await call_back(hass_client_no_auth, location)
    result = await finish(hass, result["flow_id"])
    assert result["reason"] == "oauth_invalid_client"


async def test_item20_oauth_without_credentials_says_how_to_add_them(
    hass: HomeAssistant, sim: Simulator
) -> None:
    assert await async_setup_component(hass, "application_credentials", {})
    result = await start_oauth_flow(hass, sim)
    assert (result["type"], result["reason"]) == (FlowResultType.ABORT, "missing_credentials")


async def test_item20_oauth_unknown_state_changes_nothing(
    hass: HomeAssistant, sim: Simulator, hass_client_no_auth: Any
) -> None:
    await setup_credentials(hass)
    result = await start_oauth_flow(hass, sim)
    client = await hass_client_no_auth()
    resp = await client.get(f"{CALLBACK_PATH}?code=abc&state=forged123")
    assert resp.status == 400
    progress = hass.config_entries.flow.async_progress()
    assert [flow["step_id"] for flow in progress if flow["flow_id"] == result["flow_id"]] == [
        "auth"
    ]


async def test_item20_oauth_refresh_revocation_reauth_and_removal(
    hass: HomeAssistant, sim: Simulator, freezer: FrozenDateTimeFactory
) -> None:
    await setup_credentials(hass)
    entry = oauth_entry(sim, (SCOPE_BASIC, SCOPE_CONTROL))
    await setup_integration(hass, entry)
    coordinator = entry.runtime_data.plants
    # The access token ran out: OAuth2Session refreshes it, the entry is not reloaded.
    old = dict(entry.data["token"])
    sim.oauth.expire_access_tokens()
    hass.config_entries.async_update_entry(
        entry, data={**entry.data, "token": {**old, "expires_at": 0}}
    )
    freezer.tick(301)  # the plan reads power flow once per 5-minute refresh
    await coordinator.async_refresh()
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert entry.data["token"]["access_token"] != old["access_token"]
    assert coordinator.last_update_success
    # The owner revokes in the FusionSolar app: Home Assistant's reauth flow starts.
    sim.oauth.revoke_owner("owner")
    freezer.tick(301)
    await coordinator.async_refresh()
    await hass.async_block_till_done()
    flows = [f for f in hass.config_entries.flow.async_progress() if f["handler"] == DOMAIN]
    assert [f["context"]["source"] for f in flows] == ["reauth"]
    assert flows[0]["step_id"] == "reauth_oauth"
    # Removing the entry revokes the authorization at FusionSolar.
    grant = sim.oauth.grants[-1]
    grant.revoked = False  # as if the owner had signed in again
    await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    assert grant.revoked


async def test_item20_oauth_without_control_scope_a_repair_says_how_to_grant_it(
    hass: HomeAssistant, sim: Simulator
) -> None:
    await setup_credentials(hass)
    entry = oauth_entry(sim, (SCOPE_BASIC,))
    await setup_integration(hass, entry)
    issue = ir.async_get(hass).async_get_issue(DOMAIN, f"oauth_control_scope_{entry.entry_id}")
    assert issue is not None
    assert issue.translation_key == "oauth_control_scope"
    assert not ir.async_get(hass).async_get_issue(DOMAIN, f"no_v7_{entry.entry_id}")
    # Today's cloud takes control tasks, but not from this sign-in: no control at all.
    ours = er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
    assert not [e for e in ours if e.domain in ("select", "number", "switch")]
    assert not [e for e in ours if e.unique_id.endswith("_dispatch_status")]
    plant = registry_device(hass, sim.plants[0].code)
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN, "forced_charge", {"device_id": plant.id, "duration": 60}, blocking=True
        )
    assert err.value.translation_key == "control_unavailable"
    assert not [r for r in sim.calls.records if "/control/" in r.endpoint]


async def test_item20_oauth_with_control_scope_control_is_there(
    hass: HomeAssistant, sim: Simulator
) -> None:
    await setup_credentials(hass)
    entry = oauth_entry(sim, (SCOPE_BASIC, SCOPE_CONTROL))
    await setup_integration(hass, entry)
    ours = er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
    assert [e for e in ours if e.domain == "select"]
    assert [e for e in ours if e.unique_id.endswith("_dispatch_status")]


async def test_item20_oauth_diagnostics_never_show_tokens(
    hass: HomeAssistant, sim: Simulator, hass_client: Any
) -> None:
    await setup_credentials(hass)
    entry = oauth_entry(sim, (SCOPE_BASIC, SCOPE_CONTROL))
    await setup_integration(hass, entry)
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    text = str(diagnostics)
    assert entry.data["token"]["access_token"] not in text
    assert entry.data["token"]["refresh_token"] not in text
    assert "sim-client-secret" not in text
    budget = diagnostics["oauth_budget"]
    assert budget["limits"] == {"basic": 1000, "control": 100}
    assert budget["plan"]["planned_calls_per_day"] <= 950


class OtherOAuthFlow(config_entry_oauth2_flow.AbstractOAuth2FlowHandler, domain="other_oauth"):
    """An unrelated integration on Home Assistant's standard OAuth flow."""

    DOMAIN = "other_oauth"

    @property
    def logger(self) -> logging.Logger:
        return logging.getLogger(__name__)


async def test_item20_oauth_another_integrations_oauth_flow_still_works(
    hass: HomeAssistant,
    sim: Simulator,
    hass_client_no_auth: Any,
    aioclient_mock: Any,
    current_request_with_host: None,
) -> None:
    await setup_credentials(hass)
    ours = await start_oauth_flow(hass, sim)  # FusionSolar's sign-in is pending meanwhile
    assert ours["type"] is FlowResultType.EXTERNAL_STEP

    mock_integration(hass, MockModule("other_oauth"))
    mock_platform(hass, "other_oauth.config_flow", None)
    OtherOAuthFlow.async_register_implementation(
        hass,
        config_entry_oauth2_flow.LocalOAuth2Implementation(
            hass,
            "other_oauth",
            "cid",
            "csecret",
            "https://other.test/authorize",
            "https://other.test/token",
        ),
    )
    aioclient_mock.post(
        "https://other.test/token",
        json={"access_token": "a", "refresh_token": "r", "expires_in": 60, "token_type": "Bearer"},
    )
    with mock_config_flow("other_oauth", OtherOAuthFlow):
        result = await hass.config_entries.flow.async_init(
            "other_oauth", context={"source": SOURCE_USER}
        )
        assert result["type"] is FlowResultType.EXTERNAL_STEP
        state = URL(result["url"]).query["state"]
        assert not STATE_RE.fullmatch(state)  # Home Assistant's own signed state, untouched
        client = await hass_client_no_auth()
        resp = await client.get(f"/auth/external/callback?code=abcd&state={state}")
        assert resp.status == 200
        result = await hass.config_entries.flow.async_configure(result["flow_id"])
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"]["token"]["access_token"] == "a"
    entries = hass.config_entries.async_entries("other_oauth")
    assert len(entries) == 1
    assert isinstance(entries[0], MockConfigEntry) or entries[0].domain == "other_oauth"


def test_item20_oauth_an_action_past_the_control_budget_says_so() -> None:
    spent = DailyBudgetSpentError("/rest/openapi/pvms/nbi/v2/control/x", 3600.0, "spent")
    error = control_error(spent, "Battery")
    assert error.translation_key == "control_budget_spent"


async def test_item20_oauth_reauth_signs_in_again(
    hass: HomeAssistant, sim: Simulator, hass_client_no_auth: Any
) -> None:
    await setup_credentials(hass)
    entry = oauth_entry(sim, (SCOPE_BASIC,))
    await setup_integration(hass, entry)
    old_refresh = entry.data["token"]["refresh_token"]
    result = await entry.start_reauth_flow(hass)
    assert result["step_id"] == "reauth_oauth"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    if result["type"] is FlowResultType.FORM:  # pick_implementation without a request
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"implementation": "fusionsolar_cred"}
        )
    assert result["type"] is FlowResultType.EXTERNAL_STEP
    location = await consent(sim, result["url"])
    await call_back(hass_client_no_auth, location)
    result = await finish(hass, result["flow_id"])
    assert (result["type"], result["reason"]) == (FlowResultType.ABORT, "reauth_successful")
    await hass.async_block_till_done()
    assert entry.data["token"]["refresh_token"] != old_refresh
    assert entry.data["token"]["scope"] == f"{SCOPE_BASIC} {SCOPE_CONTROL}"
    assert entry.state is ConfigEntryState.LOADED
