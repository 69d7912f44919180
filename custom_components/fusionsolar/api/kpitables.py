"""Device KPI tables: units after normalisation, W -> kW scaling, what energy keys count.

Per API generation (docs/architecture.md "API generations"): the 2021 reference
(V500R007) and today's cloud (26.x) differ in the unit of some keys and in what some
energy keys count. Everything here comes from ``SmartPVMS-NBI-reference.md`` and the
26.2 digest unless marked *field*.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

# --------------------------------------------------------------------------------------
# Units of DeviceRealtimeKpi.values, per device type, AFTER normalisation by the client.
#
# The client converts only where the spec documents W / Var (power sensor 47 and battery
# 39); everything else is passed through in the spec's unit. Signs are the device's own
# (Huawei device convention), not the plant-level V7 convention:
#   * meter (17) and power sensor (47) ``active_power``: > 0 export to the grid,
#     < 0 import (field: power sensor negative on import);
#   * battery (39) ``ch_discharge_power``: > 0 charging, < 0 discharging (device
#     convention; the plant-level ``batteryPower`` of V7 is the opposite, > 0 discharge);
#   * inverter ``active_power``: > 0 output.
# Keys the tables do not list are still returned (as floats where numeric).
# --------------------------------------------------------------------------------------

#: Grid voltages and currents, shared by inverters and meters.
_GRID_PHASE_UNITS: Final[dict[str, str]] = {
    "ab_u": "V",
    "bc_u": "V",
    "ca_u": "V",
    "a_u": "V",
    "b_u": "V",
    "c_u": "V",
    "a_i": "A",
    "b_i": "A",
    "c_i": "A",
}

_INVERTER_UNITS: Final[dict[str, str]] = {
    "inverter_state": "",
    **_GRID_PHASE_UNITS,
    "efficiency": "%",
    "temperature": "°C",
    "power_factor": "",
    "elec_freq": "Hz",
    "active_power": "kW",
    "reactive_power": "kvar",
    "day_cap": "kWh",
    "mppt_power": "kW",
    **{f"pv{i}_u": "V" for i in range(1, 25)},
    **{f"pv{i}_i": "A" for i in range(1, 25)},
    "total_cap": "kWh",
    "open_time": "ms",
    "close_time": "ms",
    "mppt_total_cap": "kWh",
    **{f"mppt_{i}_cap": "kWh" for i in range(1, 11)},
    "run_state": "",
}

DEVICE_KPI_UNITS: Final[dict[int, dict[str, str]]] = {
    1: _INVERTER_UNITS,
    38: _INVERTER_UNITS,
    10: {
        "temperature": "°C",
        "pv_temperature": "°C",
        "wind_speed": "m/s",
        "wind_direction": "°",
        "radiant_total": "MJ/m²",
        "radiant_line": "W/m²",
        "horiz_radiant_line": "W/m²",
        "horiz_radiant_total": "MJ/m²",
        "run_state": "",
    },
    17: {
        **_GRID_PHASE_UNITS,
        "active_power": "kW",
        "power_factor": "",
        "active_cap": "kWh",
        "reactive_power": "kvar",
        "reverse_active_cap": "kWh",
        "forward_reactive_cap": "kvarh",
        "reverse_reactive_cap": "kvarh",
        "active_power_a": "kW",
        "active_power_b": "kW",
        "active_power_c": "kW",
        "reactive_power_a": "kvar",
        "reactive_power_b": "kvar",
        "reactive_power_c": "kvar",
        "total_apparent_power": "kVA",
        "grid_frequency": "Hz",
        "reverse_active_peak": "kWh",
        "reverse_active_power": "kWh",
        "reverse_active_valley": "kWh",
        "reverse_active_top": "kWh",
        "positive_active_peak": "kWh",
        "positive_active_power": "kWh",
        "positive_active_valley": "kWh",
        "positive_active_top": "kWh",
        "reverse_reactive_peak": "kvarh",
        "reverse_reactive_power": "kvarh",
        "reverse_reactive_valley": "kvarh",
        "reverse_reactive_top": "kvarh",
        "positive_reactive_peak": "kvarh",
        "positive_reactive_power": "kvarh",
        "positive_reactive_valley": "kvarh",
        "positive_reactive_top": "kvarh",
    },
    47: {
        "meter_status": "",
        "meter_u": "V",
        "meter_i": "A",
        "active_power": "kW",  # spec: W, converted
        "reactive_power": "kvar",  # spec: Var, converted
        "power_factor": "",
        "grid_frequency": "Hz",
        "active_cap": "kWh",
        "reverse_active_cap": "kWh",
        "run_state": "",
    },
    39: {
        "battery_status": "",
        "rated_capacity": "kWh",  # 26.2 digest, since 24.7.0
        "total_charged_energy": "kWh",  # 26.2 digest, since 26.1.0
        "total_discharged_energy": "kWh",  # 26.2 digest, since 26.1.0
        "max_charge_power": "kW",  # spec: W, converted
        "max_discharge_power": "kW",  # spec: W, converted
        "ch_discharge_power": "kW",  # spec: W, converted
        "busbar_u": "V",
        "battery_soc": "%",
        "battery_soh": "%",  # 2021: N/A; 26.2 digest: %
        "ch_discharge_model": "",
        "charge_cap": "kWh",  # V500R007: lifetime; 26.x: the day's (DEVICE_KPI_PERIODS)
        "discharge_cap": "kWh",
        "run_state": "",
    },
    # 26.2 digest: SmartAssistant / EMMA (powers in kW, no conversion)
    23070: {
        **_GRID_PHASE_UNITS,
        "run_state": "",
        **{f"active_power{s}": "kW" for s in ("", "_a", "_b", "_c")},
        "reactive_power": "kvar",
        "power_factor": "",
        "active_cap": "kWh",
        "reverse_active_cap": "kWh",
        **{f"ex_{p}_i": "A" for p in "abc"},
        **{f"ex_{p}_u": "V" for p in "abc"},
        **{f"ex_active_power{s}": "kW" for s in ("", "_a", "_b", "_c")},
        "ex_reactive_power": "kvar",
        "ex_power_factor": "",
        "ex_active_cap": "kWh",
        "ex_reverse_active_cap": "kWh",
    },
}

# 26.2 digest: all-in-one (23093) = the inverter's keys plus the battery's (same units).
DEVICE_KPI_UNITS[23093] = {
    **_INVERTER_UNITS,
    **{key: unit for key, unit in DEVICE_KPI_UNITS[39].items() if not key.startswith("total_")},
}

#: Keys divided by 1000 per device type (W -> kW, Var -> kvar).
DEVICE_KPI_SCALE_TO_KILO: Final[dict[int, frozenset[str]]] = {
    47: frozenset({"active_power", "reactive_power"}),
    39: frozenset({"ch_discharge_power", "max_charge_power", "max_discharge_power"}),
    23093: frozenset({"ch_discharge_power", "max_charge_power", "max_discharge_power"}),
}


class ApiGeneration(StrEnum):
    """Which reference an account's data follows (units and meanings differ per key).

    The rule (docs/architecture.md "API generations"): an account whose V7 family
    answers is on a V500R007 system (2021 reference); an account without V7 (404 on
    today's cloud, which keeps only the legacy and nbi families) gets the 26.x meanings.
    """

    V500R007 = "V500R007"
    CLOUD_2026 = "26.x"


class KpiPeriod(StrEnum):
    """What an energy KPI counts: the day's energy (reset at the plant's midnight) or all."""

    DAY = "day"
    LIFETIME = "lifetime"


#: Keys divided by 1000 only on one generation: (generation, devTypeId) -> keys.
#: 26.2 digest change log 24.7.0: grid meter (17) ``active_power`` "changed to W" (and
#: ``active_power_a..c`` W, ``reactive_power`` Var); the 2021 reference has kW / kVar.
GENERATION_SCALE_TO_KILO: Final[dict[tuple[ApiGeneration, int], frozenset[str]]] = {
    (ApiGeneration.CLOUD_2026, 17): frozenset(
        {"active_power", "active_power_a", "active_power_b", "active_power_c", "reactive_power"}
    ),
}

#: What the energy KPIs of a device count, per generation: (generation, devTypeId, key).
#: Battery ``charge_cap``/``discharge_cap``: "Charging capacity" in the 2021 reference,
#: a lifetime counter there (and in the V500R007 simulator); "day charged energy"
#: (当日充电电量) in the 26.2 digest, whose lifetime ones are ``total_*_energy`` (26.1.0).
DEVICE_KPI_PERIODS: Final[dict[tuple[ApiGeneration, int, str], KpiPeriod]] = {
    (ApiGeneration.V500R007, 39, "charge_cap"): KpiPeriod.LIFETIME,
    (ApiGeneration.V500R007, 39, "discharge_cap"): KpiPeriod.LIFETIME,
    (ApiGeneration.CLOUD_2026, 39, "charge_cap"): KpiPeriod.DAY,
    (ApiGeneration.CLOUD_2026, 39, "discharge_cap"): KpiPeriod.DAY,
    (ApiGeneration.CLOUD_2026, 39, "total_charged_energy"): KpiPeriod.LIFETIME,
    (ApiGeneration.CLOUD_2026, 39, "total_discharged_energy"): KpiPeriod.LIFETIME,
    (ApiGeneration.CLOUD_2026, 23093, "charge_cap"): KpiPeriod.DAY,
    (ApiGeneration.CLOUD_2026, 23093, "discharge_cap"): KpiPeriod.DAY,
}


def kpi_key_for(
    generation: ApiGeneration,
    dev_type_id: int | None,
    candidates: tuple[str, ...],
    period: KpiPeriod,
) -> str | None:
    """The first of `candidates` that counts `period` on this generation and device type."""
    for key in candidates:
        if DEVICE_KPI_PERIODS.get((generation, dev_type_id or 0, key)) is period:
            return key
    return None


def scale_to_kilo(generation: ApiGeneration, dev_type_id: int | None) -> frozenset[str]:
    """Keys of a device type the client divides by 1000 (W -> kW, Var -> kvar)."""
    if dev_type_id is None:
        return frozenset()
    return DEVICE_KPI_SCALE_TO_KILO.get(dev_type_id, frozenset()) | GENERATION_SCALE_TO_KILO.get(
        (generation, dev_type_id), frozenset()
    )
