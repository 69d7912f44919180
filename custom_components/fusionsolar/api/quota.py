"""Per-account quota governor: never send a call that would exceed a quota.

One :class:`QuotaGovernor` per account (host + username), shared by every caller.

* Every endpoint (URL path) has a sliding window of ``QUOTA_WINDOW`` (60 s) plus a
  safety ``margin`` (default 1 s, against clock skew with the server). A slot is reserved
  *before* the request is sent (:meth:`QuotaGovernor.acquire` returns a :class:`Slot`)
  and the caller reports the outcome on the slot.
* At most one request per endpoint is in flight at a time, so that a surprise refusal
  can never be repeated by concurrent requests already on the wire.
* Priorities: :attr:`Priority.CONTROL` waiters are served before READ waiters of the
  same endpoint; READs leave one slot of headroom on endpoints shared with control
  commands (``CONTROL_SHARED_ENDPOINTS``).
* Learning. After a refusal (407 or HTTP 403 quotaControl) the endpoint is blocked until
  the window has cleared (never the same refusal twice in one window) and:

  - if other calls of ours were in the window, the endpoint's limit is lowered to that
    number (min 1): that is what the service actually allowed;
  - if none were (the minute cannot explain it), the endpoint backs off (one window,
    doubling with each further refusal in a row, at most an hour). Only evidence of a
    daily limit teaches a **daily budget** (the calls accepted that day): failCode
    20618 (``slot.refused(daily=True)``), or on endpoints where the field reports daily
    budgets (``DAILY_BUDGET_ENDPOINTS``) a second refusal in a row, in a later window.
    The endpoint then waits for the next day. The plant's local day is unknown to the
    governor, so days are **UTC days**. A second refusal in a row while the known
    budget is not used up means the service's day has not turned yet: the budget
    stays, the endpoint waits an hour (a third refusal lowers the budget).
  - login/logout refusals only block the window (another client probably logged in).

* Probes. When a learned budget is used up, one call is tried an hour later. If it is
  accepted the budget was wrong and is forgotten (at once, the same day); if refused,
  the endpoint waits for the next UTC day.
* Decay. A learned limit (or budget) is raised by one after ``decay_interval`` (48 h)
  without refusal, again every interval until it reaches the spec's limit. A refusal
  within an interval of such a raise doubles the interval (max 14 days).
* Persistence: :meth:`export_state` / :meth:`restore_state` (JSON-serialisable), so
  learned limits, blocks and the current window survive restarts.

Today's cloud (SmartPVMS 26.2, see :mod:`.flowpolicy`):

* Policy. The governor starts with ``FlowPolicy.V500R007`` (the per-minute table only;
  nothing above changes). :meth:`QuotaGovernor.note_cloud_2026` (or the first accepted
  call of the ``/rest/openapi/pvms/nbi`` family) makes it ``UNKNOWN``: the static (§7.2)
  and the dynamic (§4.2) rules both apply, a plan valid under either. A 20618, or a 407
  that the per-minute window cannot explain, on a §4.2 endpoint teaches ``DYNAMIC``
  (the static policy has neither); :meth:`QuotaGovernor.set_policy` sets it outright.
* Rules are extra rolling windows on top of the per-minute one (5 min, 30 min, 10 min,
  24 h, per second), each with the same safety margin; limits follow the account's size
  (:meth:`QuotaGovernor.set_account_size`; unknown: the smallest, the strictest).
  :meth:`QuotaGovernor.plan` gives each endpoint's fastest cadence.
* 429 (``slot.system_refused()``): every endpoint of the account pauses, 60 s then
  doubling while 429s follow (max 30 min); nothing is learned. 20200 busy
  (``slot.busy()``): that endpoint backs off 15 s, doubling (max 5 min); nothing learned.
"""

from __future__ import annotations

import asyncio
import time
from bisect import bisect_right
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from .const import (
    CONTROL_SHARED_ENDPOINTS,
    DAILY_BUDGET_ENDPOINTS,
    DEFAULT_LIMIT,
    LOGIN_ENDPOINTS,
    LOGOUT_ENDPOINTS,
    NBI_PREFIX,
    QUOTA_WINDOW,
    SPEC_LIMITS,
)
from .errors import QuotaWouldExceed
from .flowpolicy import (
    ENDPOINT_KINDS,
    STATIC_PER_MINUTE,
    AccountSize,
    EndpointPlan,
    FlowPolicy,
    Rule,
    policy_rules,
)
from .quotastate import (
    DECAY_INTERVAL,
    MAX_DECAY_INTERVAL,
    REFUSAL_HISTORY,
    EndpointState,
    Priority,
    endpoint_state_json,
    int_map,
    iso,
    merge_endpoint_state,
    next_utc_midnight,
    opt_float,
    opt_int,
    utc_day,
)

STATE_VERSION = 1
DAY_BOUNDARY_RETRY = 3600.0
# A used-up learned daily budget is probed once this long after it ran out.
BUDGET_PROBE_AFTER = 3600.0
# Longest pause after refusals the minute window cannot explain (outside daily budgets).
UNEXPLAINED_BACKOFF_MAX = 3600.0
_CONTROL_YIELD = 0.05
# 429 (system-wide limit): "retry after 1 minute", then longer (26.2 digest §4).
SYSTEM_PAUSE = 60.0
SYSTEM_PAUSE_MAX = 1800.0
# 20200 (system busy, §7.1 #42): a short back-off of the endpoint.
BUSY_BACKOFF = 15.0
BUSY_BACKOFF_MAX = 300.0


class Slot:
    """A reserved call. Report exactly one outcome; later reports are ignored."""

    __slots__ = ("_done", "_governor", "endpoint", "priority", "time")

    def __init__(
        self, governor: QuotaGovernor, endpoint: str, when: float, priority: Priority
    ) -> None:
        """Create a slot (only the governor does)."""
        self._governor = governor
        self.endpoint = endpoint
        self.time = when
        self.priority = priority
        self._done = False

    def _finish(self) -> bool:
        if self._done:
            return False
        self._done = True
        self._governor._release(self)
        return True

    def success(self) -> None:
        """The call was answered (whatever the answer, except a quota refusal)."""
        if self._finish():
            self._governor._accepted(self)

    def release(self) -> None:
        """The call may have reached the server (e.g. timeout): it stays counted."""
        self._finish()

    def refund(self) -> None:
        """The call never reached the NBI (connection refused, not an NBI host)."""
        if self._finish():
            self._governor._refund(self)

    def system_refused(self) -> float:
        """429: the interface's system-wide limit; every endpoint pauses. Returns seconds."""
        if self._finish():
            return self._governor._system_refusal()
        return self._governor.retry_after(self.endpoint)

    def busy(self) -> float:
        """20200 system busy: a short back-off of this endpoint. Returns seconds."""
        if self._finish():
            return self._governor._busy(self)
        return self._governor.retry_after(self.endpoint)

    def refused(self, *, daily: bool = False) -> float:
        """The server refused the call for quota; returns seconds until retry.

        ``daily``: the service said a daily limit is used up (failCode 20618).
        """
        if self._finish():
            return self._governor._record_refusal(self, daily=daily)
        return self._governor.retry_after(self.endpoint)


class QuotaGovernor:
    """Shared per-account quota bookkeeping (see module docstring)."""

    def __init__(
        self,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], Awaitable[Any]] | None = None,
        limits: Mapping[str, int] | None = None,
        *,
        margin: float = 1.0,
        decay_interval: float = DECAY_INTERVAL,
        policy: FlowPolicy = FlowPolicy.V500R007,
    ) -> None:
        """Create a governor; ``clock`` returns epoch seconds (default ``time.time``)."""
        self._clock = clock
        self._sleep = sleep
        self._overrides: dict[str, int] = dict(limits) if limits else {}
        self._limits: dict[str, int] = {**SPEC_LIMITS, **self._overrides}
        self._window = QUOTA_WINDOW + max(0.0, margin)
        self._decay_interval = decay_interval
        self._states: dict[str, EndpointState] = {}
        self._margin = max(0.0, margin)
        self._policy = policy
        self._size = AccountSize()
        self._paused_until = 0.0
        self._system_streak = 0

    # ------------------------------------------------------------------ plumbing

    def now(self) -> float:
        """The governor's clock (epoch seconds)."""
        return self._clock() if self._clock is not None else time.time()

    async def _do_sleep(self, seconds: float) -> None:
        if self._sleep is not None:
            await self._sleep(seconds)
        else:
            await asyncio.sleep(seconds)

    @property
    def window(self) -> float:
        """Effective window length in seconds (60 s + margin)."""
        return self._window

    def spec_limit(self, endpoint: str) -> int:
        """The documented (or configured) per-minute limit: §7.2's on today's cloud."""
        key = str(endpoint)
        if self._policy is not FlowPolicy.V500R007 and key not in self._overrides:
            kind = ENDPOINT_KINDS.get(key)
            if kind in STATIC_PER_MINUTE:
                return STATIC_PER_MINUTE[kind]
        return max(1, int(self._limits.get(key, DEFAULT_LIMIT)))

    def _state(self, endpoint: str) -> EndpointState:
        key = str(endpoint)
        st = self._states.get(key)
        if st is None:
            st = self._states[key] = EndpointState(spec_limit=self.spec_limit(key))
            st.decay_interval = self._decay_interval
        return st

    def _roll(self, st: EndpointState, now: float) -> None:
        """Drop expired calls, turn the day, decay learned limits."""
        cutoff = now - self._window
        if st.calls and st.calls[0] <= cutoff:
            st.calls = [t for t in st.calls if t > cutoff]
        day = utc_day(now)
        if st.day != day:
            st.day = day
            st.day_calls = 0
        if (
            (st.learned_limit is not None or st.daily_budget is not None)
            and st.last_refusal is not None
            and now - st.last_refusal >= st.decay_interval
            and (st.last_decay is None or now - st.last_decay >= st.decay_interval)
        ):
            if st.learned_limit is not None:
                st.learned_limit += 1
                if st.learned_limit >= st.spec_limit:
                    st.learned_limit = None
            if st.daily_budget is not None:
                st.daily_budget += 1
            st.last_decay = now

    def _limit_for(self, endpoint: str, st: EndpointState, priority: Priority) -> int:
        limit = st.limit
        if priority is Priority.READ and endpoint in CONTROL_SHARED_ENDPOINTS and limit >= 2:
            limit -= 1
        return limit

    def _delay(self, endpoint: str, st: EndpointState, priority: Priority, now: float) -> float:
        """Seconds until one more call is allowed (0 = now)."""
        self._roll(st, now)
        delay = 0.0
        if st.blocked_until > now:
            delay = st.blocked_until - now
        delay = max(delay, self._budget_delay(st, now), self._paused_until - now)
        self._prune_history(endpoint, st, now)
        delay = max(delay, self._rules_delay(endpoint, st.history, now))
        limit = self._limit_for(endpoint, st, priority)
        if len(st.calls) >= limit:
            delay = max(delay, st.calls[len(st.calls) - limit] + self._window - now)
        return max(0.0, delay)

    def _prune_history(self, endpoint: str, st: EndpointState, now: float) -> None:
        """Keep the calls any policy's windows could count (a policy learned later too)."""
        rules = policy_rules(FlowPolicy.UNKNOWN, endpoint, self._size)
        keep = max((rule.window for rule in rules), default=0.0) + self._margin
        del st.history[: bisect_right(st.history, now - keep)]

    def _rules_delay(self, endpoint: str, calls: list[float], now: float, extra: int = 0) -> float:
        """Seconds until the policy's rules allow ``1 + extra`` more calls (0 = now)."""
        delay = 0.0
        for rule in self.rules(endpoint):
            window = rule.window + self._margin
            recent = calls[bisect_right(calls, now - window) :]
            excess = len(recent) + extra - rule.limit
            if excess >= 0:
                oldest = recent[excess] if excess < len(recent) else now
                delay = max(delay, oldest + window - now)
        return delay

    @staticmethod
    def _budget_delay(st: EndpointState, now: float) -> float:
        """Seconds until the daily budget allows a call: the next day, or an hourly probe."""
        if st.daily_budget is None or st.day_calls < st.daily_budget:
            return 0.0
        until_tomorrow = next_utc_midnight(now) - now
        if st.budget_used_up is None:
            return until_tomorrow
        return max(0.0, min(until_tomorrow, st.budget_used_up + BUDGET_PROBE_AFTER - now))

    # ------------------------------------------------------------------ public API

    async def acquire(
        self,
        endpoint: str,
        *,
        priority: Priority = Priority.READ,
        wait: bool = False,
        max_wait: float | None = None,
    ) -> Slot:
        """Reserve a slot for one call of ``endpoint``.

        ``wait=False`` raises :class:`QuotaWouldExceed` when no slot is free now;
        ``wait=True`` sleeps until one is (at most ``max_wait`` seconds, else raises).
        """
        key = str(endpoint)
        st = self._state(key)
        start = self.now()
        registered = False
        try:
            while True:
                if st.inflight:
                    future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
                    st.released.append(future)
                    if not registered:
                        st.waiters[priority] += 1
                        registered = True
                    await future
                    continue
                now = self.now()
                delay = self._delay(key, st, priority, now)
                control_ahead = priority is Priority.READ and st.waiters[Priority.CONTROL] > 0
                if delay <= 0 and not control_ahead:
                    st.calls.append(now)
                    st.history.append(now)
                    st.day_calls += 1
                    st.total_calls += 1
                    if st.daily_budget is not None and st.day_calls >= st.daily_budget:
                        st.budget_used_up = now
                    st.inflight = True
                    return Slot(self, key, now, priority)
                if delay <= 0:
                    delay = _CONTROL_YIELD
                if not wait:
                    raise QuotaWouldExceed(key, delay)
                if max_wait is not None and (now - start) + delay > max_wait:
                    raise QuotaWouldExceed(key, delay)
                if not registered:
                    st.waiters[priority] += 1
                    registered = True
                await self._do_sleep(delay)
        finally:
            if registered:
                st.waiters[priority] -= 1

    def _release(self, slot: Slot) -> None:
        st = self._state(slot.endpoint)
        # The server saw the call somewhere between send and answer: count it from the
        # answer, so that latency can never shrink the gap the server sees.
        now = self.now()
        if now > slot.time:
            try:
                index = st.calls.index(slot.time)
            except ValueError:
                pass
            else:
                st.calls[index] = now
                st.calls.sort()
                _replace(st.history, slot.time, now)
                slot.time = now
        st.inflight = False
        waiting, st.released = st.released, []
        for future in waiting:
            if not future.done():
                future.set_result(None)

    def _refund(self, slot: Slot) -> None:
        st = self._state(slot.endpoint)
        try:
            st.calls.remove(slot.time)
        except ValueError:
            return
        _replace(st.history, slot.time, None)
        st.day_calls = max(0, st.day_calls - 1)
        st.total_calls = max(0, st.total_calls - 1)

    def _accepted(self, slot: Slot) -> None:
        st = self._state(slot.endpoint)
        st.unexplained_streak = 0
        st.busy_streak = 0
        self._system_streak = 0
        if slot.endpoint.startswith(NBI_PREFIX):
            self.note_cloud_2026()  # the NBI family answers: today's cloud
        if st.daily_budget is not None and st.day_calls > st.daily_budget:
            # A probe beyond the learned budget was accepted: the evidence no longer
            # holds. Forget it; a real daily limit is learned again (two refusals).
            st.daily_budget = None
            st.budget_used_up = None

    def _record_refusal(self, slot: Slot, *, daily: bool = False) -> float:
        key = slot.endpoint
        st = self._state(key)
        now = self.now()
        self._roll(st, now)
        others = len(st.calls) - (1 if slot.time in st.calls else 0)
        calls_before_today = max(0, st.day_calls - 1)
        st.day_calls = calls_before_today  # a refused call is not an accepted call
        st.refusals += 1
        st.last_refusal = now
        st.refusal_times = [*st.refusal_times, now][-REFUSAL_HISTORY:]
        if st.last_decay is not None and now - st.last_decay < st.decay_interval:
            # A probe after decay failed: be slower next time.
            st.decay_interval = min(st.decay_interval * 2, MAX_DECAY_INTERVAL)
        st.blocked_until = max(st.blocked_until, now + self._window)
        if key in LOGIN_ENDPOINTS or key in LOGOUT_ENDPOINTS:
            return self.retry_after(key)
        self._learn_policy(key, daily=daily, minute_explains=others >= st.limit)
        rules_wait = self._rules_delay(key, _without(st.history, slot.time), now)
        if rules_wait > 0 and not daily:
            # The policy's own windows explain it: wait for them, nothing to learn.
            st.blocked_until = max(st.blocked_until, now + rules_wait)
            return self.retry_after(key)
        if others > 0 and not daily:
            if others < st.limit:
                st.learned_limit = max(1, others)
            return self.retry_after(key)
        # Nothing of ours in the window: the minute cannot explain it.
        st.unexplained_streak += 1
        budget = st.daily_budget
        repeated = st.unexplained_streak >= 2 and key in DAILY_BUDGET_ENDPOINTS
        if daily or (budget is not None and calls_before_today >= budget):
            self._learn_budget(st, calls_before_today, now)
        elif repeated and budget is not None and st.unexplained_streak == 2:
            # The service's day has not turned yet (plant's local day lags UTC).
            st.blocked_until = max(st.blocked_until, now + DAY_BOUNDARY_RETRY)
        elif repeated:
            self._learn_budget(st, calls_before_today, now)
        else:
            # A stray refusal, another tool on the account or a passing limit: back
            # off, then try again; only repeated refusals say more.
            backoff = min(self._window * 2 ** (st.unexplained_streak - 1), UNEXPLAINED_BACKOFF_MAX)
            st.blocked_until = max(st.blocked_until, now + backoff)
        return self.retry_after(key)

    def _learn_policy(self, endpoint: str, *, daily: bool, minute_explains: bool) -> None:
        """A 20618, or a 407 the minute cannot explain, on a §4.2 endpoint: dynamic."""
        if self._policy is not FlowPolicy.UNKNOWN or endpoint not in ENDPOINT_KINDS:
            return
        if daily or not minute_explains:
            self.set_policy(FlowPolicy.DYNAMIC)

    def _system_refusal(self) -> float:
        """429: pause every endpoint, longer while 429s follow; nothing is learned."""
        pause = min(SYSTEM_PAUSE * 2.0**self._system_streak, SYSTEM_PAUSE_MAX)
        self._system_streak += 1
        self.pause_all(pause)
        return pause

    def _busy(self, slot: Slot) -> float:
        """20200: back off this endpoint briefly, longer while it stays busy."""
        st = self._state(slot.endpoint)
        backoff = min(BUSY_BACKOFF * 2.0**st.busy_streak, BUSY_BACKOFF_MAX)
        st.busy_streak += 1
        st.blocked_until = max(st.blocked_until, self.now() + backoff)
        return self.retry_after(slot.endpoint)

    @staticmethod
    def _learn_budget(st: EndpointState, calls_today: int, now: float) -> None:
        """A daily limit is used up: remember it and wait for the next UTC day."""
        budget = max(1, calls_today)
        if st.daily_budget is None or budget < st.daily_budget:
            st.daily_budget = budget
        st.blocked_until = max(st.blocked_until, next_utc_midnight(now))

    def record_refusal(self, endpoint: str, *, daily: bool = False) -> float:
        """Record a refusal that did not come through a slot; returns retry seconds."""
        st = self._state(str(endpoint))
        slot = Slot(self, str(endpoint), self.now(), Priority.READ)
        st.calls.append(slot.time)
        slot._done = True
        return self._record_refusal(slot, daily=daily)

    def retry_after(self, endpoint: str, priority: Priority = Priority.READ) -> float:
        """Seconds until ``endpoint`` may be called again (0 = now)."""
        key = str(endpoint)
        return self._delay(key, self._state(key), priority, self.now())

    def can_call(self, endpoint: str, n: int = 1, priority: Priority = Priority.READ) -> bool:
        """Whether ``n`` calls of ``endpoint`` are allowed right now."""
        key = str(endpoint)
        st = self._state(key)
        now = self.now()
        if n <= 0:
            return True
        if self._delay(key, st, priority, now) > 0 or st.inflight:
            return False
        if len(st.calls) + n > self._limit_for(key, st, priority):
            return False
        if self._rules_delay(key, st.history, now, extra=n - 1) > 0:
            return False
        # One call may be a probe beyond a used-up budget (``_delay`` allowed it).
        return st.daily_budget is None or n == 1 or st.day_calls + n <= st.daily_budget

    # ------------------------------------------------------------ today's cloud

    @property
    def policy(self) -> FlowPolicy:
        """The flow-control policy applied (see :mod:`.flowpolicy`)."""
        return self._policy

    def set_policy(self, policy: FlowPolicy) -> None:
        """Apply ``policy`` (e.g. the account is known to have the old static table)."""
        self._policy = policy
        for key, st in self._states.items():
            st.spec_limit = self.spec_limit(key)

    def note_cloud_2026(self) -> None:
        """The host is today's cloud: until the account's policy is known, apply both."""
        if self._policy is FlowPolicy.V500R007:
            self.set_policy(FlowPolicy.UNKNOWN)

    def set_account_size(self, plants: int, devices_by_type: Mapping[int, int]) -> None:
        """The plants and the devices per device type the account manages (§4.2)."""
        self._size = AccountSize(max(0, int(plants)), dict(devices_by_type))

    @property
    def account_size(self) -> AccountSize:
        """The size the §4.2 rules are computed for."""
        return self._size

    def rules(self, endpoint: str) -> tuple[Rule, ...]:
        """The policy's windows of ``endpoint`` on top of the per-minute one."""
        return policy_rules(self._policy, str(endpoint), self._size)

    def pause_all(self, seconds: float) -> None:
        """No endpoint of the account is called for ``seconds`` (429: system-wide)."""
        self._paused_until = max(self._paused_until, self.now() + max(0.0, seconds))

    def plan(self, endpoints: Iterable[str] | None = None) -> dict[str, EndpointPlan]:
        """Each endpoint's fastest cadence: its strictest window, margin included.

        Default endpoints: every §4.2 endpoint and every one with a per-minute limit.
        """
        keys = endpoints if endpoints is not None else sorted({*ENDPOINT_KINDS, *self._limits})
        result: dict[str, EndpointPlan] = {}
        for endpoint in keys:
            windows = self._windows(str(endpoint))
            result[str(endpoint)] = max(windows, key=lambda plan: plan.min_interval)
        return result

    def _windows(self, key: str) -> list[EndpointPlan]:
        """Every window of an endpoint (the minute's and the policy's), margin included."""
        st = self._states.get(key)
        limit = st.limit if st is not None else self.spec_limit(key)
        plans = [EndpointPlan(limit, self._window)]
        return plans + [EndpointPlan(r.limit, r.window + self._margin) for r in self.rules(key)]

    def cycle(self, endpoint: str, calls_per_cycle: int) -> float:
        """Shortest period of a refresh making ``calls_per_cycle`` calls of ``endpoint``.

        Every window counts; calls beyond a window's limit within one refresh must wait
        for their slot (``wait=True``), as pages and batches do.
        """
        return max(plan.cycle(calls_per_cycle) for plan in self._windows(str(endpoint)))

    def flow_snapshot(self) -> dict[str, Any]:
        """Policy, size, pauses and plan, for diagnostics."""
        now = self.now()
        return {
            "policy": self._policy.value,
            "account_size": self._size.as_dict(),
            "paused_until": iso(self._paused_until) if self._paused_until > now else None,
            "plan": {key: plan.as_dict() for key, plan in self.plan().items()},
        }

    def limit(self, endpoint: str) -> int:
        """Effective per-minute limit (learned or spec)."""
        return self._state(str(endpoint)).limit

    def daily_budget(self, endpoint: str) -> int | None:
        """Learned daily budget, if any."""
        return self._state(str(endpoint)).daily_budget

    def calls_in_window(self, endpoint: str) -> int:
        """Calls of ``endpoint`` in the current window."""
        key = str(endpoint)
        st = self._state(key)
        self._roll(st, self.now())
        return len(st.calls)

    def refusals(self, endpoint: str) -> int:
        """Refusals recorded for ``endpoint``."""
        return self._state(str(endpoint)).refusals

    def snapshot(self) -> dict[str, dict[str, Any]]:
        """Per endpoint usage and learned limits, for diagnostics."""
        now = self.now()
        result: dict[str, dict[str, Any]] = {}
        for key in sorted(self._states):
            st = self._states[key]
            self._roll(st, now)
            result[key] = {
                "spec_limit": st.spec_limit,
                "learned_limit": st.learned_limit,
                "effective_limit": st.limit,
                "calls_in_window": len(st.calls),
                "calls_today": st.day_calls,
                "total_calls": st.total_calls,
                "daily_budget": st.daily_budget,
                "refusals": st.refusals,
                "last_refusal": iso(st.last_refusal),
                "refusal_times": [iso(t) for t in st.refusal_times],
                "blocked_until": iso(st.blocked_until) if st.blocked_until > now else None,
                "retry_after": round(self._delay(key, st, Priority.READ, now), 3),
                "decay_interval": st.decay_interval,
            }
        return result

    def export_state(self) -> dict[str, Any]:
        """What must survive a restart (JSON-serialisable)."""
        now = self.now()
        endpoints: dict[str, Any] = {}
        for key, st in self._states.items():
            self._roll(st, now)
            self._prune_history(key, st, now)
            endpoints[key] = endpoint_state_json(st, now)
            if st.history and self._policy is not FlowPolicy.V500R007:
                endpoints[key]["history"] = list(st.history)
        return {
            "version": STATE_VERSION,
            "endpoints": endpoints,
            "policy": self._policy.value,
            "account_size": self._size.as_dict(),
            "paused_until": self._paused_until if self._paused_until > now else None,
        }

    def restore_state(self, data: Mapping[str, Any] | None) -> None:
        """Merge a state from :meth:`export_state`; bad fields are ignored.

        Restoring never loosens anything: windows are merged, the stricter limit, the
        smaller budget and the later block win.
        """
        if not isinstance(data, Mapping):
            return
        self._restore_account(data)
        endpoints = data.get("endpoints")
        if not isinstance(endpoints, Mapping):
            return
        for key, raw in endpoints.items():
            if isinstance(key, str) and isinstance(raw, Mapping):
                self._restore_endpoint(key, raw)

    def _restore_account(self, data: Mapping[str, Any]) -> None:
        """Policy (a known one wins over a guess), size and 429 pause."""
        try:
            policy = FlowPolicy(str(data.get("policy")))
        except ValueError:
            policy = None
        if policy is not None and (
            self._policy is FlowPolicy.V500R007
            or (self._policy is FlowPolicy.UNKNOWN and policy is not FlowPolicy.V500R007)
        ):
            self.set_policy(policy)
        size = data.get("account_size")
        if isinstance(size, Mapping):
            plants = opt_int(size.get("plants"))
            devices = size.get("devices_by_type")
            if plants is not None and isinstance(devices, Mapping):
                self.set_account_size(plants, int_map(devices))
        paused = opt_float(data.get("paused_until"))
        if paused is not None:
            self._paused_until = max(self._paused_until, paused)

    def _restore_endpoint(self, key: str, raw: Mapping[str, Any]) -> None:
        st = self._state(key)
        merge_endpoint_state(st, raw)
        self._roll(st, self.now())


def _replace(calls: list[float], old: float, new: float | None) -> None:
    """Move (or with ``None`` drop) one call time in a sorted list."""
    try:
        calls.remove(old)
    except ValueError:
        return
    if new is not None:
        calls.append(new)
        calls.sort()


def _without(calls: list[float], when: float) -> list[float]:
    """A copy of ``calls`` without one call at ``when``."""
    rest = list(calls)
    _replace(rest, when, None)
    return rest
