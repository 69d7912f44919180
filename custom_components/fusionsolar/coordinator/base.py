"""Coordinators: what is polled, when, and how that stays within quota.

* `MetadataCoordinator` (hourly): plant and device lists once a day (the spec
  recommends it), legacy plant KPIs (yield, income) every hour. The lists are
  stored; a restart starts from them and fetches them again in the background.
  A plant or device the cloud refuses (20007/20008) makes it fetch them early.
* `PlantCoordinator` (every cloud refresh): `vpp/plantRealtimeKpi` for all
  selected plants in batches of 100, or the legacy plant KPIs without V7; then the
  power flow is derived from the device coordinator's data (`powerflow.py`).
* `DeviceCoordinator` (every cloud refresh): `getDevRealKpi` per device type in
  batches of 100. When the account's quota cannot fetch every group in one go,
  it fetches what it may now and continues when the governor allows. A group
  the cloud refuses (20006/20008/20013) is backed off, the others go on.

A transient failure (5xx, network, `data: null` for a device group) is asked
again once, a quota window later, within the same cloud refresh.

Both refresh coordinators run a little after each 5-minute boundary, when the
cloud has new data. All share the account's quota governor.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryAuthFailed
from homeassistant.helpers.event import async_call_later, async_track_point_in_utc_time
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util

from ..account import FusionSolarAccount
from ..api import (
    AuthenticationError,
    CommunicationError,
    DeviceList,
    DeviceRealtimeKpi,
    Endpoint,
    FusionSolarClient,
    FusionSolarError,
    Incomplete,
    InvalidRequestError,
    PermissionDeniedError,
    PlantRealtimeKpi,
    QuotaError,
    QuotaWouldExceed,
    StationRealtimeKpi,
    UnauthorizedResourceError,
)
from ..const import (
    CLOUD_REFRESH,
    CONF_PLANTS,
    CONF_POLL_DEVICES,
    DEFAULT_POLL_DEVICES,
    DOMAIN,
    LOGGER,
    METADATA_INTERVAL,
    POLL_OFFSET,
    STALE_AFTER,
)
from ..lists import ListStore, Metadata, merge_lists
from ..powerflow import derive_power_flow

LIST_REFRESH = timedelta(days=1)
# A refused plant or device fetches the lists early, at most this often.
EARLY_LIST_REFRESH = timedelta(minutes=30)
# A transient failure is asked again once, after the quota window.
RETRY_AFTER_SECONDS = 61.0
#: A refresh whose first call the quota holds back longer than this after the poll time
#: waits for the next refresh instead: on rolling windows (today's cloud: one call per
#: 5 minutes) a late call would make every later refresh late as well.
REALIGN_AFTER = timedelta(seconds=60)
# A device group the cloud refuses is asked again after this, doubling up to the max.
GROUP_BACKOFF = timedelta(minutes=30)
GROUP_BACKOFF_MAX = timedelta(hours=6)
# The governor's margin (a second per window) is not a refresh of its own.
QUOTA_MARGIN_SHARE = 0.05


def cloud_slot(moment: datetime) -> datetime:
    """Return the start of the 5-minute cloud refresh slot containing `moment`."""
    return moment.replace(minute=moment.minute - moment.minute % 5, second=0, microsecond=0)


def until_next_poll(now: datetime) -> timedelta:
    """Return the wait until shortly after the next cloud refresh."""
    return cloud_slot(now) + CLOUD_REFRESH + POLL_OFFSET - now


def stale_after(read_every: timedelta) -> timedelta:
    """Return the age at which data read every `read_every` is stale: one rule for all kinds.

    Data read every refresh is stale after `STALE_AFTER` (three missed refreshes); data
    the quota lets us read less often (hourly plant KPIs, device types taking turns on a
    large account) is stale once two of its reads and one refresh were missed.
    """
    return max(STALE_AFTER, 2 * read_every + CLOUD_REFRESH)


def refreshes_for(seconds: float) -> timedelta:
    """Return the whole cloud refreshes a read of `seconds` spans (quota margin aside)."""
    refresh = CLOUD_REFRESH.total_seconds()
    return CLOUD_REFRESH * max(1, math.ceil(seconds / refresh - QUOTA_MARGIN_SHARE))


def selected_plants(entry: ConfigEntry) -> list[str]:
    """Return the plant codes the user chose for this entry."""
    return list(entry.options.get(CONF_PLANTS) or entry.data.get(CONF_PLANTS) or [])


def queried_plants(entry: ConfigEntry, metadata: Metadata | None) -> list[str]:
    """Return the selected plants the account still lists: one gone fails a whole call."""
    selected = selected_plants(entry)
    listed = metadata.plants if metadata is not None else {}
    return [code for code in selected if code in listed] or selected


class FusionSolarCoordinator[DataT](DataUpdateCoordinator[DataT]):
    """Shared error handling: keep data through short trouble, one log line."""

    config_entry: ConfigEntry

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        account: FusionSolarAccount,
        name: str,
        update_interval: timedelta | None,
    ) -> None:
        """Initialize the coordinator."""
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            name=f"{entry.title} {name}",
            update_interval=update_interval,
        )
        self.account = account
        self.last_success: datetime | None = None
        self._in_trouble = False
        self._stale_after: timedelta | None = None

    async def _async_fetch(self) -> DataT:
        """Fetch new data from the cloud."""
        raise NotImplementedError

    @property
    def read_every(self) -> timedelta:
        """Return how often this coordinator's data is read, as the quota plans it."""
        return self.update_interval or CLOUD_REFRESH

    @property
    def stale_after(self) -> timedelta:
        """Return the age at which this coordinator's data is stale (`stale_after`).

        Planned once per update (every entity asks at every state write).
        """
        if self._stale_after is None:
            self._stale_after = stale_after(self.read_every)
        return self._stale_after

    async def _async_update_data(self) -> DataT:
        """Fetch, keeping the last data while it is fresh enough."""
        self._stale_after = None  # the plan of this update (lists, learned limits)
        try:
            data = await self._async_fetch()
        except AuthenticationError as err:
            raise ConfigEntryAuthFailed(
                translation_domain=DOMAIN, translation_key="authentication_failed"
            ) from err
        except FusionSolarError as err:
            self._fetch_failed(err)
            return self._keep_or_fail(err)
        finally:
            self.account.async_schedule_save()
        if self._in_trouble:
            LOGGER.info("%s: the cloud answers again", self.name)
            self._in_trouble = False
        self.last_success = dt_util.utcnow()
        return data

    def _fetch_failed(self, err: FusionSolarError) -> None:
        """React to a failed fetch (before the last data is kept or the update fails)."""

    def _keep_or_fail(self, err: FusionSolarError) -> DataT:
        """Keep fresh data through transient trouble; fail once it is stale."""
        fresh = (
            self.last_success is not None
            and dt_util.utcnow() - self.last_success < self.stale_after
        )
        if fresh and self.data is not None:
            if isinstance(err, QuotaWouldExceed):  # our own wait for quota: no trouble
                LOGGER.debug("%s: keeping the last data (%s)", self.name, err)
            elif not self._in_trouble:
                LOGGER.info("%s: keeping the last data for now (%s)", self.name, err)
                self._in_trouble = True
            return self.data
        raise UpdateFailed(
            translation_domain=DOMAIN,
            translation_key="update_failed",
            translation_placeholders={"error": str(err)},
        ) from err


class _CloudRefreshCoordinator[DataT](FusionSolarCoordinator[DataT]):
    """A coordinator that runs shortly after each 5-minute cloud refresh."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        account: FusionSolarAccount,
        metadata: MetadataCoordinator,
        name: str,
    ) -> None:
        """Initialize the coordinator; its first poll follows the next cloud refresh."""
        super().__init__(hass, entry, account, name, until_next_poll(dt_util.utcnow()))
        self._metadata = metadata
        self._unsub_continue: CALLBACK_TYPE | None = None
        self._continue_at: datetime | None = None
        self._retried_slot: datetime | None = None

    async def _async_update_data(self) -> DataT:
        try:
            return await super()._async_update_data()
        finally:
            self.update_interval = until_next_poll(dt_util.utcnow())

    def _fetch_failed(self, err: FusionSolarError) -> None:
        """Fetch again when the quota allows, or once more when trouble may be transient."""
        if isinstance(err, QuotaError):
            self._continue_when_allowed(err.retry_after, started=self._started_this_refresh())
        elif isinstance(err, CommunicationError):
            self._retry_once()

    def _started_this_refresh(self) -> bool:
        """Whether something was fetched since the last cloud refresh."""
        return self.last_success is not None and self.last_success >= cloud_slot(dt_util.utcnow())

    def _continue_when_allowed(self, retry_after: float, *, started: bool) -> None:
        """Fetch when the quota allows; a refresh whose first call would be late is skipped."""
        now = dt_util.utcnow()
        late = now + timedelta(seconds=retry_after) - (cloud_slot(now) + POLL_OFFSET)
        if not started and late > REALIGN_AFTER:
            LOGGER.debug("%s: quota holds this refresh back; next refresh on time", self.name)
            return
        self._continue_later(retry_after)

    def _retry_once(self) -> None:
        """Fetch again a quota window later, once per cloud refresh."""
        slot = cloud_slot(dt_util.utcnow())
        if self._retried_slot != slot:
            self._retried_slot = slot
            self._continue_later(RETRY_AFTER_SECONDS)

    def _continue_later(self, delay: float) -> None:
        """Fetch again after `delay` seconds (the earliest of the pending requests)."""
        when = dt_util.utcnow() + timedelta(seconds=max(delay, 1.0))
        if self._unsub_continue is not None:
            if self._continue_at is not None and self._continue_at <= when:
                return
            self._unsub_continue()
        self._continue_at = when
        self._unsub_continue = async_track_point_in_utc_time(self.hass, self._async_continue, when)

    @callback
    def _async_continue(self, _now: datetime) -> None:
        self._unsub_continue = None
        self._continue_at = None
        self.config_entry.async_create_background_task(
            self.hass, self.async_refresh(), f"{self.name} continue"
        )

    async def async_shutdown(self) -> None:
        """Cancel a pending continuation."""
        if self._unsub_continue is not None:
            self._unsub_continue()
            self._unsub_continue = None
        await super().async_shutdown()


class MetadataCoordinator(FusionSolarCoordinator[Metadata]):
    """Plant list, device list and hourly plant KPIs."""

    def __init__(
        self, hass: HomeAssistant, entry: ConfigEntry, account: FusionSolarAccount
    ) -> None:
        """Initialize the coordinator."""
        super().__init__(hass, entry, account, "metadata", METADATA_INTERVAL)
        self._store = ListStore(hass, entry.entry_id)
        self._lists_wanted = False
        self._early_refresh: datetime | None = None
        self._removed: set[str] = set()
        self._later: dict[str, CALLBACK_TYPE] = {}  # background reads, by name

    async def async_start_from_store(self) -> bool:
        """Start from the stored lists; fetch them again in the background."""
        stored = await self._store.async_load(selected_plants(self.config_entry))
        if stored is None:
            return False
        self.async_set_updated_data(stored)
        self._lists_wanted = True
        self.config_entry.async_create_background_task(
            self.hass, self.async_refresh(), f"{self.name} lists"
        )
        return True

    async def _async_fetch(self) -> Metadata:
        client = self.account.client
        codes = selected_plants(self.config_entry)
        current = self.data or Metadata()
        now = dt_util.utcnow()
        if (
            self._lists_wanted
            or current.lists_fetched is None
            or now - current.lists_fetched >= LIST_REFRESH
        ):
            current = await self._async_fetch_lists(current, codes, now)
        if client.families.legacy and client.families.v7 and codes:
            # Least recently read first (the station map is kept oldest first).
            age = {code: index for index, code in enumerate(current.station)}
            queried = sorted(
                queried_plants(self.config_entry, current), key=lambda c: age.get(c, -1)
            )
            await self._async_read_station(current, queried)
        return current

    async def _async_read_station(self, current: Metadata, codes: list[str]) -> None:
        """Read the hourly plant KPIs of `codes`; held-back batches follow this hour."""
        try:
            fresh = await self.account.client.async_get_station_realtime(codes)
        except (QuotaError, PermissionDeniedError, CommunicationError) as err:
            # The lists stay good; the KPIs' own time tells when they are stale.
            LOGGER.debug("Plant KPIs skipped this hour: %s", err)
            return
        kept = {c: kpi for c, kpi in current.station.items() if c not in fresh}
        current.station = kept | fresh
        current.station_read |= dict.fromkeys(fresh, cloud_slot(dt_util.utcnow()))
        if fresh.pending and isinstance(fresh.error, QuotaError):
            pending = list(fresh.pending)
            self._run_later("plant KPIs", fresh.retry_after, lambda: self._async_continue(pending))

    async def _async_continue(self, codes: list[str]) -> None:
        """Read the plant KPIs a quota-limited batch left out (into the latest data)."""
        if self.data is not None:
            await self._async_read_station(self.data, codes)

    def _run_later(
        self, name: str, delay: float, job: Callable[[], Coroutine[Any, Any, None]]
    ) -> None:
        """Run `job` in the background after `delay` seconds, unless `name` is pending."""
        if name in self._later:
            return

        @callback
        def _run(_now: datetime) -> None:
            del self._later[name]
            self.config_entry.async_create_background_task(self.hass, job(), name)

        self._later[name] = async_call_later(self.hass, max(delay, 1.0), _run)

    async def async_shutdown(self) -> None:
        """Cancel the pending reads."""
        for cancel in self._later.values():
            cancel()
        self._later.clear()
        await super().async_shutdown()

    async def _async_fetch_lists(
        self, current: Metadata, codes: list[str], now: datetime
    ) -> Metadata:
        plants_read = True
        try:
            plants = await self.account.async_get_plants()
        except CommunicationError as err:  # `data: null`, 5xx: no plant list this time
            if not current.plants:
                raise
            # The known plants still get their device lists; the plant list comes later.
            LOGGER.debug("%s: plant list not read (%s); known plants kept", self.name, err)
            plants, plants_read = list(current.plants.values()), False
        listed = {plant.code: plant for plant in plants if plant.code in codes}
        # A plant gone from the account would make the device list fail for all. Plants
        # without known devices first: a list the quota cuts short goes on there next time.
        device_codes = [code for code in codes if code in listed] if listed else codes
        with_devices = {device.plant_code for device in current.devices.values()}
        device_codes.sort(key=with_devices.__contains__)
        try:
            devices = await self._async_get_devices(device_codes)
        except CommunicationError as err:  # `data: null`, 5xx: never a degraded list
            if not current.devices:
                raise
            LOGGER.debug("%s: device list not read (%s); known lists kept", self.name, err)
            self._lists_wanted = True  # asked again a quota window later, once
            self._run_later("lists", RETRY_AFTER_SECONDS, self.async_refresh)
            return current
        metadata, removed = merge_lists(
            current, listed, devices, codes, now, pending=devices.pending
        )
        if not plants_read:  # the plant list did not come: fetched again next time
            metadata.lists_fetched = current.lists_fetched
        self._lists_wanted = False
        if removed:
            LOGGER.info("%s: removing what the account no longer lists: %s", self.name, removed)
        if metadata.known & self._removed:
            # Entities of a removed device come back with a reload.
            self.hass.config_entries.async_schedule_reload(self.config_entry.entry_id)
        self._removed |= removed
        await self._store.async_save(metadata)
        return metadata

    async def _async_get_devices(self, plant_codes: list[str]) -> DeviceList:
        if not plant_codes:
            return DeviceList()
        return await self.account.client.async_get_devices(plant_codes)

    async def async_refresh_lists(self) -> None:
        """Fetch plant and device lists again (options changed, new devices)."""
        self._lists_wanted = True
        self.account.forget_plants()
        await self.async_request_refresh()

    async def async_refresh_lists_early(self) -> bool:
        """Fetch the lists now: the cloud refused a plant or device. At most every 30 min.

        Return whether new lists came.
        """
        now = dt_util.utcnow()
        previous = self._early_refresh
        if previous is not None and now - previous < EARLY_LIST_REFRESH:
            return False
        self._early_refresh = now
        before = self.data.lists_fetched if self.data is not None else None
        self._lists_wanted = True
        self.account.forget_plants()
        await self.async_refresh()
        if self.data is None or self.data.lists_fetched in (None, before):
            self._early_refresh = previous  # not fetched (quota): try again next time
            return False
        return True

    def stop_polling_absent(self, dev_ids: set[str]) -> bool:
        """Stop polling refused devices (20008) the lists no longer have; return if any."""
        data = self.data
        gone = [
            key for key, dev in data.devices.items() if dev.id in dev_ids and key in data.absent
        ]
        for key in gone:
            data.retained[key] = data.devices.pop(key)
        return bool(gone)


@dataclass(frozen=True, slots=True)
class PlantState:
    """The latest real-time values of one plant."""

    realtime: PlantRealtimeKpi | None
    station: StationRealtimeKpi | None
    updated: datetime
    derived: PlantRealtimeKpi | None = None  # from the devices, without V7 (powerflow.py)
    # When `station` was read: hourly with V7, else `updated`.
    station_updated: datetime | None = None

    @property
    def flow(self) -> PlantRealtimeKpi | None:
        """The power flow: V7's, else the one derived from the plant's devices."""
        return self.realtime or self.derived


class PlantCoordinator(_CloudRefreshCoordinator[dict[str, PlantState]]):
    """Real-time plant power flow, every cloud refresh.

    With V7 the legacy plant KPIs (income) come from the hourly metadata;
    without V7 they are the real-time source and are fetched every refresh, and the
    power flow is derived from the devices' data whenever it changes.
    """

    _devices: DeviceCoordinator | None = None

    def _v7_realtime_allowed(self) -> bool:
        client = self.account.client
        return client.families.v7 and Endpoint.VPP_PLANT_REALTIME not in client.refused_endpoints

    @property
    def read_every(self) -> timedelta:
        """Return how often each plant is read: every refresh unless its batches need more."""
        endpoint = (
            Endpoint.VPP_PLANT_REALTIME
            if self._v7_realtime_allowed()
            else Endpoint.STATION_REAL_KPI
        )
        plants = queried_plants(self.config_entry, self._metadata.data)
        batches = math.ceil(len(plants) / 100)
        return refreshes_for(self.account.governor.cycle(endpoint, batches))

    @property
    def hourly_stale_after(self) -> timedelta:
        """Return when the legacy plant KPIs (income) are stale: hourly with V7."""
        if self._v7_realtime_allowed():
            return self._metadata.stale_after
        return self.stale_after

    def derive_power_flow_from(self, devices: DeviceCoordinator) -> CALLBACK_TYPE:
        """Derive the power flow from the devices where V7 gives none; returns the unsubscribe."""
        self._devices = devices
        self._async_devices_updated()
        return devices.async_add_listener(self._async_devices_updated)

    @callback
    def _async_devices_updated(self) -> None:
        """New device data: derive the plants' power flow again (V7 has none here)."""
        if not self.data:
            return
        states = {
            code: replace(state, derived=self._derived(code)) for code, state in self.data.items()
        }
        if states != self.data:
            # Not async_set_updated_data: that would move this coordinator's own poll.
            self.data = states
            self.async_update_listeners()

    def _derived(self, code: str) -> PlantRealtimeKpi | None:
        """The power flow of a plant from its devices' latest data (None with V7)."""
        if self._devices is None or self._v7_realtime_allowed():
            return None
        latest = self._devices.data or {}
        readings = [
            (device, state.kpi if (state := latest.get(key)) is not None else None)
            for key, device in self._metadata.data.devices.items()
            if device.plant_code == code
        ]
        return derive_power_flow(code, readings) if readings else None

    async def _async_fetch(self) -> dict[str, PlantState]:
        try:
            return await self._async_fetch_listed()
        except QuotaError as err:
            if self.last_success is not None:
                raise
            # No data yet: a quota wait must not fail the setup (Home Assistant would
            # set the entry up again every few seconds, fetching the lists each time).
            self._continue_when_allowed(err.retry_after, started=False)
            return {}

    async def _async_fetch_listed(self) -> dict[str, PlantState]:
        """Fetch; a plant refused (20007) fetches the lists early and drops it."""
        codes = queried_plants(self.config_entry, self._metadata.data)
        try:
            return await self._async_fetch_states()
        except UnauthorizedResourceError:
            if not await self._metadata.async_refresh_lists_early():
                raise
            if queried_plants(self.config_entry, self._metadata.data) == codes:
                raise
        return await self._async_fetch_states()

    async def _async_fetch_states(self) -> dict[str, PlantState]:
        client = self.account.client
        codes = queried_plants(self.config_entry, self._metadata.data)
        updated = cloud_slot(dt_util.utcnow())
        states = dict(self.data or {})
        # Not yet read in this refresh, oldest first: plants a quota-limited batch left
        # pending come first, when the governor allows (``_continue_pending``).
        codes = [code for code in codes if code not in states or states[code].updated < updated]
        codes.sort(key=lambda code: states[code].updated if code in states else _EPOCH)
        if not codes:
            return states
        if self._v7_realtime_allowed():
            hourly, read = self._metadata.data.station, self._metadata.data.station_read
            try:
                realtime = await client.async_get_plant_realtime(codes)
            except UnauthorizedResourceError:
                raise
            except PermissionDeniedError:
                realtime = None  # refused to this account: legacy KPIs from now on
            if realtime is not None:
                self._retry_if_empty(codes, realtime)
                self._continue_pending(realtime)
                for code, kpi in realtime.items():
                    states[code] = PlantState(
                        kpi,
                        station=hourly.get(code),
                        updated=updated,
                        station_updated=read.get(code),
                    )
                return states
        if client.families.legacy:
            station = await client.async_get_station_realtime(codes)
            self._retry_if_empty(codes, station)
            self._continue_pending(station)
            for code, legacy in station.items():
                states[code] = PlantState(
                    realtime=None,
                    station=legacy,
                    updated=updated,
                    derived=self._derived(code),
                    station_updated=updated,
                )
        return states

    def _retry_if_empty(self, codes: list[str], answer: Mapping[str, object]) -> None:
        """Ask again once after `data: null`: it is not this refresh's data."""
        if codes and not answer:
            self._retry_once()

    def _continue_pending(self, answer: Incomplete) -> None:
        """Plants a batch left out for quota: read them in this refresh when it allows."""
        if answer.pending and isinstance(answer.error, QuotaError):
            self._continue_later(answer.retry_after)


@dataclass(frozen=True, slots=True)
class DeviceState:
    """The latest real-time values of one device."""

    kpi: DeviceRealtimeKpi
    updated: datetime


class DeviceCoordinator(_CloudRefreshCoordinator[dict[str, DeviceState]]):
    """Real-time device KPIs, one call per device type and 100 devices."""

    def __init__(
        self, hass: HomeAssistant, entry: ConfigEntry, metadata: MetadataCoordinator
    ) -> None:
        """Initialize the coordinator (the account is the metadata's)."""
        super().__init__(hass, entry, metadata.account, metadata, "devices")
        self._group_fetched: dict[tuple[str, ...], datetime] = {}
        self._group_interval: dict[tuple[str, ...], timedelta] = {}
        self._group_retried: dict[tuple[str, ...], datetime] = {}
        self._group_backoff: dict[tuple[str, ...], tuple[datetime, timedelta]] = {}
        self.refused_types: dict[int, FusionSolarError] = {}

    @property
    def enabled(self) -> bool:
        """Return whether the user wants device data polled."""
        return bool(self.config_entry.options.get(CONF_POLL_DEVICES, DEFAULT_POLL_DEVICES))

    def groups(self) -> list[tuple[int, tuple[str, ...]]]:
        """Return the request groups: one device type, at most 100 devices each."""
        if not self.enabled:
            return []
        devices = self._metadata.data.devices.values()
        return [
            (dev_type, tuple(ids))
            for dev_type, ids in FusionSolarClient.device_realtime_groups(devices)
        ]

    @property
    def read_every(self) -> timedelta:
        """Return how often each device group is read: its turn in the quota."""
        calls = len(self.groups())
        return refreshes_for(self.account.governor.cycle(Endpoint.DEV_REAL_KPI, calls))

    def _started_this_refresh(self) -> bool:
        """Whether a group was fetched since the last cloud refresh."""
        slot = cloud_slot(dt_util.utcnow())
        return any(fetched >= slot for fetched in self._group_fetched.values())

    def _pending(self, slot: datetime) -> list[tuple[int, tuple[str, ...]]]:
        """Groups not fetched in this cloud refresh and not backed off, oldest first."""
        now = dt_util.utcnow()
        pending = [
            group
            for group in self.groups()
            if self._group_fetched.get(group[1], _EPOCH) < slot
            and self._group_backoff.get(group[1], (_EPOCH, GROUP_BACKOFF))[0] <= now
        ]
        # Before its first read here, a group's turn is when it was read before a reload.
        reads = self.account.device_reads
        pending.sort(
            key=lambda group: self._group_fetched.get(group[1], reads.get(group[1], _EPOCH))
        )
        return pending

    async def _async_fetch(self) -> dict[str, DeviceState]:
        states = dict(self.data or {})
        if not self.account.client.families.legacy:
            return states
        slot = cloud_slot(dt_util.utcnow())
        keys = {device.id: key for key, device in self._metadata.data.devices.items()}
        transient: CommunicationError | None = None
        fetched = False
        lost: set[str] = set()
        for dev_type, ids in self._pending(slot):
            try:
                kpis = await self.account.client.async_get_device_realtime_group(dev_type, ids)
            except QuotaError as err:  # would exceed, or refused: the governor learned
                started = fetched or self._started_this_refresh()
                self._continue_when_allowed(err.retry_after, started=started)
                break
            except CommunicationError as err:  # likely for every group: once more later
                transient = err
                break
            except (InvalidRequestError, UnauthorizedResourceError) as err:
                self._refuse_group(dev_type, ids, err)
                if isinstance(err, UnauthorizedResourceError):
                    lost.update(ids)
                continue
            if not kpis and self._retry_group(ids, slot):
                continue  # `data: null`: not this refresh's data
            fetched = True
            self._group_backoff.pop(ids, None)
            self._accept_type(dev_type)
            for dev_id, kpi in kpis.items():
                if (key := keys.get(dev_id)) is not None:
                    states[key] = DeviceState(kpi=kpi, updated=slot)
            self._record_group(ids, slot)
        if lost:
            refreshed = await self._metadata.async_refresh_lists_early()
            if self._metadata.stop_polling_absent(lost) or refreshed:
                self._continue_later(0)  # the groups without the lost devices
        if transient is not None:
            if not fetched:
                raise transient
            self._retry_once()
        return states

    def _retry_group(self, ids: tuple[str, ...], slot: datetime) -> bool:
        """Ask for a group once more within this cloud refresh, after the quota window."""
        if self._group_retried.get(ids) == slot:
            return False
        self._group_retried[ids] = slot
        self._continue_later(RETRY_AFTER_SECONDS)
        return True

    def _refuse_group(self, dev_type: int, ids: tuple[str, ...], err: FusionSolarError) -> None:
        """Back off a group the cloud refuses; say once which device type it is."""
        _, previous = self._group_backoff.get(ids, (_EPOCH, GROUP_BACKOFF / 2))
        backoff = min(previous * 2, GROUP_BACKOFF_MAX)
        self._group_backoff[ids] = (dt_util.utcnow() + backoff, backoff)
        if isinstance(err, UnauthorizedResourceError):
            # A device the account lost, not its type: the lists tell which.
            LOGGER.info("%s: a device of type %s is refused (%s)", self.name, dev_type, err)
            return
        if dev_type not in self.refused_types:
            LOGGER.warning(
                "%s: the cloud refuses real-time data of device type %s (%s); asking again "
                "in %s, the other devices keep updating",
                self.name,
                dev_type,
                err,
                backoff,
            )
        self.refused_types[dev_type] = err

    def _accept_type(self, dev_type: int) -> None:
        if self.refused_types.pop(dev_type, None) is not None:
            LOGGER.info("%s: real-time data of device type %s comes again", self.name, dev_type)

    @property
    def achieved_interval(self) -> timedelta | None:
        """Return the longest recent interval between two fetches of a group."""
        return max(self._group_interval.values(), default=None)

    def _record_group(self, ids: tuple[str, ...], slot: datetime) -> None:
        if (previous := self._group_fetched.get(ids)) is not None:
            self._group_interval[ids] = slot - previous
        self._group_fetched[ids] = self.account.device_reads[ids] = slot


_EPOCH = datetime.min.replace(tzinfo=dt_util.UTC)
