"""Repair issues raised and cleared against the simulator."""

from __future__ import annotations

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.fusionsolar.api import Endpoint
from custom_components.fusionsolar.const import CONF_PLANTS, DOMAIN
from tests.conftest import advance as _advance
from tests.conftest import repair_issues as _issues
from tests.conftest import setup_integration as _setup
from tests.simulator import Simulator
from tests.simulator.config import Account
from tests.simulator.pytest_plugin import SimulatorFactory

START = "2025-06-02 10:02:00+00:00"


@pytest.fixture(autouse=True)
def frozen(freezer: FrozenDateTimeFactory) -> None:
    """Start every test at the same time (before the simulator starts)."""
    freezer.move_to(START)


async def test_no_v7(hass: HomeAssistant, simulator_factory: SimulatorFactory) -> None:
    """An account without V7 gets a warning that control is unavailable, until it has V7."""
    sim = await simulator_factory(v7_enabled=False, alarm_rate_per_day=0)
    entry = await _setup(hass, sim)
    (issue,) = _issues(hass, "no_v7")
    assert issue.severity is ir.IssueSeverity.WARNING
    assert not issue.is_fixable
    assert issue.translation_placeholders == {"account": entry.title}

    sim.config.v7_enabled = True
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert entry.runtime_data.account.client.families.v7
    assert _issues(hass, "no_v7") == []


async def test_endpoint_refused(
    hass: HomeAssistant, simulator_factory: SimulatorFactory, freezer: FrozenDateTimeFactory
) -> None:
    """A refused endpoint is named in an issue, cleared once the account may use it."""
    account = Account("nbi_user", "nbi_pass", denied_endpoints={Endpoint.ALARM_LIST: 401})
    sim = await simulator_factory(accounts=[account], alarm_rate_per_day=0)
    entry = await _setup(hass, sim)
    (issue,) = _issues(hass, "endpoint_refused")
    assert issue.translation_placeholders == {
        "account": entry.title,
        "endpoint": Endpoint.ALARM_LIST,
    }
    assert _issues(hass, "no_v7") == []

    account.denied_endpoints = {}  # the installer granted it
    await _advance(hass, freezer, 300)
    assert len(_issues(hass, "endpoint_refused")) == 1  # not asked again before 6 h
    await _advance(hass, freezer, 6 * 3600)  # asked again after 6 h (with a new login)
    await _advance(hass, freezer, 300)
    assert entry.runtime_data.account.client.refused_endpoints == {}
    assert _issues(hass, "endpoint_refused") == []


async def test_session_conflict(
    hass: HomeAssistant, sim: Simulator, freezer: FrozenDateTimeFactory
) -> None:
    """Repeated kick-outs by another login raise an issue; it ends after calm returns."""
    entry = await _setup(hass, sim)
    client = entry.runtime_data.account.client
    for _ in range(6):
        sim.invalidate_sessions()
        await _advance(hass, freezer, 300)
        if client.consecutive_kickouts >= 3:
            break
    assert client.consecutive_kickouts >= 3
    (issue,) = _issues(hass, "session_conflict")
    assert issue.translation_placeholders == {
        "account": entry.title,
        "count": str(client.consecutive_kickouts),
    }

    for _ in range(10):  # 50 min without another login
        await _advance(hass, freezer, 300)
    assert client.consecutive_kickouts == 0
    assert _issues(hass, "session_conflict") == []


async def test_quota_trouble(
    hass: HomeAssistant, simulator_factory: SimulatorFactory, freezer: FrozenDateTimeFactory
) -> None:
    """Refusals that keep plant data from refreshing for 30 min raise an error issue."""
    freezer.move_to("2025-06-02 23:20:00+00:00")
    sim = await simulator_factory(alarm_rate_per_day=0, token_idle_seconds=7200)
    entry = await _setup(hass, sim)
    plants = entry.runtime_data.plants
    sim.faults.add("vpp/plantRealtimeKpi", "fail_code", count=0, fail_code=407)
    for _ in range(5):  # 25 min: stale but not yet persistent
        await _advance(hass, freezer, 300)
    assert not plants.last_update_success
    assert _issues(hass, "quota_trouble") == []
    await _advance(hass, freezer, 300)
    await _advance(hass, freezer, 300)
    (issue,) = _issues(hass, "quota_trouble")
    assert issue.severity is ir.IssueSeverity.ERROR
    assert issue.translation_placeholders == {"account": entry.title}
    assert sim.calls.count("vpp/plantRealtimeKpi", fail_code=407) >= 1

    # The refusals end. The governor took them for a daily budget and waits for the
    # next UTC day; then data flows again and the issue goes.
    sim.faults.clear()
    for _ in range(4):
        await _advance(hass, freezer, 300)
        if plants.last_update_success:
            break
    assert plants.last_update_success
    assert _issues(hass, "quota_trouble") == []


async def test_quota_trouble_for_devices(
    hass: HomeAssistant, sim: Simulator, freezer: FrozenDateTimeFactory
) -> None:
    """Device data held back by the quota for 30 min raises the issue too."""
    entry = await _setup(hass, sim)
    sim.faults.add("getDevRealKpi", "fail_code", count=0, fail_code=407)
    for _ in range(5):
        await _advance(hass, freezer, 300)
    assert _issues(hass, "quota_trouble") == []
    await _advance(hass, freezer, 300)
    await _advance(hass, freezer, 300)
    assert entry.runtime_data.plants.last_update_success
    assert len(_issues(hass, "quota_trouble")) == 1


async def test_quota_trouble_rechecked_without_updates(
    hass: HomeAssistant, sim: Simulator, freezer: FrozenDateTimeFactory
) -> None:
    """The issue comes even when every coordinator keeps failing (no listener runs)."""
    entry = await _setup(hass, sim)
    sim.faults.add("getDevRealKpi", "http_status", count=0, status=500)
    sim.faults.add(None, "fail_code", count=0, fail_code=407)
    for _ in range(7):
        await _advance(hass, freezer, 300)
    runtime = entry.runtime_data
    assert runtime.alarms is not None
    for coordinator in (runtime.plants, runtime.devices, runtime.alarms):
        assert not coordinator.last_update_success
    assert len(_issues(hass, "quota_trouble")) == 1


async def test_plant_removed_fix_flow(
    hass: HomeAssistant,
    simulator_factory: SimulatorFactory,
    freezer: FrozenDateTimeFactory,
    hass_client: ClientSessionGenerator,
) -> None:
    """A plant gone from the account raises a fixable issue; the fix removes it."""
    sim = await simulator_factory(plants=2, alarm_rate_per_day=0)
    entry = await _setup(hass, sim)
    gone = sim.plants[1].code
    assert _issues(hass, "plant_removed") == []

    # The account loses plant 2 (no public simulator helper for this yet).
    sim._account_plants[sim.username] = {sim.plants[0].code}
    freezer.tick(61)  # the plant list allows one call a minute
    await entry.runtime_data.metadata.async_refresh_lists()
    await hass.async_block_till_done(wait_background_tasks=True)
    (issue,) = _issues(hass, "plant_removed")
    assert issue.is_fixable
    assert issue.translation_placeholders == {"account": entry.title, "plant": gone}
    # Meanwhile the remaining plant keeps refreshing (the gone one is not asked for).
    plants = entry.runtime_data.plants
    before = plants.data[sim.plants[0].code].updated
    await _advance(hass, freezer, 300)
    assert plants.last_update_success
    assert plants.data[sim.plants[0].code].updated > before
    assert entry.runtime_data.alarms is not None
    assert entry.runtime_data.alarms.last_update_success

    assert await async_setup_component(hass, "repairs", {})
    client = await hass_client()
    resp = await client.post(
        "/api/repairs/issues/fix", json={"handler": DOMAIN, "issue_id": issue.issue_id}
    )
    flow = await resp.json()
    assert flow["step_id"] == "confirm"
    assert flow["description_placeholders"] == {"plant": gone, "account": entry.title}
    resp = await client.post(f"/api/repairs/issues/fix/{flow['flow_id']}", json={})
    assert (await resp.json())["type"] == "create_entry"
    await hass.async_block_till_done(wait_background_tasks=True)

    assert entry.options[CONF_PLANTS] == [sim.plants[0].code]
    assert _issues(hass, "plant_removed") == []
    await _advance(hass, freezer, 300)  # the reloaded entry works with the remaining plant
    assert entry.runtime_data.plants.last_update_success
    assert _issues(hass, "plant_removed") == []


async def test_last_plant_cannot_be_removed(
    hass: HomeAssistant,
    simulator_factory: SimulatorFactory,
    freezer: FrozenDateTimeFactory,
    hass_client: ClientSessionGenerator,
) -> None:
    """The fix flow refuses to leave an entry without plants."""
    sim = await simulator_factory(plants=2, alarm_rate_per_day=0)
    entry = await _setup(hass, sim, **{CONF_PLANTS: [sim.plants[1].code]})
    sim._account_plants[sim.username] = {sim.plants[0].code}
    freezer.tick(61)
    await entry.runtime_data.metadata.async_refresh_lists()
    await hass.async_block_till_done(wait_background_tasks=True)
    # The only selected plant is gone: the list has no selected plant, which looks
    # like a hiccup, so no issue is raised for it.
    assert _issues(hass, "plant_removed") == []

    ir.async_create_issue(
        hass,
        DOMAIN,
        "plant_removed_test",
        data={"entry_id": entry.entry_id, "plant_code": sim.plants[1].code},
        is_fixable=True,
        severity=ir.IssueSeverity.WARNING,
        translation_key="plant_removed",
    )
    assert await async_setup_component(hass, "repairs", {})
    client = await hass_client()
    resp = await client.post(
        "/api/repairs/issues/fix", json={"handler": DOMAIN, "issue_id": "plant_removed_test"}
    )
    result = await resp.json()
    assert result["type"] == "abort"
    assert result["reason"] == "last_plant"
    assert entry.options[CONF_PLANTS] == [sim.plants[1].code]


async def test_issues_deleted_on_unload(
    hass: HomeAssistant, simulator_factory: SimulatorFactory
) -> None:
    """An unloaded entry leaves no issue behind."""
    sim = await simulator_factory(v7_enabled=False, alarm_rate_per_day=0)
    entry = await _setup(hass, sim)
    assert len(_issues(hass, "no_v7")) == 1
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    assert _issues(hass, "no_v7") == []
