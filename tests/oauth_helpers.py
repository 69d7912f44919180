"""Signing in with FusionSolar against the simulator, as a browser would (issue 20)."""

from __future__ import annotations

from typing import Any

import aiohttp
from homeassistant.components.application_credentials import (
    ClientCredential,
    async_import_client_credential,
)
from homeassistant.config_entries import SOURCE_USER
from homeassistant.const import CONF_HOST
from homeassistant.core import HomeAssistant
from homeassistant.core_config import async_process_ha_core_config
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry
from yarl import URL

from custom_components.fusionsolar.const import (
    CONF_HISTORY_DAYS,
    CONF_PLANTS,
    CONF_POLL_ALARMS,
    CONF_POLL_DEVICES,
    DOMAIN,
)
from tests.simulator import Simulator
from tests.simulator.oauth import (
    AUTHORIZE,
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    SCOPE_BASIC,
    SCOPE_CONTROL,
    Grant,
)

EXTERNAL_URL = "https://ha.example.com"
CREDENTIAL_ID = "fusionsolar_cred"


async def setup_credentials(hass: HomeAssistant, secret: str = DEFAULT_CLIENT_SECRET) -> None:
    """Application credentials with the simulator's client, and HA's external URL."""
    await async_process_ha_core_config(hass, {"external_url": EXTERNAL_URL})
    assert await async_setup_component(hass, "application_credentials", {})
    await async_import_client_credential(
        hass, DOMAIN, ClientCredential(DEFAULT_CLIENT_ID, secret, "Simulator"), CREDENTIAL_ID
    )


async def start_oauth_flow(hass: HomeAssistant, sim: Simulator) -> dict[str, Any]:
    """Menu -> Sign in with FusionSolar -> host -> (credentials) -> the external step."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "oauth"}
    )
    assert result["step_id"] == "oauth"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_HOST: sim.url})
    if result["type"] is FlowResultType.FORM and result["step_id"] == "pick_implementation":
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"implementation": CREDENTIAL_ID}
        )
    return dict(result)


async def consent(
    sim: Simulator,
    link: str,
    *,
    user: str = "owner",
    password: str = "owner_pass",
    action: str = "authorize",
    scopes: tuple[str, ...] = (SCOPE_BASIC, SCOPE_CONTROL),
) -> URL:
    """Open the link and submit the consent page; returns where FusionSolar sends back."""
    query = URL(link).query
    async with aiohttp.ClientSession() as http:
        async with http.get(link, allow_redirects=False) as page:
            if page.status == 302:
                return URL(page.headers["Location"])
            assert page.status == 200, await page.text()
        form = {
            **{k: query[k] for k in ("response_type", "client_id", "redirect_uri", "state")},
            "scope": query.get("scope", ""),
            "username": user,
            "password": password,
            "action": action,
            **dict.fromkeys(scopes, "on"),
        }
        async with http.post(sim.url + AUTHORIZE, data=form, allow_redirects=False) as resp:
            assert resp.status == 302, await resp.text()
            return URL(resp.headers["Location"])


async def call_back(hass_client_no_auth: Any, location: URL) -> int:
    """Follow FusionSolar's redirect to Home Assistant (the browser's last step)."""
    assert str(location.with_query(None)).startswith(EXTERNAL_URL)
    client = await hass_client_no_auth()
    resp = await client.get(location.path_qs)
    return int(resp.status)


def oauth_entry(
    sim: Simulator, scopes: tuple[str, ...] = (SCOPE_BASIC,), **options: Any
) -> MockConfigEntry:
    """An OAuth entry with a fresh grant of the simulator's owner."""
    owner = sim.oauth.owners["owner"]
    grant = sim.oauth._issue(owner, DEFAULT_CLIENT_ID, frozenset(scopes))
    token = {
        "access_token": grant.access_token,
        "refresh_token": grant.refresh_token,
        "expires_in": 3600,
        "expires_at": grant.access_expires,
        "scope": " ".join(s for s in (SCOPE_BASIC, SCOPE_CONTROL) if s in scopes),
        "token_type": "Bearer",
    }
    return MockConfigEntry(
        domain=DOMAIN,
        title=f"FusionSolar owner ({sim.url})",
        unique_id=f"oauth:{min(p.code for p in sim.plants)}",
        minor_version=2,
        data={"auth_implementation": CREDENTIAL_ID, "token": token, CONF_HOST: sim.url},
        options={
            CONF_PLANTS: [plant.code for plant in sim.plants],
            CONF_POLL_DEVICES: True,
            CONF_POLL_ALARMS: True,
            CONF_HISTORY_DAYS: 2,
            **options,
        },
    )


def grant(sim: Simulator, *scopes: str) -> Grant:
    """Tokens the simulator's owner granted (basic scope unless others are given)."""
    owner = sim.oauth.owners["owner"]
    return sim.oauth._issue(owner, DEFAULT_CLIENT_ID, frozenset(scopes or (SCOPE_BASIC,)))
