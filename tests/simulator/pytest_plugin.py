"""pytest fixtures: ``simulator`` and ``simulator_factory``.

Enable with ``pytest_plugins = ["tests.simulator.pytest_plugin"]``.

* ``simulator``: a started default ``Simulator`` (1 plant, seed 1, spec profile) on
  127.0.0.1, clock ``time.time`` (so freezegun in Home Assistant tests moves it).
* ``simulator_factory(clock=None, start=True, **config_fields)``: builds (and by default
  starts) more simulators with a custom ``SimulatorConfig``; all are stopped at teardown.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import pytest_asyncio

from .app import Simulator
from .config import SimulatorConfig

SimulatorFactory = Callable[..., Awaitable[Simulator]]


def enable_loopback_sockets(request: pytest.FixtureRequest) -> None:
    """Enable sockets under pytest-socket (Home Assistant's plugin blocks them).

    Connections stay limited to 127.0.0.1 by Home Assistant's ``socket_allow_hosts``.
    """
    with contextlib.suppress(pytest.FixtureLookupError):
        request.getfixturevalue("socket_enabled")


@pytest_asyncio.fixture
async def simulator_factory(request: pytest.FixtureRequest) -> AsyncIterator[SimulatorFactory]:
    """Factory of started simulators; ``await simulator_factory(plants=3, profile="field")``."""
    enable_loopback_sockets(request)
    started: list[Simulator] = []

    async def factory(
        clock: Callable[[], float] | None = None, start: bool = True, **config: Any
    ) -> Simulator:
        sim = Simulator(SimulatorConfig(**config), clock=clock)
        if start:
            await sim.start(host="127.0.0.1", port=0)
            started.append(sim)
        return sim

    yield factory
    for sim in started:
        await sim.stop()


@pytest_asyncio.fixture
async def simulator(simulator_factory: SimulatorFactory) -> Simulator:
    """A started default simulator."""
    return await simulator_factory()
