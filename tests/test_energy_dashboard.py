"""The Energy dashboard accepts the integration's live sensors without helpers.

On both generations: V500R007 (battery ``charge_cap`` lifetime) and today's cloud
(26.x: battery ``total_charged_energy`` lifetime, ``charge_cap`` the day's, meter in W).
"""

from __future__ import annotations

from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant

from custom_components.fusionsolar.const import CONF_HISTORY_DAYS, CONF_POLL_ALARMS, DOMAIN
from tests.conftest import SUNNY, next_refresh
from tests.conftest import setup_integration as setup_entry
from tests.harness.truth import DASHBOARD_COUNTERS, dashboard_issues, lifetime_counters
from tests.simulator import Simulator


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(recorder_mock: Any, enable_custom_integrations: None) -> None:
    """Start the recorder before Home Assistant (the energy validator reads it)."""


@pytest.mark.freeze_time(SUNNY)
@pytest.mark.parametrize("profile", ["spec", "cloud-2026"])
async def test_energy_dashboard_accepts_lifetime_counters(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, simulator_factory: Any, profile: str
) -> None:
    sim: Simulator = await simulator_factory(
        profile=profile, devices=["inverter", "battery", "meter"], alarm_rate_per_day=0.0
    )
    await setup_entry(hass, sim, **{CONF_POLL_ALARMS: False, CONF_HISTORY_DAYS: 0})
    # Today's cloud allows one call per device type per 5 minutes: a refresh for each.
    await next_refresh(hass, freezer)
    await next_refresh(hass, freezer)
    entry: ConfigEntry = hass.config_entries.async_entries(DOMAIN)[0]
    counters = lifetime_counters(hass, entry, sim.plants[0].code)
    assert set(counters) == set(DASHBOARD_COUNTERS)
    for entity_id in counters.values():
        assert float(hass.states.get(entity_id).state) > 0, entity_id
    issues = await dashboard_issues(hass, counters)
    # Fresh entities have no compiled statistics yet; anything else (unit, device class,
    # state class, non-numeric state) is a real problem.
    issues.pop("recorder_untracked", None)
    issues.pop("statistics_not_defined", None)
    assert issues == {}
