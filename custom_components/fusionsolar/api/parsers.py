"""Tolerant parsers of the NBI payloads into the typed models of ``models.py``.

Every ``parse_*`` function accepts *any* JSON value (the ``data`` of an envelope) and
never raises: a bad field becomes ``None``, a bad item is skipped with a debug log.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import IntEnum
from typing import Any

from .const import V7_TO_LEGACY_DEV_TYPE
from .kpitables import ApiGeneration, scale_to_kilo
from .models import (
    Alarm,
    AlarmLevel,
    Device,
    DeviceRealtimeKpi,
    DispatchCommand,
    DispatchResult,
    DispatchState,
    DispatchStatus,
    DispatchTask,
    DodResult,
    FiveMinuteKpi,
    HourlyPlantKpi,
    OnOffResult,
    Plant,
    PlantHealth,
    PlantRealtimeKpi,
    StationRealtimeKpi,
)
from .values import (
    first_of,
    from_ms,
    normalize_map,
    parse_items,
    to_bool_result,
    to_datetime,
    to_float,
    to_int,
    to_str,
)

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


def _enum_or_none[E: IntEnum](cls: type[E], value: Any) -> E | None:
    code = to_int(value)
    if code is None:
        return None
    try:
        return cls(code)
    except ValueError:
        return None


def _plant_legacy(item: Mapping[str, Any]) -> Plant | None:
    code = to_str(first_of(item, "stationCode", "plantCode"))
    if code is None:
        return None
    capacity_mw = to_float(item.get("capacity"))
    return Plant(
        code=code,
        name=to_str(first_of(item, "stationName", "plantName")),
        address=to_str(first_of(item, "stationAddr", "plantAddress")),
        capacity_kwp=capacity_mw * 1000.0 if capacity_mw is not None else None,
        latitude=to_float(item.get("latitude")),
        longitude=to_float(item.get("longitude")),
        grid_connection_date=to_datetime(first_of(item, "gridConnectionDate", "gridConnTime")),
    )


def _plant_v7(item: Mapping[str, Any]) -> Plant | None:
    code = to_str(first_of(item, "plantCode", "stationCode"))
    if code is None:
        return None
    return Plant(
        code=code,
        name=to_str(first_of(item, "plantName", "stationName")),
        address=to_str(first_of(item, "plantAddress", "address", "stationAddr")),
        capacity_kwp=to_float(item.get("capacity")),
        latitude=to_float(item.get("latitude")),
        longitude=to_float(item.get("longitude")),
        grid_connection_date=to_datetime(
            first_of(item, "gridConnectionDate", "gridConnectionTime", "gridConnTime")
        ),
    )


def parse_plants_legacy(data: Any) -> list[Plant]:
    """``getStationList`` data (capacity in MW)."""
    return parse_items(data, _plant_legacy, "getStationList")


def parse_plants_stations(data: Any) -> list[Plant]:
    """Paged ``/thirdData/stations`` data (field: renamed fields, capacity in kWp)."""
    return parse_items(data, _plant_v7, "stations")


def parse_plants_v7(data: Any) -> list[Plant]:
    """V7 ``plants`` data (paged map or bare list; capacity in kWp)."""
    return parse_items(data, _plant_v7, "plants")


def _device_legacy(item: Mapping[str, Any]) -> Device | None:
    dev_id = to_str(first_of(item, "id", "devId"))
    if dev_id is None:
        return None
    return Device(
        id=dev_id,
        dn=to_str(item.get("devDn")),
        plant_code=to_str(first_of(item, "stationCode", "plantCode")),
        dev_type_id=to_int(item.get("devTypeId")),
        name=to_str(item.get("devName")),
        sn=to_str(item.get("esnCode")),
        model=to_str(first_of(item, "invType", "model")),
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
        name=to_str(first_of(item, "deviceName", "devName")),
        sn=to_str(first_of(item, "sn", "esnCode")),
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
    return parse_items(data, _device_legacy, "getDevList")


def parse_devices_v7(data: Any) -> list[Device]:
    """V7 ``devices`` data (paged map or bare list)."""
    return parse_items(data, _device_v7, "devices")


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


def _plant_realtime(item: Mapping[str, Any]) -> PlantRealtimeKpi | None:
    code = to_str(first_of(item, "plantCode", "stationCode"))
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
    return {k.plant_code: k for k in parse_items(data, _plant_realtime, "plantRealtimeKpi")}


def _station_realtime(item: Mapping[str, Any]) -> StationRealtimeKpi | None:
    code = to_str(first_of(item, "stationCode", "plantCode"))
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
        day_on_grid_energy=to_float(kpi.get("day_on_grid_energy")),
        day_use_energy=to_float(kpi.get("day_use_energy")),
    )


def parse_station_realtime(data: Any) -> dict[str, StationRealtimeKpi]:
    """``getStationRealKpi`` data keyed by plant code."""
    items = parse_items(data, _station_realtime, "getStationRealKpi")
    return {k.plant_code: k for k in items}


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
        dev_id = to_str(first_of(item, "devId", "id"))
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

    return {k.dev_id: k for k in parse_items(data, _one, "getDevRealKpi")}


def _five_minutes(item: Mapping[str, Any]) -> FiveMinuteKpi | None:
    start = to_datetime(first_of(item, "dateTime", "collectTime"))
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
    items = parse_items(data, _five_minutes, "plantFiveMinutesKpi")
    return sorted(items, key=lambda k: k.start)


def _hourly(item: Mapping[str, Any]) -> HourlyPlantKpi | None:
    code = to_str(first_of(item, "stationCode", "plantCode"))
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
    items = parse_items(data, _hourly, "getKpiStationHour")
    return sorted(items, key=lambda k: (k.plant_code, k.collect_time_ms))


def _alarm(item: Mapping[str, Any]) -> Alarm | None:
    alarm = Alarm(
        plant_code=to_str(first_of(item, "stationCode", "plantCode")),
        plant_name=to_str(first_of(item, "stationName", "plantName")),
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
    return parse_items(data, _alarm, "getAlarmList")


def _dispatch_result(item: Mapping[str, Any]) -> DispatchResult | None:
    return DispatchResult(
        plant_code=to_str(first_of(item, "plantCode", "stationCode")),
        sn=to_str(item.get("sn")),
        remote_id=to_str(first_of(item, "remoteID", "remoteId")),
        success=to_bool_result(first_of(item, "dispatchResult", "result")),
    )


def parse_dispatch_command(data: Any, request_id: int) -> DispatchCommand:
    """``vpp/chargeAndDischarge`` data."""
    results = parse_items(data, _dispatch_result, "chargeAndDischarge")
    return DispatchCommand(request_id=request_id, results=tuple(results))


def _dispatch_task(item: Mapping[str, Any]) -> DispatchTask | None:
    return DispatchTask(
        plant_code=to_str(first_of(item, "plantCode", "stationCode")),
        sn=to_str(item.get("sn")),
        remote_id=to_str(first_of(item, "remoteID", "remoteId")),
        state=_enum_or_none(DispatchState, item.get("status")),
        charged_kwh=to_float(item.get("chargedCapacity")),
        discharged_kwh=to_float(item.get("dischargedCapacity")),
        start=to_datetime(first_of(item, "execStartTime", "startTime")),
        end=to_datetime(first_of(item, "execEndTime", "endTime")),
    )


def parse_dispatch_status(data: Any, request_id: int) -> DispatchStatus:
    """``vpp/chargeAndDischargeStatus`` data (a list, or a map per the table)."""
    entries = parse_items(data, _dispatch_task, "chargeAndDischargeStatus")
    return DispatchStatus(request_id=request_id, entries=tuple(entries))


def _dod(item: Mapping[str, Any]) -> DodResult | None:
    dn = to_str(item.get("dn"))
    if dn is None:
        return None
    return DodResult(
        dn=dn,
        success=to_bool_result(item.get("result")),
        set_dod=to_int(first_of(item, "setDOD", "setDod", "dod")),
    )


def parse_dod_results(data: Any) -> list[DodResult]:
    """``vpp/dod`` data."""
    return parse_items(data, _dod, "dod")


def _on_off(item: Mapping[str, Any]) -> OnOffResult | None:
    dn = to_str(item.get("dn"))
    if dn is None:
        return None
    return OnOffResult(dn=dn, success=to_bool_result(item.get("result")))


def parse_on_off_results(data: Any) -> list[OnOffResult]:
    """``vpp/devOnOff`` data."""
    return parse_items(data, _on_off, "devOnOff")
