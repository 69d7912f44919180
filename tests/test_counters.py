"""CounterGuard: cloud counter glitches never reach total_increasing sensors as resets."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from custom_components.fusionsolar.counters import (
    JUMP_SLACK_KWH,
    UNKNOWN_RATE_KW,
    CounterGuard,
    CounterPeriod,
)

DAY1 = datetime(2026, 6, 18, 23, 55)
DAY2_EARLY = datetime(2026, 6, 19, 0, 5)
DAY2_LATER = datetime(2026, 6, 19, 0, 35)
NEXT_MONTH = datetime(2026, 7, 1, 0, 35)


def test_day_counter_resets_at_a_new_day() -> None:
    guard = CounterGuard(CounterPeriod.DAY)
    assert guard.accept(25.0, DAY1) == 25.0
    # The cloud resets late: yesterday's value is still reported after midnight.
    assert guard.accept(25.0, DAY2_EARLY) == 25.0
    assert guard.accept(0.2, DAY2_LATER) == 0.2
    assert guard.accept(0.4, DAY2_LATER) == 0.4


def test_day_counter_dip_within_a_day_is_held() -> None:
    guard = CounterGuard(CounterPeriod.DAY)
    guard.accept(10.0, DAY2_EARLY)
    assert guard.accept(3.0, DAY2_LATER) == 10.0
    assert guard.accept(10.5, DAY2_LATER) == 10.5


def test_month_counter_dip_after_midnight_is_not_a_reset() -> None:
    guard = CounterGuard(CounterPeriod.MONTH)
    guard.accept(300.0, DAY1)
    # The month counter dips by yesterday's yield for a while after midnight.
    assert guard.accept(275.0, DAY2_EARLY) == 300.0
    assert guard.accept(300.5, DAY2_LATER) == 300.5
    # A new month starts from about zero.
    assert guard.accept(0.3, NEXT_MONTH) == 0.3


def test_large_value_in_a_new_period_is_not_a_reset() -> None:
    guard = CounterGuard(CounterPeriod.MONTH)
    guard.accept(600.0, DAY1)
    assert guard.accept(580.0, NEXT_MONTH) == 600.0


def test_lifetime_counter_never_decreases() -> None:
    guard = CounterGuard(CounterPeriod.LIFETIME)
    assert guard.accept(1000.0, DAY1) == 1000.0
    # A huge negative jump after an outage, or a zero, is held.
    assert guard.accept(12.0, DAY2_LATER) == 1000.0
    assert guard.accept(0.0, NEXT_MONTH) == 1000.0
    assert guard.accept(1000.7, NEXT_MONTH) == 1000.7


def test_unknown_and_negative_values_keep_the_last_value() -> None:
    guard = CounterGuard(CounterPeriod.DAY)
    assert guard.accept(None, DAY1) is None
    guard.accept(5.0, DAY1)
    assert guard.accept(None, DAY1) == 5.0
    assert guard.accept(-3.0, DAY1) == 5.0


def test_item16_9_absurd_jump_is_rejected_and_does_not_latch() -> None:
    guard = CounterGuard(CounterPeriod.LIFETIME, max_power_kw=10.0)
    assert guard.accept(1000.0, DAY2_EARLY) == 1000.0
    # One refresh reports 1e9 kWh: far more than 10 kWp can produce in 5 minutes.
    assert guard.accept(1e9, DAY2_EARLY + timedelta(minutes=5)) == 1000.0
    # The next plausible value is shown again, not held below 1e9.
    assert guard.accept(1000.8, DAY2_EARLY + timedelta(minutes=10)) == 1000.8
    assert guard.highest == 1000.8


def test_item16_9_day_counter_jump_is_rejected_within_the_day() -> None:
    guard = CounterGuard(CounterPeriod.DAY, max_power_kw=10.0)
    assert guard.accept(5.0, DAY2_EARLY) == 5.0
    assert guard.accept(1e9, DAY2_LATER) == 5.0
    assert guard.accept(5.5, DAY2_LATER) == 5.5


def test_item16_9_rise_explained_by_elapsed_time_is_accepted() -> None:
    guard = CounterGuard(CounterPeriod.LIFETIME, max_power_kw=10.0)
    guard.accept(1000.0, DAY1)
    # After a day without new values, a day's production at full power is plausible.
    assert guard.accept(1000.0 + 10.0 * 24, DAY1 + timedelta(days=1)) == 1240.0
    # A step too large for 5 minutes is held, and shown once enough time explains it.
    assert guard.accept(1400.0, DAY1 + timedelta(days=1, minutes=5)) == 1240.0
    assert guard.accept(1400.0, DAY1 + timedelta(days=1, hours=8)) == 1400.0


def test_item16_9_unknown_capacity_uses_the_fallback_rate() -> None:
    guard = CounterGuard(CounterPeriod.LIFETIME)
    guard.accept(1000.0, DAY1)
    five_minutes = DAY1 + timedelta(minutes=5)
    assert guard.max_rise(timedelta(minutes=5)) == pytest.approx(
        UNKNOWN_RATE_KW / 12 + JUMP_SLACK_KWH
    )
    assert guard.accept(1e9, five_minutes) == 1000.0
    assert guard.accept(1500.0, five_minutes) == 1500.0
