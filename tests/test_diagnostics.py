"""Diagnostics of the config entry and of its devices, with redaction."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

# Diagnostics collect system info, which imports the Supervisor client; its
# dataclasses cannot be built while freezegun patches datetime: import it now.
import homeassistant.components.hassio  # noqa: F401
import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
    get_diagnostics_for_device,
)
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion
from syrupy.filters import props

from custom_components.fusionsolar.diagnostics import public_host
from tests.conftest import entry_for, registry_device
from tests.simulator import Simulator


@pytest.fixture(autouse=True)
def frozen(freezer: FrozenDateTimeFactory) -> None:
    """Fix the time before anything (the simulator's data, access tokens) depends on it."""
    freezer.move_to("2025-06-02 10:02:00+00:00")


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Use Home Assistant's snapshot extension (tests/snapshots/) whichever plugin won."""
    return snapshot.use_extension(HomeAssistantSnapshotExtension)


@pytest.fixture
async def loaded(
    hass: HomeAssistant, sim: Simulator, freezer: FrozenDateTimeFactory
) -> tuple[Simulator, MockConfigEntry]:
    """An entry with one refresh behind it and an active alarm."""
    entry = entry_for(sim)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    sim.raise_alarm(0, 2032)
    freezer.tick(timedelta(minutes=5))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    return sim, entry


def _secrets(sim: Simulator, entry: MockConfigEntry) -> list[str]:
    """Everything that must never appear in diagnostics."""
    client = entry.runtime_data.account.client
    tokens = [s.token for s in client._sessions.values() if s.token]
    assert tokens, "the client should hold tokens after setup"
    serials = [device.sn for plant in sim.plants for device in plant.devices]
    return [sim.password, sim.username, sim.url, *tokens, *serials]


def _assert_redacted(data: Any, secrets: list[str]) -> None:
    dump = json.dumps(data)
    for secret in secrets:
        assert secret not in dump
    _assert_no_coordinates(data)


def _assert_no_coordinates(data: Any) -> None:
    if isinstance(data, dict):
        for key, value in data.items():
            if key in ("latitude", "longitude", "address"):
                assert value in (None, "**REDACTED**"), key
            _assert_no_coordinates(value)
    elif isinstance(data, list):
        for item in data:
            _assert_no_coordinates(item)


async def test_entry_diagnostics(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    loaded: tuple[Simulator, MockConfigEntry],
    snapshot: SnapshotAssertion,
) -> None:
    """The entry's diagnostics show state, quota and data, without secrets."""
    sim, entry = loaded
    data = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    # Quota usage counts the calls of every feature: asserted here, not snapshotted.
    assert data == snapshot(exclude=props("quota"))
    _assert_redacted(data, _secrets(sim, entry))
    assert data["client"]["families"] == {"legacy": True, "v7": True}
    alarm_quota = data["quota"]["/thirdData/getAlarmList"]
    assert alarm_quota["spec_limit"] == 1
    assert alarm_quota["total_calls"] == 2
    assert alarm_quota["refusals"] == 0
    assert alarm_quota["refusal_times"] == []
    (plant,) = data["plants"]
    assert plant["plant"]["latitude"] == "**REDACTED**"
    assert plant["alarms"][0]["esn"] == "**REDACTED**"
    assert all(device["device"]["sn"] == "**REDACTED**" for device in data["devices"])


async def test_device_diagnostics(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    loaded: tuple[Simulator, MockConfigEntry],
    device_registry: dr.DeviceRegistry,
    snapshot: SnapshotAssertion,
) -> None:
    """Each device (the plant, an inverter) has its own diagnostics."""
    sim, entry = loaded
    secrets = _secrets(sim, entry)
    plant = registry_device(hass, sim.plants[0].code)
    inverter = sim.plants[0].devices[0]
    device = registry_device(hass, inverter.sn)
    assert plant is not None
    assert device is not None
    plant_data = await get_diagnostics_for_device(hass, hass_client, entry, plant)
    device_data = await get_diagnostics_for_device(hass, hass_client, entry, device)
    assert plant_data == snapshot(name="plant")
    assert device_data == snapshot(name="inverter")
    _assert_redacted(plant_data, secrets)
    _assert_redacted(device_data, secrets)
    assert device_data["state"]["kpi"]["values"]


@pytest.mark.parametrize(
    ("host", "shown"),
    [
        ("eu5.fusionsolar.huawei.com", "eu5.fusionsolar.huawei.com"),
        ("https://intl.fusionsolar.huawei.com:27200", "intl.fusionsolar.huawei.com"),
        ("192.168.1.20", "**REDACTED**"),
        ("http://127.0.0.1:8443", "**REDACTED**"),
        ("pvms.example.org", "**REDACTED**"),
        ("huawei.com.evil.example", "**REDACTED**"),
    ],
)
def test_public_host(host: str, shown: str) -> None:
    """Only Huawei's region hosts are shown: they tell the region, nothing personal."""
    assert public_host(host) == shown
