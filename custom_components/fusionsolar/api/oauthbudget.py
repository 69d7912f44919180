"""Daily budgets of an OAuth owner (26.2 digest §4.1): 1000 basic and 100 control calls.

The day is not defined by the reference (calendar day in which zone, or rolling), so a
rolling 24 h window is kept: no calendar day can then see more than the budget.

The plan spreads the basic budget over the day (``plan``): every endpoint gets a minimal
gap between two of its calls, so that all of them together stay within
``basic - reserve``. Power flow (plant real-time) runs every 5-minute refresh, plant and
device lists four times a day, alarms and hourly KPIs hourly, reports and history a few
times a day, and device real-time data takes what is left: the device groups take turns
on that endpoint. Reads never use the last ``reserve`` basic calls (set-up, reloads and
retries), and control reads (task status) leave ``control_reserve`` control calls for the
user's own commands. A call the budget cannot take raises :class:`QuotaWouldExceed`
with the seconds until it can, before anything is sent.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from .const import CONTROL_ENDPOINTS, CONTROL_SHARED_ENDPOINTS, Endpoint
from .errors import DailyBudgetSpentError, QuotaWouldExceed
from .quotastate import Priority

DAY: Final = 86400.0
REFRESH: Final = 300.0  # the cloud's 5-minute data
BASIC: Final = "basic"
CONTROL: Final = "control"
BASIC_PER_DAY: Final = 1000
CONTROL_PER_DAY: Final = 100
BASIC_RESERVE: Final = 50
CONTROL_RESERVE: Final = 40
REFUSED_PAUSE: Final = 3600.0  # after the cloud's 407: ask again in an hour

#: Minimal gap between two calls of an endpoint (seconds, per batch of 100 plants).
FIXED_GAPS: Final[dict[str, float]] = {
    Endpoint.STATION_REAL_KPI: REFRESH,
    Endpoint.STATIONS: DAY / 4,
    Endpoint.STATION_LIST: DAY / 4,
    Endpoint.DEV_LIST: DAY / 4,
    Endpoint.ALARM_LIST: 3600.0,
    Endpoint.KPI_STATION_HOUR: 3600.0,
    Endpoint.KPI_STATION_DAY: DAY / 4,
    Endpoint.KPI_STATION_MONTH: DAY / 2,
    Endpoint.KPI_STATION_YEAR: DAY / 2,
    Endpoint.DEV_KPI_DAY: DAY / 4,
    Endpoint.DEV_KPI_MONTH: DAY / 2,
    Endpoint.DEV_KPI_YEAR: DAY / 2,
    Endpoint.NBI_DEVICE_HISTORY: DAY / 24,
    Endpoint.NBI_BATTERY_MODE: DAY / 4,
    Endpoint.NBI_ACTIVE_POWER_MODE: DAY / 4,
}
OTHER_GAP: Final = 3600.0  # an endpoint the plan does not name
PER_PLANT_BATCH: Final = frozenset(
    {
        Endpoint.STATION_REAL_KPI,
        Endpoint.DEV_LIST,
        Endpoint.ALARM_LIST,
        Endpoint.KPI_STATION_HOUR,
        Endpoint.KPI_STATION_DAY,
        Endpoint.KPI_STATION_MONTH,
        Endpoint.KPI_STATION_YEAR,
    }
)


def category(endpoint: str) -> str:
    """``control`` for the control interfaces (§5.2), ``basic`` otherwise."""
    if endpoint in CONTROL_ENDPOINTS or endpoint in CONTROL_SHARED_ENDPOINTS:
        return CONTROL
    if "/control/" in endpoint:
        return CONTROL
    return BASIC


@dataclass(frozen=True, slots=True)
class BudgetPlan:
    """Gaps per endpoint (seconds) and what they add up to per day."""

    gaps: Mapping[str, float]
    device_gap: float
    device_groups: int
    calls_per_day: float

    @property
    def device_refresh(self) -> float:
        """How often each device group is read (its turn comes every ``groups`` gaps)."""
        return max(REFRESH, self.device_gap * max(self.device_groups, 1))

    def as_dict(self) -> dict[str, Any]:
        """Diagnostics form."""
        return {
            "gaps": {key: round(value, 1) for key, value in sorted(self.gaps.items())},
            "device_gap": round(self.device_gap, 1),
            "device_groups": self.device_groups,
            "device_refresh": round(self.device_refresh, 1),
            "planned_calls_per_day": round(self.calls_per_day, 1),
        }


def make_plan(plants: int, device_groups: int, basic: int = BASIC_PER_DAY) -> BudgetPlan:
    """Spread ``basic - reserve`` calls a day over the endpoints (see module docstring)."""
    batches = max(1, math.ceil(max(plants, 1) / 100))
    gaps: dict[str, float] = {}
    for endpoint, gap in FIXED_GAPS.items():
        gaps[endpoint] = gap / batches if endpoint in PER_PLANT_BATCH else gap
    fixed = sum(DAY / gap for gap in gaps.values())
    usable = basic - BASIC_RESERVE
    left = max(usable - fixed, 1.0)
    groups = max(device_groups, 1)
    device_gap = max(DAY / left, REFRESH / groups)
    gaps[Endpoint.DEV_REAL_KPI] = device_gap
    return BudgetPlan(gaps, device_gap, groups, fixed + DAY / device_gap)


class OAuthBudget:
    """Calls of one owner in the last 24 h, by category, and the plan for the day."""

    def __init__(
        self,
        clock: Callable[[], float],
        *,
        basic: int = BASIC_PER_DAY,
        control: int = CONTROL_PER_DAY,
    ) -> None:
        """A budget on ``clock`` (epoch seconds)."""
        self._clock = clock
        self.limits = {BASIC: basic, CONTROL: control}
        self._calls: dict[str, deque[float]] = {BASIC: deque(), CONTROL: deque()}
        self._last: dict[str, float] = {}
        self._paused: dict[str, float] = {}
        self.refusals = 0
        self.plan = make_plan(1, 1, basic)

    def set_account_size(self, plants: int, device_groups: int) -> None:
        """Plan for the owner's plants and device groups (one call each)."""
        self.plan = make_plan(plants, device_groups, self.limits[BASIC])

    def used(self, kind: str) -> int:
        """Calls of ``kind`` in the last 24 h."""
        calls = self._calls[kind]
        horizon = self._clock() - DAY
        while calls and calls[0] <= horizon:
            calls.popleft()
        return len(calls)

    def left(self, kind: str) -> int:
        """Calls of ``kind`` still allowed in the rolling day."""
        return max(0, self.limits[kind] - self.used(kind))

    def reserve(self, endpoint: str, priority: Priority) -> None:
        """Count a call about to be sent, or raise ``QuotaWouldExceed`` (nothing counted)."""
        now = self._clock()
        kind = category(endpoint)
        wait = self._paused.get(kind, 0.0) - now
        if priority is Priority.READ:
            wait = max(wait, self._gap_wait(endpoint, kind, now))
        held_back = (BASIC_RESERVE if kind == BASIC else CONTROL_RESERVE) * (
            priority is Priority.READ
        )
        if self.used(kind) >= self.limits[kind] - held_back:
            wait = max(wait, self._calls[kind][0] + DAY - now if self._calls[kind] else DAY)
            raise DailyBudgetSpentError(
                endpoint, wait, f"The owner's daily {kind} budget is spent for {wait:.0f} s"
            )
        if wait > 0:
            raise QuotaWouldExceed(
                endpoint, wait, f"The owner's daily {kind} budget allows this call in {wait:.0f} s"
            )
        self._calls[kind].append(now)
        self._last[str(endpoint)] = now

    def _gap_wait(self, endpoint: str, kind: str, now: float) -> float:
        if kind != BASIC or (last := self._last.get(str(endpoint))) is None:
            return 0.0
        gap = self.plan.gaps.get(str(endpoint), OTHER_GAP)
        return last + gap - now

    def refund(self, endpoint: str) -> None:
        """The call did not count (no connection, or refused before counting: 305)."""
        calls = self._calls[category(endpoint)]
        if calls:
            calls.pop()
        self._last.pop(str(endpoint), None)

    def refused(self, endpoint: str) -> float:
        """The cloud answered 407: the budget is spent there; ask again in an hour."""
        self.refusals += 1
        kind = category(endpoint)
        self._paused[kind] = self._clock() + REFUSED_PAUSE
        return REFUSED_PAUSE

    def snapshot(self) -> dict[str, Any]:
        """Diagnostics: use and limits per category, and the plan."""
        return {
            "window": "rolling 24 h",
            "limits": dict(self.limits),
            "used": {kind: self.used(kind) for kind in self.limits},
            "reserve": {BASIC: BASIC_RESERVE, CONTROL: CONTROL_RESERVE},
            "refusals": self.refusals,
            "plan": self.plan.as_dict(),
        }

    def export_state(self) -> dict[str, Any]:
        """The calls of the rolling day (JSON), to survive a restart."""
        return {kind: [round(t, 3) for t in self._calls[kind]] for kind in self._calls} | {
            "paused": dict(self._paused)
        }

    def restore_state(self, data: Mapping[str, Any]) -> None:
        """Take back the calls of a stored state (unknown shapes are ignored)."""
        for kind, calls in self._calls.items():
            stored = data.get(kind)
            if isinstance(stored, list):
                times = sorted(float(t) for t in stored if isinstance(t, (int, float)))
                calls.extend(t for t in times if not calls or t > calls[-1])
        paused = data.get("paused")
        if isinstance(paused, Mapping):
            for kind in self._calls:
                if isinstance(until := paused.get(kind), (int, float)):
                    self._paused[kind] = max(self._paused.get(kind, 0.0), float(until))
        self.used(BASIC)
        self.used(CONTROL)
