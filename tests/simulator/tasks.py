"""Forced charge/discharge tasks of the simulated plants."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .slots import floor_slot

if TYPE_CHECKING:
    from .model import Plant


@dataclass
class Task:
    """A forced charge/discharge task on one plant (one request may hold several)."""

    uid: int
    request_id: int
    plant: Plant
    switch: int  # 0 stop, 1 charge, 2 discharge
    control_type: int | None  # 1 SOC, 2 duration
    target_soc: float | None
    duration_min: int | None
    power_kw: float
    received: float
    remote_id: str
    sn: str
    dispatched: bool = True  # dispatchResult 0
    stop_time: float | None = None  # slot start from which it no longer runs

    @property
    def start(self) -> float:
        """Slot start from which the task runs."""
        return floor_slot(self.received)


@dataclass
class TaskProgress:
    """Status of a task as published at a boundary."""

    status: int  # 0 complete, 1 in progress, 2 timeout
    energy_kwh: float
    end_time: float | None


@dataclass
class TaskRegistry:
    """Dispatch requests by requestID (global, duplicate IDs refused)."""

    by_request: dict[int, list[Task]] = field(default_factory=dict)
    next_uid: int = 1

    def new_uid(self) -> int:
        """A fresh internal task id."""
        uid = self.next_uid
        self.next_uid += 1
        return uid
