"""The simulator: one aiohttp application serving every API family plus an admin API.

``Simulator`` holds the plants, accounts, sessions and dispatch tasks, and the helpers the
handlers share (account scope, published counters). It composes:

- ``pipeline``: the request pipeline every API call goes through (``RequestPipeline``);
- one handler module per API family, each a ``HANDLERS`` table of path -> handler:
  ``legacy`` (``/thirdData``), ``v7`` (``/rest/openapi/pvms/v1``) with its control
  commands in ``control``, and ``nbi`` (profile ``cloud-2026``: ``/rest/openapi/pvms/nbi/v1``
  plus the 26.2 versions of ``/thirdData`` reads, which replace the V500R007 handlers)
  with its control tasks in ``nbi_control``;
- ``admin``: the ``/_sim/...`` admin API.

A further family is one more module with a ``HANDLERS`` table, added in ``_handlers``.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from typing import Any

from aiohttp import web

from . import const, control, legacy, nbi, nbi_control, oauth, v7
from .admin import AdminApi
from .calllog import CallLog
from .cloud2026 import NBI_ENDPOINTS
from .config import Account, Quirks, SimulatorConfig
from .faults import FaultInjector
from .model import (
    ALARM_CATALOG,
    COUNTERS,
    SLOT_H,
    Alarm,
    Counters,
    Device,
    Plant,
    SlotState,
    TaskRegistry,
    floor_slot,
)
from .params import _id_list
from .pipeline import HTML_404, ApiError, Ctx, Handler, RequestPipeline, Session
from .quota import QuotaTracker

Clock = Callable[[], float]


def _default_clock() -> float:
    # looked up at call time so freezegun's patched time.time is honoured
    return time.time()


class Simulator(RequestPipeline):
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
        self.cloud: nbi.CloudRuntime | None = None
        if self.config.is_cloud_2026:
            self.cloud = nbi.CloudRuntime(self)
        self.handlers: dict[str, Handler] = _handlers(self.cloud is not None)
        self.oauth = oauth.OAuthServer(self)
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

    def register_account(self, account: Account) -> None:
        """Give an account (e.g. an OAuth owner's) its plant scope."""
        self._account_plants[account.username] = self._resolve_plants(account)

    def local_day(self, now: float) -> date:
        """The plants' local day at ``now`` (daily budgets count it)."""
        return self._local_day(now)

    def invalidate_sessions(self, username: str | None = None) -> None:
        """Drop every session (of one account), e.g. to test re-login."""
        for token in [
            t
            for t, s in self.sessions.items()
            if username is None or s.account.username == username
        ]:
            del self.sessions[token]

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

    async def stop(self) -> None:
        """Stop listening (ends pending delay/timeout faults first)."""
        if self._stopping is not None:
            self._stopping.set()
            await asyncio.sleep(0)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

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


V500R007_HANDLERS: dict[str, Handler] = {**legacy.HANDLERS, **v7.HANDLERS, **control.HANDLERS}


def _handlers(cloud_2026: bool) -> dict[str, Handler]:
    """Path -> handler of every family the profile serves (cloud-2026: its 26.2 versions)."""
    if cloud_2026:
        return {**V500R007_HANDLERS, **nbi.HANDLERS, **nbi_control.HANDLERS}
    return dict(V500R007_HANDLERS)


def create_app(sim: Simulator) -> web.Application:
    """The aiohttp application of ``sim`` (API paths + ``/_sim/...`` admin API)."""
    app = web.Application()

    def make(endpoint: str) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def handler(request: web.Request) -> web.StreamResponse:
            return await sim.handle(request, endpoint)

        return handler

    for endpoint in (*const.LOGIN_ENDPOINTS, *V500R007_HANDLERS, *NBI_ENDPOINTS):
        app.router.add_post(endpoint, make(endpoint))
    for alias, endpoint in const.ENDPOINT_ALIASES.items():
        app.router.add_post(alias, make(endpoint))
    if sim.cloud is not None:  # cloud-2026: any V7 path, any method -> 404 HTML
        app.router.add_route("*", const.V7_PREFIX + "{tail:.*}", _html_404)
        app.add_routes(sim.oauth.routes())  # OAuth came after V500R007 (26.2 §3.1)
    app.add_routes(AdminApi(sim).routes())
    return app


async def _html_404(request: web.Request) -> web.Response:
    return web.Response(status=404, text=HTML_404, content_type="text/html")
