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
    * Without V7, or when the account may not read five-minute data: legacy
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

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from enum import StrEnum
from typing import TYPE_CHECKING, Any, cast

from homeassistant.components.recorder.models import (
    StatisticData,
    StatisticMeanType,
    StatisticMetaData,
)
from homeassistant.components.recorder.statistics import (
    async_add_external_statistics,
    get_last_statistics,
    statistics_during_period,
)
from homeassistant.components.sensor import SensorEntity, SensorEntityDescription
from homeassistant.const import PERCENTAGE, EntityCategory, UnitOfEnergy
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.event import async_call_later
from homeassistant.helpers.recorder import get_instance
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util
from homeassistant.util import slugify
from homeassistant.util.unit_conversion import EnergyConverter

from .api import (
    Endpoint,
    FiveMinuteKpi,
    FusionSolarError,
    HourlyPlantKpi,
    InvalidArgumentError,
    InvalidRequestError,
    QuotaError,
)
from .const import CONF_HISTORY_DAYS, DEFAULT_HISTORY_DAYS, DOMAIN, LOGGER
from .coordinator import FusionSolarConfigEntry, MetadataCoordinator, selected_plants
from .entity import plant_device_info

if TYPE_CHECKING:
    from .account import FusionSolarAccount

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
                _add(self.pending, hour, kind, value)
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


def _kinds(hours: Hours) -> set[str]:
    """Return the kinds any hour has a value of."""
    return set().union(*hours.values()) if hours else set()


def _add(hours: Hours, hour: datetime, kind: str, value: float | None) -> None:
    if value is not None:
        bucket = hours.setdefault(hour, {})
        bucket[kind] = bucket.get(kind, 0.0) + value


@callback
def async_create_history_importer(
    hass: HomeAssistant,
    entry: FusionSolarConfigEntry,
    account: FusionSolarAccount,
    metadata: MetadataCoordinator,
) -> HistoryImporter | None:
    """Return an importer for the entry, or None when the recorder is not loaded."""
    if "recorder" not in hass.config.components:
        return None
    return HistoryImporter(hass, entry, account, metadata)


class HistoryImporter:
    """Imports the energy history of one config entry's plants."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: FusionSolarConfigEntry,
        account: FusionSolarAccount,
        metadata: MetadataCoordinator,
    ) -> None:
        """Initialize the importer; nothing runs before `async_start`."""
        self.hass = hass
        self.entry = entry
        self.account = account
        self.metadata = metadata
        self.progress: dict[str, float] = {}
        self.imported_until: dict[str, datetime] = {}
        self._clocks: dict[str, PlantClock] = {}
        # What the clocks learned, kept across restarts (loaded before the first run).
        self._store: Store[dict[str, Any]] = Store(
            hass, STORAGE_VERSION, f"{DOMAIN}.history.{entry.entry_id}"
        )
        self._restored: dict[str, Any] | None = None
        # Per plant, the day that could not be read in the last run; warnings given.
        self.incomplete: dict[str, DayIncompleteError] = {}
        self._warned: set[tuple[str, date, str]] = set()
        self._refused_windows: dict[tuple[str, date], set[Window]] = {}
        self._hourly_seen: dict[tuple[str, date], Hours] = {}
        self._retry_soon = False
        # Per plant, the last local day imported completely after the cloud settled it.
        self._settled: dict[str, date] = {}
        self._hourly_cache: dict[int, list[HourlyPlantKpi]] = {}
        self._listeners: list[CALLBACK_TYPE] = []
        self._unsub_timer: CALLBACK_TYPE | None = None
        self._running = False
        self._stopped = False
        self._in_trouble = False

    @property
    def history_days(self) -> int:
        """Return the backfill window in days."""
        return int(self.entry.options.get(CONF_HISTORY_DAYS, DEFAULT_HISTORY_DAYS))

    @property
    def source(self) -> HistorySource:
        """Return the data source this account allows."""
        client = self.account.client
        if client.families.v7 and Endpoint.VPP_PLANT_FIVE_MINUTES not in client.refused_endpoints:
            return HistorySource.FIVE_MINUTES
        return HistorySource.HOURLY

    @callback
    def async_add_listener(self, update: CALLBACK_TYPE) -> CALLBACK_TYPE:
        """Call ``update`` whenever the progress changes; returns the remover."""
        self._listeners.append(update)
        return lambda: self._listeners.remove(update)

    @callback
    def async_start(self) -> None:
        """Schedule the first run shortly after setup."""
        self._stopped = False
        self._schedule(FIRST_RUN_DELAY)

    @callback
    def async_stop(self) -> None:
        """Cancel the next run (the entry cancels a running one)."""
        self._stopped = True
        if self._unsub_timer is not None:
            self._unsub_timer()
            self._unsub_timer = None

    def _schedule(self, delay: float) -> None:
        if self._unsub_timer is not None:
            self._unsub_timer()
        self._unsub_timer = async_call_later(self.hass, delay, self._async_timer)

    @callback
    def _async_timer(self, _now: datetime) -> None:
        self._unsub_timer = None
        self.entry.async_create_background_task(
            self.hass, self.async_run(), f"{self.entry.title} history import"
        )

    async def async_run(self) -> None:
        """Import what is missing for every plant, then schedule the next run."""
        if self._running:
            return
        self._running = True
        delay = self._regular_delay()
        try:
            delay = await self._async_import_all()
        finally:
            self._running = False
            self._hourly_cache.clear()
            if not self._stopped:
                self._schedule(delay)

    async def _async_import_all(self) -> float:
        """Import every plant; return the delay until the next run."""
        # Let the recorder commit what an earlier run (or a reload) queued.
        await get_instance(self.hass).async_block_till_done()
        if self._restored is None:
            loaded = await self._store.async_load()
            self._restored = loaded if isinstance(loaded, dict) else {}
        self._retry_soon = False
        try:
            return await self._async_import_plants()
        finally:
            await self._store.async_save(
                {code: clock.export() for code, clock in self._clocks.items()}
            )

    async def _async_import_plants(self) -> float:
        """Import every selected plant; return the delay until the next run."""
        failed = False
        for code in selected_plants(self.entry):
            try:
                await self._async_import_plant(code)
            except QuotaError as err:
                LOGGER.debug("History import paused for quota: %s", err)
                return max(err.retry_after, 1.0) + 1.0
            except FusionSolarError as err:
                if not self._in_trouble:
                    LOGGER.info("History import of %s failed, retrying later: %s", code, err)
                    self._in_trouble = True
                failed = True
        if self._in_trouble and not failed:
            LOGGER.info("History import works again")
            self._in_trouble = False
        delay = self._regular_delay()
        return min(delay, RETRY_DELAY) if self._retry_soon else delay

    def _regular_delay(self) -> float:
        """Return the seconds until the next hourly run, spread to a daily budget."""
        now = dt_util.utcnow()
        step = 1
        plants = len(selected_plants(self.entry))
        if self.source is HistorySource.FIVE_MINUTES:
            endpoint, calls = Endpoint.VPP_PLANT_FIVE_MINUTES, plants
        else:
            endpoint, calls = Endpoint.KPI_STATION_HOUR, math.ceil(plants / 100)
        if budget := self.account.governor.daily_budget(endpoint):
            step = max(1, math.ceil(24 * calls / budget))
        moment = floor_hour(now) + RUN_OFFSET
        while moment <= now:
            moment += step * HOUR
        return (moment - now).total_seconds()

    def _clock(self, code: str) -> PlantClock:
        if (clock := self._clocks.get(code)) is None:
            plant = self.metadata.data.plants.get(code)
            hint = plant.grid_connection_date if plant else None
            clock = self._clocks[code] = PlantClock(dt_util.get_default_time_zone(), hint)
            clock.restore((self._restored or {}).get(code))
        return clock

    def _first_day(self, code: str, clock: PlantClock, now: datetime) -> date:
        """Return the first day of the backfill: never before the plant was connected."""
        day = clock.local_date(now) - timedelta(days=self.history_days)
        plant = self.metadata.data.plants.get(code)
        if plant is not None and (connected := plant.grid_connection_date) is not None:
            day = max(day, clock.local_date(connected))
        return day

    def _day_incomplete(self, code: str, err: DayIncompleteError) -> None:
        """Note a day that could not be read: warn once per day and cause."""
        self.incomplete[code] = err
        key = (code, err.day, err.cause)
        if key in self._warned:
            LOGGER.debug("History of plant %s for %s still incomplete: %s", code, err.day, err)
            return
        self._warned.add(key)
        self._retry_soon = True
        LOGGER.warning(
            "Energy history of plant %s for %s could not be read completely (%s); "
            "nothing is imported from that day on until it can, it is read again later",
            code,
            err.day.isoformat(),
            err.cause,
        )

    def diagnostics(self) -> dict[str, Any]:
        """Return the import's state for the diagnostics."""
        source = self.source
        return {
            "source": source.value,
            "unavailable_statistics": [
                kind.key
                for kind in ENERGY_KINDS
                if source is HistorySource.HOURLY and kind.hourly is None
            ],
            "progress": dict(self.progress),
            "imported_until": {code: t.isoformat() for code, t in self.imported_until.items()},
            "incomplete_days": {code: str(err) for code, err in self.incomplete.items()},
        }

    def _plant_name(self, code: str) -> str:
        plant = self.metadata.data.plants.get(code)
        return plant.name if plant and plant.name else code

    async def _async_import_plant(self, code: str) -> None:
        """Import one plant from its last imported day up to the last complete hour."""
        clock = self._clock(code)
        now = dt_util.utcnow()
        cutoff = floor_hour(now - LATE_DATA)
        last_start, kinds = await self._async_last_imported(code)
        if last_start is None:
            day = self._first_day(code, clock, now)
            last_end = None
        elif (last_end := last_start + HOUR) >= cutoff:
            self._set_progress(code, last_end, cutoff)
            return
        else:
            day = clock.local_date(last_start)
            if last_end >= clock.midnight(day + ONE_DAY) and now - last_end > SETTLED:
                day += ONE_DAY  # a complete day the cloud will not revise any more
            if (settled := self._settled.get(code)) is not None and day <= settled:
                day = settled + ONE_DAY
        run = PlantRun(code=code, kinds=kinds)
        self.incomplete.pop(code, None)
        while day <= clock.local_date(cutoff - timedelta(microseconds=1)):
            try:
                data = await self._async_fetch(code, day, clock)
            except DayIncompleteError as err:
                self._day_incomplete(code, err)
                return
            if data.covered_until is None:
                break
            if run.cursor is None:
                run.cursor = ceil_hour(data.start)
                if last_end is not None:
                    run.cursor = min(run.cursor, last_end)
                    run.sums = await self._async_sums_before(code, run.cursor)
            run.add(data.hours)
            self._write(run, min(cutoff, floor_hour(data.covered_until)))
            self._set_progress(code, run.cursor, cutoff)
            if (
                data.complete
                and run.cursor >= data.covered_until
                and now - data.covered_until > SETTLED
            ):
                self._settled[code] = day
            day += ONE_DAY

    async def _async_last_imported(self, code: str) -> tuple[datetime | None, set[str]]:
        """Return the start of the last imported hour and the kinds already stored."""
        instance = get_instance(self.hass)
        last: datetime | None = None
        kinds: set[str] = set()
        for kind in ENERGY_KINDS:
            stat_id = statistic_id(code, kind.key)
            result = await instance.async_add_executor_job(
                get_last_statistics, self.hass, 1, stat_id, False, {"sum"}
            )
            if rows := result.get(stat_id):
                kinds.add(kind.key)
                start = dt_util.utc_from_timestamp(rows[0]["start"])
                last = start if last is None else max(last, start)
        return last, kinds

    async def _async_sums_before(self, code: str, hour: datetime) -> dict[str, float]:
        """Return the stored sums of the hour before ``hour`` (where the import goes on)."""
        ids = {statistic_id(code, kind.key): kind.key for kind in ENERGY_KINDS}
        stats = await get_instance(self.hass).async_add_executor_job(
            statistics_during_period,
            self.hass,
            hour - HOUR,
            hour,
            set(ids),
            "hour",
            None,
            {"sum"},
        )
        return {ids[stat_id]: float(rows[0].get("sum") or 0.0) for stat_id, rows in stats.items()}

    def _write(self, run: PlantRun, until: datetime) -> None:
        """Import the run's complete hours up to ``until`` and move its cursor."""
        assert run.cursor is not None
        rows = run.rows(until)
        name = self._plant_name(run.code)
        for kind in ENERGY_KINDS:
            if kind_rows := rows.get(kind.key):
                async_add_external_statistics(
                    self.hass, statistic_metadata(run.code, name, kind), kind_rows
                )

    def _set_progress(self, code: str, imported_until: datetime, cutoff: datetime) -> None:
        """Record how much of the backfill window is imported, and tell the listeners."""
        window = max(self.history_days, 1) * ONE_DAY
        remaining = max(cutoff - imported_until, timedelta())
        self.imported_until[code] = imported_until
        self.progress[code] = round(100.0 * max(0.0, 1.0 - remaining / window), 1)
        for update in list(self._listeners):
            update()

    async def _async_fetch(self, code: str, day: date, clock: PlantClock) -> DayData:
        """Fetch one plant-local day from the best source."""
        if self.source is HistorySource.FIVE_MINUTES:
            return await self._async_fetch_five_minutes(code, day, clock)
        return await self._async_fetch_hourly(code, day, clock)

    async def _async_fetch_five_minutes(self, code: str, day: date, clock: PlantClock) -> DayData:
        """Fetch a day of five-minute records and sum them per UTC hour."""
        records = await self._async_five_minute_records(code, day, clock)
        hours: Hours = {}
        for record in records:
            hour = floor_hour(record.start)
            for kind in ENERGY_KINDS:
                _add(hours, hour, kind.key, getattr(record, kind.five_minute))
        start, end = clock.midnight(day), clock.midnight(day + ONE_DAY)
        if end > dt_util.utcnow():  # today: complete up to the last record
            covered = records[-1].start + SLOT if records else None
            return DayData(hours=hours, start=start, covered_until=covered)
        if not clock.complete(day, records):
            raise DayIncompleteError(day, "partial data" if records else "no data")
        return DayData(hours=hours, start=start, covered_until=end, complete=True)

    async def _async_five_minute_records(
        self, code: str, day: date, clock: PlantClock
    ) -> list[FiveMinuteKpi]:
        """Request a day, trying offset guesses until the cloud accepts one.

        Windows refused stay remembered until the day is read (a run paused for quota
        goes on with the next guess, not the same one again) or every guess failed.
        """
        client = self.account.client
        refused = self._refused_windows.setdefault((code, day), set())
        tried: set[Window] = set(refused)
        records: list[FiveMinuteKpi] | None = None
        for _ in range(MAX_WINDOW_ATTEMPTS):
            window = next((w for w in clock.windows(day) if w not in tried), None)
            if window is None:
                break
            tried.add(window)
            try:
                records = await client.async_get_plant_five_minutes(
                    code, day, WindowZone(day, *window)
                )
            except InvalidArgumentError:
                raise
            except InvalidRequestError as err:
                LOGGER.debug("Day %s of %s refused with offsets %s: %s", day, code, window, err)
                clock.refused(day, window)
                refused.add(window)
                continue
            clock.learn(day, records)
            if (exact := clock.exact(day)) is None or exact in tried:
                break
        del self._refused_windows[(code, day)]  # all guesses again if this one failed
        if records is None:
            raise DayIncompleteError(day, "every day window refused")
        return records

    async def _async_fetch_hourly(self, code: str, day: date, clock: PlantClock) -> DayData:
        """Fetch a day of legacy hourly plant KPIs (one call for up to 100 plants)."""
        # The cloud finds the plant-local day of collectTime: local noon is safe even
        # when the offset guess is some hours off.
        collect = int((clock.midnight(day) + 12 * HOUR).timestamp() * 1000)
        if (records := self._hourly_cache.get(collect)) is None:
            records = await self.account.client.async_get_plant_hourly(
                selected_plants(self.entry), collect
            )
            self._hourly_cache[collect] = records
        mine = [record for record in records if record.plant_code == code]
        # Values of complete hours from earlier reads fill what this one sent empty.
        seen = self._hourly_seen.setdefault((code, day), {})
        hours: Hours = {hour: dict(values) for hour, values in seen.items()}
        final = floor_hour(dt_util.utcnow() - LATE_DATA)
        for record in mine:
            hour = floor_hour(record.start)
            for kind in ENERGY_KINDS:
                value = getattr(record, kind.hourly) if kind.hourly else None
                if value is None:
                    continue
                hours.setdefault(hour, {})[kind.key] = value
                if hour < final:
                    seen.setdefault(hour, {})[kind.key] = value
        starts = [floor_hour(record.start) for record in mine]
        past = clock.midnight(day + ONE_DAY) <= dt_util.utcnow()
        if past and not starts:
            raise DayIncompleteError(day, "no data")
        start = min(starts, default=clock.midnight(day))
        covered = max(starts) + HOUR if starts else None
        # A value the day reports elsewhere but sent empty for an hour is not zero.
        if gaps := [hour for hour in starts if set(hours.get(hour, {})) < _kinds(hours)]:
            if past:
                raise DayIncompleteError(day, "values missing")
            covered = min(gaps)
        elif past:
            del self._hourly_seen[(code, day)]
        return DayData(hours=hours, start=start, covered_until=covered, complete=past)


HISTORY_BACKFILL = SensorEntityDescription(
    key="history_backfill",
    translation_key="history_backfill",
    native_unit_of_measurement=PERCENTAGE,
    entity_category=EntityCategory.DIAGNOSTIC,
    suggested_display_precision=0,
)


class HistoryBackfillSensor(SensorEntity):
    """How much of the plant's history window is imported as statistics (100 = done)."""

    _attr_has_entity_name = True
    _attr_should_poll = False
    entity_description = HISTORY_BACKFILL

    def __init__(
        self, entry: FusionSolarConfigEntry, importer: HistoryImporter, plant_code: str
    ) -> None:
        """Initialize the sensor on the plant's device."""
        self._importer = importer
        self._plant_code = plant_code
        self._attr_unique_id = f"{plant_code}_{HISTORY_BACKFILL.key}"
        plant = entry.runtime_data.metadata.data.plants.get(plant_code)
        self._attr_device_info = plant_device_info(plant_code, plant)

    async def async_added_to_hass(self) -> None:
        """Follow the importer's progress."""
        await super().async_added_to_hass()
        self.async_on_remove(self._importer.async_add_listener(self.async_write_ha_state))

    @property
    def native_value(self) -> float | None:
        """Return the imported share of the window, unknown before the first run."""
        return self._importer.progress.get(self._plant_code)


def history_sensors(
    entry: FusionSolarConfigEntry, plant_codes: list[str]
) -> list[HistoryBackfillSensor]:
    """Return the backfill sensors of an entry (none without the recorder)."""
    importer = entry.runtime_data.history
    if importer is None:
        return []
    return [HistoryBackfillSensor(entry, importer, code) for code in plant_codes]
