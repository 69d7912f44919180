"""CounterGuard: cloud counter glitches never reach total_increasing sensors as resets."""

from __future__ import annotations

from datetime import datetime

from custom_components.fusionsolar.counters import CounterGuard, CounterPeriod

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
