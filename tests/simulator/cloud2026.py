"""Data rules of the ``cloud-2026`` profile: SmartPVMS 26.2 (digest in /work/shared/spec).

Every value comes from the same physical model (``model.Plant``) as the V500R007
profile; only keys, units and device presentation change (same plant, same energy):

* grid meter (17) ``active_power``/``active_power_a..c`` in W, ``reactive_power`` in Var,
  deprecated keys null (§5.1.2.2 table 17, change log 24.7.0);
* battery (39) ``charge_cap``/``discharge_cap`` are the day's energies (reset at local
  midnight), ``total_charged_energy``/``total_discharged_energy`` the lifetime ones,
  ``rated_capacity`` (26.1.0, 24.7.0); ``battery_soh`` only for LG; ``sn`` null;
* string inverter (1) with 36 strings (25.1.0); EMI horizontal keys null (deprecated);
* SmartAssistant (23070) at the grid connection point of the plants in
  ``CloudOptions.smart_assistant_plants``: the grid flows in kW, the external CT measures
  the PV output (simulator choice);
* all-in-one (23093) on ``CloudOptions.all_in_one_plants``: the plant's first inverter and
  first battery presented as one device (inverter keys with 3 strings + battery keys).

Sign conventions are the V500R007 profile's (``kpis`` docstring): meter/SmartAssistant
``active_power`` > 0 = export, battery ``ch_discharge_power`` > 0 = charging.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from . import const
from .config import CloudOptions
from .kpis import (
    battery_item,
    battery_share,
    emi_item,
    inverter_item,
    inverter_share,
    meter_item,
    power_sensor_item,
    r1,
    r3,
)
from .model import Device, NeAddressed, Plant, SlotState

NBI_PREFIX = "/rest/openapi/pvms/nbi/"
NBI_DEVICE_HISTORY = "/rest/openapi/pvms/nbi/v1/device/history"
NBI_BATTERY_MODE = "/rest/openapi/pvms/nbi/v1/configuration/battery-mode"
NBI_ACTIVE_POWER_MODE = "/rest/openapi/pvms/nbi/v1/configuration/active-power-control-mode"
# Control tasks (Part B §6, digest §5.2): delivery and query of each kind.
_CONTROL = "/rest/openapi/pvms/nbi/"
NBI_CHARGE_DISCHARGE_TASK = _CONTROL + "v2/control/charge-and-discharge/async-task"
NBI_BATTERY_MODE_TASK = _CONTROL + "v1/control/battery/mode/async-task"
NBI_BATTERY_MODE_INFO = _CONTROL + "v1/control/battery/mode/task-info"
NBI_BATTERY_CONFIG_TASK = _CONTROL + "v1/control/battery/configuration/async-task"
NBI_BATTERY_CONFIG_INFO = _CONTROL + "v1/control/battery/configuration/task-info"
NBI_ACTIVE_POWER_TASK = _CONTROL + "v2/control/active-power-control/async-task"
NBI_ACTIVE_POWER_INFO = _CONTROL + "v2/control/active-power-control/task-info"
NBI_BATTERY_DISPATCH_TASK = _CONTROL + "v1/control/battery/battery-dispatch/async-task"
NBI_BATTERY_DISPATCH_INFO = _CONTROL + "v1/control/battery/battery-dispatch/task-info"
NBI_CONTROL_ENDPOINTS = (
    NBI_CHARGE_DISCHARGE_TASK,
    NBI_BATTERY_MODE_TASK,
    NBI_BATTERY_MODE_INFO,
    NBI_BATTERY_CONFIG_TASK,
    NBI_BATTERY_CONFIG_INFO,
    NBI_ACTIVE_POWER_TASK,
    NBI_ACTIVE_POWER_INFO,
    NBI_BATTERY_DISPATCH_TASK,
    NBI_BATTERY_DISPATCH_INFO,
)
NBI_ENDPOINTS = (
    NBI_DEVICE_HISTORY,
    NBI_BATTERY_MODE,
    NBI_ACTIVE_POWER_MODE,
    *NBI_CONTROL_ENDPOINTS,
)
# §5.2.2: the charge/discharge task query kept its V7-looking path (no ``nbi``); on
# today's cloud it is served with the /thirdData login's token, like every 26.2 call.
CLOUD_V7_PATHS = frozenset({const.V7_CHARGE_DISCHARGE_STATUS})

# Not documented in 26.2 (replaced in 24.2.0, §1.12): answered 404 HTML like the V7 family.
REMOVED_ENDPOINTS = frozenset({const.GET_STATION_LIST, const.GET_DEV_FIVE_MINUTES})

DEV_SMART_ASSISTANT = 23070
DEV_ALL_IN_ONE = 23093
# §5.1.2.2 request: supported devTypeId values of getDevRealKpi.
REAL_KPI_TYPES = frozenset({1, 10, 17, 38, 39, 41, 47, DEV_SMART_ASSISTANT, DEV_ALL_IN_ONE})
# Part B §2.2: supported devTypeId values of device/history.
HISTORY_TYPES = frozenset(
    {1, 10, 17, 38, 39, 41, 47, 63, 60001, 60003, 60043, 60014, 60010, 23070, 23093}
)
# Part B §4.6: device day/month/year reports.
DEV_REPORT_TYPES = frozenset({1, 38, 39, 41, DEV_ALL_IN_ONE})

ERROR_MESSAGES: dict[int, str] = {
    20200: "System busy. Please try again later.",
    20604: "The start time is greater than the end time.",
    20605: "The time cannot be a negative number.",
    20614: "The device is offline.",
    20618: "The API account exceeded the maximum daily calls for this interface.",
    20622: "The plant DN is invalid or you have no permission.",
    429: "The interface is busy. Please try again in 1 minute.",
    40001: "At most 1 device can query 24 hours of data.",
}

_SA_OFFSET = 60  # NE of the SmartAssistant: plant NE + 60 (devices use + 1 ...)
_AIO_OFFSET = 61


@dataclass(frozen=True)
class CloudDevice(NeAddressed):
    """A device as the 26.2 cloud lists it; ``parts`` are the model devices behind it."""

    plant: Plant
    dev_type_id: int
    ne: int
    sn: str
    name: str
    model: str
    software_version: str
    parts: tuple[Device, ...] = ()

    @property
    def is_inverter(self) -> bool:
        """Has an inverter part (1, 38, 23093)."""
        return any(part.is_inverter for part in self.parts)


def _wrap(device: Device) -> CloudDevice:
    return CloudDevice(
        device.plant,
        device.dev_type_id,
        device.ne,
        device.sn,
        device.name,
        device.model,
        device.software_version,
        (device,),
    )


def plant_devices(plant: Plant, options: CloudOptions) -> list[CloudDevice]:
    """The plant's devices as 26.2 lists them."""
    devices = list(plant.devices)
    result: list[CloudDevice] = []
    if plant.index in options.all_in_one_plants and plant.inverters and plant.batteries:
        inverter, battery = plant.inverters[0], plant.batteries[0]
        devices = [d for d in devices if d not in (inverter, battery)]
        sn = f"AIO{plant.seed % 1000:03d}{plant.index:05d}"
        result.append(
            CloudDevice(
                plant,
                DEV_ALL_IN_ONE,
                plant.ne + _AIO_OFFSET,
                sn,
                f"All-in-one-{sn}",
                "SUN5000-5KTL-S0",
                "V100R026C00SPC100",
                (inverter, battery),
            )
        )
    result.extend(_wrap(d) for d in devices)
    if plant.index in options.smart_assistant_plants:
        sn = f"SA{plant.seed % 1000:03d}{plant.index:05d}"
        result.append(
            CloudDevice(
                plant,
                DEV_SMART_ASSISTANT,
                plant.ne + _SA_OFFSET,
                sn,
                f"SmartAssistant-{sn}",
                "SmartAssistant",
                "V100R025C10SPC100",
            )
        )
    return result


class Catalog:
    """Every cloud device of a simulator, by id, DN and SN."""

    def __init__(self, plants: Iterable[Plant], options: CloudOptions) -> None:
        """Build the catalogue."""
        self.by_plant: dict[str, list[CloudDevice]] = {}
        self.by_key: dict[str, CloudDevice] = {}
        for plant in plants:
            devices = plant_devices(plant, options)
            self.by_plant[plant.code] = devices
            for device in devices:
                self.by_key[str(device.dev_id)] = device
                self.by_key[device.dn] = device
                self.by_key[device.sn] = device

    def find(self, key: str) -> CloudDevice | None:
        """A device by id, DN or SN."""
        return self.by_key.get(key.strip())

    def count_by_type(self, plant_codes: Iterable[str]) -> dict[int, int]:
        """Devices per devTypeId of some plants (flow-control formulas, §4.2)."""
        counts: dict[int, int] = {}
        for code in plant_codes:
            for device in self.by_plant.get(code, []):
                counts[device.dev_type_id] = counts.get(device.dev_type_id, 0) + 1
        return counts


# --- data item maps ------------------------------------------------------------------------

_METER_DEPRECATED = (
    "reactive_power_a",
    "reactive_power_b",
    "reactive_power_c",
    "grid_frequency",
    *(
        f"{direction}_{kind}_{tariff}"
        for kind in ("active", "reactive")
        for direction in ("reverse", "positive")
        for tariff in ("peak", "power", "valley", "top")
    ),
)


def grid_meter_item(state: SlotState) -> dict[str, Any]:
    """Grid meter (17): powers in W / Var (24.7.0), deprecated keys null."""
    item = meter_item(state)
    power_w = (state.export_kw - state.import_kw) * 1000.0
    item["active_power"] = r1(power_w)
    for phase in "abc":
        item[f"active_power_{phase}"] = r1(power_w / 3)
    item["reactive_power"] = 0.0
    item.update(dict.fromkeys(_METER_DEPRECATED))
    return item


def residential_meter_item(state: SlotState, *, realtime: bool) -> dict[str, Any]:
    """Residential meter (47): W / Var, three-phase keys, deprecated keys null."""
    item = power_sensor_item(state, export_positive=False, realtime=realtime)
    phases = {k: v for k, v in meter_item(state).items() if k in ("ab_u", "bc_u", "ca_u")}
    volt = item["meter_u"]
    item.update(phases)
    item.update({"b_u": volt, "c_u": volt, "b_i": item["meter_i"], "c_i": item["meter_i"]})
    for phase in "abc":
        item[f"active_power_{phase}"] = r1(item["active_power"] / 3)
    deprecated = ("forward_reactive_cap", "reverse_reactive_cap", "total_apparent_power")
    item.update(dict.fromkeys((*deprecated, *_METER_DEPRECATED[:3], *_METER_DEPRECATED[4:])))
    return item


def battery_2026_item(
    plant: Plant, device: Device, state: SlotState, *, realtime: bool
) -> dict[str, Any]:
    """Battery (39): day energies, lifetime energies, rated capacity, packs."""
    item = battery_item(plant, device, state, realtime=realtime)
    share = battery_share(device)
    item["charge_cap"] = r3(state.day["charge"] * share)
    item["discharge_cap"] = r3(state.day["discharge"] * share)
    item["battery_soh"] = plant.soh if device.spec.vendor == "lg" else None
    if realtime:
        item["rated_capacity"] = device.capacity_kwh
        item["total_charged_energy"] = r3(state.total["charge"] * share)
        item["total_discharged_energy"] = r3(state.total["discharge"] * share)
        item["battery_unit_info"] = {
            "unit1": [{"sn": f"{device.sn}-P{n}", "soh": f"{plant.soh:.1f}%"} for n in (1, 2)]
        }
    return item


def string_inverter_item(
    plant: Plant,
    device: Device,
    state: SlotState,
    *,
    realtime: bool,
    day_cap: float | None,
    total_cap: float | None,
) -> dict[str, Any]:
    """Inverter (1 / 38); type 1 reports 36 strings (25.1.0)."""
    item = inverter_item(
        plant, device, state, day_cap=day_cap, total_cap=total_cap, realtime=realtime
    )
    if device.kind == "string_inverter":
        for n in range(25, 37):
            item[f"pv{n}_u"] = 0.0
            item[f"pv{n}_i"] = 0.0
    return item


def smart_assistant_item(state: SlotState) -> dict[str, Any]:
    """SmartAssistant (23070): grid connection in kW; external CT on the PV output."""
    meter = meter_item(state)
    power = state.export_kw - state.import_kw
    pv = state.pv_kw
    volt = meter["a_u"]
    ex_current = pv * 1000.0 / (3 * volt) if volt else 0.0
    item: dict[str, Any] = {
        **{key: meter[key] for key in ("a_i", "b_i", "c_i", "ab_u", "bc_u", "ca_u")},
        **{key: meter[key] for key in ("a_u", "b_u", "c_u")},
        "active_power_a": r3(power / 3),
        "active_power_b": r3(power / 3),
        "active_power_c": r3(power / 3),
        "active_power": r3(power),
        "reactive_power": 0.0,
        "power_factor": 0.99,
        "active_cap": r3(state.total["export"]),
        "reverse_active_cap": r3(state.total["import"]),
        "ex_a_i": r3(ex_current),
        "ex_b_i": r3(ex_current),
        "ex_c_i": r3(ex_current),
        "ex_a_u": meter["a_u"],
        "ex_b_u": meter["b_u"],
        "ex_c_u": meter["c_u"],
        "ex_active_power_a": r3(pv / 3),
        "ex_active_power_b": r3(pv / 3),
        "ex_active_power_c": r3(pv / 3),
        "ex_active_power": r3(pv),
        "ex_reactive_power": 0.0,
        "ex_power_factor": 1.0 if pv > 0 else 0.0,
        "ex_active_cap": r3(state.total["pv"]),
        "ex_reverse_active_cap": 0.0,
    }
    return item


_AIO_BATTERY_KEYS = tuple(k for k in const.BATTERY_KEYS if k not in ("battery_soh", "run_state"))


def all_in_one_item(
    device: CloudDevice,
    state: SlotState,
    *,
    realtime: bool,
    day_cap: float | None,
    total_cap: float | None,
) -> dict[str, Any]:
    """All-in-one (23093): inverter part (3 strings, 3 MPPTs) and battery part."""
    inverter, battery = device.parts
    plant = device.plant
    inv = inverter_item(
        plant, inverter, state, day_cap=day_cap, total_cap=total_cap, realtime=realtime
    )
    bat = battery_2026_item(plant, battery, state, realtime=realtime)
    item = {key: value for key, value in inv.items() if key in AIO_INVERTER_KEYS}
    for n in (1, 2, 3):
        item[f"pv{n}_u"] = inv.get(f"pv{n}_u", 0.0)
        item[f"pv{n}_i"] = inv.get(f"pv{n}_i", 0.0)
        item[f"mppt_{n}_cap"] = inv.get(f"mppt_{n}_cap", 0.0)
    if realtime:
        item["run_state"] = inv["run_state"]
    item.update({key: bat[key] for key in _AIO_BATTERY_KEYS})
    item["battery_status"] = min(int(bat["battery_status"]), 4)
    if realtime:
        item["rated_capacity"] = battery.capacity_kwh
        item["battery_info"] = [{"sn": f"{battery.sn}-P1", "soh": f"{plant.soh:.1f}%"}]
    return item


AIO_INVERTER_KEYS = frozenset(const.INVERTER_KEYS) - {"run_state"}


def device_item(
    device: CloudDevice,
    state: SlotState,
    *,
    realtime: bool,
    day_cap: float | None = None,
    total_cap: float | None = None,
) -> dict[str, Any]:
    """The 26.2 map of a device (real-time §5.1.2.2 or history Part B §2.3)."""
    plant = device.plant
    if device.dev_type_id == DEV_SMART_ASSISTANT:
        item = smart_assistant_item(state)
        if realtime:
            item["run_state"] = 0 if plant.offline else 1
        return item
    if device.dev_type_id == DEV_ALL_IN_ONE:
        return all_in_one_item(
            device, state, realtime=realtime, day_cap=day_cap, total_cap=total_cap
        )
    (part,) = device.parts
    if part.is_inverter:
        return string_inverter_item(
            plant, part, state, realtime=realtime, day_cap=day_cap, total_cap=total_cap
        )
    if part.kind == "battery":
        return battery_2026_item(plant, part, state, realtime=realtime)
    if part.kind == "meter":
        return grid_meter_item(state)
    if part.kind == "power_sensor":
        return residential_meter_item(state, realtime=realtime)
    item = emi_item(plant, state, realtime=realtime)
    item["horiz_radiant_line"] = None
    item["horiz_radiant_total"] = None
    return item


def period_share(device: CloudDevice) -> tuple[float, float]:
    """(PV share, battery share) of a device's reports."""
    pv = sum(inverter_share(p) for p in device.parts if p.is_inverter)
    bat = sum(battery_share(p) for p in device.parts if p.kind == "battery")
    return pv, bat
