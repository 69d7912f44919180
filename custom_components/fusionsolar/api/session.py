"""Sessions of the NBI client: one per API family, with its own token.

* both families log in lazily; V7 is detected among candidate base URLs;
* a 305 triggers one re-login per request (never a loop); a 305 soon after the last
  successful use of a token that is not at the end of its life is a *kick-out* by
  another login of the same account (field: one session per account):
  ``session_kickouts`` counts them, and the re-login waits out that login's 1/min window
  (``LOGIN_WINDOW``), after repeated kick-outs 1, 2, 4 ... minutes (capped at 32);
* legacy tokens are renewed before their absolute 30-minute life ends;
* endpoints refused with 401/20056 are remembered (``refused_endpoints``) and not asked
  again for ``PERMISSION_RECHECK`` (6 h);
* tokens and passwords never reach logs, exceptions or ``repr``.

A family is a :class:`FamilySession` (login/logout endpoints and keys, base URL) built
by its endpoint module (``legacy.py``, ``v7.py``) and registered in the client.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from multidict import CIMultiDictProxy
from yarl import URL

from .const import (
    KICKOUT_BACKOFF_BASE,
    KICKOUT_BACKOFF_MAX,
    KICKOUT_IDLE_THRESHOLD,
    KICKOUT_RESET_AFTER,
    LOGIN_WINDOW,
    PERMISSION_RECHECK,
    TOKEN_COOKIE,
    TOKEN_RENEW_AFTER,
    TOKEN_RESPONSE_HEADERS,
    Endpoint,
)
from .errors import (
    ENDPOINT_REFUSAL_CODES,
    ApiFamilyUnavailableError,
    AuthenticationError,
    CommunicationError,
    EndpointUnavailableError,
    FusionSolarError,
    NotAnNbiHostError,
    PermissionDeniedError,
    QuotaError,
    QuotaWouldExceed,
    ServiceUnavailableError,
    TokenExpiredError,
    UnauthorizedResourceError,
)
from .flowpolicy import FlowPolicy
from .kpitables import ApiGeneration
from .models import ApiFamilies, api_generation
from .oauth import BearerSessions, TokenProvider
from .quotastate import Priority
from .transport import Transport, endpoint_url

_LOGGER = logging.getLogger(__name__)

Family = Literal["legacy", "v7"]
LEGACY: Final = "legacy"
V7: Final = "v7"

_COOKIE_TOKEN_RE: Final = re.compile(r"(?:^|[;,\s])" + TOKEN_COOKIE + r"=([^;,\s]+)", re.I)


@dataclass(frozen=True, slots=True)
class RefusedEndpoint:
    """An endpoint the account may not use (401 / 20056), since ``since`` (epoch s)."""

    endpoint: str
    fail_code: int | None
    message: str
    since: float


def extract_token(headers: Mapping[str, str] | CIMultiDictProxy[str]) -> str | None:
    """The session token from a login answer.

    ``xsrf-token`` / ``xsrftoken`` header first, else an ``XSRF-TOKEN`` cookie in any
    ``Set-Cookie`` shape (several headers, any case, ``JSESSIONID=..., XSRF-TOKEN=...``).
    """
    lowered: dict[str, list[str]] = {}
    for name, value in headers.items():
        lowered.setdefault(name.lower(), []).append(value)
    for name in TOKEN_RESPONSE_HEADERS:
        for value in lowered.get(name.lower(), []):
            if value and value.strip():
                return value.strip()
    for value in lowered.get("set-cookie", []):
        match = _COOKIE_TOKEN_RE.search(value)
        if match:
            return match.group(1)
    return None


@dataclass(slots=True)
class FamilySession:
    """The session of one API family: its endpoints, base URL, token and kick-out state."""

    family: Family
    login_endpoint: Endpoint
    logout_endpoint: Endpoint
    logout_token_keys: tuple[str, ...]
    credential_keys: tuple[str, str]  # login payload keys of user name and password
    base: URL | None
    lifetime: float | None = None  # absolute token life from login (None: idle only)
    available: bool | None = None
    token: str | None = None
    generation: int = 0
    login_time: float | None = None
    last_ok: float | None = None
    consecutive_kickouts: int = 0
    last_kickout: float | None = None
    not_before: float = 0.0
    lock: asyncio.Lock | None = None

    def get_lock(self) -> asyncio.Lock:
        if self.lock is None:
            self.lock = asyncio.Lock()
        return self.lock

    def token_age(self, now: float) -> float:
        return now - (self.login_time if self.login_time is not None else now)

    def renewal_due(self, now: float) -> bool:
        """Whether the token nears its absolute end of life (re-login before using it)."""
        return (
            self.token is not None
            and self.lifetime is not None
            and self.token_age(now) >= TOKEN_RENEW_AFTER
            and now >= self.not_before
        )

    def expired(self, now: float) -> bool:
        """Whether a 305 now is the token's own end (idle or lifetime), not a kick-out."""
        if now - (self.last_ok or 0.0) >= KICKOUT_IDLE_THRESHOLD:
            return True
        return self.lifetime is not None and self.token_age(now) >= TOKEN_RENEW_AFTER


class Sessions(BearerSessions, Transport):
    """Sessions of every family: login, renewal, V7 detection, kick-outs, refusals."""

    _username: str
    _password: str
    _sessions: dict[Family, FamilySession]
    _refused: dict[str, RefusedEndpoint]
    _unavailable: dict[str, float]  # endpoint -> when it answered 404 (epoch s)
    _login_lock: asyncio.Lock | None  # one login at a time, whatever the family
    _credentials_refused: bool  # a login said the credentials are wrong: never again
    _v7_candidates: list[URL]
    session_kickouts: int
    _token_provider: TokenProvider | None = None  # OAuth: access tokens from outside
    _refused_token: str | None = None  # the access token the cloud refused last (305)

    # ------------------------------------------------------------------ state

    @property
    def username(self) -> str:
        """The account's user name."""
        return self._username

    @property
    def families(self) -> ApiFamilies:
        """Families known to work (False until a login proved it)."""
        return ApiFamilies(
            legacy=self._sessions["legacy"].available is True,
            v7=self._sessions["v7"].available is True,
        )

    @property
    def todays_cloud(self) -> bool:
        """Whether the host is known to be today's cloud (26.x), learned or stored.

        The evidence (the legacy station list gone) sets the governor's flow-control
        policy, which is stored with the account's quota state across restarts.
        """
        return self.governor.policy is not FlowPolicy.V500R007

    @property
    def generation(self) -> ApiGeneration:
        """The generation whose units and meanings the account's data has."""
        return api_generation(self.families, todays_cloud=self.todays_cloud)

    @property
    def v7_url(self) -> str | None:
        """The V7 base URL that answered, once detected."""
        base = self._sessions["v7"].base
        return str(base) if base is not None else None

    @property
    def consecutive_kickouts(self) -> int:
        """Kick-outs since the last session that lasted (max over families)."""
        return max(s.consecutive_kickouts for s in self._sessions.values())

    @property
    def refused_endpoints(self) -> dict[str, RefusedEndpoint]:
        """Endpoints refused to this account (401/20056), by path."""
        return dict(self._refused)

    @property
    def unavailable_endpoints(self) -> dict[str, float]:
        """Endpoints this cloud does not offer (HTTP 404), with when that was seen."""
        return dict(self._unavailable)

    def clear_refused(self, endpoint: str | None = None) -> None:
        """Forget a refusal (or all), e.g. after the user fixed the permissions."""
        if endpoint is None:
            self._refused.clear()
        else:
            self._refused.pop(str(endpoint), None)

    # ------------------------------------------------------------------ sessions

    async def _ensure_session(
        self, family: Family, priority: Priority, wait: bool, max_wait: float | None
    ) -> tuple[str, int]:
        if self._token_provider is not None:
            return await self._bearer_token(family, self._sessions[family])
        sess = self._sessions[family]
        if sess.token is not None and not sess.renewal_due(self._now()):
            return sess.token, sess.generation
        async with sess.get_lock():
            current = _current_token(sess)  # another task may have logged in meanwhile
            if current is not None:
                if sess.renewal_due(self._now()):
                    await self._renew(sess, priority)
                return sess.token or current, sess.generation
            if sess.available is False:
                raise ApiFamilyUnavailableError(
                    f"The {family} API is not available for this host/account"
                )
            now = self._now()
            if sess.not_before > now:
                delay = sess.not_before - now
                if not wait or (max_wait is not None and delay > max_wait):
                    raise QuotaWouldExceed(
                        sess.login_endpoint,
                        delay,
                        f"Re-login deferred {delay:.0f} s after a session kick-out",
                    )
                await self.governor._do_sleep(delay)
            if family == "v7" and sess.base is None:
                await self._detect_v7(sess, priority, wait, max_wait)
            else:
                assert sess.base is not None
                await self._login_at(sess, sess.base, priority, wait, max_wait, detecting=False)
            token = _current_token(sess)
            if token is None:  # pragma: no cover - _login_at sets it or raises
                raise CommunicationError("Login did not produce a token")
            return token, sess.generation

    async def _login_at(
        self,
        sess: FamilySession,
        base: URL,
        priority: Priority,
        wait: bool,
        max_wait: float | None,
        *,
        detecting: bool,
    ) -> None:
        user_key, password_key = sess.credential_keys
        payload = {user_key: self._username, password_key: self._password}
        if self._login_lock is None:
            self._login_lock = asyncio.Lock()
        # One login at a time, and none after wrong credentials: both families share
        # them, and five wrong passwords lock the account. New credentials make a new
        # client (config flow), so this one never logs in again.
        async with self._login_lock:
            if self._credentials_refused:
                raise AuthenticationError(
                    "The credentials were refused; not sent again", endpoint=sess.login_endpoint
                )
            _LOGGER.debug("Logging in (%s) at %s", sess.family, base.host)
            try:
                _, headers = await self._exchange(
                    endpoint_url(base, sess.login_endpoint),
                    sess.login_endpoint,
                    payload,
                    token=None,
                    priority=priority,
                    wait=wait,
                    max_wait=max_wait,
                    login=True,
                    detecting=detecting,
                )
            except AuthenticationError:
                self._credentials_refused = True
                raise
        token = extract_token(headers)
        if not token:
            raise CommunicationError("Login succeeded but no token was returned")
        now = self._now()
        sess.token = token
        sess.generation += 1
        sess.login_time = now
        sess.last_ok = now
        sess.base = base
        sess.available = True

    async def _renew(self, sess: FamilySession, priority: Priority) -> None:
        """Log in again before the token's absolute end; keep it if that cannot be now."""
        assert sess.base is not None
        try:
            await self._login_at(sess, sess.base, priority, False, None, detecting=False)
        except (QuotaError, CommunicationError) as err:
            _LOGGER.debug("Token renewal (%s) deferred: %s", sess.family, err)

    async def _detect_v7(
        self, sess: FamilySession, priority: Priority, wait: bool, max_wait: float | None
    ) -> None:
        last_error: FusionSolarError | None = None
        unreachable = 0
        for base in self._v7_candidates:
            try:
                await self._login_at(sess, base, priority, wait, max_wait, detecting=True)
            except NotAnNbiHostError as err:
                last_error = err
                continue
            except CommunicationError as err:
                if isinstance(err, ServiceUnavailableError):
                    raise
                unreachable += 1
                last_error = err
                continue
            except PermissionDeniedError as err:
                if isinstance(err, UnauthorizedResourceError):
                    raise
                sess.available = False
                raise ApiFamilyUnavailableError(
                    "The account may not use the V7 API (login refused)",
                    fail_code=err.fail_code,
                ) from None
            _LOGGER.debug("V7 API found at %s", base.host)
            return
        if unreachable == len(self._v7_candidates) and last_error is not None:
            raise last_error
        sess.available = False
        raise ApiFamilyUnavailableError("This host does not offer the V7 API (no control)")

    def _token_expired(self, sess: FamilySession, generation: int) -> bool:
        """Handle a 305 for a token of ``generation``; False if a newer token exists."""
        if sess.generation != generation:
            return False  # sent with a token renewed meanwhile (e.g. it waited for quota)
        if sess.token is None:
            return True  # another request already handled this 305
        now = self._now()
        expired = sess.expired(now)
        sess.token = None
        if expired:
            _LOGGER.debug("Session (%s) expired; logging in again", sess.family)
            return True
        self.session_kickouts += 1
        sess.consecutive_kickouts += 1
        sess.last_kickout = now
        # The other client logged in just before: its login window covers ours.
        wait = LOGIN_WINDOW
        if sess.consecutive_kickouts >= 2:
            backoff = KICKOUT_BACKOFF_BASE * 2 ** (sess.consecutive_kickouts - 2)
            wait = max(wait, min(backoff, KICKOUT_BACKOFF_MAX))
        sess.not_before = max(sess.not_before, now + wait)
        _LOGGER.info(
            "Session (%s) ended by another login of the same account (%d in a row); "
            "logging in again in %.0f s",
            sess.family,
            sess.consecutive_kickouts,
            wait,
        )
        return True

    def _check_refused(self, endpoint: str) -> None:
        """Raise the refusal or absence of an endpoint until it is time to ask again."""
        unavailable = self._unavailable.get(endpoint)
        if unavailable is not None and self._now() - unavailable < PERMISSION_RECHECK:
            raise EndpointUnavailableError(
                "This cloud does not offer this interface (HTTP 404)", endpoint=endpoint
            )
        refused = self._refused.get(endpoint)
        if refused is None:
            return
        if self._now() - refused.since < PERMISSION_RECHECK:
            raise PermissionDeniedError(
                refused.message, fail_code=refused.fail_code, endpoint=endpoint
            )

    async def _call(
        self,
        family: Family,
        endpoint: Endpoint,
        payload: Mapping[str, Any],
        *,
        priority: Priority = Priority.READ,
        wait: bool = False,
        max_wait: float | None = None,
    ) -> Any:
        """Send one request of ``family`` and return its ``data``."""
        self._check_refused(endpoint)
        sess = self._sessions[family]
        relogged = False
        while True:
            token, generation = await self._ensure_session(family, priority, wait, max_wait)
            assert sess.base is not None
            try:
                envelope, _ = await self._exchange(
                    endpoint_url(sess.base, endpoint),
                    endpoint,
                    payload,
                    token=token,
                    priority=priority,
                    wait=wait,
                    max_wait=max_wait,
                    session=sess,
                )
            except TokenExpiredError:
                if self._token_provider is not None:
                    self._bearer_refused(token, relogged)
                    relogged = True
                    continue
                if not self._token_expired(sess, generation):
                    continue  # send again with the newer token; no re-login spent
                if relogged:
                    raise
                relogged = True
                continue
            except PermissionDeniedError as err:
                if (
                    not isinstance(err, UnauthorizedResourceError)
                    and err.fail_code in ENDPOINT_REFUSAL_CODES
                ):
                    if endpoint not in self._refused:
                        _LOGGER.warning(
                            "The account may not use %s (failCode %s)", endpoint, err.fail_code
                        )
                    self._refused[endpoint] = RefusedEndpoint(
                        endpoint, err.fail_code, err.message, self._now()
                    )
                raise
            except EndpointUnavailableError:
                if endpoint not in self._unavailable:
                    _LOGGER.debug("This cloud does not offer %s (HTTP 404)", endpoint)
                self._unavailable[endpoint] = self._now()
                raise
            now = self._now()
            sess.last_ok = now
            if sess.last_kickout is not None and now - sess.last_kickout >= KICKOUT_RESET_AFTER:
                sess.consecutive_kickouts = 0
                sess.last_kickout = None
            self._refused.pop(endpoint, None)
            self._unavailable.pop(endpoint, None)
            return envelope.get("data")

    async def _family_available(self, family: Family, wait: bool) -> bool:
        sess = self._sessions[family]
        if sess.available is not None:
            return sess.available
        try:
            await self._ensure_session(family, Priority.READ, wait, None)
        except (ApiFamilyUnavailableError, NotAnNbiHostError):
            sess.available = False
            return False
        return True

    async def _require_v7(self, priority: Priority, wait: bool, max_wait: float | None) -> None:
        sess = self._sessions["v7"]
        if sess.available is False:
            raise ApiFamilyUnavailableError(
                "Control and V7 data need the V7 API, which this host/account does not offer"
            )
        await self._ensure_session("v7", priority, wait, max_wait)

    # ------------------------------------------------------------------ login/logout

    async def async_login(self, *, wait: bool = False) -> ApiFamilies:
        """Log in to every family the host offers; detect V7. Raises on bad credentials.

        Raises :class:`NotAnNbiHostError` when neither family answers like the NBI.
        A family found unavailable before is detected again: an explicit login is
        the moment to notice that a host came back or an account gained V7 access.
        """
        for sess in self._sessions.values():
            if sess.available is False:
                sess.available = None
                if sess.family == "v7":
                    sess.base = None
        legacy_error: FusionSolarError | None = None
        try:
            await self._ensure_session("legacy", Priority.READ, wait, None)
        except NotAnNbiHostError as err:
            self._sessions["legacy"].available = False
            legacy_error = err
        try:
            await self._ensure_session("v7", Priority.READ, wait, None)
        except ApiFamilyUnavailableError:
            self._sessions["v7"].available = False
        except CommunicationError:
            if legacy_error is not None:
                raise
            _LOGGER.debug("V7 detection failed; trying again on first use")
        families = self.families
        if not families.legacy and not families.v7:
            raise legacy_error or NotAnNbiHostError("This host does not offer the NBI")
        return families

    async def async_close(self) -> None:
        """Log out of every logged-in family (best effort; skipped if over quota)."""
        if self._token_provider is not None:  # OAuth: no session to end
            return
        for sess in self._sessions.values():
            token = sess.token
            if token is None or sess.base is None:
                continue
            sess.token = None
            if not self.governor.can_call(sess.logout_endpoint):
                continue
            try:
                await self._exchange(
                    endpoint_url(sess.base, sess.logout_endpoint),
                    sess.logout_endpoint,
                    dict.fromkeys(sess.logout_token_keys, token),
                    token=token,
                    priority=Priority.READ,
                    wait=False,
                    max_wait=None,
                )
            except FusionSolarError as err:
                _LOGGER.debug("Logout (%s) failed: %s", sess.family, err)


def _current_token(sess: FamilySession) -> str | None:
    return sess.token
