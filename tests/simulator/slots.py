"""Time slots of the plant model, counters, and a simulated day or slot.

Time is divided into 5-minute slots aligned to the epoch (see :mod:`.model`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

SLOT = 300
SLOT_H = SLOT / 3600.0
COUNTERS = ("pv", "load", "import", "export", "charge", "discharge")
Counters = dict[str, float]


def floor_slot(t: float) -> float:
    """Start of the slot containing ``t``."""
    return math.floor(t / SLOT) * SLOT


def zero_counters() -> Counters:
    """A counter dict with every counter at 0."""
    return dict.fromkeys(COUNTERS, 0.0)


@dataclass
class DayData:
    """One simulated local day (slot lists are per slot, cumulative lists per boundary)."""

    day: date
    start: float
    n: int
    pv: list[float]
    load: list[float]
    charge: list[float]
    discharge: list[float]
    imp: list[float]
    exp: list[float]
    soc: list[float]  # at slot end
    irradiance: list[float]  # W/m2
    temperature: list[float]  # ambient degC
    on_fraction: list[float]
    task_uid: list[int]  # 0 = none
    cum: dict[str, list[float]]  # kWh from midnight to each boundary (len n + 1)
    task_end: dict[int, tuple[float, int]]
    end_soc: float
    end_task: int

    def totals(self) -> Counters:
        """Energy of the whole day."""
        return {key: values[-1] for key, values in self.cum.items()}


@dataclass(frozen=True)
class SlotState:
    """Published plant state: averages over the slot ending at ``time``, counters at it."""

    time: float
    slot_start: float
    pv_kw: float
    load_kw: float
    charge_kw: float
    discharge_kw: float
    import_kw: float
    export_kw: float
    soc: float | None
    irradiance: float
    temperature: float
    on_fraction: float
    task_uid: int
    day: Counters
    month: Counters
    total: Counters
    eod: float | None

    @property
    def grid_kw(self) -> float:
        """Grid power, > 0 export (V7 meterPower convention)."""
        return self.export_kw - self.import_kw

    @property
    def battery_kw(self) -> float:
        """Battery power, > 0 discharge (V7 batteryPower convention)."""
        return self.discharge_kw - self.charge_kw

    @property
    def inverter_ac_kw(self) -> float:
        """Hybrid inverter AC output (PV + discharge - charge)."""
        return self.pv_kw + self.discharge_kw - self.charge_kw
