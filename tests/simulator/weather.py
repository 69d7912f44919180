"""Weather and load of a simulated plant: seeded per plant-day, shaped by sun and season."""

from __future__ import annotations

import math
import random
from datetime import date
from functools import lru_cache

from .devices import Device
from .slots import SLOT

_MASK64 = (1 << 64) - 1


@lru_cache(maxsize=4096)
def clear_sky_daily(lat_deg: float, doy: int) -> float:
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


class PlantWeather:
    """Mixin of :class:`~.model.Plant`: PV, load, irradiance and temperature per slot."""

    seed: int
    index: int
    kwp: float
    latitude: float
    longitude: float
    load_base: float
    load_scale: float
    install_date: date
    detail_from: date
    inverters: list[Device]
    rated_power_kw: float
    _draws: list[tuple[float, float, float]] | None
    _draws_from: int
    _shape_cache: dict[tuple[int, int], tuple[list[float], list[float], list[float]]]

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
