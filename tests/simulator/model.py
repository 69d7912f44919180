"""The physical plant model: PV, load, battery, grid, counters, control, alarms.

Time is divided into 5-minute slots aligned to the epoch (so to every local 5-minute
boundary).  Slot ``[t, t + 300)`` is integrated as a whole; its averages and the counters
at its end are *published* at the boundary ``t + 300``.  Readers always see the state
at the last boundary <= now, so between boundaries every read returns the same values.

Determinism: weather, load and alarms of a plant-day come from
``random.Random(f"{seed}/{plant}/{date}")``.  Days are simulated lazily, 288 slots at a
time, and cached.  Every day from the first detailed day (``history_detail_days`` before
the day the simulator started, the *anchor* day) on is chained: SOC and running dispatch
tasks carry over midnight, so the battery conserves energy over any number of days; only
the first detailed day starts from a seeded SOC.  Control commands take effect from the
anchor day on.  Days before the detailed history contribute to the long-term counters
(month/year KPIs, totals) through a cheap daily estimate instead of slots.

Energy per slot is conserved exactly: ``pv + import + discharge = load + export +
charge`` (battery terminal energies; the SOC moves by them with 97 % one-way efficiency).

Control commands (forced charge/discharge, DoD, on/off) take effect from the slot that
contains the command time, i.e. they become visible at the next boundary.

:class:`Plant` is built from parts, one module each: ``slots`` (slots, counters, a day
and a published slot), ``devices``, ``weather`` (PV, load, irradiance, temperature),
``plantcontrol`` (control timelines and tasks, ``tasks``), ``plantalarms`` (alarms,
``alarmcatalog``, and health). This module keeps the energy balance, the counters
and the published state.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from functools import cached_property
from itertools import accumulate
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from .alarmcatalog import ALARM_CATALOG, Alarm, AlarmInfo
from .devices import (
    BATTERY_EOD_RANGE,
    DEV_ID_BASE,
    LEGACY_TYPE,
    NE_BASE,
    NE_OVERFLOW_BASE,
    NE_STRIDE,
    SN_PREFIX,
    V7_TYPE,
    Device,
    NeAddressed,
)
from .plantalarms import PlantAlarms
from .plantcontrol import PlantControl
from .slots import (
    COUNTERS,
    SLOT,
    SLOT_H,
    Counters,
    DayData,
    SlotState,
    floor_slot,
    zero_counters,
)
from .tasks import Task, TaskProgress, TaskRegistry
from .weather import PlantWeather, clear_sky_daily

if TYPE_CHECKING:
    from .config import SimulatorConfig

# The model's parts live in their own modules; importing them from here keeps working.
__all__ = [
    "ALARM_CATALOG",
    "BATTERY_EOD_RANGE",
    "COUNTERS",
    "DEV_ID_BASE",
    "ETA",
    "LEGACY_TYPE",
    "NE_BASE",
    "NE_OVERFLOW_BASE",
    "NE_STRIDE",
    "SLOT",
    "SLOT_H",
    "SN_PREFIX",
    "V7_TYPE",
    "Alarm",
    "AlarmInfo",
    "Counters",
    "DayData",
    "Device",
    "NeAddressed",
    "Plant",
    "SlotState",
    "Task",
    "TaskProgress",
    "TaskRegistry",
    "floor_slot",
    "zero_counters",
]

ETA = 0.97  # one-way battery efficiency


class Plant(PlantControl, PlantAlarms, PlantWeather):
    """One plant with its devices, weather, load, battery and control timeline."""

    def __init__(self, config: SimulatorConfig, index: int, anchor_time: float) -> None:
        """Create plant ``index``; ``anchor_time`` is the simulator's start time."""
        self.config = config
        self.index = index
        self.seed = config.seed
        self.tz = ZoneInfo(config.timezone)
        self.ne = NE_BASE + index * NE_STRIDE
        self.code = f"NE={self.ne}"
        rng = random.Random(f"{config.seed}/{index}/plant")
        self.name = f"Plant {index + 1}"
        self.address = f"{rng.randint(1, 200)} Zonnestraat, {rng.choice(_TOWNS)}"
        self.latitude = round(config.latitude + rng.uniform(-0.8, 0.8), 6)
        self.longitude = round(config.longitude + rng.uniform(-1.0, 1.0), 6)
        self.kwp = round(rng.choice((4.0, 5.0, 6.0, 6.5, 8.0, 10.0)) + rng.uniform(0, 0.9), 2)
        self.contact_person = rng.choice(("J. de Vries", "A. Jansen", "M. Bakker", "L. Visser"))
        self.contact_method = f"+31 6 {rng.randint(10000000, 99999999)}"
        self.authorization_code = f"AC{rng.randint(10**9, 10**10 - 1)}"
        self.load_base = rng.uniform(0.2, 0.45)
        self.load_scale = rng.uniform(0.7, 1.4)
        self.install_days = rng.randint(200, 1500)
        self.soh = round(rng.uniform(96.0, 100.0), 1)
        self.offline = False  # admin hook: every device disconnected
        self.anchor_time = anchor_time
        self.anchor_day = self.local_date(anchor_time)
        self.install_date = self.anchor_day - timedelta(days=self.install_days)
        self.detail_from = self.anchor_day - timedelta(days=max(config.history_detail_days, 0))
        self.devices: list[Device] = []
        self._build_devices(rng)
        # control timelines: (slot start, value)
        self.on_timeline: dict[str, list[tuple[float, bool]]] = {d.dn: [] for d in self.inverters}
        self.eod_timeline: dict[str, list[tuple[float, float]]] = {d.dn: [] for d in self.batteries}
        self.initial_eod: dict[str, float] = {}
        for battery in self.batteries:
            low, high = battery.eod_range
            dod = (
                battery.spec.dod
                if battery.spec.dod is not None
                else (90 if battery.spec.vendor == "huawei" else 85)
            )
            self.initial_eod[battery.dn] = float(min(max(100 - dod, low), high))
        self.tasks: list[Task] = []
        self.manual_alarms: list[Alarm] = []
        self._days: dict[date, DayData] = {}
        self._estimates: dict[date, Counters] = {}
        self._total_start: dict[date, Counters] = {}
        self._alarms: dict[date, list[Alarm]] = {}
        self._draws: list[tuple[float, float, float]] | None = None
        self._shape_cache: dict[tuple[int, int], tuple[list[float], list[float], list[float]]] = {}
        self._draws_from = 0

    # --- construction ------------------------------------------------------------------

    def _build_devices(self, rng: random.Random) -> None:
        specs = self.config.devices_for(self.index)
        inverter_specs = [s for s in specs if s.kind in ("inverter", "string_inverter")]
        for j, spec in enumerate(specs):
            ne = self.ne + j + 1 if j + 1 < NE_STRIDE else NE_OVERFLOW_BASE + self.index * 65536 + j
            sn = f"{SN_PREFIX[spec.kind]}{self.seed % 1000:03d}{self.index:05d}{j:02d}"
            device = Device(
                plant=self,
                index=j,
                spec=spec,
                ne=ne,
                sn=sn,
                name=f"{spec.kind.replace('_', ' ').title()}-{sn}",
                model="",
                software_version="",
            )
            if spec.kind in ("inverter", "string_inverter"):
                share = self.kwp / max(len(inverter_specs), 1)
                rated = spec.rated_power_kw or float(min(max(round(share), 3), 20))
                device.rated_power_kw = rated
                default_model = (
                    f"SUN2000-{rated:g}KTL-M1"
                    if spec.kind == "inverter"
                    else f"SUN2000-{rated:g}KTL"
                )
                device.model = spec.model or default_model
                device.software_version = f"V100R001C00SPC{rng.randint(100, 199)}"
            elif spec.kind == "battery":
                huawei = spec.vendor == "huawei"
                device.capacity_kwh = spec.capacity_kwh or (10.0 if huawei else 9.8)
                device.max_power_w = spec.max_power_w or 5000.0
                device.model = spec.model or ("LUNA2000-10-S0" if huawei else "LG RESU10H")
                device.software_version = f"V100R002C00SPC{rng.randint(100, 199)}"
            elif spec.kind == "meter":
                device.model = spec.model or "DTSU666-H"
                device.software_version = "V1.0"
            elif spec.kind == "power_sensor":
                device.model = spec.model or "DDSU666-H"
                device.software_version = "V1.0"
            else:
                device.model = spec.model or "SMARTLOGGER-EMI"
                device.software_version = "V1.0"
            self.devices.append(device)

    @cached_property
    def inverters(self) -> list[Device]:
        """Inverters of the plant."""
        return [d for d in self.devices if d.is_inverter]

    @cached_property
    def batteries(self) -> list[Device]:
        """Batteries of the plant."""
        return [d for d in self.devices if d.kind == "battery"]

    @property
    def has_grid_meter(self) -> bool:
        """A meter or power sensor measures the grid connection."""
        return any(d.kind in ("meter", "power_sensor") for d in self.devices)

    @cached_property
    def capacity_kwh(self) -> float:
        """Total battery capacity."""
        return sum(d.capacity_kwh for d in self.batteries)

    @cached_property
    def max_battery_kw(self) -> float:
        """Total battery charge/discharge power limit."""
        return sum(d.max_power_w for d in self.batteries) / 1000.0

    @cached_property
    def rated_power_kw(self) -> float:
        """Total inverter rated power."""
        return sum(d.rated_power_kw for d in self.inverters)

    # --- time helpers --------------------------------------------------------------------

    def local_date(self, t: float) -> date:
        """Local calendar date of epoch ``t``."""
        return datetime.fromtimestamp(t, self.tz).date()

    def day_start(self, d: date) -> float:
        """Epoch of local midnight starting ``d``."""
        return datetime(d.year, d.month, d.day, tzinfo=self.tz).timestamp()

    def iso(self, t: float, *, compact: bool = False) -> str:
        """Local ISO time with offset (``+01:00``, or ``.000+0100`` if compact)."""
        local = datetime.fromtimestamp(t, self.tz)
        if compact:
            return local.strftime("%Y-%m-%dT%H:%M:%S.000%z")
        return local.isoformat(timespec="seconds")

    def _estimate(self, d: date) -> Counters:
        """Cheap daily energy estimate for days before the detailed history."""
        cached = self._estimates.get(d)
        if cached is not None:
            return cached
        roll, level, jitter_u = self._estimate_draws(d)
        if roll < 0.35:
            clouds = 0.1 * level
        elif roll < 0.8:
            clouds = 0.2 + 0.4 * level
        else:
            clouds = 0.7 + 0.22 * level
        pv = self.kwp * clear_sky_daily(round(self.latitude * 2) / 2, d.timetuple().tm_yday)
        pv *= 1.0 - clouds * 0.65
        if not self.inverters:
            pv = 0.0
        jitter = 0.9 + 0.2 * jitter_u
        load = 24 * self.load_base + self.load_scale * 8.0 * jitter
        direct = min(pv, load * 0.35)
        charge = min(self.capacity_kwh * 0.8, max(pv - direct, 0.0))
        discharge = min(charge * ETA * ETA, load - direct)
        charge = discharge / (ETA * ETA) if charge else 0.0
        result = {
            "pv": pv,
            "load": load,
            "import": load - direct - discharge,
            "export": pv - direct - charge,
            "charge": charge,
            "discharge": discharge,
        }
        self._estimates[d] = result
        return result

    # --- simulation ----------------------------------------------------------------------

    def day(self, d: date) -> DayData:
        """Slot data of a local day (simulated on first use, chained from ``detail_from``)."""
        cached = self._days.get(d)
        if cached is not None:
            return cached
        if d > self.detail_from:
            # simulate the chain from the first missing day on
            first = d
            while first > self.detail_from and (first - timedelta(days=1)) not in self._days:
                first -= timedelta(days=1)
            cur = first
            while cur < d:
                self._days[cur] = self._simulate(cur)
                cur += timedelta(days=1)
        result = self._simulate(d)
        self._days[d] = result
        return result

    def _simulate(self, d: date) -> DayData:
        start = self.day_start(d)
        end = self.day_start(d + timedelta(days=1))
        n = round((end - start) / SLOT)
        pv_avail, load, irr, temp = self._weather(d, start, n)
        rng = random.Random(f"{self.seed}/{self.index}/{d.isoformat()}/soc")
        cap = self.capacity_kwh
        max_kw = self.max_battery_kw
        first_eod = self.plant_eod(start) or 0.0
        if d > self.detail_from:
            prev = self._days[d - timedelta(days=1)]
            soc, task_uid = prev.end_soc, prev.end_task
        else:
            soc, task_uid = min(100.0, first_eod + rng.uniform(0.0, 35.0)), 0
        tasks_by_uid = {t.uid: t for t in self.tasks}
        starting = sorted(
            (t for t in self.tasks if t.switch != 0 and t.dispatched and start <= t.start < end),
            key=lambda t: t.start,
        )
        si = 0
        has_events = bool(
            self.tasks or any(self.on_timeline.values()) or any(self.eod_timeline.values())
        )
        const_frac = 1.0 if self.inverters else 0.0
        const_eod = first_eod
        pv_l: list[float] = []
        chg_l: list[float] = []
        dis_l: list[float] = []
        imp_l: list[float] = []
        exp_l: list[float] = []
        soc_l: list[float] = []
        frac_l: list[float] = []
        task_l: list[int] = []
        task_end: dict[int, tuple[float, int]] = {}
        timeout = self.config.task_timeout_seconds
        for k in range(n):
            t = start + k * SLOT
            slot_end = t + SLOT
            if has_events:
                frac = self.on_fraction(t)
                eod = self.plant_eod(t) or 0.0
                current = tasks_by_uid.get(task_uid) if task_uid else None
                if current is not None and current.stop_time is not None and t >= current.stop_time:
                    task_end[current.uid] = (current.stop_time, 0)
                    task_uid = 0
                while si < len(starting) and starting[si].start <= t and not task_uid:
                    pending = starting[si]
                    si += 1
                    if pending.stop_time is not None and pending.stop_time <= t:
                        task_end[pending.uid] = (pending.stop_time, 0)
                        continue
                    task_uid = pending.uid
            else:
                frac, eod = const_frac, const_eod
            task = tasks_by_uid.get(task_uid) if task_uid else None
            pv = pv_avail[k] * frac
            ld = load[k]
            chg = dis = 0.0
            if cap > 0 and frac > 0:
                stored = soc / 100.0 * cap
                room_kw = max(0.0, (cap - stored) / ETA / SLOT_H)
                if task is not None and task.switch == 1:
                    p = min(task.power_kw or max_kw, max_kw)
                    limit = 100.0
                    if task.control_type == 1 and task.target_soc is not None:
                        limit = min(100.0, task.target_soc)
                    room_kw = max(0.0, (limit / 100.0 * cap - stored) / ETA / SLOT_H)
                    chg = min(p, room_kw)
                elif task is not None and task.switch == 2:
                    p = min(task.power_kw or max_kw, max_kw)
                    floor = eod
                    if task.control_type == 1 and task.target_soc is not None:
                        floor = max(eod, task.target_soc)
                    avail_kw = max(0.0, (stored - floor / 100.0 * cap) * ETA / SLOT_H)
                    dis = min(p, avail_kw)
                else:
                    surplus = pv - ld
                    if surplus > 0:
                        chg = min(surplus, max_kw, room_kw)
                    else:
                        avail_kw = max(0.0, (stored - eod / 100.0 * cap) * ETA / SLOT_H)
                        dis = min(-surplus, max_kw, avail_kw)
                stored += (chg * ETA - dis / ETA) * SLOT_H
                soc = min(100.0, max(0.0, stored / cap * 100.0))
            grid = ld + chg - pv - dis
            pv_l.append(pv)
            chg_l.append(chg)
            dis_l.append(dis)
            imp_l.append(grid if grid > 0 else 0.0)
            exp_l.append(-grid if grid < 0 else 0.0)
            soc_l.append(soc)
            frac_l.append(frac)
            task_l.append(task_uid)
            if task is not None:
                done = False
                status = 0
                if task.control_type == 1 and task.target_soc is not None:
                    if task.switch == 1 and soc >= min(100.0, task.target_soc) - 0.05:
                        done = True
                    if task.switch == 2 and soc <= max(eod, task.target_soc) + 0.05:
                        done = True
                elif task.duration_min is not None and (
                    slot_end >= task.start + task.duration_min * 60
                ):
                    done = True
                if not done and slot_end >= task.start + timeout:
                    done, status = True, 2
                if done:
                    task_end[task.uid] = (slot_end, status)
                    task_uid = 0
        cum: dict[str, list[float]] = {}
        for key, values in (
            ("pv", pv_l),
            ("load", load),
            ("import", imp_l),
            ("export", exp_l),
            ("charge", chg_l),
            ("discharge", dis_l),
        ):
            cum[key] = list(accumulate((v * SLOT_H for v in values), initial=0.0))
        return DayData(
            day=d,
            start=start,
            n=n,
            pv=pv_l,
            load=load,
            charge=chg_l,
            discharge=dis_l,
            imp=imp_l,
            exp=exp_l,
            soc=soc_l,
            irradiance=irr,
            temperature=temp,
            on_fraction=frac_l,
            task_uid=task_l,
            cum=cum,
            task_end=task_end,
            end_soc=soc,
            end_task=task_uid,
        )

    # --- counters --------------------------------------------------------------------------

    def summary(self, d: date) -> Counters:
        """Energy of a whole local day (slots in the detailed range, else the estimate)."""
        if d < self.install_date:
            return zero_counters()
        if d >= self.detail_from:
            return self.day(d).totals()
        return self._estimate(d)

    def _base_total(self) -> Counters:
        """Counters at the start of the anchor day."""
        base = zero_counters()
        d = self.install_date
        while d < self.detail_from:
            est = self._estimate(d)
            for key in COUNTERS:
                base[key] += est[key]
            d += timedelta(days=1)
        bound = 100.0 + 10.0 * self.kwp + 3.0 * self.capacity_kwh
        days = (self.anchor_day - max(self.detail_from, self.install_date)).days
        for key in COUNTERS:
            base[key] += max(days, 0) * bound
        return base

    def total_start(self, d: date) -> Counters:
        """Lifetime counters at local midnight starting ``d``."""
        cached = self._total_start.get(d)
        if cached is not None:
            return cached
        if self.anchor_day not in self._total_start:
            self._total_start[self.anchor_day] = self._base_total()
        if d > self.anchor_day:
            cur = d
            while cur not in self._total_start:
                cur -= timedelta(days=1)
            while cur < d:
                prev = self._total_start[cur]
                summ = self.summary(cur)
                cur += timedelta(days=1)
                self._total_start[cur] = {key: prev[key] + summ[key] for key in COUNTERS}
        else:
            cur = d
            while cur not in self._total_start:
                cur += timedelta(days=1)
            while cur > d:
                nxt = self._total_start[cur]
                cur -= timedelta(days=1)
                summ = self.summary(cur)
                self._total_start[cur] = {key: max(0.0, nxt[key] - summ[key]) for key in COUNTERS}
        return self._total_start[d]

    def period_sum(self, first: date, last: date) -> Counters:
        """Energy of the days ``first``..``last`` (inclusive) via lifetime counters."""
        start = self.total_start(first)
        end = self.total_start(last + timedelta(days=1))
        return {key: end[key] - start[key] for key in COUNTERS}

    def state(self, boundary: float) -> SlotState:
        """Published state at a 5-minute boundary."""
        d = self.local_date(boundary)
        day = self.day(d)
        k = round((boundary - day.start) / SLOT)
        if k == 0:
            prev = self.day(d - timedelta(days=1))
            src, j = prev, prev.n - 1
        else:
            src, j = day, k - 1
        return self._state_from(day, k, src, j, boundary)

    def slot_state(self, day: DayData, k: int) -> SlotState:
        """State published at the end of slot ``k`` of ``day`` (counters of that day)."""
        return self._state_from(day, k + 1, day, k, day.start + (k + 1) * SLOT)

    def _state_from(self, day: DayData, k: int, src: DayData, j: int, boundary: float) -> SlotState:
        today = {key: day.cum[key][k] for key in COUNTERS}
        start = self.total_start(day.day)
        total = {key: start[key] + today[key] for key in COUNTERS}
        month_start = self.total_start(day.day.replace(day=1))
        month = {key: total[key] - month_start[key] for key in COUNTERS}
        has_battery = bool(self.batteries)
        return SlotState(
            time=boundary,
            slot_start=src.start + j * SLOT,
            pv_kw=src.pv[j],
            load_kw=src.load[j],
            charge_kw=src.charge[j],
            discharge_kw=src.discharge[j],
            import_kw=src.imp[j],
            export_kw=src.exp[j],
            soc=src.soc[j] if has_battery else None,
            irradiance=src.irradiance[j],
            temperature=src.temperature[j],
            on_fraction=src.on_fraction[j],
            task_uid=src.task_uid[j],
            day=today,
            month=month,
            total=total,
            eod=self.plant_eod(src.start + j * SLOT),
        )

    def slots(self, d: date, boundary: float) -> Iterator[tuple[DayData, int]]:
        """Slots of day ``d`` published by ``boundary``."""
        if d < self.install_date:
            return
        day = self.day(d)
        for k in range(day.n):
            if day.start + (k + 1) * SLOT > boundary:
                return
            yield day, k


_TOWNS = ("Utrecht", "Amersfoort", "Zwolle", "Delft", "Haarlem", "Arnhem", "Breda", "Leiden")
