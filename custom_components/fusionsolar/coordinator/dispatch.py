"""The dispatch coordinator: forced charge/discharge tasks of one config entry.

The cloud updates a task's status every 3 minutes, so the coordinator polls
`vpp/chargeAndDischargeStatus` at that pace (one call per running request, far within
its 100/min quota) while a task runs, and not at all otherwise, then fires
`fusionsolar_dispatch_finished` once per plant. Tasks are stored, so a task running
across a restart is followed to its end. It also remembers the depth of discharge the
cloud last applied to each battery (`setDOD`), until the device list reports it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.util import dt as dt_util

from ..account import FusionSolarAccount
from ..api import (
    DispatchCommand,
    DispatchMode,
    DispatchState,
    DispatchStatus,
    DispatchTask,
    FusionSolarError,
    QuotaError,
    TaskNotFoundError,
)
from ..const import EVENT_DISPATCH_FINISHED, LOGGER
from ..errors import async_translated
from ..stores import EntryStore, entry_store
from .base import FusionSolarCoordinator

# The cloud updates a task's status every 3 minutes and times tasks out after 24 h.
POLL_INTERVAL = timedelta(minutes=3)
GIVE_UP_AFTER = timedelta(hours=25)
SAVE_DELAY = 10


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


def delivered(command: DispatchCommand) -> set[str]:
    """Return the plants a charge/discharge command was delivered to."""
    return {r.plant_code for r in command.results if r.plant_code and r.success}


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


class DispatchCoordinator(FusionSolarCoordinator[dict[str, PlantDispatch]]):
    """Forced charge/discharge tasks and applied DoD values of one config entry.

    Its data are the plants' latest tasks. It polls every 3 minutes while a task runs
    and not at all otherwise; the store follows every update like a listener.
    """

    def __init__(
        self, hass: HomeAssistant, entry: ConfigEntry, account: FusionSolarAccount
    ) -> None:
        """Initialize the coordinator; `async_load` restores stored tasks."""
        super().__init__(hass, entry, account, "dispatch", None)
        self.data = {}
        self.dod: dict[str, AppliedDod] = {}
        self._store = entry_store(hass, EntryStore.DISPATCH, entry.entry_id)

    @property
    def plants(self) -> dict[str, PlantDispatch]:
        """Return the latest task of each plant."""
        return self.data

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

    async def async_load(self) -> None:
        """Restore the tasks stored before a restart and follow the running ones."""
        stored = await self._store.async_load() or {}
        for code, data in (stored.get("plants") or {}).items():
            try:
                self.plants[code] = PlantDispatch.from_store(data)
            except (KeyError, TypeError, ValueError) as err:
                LOGGER.debug("Ignoring a stored task of %s: %s", code, err)
        self._schedule_polling()
        self.async_add_listener(self._async_schedule_save)

    async def async_shutdown(self) -> None:
        """Stop polling and store the tasks (entry unloaded)."""
        await super().async_shutdown()
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
        self.async_update_listeners()

    async def async_query(self, request_id: int) -> DispatchStatus:
        """Ask the cloud for a task's status now (translated errors)."""
        status = await async_translated(
            self.account.client.async_charge_discharge_status(request_id), str(request_id)
        )
        self.async_apply(status)
        return status

    def _active_requests(self) -> set[int]:
        return {task.request_id for task in self.plants.values() if not task.final}

    async def _async_fetch(self) -> dict[str, PlantDispatch]:
        """Poll every running request once; poll again while one runs."""
        for request_id in sorted(self._active_requests()):
            if not await self._async_poll_request(request_id):
                break
        self._give_up_overdue()
        self._schedule_polling()
        return self.plants

    async def _async_poll_request(self, request_id: int) -> bool:
        """Poll one request; return False when the quota says to stop for now."""
        try:
            status = await self.account.client.async_charge_discharge_status(request_id)
        except QuotaError:
            return False
        except TaskNotFoundError:
            LOGGER.warning("The cloud no longer knows task %s; not following it", request_id)
            self._forget(request_id)
        except FusionSolarError as err:
            LOGGER.debug("Status of task %s not available now: %s", request_id, err)
        else:
            self._apply(status)
        return True

    @callback
    def async_apply(self, status: DispatchStatus) -> None:
        """Take a status a command learned; fire events for finished tasks."""
        self._apply(status)
        self._async_changed()

    def _apply(self, status: DispatchStatus) -> None:
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

    def _forget(self, request_id: int) -> None:
        for code in [c for c, t in self.plants.items() if t.request_id == request_id]:
            del self.plants[code]

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

    def _fire_finished(self, plant_code: str, task: PlantDispatch) -> None:
        LOGGER.info(
            "%s: forced charge/discharge task %s of %s: %s",
            self.config_entry.title,
            task.request_id,
            plant_code,
            task.phase.value,
        )
        self.hass.bus.async_fire(
            EVENT_DISPATCH_FINISHED,
            {
                "config_entry_id": self.config_entry.entry_id,
                "plant_code": plant_code,
                **task.as_dict(),
            },
        )

    @callback
    def _async_changed(self) -> None:
        """Tell the listeners (and the store); poll while a task runs."""
        self._schedule_polling()
        self.async_set_updated_data(self.plants)

    @callback
    def _async_schedule_save(self) -> None:
        self._store.async_delay_save(self._to_store, SAVE_DELAY)

    def _to_store(self) -> dict[str, Any]:
        return {"plants": {code: task.to_store() for code, task in self.plants.items()}}

    def _schedule_polling(self) -> None:
        """Poll while a task runs; not at all when none does."""
        self.update_interval = POLL_INTERVAL if self._active_requests() else None
