"""OAuth 2.0 authorization server of today's cloud (26.2 digest §3.1, §4.1, §8.1).

Served by the ``cloud-2026`` profile only: the V500R007 reference has no OAuth.

* ``GET /authorize`` checks the link (error page for a wrong ``response_type``,
  ``client_id``, ``redirect_uri`` or ``state``: at most 180 letters and digits; a 302 to
  the callback with ``error=invalid_scope`` for a wrong scope) and shows the login and
  consent page; ``POST /authorize`` (the page's form) answers 302 to the callback with
  ``code`` and ``state``, ``error=10002`` (refused) or ``error=10007`` (not an owner).
* ``POST /token``: ``authorization_code`` (codes live 5 minutes, once) and
  ``refresh_token`` grants; access tokens live 1 hour; a refresh ends the old access
  token at once; a new authorization of the same owner ends the old pair.
* ``POST /revoke-token`` with ``client_id`` and a valid access or refresh token.
* Data calls with ``Authorization: Bearer <AT>`` (``admit``): 305 ``INVALID_CREDENTIAL``
  for an unknown, expired or revoked token, 401 without the control scope, 407 once the
  owner's day (the plants' local day) has had 1000 basic or 100 control calls.

The owner revoking in the FusionSolar App is ``revoke_owner`` (admin API
``POST /_sim/oauth/revoke``).
"""

from __future__ import annotations

import html
import re
import secrets
import string
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web
from yarl import URL

from .config import Account
from .pipeline import ApiError

if TYPE_CHECKING:
    from .app import Simulator

OAUTH_PREFIX = "/rest/dp/uidm/oauth2/v1"
AUTHORIZE = f"{OAUTH_PREFIX}/authorize"
TOKEN = f"{OAUTH_PREFIX}/token"
REVOKE = f"{OAUTH_PREFIX}/revoke-token"

SCOPE_BASIC = "pvms.openapi.basic"
SCOPE_CONTROL = "pvms.openapi.control"
SCOPES = (SCOPE_BASIC, SCOPE_CONTROL)

CODE_LIFETIME = 300.0  # §3.1.2.1: 5 minutes
ACCESS_LIFETIME = 3600  # §3.1.2.3: 60 minutes
DAILY_LIMITS = {SCOPE_BASIC: 1000, SCOPE_CONTROL: 100}  # §4.1, per owner and day

DEFAULT_CLIENT_ID = "123456789"
DEFAULT_CLIENT_SECRET = "sim-client-secret"
DEFAULT_OWNER = ("owner", "owner_pass")
DEFAULT_INSTALLER = ("installer", "installer_pass")

STATE_RE = re.compile(r"[A-Za-z0-9]{1,180}")
_ALNUM = string.ascii_letters + string.digits
OWNER_PREFIX = "oauth:"
INVALID_CREDENTIAL = "INVALID_CREDENTIAL"
NO_PERMISSION = "Invalid access to current interface!"


def _random(prefix: str, length: int = 40) -> str:
    return prefix + "".join(secrets.choice(_ALNUM) for _ in range(length))


def callback_problem(uri: str) -> str | None:
    """Why a callback URL cannot be registered (§3.1.1), or None."""
    if len(uri) > 255 or ".." in uri or "redirect=" in uri or "#" in uri:
        return "callback URL with '..', 'redirect=', '#' or over 255 characters"
    try:
        host = URL(uri).host or ""
    except ValueError:
        return "not a URL"
    if not host or "localhost" in host.lower():
        return "callback domain missing or containing localhost"
    return None


def is_control(endpoint: str) -> bool:
    """Whether a path is a control interface (§5.2; the V7 control commands too)."""
    from . import control  # control imports the pipeline too

    return "/control/" in endpoint or endpoint in control.HANDLERS


@dataclass
class OAuthClient:
    """A third-party application registered with FusionSolar (§3.1.1).

    ``redirect_uris`` None: any callback URL that §3.1.1 allows.
    """

    client_id: str
    secret: str
    name: str = "Home Assistant"
    redirect_uris: tuple[str, ...] | None = None
    scopes: tuple[str, ...] = SCOPES

    def allows(self, redirect_uri: str) -> bool:
        if callback_problem(redirect_uri) is not None:
            return False
        return self.redirect_uris is None or redirect_uri in self.redirect_uris


@dataclass
class Owner:
    """A FusionSolar user who may sign in on the consent page."""

    account: Account
    role: str = "owner"  # anything else: 10007 on consent


@dataclass
class Grant:
    """The tokens of one owner for one client (one pair at a time)."""

    owner: Owner
    client_id: str
    scopes: frozenset[str]
    access_token: str
    refresh_token: str
    access_expires: float
    revoked: bool = False


@dataclass
class Code:
    """An authorization code (5 minutes, used once)."""

    client_id: str
    redirect_uri: str
    owner: Owner
    scopes: frozenset[str]
    expires: float


@dataclass
class OAuthServer:
    """Clients, owners, codes, grants and the owners' daily budgets."""

    sim: Simulator
    clients: dict[str, OAuthClient] = field(default_factory=dict)
    owners: dict[str, Owner] = field(default_factory=dict)
    codes: dict[str, Code] = field(default_factory=dict)
    grants: list[Grant] = field(default_factory=list)
    used: Counter[tuple[str, str, str]] = field(default_factory=Counter)  # owner, day, scope
    refused: int = 0

    def __post_init__(self) -> None:
        self.add_client(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET)
        self.add_owner(*DEFAULT_OWNER)
        self.add_owner(*DEFAULT_INSTALLER, role="installer")

    # --- setup ----------------------------------------------------------------------

    def add_client(
        self, client_id: str, secret: str, redirect_uris: tuple[str, ...] | None = None
    ) -> OAuthClient:
        """Register an application (FusionSolar staff do this, §3.1.1)."""
        client = OAuthClient(client_id, secret, redirect_uris=redirect_uris)
        self.clients[client_id] = client
        return client

    def add_owner(
        self,
        username: str,
        password: str,
        *,
        plants: list[int | str] | None = None,
        role: str = "owner",
    ) -> Owner:
        """A user of the consent page; ``plants`` (indices or codes) as an API account's.

        Its data calls run as account ``oauth:<username>`` (apart from API accounts).
        """
        account = Account(f"{OWNER_PREFIX}{username}", password, plants=plants, v7=False)
        self.sim.register_account(account)
        owner = Owner(account, role)
        self.owners[username] = owner
        return owner

    # --- lifecycle ------------------------------------------------------------------

    def grant_for(self, username: str) -> Grant | None:
        """The owner's live grant, if any."""
        return next(
            (g for g in self.grants if g.owner is self.owners.get(username) and not g.revoked),
            None,
        )

    def revoke_owner(self, username: str) -> int:
        """The owner revokes in the FusionSolar App (§3.1.5.1); returns grants revoked."""
        revoked = 0
        for grant in self.grants:
            if grant.owner is self.owners.get(username) and not grant.revoked:
                grant.revoked = True
                revoked += 1
        return revoked

    def expire_access_tokens(self) -> None:
        """End every access token now (as if an hour had passed)."""
        for grant in self.grants:
            grant.access_expires = min(grant.access_expires, self.sim.now())

    def _issue(self, owner: Owner, client_id: str, scopes: frozenset[str]) -> Grant:
        for old in self.grants:  # §3.1.2.3: a new authorization ends the old tokens
            if old.owner is owner and old.client_id == client_id:
                old.revoked = True
        grant = Grant(
            owner,
            client_id,
            scopes,
            _random("at"),
            _random("rt"),
            self.sim.now() + ACCESS_LIFETIME,
        )
        self.grants.append(grant)
        return grant

    # --- data calls -----------------------------------------------------------------

    def admit(self, authorization: str, endpoint: str, now: float, day: str) -> Account:
        """The owner's account for a Bearer call, or the ``ApiError`` refusing it."""
        scheme, _, token = authorization.partition(" ")
        grant = next(
            (
                g
                for g in self.grants
                if scheme.lower() == "bearer" and g.access_token == token.strip()
            ),
            None,
        )
        if grant is None or grant.revoked or now >= grant.access_expires:
            raise ApiError(305, INVALID_CREDENTIAL)
        scope = SCOPE_CONTROL if is_control(endpoint) else SCOPE_BASIC
        if scope not in grant.scopes:
            raise ApiError(401, NO_PERMISSION)
        key = (grant.owner.account.username, day, scope)
        if self.used[key] >= DAILY_LIMITS[scope]:
            self.refused += 1
            raise ApiError(407)
        self.used[key] += 1
        return grant.owner.account

    def usage(self, username: str, day: str) -> dict[str, int]:
        """Calls the owner made that day, by scope."""
        name = f"{OWNER_PREFIX}{username}"
        return {scope: self.used[(name, day, scope)] for scope in SCOPES}

    # --- HTTP -----------------------------------------------------------------------

    def routes(self) -> list[web.RouteDef]:
        """The authorization server's routes and its admin routes."""
        return [
            web.get(AUTHORIZE, self.get_authorize),
            web.post(AUTHORIZE, self.post_authorize),
            web.post(TOKEN, self.post_token),
            web.post(REVOKE, self.post_revoke),
            web.get("/_sim/oauth", self.get_admin),
            web.post("/_sim/oauth/revoke", self.post_admin_revoke),
            web.post("/_sim/oauth/expire", self.post_admin_expire),
        ]

    def _link(self, query: Any) -> tuple[OAuthClient, str, str | None, str | None]:
        """(client, redirect_uri, state, scope) of a valid link, else HTTPBadRequest."""
        client = self.clients.get(str(query.get("client_id", "")))
        redirect_uri = str(query.get("redirect_uri", ""))
        state = query.get("state")
        if (
            query.get("response_type") != "code"
            or client is None
            or not client.allows(redirect_uri)
            or (state is not None and not STATE_RE.fullmatch(state))
        ):
            raise web.HTTPBadRequest(
                text=_page("Parameter error", "<p>Parameter error.</p>"), content_type="text/html"
            )
        scope = query.get("scope")
        return client, redirect_uri, state, scope

    async def get_authorize(self, request: web.Request) -> web.StreamResponse:
        """The authorization link: the login-and-consent page (or a redirect with an error)."""
        client, redirect_uri, state, scope = self._link(request.query)
        scopes = _scopes(scope, client)
        if scopes is None:
            raise _back(redirect_uri, state, "invalid_scope", "OAuth 2.0 Parameter: scope")
        return web.Response(
            text=_consent_page(client, redirect_uri, state, scopes, ""), content_type="text/html"
        )

    async def post_authorize(self, request: web.Request) -> web.StreamResponse:
        """The consent form: sign in, pick scopes, authorize or refuse."""
        form = await request.post()
        client, redirect_uri, state, scope = self._link(form)
        requested = _scopes(scope, client)
        if requested is None:
            raise _back(redirect_uri, state, "invalid_scope", "OAuth 2.0 Parameter: scope")
        owner = self.owners.get(str(form.get("username", "")))
        if owner is None or owner.account.password != form.get("password"):
            page = _consent_page(
                client, redirect_uri, state, requested, "Incorrect user name or password."
            )
            return web.Response(status=200, text=page, content_type="text/html")
        if owner.role != "owner":
            raise _back(
                redirect_uri,
                state,
                "10007",
                "only_owner_role_is_supported_for_authorizing_third_party_app",
            )
        chosen = frozenset(s for s in requested if form.get(s) == "on")
        if form.get("action") != "authorize" or SCOPE_BASIC not in chosen:
            raise _back(redirect_uri, state, "10002", "access_is_denied")
        code = _random("c", 32)
        self.codes[code] = Code(
            client.client_id, redirect_uri, owner, chosen, self.sim.now() + CODE_LIFETIME
        )
        raise _back(redirect_uri, state, code=code)

    async def post_token(self, request: web.Request) -> web.Response:
        """The token endpoint (§3.1.2.3, errors §8.1.2)."""
        if request.query:
            return _token_error(400, "1114", "unsupported_request_type")
        form = await request.post()
        grant_type = form.get("grant_type")
        if grant_type not in ("authorization_code", "refresh_token"):
            return _token_error(400, "1111", "unsupported_grant_type")
        client = self.clients.get(str(form.get("client_id", "")))
        if client is None or form.get("client_secret") != client.secret:
            return _token_error(401, "invalid_client", "invalid_client")
        if grant_type == "authorization_code":
            return self._code_grant(client, form)
        return self._refresh_grant(client, str(form.get("refresh_token", "")))

    def _code_grant(self, client: OAuthClient, form: Any) -> web.Response:
        code_value = form.get("code")
        if not code_value:
            return _token_error(400, "1100", "when authorization_code,the code can not be null")
        code = self.codes.pop(str(code_value), None)
        if (
            code is None
            or code.client_id != client.client_id
            or code.redirect_uri != form.get("redirect_uri")
            or self.sim.now() >= code.expires
        ):
            return _token_error(400, "1110", "invalid_grant")
        return _token_answer(self._issue(code.owner, client.client_id, code.scopes))

    def _refresh_grant(self, client: OAuthClient, refresh_token: str) -> web.Response:
        grant = next(
            (
                g
                for g in self.grants
                if g.refresh_token == refresh_token and g.client_id == client.client_id
            ),
            None,
        )
        if grant is None or grant.revoked or not refresh_token:
            return _token_error(400, "1110", "invalid_grant")
        grant.access_token = _random("at")  # §3.1.2.1: the old AT ends at once
        grant.access_expires = self.sim.now() + ACCESS_LIFETIME
        return _token_answer(grant)

    async def post_revoke(self, request: web.Request) -> web.Response:
        """The app revokes an owner's authorization (§3.1.5.2, errors §8.1.3)."""
        form = await request.post()
        client_id, token = form.get("client_id"), form.get("token")
        if not client_id or not token:
            return _token_error(400, "1106", "invalid_token")
        now = self.sim.now()
        for grant in self.grants:
            if grant.client_id != client_id or grant.revoked:
                continue
            if grant.refresh_token == token or (
                grant.access_token == token and now < grant.access_expires
            ):
                grant.revoked = True
                return web.Response(status=200)
        return _token_error(401, "1106", "invalid_token")

    # --- admin ----------------------------------------------------------------------

    async def get_admin(self, request: web.Request) -> web.Response:
        """Grants (without tokens) and the day's usage per owner."""
        day = self.sim.local_day(self.sim.now()).isoformat()
        return web.json_response(
            {
                "grants": [
                    {
                        "owner": g.owner.account.username.removeprefix(OWNER_PREFIX),
                        "client_id": g.client_id,
                        "scopes": sorted(g.scopes),
                        "revoked": g.revoked,
                    }
                    for g in self.grants
                ],
                "usage": {name: self.usage(name, day) for name in self.owners},
                "refused": self.refused,
            }
        )

    async def post_admin_revoke(self, request: web.Request) -> web.Response:
        """``{"owner": name}``: the owner revokes the app in the FusionSolar App."""
        body = await request.json() if request.can_read_body else {}
        owner = str(body.get("owner", DEFAULT_OWNER[0]))
        return web.json_response({"revoked": self.revoke_owner(owner)})

    async def post_admin_expire(self, request: web.Request) -> web.Response:
        """End every access token now."""
        self.expire_access_tokens()
        return web.json_response({"ok": True})


def _scopes(scope: str | None, client: OAuthClient) -> tuple[str, ...] | None:
    """The scopes a link asks for (omitted: all of the client's); None if one is wrong."""
    if scope is None or not scope.strip():
        return client.scopes
    asked = tuple(dict.fromkeys(scope.split(" ")))
    if any(s not in client.scopes for s in asked):
        return None
    return asked


def _back(
    redirect_uri: str,
    state: str | None,
    error: str | None = None,
    description: str | None = None,
    *,
    code: str | None = None,
) -> web.HTTPFound:
    """The 302 to the app's callback (§3.1.2.2)."""
    params = (
        {"code": code}
        if code is not None
        else {"error": error or "", "error_description": description or ""}
    )
    if state is not None:
        params["state"] = state
    return web.HTTPFound(str(URL(redirect_uri).update_query(params)))


def _token_answer(grant: Grant) -> web.Response:
    return web.json_response(
        {
            "access_token": grant.access_token,
            "refresh_token": grant.refresh_token,
            "expires_in": ACCESS_LIFETIME,
            "scope": " ".join(s for s in SCOPES if s in grant.scopes),
            "token_type": "Bearer",
        }
    )


def _token_error(status: int, error: str, description: str) -> web.Response:
    return web.json_response({"error": error, "error_description": description}, status=status)


def _page(title: str, body: str) -> str:
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{title}</title></head>"
        f"<body><h1>{title}</h1>{body}</body></html>"
    )


def _consent_page(
    client: OAuthClient,
    redirect_uri: str,
    state: str | None,
    scopes: tuple[str, ...],
    message: str,
) -> str:
    esc = html.escape
    hidden = {"response_type": "code", "client_id": client.client_id, "redirect_uri": redirect_uri}
    if state is not None:
        hidden["state"] = state
    hidden["scope"] = " ".join(scopes)
    fields = "".join(
        f"<input type='hidden' name='{k}' value='{esc(v, quote=True)}'>" for k, v in hidden.items()
    )
    labels = {
        SCOPE_BASIC: "Basic API (read data)",
        SCOPE_CONTROL: "Control API (battery, inverter)",
    }
    boxes = "".join(
        f"<label><input type='checkbox' id='{s}' name='{s}' checked> {labels[s]}</label><br>"
        for s in scopes
    )
    error = f"<p id='error' role='alert'>{esc(message)}</p>" if message else ""
    body = (
        f"<p>{esc(client.name)} asks for access to your plants.</p>{error}"
        f"<form method='post' action='{AUTHORIZE}'>{fields}"
        "<label>Account <input id='username' name='username' autocomplete='username'></label><br>"
        "<label>Password <input id='password' name='password' type='password'></label><br>"
        f"{boxes}"
        "<button id='authorize' name='action' value='authorize' type='submit'>Authorize</button>"
        "<button id='refuse' name='action' value='refuse' type='submit'>Refuse</button>"
        "</form>"
    )
    return _page("FusionSolar authorization", body)
