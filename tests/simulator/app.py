"""The simulator: aiohttp application serving both NBI families plus an admin API.

Request pipeline (every API path):

1. ``maintenance`` quirk window -> HTTP 503 HTML; V7 disabled / ``no_v7`` -> HTTP 404.
2. Faults armed with ``sim.faults`` that replace the answer (fail_code, http_status,
   quota_403, html, empty_body, timeout) or delay it.
3. Login: quota (1/min per userName), credentials; other paths: the ``XSRF-TOKEN``
   request header must name a live session of the path's family (305 otherwise; idle
   timeout ``token_idle_seconds`` from the last use; legacy tokens also expire
   ``token_lifetime_seconds`` after their login).
4. Quota: rolling 60 s window per account and endpoint (407, or HTTP 403 with
   ``quota_403``); refused calls are not counted unless ``count_refused_calls``.
   With ``daily_budget``: the day's budget (407 after).
5. Permissions (account ``denied_endpoints``; quirk ``permission``) -> 401 / 20056.
6. The handler; then quirks and data-mutating faults on the answer.

Every answered request is appended to ``sim.calls``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import random
import secrets
import string
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from aiohttp import web

from . import const
from .calllog import CallLog, CallRecord
from .cloud2026 import NBI_ENDPOINTS, NBI_PREFIX
from .config import DEFAULT_PERMISSION_DENIED, Account, Quirks, SimulatorConfig
from .faults import (
    DELAY_KINDS,
    POST_KINDS,
    PRE_KINDS,
    Fault,
    FaultInjector,
    mutate_data,
)
from .kpis import (
    battery_share,
    device_item,
    five_minute_plant_item,
    inverter_share,
    r1,
    r3,
)
from .model import (
    ALARM_CATALOG,
    COUNTERS,
    SLOT,
    SLOT_H,
    Alarm,
    Counters,
    Device,
    Plant,
    SlotState,
    Task,
    TaskRegistry,
    floor_slot,
)
from .quota import QuotaTracker

if TYPE_CHECKING:
    from .nbi import CloudRuntime

Json = Any
Clock = Callable[[], float]

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


def _default_clock() -> float:
    # looked up at call time so freezegun's patched time.time is honoured
    return time.time()


class Simulator:
    """A SmartPVMS NBI simulator instance (both families on one port)."""

    def __init__(self, config: SimulatorConfig | None = None, clock: Clock | None = None) -> None:
        """Build the plants; nothing listens until ``start``."""
        self.config = config or SimulatorConfig()
        self._clock: Clock = clock or _default_clock
        self.clock_offset = 0.0
        self.quirks: Quirks = self.config.build_quirks()
        self.faults = FaultInjector()
        self.calls = CallLog()
        self.quota = QuotaTracker(
            dict(self.config.quota_overrides), self.config.count_refused_calls
        )
        self.start_time = self.now()
        self.plants: list[Plant] = [
            Plant(self.config, i, self.start_time) for i in range(self.config.plants)
        ]
        self._plants_by_code = {p.code: p for p in self.plants}
        self._devices_by_dn: dict[str, Device] = {}
        self._devices_by_id: dict[int, Device] = {}
        self._devices_by_sn: dict[str, Device] = {}
        for plant in self.plants:
            for device in plant.devices:
                self._devices_by_dn[device.dn] = device
                self._devices_by_id[device.dev_id] = device
                self._devices_by_sn[device.sn] = device
        main = Account(self.config.username, self.config.password)
        self.accounts: dict[str, Account] = {main.username: main}
        for account in self.config.accounts:
            self.accounts[account.username] = account
        self._account_plants: dict[str, set[str] | None] = {}
        for account in self.accounts.values():
            self._account_plants[account.username] = self._resolve_plants(account)
        self.sessions: dict[str, Session] = {}
        self.tasks = TaskRegistry()
        self._rng = random.Random(f"{self.config.seed}/simulator")
        self._refusals = 0
        self._reads = 0
        self._manual_alarm_seq = 0
        self.cloud: CloudRuntime | None = None
        if self.config.is_cloud_2026:
            from .nbi import CloudRuntime  # nbi imports this module

            self.cloud = CloudRuntime(self)
        self._runner: web.AppRunner | None = None
        self._stopping: asyncio.Event | None = None
        self.url = ""
        self.host = ""
        self.port = 0

    # --- public helpers ------------------------------------------------------------------

    @property
    def username(self) -> str:
        """Default account name."""
        return self.config.username

    @property
    def password(self) -> str:
        """Default account password."""
        return self.config.password

    def now(self) -> float:
        """Simulator time (epoch s): the clock plus ``clock_offset``."""
        return float(self._clock()) + self.clock_offset

    def boundary(self, now: float | None = None) -> float:
        """Last 5-minute boundary <= now: the time the published data belongs to."""
        return floor_slot(self.now() if now is None else now)

    def plant(self, code_or_index: str | int) -> Plant:
        """A plant by code (``NE=...``) or index."""
        if isinstance(code_or_index, int):
            return self.plants[code_or_index]
        return self._plants_by_code[code_or_index]

    def device(self, key: str | int) -> Device:
        """A device by DN, legacy id or SN."""
        if isinstance(key, int):
            return self._devices_by_id[key]
        if key in self._devices_by_dn:
            return self._devices_by_dn[key]
        if key.isdigit():
            return self._devices_by_id[int(key)]
        return self._devices_by_sn[key]

    def state(self, code_or_index: str | int, at: float | None = None) -> SlotState:
        """Published state of a plant (at the current boundary unless ``at``)."""
        plant = self.plant(code_or_index)
        return plant.state(self.boundary(at))

    def raise_alarm(
        self,
        plant: str | int,
        alarm_id: int = 2032,
        device: str | int | None = None,
        at: float | None = None,
    ) -> Alarm:
        """Raise an alarm now (visible immediately); returns it (``alarm.key`` to clear)."""
        target = self.plant(plant)
        info = ALARM_CATALOG[alarm_id]
        if device is not None:
            dev = self.device(device)
        else:
            candidates = [d for d in target.devices if d.kind in info.kinds] or target.devices
            dev = candidates[0]
        self._manual_alarm_seq += 1
        alarm = Alarm(
            key=f"manual-{self._manual_alarm_seq}",
            alarm_id=alarm_id,
            device=dev,
            raise_time=self.boundary() if at is None else at,
            clear_time=None,
            manual=True,
        )
        target.manual_alarms.append(alarm)
        return alarm

    def clear_alarm(self, key: str | None = None) -> int:
        """Clear a manual alarm by key (None: every manual alarm); returns how many."""
        cleared = 0
        for plant in self.plants:
            for alarm in plant.manual_alarms:
                if alarm.clear_time is None and (key is None or alarm.key == key):
                    alarm.clear_time = self.boundary()
                    alarm.cleared_by_user = True
                    cleared += 1
        return cleared

    def invalidate_sessions(self, username: str | None = None) -> None:
        """Drop every session (of one account), e.g. to test re-login."""
        for token in [
            t
            for t, s in self.sessions.items()
            if username is None or s.account.username == username
        ]:
            del self.sessions[token]

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

    # --- server lifecycle ----------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0, ssl_context: Any = None) -> str:
        """Listen on ``host:port`` (0 = free port); returns and sets ``url``."""
        runner = web.AppRunner(create_app(self), access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, host, port, ssl_context=ssl_context, shutdown_timeout=0.1)
        await site.start()
        self._runner = runner
        bound = runner.addresses[0]
        self.host = host
        self.port = int(bound[1])
        scheme = "https" if ssl_context is not None else "http"
        self.url = f"{scheme}://{host}:{self.port}"
        return self.url

    async def _sleep(self, seconds: float) -> None:
        """Real-time sleep that ends early when the server stops."""
        if self._stopping is None:
            self._stopping = asyncio.Event()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    async def stop(self) -> None:
        """Stop listening (ends pending delay/timeout faults first)."""
        if self._stopping is not None:
            self._stopping.set()
            await asyncio.sleep(0)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # --- request pipeline ----------------------------------------------------------------

    async def handle(self, request: web.Request, endpoint: str) -> web.StreamResponse:
        """Answer one API request and log it."""
        now = self.now()
        family = "v7" if endpoint.startswith(const.V7_PREFIX) else "legacy"
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

        handler = (self.cloud.handler(endpoint) if self.cloud else None) or HANDLERS[endpoint]
        ctx = Ctx(endpoint, family, body, account, now, self.boundary(now), record, session.token)
        try:
            result = handler(self, ctx)
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
        if endpoint.startswith(const.V7_PREFIX) and not account.v7:
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

    # --- account scope -------------------------------------------------------------------

    def _resolve_plants(self, account: Account) -> set[str] | None:
        if account.plants is None:
            return None
        codes: set[str] = set()
        for item in account.plants:
            if isinstance(item, int):
                if 0 <= item < len(self.plants):
                    codes.add(self.plants[item].code)
            else:
                codes.add(item)
        return codes

    def _visible(self, account: Account) -> set[str] | None:
        return self._account_plants.get(account.username)

    def visible_plants(self, account: Account) -> list[Plant]:
        """Plants an account may see."""
        visible = self._visible(account)
        if visible is None:
            return list(self.plants)
        return [p for p in self.plants if p.code in visible]

    def _plants_for(
        self,
        ctx: Ctx,
        key: str,
        *,
        max_code: int,
        unauthorized: int,
        empty: int = 20010,
    ) -> list[Plant]:
        codes = _id_list(ctx.body.get(key), empty=empty, max_code=max_code)
        ctx.record.size = len(codes)
        visible = self._visible(ctx.account)
        plants: list[Plant] = []
        for code in codes:
            plant = self._plants_by_code.get(code)
            if plant is None or (visible is not None and code not in visible):
                raise ApiError(unauthorized)
            plants.append(plant)
        return plants

    def _device_visible(self, account: Account, device: Device) -> bool:
        visible = self._visible(account)
        return visible is None or device.plant.code in visible

    # --- shared data helpers -------------------------------------------------------------

    def _plant_counters(self, plant: Plant, state: SlotState) -> tuple[float, float, float]:
        """(day, month, total) PV yield at a published state, with the counter_dip quirk."""
        day, month, total = state.day["pv"], state.month["pv"], state.total["pv"]
        if self.quirks.counter_dip:
            today = plant.local_date(state.time)
            since = state.time - plant.day_start(today)
            if since < self.config.counter_dip_seconds:
                yesterday = plant.summary(today - timedelta(days=1))["pv"]
                day = yesterday
                month = max(0.0, month - yesterday)
                total = max(0.0, total - yesterday)
        return day, month, total

    def _health(self, plant: Plant, boundary: float, family: str) -> int:
        health = plant.health(boundary)
        if family == "legacy":
            return {
                "healthy": const.LEGACY_HEALTH_HEALTHY,
                "faulty": const.LEGACY_HEALTH_FAULTY,
                "disconnected": const.LEGACY_HEALTH_DISCONNECTED,
            }[health]
        if health == "healthy":
            return 3 if self.quirks.health_out_of_range else const.V7_HEALTH_HEALTHY
        if health == "faulty":
            return const.V7_HEALTH_FAULTY
        return const.V7_HEALTH_DISCONNECTED

    def _period_counters(self, plant: Plant, first: date, last: date, boundary: float) -> Counters:
        """Energy of local days ``first``..``last`` as published at ``boundary``."""
        today = plant.local_date(boundary)
        if first > today:
            return dict.fromkeys(COUNTERS, 0.0)
        start = plant.total_start(max(first, plant.install_date))
        if last >= today:
            end = plant.state(boundary).total
        else:
            end = plant.total_start(last + timedelta(days=1))
        return {key: max(0.0, end[key] - start[key]) for key in COUNTERS}

    def _day_stats(self, plant: Plant, d: date, boundary: float) -> tuple[Counters, float, float]:
        """(energies, irradiation kWh/m2, charge hours) of a day up to ``boundary``."""
        energies = self._period_counters(plant, d, d, boundary)
        if d >= plant.detail_from:
            radiation = 0.0
            charging = 0
            for day, k in plant.slots(d, boundary):
                radiation += day.irradiance[k] * SLOT_H / 1000.0
                charging += 1 if day.charge[k] > 0.001 else 0
            return energies, radiation, charging * SLOT_H
        radiation = energies["pv"] / (0.82 * plant.kwp) if plant.kwp else 0.0
        hours = energies["charge"] / max(plant.max_battery_kw * 0.5, 0.1)
        return energies, radiation, hours


def _stat_item(plant: Plant, energies: Counters, radiation: float) -> dict[str, Any]:
    pv = energies["pv"]
    theory = plant.kwp * radiation
    return {
        "installed_capacity": plant.kwp,
        "radiation_intensity": round(radiation, 4),
        "theory_power": r3(theory),
        "performance_ratio": r1(min(100.0, pv / theory * 100.0)) if theory > 0 else 0.0,
        "inverter_power": r3(pv),
        "ongrid_power": r3(energies["export"]),
        "use_power": r3(energies["load"]),
        "power_profit": r3(pv * const.ELECTRICITY_PRICE),
        "perpower_ratio": r3(pv / plant.kwp) if plant.kwp else 0.0,
        "reduction_total_co2": r3(pv * 0.000997),
        "reduction_total_coal": r3(pv * 0.0004),
        "reduction_total_tree": round(pv * 0.0545),
    }


# --- parameter parsing --------------------------------------------------------------------------


def _id_list(raw: Any, *, empty: int, max_code: int, limit: int = const.MAX_IDS) -> list[str]:
    if raw is None:
        raise ApiError(empty)
    items = [str(x) for x in raw] if isinstance(raw, list) else str(raw).split(",")
    result: list[str] = []
    for item in items:
        text = item.strip()
        if text and text not in result:
            result.append(text)
    if not result:
        raise ApiError(empty)
    if len(result) > limit:
        raise ApiError(max_code)
    return result


def _as_int(value: Any) -> int | None:
    """An integer from int / integral float / numeric string; None if absent or invalid."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            try:
                number = float(text)
            except ValueError:
                return None
            return int(number) if number.is_integer() else None
    return None


def _as_float(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if math.isfinite(float(value)) else None
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def _required_time(body: Mapping[str, Any], key: str) -> float:
    """Epoch seconds from a millisecond parameter (20012 if absent or invalid)."""
    value = _as_int(body.get(key))
    if value is None:
        raise ApiError(20012)
    return value / 1000.0


def _month_days(d: date) -> list[date]:
    first = d.replace(day=1)
    nxt = (first + timedelta(days=32)).replace(day=1)
    return [first + timedelta(days=i) for i in range((nxt - first).days)]


def _ms(t: float) -> int:
    return round(t * 1000)


# --- legacy handlers ----------------------------------------------------------------------------


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


def h_station_list(sim: Simulator, ctx: Ctx) -> Reply:
    """getStationList (§3.3): capacity in MW."""
    return Reply(
        [
            {
                "stationCode": p.code,
                "stationName": p.name,
                "stationAddr": p.address,
                "capacity": round(p.kwp / 1000.0, 6),
                "buildState": "2",
                "combineType": "3",
                "aidType": 1,
                "stationLinkman": p.contact_person,
                "linkmanPho": p.contact_method,
            }
            for p in sim.visible_plants(ctx.account)
        ]
    )


def _plant_v7_item(plant: Plant) -> dict[str, Any]:
    return {
        "plantCode": plant.code,
        "plantName": plant.name,
        "plantAddress": plant.address,
        "longitude": plant.longitude,
        "latitude": plant.latitude,
        "capacity": plant.kwp,
        "contactPerson": plant.contact_person,
        "contactMethod": plant.contact_method,
        "gridConnectionDate": plant.iso(plant.day_start(plant.install_date)),
    }


def _page(
    items: list[dict[str, Any]], page_no: int, page_size: int
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    total = len(items)
    page_count = max(1, math.ceil(total / page_size)) if total else 0
    chunk = items[(page_no - 1) * page_size : page_no * page_size]
    return chunk, {
        "total": total,
        "pageCount": page_count,
        "pageNo": page_no,
        "pageSize": page_size,
        "list": chunk,
    }


def _paging(body: Mapping[str, Any], *, required: bool) -> tuple[int, int]:
    raw_no, raw_size = body.get("pageNo"), body.get("pageSize")
    if raw_no is None:
        if required:
            raise ApiError(30004)
        page_no = 1
    else:
        parsed_no = _as_int(raw_no)
        if parsed_no is None or parsed_no < 1:
            raise ApiError(30021)
        page_no = parsed_no
    if raw_size is None:
        if required:
            raise ApiError(30005)
        page_size = 100
    else:
        parsed_size = _as_int(raw_size)
        if parsed_size not in const.PAGE_SIZES:
            raise ApiError(30006)
        assert parsed_size is not None
        page_size = parsed_size
    return page_no, page_size


def h_stations(sim: Simulator, ctx: Ctx) -> Reply:
    """/thirdData/stations (field): paged plant list with V7-style field names.

    Quirk plants_as_list: the page as a bare list, like the V7 examples.
    """
    page_no, page_size = _paging(ctx.body, required=False)
    items = [_plant_v7_item(p) for p in sim.visible_plants(ctx.account)]
    _, paged = _page(items, page_no, page_size)
    return Reply(_maybe_list(sim, paged))


def h_station_real_kpi(sim: Simulator, ctx: Ctx) -> Reply:
    """getStationRealKpi (§3.4.1, keys §4.1)."""
    plants = sim._plants_for(ctx, "stationCodes", max_code=20014, unauthorized=20007)
    data = []
    for plant in plants:
        state = plant.state(ctx.boundary)
        day, month, total = sim._plant_counters(plant, state)
        item: dict[str, Any] = {
            "day_power": r3(day),
            "month_power": r3(month),
            "total_power": r3(total),
            "day_income": r3(day * const.ELECTRICITY_PRICE),
            "total_income": r3(total * const.ELECTRICITY_PRICE),
            "real_health_state": sim._health(plant, ctx.boundary, "legacy"),
        }
        if sim.quirks.legacy_string_values:
            item = {k: (f"{v:.3f}" if isinstance(v, float) else str(v)) for k, v in item.items()}
        data.append({"stationCode": plant.code, "dataItemMap": item})
    return Reply(data)


def h_kpi_station_hour(sim: Simulator, ctx: Ctx) -> Reply:
    """getKpiStationHour (§3.4.2): the hours of the collectTime's local day published so far."""
    plants = sim._plants_for(ctx, "stationCodes", max_code=20014, unauthorized=20007)
    t = _required_time(ctx.body, "collectTime")
    data = []
    for plant in plants:
        d = plant.local_date(t)
        hours: dict[float, dict[str, float]] = {}
        for day, k in plant.slots(d, ctx.boundary):
            slot_t = day.start + k * SLOT
            offset = datetime.fromtimestamp(slot_t, plant.tz).utcoffset()
            off = offset.total_seconds() if offset else 0.0
            hour = slot_t - ((slot_t + off) % 3600)
            acc = hours.setdefault(hour, {"rad": 0.0, "pv": 0.0, "export": 0.0})
            acc["rad"] += day.irradiance[k] * SLOT_H / 1000.0
            acc["pv"] += day.pv[k] * SLOT_H
            acc["export"] += day.exp[k] * SLOT_H
        for hour, acc in hours.items():
            data.append(
                {
                    "stationCode": plant.code,
                    "collectTime": _ms(hour),
                    "dataItemMap": {
                        "radiation_intensity": round(acc["rad"], 4),
                        "theory_power": r3(acc["rad"] * plant.kwp),
                        "inverter_power": r3(acc["pv"]),
                        "ongrid_power": r3(acc["export"]) if plant.has_grid_meter else None,
                        "power_profit": r3(acc["pv"] * const.ELECTRICITY_PRICE),
                    },
                }
            )
    return Reply(data)


def h_kpi_station_day(sim: Simulator, ctx: Ctx) -> Reply:
    """getKpiStationDay (§3.4.3): the days of the collectTime's local month so far."""
    plants = sim._plants_for(ctx, "stationCodes", max_code=20014, unauthorized=20007)
    t = _required_time(ctx.body, "collectTime")
    data = []
    for plant in plants:
        today = plant.local_date(ctx.boundary)
        for d in _month_days(plant.local_date(t)):
            if d > today or d < plant.install_date:
                continue
            energies, radiation, _ = sim._day_stats(plant, d, ctx.boundary)
            data.append(
                {
                    "stationCode": plant.code,
                    "collectTime": _ms(plant.day_start(d)),
                    "dataItemMap": _stat_item(plant, energies, radiation),
                }
            )
    return Reply(data)


def _months(year: int) -> list[tuple[date, date]]:
    result = []
    for month in range(1, 13):
        first = date(year, month, 1)
        last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        result.append((first, last))
    return result


def h_kpi_station_month(sim: Simulator, ctx: Ctx) -> Reply:
    """getKpiStationMonth (§3.4.4): the months of the collectTime's local year so far."""
    plants = sim._plants_for(ctx, "stationCodes", max_code=20014, unauthorized=20007)
    t = _required_time(ctx.body, "collectTime")
    data = []
    for plant in plants:
        today = plant.local_date(ctx.boundary)
        for first, last in _months(plant.local_date(t).year):
            if first > today or last < plant.install_date:
                continue
            energies = sim._period_counters(plant, first, last, ctx.boundary)
            radiation = energies["pv"] / (0.82 * plant.kwp) if plant.kwp else 0.0
            data.append(
                {
                    "stationCode": plant.code,
                    "collectTime": _ms(plant.day_start(first)),
                    "dataItemMap": _stat_item(plant, energies, radiation),
                }
            )
    return Reply(data)


def h_kpi_station_year(sim: Simulator, ctx: Ctx) -> Reply:
    """getKpiStationYear (§3.4.5): every year since the plant was built."""
    plants = sim._plants_for(ctx, "stationCodes", max_code=20014, unauthorized=20007)
    _required_time(ctx.body, "collectTime")
    data = []
    for plant in plants:
        today = plant.local_date(ctx.boundary)
        for year in range(plant.install_date.year, today.year + 1):
            first, last = date(year, 1, 1), date(year, 12, 31)
            energies = sim._period_counters(plant, first, last, ctx.boundary)
            radiation = energies["pv"] / (0.82 * plant.kwp) if plant.kwp else 0.0
            data.append(
                {
                    "stationCode": plant.code,
                    "collectTime": _ms(plant.day_start(first)),
                    "dataItemMap": _stat_item(plant, energies, radiation),
                }
            )
    return Reply(data)


def h_dev_list(sim: Simulator, ctx: Ctx) -> Reply:
    """getDevList (§3.5)."""
    plants = sim._plants_for(ctx, "stationCodes", max_code=20014, unauthorized=20007)
    return Reply(
        [
            {
                "id": d.dev_id,
                "devName": d.name,
                "stationCode": p.code,
                "esnCode": d.sn,
                "devTypeId": d.dev_type_id,
                "softwareVersion": d.software_version,
                "invType": d.model if d.is_inverter else None,
                "longitude": p.longitude,
                "latitude": p.latitude,
            }
            for p in plants
            for d in p.devices
        ]
    )


def _legacy_devices(sim: Simulator, ctx: Ctx, supported: frozenset[int]) -> list[Device]:
    ids = _id_list(ctx.body.get("devIds"), empty=20005, max_code=20016)
    ctx.record.size = len(ids)
    type_id = _as_int(ctx.body.get("devTypeId"))
    if type_id is None or type_id not in supported:
        raise ApiError(20013)
    devices: list[Device] = []
    for raw in ids:
        number = _as_int(raw)
        device = sim._devices_by_id.get(number) if number is not None else None
        if device is None or not sim._device_visible(ctx.account, device):
            raise ApiError(20008)
        devices.append(device)
    if any(d.dev_type_id != type_id for d in devices):
        raise ApiError(20006)
    return devices


def _device_item(
    sim: Simulator, device: Device, state: SlotState, *, realtime: bool
) -> dict[str, Any]:
    day_cap = total_cap = None
    if realtime and device.is_inverter:
        day_cap, _, total_cap = sim._plant_counters(device.plant, state)
    return device_item(
        device.plant,
        device,
        state,
        realtime=realtime,
        power_sensor_export_positive=sim.quirks.power_sensor_watts,
        day_cap=day_cap,
        total_cap=total_cap,
    )


def h_dev_real_kpi(sim: Simulator, ctx: Ctx) -> Reply:
    """getDevRealKpi (§3.6.1, keys §4.6)."""
    devices = _legacy_devices(sim, ctx, const.REAL_KPI_TYPES)
    data = []
    states: dict[str, SlotState] = {}
    for device in devices:
        plant = device.plant
        state = states.get(plant.code) or plant.state(ctx.boundary)
        states[plant.code] = state
        data.append(
            {"devId": device.dev_id, "dataItemMap": _device_item(sim, device, state, realtime=True)}
        )
    return Reply(data)


def h_dev_five_minutes(sim: Simulator, ctx: Ctx) -> Reply:
    """getDevFiveMinutes (§3.6.2): published slots of the collectTime's local day."""
    devices = _legacy_devices(sim, ctx, const.FIVE_MINUTE_TYPES)
    t = _required_time(ctx.body, "collectTime")
    if t < ctx.now - 365 * 86400:
        raise ApiError(20026)
    data = []
    for device in devices:
        plant = device.plant
        for day, k in plant.slots(plant.local_date(t), ctx.boundary):
            state = plant.slot_state(day, k)
            data.append(
                {
                    "devId": device.dev_id,
                    "collectTime": _ms(day.start + k * SLOT),
                    "dataItemMap": _device_item(sim, device, state, realtime=False),
                }
            )
    return Reply(data)


def _device_period_item(
    sim: Simulator, device: Device, first: date, last: date, boundary: float
) -> dict[str, Any]:
    plant = device.plant
    energies = sim._period_counters(plant, first, last, boundary)
    if device.kind == "battery":
        share = battery_share(device)
        hours_c = hours_d = 0.0
        d = max(first, plant.install_date)
        today = plant.local_date(boundary)
        while d <= min(last, today):
            if d >= plant.detail_from:
                for day, k in plant.slots(d, boundary):
                    hours_c += SLOT_H if day.charge[k] > 0.001 else 0.0
                    hours_d += SLOT_H if day.discharge[k] > 0.001 else 0.0
            else:
                summ = plant.summary(d)
                hours_c += summ["charge"] / max(plant.max_battery_kw * 0.5, 0.1)
                hours_d += summ["discharge"] / max(plant.max_battery_kw * 0.5, 0.1)
            d += timedelta(days=1)
        return {
            "charge_cap": r3(energies["charge"] * share),
            "discharge_cap": r3(energies["discharge"] * share),
            "charge_time": round(hours_c, 2),
            "discharge_time": round(hours_d, 2),
        }
    share = inverter_share(device)
    capacity = plant.kwp * share
    product = energies["pv"] * share
    return {
        "installed_capacity": round(capacity, 3),
        "product_power": r3(product),
        "perpower_ratio": r3(product / capacity) if capacity else 0.0,
    }


def h_dev_kpi_day(sim: Simulator, ctx: Ctx) -> Reply:
    """getDevKpiDay (§3.6.3, keys §4.8)."""
    devices = _legacy_devices(sim, ctx, const.DEV_KPI_PERIOD_TYPES)
    t = _required_time(ctx.body, "collectTime")
    data = []
    for device in devices:
        plant = device.plant
        today = plant.local_date(ctx.boundary)
        for d in _month_days(plant.local_date(t)):
            if d > today or d < plant.install_date:
                continue
            data.append(
                {
                    "devId": device.dev_id,
                    "collectTime": _ms(plant.day_start(d)),
                    "dataItemMap": _device_period_item(sim, device, d, d, ctx.boundary),
                }
            )
    return Reply(data)


def h_dev_kpi_month(sim: Simulator, ctx: Ctx) -> Reply:
    """getDevKpiMonth (§3.6.4, keys §4.9)."""
    devices = _legacy_devices(sim, ctx, const.DEV_KPI_PERIOD_TYPES)
    t = _required_time(ctx.body, "collectTime")
    data = []
    for device in devices:
        plant = device.plant
        today = plant.local_date(ctx.boundary)
        for first, last in _months(plant.local_date(t).year):
            if first > today or last < plant.install_date:
                continue
            data.append(
                {
                    "devId": device.dev_id,
                    "collectTime": _ms(plant.day_start(first)),
                    "dataItemMap": _device_period_item(sim, device, first, last, ctx.boundary),
                }
            )
    return Reply(data)


def h_dev_kpi_year(sim: Simulator, ctx: Ctx) -> Reply:
    """getDevKpiYear (§3.6.5, keys §4.10)."""
    devices = _legacy_devices(sim, ctx, const.DEV_KPI_PERIOD_TYPES)
    _required_time(ctx.body, "collectTime")
    data = []
    for device in devices:
        plant = device.plant
        today = plant.local_date(ctx.boundary)
        for year in range(plant.install_date.year, today.year + 1):
            first, last = date(year, 1, 1), date(year, 12, 31)
            data.append(
                {
                    "devId": device.dev_id,
                    "collectTime": _ms(plant.day_start(first)),
                    "dataItemMap": _device_period_item(sim, device, first, last, ctx.boundary),
                }
            )
    return Reply(data)


def _int_set(raw: Any) -> set[int] | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    items = raw if isinstance(raw, list) else str(raw).split(",")
    result = {v for v in (_as_int(x) for x in items) if v is not None}
    return result or None


def h_alarm_list(sim: Simulator, ctx: Ctx) -> Reply:
    """getAlarmList (§3.7)."""
    plants = sim._plants_for(ctx, "stationCodes", max_code=20014, unauthorized=20007)
    begin = _required_time(ctx.body, "beginTime")
    end = _required_time(ctx.body, "endTime")
    if begin > end:
        raise ApiError(20023)
    language = ctx.body.get("language")
    if language is None or (isinstance(language, str) and not language.strip()):
        raise ApiError(20024)
    if language not in const.ALARM_LANGUAGES:
        raise ApiError(20025)
    statuses = _int_set(ctx.body.get("status"))
    levels = _int_set(ctx.body.get("levels"))
    dev_types = _int_set(ctx.body.get("devTypes"))
    types = _int_set(ctx.body.get("types"))
    dev_name = ctx.body.get("devName") or None
    data = []
    for plant in plants:
        for alarm in plant.alarms_between(begin, end, ctx.boundary):
            info = alarm.info
            status = 1 if alarm.active_at(ctx.boundary) else 5 if alarm.cleared_by_user else 6
            device = alarm.device
            if statuses is not None and status not in statuses:
                continue
            if levels is not None and info.level not in levels:
                continue
            if dev_types is not None and device.dev_type_id not in dev_types:
                continue
            if types is not None and info.alarm_type not in types:
                continue
            if dev_name is not None and device.name != dev_name:
                continue
            data.append(
                {
                    "stationCode": plant.code,
                    "stationName": plant.name,
                    "alarmName": info.names.get(language, info.names["en_UK"]),
                    "devName": device.name,
                    "repairSuggestion": info.repair,
                    "esnCode": device.sn,
                    "devTypeId": device.dev_type_id,
                    "causeId": 1,
                    "alarmCause": info.cause,
                    "alarmType": info.alarm_type,
                    "raiseTime": _ms(alarm.raise_time),
                    "alarmId": info.alarm_id,
                    "lev": info.level,
                    "status": status,
                }
            )
    return Reply(data)


# --- V7 handlers ----------------------------------------------------------------------------


def _maybe_list(sim: Simulator, paged: dict[str, Any]) -> Any:
    return paged["list"] if sim.quirks.plants_as_list else paged


def h_v7_plants(sim: Simulator, ctx: Ctx) -> Reply:
    """V7 plants (§5.2.1): paged map (quirk plants_as_list: bare list)."""
    page_no, page_size = _paging(ctx.body, required=True)
    items = [_plant_v7_item(p) for p in sim.visible_plants(ctx.account)]
    _, paged = _page(items, page_no, page_size)
    return Reply(_maybe_list(sim, paged))


def _v7_device_item(device: Device) -> dict[str, Any]:
    plant = device.plant
    item: dict[str, Any] = {
        "plantCode": plant.code,
        "dn": device.dn,
        "sn": device.sn,
        "deviceName": device.name,
        "deviceTypeId": device.v7_type_id,
        "dataItemMap": {},
    }
    if device.is_inverter:
        item["dataItemMap"] = {
            "model": device.model,
            "ratedPower": device.rated_power_kw,
            "softwareVersion": device.software_version,
            "optimizerNumber": 0,
        }
    elif device.kind == "battery":
        boundary = floor_slot(plant.anchor_time)
        eod = plant.eod(device, boundary)
        item["dataItemMap"] = {
            "model": device.model,
            "ratedCapacity": device.capacity_kwh,
            "usableCapacity": round(device.capacity_kwh * plant.soh / 100.0, 2),
            "dod": round(100.0 - eod, 1),
        }
    return item


def h_v7_devices(sim: Simulator, ctx: Ctx) -> Reply:
    """V7 devices (§5.2.2): paged map (quirk plants_as_list: bare list)."""
    plants = sim._plants_for(ctx, "plantCodes", max_code=20015, unauthorized=20007)
    page_no, page_size = _paging(ctx.body, required=False)
    type_filter = _as_int(ctx.body.get("deviceTypeId"))
    items = []
    for plant in plants:
        for device in plant.devices:
            if type_filter is not None and device.v7_type_id != type_filter:
                continue
            item = _v7_device_item(device)
            if device.kind == "battery":
                item["dataItemMap"]["dod"] = round(100.0 - plant.eod(device, ctx.now), 1)
            items.append(item)
    _, paged = _page(items, page_no, page_size)
    return Reply(_maybe_list(sim, paged))


def h_vpp_plants(sim: Simulator, ctx: Ctx) -> Reply:
    """vpp/plants (§5.3.3)."""
    plants = sim._plants_for(ctx, "plantCodes", max_code=20015, unauthorized=20007)
    data = []
    for plant in plants:
        state = plant.state(ctx.boundary)
        batteries = plant.batteries
        soc = (state.soc or 0.0) / 100.0
        data.append(
            {
                "plantCode": plant.code,
                "address": plant.address,
                "longitude": plant.longitude,
                "latitude": plant.latitude,
                "installationTime": plant.iso(plant.day_start(plant.install_date) + 36000),
                "inverterPower": round(plant.rated_power_kw * 1000.0, 1),
                "pvPower": round(plant.kwp * 1000.0, 2),
                "capacity": plant.kwp,
                "inverterModel": ",".join(sorted({d.model for d in plant.inverters})) or None,
                "batteryInstallCapacity": round(plant.capacity_kwh, 2) if batteries else None,
                "batteryUsableCapacity": round(plant.capacity_kwh * soc * plant.soh / 100.0, 2)
                if batteries
                else None,
                "batteryModel": ",".join(sorted({d.model for d in batteries})) or None,
            }
        )
    return Reply(data)


def h_v7_realtime(sim: Simulator, ctx: Ctx) -> Reply:
    """vpp/plantRealtimeKpi (§5.3.4): meterPower > 0 export, batteryPower > 0 discharge."""
    plants = sim._plants_for(ctx, "plantCodes", max_code=20015, unauthorized=20007)
    data = []
    meter_key = "pmeterPower" if sim.quirks.pmeter_power else "meterPower"
    for plant in plants:
        state = plant.state(ctx.boundary)
        day, month, total = sim._plant_counters(plant, state)
        has_battery = bool(plant.batteries)
        metered = plant.has_grid_meter
        item: dict[str, Any] = {
            "dayEnergy": r3(day),
            "monthEnergy": r3(month),
            "totalEnergy": r3(total),
            "pvPower": r3(state.pv_kw),
            meter_key: r3(state.grid_kw) if metered else None,
            "batteryPower": r3(state.battery_kw) if has_battery else 0.0,
            "loadPower": r3(state.load_kw) if metered else None,
            "batterySOC": r1(state.soc) if has_battery and state.soc is not None else None,
            "batteryDOD": r1(100.0 - state.eod) if has_battery and state.eod is not None else None,
            "healthState": sim._health(plant, ctx.boundary, "v7"),
        }
        data.append({"plantCode": plant.code, "dataItemMap": item})
    return Reply(data)


def h_v7_five_minutes(sim: Simulator, ctx: Ctx) -> Reply:
    """vpp/plantFiveMinutesKpi (§5.3.5): published slots in [startTime, endTime), one day."""
    raw = ctx.body.get("plantCode")
    if raw is None or not str(raw).strip():
        raise ApiError(20010)
    code = str(raw).strip()
    ctx.record.size = 1
    plant = sim._plants_by_code.get(code)
    visible = sim._visible(ctx.account)
    if plant is None or (visible is not None and code not in visible):
        raise ApiError(20007)
    has_start = ctx.body.get("startTime") is not None
    has_end = ctx.body.get("endTime") is not None
    if not has_start and not has_end:
        raise ApiError(20012)
    if has_start != has_end:
        raise ApiError(30007)
    start = _required_time(ctx.body, "startTime")
    end = _required_time(ctx.body, "endTime")
    if start >= end:
        raise ApiError(20023)
    if plant.local_date(start) != plant.local_date(end - 0.001):
        raise ApiError(const.FIVE_MINUTES_CROSS_DAY_CODE)
    if start < ctx.now - 365 * 86400:
        raise ApiError(20026)
    data = []
    for day, k in plant.slots(plant.local_date(start), ctx.boundary):
        t = day.start + k * SLOT
        if start <= t < end:
            data.append(
                five_minute_plant_item(plant, day, k, compact_tz=sim.quirks.five_minute_compact_tz)
            )
    return Reply(data)


def h_charge_discharge(sim: Simulator, ctx: Ctx) -> Reply:
    """vpp/chargeAndDischarge (§5.3.6) with its error table."""
    body = ctx.body
    codes = _id_list(body.get("plantCodes"), empty=20010, max_code=20015)
    ctx.record.size = len(codes)
    switch = _as_int(body.get("dispatchSwitch"))
    if switch not in (0, 1, 2):
        raise ApiError(20040)
    request_id = _as_int(body.get("requestID"))
    if request_id is None:
        raise ApiError(20044)
    control_type = _as_int(body.get("controlType"))
    target_soc: float | None = None
    duration: int | None = None
    if switch != 0:
        if body.get("controlType") is None:
            raise ApiError(20041)
        if control_type not in (1, 2):
            raise ApiError(20040)
        if control_type == 1:
            target_soc = _as_float(body.get("targetSOC"))
            if target_soc is None or not 0 <= target_soc <= 100:
                raise ApiError(20042)
        else:
            duration = _as_int(body.get("dispatchTime"))
            if duration is None or not 0 <= duration <= 1440:
                raise ApiError(20043)
    power_w: float | None = None
    if switch != 0 and body.get("powerDispatch") is not None:
        power_w = _as_float(body.get("powerDispatch"))
        if power_w is None or power_w == 0:
            raise ApiError(20047)
        if (switch == 1 and power_w < 0) or (switch == 2 and power_w > 0):
            raise ApiError(20047)
    visible = sim._visible(ctx.account)
    plants: list[Plant] = []
    for code in codes:
        plant = sim._plants_by_code.get(code)
        if plant is None or (visible is not None and code not in visible):
            raise ApiError(20045)
        plants.append(plant)
    if request_id in sim.tasks.by_request:
        raise ApiError(20048)
    if control_type == 1 and switch != 0:
        for plant in plants:
            if any(not b.spec.soc_control_supported for b in plant.batteries):
                raise ApiError(20053)
    tasks: list[Task] = []
    data = []
    for i, plant in enumerate(plants):
        inverter = plant.inverters[0] if plant.inverters else None
        ok = bool(plant.batteries) and inverter is not None
        ok = ok and not any(b.control_fails for b in plant.batteries) and not plant.offline
        if switch != 0 and ok and plant.running_task(ctx.boundary) is not None:
            ok = False  # one task per plant at a time
        power_kw = abs(power_w) / 1000.0 if power_w is not None else 0.0
        task = Task(
            uid=sim.tasks.new_uid(),
            request_id=request_id,
            plant=plant,
            switch=switch,
            control_type=control_type if switch != 0 else None,
            target_soc=target_soc,
            duration_min=duration,
            power_kw=power_kw,
            received=ctx.now,
            remote_id=f"{request_id % 10**8:08d}{i:02d}",
            sn=inverter.sn if inverter is not None else "",
            dispatched=ok,
        )
        tasks.append(task)
        if ok:
            plant.add_task(task)
        data.append(
            {
                "plantCode": plant.code,
                "sn": task.sn,
                "dispatchResult": 0 if ok else 1,
                "remoteID": task.remote_id,
            }
        )
    if not any(t.dispatched for t in tasks):
        raise ApiError(20049)
    sim.tasks.by_request[request_id] = tasks
    return Reply(data)


def h_charge_discharge_status(sim: Simulator, ctx: Ctx) -> Reply:
    """vpp/chargeAndDischargeStatus (§5.3.7): status 1 in progress, 0 complete, 2 timeout."""
    request_id = _as_int(ctx.body.get("requestID"))
    if request_id is None:
        raise ApiError(20044)
    tasks = sim.tasks.by_request.get(request_id)
    if tasks is None:
        raise ApiError(20050)
    start_key, end_key = (
        ("startTime", "endTime")
        if sim.quirks.status_example_names
        else ("execStartTime", "execEndTime")
    )
    data = []
    for task in tasks:
        plant = task.plant
        if task.dispatched:
            progress = plant.task_progress(task, ctx.boundary)
            status, energy, end = progress.status, progress.energy_kwh, progress.end_time
        else:
            status, energy, end = 0, 0.0, task.received
        data.append(
            {
                "plantCode": plant.code,
                "sn": task.sn,
                "remoteID": task.remote_id,
                "status": status,
                "chargedCapacity": r3(energy) if task.switch == 1 else None,
                "dischargedCapacity": r3(energy) if task.switch == 2 else None,
                start_key: plant.iso(task.received),
                end_key: plant.iso(end) if end is not None else None,
            }
        )
    if sim.quirks.status_as_map:
        return Reply(data[0] if data else None)
    return Reply(data)


def _v7_devices(sim: Simulator, ctx: Ctx) -> list[Device]:
    dns = _id_list(ctx.body.get("dns"), empty=20011, max_code=20017)
    ctx.record.size = len(dns)
    devices = []
    for dn in dns:
        device = sim._devices_by_dn.get(dn)
        if device is None or not sim._device_visible(ctx.account, device):
            raise ApiError(20046)
        devices.append(device)
    return devices


def h_dod(sim: Simulator, ctx: Ctx) -> Reply:
    """vpp/dod (§5.3.8): clamps to the battery's end-of-discharge SOC range; returns setDOD."""
    devices = _v7_devices(sim, ctx)
    raw = ctx.body.get("dod")
    dod = _as_float(raw)
    if dod is None or not 0 <= dod <= 100:
        raise ApiError(20039)
    data = []
    for device in devices:
        if device.kind != "battery" or device.control_fails or device.plant.offline:
            data.append({"dn": device.dn, "result": 1, "setDOD": None})
            continue
        low, high = device.eod_range
        eod = min(max(100.0 - dod, low), high)
        set_dod = round(100.0 - eod)
        device.plant.set_eod(device, 100.0 - set_dod, ctx.now)
        data.append({"dn": device.dn, "result": 0, "setDOD": set_dod})
    if all(item["result"] == 1 for item in data):
        raise ApiError(20051)
    return Reply(data)


def h_dev_on_off(sim: Simulator, ctx: Ctx) -> Reply:
    """vpp/devOnOff (§5.3.9): controlType 1 on, 2 off."""
    devices = _v7_devices(sim, ctx)
    control = _as_int(ctx.body.get("controlType"))
    if control not in (1, 2):
        raise ApiError(20019)
    data = []
    for device in devices:
        if not device.is_inverter or device.control_fails or device.plant.offline:
            data.append({"dn": device.dn, "result": 1})
            continue
        device.plant.set_inverter_on(device, control == 1, ctx.now)
        data.append({"dn": device.dn, "result": 0})
    if all(item["result"] == 1 for item in data):
        raise ApiError(20052)
    return Reply(data)


def _owner_matches(sim: Simulator, ctx: Ctx, entry: Mapping[str, Any]) -> bool:
    username, email, phone = entry.get("username"), entry.get("email"), entry.get("phone")
    return bool(username or email or phone)


def _enrol(sim: Simulator, ctx: Ctx, plant: Plant) -> None:
    visible = sim._account_plants.get(ctx.account.username)
    if visible is not None:
        visible.add(plant.code)


def h_sn_enrolment(sim: Simulator, ctx: Ctx) -> Reply:
    """vpp/snEnrolment (§5.3.1): binds the plant of a known SN to the account."""
    devices = ctx.body.get("devices")
    if not isinstance(devices, list) or not devices:
        raise ApiError(30001)
    if len(devices) > 1000:
        raise ApiError(30001)
    ctx.record.size = len(devices)
    data = []
    for raw_entry in devices:
        entry: dict[str, Any] = raw_entry if isinstance(raw_entry, dict) else {}
        sn = str(entry.get("sn") or "")
        device = sim._devices_by_sn.get(sn)
        if device is None or not _owner_matches(sim, ctx, entry):
            data.append(
                {
                    "sn": sn,
                    "success": False,
                    "errorMsg": "No SN/username, email, or phone number is found",
                    "plantCode": None,
                    "plantName": None,
                }
            )
            continue
        _enrol(sim, ctx, device.plant)
        data.append(
            {
                "sn": sn,
                "success": True,
                "errorMsg": "",
                "plantCode": device.plant.code,
                "plantName": device.plant.name,
            }
        )
    return Reply(data)


def h_ac_enrolment(sim: Simulator, ctx: Ctx) -> Reply:
    """vpp/acEnrolment (§5.3.2): binds the plant of a known authorization code."""
    codes = _id_list(ctx.body.get("authorizationCodes"), empty=20038, max_code=20038, limit=1000)
    ctx.record.size = len(codes)
    by_ac = {p.authorization_code: p for p in sim.plants}
    data = []
    for code in codes:
        plant = by_ac.get(code)
        if plant is None:
            data.append(
                {
                    "authorizationCode": code,
                    "success": False,
                    "errorMsg": "Not found authorization code",
                    "plantCode": None,
                    "plantName": None,
                }
            )
            continue
        _enrol(sim, ctx, plant)
        data.append(
            {
                "authorizationCode": code,
                "success": True,
                "errorMsg": "",
                "plantCode": plant.code,
                "plantName": plant.name,
            }
        )
    return Reply(data)


def h_sn_is_register(sim: Simulator, ctx: Ctx) -> Reply:
    """community/snIsRegister (§5.4.1)."""
    sns = _id_list(ctx.body.get("sns"), empty=30001, max_code=30002, limit=50)
    ctx.record.size = len(sns)
    account_name = ctx.body.get("account")
    if account_name is None or not str(account_name).strip():
        raise ApiError(30003)
    account = sim.accounts.get(str(account_name))
    if account is None:
        return Reply(None, fail_code=20028, message="user does not exist")
    visible = sim._account_plants.get(account.username)
    data = []
    for sn in sns:
        device = sim._devices_by_sn.get(sn)
        if device is None:
            data.append({"sn": sn, "result": 0})
            continue
        plant = device.plant
        created = plant.iso(plant.day_start(plant.install_date))
        if visible is None or plant.code in visible:
            result = 3 if account.username == ctx.account.username else 1
            data.append({"sn": sn, "result": result, "plantCreateTime": created})
        else:
            data.append({"sn": sn, "result": 2})
    return Reply(data)


HANDLERS: dict[str, Handler] = {
    const.LOGOUT: h_logout,
    const.GET_STATION_LIST: h_station_list,
    const.STATIONS: h_stations,
    const.GET_STATION_REAL_KPI: h_station_real_kpi,
    const.GET_KPI_STATION_HOUR: h_kpi_station_hour,
    const.GET_KPI_STATION_DAY: h_kpi_station_day,
    const.GET_KPI_STATION_MONTH: h_kpi_station_month,
    const.GET_KPI_STATION_YEAR: h_kpi_station_year,
    const.GET_DEV_LIST: h_dev_list,
    const.GET_DEV_REAL_KPI: h_dev_real_kpi,
    const.GET_DEV_FIVE_MINUTES: h_dev_five_minutes,
    const.GET_DEV_KPI_DAY: h_dev_kpi_day,
    const.GET_DEV_KPI_MONTH: h_dev_kpi_month,
    const.GET_DEV_KPI_YEAR: h_dev_kpi_year,
    const.GET_ALARM_LIST: h_alarm_list,
    const.V7_LOGOUT: h_logout,
    const.V7_PLANTS: h_v7_plants,
    const.V7_DEVICES: h_v7_devices,
    const.V7_SN_ENROLMENT: h_sn_enrolment,
    const.V7_AC_ENROLMENT: h_ac_enrolment,
    const.V7_VPP_PLANTS: h_vpp_plants,
    const.V7_REALTIME: h_v7_realtime,
    const.V7_FIVE_MINUTES: h_v7_five_minutes,
    const.V7_CHARGE_DISCHARGE: h_charge_discharge,
    const.V7_CHARGE_DISCHARGE_STATUS: h_charge_discharge_status,
    const.V7_DOD: h_dod,
    const.V7_DEV_ON_OFF: h_dev_on_off,
    const.V7_SN_IS_REGISTER: h_sn_is_register,
}


# --- admin API ------------------------------------------------------------------------------


async def _json_body(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    if not raw.strip():
        return {}
    parsed = json.loads(raw)
    if not isinstance(parsed, dict):
        raise web.HTTPBadRequest(text="JSON object expected")
    return parsed


def _admin_routes(sim: Simulator) -> list[web.RouteDef]:
    async def get_calls(request: web.Request) -> web.Response:
        records = [r.as_dict() for r in sim.calls.records]
        return web.json_response({"summary": sim.calls.summary(), "records": records})

    async def delete_calls(request: web.Request) -> web.Response:
        sim.calls.clear()
        return web.json_response({"ok": True})

    async def get_faults(request: web.Request) -> web.Response:
        return web.json_response([f.as_dict() for f in sim.faults.faults])

    async def post_faults(request: web.Request) -> web.Response:
        body = await _json_body(request)
        endpoint = body.pop("endpoint", None)
        kind = body.pop("kind", None)
        count = int(body.pop("count", 1))
        try:
            fault = sim.faults.add(endpoint, str(kind), count, **body)
        except ValueError as err:
            raise web.HTTPBadRequest(text=str(err)) from err
        return web.json_response(fault.as_dict())

    async def delete_faults(request: web.Request) -> web.Response:
        sim.faults.clear()
        return web.json_response({"ok": True})

    async def get_quirks(request: web.Request) -> web.Response:
        return web.json_response(sim.quirks.as_dict())

    async def post_quirks(request: web.Request) -> web.Response:
        body = await _json_body(request)
        try:
            for name, value in body.items():
                sim.quirks.set(name, bool(value))
        except ValueError as err:
            raise web.HTTPBadRequest(text=str(err)) from err
        return web.json_response(sim.quirks.as_dict())

    def alarm_json(alarm: Alarm) -> dict[str, Any]:
        return {
            "key": alarm.key,
            "alarmId": alarm.alarm_id,
            "plantCode": alarm.device.plant.code,
            "dn": alarm.device.dn,
            "raiseTime": _ms(alarm.raise_time),
            "clearTime": _ms(alarm.clear_time) if alarm.clear_time is not None else None,
            "manual": alarm.manual,
        }

    async def get_alarms(request: web.Request) -> web.Response:
        boundary = sim.boundary()
        return web.json_response(
            [alarm_json(a) for p in sim.plants for a in p.active_alarms(boundary)]
        )

    async def post_alarms(request: web.Request) -> web.Response:
        body = await _json_body(request)
        plant = body.get("plantCode", 0)
        alarm = sim.raise_alarm(
            plant if isinstance(plant, str) else int(plant),
            int(body.get("alarmId", 2032)),
            body.get("dn"),
        )
        return web.json_response(alarm_json(alarm))

    async def delete_alarms(request: web.Request) -> web.Response:
        body = await _json_body(request)
        key = body.get("key") or request.query.get("key")
        return web.json_response({"cleared": sim.clear_alarm(key)})

    async def get_clock(request: web.Request) -> web.Response:
        return web.json_response(
            {"now": sim.now(), "offset": sim.clock_offset, "boundary": sim.boundary()}
        )

    async def post_clock(request: web.Request) -> web.Response:
        body = await _json_body(request)
        if "offset" in body:
            sim.clock_offset = float(body["offset"])
        if "advance" in body:
            sim.clock_offset += float(body["advance"])
        return await get_clock(request)

    async def get_state(request: web.Request) -> web.Response:
        boundary = sim.boundary()
        plants = []
        for plant in sim.plants:
            state = plant.state(boundary)
            plants.append(
                {
                    "plantCode": plant.code,
                    "pvPower": r3(state.pv_kw),
                    "loadPower": r3(state.load_kw),
                    "gridPower": r3(state.grid_kw),
                    "batteryPower": r3(state.battery_kw),
                    "soc": r1(state.soc) if state.soc is not None else None,
                    "eod": state.eod,
                    "health": plant.health(boundary),
                    "devices": [
                        {"dn": d.dn, "id": d.dev_id, "sn": d.sn, "kind": d.kind}
                        for d in plant.devices
                    ],
                }
            )
        return web.json_response({"now": sim.now(), "boundary": boundary, "plants": plants})

    async def post_plant(request: web.Request) -> web.Response:
        body = await _json_body(request)
        try:
            plant = sim.plant(body.get("plantCode", 0))
        except (KeyError, IndexError) as err:
            raise web.HTTPNotFound(text="unknown plant") from err
        if "offline" in body:
            plant.offline = bool(body["offline"])
        return web.json_response({"plantCode": plant.code, "offline": plant.offline})

    async def post_device(request: web.Request) -> web.Response:
        body = await _json_body(request)
        try:
            device = sim.device(body["dn"])
        except KeyError as err:
            raise web.HTTPNotFound(text="unknown device") from err
        if "control_fails" in body:
            device.control_fails = bool(body["control_fails"])
        return web.json_response({"dn": device.dn, "control_fails": device.control_fails})

    async def post_reset_quota(request: web.Request) -> web.Response:
        sim.quota.reset()
        if sim.cloud is not None:
            sim.cloud.flow.reset()
        return web.json_response({"ok": True})

    return [
        web.get("/_sim/calls", get_calls),
        web.delete("/_sim/calls", delete_calls),
        web.get("/_sim/faults", get_faults),
        web.post("/_sim/faults", post_faults),
        web.delete("/_sim/faults", delete_faults),
        web.get("/_sim/quirks", get_quirks),
        web.post("/_sim/quirks", post_quirks),
        web.get("/_sim/alarms", get_alarms),
        web.post("/_sim/alarms", post_alarms),
        web.delete("/_sim/alarms", delete_alarms),
        web.get("/_sim/clock", get_clock),
        web.post("/_sim/clock", post_clock),
        web.get("/_sim/state", get_state),
        web.post("/_sim/quota/reset", post_reset_quota),
        web.post("/_sim/plant", post_plant),
        web.post("/_sim/device", post_device),
    ]


def create_app(sim: Simulator) -> web.Application:
    """The aiohttp application of ``sim`` (API paths + ``/_sim/...`` admin API)."""
    app = web.Application()

    def make(endpoint: str) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def handler(request: web.Request) -> web.StreamResponse:
            return await sim.handle(request, endpoint)

        return handler

    for endpoint in (*const.LOGIN_ENDPOINTS, *HANDLERS, *NBI_ENDPOINTS):
        app.router.add_post(endpoint, make(endpoint))
    for alias, endpoint in const.ENDPOINT_ALIASES.items():
        app.router.add_post(alias, make(endpoint))
    if sim.cloud is not None:  # cloud-2026: any V7 path, any method -> 404 HTML
        app.router.add_route("*", const.V7_PREFIX + "{tail:.*}", _html_404)
    app.add_routes(_admin_routes(sim))
    return app


async def _html_404(request: web.Request) -> web.Response:
    return web.Response(status=404, text=HTML_404, content_type="text/html")
