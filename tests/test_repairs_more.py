"""Repair fix flows: a removed entry, and an issue without an entry."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.fusionsolar.const import CONF_PLANTS, DOMAIN
from tests.conftest import setup_integration
from tests.simulator.pytest_plugin import SimulatorFactory

ISSUE_ID = "plant_removed_test"


def raise_plant_removed(
    hass: HomeAssistant, data: dict[str, str | int | float | None] | None
) -> None:
    """A fixable plant-removed issue with the given data."""
    ir.async_create_issue(
        hass,
        DOMAIN,
        ISSUE_ID,
        data=data,
        is_fixable=True,
        severity=ir.IssueSeverity.WARNING,
        translation_key="plant_removed",
        translation_placeholders={"account": "someone", "plant": "NE=1"},
    )


async def test_fix_for_an_entry_removed_meanwhile_aborts(
    hass: HomeAssistant,
    simulator_factory: SimulatorFactory,
    hass_client: ClientSessionGenerator,
) -> None:
    sim = await simulator_factory(plants=2, alarm_rate_per_day=0)
    entry = await setup_integration(hass, sim)
    raise_plant_removed(hass, {"entry_id": entry.entry_id, "plant_code": sim.plants[1].code})
    assert await async_setup_component(hass, "repairs", {})
    client = await hass_client()
    resp = await client.post(
        "/api/repairs/issues/fix", json={"handler": DOMAIN, "issue_id": ISSUE_ID}
    )
    flow = await resp.json()
    assert flow["step_id"] == "confirm"
    # The user removes the entry before confirming the fix.
    assert await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    resp = await client.post(f"/api/repairs/issues/fix/{flow['flow_id']}", json={})
    result = await resp.json()
    assert (result["type"], result["reason"]) == ("abort", "entry_removed")
    assert hass.config_entries.async_entries(DOMAIN) == []


async def test_fix_without_entry_data_is_a_plain_confirmation(
    hass: HomeAssistant,
    simulator_factory: SimulatorFactory,
    hass_client: ClientSessionGenerator,
) -> None:
    sim = await simulator_factory(plants=2, alarm_rate_per_day=0)
    entry = await setup_integration(hass, sim)
    plants = list(entry.options[CONF_PLANTS])
    raise_plant_removed(hass, None)  # e.g. stored by an older version, without data
    assert await async_setup_component(hass, "repairs", {})
    client = await hass_client()
    resp = await client.post(
        "/api/repairs/issues/fix", json={"handler": DOMAIN, "issue_id": ISSUE_ID}
    )
    flow = await resp.json()
    assert (flow["type"], flow["step_id"]) == ("form", "confirm")
    resp = await client.post(f"/api/repairs/issues/fix/{flow['flow_id']}", json={})
    assert (await resp.json())["type"] == "create_entry"
    await hass.async_block_till_done()
    # Confirmed and gone; no entry was changed.
    assert ir.async_get(hass).async_get_issue(DOMAIN, ISSUE_ID) is None
    assert entry.options[CONF_PLANTS] == plants
