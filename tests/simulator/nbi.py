"""Endpoints of the ``cloud-2026`` profile (SmartPVMS 26.2 digest, /work/shared/spec).

``CloudRuntime`` is created by ``Simulator`` when the profile includes ``cloud-2026``;
the pipeline asks it whether a path exists (V7 family and replaced paths: 404 HTML) and
whether the flow control (``flowcontrol``) lets a call through.

Served here: the ``/rest/openapi/pvms/nbi/v1`` reads (device history Part B §2.2,
configuration queries Part B §5) and the 26.2 versions of the ``/thirdData`` reads
(stations §5.1.1.1, getDevList §5.1.1.2, getStationRealKpi §5.1.2.1, getDevRealKpi
§5.1.2.2, plant and device reports Part B §4). Data maps come from ``cloud2026``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from aiohttp import web

from . import const
from .cloud2026 import (
    CLOUD_V7_PATHS,
    DEV_ALL_IN_ONE,
    DEV_REPORT_TYPES,
    ERROR_MESSAGES,
    HISTORY_TYPES,
    NBI_ACTIVE_POWER_MODE,
    NBI_BATTERY_MODE,
    NBI_DEVICE_HISTORY,
    REAL_KPI_TYPES,
    REMOVED_ENDPOINTS,
    Catalog,
    CloudDevice,
    device_item,
)
from .flowcontrol import FlowControl
from .kpis import r3
from .legacy import HANDLERS as V500_HANDLERS
from .legacy import _device_period_item, device_periods
from .model import COUNTERS, SLOT, SLOT_H, Counters, Plant
from .params import _as_int, _month_days, _ms
from .pipeline import ApiError, Ctx, Handler, Reply
from .v7 import _plant_v7_item

if TYPE_CHECKING:
    from .app import Simulator

DAY_MS = 86_400_000
MAX_DEVICES = 100


def cloud_error(code: int) -> ApiError:
    """A failCode answer with the 26.2 message."""
    return ApiError(code, ERROR_MESSAGES.get(code))


class FrameworkError(ApiError):
    """Framework parameter validation of the ``/rest/openapi`` family (§7.4): HTTP 400."""

    def __init__(self, name: str, detail: str) -> None:
        """Refuse parameter ``name``."""
        super().__init__(400, detail)
        self.name = name
        self.detail = detail

    def response(self) -> web.Response:
        """The ROA framework body seen in the control samples (§7.4)."""
        body = {
            "exceptionId": "framwork.remote.Paramerror",
            "exceptionType": "ROA_EXFRAME_EXCEPTION",
            "descArgs": None,
            "reasonArgs": [self.name],
            "detailArgs": [self.detail],
            "adviceArgs": None,
        }
        return web.json_response(body, status=400)


class CloudRuntime:
    """State of the cloud-2026 profile of one simulator."""

    def __init__(self, sim: Simulator) -> None:
        """Catalogue and flow control for ``sim``'s plants and accounts."""
        self.sim = sim
        options = sim.config.cloud
        self.catalog = Catalog(sim.plants, options)
        self.flow = FlowControl(
            frozenset(options.static_flow_control_accounts), dict(options.system_limits)
        )
        self.busy = frozenset(options.busy_endpoints)

    def serves(self, endpoint: str) -> bool:
        """False for the V7 family and the paths 26.2 no longer documents (404 HTML)."""
        if endpoint in CLOUD_V7_PATHS:
            return True
        return not endpoint.startswith(const.V7_PREFIX) and endpoint not in REMOVED_ENDPOINTS

    def plant_codes(self, account: Any) -> list[str]:
        """Codes of the plants an account manages."""
        return [plant.code for plant in self.sim.visible_plants(account)]

    def refusal(self, account: Any, endpoint: str, now: float) -> int | None:
        """failCode refusing a call (20200, 429, 407, 20618) or None (counted)."""
        if endpoint in self.busy:
            return 20200
        codes = self.plant_codes(account)
        day = self.sim._local_day(now).isoformat()
        counts = self.catalog.count_by_type(codes)
        return self.flow.check(account.username, endpoint, now, day, len(codes), counts)

    def login_refusal(self, username: str, now: float) -> int | None:
        """407 over 5 logins per 10 minutes, 20400 while locked (§3.2.2.1)."""
        day = self.sim._local_day(now).isoformat()
        code = self.flow.check(username, const.LOGIN, now, day, 0, {})
        if code is not None:
            return code
        return 20400 if self.flow.locked(username, now) else None

    def wrong_password(self, username: str, now: float) -> None:
        """Count a wrong password towards the lock."""
        self.flow.wrong_password(username, now)

    def error(self, code: int) -> ApiError:
        """A refusal answer."""
        return cloud_error(code)


def _runtime(sim: Simulator) -> CloudRuntime:
    runtime = sim.cloud
    assert runtime is not None
    return runtime


# --- parameters -----------------------------------------------------------------------------


def _strict_keys(body: Mapping[str, Any], allowed: frozenset[str]) -> None:
    for name in body:
        if name not in allowed:
            raise FrameworkError(name, f"{name} is not a valid parameter")


def _long(body: Mapping[str, Any], name: str, missing: int) -> int:
    value = body.get(name)
    if value is None:
        raise cloud_error(missing)
    if isinstance(value, bool) or not isinstance(value, int):
        raise FrameworkError(name, f"{name} must be a Long")
    return value


def _devices(sim: Simulator, ctx: Ctx, supported: frozenset[int]) -> tuple[int, list[CloudDevice]]:
    """devTypeId plus exactly one of ``devIds`` / ``sns`` (§5.1.2.2, Part B §4.6)."""
    ids, sns = ctx.body.get("devIds"), ctx.body.get("sns")
    if ids is None and sns is None:
        raise cloud_error(20005)
    if ids is not None and sns is not None:
        raise ApiError(30030, "Either devIds or sns must be given, not both.")
    raw = ids if ids is not None else sns
    keys = [k.strip() for k in str(raw).split(",") if k.strip()]
    if not keys:
        raise cloud_error(20005)
    if len(keys) > MAX_DEVICES:
        raise ApiError(20017, "A maximum of 100 devices can be queried at a time.")
    ctx.record.size = len(keys)
    type_id = _as_int(ctx.body.get("devTypeId"))
    if ctx.body.get("devTypeId") is None:
        raise ApiError(20008, "The devTypeId cannot be empty.")
    if type_id not in supported:
        raise ApiError(20013)
    catalog = _runtime(sim).catalog
    visible = set(_runtime(sim).plant_codes(ctx.account))
    devices = []
    for key in keys:
        device = catalog.find(key)
        if device is not None and ids is not None and key != str(device.dev_id):
            device = None
        if device is not None and sns is not None and key != device.sn:
            device = None
        if device is None or device.plant.code not in visible:
            raise ApiError(20046, "Unauthorized devices exist in the input parameters.")
        devices.append(device)
    if any(d.dev_type_id != type_id for d in devices):
        raise ApiError(20006)
    return type_id, devices


def _realtime_caps(sim: Simulator, device: CloudDevice, ctx: Ctx) -> dict[str, float | None]:
    if not device.is_inverter:
        return {"day_cap": None, "total_cap": None}
    day, _, total = sim._plant_counters(device.plant, device.plant.state(ctx.boundary))
    return {"day_cap": day, "total_cap": total}


# --- /thirdData (26.2) ----------------------------------------------------------------------


def h_stations(sim: Simulator, ctx: Ctx) -> Reply:
    """/thirdData/stations (§5.1.1.1): 100 plants a page, grid-connection filter."""
    raw_page = ctx.body.get("pageNo")
    if raw_page is None:
        raise ApiError(30004)
    page_no = _as_int(raw_page)
    if page_no is None or page_no < 1:
        raise ApiError(30021)
    start = _as_int(ctx.body.get("gridConnectedStartTime"))
    end = _as_int(ctx.body.get("gridConnectedEndTime"))
    if (start is not None and start < 0) or (end is not None and end < 0):
        raise cloud_error(20605)
    now_ms = _ms(ctx.now)
    if start is not None and end is None and start > now_ms:
        raise ApiError(20606, "The start time must be earlier than the current time.")
    low, high = start if start is not None else 0, end if end is not None else now_ms
    if low > high:
        raise cloud_error(20604)
    plants = [
        p
        for p in sim.visible_plants(ctx.account)
        if low <= _ms(p.day_start(p.install_date)) <= high or (start is None and end is None)
    ]
    items = [_plant_v7_item(p) for p in plants]
    chunk = items[(page_no - 1) * 100 : page_no * 100]
    total = len(items)
    paged = {
        "total": total,
        "pageCount": -(-total // 100),
        "pageNo": page_no,
        "pageSize": 100,
        "list": chunk,
    }
    return Reply(paged, message="get plant list success")


def h_dev_list(sim: Simulator, ctx: Ctx) -> Reply:
    """getDevList (§5.1.1.2): adds ``devDn`` and ``model``; 23070 and 23093 devices."""
    plants = sim._plants_for(ctx, "stationCodes", max_code=20015, unauthorized=20045)
    catalog = _runtime(sim).catalog
    return Reply(
        [
            {
                "id": d.dev_id,
                "devDn": d.dn,
                "devName": d.name,
                "stationCode": p.code,
                "esnCode": d.sn,
                "devTypeId": d.dev_type_id,
                "model": d.model,
                "softwareVersion": d.software_version,
                "optimizerNumber": 0,
                "invType": d.model if d.is_inverter else None,
                "longitude": p.longitude,
                "latitude": p.latitude,
            }
            for p in plants
            for d in catalog.by_plant[p.code]
        ]
    )


def h_station_real_kpi(sim: Simulator, ctx: Ctx) -> Reply:
    """getStationRealKpi (§5.1.2.1): adds ``day_on_grid_energy`` and ``day_use_energy``."""
    reply = _v500(sim, ctx)
    for entry in reply.data:
        state = sim.plant(entry["stationCode"]).state(ctx.boundary)
        extra: dict[str, Any] = {
            "day_on_grid_energy": r3(state.day["export"]),
            "day_use_energy": r3(state.day["load"]),
        }
        if sim.quirks.legacy_string_values:
            extra = {k: f"{v:.3f}" for k, v in extra.items()}
        entry["dataItemMap"].update(extra)
    return reply


def _v500(sim: Simulator, ctx: Ctx) -> Reply:
    """The V500R007 answer of the same path (26.2 extends it)."""
    result = V500_HANDLERS[ctx.endpoint](sim, ctx)
    assert isinstance(result, Reply)
    return result


def h_dev_real_kpi(sim: Simulator, ctx: Ctx) -> Reply:
    """getDevRealKpi (§5.1.2.2): ``devIds`` or ``sns``, 26.2 keys and units."""
    _, devices = _devices(sim, ctx, REAL_KPI_TYPES)
    data = []
    for device in devices:
        state = device.plant.state(ctx.boundary)
        caps = _realtime_caps(sim, device, ctx)
        item = device_item(device, state, realtime=True, **caps)
        data.append(
            {
                "devId": device.dev_id,
                "sn": None if device.dev_type_id == const.DEV_BATTERY else device.sn,
                "dataItemMap": item,
            }
        )
    return Reply(data)


# --- reports (Part B §4) --------------------------------------------------------------------


def _extra_report_keys(energies: Counters, *, hourly: bool) -> dict[str, float]:
    """The 24.5.0 keys (PVYield, inverterYield) and the storage/self-use keys."""
    pv, load = energies["pv"], energies["load"]
    keys = {
        "chargeCap": r3(energies["charge"]),
        "dischargeCap": r3(energies["discharge"]),
        "selfProvide": r3(max(0.0, load - energies["import"])),
        "PVYield": r3(pv),
        "inverterYield": r3(pv + energies["discharge"] - energies["charge"]),
    }
    if not hourly:
        keys["buyPower"] = r3(energies["import"])
        keys["selfUsePower"] = r3(max(0.0, pv - energies["export"]))
    return keys


def _hour_energies(plant: Plant, t_ms: int, boundary: float) -> Counters:
    start = t_ms / 1000.0
    totals = dict.fromkeys(COUNTERS, 0.0)
    for day, k in plant.slots(plant.local_date(start), boundary):
        slot = day.start + k * SLOT
        if start <= slot < start + 3600:
            for key, values in (
                ("pv", day.pv),
                ("load", day.load),
                ("import", day.imp),
                ("export", day.exp),
                ("charge", day.charge),
                ("discharge", day.discharge),
            ):
                totals[key] += values[k] * SLOT_H
    return totals


def _period_of(endpoint: str, plant: Plant, t_ms: int) -> tuple[date, date]:
    first = plant.local_date(t_ms / 1000.0)
    if endpoint in (const.GET_KPI_STATION_DAY, const.GET_DEV_KPI_DAY):
        return first, first
    if endpoint in (const.GET_KPI_STATION_MONTH, const.GET_DEV_KPI_MONTH):
        return first, _month_days(first)[-1]
    return first, date(first.year, 12, 31)


def h_plant_report(sim: Simulator, ctx: Ctx) -> Reply:
    """Plant hour/day/month/year reports (Part B §4.2-4.5) with the 26.2 keys."""
    reply = _v500(sim, ctx)
    hourly = ctx.endpoint == const.GET_KPI_STATION_HOUR
    for entry in reply.data:
        plant = sim.plant(entry["stationCode"])
        if hourly:
            energies = _hour_energies(plant, entry["collectTime"], ctx.boundary)
        else:
            first, last = _period_of(ctx.endpoint, plant, entry["collectTime"])
            energies = sim._period_counters(plant, first, last, ctx.boundary)
        entry["dataItemMap"].update(_extra_report_keys(energies, hourly=hourly))
    return reply


def _device_report_item(
    sim: Simulator, device: CloudDevice, first: date, last: date, boundary: float
) -> dict[str, Any]:
    item: dict[str, Any] = {}
    for part in device.parts:
        values = _device_period_item(sim, part, first, last, boundary)
        if device.dev_type_id == DEV_ALL_IN_ONE and part.kind == "battery":
            values = {k: values[k] for k in ("charge_cap", "discharge_cap")}
        item.update(values)
    return item


def h_device_report(sim: Simulator, ctx: Ctx) -> Reply:
    """Device day/month/year reports (Part B §4.6-4.8): ``devIds`` or ``sns``, 23093."""
    _, devices = _devices(sim, ctx, DEV_REPORT_TYPES)
    return Reply(
        [
            {
                "devId": device.dev_id,
                "sn": device.sn,
                "collectTime": _ms(device.plant.day_start(first)),
                "dataItemMap": _device_report_item(sim, device, first, last, ctx.boundary),
            }
            for device, first, last in device_periods(ctx, devices)
        ]
    )


# --- /rest/openapi/pvms/nbi/v1 --------------------------------------------------------------

HISTORY_PARAMS = frozenset({"devDn", "devTypeId", "startTime", "endTime"})


def h_device_history(sim: Simulator, ctx: Ctx) -> Reply:
    """Device history (Part B §2.2): 5-minute rows of one device, at most 24 h a call."""
    body = ctx.body
    _strict_keys(body, HISTORY_PARAMS)
    dn = body.get("devDn")
    if dn is None or (isinstance(dn, str) and not dn.strip()):
        raise cloud_error(20005)
    if not isinstance(dn, str):
        raise FrameworkError("devDn", "devDn must be a String")
    type_id = _long(body, "devTypeId", 20008)
    start = _long(body, "startTime", 20012)
    end = _long(body, "endTime", 20012)
    if type_id not in HISTORY_TYPES:
        raise ApiError(20013)
    if start < 0 or end < 0:
        raise cloud_error(20605)
    if start > end:
        raise cloud_error(20604)
    if end - start > DAY_MS:
        raise cloud_error(40001)
    device = _runtime(sim).catalog.find(dn)
    if device is None or device.dn != dn.strip():
        raise ApiError(20046, "Unauthorized devices exist in the input parameters.")
    if device.plant.code not in _runtime(sim).plant_codes(ctx.account):
        raise ApiError(20046, "Unauthorized devices exist in the input parameters.")
    if device.dev_type_id != type_id:
        raise ApiError(20006)
    ctx.record.size = 1
    plant = device.plant
    rows = []
    d = plant.local_date(start / 1000.0)
    last = plant.local_date(end / 1000.0)
    while d <= last:
        for day, k in plant.slots(d, ctx.boundary):
            slot_ms = _ms(day.start + k * SLOT)
            if start <= slot_ms < end:
                item = device_item(device, plant.slot_state(day, k), realtime=False)
                rows.append({"devDn": device.dn, "collectTime": slot_ms, "dataItems": item})
        d += timedelta(days=1)
    return Reply(rows, message="historical data information query successful.")


def _config_plant(sim: Simulator, ctx: Ctx, kind: str) -> Plant:
    """The plant a configuration query names; it must have a ``kind`` device on line."""
    _strict_keys(ctx.body, frozenset({"plantCode"}))
    code = ctx.body.get("plantCode")
    if code is None or (isinstance(code, str) and not code.strip()):
        raise FrameworkError("plantCode", "plantCode may not be null")
    if not isinstance(code, str):
        raise FrameworkError("plantCode", "plantCode must be a String")
    if code not in _runtime(sim).plant_codes(ctx.account):
        raise cloud_error(20622)
    plant = sim.plant(code)
    if not (plant.batteries if kind == "battery" else plant.inverters):
        raise ApiError(20631, f"The plant has no {kind} device.")
    if plant.offline:
        raise cloud_error(20614)
    return plant


CONFIG_QUERIES: dict[str, tuple[str, dict[str, Any], str]] = {
    NBI_BATTERY_MODE: (
        "battery",
        {"operationMode": "maximumSelfConsumption", "touOperationModeParamDetail": None},
        "The battery operation mode queried successfully.",
    ),
    NBI_ACTIVE_POWER_MODE: (
        "inverter",
        {
            "controlMode": "noLimit",
            "zeroExportLimitationParam": None,
            "limitedPowerGridPercentParam": None,
            "limitedPowerGridValueParam": None,
        },
        "The inverter active power control mode queried successfully.",
    ),
}


def h_config_query(sim: Simulator, ctx: Ctx) -> Reply:
    """Battery working-mode (Part B §5.1) and active-power control-mode (§5.2) queries."""
    kind, settings, message = CONFIG_QUERIES[ctx.endpoint]
    plant = _config_plant(sim, ctx, kind)
    return Reply({"plantCode": plant.code, **settings}, message=message)


HANDLERS: dict[str, Handler] = {
    const.STATIONS: h_stations,
    const.GET_DEV_LIST: h_dev_list,
    const.GET_STATION_REAL_KPI: h_station_real_kpi,
    const.GET_DEV_REAL_KPI: h_dev_real_kpi,
    const.GET_KPI_STATION_HOUR: h_plant_report,
    const.GET_KPI_STATION_DAY: h_plant_report,
    const.GET_KPI_STATION_MONTH: h_plant_report,
    const.GET_KPI_STATION_YEAR: h_plant_report,
    const.GET_DEV_KPI_DAY: h_device_report,
    const.GET_DEV_KPI_MONTH: h_device_report,
    const.GET_DEV_KPI_YEAR: h_device_report,
    NBI_DEVICE_HISTORY: h_device_history,
    NBI_BATTERY_MODE: h_config_query,
    NBI_ACTIVE_POWER_MODE: h_config_query,
}
