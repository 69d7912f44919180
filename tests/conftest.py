"""Shared fixtures and helpers: the simulator, a config entry for it, a loaded integration,
moving time to the next refresh, finding entities and devices.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_HOST, CONF_PASSWORD, CONF_USERNAME, CONF_VERIFY_SSL
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import issue_registry as ir
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)

import custom_components.fusionsolar  # noqa: F401 - makes the integration importable
from custom_components.fusionsolar.account import account_key
from custom_components.fusionsolar.const import (
    CONF_HISTORY_DAYS,
    CONF_PLANTS,
    CONF_POLL_ALARMS,
    CONF_POLL_DEVICES,
    DOMAIN,
)
from tests.simulator import Simulator, SimulatorConfig
from tests.simulator.testing import FakeClock, NbiTestClient

pytest_plugins = ["tests.simulator.pytest_plugin"]


#: A sunny June morning in the plants' time zone (Europe/Amsterdam, UTC+2).
SUNNY = "2026-06-18 08:02:00+00:00"
#: The entity id prefix of the first plant's sensors.
PLANT = "sensor.plant_1"
# Identities in the default simulator (seed 1): the plant and its devices.
PLANT_CODE = "NE=33554432"
INVERTER_ID = 1000000033554433
BATTERY_ID = 1000000033554434
METER_ID = 1000000033554435
SENSOR_ID = 1000000033554436
INVERTER_DN = "NE=33554433"
BATTERY_DN = "NE=33554434"

#: A simulator on a fake clock, an HTTP client for it and the clock.
Started = tuple[Simulator, NbiTestClient, FakeClock]
StartSimulator = Callable[..., Awaitable[Started]]

#: The cloud publishes new data every 5 minutes; the coordinators refresh then.
REFRESH = timedelta(minutes=5)


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(request: pytest.FixtureRequest) -> None:
    """Let Home Assistant load custom_components/fusionsolar.

    A test that asks for ``recorder_mock`` gets the recorder started first, before
    Home Assistant (as the recorder requires).
    """
    if "recorder_mock" in request.fixturenames:
        request.getfixturevalue("recorder_mock")
    request.getfixturevalue("enable_custom_integrations")


def entry_for(sim: Simulator, **options: object) -> MockConfigEntry:
    """Build a config entry pointing at a simulator."""
    return MockConfigEntry(
        domain=DOMAIN,
        title=f"{sim.username} (simulator)",
        unique_id=account_key(sim.username),
        minor_version=2,
        data={
            CONF_HOST: sim.url,
            CONF_USERNAME: sim.username,
            CONF_PASSWORD: sim.password,
            CONF_VERIFY_SSL: False,
        },
        options={
            CONF_PLANTS: [plant.code for plant in sim.plants],
            CONF_POLL_DEVICES: True,
            CONF_POLL_ALARMS: True,
            CONF_HISTORY_DAYS: 2,
            **options,
        },
    )


async def setup_integration(
    hass: HomeAssistant, target: Simulator | MockConfigEntry, **options: object
) -> MockConfigEntry:
    """Set up the integration for a simulator (with options) or a prepared entry.

    Waits for everything setup started, background tasks included, and checks the
    entry loaded.
    """
    entry = target if isinstance(target, MockConfigEntry) else entry_for(target, **options)
    if entry.entry_id not in hass.config_entries.async_entry_ids():
        entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id), (entry.state, entry.reason)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert entry.state is ConfigEntryState.LOADED, (entry.state, entry.reason)
    return entry


async def advance(hass: HomeAssistant, freezer: FrozenDateTimeFactory, seconds: float) -> None:
    """Move time on, fire the timers due and wait till all is done (background tasks too)."""
    freezer.tick(timedelta(seconds=seconds))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)


async def advance_minutes(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, minutes: int
) -> None:
    """Move time on minute by minute, letting timers and coordinators run each minute."""
    for _ in range(minutes):
        await advance(hass, freezer, 60)


async def advance_recorded(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, seconds: float
) -> None:
    """``advance``, then wait until the recorder has committed what it was given."""
    await advance(hass, freezer, seconds)
    await async_wait_recording_done(hass)


async def next_refresh(hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> None:
    """Move to just after the next cloud refresh and let the coordinators run."""
    await advance(hass, freezer, REFRESH.total_seconds())


def entity_id_of(hass: HomeAssistant, platform: str, unique_id: str) -> str:
    """The entity id of this integration's entity with ``unique_id`` on ``platform``."""
    found = er.async_get(hass).async_get_entity_id(platform, DOMAIN, unique_id)
    assert found is not None, unique_id
    return found


def device_states(hass: HomeAssistant, identifier: str) -> list[str]:
    """States of the entities of one registry device (none if the device is gone)."""
    device = find_device(hass, identifier)
    if device is None:
        return []
    entities = er.async_entries_for_device(er.async_get(hass), device.id)
    return [state.state for e in entities if (state := hass.states.get(e.entity_id))]


def repair_issues(hass: HomeAssistant, key: str) -> list[ir.IssueEntry]:
    """This integration's repair issues with translation key ``key``."""
    return [
        issue
        for (domain, _), issue in ir.async_get(hass).issues.items()
        if domain == DOMAIN and issue.translation_key == key
    ]


def find_device(hass: HomeAssistant, identifier: str) -> dr.DeviceEntry | None:
    """This integration's device with ``identifier``, if any (on every HA version)."""
    registry = dr.async_get(hass)
    return next(
        (
            device
            for entry in hass.config_entries.async_entries(DOMAIN)
            for device in dr.async_entries_for_config_entry(registry, entry.entry_id)
            if (DOMAIN, identifier) in device.identifiers
        ),
        None,
    )


def registry_device(hass: HomeAssistant, identifier: str) -> dr.DeviceEntry:
    """Find a device of this integration by identifier (on every Home Assistant version)."""
    device = find_device(hass, identifier)
    assert device is not None, identifier
    return device


@pytest.fixture
async def simulators_on_fake_clock(socket_enabled: None) -> AsyncIterator[StartSimulator]:
    """Start simulators on a fake clock, each with an NBI test client.

    ``await simulators_on_fake_clock(clock=None, login=False, **config)``: the clock
    starts on a Wednesday in June, 12:01 local, unless given; ``login`` logs in to the
    legacy family, and to V7 where the simulator serves it.
    """
    sims: list[Simulator] = []
    session = aiohttp.ClientSession()

    async def factory(
        clock: FakeClock | None = None, *, login: bool = False, **config: Any
    ) -> Started:
        clk = clock or FakeClock.at(2025, 6, 18, 12, 1)
        sim = Simulator(SimulatorConfig(**config), clock=clk)
        await sim.start()
        sims.append(sim)
        client = NbiTestClient(sim, session)
        if login:
            await client.login("legacy")
            if sim.config.v7_enabled and not sim.quirks.no_v7:
                await client.login("v7")
        return sim, client, clk

    yield factory
    await session.close()
    for sim in sims:
        await sim.stop()


@pytest.fixture
async def sim(simulator_factory: Callable[..., Awaitable[Simulator]]) -> Simulator:
    """A started default simulator that raises no alarms of its own (tests raise them)."""
    return await simulator_factory(alarm_rate_per_day=0)


@pytest.fixture
def mock_config_entry(simulator: Simulator) -> MockConfigEntry:
    """A config entry for the default simulator."""
    return entry_for(simulator)


@pytest.fixture
async def init_integration(
    simulator: Simulator, hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> MockConfigEntry:
    """Set up the integration against the simulator."""
    return await setup_integration(hass, mock_config_entry)
