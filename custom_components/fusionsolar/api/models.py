"""Typed models of the NBI payloads (their tolerant parsers are in ``parsers.py``).

Units: power kW, energy kWh, temperature °C, percentages 0-100, capacities kWp.
Signs (plant level, V7 convention): ``grid_power`` > 0 export, < 0 import;
``battery_power`` > 0 discharge, < 0 charge.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum, IntEnum
from typing import Final

from .const import (
    HUAWEI_DOD_RANGE,
    LG_DOD_RANGE,
    BatteryStatus,
    BatteryWorkingMode,
    DevType,
    InverterState,
)
from .kpitables import ApiGeneration

# ------------------------------------------------------------------------------ enums


class DeviceKind(Enum):
    """What a device is, for the integration."""

    INVERTER = "inverter"
    BATTERY = "battery"
    METER = "meter"
    POWER_SENSOR = "power_sensor"
    EMI = "emi"
    SMART_ASSISTANT = "smart_assistant"
    ALL_IN_ONE = "all_in_one"
    OTHER = "other"


class PlantHealth(Enum):
    """Plant health (V7 table 0/1/2, legacy 1/2/3, V7 example 3 = healthy)."""

    HEALTHY = "healthy"
    DISCONNECTED = "disconnected"
    FAULTY = "faulty"


class AlarmLevel(IntEnum):
    """Alarm severity (spec §3.7 ``lev``)."""

    CRITICAL = 1
    MAJOR = 2
    MINOR = 3
    WARNING = 4


class DispatchMode(IntEnum):
    """``dispatchSwitch`` of vpp/chargeAndDischarge (spec §5.3.6)."""

    STOP = 0
    CHARGE = 1
    DISCHARGE = 2


class DispatchState(IntEnum):
    """Task status of vpp/chargeAndDischargeStatus (spec §5.3.7)."""

    COMPLETE = 0
    IN_PROGRESS = 1
    TIMEOUT = 2


# ----------------------------------------------------------------------------- models


@dataclass(frozen=True, slots=True)
class ApiFamilies:
    """Which API families the account can use."""

    legacy: bool
    v7: bool


@dataclass(frozen=True, slots=True)
class Plant:
    """A plant (station). ``capacity_kwp`` in kWp (legacy MW converted)."""

    code: str
    name: str | None = None
    address: str | None = None
    capacity_kwp: float | None = None
    latitude: float | None = None
    longitude: float | None = None
    grid_connection_date: datetime | None = None


def legacy_kind(dev_type_id: int | None) -> DeviceKind:
    """The kind of a legacy devTypeId."""
    if dev_type_id in (DevType.STRING_INVERTER, DevType.RESIDENTIAL_INVERTER):
        return DeviceKind.INVERTER
    if dev_type_id == DevType.BATTERY:
        return DeviceKind.BATTERY
    if dev_type_id == DevType.GRID_METER:
        return DeviceKind.METER
    if dev_type_id == DevType.POWER_SENSOR:
        return DeviceKind.POWER_SENSOR
    if dev_type_id == DevType.EMI:
        return DeviceKind.EMI
    return NEW_DEVICE_KINDS.get(dev_type_id or 0, DeviceKind.OTHER)


@dataclass(frozen=True, slots=True)
class Device:
    """A device of either family.

    ``id`` is the legacy devId (as text; None if only V7 knows the device), ``dn`` the V7
    device DN (None if only legacy knows it). ``dev_type_id`` is always the legacy type
    (V7 deviceTypeId mapped; ``v7_type_id`` keeps the original).
    """

    id: str | None
    dn: str | None
    plant_code: str | None
    dev_type_id: int | None
    name: str | None = None
    sn: str | None = None
    model: str | None = None
    software_version: str | None = None
    v7_type_id: int | None = None
    rated_power_kw: float | None = None
    battery_rated_capacity_kwh: float | None = None
    battery_usable_capacity_kwh: float | None = None
    battery_dod: float | None = None
    latitude: float | None = None
    longitude: float | None = None

    @property
    def kind(self) -> DeviceKind:
        """Inverter, battery, meter, power sensor, EMI or other."""
        return legacy_kind(self.dev_type_id)

    @property
    def key(self) -> str:
        """A stable identifier: SN, else legacy id, else DN."""
        return self.sn or self.id or self.dn or ""

    @property
    def dod_range(self) -> tuple[int, int]:
        """The depth-of-discharge range (%) of a battery, from its maker (LG RESU or Huawei)."""
        return LG_DOD_RANGE if _LG_MODEL.search(self.model or "") else HUAWEI_DOD_RANGE


_LG_MODEL = re.compile(r"\bLG\b|RESU", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class PlantRealtimeKpi:
    """V7 ``vpp/plantRealtimeKpi`` of one plant (kW, kWh, %).

    ``grid_power`` > 0 export, < 0 import (``meterPower``, or the example's
    ``pmeterPower``); ``battery_power`` > 0 discharge, < 0 charge.
    """

    plant_code: str
    pv_power: float | None = None
    grid_power: float | None = None
    battery_power: float | None = None
    load_power: float | None = None
    battery_soc: float | None = None
    battery_dod: float | None = None
    health: PlantHealth | None = None
    day_energy: float | None = None
    month_energy: float | None = None
    total_energy: float | None = None


@dataclass(frozen=True, slots=True)
class StationRealtimeKpi:
    """Legacy ``getStationRealKpi`` of one plant (kWh; income in the plant's currency)."""

    plant_code: str
    day_power: float | None = None
    month_power: float | None = None
    total_power: float | None = None
    day_income: float | None = None
    total_income: float | None = None
    health: PlantHealth | None = None
    # 26.x (24.6.0+): the plant's day (kWh), reset at its local midnight.
    day_on_grid_energy: float | None = None
    day_use_energy: float | None = None


@dataclass(frozen=True, slots=True)
class DeviceRealtimeKpi:
    """Legacy ``getDevRealKpi`` of one device; units per ``kpitables.DEVICE_KPI_UNITS``."""

    dev_id: str
    dev_type_id: int | None
    values: Mapping[str, float | None] = field(default_factory=dict)
    generation: ApiGeneration = ApiGeneration.V500R007

    def get(self, key: str) -> float | None:
        """A value by key (None when missing)."""
        return self.values.get(key)

    def _flag(self, key: str, on: int = 1) -> bool | None:
        value = self.values.get(key)
        return None if value is None else int(value) == on

    @property
    def inverter_state(self) -> InverterState | None:
        """An inverter's status (Table 4-1)."""
        return InverterState.from_code(self.values.get("inverter_state"))

    @property
    def battery_status(self) -> BatteryStatus | None:
        """A battery's running status."""
        return BatteryStatus.from_code(self.values.get("battery_status"))

    @property
    def battery_working_mode(self) -> BatteryWorkingMode | None:
        """A battery's charge/discharge mode."""
        return BatteryWorkingMode.from_code(self.values.get("ch_discharge_model"))

    @property
    def connected(self) -> bool | None:
        """Whether the device is connected (``run_state`` 1)."""
        return self._flag("run_state")

    @property
    def meter_online(self) -> bool | None:
        """Whether a power sensor's meter is normal (``meter_status`` 1)."""
        return self._flag("meter_status")

    @property
    def switched_on(self) -> bool | None:
        """Whether an inverter is on: not shut down (768-774) nor disconnected (``run_state`` 0)."""
        state, run_state = self.inverter_state, self.values.get("run_state")
        if state is None and run_state is None:
            return None
        if state is not None and state.is_shutdown:
            return False
        return run_state is None or int(run_state) != 0


@dataclass(frozen=True, slots=True)
class FiveMinuteKpi:
    """One 5-minute period of V7 ``vpp/plantFiveMinutesKpi`` (energies in kWh)."""

    start: datetime
    pv_energy: float | None = None
    input_energy: float | None = None
    ongrid_energy: float | None = None
    load_energy: float | None = None
    charge_energy: float | None = None
    discharge_energy: float | None = None
    grid2load_energy: float | None = None
    grid2battery_energy: float | None = None
    pv2load_energy: float | None = None
    battery_energy: float | None = None
    battery_soc: float | None = None


@dataclass(frozen=True, slots=True)
class HourlyPlantKpi:
    """One hour of legacy ``getKpiStationHour`` (kWh; profit in currency)."""

    plant_code: str
    start: datetime
    collect_time_ms: int
    inverter_power: float | None = None
    ongrid_power: float | None = None
    use_power: float | None = None
    power_profit: float | None = None
    radiation_intensity: float | None = None
    theory_power: float | None = None


@dataclass(frozen=True, slots=True)
class Alarm:
    """An alarm of ``getAlarmList``."""

    plant_code: str | None
    plant_name: str | None
    alarm_id: int | None
    alarm_name: str | None
    cause_id: int | None
    cause: str | None
    alarm_type: int | None
    dev_name: str | None
    esn: str | None
    dev_type_id: int | None
    level: AlarmLevel | None
    status: int | None
    raise_time: datetime | None
    repair_suggestion: str | None

    @property
    def key(self) -> str:
        """A stable unique key: plant, device, alarm id, cause id and raise time."""
        raised = int(self.raise_time.timestamp() * 1000) if self.raise_time else ""
        return (
            f"{self.plant_code or ''}|{self.esn or self.dev_name or ''}|"
            f"{self.alarm_id if self.alarm_id is not None else ''}|"
            f"{self.cause_id if self.cause_id is not None else ''}|{raised}"
        )

    @property
    def active(self) -> bool:
        """Not processed, acknowledged or being handled (status 1-3)."""
        return self.status in (1, 2, 3)


@dataclass(frozen=True, slots=True)
class DispatchResult:
    """Per plant/inverter result of a charge/discharge command."""

    plant_code: str | None
    sn: str | None
    remote_id: str | None
    success: bool | None


@dataclass(frozen=True, slots=True)
class DispatchCommand:
    """The answer of ``vpp/chargeAndDischarge``."""

    request_id: int
    results: tuple[DispatchResult, ...] = ()

    @property
    def success(self) -> bool:
        """True when every result succeeded (and there is at least one)."""
        return bool(self.results) and all(r.success for r in self.results)


@dataclass(frozen=True, slots=True)
class DispatchTask:
    """Status of one subtask of a charge/discharge command."""

    plant_code: str | None
    sn: str | None
    remote_id: str | None
    state: DispatchState | None
    charged_kwh: float | None
    discharged_kwh: float | None
    start: datetime | None
    end: datetime | None


@dataclass(frozen=True, slots=True)
class DispatchStatus:
    """The answer of ``vpp/chargeAndDischargeStatus``."""

    request_id: int
    entries: tuple[DispatchTask, ...] = ()

    @property
    def state(self) -> DispatchState | None:
        """TIMEOUT if any timed out, IN_PROGRESS if any runs, COMPLETE if all done."""
        states = [e.state for e in self.entries]
        if not states or any(s is None for s in states):
            return None
        if DispatchState.TIMEOUT in states:
            return DispatchState.TIMEOUT
        if DispatchState.IN_PROGRESS in states:
            return DispatchState.IN_PROGRESS
        return DispatchState.COMPLETE


@dataclass(frozen=True, slots=True)
class DodResult:
    """Result of ``vpp/dod`` for one battery; ``set_dod`` is what the system applied."""

    dn: str
    success: bool | None
    set_dod: int | None


@dataclass(frozen=True, slots=True)
class OnOffResult:
    """Result of ``vpp/devOnOff`` for one inverter."""

    dn: str
    success: bool | None


#: Kinds of the device types the 26.2 digest adds.
NEW_DEVICE_KINDS: Final[dict[int, DeviceKind]] = {
    DevType.SMART_ASSISTANT: DeviceKind.SMART_ASSISTANT,
    DevType.ALL_IN_ONE: DeviceKind.ALL_IN_ONE,
}


def api_generation(families: ApiFamilies, *, todays_cloud: bool = False) -> ApiGeneration:
    """The generation of an account's data: 26.x only with evidence of today's cloud.

    Today's cloud (26.2 digest) no longer serves the V7 family, but an on-premises
    V500R007 system or an account without V7 rights lacks it too (and reports the meter
    in kW): so no V7 alone is no evidence. ``todays_cloud`` is that evidence (an ``nbi``
    endpoint answering, the legacy station list gone); until the client learns it, every
    account reads with the V500R007 meanings.
    """
    if families.v7 or not todays_cloud:
        return ApiGeneration.V500R007
    return ApiGeneration.CLOUD_2026
