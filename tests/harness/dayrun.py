"""Drive the real integration inside Home Assistant against the simulator, fast.

A :class:`DayRun` sets up a config entry in the ``hass`` test fixture against a
started simulator and moves time with freezegun (``freezer``): the simulator's clock
(``time.time``), the quota governor's (``dt_util.utcnow``), the coordinators' timers
and the event loop's clock all follow it, so a simulated day takes seconds.

Time moves event by event: each step jumps to the next timer of the event loop (a
coordinator refresh, a retry, a quota wait, an HTTP keep-alive...), never more than
``Scenario.max_step``, then lets every task finish what it can (HTTP to the simulator
is real, on loopback). Nothing fires early or late, so quota windows and data ages
are those a real installation would see. ``async_fire_time_changed`` is not used: it
fires timers up to half a second early.

A restart is what a new process sees: the entry is unloaded, ``homeassistant_stop``
makes the account registry save the governor and log out, the registry is dropped
(no client, token or governor left in memory), and after ``Scenario.downtime`` the
entry is set up again; the governor comes back from its Store. A reload keeps the
account (same process).

What a run measures is in :meth:`DayRun.result` (JSON-friendly).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import math
import os
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import aiohttp
import freezegun.api
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import EVENT_HOMEASSISTANT_STOP, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.recorder import get_instance
from homeassistant.util import dt as dt_util
from homeassistant.util.async_ import get_scheduled_timer_handles
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)

from custom_components.fusionsolar.account import DATA_ACCOUNTS
from custom_components.fusionsolar.api.const import (
    LEGACY_TOKEN_LIFETIME,
    LOGIN_ENDPOINTS,
    LOGOUT_ENDPOINTS,
    Endpoint,
)
from custom_components.fusionsolar.const import (
    CONF_HISTORY_DAYS,
    CONF_POLL_ALARMS,
    DOMAIN,
    STALE_AFTER,
)
from tests.conftest import entry_for
from tests.simulator import Simulator
from tests.simulator.testing import NbiTestClient

from .truth import PowerFlowCheck, dashboard_issues, lifetime_counters

HOUR = 3600.0
SLOT = 300.0
# The cloud publishes every 5 minutes; what the user sees may be one refresh plus a
# minute old (issue 10's target).
AGE_TARGET = SLOT + 60.0
STALE_SECONDS = STALE_AFTER.total_seconds()
# Waiting this long (real seconds) with no task finishing and the CPU idle means the
# remaining tasks wait for simulated time (a delayed answer): time moves on.
SETTLE_WATCHDOG = 0.25
MIN_STEP = 0.01

#: Endpoints of the real-time contract (one call per batch and refresh).
REALTIME_ENDPOINTS = frozenset({Endpoint.VPP_PLANT_REALTIME, Endpoint.DEV_REAL_KPI})
#: Real-time plant data without V7 (legacy plant KPIs every refresh).
LEGACY_REALTIME = Endpoint.STATION_REAL_KPI
SESSION_ENDPOINTS = frozenset({*LOGIN_ENDPOINTS, *LOGOUT_ENDPOINTS})

#: Options for the quota contract: only the real-time data and the slow metadata.
CONTRACT_OPTIONS: Mapping[str, Any] = {CONF_POLL_ALARMS: False, CONF_HISTORY_DAYS: 1}

INTEGRATION_LOGGER = "custom_components.fusionsolar"
_SLEEP_WAKEUP = asyncio.futures._set_result_unless_cancelled  # type: ignore[attr-defined]


@dataclass(frozen=True)
class FaultAt:
    """Something that goes wrong at a simulated hour.

    ``kind`` is a simulator fault kind (``sim.faults.add(endpoint, kind, count, **opts)``),
    or ``quirk_on`` / ``quirk_off`` (``endpoint`` names the quirk), or
    ``invalidate_sessions`` (every token of the account dropped, as another login does
    in single-session mode).
    """

    at_h: float
    endpoint: str | None
    kind: str
    count: int = 1
    label: str = ""
    opts: Mapping[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """Short label for reports."""
        return self.label or f"{self.kind} on {self.endpoint or 'any endpoint'}"


@dataclass(frozen=True)
class Scenario:
    """What to simulate (hours are counted from the start of the run)."""

    name: str
    plants: int = 1
    profile: str = "spec"
    hours: float = 24.0
    max_step: float = 60.0
    start: str = "2025-06-16 00:00:00+00:00"  # a Monday (the field maintenance is Sundays)
    restarts: Sequence[float] = (12.04,)  # mid-slot, as real restarts are
    reloads: Sequence[float] = ()
    other_logins: Sequence[float] = ()  # another tool logs in to the same account
    faults: Sequence[FaultAt] = ()
    options: Mapping[str, Any] = field(default_factory=lambda: dict(CONTRACT_OPTIONS))
    simulator: Mapping[str, Any] = field(default_factory=dict)
    downtime: float = 60.0  # seconds between the stop and the start of a restart
    recorder: bool = False  # load the recorder (history import) - benchmarks only
    description: str = ""


@dataclass
class Segment:
    """What the watched entities showed from ``start`` to ``end`` (epoch seconds)."""

    start: float
    end: float
    unavailable: int
    unavailable_fresh: int
    ages: Counter[float]  # data age at ``start`` -> number of available entities
    loaded: bool = True  # False: the entry was not loaded (setup failed, retrying)

    @property
    def max_age_end(self) -> float | None:
        """The oldest data shown, just before the segment ended."""
        return max(self.ages) + self.end - self.start if self.ages else None


class _LogCollector(logging.Handler):
    """Collects the integration's log records (INFO and above) with simulated time."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[tuple[float, int, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        with contextlib.suppress(Exception):
            self.records.append((time.time(), record.levelno, record.getMessage()))


def real_monotonic() -> float:
    """Real (not frozen) monotonic time."""
    # Looked up at call time: freezegun replaces module-level references to it.
    return float(freezegun.api.real_monotonic())


def rss_bytes() -> int:
    """Current resident set size of this process."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:  # pragma: no cover - not Linux
        return 0


class DayRun:
    """One scenario: set up, run, restart/reload, inject faults, measure."""

    def __init__(
        self,
        hass: HomeAssistant,
        freezer: FrozenDateTimeFactory,
        sim: Simulator,
        scenario: Scenario,
    ) -> None:
        """Prepare a run; the simulator must be started."""
        self.hass = hass
        self.freezer = freezer
        self.sim = sim
        self.scenario = scenario
        self.entry: MockConfigEntry = entry_for(sim, **scenario.options)
        self.t0 = time.time()
        self.segments: list[Segment] = []
        self.downtime: list[tuple[float, float]] = []
        self.setup_seconds: list[float] = []
        self.setup_simulated: list[float] = []
        self.events: list[tuple[float, str]] = []
        self.refresh_interval_seen: list[tuple[float, float]] = []
        self.flaps: list[float] = []  # hours at which a watched entity became unavailable
        self.flapped: Counter[str] = Counter()  # which entities, how often
        self.idle_settles = 0
        self.cpu_run = 0.0
        self.sim_cpu = 0.0
        self.rss: dict[str, int] = {"baseline": rss_bytes()}
        self._sampled: dict[str, tuple[str, str]] = {}
        self._available: set[str] = set()
        self._ever_available: set[str] = set()
        self._pending: Segment | None = None
        self._logs = _LogCollector()
        self._session: aiohttp.ClientSession | None = None
        self._other_tool_calls: set[int] = set()  # ids of the records of another tool's calls
        self._indexed = -1  # devices listed when the entities were indexed
        self._alarm: _Alarm | None = None
        self.power_flow = PowerFlowCheck()
        self.dashboard: dict[str, Any] | None = None
        # The test harness runs the loop in debug mode: slow, and with a frozen clock
        # it reports every step as a slow callback.
        hass.loop.set_debug(False)
        self._wrap_simulator()

    # ------------------------------------------------------------------ time

    def _wrap_simulator(self) -> None:
        """Count the simulator's own CPU time, to leave it out of the integration's."""
        original = self.sim.handle

        async def timed(request: Any, endpoint: str) -> Any:
            start = time.process_time()
            try:
                return await original(request, endpoint)
            finally:
                self.sim_cpu += time.process_time() - start

        self.sim.handle = timed  # type: ignore[method-assign]

    def now(self) -> float:
        """Simulated time (epoch seconds)."""
        return time.time()

    def hours(self, t: float | None = None) -> float:
        """Simulated hours since the start of the run."""
        return ((self.now() if t is None else t) - self.t0) / HOUR

    async def _settle(self) -> None:
        """Let every Home Assistant task finish what it can without time moving.

        Returns once each task is done or sleeps (simulated time), or when nothing
        has used the CPU for a while (e.g. a request the simulator answers only after
        a simulated delay).
        """
        current = asyncio.current_task()
        spins = 0
        while True:
            # Due timers run after us in the loop iteration: let them start tasks.
            await asyncio.sleep(0)
            await asyncio.sleep(0)
            due = self._next_timer()
            if due is not None and due < 0 and spins < 10:
                spins += 1
                continue
            woken = self._woken_by_timers()
            pending = {
                task
                for task in (*self.hass._tasks, *self.hass._background_tasks)
                if task is not current and not task.done() and not _waits_for(task, woken)
            }
            if not pending:
                return
            if not await self._progress(pending):
                self.idle_settles += 1
                return

    async def _progress(self, pending: set[asyncio.Future[Any]]) -> bool:
        """Wait until a task finishes (True), or the process idles (False)."""
        assert self._alarm is not None
        while True:
            cpu = time.process_time()
            alarm = self._alarm.arm(SETTLE_WATCHDOG)
            done, _ = await asyncio.wait({*pending, alarm}, return_when="FIRST_COMPLETED")
            self._alarm.disarm()
            alarm.cancel()
            if done - {alarm}:
                return True
            if time.process_time() - cpu < SETTLE_WATCHDOG / 10:
                return False

    def _woken_by_timers(self) -> set[object]:
        """Futures a timer will resolve: what ``asyncio.sleep`` waits for.

        (A timeout is a deadline, not a wait: a task under ``asyncio.timeout`` may wait
        for I/O, so only sleeps count.)
        """
        return {
            handle._args[0]
            for handle in get_scheduled_timer_handles(self.hass.loop)
            if not handle.cancelled() and handle._callback is _SLEEP_WAKEUP  # type: ignore[attr-defined]
        }

    def _next_timer(self) -> float | None:
        """Seconds until the event loop's next timer (None: none scheduled)."""
        whens = [
            handle.when()
            for handle in get_scheduled_timer_handles(self.hass.loop)
            if not handle.cancelled() and not _is_housekeeping(handle)
        ]
        return min(whens) - self.hass.loop.time() if whens else None

    def _next_step(self, limit: float) -> float:
        due = self._next_timer()
        step = limit if due is None else min(limit, max(due, 0.0) + 0.001)
        return max(step, MIN_STEP)

    async def _tick(self, limit: float) -> None:
        """Move to the next timer (at most ``limit`` s) outside the measured run."""
        self.freezer.tick(self._next_step(limit))
        await self._settle()

    async def _step(self, limit: float) -> None:
        """One measured step: account what the user saw until now, then run what is due."""
        self.freezer.tick(self._next_step(limit))
        self._close_segment()
        cpu = time.process_time()
        await self._settle()
        self.cpu_run += time.process_time() - cpu
        self._open_segment()

    async def _drive[T](self, awaitable: Coroutine[Any, Any, T]) -> T:
        """Await a setup/reload/unload, moving time while it waits for the quota."""
        task = self.hass.async_create_task(awaitable, eager_start=True)
        while not task.done():
            await self._settle()
            if not task.done():
                await self._tick(self.scenario.max_step)
        return task.result()

    async def advance_to(self, target: float) -> None:
        """Run until the simulated epoch time ``target``."""
        while (left := target - self.now()) > 1e-6:
            hour = int(self.hours())
            await self._step(min(left, self.scenario.max_step))
            if self.entry.state is ConfigEntryState.LOADED and self.power_flow.due(self.now()):
                self.power_flow.sample(self.hass, self.entry, self.sim, self.now())
            if int(self.hours()) != hour:
                self._sample_refresh_interval()

    async def advance(self, seconds: float) -> None:
        """Run for ``seconds`` of simulated time."""
        await self.advance_to(self.now() + seconds)

    # ------------------------------------------------------------------ lifecycle

    async def async_setup(self) -> None:
        """Add the entry and set it up (the measured setup)."""
        logging.getLogger(INTEGRATION_LOGGER).addHandler(self._logs)
        self._alarm = _Alarm()
        self.entry.add_to_hass(self.hass)
        await self._timed_setup()
        gc.collect()
        self.rss["after_setup"] = rss_bytes()
        self._open_segment()

    async def _timed_setup(self) -> None:
        """Set the entry up; a failed attempt is retried by Home Assistant later."""
        start = real_monotonic()
        begin = self.now()
        await self._drive(self.hass.config_entries.async_setup(self.entry.entry_id))
        while self.entry.state is ConfigEntryState.SETUP_IN_PROGRESS:
            await self._tick(self.scenario.max_step)
        if self.entry.state is not ConfigEntryState.LOADED:
            self.events.append((self.hours(), f"setup failed: {self.entry.reason}"))
        self.setup_seconds.append(real_monotonic() - start)
        self.setup_simulated.append(self.now() - begin)

    async def restart(self) -> None:
        """Stop Home Assistant (save, log out) and start it again: a new process."""
        self.events.append((self.hours(), "restart"))
        self._close_segment()
        begin = self.now()
        assert await self._drive(self.hass.config_entries.async_unload(self.entry.entry_id))
        self.hass.bus.async_fire(EVENT_HOMEASSISTANT_STOP)
        await self._settle()
        self.hass.data.pop(DATA_ACCOUNTS, None)
        self.freezer.tick(self.scenario.downtime)
        await self._settle()
        self.downtime.append((begin, self.now()))
        await self._timed_setup()
        self._open_segment()

    async def reload(self) -> None:
        """Reload the entry (same process: the account and its tokens stay)."""
        self.events.append((self.hours(), "reload"))
        self._close_segment()
        begin = self.now()
        assert await self._drive(self.hass.config_entries.async_reload(self.entry.entry_id))
        self.downtime.append((begin, self.now()))
        self._open_segment()

    async def other_login(self) -> None:
        """Another tool logs in to the same account (legacy family), for real."""
        self.events.append((self.hours(), "other login"))
        if self._session is None:
            self._session = aiohttp.ClientSession()
        before = len(self.sim.calls.records)
        response = await NbiTestClient(self.sim, self._session).login("legacy")
        response.release()
        self._other_tool_calls.update(id(r) for r in self.sim.calls.records[before:])

    def arm(self, fault: FaultAt) -> None:
        """Make ``fault`` happen now."""
        self.events.append((self.hours(), fault.name))
        if fault.kind == "invalidate_sessions":
            self.sim.invalidate_sessions()
        elif fault.kind in ("quirk_on", "quirk_off"):
            assert fault.endpoint is not None
            self.sim.quirks.set(fault.endpoint, fault.kind == "quirk_on")
        else:
            self.sim.faults.add(fault.endpoint, fault.kind, count=fault.count, **dict(fault.opts))

    async def run(self) -> dict[str, Any]:
        """Set up, run the scenario with its actions, tear down; return the result."""
        scenario = self.scenario
        actions: list[tuple[float, int, Callable[[], Awaitable[None] | None]]] = [
            *((at, 0, self.restart) for at in scenario.restarts),
            *((at, 1, self.reload) for at in scenario.reloads),
            *((at, 2, self.other_login) for at in scenario.other_logins),
            *((f.at_h, 3, lambda f=f: self.arm(f)) for f in scenario.faults),
        ]
        actions.sort(key=lambda item: (item[0], item[1]))
        try:
            await self.async_setup()
            for at, _, action in actions:
                await self.advance_to(self.t0 + at * HOUR)
                if (pending := action()) is not None:
                    await pending
                await self._settle()
            await self.advance_to(self.t0 + scenario.hours * HOUR)
            self._close_segment()
            self._sample_refresh_interval()
            if scenario.recorder:
                self.dashboard = await self._validate_dashboard()
            gc.collect()
            self.rss["end"] = rss_bytes()
        finally:
            await self.async_teardown()
        return self.result()

    async def _validate_dashboard(self) -> dict[str, Any]:
        """The Energy dashboard on the first plant's lifetime counters, validated."""
        await async_wait_recording_done(self.hass)
        # Compile the sensors' statistics as the recorder does every 5 minutes (its own
        # timer does not fire under the test recorder): the validator reads them.
        get_instance(self.hass).async_periodic_statistics()
        await async_wait_recording_done(self.hass)
        counters = lifetime_counters(self.hass, self.entry, self.sim.plants[0].code)
        shown = {slot: _state_of(self.hass, entity_id) for slot, entity_id in counters.items()}
        return {
            "counters": counters,
            "states": shown,
            "issues": await dashboard_issues(self.hass, counters),
        }

    async def async_teardown(self) -> None:
        """Unload the entry and stop collecting."""
        logging.getLogger(INTEGRATION_LOGGER).removeHandler(self._logs)
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self.entry.state is ConfigEntryState.LOADED:
            await self.hass.config_entries.async_unload(self.entry.entry_id)
            await self._settle()
        if self._alarm is not None:
            self._alarm.close()
            self._alarm = None

    # ------------------------------------------------------------------ what the user sees

    def _index_entities(self) -> None:
        """Pick one sensor per plant and per device to watch (availability, data age)."""
        entities = er.async_get(self.hass)
        devices = dr.async_get(self.hass)
        plants = self.entry.runtime_data.metadata.data.plants
        chosen: dict[str, str] = {}
        for entity in er.async_entries_for_config_entry(entities, self.entry.entry_id):
            if (
                entity.domain == "sensor"
                and entity.disabled_by is None
                and entity.entity_category is None
                and entity.device_id is not None
                and entity.device_id not in chosen
            ):
                chosen[entity.device_id] = entity.entity_id
        for device_id, entity_id in chosen.items():
            device = devices.async_get(device_id)
            key = next(
                (
                    ident
                    for domain, ident in (device.identifiers if device else ())
                    if domain == DOMAIN
                ),
                None,
            )
            if key is not None:
                self._sampled[entity_id] = ("plant" if key in plants else "device", key)

    def _updated(self, kind: str, key: str) -> datetime | None:
        runtime = self.entry.runtime_data
        coordinator = runtime.plants if kind == "plant" else runtime.devices
        state = (coordinator.data or {}).get(key)
        return None if state is None else state.updated

    def _open_segment(self) -> None:
        """Record what the watched entities show from now on."""
        now = self.now()
        if self.entry.state is not ConfigEntryState.LOADED:
            self._pending = Segment(now, now, len(self._sampled), 0, Counter(), loaded=False)
            return
        # Devices listed later (a list the quota cut short) get entities at run time.
        registered = len(
            er.async_entries_for_config_entry(er.async_get(self.hass), self.entry.entry_id)
        )
        if registered != self._indexed:
            self._index_entities()
            self._indexed = registered
        ages: Counter[float] = Counter()
        unavailable = unavailable_fresh = 0
        now_dt = dt_util.utcnow()
        for entity_id, (kind, key) in self._sampled.items():
            state = self.hass.states.get(entity_id)
            updated = self._updated(kind, key)
            age = None if updated is None else (now_dt - updated).total_seconds()
            if state is None or state.state == STATE_UNAVAILABLE:
                unavailable += 1
                if age is not None and age < STALE_SECONDS:
                    unavailable_fresh += 1
                if entity_id in self._available:
                    self._available.discard(entity_id)
                    self.flaps.append(self.hours(now))
                    self.flapped[entity_id] += 1
                continue
            self._available.add(entity_id)
            self._ever_available.add(entity_id)
            if age is not None:
                ages[round(age, 3)] += 1
        self._pending = Segment(now, now, unavailable, unavailable_fresh, ages)

    def _close_segment(self) -> None:
        if self._pending is None:
            return
        self._pending.end = self.now()
        if self._pending.end > self._pending.start:
            self.segments.append(self._pending)
        self._pending = None

    def _sample_refresh_interval(self) -> None:
        """Read the achieved refresh interval the integration reports."""
        entities = er.async_get(self.hass)
        values = []
        for entity in er.async_entries_for_config_entry(entities, self.entry.entry_id):
            if entity.unique_id.endswith("_refresh_interval"):
                state = self.hass.states.get(entity.entity_id)
                if state is not None and _is_float(state.state):
                    values.append(float(state.state))
        if values:
            self.refresh_interval_seen.append((self.hours(), max(values)))

    # ------------------------------------------------------------------ results

    def records(self, start_h: float = 0.0, end_h: float | None = None) -> list[Any]:
        """The integration's calls to the simulator between two simulated hours.

        Another tool's logins are not ours: one refused because it came within the
        login quota's minute of our token renewal is that tool's refusal.
        """
        lo = self.t0 + start_h * HOUR
        hi = self.t0 + (self.scenario.hours if end_h is None else end_h) * HOUR
        return [
            r
            for r in self.sim.calls.records
            if lo <= r.time < hi and id(r) not in self._other_tool_calls
        ]

    def result(self) -> dict[str, Any]:
        """Everything measured, JSON-friendly."""
        scenario = self.scenario
        records = self.records()
        calls = Counter(r.endpoint for r in records)
        hours = math.ceil(scenario.hours)
        hourly: dict[str, list[int]] = defaultdict(lambda: [0] * hours)
        for r in records:
            hourly[r.endpoint][min(int((r.time - self.t0) // HOUR), hours - 1)] += 1
        return {
            "scenario": scenario.name,
            "description": scenario.description,
            "profile": scenario.profile,
            "quirks": self.sim.quirks.enabled(),
            "plants": scenario.plants,
            "devices": self._device_types(),
            "options": dict(scenario.options),
            "hours": scenario.hours,
            "events": [{"hour": round(h, 3), "what": what} for h, what in self.events],
            "calls_total": len(records),
            "calls": dict(sorted(calls.items())),
            "calls_per_hour": {k: round(v / scenario.hours, 2) for k, v in sorted(calls.items())},
            "calls_hourly": dict(sorted(hourly.items())),
            "fail_codes": dict(Counter(str(r.fail_code) for r in records if r.fail_code)),
            "http_errors": dict(
                Counter(str(r.http_status) for r in records if r.http_status >= 400)
            ),
            "quota_refusals": sum(1 for r in records if r.quota_refused),
            "refusals": self._refusals(records),
            "calls_after_refusal": calls_after_refusal(records),
            "contract": self._contract(calls),
            "data_age": self.ages(self.segments),
            "availability": self._availability(),
            "refresh_interval_s": {
                "max": max((v for _, v in self.refresh_interval_seen), default=None),
                "last": self.refresh_interval_seen[-1][1] if self.refresh_interval_seen else None,
            },
            "setup_seconds": [round(s, 3) for s in self.setup_seconds],
            "setup_simulated_s": [round(s, 1) for s in self.setup_simulated],
            "cpu": self._cpu(records),
            "memory_mb": {k: round(v / 2**20, 1) for k, v in self.rss.items()},
            "logs": self._log_summary(),
            "idle_settles": self.idle_settles,
            "power_flow": self.power_flow.result(),
            "energy_dashboard": self.dashboard,
        }

    def _device_types(self) -> dict[str, int]:
        """Devices per devTypeId as the simulator lists them (today's cloud: its catalogue)."""
        if self.sim.cloud is not None:
            codes = [plant.code for plant in self.sim.plants]
            counts = self.sim.cloud.catalog.count_by_type(codes)
            return {str(dev_type): count for dev_type, count in sorted(counts.items())}
        kinds: Counter[str] = Counter()
        for plant in self.sim.plants:
            for device in plant.devices:
                kinds[str(device.dev_type_id)] += 1
        return dict(kinds)

    def _refusals(self, records: Sequence[Any]) -> dict[str, Any]:
        """Quota refusals per endpoint, and those repeated after a restart."""
        per_endpoint: dict[str, list[float]] = defaultdict(list)
        for r in records:
            if r.quota_refused:
                per_endpoint[r.endpoint].append(round(self.hours(r.time), 3))
        restart = min(self.scenario.restarts, default=None)
        repeated = (
            sum(
                1
                for hours in per_endpoint.values()
                if hours[0] < restart
                for h in hours
                if h >= restart
            )
            if restart is not None
            else 0
        )
        return {
            "per_endpoint": dict(per_endpoint),
            "max_per_endpoint": max((len(h) for h in per_endpoint.values()), default=0),
            "repeated_after_restart": repeated,
        }

    def _contract(self, calls: Mapping[str, int]) -> dict[str, Any]:
        """Actual calls against the theoretical minimum of issue 10."""
        scenario = self.scenario
        batches = math.ceil(scenario.plants / 100)
        per_type = sum(math.ceil(n / 100) for n in self._device_types().values())
        cycles = scenario.hours * HOUR / SLOT
        v7 = calls.get(Endpoint.VPP_PLANT_REALTIME, 0) > 0
        plant_source = Endpoint.VPP_PLANT_REALTIME if v7 else LEGACY_REALTIME
        # A legacy token lives 30 minutes from its login (spec §3.1): a login per half hour.
        starts = 1 + len(scenario.restarts)
        legacy_logins = math.ceil(scenario.hours * HOUR / LEGACY_TOKEN_LIFETIME) + starts - 1
        minimum_logins = legacy_logins + (starts if v7 else 0)
        minimum = cycles * (batches + per_type) + minimum_logins
        realtime = calls.get(plant_source, 0) + calls.get(Endpoint.DEV_REAL_KPI, 0)
        logins = sum(calls.get(e, 0) for e in LOGIN_ENDPOINTS)
        total = sum(calls.values())
        return {
            "minimum_per_refresh": batches + per_type,
            "minimum": minimum,
            "realtime_calls": realtime,
            "logins": logins,
            "plant_source": str(plant_source),
            "ratio_realtime": round((realtime + logins) / minimum, 4),
            "ratio_all": round(total / minimum, 4),
            "other_calls": {
                k: v
                for k, v in sorted(calls.items())
                if k not in (plant_source, Endpoint.DEV_REAL_KPI, *LOGIN_ENDPOINTS)
            },
        }

    @staticmethod
    def ages(segments: Sequence[Segment]) -> dict[str, Any]:
        """Time-weighted median and maximum of the data age shown (available entities)."""
        pieces = [
            (age, age + seg.end - seg.start, n) for seg in segments for age, n in seg.ages.items()
        ]
        if not pieces:
            return {"median_s": None, "max_s": None, "over_target_share": None}
        total = sum((b - a) * n for a, b, n in pieces)

        def below(x: float) -> float:
            return sum(n * min(max(x - a, 0.0), b - a) for a, b, n in pieces)

        low, high = 0.0, max(b for _, b, _ in pieces)
        for _ in range(40):
            mid = (low + high) / 2
            low, high = (mid, high) if below(mid) < total / 2 else (low, mid)
        return {
            "median_s": round(high, 1),
            "max_s": round(max(b for _, b, _ in pieces), 1),
            "over_target_share": round(1 - below(AGE_TARGET) / total, 5),
        }

    def _availability(self) -> dict[str, Any]:
        watched = len(self._sampled)
        seconds = sum(seg.end - seg.start for seg in self.segments)
        unavailable = sum((seg.end - seg.start) * seg.unavailable for seg in self.segments)
        fresh = sum((seg.end - seg.start) * seg.unavailable_fresh for seg in self.segments)
        shown = Counter(self._sampled[e][0] for e in self._ever_available)
        return {
            "watched_entities": watched,
            "plants_with_data": shown["plant"],
            "devices_with_data": shown["device"],
            "unavailable_entity_hours": round(unavailable / HOUR, 3),
            "unavailable_share": round(unavailable / (seconds * watched), 5)
            if seconds and watched
            else None,
            "unavailable_while_fresh_entity_hours": round(fresh / HOUR, 3),
            "became_unavailable": len(self.flaps),
            "became_unavailable_at_h": [round(h, 3) for h in self.flaps[:50]],
            "became_unavailable_entities": dict(self.flapped.most_common(20)),
            "entry_not_loaded_s": round(
                sum(seg.end - seg.start for seg in self.segments if not seg.loaded), 1
            ),
            "restart_reload_downtime_s": round(sum(b - a for a, b in self.downtime), 1),
        }

    def _cpu(self, records: Sequence[Any]) -> dict[str, Any]:
        """CPU of Home Assistant + integration per refresh cycle, simulator excluded."""
        slots = {
            int(r.time // SLOT)
            for r in records
            if r.endpoint in (Endpoint.VPP_PLANT_REALTIME, LEGACY_REALTIME, Endpoint.DEV_REAL_KPI)
        }
        own = max(0.0, self.cpu_run - self.sim_cpu)
        return {
            "process_s": round(self.cpu_run, 3),
            "simulator_s": round(self.sim_cpu, 3),
            "refresh_cycles": len(slots),
            "per_cycle_ms": round(1000 * own / len(slots), 2) if slots else None,
        }

    def _log_summary(self) -> dict[str, Any]:
        levels = Counter(logging.getLevelName(level) for _, level, _ in self._logs.records)
        notable = [
            {"hour": round(self.hours(t), 3), "level": logging.getLevelName(level), "msg": msg}
            for t, level, msg in self._logs.records
        ]
        return {"by_level": dict(levels), "messages": notable[:100]}

    # ------------------------------------------------------------------ windows (soak)

    def logs_between(self, start_h: float, end_h: float, level: int) -> list[str]:
        """Integration log messages at ``level`` or above between two simulated hours."""
        return [
            msg
            for t, lvl, msg in self._logs.records
            if lvl >= level and start_h <= self.hours(t) < end_h
        ]

    def window(self, start_h: float, end_h: float) -> dict[str, Any]:
        """What happened between two simulated hours (one injected fault)."""
        lo, hi = self.t0 + start_h * HOUR, self.t0 + end_h * HOUR
        segments = [
            Segment(max(s.start, lo), min(s.end, hi), s.unavailable, s.unavailable_fresh,
                    Counter({a + max(0.0, lo - s.start): n for a, n in s.ages.items()}), s.loaded)
            for s in self.segments
            if s.end > lo and s.start < hi
        ]  # fmt: skip
        records = self.records(start_h, end_h)
        hits = [r for r in records if r.fault or r.quirk]
        last_hit = max((r.time for r in hits), default=lo)
        fresh_again = next(
            (
                s.start
                for s in segments
                if s.start >= last_hit
                and s.loaded
                and not s.unavailable
                and (s.max_age_end or 0) <= AGE_TARGET
            ),
            None,
        )
        return {
            "hits": len(hits),
            "answers": dict(Counter(_answer(r) for r in hits)),
            "calls": len(records),
            "quota_refusals": sum(1 for r in records if r.quota_refused),
            "calls_after_refusal": calls_after_refusal(records),
            "warnings": len(self.logs_between(start_h, end_h, logging.WARNING)),
            "info": len(self.logs_between(start_h, end_h, logging.INFO)),
            "messages": sorted(set(self.logs_between(start_h, end_h, logging.INFO)))[:5],
            "unavailable_entity_min": round(
                sum((s.end - s.start) * s.unavailable for s in segments) / 60, 2
            ),
            "max_age_s": self.ages(segments)["max_s"],
            "fresh_again_after_s": None
            if fresh_again is None
            else round(fresh_again - last_hit, 1),
        }


def calls_after_refusal(records: Sequence[Any]) -> int:
    """Calls to an endpoint within 60 s after the service refused it for quota."""
    return sum(
        1
        for refusal in records
        if refusal.quota_refused
        for r in records
        if r.endpoint == refusal.endpoint and refusal.time < r.time <= refusal.time + 60
    )


def _answer(record: Any) -> str:
    what = record.fault or record.quirk or "?"
    return f"{what}: HTTP {record.http_status}" + (
        f" failCode {record.fail_code}" if record.fail_code else ""
    )


async def start_run(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    simulator_factory: Callable[..., Awaitable[Simulator]],
    scenario: Scenario,
) -> DayRun:
    """Move the clock to the scenario's start, start its simulator, prepare the run."""
    freezer.move_to(scenario.start)
    sim = await simulator_factory(
        plants=scenario.plants, profile=scenario.profile, **dict(scenario.simulator)
    )
    return DayRun(hass, freezer, sim, scenario)


def _waits_for(task: asyncio.Future[Any], woken: set[object], depth: int = 0) -> bool:
    """Whether ``task`` (or the task it awaits) waits for one of ``woken``."""
    if task in woken:
        return True
    waiter = getattr(task, "_fut_waiter", None)
    if waiter is None:
        return False
    if waiter in woken:
        return True
    return isinstance(waiter, asyncio.Task) and depth < 5 and _waits_for(waiter, woken, depth + 1)


def _is_housekeeping(handle: asyncio.TimerHandle) -> bool:
    """aiohttp's every-2-seconds check for closed TLS transports: not worth a step."""
    args: tuple[Any, ...] = getattr(handle, "_args", None) or ()
    return bool(args) and isinstance(args[0], tuple) and "_cleanup_closed" in args[0]


class _Alarm:
    """One helper thread that resolves a future after some real (not frozen) time.

    The event loop's clock is frozen, so its own timeouts never expire while tasks
    wait for simulated time; this thread wakes the loop instead.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._armed: tuple[asyncio.AbstractEventLoop, asyncio.Future[None], float] | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="benchmark-alarm", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.005):
            with self._lock:
                armed = self._armed
                if armed is None or real_monotonic() < armed[2]:
                    continue
                self._armed = None
            loop, future, _ = armed
            loop.call_soon_threadsafe(_resolve, future)

    def arm(self, seconds: float) -> asyncio.Future[None]:
        """A future resolved ``seconds`` real seconds from now."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._lock:
            self._armed = (loop, future, real_monotonic() + seconds)
        return future

    def disarm(self) -> None:
        """Forget the pending alarm."""
        with self._lock:
            self._armed = None

    def close(self) -> None:
        """Stop the thread."""
        self._stop.set()
        self._thread.join()


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _is_float(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def _state_of(hass: HomeAssistant, entity_id: str) -> str | None:
    state = hass.states.get(entity_id)
    return None if state is None else state.state
