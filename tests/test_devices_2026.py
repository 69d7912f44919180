"""Today's cloud (26.2): new devices, and daily battery energies as daily sensors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from custom_components.fusionsolar.counters import CounterGuard, CounterPeriod

PLANT_ZONE = timezone(timedelta(hours=8))  # e.g. gridConnectionDate "...+08:00"


def _utc(hour: int, minute: int, day: int = 18) -> datetime:
    return datetime(2026, 6, day, hour, minute, tzinfo=UTC)


def test_daily_energy_resets_at_the_plants_midnight_not_home_assistants() -> None:
    """Home Assistant on UTC, plant on UTC+8: the plant's day ends at 16:00 UTC."""
    guard = CounterGuard(CounterPeriod.DAY, zone=PLANT_ZONE)
    assert guard.accept(12.0, _utc(15, 50)) == 12.0
    # Minutes after the plant's midnight the day's charge drops to ~0: a reset.
    assert guard.accept(0.1, _utc(16, 5)) == 0.1
    assert guard.accept(0.3, _utc(16, 35)) == 0.3


def test_daily_energy_dip_elsewhere_in_the_plants_day_is_rejected() -> None:
    """Home Assistant's midnight (00:00 UTC) is mid-day for the plant: a dip is a glitch."""
    guard = CounterGuard(CounterPeriod.DAY, zone=PLANT_ZONE)
    assert guard.accept(6.0, _utc(23, 50)) == 6.0
    assert guard.accept(0.0, _utc(0, 5, day=19)) == 6.0
    # Never frozen: the next real value is shown again.
    assert guard.accept(6.2, _utc(0, 10, day=19)) == 6.2
