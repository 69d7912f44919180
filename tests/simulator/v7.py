"""Handlers of the V7 family (``/rest/openapi/pvms/v1``, reference §5) except control.

The control commands (dispatch tasks, DoD, on/off) are in ``control``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from . import const
from .kpis import five_minute_plant_item, r1, r3
from .model import SLOT, Device, Plant, floor_slot
from .params import _as_int, _id_list, _page, _paging, _required_time
from .pipeline import ApiError, Ctx, Handler, Reply, h_logout

if TYPE_CHECKING:
    from .app import Simulator


def _plant_v7_item(plant: Plant) -> dict[str, Any]:
    return {
        "plantCode": plant.code,
        "plantName": plant.name,
        "plantAddress": plant.address,
        "longitude": plant.longitude,
        "latitude": plant.latitude,
        "capacity": plant.kwp,
        "contactPerson": plant.contact_person,
        "contactMethod": plant.contact_method,
        "gridConnectionDate": plant.iso(plant.day_start(plant.install_date)),
    }


def _maybe_list(sim: Simulator, paged: dict[str, Any]) -> Any:
    return paged["list"] if sim.quirks.plants_as_list else paged


def plant_page(sim: Simulator, ctx: Ctx, *, required: bool) -> Reply:
    """A page of the account's plants (quirk plants_as_list: bare list); paging ``required``."""
    page_no, page_size = _paging(ctx.body, required=required)
    items = [_plant_v7_item(p) for p in sim.visible_plants(ctx.account)]
    _, paged = _page(items, page_no, page_size)
    return Reply(_maybe_list(sim, paged))


def h_v7_plants(sim: Simulator, ctx: Ctx) -> Reply:
    """V7 plants (§5.2.1): paged map (quirk plants_as_list: bare list)."""
    return plant_page(sim, ctx, required=True)


def _v7_device_item(device: Device) -> dict[str, Any]:
    plant = device.plant
    item: dict[str, Any] = {
        "plantCode": plant.code,
        "dn": device.dn,
        "sn": device.sn,
        "deviceName": device.name,
        "deviceTypeId": device.v7_type_id,
        "dataItemMap": {},
    }
    if device.is_inverter:
        item["dataItemMap"] = {
            "model": device.model,
            "ratedPower": device.rated_power_kw,
            "softwareVersion": device.software_version,
            "optimizerNumber": 0,
        }
    elif device.kind == "battery":
        boundary = floor_slot(plant.anchor_time)
        eod = plant.eod(device, boundary)
        item["dataItemMap"] = {
            "model": device.model,
            "ratedCapacity": device.capacity_kwh,
            "usableCapacity": round(device.capacity_kwh * plant.soh / 100.0, 2),
            "dod": round(100.0 - eod, 1),
        }
    return item


def h_v7_devices(sim: Simulator, ctx: Ctx) -> Reply:
    """V7 devices (§5.2.2): paged map (quirk plants_as_list: bare list)."""
    plants = sim._plants_for(ctx, "plantCodes", max_code=20015, unauthorized=20007)
    page_no, page_size = _paging(ctx.body, required=False)
    type_filter = _as_int(ctx.body.get("deviceTypeId"))
    items = []
    for plant in plants:
        for device in plant.devices:
            if type_filter is not None and device.v7_type_id != type_filter:
                continue
            item = _v7_device_item(device)
            if device.kind == "battery":
                item["dataItemMap"]["dod"] = round(100.0 - plant.eod(device, ctx.now), 1)
            items.append(item)
    _, paged = _page(items, page_no, page_size)
    return Reply(_maybe_list(sim, paged))


def h_vpp_plants(sim: Simulator, ctx: Ctx) -> Reply:
    """vpp/plants (§5.3.3)."""
    plants = sim._plants_for(ctx, "plantCodes", max_code=20015, unauthorized=20007)
    data = []
    for plant in plants:
        state = plant.state(ctx.boundary)
        batteries = plant.batteries
        soc = (state.soc or 0.0) / 100.0
        data.append(
            {
                "plantCode": plant.code,
                "address": plant.address,
                "longitude": plant.longitude,
                "latitude": plant.latitude,
                "installationTime": plant.iso(plant.day_start(plant.install_date) + 36000),
                "inverterPower": round(plant.rated_power_kw * 1000.0, 1),
                "pvPower": round(plant.kwp * 1000.0, 2),
                "capacity": plant.kwp,
                "inverterModel": ",".join(sorted({d.model for d in plant.inverters})) or None,
                "batteryInstallCapacity": round(plant.capacity_kwh, 2) if batteries else None,
                "batteryUsableCapacity": round(plant.capacity_kwh * soc * plant.soh / 100.0, 2)
                if batteries
                else None,
                "batteryModel": ",".join(sorted({d.model for d in batteries})) or None,
            }
        )
    return Reply(data)


def h_v7_realtime(sim: Simulator, ctx: Ctx) -> Reply:
    """vpp/plantRealtimeKpi (§5.3.4): meterPower > 0 export, batteryPower > 0 discharge."""
    plants = sim._plants_for(ctx, "plantCodes", max_code=20015, unauthorized=20007)
    data = []
    meter_key = "pmeterPower" if sim.quirks.pmeter_power else "meterPower"
    for plant in plants:
        state = plant.state(ctx.boundary)
        day, month, total = sim._plant_counters(plant, state)
        has_battery = bool(plant.batteries)
        metered = plant.has_grid_meter
        item: dict[str, Any] = {
            "dayEnergy": r3(day),
            "monthEnergy": r3(month),
            "totalEnergy": r3(total),
            "pvPower": r3(state.pv_kw),
            meter_key: r3(state.grid_kw) if metered else None,
            "batteryPower": r3(state.battery_kw) if has_battery else 0.0,
            "loadPower": r3(state.load_kw) if metered else None,
            "batterySOC": r1(state.soc) if has_battery and state.soc is not None else None,
            "batteryDOD": r1(100.0 - state.eod) if has_battery and state.eod is not None else None,
            "healthState": sim._health(plant, ctx.boundary, "v7"),
        }
        data.append({"plantCode": plant.code, "dataItemMap": item})
    return Reply(data)


def h_v7_five_minutes(sim: Simulator, ctx: Ctx) -> Reply:
    """vpp/plantFiveMinutesKpi (§5.3.5): published slots in [startTime, endTime), one day."""
    raw = ctx.body.get("plantCode")
    if raw is None or not str(raw).strip():
        raise ApiError(20010)
    code = str(raw).strip()
    ctx.record.size = 1
    plant = sim._plants_by_code.get(code)
    visible = sim._visible(ctx.account)
    if plant is None or (visible is not None and code not in visible):
        raise ApiError(20007)
    has_start = ctx.body.get("startTime") is not None
    has_end = ctx.body.get("endTime") is not None
    if not has_start and not has_end:
        raise ApiError(20012)
    if has_start != has_end:
        raise ApiError(30007)
    start = _required_time(ctx.body, "startTime")
    end = _required_time(ctx.body, "endTime")
    if start >= end:
        raise ApiError(20023)
    if plant.local_date(start) != plant.local_date(end - 0.001):
        raise ApiError(const.FIVE_MINUTES_CROSS_DAY_CODE)
    if start < ctx.now - 365 * 86400:
        raise ApiError(20026)
    data = []
    for day, k in plant.slots(plant.local_date(start), ctx.boundary):
        t = day.start + k * SLOT
        if start <= t < end:
            data.append(
                five_minute_plant_item(plant, day, k, compact_tz=sim.quirks.five_minute_compact_tz)
            )
    return Reply(data)


def _owner_matches(sim: Simulator, ctx: Ctx, entry: Mapping[str, Any]) -> bool:
    username, email, phone = entry.get("username"), entry.get("email"), entry.get("phone")
    return bool(username or email or phone)


def _enrol(sim: Simulator, ctx: Ctx, plant: Plant) -> None:
    visible = sim._account_plants.get(ctx.account.username)
    if visible is not None:
        visible.add(plant.code)


def h_sn_enrolment(sim: Simulator, ctx: Ctx) -> Reply:
    """vpp/snEnrolment (§5.3.1): binds the plant of a known SN to the account."""
    devices = ctx.body.get("devices")
    if not isinstance(devices, list) or not devices:
        raise ApiError(30001)
    if len(devices) > 1000:
        raise ApiError(30001)
    ctx.record.size = len(devices)
    data = []
    for raw_entry in devices:
        entry: dict[str, Any] = raw_entry if isinstance(raw_entry, dict) else {}
        sn = str(entry.get("sn") or "")
        device = sim._devices_by_sn.get(sn)
        if device is None or not _owner_matches(sim, ctx, entry):
            data.append(
                {
                    "sn": sn,
                    "success": False,
                    "errorMsg": "No SN/username, email, or phone number is found",
                    "plantCode": None,
                    "plantName": None,
                }
            )
            continue
        _enrol(sim, ctx, device.plant)
        data.append(
            {
                "sn": sn,
                "success": True,
                "errorMsg": "",
                "plantCode": device.plant.code,
                "plantName": device.plant.name,
            }
        )
    return Reply(data)


def h_ac_enrolment(sim: Simulator, ctx: Ctx) -> Reply:
    """vpp/acEnrolment (§5.3.2): binds the plant of a known authorization code."""
    codes = _id_list(ctx.body.get("authorizationCodes"), empty=20038, max_code=20038, limit=1000)
    ctx.record.size = len(codes)
    by_ac = {p.authorization_code: p for p in sim.plants}
    data = []
    for code in codes:
        plant = by_ac.get(code)
        if plant is None:
            data.append(
                {
                    "authorizationCode": code,
                    "success": False,
                    "errorMsg": "Not found authorization code",
                    "plantCode": None,
                    "plantName": None,
                }
            )
            continue
        _enrol(sim, ctx, plant)
        data.append(
            {
                "authorizationCode": code,
                "success": True,
                "errorMsg": "",
                "plantCode": plant.code,
                "plantName": plant.name,
            }
        )
    return Reply(data)


def h_sn_is_register(sim: Simulator, ctx: Ctx) -> Reply:
    """community/snIsRegister (§5.4.1)."""
    sns = _id_list(ctx.body.get("sns"), empty=30001, max_code=30002, limit=50)
    ctx.record.size = len(sns)
    account_name = ctx.body.get("account")
    if account_name is None or not str(account_name).strip():
        raise ApiError(30003)
    account = sim.accounts.get(str(account_name))
    if account is None:
        return Reply(None, fail_code=20028, message="user does not exist")
    visible = sim._account_plants.get(account.username)
    data = []
    for sn in sns:
        device = sim._devices_by_sn.get(sn)
        if device is None:
            data.append({"sn": sn, "result": 0})
            continue
        plant = device.plant
        created = plant.iso(plant.day_start(plant.install_date))
        if visible is None or plant.code in visible:
            result = 3 if account.username == ctx.account.username else 1
            data.append({"sn": sn, "result": result, "plantCreateTime": created})
        else:
            data.append({"sn": sn, "result": 2})
    return Reply(data)


HANDLERS: dict[str, Handler] = {
    const.V7_LOGOUT: h_logout,
    const.V7_PLANTS: h_v7_plants,
    const.V7_DEVICES: h_v7_devices,
    const.V7_SN_ENROLMENT: h_sn_enrolment,
    const.V7_AC_ENROLMENT: h_ac_enrolment,
    const.V7_VPP_PLANTS: h_vpp_plants,
    const.V7_REALTIME: h_v7_realtime,
    const.V7_FIVE_MINUTES: h_v7_five_minutes,
    const.V7_SN_IS_REGISTER: h_sn_is_register,
}
