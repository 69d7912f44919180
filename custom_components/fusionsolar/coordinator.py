"""Coordinators: what is polled, when, and how that stays within quota.

* `MetadataCoordinator` (hourly): plant and device lists once a day (the spec
  recommends it), legacy plant KPIs (yield, income) every hour.
* `PlantCoordinator` (every cloud refresh): `vpp/plantRealtimeKpi` for all
  selected plants in batches of 100, or the legacy plant KPIs without V7.
* `DeviceCoordinator` (every cloud refresh): `getDevRealKpi` per device type in
  batches of 100. When the account's quota cannot fetch every group in one go,
  it fetches what it may now and continues when the governor allows.

Both refresh coordinators run a little after each 5-minute boundary, when the
cloud has new data. All share the account's quota governor.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryAuthFailed
from homeassistant.helpers.event import async_call_later
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util

from .api import (
    AuthenticationError,
    Device,
    DeviceList,
    DeviceRealtimeKpi,
    Endpoint,
    FusionSolarClient,
    FusionSolarError,
    PermissionDeniedError,
    Plant,
    PlantRealtimeKpi,
    QuotaError,
    StationRealtimeKpi,
)
from .const import (
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

if TYPE_CHECKING:
    from .account import FusionSolarAccount
    from .alarms import AlarmCoordinator
    from .control import DispatchTracker
    from .history import HistoryImporter

LIST_REFRESH = timedelta(days=1)


@dataclass(kw_only=True)
class FusionSolarRuntimeData:
    """Everything a loaded config entry holds."""

    account: FusionSolarAccount
    metadata: MetadataCoordinator
    plants: PlantCoordinator
    devices: DeviceCoordinator
    dispatch: DispatchTracker
    alarms: AlarmCoordinator | None = None
    history: HistoryImporter | None = None


type FusionSolarConfigEntry = ConfigEntry[FusionSolarRuntimeData]


def cloud_slot(moment: datetime) -> datetime:
    """Return the start of the 5-minute cloud refresh slot containing `moment`."""
    return moment.replace(minute=moment.minute - moment.minute % 5, second=0, microsecond=0)


def until_next_poll(now: datetime) -> timedelta:
    """Return the wait until shortly after the next cloud refresh."""
    return cloud_slot(now) + CLOUD_REFRESH + POLL_OFFSET - now


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

    config_entry: FusionSolarConfigEntry

    def __init__(
        self,
        hass: HomeAssistant,
        entry: FusionSolarConfigEntry,
        account: FusionSolarAccount,
        name: str,
        update_interval: timedelta,
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

    async def _async_fetch(self) -> DataT:
        """Fetch new data from the cloud."""
        raise NotImplementedError

    async def _async_update_data(self) -> DataT:
        """Fetch, keeping the last data while it is fresh enough."""
        try:
            data = await self._async_fetch()
        except AuthenticationError as err:
            raise ConfigEntryAuthFailed(
                translation_domain=DOMAIN, translation_key="authentication_failed"
            ) from err
        except FusionSolarError as err:
            return self._keep_or_fail(err)
        finally:
            self.account.async_schedule_save()
        if self._in_trouble:
            LOGGER.info("%s: the cloud answers again", self.name)
            self._in_trouble = False
        self.last_success = dt_util.utcnow()
        return data

    def _keep_or_fail(self, err: FusionSolarError) -> DataT:
        """Keep fresh data through transient trouble; fail once it is stale."""
        # Hourly data is not stale after 20 minutes: keep it for two of its intervals.
        keep = max(STALE_AFTER, 2 * (self.update_interval or STALE_AFTER))
        fresh = self.last_success is not None and dt_util.utcnow() - self.last_success < keep
        if fresh and self.data is not None:
            if not self._in_trouble:
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
        entry: FusionSolarConfigEntry,
        account: FusionSolarAccount,
        metadata: MetadataCoordinator,
        name: str,
    ) -> None:
        """Initialize the coordinator; its first poll follows the next cloud refresh."""
        super().__init__(hass, entry, account, name, until_next_poll(dt_util.utcnow()))
        self._metadata = metadata

    async def _async_update_data(self) -> DataT:
        try:
            return await super()._async_update_data()
        finally:
            self.update_interval = until_next_poll(dt_util.utcnow())


@dataclass(slots=True)
class Metadata:
    """Plants, devices and the slow legacy plant KPIs."""

    plants: dict[str, Plant] = field(default_factory=dict)
    devices: dict[str, Device] = field(default_factory=dict)
    station: dict[str, StationRealtimeKpi] = field(default_factory=dict)
    lists_fetched: datetime | None = None


class MetadataCoordinator(FusionSolarCoordinator[Metadata]):
    """Plant list, device list and hourly plant KPIs."""

    def __init__(
        self, hass: HomeAssistant, entry: FusionSolarConfigEntry, account: FusionSolarAccount
    ) -> None:
        """Initialize the coordinator."""
        super().__init__(hass, entry, account, "metadata", METADATA_INTERVAL)

    async def _async_fetch(self) -> Metadata:
        client = self.account.client
        codes = selected_plants(self.config_entry)
        current = self.data or Metadata()
        now = dt_util.utcnow()
        if current.lists_fetched is None or now - current.lists_fetched >= LIST_REFRESH:
            plants = await self.account.async_get_plants()
            listed = {plant.code: plant for plant in plants if plant.code in codes}
            # A plant gone from the account would make the device list fail for all.
            device_codes = [code for code in codes if code in listed] if listed else codes
            devices = await client.async_get_devices(device_codes) if device_codes else DeviceList()
            # Plants whose list did not arrive (quota, data: null) keep their devices.
            kept = [d for d in current.devices.values() if d.plant_code in devices.pending]
            current = Metadata(
                plants=listed,
                devices={device.key: device for device in (*kept, *devices)},
                station=current.station,
                lists_fetched=now if devices.complete else current.lists_fetched,
            )
        if client.families.legacy and client.families.v7 and codes:
            try:
                current.station = current.station | await client.async_get_station_realtime(
                    queried_plants(self.config_entry, current)
                )
            except (QuotaError, PermissionDeniedError) as err:
                LOGGER.debug("Plant KPIs skipped this hour: %s", err)
        return current

    async def async_refresh_lists(self) -> None:
        """Fetch plant and device lists again (options changed, new devices)."""
        if self.data is not None:
            self.data.lists_fetched = None
        self.account.forget_plants()
        await self.async_request_refresh()


@dataclass(frozen=True, slots=True)
class PlantState:
    """The latest real-time values of one plant."""

    realtime: PlantRealtimeKpi | None
    station: StationRealtimeKpi | None
    updated: datetime


class PlantCoordinator(_CloudRefreshCoordinator[dict[str, PlantState]]):
    """Real-time plant power flow, every cloud refresh.

    With V7 the legacy plant KPIs (income) come from the hourly metadata;
    without V7 they are the real-time source and are fetched every refresh.
    """

    def _v7_realtime_allowed(self) -> bool:
        client = self.account.client
        return client.families.v7 and Endpoint.VPP_PLANT_REALTIME not in client.refused_endpoints

    async def _async_fetch(self) -> dict[str, PlantState]:
        try:
            return await self._async_fetch_states()
        except QuotaError:
            if self.last_success is not None:
                raise
            # No data yet: a quota wait must not fail the setup (Home Assistant would
            # set the entry up again every few seconds, fetching the lists each time).
            return {}

    async def _async_fetch_states(self) -> dict[str, PlantState]:
        client = self.account.client
        codes = queried_plants(self.config_entry, self._metadata.data)
        updated = cloud_slot(dt_util.utcnow())
        states = dict(self.data or {})
        # Oldest first: plants a quota-limited batch left pending come first next time.
        codes.sort(key=lambda code: states[code].updated if code in states else _EPOCH)
        if self._v7_realtime_allowed():
            hourly = self._metadata.data.station
            try:
                realtime = await client.async_get_plant_realtime(codes)
            except PermissionDeniedError:
                realtime = None  # refused to this account: legacy KPIs from now on
            if realtime is not None:
                for code, kpi in realtime.items():
                    states[code] = PlantState(kpi, station=hourly.get(code), updated=updated)
                return states
        if client.families.legacy:
            station = await client.async_get_station_realtime(codes)
            for code, legacy in station.items():
                states[code] = PlantState(realtime=None, station=legacy, updated=updated)
        return states


@dataclass(frozen=True, slots=True)
class DeviceState:
    """The latest real-time values of one device."""

    kpi: DeviceRealtimeKpi
    updated: datetime


class DeviceCoordinator(_CloudRefreshCoordinator[dict[str, DeviceState]]):
    """Real-time device KPIs, one call per device type and 100 devices."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: FusionSolarConfigEntry,
        account: FusionSolarAccount,
        metadata: MetadataCoordinator,
    ) -> None:
        """Initialize the coordinator."""
        super().__init__(hass, entry, account, metadata, "devices")
        self._group_fetched: dict[tuple[str, ...], datetime] = {}
        self._group_interval: dict[tuple[str, ...], timedelta] = {}
        self._unsub_continue: CALLBACK_TYPE | None = None

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

    async def _async_fetch(self) -> dict[str, DeviceState]:
        states = dict(self.data or {})
        if not self.account.client.families.legacy:
            return states
        slot = cloud_slot(dt_util.utcnow())
        keys = {device.id: key for key, device in self._metadata.data.devices.items()}
        pending = [g for g in self.groups() if self._group_fetched.get(g[1], _EPOCH) < slot]
        pending.sort(key=lambda group: self._group_fetched.get(group[1], _EPOCH))
        for dev_type, ids in pending:
            try:
                kpis = await self.account.client.async_get_device_realtime_group(dev_type, ids)
            except QuotaError as err:  # would exceed, or refused: the governor learned
                self._continue_later(err.retry_after)
                break
            for dev_id, kpi in kpis.items():
                if (key := keys.get(dev_id)) is not None:
                    states[key] = DeviceState(kpi=kpi, updated=slot)
            self._record_group(ids, slot)
        return states

    @property
    def achieved_interval(self) -> timedelta | None:
        """Return the longest recent interval between two fetches of a group."""
        return max(self._group_interval.values(), default=None)

    def _record_group(self, ids: tuple[str, ...], slot: datetime) -> None:
        if (previous := self._group_fetched.get(ids)) is not None:
            self._group_interval[ids] = slot - previous
        self._group_fetched[ids] = slot

    def _continue_later(self, delay: float) -> None:
        """Fetch the remaining groups as soon as the quota allows."""
        if self._unsub_continue is not None:
            self._unsub_continue()
        self._unsub_continue = async_call_later(self.hass, max(delay, 1.0), self._async_continue)

    @callback
    def _async_continue(self, _now: datetime) -> None:
        self._unsub_continue = None
        self.config_entry.async_create_background_task(
            self.hass, self.async_refresh(), f"{self.name} continue"
        )

    async def async_shutdown(self) -> None:
        """Cancel a pending continuation."""
        if self._unsub_continue is not None:
            self._unsub_continue()
            self._unsub_continue = None
        await super().async_shutdown()


_EPOCH = datetime.min.replace(tzinfo=dt_util.UTC)
