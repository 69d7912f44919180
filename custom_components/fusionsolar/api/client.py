"""Async client of the SmartPVMS northbound API (legacy ``/thirdData`` and V7).

See ``docs/architecture.md`` for the contract. Highlights:

* one client per account; both families log in lazily, each with its own token;
* every request takes a quota slot from the shared :class:`QuotaGovernor` first;
* a 305 triggers one re-login per request (never a loop); a 305 soon after the last
  successful use of a token that is not at the end of its life is a *kick-out* by
  another login of the same account (field: one session per account):
  ``session_kickouts`` counts them, and the re-login waits out that login's 1/min window
  (``LOGIN_WINDOW``), after repeated kick-outs 1, 2, 4 ... minutes (capped at 32);
* legacy tokens are renewed before their absolute 30-minute life ends;
* a request is sent once; only a read with quota left is sent again after the
  connection dropped (control commands raise ``OutcomeUnknownError``);
* endpoints refused with 401/20056 are remembered (``refused_endpoints``) and not asked
  again for ``PERMISSION_RECHECK`` (6 h);
* tokens and passwords never reach logs, exceptions or ``repr``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import random
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from datetime import time as dtime
from typing import Any, Final, Literal

import aiohttp
from multidict import CIMultiDictProxy
from yarl import URL

from .const import (
    CONTROL_ENDPOINTS,
    CONTROL_MAX_WAIT,
    KICKOUT_BACKOFF_BASE,
    KICKOUT_BACKOFF_MAX,
    KICKOUT_IDLE_THRESHOLD,
    KICKOUT_RESET_AFTER,
    LEGACY_TOKEN_LIFETIME,
    LOGIN_ENDPOINTS,
    LOGIN_WINDOW,
    MAX_BATCH,
    MAX_PAGES,
    PAGE_SIZE,
    PERMISSION_RECHECK,
    QUOTA_403_ERROR_CODE,
    REALTIME_DEV_TYPES,
    TOKEN_COOKIE,
    TOKEN_HEADER,
    TOKEN_RENEW_AFTER,
    TOKEN_RESPONSE_HEADERS,
    V7_DEFAULT_PORT,
    Endpoint,
)
from .errors import (
    DAILY_LIMIT_FAIL_CODE,
    ENDPOINT_REFUSAL_CODES,
    ApiFamilyUnavailableError,
    AuthenticationError,
    CommunicationError,
    FusionSolarError,
    InvalidArgumentError,
    NotAnNbiHostError,
    OutcomeUnknownError,
    PermissionDeniedError,
    QuotaError,
    QuotaExceededError,
    QuotaWouldExceed,
    ServiceUnavailableError,
    TokenExpiredError,
    UnauthorizedResourceError,
    UnknownError,
    error_for_fail_code,
)
from .models import (
    Alarm,
    ApiFamilies,
    Device,
    DeviceRealtimeKpi,
    DispatchCommand,
    DispatchMode,
    DispatchStatus,
    DodResult,
    FiveMinuteKpi,
    HourlyPlantKpi,
    OnOffResult,
    Plant,
    PlantRealtimeKpi,
    StationRealtimeKpi,
    item_list,
    merge_devices,
    page_count,
    parse_alarms,
    parse_device_realtime,
    parse_devices_legacy,
    parse_devices_v7,
    parse_dispatch_command,
    parse_dispatch_status,
    parse_dod_results,
    parse_five_minutes,
    parse_hourly,
    parse_on_off_results,
    parse_plant_realtime,
    parse_plants_legacy,
    parse_plants_stations,
    parse_plants_v7,
    parse_station_realtime,
    to_int,
)
from .quota import Priority, QuotaGovernor, Slot
from .results import BatchResult, DeviceList, Incomplete

_LOGGER = logging.getLogger(__name__)

Family = Literal["legacy", "v7"]
LEGACY: Final = "legacy"
V7: Final = "v7"

_COOKIE_TOKEN_RE: Final = re.compile(r"(?:^|[;,\s])" + TOKEN_COOKIE + r"=([^;,\s]+)", re.I)
_JAVA_LONG_MAX: Final = 2**63 - 1
#: Errors that end a batched read after earlier batches arrived (their data is kept).
_BATCH_STOP_ERRORS: Final = (QuotaError, CommunicationError, UnauthorizedResourceError)
_ALARM_LANGUAGE_ALIASES: Final = {"en_US": "en_UK", "en_GB": "en_UK", "en": "en_UK"}


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


def _base_url(value: str) -> URL:
    text = value.strip()
    if "://" not in text:
        text = f"https://{text}"
    url = URL(text)
    if not url.host:
        raise InvalidArgumentError(f"Not a host or URL: {value!r}")
    path = url.path.rstrip("/")
    return url.with_path(path or "/").with_query(None).with_fragment(None)


def _join(base: URL, endpoint: str) -> str:
    prefix = str(base).rstrip("/")
    return f"{prefix}{endpoint}"


def chunked[T](items: Sequence[T], size: int = MAX_BATCH) -> list[list[T]]:
    """Split ``items`` into lists of at most ``size``."""
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


def _codes(values: Iterable[Any], what: str) -> list[str]:
    """Validate a list of ids: strings, non-empty; duplicates dropped, order kept."""
    if isinstance(values, str | bytes):
        raise InvalidArgumentError(f"{what} must be a list, not a string")
    result: list[str] = []
    seen: set[str] = set()
    for value in values:
        if not isinstance(value, str | int) or isinstance(value, bool):
            raise InvalidArgumentError(f"{what} contains an invalid id")
        text = str(value).strip()
        if not text or "," in text:
            raise InvalidArgumentError(f"{what} contains an empty or invalid id")
        if text not in seen:
            seen.add(text)
            result.append(text)
    return result


def _nonempty_codes(values: Iterable[Any], what: str, *, limit: int | None = None) -> list[str]:
    result = _codes(values, what)
    if not result:
        raise InvalidArgumentError(f"{what} cannot be empty")
    if limit is not None and len(result) > limit:
        raise InvalidArgumentError(f"At most {limit} {what} per command, got {len(result)}")
    return result


@dataclass(slots=True)
class _Session:
    family: Family
    login_endpoint: Endpoint
    logout_endpoint: Endpoint
    logout_token_keys: tuple[str, ...]
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


class FusionSolarClient:
    """Client of one NBI account (see module docstring and docs/architecture.md)."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        host: str,
        username: str,
        password: str,
        *,
        legacy_url: str | None = None,
        v7_url: str | None = None,
        governor: QuotaGovernor | None = None,
        request_timeout: float = 30.0,
        verify_ssl: bool = True,
    ) -> None:
        """Create the client; nothing is sent until the first call."""
        self._http_session = session
        self._username = username
        self._password = password
        self._timeout = aiohttp.ClientTimeout(
            total=request_timeout, sock_connect=min(10.0, request_timeout)
        )
        self._ssl: bool = bool(verify_ssl)
        self.governor = governor if governor is not None else QuotaGovernor()
        host_url = _base_url(host)
        self.host = host_url.host or host
        legacy_base = _base_url(legacy_url) if legacy_url else host_url
        candidates: list[URL] = []
        if v7_url:
            candidates.append(_base_url(v7_url))
        candidates.append(host_url.with_port(V7_DEFAULT_PORT).with_path("/"))
        candidates.append(legacy_base)
        self._v7_candidates: list[URL] = []
        for cand in candidates:
            if all(str(cand).rstrip("/") != str(c).rstrip("/") for c in self._v7_candidates):
                self._v7_candidates.append(cand)
        self._sessions: dict[Family, _Session] = {
            # Legacy logout: the table says ``xsrftoken`` (l.398), the example (l.418)
            # and 26.2 §3.2.2.2 ``xsrfToken``: both are sent. V7: ``xsrftoken`` (l.3630).
            "legacy": _Session(
                "legacy",
                Endpoint.LEGACY_LOGIN,
                Endpoint.LEGACY_LOGOUT,
                ("xsrfToken", "xsrftoken"),
                legacy_base,
                lifetime=LEGACY_TOKEN_LIFETIME,
            ),
            "v7": _Session("v7", Endpoint.V7_LOGIN, Endpoint.V7_LOGOUT, ("xsrftoken",), None),
        }
        self._refused: dict[str, RefusedEndpoint] = {}
        self.session_kickouts = 0
        self._last_request_id = 0

    def __repr__(self) -> str:
        """Never shows the password or tokens."""
        return (
            f"FusionSolarClient(host={self.host!r}, username={self._username!r}, "
            f"password='***', families={self.families})"
        )

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

    def clear_refused(self, endpoint: str | None = None) -> None:
        """Forget a refusal (or all), e.g. after the user fixed the permissions."""
        if endpoint is None:
            self._refused.clear()
        else:
            self._refused.pop(str(endpoint), None)

    def _now(self) -> float:
        return self.governor.now()

    # ------------------------------------------------------------------ HTTP

    async def _exchange(
        self,
        url: str,
        endpoint: str,
        payload: Mapping[str, Any],
        *,
        token: str | None,
        priority: Priority,
        wait: bool,
        max_wait: float | None,
        login: bool = False,
        detecting: bool = False,
        session: _Session | None = None,
    ) -> tuple[dict[str, Any], CIMultiDictProxy[str]]:
        """One request through the governor; returns the (successful) envelope.

        With ``session``, its token of the moment the slot is granted is sent: a request
        that waited for quota never sends a token renewed meanwhile.
        """
        slot = await self.governor.acquire(
            endpoint, priority=priority, wait=wait, max_wait=max_wait
        )
        if session is not None and session.token is not None:
            token = session.token
        headers: dict[str, str] = {"Accept": "application/json"}
        if token:
            headers[TOKEN_HEADER] = token
        resent = False
        while True:
            try:
                status, resp_headers, raw = await self._post(url, payload, headers)
                break
            except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as err:
                slot.refund()
                raise CommunicationError(
                    f"Cannot connect to {URL(url).host}:{URL(url).port} ({type(err).__name__})",
                    endpoint=endpoint,
                ) from None
            except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError) as err:
                slot.release()  # the cloud may have processed (and counted) it
                if resent:
                    raise CommunicationError(
                        f"Network error ({type(err).__name__})", endpoint=endpoint
                    ) from None
                slot = await self._resend_slot(endpoint, priority)
                resent = True
            except TimeoutError:
                slot.release()
                raise CommunicationError("Request timed out", endpoint=endpoint) from None
            except aiohttp.ClientError as err:
                slot.release()
                raise CommunicationError(
                    f"Network error ({type(err).__name__})", endpoint=endpoint
                ) from None
            except BaseException:
                slot.release()
                raise
        text = raw.decode("utf-8", errors="replace")
        try:
            envelope = self._decode(
                status, resp_headers, text, endpoint, login=login, detecting=detecting
            )
        except QuotaExceededError as err:
            err.retry_after = slot.refused(daily=err.fail_code == DAILY_LIMIT_FAIL_CODE)
            _LOGGER.debug("Quota refusal on %s; retry in %.0f s", endpoint, err.retry_after)
            raise
        except NotAnNbiHostError:
            slot.refund()  # not the NBI: no NBI quota used
            raise
        except TokenExpiredError:
            slot.refund()  # refused before the quota check: the retry may use the slot
            raise
        except BaseException:
            slot.success()
            raise
        slot.success()
        return envelope, resp_headers

    async def _post(
        self, url: str, payload: Mapping[str, Any], headers: Mapping[str, str]
    ) -> tuple[int, CIMultiDictProxy[str], bytes]:
        """POST once (resending is decided by :meth:`_exchange`)."""
        async with self._http_session.post(
            url, json=dict(payload), headers=headers, timeout=self._timeout, ssl=self._ssl
        ) as resp:
            return resp.status, resp.headers, await resp.read()

    async def _resend_slot(self, endpoint: str, priority: Priority) -> Slot:
        """A quota slot to send again after the connection dropped, or the reason not to.

        The server may have processed the request before the drop (a kept-alive
        connection closed before sending looks the same): a control command is never
        sent twice (``OutcomeUnknownError``), a read only with quota left right now
        (``QuotaWouldExceed`` otherwise).
        """
        if endpoint in CONTROL_ENDPOINTS or (
            priority is Priority.CONTROL and endpoint not in LOGIN_ENDPOINTS
        ):
            raise OutcomeUnknownError(
                "The connection dropped after the command was sent; its outcome is unknown",
                endpoint=endpoint,
            )
        _LOGGER.debug("Connection closed by the server; sending %s again", endpoint)
        return await self.governor.acquire(endpoint, priority=priority, wait=False)

    def _decode(
        self,
        status: int,
        headers: CIMultiDictProxy[str],
        text: str,
        endpoint: str,
        *,
        login: bool,
        detecting: bool,
    ) -> dict[str, Any]:
        """Envelope of a successful answer, or the matching error."""
        body = text.strip()
        obj: Any = None
        if body:
            try:
                obj = json.loads(body)
            except (ValueError, RecursionError):  # RecursionError: nested too deep
                obj = None
        if status == 403 or (isinstance(obj, dict) and "errorCode" in obj):
            error_code = str(obj.get("errorCode")) if isinstance(obj, dict) else ""
            if error_code == QUOTA_403_ERROR_CODE or "quotacontrol" in body.lower():
                raise QuotaExceededError(
                    "Request is rejected by api quotaControl", endpoint=endpoint
                )
            if status == 403 and not (isinstance(obj, dict) and "failCode" in obj):
                raise PermissionDeniedError("HTTP 403 Forbidden", endpoint=endpoint)
        if status == 503:
            raise ServiceUnavailableError("Service unavailable (HTTP 503)", endpoint=endpoint)
        if status >= 500:
            raise CommunicationError(f"Server error (HTTP {status})", endpoint=endpoint)
        not_nbi = login or detecting
        if status == 404:
            if not_nbi:
                raise NotAnNbiHostError(
                    "This host does not offer the northbound API (HTTP 404)", endpoint=endpoint
                )
            raise CommunicationError("Not found (HTTP 404)", endpoint=endpoint)
        if not body:
            if login and 200 <= status < 300:
                raise AuthenticationError(
                    "Login answered with an empty body (wrong credentials?)", endpoint=endpoint
                )
            raise CommunicationError(f"Empty answer (HTTP {status})", endpoint=endpoint)
        if obj is None:
            if body.startswith("<") and not_nbi:
                raise NotAnNbiHostError(
                    "This host answers HTML, not the northbound API", endpoint=endpoint
                )
            what = "HTML" if body.startswith("<") else "malformed JSON"
            raise CommunicationError(f"Unexpected {what} answer", endpoint=endpoint)
        if not isinstance(obj, dict) or not ("failCode" in obj or "success" in obj):
            if not_nbi:
                raise NotAnNbiHostError(
                    "This host does not answer like the northbound API", endpoint=endpoint
                )
            raise CommunicationError("Unexpected answer (not an NBI envelope)", endpoint=endpoint)
        fail_code = to_int(obj.get("failCode")) or 0
        success = obj.get("success")
        if isinstance(success, str):
            success = success.strip().lower() == "true"
        if fail_code == 0 and success is not False:
            if not 200 <= status < 300:
                raise CommunicationError(f"HTTP {status}", endpoint=endpoint)
            return obj
        if fail_code == 0:
            raise UnknownError("The request failed without an error code", endpoint=endpoint)
        message = obj.get("message")
        data = obj.get("data")
        if not (isinstance(message, str) and message.strip()) and isinstance(data, str):
            message = data  # 407 sometimes carries its message in ``data``
        raise error_for_fail_code(
            fail_code, message if isinstance(message, str) else None, endpoint=endpoint
        )

    # ------------------------------------------------------------------ sessions

    async def _ensure_session(
        self, family: Family, priority: Priority, wait: bool, max_wait: float | None
    ) -> tuple[str, int]:
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
        sess: _Session,
        base: URL,
        priority: Priority,
        wait: bool,
        max_wait: float | None,
        *,
        detecting: bool,
    ) -> None:
        if sess.family == "legacy":
            payload = {"userName": self._username, "systemCode": self._password}
        else:
            payload = {"username": self._username, "password": self._password}
        _LOGGER.debug("Logging in (%s) at %s", sess.family, base.host)
        _, headers = await self._exchange(
            _join(base, sess.login_endpoint),
            sess.login_endpoint,
            payload,
            token=None,
            priority=priority,
            wait=wait,
            max_wait=max_wait,
            login=True,
            detecting=detecting,
        )
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

    async def _renew(self, sess: _Session, priority: Priority) -> None:
        """Log in again before the token's absolute end; keep it if that cannot be now."""
        assert sess.base is not None
        try:
            await self._login_at(sess, sess.base, priority, False, None, detecting=False)
        except (QuotaError, CommunicationError) as err:
            _LOGGER.debug("Token renewal (%s) deferred: %s", sess.family, err)

    async def _detect_v7(
        self, sess: _Session, priority: Priority, wait: bool, max_wait: float | None
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

    def _token_expired(self, sess: _Session, generation: int) -> bool:
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
                    _join(sess.base, endpoint),
                    endpoint,
                    payload,
                    token=token,
                    priority=priority,
                    wait=wait,
                    max_wait=max_wait,
                    session=sess,
                )
            except TokenExpiredError:
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
            now = self._now()
            sess.last_ok = now
            if sess.last_kickout is not None and now - sess.last_kickout >= KICKOUT_RESET_AFTER:
                sess.consecutive_kickouts = 0
                sess.last_kickout = None
            self._refused.pop(endpoint, None)
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
        for sess in self._sessions.values():
            token = sess.token
            if token is None or sess.base is None:
                continue
            sess.token = None
            if not self.governor.can_call(sess.logout_endpoint):
                continue
            try:
                await self._exchange(
                    _join(sess.base, sess.logout_endpoint),
                    sess.logout_endpoint,
                    dict.fromkeys(sess.logout_token_keys, token),
                    token=token,
                    priority=Priority.READ,
                    wait=False,
                    max_wait=None,
                )
            except FusionSolarError as err:
                _LOGGER.debug("Logout (%s) failed: %s", sess.family, err)

    # ------------------------------------------------------------------ plants

    async def _paged(
        self, family: Family, endpoint: Endpoint, payload: Mapping[str, Any], wait: bool
    ) -> list[Any]:
        """All items of a paged listing. Pages after the first always wait for quota.

        A paged map ends at its ``pageCount``; a bare list (the reference's examples,
        no ``pageCount``) at a short, empty or repeated page (a service ignoring
        ``pageNo``). ``data: null`` raises: no answer is not an empty list.
        """
        items: list[Any] = []
        previous: list[Any] | None = None
        for page in range(1, MAX_PAGES + 1):
            data = _answered(
                await self._call(
                    family,
                    endpoint,
                    {**payload, "pageNo": page, "pageSize": PAGE_SIZE},
                    wait=wait or page > 1,
                ),
                endpoint,
            )
            page_items = item_list(data)
            if not page_items or page_items == previous:
                break
            items.extend(page_items)
            pages = page_count(data)
            if (page >= pages) if pages is not None else len(page_items) < PAGE_SIZE:
                break
            previous = page_items
        return items

    async def _read_batches(
        self,
        result: Incomplete,
        codes: Sequence[str],
        read: Callable[[list[str]], Awaitable[None]],
        *,
        started: bool = False,
    ) -> None:
        """Call ``read`` per batch of 100 codes; stop at the first batch that fails.

        Until something arrived (``started``, or a first batch read), the error is
        raised as is; afterwards the codes not read go to ``result.pending``.
        """
        batches = chunked(codes)
        for index, batch in enumerate(batches):
            try:
                await read(batch)
            except _BATCH_STOP_ERRORS as err:
                if index == 0 and not started:
                    raise
                rest = [code for later in batches[index:] for code in later]
                _LOGGER.debug("%d of %d codes not read: %s", len(rest), len(codes), err)
                result.add_pending(rest, err)
                return

    async def async_get_plants(self, *, wait: bool = False) -> list[Plant]:
        """The account's plants.

        V7 ``plants`` (paged), else ``getStationList``, else the paged
        ``/thirdData/stations`` (where getStationList is refused). A listing answered
        with ``data: null`` raises :class:`CommunicationError`.
        """
        if await self._family_available("v7", wait):
            try:
                return parse_plants_v7(await self._paged("v7", Endpoint.V7_PLANTS, {}, wait))
            except PermissionDeniedError as err:
                if isinstance(err, UnauthorizedResourceError):
                    raise
                _LOGGER.debug("V7 plants refused; using the legacy plant list")
        try:
            data = await self._call("legacy", Endpoint.STATION_LIST, {}, wait=wait)
            return parse_plants_legacy(_answered(data, Endpoint.STATION_LIST))
        except PermissionDeniedError as err:
            if isinstance(err, UnauthorizedResourceError):
                raise
        return parse_plants_stations(await self._paged("legacy", Endpoint.STATIONS, {}, wait))

    # ------------------------------------------------------------------ devices

    async def async_get_devices(
        self, plant_codes: Iterable[str], *, wait: bool = False
    ) -> DeviceList:
        """Devices of the plants: legacy ``getDevList`` merged with V7 ``devices`` by SN.

        A list answered with ``data: null`` is no list: it raises
        :class:`CommunicationError` (or, after other batches arrived, its plants are
        ``pending``). Devices of ``pending`` plants are left out of the result.
        """
        codes = _codes(plant_codes, "plant_codes")
        result = DeviceList()
        if not codes:
            return result
        legacy: list[Device] = []

        async def read_legacy(batch: list[str]) -> None:
            data = await self._call(
                "legacy", Endpoint.DEV_LIST, {"stationCodes": ",".join(batch)}, wait=wait
            )
            legacy.extend(parse_devices_legacy(_answered(data, Endpoint.DEV_LIST)))

        legacy_error: FusionSolarError | None = None
        try:
            await self._read_batches(result, codes, read_legacy)
        except (PermissionDeniedError, ApiFamilyUnavailableError, NotAnNbiHostError) as err:
            if isinstance(err, UnauthorizedResourceError):
                raise
            legacy_error = err
        v7: list[Device] = []

        async def read_v7(batch: list[str]) -> None:
            raw = await self._paged(
                "v7", Endpoint.V7_DEVICES, {"plantCodes": ",".join(batch)}, wait
            )
            v7.extend(parse_devices_v7(raw))

        if await self._family_available("v7", wait):
            try:
                v7_codes = [code for code in codes if code not in result.pending]
                await self._read_batches(result, v7_codes, read_v7, started=legacy_error is None)
            except PermissionDeniedError as err:
                if legacy_error is not None or isinstance(err, UnauthorizedResourceError):
                    raise
                _LOGGER.debug("V7 devices refused; legacy device list only")
        elif legacy_error is not None:
            raise legacy_error
        pending = set(result.pending)
        result.extend(d for d in merge_devices(legacy, v7) if d.plant_code not in pending)
        return result

    # ------------------------------------------------------------------ realtime

    async def async_get_plant_realtime(
        self, plant_codes: Iterable[str], *, wait: bool = False
    ) -> BatchResult[PlantRealtimeKpi]:
        """V7 ``vpp/plantRealtimeKpi`` of the plants (batched by 100; see BatchResult).

        A batch answered with ``data: null`` leaves its plants ``pending``.
        """
        codes = _codes(plant_codes, "plant_codes")
        result: BatchResult[PlantRealtimeKpi] = BatchResult()
        if not codes:
            return result
        await self._require_v7(Priority.READ, wait, None)

        async def read(batch: list[str]) -> None:
            endpoint = Endpoint.VPP_PLANT_REALTIME
            data = await self._call("v7", endpoint, {"plantCodes": ",".join(batch)}, wait=wait)
            if _answered_or_pending(result, batch, data, endpoint):
                result.update(parse_plant_realtime(data))

        await self._read_batches(result, codes, read)
        return result

    async def async_get_station_realtime(
        self, plant_codes: Iterable[str], *, wait: bool = False
    ) -> BatchResult[StationRealtimeKpi]:
        """Legacy ``getStationRealKpi`` of the plants (batched by 100; see BatchResult).

        A batch answered with ``data: null`` leaves its plants ``pending``.
        """
        codes = _codes(plant_codes, "plant_codes")
        result: BatchResult[StationRealtimeKpi] = BatchResult()

        async def read(batch: list[str]) -> None:
            endpoint = Endpoint.STATION_REAL_KPI
            data = await self._call(
                "legacy", endpoint, {"stationCodes": ",".join(batch)}, wait=wait
            )
            if _answered_or_pending(result, batch, data, endpoint):
                result.update(parse_station_realtime(data))

        await self._read_batches(result, codes, read)
        return result

    @staticmethod
    def device_realtime_groups(devices: Iterable[Device]) -> list[tuple[int, list[str]]]:
        """The ``getDevRealKpi`` calls needed: (devTypeId, <=100 devIds) per call."""
        by_type: dict[int, list[str]] = {}
        for dev in devices:
            if dev.id is None or dev.dev_type_id not in REALTIME_DEV_TYPES:
                continue
            ids = by_type.setdefault(dev.dev_type_id, [])
            if dev.id not in ids:
                ids.append(dev.id)
        return [
            (type_id, chunk) for type_id in sorted(by_type) for chunk in chunked(by_type[type_id])
        ]

    async def async_get_device_realtime_group(
        self, dev_type_id: int, dev_ids: Sequence[str], *, wait: bool = False
    ) -> dict[str, DeviceRealtimeKpi]:
        """One ``getDevRealKpi`` call for up to 100 devices of one type."""
        ids = _nonempty_codes(dev_ids, "dev_ids", limit=MAX_BATCH)
        if isinstance(dev_type_id, bool) or not isinstance(dev_type_id, int):
            raise InvalidArgumentError("dev_type_id must be an int")
        data = await self._call(
            "legacy",
            Endpoint.DEV_REAL_KPI,
            {"devIds": ",".join(ids), "devTypeId": dev_type_id},
            wait=wait,
        )
        return parse_device_realtime(data, dev_type_id)

    async def async_get_device_realtime(
        self, devices: Iterable[Device], *, wait: bool = False
    ) -> dict[str, DeviceRealtimeKpi]:
        """``getDevRealKpi`` for the devices: one call per type and 100 devices."""
        result: dict[str, DeviceRealtimeKpi] = {}
        for type_id, ids in self.device_realtime_groups(devices):
            result.update(await self.async_get_device_realtime_group(type_id, ids, wait=wait))
        return result

    # ------------------------------------------------------------------ series

    async def async_get_plant_five_minutes(
        self, plant_code: str, day: date, tz: tzinfo, *, wait: bool = False
    ) -> list[FiveMinuteKpi]:
        """V7 ``vpp/plantFiveMinutesKpi`` of one plant for one local day."""
        code = _nonempty_codes([plant_code], "plant_code")[0]
        start = datetime.combine(day, dtime.min, tzinfo=tz)
        end = datetime.combine(day + timedelta(days=1), dtime.min, tzinfo=tz)
        await self._require_v7(Priority.READ, wait, None)
        data = await self._call(
            "v7",
            Endpoint.VPP_PLANT_FIVE_MINUTES,
            {
                "plantCode": code,
                "startTime": int(start.timestamp() * 1000),
                "endTime": int(end.timestamp() * 1000) - 1,
            },
            wait=wait,
        )
        return parse_five_minutes(data)

    async def async_get_plant_hourly(
        self, plant_codes: Iterable[str], day_start_ms: int, *, wait: bool = False
    ) -> list[HourlyPlantKpi]:
        """Legacy ``getKpiStationHour`` of the plants for the day of ``day_start_ms``."""
        codes = _codes(plant_codes, "plant_codes")
        if isinstance(day_start_ms, bool) or not isinstance(day_start_ms, int):
            raise InvalidArgumentError("day_start_ms must be epoch milliseconds (int)")
        result: list[HourlyPlantKpi] = []
        for chunk in chunked(codes):
            data = await self._call(
                "legacy",
                Endpoint.KPI_STATION_HOUR,
                {"stationCodes": ",".join(chunk), "collectTime": day_start_ms},
                wait=wait,
            )
            result.extend(parse_hourly(data))
        return result

    async def async_get_alarms(
        self,
        plant_codes: Iterable[str],
        begin_ms: int,
        end_ms: int,
        language: str = "en_UK",
        *,
        wait: bool = False,
    ) -> list[Alarm]:
        """Legacy ``getAlarmList`` of the plants between two epoch-ms times.

        ``language`` is one of the spec's codes; ``en_US``/``en_GB`` are sent as ``en_UK``.
        """
        codes = _codes(plant_codes, "plant_codes")
        if any(isinstance(v, bool) or not isinstance(v, int) for v in (begin_ms, end_ms)):
            raise InvalidArgumentError("begin_ms and end_ms must be epoch milliseconds (int)")
        if begin_ms > end_ms:
            raise InvalidArgumentError("begin_ms must not be after end_ms")
        lang = _ALARM_LANGUAGE_ALIASES.get(language, language)
        result: list[Alarm] = []
        for chunk in chunked(codes):
            data = await self._call(
                "legacy",
                Endpoint.ALARM_LIST,
                {
                    "stationCodes": ",".join(chunk),
                    "beginTime": begin_ms,
                    "endTime": end_ms,
                    "language": lang,
                },
                wait=wait,
            )
            result.extend(parse_alarms(data))
        return result

    # ------------------------------------------------------------------ control

    def new_request_id(self) -> int:
        """A unique requestID (ms time x 1000 + random, strictly increasing, Java Long)."""
        candidate = (time.time_ns() // 1_000_000) * 1000 + random.randrange(1000)
        self._last_request_id = max(candidate, self._last_request_id + 1)
        return self._last_request_id

    async def async_charge_discharge(
        self,
        plant_codes: Iterable[str],
        mode: DispatchMode,
        *,
        target_soc: float | None = None,
        duration_min: int | None = None,
        power_w: float | None = None,
        request_id: int | None = None,
    ) -> DispatchCommand:
        """Forced charge/discharge or stop (``vpp/chargeAndDischarge``).

        Exactly one of ``target_soc`` (0-100 %, SOC control) and ``duration_min``
        (0-1440, duration control) for charge/discharge, neither for stop. ``power_w`` is
        positive; the client applies the spec's sign (+ charge, - discharge).
        ``request_id`` (default: ``new_request_id()``) lets the caller ask for the task's
        status when the answer is lost.
        """
        codes = _nonempty_codes(plant_codes, "plant_codes", limit=MAX_BATCH)
        if request_id is not None and (
            isinstance(request_id, bool)
            or not isinstance(request_id, int)
            or not 0 < request_id <= _JAVA_LONG_MAX
        ):
            raise InvalidArgumentError("request_id must be an int in [1, 2^63 - 1]")
        try:
            dispatch = DispatchMode(mode)
        except ValueError:
            raise InvalidArgumentError(f"Invalid dispatch mode {mode!r}") from None
        payload: dict[str, Any] = {"plantCodes": ",".join(codes), "dispatchSwitch": int(dispatch)}
        if dispatch is DispatchMode.STOP:
            if target_soc is not None or duration_min is not None or power_w is not None:
                raise InvalidArgumentError("Stop takes no target SOC, duration or power")
        else:
            if (target_soc is None) == (duration_min is None):
                raise InvalidArgumentError(
                    "Charge/discharge needs exactly one of target_soc and duration_min"
                )
            if target_soc is not None:
                if not _is_real(target_soc) or not 0 <= target_soc <= 100:
                    raise InvalidArgumentError("target_soc must be a number in [0, 100]")
                payload["controlType"] = 1
                payload["targetSOC"] = target_soc
            else:
                if (
                    isinstance(duration_min, bool)
                    or not isinstance(duration_min, int)
                    or not 0 <= duration_min <= 1440
                ):
                    raise InvalidArgumentError("duration_min must be an int in [0, 1440]")
                payload["controlType"] = 2
                payload["dispatchTime"] = duration_min
            if power_w is not None:
                if not _is_real(power_w) or power_w <= 0 or round(power_w) < 1:
                    raise InvalidArgumentError("power_w must be a positive number of watts")
                watts = round(power_w)
                payload["powerDispatch"] = watts if dispatch is DispatchMode.CHARGE else -watts
        await self._require_v7(Priority.CONTROL, True, CONTROL_MAX_WAIT)
        if request_id is None:
            request_id = self.new_request_id()
        payload["requestID"] = request_id
        data = await self._call(
            "v7",
            Endpoint.VPP_CHARGE_DISCHARGE,
            payload,
            priority=Priority.CONTROL,
            wait=True,
            max_wait=CONTROL_MAX_WAIT,
        )
        return parse_dispatch_command(data, request_id)

    async def async_charge_discharge_status(
        self, request_id: int, *, wait: bool = False
    ) -> DispatchStatus:
        """Status of a charge/discharge task (``vpp/chargeAndDischargeStatus``)."""
        if isinstance(request_id, bool) or not isinstance(request_id, int):
            raise InvalidArgumentError("request_id must be an int")
        if not 0 < request_id <= _JAVA_LONG_MAX:
            raise InvalidArgumentError("request_id out of range")
        await self._require_v7(Priority.READ, wait, None)
        data = await self._call(
            "v7",
            Endpoint.VPP_CHARGE_DISCHARGE_STATUS,
            {"requestID": request_id},
            wait=wait,
        )
        return parse_dispatch_status(data, request_id)

    async def async_set_dod(self, dns: Iterable[str], dod: int) -> list[DodResult]:
        """Set the depth of discharge (0-100 %) of batteries (``vpp/dod``).

        The system applies the closest allowed value; see ``DodResult.set_dod``.
        """
        codes = _nonempty_codes(dns, "dns", limit=MAX_BATCH)
        if isinstance(dod, bool) or not isinstance(dod, int) or not 0 <= dod <= 100:
            raise InvalidArgumentError("dod must be an int in [0, 100]")
        await self._require_v7(Priority.CONTROL, True, CONTROL_MAX_WAIT)
        data = await self._call(
            "v7",
            Endpoint.VPP_DOD,
            {"dns": ",".join(codes), "dod": dod},
            priority=Priority.CONTROL,
            wait=True,
            max_wait=CONTROL_MAX_WAIT,
        )
        return parse_dod_results(data)

    async def async_device_on_off(self, dns: Iterable[str], on: bool) -> list[OnOffResult]:
        """Start (``on=True``) or shut down inverters (``vpp/devOnOff``)."""
        codes = _nonempty_codes(dns, "dns", limit=MAX_BATCH)
        if not isinstance(on, bool):
            raise InvalidArgumentError("on must be a bool")
        await self._require_v7(Priority.CONTROL, True, CONTROL_MAX_WAIT)
        data = await self._call(
            "v7",
            Endpoint.VPP_DEV_ON_OFF,
            {"dns": ",".join(codes), "controlType": 1 if on else 2},
            priority=Priority.CONTROL,
            wait=True,
            max_wait=CONTROL_MAX_WAIT,
        )
        return parse_on_off_results(data)


def _answered(data: Any, endpoint: str) -> Any:
    """``data`` of a read; ``data: null`` means no answer, never "nothing there"."""
    if data is None:
        raise CommunicationError("The service answered without data", endpoint=endpoint)
    return data


def _answered_or_pending(
    result: Incomplete, batch: Sequence[str], data: Any, endpoint: str
) -> bool:
    """Whether a batch brought data; ``data: null`` leaves its codes pending."""
    if data is not None:
        return True
    result.add_pending(
        batch, CommunicationError("The service answered without data", endpoint=endpoint)
    )
    return False


def _current_token(sess: _Session) -> str | None:
    return sess.token


def _is_real(value: Any) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )
