"""Battery working mode of each plant with batteries, on today's cloud (26.2 digest).

Read with the working-mode query (§5.1.5.1, hourly), set with the working-mode task
(§5.2.3): maximise self-consumption, time of use (with the plant's known periods) and
third-party dispatch can be set; fully fed to grid and other modes are shown only. The
option shown changes once the cloud reports the task succeeded.
"""

from __future__ import annotations

from typing import Any

from homeassistant.components.select import SelectEntity, SelectEntityDescription
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .api import BatteryOperationMode, Endpoint
from .api.control_models import SETTABLE_BATTERY_MODES
from .control_tasks import (
    async_check_admin,
    async_set_battery_mode,
    battery_plants,
    plant_label,
    takes_tasks,
)
from .coordinator import ConfigurationCoordinator, FusionSolarConfigEntry, task_info
from .entity import PlantScopedEntity, async_when_ready
from .errors import validation_error

PARALLEL_UPDATES = 1

#: Option of each working mode, in the order shown.
MODE_OPTIONS: dict[BatteryOperationMode, str] = {
    BatteryOperationMode.MAXIMUM_SELF_CONSUMPTION: "maximise_self_consumption",
    BatteryOperationMode.TIME_OF_USE: "time_of_use",
    BatteryOperationMode.FULLY_FED_TO_GRID: "fully_fed_to_grid",
    BatteryOperationMode.THIRD_PARTY_DISPATCH: "third_party_dispatch",
    BatteryOperationMode.OTHER: "other",
}
OPTION_MODES = {option: mode for mode, option in MODE_OPTIONS.items()}

BATTERY_WORKING_MODE = SelectEntityDescription(
    key="battery_working_mode",
    translation_key="battery_working_mode",
    entity_category=EntityCategory.CONFIG,
    options=list(MODE_OPTIONS.values()),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: FusionSolarConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Set up a working-mode select per plant with a battery, on today's cloud."""
    async_when_ready(
        entry,
        lambda: takes_tasks(entry),
        lambda: async_add_entities(
            BatteryWorkingModeSelect(entry, code) for code in battery_plants(entry)
        ),
    )


class BatteryWorkingModeSelect(PlantScopedEntity[ConfigurationCoordinator], SelectEntity):
    """How a plant's batteries work (the mode owners change by hand in the app)."""

    def __init__(self, entry: FusionSolarConfigEntry, plant_code: str) -> None:
        """Initialize the select on the plant's device."""
        configuration = entry.runtime_data.configuration
        assert configuration is not None
        super().__init__(configuration, entry, plant_code, BATTERY_WORKING_MODE)
        self._entry = entry

    @property
    def available(self) -> bool:
        """Return whether the plant's mode can be read and set."""
        return super().available and self.coordinator.supported(
            Endpoint.NBI_BATTERY_MODE, self.plant_code
        )

    @property
    def current_option(self) -> str | None:
        """Return the mode the cloud reported (or a task set)."""
        mode = self.coordinator.plant(self.plant_code).battery_mode
        return None if mode is None else MODE_OPTIONS[mode.mode]

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """Return the running task, else the last one's outcome."""
        settings = self.coordinator.plant(self.plant_code)
        endpoint = Endpoint.NBI_BATTERY_MODE_TASK
        if (pending := settings.pending.get(endpoint)) is not None:
            return {"task_id": pending.task_id, "task_state": "running"}
        last = settings.last_task.get(endpoint)
        if last is None:
            return {}
        info = task_info(last)
        return {"task_state": info["state"], "task_message": info["message"]}

    async def async_select_option(self, option: str) -> None:
        """Send the working-mode task; the option changes once the cloud applied it."""
        await async_check_admin(self.hass, self._context)
        mode = OPTION_MODES[option]
        if mode not in SETTABLE_BATTERY_MODES:
            raise validation_error(
                "mode_not_settable", plant=plant_label(self._entry, self.plant_code)
            )
        await async_set_battery_mode(self._entry, self.plant_code, mode)
