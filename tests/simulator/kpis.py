"""Data item maps (§4) built from the physical model.

Units follow §4.6: inverter and meter powers in kW, battery powers in W, power sensor
``active_power`` in W.  Sign conventions (simulator choices where the spec is silent):

* grid meter (17) ``active_power`` > 0 = export (as V7 ``meterPower``), and, as on
  Huawei meters, forward energy ``active_cap`` is what was exported (the direction of
  positive power) and ``reverse_active_cap`` what was imported;
* power sensor (47) ``active_power`` in W; in the spec profile > 0 = import, with the
  field quirk ``power_sensor_watts`` > 0 = export, i.e. negative on import (as users
  report); its energies follow the meter (forward = export);
* battery (39) ``ch_discharge_power`` in W with the Huawei device convention:
  > 0 = charging, < 0 = discharging (opposite of V7 ``batteryPower``);
* inverter ``active_power`` = AC output of the hybrid inverter (PV + discharge - charge).
"""

from __future__ import annotations

import math
from typing import Any

from . import const
from .model import SLOT, SLOT_H, DayData, Device, Plant, SlotState

Item = dict[str, Any]


def r3(value: float) -> float:
    """Round to 3 decimals."""
    return round(value, 3)


def r1(value: float) -> float:
    """Round to 1 decimal."""
    return round(value, 1)


def _wobble(t: float, salt: int, amplitude: float) -> float:
    """Deterministic small variation (voltages, frequency) from the slot time."""
    return amplitude * math.sin(t / 977.0 + salt * 1.7)


def inverter_share(device: Device) -> float:
    """Share of the plant's PV that goes through this inverter."""
    plant = device.plant
    rated = plant.rated_power_kw
    return device.rated_power_kw / rated if rated else 0.0


def battery_share(device: Device) -> float:
    """Share of the plant's battery flows of this battery."""
    cap = device.plant.capacity_kwh
    return device.capacity_kwh / cap if cap else 0.0


def inverter_state_code(plant: Plant, device: Device, state: SlotState) -> int:
    """Table 4-1 state of an inverter for a published slot."""
    if not plant.inverter_on(device, state.slot_start):
        return const.INVERTER_STATE_COMMANDED_SHUTDOWN
    if state.pv_kw > 0.0005 or state.discharge_kw > 0.0005 or state.charge_kw > 0.0005:
        return const.INVERTER_STATE_GRID_CONNECTED
    return const.INVERTER_STATE_NO_SUNLIGHT


def inverter_item(
    plant: Plant,
    device: Device,
    state: SlotState,
    *,
    day_cap: float | None = None,
    total_cap: float | None = None,
    realtime: bool = True,
) -> Item:
    """getDevRealKpi / getDevFiveMinutes map of an inverter (devTypeId 1 or 38)."""
    on = plant.inverter_on(device, state.slot_start)
    share = inverter_share(device)
    pv = state.pv_kw * share if on else 0.0
    ac = (state.pv_kw + state.discharge_kw - state.charge_kw) * share if on else 0.0
    t = state.slot_start
    producing = on and (abs(ac) > 0.0005 or pv > 0.0005)
    volt = 230.0 + _wobble(t, device.ne, 2.5) if on else 0.0
    line = volt * math.sqrt(3)
    current = abs(ac) * 1000.0 / (3 * volt) if producing and volt else 0.0
    strings = 24 if device.kind == "string_inverter" else 8
    mppts = 10 if device.kind == "string_inverter" else 4
    used_strings = 2
    item: Item = {
        "inverter_state": inverter_state_code(plant, device, state),
        "ab_u": r1(line),
        "bc_u": r1(line + _wobble(t, 3, 1.0) if on else 0.0),
        "ca_u": r1(line + _wobble(t, 5, 1.0) if on else 0.0),
        "a_u": r1(volt),
        "b_u": r1(volt + _wobble(t, 7, 1.0) if on else 0.0),
        "c_u": r1(volt + _wobble(t, 11, 1.0) if on else 0.0),
        "a_i": r3(current),
        "b_i": r3(current),
        "c_i": r3(current),
        "efficiency": r1(98.4 if producing else 0.0),
        "temperature": r1(state.temperature + 8.0 + 2.5 * abs(ac) if on else state.temperature),
        "power_factor": 1.0 if producing else 0.0,
        "elec_freq": round(50.0 + _wobble(t, 13, 0.03), 2) if on else 0.0,
        "active_power": r3(ac),
        "reactive_power": 0.0,
        "day_cap": r3((state.day["pv"] if day_cap is None else day_cap) * share),
        "mppt_power": r3(pv),
    }
    string_u = 360.0 + 40.0 * min(pv / max(device.rated_power_kw, 0.1), 1.0) if pv > 0 else 0.0
    string_i = pv * 1000.0 / used_strings / string_u if string_u else 0.0
    for n in range(1, strings + 1):
        item[f"pv{n}_u"] = r1(string_u if n <= used_strings else 0.0)
    for n in range(1, strings + 1):
        item[f"pv{n}_i"] = r3(string_i if n <= used_strings else 0.0)
    total = (state.total["pv"] if total_cap is None else total_cap) * share
    item["total_cap"] = r3(total)
    start = plant.day_start(plant.local_date(state.slot_start))
    item["open_time"] = int((start + 6 * 3600) * 1000) if realtime else None
    item["close_time"] = None if on else int(state.slot_start * 1000)
    if device.kind == "string_inverter":
        item["mppt_total_cap"] = r3(total / 0.984)
    for n in range(1, mppts + 1):
        item[f"mppt_{n}_cap"] = r3(total / 0.984 / used_strings if n <= used_strings else 0.0)
    if realtime:
        item["run_state"] = 1 if on and not plant.offline else 0
    return item


def battery_item(plant: Plant, device: Device, state: SlotState, *, realtime: bool = True) -> Item:
    """Battery (39) map; ``ch_discharge_power`` W, > 0 charging (Huawei convention)."""
    share = battery_share(device)
    charge_w = state.charge_kw * share * 1000.0
    discharge_w = state.discharge_kw * share * 1000.0
    soc = state.soc if state.soc is not None else 0.0
    running = charge_w > 0.5 or discharge_w > 0.5
    item: Item = {
        "battery_status": 0 if plant.offline else (2 if running else 1),
        "max_charge_power": round(device.max_power_w, 1),
        "max_discharge_power": round(device.max_power_w, 1),
        "ch_discharge_power": round(charge_w - discharge_w, 1),
        "busbar_u": r1(420.0 + 0.6 * soc),
        "battery_soc": r1(soc),
        "battery_soh": plant.soh,
        "ch_discharge_model": 1 if state.task_uid else 4,
        "charge_cap": r3(state.total["charge"] * share),
        "discharge_cap": r3(state.total["discharge"] * share),
    }
    if realtime:
        item["run_state"] = 0 if plant.offline else 1
    return item


def meter_item(state: SlotState) -> Item:
    """Grid meter (17) map; ``active_power`` kW > 0 export."""
    t = state.slot_start
    power = state.export_kw - state.import_kw
    volt = 230.0 + _wobble(t, 17, 2.0)
    line = volt * math.sqrt(3)
    current = abs(power) * 1000.0 / (3 * volt)
    item: Item = {
        "ab_u": r1(line),
        "bc_u": r1(line + _wobble(t, 19, 1.0)),
        "ca_u": r1(line + _wobble(t, 23, 1.0)),
        "a_u": r1(volt),
        "b_u": r1(volt + _wobble(t, 29, 1.0)),
        "c_u": r1(volt + _wobble(t, 31, 1.0)),
        "a_i": r3(current),
        "b_i": r3(current),
        "c_i": r3(current),
        "active_power": r3(power),
        "power_factor": 0.99,
        "active_cap": r3(state.total["export"]),
        "reactive_power": 0.0,
        "reverse_active_cap": r3(state.total["import"]),
        "forward_reactive_cap": 0.0,
        "reverse_reactive_cap": 0.0,
        "active_power_a": r3(power / 3),
        "active_power_b": r3(power / 3),
        "active_power_c": r3(power / 3),
        "reactive_power_a": 0.0,
        "reactive_power_b": 0.0,
        "reactive_power_c": 0.0,
        "total_apparent_power": r3(abs(power) / 0.99),
        "grid_frequency": round(50.0 + _wobble(t, 37, 0.03), 2),
    }
    for direction, counter in (("positive", "export"), ("reverse", "import")):
        value = state.total[counter]
        item[f"{direction}_active_peak"] = r3(value * 0.4)
        item[f"{direction}_active_power"] = r3(value * 0.3)
        item[f"{direction}_active_valley"] = r3(value * 0.3)
        item[f"{direction}_active_top"] = 0.0
    for direction in ("reverse", "positive"):
        for tariff in ("peak", "power", "valley", "top"):
            item[f"{direction}_reactive_{tariff}"] = 0.0
    # The meter's table (17) has no `run_state`, unlike the other types'.
    return item


def power_sensor_item(state: SlotState, *, export_positive: bool, realtime: bool = True) -> Item:
    """Power sensor (47) map; ``active_power`` in W (sign: see module docstring)."""
    t = state.slot_start
    export_w = (state.export_kw - state.import_kw) * 1000.0
    volt = 230.0 + _wobble(t, 41, 2.0)
    item: Item = {
        "meter_status": 1,
        "meter_u": r1(volt),
        "meter_i": r3(abs(export_w) / volt),
        "active_power": round(export_w if export_positive else -export_w, 1),
        "reactive_power": 0.0,
        "power_factor": 0.99,
        "grid_frequency": round(50.0 + _wobble(t, 43, 0.03), 2),
        "active_cap": r3(state.total["export"]),
        "reverse_active_cap": r3(state.total["import"]),
    }
    if realtime:
        item["run_state"] = 1
    return item


def emi_item(plant: Plant, state: SlotState, *, realtime: bool = True) -> Item:
    """EMI (10) map."""
    day = plant.day(plant.local_date(state.slot_start))
    k = int((state.slot_start - day.start) // SLOT)
    radiant = sum(day.irradiance[: k + 1]) * SLOT / 1e6
    item: Item = {
        "temperature": r1(state.temperature),
        "pv_temperature": r1(state.temperature + state.irradiance * 0.025),
        "wind_speed": r1(2.0 + 1.5 * (1 + math.sin(state.slot_start / 5000.0))),
        "wind_direction": round(180.0 + 90.0 * math.sin(state.slot_start / 20000.0)),
        "radiant_total": r3(radiant),
        "radiant_line": r1(state.irradiance),
        "horiz_radiant_line": r1(state.irradiance * 0.85),
        "horiz_radiant_total": r3(radiant * 0.85),
    }
    if realtime:
        item["run_state"] = 1
    return item


def device_item(
    plant: Plant,
    device: Device,
    state: SlotState,
    *,
    realtime: bool,
    power_sensor_export_positive: bool,
    day_cap: float | None = None,
    total_cap: float | None = None,
) -> Item:
    """The map of any device type; a real-time map has only the keys its §4.6 table lists."""
    item = _device_item(
        plant,
        device,
        state,
        realtime=realtime,
        power_sensor_export_positive=power_sensor_export_positive,
        day_cap=day_cap,
        total_cap=total_cap,
    )
    if realtime and (unlisted := set(item) - const.REAL_KPI_KEYS[device.dev_type_id]):
        raise ValueError(f"{device.kind} keys not in the reference: {sorted(unlisted)}")
    return item


def _device_item(
    plant: Plant,
    device: Device,
    state: SlotState,
    *,
    realtime: bool,
    power_sensor_export_positive: bool,
    day_cap: float | None,
    total_cap: float | None,
) -> Item:
    kind = device.kind
    if kind in ("inverter", "string_inverter"):
        return inverter_item(
            plant, device, state, day_cap=day_cap, total_cap=total_cap, realtime=realtime
        )
    if kind == "battery":
        return battery_item(plant, device, state, realtime=realtime)
    if kind == "meter":
        return meter_item(state)
    if kind == "power_sensor":
        return power_sensor_item(
            state, export_positive=power_sensor_export_positive, realtime=realtime
        )
    return emi_item(plant, state, realtime=realtime)


def slot_energies(day: DayData, k: int) -> dict[str, float]:
    """Energies (kWh) of one slot."""
    return {
        "pv": day.pv[k] * SLOT_H,
        "load": day.load[k] * SLOT_H,
        "import": day.imp[k] * SLOT_H,
        "export": day.exp[k] * SLOT_H,
        "charge": day.charge[k] * SLOT_H,
        "discharge": day.discharge[k] * SLOT_H,
    }


def five_minute_plant_item(plant: Plant, day: DayData, k: int, *, compact_tz: bool) -> Item:
    """One §5.3.5 record for slot ``k`` (``dateTime`` = slot start)."""
    e = slot_energies(day, k)
    t = day.start + k * SLOT
    has_battery = bool(plant.batteries)
    metered = plant.has_grid_meter
    pv2load = min(e["pv"], e["load"])
    rest = e["load"] - pv2load
    bat2load = min(e["discharge"], rest)
    grid2load = max(0.0, rest - bat2load)
    grid2battery = max(0.0, e["import"] - grid2load)
    volt = 230.0 + _wobble(t, 53, 2.0)
    soc = day.soc[k]
    item: Item = {
        "dateTime": plant.iso(t, compact=compact_tz),
        "gridABWireVoltage": r1(volt * math.sqrt(3)),
        "gridBCWireVoltage": r1(volt * math.sqrt(3) + _wobble(t, 59, 1.0)),
        "gridCAWireVoltage": r1(volt * math.sqrt(3) + _wobble(t, 61, 1.0)),
        "gridAPhaseVoltage": r1(volt),
        "gridBPhaseVoltage": r1(volt + _wobble(t, 67, 1.0)),
        "gridCPhaseVoltage": r1(volt + _wobble(t, 71, 1.0)),
        "inputEnergy": r3(e["import"]) if metered else None,
        "loadEnergy": r3(e["load"]) if metered else None,
        "ongridEnergy": r3(e["export"]) if metered else None,
        "pvEnergy": r3(e["pv"]),
        "grid2loadEnergy": r3(grid2load) if metered else None,
        "grid2batteryEnergy": r3(grid2battery) if metered else None,
        "pv2loadEnergy": r3(pv2load) if metered else None,
        "batteryEnergy": r3(plant.capacity_kwh * soc / 100 * plant.soh / 100)
        if has_battery
        else None,
        "chargeEnergy": r3(e["charge"]) if has_battery else None,
        "dischargeEnergy": r3(e["discharge"]) if has_battery else None,
        "batterySOC": r1(soc) if has_battery else None,
    }
    return item
