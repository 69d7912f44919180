"""Battery and inverter control: commands, their errors, forced-task tracking.

Every control command (forced charge/discharge, stop, depth of discharge, inverter
on/off) goes through the `async_*` helpers here: they check that the account has the
V7 API and the values, log the command once (at debug, devices by their DN: names often
hold serial numbers), and turn client errors into translated Home Assistant errors that
carry the spec's meaning of the failCode. Commands to one plant are serialised
(`plant_locks`), so "is a task running?" and the command that follows cannot interleave
with another command to that plant.

A charge/discharge command whose answer is lost (the connection dropped after sending,
a timeout, a malformed answer, or a resent attempt refused as a duplicate) is never
sent again by us: the task's status is asked with the same request ID. A task the
cloud knows is tracked as if the answer had come; a task it does not know was not
received (the original error is raised); when the status cannot be had either, the
user is told that the outcome is unknown and the task is tracked until the cloud
answers for it.

`DispatchTracker` follows the forced charge/discharge tasks of one config entry. The
cloud updates a task's status every 3 minutes, so the tracker polls
`vpp/chargeAndDischargeStatus` at that pace (one call per running request, far within
its 100/min quota) until the task completes or times out, then fires
`fusionsolar_dispatch_finished` once per plant. Tasks are stored, so a task running
across a restart is followed to its end. The tracker also remembers the depth of
discharge the cloud last applied to each battery (`setDOD`), until the device list
reports it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Iterable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
)
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.helpers.storage import Store
from homeassistant.helpers.translation import async_get_exception_message
from homeassistant.util import dt as dt_util
from homeassistant.util.hass_dict import HassKey

from .api import (
    ApiFamilyUnavailableError,
    AuthenticationError,
    CommunicationError,
    Device,
    DeviceKind,
    DispatchCommand,
    DispatchMode,
    DispatchResult,
    DispatchState,
    DispatchStatus,
    DispatchTask,
    FusionSolarClient,
    FusionSolarError,
    InvalidRequestError,
    PermissionDeniedError,
    QuotaError,
)
from .const import DOMAIN, EVENT_DISPATCH_FINISHED, LOGGER
from .coordinator import FusionSolarConfigEntry
from .entity import plant_device_info

if TYPE_CHECKING:
    from .account import FusionSolarAccount

# The cloud updates a task's status every 3 minutes and times tasks out after 24 h.
POLL_INTERVAL = timedelta(minutes=3)
GIVE_UP_AFTER = timedelta(hours=25)
STORAGE_VERSION = 1
SAVE_DELAY = 10

# failCodes of the control endpoints with their own message (spec §5.3.6-§5.3.9).
_FAIL_CODE_KEYS: Mapping[int, str] = {
    20045: "unauthorized_plant",
    20046: "unauthorized_device",
    20048: "duplicate_request",
    20049: "dispatch_failed",
    20050: "task_not_found",
    20051: "dod_failed",
    20052: "on_off_failed",
    20053: "soc_control_not_supported",
}
DUPLICATE_REQUEST = 20048
TASK_NOT_FOUND = 20050

# One lock per plant code, shared by every entry: commands to a plant never interleave.
PLANT_LOCKS: HassKey[dict[str, asyncio.Lock]] = HassKey(f"{DOMAIN}_plant_locks")


class DispatchPhase(StrEnum):
    """The state of a plant's forced charge/discharge task, as the sensor shows it."""

    IDLE = "idle"
    IN_PROGRESS = "in_progress"
    COMPLETE = "complete"
    TIMEOUT = "timeout"
    STOPPED = "stopped"


_PHASES: Mapping[DispatchState, DispatchPhase] = {
    DispatchState.COMPLETE: DispatchPhase.COMPLETE,
    DispatchState.IN_PROGRESS: DispatchPhase.IN_PROGRESS,
    DispatchState.TIMEOUT: DispatchPhase.TIMEOUT,
}


# ----------------------------------------------------------------------------- errors


def validation_error(key: str, **placeholders: object) -> ServiceValidationError:
    """Build a translated error for invalid input (nothing was sent)."""
    return ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key=key,
        translation_placeholders={name: str(value) for name, value in placeholders.items()},
    )


def _number(value: float) -> str:
    """Show a limit as people write it: 100, not 100.0."""
    return str(int(value)) if value == int(value) else str(value)


def checked(field: str, value: float, low: float, high: float) -> float:
    """Return `value` if it lies in [low, high] (NaN never does); refuse it otherwise.

    The error's key is `<field>_out_of_range`: its text names the field as the action
    shows it, with the unit.
    """
    if not low <= value <= high:
        raise validation_error(f"{field}_out_of_range", min=_number(low), max=_number(high))
    return value


def checked_whole(field: str, value: float, low: float, high: float) -> int:
    """Return `value` as an int if it is a whole number in [low, high]; refuse it otherwise."""
    if checked(field, value, low, high) != int(value):
        raise validation_error(f"{field}_out_of_range", min=_number(low), max=_number(high))
    return int(value)


def checked_dod(dod: float) -> int:
    """Return a depth of discharge (whole %, 0-100) or refuse it with a translated error."""
    return checked_whole("depth_of_discharge", dod, 0, 100)


def control_error(err: FusionSolarError, devices: str) -> HomeAssistantError:
    """Translate a client error of a control command, keeping the failCode's meaning."""
    if (specific := _FAIL_CODE_KEYS.get(err.fail_code or 0)) is not None:
        key = specific
    elif isinstance(err, ApiFamilyUnavailableError):
        key = "control_unavailable"
    elif isinstance(err, QuotaError):
        key = "control_quota"
    elif isinstance(err, AuthenticationError):
        key = "authentication_failed"
    elif isinstance(err, PermissionDeniedError):
        key = "control_permission"
    elif isinstance(err, InvalidRequestError):
        key = "control_rejected"
    else:
        key = "control_communication"
    return HomeAssistantError(
        translation_domain=DOMAIN,
        translation_key=key,
        translation_placeholders={
            "code": "-" if err.fail_code is None else str(err.fail_code),
            "message": err.message,
            "devices": devices,
        },
    )


async def _run[T](command: Awaitable[T], devices: str) -> T:
    """Await a client command, translating its errors."""
    try:
        return await command
    except FusionSolarError as err:
        raise control_error(err, devices) from err


def control_client(entry: FusionSolarConfigEntry) -> FusionSolarClient:
    """Return the entry's client, or refuse when the account has no V7 (no control)."""
    client = entry.runtime_data.account.client
    if not client.families.v7:
        raise validation_error("control_unavailable")
    return client


def device_label(device: Device) -> str:
    """Name a device in errors, as the cloud names it."""
    return device.name or device.dn or device.key


def log_label(device: Device) -> str:
    """Name a device in logs by its DN: names and keys often hold a serial number."""
    return device.dn or "(no DN)"


@asynccontextmanager
async def plant_locks(hass: HomeAssistant, plant_codes: Iterable[str]) -> AsyncIterator[None]:
    """Hold the control locks of plants (in a fixed order, so never a deadlock)."""
    locks = hass.data.setdefault(PLANT_LOCKS, {})
    async with AsyncExitStack() as stack:
        for code in sorted(set(plant_codes)):
            await stack.enter_async_context(locks.setdefault(code, asyncio.Lock()))
        yield


def current_dod(entry: FusionSolarConfigEntry, key: str) -> float | None:
    """Return a battery's DoD: the one the cloud applied, until the device list reports one."""
    metadata = entry.runtime_data.metadata.data
    applied = entry.runtime_data.dispatch.dod.get(key)
    if applied is not None and (
        metadata.lists_fetched is None or metadata.lists_fetched <= applied.at
    ):
        return applied.value
    device = metadata.devices.get(key)
    return None if device is None else device.battery_dod


def end_of_discharge(entry: FusionSolarConfigEntry, plant_code: str) -> float | None:
    """Return the highest end-of-discharge SOC (100 % - DoD) of a plant's batteries."""
    levels = [
        100 - dod
        for device in entry.runtime_data.metadata.data.devices.values()
        if device.kind is DeviceKind.BATTERY
        and device.plant_code == plant_code
        and (dod := current_dod(entry, device.key)) is not None
    ]
    return max(levels, default=None)


# ----------------------------------------------------------------------------- commands


@dataclass(frozen=True, slots=True)
class DispatchOutcome:
    """A delivered charge/discharge command; `note` tells how it was confirmed if unusual."""

    command: DispatchCommand
    note: str | None = None


async def async_dispatch(
    entry: FusionSolarConfigEntry,
    plant_codes: list[str],
    mode: DispatchMode,
    *,
    target_soc: float | None = None,
    duration: int | None = None,
    power: int | None = None,
) -> DispatchOutcome:
    """Send a forced charge, discharge or stop to plants, and track the task.

    Callers hold the plants' `plant_locks` across their checks and this call.
    """
    client = control_client(entry)
    plants = ", ".join(plant_codes)
    settings = {"target SOC %": target_soc, "minutes": duration, "W": power}
    request_id = client.new_request_id()
    LOGGER.debug(
        "%s: %s of %s %s (request %s)",
        entry.title,
        "stop" if mode is DispatchMode.STOP else f"forced {mode.name.lower()}",
        plants,
        {name: value for name, value in settings.items() if value is not None},
        request_id,
    )
    status: DispatchStatus | None = None
    try:
        command = await client.async_charge_discharge(
            plant_codes,
            mode,
            target_soc=target_soc,
            duration_min=duration,
            power_w=power,
            request_id=request_id,
        )
    except FusionSolarError as err:
        if not _answer_lost(err):
            raise control_error(err, plants) from err
        command, status = await _async_confirm(entry, plant_codes, mode, request_id, err)
    if missed := set(plant_codes) - delivered(command):
        LOGGER.warning(
            "%s: the command was not delivered to %s",
            entry.title,
            ", ".join(sorted(missed)),
        )
    entry.runtime_data.dispatch.async_track(command, mode)
    if status is None:
        return DispatchOutcome(command)
    entry.runtime_data.dispatch.async_apply(status)
    note = async_get_exception_message(
        DOMAIN, "answer_lost_task_confirmed", {"request_id": str(request_id)}
    )
    return DispatchOutcome(command, note)


def _answer_lost(err: FusionSolarError) -> bool:
    """Return whether a command may have been received despite the error.

    A duplicate request ID (20048) for an ID chosen just now means that a first,
    unanswered attempt arrived (a client resending after a dropped connection).
    """
    return isinstance(err, CommunicationError) or err.fail_code == DUPLICATE_REQUEST


async def _async_confirm(
    entry: FusionSolarConfigEntry,
    plant_codes: list[str],
    mode: DispatchMode,
    request_id: int,
    err: FusionSolarError,
) -> tuple[DispatchCommand, DispatchStatus]:
    """Ask the status of a command whose answer was lost; never send it again.

    Return the command as the cloud knows it, and its status. Raise the original error
    if the cloud does not know it, or "outcome unknown" (the task is tracked) if it
    cannot tell.
    """
    plants = ", ".join(plant_codes)
    LOGGER.warning(
        "%s: no answer to request %s for %s (%s); asking the cloud whether it arrived",
        entry.title,
        request_id,
        plants,
        err,
    )
    tracker = entry.runtime_data.dispatch
    try:
        status = await entry.runtime_data.account.client.async_charge_discharge_status(request_id)
    except FusionSolarError as status_err:
        if status_err.fail_code == TASK_NOT_FOUND:
            raise control_error(err, plants) from err
        LOGGER.debug("Status of request %s unavailable: %s", request_id, status_err)
        if mode is not DispatchMode.STOP:
            tracker.async_track(_assumed_command(request_id, plant_codes), mode)
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="outcome_unknown",
            translation_placeholders={"devices": plants, "request_id": str(request_id)},
        ) from err
    only = plant_codes[0] if len(plant_codes) == 1 else None
    known = {task.plant_code or only for task in status.entries}
    return _assumed_command(request_id, [code for code in plant_codes if code in known]), status


def _assumed_command(request_id: int, plant_codes: Iterable[str]) -> DispatchCommand:
    """Describe a command the cloud received for plants (from its status, not its answer)."""
    return DispatchCommand(
        request_id,
        tuple(DispatchResult(code, None, None, True) for code in plant_codes),
    )


def delivered(command: DispatchCommand) -> set[str]:
    """Return the plants a charge/discharge command was delivered to."""
    return {r.plant_code for r in command.results if r.plant_code and r.success}


async def async_set_dod(
    entry: FusionSolarConfigEntry, batteries: list[Device], value: float
) -> dict[str, int | None]:
    """Set the depth of discharge of batteries; return what each applied (by key)."""
    dod = checked_dod(value)
    client = control_client(entry)
    names = ", ".join(device_label(battery) for battery in batteries)
    LOGGER.debug(
        "%s: depth of discharge %s %% for %s",
        entry.title,
        dod,
        ", ".join(log_label(battery) for battery in batteries),
    )
    results = await _run(client.async_set_dod([b.dn for b in batteries if b.dn], dod), names)
    by_dn = {result.dn: result for result in results}
    applied = {
        battery.key: result.set_dod
        for battery in batteries
        if (result := by_dn.get(battery.dn or "")) is not None and result.success is not False
    }
    entry.runtime_data.dispatch.async_dod_applied(applied)
    if failed := [device_label(b) for b in batteries if b.key not in applied]:
        raise control_error(FusionSolarError(fail_code=20051), ", ".join(failed))
    return applied


async def async_switch_inverter(entry: FusionSolarConfigEntry, inverter: Device, on: bool) -> None:
    """Start or shut down an inverter."""
    client = control_client(entry)
    name = device_label(inverter)
    LOGGER.debug(
        "%s: switching inverter %s %s", entry.title, log_label(inverter), "on" if on else "off"
    )
    results = await _run(client.async_device_on_off([inverter.dn or ""], on), name)
    if not any(result.dn == inverter.dn and result.success is not False for result in results):
        raise control_error(FusionSolarError(fail_code=20052), name)


# ----------------------------------------------------------------------------- tracking


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


@dataclass(slots=True)
class PlantDispatch:
    """The latest forced charge/discharge task of one plant.

    `phase` is what the sensor shows; `final` tells that the cloud reported the task's
    end (until then it is polled, also when stopped, for its final energy).
    """

    request_id: int
    mode: DispatchMode | None
    requested: datetime
    phase: DispatchPhase = DispatchPhase.IN_PROGRESS
    charged_energy: float | None = None
    discharged_energy: float | None = None
    start: datetime | None = None
    end: datetime | None = None
    final: bool = False

    @property
    def running(self) -> bool:
        """Return whether the task runs and was not asked to stop."""
        return self.phase is DispatchPhase.IN_PROGRESS

    def stop(self, now: datetime) -> None:
        """Mark the task stopped now (the cloud confirms it within minutes)."""
        self.phase = DispatchPhase.STOPPED
        self.start = self.start or min(self.requested, now)
        self.end = now

    @classmethod
    def from_task(cls, request_id: int, task: DispatchTask) -> PlantDispatch:
        """Describe a task the cloud reported (mode inferred from its energies)."""
        mode = DispatchMode.CHARGE if task.charged_kwh is not None else None
        if task.discharged_kwh is not None:
            mode = DispatchMode.DISCHARGE
        dispatch = cls(request_id, mode, task.start or dt_util.utcnow())
        dispatch.apply(task)
        return dispatch

    def apply(self, task: DispatchTask) -> None:
        """Take the cloud's latest status of this task (a stopped task stays stopped)."""
        if task.state is not None:
            self.final = task.state is not DispatchState.IN_PROGRESS
            if self.phase is not DispatchPhase.STOPPED:
                self.phase = _PHASES[task.state]
        self.charged_energy = task.charged_kwh
        self.discharged_energy = task.discharged_kwh
        self.start = task.start or self.start
        if self.phase is not DispatchPhase.STOPPED:
            self.end = task.end
        elif task.end is not None and self.end is not None:
            self.end = max(self.end, task.end)
        if self.start is not None and self.end is not None and self.end < self.start:
            self.end = self.start  # the cloud ends a task stopped early at its 5-minute slot

    def as_dict(self) -> dict[str, Any]:
        """Return the task as response data, event data and state attributes."""
        return {
            "request_id": self.request_id,
            "mode": None if self.mode is None else self.mode.name.lower(),
            "state": self.phase.value,
            "charged_energy": self.charged_energy,
            "discharged_energy": self.discharged_energy,
            "start": _iso(self.start),
            "end": _iso(self.end),
        }

    def to_store(self) -> dict[str, Any]:
        """Return the task as stored across restarts."""
        return {**self.as_dict(), "requested": _iso(self.requested), "final": self.final}

    @classmethod
    def from_store(cls, data: Mapping[str, Any]) -> PlantDispatch:
        """Rebuild a stored task (also as stored before tasks could show stopped)."""
        mode = data.get("mode")
        phase = DispatchPhase(data.get("state", DispatchPhase.IN_PROGRESS))
        if phase is DispatchPhase.IN_PROGRESS and data.get("stopped"):
            phase = DispatchPhase.STOPPED
        default_final = phase not in (DispatchPhase.IN_PROGRESS, DispatchPhase.STOPPED)
        return cls(
            request_id=int(data["request_id"]),
            mode=DispatchMode[mode.upper()] if mode else None,
            requested=_parse(data.get("requested")) or dt_util.utcnow(),
            phase=phase,
            charged_energy=data.get("charged_energy"),
            discharged_energy=data.get("discharged_energy"),
            start=_parse(data.get("start")),
            end=_parse(data.get("end")),
            final=bool(data.get("final", default_final)),
        )


def _parse(value: Any) -> datetime | None:
    return dt_util.parse_datetime(value) if isinstance(value, str) else None


def idle_info(plant_code: str) -> dict[str, Any]:
    """Return the response data of a plant without any task."""
    return {"plant_code": plant_code, "request_id": None, "state": DispatchPhase.IDLE.value}


@dataclass(frozen=True, slots=True)
class AppliedDod:
    """A depth of discharge the cloud applied to a battery, and when."""

    value: int
    at: datetime


class DispatchTracker:
    """Forced charge/discharge tasks and applied DoD values of one config entry."""

    def __init__(
        self, hass: HomeAssistant, entry: FusionSolarConfigEntry, account: FusionSolarAccount
    ) -> None:
        """Initialize the tracker; `async_load` restores stored tasks."""
        self._hass = hass
        self._entry = entry
        self._account = account
        self.plants: dict[str, PlantDispatch] = {}
        self.dod: dict[str, AppliedDod] = {}
        self._listeners: list[CALLBACK_TYPE] = []
        self._unsub_poll: CALLBACK_TYPE | None = None
        self._polling = False
        self._store: Store[dict[str, Any]] = Store(hass, STORAGE_VERSION, store_key(entry.entry_id))

    def running(self, plant_code: str) -> PlantDispatch | None:
        """Return the plant's task if one is running."""
        task = self.plants.get(plant_code)
        return task if task is not None and task.running else None

    def info(self, plant_code: str) -> dict[str, Any]:
        """Return the plant's latest task as response data."""
        task = self.plants.get(plant_code)
        return (
            idle_info(plant_code) if task is None else {"plant_code": plant_code, **task.as_dict()}
        )

    @callback
    def async_add_listener(self, update: CALLBACK_TYPE) -> CALLBACK_TYPE:
        """Call `update` whenever a task or an applied DoD changes."""
        self._listeners.append(update)

        @callback
        def remove() -> None:
            self._listeners.remove(update)

        return remove

    async def async_load(self) -> None:
        """Restore the tasks stored before a restart and follow the running ones."""
        stored = await self._store.async_load() or {}
        for code, data in (stored.get("plants") or {}).items():
            try:
                self.plants[code] = PlantDispatch.from_store(data)
            except (KeyError, TypeError, ValueError) as err:
                LOGGER.debug("Ignoring a stored task of %s: %s", code, err)
        self._schedule_polling()

    async def async_shutdown(self) -> None:
        """Stop polling and store the tasks (entry unloaded)."""
        if self._unsub_poll is not None:
            self._unsub_poll()
            self._unsub_poll = None
        await self._store.async_save(self._to_store())

    @callback
    def async_track(self, command: DispatchCommand, mode: DispatchMode) -> None:
        """Follow the tasks a command started, or mark the stopped ones."""
        now = dt_util.utcnow()
        for code in delivered(command):
            if mode is not DispatchMode.STOP:
                self.plants[code] = PlantDispatch(command.request_id, mode, now)
            elif (task := self.running(code)) is not None:
                task.stop(now)
        self._async_changed()

    @callback
    def async_dod_applied(self, applied: Mapping[str, int | None]) -> None:
        """Remember the DoD values the cloud applied, by battery key."""
        now = dt_util.utcnow()
        for key, value in applied.items():
            if value is not None:
                self.dod[key] = AppliedDod(value, now)
        self._notify()

    async def async_query(self, request_id: int) -> DispatchStatus:
        """Ask the cloud for a task's status now (translated errors)."""
        status = await _run(
            self._account.client.async_charge_discharge_status(request_id), str(request_id)
        )
        self.async_apply(status)
        return status

    def _active_requests(self) -> set[int]:
        return {task.request_id for task in self.plants.values() if not task.final}

    async def _async_poll(self, _now: datetime | None = None) -> None:
        """Poll every running request once (skipped while a poll still runs)."""
        if self._polling:
            return
        self._polling = True
        try:
            for request_id in sorted(self._active_requests()):
                if not await self._async_poll_request(request_id):
                    break
            self._give_up_overdue()
        finally:
            self._polling = False

    async def _async_poll_request(self, request_id: int) -> bool:
        """Poll one request; return False when the quota says to stop for now."""
        try:
            status = await self._account.client.async_charge_discharge_status(request_id)
        except QuotaError:
            return False
        except FusionSolarError as err:
            if err.fail_code == TASK_NOT_FOUND:
                LOGGER.warning("The cloud no longer knows task %s; not following it", request_id)
                self._forget(request_id)
            else:
                LOGGER.debug("Status of task %s not available now: %s", request_id, err)
            return True
        self.async_apply(status)
        return True

    @callback
    def async_apply(self, status: DispatchStatus) -> None:
        """Update the tracked plants of this request; fire events for finished ones."""
        plants = [
            code for code, task in self.plants.items() if task.request_id == status.request_id
        ]
        for entry in status.entries:
            code = entry.plant_code or (plants[0] if len(plants) == 1 else None)
            if code is None or code not in plants:
                continue
            task = self.plants[code]
            was_final = task.final
            task.apply(entry)
            if task.final and not was_final:
                self._fire_finished(code, task)
        self._async_changed()

    def _forget(self, request_id: int) -> None:
        for code in [c for c, t in self.plants.items() if t.request_id == request_id]:
            del self.plants[code]
        self._async_changed()

    def _give_up_overdue(self) -> None:
        """Time out tasks the cloud should have timed out long ago."""
        now = dt_util.utcnow()
        overdue = [
            (code, task)
            for code, task in self.plants.items()
            if not task.final and now - task.requested > GIVE_UP_AFTER
        ]
        for code, task in overdue:
            task.final = True
            if task.running:
                task.phase = DispatchPhase.TIMEOUT
            self._fire_finished(code, task)
        if overdue:
            self._async_changed()

    def _fire_finished(self, plant_code: str, task: PlantDispatch) -> None:
        LOGGER.info(
            "%s: forced charge/discharge task %s of %s: %s",
            self._entry.title,
            task.request_id,
            plant_code,
            task.phase.value,
        )
        self._hass.bus.async_fire(
            EVENT_DISPATCH_FINISHED,
            {"config_entry_id": self._entry.entry_id, "plant_code": plant_code, **task.as_dict()},
        )

    @callback
    def _async_changed(self) -> None:
        self._store.async_delay_save(self._to_store, SAVE_DELAY)
        self._schedule_polling()
        self._notify()

    @callback
    def _notify(self) -> None:
        for update in list(self._listeners):
            update()

    def _to_store(self) -> dict[str, Any]:
        return {"plants": {code: task.to_store() for code, task in self.plants.items()}}

    def _schedule_polling(self) -> None:
        """Poll while a task runs; stop when none does."""
        active = bool(self._active_requests())
        if active and self._unsub_poll is None:
            self._unsub_poll = async_track_time_interval(
                self._hass,
                self._async_poll,
                POLL_INTERVAL,
                name=f"{DOMAIN} dispatch status",
                cancel_on_shutdown=True,
            )
        elif not active and self._unsub_poll is not None:
            self._unsub_poll()
            self._unsub_poll = None


def store_key(entry_id: str) -> str:
    """Return the storage key of an entry's tracked tasks."""
    return f"{DOMAIN}.dispatch.{entry_id}"


async def async_remove_dispatch_store(hass: HomeAssistant, entry_id: str) -> None:
    """Delete the stored tasks of a removed config entry."""
    await Store[dict[str, Any]](hass, STORAGE_VERSION, store_key(entry_id)).async_remove()


# ----------------------------------------------------------------------------- sensor

DISPATCH_STATUS = SensorEntityDescription(
    key="dispatch_status",
    translation_key="dispatch_status",
    device_class=SensorDeviceClass.ENUM,
    options=[phase.value for phase in DispatchPhase],
)


class DispatchStatusSensor(SensorEntity):
    """The state of a plant's latest forced charge/discharge task."""

    _attr_has_entity_name = True
    _attr_should_poll = False
    entity_description = DISPATCH_STATUS

    def __init__(self, entry: FusionSolarConfigEntry, plant_code: str) -> None:
        """Initialize the sensor on the plant's device."""
        self._entry = entry
        self.plant_code = plant_code
        self._attr_unique_id = f"{plant_code}_{DISPATCH_STATUS.key}"
        plant = entry.runtime_data.metadata.data.plants.get(plant_code)
        self._attr_device_info = plant_device_info(plant_code, plant)

    async def async_added_to_hass(self) -> None:
        """Follow the tracker, and the plant refreshes for availability."""
        runtime = self._entry.runtime_data
        self.async_on_remove(runtime.dispatch.async_add_listener(self.async_write_ha_state))
        self.async_on_remove(runtime.plants.async_add_listener(self.async_write_ha_state))

    @property
    def available(self) -> bool:
        """Return whether the account can control batteries (V7)."""
        return self._entry.runtime_data.account.client.families.v7

    @property
    def native_value(self) -> str:
        """Return the task's state."""
        task = self._entry.runtime_data.dispatch.plants.get(self.plant_code)
        return DispatchPhase.IDLE.value if task is None else task.phase.value

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """Return the task's request id, energies and times."""
        task = self._entry.runtime_data.dispatch.plants.get(self.plant_code)
        if task is None:
            return None
        attributes = task.as_dict()
        del attributes["state"]
        return attributes
