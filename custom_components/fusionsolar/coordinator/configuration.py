"""The configuration coordinator: plant settings of today's cloud (26.2 digest §5.1.5).

It reads each plant's battery working mode and active-power (export) control mode
rarely: every hour, one plant per endpoint and minute (the configuration queries allow
1 call per minute, §4.2), so with many plants a round takes a minute per plant. A plant
whose networking or devices do not support a query (20609, 20629, 20631) is not asked
again until a reload.

It also follows the setting tasks the entities and actions send (working mode, battery
parameters, export limit, battery dispatch; §5.2.3-5.2.10): a task's status is asked
every minute until it ends, then the new value is shown (on SUCCESS) and
`fusionsolar_control_task_finished` is fired. The battery parameters have no query of
their own: the values last set are kept here.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.util import dt as dt_util

from ..account import FusionSolarAccount
from ..api import (
    ActivePowerConfig,
    ActivePowerControlMode,
    BatteryModeConfig,
    BatteryParameters,
    ControlNotSupportedError,
    ControlTask,
    Endpoint,
    FusionSolarError,
    PlantTaskResult,
    QuotaError,
    TaskNotFoundError,
    TaskState,
)
from ..const import EVENT_CONTROL_TASK_FINISHED, LOGGER
from .base import FusionSolarCoordinator, selected_plants

READ_INTERVAL = timedelta(hours=1)
NEXT_CALL = timedelta(seconds=62)  # the queries allow 1 call per minute (+ margin)
GIVE_UP_AFTER = timedelta(hours=1)  # a setting task the cloud never ends


@dataclass(slots=True)
class PendingTask:
    """A setting task sent for a plant, followed until it ends."""

    endpoint: Endpoint
    task_id: str
    polls: int = 0


@dataclass(slots=True)
class PlantSettings:
    """What the cloud reports (or last accepted) of one plant's settings."""

    battery_mode: BatteryModeConfig | None = None
    active_power: ActivePowerConfig | None = None
    battery: BatteryParameters = field(default_factory=BatteryParameters)
    pending: dict[Endpoint, PendingTask] = field(default_factory=dict)
    last_task: dict[Endpoint, PlantTaskResult] = field(default_factory=dict)


QUERIES = (Endpoint.NBI_BATTERY_MODE, Endpoint.NBI_ACTIVE_POWER_MODE)


class ConfigurationCoordinator(FusionSolarCoordinator[dict[str, PlantSettings]]):
    """Battery working mode, export control and battery parameters of each plant."""

    def __init__(
        self, hass: HomeAssistant, entry: ConfigEntry, account: FusionSolarAccount
    ) -> None:
        """Initialize; the first round starts with the first refresh."""
        super().__init__(hass, entry, account, "configuration", READ_INTERVAL)
        self.data = {}
        self._unsupported: set[tuple[Endpoint, str]] = set()
        self._due: dict[Endpoint, list[str]] = {query: [] for query in QUERIES}
        self._next_round = dt_util.utcnow()

    def plant(self, plant_code: str) -> PlantSettings:
        """The plant's settings (empty until read)."""
        return self.data.setdefault(plant_code, PlantSettings())

    def supported(self, query: Endpoint, plant_code: str) -> bool:
        """Whether the plant answered `query` (or was not asked yet)."""
        return (query, plant_code) not in self._unsupported

    @callback
    def async_follow(self, plant_code: str, endpoint: Endpoint, task: ControlTask) -> None:
        """Follow a delivered setting task until it ends."""
        self.plant(plant_code).pending[endpoint] = PendingTask(endpoint, task.task_id)
        self._schedule(NEXT_CALL)
        self.async_set_updated_data(self.data)  # and poll at the new pace

    def running(self, plant_code: str, endpoint: Endpoint) -> PendingTask | None:
        """The plant's setting task of this kind that has not ended."""
        settings = self.data.get(plant_code)
        return None if settings is None else settings.pending.get(endpoint)

    async def _async_fetch(self) -> dict[str, PlantSettings]:
        """Follow pending tasks, then read the settings due (1 per endpoint and minute)."""
        await self._async_follow_tasks()
        now = dt_util.utcnow()
        if not any(self._due.values()) and now >= self._next_round:  # hourly rounds
            self._next_round = now + READ_INTERVAL
            plants = set(selected_plants(self.config_entry))
            for query in QUERIES:
                self._due[query] = sorted(p for p in plants if self.supported(query, p))
        for query in QUERIES:
            if self._due[query]:
                await self._async_read(query, self._due[query].pop(0))
        busy = any(self._due.values()) or any(s.pending for s in self.data.values())
        self._schedule(NEXT_CALL if busy else READ_INTERVAL)
        return self.data

    async def _async_read(self, query: Endpoint, plant_code: str) -> None:
        client = self.account.client
        settings = self.plant(plant_code)
        try:
            if query is Endpoint.NBI_BATTERY_MODE:
                settings.battery_mode = await client.async_get_battery_mode(plant_code)
            else:
                settings.active_power = await client.async_get_active_power_mode(plant_code)
        except QuotaError:
            self._due[query].insert(0, plant_code)  # next minute
        except ControlNotSupportedError as err:
            LOGGER.debug("%s: %s not supported for %s (%s)", self.name, query, plant_code, err)
            self._unsupported.add((query, plant_code))
        except FusionSolarError as err:
            LOGGER.debug("%s: %s of %s not read now: %s", self.name, query, plant_code, err)

    async def _async_follow_tasks(self) -> None:
        for code, settings in self.data.items():
            for endpoint, pending in list(settings.pending.items()):
                try:
                    task = await self.account.client.async_control_task(endpoint, pending.task_id)
                except TaskNotFoundError:
                    self._finish(code, endpoint, PlantTaskResult(code, TaskState.FAIL))
                    continue
                except FusionSolarError as err:
                    LOGGER.debug("%s: task %s not read now: %s", self.name, pending.task_id, err)
                    continue
                pending.polls += 1
                result = task.result(code)
                if result is not None and result.state not in (None, TaskState.RUNNING):
                    self._finish(code, endpoint, result)
                elif pending.polls * NEXT_CALL > GIVE_UP_AFTER:
                    self._finish(code, endpoint, PlantTaskResult(code, TaskState.FAIL, "TIMEOUT"))

    def _finish(self, plant_code: str, endpoint: Endpoint, result: PlantTaskResult) -> None:
        """Take a finished task's values (on success) and tell listeners and the bus."""
        settings = self.plant(plant_code)
        settings.pending.pop(endpoint, None)
        settings.last_task[endpoint] = result
        if result.state is TaskState.SUCCESS:
            _apply(settings, endpoint, result)
        name = TASK_NAMES.get(endpoint, str(endpoint))
        LOGGER.info("%s: %s task of %s: %s", self.name, name, plant_code, result.state)
        self.hass.bus.async_fire(
            EVENT_CONTROL_TASK_FINISHED,
            {
                "config_entry_id": self.config_entry.entry_id,
                "plant_code": plant_code,
                "task": name,
                **task_info(result),
            },
        )

    def _schedule(self, interval: timedelta) -> None:
        self.update_interval = interval


#: The name of each setting task in events and attributes.
TASK_NAMES: dict[str, str] = {
    Endpoint.NBI_BATTERY_MODE_TASK: "battery_working_mode",
    Endpoint.NBI_BATTERY_CONFIG_TASK: "battery_parameters",
    Endpoint.NBI_ACTIVE_POWER_TASK: "export_limit",
    Endpoint.NBI_BATTERY_DISPATCH_TASK: "battery_dispatch",
}


def task_info(result: PlantTaskResult) -> dict[str, Any]:
    """A finished task's state and the cloud's reason (FAILURE, TIMEOUT, BUSY ...)."""
    state = None if result.state is None else result.state.value.lower()
    return {"state": state, "message": result.message}


def _apply(settings: PlantSettings, endpoint: Endpoint, result: PlantTaskResult) -> None:
    if endpoint is Endpoint.NBI_BATTERY_CONFIG_TASK and result.battery is not None:
        old, new = settings.battery, result.battery
        settings.battery = BatteryParameters(
            _first(new.end_of_charge_soc, old.end_of_charge_soc),
            _first(new.end_of_discharge_soc, old.end_of_discharge_soc),
            _first(new.max_charge_power_w, old.max_charge_power_w),
            _first(new.max_discharge_power_w, old.max_discharge_power_w),
        )
    elif endpoint is Endpoint.NBI_BATTERY_MODE_TASK and result.operation_mode is not None:
        # the TOU periods stay known (as in the app) for a later switch back to TOU
        known = settings.battery_mode or BatteryModeConfig(None, result.operation_mode)
        settings.battery_mode = replace(known, mode=result.operation_mode)
    elif endpoint is Endpoint.NBI_ACTIVE_POWER_TASK and result.control_mode is not None:
        limited = result.control_mode == "6"
        mode = ActivePowerControlMode.LIMITED_KW if limited else ActivePowerControlMode.NO_LIMIT
        settings.active_power = ActivePowerConfig(
            None, mode, result.feed_in_kw if limited else None
        )


def _first[T](value: T | None, fallback: T | None) -> T | None:
    return fallback if value is None else value
