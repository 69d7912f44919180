"""Handlers of the legacy family (``/thirdData``, reference §3).

``HANDLERS`` maps each path to its handler; the cloud-2026 profile (``nbi``) extends some
of these answers with the 26.2 keys.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from . import const
from .kpis import battery_share, device_item, inverter_share, r1, r3
from .model import SLOT, SLOT_H, Counters, Device, NeAddressed, Plant, SlotState
from .params import (
    _as_int,
    _id_list,
    _int_set,
    _month_days,
    _months,
    _ms,
    _required_time,
)
from .pipeline import ApiError, Ctx, Handler, Reply, h_logout
from .v7 import plant_page

if TYPE_CHECKING:
    from .app import Simulator


def _stat_item(plant: Plant, energies: Counters, radiation: float) -> dict[str, Any]:
    pv = energies["pv"]
    theory = plant.kwp * radiation
    return {
        "installed_capacity": plant.kwp,
        "radiation_intensity": round(radiation, 4),
        "theory_power": r3(theory),
        "performance_ratio": r1(min(100.0, pv / theory * 100.0)) if theory > 0 else 0.0,
        "inverter_power": r3(pv),
        "ongrid_power": r3(energies["export"]),
        "use_power": r3(energies["load"]),
        "power_profit": r3(pv * const.ELECTRICITY_PRICE),
        "perpower_ratio": r3(pv / plant.kwp) if plant.kwp else 0.0,
        "reduction_total_co2": r3(pv * 0.000997),
        "reduction_total_coal": r3(pv * 0.0004),
        "reduction_total_tree": round(pv * 0.0545),
    }


def h_station_list(sim: Simulator, ctx: Ctx) -> Reply:
    """getStationList (§3.3): capacity in MW."""
    return Reply(
        [
            {
                "stationCode": p.code,
                "stationName": p.name,
                "stationAddr": p.address,
                "capacity": round(p.kwp / 1000.0, 6),
                "buildState": "2",
                "combineType": "3",
                "aidType": 1,
                "stationLinkman": p.contact_person,
                "linkmanPho": p.contact_method,
            }
            for p in sim.visible_plants(ctx.account)
        ]
    )


def h_stations(sim: Simulator, ctx: Ctx) -> Reply:
    """/thirdData/stations (field): paged plant list with V7-style field names.

    Quirk plants_as_list: the page as a bare list, like the V7 examples.
    """
    return plant_page(sim, ctx, required=False)


def h_station_real_kpi(sim: Simulator, ctx: Ctx) -> Reply:
    """getStationRealKpi (§3.4.1, keys §4.1)."""
    plants = sim._plants_for(ctx, "stationCodes", max_code=20014, unauthorized=20007)
    data = []
    for plant in plants:
        state = plant.state(ctx.boundary)
        day, month, total = sim._plant_counters(plant, state)
        item: dict[str, Any] = {
            "day_power": r3(day),
            "month_power": r3(month),
            "total_power": r3(total),
            "day_income": r3(day * const.ELECTRICITY_PRICE),
            "total_income": r3(total * const.ELECTRICITY_PRICE),
            "real_health_state": sim._health(plant, ctx.boundary, "legacy"),
        }
        if sim.quirks.legacy_string_values:
            item = {k: (f"{v:.3f}" if isinstance(v, float) else str(v)) for k, v in item.items()}
        data.append({"stationCode": plant.code, "dataItemMap": item})
    return Reply(data)


def h_kpi_station_hour(sim: Simulator, ctx: Ctx) -> Reply:
    """getKpiStationHour (§3.4.2): the hours of the collectTime's local day published so far."""
    plants = sim._plants_for(ctx, "stationCodes", max_code=20014, unauthorized=20007)
    t = _required_time(ctx.body, "collectTime")
    data = []
    for plant in plants:
        d = plant.local_date(t)
        hours: dict[float, dict[str, float]] = {}
        for day, k in plant.slots(d, ctx.boundary):
            slot_t = day.start + k * SLOT
            offset = datetime.fromtimestamp(slot_t, plant.tz).utcoffset()
            off = offset.total_seconds() if offset else 0.0
            hour = slot_t - ((slot_t + off) % 3600)
            acc = hours.setdefault(hour, {"rad": 0.0, "pv": 0.0, "export": 0.0})
            acc["rad"] += day.irradiance[k] * SLOT_H / 1000.0
            acc["pv"] += day.pv[k] * SLOT_H
            acc["export"] += day.exp[k] * SLOT_H
        for hour, acc in hours.items():
            data.append(
                {
                    "stationCode": plant.code,
                    "collectTime": _ms(hour),
                    "dataItemMap": {
                        "radiation_intensity": round(acc["rad"], 4),
                        "theory_power": r3(acc["rad"] * plant.kwp),
                        "inverter_power": r3(acc["pv"]),
                        "ongrid_power": r3(acc["export"]) if plant.has_grid_meter else None,
                        "power_profit": r3(acc["pv"] * const.ELECTRICITY_PRICE),
                    },
                }
            )
    return Reply(data)


REPORT_PERIOD: dict[str, str] = {
    const.GET_KPI_STATION_DAY: "day",
    const.GET_KPI_STATION_MONTH: "month",
    const.GET_KPI_STATION_YEAR: "year",
    const.GET_DEV_KPI_DAY: "day",
    const.GET_DEV_KPI_MONTH: "month",
    const.GET_DEV_KPI_YEAR: "year",
}


def report_periods(
    endpoint: str, plant: Plant, t: float, today: date
) -> Iterator[tuple[date, date]]:
    """(first, last) local days of the rows a day/month/year report lists so far.

    Day reports: the days of collectTime ``t``'s month; month reports: the months of its
    year; year reports: every year since the plant was built (``t`` is only validated).
    """
    period = REPORT_PERIOD[endpoint]
    if period == "day":
        periods: Iterable[tuple[date, date]] = ((d, d) for d in _month_days(plant.local_date(t)))
    elif period == "month":
        periods = _months(plant.local_date(t).year)
    else:
        periods = (
            (date(year, 1, 1), date(year, 12, 31))
            for year in range(plant.install_date.year, today.year + 1)
        )
    for first, last in periods:
        if first <= today and last >= plant.install_date:
            yield first, last


def _station_period_stats(
    sim: Simulator, endpoint: str, plant: Plant, first: date, last: date, boundary: float
) -> tuple[Counters, float]:
    """(energies, irradiation kWh/m2) of a report row: a day's from its slots."""
    if endpoint == const.GET_KPI_STATION_DAY:
        energies, radiation, _ = sim._day_stats(plant, first, boundary)
        return energies, radiation
    energies = sim._period_counters(plant, first, last, boundary)
    return energies, energies["pv"] / (0.82 * plant.kwp) if plant.kwp else 0.0


def h_station_report(sim: Simulator, ctx: Ctx) -> Reply:
    """getKpiStationDay/Month/Year (§3.4.3-3.4.5): a row per day/month/year so far."""
    plants = sim._plants_for(ctx, "stationCodes", max_code=20014, unauthorized=20007)
    t = _required_time(ctx.body, "collectTime")
    data = []
    for plant in plants:
        today = plant.local_date(ctx.boundary)
        for first, last in report_periods(ctx.endpoint, plant, t, today):
            energies, radiation = _station_period_stats(
                sim, ctx.endpoint, plant, first, last, ctx.boundary
            )
            data.append(
                {
                    "stationCode": plant.code,
                    "collectTime": _ms(plant.day_start(first)),
                    "dataItemMap": _stat_item(plant, energies, radiation),
                }
            )
    return Reply(data)


def h_dev_list(sim: Simulator, ctx: Ctx) -> Reply:
    """getDevList (§3.5)."""
    plants = sim._plants_for(ctx, "stationCodes", max_code=20014, unauthorized=20007)
    return Reply(
        [
            {
                "id": d.dev_id,
                "devName": d.name,
                "stationCode": p.code,
                "esnCode": d.sn,
                "devTypeId": d.dev_type_id,
                "softwareVersion": d.software_version,
                "invType": d.model if d.is_inverter else None,
                "longitude": p.longitude,
                "latitude": p.latitude,
            }
            for p in plants
            for d in p.devices
        ]
    )


def _legacy_devices(sim: Simulator, ctx: Ctx, supported: frozenset[int]) -> list[Device]:
    ids = _id_list(ctx.body.get("devIds"), empty=20005, max_code=20016)
    ctx.record.size = len(ids)
    type_id = _as_int(ctx.body.get("devTypeId"))
    if type_id is None or type_id not in supported:
        raise ApiError(20013)
    devices: list[Device] = []
    for raw in ids:
        number = _as_int(raw)
        device = sim._devices_by_id.get(number) if number is not None else None
        if device is None or not sim._device_visible(ctx.account, device):
            raise ApiError(20008)
        devices.append(device)
    if any(d.dev_type_id != type_id for d in devices):
        raise ApiError(20006)
    return devices


def _device_item(
    sim: Simulator, device: Device, state: SlotState, *, realtime: bool
) -> dict[str, Any]:
    day_cap = total_cap = None
    if realtime and device.is_inverter:
        day_cap, _, total_cap = sim._plant_counters(device.plant, state)
    return device_item(
        device.plant,
        device,
        state,
        realtime=realtime,
        power_sensor_export_positive=sim.quirks.power_sensor_watts,
        day_cap=day_cap,
        total_cap=total_cap,
    )


def h_dev_real_kpi(sim: Simulator, ctx: Ctx) -> Reply:
    """getDevRealKpi (§3.6.1, keys §4.6)."""
    devices = _legacy_devices(sim, ctx, const.REAL_KPI_TYPES)
    data = []
    states: dict[str, SlotState] = {}
    for device in devices:
        plant = device.plant
        state = states.get(plant.code) or plant.state(ctx.boundary)
        states[plant.code] = state
        data.append(
            {"devId": device.dev_id, "dataItemMap": _device_item(sim, device, state, realtime=True)}
        )
    return Reply(data)


def h_dev_five_minutes(sim: Simulator, ctx: Ctx) -> Reply:
    """getDevFiveMinutes (§3.6.2): published slots of the collectTime's local day."""
    devices = _legacy_devices(sim, ctx, const.FIVE_MINUTE_TYPES)
    t = _required_time(ctx.body, "collectTime")
    if t < ctx.now - 365 * 86400:
        raise ApiError(20026)
    data = []
    for device in devices:
        plant = device.plant
        for day, k in plant.slots(plant.local_date(t), ctx.boundary):
            state = plant.slot_state(day, k)
            data.append(
                {
                    "devId": device.dev_id,
                    "collectTime": _ms(day.start + k * SLOT),
                    "dataItemMap": _device_item(sim, device, state, realtime=False),
                }
            )
    return Reply(data)


def _device_period_item(
    sim: Simulator, device: Device, first: date, last: date, boundary: float
) -> dict[str, Any]:
    plant = device.plant
    energies = sim._period_counters(plant, first, last, boundary)
    if device.kind == "battery":
        share = battery_share(device)
        hours_c = hours_d = 0.0
        d = max(first, plant.install_date)
        today = plant.local_date(boundary)
        while d <= min(last, today):
            if d >= plant.detail_from:
                for day, k in plant.slots(d, boundary):
                    hours_c += SLOT_H if day.charge[k] > 0.001 else 0.0
                    hours_d += SLOT_H if day.discharge[k] > 0.001 else 0.0
            else:
                summ = plant.summary(d)
                hours_c += summ["charge"] / max(plant.max_battery_kw * 0.5, 0.1)
                hours_d += summ["discharge"] / max(plant.max_battery_kw * 0.5, 0.1)
            d += timedelta(days=1)
        return {
            "charge_cap": r3(energies["charge"] * share),
            "discharge_cap": r3(energies["discharge"] * share),
            "charge_time": round(hours_c, 2),
            "discharge_time": round(hours_d, 2),
        }
    share = inverter_share(device)
    capacity = plant.kwp * share
    product = energies["pv"] * share
    return {
        "installed_capacity": round(capacity, 3),
        "product_power": r3(product),
        "perpower_ratio": r3(product / capacity) if capacity else 0.0,
    }


def device_periods[D: NeAddressed](ctx: Ctx, devices: list[D]) -> Iterator[tuple[D, date, date]]:
    """(device, first, last) of each row of a device day/month/year report."""
    t = _required_time(ctx.body, "collectTime")
    for device in devices:
        today = device.plant.local_date(ctx.boundary)
        for first, last in report_periods(ctx.endpoint, device.plant, t, today):
            yield device, first, last


def h_device_report(sim: Simulator, ctx: Ctx) -> Reply:
    """getDevKpiDay/Month/Year (§3.6.3-3.6.5, keys §4.8-4.10): a row per period so far."""
    devices = _legacy_devices(sim, ctx, const.DEV_KPI_PERIOD_TYPES)
    return Reply(
        [
            {
                "devId": device.dev_id,
                "collectTime": _ms(device.plant.day_start(first)),
                "dataItemMap": _device_period_item(sim, device, first, last, ctx.boundary),
            }
            for device, first, last in device_periods(ctx, devices)
        ]
    )


def h_alarm_list(sim: Simulator, ctx: Ctx) -> Reply:
    """getAlarmList (§3.7)."""
    plants = sim._plants_for(ctx, "stationCodes", max_code=20014, unauthorized=20007)
    begin = _required_time(ctx.body, "beginTime")
    end = _required_time(ctx.body, "endTime")
    if begin > end:
        raise ApiError(20023)
    language = ctx.body.get("language")
    if language is None or (isinstance(language, str) and not language.strip()):
        raise ApiError(20024)
    if language not in const.ALARM_LANGUAGES:
        raise ApiError(20025)
    statuses = _int_set(ctx.body.get("status"))
    levels = _int_set(ctx.body.get("levels"))
    dev_types = _int_set(ctx.body.get("devTypes"))
    types = _int_set(ctx.body.get("types"))
    dev_name = ctx.body.get("devName") or None
    data = []
    for plant in plants:
        for alarm in plant.alarms_between(begin, end, ctx.boundary):
            info = alarm.info
            status = 1 if alarm.active_at(ctx.boundary) else 5 if alarm.cleared_by_user else 6
            device = alarm.device
            if statuses is not None and status not in statuses:
                continue
            if levels is not None and info.level not in levels:
                continue
            if dev_types is not None and device.dev_type_id not in dev_types:
                continue
            if types is not None and info.alarm_type not in types:
                continue
            if dev_name is not None and device.name != dev_name:
                continue
            data.append(
                {
                    "stationCode": plant.code,
                    "stationName": plant.name,
                    "alarmName": info.names.get(language, info.names["en_UK"]),
                    "devName": device.name,
                    "repairSuggestion": info.repair,
                    "esnCode": device.sn,
                    "devTypeId": device.dev_type_id,
                    "causeId": 1,
                    "alarmCause": info.cause,
                    "alarmType": info.alarm_type,
                    "raiseTime": _ms(alarm.raise_time),
                    "alarmId": info.alarm_id,
                    "lev": info.level,
                    "status": status,
                }
            )
    return Reply(data)


HANDLERS: dict[str, Handler] = {
    const.LOGOUT: h_logout,
    const.GET_STATION_LIST: h_station_list,
    const.STATIONS: h_stations,
    const.GET_STATION_REAL_KPI: h_station_real_kpi,
    const.GET_KPI_STATION_HOUR: h_kpi_station_hour,
    const.GET_KPI_STATION_DAY: h_station_report,
    const.GET_KPI_STATION_MONTH: h_station_report,
    const.GET_KPI_STATION_YEAR: h_station_report,
    const.GET_DEV_LIST: h_dev_list,
    const.GET_DEV_REAL_KPI: h_dev_real_kpi,
    const.GET_DEV_FIVE_MINUTES: h_dev_five_minutes,
    const.GET_DEV_KPI_DAY: h_device_report,
    const.GET_DEV_KPI_MONTH: h_device_report,
    const.GET_DEV_KPI_YEAR: h_device_report,
    const.GET_ALARM_LIST: h_alarm_list,
}
