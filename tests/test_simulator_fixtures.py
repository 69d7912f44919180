"""Simulator: the pytest fixtures, the real-time default clock, admin hooks for outages."""

from __future__ import annotations

import aiohttp
from freezegun.api import FrozenDateTimeFactory

from tests.simulator import Simulator, SimulatorConfig
from tests.simulator.pytest_plugin import SimulatorFactory
from tests.simulator.testing import NbiTestClient


async def test_simulator_fixture(simulator: Simulator) -> None:
    assert simulator.url.startswith("http://127.0.0.1:")
    assert (simulator.username, simulator.password) == ("nbi_user", "nbi_pass")
    async with aiohttp.ClientSession() as session:
        client = NbiTestClient(simulator, session)
        await client.login("v7")
        data = await client.data("vpp/plantRealtimeKpi", {"plantCodes": simulator.plants[0].code})
        assert data[0]["dataItemMap"]["healthState"] in (0, 2)
    assert simulator.calls.count("vpp/plantRealtimeKpi") == 1


async def test_simulator_factory(simulator_factory: SimulatorFactory) -> None:
    field = await simulator_factory(plants=2, profile="field", seed=7)
    spec = await simulator_factory(plants=1)
    assert field.url != spec.url
    assert field.quirks.no_v7
    assert not spec.quirks.no_v7
    assert len(field.plants) == 2
    unstarted = await simulator_factory(start=False, plants=1)
    assert unstarted.url == ""


async def test_default_clock_follows_freezegun(freezer: FrozenDateTimeFactory) -> None:
    freezer.move_to("2025-06-18 10:01:00+00:00")
    sim = Simulator(SimulatorConfig())
    assert sim.now() == 1750240860.0
    before = sim.state(0)
    freezer.tick(300)
    assert sim.now() == 1750241160.0
    assert sim.state(0).time == before.time + 300


async def test_offline_plant_and_failing_devices(simulator: Simulator) -> None:
    code = simulator.plants[0].code
    async with aiohttp.ClientSession() as session:
        client = NbiTestClient(simulator, session)
        async with session.post(
            simulator.url + "/_sim/plant", json={"plantCode": code, "offline": True}
        ) as r:
            assert (await r.json())["offline"] is True
        battery = simulator.plants[0].batteries[0]
        async with session.post(
            simulator.url + "/_sim/device", json={"dn": battery.dn, "control_fails": True}
        ) as r:
            assert r.status == 200
        await client.login("v7")
        item = (await client.data("vpp/plantRealtimeKpi", {"plantCodes": code}))[0]["dataItemMap"]
        assert item["healthState"] == 1
        _, body = await client.post("vpp/dod", {"dns": battery.dn, "dod": 90})
        assert body["failCode"] == 20051
        await client.login("legacy")
        legacy = await client.data("getStationRealKpi", {"stationCodes": code})
        assert legacy[0]["dataItemMap"]["real_health_state"] == 1
