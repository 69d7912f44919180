"""Control test helpers: times of day, control endpoints, actions and waiting for states."""

from __future__ import annotations

from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant

from custom_components.fusionsolar.const import DOMAIN
from tests.conftest import advance_minutes as advance
from tests.conftest import registry_device
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
