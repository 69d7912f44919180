"""Batching, concurrency and quota learning against the simulator."""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import random
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from custom_components.fusionsolar.api import (
    Device,
    DispatchMode,
    Endpoint,
    FusionSolarClient,
    QuotaExceededError,
    QuotaGovernor,
    QuotaWouldExceed,
)

from .conftest import ClientFactory
from .fakes import FakeClock


@pytest.mark.parametrize("n", [1, 100, 250])
async def test_device_batching(make_client: ClientFactory, n: int) -> None:
    # The simulator numbers at most 63 devices per plant (NE stride 64): 50 per plant.
    plants = math.ceil(n / 50)
    per_plant = {i: ["inverter"] * min(50, n - 50 * i) for i in range(plants)}
    sim, client = await make_client(plants=plants, plant_devices=per_plant)
    codes = [p.code for p in sim.plants]
    devices = await client.async_get_devices(codes)
    assert len(devices) == n
    kpis = await client.async_get_device_realtime(devices)
    assert len(kpis) == n
    calls = sim.calls.select(Endpoint.DEV_REAL_KPI)
    assert len(calls) == math.ceil(n / 100)
    assert all(c.size <= 100 for c in calls)
    assert sum(c.size for c in calls) == n
    assert sim.calls.refused == 0


async def test_plant_batching_and_paging(make_client: ClientFactory, clock: FakeClock) -> None:
    sim, client = await make_client(plants=150, devices=("inverter",))
    plants = await client.async_get_plants()  # V7 plants: 2 pages, 1/min -> waits
    assert len(plants) == 150
    assert sim.calls.count(Endpoint.V7_PLANTS) == 2
    codes = [p.code for p in plants]
    realtime = await client.async_get_plant_realtime(codes)
    assert len(realtime) == 150
    assert [c.size for c in sim.calls.select(Endpoint.VPP_PLANT_REALTIME)] == [100, 50]
    devices = await client.async_get_devices(codes)
    assert len(devices) == 150
    assert [c.size for c in sim.calls.select(Endpoint.DEV_LIST)] == [100, 50]
    assert all(d.dn for d in devices)
    assert sim.calls.refused == 0


async def test_v7_plants_as_bare_list(make_client: ClientFactory) -> None:
    sim, client = await make_client(plants=3, quirks=["plants_as_list"])
    plants = await client.async_get_plants()
    assert len(plants) == 3
    assert sim.calls.count(Endpoint.V7_PLANTS) == 1


async def test_hammer_for_a_simulated_hour(make_client: ClientFactory, clock: FakeClock) -> None:
    sim, client = await make_client(
        plants=2, devices=("inverter", "battery", "meter", "power_sensor", "emi")
    )
    codes = [p.code for p in sim.plants]
    devices = await client.async_get_devices(codes, wait=True)
    batteries = [d.dn for d in devices if d.dn and d.dev_type_id == 39]
    end = clock.now + 3600
    rng = random.Random(7)
    day_ms = int(clock.now * 1000) - 3_600_000
    ops: list[Callable[[], Awaitable[Any]]] = [
        lambda: client.async_get_plant_realtime(codes, wait=True),
        lambda: client.async_get_station_realtime(codes, wait=True),
        lambda: client.async_get_device_realtime(devices, wait=True),
        lambda: client.async_get_devices(codes, wait=True),
        lambda: client.async_get_plants(wait=True),
        lambda: client.async_get_alarms(codes, day_ms, day_ms + 3_600_000, wait=True),
        lambda: client.async_get_plant_hourly(codes, day_ms, wait=True),
    ]
    done: list[str] = []

    async def worker(i: int) -> None:
        while clock.now < end:
            if i < 0:  # one user sends a command now and then, amid 25 pollers
                await client.async_set_dod(batteries, 80 + rng.randrange(10))
                done.append("control")
                await clock.sleep(60 + rng.random() * 60)
            else:
                await rng.choice(ops)()
                done.append("read")
            await clock.sleep(rng.random() * 5)

    await asyncio.wait_for(asyncio.gather(*(worker(i) for i in range(-1, 25))), 120)
    assert sim.calls.refused == 0
    assert sim.calls.count(fail_code=407) == 0
    assert len(done) > 150
    assert done.count("control") >= 20  # commands are not starved by the polls
    # the governor's view agrees with the simulator's
    for endpoint, counted in sim.calls.per_endpoint().items():
        assert client.governor.snapshot()[endpoint]["total_calls"] >= counted - 2


async def _run_field(
    client: FusionSolarClient,
    clock: FakeClock,
    seconds: float,
    codes: list[str],
    devices: list[Device],
) -> None:
    end = clock.now + seconds
    day_ms = int((clock.now - 86400) * 1000)
    while clock.now < end:
        for op in (
            lambda: client.async_get_station_realtime(codes),
            lambda: client.async_get_device_realtime(devices),
            lambda: client.async_get_devices(codes),
            lambda: client.async_get_alarms(codes, day_ms, day_ms + 3_600_000),
            lambda: client.async_get_plant_hourly(codes, day_ms),
        ):
            with contextlib.suppress(QuotaWouldExceed, QuotaExceededError):
                await op()
        clock.advance(15)


async def test_field_profile_learns_once(make_client: ClientFactory, clock: FakeClock) -> None:
    sim, client = await make_client(
        profile="field",
        devices=("inverter", "battery", "meter", "power_sensor"),
        disabled_quirks=["null_values"],
    )
    families = await client.async_login(wait=True)
    assert families.v7 is False  # field: V7 absent
    plants = await client.async_get_plants(wait=True)  # getStationList refused -> stations
    codes = [p.code for p in plants]
    devices = await client.async_get_devices(codes, wait=True)
    assert len(devices) == 4
    await _run_field(client, clock, 3 * 3600, codes, devices)
    refused = sim.calls.select(quota_refused=True)
    per_endpoint: dict[str, int] = {}
    for record in refused:
        per_endpoint[record.endpoint] = per_endpoint.get(record.endpoint, 0) + 1
    assert refused, "the field profile should have taught the governor something"
    # A daily budget is learned from a second refusal in a row (issue 16 item 13).
    once = {e: 2 if e == Endpoint.KPI_STATION_HOUR else 1 for e in per_endpoint}
    assert per_endpoint == once, per_endpoint
    assert client.governor.limit(Endpoint.DEV_REAL_KPI) == 1
    assert client.governor.limit(Endpoint.STATION_REAL_KPI) == 1
    assert client.governor.daily_budget(Endpoint.KPI_STATION_HOUR) == 25
    last_refusal = max(r.time for r in refused)
    assert last_refusal < clock.now - 3600  # nothing in the last hours
    # Learned state survives a restart: a new governor + client make no new refusal.
    state = json.loads(json.dumps(client.governor.export_state()))
    await client.async_close()
    clock.advance(5)
    governor = QuotaGovernor(clock=clock, sleep=clock.sleep)
    governor.restore_state(state)
    _, client2 = await make_client(sim=sim, governor=governor)
    before = sim.calls.refused
    await _run_field(client2, clock, 2 * 3600, codes, devices)
    assert sim.calls.refused == before
    snap = governor.snapshot()
    assert snap[Endpoint.DEV_REAL_KPI]["learned_limit"] == 1
    assert snap[Endpoint.DEV_REAL_KPI]["refusals"] == 1


async def test_control_waits_for_quota_within_bound(
    make_client: ClientFactory, clock: FakeClock
) -> None:
    sim, client = await make_client()
    code = sim.plants[0].code
    await client.async_get_plants()
    start = clock.now
    cmd = await client.async_charge_discharge([code], DispatchMode.CHARGE, target_soc=80)
    assert cmd.success
    assert clock.now - start < 61
    # 100/min: the 101st in a minute cannot be served within the bound
    for _ in range(99):
        await client.async_charge_discharge([code], DispatchMode.STOP)
    with pytest.raises(QuotaWouldExceed):
        await client.async_charge_discharge([code], DispatchMode.STOP)
    assert sim.calls.refused == 0
