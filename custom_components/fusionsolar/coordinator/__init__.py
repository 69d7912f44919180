"""Coordinators and the runtime data of a config entry.

One module per coordinator: `base` (shared error handling, the metadata, plant and
device coordinators), `alarms`, `dispatch` (forced charge/discharge tasks),
`configuration` (today's cloud: plant settings and their tasks) and `history`
(statistics import). They import the client, the account and the feature
modules' data (`alarms.py`, `history.py`, `lists.py`), never an entity or a platform.
`issues` (repair issues) reads the runtime data defined here, so it is imported from
`coordinator.issues` (by `repairs.py`), not from this package.
"""

from __future__ import annotations

from dataclasses import dataclass

from homeassistant.config_entries import ConfigEntry

from ..account import FusionSolarAccount
from .alarms import AlarmCoordinator, async_create_alarm_coordinator
from .base import (
    DeviceCoordinator,
    DeviceState,
    FusionSolarCoordinator,
    MetadataCoordinator,
    PlantCoordinator,
    PlantState,
    cloud_slot,
    queried_plants,
    selected_plants,
    until_next_poll,
)
from .configuration import ConfigurationCoordinator, PlantSettings, task_info
from .dispatch import (
    AppliedDod,
    DispatchCoordinator,
    DispatchPhase,
    PlantDispatch,
    delivered,
    idle_info,
)
from .history import HistoryCoordinator, async_create_history_coordinator


@dataclass(kw_only=True)
class FusionSolarRuntimeData:
    """Everything a loaded config entry holds."""

    account: FusionSolarAccount
    metadata: MetadataCoordinator
    plants: PlantCoordinator
    devices: DeviceCoordinator
    dispatch: DispatchCoordinator
    alarms: AlarmCoordinator | None = None
    history: HistoryCoordinator | None = None
    configuration: ConfigurationCoordinator | None = None  # today's cloud (26.2)


type FusionSolarConfigEntry = ConfigEntry[FusionSolarRuntimeData]

__all__ = [
    "AlarmCoordinator",
    "AppliedDod",
    "ConfigurationCoordinator",
    "DeviceCoordinator",
    "DeviceState",
    "DispatchCoordinator",
    "DispatchPhase",
    "FusionSolarConfigEntry",
    "FusionSolarCoordinator",
    "FusionSolarRuntimeData",
    "HistoryCoordinator",
    "MetadataCoordinator",
    "PlantCoordinator",
    "PlantDispatch",
    "PlantSettings",
    "PlantState",
    "async_create_alarm_coordinator",
    "async_create_history_coordinator",
    "cloud_slot",
    "delivered",
    "idle_info",
    "queried_plants",
    "selected_plants",
    "task_info",
    "until_next_poll",
]
