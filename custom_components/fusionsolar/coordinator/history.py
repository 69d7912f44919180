"""The history coordinator: the cloud's energy records imported as statistics.

What is imported, from where and how the plant's time zone is learned is described
in `history.py`; this coordinator runs the import as its update, as `opower` does.
"""

from __future__ import annotations

import math
import time
from datetime import date, datetime, timedelta
from typing import Any

from homeassistant.components.recorder.statistics import (
    async_add_external_statistics,
    get_last_statistics,
    statistics_during_period,
)
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.recorder import get_instance
from homeassistant.util import dt as dt_util

from ..api import (
    DeviceHistoryRow,
    Endpoint,
    FiveMinuteKpi,
    FusionSolarError,
    HourlyPlantKpi,
    InvalidArgumentError,
    InvalidRequestError,
    NoDataError,
    QuotaError,
)
from ..api.const import PERMISSION_RECHECK
from ..const import CONF_HISTORY_DAYS, DEFAULT_HISTORY_DAYS, LOGGER
from ..devicehistory import (
    DEVICE_WINDOW,
    HistoryDevice,
    RowsRead,
    day_starts,
    history_devices,
    hourly_energies,
    kinds_of_devices,
)
from ..history import (
    ENERGY_KINDS,
    FIRST_RUN_DELAY,
    HOUR,
    LATE_DATA,
    MAX_WINDOW_ATTEMPTS,
    ONE_DAY,
    RETRY_DELAY,
    RUN_OFFSET,
    SETTLED,
    SLOT,
    DayData,
    DayIncompleteError,
    HistorySource,
    Hours,
    PlantClock,
    PlantRun,
    Window,
    WindowZone,
    add_energy,
    ceil_hour,
    floor_hour,
    kinds_of,
    statistic_id,
    statistic_metadata,
)
from ..stores import EntryStore, entry_store
from .base import FusionSolarCoordinator, MetadataCoordinator, selected_plants

# A day read before a quota pause is not read again within this time.
REREAD_AFTER = timedelta(minutes=15)


@callback
def async_create_history_coordinator(
    hass: HomeAssistant, entry: ConfigEntry, metadata: MetadataCoordinator
) -> HistoryCoordinator | None:
    """Return the entry's history import, or None when the recorder is not loaded."""
    if "recorder" not in hass.config.components:
        return None
    return HistoryCoordinator(hass, entry, metadata)


class HistoryCoordinator(FusionSolarCoordinator[dict[str, float]]):
    """Imports the energy history of one config entry's plants, as its update.

    Its data is the imported share of each plant's history window (percent). It runs
    shortly after setup, then hourly (spread to a learned daily budget), sooner after
    a quota wait or a day that could not be read.
    """

    def __init__(
        self, hass: HomeAssistant, entry: ConfigEntry, metadata: MetadataCoordinator
    ) -> None:
        """Initialize the import; nothing runs before `async_start`."""
        first_run = timedelta(seconds=FIRST_RUN_DELAY)
        super().__init__(hass, entry, metadata.account, "history", first_run)
        self.entry = entry
        self.metadata = metadata
        self.progress: dict[str, float] = {}
        self.imported_until: dict[str, datetime] = {}
        self._clocks: dict[str, PlantClock] = {}
        # What the clocks learned, kept across restarts (loaded before the first run).
        self._store = entry_store(hass, EntryStore.HISTORY, entry.entry_id)
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
        # Days read in this pass: a run that goes on after a quota pause starts where
        # it stopped, not with the day it read before the pause.
        self._days_read: dict[tuple[str, date], tuple[datetime, DayData]] = {}
        self._paused = False
        # Device history reads of windows not imported yet (kept over quota pauses).
        self._device_rows: dict[tuple[str, datetime], RowsRead] = {}
        # Per plant, when its devices are read again (quota pacing of device history).
        self._next_read: dict[str, datetime] = {}
        self._import_failing = False

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
        history = Endpoint.NBI_DEVICE_HISTORY
        missing = client.unavailable_endpoints.get(history)
        recent_404 = missing is not None and time.time() - missing < PERMISSION_RECHECK
        if client.todays_cloud and not recent_404 and history not in client.refused_endpoints:
            return HistorySource.DEVICE_HISTORY
        return HistorySource.HOURLY

    @callback
    def async_start(self) -> None:
        """Run shortly after setup, then on its own (entities or not), as `opower` does."""
        self.async_add_listener(_keep_importing)

    async def _async_fetch(self) -> dict[str, float]:
        """Import what is missing for every plant; set when to run next."""
        delay = self._regular_delay()
        self._paused = False
        try:
            delay = await self._async_import_all()
        finally:
            if not self._paused:  # the pass is over
                self._hourly_cache.clear()
                self._days_read.clear()
            self.update_interval = timedelta(seconds=delay)
        return dict(self.progress)

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
        self._tell_day_offset()
        for code in selected_plants(self.entry):
            try:
                await self._async_import_plant(code)
            except QuotaError as err:
                LOGGER.debug("History import paused for quota: %s", err)
                self._paused = True
                return max(err.retry_after, 1.0) + 1.0
            except FusionSolarError as err:
                if not self._import_failing:
                    LOGGER.info("History import of %s failed, retrying later: %s", code, err)
                    self._import_failing = True
                failed = True
        if self._import_failing and not failed:
            LOGGER.info("History import works again")
            self._import_failing = False
        delay = self._regular_delay()
        return min(delay, RETRY_DELAY) if self._retry_soon else delay

    def _tell_day_offset(self) -> None:
        """Let daily budgets count the first plant's local day (the governor's guess)."""
        if codes := selected_plants(self.entry):
            clock = self._clock(codes[0])
            offset = clock.offset(clock.local_date(dt_util.utcnow()))
            self.account.governor.set_day_offset(offset.total_seconds())

    def _regular_delay(self) -> float:
        """Return the seconds until the next hourly run, spread to a daily budget."""
        now = dt_util.utcnow()
        step = self._hours_between_runs()
        moment = floor_hour(now) + RUN_OFFSET
        while moment <= now:
            moment += step * HOUR
        return (moment - now).total_seconds()

    def _hours_between_runs(self) -> int:
        """Hours from one regular run to the next: as many as the quota needs.

        Device history (today's cloud) is paced per call (§4.2, and §7.2's 1/min): a run
        reads every device once, so runs are as far apart as that many calls take.
        Other sources spread a learned daily budget over the day.
        """
        plants = selected_plants(self.entry)
        governor = self.account.governor
        if self.source is HistorySource.DEVICE_HISTORY:
            calls = sum(len(self._history_devices(code)) for code in plants)
            cycle = governor.cycle(Endpoint.NBI_DEVICE_HISTORY, calls) if calls else 0.0
            return max(1, math.ceil(cycle / HOUR.total_seconds()))
        endpoint, calls = Endpoint.KPI_STATION_HOUR, math.ceil(len(plants) / 100)
        if self.source is HistorySource.FIVE_MINUTES:
            endpoint, calls = Endpoint.VPP_PLANT_FIVE_MINUTES, len(plants)
        if budget := governor.daily_budget(endpoint):
            return max(1, math.ceil(24 * calls / budget))
        return 1

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
                kind.key for kind in ENERGY_KINDS if kind.key not in self._available_kinds(source)
            ],
            "progress": dict(self.progress),
            "imported_until": {code: t.isoformat() for code, t in self.imported_until.items()},
            "incomplete_days": {code: str(err) for code, err in self.incomplete.items()},
        }

    def _available_kinds(self, source: HistorySource) -> set[str]:
        """The statistics the source gives (device history: of any selected plant)."""
        if source is HistorySource.HOURLY:
            return {kind.key for kind in ENERGY_KINDS if kind.hourly is not None}
        if source is HistorySource.DEVICE_HISTORY:
            return set().union(
                *(kinds_of_devices(self._history_devices(c)) for c in selected_plants(self.entry))
            )
        return {kind.key for kind in ENERGY_KINDS}

    def _plant_name(self, code: str) -> str:
        plant = self.metadata.data.plants.get(code)
        return plant.name if plant and plant.name else code

    async def _async_import_plant(self, code: str) -> None:
        """Import one plant from its last imported day up to the last complete hour."""
        if self.source is HistorySource.DEVICE_HISTORY:
            await self._async_import_from_devices(code)
            return
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
                data = await self._async_fetch_day(code, day, clock)
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

    def _history_devices(self, code: str) -> list[HistoryDevice]:
        devices = self.metadata.data.devices.values()
        return history_devices(device for device in devices if device.plant_code == code)

    async def _async_import_from_devices(self, code: str) -> None:
        """Import one plant from its devices' history (today's cloud, no V7).

        Windows of 24 h start one slot before the next hour to import (its counters
        start that hour); every hour the devices fill completely is written, in order.
        The local day of the last imported hour is read again (corrections) until it
        ended ``SETTLED`` ago. An hour older than that the cloud does not fill stops the
        import there: warned once, read again later, nothing after it written. A plant
        caught up is read again after as many hours as one read of every device takes.
        """
        devices = self._history_devices(code)
        now = dt_util.utcnow()
        if not devices or now < self._next_read.get(code, now):
            return
        clock = self._clock(code)
        cutoff = floor_hour(now - LATE_DATA)
        last_start, _ = await self._async_last_imported(code)
        # Only what the devices give: a statistic no device feeds is never written as 0.
        run = PlantRun(code=code, kinds=kinds_of_devices(devices))
        first_day: date | None = None
        if last_start is None:  # read from before the guessed midnight: it may be off
            first_day = self._first_day(code, clock, now)
            run.cursor = ceil_hour(clock.midnight(first_day)) - MIDNIGHT_MARGIN
        elif (last_end := last_start + HOUR) >= cutoff:
            self._set_progress(code, last_end, cutoff)
            return
        else:
            run.cursor = last_end
            if now - last_end <= SETTLED:  # corrections: the whole local day again
                day = clock.local_date(last_start)
                run.cursor = min(last_end, ceil_hour(clock.midnight(day)))
            run.sums = await self._async_sums_before(code, run.cursor)
        self.incomplete.pop(code, None)
        while run.cursor < cutoff:
            if not await self._async_import_window(
                run, devices, clock, now=now, cutoff=cutoff, first_day=first_day
            ):
                return
            first_day = None
        # Caught up: the next read when the quota has room for every plant's devices.
        step = self._hours_between_runs() * HOUR
        self._next_read[code] = floor_hour(now) + RUN_OFFSET + step

    async def _async_import_window(
        self,
        run: PlantRun,
        devices: list[HistoryDevice],
        clock: PlantClock,
        *,
        now: datetime,
        cutoff: datetime,
        first_day: date | None = None,
    ) -> bool:
        """Import the hours one window fills; return whether to go on with the next.

        The window's day counters teach the plant's midnights; the backfill's first
        window (``first_day``) then starts at the true one.
        """
        assert run.cursor is not None
        start = run.cursor - SLOT
        end = min(start + DEVICE_WINDOW, now - (now - start) % SLOT)
        try:
            rows = await self._async_device_rows(devices, start, end, now)
        except NoDataError:
            self._day_incomplete(
                run.code, DayIncompleteError(clock.local_date(run.cursor), "no data")
            )
            return False
        for midnight in day_starts(rows):
            clock.learn_midnight(midnight)
        if first_day is not None:
            run.cursor = max(run.cursor, ceil_hour(clock.midnight(first_day)))
        wanted = min(cutoff, floor_hour(end))
        hours, known_until = hourly_energies(rows, run.cursor, wanted)
        run.add(hours)
        self._write(run, known_until)
        self._set_progress(run.code, run.cursor, cutoff)
        for device in devices:
            self._device_rows.pop((device.dn, start), None)
        if known_until >= wanted:
            return True
        if now - known_until > SETTLED:
            cause = "partial data" if hours else "no data"
            self._day_incomplete(run.code, DayIncompleteError(clock.local_date(known_until), cause))
        return False

    async def _async_device_rows(
        self, devices: list[HistoryDevice], start: datetime, end: datetime, now: datetime
    ) -> dict[HistoryDevice, list[DeviceHistoryRow]]:
        """Each device's rows of a window; reads kept over a quota pause are reused."""
        client = self.account.client
        result: dict[HistoryDevice, list[DeviceHistoryRow]] = {}
        for device in devices:
            read = self._device_rows.get((device.dn, start))
            if read is None or not read.usable(end, now):
                rows = await client.async_get_device_history(
                    device.dn, device.dev_type_id, _ms(start), _ms(end)
                )
                read = self._device_rows[(device.dn, start)] = RowsRead(now, end, rows)
            result[device] = read.rows
        return result

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
        self.async_update_listeners()

    async def _async_fetch_day(self, code: str, day: date, clock: PlantClock) -> DayData:
        """Fetch one plant-local day from the best source, once per pass."""
        now = dt_util.utcnow()
        if (read := self._days_read.get((code, day))) is not None and now - read[0] < REREAD_AFTER:
            return read[1]
        if self.source is HistorySource.FIVE_MINUTES:
            data = await self._async_fetch_five_minutes(code, day, clock)
        else:
            data = await self._async_fetch_hourly(code, day, clock)
        self._days_read[(code, day)] = (now, data)
        return data

    async def _async_fetch_five_minutes(self, code: str, day: date, clock: PlantClock) -> DayData:
        """Fetch a day of five-minute records and sum them per UTC hour."""
        records = await self._async_five_minute_records(code, day, clock)
        hours: Hours = {}
        for record in records:
            hour = floor_hour(record.start)
            for kind in ENERGY_KINDS:
                add_energy(hours, hour, kind.key, getattr(record, kind.five_minute))
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
        if gaps := [hour for hour in starts if set(hours.get(hour, {})) < kinds_of(hours)]:
            if past:
                raise DayIncompleteError(day, "values missing")
            covered = min(gaps)
        elif past:
            del self._hourly_seen[(code, day)]
        return DayData(hours=hours, start=start, covered_until=covered, complete=past)


# The backfill's first window starts this long before the guessed local midnight.
MIDNIGHT_MARGIN = timedelta(hours=2)


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


@callback
def _keep_importing() -> None:
    """Listen to nothing: the import runs whether or not an entity listens."""
