"""Control test helpers: times of day, control endpoints, actions and waiting for states."""

from __future__ import annotations

from typing import Any, NamedTuple

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.fusionsolar.const import CONF_HISTORY_DAYS, CONF_POLL_ALARMS, DOMAIN
from tests.conftest import advance_minutes as advance
from tests.conftest import entity_id_of, registry_device, setup_integration
from tests.simulator import Simulator

# Times in UTC; the plant is in Europe/Amsterdam (UTC+2 in June).
NIGHT = "2026-06-18 01:02:00+00:00"  # battery below 80 %, no sun
EVENING = "2026-06-18 20:02:00+00:00"  # battery nearly full, no sun
NOON = "2026-06-18 10:02:00+00:00"  # sunny

CHARGE = "vpp/chargeAndDischarge"
STATUS = "vpp/chargeAndDischargeStatus"
DOD = "vpp/dod"
ON_OFF = "vpp/devOnOff"
CONTROL_ENDPOINTS = (CHARGE, STATUS, DOD, ON_OFF)


def device_id(hass: HomeAssistant, identifier: str) -> str:
    device = registry_device(hass, identifier)
    assert device is not None, identifier
    return device.id


def state(hass: HomeAssistant, entity: str) -> str:
    current = hass.states.get(entity)
    assert current is not None, entity
    return current.state


async def call(
    hass: HomeAssistant, service: str, data: dict[str, Any], *, response: bool = False
) -> Any:
    return await hass.services.async_call(
        DOMAIN, service, data, blocking=True, return_response=response
    )


async def refused(
    hass: HomeAssistant, service: str, data: dict[str, Any], *, response: bool = False
) -> ServiceValidationError:
    """The validation error an action answers ``data`` with (it must refuse it)."""
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, service, data, response=response)
    return err.value


class PlantUnderControl(NamedTuple):
    """The loaded entry, the first plant's code and its forced charge/discharge sensor."""

    entry: MockConfigEntry
    code: str
    sensor: str


async def set_up_plant(hass: HomeAssistant, sim: Simulator) -> PlantUnderControl:
    """Set up the integration for ``sim``; its first plant is the one under control."""
    entry = await setup_integration(hass, sim)
    code = sim.plants[0].code
    return PlantUnderControl(entry, code, entity_id_of(hass, "sensor", f"{code}_dispatch_status"))


async def run_until(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, entity: str, wanted: str, limit: int
) -> list[str]:
    """Advance until `entity` shows `wanted`; return the states seen on the way."""
    seen = [state(hass, entity)]
    for _ in range(limit):
        if seen[-1] == wanted:
            return seen
        await advance(hass, freezer, 1)
        if state(hass, entity) != seen[-1]:
            seen.append(state(hass, entity))
    raise AssertionError(f"{entity} never became {wanted}: {seen}")


def control_calls(sim: Simulator) -> int:
    return sum(sim.calls.count(endpoint=endpoint) for endpoint in CONTROL_ENDPOINTS)


# Today's cloud (issue 20): shared by the control tests of the integration and client.
TOU_WINDOW = {
    "startTime": "01:00",
    "endTime": "05:00",
    "chargeOrDischarge": "charge",
    "repeat": [1],
}
CLOUD_OPTIONS: dict[str, Any] = {CONF_POLL_ALARMS: False, CONF_HISTORY_DAYS: 0}


async def set_up_cloud(hass: HomeAssistant, simulator_factory: Any, **config: Any) -> Simulator:
    """Set up the integration on today's cloud (no alarms, no history)."""
    sim: Simulator = await simulator_factory(profile="cloud-2026", alarm_rate_per_day=0.0, **config)
    await setup_integration(hass, sim, **CLOUD_OPTIONS)
    return sim


async def set_number(hass: HomeAssistant, entity: str, value: float) -> None:
    """Set a number entity as the user does."""
    await hass.services.async_call(
        "number", "set_value", {"entity_id": entity, "value": value}, blocking=True
    )
