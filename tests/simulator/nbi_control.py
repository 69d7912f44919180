"""Control tasks of the ``cloud-2026`` profile (26.2 digest §5.2, Part B §6).

* forced charge/discharge, v2 (§5.2.1) and its status (§5.2.2, the V7-looking path
  ``vpp/chargeAndDischargeStatus`` served with the /thirdData token): the tasks are the
  model's ``Task`` (same physics and state machine as the V7 command: status 1 running,
  0 finished, 2 timed out), the ``requestID`` is the server's;
* battery working mode (§5.2.3-5.2.4), battery parameters (§5.2.5-5.2.6) and inverter
  active power (§5.2.7-5.2.8): per-plant ``RUNNING`` tasks that end ``SUCCESS`` (or
  ``FAIL``, ``FAILURE`` for a device whose ``control_fails`` is set)
  ``SETTING_SECONDS`` after delivery; the value applies from then on: the configuration
  queries (§5.1.5) report it, and the discharge cut-off SOC is the plant's
  end-of-discharge SOC (battery physics);
* battery dispatch in third-party mode (§5.2.9-5.2.10).

Strict where the digest is: power sign (charge > 0, discharge < 0, W), ranges, LG
batteries (no SOC control, no settings), one task per plant at a time (20615), task
lists of 1-100 / 1-10 plants, ``taskId`` of 16 characters. Simulator choices: every
plant's controller is a Dongle (ranges of §5.2.3 and §5.2.7), a refused plant is a
per-plant ``FAIL`` / ``dispatchResult`` 1 with the digest's message, and the whole call
fails (failCode 2) only when no plant was accepted.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

from . import const
from .cloud2026 import (
    NBI_ACTIVE_POWER_INFO,
    NBI_ACTIVE_POWER_MODE,
    NBI_ACTIVE_POWER_TASK,
    NBI_BATTERY_CONFIG_INFO,
    NBI_BATTERY_CONFIG_TASK,
    NBI_BATTERY_DISPATCH_INFO,
    NBI_BATTERY_DISPATCH_TASK,
    NBI_BATTERY_MODE,
    NBI_BATTERY_MODE_INFO,
    NBI_BATTERY_MODE_TASK,
    NBI_CHARGE_DISCHARGE_TASK,
)
from .kpis import r3
from .model import Plant, Task
from .nbi import FrameworkError, _config_plant, _runtime, _strict_keys, cloud_error
from .params import _as_float
from .pipeline import ApiError, Ctx, Handler, Reply

if TYPE_CHECKING:
    from .app import Simulator

SETTING_SECONDS = 120.0  # a setting task runs this long before SUCCESS (simulator choice)
MAX_DISPATCH_PLANTS = 100  # §5.2.1
MAX_SETTING_PLANTS = 10  # §5.2.3, §5.2.5, §5.2.7
TASK_ID_LENGTH = 16
MIN_BATTERY_POWER_W = 200  # §5.2.5 (25.2.0)
AC_CHARGE_KW = (0.0, 50.0)  # §5.2.3, Dongle
FEED_IN_KW = (-1000.0, 5000.0)  # §5.2.7, Dongle
MODES = ("maximumSelfConsumption", "TOU", "thirdPartyDispatch")
PRIORITIES = ("fedToGridPreference", "chargePreference")
MAX_WINDOWS = 14
HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")

MSG_SAME = "The configured value is the same as the current value."
MSG_RUNNING = "The same task is already running for this plant."
MSG_NO_BATTERY = "The plant has no battery device."
MSG_OFFLINE = "The device is offline."
MSG_NO_PERMISSION = "No resource permission."
MSG_LG = "LG batteries are not supported."


def _range_message(name: str, values: str) -> str:
    return f"The input parameter is out of the valid range, {name} in: {values}"


class PlantRefusedError(Exception):
    """One plant of a task list refused, with the digest's per-plant message."""

    def __init__(self, message: str, code: int = 2) -> None:
        """Refuse with ``message`` (``code``: the 6.1 code, for the battery dispatch)."""
        super().__init__(message)
        self.message = message
        self.code = code


# --- state ------------------------------------------------------------------------------


@dataclass
class SettingTask:
    """A working-mode, battery-parameter, active-power or battery-dispatch task of a plant."""

    task_id: str
    kind: str  # endpoint of its delivery
    plant: Plant
    values: dict[str, Any]
    received: float
    fails: bool = False
    battery_dn: str | None = None

    @property
    def done_at(self) -> float:
        """When it ends (SUCCESS or FAIL)."""
        return self.received + SETTING_SECONDS

    def status(self, now: float) -> str:
        """RUNNING, SUCCESS or FAIL at ``now``."""
        if now < self.done_at:
            return "RUNNING"
        return "FAIL" if self.fails else "SUCCESS"


@dataclass
class PlantSettings:
    """A plant's settings as the control tasks leave them (defaults: the app's)."""

    mode: dict[str, Any] = field(
        default_factory=lambda: {"operationMode": "maximumSelfConsumption"}
    )
    third_party_via_nbi: bool = False
    battery: dict[str, Any] = field(default_factory=dict)
    active_power: dict[str, Any] = field(default_factory=lambda: {"controlMode": "0"})


@dataclass
class ControlState:
    """Control tasks of one simulator."""

    tasks: dict[str, SettingTask] = field(default_factory=dict)
    seq: int = 0

    def new_task_id(self) -> str:
        """A 16-character task id (§5.2.4)."""
        self.seq += 1
        return f"T{self.seq:0{TASK_ID_LENGTH - 1}d}"

    def running(self, plant: Plant, kind: str, now: float) -> SettingTask | None:
        """The plant's task of ``kind`` still running at ``now``."""
        return next(
            (
                t
                for t in self.tasks.values()
                if t.plant is plant and t.kind == kind and t.status(now) == "RUNNING"
            ),
            None,
        )

    def settings(self, plant: Plant, now: float) -> PlantSettings:
        """The plant's settings at ``now``: every task that succeeded by then, in order."""
        settings = PlantSettings()
        for task in sorted(self.tasks.values(), key=lambda t: t.done_at):
            if task.plant is plant and task.status(now) == "SUCCESS":
                _apply(settings, task)
        return settings


def _apply(settings: PlantSettings, task: SettingTask) -> None:
    if task.kind == NBI_BATTERY_MODE_TASK:
        settings.mode = dict(task.values)
        if task.values["operationMode"] == "thirdPartyDispatch":
            settings.third_party_via_nbi = True
    elif task.kind == NBI_BATTERY_CONFIG_TASK:
        settings.battery.update(task.values)
    elif task.kind == NBI_ACTIVE_POWER_TASK:
        settings.active_power = dict(task.values)


_STATES: WeakKeyDictionary[Simulator, ControlState] = WeakKeyDictionary()


def control_state(sim: Simulator) -> ControlState:
    """The control tasks of ``sim`` (created at first use)."""
    state = _STATES.get(sim)
    if state is None:
        state = _STATES[sim] = ControlState()
    return state


# --- parameters -------------------------------------------------------------------------


def _task_list(body: Mapping[str, Any], most: int, empty_message: str) -> list[Mapping[str, Any]]:
    _strict_keys(body, frozenset({"tasks"}))
    tasks = body.get("tasks")
    if tasks is None or (isinstance(tasks, list) and not tasks):
        if most == MAX_DISPATCH_PLANTS:
            raise ApiError(2, empty_message)
        raise FrameworkError("tasks", f"tasks size must be between 1 and {most}")
    if not isinstance(tasks, list) or not all(isinstance(t, dict) for t in tasks):
        raise FrameworkError("tasks", "tasks must be a List")
    if len(tasks) > most:
        raise FrameworkError("tasks", f"tasks size must be between 1 and {most}")
    codes = [t.get("plantCode") for t in tasks]
    if any(not isinstance(c, str) or not c.strip() for c in codes):
        raise FrameworkError("plantCode", "plantCode may not be null")
    if len(set(codes)) != len(codes):
        raise ApiError(20608, "Duplicate plant codes exist in the input parameters.")
    return tasks


def _integer(value: Any, name: str) -> int | None:
    """An Integer parameter (absent: None); anything else is a framework error (§7.4)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise FrameworkError(name, f"{name} must be an Integer")
    return value


def _number(value: Any, name: str) -> float | None:
    """A Double parameter (absent: None)."""
    if value is None:
        return None
    number = _as_float(value)
    if number is None or isinstance(value, str):
        raise FrameworkError(name, f"{name} must be a Double")
    return number


def _plant(sim: Simulator, ctx: Ctx, code: str, *, battery: bool = True) -> Plant:
    """A plant of the account that can take a task now (else ``PlantRefusedError``)."""
    if code not in _runtime(sim).plant_codes(ctx.account):
        raise PlantRefusedError(MSG_NO_PERMISSION)
    plant = sim.plant(code)
    if battery and not plant.batteries:
        raise PlantRefusedError(MSG_NO_BATTERY)
    if not battery and not plant.inverters:
        raise PlantRefusedError("The plant has no inverter device.")
    if plant.offline:
        raise PlantRefusedError(MSG_OFFLINE)
    return plant


def _lg(plant: Plant) -> bool:
    return any(b.spec.vendor == "lg" for b in plant.batteries)


# --- §5.2.1 / §5.2.2 forced charge/discharge --------------------------------------------

MSG_SWITCH = "DispatchSwitch is illegal, valid value: 0 or 1 or 2"
MSG_POWER = (
    "PowerDispatch is illegal. The value should be greater than 0 during forced charge "
    "(dispatchSwitch = 1) and smaller than 0 during forced discharge (dispatchSwitch = 2)."
)
DISPATCH_KEYS = frozenset(
    {"plantCode", "dispatchSwitch", "controlType", "targetSOC", "dispatchTime", "powerDispatch"}
)


@dataclass(frozen=True)
class DispatchOrder:
    """One plant's validated charge/discharge parameters."""

    switch: int
    control_type: int | None
    target_soc: float | None
    minutes: int | None
    power_w: int | None


def _dispatch_order(item: Mapping[str, Any]) -> DispatchOrder:
    """Validate one task of §5.2.1 (types: framework errors; values: ``PlantRefusedError``)."""
    _strict_keys(item, DISPATCH_KEYS)
    switch = _integer(item.get("dispatchSwitch"), "dispatchSwitch")
    control = _integer(item.get("controlType"), "controlType")
    soc = _number(item.get("targetSOC"), "targetSOC")
    minutes = _integer(item.get("dispatchTime"), "dispatchTime")
    power = _integer(item.get("powerDispatch"), "powerDispatch")
    if switch not in (0, 1, 2):
        raise PlantRefusedError(MSG_SWITCH)
    if switch == 0:
        return DispatchOrder(0, None, None, None, None)
    if control not in (1, 2):
        raise PlantRefusedError("ControlType is illegal, valid value: 1 or 2")
    if control == 1 and (soc is None or not 0 <= soc <= 100):
        raise PlantRefusedError("TargetSOC is illegal, valid range: [0, 100]")
    if control == 2 and (minutes is None or not 0 <= minutes <= 1440):
        raise PlantRefusedError("DispatchTime is illegal, valid range: [0, 1440]")
    if power is not None and ((switch == 1 and power <= 0) or (switch == 2 and power >= 0)):
        raise PlantRefusedError(MSG_POWER)
    return DispatchOrder(
        switch,
        control,
        soc if control == 1 else None,
        minutes if control == 2 else None,
        power,
    )


def _dispatch_plant(sim: Simulator, ctx: Ctx, code: str, order: DispatchOrder) -> Plant:
    plant = _plant(sim, ctx, code)
    if order.control_type == 1 and (
        _lg(plant) or any(not b.spec.soc_control_supported for b in plant.batteries)
    ):
        raise PlantRefusedError("LG batteries do not support SOC control.")
    if any(b.control_fails for b in plant.batteries):
        raise PlantRefusedError("Signal dispensing happened error.")
    if order.switch != 0 and plant.running_task(ctx.boundary) is not None:
        raise PlantRefusedError(MSG_RUNNING)
    return plant


def _new_request_id(sim: Simulator, now: float) -> int:
    request_id = int(now * 1000) * 1000
    while request_id in sim.tasks.by_request:
        request_id += 1
    return request_id


def h_charge_discharge_task(sim: Simulator, ctx: Ctx) -> Reply:
    """§5.2.1: forced charge/discharge (or stop) of up to 100 plants; server requestID."""
    items = _task_list(
        ctx.body, MAX_DISPATCH_PLANTS, "Battery charge and discharge task list is empty."
    )
    ctx.record.size = len(items)
    orders = [_dispatch_order_or_refusal(item) for item in items]
    request_id = _new_request_id(sim, ctx.now)
    tasks: list[Task] = []
    results = []
    for i, (item, order) in enumerate(zip(items, orders, strict=True)):
        code = str(item["plantCode"])
        try:
            if isinstance(order, PlantRefusedError):
                raise order
            plant = _dispatch_plant(sim, ctx, code, order)
        except PlantRefusedError as refusal:
            results.append(_dispatch_result(code, "", 1, f"{request_id}{i:03d}", refusal.message))
            continue
        task = _new_task(sim, ctx, plant, order, request_id, i)
        plant.add_task(task)
        tasks.append(task)
        results.append(_dispatch_result(code, task.sn, 0, task.remote_id, "Task delivered."))
    data = {"requestID": request_id, "result": results}
    if not tasks:
        raise ApiError(2, "Failed to deliver the battery charge/discharge task.", data)
    sim.tasks.by_request[request_id] = tasks
    if len(tasks) < len(items):
        return Reply(
            data,
            fail_code=1,
            message="The battery charge/discharge task is partially delivered successfully.",
        )
    return Reply(data, message="The battery charge/discharge task is delivered successfully.")


def _dispatch_order_or_refusal(item: Mapping[str, Any]) -> DispatchOrder | PlantRefusedError:
    try:
        return _dispatch_order(item)
    except PlantRefusedError as refusal:
        return refusal


def _dispatch_result(code: str, sn: str, result: int, sub: str, text: str) -> dict[str, Any]:
    return {
        "plantCode": code,
        "sn": sn,
        "dispatchResult": result,
        "subTaskId": sub,
        "description": text,
    }


def _new_task(
    sim: Simulator, ctx: Ctx, plant: Plant, order: DispatchOrder, request_id: int, i: int
) -> Task:
    inverter = plant.inverters[0] if plant.inverters else None
    max_w = plant.max_battery_kw * 1000.0
    power_kw = 0.0
    if order.power_w is not None:  # beyond the battery's maximum: the maximum (§5.2.1)
        power_kw = min(abs(order.power_w), max_w) / 1000.0
    return Task(
        uid=sim.tasks.new_uid(),
        request_id=request_id,
        plant=plant,
        switch=order.switch,
        control_type=order.control_type,
        target_soc=order.target_soc,
        duration_min=order.minutes,
        power_kw=power_kw,
        received=ctx.now,
        remote_id=f"{request_id}{i:03d}",
        sn=inverter.sn if inverter is not None else "",
    )


STATUS_MESSAGES = {0: "The task is finished.", 1: "The task is running.", 2: "The task timed out."}


def h_charge_discharge_status(sim: Simulator, ctx: Ctx) -> Reply:
    """§5.2.2: status of a §5.2.1 task (0 finished, 1 running, 2 timed out or failed)."""
    _strict_keys(ctx.body, frozenset({"requestID"}))
    raw = ctx.body.get("requestID")
    if raw is None:
        raise ApiError(20044, "The task unique ID cannot be empty.")
    request_id = _integer(raw, "requestID")
    tasks = sim.tasks.by_request.get(request_id or 0)
    if tasks is None:
        raise ApiError(20050, "The query parameter does not exist.")
    data = []
    for task in tasks:
        progress = task.plant.task_progress(task, ctx.boundary)
        end = progress.end_time
        data.append(
            {
                "plantCode": task.plant.code,
                "sn": task.sn,
                "remoteID": task.remote_id,
                "status": progress.status,
                "chargedCapacity": r3(progress.energy_kwh) if task.switch == 1 else None,
                "dischargedCapacity": r3(progress.energy_kwh) if task.switch == 2 else None,
                "execStartTime": task.plant.iso(task.received),
                "execEndTime": task.plant.iso(end) if end is not None else None,
                "message": STATUS_MESSAGES[progress.status],
            }
        )
    return Reply(data, message="The battery charge/discharge task status queried successfully.")


# --- §5.2.3-5.2.8 setting tasks -----------------------------------------------------------


def _minutes(text: Any, name: str) -> int:
    if not isinstance(text, str) or not HHMM.match(text):
        raise PlantRefusedError(_range_message(name, "[00:00, 23:59]"))
    return int(text[:2]) * 60 + int(text[3:])


def _windows(raw: Any) -> list[dict[str, Any]]:
    """TOU windows (§5.2.3): at most 14, HH:MM, charge/discharge, weekdays 1-7, no overlap."""
    if not isinstance(raw, list) or not raw:
        raise PlantRefusedError("chargingAndDischargingTimeWindow is mandatory for TOU.")
    if len(raw) > MAX_WINDOWS:
        raise PlantRefusedError(_range_message("chargingAndDischargingTimeWindow size", "[1, 14]"))
    spans: list[tuple[int, int, int]] = []
    windows = []
    for window in raw:
        if not isinstance(window, dict):
            raise FrameworkError("chargingAndDischargingTimeWindow", "must be a List of Objects")
        start = _minutes(window.get("startTime"), "startTime")
        end = _minutes(window.get("endTime"), "endTime")
        if end <= start:
            raise PlantRefusedError(_range_message("endTime", "(startTime, 23:59]"))
        if window.get("chargeOrDischarge") not in ("charge", "discharge"):
            raise PlantRefusedError(_range_message("chargeOrDischarge", "[charge, discharge]"))
        days = window.get("repeat")
        if (
            not isinstance(days, list)
            or not 1 <= len(days) <= 7
            or any(isinstance(d, bool) or d not in range(1, 8) for d in days)
            or len(set(days)) != len(days)
        ):
            raise PlantRefusedError(_range_message("repeat", "[1, 7]"))
        for day in days:
            if any(d == day and start < e and s < end for d, s, e in spans):
                raise PlantRefusedError("The startTime and endTime of multiple days overlap.")
            spans.append((day, start, end))
        windows.append({k: window[k] for k in ("startTime", "endTime", "chargeOrDischarge")})
        windows[-1]["repeat"] = sorted(days)
    return windows


MODE_KEYS = frozenset(
    {
        "plantCode",
        "operationMode",
        "redundantPVEnergyPriority",
        "allowedAcChargePower",
        "chargingAndDischargingTimeWindow",
    }
)


def _mode_values(item: Mapping[str, Any], plant: Plant, current: PlantSettings) -> dict[str, Any]:
    """Validate one task of §5.2.3 against the plant's current settings."""
    _strict_keys(item, MODE_KEYS)
    mode = item.get("operationMode")
    if mode not in MODES:
        raise PlantRefusedError(_range_message("operationMode", f"[{', '.join(MODES)}]"))
    if _lg(plant):
        raise PlantRefusedError(MSG_LG)
    values: dict[str, Any] = {"operationMode": mode}
    if mode == "TOU":
        priority = item.get("redundantPVEnergyPriority", "chargePreference")
        if priority not in PRIORITIES:
            raise PlantRefusedError(
                _range_message("redundantPVEnergyPriority", f"[{', '.join(PRIORITIES)}]")
            )
        power = _number(item.get("allowedAcChargePower"), "allowedAcChargePower")
        low, high = AC_CHARGE_KW
        if power is not None and not low <= power <= high:
            raise PlantRefusedError(
                _range_message("allowedAcChargePower", f"[{low:.3f}, {high:.3f}]")
            )
        values["redundantPVEnergyPriority"] = priority
        values["allowedAcChargePower"] = power if power is not None else 0.0
        values["chargingAndDischargingTimeWindow"] = _windows(
            item.get("chargingAndDischargingTimeWindow")
        )
    leaving = current.mode["operationMode"] == "thirdPartyDispatch" != mode
    if leaving and not current.third_party_via_nbi:
        raise PlantRefusedError(cloud_error(20627).message or "", 20627)
    if values == current.mode:
        raise PlantRefusedError(MSG_SAME)
    return values


BATTERY_KEYS = (
    "endOfChargeSoc",
    "endOfDischargeSoc",
    "maximumChargePower",
    "maximumDischargePower",
)


def _battery_values(
    item: Mapping[str, Any], plant: Plant, current: PlantSettings
) -> dict[str, Any]:
    """Validate one task of §5.2.5: at least one value, each in its range."""
    _strict_keys(item, frozenset({"plantCode", "batteryConfigurationInfo"}))
    info = item.get("batteryConfigurationInfo")
    if not isinstance(info, dict):
        raise FrameworkError("batteryConfigurationInfo", "batteryConfigurationInfo may not be null")
    _strict_keys(info, frozenset(BATTERY_KEYS))
    if _lg(plant):
        raise PlantRefusedError(MSG_LG)
    values: dict[str, Any] = {}
    for name, low, high in (("endOfChargeSoc", 90.0, 100.0), ("endOfDischargeSoc", 0.0, 20.0)):
        number = _number(info.get(name), name)
        if number is not None:
            if not low <= number <= high:
                raise PlantRefusedError(_range_message(name, f"[{low}, {high}]"))
            values[name] = number
    upper = round(plant.max_battery_kw * 1000)
    for name in ("maximumChargePower", "maximumDischargePower"):
        watts = _integer(info.get(name), name)
        if watts is not None:
            if watts < MIN_BATTERY_POWER_W:
                raise PlantRefusedError(_range_message(name, f"[{MIN_BATTERY_POWER_W}, {upper}]"))
            values[name] = min(watts, upper)  # above the upper limit: the limit (§5.2.5)
    if not values:
        raise PlantRefusedError("At least one battery parameter must be set.")
    if all(current.battery.get(k) == v for k, v in values.items()):
        raise PlantRefusedError(MSG_SAME)
    return values


def _active_power_values(
    item: Mapping[str, Any], plant: Plant, current: PlantSettings
) -> dict[str, Any]:
    """Validate one task of §5.2.7: ``"0"`` no limit, ``"6"`` limited feed-in (kW)."""
    _strict_keys(item, frozenset({"plantCode", "controlMode", "controlInfo"}))
    mode = item.get("controlMode")
    if mode not in ("0", "6"):
        raise PlantRefusedError(_range_message("controlMode", "[0, 6]"))
    values: dict[str, Any] = {"controlMode": mode}
    if mode == "6":
        info = item.get("controlInfo") or {}
        if not isinstance(info, dict):
            raise FrameworkError("controlInfo", "controlInfo must be an Object")
        _strict_keys(info, frozenset({"maxGridFeedInPower", "limitationMode"}))
        power = _number(info.get("maxGridFeedInPower"), "maxGridFeedInPower")
        low, high = FEED_IN_KW
        if power is None or not low <= power <= high:
            raise PlantRefusedError(
                _range_message("maxGridFeedInPower", f"[{low:.3f}, {high:.3f}]")
            )
        limitation = info.get("limitationMode", "0")
        if limitation not in ("0", "1"):
            raise PlantRefusedError(_range_message("limitationMode", "[0, 1]"))
        values["controlInfo"] = {"maxGridFeedInPower": power, "limitationMode": limitation}
    if values == current.active_power:
        raise PlantRefusedError(MSG_SAME)
    return values


Validator = Callable[[Mapping[str, Any], Plant, PlantSettings], dict[str, Any]]


@dataclass(frozen=True)
class SettingKind:
    """One kind of setting task: its validation and messages."""

    validate: Validator
    battery: bool
    noun: str
    info_key: str | None  # key of the values in the task-info entry (None: at top level)


SETTING_KINDS: dict[str, SettingKind] = {
    NBI_BATTERY_MODE_TASK: SettingKind(_mode_values, True, "battery mode", None),
    NBI_BATTERY_CONFIG_TASK: SettingKind(
        _battery_values, True, "battery configuration", "batteryConfigurationInfo"
    ),
    NBI_ACTIVE_POWER_TASK: SettingKind(_active_power_values, False, "active power control", None),
}
INFO_OF = {
    NBI_BATTERY_MODE_INFO: NBI_BATTERY_MODE_TASK,
    NBI_BATTERY_CONFIG_INFO: NBI_BATTERY_CONFIG_TASK,
    NBI_ACTIVE_POWER_INFO: NBI_ACTIVE_POWER_TASK,
}


def h_setting_task(sim: Simulator, ctx: Ctx) -> Reply:
    """§5.2.3 / §5.2.5 / §5.2.7: a setting task for up to 10 plants."""
    kind = SETTING_KINDS[ctx.endpoint]
    items = _task_list(ctx.body, MAX_SETTING_PLANTS, "")
    ctx.record.size = len(items)
    state = control_state(sim)
    task_id = state.new_task_id()
    results = []
    accepted = 0
    for item in items:
        code = str(item["plantCode"])
        try:
            plant = _plant(sim, ctx, code, battery=kind.battery)
            if state.running(plant, ctx.endpoint, ctx.now) is not None:
                raise PlantRefusedError(MSG_RUNNING)
            values = kind.validate(item, plant, state.settings(plant, ctx.now))
        except PlantRefusedError as refusal:
            results.append({"plantCode": code, "status": "FAIL", "message": refusal.message})
            continue
        fails = any(d.control_fails for d in (plant.batteries if kind.battery else plant.inverters))
        task = SettingTask(task_id, ctx.endpoint, plant, values, ctx.now, fails)
        state.tasks[f"{task_id}/{code}"] = task
        _effect(task)
        accepted += 1
        results.append({"plantCode": code, "status": "RUNNING", "message": None})
    data = {"taskId": task_id, "result": results}
    if not accepted:
        raise ApiError(2, f"Failed to deliver the {kind.noun} control task.", data)
    if accepted < len(items):
        message = f"The {kind.noun} task is partially delivered successfully."
        return Reply(data, fail_code=1, message=message)
    return Reply(data, message=f"The {kind.noun} task is delivered successfully.")


def _effect(task: SettingTask) -> None:
    """Physics of a setting: the discharge cut-off SOC is the batteries' end of discharge."""
    eod = task.values.get("endOfDischargeSoc")
    if task.kind == NBI_BATTERY_CONFIG_TASK and eod is not None and not task.fails:
        for battery in task.plant.batteries:
            task.plant.set_eod(battery, float(eod), task.done_at)


def _task_id(body: Mapping[str, Any]) -> str:
    _strict_keys(body, frozenset({"taskId"}))
    task_id = body.get("taskId")
    if task_id is None:
        raise FrameworkError("taskId", "taskId may not be null")
    if not isinstance(task_id, str):
        raise FrameworkError("taskId", "taskId must be a String")
    return task_id


def _times(sim: Simulator, tasks: list[SettingTask], now: float) -> dict[str, Any]:
    plant = tasks[0].plant
    running = any(t.status(now) == "RUNNING" for t in tasks)
    end = None if running else plant.iso(max(t.done_at for t in tasks))
    return {"startTime": plant.iso(tasks[0].received), "endTime": end}


def h_setting_info(sim: Simulator, ctx: Ctx) -> Reply:
    """§5.2.4 / §5.2.6 / §5.2.8: status of a setting task, per plant."""
    delivery = INFO_OF[ctx.endpoint]
    task_id = _task_id(ctx.body)
    state = control_state(sim)
    tasks = [t for t in state.tasks.values() if t.task_id == task_id and t.kind == delivery]
    if len(task_id) != TASK_ID_LENGTH or not tasks:
        raise ApiError(20620, "The taskId is not exist.")
    kind = SETTING_KINDS[delivery]
    entries = []
    for task in tasks:
        status = task.status(ctx.now)
        values = {kind.info_key: task.values} if kind.info_key else dict(task.values)
        entries.append(
            {
                "plantCode": task.plant.code,
                "status": status,
                "message": "FAILURE" if status == "FAIL" else None,
                **values,
            }
        )
    data = {"dispatchResult": entries, **_times(sim, tasks, ctx.now)}
    return Reply(data, message=f"The {kind.noun} task status queried successfully.")


# --- §5.2.9 / §5.2.10 battery dispatch (third-party mode) ---------------------------------


def h_battery_dispatch_task(sim: Simulator, ctx: Ctx) -> Reply:
    """§5.2.9: a power set-point for one battery of a plant in third-party dispatch."""
    body = ctx.body
    _strict_keys(body, frozenset({"plantCode", "batteryDn", "dispatchPower"}))
    for name in ("plantCode", "batteryDn", "dispatchPower"):
        if body.get(name) is None:
            raise FrameworkError(name, f"{name} may not be null")
    power = _integer(body["dispatchPower"], "dispatchPower")
    assert power is not None
    try:
        plant = _plant(sim, ctx, str(body["plantCode"]))
    except PlantRefusedError as refusal:
        raise ApiError(
            20614 if refusal.message == MSG_OFFLINE else 20622, refusal.message
        ) from None
    battery = _runtime(sim).catalog.find(str(body["batteryDn"]))
    if battery is None or battery.plant is not plant or battery.dn != body["batteryDn"]:
        raise ApiError(20631, "The device does not exist under the plant.")
    if battery.dev_type_id not in (const.DEV_BATTERY, 23093) or _lg(plant):
        raise ApiError(20629, "The device does not support this setting.")
    state = control_state(sim)
    settings = state.settings(plant, ctx.now)
    if not settings.third_party_via_nbi:
        raise cloud_error(20627)
    if settings.mode["operationMode"] != "thirdPartyDispatch":
        raise cloud_error(20628)
    if any(
        t.battery_dn == battery.dn and t.status(ctx.now) == "RUNNING" for t in state.tasks.values()
    ):
        raise ApiError(20615, MSG_RUNNING)
    upper = round(plant.max_battery_kw * 1000)
    task = SettingTask(
        state.new_task_id(),
        NBI_BATTERY_DISPATCH_TASK,
        plant,
        {"dispatchPower": max(-upper, min(upper, power))},
        ctx.now,
        any(b.control_fails for b in plant.batteries),
        battery.dn,
    )
    state.tasks[task.task_id] = task
    data = {
        "taskId": task.task_id,
        "plantCode": plant.code,
        "batteryDn": battery.dn,
        "status": "RUNNING",
    }
    return Reply(data, message="The battery dispatch task is delivered successfully.")


def h_battery_dispatch_info(sim: Simulator, ctx: Ctx) -> Reply:
    """§5.2.10: status of a battery dispatch task (``data`` is one object)."""
    task_id = _task_id(ctx.body)
    task = control_state(sim).tasks.get(task_id)
    if task is None or task.kind != NBI_BATTERY_DISPATCH_TASK:
        raise ApiError(20620, "The taskId is not exist.")
    status = task.status(ctx.now)
    data = {
        "plantCode": task.plant.code,
        "batteryDn": task.battery_dn,
        "status": status,
        "message": "FAILURE" if status == "FAIL" else None,
        **task.values,
    }
    return Reply(data, message="The battery dispatch task status queried successfully.")


# --- §5.1.5 configuration queries, with the settings the tasks made ------------------------

ACTIVE_POWER_MODES = {"0": "noLimit", "6": "limitedPowerGridKW"}


def h_battery_mode(sim: Simulator, ctx: Ctx) -> Reply:
    """§5.1.5.1: the plant's working mode (TOU details only in TOU)."""
    plant = _config_plant(sim, ctx, "battery")
    mode = control_state(sim).settings(plant, ctx.now).mode
    detail = None
    if mode["operationMode"] == "TOU":
        detail = {k: v for k, v in mode.items() if k != "operationMode"}
    data = {
        "plantCode": plant.code,
        "operationMode": mode["operationMode"],
        "touOperationModeParamDetail": detail,
    }
    return Reply(data, message="The battery operation mode queried successfully.")


def h_active_power_mode(sim: Simulator, ctx: Ctx) -> Reply:
    """§5.1.5.2: the plant's active-power control mode."""
    plant = _config_plant(sim, ctx, "inverter")
    setting = control_state(sim).settings(plant, ctx.now).active_power
    info = setting.get("controlInfo")
    value = None
    if info is not None:
        mode = "singlePhasePower" if info["limitationMode"] == "1" else "totalPower"
        value = {"limitationMode": mode, "maxGridFeedInPowerValue": info["maxGridFeedInPower"]}
    data = {
        "plantCode": plant.code,
        "controlMode": ACTIVE_POWER_MODES[setting["controlMode"]],
        "zeroExportLimitationParam": None,
        "limitedPowerGridPercentParam": None,
        "limitedPowerGridValueParam": value,
    }
    return Reply(data, message="The inverter active power control mode queried successfully.")


HANDLERS: dict[str, Handler] = {
    NBI_CHARGE_DISCHARGE_TASK: h_charge_discharge_task,
    const.V7_CHARGE_DISCHARGE_STATUS: h_charge_discharge_status,
    NBI_BATTERY_MODE_TASK: h_setting_task,
    NBI_BATTERY_MODE_INFO: h_setting_info,
    NBI_BATTERY_CONFIG_TASK: h_setting_task,
    NBI_BATTERY_CONFIG_INFO: h_setting_info,
    NBI_ACTIVE_POWER_TASK: h_setting_task,
    NBI_ACTIVE_POWER_INFO: h_setting_info,
    NBI_BATTERY_DISPATCH_TASK: h_battery_dispatch_task,
    NBI_BATTERY_DISPATCH_INFO: h_battery_dispatch_info,
    NBI_BATTERY_MODE: h_battery_mode,
    NBI_ACTIVE_POWER_MODE: h_active_power_mode,
}
