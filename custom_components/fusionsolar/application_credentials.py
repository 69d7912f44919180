"""Application credentials: the client ID and secret Huawei issued (26.2 digest §3.1.1)."""

from __future__ import annotations

from homeassistant.components.application_credentials import (
    AuthorizationServer,
    ClientCredential,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers import config_entry_oauth2_flow

from .oauth import CALLBACK_PATH, FusionSolarImplementation, authorization_server


async def async_get_authorization_server(hass: HomeAssistant) -> AuthorizationServer:
    """Huawei's authorization server (a flow moves it to an on-premises host's own)."""
    return authorization_server()


async def async_get_auth_implementation(
    hass: HomeAssistant, auth_domain: str, credential: ClientCredential
) -> config_entry_oauth2_flow.AbstractOAuth2Implementation:
    """The implementation with Huawei's short state and errors."""
    return FusionSolarImplementation(hass, auth_domain, credential, authorization_server())


async def async_get_description_placeholders(hass: HomeAssistant) -> dict[str, str]:
    """Where to get credentials, and the callback URL to register with Huawei."""
    return {
        "more_info_url": "https://github.com/fusionsolar-ha/fusionsolar#sign-in-with-fusionsolar",
        "callback_path": CALLBACK_PATH,
    }
