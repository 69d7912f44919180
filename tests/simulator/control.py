"""Control commands of the V7 family (reference §5.3.6-5.3.9).

Dispatch tasks (charge/discharge and their status), the battery's depth of discharge and
inverter on/off. The state they change (tasks, end-of-discharge SOC, inverter on/off) is
kept by the plants in ``model``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import const
from .kpis import r3
from .model import Device, Plant, Task
from .params import _as_float, _as_int, _id_list
from .pipeline import ApiError, Ctx, Handler, Reply

if TYPE_CHECKING:
    from .app import Simulator


def _v7_devices(sim: Simulator, ctx: Ctx) -> list[Device]:
    dns = _id_list(ctx.body.get("dns"), empty=20011, max_code=20017)
    ctx.record.size = len(dns)
    devices = []
    for dn in dns:
        device = sim._devices_by_dn.get(dn)
        if device is None or not sim._device_visible(ctx.account, device):
            raise ApiError(20046)
        devices.append(device)
    return devices


def h_charge_discharge(sim: Simulator, ctx: Ctx) -> Reply:
    """vpp/chargeAndDischarge (§5.3.6) with its error table."""
    body = ctx.body
    codes = _id_list(body.get("plantCodes"), empty=20010, max_code=20015)
    ctx.record.size = len(codes)
    switch = _as_int(body.get("dispatchSwitch"))
    if switch not in (0, 1, 2):
        raise ApiError(20040)
    request_id = _as_int(body.get("requestID"))
    if request_id is None:
        raise ApiError(20044)
    control_type = _as_int(body.get("controlType"))
    target_soc: float | None = None
    duration: int | None = None
    if switch != 0:
        if body.get("controlType") is None:
            raise ApiError(20041)
        if control_type not in (1, 2):
            raise ApiError(20040)
        if control_type == 1:
            target_soc = _as_float(body.get("targetSOC"))
            if target_soc is None or not 0 <= target_soc <= 100:
                raise ApiError(20042)
        else:
            duration = _as_int(body.get("dispatchTime"))
            if duration is None or not 0 <= duration <= 1440:
                raise ApiError(20043)
    power_w: float | None = None
    if switch != 0 and body.get("powerDispatch") is not None:
        power_w = _as_float(body.get("powerDispatch"))
        if power_w is None or power_w == 0:
            raise ApiError(20047)
        if (switch == 1 and power_w < 0) or (switch == 2 and power_w > 0):
            raise ApiError(20047)
    visible = sim._visible(ctx.account)
    plants: list[Plant] = []
    for code in codes:
        plant = sim._plants_by_code.get(code)
        if plant is None or (visible is not None and code not in visible):
            raise ApiError(20045)
        plants.append(plant)
    if request_id in sim.tasks.by_request:
        raise ApiError(20048)
    if control_type == 1 and switch != 0:
        for plant in plants:
            if any(not b.spec.soc_control_supported for b in plant.batteries):
                raise ApiError(20053)
    tasks: list[Task] = []
    data = []
    for i, plant in enumerate(plants):
        inverter = plant.inverters[0] if plant.inverters else None
        ok = bool(plant.batteries) and inverter is not None
        ok = ok and not any(b.control_fails for b in plant.batteries) and not plant.offline
        if switch != 0 and ok and plant.running_task(ctx.boundary) is not None:
            ok = False  # one task per plant at a time
        power_kw = abs(power_w) / 1000.0 if power_w is not None else 0.0
        task = Task(
            uid=sim.tasks.new_uid(),
            request_id=request_id,
            plant=plant,
            switch=switch,
            control_type=control_type if switch != 0 else None,
            target_soc=target_soc,
            duration_min=duration,
            power_kw=power_kw,
            received=ctx.now,
            remote_id=f"{request_id % 10**8:08d}{i:02d}",
            sn=inverter.sn if inverter is not None else "",
            dispatched=ok,
        )
        tasks.append(task)
        if ok:
            plant.add_task(task)
        data.append(
            {
                "plantCode": plant.code,
                "sn": task.sn,
                "dispatchResult": 0 if ok else 1,
                "remoteID": task.remote_id,
            }
        )
    if not any(t.dispatched for t in tasks):
        raise ApiError(20049)
    sim.tasks.by_request[request_id] = tasks
    return Reply(data)


def h_charge_discharge_status(sim: Simulator, ctx: Ctx) -> Reply:
    """vpp/chargeAndDischargeStatus (§5.3.7): status 1 in progress, 0 complete, 2 timeout."""
    request_id = _as_int(ctx.body.get("requestID"))
    if request_id is None:
        raise ApiError(20044)
    tasks = sim.tasks.by_request.get(request_id)
    if tasks is None:
        raise ApiError(20050)
    start_key, end_key = (
        ("startTime", "endTime")
        if sim.quirks.status_example_names
        else ("execStartTime", "execEndTime")
    )
    data = []
    for task in tasks:
        plant = task.plant
        if task.dispatched:
            progress = plant.task_progress(task, ctx.boundary)
            status, energy, end = progress.status, progress.energy_kwh, progress.end_time
        else:
            status, energy, end = 0, 0.0, task.received
        data.append(
            {
                "plantCode": plant.code,
                "sn": task.sn,
                "remoteID": task.remote_id,
                "status": status,
                "chargedCapacity": r3(energy) if task.switch == 1 else None,
                "dischargedCapacity": r3(energy) if task.switch == 2 else None,
                start_key: plant.iso(task.received),
                end_key: plant.iso(end) if end is not None else None,
            }
        )
    if sim.quirks.status_as_map:
        return Reply(data[0] if data else None)
    return Reply(data)


def h_dod(sim: Simulator, ctx: Ctx) -> Reply:
    """vpp/dod (§5.3.8): clamps to the battery's end-of-discharge SOC range; returns setDOD."""
    devices = _v7_devices(sim, ctx)
    raw = ctx.body.get("dod")
    dod = _as_float(raw)
    if dod is None or not 0 <= dod <= 100:
        raise ApiError(20039)
    data = []
    for device in devices:
        if device.kind != "battery" or device.control_fails or device.plant.offline:
            data.append({"dn": device.dn, "result": 1, "setDOD": None})
            continue
        low, high = device.eod_range
        eod = min(max(100.0 - dod, low), high)
        set_dod = round(100.0 - eod)
        device.plant.set_eod(device, 100.0 - set_dod, ctx.now)
        data.append({"dn": device.dn, "result": 0, "setDOD": set_dod})
    if all(item["result"] == 1 for item in data):
        raise ApiError(20051)
    return Reply(data)


def h_dev_on_off(sim: Simulator, ctx: Ctx) -> Reply:
    """vpp/devOnOff (§5.3.9): controlType 1 on, 2 off."""
    devices = _v7_devices(sim, ctx)
    control = _as_int(ctx.body.get("controlType"))
    if control not in (1, 2):
        raise ApiError(20019)
    data = []
    for device in devices:
        if not device.is_inverter or device.control_fails or device.plant.offline:
            data.append({"dn": device.dn, "result": 1})
            continue
        device.plant.set_inverter_on(device, control == 1, ctx.now)
        data.append({"dn": device.dn, "result": 0})
    if all(item["result"] == 1 for item in data):
        raise ApiError(20052)
    return Reply(data)


HANDLERS: dict[str, Handler] = {
    const.V7_CHARGE_DISCHARGE: h_charge_discharge,
    const.V7_CHARGE_DISCHARGE_STATUS: h_charge_discharge_status,
    const.V7_DOD: h_dod,
    const.V7_DEV_ON_OFF: h_dev_on_off,
}
