"""The request pipeline every API path goes through (mixed into ``Simulator``).

1. ``maintenance`` quirk window -> HTTP 503 HTML; a path the profile does not serve
   (V7 disabled / ``no_v7``, cloud-2026's removed paths) -> HTTP 404.
2. Faults armed with ``sim.faults`` that replace the answer (fail_code, http_status,
   quota_403, html, empty_body, timeout) or delay it.
3. Login: quota (1/min per userName), credentials; other paths: the ``XSRF-TOKEN``
   request header must name a live session of the path's family (305 otherwise; idle
   timeout ``token_idle_seconds`` from the last use; legacy tokens also expire
   ``token_lifetime_seconds`` after their login). Without it, ``Authorization: Bearer``
   (cloud-2026 only) goes to the OAuth server (``oauth.py``: 305, 401 without the
   scope, 407 past the owner's day), which replaces steps 3-4.
4. Quota: rolling 60 s window per account and endpoint (407, or HTTP 403 with
   ``quota_403``); refused calls are not counted unless ``count_refused_calls``.
   With ``daily_budget``: the day's budget (407 after). cloud-2026: its flow control.
5. Permissions (account ``denied_endpoints``; quirk ``permission``) -> 401 / 20056.
6. The family's handler (``sim.handlers``); then quirks and data-mutating faults on the
   answer, wrapped in the family's envelope.

Every answered request is appended to ``sim.calls``. Handlers are plain functions
``(sim, ctx) -> Reply`` that raise ``ApiError`` for a failCode answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import random
import secrets
import string
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, cast

from aiohttp import web

from . import const
from .calllog import CallLog, CallRecord
from .cloud2026 import CLOUD_V7_PATHS, NBI_PREFIX
from .config import DEFAULT_PERMISSION_DENIED, Account, Quirks, SimulatorConfig
from .faults import DELAY_KINDS, POST_KINDS, PRE_KINDS, Fault, FaultInjector, mutate_data
from .quota import QuotaTracker

if TYPE_CHECKING:
    from .app import Simulator
    from .model import Plant
    from .nbi import CloudRuntime
    from .oauth import OAuthServer

Json = Any

QUOTA_403_BODY = {
    "errorCode": "49401021002",
    "exceptionInfo": "Request is rejected by api quotaControl",
}
HTML_503 = (
    "<!DOCTYPE html><html><head><title>503 Service Unavailable</title></head>"
    "<body><h1>System maintenance</h1><p>The system is being upgraded. "
    "Please try again later.</p></body></html>"
)
HTML_404 = (
    "<!DOCTYPE html><html><head><title>404 Not Found</title></head>"
    "<body><h1>404 Not Found</h1></body></html>"
)
TOKEN_ALPHABET = string.ascii_lowercase + string.digits


class ApiError(Exception):
    """A failCode answer."""

    def __init__(self, code: int, message: str | None = None, data: Json = None) -> None:
        """Error with the spec's message unless given."""
        super().__init__(code)
        self.code = code
        self.message = message if message is not None else const.ERROR_MESSAGES.get(code)
        self.data = data


@dataclass
class Session:
    """A login session (token) of one account and family."""

    token: str
    account: Account
    family: str
    created: float
    last_used: float


@dataclass
class Reply:
    """A successful handler answer."""

    data: Json
    params: dict[str, Any] = field(default_factory=dict)
    message: str | None = None
    fail_code: int = 0
    success: bool = True


@dataclass
class Ctx:
    """One request being processed."""

    endpoint: str
    family: str
    body: dict[str, Any]
    account: Account
    now: float
    boundary: float
    record: CallRecord
    token: str = ""


Handler = Callable[["Simulator", Ctx], Awaitable[Reply] | Reply]


class RequestPipeline:
    """Authentication, quota, permissions, faults, quirks and envelopes of every API call."""

    if TYPE_CHECKING:  # provided by ``Simulator``
        config: SimulatorConfig
        quirks: Quirks
        faults: FaultInjector
        calls: CallLog
        quota: QuotaTracker
        plants: list[Plant]
        accounts: dict[str, Account]
        sessions: dict[str, Session]
        handlers: dict[str, Handler]
        cloud: CloudRuntime | None
        oauth: OAuthServer
        _rng: random.Random
        _refusals: int
        _reads: int
        _stopping: asyncio.Event | None

        def now(self) -> float: ...

        def boundary(self, now: float | None = None) -> float: ...

        def _visible(self, account: Account) -> set[str] | None: ...

    def maintenance_active(self, now: float) -> bool:
        """Whether the maintenance window is open at ``now``."""
        start = self.config.maintenance_start
        duration = self.config.maintenance_seconds
        if start is not None:
            return start <= now < start + duration
        tz = self.plants[0].tz if self.plants else None
        local = datetime.fromtimestamp(now, tz)
        window_start = local.replace(hour=2, minute=0, second=0, microsecond=0)
        if local.weekday() != 6:
            return False
        return 0 <= (local - window_start).total_seconds() < duration

    async def _sleep(self, seconds: float) -> None:
        """Real-time sleep that ends early when the server stops."""
        if self._stopping is None:
            self._stopping = asyncio.Event()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    # --- request pipeline ----------------------------------------------------------------

    async def handle(self, request: web.Request, endpoint: str) -> web.StreamResponse:
        """Answer one API request and log it."""
        now = self.now()
        family = "v7" if endpoint.startswith(const.V7_PREFIX) else "legacy"
        if self.cloud is not None and endpoint in CLOUD_V7_PATHS:
            family = "legacy"  # 26.2 §5.2.2: the /thirdData token, no V7 family
        record = CallRecord(time=now, account=None, family=family, endpoint=endpoint)
        response = await self._process(request, endpoint, family, now, record)
        record.http_status = response.status
        self.calls.add(record)
        if record.fault == "disconnect" and request.transport is not None:
            request.transport.abort()  # processed, but the answer never leaves
        return response

    async def _process(
        self, request: web.Request, endpoint: str, family: str, now: float, record: CallRecord
    ) -> web.StreamResponse:
        if self.quirks.maintenance and self.maintenance_active(now):
            record.quirk = "maintenance"
            return web.Response(status=503, text=HTML_503, content_type="text/html")
        if not self._serves(endpoint):
            return web.Response(status=404, text=HTML_404, content_type="text/html")
        if family == "v7" and (self.quirks.no_v7 or not self.config.v7_enabled):
            record.quirk = "no_v7"
            return web.Response(status=404, text=HTML_404, content_type="text/html")
        if endpoint == const.STATIONS and not (
            self.quirks.stations_endpoint or self.quirks.permission or self.cloud
        ):
            return web.Response(status=404, text=HTML_404, content_type="text/html")
        raw = await request.read()
        try:
            parsed = json.loads(raw) if raw.strip() else {}
        except ValueError:
            parsed = None
        body: dict[str, Any] = parsed if isinstance(parsed, dict) else {}
        token = request.headers.get("XSRF-TOKEN")
        session = self.sessions.get(token) if token else None
        if endpoint in const.LOGIN_ENDPOINTS:
            user_key = "userName" if family == "legacy" else "username"
            account_name: str | None = str(body.get(user_key) or "") or None
        else:
            account_name = session.account.username if session else None
        record.account = account_name

        fault = self.faults.take(endpoint, family, account_name, PRE_KINDS | DELAY_KINDS, body)
        if fault is not None:
            record.fault = fault.kind
            if fault.kind == "delay":
                await self._sleep(float(fault.opts.get("seconds", 2.0)))
            elif fault.kind == "timeout":
                await self._sleep(float(fault.opts.get("seconds", 30.0)))
            else:
                return self._fault_response(fault, family, now, record)

        if parsed is None and raw.strip():
            return self._envelope(family, now, record, ApiError(20004), body)

        if endpoint in const.LOGIN_ENDPOINTS:
            return self._login(family, endpoint, body, now, record)

        if endpoint in (const.LOGOUT, const.V7_LOGOUT):
            given = body.get("xsrfToken") or body.get("xsrftoken")
            if isinstance(given, str) and given in self.sessions:
                session = self.sessions[given]
                record.account = session.account.username

        bearer = request.headers.get("Authorization")
        # OAuth (26.2 §3.1.3, today's cloud only): the owner's budget
        if bearer is not None and token is None and self.cloud is not None:
            try:
                account = self.oauth.admit(bearer, endpoint, now, self._local_day(now).isoformat())
            except ApiError as err:
                record.quota_refused = err.code == 407
                return self._envelope(family, now, record, err, body)
            record.account = account.username
        else:
            if session is None or not self._session_alive(session, family, now):
                if session is not None and session.token in self.sessions:
                    del self.sessions[session.token]
                return self._relogin(family, now, record)
            session.last_used = now
            account = session.account
            record.account = account.username
            refusal = self._check_quota(account, endpoint, now, record)
            if refusal is not None:
                return refusal

        denied = self._denied_code(account, endpoint)
        if denied is not None:
            return self._envelope(family, now, record, ApiError(denied), body)

        handler = self.handlers[endpoint]
        ctx = Ctx(
            endpoint,
            family,
            body,
            account,
            now,
            self.boundary(now),
            record,
            session.token if session is not None else "",
        )
        try:
            result = handler(cast("Simulator", self), ctx)
            reply = await result if asyncio.iscoroutine(result) else result
        except ApiError as err:
            framework_response = getattr(err, "response", None)  # cloud-2026 HTTP 400 (§7.4)
            if callable(framework_response):
                return cast(web.Response, framework_response())
            return self._envelope(family, now, record, err, body)
        reply = cast(Reply, reply)
        if endpoint in (const.LOGOUT, const.V7_LOGOUT):
            return self._envelope(family, now, record, reply, body)
        if self.quirks.null_values and endpoint in const.READ_ENDPOINTS and reply.success:
            reply = self._sprinkle_nulls(reply, record)
        post = self.faults.take(endpoint, family, account.username, POST_KINDS, body)
        if post is not None:
            record.fault = post.kind
            if post.kind == "disconnect":
                return self._envelope(family, now, record, reply, body)
            if post.kind == "malformed_json":
                text = json.dumps(self._body(family, now, reply, body))
                record.fail_code = reply.fail_code
                return web.Response(
                    text=text[: max(1, len(text) // 2)], content_type="application/json"
                )
            reply.data = mutate_data(reply.data, post, endpoint)
        return self._envelope(family, now, record, reply, body)

    def _serves(self, endpoint: str) -> bool:
        """cloud-2026: no V7 family, no replaced paths; other profiles: no nbi family."""
        if self.cloud is not None:
            return self.cloud.serves(endpoint)
        return not endpoint.startswith(NBI_PREFIX)

    def _session_alive(self, session: Session, family: str, now: float) -> bool:
        if session.family != family:
            return False
        lifetime = self.config.token_lifetime_seconds
        if family == "legacy" and lifetime is not None and now - session.created >= lifetime:
            return False
        return now - session.last_used < self.config.token_idle_seconds

    def _relogin(self, family: str, now: float, record: CallRecord) -> web.Response:
        record.fail_code = 305
        if self.quirks.relogin_305_shape:
            body: dict[str, Any] = {
                "failCode": 305,
                "immediately": True,
                "message": "USER_MUST_RELOGIN",
            }
            return web.json_response(body)
        return self._envelope(family, now, record, ApiError(305), {})

    def _check_quota(
        self, account: Account, endpoint: str, now: float, record: CallRecord
    ) -> web.Response | None:
        family = record.family
        key = account.username
        if self.cloud is not None:  # 26.2 §4.2 flow control, field's strict quota on top
            code = self.cloud.refusal(account, endpoint, now)
            if code is not None:
                return self._refuse(family, now, record, self.cloud.error(code))
            if self.quirks.strict_quota and not self.quota.check(key, endpoint, now, strict=True):
                return self._refuse(family, now, record)
        elif not self.quota.check(key, endpoint, now, strict=self.quirks.strict_quota):
            return self._refuse(family, now, record)
        if self.quirks.daily_budget and endpoint in const.DAILY_BUDGET_ENDPOINTS:
            visible = self._visible(account)
            plants = len(visible) if visible is not None else len(self.plants)
            budget = self.config.daily_budget_overrides.get(
                endpoint, math.ceil(max(plants, 1) / 100) + 24
            )
            day = self._local_day(now).isoformat()
            if not self.quota.daily_check(key, endpoint, day, budget):
                return self._refuse(
                    family, now, record, ApiError(self.config.daily_limit_fail_code)
                )
        return None

    def _refuse(
        self, family: str, now: float, record: CallRecord, error: ApiError | None = None
    ) -> web.Response:
        record.quota_refused = True
        self._refusals += 1
        error = error or ApiError(407)
        if error.code == 407 and self.quirks.quota_403 and self._refusals % 2 == 0:
            record.fail_code = None
            record.quirk = "quota_403"
            return web.json_response(QUOTA_403_BODY, status=403)
        return self._envelope(family, now, record, error, {})

    def _denied_code(self, account: Account, endpoint: str) -> int | None:
        if endpoint in account.denied_endpoints:
            return int(account.denied_endpoints[endpoint])
        if (
            endpoint.startswith(const.V7_PREFIX)
            and endpoint not in CLOUD_V7_PATHS
            and not account.v7
        ):
            return 401
        if self.quirks.permission:
            table = (
                self.config.permission_denied
                if self.config.permission_denied is not None
                else DEFAULT_PERMISSION_DENIED
            )
            if endpoint in table:
                return int(table[endpoint])
        return None

    def _local_day(self, now: float) -> date:
        tz = self.plants[0].tz if self.plants else None
        return datetime.fromtimestamp(now, tz).date()

    # --- login ---------------------------------------------------------------------------

    def _login(
        self, family: str, endpoint: str, body: dict[str, Any], now: float, record: CallRecord
    ) -> web.StreamResponse:
        if family == "legacy":
            username, password = body.get("userName"), body.get("systemCode")
        else:
            username, password = body.get("username"), body.get("password")
        key = str(username or "")
        if self.cloud is not None:  # 26.2 §3.2.2.1: 5 logins per 10 min, lock after 5 wrong
            refused = self.cloud.login_refusal(key, now)
            if refused == 20400:
                return self._envelope(family, now, record, ApiError(20400), {})
            if refused is not None:
                return self._refuse(family, now, record, self.cloud.error(refused))
        elif not self.quota.check(key, endpoint, now, strict=False):
            return self._refuse(family, now, record)
        account = self.accounts.get(key) if isinstance(username, str) else None
        code = 0
        if account is None:
            code = 20001
        elif password != account.password:
            code = 20400
        elif account.status == "forbidden":
            code = 20002
        elif account.status == "expired":
            code = 20003
        elif account.status == "restricted":
            code = 20403
        elif family == "v7" and not account.v7:
            code = 401
        if code:
            if code == 20400 and self.cloud is not None:
                self.cloud.wrong_password(key, now)
            if family == "legacy" and self.quirks.empty_login_body and code in (20001, 20400):
                record.fail_code = None
                record.quirk = "empty_login_body"
                return web.Response(status=200, body=b"")
            return self._envelope(family, now, record, ApiError(code), {})
        assert account is not None
        if self.quirks.single_session or self.cloud is not None:  # 26.2: one token per login
            for token in [
                t
                for t, s in self.sessions.items()
                if s.account.username == account.username and s.family == family
            ]:
                del self.sessions[token]
        token = "x-" + "".join(secrets.choice(TOKEN_ALPHABET) for _ in range(64))
        self.sessions[token] = Session(token, account, family, now, now)
        response = self._envelope(family, now, record, Reply(None), {})
        jsession = secrets.token_hex(16).upper()
        if self.quirks.uppercase_cookies:
            response.headers.add("Set-Cookie", f"JSESSIONID={jsession}; Path=/; HttpOnly")
            response.headers.add("Set-Cookie", f"XSRF-TOKEN={token}; Path=/")
        elif family == "v7" and self.quirks.v7_cookie_example:
            response.headers.add(
                "set-cookie",
                f"JSESSIONID={jsession}; Path=/; Secure; HttpOnly, XSRF-TOKEN={token}",
            )
            response.headers.add("xsrftoken", token)
        else:
            response.headers.add("set-cookie", f"XSRF-TOKEN={token}; Path=/; HttpOnly")
            response.headers.add("xsrf-token", token)
        return response

    # --- answers -------------------------------------------------------------------------

    def _body(
        self, family: str, now: float, result: Reply | ApiError, request_body: Mapping[str, Any]
    ) -> dict[str, Any]:
        if isinstance(result, ApiError):
            body: dict[str, Any] = {
                "success": False,
                "failCode": result.code,
                "message": result.message,
                "data": result.data,
            }
            params: dict[str, Any] = {}
        else:
            body = {
                "success": result.success,
                "failCode": result.fail_code,
                "message": result.message,
                "data": result.data,
            }
            params = result.params
        if family == "legacy":
            echo = {
                k: v
                for k, v in request_body.items()
                if k not in ("systemCode", "password", "xsrfToken", "xsrftoken", "userName")
            }
            body["params"] = {**echo, **params, "currentTime": int(now * 1000)}
        return body

    def _envelope(
        self,
        family: str,
        now: float,
        record: CallRecord,
        result: Reply | ApiError,
        request_body: Mapping[str, Any],
    ) -> web.Response:
        body = self._body(family, now, result, request_body)
        if record.endpoint.startswith(NBI_PREFIX):
            body.pop("params", None)  # the /rest/openapi envelope has no params
        record.fail_code = body["failCode"]
        return web.json_response(body)

    def _fault_response(
        self, fault: Fault, family: str, now: float, record: CallRecord
    ) -> web.Response:
        kind = fault.kind
        if kind == "fail_code":
            code = int(fault.opts.get("fail_code", fault.opts.get("code", 407)))
            if code == 407:
                record.quota_refused = True
            if code == 305 and self.quirks.relogin_305_shape:
                return self._relogin(family, now, record)
            message = fault.opts.get("message")
            err = ApiError(code, message if isinstance(message, str) else None)
            return self._envelope(family, now, record, err, {})
        if kind == "quota_403":
            record.quota_refused = True
            return web.json_response(QUOTA_403_BODY, status=403)
        if kind == "http_status":
            status = int(fault.opts.get("status", 500))
            text = fault.opts.get("body")
            if text is None:
                text = (
                    f"<!DOCTYPE html><html><head><title>{status}</title></head>"
                    f"<body><h1>{status}</h1></body></html>"
                )
                return web.Response(status=status, text=text, content_type="text/html")
            if isinstance(text, str):
                return web.Response(status=status, text=text)
            return web.json_response(text, status=status)
        if kind == "html":
            status = int(fault.opts.get("status", 200))
            text = str(fault.opts.get("body", HTML_503))
            return web.Response(status=status, text=text, content_type="text/html")
        # empty_body
        return web.Response(status=int(fault.opts.get("status", 200)), body=b"")

    def _sprinkle_nulls(self, reply: Reply, record: CallRecord) -> Reply:
        self._reads += 1
        every = max(self.config.null_every, 1)
        if self._reads % every == 0:
            record.quirk = "null_values"
            reply.data = None
            return reply
        rng = self._rng

        def walk(value: Any) -> Any:
            if isinstance(value, dict):
                out: dict[str, Any] = {}
                for k, v in value.items():
                    if k == "dataItemMap" and isinstance(v, dict):
                        out[k] = {
                            ik: (rng.choice((None, "")) if rng.random() < 0.03 else iv)
                            for ik, iv in v.items()
                        }
                    else:
                        out[k] = walk(v)
                return out
            if isinstance(value, list):
                return [walk(v) for v in value]
            return value

        reply.data = walk(reply.data)
        return reply


def h_logout(sim: Simulator, ctx: Ctx) -> Reply:
    """Logout (§3.2 / §5.1.2): drops the token given in the body.

    Legacy reads ``xsrftoken`` (table, l.398) or ``xsrfToken`` (example l.418, 26.2
    §3.2.2.2), else the header's token; V7 only ``xsrftoken`` (table l.3630 and example
    l.3646 agree): anything else fails with 20004 (the spec's failure example).
    """
    if ctx.family == "v7":
        given = ctx.body.get("xsrftoken")
        if not isinstance(given, str) or given not in sim.sessions:
            raise ApiError(20004)
    else:
        given = ctx.body.get("xsrfToken") or ctx.body.get("xsrftoken")
    token = given if isinstance(given, str) else ctx.token
    if token not in sim.sessions:
        raise ApiError(20001 if ctx.family == "legacy" else 20004)
    del sim.sessions[token]
    return Reply(None)
