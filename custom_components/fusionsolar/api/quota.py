"""Per-account quota governor: never send a call that would exceed a quota.

One :class:`QuotaGovernor` per account (host + username), shared by every caller.

* Every endpoint (URL path) has a sliding window of ``QUOTA_WINDOW`` (60 s) plus a
  safety ``margin`` (:mod:`.quotawindow`). A slot is reserved *before* the request is
  sent (:meth:`QuotaGovernor.acquire` returns a :class:`Slot`) and the caller reports
  the outcome on the slot.
* At most one request per endpoint is in flight at a time, so that a surprise refusal
  can never be repeated by concurrent requests already on the wire.
* Priorities: :attr:`Priority.CONTROL` waiters are served before READ waiters of the
  same endpoint; READs leave one slot of headroom on endpoints shared with control
  commands (``CONTROL_SHARED_ENDPOINTS``).
* Learning from refusals, daily budgets, probes, 429 and busy answers:
  :mod:`.quotalearn`. Today's cloud (policy, account size, plan): :mod:`.quotaplan`.
* Persistence: :meth:`QuotaGovernor.export_state` / :meth:`QuotaGovernor.restore_state`
  (JSON-serialisable), so learned limits, blocks and the current window survive
  restarts; :meth:`QuotaGovernor.snapshot` reports usage for diagnostics.

The governor is one object built in layers: :class:`~.quotawindow.QuotaWindows` (the
bookkeeping) <- :class:`~.quotaplan.FlowPlanning` <- :class:`~.quotalearn.RefusalLearning`
<- :class:`QuotaGovernor` (slots and persistence).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from .errors import QuotaWouldExceed
from .flowpolicy import FlowPolicy
from .quotalearn import RefusalLearning
from .quotastate import (
    Priority,
    endpoint_state_json,
    int_map,
    iso,
    merge_endpoint_state,
    opt_float,
    opt_int,
)
from .quotawindow import replace_call

STATE_VERSION = 1
_CONTROL_YIELD = 0.05


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
            self._governor._accepted(self.endpoint)

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
            return self._governor._busy(self.endpoint)
        return self._governor.retry_after(self.endpoint)

    def refused(self, *, daily: bool = False) -> float:
        """The server refused the call for quota; returns seconds until retry.

        ``daily``: the service said a daily limit is used up (failCode 20618).
        """
        if self._finish():
            return self._governor._record_refusal(self.endpoint, self.time, daily=daily)
        return self._governor.retry_after(self.endpoint)


class QuotaGovernor(RefusalLearning):
    """Shared per-account quota bookkeeping (see module docstring)."""

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
                replace_call(st.history, slot.time, now)
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
        replace_call(st.history, slot.time, None)
        st.day_calls = max(0, st.day_calls - 1)
        st.total_calls = max(0, st.total_calls - 1)

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
            "day_offset": self._day_offset,
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
        """Policy (a known one wins over a guess), size, 429 pause, the budgets' day."""
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
        if (offset := opt_float(data.get("day_offset"))) is not None:
            self.set_day_offset(offset)

    def _restore_endpoint(self, key: str, raw: Mapping[str, Any]) -> None:
        st = self._state(key)
        merge_endpoint_state(st, raw)
        self._roll(st, self.now())
