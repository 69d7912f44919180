"""Constants of the SmartPVMS NBI simulator: endpoints, quotas, error codes, device types.

Everything here is taken from ``SmartPVMS-NBI-reference.md`` (the spec); where the spec is
silent the choice is marked "simulator choice".
"""

from __future__ import annotations

from typing import Final

LEGACY_PREFIX: Final = "/thirdData/"
V7_PREFIX: Final = "/rest/openapi/pvms/v1/"

# --- legacy endpoints (§3) -------------------------------------------------------------
LOGIN: Final = "/thirdData/login"
LOGOUT: Final = "/thirdData/logout"
GET_STATION_LIST: Final = "/thirdData/getStationList"
STATIONS: Final = "/thirdData/stations"  # not in the spec: the newer paged plant list (field)
GET_STATION_REAL_KPI: Final = "/thirdData/getStationRealKpi"
GET_KPI_STATION_HOUR: Final = "/thirdData/getKpiStationHour"
GET_KPI_STATION_DAY: Final = "/thirdData/getKpiStationDay"
GET_KPI_STATION_MONTH: Final = "/thirdData/getKpiStationMonth"
GET_KPI_STATION_YEAR: Final = "/thirdData/getKpiStationYear"
GET_DEV_LIST: Final = "/thirdData/getDevList"
GET_DEV_REAL_KPI: Final = "/thirdData/getDevRealKpi"
GET_DEV_FIVE_MINUTES: Final = "/thirdData/getDevFiveMinutes"
GET_DEV_KPI_DAY: Final = "/thirdData/getDevKpiDay"
GET_DEV_KPI_MONTH: Final = "/thirdData/getDevKpiMonth"
GET_DEV_KPI_YEAR: Final = "/thirdData/getDevKpiYear"
GET_ALARM_LIST: Final = "/thirdData/getAlarmList"

# --- V7 endpoints (§5) -----------------------------------------------------------------
V7_LOGIN: Final = "/rest/openapi/pvms/v1/login"
V7_LOGOUT: Final = "/rest/openapi/pvms/v1/logout"
V7_PLANTS: Final = "/rest/openapi/pvms/v1/plants"
V7_DEVICES: Final = "/rest/openapi/pvms/v1/devices"
V7_SN_ENROLMENT: Final = "/rest/openapi/pvms/v1/vpp/snEnrolment"
V7_AC_ENROLMENT: Final = "/rest/openapi/pvms/v1/vpp/acEnrolment"
V7_VPP_PLANTS: Final = "/rest/openapi/pvms/v1/vpp/plants"
V7_REALTIME: Final = "/rest/openapi/pvms/v1/vpp/plantRealtimeKpi"
V7_FIVE_MINUTES: Final = "/rest/openapi/pvms/v1/vpp/plantFiveMinutesKpi"
V7_CHARGE_DISCHARGE: Final = "/rest/openapi/pvms/v1/vpp/chargeAndDischarge"
V7_CHARGE_DISCHARGE_STATUS: Final = "/rest/openapi/pvms/v1/vpp/chargeAndDischargeStatus"
V7_DOD: Final = "/rest/openapi/pvms/v1/vpp/dod"
V7_DEV_ON_OFF: Final = "/rest/openapi/pvms/v1/vpp/devOnOff"
V7_SN_IS_REGISTER: Final = "/rest/openapi/pvms/v1/community/snIsRegister"

# The §2.1 table spells the enrolment paths "snEnrollment"/"acEnrollment"; §5.3.1/§5.3.2
# spell them with one "l". Both are served (same quota bucket as the §5 spelling).
ENDPOINT_ALIASES: Final[dict[str, str]] = {
    "/rest/openapi/pvms/v1/vpp/snEnrollment": V7_SN_ENROLMENT,
    "/rest/openapi/pvms/v1/vpp/acEnrollment": V7_AC_ENROLMENT,
}

# Per-minute limit per account and endpoint, exactly as each endpoint's "Access
# Restrictions" section says (§1's blanket "10 per API per minute" otherwise).
QUOTA_PER_MINUTE: Final[dict[str, int]] = {
    LOGIN: 1,
    LOGOUT: 1,
    GET_STATION_LIST: 1,
    STATIONS: 1,  # simulator choice (same as getStationList)
    GET_STATION_REAL_KPI: 10,
    GET_KPI_STATION_HOUR: 1,
    GET_KPI_STATION_DAY: 1,
    GET_KPI_STATION_MONTH: 1,
    GET_KPI_STATION_YEAR: 1,
    GET_DEV_LIST: 10,
    GET_DEV_REAL_KPI: 10,
    GET_DEV_FIVE_MINUTES: 10,
    GET_DEV_KPI_DAY: 1,
    GET_DEV_KPI_MONTH: 1,
    GET_DEV_KPI_YEAR: 1,
    GET_ALARM_LIST: 1,
    V7_LOGIN: 1,
    V7_LOGOUT: 1,
    V7_PLANTS: 1,
    V7_DEVICES: 10,
    V7_SN_ENROLMENT: 10,
    V7_AC_ENROLMENT: 10,
    V7_VPP_PLANTS: 1,
    V7_REALTIME: 10,
    V7_FIVE_MINUTES: 10,
    V7_CHARGE_DISCHARGE: 100,
    V7_CHARGE_DISCHARGE_STATUS: 100,
    V7_DOD: 10,
    V7_DEV_ON_OFF: 10,
    V7_SN_IS_REGISTER: 100,
}

LEGACY_ENDPOINTS: Final = tuple(e for e in QUOTA_PER_MINUTE if e.startswith(LEGACY_PREFIX))
V7_ENDPOINTS: Final = tuple(e for e in QUOTA_PER_MINUTE if e.startswith(V7_PREFIX))
ALL_ENDPOINTS: Final = tuple(QUOTA_PER_MINUTE)
LOGIN_ENDPOINTS: Final = (LOGIN, V7_LOGIN)

# Endpoints the field quirk ``strict_quota`` limits to 1 call per minute ("reads").
# Control commands, the dispatch-status poll and registration calls keep their limits.
READ_ENDPOINTS: Final = frozenset(
    {
        GET_STATION_LIST,
        STATIONS,
        GET_STATION_REAL_KPI,
        GET_KPI_STATION_HOUR,
        GET_KPI_STATION_DAY,
        GET_KPI_STATION_MONTH,
        GET_KPI_STATION_YEAR,
        GET_DEV_LIST,
        GET_DEV_REAL_KPI,
        GET_DEV_FIVE_MINUTES,
        GET_DEV_KPI_DAY,
        GET_DEV_KPI_MONTH,
        GET_DEV_KPI_YEAR,
        GET_ALARM_LIST,
        V7_PLANTS,
        V7_DEVICES,
        V7_VPP_PLANTS,
        V7_REALTIME,
        V7_FIVE_MINUTES,
    }
)

# Endpoints with a daily budget under the field quirk ``daily_budget``
# (ceil(plants / 100) + 24 accepted calls per account and local day).
DAILY_BUDGET_ENDPOINTS: Final = frozenset(
    {
        GET_KPI_STATION_HOUR,
        GET_KPI_STATION_DAY,
        GET_KPI_STATION_MONTH,
        GET_KPI_STATION_YEAR,
        GET_DEV_FIVE_MINUTES,
        V7_FIVE_MINUTES,
    }
)

# --- error codes (§7 and the per-endpoint tables of §5.3.6-§5.3.9) ---------------------
ERROR_MESSAGES: Final[dict[int, str]] = {
    305: "You are not in the login state. You need to log in again.",
    401: "You do not have the related data interface permission.",
    407: "ACCESS_FREQUENCY_IS_TOO_HIGH",
    20001: "The third-party system ID does not exist.",
    20002: "The third-party system is forbidden.",
    20003: "The third-party system has expired.",
    20004: "The server is abnormal.",
    20005: "The device ID cannot be empty.",
    20006: "Some devices do not match the device type.",
    20007: "The system does not have the desired power plant resources.",
    20008: "The system does not have the desired device resources.",
    20009: "Queried KPIs are not configured in the system.",
    20010: "The plant list cannot be empty.",
    20011: "The device list cannot be empty.",
    20012: "The query time cannot be empty.",
    20013: "The device type is incorrect. The interface does not support operations on some "
    "devices.",
    20014: "A maximum of 100 plants can be queried at a time.",
    20015: "A maximum of 100 plants can be queried at a time.",
    20016: "A maximum of 100 devices can be queried at a time.",
    20017: "A maximum of 100 devices can be queried at a time.",
    20019: "The switch type is incorrect. 1 and 2 indicate switch-on and switch-off respectively.",
    20023: "The query start time cannot be later than the query end time.",
    20024: "The language cannot be empty.",
    20025: "The language parameter value is incorrect.",
    20026: "Only data of the latest 365 days can be queried.",
    20027: "The query time period cannot span more than 31 days.",
    20028: "user does not exist",
    20038: "In the input parameters, the authorization code list is empty (null), or the "
    "number of authorization codes is out of range. The allowed range is [0, 1000].",
    20039: "The DoD value is empty or out of range. The allowed range is [0,100].",
    20040: "The charge/discharge parameter value is invalid.",
    20041: "The control type cannot be empty during forced charge and discharge.",
    20042: "The target SOC for charge/discharge is empty or invalid.",
    20043: "The charge/discharge duration is empty or invalid.",
    20044: "The unique ID of a charge/discharge task cannot be empty.",
    20045: "Unauthorized PV plants exist in the input parameters.",
    20046: "Unauthorized devices exist in the input parameters.",
    20047: "The forced charge/discharge power in the input parameters is invalid.",
    20048: "Duplicate charge/discharge task ID.",
    20049: "Failed to deliver the charge/discharge task.",
    20050: "The charge/discharge task query parameter does not exist.",
    20051: "Battery DoD setting failed.",
    20052: "Failed to start or shut down the inverter.",
    20053: "SOC control is not supported and an update is needed.",
    20056: "The user does not have the permission to access this interface.",  # field
    20400: "The username or password of the third-party system is incorrect.",
    20403: "The login of the third-party system user is restricted.",
    20618: "The API account exceeded the maximum daily calls for this interface.",  # 26.2
    30001: "The device ESN list cannot be empty.",
    30002: "The ESNs queried at a time cannot exceed 50.",
    30003: "The account cannot be empty in the input parameter.",
    30004: "The value of pageNo cannot be empty.",
    30005: "The value of pageSize cannot be empty.",
    30006: "The value of pageSize is out of range. The allowed range is {10, 20, 30, 50, 100}.",
    30007: "The values of startTime and endTime must be both provided or empty.",
    30021: "The value of pageNo is smaller than 0.",
}

# Simulator choice: the spec names no code for a cross-day five-minute query; 20027 (the
# §7 "query time period" code) is returned.
FIVE_MINUTES_CROSS_DAY_CODE: Final = 20027

PAGE_SIZES: Final = (10, 20, 30, 50, 100)
MAX_IDS: Final = 100
ALARM_LANGUAGES: Final = (
    "zh_CN",
    "en_UK",
    "ja_JP",
    "it_IT",
    "nl_NL",
    "pt_BR",
    "de_DE",
    "fr_FR",
    "es_ES",
    "po_PO",
)
# Not in the spec's list but sent by real clients; accepted as English (simulator choice).
ALARM_LANGUAGE_ALIASES: Final = {"en_US": "en_UK", "en_GB": "en_UK"}

# --- device types ----------------------------------------------------------------------
DEV_STRING_INVERTER: Final = 1
DEV_EMI: Final = 10
DEV_GRID_METER: Final = 17
DEV_RESIDENTIAL_INVERTER: Final = 38
DEV_BATTERY: Final = 39
DEV_POWER_SENSOR: Final = 47

V7_BATTERY: Final = 20815
V7_METER: Final = 20816
V7_INVERTER: Final = 20822
V7_EMI: Final = 20824

# Device types each legacy device data endpoint supports (§2.3 / §3.6).
REAL_KPI_TYPES: Final = frozenset({1, 10, 17, 38, 39, 47})
FIVE_MINUTE_TYPES: Final = frozenset({1, 10, 17, 38, 39, 47})
DEV_KPI_PERIOD_TYPES: Final = frozenset({1, 38, 39})

# The keys of each type's §4.6 real-time table (getDevRealKpi dataItemMap). The grid
# meter (17) has no `run_state` (neither has the 26.2 table). Its string-inverter row
# `active_power` is printed outside the key column (a table glitch) but listed.
_GRID_PHASES: Final = ("ab_u", "bc_u", "ca_u", "a_u", "b_u", "c_u", "a_i", "b_i", "c_i")
INVERTER_KEYS: Final = (
    "inverter_state",
    *_GRID_PHASES,
    "efficiency",
    "temperature",
    "power_factor",
    "elec_freq",
    "active_power",
    "reactive_power",
    "day_cap",
    "mppt_power",
    "total_cap",
    "open_time",
    "close_time",
    "run_state",
)


def _numbered(template: str, count: int) -> tuple[str, ...]:
    return tuple(template.format(n) for n in range(1, count + 1))


_TARIFF_COUNTERS: Final = tuple(
    f"{direction}_{kind}_{tariff}"
    for kind in ("active", "reactive")
    for direction in ("reverse", "positive")
    for tariff in ("peak", "power", "valley", "top")
)
BATTERY_KEYS: Final = (
    "battery_status",
    "max_charge_power",
    "max_discharge_power",
    "ch_discharge_power",
    "busbar_u",
    "battery_soc",
    "battery_soh",
    "ch_discharge_model",
    "charge_cap",
    "discharge_cap",
    "run_state",
)
REAL_KPI_KEYS: Final[dict[int, frozenset[str]]] = {
    1: frozenset(
        (
            *INVERTER_KEYS,
            *_numbered("pv{}_u", 24),
            *_numbered("pv{}_i", 24),
            "mppt_total_cap",
            *_numbered("mppt_{}_cap", 10),
        )
    ),
    38: frozenset(
        (
            *INVERTER_KEYS,
            *_numbered("pv{}_u", 8),
            *_numbered("pv{}_i", 8),
            *_numbered("mppt_{}_cap", 4),
        )
    ),
    10: frozenset(
        {
            "temperature",
            "pv_temperature",
            "wind_speed",
            "wind_direction",
            "radiant_total",
            "radiant_line",
            "horiz_radiant_line",
            "horiz_radiant_total",
            "run_state",
        }
    ),
    17: frozenset(
        {
            *_GRID_PHASES,
            "active_power",
            "power_factor",
            "active_cap",
            "reactive_power",
            "reverse_active_cap",
            "forward_reactive_cap",
            "reverse_reactive_cap",
            *(f"active_power_{phase}" for phase in "abc"),
            *(f"reactive_power_{phase}" for phase in "abc"),
            "total_apparent_power",
            "grid_frequency",
            *_TARIFF_COUNTERS,
        }
    ),
    47: frozenset(
        {
            "meter_status",
            "meter_u",
            "meter_i",
            "active_power",
            "reactive_power",
            "power_factor",
            "grid_frequency",
            "active_cap",
            "reverse_active_cap",
            "run_state",
        }
    ),
    39: frozenset(BATTERY_KEYS),
}
KNOWN_LEGACY_TYPES: Final = frozenset(
    {1, 2, 8, 10, 13, 16, 17, 22, 37, 38, 39, 40, 45, 46, 47, 62, 63, 70}
)

# Table 4-1 (inverter_state)
INVERTER_STATE_GRID_CONNECTED: Final = 512
INVERTER_STATE_COMMANDED_SHUTDOWN: Final = 769
INVERTER_STATE_NO_SUNLIGHT: Final = 40960

# health states
LEGACY_HEALTH_DISCONNECTED: Final = 1
LEGACY_HEALTH_FAULTY: Final = 2
LEGACY_HEALTH_HEALTHY: Final = 3
V7_HEALTH_HEALTHY: Final = 0
V7_HEALTH_DISCONNECTED: Final = 1
V7_HEALTH_FAULTY: Final = 2

ELECTRICITY_PRICE: Final = 0.25  # revenue per kWh of yield (currency units)
