"""Sign in with FusionSolar (OAuth 2.0, 26.2 digest §3.1) on Home Assistant's machinery.

* The implementation (``FusionSolarImplementation``) is an application-credentials
  ``AuthImplementation``. Huawei's ``state`` must be at most 180 letters and digits
  (§3.1.2.2), Home Assistant's is a longer signed token with ``.``, ``-`` and ``_``: each
  authorization gets a short random state, mapped here to its flow, and Huawei calls back
  this integration's own view (``CALLBACK_PATH``), which completes that flow. Nothing of
  Home Assistant is patched: other integrations' OAuth flows keep theirs.
* Token requests map Huawei's errors (§8.1.2) to :class:`TokenRequestError` with the
  flow's abort reason; a refused refresh means the authorization ended (reauth).
* Data calls get their token from the entry's ``OAuth2Session`` (``token_provider``);
  removing the entry revokes the authorization (``async_revoke``, §3.1.5.2).
"""

from __future__ import annotations

import asyncio
import secrets
import string
import time
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Final

import aiohttp
from aiohttp import web
from homeassistant.components.application_credentials import (
    AuthImplementation,
    AuthorizationServer,
    ClientCredential,
)
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_HOST
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import UnknownFlow
from homeassistant.exceptions import ConfigEntryNotReady, HomeAssistantError
from homeassistant.helpers import config_entry_oauth2_flow
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.http import KEY_HASS, HomeAssistantView, current_request
from homeassistant.helpers.network import get_url
from homeassistant.util.hass_dict import HassKey
from yarl import URL

from .account import AccountSettings, entry_account_key, settings_from_data
from .api import CommunicationError, OAuthRevokedError, TokenProvider
from .const import DOMAIN, LOGGER

OAUTH_HOST: Final = "https://oauth2.fusionsolar.huawei.com"
OAUTH_PATH: Final = "/rest/dp/uidm/oauth2/v1"
HUAWEI_CLOUD_SUFFIX: Final = "fusionsolar.huawei.com"
CALLBACK_PATH: Final = "/api/fusionsolar/oauth/callback"
SCOPE_BASIC: Final = "pvms.openapi.basic"
SCOPE_CONTROL: Final = "pvms.openapi.control"
CONF_AUTH_IMPLEMENTATION: Final = "auth_implementation"
CONF_TOKEN: Final = "token"
STATE_LENGTH: Final = 32
STATE_LIFETIME: Final = 900.0  # a sign-in page left open longer must start again
TOKEN_TIMEOUT: Final = 30.0

DATA_PENDING: HassKey[dict[str, PendingSignIn]] = HassKey(f"{DOMAIN}_oauth_pending")
DATA_VIEW: HassKey[bool] = HassKey(f"{DOMAIN}_oauth_view")

#: The flow's abort reason per Huawei error on the callback (§3.1.2.2, FAQ 8.1.1).
CALLBACK_ERRORS: Final = {
    "10002": "oauth_refused",
    "10007": "oauth_not_owner",
    "invalid_scope": "oauth_invalid_scope",
}


def authorization_server(host: str | None = None) -> AuthorizationServer:
    """Huawei's OAuth server; a host outside Huawei's cloud serves its own (on-premises)."""
    base = OAUTH_HOST
    if host is not None:
        url = URL(host if "://" in host else f"https://{host}")
        if not (url.host or "").endswith(HUAWEI_CLOUD_SUFFIX):
            base = str(url.with_path("").with_query(None)).rstrip("/")
    return AuthorizationServer(
        authorize_url=f"{base}{OAUTH_PATH}/authorize", token_url=f"{base}{OAUTH_PATH}/token"
    )


def is_oauth_entry(entry: ConfigEntry) -> bool:
    """Whether an entry signed in with FusionSolar (rather than an API account)."""
    return CONF_TOKEN in entry.data


def granted_scopes(entry: ConfigEntry) -> set[str]:
    """The scopes the owner granted (an API account: none of them)."""
    token = entry.data.get(CONF_TOKEN) or {}
    return set(str(token.get("scope", "")).split())


def control_granted(entry: ConfigEntry) -> bool:
    """Whether control entities and actions may exist (API accounts: as before)."""
    return not is_oauth_entry(entry) or SCOPE_CONTROL in granted_scopes(entry)


class TokenRequestError(HomeAssistantError):
    """A token request failed; ``reason`` is the config flow's abort reason.

    Not an aiohttp ``ClientError``: Home Assistant's flow does not turn it into its
    generic "oauth_failed", the flow shows Huawei's outcome instead.
    """

    def __init__(self, reason: str, *, reauth: bool, code: str = "") -> None:
        """An error with the abort reason, whether it needs a new sign-in, Huawei's code."""
        super().__init__(f"{reason} ({code})" if code else reason)
        self.reason = reason
        self.reauth = reauth
        self.code = code


def _token_error(status: int, body: Mapping[str, Any], refresh: bool) -> TokenRequestError:
    """Huawei's token errors (FAQ 8.1.2) as abort reasons."""
    code = str(body.get("error", ""))
    if status == HTTPStatus.UNAUTHORIZED or code == "invalid_client":
        return TokenRequestError("oauth_invalid_client", reauth=True, code=code)
    if code == "1110" or body.get("error_description") == "invalid_grant":
        reason = "oauth_authorization_ended" if refresh else "oauth_code_expired"
        return TokenRequestError(reason, reauth=True, code=code)
    if status >= HTTPStatus.INTERNAL_SERVER_ERROR:
        return TokenRequestError("oauth_server_error", reauth=False, code=str(status))
    return TokenRequestError("oauth_token_refused", reauth=status < 500, code=code or str(status))


@dataclass(frozen=True, slots=True)
class PendingSignIn:
    """A sign-in on its way: the flow it completes and the callback URL it used."""

    flow_id: str
    redirect_uri: str
    created: float


class FusionSolarImplementation(AuthImplementation):
    """Application credentials with Huawei's short state, scopes and errors."""

    def __init__(
        self,
        hass: HomeAssistant,
        auth_domain: str,
        credential: ClientCredential,
        server: AuthorizationServer,
    ) -> None:
        """The implementation of one client ID and secret at one authorization server."""
        super().__init__(hass, auth_domain, credential, server)
        self._credential = credential

    def for_host(self, host: str) -> FusionSolarImplementation:
        """The same credentials at the authorization server of ``host``."""
        return FusionSolarImplementation(
            self.hass, self.domain, self._credential, authorization_server(host)
        )

    @property
    def redirect_uri(self) -> str:
        """The callback of this integration on Home Assistant's address (as browsers see it)."""
        request = current_request.get()
        base = request.headers.get("HA-Frontend-Base") if request is not None else None
        if not base:
            base = get_url(self.hass, allow_internal=False, prefer_external=True)
        return f"{base.rstrip('/')}{CALLBACK_PATH}"

    async def async_generate_authorize_url(self, flow_id: str) -> str:
        """Huawei's link with a short random state mapped to ``flow_id``."""
        redirect_uri = self.redirect_uri
        _register_view(self.hass)
        state = new_state(self.hass, flow_id, redirect_uri)
        query = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": redirect_uri,
            "state": state,
            "scope": f"{SCOPE_BASIC} {SCOPE_CONTROL}",
        }
        return str(URL(self.authorize_url).with_query(query))

    async def async_resolve_external_data(self, external_data: Any) -> dict[str, Any]:
        """Exchange the code for tokens (the callback URL must be the one that got it)."""
        return await self._token_request(
            {
                "grant_type": "authorization_code",
                "code": external_data["code"],
                "redirect_uri": external_data["state"]["redirect_uri"],
            }
        )

    async def _token_request(self, data: dict[str, Any]) -> dict[str, Any]:
        """POST the form to the token endpoint; Huawei's errors as TokenRequestError."""
        form = {**data, "client_id": self.client_id, "client_secret": self.client_secret}
        refresh = data.get("grant_type") == "refresh_token"
        session = async_get_clientsession(self.hass)
        try:
            async with asyncio.timeout(TOKEN_TIMEOUT):
                resp = await session.post(self.token_url, data=form)
                body = await _json(resp)
        except (aiohttp.ClientError, TimeoutError) as err:
            LOGGER.debug("Token request failed: %s", type(err).__name__)
            raise TokenRequestError("oauth_cannot_connect", reauth=False) from None
        if resp.status >= HTTPStatus.BAD_REQUEST or "access_token" not in body:
            error = _token_error(resp.status, body, refresh)
            LOGGER.debug("Token request refused: HTTP %s, %s", resp.status, error.code)
            raise error
        return body

    async def async_revoke(self, token: Mapping[str, Any]) -> bool:
        """Revoke the owner's authorization with the refresh token (§3.1.5.2)."""
        url = self.token_url.rsplit("/", 1)[0] + "/revoke-token"
        form = {"client_id": self.client_id, "token": str(token.get("refresh_token", ""))}
        try:
            async with asyncio.timeout(TOKEN_TIMEOUT):
                resp = await async_get_clientsession(self.hass).post(url, data=form)
        except (aiohttp.ClientError, TimeoutError) as err:
            LOGGER.warning(
                "Could not revoke the FusionSolar authorization (%s)", type(err).__name__
            )
            return False
        if resp.status != HTTPStatus.OK:
            LOGGER.warning("FusionSolar refused to revoke the authorization (HTTP %s)", resp.status)
        return resp.status == HTTPStatus.OK


async def _json(resp: aiohttp.ClientResponse) -> dict[str, Any]:
    try:
        body = await resp.json(content_type=None)
    except (ValueError, aiohttp.ClientError):
        return {}
    return body if isinstance(body, dict) else {}


def new_state(hass: HomeAssistant, flow_id: str, redirect_uri: str) -> str:
    """A random state of letters and digits (§3.1.2.2), remembered for ``flow_id``."""
    pending = hass.data.setdefault(DATA_PENDING, {})
    now = time.monotonic()
    for state in [s for s, p in pending.items() if now - p.created > STATE_LIFETIME]:
        del pending[state]
    alphabet = string.ascii_letters + string.digits
    state = "".join(secrets.choice(alphabet) for _ in range(STATE_LENGTH))
    pending[state] = PendingSignIn(flow_id, redirect_uri, now)
    return state


def _register_view(hass: HomeAssistant) -> None:
    if not hass.data.get(DATA_VIEW):
        hass.http.register_view(FusionSolarCallbackView())
        hass.data[DATA_VIEW] = True


class FusionSolarCallbackView(HomeAssistantView):
    """Where FusionSolar sends the owner back: completes the flow of the state."""

    requires_auth = False
    url = CALLBACK_PATH
    name = f"api:{DOMAIN}:oauth:callback"

    async def get(self, request: web.Request) -> web.Response:
        """Hand the code (or Huawei's error) to the flow that started this sign-in."""
        hass = request.app[KEY_HASS]
        pending = hass.data.get(DATA_PENDING, {}).pop(request.query.get("state", ""), None)
        if pending is None:
            return _page(
                "This sign-in is unknown or has expired. Start again in Home Assistant.",
                HTTPStatus.BAD_REQUEST,
            )
        user_input: dict[str, Any] = {
            "state": {"flow_id": pending.flow_id, "redirect_uri": pending.redirect_uri}
        }
        if code := request.query.get("code"):
            user_input["code"] = code
        else:
            user_input["error"] = request.query.get("error", "unknown")
            user_input["error_description"] = request.query.get("error_description", "")
        try:
            await hass.config_entries.flow.async_configure(
                flow_id=pending.flow_id, user_input=user_input
            )
        except UnknownFlow:
            return _page("This sign-in was cancelled in Home Assistant.", HTTPStatus.BAD_REQUEST)
        return _page("Done. You can close this window.", HTTPStatus.OK, close=True)


def _page(text: str, status: int, *, close: bool = False) -> web.Response:
    script = "<script>window.close()</script>" if close else ""
    return web.Response(
        status=status,
        content_type="text/html",
        text=f"<!DOCTYPE html><html><body><p>{text}</p>{script}</body></html>",
    )


def token_provider(
    hass: HomeAssistant, entry: ConfigEntry, session: config_entry_oauth2_flow.OAuth2Session
) -> TokenProvider:
    """The client's access tokens, refreshed by Home Assistant's ``OAuth2Session``.

    Given a token the cloud refused (305) that is still the entry's, it is refreshed at
    once; Huawei refusing the refresh means the authorization ended (reauth).
    """
    lock = asyncio.Lock()

    async def provide(refused: str | None) -> str:
        try:
            async with lock:
                if refused is not None and session.token.get("access_token") == refused:
                    new = await session.implementation.async_refresh_token(session.token)
                    hass.config_entries.async_update_entry(
                        entry, data={**entry.data, CONF_TOKEN: new}
                    )
                else:
                    await session.async_ensure_token_valid()
        except TokenRequestError as err:
            if err.reauth:
                raise OAuthRevokedError(str(err)) from None
            raise CommunicationError(str(err)) from None
        except (aiohttp.ClientError, TimeoutError) as err:
            raise CommunicationError(f"Token refresh failed ({type(err).__name__})") from None
        return str(session.token["access_token"])

    return provide


async def async_implementation(
    hass: HomeAssistant, entry: ConfigEntry
) -> FusionSolarImplementation | None:
    """The entry's implementation at its host's authorization server (None: credentials gone)."""
    try:
        impl = await config_entry_oauth2_flow.async_get_config_entry_implementation(hass, entry)
    except ValueError:
        return None
    if not isinstance(impl, FusionSolarImplementation):
        return None
    return impl.for_host(entry.data[CONF_HOST])


async def async_revoke_entry(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """Revoke a removed entry's authorization (best effort)."""
    impl = await async_implementation(hass, entry)
    if impl is None:
        LOGGER.warning("The FusionSolar application credentials are gone; nothing to revoke")
        return
    await impl.async_revoke(entry.data[CONF_TOKEN])


async def async_account_settings(hass: HomeAssistant, entry: ConfigEntry) -> AccountSettings:
    """What reaches the entry's account: its API account, or the owner's tokens."""
    if not is_oauth_entry(entry):
        return settings_from_data(entry.data)
    impl = await async_implementation(hass, entry)
    if impl is None:
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN, translation_key="oauth_credentials_missing"
        )
    session = config_entry_oauth2_flow.OAuth2Session(hass, entry, impl)
    return AccountSettings(
        host=entry.data[CONF_HOST],
        username=entry_account_key(entry),
        password="",
        token_provider=token_provider(hass, entry, session),
    )
