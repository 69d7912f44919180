"""The Energy dashboard accepts the integration's live sensors without helpers."""

from __future__ import annotations

from typing import Any

import pytest
from homeassistant.components.energy import data as energy_data
from homeassistant.components.energy.validate import async_validate
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component

from tests.conftest import PLANT
from tests.conftest import setup_integration as setup_entry
from tests.simulator import Simulator


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(recorder_mock: Any, enable_custom_integrations: None) -> None:
    """Start the recorder before Home Assistant (the energy validator reads it)."""


async def test_energy_dashboard_accepts_sensors(
    hass: HomeAssistant, simulator_factory: Any
) -> None:
    sim: Simulator = await simulator_factory(devices=["inverter", "battery", "meter"])
    await setup_entry(hass, sim)
    assert await async_setup_component(hass, "energy", {})
    plant = sim.plants[0]
    meter = next(dev for dev in plant.devices if dev.dev_type_id == 17).sn.lower()
    battery = next(dev for dev in plant.devices if dev.dev_type_id == 39).sn.lower()
    manager = await energy_data.async_get_manager(hass)
    await manager.async_update(
        {
            "energy_sources": [
                {"type": "solar", "stat_energy_from": f"{PLANT}_total_energy"},
                {
                    "type": "grid",
                    "flow_from": [
                        {
                            "stat_energy_from": f"sensor.meter_{meter}_grid_import_energy",
                            "stat_cost": None,
                            "entity_energy_price": None,
                            "number_energy_price": None,
                        }
                    ],
                    "flow_to": [
                        {
                            "stat_energy_to": f"sensor.meter_{meter}_grid_export_energy",
                            "stat_compensation": None,
                            "entity_energy_price": None,
                            "number_energy_price": None,
                        }
                    ],
                    "cost_adjustment_day": 0,
                },
                {
                    "type": "battery",
                    "stat_energy_from": f"sensor.battery_{battery}_discharged_energy",
                    "stat_energy_to": f"sensor.battery_{battery}_charged_energy",
                },
            ]
        }
    )
    result = await async_validate(hass)
    issues = {
        issue_type: sorted(entity for entity, _detail in issue.affected_entities)
        for group in result.energy_sources
        for issue_type, issue in group.issues.items()
    }
    # Fresh entities have no compiled statistics yet; anything else (unit, device class,
    # state class, non-numeric state) is a real problem.
    issues.pop("recorder_untracked", None)
    issues.pop("statistics_not_defined", None)
    assert issues == {}
    assert len(result.energy_sources) == 3
