"""Issue 19: hourly energies from the 26.2 device history (pure rules of devicehistory.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from custom_components.fusionsolar.api import Device, DeviceHistoryRow
from custom_components.fusionsolar.devicehistory import (
    BATTERY,
    GRID,
    PV,
    HistoryDevice,
    day_starts,
    history_devices,
    hourly_energies,
    kinds_of_devices,
    slot_energies,
)
from custom_components.fusionsolar.history import PlantClock

T0 = datetime(2025, 4, 9, 21, 0, tzinfo=UTC)  # 23:00 in Amsterdam (summer time)
SLOT = timedelta(minutes=5)
HOUR = timedelta(hours=1)


def device(dn: str, type_id: int) -> Device:
    return Device(id=dn, dn=dn, plant_code="P", dev_type_id=type_id)


def rows(values: list[dict[str, float | None]], start: datetime = T0 - SLOT) -> list:
    return [
        DeviceHistoryRow("NE=1", start + n * SLOT, int((start + n * SLOT).timestamp() * 1000), v)
        for n, v in enumerate(values)
    ]


def test_item19_history_grid_comes_from_one_device_only() -> None:
    """A meter and a SmartAssistant at the same connection point: never counted twice."""
    devices = [device("SA", 23070), device("M", 17), device("I", 38), device("B", 39)]
    chosen = history_devices(devices)
    assert [(d.dn, d.counters) for d in chosen] == [("I", PV), ("B", BATTERY), ("M", GRID)]
    assert history_devices([device("SA", 23070)])[0].counters == GRID
    all_in_one = history_devices([device("A", 23093)])
    assert all_in_one == [HistoryDevice("A", 23093, PV + BATTERY)]
    # Consumption needs PV and the grid (energy balance); devices without a DN are skipped.
    assert "consumption" not in kinds_of_devices(all_in_one)
    assert "consumption" in kinds_of_devices(chosen)
    assert history_devices([Device(id="1", dn=None, plant_code="P", dev_type_id=38)]) == []


def test_item19_history_daily_battery_energy_restarts_at_local_midnight() -> None:
    # 23:55 -> 00:00 -> 00:05 local: the day's counter drops to the new slot's energy.
    read = rows(
        [
            {"charge_cap": 9.2, "discharge_cap": 5.3},
            {"charge_cap": 9.2, "discharge_cap": 5.35},
            {"charge_cap": 0.0, "discharge_cap": 0.02},
            {"charge_cap": 0.0, "discharge_cap": 0.04},
            {"charge_cap": 0.0, "discharge_cap": 0.0395},  # rounding, not a restart
        ]
    )
    slots = slot_energies(read, BATTERY)
    assert slots[T0]["battery_discharge"] == pytest.approx(0.05)
    assert slots[T0 + SLOT] == {"battery_charge": 0.0, "battery_discharge": 0.02}
    assert slots[T0 + 2 * SLOT]["battery_discharge"] == pytest.approx(0.02)
    assert slots[T0 + 3 * SLOT]["battery_discharge"] == 0.0


def test_item19_history_an_hour_with_a_gap_is_never_written_as_zero() -> None:
    pv = HistoryDevice("I", 38, PV)
    counters = [{"total_cap": 100.0 + n} for n in range(13 + 12)]  # two hours
    gap = list(counters)
    gap[15] = {"total_cap": None}  # one null value in the second hour
    hours, until = hourly_energies({pv: rows(gap)}, T0, T0 + 2 * HOUR)
    assert until == T0 + HOUR
    assert hours == {T0: {"solar_production": pytest.approx(12.0)}}
    missing = rows(counters)
    del missing[20]  # one row missing
    hours, until = hourly_energies({pv: missing}, T0, T0 + 2 * HOUR)
    assert (list(hours), until) == ([T0], T0 + HOUR)
    # Nothing at all: nothing known, the first hour ends the hours.
    assert hourly_energies({pv: []}, T0, T0 + 2 * HOUR) == ({}, T0)


def test_item19_history_consumption_is_the_energy_balance() -> None:
    pv, bat, grid = (
        HistoryDevice("I", 38, PV),
        HistoryDevice("B", 39, BATTERY),
        HistoryDevice("M", 17, GRID),
    )
    n = range(13)
    read = {
        pv: rows([{"total_cap": 10 + 0.3 * k} for k in n]),  # 3.6 kWh
        bat: rows([{"charge_cap": 1 + 0.1 * k, "discharge_cap": 2.0} for k in n]),  # 1.2
        grid: rows([{"active_cap": 50 + 0.05 * k, "reverse_active_cap": 7.0} for k in n]),
    }
    hours, until = hourly_energies(read, T0, T0 + HOUR)
    assert until == T0 + HOUR
    assert hours[T0] == pytest.approx(
        {
            "solar_production": 3.6,
            "battery_charge": 1.2,
            "battery_discharge": 0.0,
            "grid_export": 0.6,
            "grid_import": 0.0,
            "consumption": 1.8,
        }
    )


def test_item19_history_day_counters_tell_the_plants_midnight() -> None:
    """The plant's zone is not in the rows: its day counters restart at local midnight."""
    inverter = HistoryDevice("I", 38, PV)
    # Yesterday's yield all night, then 0 from the slot starting at 22:00 UTC.
    start = datetime(2025, 4, 9, 21, 50, tzinfo=UTC)
    read = rows([{"day_cap": 30.1}, {"day_cap": 30.1}, {"day_cap": 0.0}, {"day_cap": 0.0}], start)
    midnights = day_starts({inverter: read})
    assert midnights == {datetime(2025, 4, 9, 22, 0, tzinfo=UTC)}
    # A clock that guessed winter time (+01:00, from a grid connection in January) and
    # Home Assistant in another zone learns the plant's +02:00.
    hint = datetime(2021, 1, 15, tzinfo=ZoneInfo("Europe/Amsterdam"))
    clock = PlantClock(ZoneInfo("US/Pacific"), hint)
    day = date(2025, 4, 10)
    assert clock.midnight(day) == datetime(2025, 4, 9, 23, 0, tzinfo=UTC)
    clock.learn_midnight(next(iter(midnights)))
    assert clock.midnight(day) == datetime(2025, 4, 9, 22, 0, tzinfo=UTC)
    assert clock.export()["offsets"] == {"2025-04-10": 7200.0}
    # Not a midnight of any zone (offsets are whole quarter hours): nothing learned.
    clock.learn_midnight(datetime(2025, 4, 10, 22, 7, tzinfo=UTC))
    assert clock.export()["offsets"] == {"2025-04-10": 7200.0}
