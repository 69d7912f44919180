"""A simulated plant's alarms: seeded per day, raised by hand, and the plant's health."""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Literal

from .alarmcatalog import ALARM_CATALOG, Alarm
from .devices import Device
from .slots import SLOT


class PlantAlarms:
    """Mixin of :class:`~.model.Plant`: its alarms and health."""

    seed: int
    index: int
    code: str
    offline: bool
    devices: list[Device]
    install_date: date
    manual_alarms: list[Alarm]
    _alarms: dict[date, list[Alarm]]

    def seeded_alarms(self, d: date) -> list[Alarm]:
        """Alarms raised on local day ``d`` (seeded)."""
        cached = self._alarms.get(d)
        if cached is not None:
            return cached
        result: list[Alarm] = []
        rate = self.config.alarm_rate_per_day
        if rate > 0 and d >= self.install_date:
            rng = random.Random(f"{self.seed}/{self.index}/{d.isoformat()}/alarms")
            count = 0
            budget = rate
            while budget > 0 and count < 5:
                if rng.random() < min(budget, 1.0):
                    candidates = [
                        info
                        for info in ALARM_CATALOG.values()
                        if any(dev.kind in info.kinds for dev in self.devices)
                    ]
                    if not candidates:
                        break
                    info = rng.choice(candidates)
                    devices = [dev for dev in self.devices if dev.kind in info.kinds]
                    device = rng.choice(devices)
                    start = self.day_start(d)
                    raised = start + rng.randrange(0, 86400 // SLOT) * SLOT
                    cleared = raised + rng.randint(2, 48) * SLOT
                    result.append(
                        Alarm(
                            key=f"{self.code}/{d.isoformat()}/{count}",
                            alarm_id=info.alarm_id,
                            device=device,
                            raise_time=raised,
                            clear_time=cleared,
                        )
                    )
                    count += 1
                budget -= 1.0
        self._alarms[d] = result
        return result

    def alarms_between(self, begin: float, end: float, boundary: float) -> list[Alarm]:
        """Alarms raised in ``[begin, end]`` and published by ``boundary``."""
        result: list[Alarm] = []
        upper = min(end, boundary)
        if upper < begin:
            return result
        d = max(self.local_date(begin), self.install_date)
        last = self.local_date(upper)
        while d <= last:
            result.extend(a for a in self.seeded_alarms(d) if begin <= a.raise_time <= upper)
            d += timedelta(days=1)
        result.extend(a for a in self.manual_alarms if begin <= a.raise_time <= upper)
        return sorted(result, key=lambda a: a.raise_time)

    def active_alarms(self, boundary: float) -> list[Alarm]:
        """Alarms active at ``boundary``."""
        d = self.local_date(boundary)
        result = [
            a
            for day in (d - timedelta(days=1), d)
            for a in self.seeded_alarms(day)
            if a.active_at(boundary)
        ]
        result.extend(a for a in self.manual_alarms if a.active_at(boundary))
        return result

    def health(self, boundary: float) -> Literal["healthy", "faulty", "disconnected"]:
        """Plant health at ``boundary``."""
        if self.offline:
            return "disconnected"
        if any(a.info.level <= 2 for a in self.active_alarms(boundary)):
            return "faulty"
        return "healthy"
