"""Gap-free energy history: the cloud's own records imported as long-term statistics.

Live sensors only know what Home Assistant polled while it ran. The cloud keeps the
exact history, so each plant's energy is imported into the recorder as external
statistics ``fusionsolar:<plant>_<kind>`` (hourly sums in kWh) for the Energy dashboard.

Sources
    * V7 ``vpp/plantFiveMinutesKpi`` (one call per plant and plant-local day): solar
      production (pvEnergy), grid import (inputEnergy), grid export (ongridEnergy),
      battery charge (chargeEnergy), battery discharge (dischargeEnergy) and
      consumption (loadEnergy). Five-minute records add up to exact UTC hours in every
      time zone, half-hour offsets included.
    * Today's cloud (26.x, no V7): the device history of each plant's devices, see
      ``devicehistory.py`` (all six statistics where the plant has a meter).
    * Otherwise without V7, or when the account may not read five-minute data: legacy
      ``getKpiStationHour`` (one call per local day for up to 100 plants): solar
      production (inverter_power) and grid export (ongrid_power), the only energies
      its documented table lists: no consumption, grid import or battery statistic
      then (diagnostics say so). Each local hour goes to the UTC hour it starts in.

Time zones
    A request covers one *plant-local* day, which need not be Home Assistant's. The
    cloud's five-minute ``dateTime`` carries the plant's UTC offset, so the importer
    learns the offset at each local midnight from the data (a first guess comes from
    Home Assistant's zone when it agrees with the plant's ``gridConnectionDate``, else
    from that offset). A refused day window (a wrong guess, e.g. on a DST change) is
    retried with the neighbouring offsets. Statistics are stored per UTC hour. What was
    learned is stored, so a restart goes on with the plant's true offsets.

Incomplete days
    A past day is written only when it was read completely: a window the cloud
    accepted with its exact offsets and records from its first to its last slot. A day
    refused, answered with ``data: null`` or read in part is written not at all,
    never settled, and read again later (a minute later the first time, then with
    the hourly runs); one WARNING per day and cause says so.

Continuation and corrections
    The first run backfills ``history_days`` days (oldest first). Every run continues
    from the start of the plant-local day of the last imported hour to the last
    complete hour, so an outage of any length is filled, and the current day is
    imported again each hour to pick up values the cloud revised or delivered late.
    Sums restart from the stored sum just before the re-imported range, so nothing is
    counted twice and rows are replaced, never duplicated.

Quota
    Calls go through the account's governor with ``wait=False``: when a call would
    exceed the quota the run stops and continues when the governor allows, so the
    real-time coordinators (other endpoints) are never delayed. With a learned daily
    budget the hourly cycle is spread to stay within it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from enum import StrEnum
from typing import Any, cast

from homeassistant.components.recorder.models import (
    StatisticData,
    StatisticMeanType,
    StatisticMetaData,
)
from homeassistant.const import UnitOfEnergy
from homeassistant.util import slugify
from homeassistant.util.unit_conversion import EnergyConverter

from .api import (
    FiveMinuteKpi,
)
from .const import DOMAIN

HOUR = timedelta(hours=1)
ONE_DAY = timedelta(days=1)
SLOT = timedelta(minutes=5)
# The first run waits a little so that it never slows down Home Assistant's start.
FIRST_RUN_DELAY = 30.0
# Hourly runs start this long after the hour: the cloud has published the hour's
# last five-minute slot by then, even one refresh late.
RUN_OFFSET = timedelta(minutes=6)
# An hour is complete once it ended this long ago.
LATE_DATA = timedelta(minutes=5)
# A day imported up to its end is fetched again for corrections until this long after.
SETTLED = timedelta(hours=2)
# Day windows tried per plant-local day before giving up on it (time zone guesses).
MAX_WINDOW_ATTEMPTS = 6
# A day that could not be read is tried again this soon the first time (then hourly).
RETRY_DELAY = 90.0
# Learned offsets kept per plant (the newest days: the import only goes forward).
KEPT_OFFSETS = 62
STORAGE_VERSION = 1

type Window = tuple[timedelta, timedelta]
type Hours = dict[datetime, dict[str, float]]

STATISTIC_FIELDS = StatisticMetaData.__required_keys__ | StatisticMetaData.__optional_keys__


class HistorySource(StrEnum):
    """Where the history comes from."""

    FIVE_MINUTES = "five_minutes"
    DEVICE_HISTORY = "device_history"  # today's cloud without V7 (devicehistory.py)
    HOURLY = "hourly"


@dataclass(frozen=True, slots=True)
class EnergyKind:
    """One imported statistic and the cloud fields it is read from."""

    key: str
    name: str
    five_minute: str
    hourly: str | None


ENERGY_KINDS: tuple[EnergyKind, ...] = (
    EnergyKind("solar_production", "solar production", "pv_energy", "inverter_power"),
    EnergyKind("grid_import", "grid import", "input_energy", None),
    EnergyKind("grid_export", "grid export", "ongrid_energy", "ongrid_power"),
    EnergyKind("battery_charge", "battery charge", "charge_energy", None),
    EnergyKind("battery_discharge", "battery discharge", "discharge_energy", None),
    # getKpiStationHour documents no consumption (use_power is a daily/monthly key).
    EnergyKind("consumption", "consumption", "load_energy", None),
)


def statistic_id(plant_code: str, kind: str) -> str:
    """Return the statistic id of a plant's energy kind."""
    return f"{DOMAIN}:{slugify(plant_code)}_{kind}"


def statistic_metadata(plant_code: str, plant_name: str, kind: EnergyKind) -> StatisticMetaData:
    """Describe a statistic for the Home Assistant release that runs.

    ``mean_type`` exists since 2025.4, ``unit_class`` since 2025.11 (and passing it
    earlier raises), ``has_mean`` is deprecated: send each field only where it exists.
    """
    meta: dict[str, Any] = {
        "mean_type": StatisticMeanType.NONE,
        "has_sum": True,
        "name": f"{plant_name} {kind.name}",
        "source": DOMAIN,
        "statistic_id": statistic_id(plant_code, kind.key),
        "unit_of_measurement": UnitOfEnergy.KILO_WATT_HOUR,
    }
    if "has_mean" in STATISTIC_FIELDS:
        meta["has_mean"] = False
    if "unit_class" in STATISTIC_FIELDS:
        meta["unit_class"] = EnergyConverter.UNIT_CLASS
    return cast(StatisticMetaData, meta)


def floor_hour(moment: datetime) -> datetime:
    """Return the start of the UTC hour containing ``moment``."""
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def ceil_hour(moment: datetime) -> datetime:
    """Return the first UTC hour start at or after ``moment``."""
    start = floor_hour(moment)
    return start if start == moment else start + HOUR


class WindowZone(tzinfo):
    """The offsets of one day request: ``start`` at the day's midnight, ``end`` after."""

    def __init__(self, day: date, start: timedelta, end: timedelta) -> None:
        """Initialize the zone for the local day ``day``."""
        super().__init__()
        self._day = day
        self._start = start
        self._end = end

    def utcoffset(self, dt: datetime | None) -> timedelta:
        """Return the offset at the day's start, or at its end for later dates."""
        return self._end if dt is not None and dt.date() > self._day else self._start

    def dst(self, dt: datetime | None) -> timedelta | None:
        """Return no DST information: the offsets are already complete."""
        return None

    def tzname(self, dt: datetime | None) -> str | None:
        """Return no name."""
        return None


class PlantClock:
    """A plant's local time: UTC offsets at local midnights, learned from its data."""

    def __init__(self, fallback: tzinfo, hint: datetime | None) -> None:
        """Start from Home Assistant's zone and an offset the plant reported once."""
        self._fallback = fallback
        self._hint = hint.utcoffset() if hint is not None else None
        self._known: dict[date, timedelta] = {}
        self._trust_fallback = hint is None or self._agrees(hint)

    def _agrees(self, moment: datetime) -> bool:
        """Return whether Home Assistant's zone has the offset the plant reported."""
        return moment.astimezone(self._fallback).utcoffset() == moment.utcoffset()

    def offset(self, day: date) -> timedelta:
        """Return the (known or best guessed) UTC offset at the local midnight of ``day``."""
        if (known := self._known.get(day)) is not None:
            return known
        if self._trust_fallback:
            return datetime.combine(day, time.min, self._fallback).utcoffset() or timedelta()
        if self._known:
            return self._known[min(self._known, key=lambda other: abs((other - day).days))]
        if self._hint is not None:
            return self._hint
        return datetime.combine(day, time(12), self._fallback).utcoffset() or timedelta()

    def midnight(self, day: date) -> datetime:
        """Return the UTC instant at which the plant's local ``day`` starts."""
        return datetime.combine(day, time.min, UTC) - self.offset(day)

    def local_date(self, moment: datetime) -> date:
        """Return the plant-local date of ``moment``."""
        day = (moment.astimezone(UTC) + self.offset(moment.astimezone(UTC).date())).date()
        if moment < self.midnight(day):
            return day - ONE_DAY
        if moment >= self.midnight(day + ONE_DAY):
            return day + ONE_DAY
        return day

    def windows(self, day: date) -> list[Window]:
        """Return the offset pairs to try for a request of ``day``, best first.

        The cloud accepts any window inside the local day and the records then tell
        the true offsets: a smaller start offset starts later, a larger end offset
        ends earlier. A known start leaves only a DST change during the day.
        """
        start, end = self.offset(day), self.offset(day + ONE_DAY)
        if day + ONE_DAY in self._known:
            if day in self._known:
                return [(start, end)]
        elif day in self._known:
            return [(start, end), (start, end + HOUR), (start, end + 3 * HOUR)]
        return [
            (start, end),
            (start - HOUR, end - HOUR),
            (start + HOUR, end + HOUR),
            (start - HOUR, end),
            (start, end + HOUR),
            (start - 3 * HOUR, end + 3 * HOUR),
        ]

    def exact(self, day: date) -> Window | None:
        """Return the day's offsets if both are known."""
        start, end = self._known.get(day), self._known.get(day + ONE_DAY)
        return None if start is None or end is None else (start, end)

    def learn(self, day: date, records: list[FiveMinuteKpi]) -> None:
        """Learn the offsets at the day's start and end from the records' own times."""
        if not records:
            return
        first, last = records[0].start, records[-1].start
        for record in (first, last):
            if not self._agrees(record):
                self._trust_fallback = False
        if first.date() == day and first.hour < 2 and (offset := first.utcoffset()) is not None:
            self._known[day] = offset
        if last.date() == day and (offset := last.utcoffset()) is not None:
            self._known[day + ONE_DAY] = offset

    def learn_midnight(self, moment: datetime) -> None:
        """Learn the offset of the local midnight that falls at UTC ``moment``."""
        seconds = (moment - floor_hour(moment)).total_seconds() + 3600 * moment.hour
        offset = timedelta(seconds=-seconds % 86400)
        if offset > timedelta(hours=14):
            offset -= ONE_DAY
        if offset % timedelta(minutes=15):
            return
        local = moment.astimezone(UTC) + offset
        self._known[local.date()] = offset
        if not self._agrees(moment.astimezone(timezone(offset))):
            self._trust_fallback = False

    def refused(self, day: date, window: Window) -> None:
        """Forget a day's end offset that turned out wrong (a DST change since)."""
        if self.exact(day) == window:
            self._known.pop(day + ONE_DAY, None)

    def complete(self, day: date, records: list[FiveMinuteKpi]) -> bool:
        """Return whether ``records`` cover the whole day, first slot to last."""
        if not records or self.exact(day) is None:
            return False
        return records[0].start == self.midnight(day) and records[-1].start + SLOT == self.midnight(
            day + ONE_DAY
        )

    def export(self) -> dict[str, Any]:
        """Return what was learned, JSON-friendly (the newest days)."""
        days = sorted(self._known)[-KEPT_OFFSETS:]
        return {
            "offsets": {day.isoformat(): self._known[day].total_seconds() for day in days},
            "trust_fallback": self._trust_fallback,
        }

    def restore(self, data: Any) -> None:
        """Take back what an earlier run learned (ignoring anything malformed)."""
        if not isinstance(data, dict):
            return
        offsets = data.get("offsets")
        for day, seconds in (offsets if isinstance(offsets, dict) else {}).items():
            try:
                self._known.setdefault(date.fromisoformat(day), timedelta(seconds=seconds))
            except (TypeError, ValueError):
                continue
        if data.get("trust_fallback") is False:
            self._trust_fallback = False


class DayIncompleteError(Exception):
    """A plant-local day that could not be read completely (read again later)."""

    def __init__(self, day: date, cause: str) -> None:
        """Name the day and why (refused, no data, partial)."""
        super().__init__(f"{day.isoformat()}: {cause}")
        self.day = day
        self.cause = cause


@dataclass(slots=True)
class DayData:
    """One plant-local day of hourly energies and how far it is complete."""

    hours: Hours
    start: datetime
    # None: nothing of the day is known yet (today, no records).
    covered_until: datetime | None
    # The whole past day was read: it may be settled (today never is).
    complete: bool = False


@dataclass(slots=True)
class PlantRun:
    """One plant's import in progress: hours fetched, sums and the next hour to write."""

    code: str
    kinds: set[str]
    cursor: datetime | None = None
    sums: dict[str, float] = field(default_factory=dict)
    pending: Hours = field(default_factory=dict)

    def add(self, hours: Hours) -> None:
        """Add a fetched day's energies (an hour may span two local days)."""
        for hour, energies in hours.items():
            for kind, value in energies.items():
                add_energy(self.pending, hour, kind, value)
                self.kinds.add(kind)

    def rows(self, until: datetime) -> dict[str, list[StatisticData]]:
        """Return the statistics rows of every kind from the cursor to ``until``."""
        assert self.cursor is not None
        for hour in [hour for hour in self.pending if hour < self.cursor]:
            del self.pending[hour]
        rows: dict[str, list[StatisticData]] = {kind: [] for kind in self.kinds}
        while self.cursor + HOUR <= until:
            energies = self.pending.pop(self.cursor, {})
            for kind, kind_rows in rows.items():
                value = round(energies.get(kind, 0.0), 3)
                self.sums[kind] = round(self.sums.get(kind, 0.0) + value, 3)
                kind_rows.append(StatisticData(start=self.cursor, state=value, sum=self.sums[kind]))
            self.cursor += HOUR
        return rows


def kinds_of(hours: Hours) -> set[str]:
    """Return the kinds any hour has a value of."""
    return set().union(*hours.values()) if hours else set()


def add_energy(hours: Hours, hour: datetime, kind: str, value: float | None) -> None:
    if value is not None:
        bucket = hours.setdefault(hour, {})
        bucket[kind] = bucket.get(kind, 0.0) + value
