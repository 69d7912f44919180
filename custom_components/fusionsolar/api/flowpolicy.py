"""Flow-control policies of today's cloud (SmartPVMS 26.2 digest §4.2, §7.2, §3.2.2).

An API account on today's cloud has one of two policies (FAQ 8.2.2): the old **static**
per-minute table (§7.2) or, for accounts created recently, the **dynamic** one (§4.2),
whose limits grow with the plants (``⌈plants/100⌉``) and devices (``Σ⌈devices of a
type/100⌉``) the account manages. Both keep login and logout at 5 per 10 minutes
(§3.2.2). The digest does not say which day "per day" means (§4.1 note): a daily limit
is kept as a **rolling 24 h window**, which holds whatever the service's day boundary
(UTC or the plants' local day, as the simulator counts).

:class:`FlowPolicy` says which rules the governor applies on top of its per-minute
window: ``V500R007`` none (the 2021 table, ``SPEC_LIMITS``), ``STATIC`` the §7.2 rules,
``DYNAMIC`` the §4.2 rules, ``UNKNOWN`` (today's cloud, policy not learned yet) both, a
plan valid under either. On today's cloud the per-minute window of a §7.2 endpoint
takes §7.2's limit (also under ``DYNAMIC``: stricter than needed only for the device
history of accounts with more than 600 devices).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

from .const import Endpoint

DAY: Final = 86400.0
FIVE_MINUTES: Final = 300.0
HALF_HOUR: Final = 1800.0
MINUTE: Final = 60.0
#: Login and logout: 5 calls per 10 minutes per API account (§3.2.2.1, §3.2.2.2).
SESSION_RULE_LIMIT: Final = 5
SESSION_RULE_WINDOW: Final = 600.0


class FlowPolicy(StrEnum):
    """Which flow-control rules an account has."""

    V500R007 = "v500r007"  # the 2021 per-minute table only
    UNKNOWN = "unknown"  # today's cloud, not learned yet: static and dynamic rules both
    STATIC = "static"  # §7.2 old table
    DYNAMIC = "dynamic"  # §4.2 formulas


class DataKind(StrEnum):
    """Interface categories of §4.2 / §7.2."""

    PLANT_LIST = "plant_list"
    DEVICE_LIST = "device_list"
    PLANT_REALTIME = "plant_realtime"
    DEVICE_REALTIME = "device_realtime"
    DEVICE_HISTORY = "device_history"
    ALARMS = "alarms"
    PLANT_REPORT = "plant_report"
    DEVICE_REPORT = "device_report"
    CONFIGURATION = "configuration"
    CONTROL = "control"
    LOGIN = "login"
    LOGOUT = "logout"


#: The kind of each endpoint of today's cloud. Each endpoint has its own budget.
ENDPOINT_KINDS: Final[dict[str, DataKind]] = {
    Endpoint.STATIONS: DataKind.PLANT_LIST,
    Endpoint.STATION_LIST: DataKind.PLANT_LIST,
    Endpoint.DEV_LIST: DataKind.DEVICE_LIST,
    Endpoint.STATION_REAL_KPI: DataKind.PLANT_REALTIME,
    Endpoint.DEV_REAL_KPI: DataKind.DEVICE_REALTIME,
    Endpoint.NBI_DEVICE_HISTORY: DataKind.DEVICE_HISTORY,
    Endpoint.ALARM_LIST: DataKind.ALARMS,
    Endpoint.KPI_STATION_HOUR: DataKind.PLANT_REPORT,
    Endpoint.KPI_STATION_DAY: DataKind.PLANT_REPORT,
    Endpoint.KPI_STATION_MONTH: DataKind.PLANT_REPORT,
    Endpoint.KPI_STATION_YEAR: DataKind.PLANT_REPORT,
    Endpoint.DEV_KPI_DAY: DataKind.DEVICE_REPORT,
    Endpoint.DEV_KPI_MONTH: DataKind.DEVICE_REPORT,
    Endpoint.DEV_KPI_YEAR: DataKind.DEVICE_REPORT,
    Endpoint.NBI_BATTERY_MODE: DataKind.CONFIGURATION,
    Endpoint.NBI_ACTIVE_POWER_MODE: DataKind.CONFIGURATION,
    # 26.2 §4.2: control tasks and their queries 1/min each (§7.2: 10/min for the two
    # charge/discharge ones; 1/min is valid under both)
    Endpoint.VPP_CHARGE_DISCHARGE_STATUS: DataKind.CONTROL,
    Endpoint.NBI_CHARGE_DISCHARGE_TASK: DataKind.CONTROL,
    Endpoint.NBI_BATTERY_MODE_TASK: DataKind.CONTROL,
    Endpoint.NBI_BATTERY_MODE_INFO: DataKind.CONTROL,
    Endpoint.NBI_BATTERY_CONFIG_TASK: DataKind.CONTROL,
    Endpoint.NBI_BATTERY_CONFIG_INFO: DataKind.CONTROL,
    Endpoint.NBI_ACTIVE_POWER_TASK: DataKind.CONTROL,
    Endpoint.NBI_ACTIVE_POWER_INFO: DataKind.CONTROL,
    Endpoint.NBI_BATTERY_DISPATCH_TASK: DataKind.CONTROL,
    Endpoint.NBI_BATTERY_DISPATCH_INFO: DataKind.CONTROL,
    Endpoint.LEGACY_LOGIN: DataKind.LOGIN,
    Endpoint.LEGACY_LOGOUT: DataKind.LOGOUT,
}

#: §7.2 calls per minute (configuration 1/min and sessions as §4.2 / §3.2.2).
STATIC_PER_MINUTE: Final[dict[DataKind, int]] = {
    DataKind.PLANT_LIST: 10,
    DataKind.DEVICE_LIST: 10,
    DataKind.PLANT_REALTIME: 30,
    DataKind.DEVICE_REALTIME: 10,
    DataKind.DEVICE_HISTORY: 1,
    DataKind.ALARMS: 10,
    DataKind.PLANT_REPORT: 10,
    DataKind.DEVICE_REPORT: 10,
    DataKind.CONFIGURATION: 1,
    DataKind.CONTROL: 1,
}


@dataclass(frozen=True, slots=True)
class Rule:
    """At most ``limit`` calls in any ``window`` seconds."""

    limit: int
    window: float

    @property
    def interval(self) -> float:
        """Average seconds between calls at the limit."""
        return self.window / self.limit


def _hundreds(count: int) -> int:
    return math.ceil(max(0, count) / 100)


@dataclass(frozen=True, slots=True)
class AccountSize:
    """Plants and devices per device type the account manages (unknown: 1 and 1 type).

    Every §4.2 limit grows with the size, so the smallest size is the safe guess.
    """

    plants: int = 1
    devices_by_type: Mapping[int, int] = field(default_factory=dict)

    @property
    def plant_hundreds(self) -> int:
        """⌈plants/100⌉, at least 1."""
        return max(1, _hundreds(self.plants))

    @property
    def type_hundreds(self) -> int:
        """Σ over device types of ⌈devices of the type/100⌉, at least 1."""
        return max(1, sum(_hundreds(n) for n in self.devices_by_type.values()))

    @property
    def history_rate(self) -> float:
        """Device history calls per second: Σ(devices of a type/60/10), at least 1 device."""
        return max(1, sum(max(0, n) for n in self.devices_by_type.values())) / 600

    def as_dict(self) -> dict[str, object]:
        """For diagnostics and persistence."""
        return {
            "plants": self.plants,
            "devices_by_type": {str(k): v for k, v in self.devices_by_type.items()},
        }


def dynamic_rule(kind: DataKind, size: AccountSize) -> Rule:
    """The §4.2 rule of a data kind for an account of ``size``."""
    plants, types = size.plant_hundreds, size.type_hundreds
    by_kind: dict[DataKind, Rule] = {
        DataKind.PLANT_LIST: Rule(plants * 10 + 24, DAY),
        DataKind.DEVICE_LIST: Rule(plants + 24, DAY),
        DataKind.PLANT_REALTIME: Rule(plants, FIVE_MINUTES),
        DataKind.DEVICE_REALTIME: Rule(types, FIVE_MINUTES),
        DataKind.ALARMS: Rule(max(plants, types), HALF_HOUR),
        DataKind.PLANT_REPORT: Rule(plants + 24, DAY),
        DataKind.DEVICE_REPORT: Rule(types + 24, DAY),
        DataKind.CONFIGURATION: Rule(1, MINUTE),
        DataKind.CONTROL: Rule(1, MINUTE),
    }
    if kind is DataKind.DEVICE_HISTORY:
        rate = size.history_rate
        return Rule(math.floor(rate), 1.0) if rate >= 1 else Rule(1, 1.0 / rate)
    return by_kind.get(kind, Rule(SESSION_RULE_LIMIT, SESSION_RULE_WINDOW))


def static_rule(kind: DataKind) -> Rule:
    """The §7.2 rule of a data kind (login and logout as §3.2.2)."""
    if kind in STATIC_PER_MINUTE:
        return Rule(STATIC_PER_MINUTE[kind], MINUTE)
    return Rule(SESSION_RULE_LIMIT, SESSION_RULE_WINDOW)


def policy_rules(policy: FlowPolicy, endpoint: str, size: AccountSize) -> tuple[Rule, ...]:
    """Rules of ``endpoint`` under ``policy`` on top of the per-minute window."""
    kind = ENDPOINT_KINDS.get(endpoint)
    if kind is None or policy is FlowPolicy.V500R007:
        return ()
    if policy is FlowPolicy.STATIC:
        return (static_rule(kind),)
    if policy is FlowPolicy.DYNAMIC:
        return (dynamic_rule(kind, size),)
    return tuple(dict.fromkeys((static_rule(kind), dynamic_rule(kind, size))))


@dataclass(frozen=True, slots=True)
class EndpointPlan:
    """The fastest cadence an endpoint allows: ``calls`` per ``window`` seconds."""

    calls: int
    window: float

    @property
    def min_interval(self) -> float:
        """Seconds between single calls at that cadence."""
        return self.window / self.calls

    def cycle(self, calls_per_cycle: int) -> float:
        """Shortest period of a refresh that makes ``calls_per_cycle`` calls each time.

        ``m`` refreshes fit in one (rolling) window when ``m * calls_per_cycle <= calls``.
        """
        calls = max(1, calls_per_cycle)
        if calls > self.calls:
            return self.window * math.ceil(calls / self.calls)
        # in whole ms, at least 1 ms over: float sums of periods never fall short
        return (math.floor(self.window / (self.calls // calls) * 1000) + 1) / 1000

    def as_dict(self) -> dict[str, float]:
        """For diagnostics."""
        return {"calls": self.calls, "window": self.window, "min_interval": self.min_interval}
