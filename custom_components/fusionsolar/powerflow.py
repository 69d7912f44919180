"""A plant's power flow derived from its devices, where V7 ``plantRealtimeKpi`` is missing.

Today's cloud (26.x) and accounts without V7 rights have no plant-level power flow. It
is derived from the real-time data of the plant's devices, in the conventions of V7
``plantRealtimeKpi`` (kW; grid > 0 export, battery > 0 discharge):

* PV: the inverters' and all-in-one units' DC input ``mppt_power``; an inverter without
  it counts its AC output plus what the plant's batteries charge (hybrid inverters);
* grid: the grid meters (17), else the SmartAssistant (23070) at the grid connection
  point. A power sensor (47) is not used: the references disagree on its sign;
* battery: the batteries' (39) and all-in-one units' ``ch_discharge_power`` (> 0
  charging on the device) negated; SOC the mean over the batteries that report it;
* load: PV + battery - grid (energy balance), only where PV, grid and (in a plant with
  batteries) the battery are all known.

A value is derived only when every device it needs reported: a partial sum would be
wrong, so a plant without a meter has PV and battery but no grid or load.
"""

from __future__ import annotations

from collections.abc import Iterable
from statistics import fmean

from .api import Device, DeviceKind, DeviceRealtimeKpi, PlantRealtimeKpi

_PV_KINDS = frozenset({DeviceKind.INVERTER, DeviceKind.ALL_IN_ONE})
_BATTERY_KINDS = frozenset({DeviceKind.BATTERY, DeviceKind.ALL_IN_ONE})

type DeviceReading = tuple[Device, DeviceRealtimeKpi | None]


def derive_power_flow(plant_code: str, readings: Iterable[DeviceReading]) -> PlantRealtimeKpi:
    """The power flow of one plant from ``(device, latest kpi or None)`` of its devices."""
    devices = list(readings)
    battery = _battery_power(devices)
    pv = _pv_power(devices, battery)
    grid = _grid_power(devices)
    silent_battery = battery is None and bool(_of_kind(devices, _BATTERY_KINDS))
    load = (
        None
        if pv is None or grid is None or silent_battery
        else round(pv + (battery or 0.0) - grid, 3)
    )
    return PlantRealtimeKpi(
        plant_code=plant_code,
        pv_power=pv,
        grid_power=grid,
        battery_power=battery,
        load_power=load,
        battery_soc=_soc(devices),
    )


def _of_kind(devices: list[DeviceReading], kinds: frozenset[DeviceKind]) -> list[DeviceReading]:
    return [(device, kpi) for device, kpi in devices if device.kind in kinds]


def _total(values: list[float | None]) -> float | None:
    """The sum, or None when there is nothing to sum or a value is missing."""
    if not values or any(value is None for value in values):
        return None
    return round(sum(value for value in values if value is not None), 3)


def _battery_power(devices: list[DeviceReading]) -> float | None:
    charging = [
        kpi.get("ch_discharge_power") if kpi else None
        for _, kpi in _of_kind(devices, _BATTERY_KINDS)
    ]
    total = _total(charging)
    return None if total is None else -total or 0.0


def _pv_power(devices: list[DeviceReading], battery: float | None) -> float | None:
    inverters = _of_kind(devices, _PV_KINDS)
    dc_input = [kpi.get("mppt_power") if kpi else None for _, kpi in inverters]
    if inverters and None not in dc_input:
        return _total(dc_input)
    if battery is None and _of_kind(devices, _BATTERY_KINDS):
        return None  # a hybrid inverter's output includes what the battery gives
    output = _total([kpi.get("active_power") if kpi else None for _, kpi in inverters])
    return None if output is None else round(max(0.0, output - (battery or 0.0)), 3)


def _grid_power(devices: list[DeviceReading]) -> float | None:
    for kind in (DeviceKind.METER, DeviceKind.SMART_ASSISTANT):
        meters = _of_kind(devices, frozenset({kind}))
        if meters:
            return _total([kpi.get("active_power") if kpi else None for _, kpi in meters])
    return None


def _soc(devices: list[DeviceReading]) -> float | None:
    values = [
        value
        for _, kpi in _of_kind(devices, _BATTERY_KINDS)
        if kpi is not None and (value := kpi.get("battery_soc")) is not None
    ]
    return round(fmean(values), 1) if values else None
