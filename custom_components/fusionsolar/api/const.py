"""Constants of the SmartPVMS northbound API (NBI): endpoints, quotas, device types, units.

Everything here comes from ``SmartPVMS-NBI-reference.md`` (the "spec") unless marked
*field*, which means ``field-notes.md`` (how the live service behaves).
"""

from __future__ import annotations

from enum import IntEnum, StrEnum
from typing import Final, Self

LEGACY_PREFIX: Final = "/thirdData"
V7_PREFIX: Final = "/rest/openapi/pvms/v1"
#: Family of today's cloud (SmartPVMS 26.2 digest §1.1): history, configuration, control.
NBI_PREFIX: Final = "/rest/openapi/pvms/nbi"

#: Default port of the V7 interfaces (spec §5).
V7_DEFAULT_PORT: Final = 27200

#: Length of a quota window (spec §1: "per minute").
QUOTA_WINDOW: Final = 60.0

#: Maximum number of plants / devices per request (spec §3.4-§3.7, §5.2-§5.3).
MAX_BATCH: Final = 100

#: Page size used for the paged V7 ``plants`` / ``devices`` and legacy ``stations``.
PAGE_SIZE: Final = 100

#: Safety stop for paging loops (100 pages x 100 = 10 000 plants or devices).
MAX_PAGES: Final = 100


class Endpoint(StrEnum):
    """Every endpoint, named by its URL path (the name used by governor and simulator)."""

    # Legacy family (spec §3)
    LEGACY_LOGIN = f"{LEGACY_PREFIX}/login"
    LEGACY_LOGOUT = f"{LEGACY_PREFIX}/logout"
    STATION_LIST = f"{LEGACY_PREFIX}/getStationList"
    STATIONS = (
        f"{LEGACY_PREFIX}/stations"  # field: paged plant list where getStationList is refused
    )
    STATION_REAL_KPI = f"{LEGACY_PREFIX}/getStationRealKpi"
    KPI_STATION_HOUR = f"{LEGACY_PREFIX}/getKpiStationHour"
    KPI_STATION_DAY = f"{LEGACY_PREFIX}/getKpiStationDay"
    KPI_STATION_MONTH = f"{LEGACY_PREFIX}/getKpiStationMonth"
    KPI_STATION_YEAR = f"{LEGACY_PREFIX}/getKpiStationYear"
    DEV_LIST = f"{LEGACY_PREFIX}/getDevList"
    DEV_REAL_KPI = f"{LEGACY_PREFIX}/getDevRealKpi"
    DEV_FIVE_MINUTES = f"{LEGACY_PREFIX}/getDevFiveMinutes"
    DEV_KPI_DAY = f"{LEGACY_PREFIX}/getDevKpiDay"
    DEV_KPI_MONTH = f"{LEGACY_PREFIX}/getDevKpiMonth"
    DEV_KPI_YEAR = f"{LEGACY_PREFIX}/getDevKpiYear"
    ALARM_LIST = f"{LEGACY_PREFIX}/getAlarmList"
    # V7 family (spec §5)
    V7_LOGIN = f"{V7_PREFIX}/login"
    V7_LOGOUT = f"{V7_PREFIX}/logout"
    V7_PLANTS = f"{V7_PREFIX}/plants"
    V7_DEVICES = f"{V7_PREFIX}/devices"
    VPP_SN_ENROLMENT = f"{V7_PREFIX}/vpp/snEnrolment"
    VPP_AC_ENROLMENT = f"{V7_PREFIX}/vpp/acEnrolment"
    VPP_PLANTS = f"{V7_PREFIX}/vpp/plants"
    VPP_PLANT_REALTIME = f"{V7_PREFIX}/vpp/plantRealtimeKpi"
    VPP_PLANT_FIVE_MINUTES = f"{V7_PREFIX}/vpp/plantFiveMinutesKpi"
    VPP_CHARGE_DISCHARGE = f"{V7_PREFIX}/vpp/chargeAndDischarge"
    VPP_CHARGE_DISCHARGE_STATUS = f"{V7_PREFIX}/vpp/chargeAndDischargeStatus"
    VPP_DOD = f"{V7_PREFIX}/vpp/dod"
    VPP_DEV_ON_OFF = f"{V7_PREFIX}/vpp/devOnOff"
    SN_IS_REGISTER = f"{V7_PREFIX}/community/snIsRegister"
    # NBI family of today's cloud (26.2 digest §1.1, Part B §2.2, §5)
    NBI_DEVICE_HISTORY = f"{NBI_PREFIX}/v1/device/history"
    NBI_BATTERY_MODE = f"{NBI_PREFIX}/v1/configuration/battery-mode"
    NBI_ACTIVE_POWER_MODE = f"{NBI_PREFIX}/v1/configuration/active-power-control-mode"
    # Control tasks of today's cloud (26.2 digest §5.2); the charge/discharge task's
    # status keeps the V7 path VPP_CHARGE_DISCHARGE_STATUS (§5.2.2), with the legacy token.
    NBI_CHARGE_DISCHARGE_TASK = f"{NBI_PREFIX}/v2/control/charge-and-discharge/async-task"
    NBI_BATTERY_MODE_TASK = f"{NBI_PREFIX}/v1/control/battery/mode/async-task"
    NBI_BATTERY_MODE_INFO = f"{NBI_PREFIX}/v1/control/battery/mode/task-info"
    NBI_BATTERY_CONFIG_TASK = f"{NBI_PREFIX}/v1/control/battery/configuration/async-task"
    NBI_BATTERY_CONFIG_INFO = f"{NBI_PREFIX}/v1/control/battery/configuration/task-info"
    NBI_ACTIVE_POWER_TASK = f"{NBI_PREFIX}/v2/control/active-power-control/async-task"
    NBI_ACTIVE_POWER_INFO = f"{NBI_PREFIX}/v2/control/active-power-control/task-info"
    NBI_BATTERY_DISPATCH_TASK = f"{NBI_PREFIX}/v1/control/battery/battery-dispatch/async-task"
    NBI_BATTERY_DISPATCH_INFO = f"{NBI_PREFIX}/v1/control/battery/battery-dispatch/task-info"


#: Documented per-minute limit of each endpoint ("access times of each NBI account per
#: minute"). §1 says 10 per API per minute; the endpoint sections override it.
SPEC_LIMITS: Final[dict[str, int]] = {
    Endpoint.LEGACY_LOGIN: 1,
    Endpoint.LEGACY_LOGOUT: 1,
    Endpoint.STATION_LIST: 1,
    Endpoint.STATIONS: 1,  # not in the spec; field: treat like getStationList
    Endpoint.STATION_REAL_KPI: 10,
    Endpoint.KPI_STATION_HOUR: 1,
    Endpoint.KPI_STATION_DAY: 1,
    Endpoint.KPI_STATION_MONTH: 1,
    Endpoint.KPI_STATION_YEAR: 1,
    Endpoint.DEV_LIST: 10,
    Endpoint.DEV_REAL_KPI: 10,
    Endpoint.DEV_FIVE_MINUTES: 10,
    Endpoint.DEV_KPI_DAY: 1,
    Endpoint.DEV_KPI_MONTH: 1,
    Endpoint.DEV_KPI_YEAR: 1,
    Endpoint.ALARM_LIST: 1,
    Endpoint.V7_LOGIN: 1,
    Endpoint.V7_LOGOUT: 1,
    Endpoint.V7_PLANTS: 1,
    Endpoint.V7_DEVICES: 10,
    Endpoint.VPP_SN_ENROLMENT: 10,
    Endpoint.VPP_AC_ENROLMENT: 10,
    Endpoint.VPP_PLANTS: 1,
    Endpoint.VPP_PLANT_REALTIME: 10,
    Endpoint.VPP_PLANT_FIVE_MINUTES: 10,
    Endpoint.VPP_CHARGE_DISCHARGE: 100,
    Endpoint.VPP_CHARGE_DISCHARGE_STATUS: 100,
    Endpoint.VPP_DOD: 10,
    Endpoint.VPP_DEV_ON_OFF: 10,
    Endpoint.SN_IS_REGISTER: 100,
    # 26.2 §4.2: every control endpoint 1 call per minute per API account
    Endpoint.NBI_CHARGE_DISCHARGE_TASK: 1,
    Endpoint.NBI_BATTERY_MODE_TASK: 1,
    Endpoint.NBI_BATTERY_MODE_INFO: 1,
    Endpoint.NBI_BATTERY_CONFIG_TASK: 1,
    Endpoint.NBI_BATTERY_CONFIG_INFO: 1,
    Endpoint.NBI_ACTIVE_POWER_TASK: 1,
    Endpoint.NBI_ACTIVE_POWER_INFO: 1,
    Endpoint.NBI_BATTERY_DISPATCH_TASK: 1,
    Endpoint.NBI_BATTERY_DISPATCH_INFO: 1,
}

#: Limit for an endpoint the table does not know (spec §1).
DEFAULT_LIMIT: Final = 10

LOGIN_ENDPOINTS: Final = frozenset({Endpoint.LEGACY_LOGIN, Endpoint.V7_LOGIN})
LOGOUT_ENDPOINTS: Final = frozenset({Endpoint.LEGACY_LOGOUT, Endpoint.V7_LOGOUT})

#: Endpoints where the field reports daily budgets (field: hourly/daily/monthly/yearly
#: plant KPIs, five-minute data). A single refusal that the per-minute window cannot
#: explain teaches the governor a daily budget for these; other endpoints need two.
DAILY_BUDGET_ENDPOINTS: Final = frozenset(
    {
        Endpoint.KPI_STATION_HOUR,
        Endpoint.KPI_STATION_DAY,
        Endpoint.KPI_STATION_MONTH,
        Endpoint.KPI_STATION_YEAR,
        Endpoint.DEV_FIVE_MINUTES,
        Endpoint.DEV_KPI_DAY,
        Endpoint.DEV_KPI_MONTH,
        Endpoint.DEV_KPI_YEAR,
        Endpoint.VPP_PLANT_FIVE_MINUTES,
    }
)

#: Commands that change a plant: never sent twice (a resend after a dropped connection
#: could act twice, or reuse a request id: 20048). Any CONTROL-priority request other
#: than a login counts as one too.
CONTROL_ENDPOINTS: Final = frozenset(
    {
        Endpoint.VPP_CHARGE_DISCHARGE,
        Endpoint.VPP_DOD,
        Endpoint.VPP_DEV_ON_OFF,
        Endpoint.VPP_SN_ENROLMENT,
        Endpoint.VPP_AC_ENROLMENT,
        Endpoint.NBI_CHARGE_DISCHARGE_TASK,
        Endpoint.NBI_BATTERY_MODE_TASK,
        Endpoint.NBI_BATTERY_CONFIG_TASK,
        Endpoint.NBI_ACTIVE_POWER_TASK,
        Endpoint.NBI_BATTERY_DISPATCH_TASK,
    }
)

#: Endpoints used by both control commands and periodic reads: reads leave one slot of
#: headroom there so that a control command never waits behind a poll.
CONTROL_SHARED_ENDPOINTS: Final = frozenset({Endpoint.VPP_CHARGE_DISCHARGE_STATUS})

#: Quota refusal as HTTP 403 (field).
QUOTA_403_ERROR_CODE: Final = "49401021002"

#: Request headers / cookie carrying the session token (spec §3.1, §5.1.1).
TOKEN_HEADER: Final = "XSRF-TOKEN"
TOKEN_RESPONSE_HEADERS: Final = ("xsrf-token", "xsrftoken", "XSRF-TOKEN")
TOKEN_COOKIE: Final = "XSRF-TOKEN"

#: Token idle timeout (spec §3.1: 30 min). A 305 earlier than this after the last
#: successful use of the token means another login kicked us out (field: one session).
TOKEN_IDLE_TIMEOUT: Final = 30 * 60.0
KICKOUT_IDLE_THRESHOLD: Final = 25 * 60.0
#: Legacy tokens also expire 30 min after their login (§3.1 l.264, 26.2 §3.2.2.1); V7
#: tokens only time out idle (§5.1.1 l.3600). The client renews a legacy token this long
#: after its login, and a 305 on a token this old is its expiry, not a kick-out.
LEGACY_TOKEN_LIFETIME: Final = 30 * 60.0
TOKEN_RENEW_AFTER: Final = 28 * 60.0
#: After a kick-out the other client has just logged in: its 1/min login window (plus
#: the governor's 1 s margin) must pass before our re-login, or it is refused.
LOGIN_WINDOW: Final = 61.0
#: Exponential back-off of re-logins after repeated kick-outs: 1, 2, 4 ... minutes.
KICKOUT_BACKOFF_BASE: Final = 60.0
KICKOUT_BACKOFF_MAX: Final = 32 * 60.0
#: This long without a kick-out resets the consecutive kick-out counter.
KICKOUT_RESET_AFTER: Final = 30 * 60.0

#: A refused endpoint (401 / 20056) is not asked again for this long.
PERMISSION_RECHECK: Final = 6 * 3600.0

#: Maximum wait of a control command for a quota slot.
CONTROL_MAX_WAIT: Final = 60.0


class DevType(IntEnum):
    """Legacy device type IDs (spec §3.5)."""

    STRING_INVERTER = 1
    SMARTLOGGER = 2
    TRANSFORMER = 8
    EMI = 10
    PROTOCOL_CONVERTER = 13
    GENERAL_DEVICE = 16
    GRID_METER = 17
    PID = 22
    PINNET_DATA_LOGGER = 37
    RESIDENTIAL_INVERTER = 38
    BATTERY = 39
    BACKUP_BOX = 40
    PLC = 45
    OPTIMIZER = 46
    POWER_SENSOR = 47
    DONGLE = 62
    DISTRIBUTED_SMARTLOGGER = 63
    SAFETY_BOX = 70
    SMART_ASSISTANT = 23070  # 26.2 digest: SmartAssistant (EMMA), since 25.2.0
    ALL_IN_ONE = 23093  # 26.2 digest: PV + storage all-in-one, since 26.2.0


#: Device types that ``getDevRealKpi`` supports (spec §3.6.1; 23070 and 23093: 26.2 digest).
REALTIME_DEV_TYPES: Final = frozenset({1, 10, 17, 38, 39, 47, 23070, 23093})

#: V7 deviceTypeId (spec §6) -> legacy devTypeId (spec §3.5). Types without a legacy
#: equivalent (MPPT, PV, PV module, central inverter, combiner boxes, STS ...) are absent.
V7_TO_LEGACY_DEV_TYPE: Final[dict[int, int]] = {
    20814: 46,  # optimizer
    20815: 39,  # battery
    20816: 17,  # meter
    20817: 40,  # backup box
    20818: 70,  # safety box
    20819: 62,  # communication module (dongle)
    20821: 2,  # SmartLogger
    20822: 38,  # inverter (residential)
    20824: 10,  # environmental monitoring instrument (EMI)
    20825: 22,  # PID
    20826: 45,  # PLC
    20827: 1,  # central inverter: closest legacy type is the (string) inverter
}


class CodedState(IntEnum):
    """A state code of a device KPI; a code the spec does not list is ``OTHER``.

    ``key`` is the state's name as Home Assistant shows it (enum sensor option).
    """

    @classmethod
    def _missing_(cls, value: object) -> CodedState:
        return cls["OTHER"]

    @classmethod
    def from_code(cls, code: float | None) -> Self | None:
        """The state of a KPI value (None when the device reports none)."""
        return None if code is None else cls(int(code))

    @property
    def key(self) -> str:
        """The state's name, e.g. ``grid_connection``."""
        return self.name.lower()


class InverterState(CodedState):
    """Inverter status (spec Table 4-1, ``inverter_state``)."""

    STANDBY_INITIALIZING = 0
    STANDBY_INSULATION_RESISTANCE_DETECTION = 1
    STANDBY_SUNLIGHT_DETECTION = 2
    STANDBY_POWER_GRID_DETECTION = 3
    STANDBY_SAFE_MODE = 4  # codes 4-7, 515-525, 775-785, 1027-1029, 2560-2561, 40961: 26.2
    STANDBY_WIRING_DETECTION = 5
    STANDBY_SOFT_START = 6
    STANDBY_INITIALIZATION_AFTER_STORAGE = 7
    START = 256
    GRID_CONNECTION = 512
    GRID_CONNECTION_LIMITED_POWER = 513
    GRID_CONNECTION_SELF_DERATING = 514
    OFF_GRID_RUNNING = 515
    RUNNING_HOT_STANDBY = 516
    RUNNING_HOT_STANDBY_REACTIVE_COMPENSATION = 517
    RUNNING_PQ = 518
    RUNNING_VSG = 519
    RUNNING_LIMITED_POWER = 520
    RUNNING_SELF_DERATING = 521
    RUNNING_COLD_STANDBY = 522
    RUNNING_BATTERY_LIMITED_POWER = 523
    RUNNING_ALL_IN_ONE_LIMITED_POWER = 524
    RUNNING_BATTERY_SOC_MAINTENANCE = 525
    SHUTDOWN_UNEXPECTED = 768
    SHUTDOWN_COMMANDED = 769
    SHUTDOWN_OVGR = 770
    SHUTDOWN_COMMUNICATION_DISCONNECTION = 771
    SHUTDOWN_LIMITED_POWER = 772
    SHUTDOWN_MANUAL_STARTUP_REQUIRED = 773
    SHUTDOWN_DC_SWITCH_DISCONNECTED = 774
    SHUTDOWN_RAPID = 775
    SHUTDOWN_INPUT_UNDER_POWER = 776
    SHUTDOWN_NS_PROTECTION = 777
    SHUTDOWN_RAPID_COMMANDED = 778
    SHUTDOWN_BACKUP_POWER_ABNORMAL = 779
    SHUTDOWN_STORAGE_DISCHARGE_CUTOFF = 780
    SHUTDOWN_MANUAL_BLACK_START_REQUIRED = 781
    SHUTDOWN_DRY_CONTACT = 782
    SHUTDOWN_STORAGE_COMMANDED = 783
    SHUTDOWN_AC_BUS_ABNORMAL = 784
    SHUTDOWN_EXCITATION_FUSE_ABNORMAL = 785
    GRID_SCHEDULING_COSPHI_P_CURVE = 1025
    GRID_SCHEDULING_Q_U_CURVE = 1026
    GRID_SCHEDULING_PF_U_CURVE = 1027
    GRID_SCHEDULING_DRY_CONTACT = 1028
    GRID_SCHEDULING_Q_P_CURVE = 1029
    SPOT_CHECK_READY = 1280
    SPOT_CHECKING = 1281
    INSPECTING = 1536
    AFCI_SELF_CHECK = 1792
    IV_SCANNING = 2048
    DC_INPUT_DETECTION = 2304
    OFF_GRID_CHARGING = 2560
    STANDBY_BACKUP_POWER_ABNORMAL = 2561
    STANDBY_NO_SUNLIGHT = 40960
    STANDBY_NO_DC_INPUT = 40961
    COMMUNICATION_DISCONNECTION = 45056
    LOADING = 49152
    OTHER = -1

    @property
    def is_shutdown(self) -> bool:
        """Whether the inverter is shut down (states 768-774; 26.2: up to 785)."""
        return self.SHUTDOWN_UNEXPECTED <= self <= self.SHUTDOWN_EXCITATION_FUSE_ABNORMAL

    @property
    def is_fault(self) -> bool:
        """Whether the shutdown means something is wrong (unexpected, OVGR, manual start)."""
        return self in _INVERTER_FAULTS


_INVERTER_FAULTS: Final = frozenset(
    {
        InverterState.SHUTDOWN_UNEXPECTED,
        InverterState.SHUTDOWN_OVGR,
        InverterState.SHUTDOWN_MANUAL_STARTUP_REQUIRED,
        InverterState.SHUTDOWN_BACKUP_POWER_ABNORMAL,
        InverterState.SHUTDOWN_MANUAL_BLACK_START_REQUIRED,
        InverterState.SHUTDOWN_AC_BUS_ABNORMAL,
        InverterState.SHUTDOWN_EXCITATION_FUSE_ABNORMAL,
    }
)


class BatteryStatus(CodedState):
    """Battery running status (spec §4.6, devTypeId 39 ``battery_status``)."""

    OFFLINE = 0
    STANDBY = 1
    RUNNING = 2
    FAULTY = 3
    HIBERNATION = 4
    RESTART = 5  # 26.2 digest (type 39 only)
    OTHER = -1

    @property
    def is_fault(self) -> bool:
        """Whether the battery reports a fault."""
        return self is BatteryStatus.FAULTY


class BatteryWorkingMode(CodedState):
    """Charge/discharge mode (``ch_discharge_model``: spec §4.6 0-4; 26.2 digest 0-12)."""

    NONE = 0
    FORCED = 1
    TIME_OF_USE = 2
    FIXED = 3
    AUTOMATIC = 4
    FULLY_FED_TO_GRID = 5
    TOU = 6
    REMOTE_MAXIMUM_SELF_CONSUMPTION = 7
    REMOTE_FULLY_FED_TO_GRID = 8
    REMOTE_TOU = 9
    AI_ENERGY_MANAGEMENT = 10
    REMOTE_AI_ENERGY_MANAGEMENT = 11
    THIRD_PARTY_DISPATCH = 12
    OTHER = -1


def state_table(states: type[CodedState]) -> dict[int, str]:
    """The spec's table of a coded state: code -> key (``OTHER`` left out)."""
    return {state.value: state.key for state in states if state.name != "OTHER"}


#: Inverter status (spec Table 4-1, ``inverter_state``).
INVERTER_STATES: Final[dict[int, str]] = state_table(InverterState)

#: Battery running status (spec §4.6, devTypeId 39 ``battery_status``).
BATTERY_STATES: Final[dict[int, str]] = state_table(BatteryStatus)

#: Depth-of-discharge ranges (%) per battery maker: 100 % minus the end-of-discharge SOC
#: the spec allows (§5.3.9: 0-20 % on Huawei batteries, 12-20 % on LG batteries).
HUAWEI_DOD_RANGE: Final = (80, 100)
LG_DOD_RANGE: Final = (80, 88)
