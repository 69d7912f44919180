"""The benchmark scenarios and the documented quota contract.

Every scenario simulates 24 h from Monday 2025-06-16 00:00 UTC (a sunny June day in
the simulator's Amsterdam) with a reload at 6 h and a Home Assistant restart at 12 h,
both in the middle of a 5-minute slot as real ones are. Each plant has an inverter,
a battery and a meter.
"""

from __future__ import annotations

import math
from typing import Any

from custom_components.fusionsolar.api.const import Endpoint
from custom_components.fusionsolar.const import CONF_HISTORY_DAYS, CONF_POLL_ALARMS

from .dayrun import FaultAt, Scenario

DEVICE_TYPES = 3  # inverter, battery, meter
FIELD_SIMULATOR = {"disabled_quirks": ["no_v7", "maintenance"]}
# Another tool logs in to the same account every 3 hours (single-session field quirk):
# at realistic, arbitrary times. Some land less than a minute before one of our calls.
OTHER_LOGINS = (2.51, 5.51, 8.51, 14.51, 17.51, 20.51)
# The legacy token is renewed before its absolute 30-minute life ends (spec §3.1).
LEGACY_LOGINS_PER_HOUR = 2


def documented_calls_per_refresh(plants: int) -> dict[str, int]:
    """Calls per 5-minute refresh: the power flow and one device KPI call per type."""
    batches = math.ceil(plants / 100)
    return {Endpoint.VPP_PLANT_REALTIME: batches, Endpoint.DEV_REAL_KPI: DEVICE_TYPES * batches}


def documented_calls_per_hour(plants: int) -> dict[str, int]:
    """Calls per hour in steady state (spec profile, V7, alarms off), as in the README.

    Per 100 plants: the power flow every 5 minutes, one device KPI call per device type
    every 5 minutes, the plant KPIs (yield, income) every hour. Per account: a legacy
    login every 30 minutes (the legacy token lives 30 minutes from its login).
    """
    hourly = {e: 12 * n for e, n in documented_calls_per_refresh(plants).items()}
    return {
        **hourly,
        Endpoint.STATION_REAL_KPI: math.ceil(plants / 100),
        Endpoint.LEGACY_LOGIN: LEGACY_LOGINS_PER_HOUR,
    }


def documented_calls_per_start(plants: int) -> dict[str, int]:
    """Calls at each start of Home Assistant (and once a day): logins and the lists."""
    return {
        Endpoint.LEGACY_LOGIN: 1,
        Endpoint.V7_LOGIN: 1,
        Endpoint.V7_PLANTS: math.ceil(plants / 100),
        Endpoint.DEV_LIST: math.ceil(plants / 100),
        Endpoint.V7_DEVICES: math.ceil(plants * DEVICE_TYPES / 100),
    }


def _big(plants: int) -> dict[str, Any]:
    # The simulator's 35 days of slot-by-slot history are not needed by the contract.
    return {"history_detail_days": 0} if plants > 100 else {}


SPEC = [
    Scenario(
        f"spec-{plants}",
        plants=plants,
        reloads=(6.04,),
        simulator=_big(plants),
        description="spec profile, real-time contract (alarms off, history 1 day)",
    )
    for plants in (1, 10, 100, 500)
]

FIELD = [
    Scenario(
        f"field-{plants}",
        plants=plants,
        profile="field",
        reloads=(6.04,),
        other_logins=OTHER_LOGINS,
        simulator={**FIELD_SIMULATOR, **_big(plants)},
        description="field profile (V7 present, no maintenance window), "
        "another tool logs in every 3 h",
    )
    for plants in (1, 100, 500)
]

# Issue 19's must-show at 1 and 100 plants: with the recorder, the statistics imported
# from device history are checked hour by hour and the Energy dashboard is validated.
CLOUD = [
    Scenario(
        f"cloud-{plants}",
        plants=plants,
        profile="cloud-2026",
        reloads=(6.04,),
        simulator=_big(plants),
        recorder=plants in (1, 100),
        description="today's cloud (26.x): no V7, dynamic flow control, power flow derived"
        + (", statistics and Energy dashboard checked" if plants in (1, 100) else ""),
    )
    for plants in (1, 10, 100, 500)
]

# Issue 16 item 1: more than 100 plants where the plant list pages are bare lists.
BARE_LISTS = Scenario(
    "spec-150-bare-lists",
    plants=150,
    restarts=(),
    simulator={"quirks": ["plants_as_list"], "alarm_rate_per_day": 0.0},
    description="spec profile, 150 plants, plant list pages as bare lists (no pageCount)",
)

FIELD_NO_V7 = Scenario(
    "field-1-no-v7",
    plants=1,
    profile="field",
    reloads=(6.04,),
    other_logins=OTHER_LOGINS,
    simulator={"disabled_quirks": ["maintenance"]},
    description="field profile without V7 (power flow from the legacy plant KPIs)",
)

OPTIONAL = [
    Scenario(
        f"optional-{plants}",
        plants=plants,
        reloads=(6.04,),
        options={CONF_POLL_ALARMS: True, CONF_HISTORY_DAYS: days},
        recorder=True,
        simulator=_big(plants),
        description=f"spec profile, alarms on, {days} days of history imported",
    )
    # (The recorder keeps every state change: 100 plants would need gigabytes.)
    for plants, days in ((1, 30), (10, 7))
]

# The history import on the field profile: the five-minute reads answer nulls for some
# slots, the lists page as bare lists, another tool logs in; Home Assistant runs in
# US/Pacific (the test default), the plants in Amsterdam; a reload and a restart.
OPTIONAL_FIELD = Scenario(
    "optional-field-1",
    plants=1,
    profile="field",
    reloads=(6.04,),
    other_logins=OTHER_LOGINS,
    options={CONF_POLL_ALARMS: True, CONF_HISTORY_DAYS: 7},
    recorder=True,
    simulator=FIELD_SIMULATOR,
    description="field profile, alarms on, 7 days of history imported, HA in US/Pacific",
)

_DEV = "getDevRealKpi"
_PLANT = "vpp/plantRealtimeKpi"

SOAK_FAULTS = (
    FaultAt(1.0, _DEV, "fail_code", 1, "305 mid-session", {"fail_code": 305}),
    FaultAt(2.0, None, "invalidate_sessions", label="sessions dropped (another login)"),
    FaultAt(3.0, _PLANT, "http_status", 3, "HTTP 500 (3 calls)", {"status": 500}),
    FaultAt(4.0, None, "http_status", 4, "HTTP 502 on every endpoint (4 calls)", {"status": 502}),
    FaultAt(5.0, _DEV, "timeout", 1, "timeout (answer after 45 s)", {"seconds": 45}),
    FaultAt(6.0, _PLANT, "delay", 6, "slow answers (8 s, 6 calls)", {"seconds": 8}),
    FaultAt(7.0, _PLANT, "malformed_json", 2, "malformed JSON (power flow)"),
    FaultAt(8.0, _DEV, "malformed_json", 3, "malformed JSON (device KPIs)"),
    FaultAt(9.0, _PLANT, "nulls", 3, "nulls everywhere (power flow)"),
    FaultAt(10.0, _DEV, "nulls", 3, "nulls everywhere (device KPIs)"),
    FaultAt(11.0, _DEV, "missing_keys", 3, "missing keys (device KPIs)"),
    FaultAt(13.0, "pmeter_power", "quirk_on", label="key variant pmeterPower (1 h)"),
    FaultAt(14.0, "pmeter_power", "quirk_off", label="(pmeterPower off)"),
    FaultAt(14.01, _PLANT, "strings", 3, "numbers as strings (power flow)"),
    FaultAt(15.0, _PLANT, "data_as_list", 2, "data as a list instead of a map"),
    FaultAt(16.0, _DEV, "empty_body", 2, "empty body (device KPIs)"),
    FaultAt(16.5, _PLANT, "html", 1, "HTML page with HTTP 200"),
    FaultAt(17.0, "maintenance", "quirk_on", label="maintenance: HTML 503 everywhere (1 h)"),
    FaultAt(18.0, "maintenance", "quirk_off", label="(maintenance over)"),
    FaultAt(19.0, None, "invalidate_sessions", label="(kick-out before a refused login)"),
    FaultAt(19.0, "/thirdData/login", "fail_code", 1, "login refused with 407 after a kick-out"),
    # Quota refusals last: the governor may learn from them for the rest of the day.
    FaultAt(20.0, _DEV, "fail_code", 2, "407 burst (2 device KPI calls)"),
    FaultAt(22.0, _PLANT, "quota_403", 2, "quota refusal as HTTP 403 (2 calls)"),
)

SOAK = Scenario(
    "soak-1",
    plants=1,
    reloads=(),
    faults=SOAK_FAULTS,
    # The maintenance quirk is switched on and off by the schedule; while on, it holds.
    simulator={"maintenance_start": 0.0, "maintenance_seconds": 1e12},
    # With the recorder and the history import: are statistics lost?
    options={CONF_POLL_ALARMS: False, CONF_HISTORY_DAYS: 1},
    recorder=True,
    description="spec profile, history import on, one fault every hour (see the table)",
)

ALL = [*SPEC, BARE_LISTS, *FIELD, FIELD_NO_V7, *CLOUD, *OPTIONAL, OPTIONAL_FIELD, SOAK]
BY_NAME = {scenario.name: scenario for scenario in ALL}
