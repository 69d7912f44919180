"""Flow control of today's cloud for API accounts (SmartPVMS 26.2 §4.2, §3.2.2.1, §7.2).

Dynamic policy (§4.2; new accounts, FAQ 8.2.2), per API account, ``plants`` = plants the
account manages, ``Σ`` over device types of the devices it manages:

* plant list ⌈plants/100⌉ * 10 + 24 per day; device list ⌈plants/100⌉ + 24 per day;
* plant real-time ⌈plants/100⌉ per 5 minutes; device real-time Σ⌈n/100⌉ per 5 minutes;
* device history Σ(n/60/10) per second (below 1 per second: one call per 1/rate s);
* alarms max(⌈plants/100⌉, Σ⌈n/100⌉) per 30 minutes;
* plant reports ⌈plants/100⌉ + 24 and device reports Σ⌈n/100⌉ + 24 per day, each endpoint;
* configuration queries and each control endpoint 1 per minute (§7.2: charge/discharge
  task and query 10/min); login and logout 5 per 10 minutes (§3.2.2).

Static policy (§7.2, accounts in ``CloudOptions.static_flow_control_accounts``): the
per-minute table; configuration queries keep 1/min, login/logout 5 per 10 minutes.

Over a window limit: 407; a daily budget used up: 20618. Simulator choices where the
digest is silent (§4.1 note): windows are rolling, "day" is the plants' local day, refused
calls are not counted. ``system_limits`` (calls per minute over all accounts) give 429.

Login (§3.2.2.1): 5 wrong passwords within 10 minutes lock the account for 30 minutes;
a locked account's login answers 20400 (§7.1 #43: "API account locked").
"""

from __future__ import annotations

import math
from collections import defaultdict, deque
from collections.abc import Mapping
from dataclasses import dataclass, field

from . import const
from .cloud2026 import (
    NBI_ACTIVE_POWER_MODE,
    NBI_BATTERY_MODE,
    NBI_CHARGE_DISCHARGE_TASK,
    NBI_CONTROL_ENDPOINTS,
    NBI_DEVICE_HISTORY,
)

DAY = 86400.0
LOGIN_WINDOW = 600.0
LOGIN_LIMIT = 5
LOCK_FAILURES = 5
LOCK_SECONDS = 1800.0
FAIL_DAILY = 20618
FAIL_WINDOW = 407
FAIL_SYSTEM = 429

CATEGORY: dict[str, str] = {
    const.STATIONS: "plant_list",
    const.GET_DEV_LIST: "device_list",
    const.GET_STATION_REAL_KPI: "plant_realtime",
    const.GET_DEV_REAL_KPI: "device_realtime",
    NBI_DEVICE_HISTORY: "device_history",
    const.GET_ALARM_LIST: "alarms",
    const.GET_KPI_STATION_HOUR: "plant_report",
    const.GET_KPI_STATION_DAY: "plant_report",
    const.GET_KPI_STATION_MONTH: "plant_report",
    const.GET_KPI_STATION_YEAR: "plant_report",
    const.GET_DEV_KPI_DAY: "device_report",
    const.GET_DEV_KPI_MONTH: "device_report",
    const.GET_DEV_KPI_YEAR: "device_report",
    NBI_BATTERY_MODE: "configuration",
    NBI_ACTIVE_POWER_MODE: "configuration",
    NBI_CHARGE_DISCHARGE_TASK: "charge_discharge",
    const.V7_CHARGE_DISCHARGE_STATUS: "charge_discharge",
    **dict.fromkeys(NBI_CONTROL_ENDPOINTS[1:], "control"),
    const.LOGIN: "login",
    const.LOGOUT: "logout",
}

# §7.2: calls per minute per API account.
STATIC_PER_MINUTE: dict[str, int] = {
    "plant_list": 10,
    "device_list": 10,
    "plant_realtime": 30,
    "device_realtime": 10,
    "device_history": 1,
    "alarms": 10,
    "plant_report": 10,
    "device_report": 10,
    "charge_discharge": 10,  # §7.2: task delivery and query 10/min each
}


@dataclass(frozen=True)
class Budget:
    """``limit`` calls per ``window`` seconds; ``daily``: per local day (failCode 20618)."""

    limit: int
    window: float
    daily: bool = False


def _hundreds(count: int) -> int:
    return math.ceil(count / 100)


def dynamic_budget(category: str, plants: int, devices_per_type: Mapping[int, int]) -> Budget:
    """The §4.2 budget of a category for an account's plants and devices."""
    per_type = sum(_hundreds(n) for n in devices_per_type.values())
    if category == "plant_list":
        return Budget(_hundreds(plants) * 10 + 24, DAY, daily=True)
    if category == "device_list":
        return Budget(_hundreds(plants) + 24, DAY, daily=True)
    if category == "plant_realtime":
        return Budget(_hundreds(plants), 300.0)
    if category == "device_realtime":
        return Budget(per_type, 300.0)
    if category == "alarms":
        return Budget(max(_hundreds(plants), per_type), 1800.0)
    if category == "plant_report":
        return Budget(_hundreds(plants) + 24, DAY, daily=True)
    if category == "device_report":
        return Budget(per_type + 24, DAY, daily=True)
    if category == "device_history":
        return history_budget(devices_per_type)
    if category in ("configuration", "charge_discharge", "control"):
        return Budget(1, 60.0)  # §4.2: 1/min per endpoint
    return Budget(LOGIN_LIMIT, LOGIN_WINDOW)  # login, logout (§3.2.2)


def history_budget(devices_per_type: Mapping[int, int]) -> Budget:
    """Σ(n/60/10) calls per second, as a window holding at least one call."""
    rate = sum(n / 60 / 10 for n in devices_per_type.values())
    if rate <= 0:
        return Budget(0, 1.0)
    if rate >= 1:
        return Budget(math.floor(rate), 1.0)
    return Budget(1, 1.0 / rate)


def static_budget(category: str) -> Budget:
    """The §7.2 per-minute budget (configuration 1/min, login/logout as §3.2.2)."""
    if category in STATIC_PER_MINUTE:
        return Budget(STATIC_PER_MINUTE[category], 60.0)
    return dynamic_budget(category, 0, {})


@dataclass
class FlowControl:
    """Call windows, daily counts, system-wide counts and login lockouts."""

    static_accounts: frozenset[str] = frozenset()
    system_limits: Mapping[str, int] = field(default_factory=dict)
    _windows: dict[tuple[str, str], deque[float]] = field(
        default_factory=lambda: defaultdict(deque)
    )
    _daily: dict[tuple[str, str, str], int] = field(default_factory=lambda: defaultdict(int))
    _system: dict[str, deque[float]] = field(default_factory=lambda: defaultdict(deque))
    _failures: dict[str, deque[float]] = field(default_factory=lambda: defaultdict(deque))
    _locked_until: dict[str, float] = field(default_factory=dict)

    def budget(
        self, account: str, endpoint: str, plants: int, devices_per_type: Mapping[int, int]
    ) -> Budget | None:
        """The account's budget for an endpoint (None: not flow-controlled here)."""
        category = CATEGORY.get(endpoint)
        if category is None:
            return None
        if account in self.static_accounts:
            return static_budget(category)
        return dynamic_budget(category, plants, devices_per_type)

    def check(
        self,
        account: str,
        endpoint: str,
        now: float,
        day: str,
        plants: int,
        devices_per_type: Mapping[int, int],
    ) -> int | None:
        """None (the call is counted) or the failCode refusing it (407, 20618, 429)."""
        if not self._system_ok(endpoint, now):
            return FAIL_SYSTEM
        budget = self.budget(account, endpoint, plants, devices_per_type)
        if budget is None:
            return None
        if budget.daily:
            key = (account, endpoint, day)
            if self._daily[key] >= budget.limit:
                return FAIL_DAILY
            self._daily[key] += 1
            return None
        window = self._windows[(account, endpoint)]
        while window and window[0] <= now - budget.window:
            window.popleft()
        if len(window) >= budget.limit:
            return FAIL_WINDOW
        window.append(now)
        return None

    def _system_ok(self, endpoint: str, now: float) -> bool:
        limit = self.system_limits.get(endpoint)
        if limit is None:
            return True
        window = self._system[endpoint]
        while window and window[0] <= now - 60.0:
            window.popleft()
        if len(window) >= limit:
            return False
        window.append(now)
        return True

    def locked(self, account: str, now: float) -> bool:
        """Whether the account is locked after wrong passwords."""
        return now < self._locked_until.get(account, 0.0)

    def wrong_password(self, account: str, now: float) -> None:
        """Count a wrong password; the fifth within 10 minutes locks for 30 minutes."""
        failures = self._failures[account]
        while failures and failures[0] <= now - LOGIN_WINDOW:
            failures.popleft()
        failures.append(now)
        if len(failures) >= LOCK_FAILURES:
            self._locked_until[account] = now + LOCK_SECONDS
            failures.clear()

    def reset(self) -> None:
        """Forget every count and lock."""
        self._windows.clear()
        self._daily.clear()
        self._system.clear()
        self._failures.clear()
        self._locked_until.clear()
