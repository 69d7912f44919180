"""Simulator: the battery conserves energy over days, before and after the anchor."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.simulator import Simulator, SimulatorConfig
from tests.simulator.model import ETA
from tests.simulator.testing import FakeClock

DAY = 86400.0


@pytest.mark.parametrize(("month", "seed"), [(3, 1), (6, 2), (11, 3)])
def test_item16_17_battery_conserves_energy_over_days(month: int, seed: int) -> None:
    """Charge in x efficiency - discharge out / efficiency = change of stored energy.

    The window covers seven days of history before the simulator's start and two days
    after it, read through the published counters and SOC (what the API reports).
    """
    clock = FakeClock.at(2025, month, 20, 12, 0)
    sim = Simulator(SimulatorConfig(plants=3, seed=seed), clock=clock)
    begin, end = clock.t - 7 * DAY, clock.advance(2 * DAY)
    for plant in sim.plants:
        first, last = sim.state(plant.code, at=begin), sim.state(plant.code, at=end)
        charged = last.total["charge"] - first.total["charge"]
        discharged = last.total["discharge"] - first.total["discharge"]
        assert charged > 10, plant.code  # the battery is used
        assert discharged > 10, plant.code
        assert first.soc is not None
        assert last.soc is not None
        stored = (last.soc - first.soc) / 100 * plant.capacity_kwh
        assert charged * ETA - discharged / ETA == pytest.approx(stored, abs=1e-6), plant.code
        # The SOC never leaves its bounds on any slot of those days.
        d = plant.local_date(begin)
        while d <= plant.local_date(end):
            day = plant.day(d)
            eod = min(plant.plant_eod(day.start) or 0.0, 100.0)
            assert min(day.soc) >= eod - 1e-6, (plant.code, d)
            assert max(day.soc) <= 100 + 1e-9, (plant.code, d)
            d += timedelta(days=1)
