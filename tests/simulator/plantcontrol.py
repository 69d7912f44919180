"""A simulated plant's control timelines: inverters on/off, end-of-discharge SOC, tasks.

Control commands take effect from the slot that contains the command time, i.e. they
become visible at the next boundary; each drops the cached days from that day on.
"""

from __future__ import annotations

import bisect
import math
from datetime import date, timedelta

from .devices import Device
from .slots import SLOT, SLOT_H, Counters, DayData, floor_slot
from .tasks import Task, TaskProgress


class PlantControl:
    """Mixin of :class:`~.model.Plant`: its control timelines and dispatch tasks."""

    on_timeline: dict[str, list[tuple[float, bool]]]
    eod_timeline: dict[str, list[tuple[float, float]]]
    initial_eod: dict[str, float]
    tasks: list[Task]
    anchor_day: date
    _days: dict[date, DayData]
    _total_start: dict[date, Counters]

    def invalidate_from(self, t: float) -> None:
        """Drop cached days (and totals) from the local day of ``t`` on."""
        d = self.local_date(t)
        for key in [k for k in self._days if k >= d]:
            del self._days[key]
        if d < self.anchor_day:  # the backward chain from the anchor changes too
            self._total_start.clear()
        for key in [k for k in self._total_start if k > d]:
            del self._total_start[key]

    def _set_from[T](self, timeline: list[tuple[float, T]], value: T, t: float) -> None:
        """Give a control timeline ``value`` from the slot containing ``t`` on."""
        start = floor_slot(t)
        while timeline and timeline[-1][0] >= start:
            timeline.pop()
        timeline.append((start, value))
        self.invalidate_from(start)

    def set_inverter_on(self, device: Device, on: bool, t: float) -> None:
        """Switch an inverter on/off from the slot containing ``t``."""
        self._set_from(self.on_timeline[device.dn], on, t)

    def inverter_on(self, device: Device, t: float) -> bool:
        """Whether an inverter runs in the slot starting at ``t``."""
        timeline = self.on_timeline.get(device.dn)
        if not timeline:
            return True
        i = bisect.bisect_right(timeline, (t, True)) - 1
        return True if i < 0 else timeline[i][1]

    def set_eod(self, device: Device, eod: float, t: float) -> None:
        """Set a battery's end-of-discharge SOC from the slot containing ``t``."""
        self._set_from(self.eod_timeline[device.dn], eod, t)

    def eod(self, device: Device, t: float) -> float:
        """End-of-discharge SOC of a battery at ``t``."""
        timeline = self.eod_timeline.get(device.dn)
        if timeline:
            i = bisect.bisect_right(timeline, (t, math.inf)) - 1
            if i >= 0:
                return timeline[i][1]
        return self.initial_eod[device.dn]

    def plant_eod(self, t: float) -> float | None:
        """Capacity-weighted end-of-discharge SOC of the plant's batteries."""
        batteries = self.batteries
        if not batteries:
            return None
        cap = self.capacity_kwh
        return sum(self.eod(b, t) * b.capacity_kwh for b in batteries) / cap

    def on_fraction(self, t: float) -> float:
        """Share of the inverter rated power that is switched on at ``t``."""
        inverters = self.inverters
        if not inverters:
            return 0.0
        rated = self.rated_power_kw or 1.0
        on = sum(d.rated_power_kw for d in inverters if self.inverter_on(d, t))
        return on / rated

    def add_task(self, task: Task) -> None:
        """Register a dispatch task (or stop) received now."""
        if task.switch == 0:
            for other in self.tasks:
                if other.stop_time is None and other.switch != 0:
                    other.stop_time = task.start
        self.tasks.append(task)
        self.invalidate_from(task.start)

    def task_progress(self, task: Task, boundary: float) -> TaskProgress:
        """Status of ``task`` as published at ``boundary``."""
        if task.switch == 0 or not task.dispatched:
            return TaskProgress(0, 0.0, task.received)
        energy = 0.0
        d = self.local_date(task.start)
        last = self.local_date(boundary)
        while d <= last:
            day = self.day(d)
            for k in range(day.n):
                slot_end = day.start + (k + 1) * SLOT
                if slot_end > boundary:
                    break
                if day.task_uid[k] == task.uid:
                    kw = day.charge[k] if task.switch == 1 else day.discharge[k]
                    energy += kw * SLOT_H
            end = day.task_end.get(task.uid)
            if end is not None:
                end_time, status = end
                if end_time <= boundary:
                    return TaskProgress(status, energy, end_time)
                return TaskProgress(1, energy, None)
            d += timedelta(days=1)
        return TaskProgress(1, energy, None)

    def running_task(self, boundary: float) -> Task | None:
        """The forced charge/discharge task still running at ``boundary``, if any."""
        for task in reversed(self.tasks):
            if task.switch == 0 or not task.dispatched:
                continue
            if self.task_progress(task, max(boundary, task.start)).status == 1:
                return task
        return None
