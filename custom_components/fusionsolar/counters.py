"""Keep cloud counter glitches away from `total_increasing` sensors.

The cloud's counters misbehave (field notes): day and month counters reset
late or dip after midnight by the previous day's yield, lifetime counters jump
far down after an outage. Home Assistant reads every decrease of a
`total_increasing` sensor as a meter reset and would count the recovery as new
energy. So a counter sensor only ever shows:

* a value at least as high as the highest it showed in the same period, or
* a reset: a new period (day or month, Home Assistant's time zone) has begun
  since that highest value and the new value is small (a real reset starts
  from about zero).

Lifetime counters never reset; a lower value is held until the cloud catches
up again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

# A value this small (or this fraction of the previous maximum) starts a new period.
RESET_ABSOLUTE = 1.0
RESET_FRACTION = 0.1


class CounterPeriod(StrEnum):
    """How often a counter legitimately resets."""

    DAY = "day"
    MONTH = "month"
    LIFETIME = "lifetime"


def period_key(period: CounterPeriod, moment: datetime) -> str:
    """Return which day or month `moment` (local time) belongs to."""
    if period is CounterPeriod.DAY:
        return moment.strftime("%Y-%m-%d")
    if period is CounterPeriod.MONTH:
        return moment.strftime("%Y-%m")
    return "lifetime"


@dataclass(slots=True)
class CounterGuard:
    """The highest value shown, and the period it was shown in."""

    period: CounterPeriod
    highest: float | None = None
    highest_period: str | None = None

    def accept(self, value: float | None, local_now: datetime) -> float | None:
        """Return what to show for a new cloud value."""
        if value is None or value < 0:
            return self.highest
        current = period_key(self.period, local_now)
        if self.highest is None or value >= self.highest:
            if value != self.highest:
                self.highest, self.highest_period = value, current
            return value
        if self._is_reset(value, current):
            self.highest, self.highest_period = value, current
            return value
        return self.highest

    def _is_reset(self, value: float, current: str) -> bool:
        if self.period is CounterPeriod.LIFETIME or self.highest_period == current:
            return False
        assert self.highest is not None
        return value <= max(RESET_ABSOLUTE, RESET_FRACTION * self.highest)
