"""The quota governor learns from refusals.

After a refusal (407 or HTTP 403 quotaControl) the endpoint is blocked until the
window has cleared (never the same refusal twice in one window) and:

* if other calls of ours were in the window, the endpoint's limit is lowered to that
  number (min 1): that is what the service actually allowed;
* if none were (the minute cannot explain it), the endpoint backs off (one window,
  doubling with each further refusal in a row, at most an hour). Only evidence of a
  daily limit teaches a **daily budget** (the calls accepted that day): failCode
  20618 (``slot.refused(daily=True)``), or on endpoints where the field reports daily
  budgets (``DAILY_BUDGET_ENDPOINTS``) a second refusal in a row, in a later window.
  The endpoint then waits for the next day. The plant's local day is unknown to the
  governor, so days are **UTC days**. A second refusal in a row while the known
  budget is not used up means the service's day has not turned yet: the budget
  stays, the endpoint waits an hour (a third refusal lowers the budget).
* login/logout refusals only block the window (another client probably logged in).

Probes: when a learned budget is used up, one call is tried an hour later
(:mod:`.quotawindow`). If it is accepted the budget was wrong and is forgotten (at
once, the same day); if refused, the endpoint waits for the next UTC day. A refusal
within a decay interval of a raise doubles the interval (max 14 days).

429 (``slot.system_refused()``): every endpoint of the account pauses, 60 s then
doubling while 429s follow (max 30 min); nothing is learned. 20200 busy
(``slot.busy()``): that endpoint backs off 15 s, doubling (max 5 min); nothing learned.
"""

from __future__ import annotations

from .const import DAILY_BUDGET_ENDPOINTS, LOGIN_ENDPOINTS, LOGOUT_ENDPOINTS, NBI_PREFIX
from .flowpolicy import ENDPOINT_KINDS, FlowPolicy
from .quotaplan import FlowPlanning
from .quotastate import MAX_DECAY_INTERVAL, REFUSAL_HISTORY, EndpointState, next_midnight
from .quotawindow import without_call

DAY_BOUNDARY_RETRY = 3600.0
# Longest pause after refusals the minute window cannot explain (outside daily budgets).
UNEXPLAINED_BACKOFF_MAX = 3600.0
# 429 (system-wide limit): "retry after 1 minute", then longer (26.2 digest §4).
SYSTEM_PAUSE = 60.0
SYSTEM_PAUSE_MAX = 1800.0
# 20200 (system busy, §7.1 #42): a short back-off of the endpoint.
BUSY_BACKOFF = 15.0
BUSY_BACKOFF_MAX = 300.0


class RefusalLearning(FlowPlanning):
    """What the answers teach: accepted calls, refusals, 429 pauses, busy back-offs."""

    def _accepted(self, endpoint: str) -> None:
        st = self._state(endpoint)
        st.unexplained_streak = 0
        st.busy_streak = 0
        self._system_streak = 0
        if endpoint.startswith(NBI_PREFIX):
            self.note_cloud_2026()  # the NBI family answers: today's cloud
        if st.daily_budget is not None and st.day_calls > st.daily_budget:
            # A probe beyond the learned budget was accepted: the evidence no longer
            # holds. Forget it; a real daily limit is learned again (two refusals).
            st.daily_budget = None
            st.budget_used_up = None

    def _record_refusal(self, key: str, sent: float, *, daily: bool = False) -> float:
        """A refused call of ``key``, reserved at ``sent``; returns retry seconds."""
        st = self._state(key)
        now = self.now()
        self._roll(st, now)
        others = len(st.calls) - (1 if sent in st.calls else 0)
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
        rules_wait = self._rules_delay(key, without_call(st.history, sent), now)
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
        elif repeated and budget is not None and calls_before_today == 0:
            # The day's first call refused: the service's day has not turned yet (it
            # counts another day than ours). No smaller budget: try again in an hour.
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

    def _busy(self, endpoint: str) -> float:
        """20200: back off this endpoint briefly, longer while it stays busy."""
        st = self._state(endpoint)
        backoff = min(BUSY_BACKOFF * 2.0**st.busy_streak, BUSY_BACKOFF_MAX)
        st.busy_streak += 1
        st.blocked_until = max(st.blocked_until, self.now() + backoff)
        return self.retry_after(endpoint)

    def _learn_budget(self, st: EndpointState, calls_today: int, now: float) -> None:
        """A daily limit is used up: remember it and wait for the service's next day."""
        budget = max(1, calls_today)
        if st.daily_budget is None or budget < st.daily_budget:
            st.daily_budget = budget
        st.blocked_until = max(st.blocked_until, next_midnight(now, self._day_offset))

    def record_refusal(self, endpoint: str, *, daily: bool = False) -> float:
        """Record a refusal that did not come through a slot; returns retry seconds."""
        key = str(endpoint)
        sent = self.now()
        self._state(key).calls.append(sent)
        return self._record_refusal(key, sent, daily=daily)
