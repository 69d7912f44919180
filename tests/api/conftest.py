"""Fixtures for client tests against the simulator (fake clock shared by both)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest
import pytest_asyncio

from custom_components.fusionsolar.api import FusionSolarClient, QuotaGovernor
from tests.simulator import Simulator

from .fakes import FakeClock

ClientFactory = Callable[..., Awaitable[tuple[Simulator, FusionSolarClient]]]

# A Monday 10:00 in the simulator's default zone: no maintenance window, daylight.
START = datetime(2025, 6, 2, 10, 0, tzinfo=ZoneInfo("Europe/Amsterdam")).timestamp()


@pytest.fixture
def clock() -> FakeClock:
    """The fake clock shared by simulator, governor and client."""
    return FakeClock(START)


@pytest_asyncio.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """An aiohttp session, closed at teardown."""
    async with aiohttp.ClientSession() as session:
        yield session


@pytest_asyncio.fixture
async def make_client(
    simulator_factory: Callable[..., Awaitable[Simulator]],
    http: aiohttp.ClientSession,
    clock: FakeClock,
) -> AsyncIterator[ClientFactory]:
    """``await make_client(**simulator_config)`` -> (sim, client) on the fake clock."""
    clients: list[FusionSolarClient] = []

    async def factory(
        *,
        governor: QuotaGovernor | None = None,
        client_kwargs: dict[str, Any] | None = None,
        sim: Simulator | None = None,
        **config: Any,
    ) -> tuple[Simulator, FusionSolarClient]:
        config.setdefault("history_detail_days", 1)
        if sim is None:
            sim = await simulator_factory(clock=clock, **config)
        gov = governor or QuotaGovernor(clock=clock, sleep=clock.sleep)
        client = FusionSolarClient(
            http, sim.url, sim.username, sim.password, governor=gov, **(client_kwargs or {})
        )
        clients.append(client)
        return sim, client

    yield factory
    for client in clients:
        await client.async_close()
