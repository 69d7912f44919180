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
"""

from __future__ import annotations

import bisect
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cached_property, lru_cache
from itertools import accumulate
from typing import TYPE_CHECKING, Literal
from zoneinfo import ZoneInfo

from . import const
from .config import DeviceSpec

if TYPE_CHECKING:
    from .config import SimulatorConfig

SLOT = 300
SLOT_H = SLOT / 3600.0
ETA = 0.97  # one-way battery efficiency
COUNTERS = ("pv", "load", "import", "export", "charge", "discharge")
Counters = dict[str, float]

LEGACY_TYPE = {
    "inverter": const.DEV_RESIDENTIAL_INVERTER,
    "string_inverter": const.DEV_STRING_INVERTER,
    "battery": const.DEV_BATTERY,
    "meter": const.DEV_GRID_METER,
    "power_sensor": const.DEV_POWER_SENSOR,
    "emi": const.DEV_EMI,
}
V7_TYPE = {
    "inverter": const.V7_INVERTER,
    "string_inverter": const.V7_INVERTER,
    "battery": const.V7_BATTERY,
    "meter": const.V7_METER,
    "power_sensor": const.V7_METER,
    "emi": const.V7_EMI,
}
SN_PREFIX = {
    "inverter": "HV",
    "string_inverter": "ES",
    "battery": "LU",
    "meter": "DT",
    "power_sensor": "PS",
    "emi": "EM",
}
BATTERY_EOD_RANGE = {"huawei": (0, 20), "lg": (12, 20)}

NE_BASE = 33554432
NE_STRIDE = 64
# Devices beyond the 63rd of a plant are numbered here, 65536 per plant (no collision).
NE_OVERFLOW_BASE = 1 << 30
DEV_ID_BASE = 1_000_000_000_000_000


def floor_slot(t: float) -> float:
    """Start of the slot containing ``t``."""
    return math.floor(t / SLOT) * SLOT


def zero_counters() -> Counters:
    """A counter dict with every counter at 0."""
    return dict.fromkeys(COUNTERS, 0.0)


class NeAddressed:
    """A device of a plant addressed by its NE number: V7 DN and legacy numeric id."""

    plant: Plant
    ne: int

    @property
    def dn(self) -> str:
        """V7 device DN."""
        return f"NE={self.ne}"

    @property
    def dev_id(self) -> int:
        """Legacy numeric device id."""
        return DEV_ID_BASE + self.ne


@dataclass
class Device(NeAddressed):
    """A device of a plant; identity for both API families."""

    plant: Plant
    index: int
    spec: DeviceSpec
    ne: int
    sn: str
    name: str
    model: str
    software_version: str
    rated_power_kw: float = 0.0
    capacity_kwh: float = 0.0
    max_power_w: float = 0.0
    control_fails: bool = False  # admin hook: control commands report failure

    @property
    def kind(self) -> str:
        """Device kind (inverter, string_inverter, battery, meter, power_sensor, emi)."""
        return self.spec.kind

    @property
    def dev_type_id(self) -> int:
        """Legacy devTypeId."""
        return LEGACY_TYPE[self.kind]

    @property
    def v7_type_id(self) -> int:
        """V7 deviceTypeId."""
        return V7_TYPE[self.kind]

    @property
    def is_inverter(self) -> bool:
        """Residential or string inverter."""
        return self.kind in ("inverter", "string_inverter")

    @property
    def eod_range(self) -> tuple[int, int]:
        """Allowed end-of-discharge SOC range of a battery."""
        return BATTERY_EOD_RANGE[self.spec.vendor]


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
class Alarm:
    """An alarm on a device."""

    key: str
    alarm_id: int
    device: Device
    raise_time: float
    clear_time: float | None
    manual: bool = False
    cleared_by_user: bool = False

    @property
    def info(self) -> AlarmInfo:
        """Catalog entry."""
        return ALARM_CATALOG[self.alarm_id]

    def active_at(self, t: float) -> bool:
        """Raised and not yet cleared at ``t``."""
        return self.raise_time <= t and (self.clear_time is None or self.clear_time > t)


@dataclass(frozen=True)
class AlarmInfo:
    """Catalog data of an alarm type."""

    alarm_id: int
    kinds: tuple[str, ...]
    level: int  # 1 critical, 2 major, 3 minor, 4 warning
    alarm_type: int
    names: dict[str, str]
    cause: str
    repair: str


ALARM_CATALOG: dict[int, AlarmInfo] = {
    2032: AlarmInfo(
        2032,
        ("inverter", "string_inverter"),
        2,
        2,
        {
            "en_UK": "Grid Loss",
            "zh_CN": "电网掉电",
            "de_DE": "Netzausfall",
            "nl_NL": "Netuitval",
        },
        "The power grid experiences an outage, or the AC circuit or AC breaker is off.",
        "1. Check that the AC voltage is normal. 2. Check that the AC circuit breaker is on.",
    ),
    2062: AlarmInfo(
        2062,
        ("inverter", "string_inverter"),
        2,
        2,
        {
            "en_UK": "Low Insulation Resistance",
            "zh_CN": "绝缘阻抗低",
            "de_DE": "Niedriger Isolationswiderstand",
            "nl_NL": "Lage isolatieweerstand",
        },
        "A short circuit exists between the PV array and the ground.",
        "Check the impedance between the PV array output and the ground.",
    ),
    2003: AlarmInfo(
        2003,
        ("inverter", "string_inverter"),
        1,
        2,
        {
            "en_UK": "DC Arc Fault",
            "zh_CN": "直流电弧故障",
            "de_DE": "DC-Lichtbogenfehler",
            "nl_NL": "DC-boogfout",
        },
        "The PV string arcs or is in poor contact.",
        "Check whether the PV string has arcs or is in poor contact.",
    ),
    61440: AlarmInfo(
        61440,
        ("inverter", "string_inverter"),
        3,
        2,
        {
            "en_UK": "The monitoring unit is faulty.",
            "zh_CN": "监控单元故障",
            "de_DE": "Die Überwachungseinheit ist fehlerhaft.",
            "nl_NL": "De bewakingseenheid is defect.",
        },
        "The flash memory space is insufficient.",
        "Turn off the AC output switch and DC input switch, then turn them on after 5 minutes.",
    ),
    2068: AlarmInfo(
        2068,
        ("battery",),
        3,
        2,
        {
            "en_UK": "Battery Abnormal",
            "zh_CN": "电池异常",
            "de_DE": "Batterie anormal",
            "nl_NL": "Batterij abnormaal",
        },
        "The battery is faulty, disconnected, or the battery breaker is off.",
        "Check the battery power cables and the battery switch.",
    ),
    2067: AlarmInfo(
        2067,
        ("meter", "power_sensor"),
        4,
        5,
        {
            "en_UK": "Faulty Power Collector",
            "zh_CN": "采集器故障",
            "de_DE": "Leistungsmesser defekt",
            "nl_NL": "Vermogensmeter defect",
        },
        "The communication with the power meter is interrupted.",
        "Check that the power meter cable is connected and the meter is powered on.",
    ),
}


@dataclass
class DayData:
    """One simulated local day (slot lists are per slot, cumulative lists per boundary)."""

    day: date
    start: float
    n: int
    pv: list[float]
    load: list[float]
    charge: list[float]
    discharge: list[float]
    imp: list[float]
    exp: list[float]
    soc: list[float]  # at slot end
    irradiance: list[float]  # W/m2
    temperature: list[float]  # ambient degC
    on_fraction: list[float]
    task_uid: list[int]  # 0 = none
    cum: dict[str, list[float]]  # kWh from midnight to each boundary (len n + 1)
    task_end: dict[int, tuple[float, int]]
    end_soc: float
    end_task: int

    def totals(self) -> Counters:
        """Energy of the whole day."""
        return {key: values[-1] for key, values in self.cum.items()}


@dataclass(frozen=True)
class SlotState:
    """Published plant state: averages over the slot ending at ``time``, counters at it."""

    time: float
    slot_start: float
    pv_kw: float
    load_kw: float
    charge_kw: float
    discharge_kw: float
    import_kw: float
    export_kw: float
    soc: float | None
    irradiance: float
    temperature: float
    on_fraction: float
    task_uid: int
    day: Counters
    month: Counters
    total: Counters
    eod: float | None

    @property
    def grid_kw(self) -> float:
        """Grid power, > 0 export (V7 meterPower convention)."""
        return self.export_kw - self.import_kw

    @property
    def battery_kw(self) -> float:
        """Battery power, > 0 discharge (V7 batteryPower convention)."""
        return self.discharge_kw - self.charge_kw

    @property
    def inverter_ac_kw(self) -> float:
        """Hybrid inverter AC output (PV + discharge - charge)."""
        return self.pv_kw + self.discharge_kw - self.charge_kw


@lru_cache(maxsize=4096)
def _clear_sky_daily(lat_deg: float, doy: int) -> float:
    """Clear-sky PV energy of one day in kWh per kWp (15-minute integration)."""
    decl = math.radians(23.44) * math.sin(2 * math.pi * (284 + doy) / 365.0)
    lat = math.radians(lat_deg)
    a = math.sin(lat) * math.sin(decl)
    b = math.cos(lat) * math.cos(decl)
    total = 0.0
    for q in range(96):
        hour_angle = ((q + 0.5) / 4.0 - 12.0) * math.pi / 12.0
        sin_el = a + b * math.cos(hour_angle)
        if sin_el > 0:
            total += 0.82 * sin_el**0.8 * 0.25
    return total


class Plant:
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

    # --- control timelines -----------------------------------------------------------------

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

    # --- weather and load ------------------------------------------------------------------

    def _shapes(self, start: float, n: int) -> tuple[list[float], list[float], list[float]]:
        """Per-slot cos(hour angle), base load (kW) and temperature offset for a day shape.

        They depend only on the day's UTC offset and length, so they are cached.
        """
        key = (round(start % 86400.0), n)
        cached = self._shape_cache.get(key)
        if cached is not None:
            return cached
        lon_h = self.longitude / 15.0
        cos_h: list[float] = []
        load: list[float] = []
        temp: list[float] = []
        for k in range(n):
            mid = start + (k + 0.5) * SLOT
            utc_h = (mid % 86400.0) / 3600.0
            cos_h.append(math.cos((utc_h + lon_h - 12.0) * math.pi / 12.0))
            local_h = (k + 0.5) * SLOT / 3600.0
            load.append(
                self.load_base
                + self.load_scale
                * (
                    0.8 * math.exp(-(((local_h - 7.5) / 1.0) ** 2))
                    + 0.3 * math.exp(-(((local_h - 12.5) / 1.5) ** 2))
                    + 1.4 * math.exp(-(((local_h - 19.0) / 1.6) ** 2))
                )
            )
            temp.append(5.0 * math.sin((local_h - 9.0) * math.pi / 12.0))
        result = (cos_h, load, temp)
        self._shape_cache[key] = result
        return result

    def _weather(
        self, d: date, start: float, n: int
    ) -> tuple[list[float], list[float], list[float], list[float]]:
        """Per slot: PV available (kW, all inverters on), load (kW), irradiance, temperature."""
        rng = random.Random(f"{self.seed}/{self.index}/{d.isoformat()}")
        doy = d.timetuple().tm_yday
        decl = math.radians(23.44) * math.sin(2 * math.pi * (284 + doy) / 365.0)
        lat = math.radians(self.latitude)
        a = math.sin(lat) * math.sin(decl)
        b = math.cos(lat) * math.cos(decl)
        cloudiness = _cloudiness(rng)
        wander = rng.random()
        cap = (self.rated_power_kw or self.kwp) if self.inverters else 0.0
        pv_scale = self.kwp * 0.82 / 1000.0 if self.inverters else 0.0
        season = math.cos(2 * math.pi * (doy - 200) / 365.0)
        t_mean = 10.0 + 8.0 * season
        appliances = [
            (rng.uniform(8, 21), rng.uniform(0.5, 1.5), rng.uniform(1.0, 2.2))
            for _ in range(rng.randint(0, 3))
        ]
        cos_h, base_load, temp_shape = self._shapes(start, n)
        random_ = rng.random
        pv: list[float] = []
        irr: list[float] = []
        load: list[float] = []
        for k in range(n):
            sin_el = a + b * cos_h[k]
            wander += (random_() - 0.5) * 0.4
            wander = 1.0 if wander > 1.0 else (0.0 if wander < 0.0 else wander)
            if sin_el > 0:
                irradiance = 1000.0 * sin_el**0.8 * (1.0 - cloudiness * (0.35 + 0.65 * wander))
                power = irradiance * pv_scale
                pv.append(power if power < cap else cap)
            else:
                irradiance = 0.0
                pv.append(0.0)
            irr.append(irradiance)
            load.append(base_load[k] * (0.92 + 0.16 * random_()))
        for at, hours, kw in appliances:
            first = max(0, int(at * 3600 / SLOT))
            last = min(n, int((at + hours) * 3600 / SLOT))
            for k in range(first, last):
                load[k] += kw
        temp = [t_mean + x for x in temp_shape]
        return pv, load, irr, temp

    def _estimate_draws(self, d: date) -> tuple[float, float, float]:
        """Three seeded uniforms of an estimated day (drawn for all such days at once)."""
        if self._draws is None:
            rng = random.Random(self.seed * 1_000_003 + self.index)
            first = self.install_date.toordinal()
            count = max(0, self.detail_from.toordinal() - first)
            self._draws_from = first
            self._draws = [(rng.random(), rng.random(), rng.random()) for _ in range(count)]
        i = d.toordinal() - self._draws_from
        if 0 <= i < len(self._draws):
            return self._draws[i]
        ordinal = d.toordinal()
        return (
            _unit(self.seed, self.index, ordinal, 1),
            _unit(self.seed, self.index, ordinal, 2),
            _unit(self.seed, self.index, ordinal, 3),
        )

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
        pv = self.kwp * _clear_sky_daily(round(self.latitude * 2) / 2, d.timetuple().tm_yday)
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

    # --- alarms ------------------------------------------------------------------------------

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


_MASK64 = (1 << 64) - 1


def _unit(*parts: int) -> float:
    """Deterministic uniform [0, 1) from integers (splitmix64), cheaper than Random(str)."""
    x = 0x9E3779B97F4A7C15
    for part in parts:
        x = (x ^ (part & _MASK64)) & _MASK64
        x = (x + 0x9E3779B97F4A7C15) & _MASK64
        x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
        x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
        x ^= x >> 31
    return (x >> 11) / float(1 << 53)


def _cloudiness(rng: random.Random) -> float:
    roll = rng.random()
    if roll < 0.35:
        return rng.uniform(0.0, 0.1)
    if roll < 0.8:
        return rng.uniform(0.2, 0.6)
    return rng.uniform(0.7, 0.92)


_TOWNS = ("Utrecht", "Amersfoort", "Zwolle", "Delft", "Haarlem", "Arnhem", "Breda", "Leiden")


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
