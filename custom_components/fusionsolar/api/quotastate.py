"""The quota governor's state of one endpoint, and its persisted form.

:class:`EndpointState` is what :class:`~.quota.QuotaGovernor` knows of one endpoint;
:func:`endpoint_state_json` and :func:`merge_endpoint_state` store and restore it
across restarts (restoring never loosens: the stricter limit, the smaller budget and
the later block win). The parsing helpers accept only well-formed values.
"""

from __future__ import annotations

import asyncio
import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import IntEnum
from typing import Any

DECAY_INTERVAL = 48 * 3600.0
MAX_DECAY_INTERVAL = 14 * 24 * 3600.0
#: Refusal times kept per endpoint.
REFUSAL_HISTORY = 10


class Priority(IntEnum):
    """Who is asking: control commands go first."""

    CONTROL = 0
    READ = 1


def service_day(ts: float, offset: float = 0.0) -> str:
    """The date of an epoch time at a UTC offset (seconds; 0 = UTC), as ISO text."""
    return datetime.fromtimestamp(ts + offset, UTC).date().isoformat()


def next_midnight(ts: float, offset: float = 0.0) -> float:
    """The epoch time of the first midnight after ``ts`` at a UTC offset (seconds)."""
    local = datetime.fromtimestamp(ts + offset, UTC)
    day = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return (day + timedelta(days=1)).timestamp() - offset


@dataclass(slots=True)
class EndpointState:
    """What the governor knows of one endpoint: calls, learned limits, refusals."""

    spec_limit: int
    learned_limit: int | None = None
    daily_budget: int | None = None
    calls: list[float] = field(default_factory=list)
    blocked_until: float = 0.0
    refusals: int = 0
    refusal_times: list[float] = field(default_factory=list)
    last_refusal: float | None = None
    last_decay: float | None = None
    decay_interval: float = DECAY_INTERVAL
    unexplained_streak: int = 0  # refusals the minute cannot explain, in a row
    budget_used_up: float | None = None  # when the day's learned budget ran out
    day: str | None = None
    day_calls: int = 0
    total_calls: int = 0
    inflight: bool = False
    history: list[float] = field(default_factory=list)  # calls, for the policy's rules
    busy_streak: int = 0
    waiters: dict[Priority, int] = field(
        default_factory=lambda: {Priority.CONTROL: 0, Priority.READ: 0}
    )
    released: list[asyncio.Future[None]] = field(default_factory=list)

    @property
    def limit(self) -> int:
        if self.learned_limit is None:
            return self.spec_limit
        return max(1, min(self.spec_limit, self.learned_limit))


def endpoint_state_json(st: EndpointState, now: float) -> dict[str, Any]:
    """What must survive a restart of one endpoint (JSON-serialisable)."""
    return {
        "learned_limit": st.learned_limit,
        "daily_budget": st.daily_budget,
        "calls": list(st.calls),
        "blocked_until": st.blocked_until if st.blocked_until > now else None,
        "refusals": st.refusals,
        "refusal_times": list(st.refusal_times),
        "last_refusal": st.last_refusal,
        "last_decay": st.last_decay,
        "decay_interval": st.decay_interval,
        "unexplained_streak": st.unexplained_streak,
        "budget_used_up": st.budget_used_up,
        "day": st.day,
        "day_calls": st.day_calls,
    }


def merge_endpoint_state(st: EndpointState, raw: Mapping[str, Any]) -> None:
    """Merge a stored endpoint state into ``st``: never loosen (see restore_state)."""
    history = raw.get("history")
    if isinstance(history, list):
        restored = Counter(float(t) for t in history if is_number(t))
        st.history = sorted((Counter(st.history) | restored).elements())
    learned = opt_int(raw.get("learned_limit"))
    if learned is not None and learned >= 1:
        st.learned_limit = learned if st.learned_limit is None else min(learned, st.learned_limit)
    budget = opt_int(raw.get("daily_budget"))
    if budget is not None and budget >= 1:
        st.daily_budget = budget if st.daily_budget is None else min(budget, st.daily_budget)
    calls = raw.get("calls")
    if isinstance(calls, list):
        restored = Counter(float(t) for t in calls if is_number(t))
        st.calls = sorted((Counter(st.calls) | restored).elements())
    blocked = opt_float(raw.get("blocked_until"))
    if blocked is not None:
        st.blocked_until = max(st.blocked_until, blocked)
    refusals = opt_int(raw.get("refusals"))
    if refusals is not None and refusals >= 0:
        st.refusals = max(st.refusals, refusals)
    times = raw.get("refusal_times")
    if isinstance(times, list):
        merged_times = sorted({*st.refusal_times, *(float(t) for t in times if is_number(t))})
        st.refusal_times = merged_times[-REFUSAL_HISTORY:]
    for attr in ("last_refusal", "last_decay"):
        value = opt_float(raw.get(attr))
        current = getattr(st, attr)
        if value is not None and (current is None or value > current):
            setattr(st, attr, value)
    interval = opt_float(raw.get("decay_interval"))
    if interval is not None and interval > 0:
        st.decay_interval = max(st.decay_interval, min(interval, MAX_DECAY_INTERVAL))
    day = raw.get("day")
    day_calls = opt_int(raw.get("day_calls"))
    if (
        isinstance(day, str)
        and day_calls is not None
        and day_calls >= 0
        and (st.day is None or st.day == day)
    ):
        st.day = day
        st.day_calls = max(st.day_calls, day_calls)
    # (Older states counted refusals per day, "unexplained_count": not a streak.)
    streak = opt_int(raw.get("unexplained_streak"))
    if streak is not None:
        st.unexplained_streak = max(st.unexplained_streak, streak, 0)
    used_up = opt_float(raw.get("budget_used_up"))
    if used_up is not None:
        st.budget_used_up = max(st.budget_used_up or used_up, used_up)


def iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    try:
        return datetime.fromtimestamp(ts, UTC).isoformat()
    except (OverflowError, OSError, ValueError):
        return None


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and not math.isnan(value)


def int_map(raw: Mapping[Any, Any]) -> dict[int, int]:
    """``{"38": 2}`` -> ``{38: 2}``; bad entries are dropped."""
    result: dict[int, int] = {}
    for key, value in raw.items():
        count = opt_int(value)
        if str(key).isdigit() and count is not None:
            result[int(key)] = count
    return result


def opt_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def opt_float(value: Any) -> float | None:
    if is_number(value):
        result = float(value)
        if result in (float("inf"), float("-inf")):
            return None
        return result
    return None
