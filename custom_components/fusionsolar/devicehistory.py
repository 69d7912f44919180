"""Energy per UTC hour from today's device history (26.2, 5-minute rows per device).

Without V7 five-minute plant data, the statistics of ``history.py`` come from each
device's history (``api.nbi``): the counters of the plant's devices, read at the end
of every 5-minute slot, give the energy of each slot; twelve slots make an hour.

* solar production: inverters (1, 38) and the all-in-one (23093), lifetime ``total_cap``;
* grid export / import: the grid meter (17), else the residential meter (47), else the
  SmartAssistant (23070): lifetime ``active_cap`` / ``reverse_active_cap`` (the
  simulator's reading of forward = export, as the live sensors read them);
* battery charge / discharge: batteries (39) and the all-in-one, ``charge_cap`` /
  ``discharge_cap``: the **day's** energies (26.x), which restart at the plant's local
  midnight. A drop is that restart (the slot's energy is the new value). Limit: a
  restart is not seen when the first slot's energy is not below the previous day's
  total (a day without charging before a charging midnight);
* consumption: the energy balance solar + import + discharge - export - charge, only
  where the plant has both a PV device and a grid device.

The drops of day counters (the inverters' ``day_cap`` too) tell the plant's local
midnight: the first day of a backfill starts there (the plant's zone is not in the
rows; the first guess comes from its grid-connection date or Home Assistant's zone).

An hour is known only when every slot of every device it needs is known (consecutive
rows, values present): an hour missing anything is never written as zero.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from .api import Device, DeviceHistoryRow
from .history import HOUR, SLOT, Hours

SLOTS_PER_HOUR = 12
# A device history call covers at most 24 h (Part B §2.2).
DEVICE_WINDOW = timedelta(hours=24)
# A read of a window that reaches the present is reused this long (over quota pauses).
REUSE = timedelta(minutes=15)
# Counters are rounded to 1 Wh: a "drop" smaller than that is rounding, not a restart.
ROUNDING = 0.0015


@dataclass(frozen=True, slots=True)
class Counter:
    """A counter key of a device's history and the statistic it feeds."""

    kind: str
    key: str
    daily: bool = False


PV = (Counter("solar_production", "total_cap"),)
BATTERY = (
    Counter("battery_charge", "charge_cap", daily=True),
    Counter("battery_discharge", "discharge_cap", daily=True),
)
GRID = (Counter("grid_export", "active_cap"), Counter("grid_import", "reverse_active_cap"))
# Day counters: they restart at the plant's local midnight.
DAY_KEYS = ("day_cap", "charge_cap", "discharge_cap")
PV_TYPES = frozenset({1, 38})
BATTERY_TYPES = frozenset({39})
ALL_IN_ONE = 23093
# The plant's grid connection point, first found wins (one device: never counted twice).
GRID_TYPES = (17, 47, 23070)
BALANCE = {
    "solar_production": 1,
    "grid_import": 1,
    "battery_discharge": 1,
    "grid_export": -1,
    "battery_charge": -1,
}


@dataclass(frozen=True, slots=True)
class HistoryDevice:
    """A device whose history is read, and the counters it gives."""

    dn: str
    dev_type_id: int
    counters: tuple[Counter, ...]


@dataclass(frozen=True, slots=True)
class RowsRead:
    """A device's rows of a window, read at ``read_at`` up to ``end``."""

    read_at: datetime
    end: datetime
    rows: list[DeviceHistoryRow]

    def usable(self, end: datetime, now: datetime) -> bool:
        """Whether the read still serves a window up to ``end``."""
        return self.end >= end or now - self.read_at < REUSE


def _counters(type_id: int) -> tuple[Counter, ...]:
    pv = PV if type_id in PV_TYPES or type_id == ALL_IN_ONE else ()
    return pv + (BATTERY if type_id in BATTERY_TYPES or type_id == ALL_IN_ONE else ())


def history_devices(devices: Iterable[Device]) -> list[HistoryDevice]:
    """The devices of one plant whose history gives its energies."""
    known = [(d.dn, d.dev_type_id) for d in devices if d.dn and d.dev_type_id is not None]
    result = [
        HistoryDevice(dn, type_id, counters)
        for dn, type_id in known
        if (counters := _counters(type_id))
    ]
    for grid_type in GRID_TYPES:
        if dn := next((dn for dn, type_id in known if type_id == grid_type), None):
            result.append(HistoryDevice(dn, grid_type, GRID))
            break
    return result


def kinds_of_devices(devices: Iterable[HistoryDevice]) -> set[str]:
    """The statistics these devices give (consumption needs PV and grid)."""
    kinds = {counter.kind for device in devices for counter in device.counters}
    if {"solar_production", "grid_import"} <= kinds:
        kinds.add("consumption")
    return kinds


def slot_energies(
    rows: Iterable[DeviceHistoryRow], counters: Iterable[Counter]
) -> dict[datetime, dict[str, float]]:
    """Energy of each slot (by its start) from consecutive rows' counters."""
    result: dict[datetime, dict[str, float]] = {}
    previous: DeviceHistoryRow | None = None
    for row in rows:
        if previous is not None and row.start - previous.start == SLOT:
            energies: dict[str, float] = {}
            for counter in counters:
                now, before = row.values.get(counter.key), previous.values.get(counter.key)
                if now is None or before is None:
                    continue
                if counter.daily and now < before - ROUNDING:
                    energies[counter.kind] = now  # the day restarted at local midnight
                else:
                    energies[counter.kind] = max(0.0, now - before)
            result[row.start] = energies
        previous = row
    return result


def day_starts(devices: Mapping[HistoryDevice, list[DeviceHistoryRow]]) -> set[datetime]:
    """Slots where a day counter restarted: the plant's local midnights.

    The inverters' ``day_cap`` (yesterday's yield all night, then 0) and the batteries'
    day energies drop there.
    """
    starts: set[datetime] = set()
    for rows in devices.values():
        for before, row in itertools.pairwise(rows):
            if row.start - before.start != SLOT:
                continue
            for key in DAY_KEYS:
                now, then = row.values.get(key), before.values.get(key)
                if now is not None and then is not None and now < then - ROUNDING:
                    starts.add(row.start)
    return starts


def hourly_energies(
    devices: Mapping[HistoryDevice, list[DeviceHistoryRow]], first: datetime, until: datetime
) -> tuple[Hours, datetime]:
    """Hours from ``first`` up to ``until`` and where the known hours end.

    The hours are consecutive from ``first``: the first hour a device cannot fill ends
    them (the returned moment), whatever comes after it.
    """
    slots = {device: slot_energies(rows, device.counters) for device, rows in devices.items()}
    kinds = kinds_of_devices(devices)
    hours: Hours = {}
    hour = first
    while hour + HOUR <= until:
        energies = dict.fromkeys(kinds - {"consumption"}, 0.0)
        for device, by_slot in slots.items():
            for n in range(SLOTS_PER_HOUR):
                slot = by_slot.get(hour + n * SLOT, {})
                for counter in device.counters:
                    if (value := slot.get(counter.kind)) is None:
                        return hours, hour
                    energies[counter.kind] += value
        if "consumption" in kinds:
            balance = sum(sign * energies.get(kind, 0.0) for kind, sign in BALANCE.items())
            energies["consumption"] = max(0.0, balance)
        hours[hour] = energies
        hour += HOUR
    return hours, hour
