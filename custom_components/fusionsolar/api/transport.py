"""Transport of the NBI client: one HTTP exchange, the envelope and its errors.

* every request takes a quota slot from the shared :class:`QuotaGovernor` first;
* a request is sent once; only a read with quota left is sent again after the
  connection dropped (control commands raise ``OutcomeUnknownError``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any, Protocol

import aiohttp
from multidict import CIMultiDictProxy
from yarl import URL

from .const import CONTROL_ENDPOINTS, LOGIN_ENDPOINTS, QUOTA_403_ERROR_CODE, TOKEN_HEADER
from .errors import (
    DAILY_LIMIT_FAIL_CODE,
    PARTIAL_SUCCESS_FAIL_CODE,
    TASK_FAILED_FAIL_CODE,
    AuthenticationError,
    CommunicationError,
    EndpointUnavailableError,
    FusionSolarError,
    InvalidArgumentError,
    NotAnNbiHostError,
    OutcomeUnknownError,
    PermissionDeniedError,
    QuotaExceededError,
    ServiceUnavailableError,
    SystemBusyError,
    SystemLimitError,
    TokenExpiredError,
    UnknownError,
    error_for_fail_code,
    task_refusal_text,
)
from .oauthbudget import OAuthBudget
from .quota import QuotaGovernor, Slot
from .quotastate import Priority
from .values import to_int

_LOGGER = logging.getLogger(__name__)


class TokenHolder(Protocol):
    """What a request needs of its session: the token of the moment."""

    token: str | None


def base_url(value: str) -> URL:
    """The base URL of a host or URL (``https`` by default, no query or fragment)."""
    text = value.strip()
    if "://" not in text:
        text = f"https://{text}"
    url = URL(text)
    if not url.host:
        raise InvalidArgumentError(f"Not a host or URL: {value!r}")
    path = url.path.rstrip("/")
    return url.with_path(path or "/").with_query(None).with_fragment(None)


def endpoint_url(base: URL, endpoint: str) -> str:
    """The URL of an endpoint path below ``base``."""
    prefix = str(base).rstrip("/")
    return f"{prefix}{endpoint}"


class Transport:
    """HTTP exchange through the quota governor, with the envelope decoded into errors."""

    governor: QuotaGovernor
    _http_session: aiohttp.ClientSession
    _timeout: aiohttp.ClientTimeout
    _ssl: bool
    _oauth_budget: OAuthBudget | None = None  # an OAuth owner's daily budget
    _bearer: bool = False  # tokens are OAuth access tokens (``Authorization: Bearer``)

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
        session: TokenHolder | None = None,
    ) -> tuple[dict[str, Any], CIMultiDictProxy[str]]:
        """One request through the governor; returns the (successful) envelope.

        With ``session``, its token of the moment the slot is granted is sent: a request
        that waited for quota never sends a token renewed meanwhile.
        """
        slot = await self._acquire(endpoint, priority, wait, max_wait)
        if session is not None and session.token is not None:
            token = session.token
        headers = self._headers(token)
        resent = False
        while True:
            try:
                status, resp_headers, raw = await self._post(url, payload, headers)
                break
            except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as err:
                self._refund(slot)
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
            err.retry_after = _quota_outcome(slot, err, self._oauth_budget)
            _LOGGER.debug(
                "%s on %s; retry in %.0f s", type(err).__name__, endpoint, err.retry_after
            )
            raise
        except NotAnNbiHostError:
            slot.refund()  # not the NBI: no NBI quota used
            raise
        except TokenExpiredError:
            self._refund(slot)  # refused before the quota check: the retry may use it
            raise
        except BaseException:
            slot.success()
            raise
        slot.success()
        return envelope, resp_headers

    async def _acquire(
        self, endpoint: str, priority: Priority, wait: bool, max_wait: float | None
    ) -> Slot:
        """The OAuth owner's budget (if any), then the governor's slot."""
        budget = self._oauth_budget
        if budget is not None:
            budget.reserve(endpoint, priority)
        try:
            return await self.governor.acquire(
                endpoint, priority=priority, wait=wait, max_wait=max_wait
            )
        except BaseException:
            if budget is not None:
                budget.refund(endpoint)
            raise

    def _refund(self, slot: Slot) -> None:
        """The request did not count: give back its slot (and its OAuth budget call)."""
        slot.refund()
        if self._oauth_budget is not None:
            self._oauth_budget.refund(slot.endpoint)

    def _headers(self, token: str | None) -> dict[str, str]:
        """The request headers: the session token, or an OAuth access token."""
        headers: dict[str, str] = {"Accept": "application/json"}
        if token and self._bearer:
            headers["Authorization"] = f"Bearer {token}"
        elif token:
            headers[TOKEN_HEADER] = token
        return headers

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
        if self._oauth_budget is not None:
            self._oauth_budget.reserve(endpoint, priority)
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
            raise EndpointUnavailableError(
                "This cloud does not offer this interface (HTTP 404)", endpoint=endpoint
            )
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
        fail_code, success = _outcome(obj)
        if fail_code == 0 and success is not False:
            if not 200 <= status < 300:
                raise CommunicationError(f"HTTP {status}", endpoint=endpoint)
            return obj
        if fail_code == 0:
            raise UnknownError("The request failed without an error code", endpoint=endpoint)
        raise _failure(obj, fail_code, endpoint)


def _outcome(envelope: dict[str, Any]) -> tuple[int, bool | None]:
    """The envelope's failCode and success; a task's partial success (1) is a success."""
    fail_code = to_int(envelope.get("failCode")) or 0
    success = envelope.get("success")
    if isinstance(success, str):
        success = success.strip().lower() == "true"
    if fail_code == PARTIAL_SUCCESS_FAIL_CODE and success is True:
        fail_code = 0  # a control task delivered to some plants (26.2 §5.2)
    return fail_code, success if isinstance(success, bool) else None


def _failure(envelope: dict[str, Any], fail_code: int, endpoint: str) -> FusionSolarError:
    """The error of a refused answer, with the cloud's message."""
    message = envelope.get("message")
    data = envelope.get("data")
    if not (isinstance(message, str) and message.strip()) and isinstance(data, str):
        message = data  # 407 sometimes carries its message in ``data``
    text = message if isinstance(message, str) else None
    if fail_code == TASK_FAILED_FAIL_CODE:
        text = task_refusal_text(text, data)  # each plant's reason (26.2 §5.2)
    return error_for_fail_code(fail_code, text, endpoint=endpoint)


def _quota_outcome(slot: Slot, err: QuotaExceededError, budget: OAuthBudget | None) -> float:
    """Tell the governor (and an OAuth budget) what a refusal means; seconds to a retry."""
    if isinstance(err, SystemLimitError):
        return slot.system_refused()  # every endpoint of the account pauses
    if isinstance(err, SystemBusyError):
        return slot.busy()
    retry = slot.refused(daily=err.fail_code == DAILY_LIMIT_FAIL_CODE)
    if budget is not None:  # OAuth: a 407 is the owner's daily budget (§4.1)
        retry = max(retry, budget.refused(slot.endpoint))
    return retry
