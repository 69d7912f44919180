"""Keep cloud counter glitches away from `total_increasing` sensors.

The cloud's counters misbehave (field notes): day and month counters reset
late or dip after midnight by the previous day's yield, lifetime counters jump
far down after an outage. Home Assistant reads every decrease of a
`total_increasing` sensor as a meter reset and would count the recovery as new
energy. So a counter sensor only ever shows:

* a value at least as high as the highest it showed in the same period, or
* a reset: a new period (day or month, in the plant's time zone when known,
  else Home Assistant's) has begun since that highest value and the new value
  is small (a real reset starts from about zero). A drop within the plant's day
  (say at Home Assistant's midnight, hours from the plant's) is a glitch.

Lifetime counters never reset; a lower value is held until the cloud catches
up again.

A jump up is held too when it is more energy than the plant could have produced
or drawn since the highest value was shown: `max_power_kw` (the plant's
capacity) times `JUMP_MARGIN`, at least `MIN_RATE_KW`, times the time elapsed (at
least one cloud slot), plus `JUMP_SLACK_KWH`. Without a known capacity the rate
is `UNKNOWN_RATE_KW`. A rejected value never becomes the highest, so the next
plausible value is shown again; a real step (say a replaced meter) is shown once
enough time has passed to explain it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from enum import StrEnum

# A value this small (or this fraction of the previous maximum) starts a new period.
RESET_ABSOLUTE = 1.0
RESET_FRACTION = 0.1

# Plausible growth: capacity x margin (grid charging, rounding), at least a household's
# grid connection with an EV charger; 10 MW when the capacity is unknown.
JUMP_MARGIN = 2.0
MIN_RATE_KW = 50.0
UNKNOWN_RATE_KW = 10_000.0
JUMP_SLACK_KWH = 1.0
MIN_ELAPSED = timedelta(minutes=5)

# A plant's zone is a fixed UTC offset (from its grid connection date): under daylight
# saving time its midnight may come this much earlier at that offset.
DST_SLACK = timedelta(hours=1)


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
    max_power_kw: float | None = None
    zone: tzinfo | None = None
    highest: float | None = None
    highest_period: str | None = None
    highest_at: datetime | None = None

    def accept(self, value: float | None, local_now: datetime) -> float | None:
        """Return what to show for a new cloud value."""
        if value is None or value < 0:
            return self.highest
        if self.zone is not None and local_now.tzinfo is not None:
            local_now = local_now.astimezone(self.zone)
        current = period_key(self.period, local_now)
        if self.highest is None or value >= self.highest:
            if value == self.highest:
                return value
            if not self._is_plausible_rise(value, local_now):
                return self.highest
        elif not self._is_reset(value, self._periods_now(local_now)):
            return self.highest
        self.highest, self.highest_period, self.highest_at = value, current, local_now
        return value

    def max_rise(self, elapsed: timedelta) -> float:
        """Return the most energy (kWh) the counter may plausibly gain in `elapsed`."""
        if self.max_power_kw is None or self.max_power_kw <= 0:
            rate = UNKNOWN_RATE_KW
        else:
            rate = max(JUMP_MARGIN * self.max_power_kw, MIN_RATE_KW)
        hours = max(elapsed, MIN_ELAPSED).total_seconds() / 3600
        return rate * hours + JUMP_SLACK_KWH

    def _is_plausible_rise(self, value: float, local_now: datetime) -> bool:
        if self.highest is None or self.highest_at is None:
            return True
        return value - self.highest <= self.max_rise(local_now - self.highest_at)

    def _periods_now(self, local_now: datetime) -> set[str]:
        """The periods `local_now` may be in (two near a fixed-offset zone's midnight)."""
        periods = {period_key(self.period, local_now)}
        if self.zone is not None:
            periods.add(period_key(self.period, local_now + DST_SLACK))
        return periods

    def _is_reset(self, value: float, periods: set[str]) -> bool:
        if self.period is CounterPeriod.LIFETIME or periods == {self.highest_period}:
            return False
        assert self.highest is not None
        return value <= max(RESET_ABSOLUTE, RESET_FRACTION * self.highest)
