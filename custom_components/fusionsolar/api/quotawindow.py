"""The quota governor's windows: what each endpoint may send now, and when next.

:class:`QuotaWindows` is the bookkeeping base of :class:`~.quota.QuotaGovernor`: one
:class:`~.quotastate.EndpointState` per endpoint (URL path), a sliding window of
``QUOTA_WINDOW`` (60 s) plus a safety ``margin`` (default 1 s, against clock skew with
the server), the day's calls (the plants' local day, ``set_day_offset``), learned
limits and budgets, blocks, the account's 429 pause and the flow policy's extra
windows (:mod:`.flowpolicy`, today's cloud).
It answers "how long until one more call" (``retry_after``, ``can_call``); reserving
slots, learning and planning live in :mod:`.quota`, :mod:`.quotalearn` and
:mod:`.quotaplan`.

Decay: a learned limit (or budget) is raised by one after ``decay_interval`` (48 h)
without refusal, again every interval until it reaches the spec's limit.
"""

from __future__ import annotations

import asyncio
import time
from bisect import bisect_right
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from .const import CONTROL_SHARED_ENDPOINTS, DEFAULT_LIMIT, QUOTA_WINDOW, SPEC_LIMITS
from .flowpolicy import (
    ENDPOINT_KINDS,
    STATIC_PER_MINUTE,
    AccountSize,
    FlowPolicy,
    Rule,
    policy_rules,
)
from .quotastate import DECAY_INTERVAL, EndpointState, Priority, next_midnight, service_day

# A used-up learned daily budget is probed once this long after it ran out.
BUDGET_PROBE_AFTER = 3600.0


class QuotaWindows:
    """Per-endpoint windows, days and blocks of one account (see module docstring)."""

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
        # Daily budgets count the service's day: the plants' local day (UTC until told).
        self._day_offset = 0.0
        self._system_streak = 0

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

    @property
    def policy(self) -> FlowPolicy:
        """The flow-control policy applied (see :mod:`.flowpolicy`)."""
        return self._policy

    @property
    def account_size(self) -> AccountSize:
        """The size the §4.2 rules are computed for."""
        return self._size

    def set_day_offset(self, seconds: float) -> None:
        """Count daily budgets by the day at this UTC offset: the plants' local day.

        The references do not say which day a daily budget counts; the service keeps
        plant data by the plant's local day, so that is the first guess (a day that
        turns later only costs an hour's wait, `RefusalLearning`). Today's calls stay
        counted when the offset changes.
        """
        now = self.now()
        for st in self._states.values():
            if st.day == service_day(now, self._day_offset):
                st.day = service_day(now, seconds)
        self._day_offset = float(seconds)

    def rules(self, endpoint: str) -> tuple[Rule, ...]:
        """The policy's windows of ``endpoint`` on top of the per-minute one."""
        return policy_rules(self._policy, str(endpoint), self._size)

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
        day = service_day(now, self._day_offset)
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

    def _budget_delay(self, st: EndpointState, now: float) -> float:
        """Seconds until the daily budget allows a call: the next day, or an hourly probe."""
        if st.daily_budget is None or st.day_calls < st.daily_budget:
            return 0.0
        until_tomorrow = next_midnight(now, self._day_offset) - now
        if st.budget_used_up is None:
            return until_tomorrow
        return max(0.0, min(until_tomorrow, st.budget_used_up + BUDGET_PROBE_AFTER - now))

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


def replace_call(calls: list[float], old: float, new: float | None) -> None:
    """Move (or with ``None`` drop) one call time in a sorted list."""
    try:
        calls.remove(old)
    except ValueError:
        return
    if new is not None:
        calls.append(new)
        calls.sort()


def without_call(calls: list[float], when: float) -> list[float]:
    """A copy of ``calls`` without one call at ``when``."""
    rest = list(calls)
    replace_call(rest, when, None)
    return rest
