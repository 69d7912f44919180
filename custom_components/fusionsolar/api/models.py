"""Typed models of the NBI payloads and their tolerant parsers.

Every ``parse_*`` function accepts *any* JSON value (the ``data`` of an envelope) and
never raises: a bad field becomes ``None``, a bad item is skipped with a debug log.

Units: power kW, energy kWh, temperature °C, percentages 0-100, capacities kWp.
Signs (plant level, V7 convention): ``grid_power`` > 0 export, < 0 import;
``battery_power`` > 0 discharge, < 0 charge.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum, IntEnum
from typing import Any, Final

from .const import (
    HUAWEI_DOD_RANGE,
    LG_DOD_RANGE,
    V7_TO_LEGACY_DEV_TYPE,
    ApiGeneration,
    BatteryStatus,
    BatteryWorkingMode,
    DevType,
    InverterState,
    scale_to_kilo,
)

_LOGGER = logging.getLogger(__name__)

# ----------------------------------------------------------------------------- helpers


def to_float(value: Any) -> float | None:
    """A finite float from a number or numeric string ("12.5", " 3 "); else None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        result = float(value) if abs(value) < 1e300 else None
    elif isinstance(value, float):
        result = value
    elif isinstance(value, str):
        text = value.strip().replace(",", ".") if value.count(",") == 1 else value.strip()
        if not text or text in {"-", "--", "N/A", "null", "None"}:
            return None
        try:
            result = float(text)
        except ValueError:
            return None
    else:
        return None
    if result is None or math.isnan(result) or math.isinf(result):
        return None
    return result + 0.0  # -0.0 becomes 0.0


def to_int(value: Any) -> int | None:
    """An int from an int, an integral float or a numeric string; else None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            pass
    number = to_float(value)
    if number is None or not number.is_integer():
        return None
    return int(number)


def to_str(value: Any) -> str | None:
    """A stripped non-empty string; numbers (ids) become their decimal text; else None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        return text or None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and math.isfinite(value):
        return str(int(value)) if value.is_integer() else str(value)
    return None


def to_bool_result(value: Any) -> bool | None:
    """A result flag where 0 means success and 1 failure (spec: dispatchResult/result)."""
    if isinstance(value, bool):
        return value
    code = to_int(value)
    if code is None:
        return None
    return code == 0


def to_datetime(value: Any) -> datetime | None:
    """An aware datetime from ISO text (+0800, +08:00, Z, .000 millis) or epoch ms.

    Naive text is taken as UTC (the spec always includes the zone).
    """
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return from_ms(value)
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text:
        return None
    if text.isascii() and text.isdigit():  # "¹" is a digit to str.isdigit, not to int()
        return from_ms(int(text))
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def from_ms(value: Any) -> datetime | None:
    """An aware UTC datetime from epoch milliseconds."""
    number = to_float(value)
    if number is None:
        return None
    try:
        return datetime.fromtimestamp(number / 1000.0, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def normalize_key(key: str) -> str:
    """Spec examples write keys with spaces ("real health state"): use underscores."""
    return "_".join(key.strip().split())


def normalize_map(value: Any) -> dict[str, Any]:
    """A dataItemMap with normalised keys; anything that is not a map becomes {}."""
    if not isinstance(value, Mapping):
        return {}
    return {normalize_key(k): v for k, v in value.items() if isinstance(k, str)}


_PAGING_KEYS = ("list", "total", "pageCount", "pageNo", "pageSize")


def item_list(data: Any) -> list[Any]:
    """The items of ``data``: a bare list, a paged map ``{list: [...]}``, or a single map.

    The spec's tables describe paged maps, its examples bare lists (field-notes).
    """
    if isinstance(data, list):
        return data
    if isinstance(data, Mapping):
        for key in ("list", "data", "records", "rows"):
            inner = data.get(key)
            if isinstance(inner, list):
                return inner
        if any(key in data for key in _PAGING_KEYS):
            return []
        if data and all(isinstance(v, Mapping) for v in data.values()):
            # A map keyed by id ({"NE=1": {...}, ...}).
            return list(data.values())
        if data:
            return [data]
    return []


def page_count(data: Any) -> int | None:
    """``pageCount`` of a paged map, if present."""
    if isinstance(data, Mapping):
        return to_int(data.get("pageCount"))
    return None


def split_codes(value: Any) -> list[str]:
    """A comma separated list ("a, b,c") as stripped strings."""
    text = to_str(value)
    if text is None:
        return []
    return [part.strip() for part in text.split(",") if part.strip()]


def _first(item: Mapping[str, Any], *keys: str) -> Any:
    """The first non-None value among ``keys``."""
    for key in keys:
        value = item.get(key)
        if value is not None and value != "":
            return value
    return None


def _parse_items[T](
    data: Any, parser: Callable[[Mapping[str, Any]], T | None], what: str
) -> list[T]:
    """Apply ``parser`` to every map item; skip bad items with a debug log."""
    result: list[T] = []
    for raw in item_list(data):
        if not isinstance(raw, Mapping):
            _LOGGER.debug("Skipping %s item that is not a map: %.100r", what, raw)
            continue
        try:
            parsed = parser(raw)
        except Exception:
            _LOGGER.debug("Skipping unparsable %s item: %.200r", what, raw, exc_info=True)
            continue
        if parsed is not None:
            result.append(parsed)
    return result


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


_HEALTH: dict[int, PlantHealth] = {
    0: PlantHealth.HEALTHY,  # V7 table
    1: PlantHealth.DISCONNECTED,  # both
    2: PlantHealth.FAULTY,  # both
    3: PlantHealth.HEALTHY,  # legacy; V7 example
}


def parse_health(value: Any) -> PlantHealth | None:
    """Health from either family's code; unknown codes become None."""
    code = to_int(value)
    return _HEALTH.get(code) if code is not None else None


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


def _enum_or_none[E: IntEnum](cls: type[E], value: Any) -> E | None:
    code = to_int(value)
    if code is None:
        return None
    try:
        return cls(code)
    except ValueError:
        return None


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


def _plant_legacy(item: Mapping[str, Any]) -> Plant | None:
    code = to_str(_first(item, "stationCode", "plantCode"))
    if code is None:
        return None
    capacity_mw = to_float(item.get("capacity"))
    return Plant(
        code=code,
        name=to_str(_first(item, "stationName", "plantName")),
        address=to_str(_first(item, "stationAddr", "plantAddress")),
        capacity_kwp=capacity_mw * 1000.0 if capacity_mw is not None else None,
        latitude=to_float(item.get("latitude")),
        longitude=to_float(item.get("longitude")),
        grid_connection_date=to_datetime(_first(item, "gridConnectionDate", "gridConnTime")),
    )


def _plant_v7(item: Mapping[str, Any]) -> Plant | None:
    code = to_str(_first(item, "plantCode", "stationCode"))
    if code is None:
        return None
    return Plant(
        code=code,
        name=to_str(_first(item, "plantName", "stationName")),
        address=to_str(_first(item, "plantAddress", "address", "stationAddr")),
        capacity_kwp=to_float(item.get("capacity")),
        latitude=to_float(item.get("latitude")),
        longitude=to_float(item.get("longitude")),
        grid_connection_date=to_datetime(
            _first(item, "gridConnectionDate", "gridConnectionTime", "gridConnTime")
        ),
    )


def parse_plants_legacy(data: Any) -> list[Plant]:
    """``getStationList`` data (capacity in MW)."""
    return _parse_items(data, _plant_legacy, "getStationList")


def parse_plants_stations(data: Any) -> list[Plant]:
    """Paged ``/thirdData/stations`` data (field: renamed fields, capacity in kWp)."""
    return _parse_items(data, _plant_v7, "stations")


def parse_plants_v7(data: Any) -> list[Plant]:
    """V7 ``plants`` data (paged map or bare list; capacity in kWp)."""
    return _parse_items(data, _plant_v7, "plants")


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


def _device_legacy(item: Mapping[str, Any]) -> Device | None:
    dev_id = to_str(_first(item, "id", "devId"))
    if dev_id is None:
        return None
    return Device(
        id=dev_id,
        dn=to_str(item.get("devDn")),
        plant_code=to_str(_first(item, "stationCode", "plantCode")),
        dev_type_id=to_int(item.get("devTypeId")),
        name=to_str(item.get("devName")),
        sn=to_str(item.get("esnCode")),
        model=to_str(_first(item, "invType", "model")),
        software_version=to_str(item.get("softwareVersion")),
        latitude=to_float(item.get("latitude")),
        longitude=to_float(item.get("longitude")),
    )


def _device_v7(item: Mapping[str, Any]) -> Device | None:
    dn = to_str(item.get("dn"))
    if dn is None:
        return None
    v7_type = to_int(item.get("deviceTypeId"))
    extra = normalize_map(item.get("dataItemMap"))
    return Device(
        id=None,
        dn=dn,
        plant_code=to_str(item.get("plantCode")),
        dev_type_id=V7_TO_LEGACY_DEV_TYPE.get(v7_type) if v7_type is not None else None,
        name=to_str(_first(item, "deviceName", "devName")),
        sn=to_str(_first(item, "sn", "esnCode")),
        model=to_str(extra.get("model")),
        software_version=to_str(extra.get("softwareVersion")),
        v7_type_id=v7_type,
        rated_power_kw=to_float(extra.get("ratedPower")),
        battery_rated_capacity_kwh=to_float(extra.get("ratedCapacity")),
        battery_usable_capacity_kwh=to_float(extra.get("usableCapacity")),
        battery_dod=to_float(extra.get("dod")),
    )


def parse_devices_legacy(data: Any) -> list[Device]:
    """``getDevList`` data."""
    return _parse_items(data, _device_legacy, "getDevList")


def parse_devices_v7(data: Any) -> list[Device]:
    """V7 ``devices`` data (paged map or bare list)."""
    return _parse_items(data, _device_v7, "devices")


def merge_devices(legacy: Iterable[Device], v7: Iterable[Device]) -> list[Device]:
    """Merge both families' device lists by SN (legacy first, then V7-only devices)."""
    by_sn: dict[str, Device] = {}
    v7_list = list(v7)
    for dev in v7_list:
        if dev.sn:
            by_sn.setdefault(dev.sn, dev)
    merged: list[Device] = []
    used: set[str] = set()
    for dev in legacy:
        other = by_sn.get(dev.sn) if dev.sn else None
        if other is None:
            merged.append(dev)
            continue
        used.add(other.dn or "")
        merged.append(
            Device(
                id=dev.id,
                dn=other.dn,
                plant_code=dev.plant_code or other.plant_code,
                dev_type_id=dev.dev_type_id if dev.dev_type_id is not None else other.dev_type_id,
                name=dev.name or other.name,
                sn=dev.sn,
                model=dev.model or other.model,
                software_version=dev.software_version or other.software_version,
                v7_type_id=other.v7_type_id,
                rated_power_kw=other.rated_power_kw,
                battery_rated_capacity_kwh=other.battery_rated_capacity_kwh,
                battery_usable_capacity_kwh=other.battery_usable_capacity_kwh,
                battery_dod=other.battery_dod,
                latitude=dev.latitude,
                longitude=dev.longitude,
            )
        )
    merged.extend(dev for dev in v7_list if (dev.dn or "") not in used)
    return merged


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


def _plant_realtime(item: Mapping[str, Any]) -> PlantRealtimeKpi | None:
    code = to_str(_first(item, "plantCode", "stationCode"))
    if code is None:
        return None
    kpi = normalize_map(item.get("dataItemMap"))
    grid = to_float(kpi.get("meterPower"))
    if grid is None:
        grid = to_float(kpi.get("pmeterPower"))
    return PlantRealtimeKpi(
        plant_code=code,
        pv_power=to_float(kpi.get("pvPower")),
        grid_power=grid,
        battery_power=to_float(kpi.get("batteryPower")),
        load_power=to_float(kpi.get("loadPower")),
        battery_soc=to_float(kpi.get("batterySOC")),
        battery_dod=to_float(kpi.get("batteryDOD")),
        health=parse_health(kpi.get("healthState")),
        day_energy=to_float(kpi.get("dayEnergy")),
        month_energy=to_float(kpi.get("monthEnergy")),
        total_energy=to_float(kpi.get("totalEnergy")),
    )


def parse_plant_realtime(data: Any) -> dict[str, PlantRealtimeKpi]:
    """``vpp/plantRealtimeKpi`` data keyed by plant code."""
    return {k.plant_code: k for k in _parse_items(data, _plant_realtime, "plantRealtimeKpi")}


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


def _station_realtime(item: Mapping[str, Any]) -> StationRealtimeKpi | None:
    code = to_str(_first(item, "stationCode", "plantCode"))
    if code is None:
        return None
    kpi = normalize_map(item.get("dataItemMap"))
    return StationRealtimeKpi(
        plant_code=code,
        day_power=to_float(kpi.get("day_power")),
        month_power=to_float(kpi.get("month_power")),
        total_power=to_float(kpi.get("total_power")),
        day_income=to_float(kpi.get("day_income")),
        total_income=to_float(kpi.get("total_income")),
        health=parse_health(kpi.get("real_health_state")),
    )


def parse_station_realtime(data: Any) -> dict[str, StationRealtimeKpi]:
    """``getStationRealKpi`` data keyed by plant code."""
    items = _parse_items(data, _station_realtime, "getStationRealKpi")
    return {k.plant_code: k for k in items}


@dataclass(frozen=True, slots=True)
class DeviceRealtimeKpi:
    """Legacy ``getDevRealKpi`` of one device; units per ``const.DEVICE_KPI_UNITS``."""

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


def device_values(
    dev_type_id: int | None, raw: Any, generation: ApiGeneration = ApiGeneration.V500R007
) -> dict[str, float | None]:
    """Normalise a device dataItemMap: keys, numbers, W -> kW where the reference says W."""
    scale = scale_to_kilo(generation, dev_type_id)
    values: dict[str, float | None] = {}
    for key, value in normalize_map(raw).items():
        number = to_float(value)
        if number is not None and key in scale:
            number = number / 1000.0
        values[key] = number
    return values


def parse_device_realtime(
    data: Any, dev_type_id: int | None, generation: ApiGeneration = ApiGeneration.V500R007
) -> dict[str, DeviceRealtimeKpi]:
    """``getDevRealKpi`` data keyed by devId (text), in the units of ``generation``."""

    def _one(item: Mapping[str, Any]) -> DeviceRealtimeKpi | None:
        dev_id = to_str(_first(item, "devId", "id"))
        if dev_id is None:
            return None
        type_id = to_int(item.get("devTypeId"))
        if type_id is None:
            type_id = dev_type_id
        return DeviceRealtimeKpi(
            dev_id=dev_id,
            dev_type_id=type_id,
            values=device_values(type_id, item.get("dataItemMap"), generation),
            generation=generation,
        )

    return {k.dev_id: k for k in _parse_items(data, _one, "getDevRealKpi")}


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


def _five_minutes(item: Mapping[str, Any]) -> FiveMinuteKpi | None:
    start = to_datetime(_first(item, "dateTime", "collectTime"))
    if start is None:
        return None
    return FiveMinuteKpi(
        start=start,
        pv_energy=to_float(item.get("pvEnergy")),
        input_energy=to_float(item.get("inputEnergy")),
        ongrid_energy=to_float(item.get("ongridEnergy")),
        load_energy=to_float(item.get("loadEnergy")),
        charge_energy=to_float(item.get("chargeEnergy")),
        discharge_energy=to_float(item.get("dischargeEnergy")),
        grid2load_energy=to_float(item.get("grid2loadEnergy")),
        grid2battery_energy=to_float(item.get("grid2batteryEnergy")),
        pv2load_energy=to_float(item.get("pv2loadEnergy")),
        battery_energy=to_float(item.get("batteryEnergy")),
        battery_soc=to_float(item.get("batterySOC")),
    )


def parse_five_minutes(data: Any) -> list[FiveMinuteKpi]:
    """``vpp/plantFiveMinutesKpi`` data sorted by start."""
    items = _parse_items(data, _five_minutes, "plantFiveMinutesKpi")
    return sorted(items, key=lambda k: k.start)


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


def _hourly(item: Mapping[str, Any]) -> HourlyPlantKpi | None:
    code = to_str(_first(item, "stationCode", "plantCode"))
    ms = to_int(item.get("collectTime"))
    if code is None or ms is None:
        return None
    start = from_ms(ms)
    if start is None:
        return None
    kpi = normalize_map(item.get("dataItemMap"))
    return HourlyPlantKpi(
        plant_code=code,
        start=start,
        collect_time_ms=ms,
        inverter_power=to_float(kpi.get("inverter_power")),
        ongrid_power=to_float(kpi.get("ongrid_power")),
        use_power=to_float(kpi.get("use_power")),
        power_profit=to_float(kpi.get("power_profit")),
        radiation_intensity=to_float(kpi.get("radiation_intensity")),
        theory_power=to_float(kpi.get("theory_power")),
    )


def parse_hourly(data: Any) -> list[HourlyPlantKpi]:
    """``getKpiStationHour`` data sorted by plant and time."""
    items = _parse_items(data, _hourly, "getKpiStationHour")
    return sorted(items, key=lambda k: (k.plant_code, k.collect_time_ms))


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


def _alarm(item: Mapping[str, Any]) -> Alarm | None:
    alarm = Alarm(
        plant_code=to_str(_first(item, "stationCode", "plantCode")),
        plant_name=to_str(_first(item, "stationName", "plantName")),
        alarm_id=to_int(item.get("alarmId")),
        alarm_name=to_str(item.get("alarmName")),
        cause_id=to_int(item.get("causeId")),
        cause=to_str(item.get("alarmCause")),
        alarm_type=to_int(item.get("alarmType")),
        dev_name=to_str(item.get("devName")),
        esn=to_str(item.get("esnCode")),
        dev_type_id=to_int(item.get("devTypeId")),
        level=_enum_or_none(AlarmLevel, item.get("lev")),
        status=to_int(item.get("status")),
        raise_time=to_datetime(item.get("raiseTime")),
        repair_suggestion=to_str(item.get("repairSuggestion")),
    )
    if alarm.alarm_id is None and alarm.alarm_name is None:
        return None
    return alarm


def parse_alarms(data: Any) -> list[Alarm]:
    """``getAlarmList`` data."""
    return _parse_items(data, _alarm, "getAlarmList")


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


def _dispatch_result(item: Mapping[str, Any]) -> DispatchResult | None:
    return DispatchResult(
        plant_code=to_str(_first(item, "plantCode", "stationCode")),
        sn=to_str(item.get("sn")),
        remote_id=to_str(_first(item, "remoteID", "remoteId")),
        success=to_bool_result(_first(item, "dispatchResult", "result")),
    )


def parse_dispatch_command(data: Any, request_id: int) -> DispatchCommand:
    """``vpp/chargeAndDischarge`` data."""
    results = _parse_items(data, _dispatch_result, "chargeAndDischarge")
    return DispatchCommand(request_id=request_id, results=tuple(results))


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


def _dispatch_task(item: Mapping[str, Any]) -> DispatchTask | None:
    return DispatchTask(
        plant_code=to_str(_first(item, "plantCode", "stationCode")),
        sn=to_str(item.get("sn")),
        remote_id=to_str(_first(item, "remoteID", "remoteId")),
        state=_enum_or_none(DispatchState, item.get("status")),
        charged_kwh=to_float(item.get("chargedCapacity")),
        discharged_kwh=to_float(item.get("dischargedCapacity")),
        start=to_datetime(_first(item, "execStartTime", "startTime")),
        end=to_datetime(_first(item, "execEndTime", "endTime")),
    )


def parse_dispatch_status(data: Any, request_id: int) -> DispatchStatus:
    """``vpp/chargeAndDischargeStatus`` data (a list, or a map per the table)."""
    entries = _parse_items(data, _dispatch_task, "chargeAndDischargeStatus")
    return DispatchStatus(request_id=request_id, entries=tuple(entries))


@dataclass(frozen=True, slots=True)
class DodResult:
    """Result of ``vpp/dod`` for one battery; ``set_dod`` is what the system applied."""

    dn: str
    success: bool | None
    set_dod: int | None


def _dod(item: Mapping[str, Any]) -> DodResult | None:
    dn = to_str(item.get("dn"))
    if dn is None:
        return None
    return DodResult(
        dn=dn,
        success=to_bool_result(item.get("result")),
        set_dod=to_int(_first(item, "setDOD", "setDod", "dod")),
    )


def parse_dod_results(data: Any) -> list[DodResult]:
    """``vpp/dod`` data."""
    return _parse_items(data, _dod, "dod")


@dataclass(frozen=True, slots=True)
class OnOffResult:
    """Result of ``vpp/devOnOff`` for one inverter."""

    dn: str
    success: bool | None


def _on_off(item: Mapping[str, Any]) -> OnOffResult | None:
    dn = to_str(item.get("dn"))
    if dn is None:
        return None
    return OnOffResult(dn=dn, success=to_bool_result(item.get("result")))


def parse_on_off_results(data: Any) -> list[OnOffResult]:
    """``vpp/devOnOff`` data."""
    return _parse_items(data, _on_off, "devOnOff")


#: Kinds of the device types the 26.2 digest adds.
NEW_DEVICE_KINDS: Final[dict[int, DeviceKind]] = {
    DevType.SMART_ASSISTANT: DeviceKind.SMART_ASSISTANT,
    DevType.ALL_IN_ONE: DeviceKind.ALL_IN_ONE,
}


def api_generation(families: ApiFamilies) -> ApiGeneration:
    """The generation of an account's data: V7 answers -> V500R007, else 26.x.

    Today's cloud (26.2 digest) no longer serves the V7 family; a V500R007 system does.
    Call it after the login (``families`` is all False before).
    """
    return ApiGeneration.V500R007 if families.v7 else ApiGeneration.CLOUD_2026
