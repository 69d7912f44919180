"""Issue 20 "Control on 26.2": the integration's control on today's cloud (cloud-2026).

The same actions as on V500R007 (`fusionsolar.forced_charge` ...), sent as today's
tasks (26.2 digest §5.2), followed to their end by the dispatch coordinator.
"""

from __future__ import annotations

from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import async_capture_events

from custom_components.fusionsolar.api import ControlApi, Endpoint
from custom_components.fusionsolar.const import (
    CONF_HISTORY_DAYS,
    CONF_POLL_ALARMS,
    DOMAIN,
    EVENT_DISPATCH_FINISHED,
)
from tests.conftest import advance_minutes as advance
from tests.conftest import entity_id_of as entity_id
from tests.conftest import setup_integration
from tests.control_helpers import EVENING, NIGHT, call, device_id, run_until, state
from tests.simulator import Simulator
from tests.simulator.config import DeviceSpec

TASK = Endpoint.NBI_CHARGE_DISCHARGE_TASK
STATUS = Endpoint.VPP_CHARGE_DISCHARGE_STATUS
OPTIONS: dict[str, Any] = {CONF_POLL_ALARMS: False, CONF_HISTORY_DAYS: 0}


async def _cloud(hass: HomeAssistant, simulator_factory: Any, **config: Any) -> Simulator:
    sim: Simulator = await simulator_factory(profile="cloud-2026", alarm_rate_per_day=0.0, **config)
    await setup_integration(hass, sim, **OPTIONS)
    return sim


def _client_of(hass: HomeAssistant) -> Any:
    return hass.config_entries.async_entries(DOMAIN)[0].runtime_data.account.client


@pytest.mark.freeze_time(EVENING)
async def test_item20_control_forced_discharge_on_todays_cloud(
    hass: HomeAssistant, simulator_factory: Any, freezer: FrozenDateTimeFactory
) -> None:
    """The existing action sends the 26.2 task; the sensor and event follow it to its end."""
    sim = await _cloud(hass, simulator_factory)
    assert _client_of(hass).control_api is ControlApi.NBI
    plant = sim.plants[0]
    sensor = entity_id(hass, "sensor", f"{plant.code}_dispatch_status")
    events = async_capture_events(hass, EVENT_DISPATCH_FINISHED)
    start_soc = sim.state(plant.code).soc
    assert start_soc is not None
    assert state(hass, sensor) == "idle"

    response = await call(
        hass,
        "forced_discharge",
        {"device_id": [device_id(hass, plant.batteries[0].sn)], "duration": 30, "power": 2000},
        response=True,
    )

    (task,) = response["tasks"]
    assert task["delivered"] is True
    assert task["state"] == "in_progress"
    (sent,) = sim.tasks.by_request[task["request_id"]]  # the cloud's requestID
    assert (sent.switch, sent.control_type, sent.duration_min, sent.power_kw) == (2, 2, 30, 2.0)
    assert sim.calls.count(endpoint=TASK) == 1
    assert sim.calls.count(endpoint=Endpoint.VPP_CHARGE_DISCHARGE) == 0
    await run_until(hass, freezer, sensor, "complete", limit=40)
    soc = sim.state(plant.code).soc
    assert soc is not None
    assert start_soc - soc == pytest.approx(2.0 * 0.5 / 0.97 / 10.0 * 100, abs=0.5)
    (event,) = events
    assert event.data["mode"] == "discharge"
    assert event.data["discharged_energy"] == pytest.approx(1.0, abs=0.01)
    # Polled on today's path with the /thirdData token, within 1 call per minute.
    status_calls = sim.calls.select(endpoint=STATUS)
    assert status_calls
    assert all(r.fail_code == 0 for r in status_calls)
    assert not [r for r in sim.calls.records if r.quota_refused]


@pytest.mark.freeze_time(NIGHT)
async def test_item20_control_stop_and_one_task_per_plant(
    hass: HomeAssistant, simulator_factory: Any, freezer: FrozenDateTimeFactory
) -> None:
    """A second task for a running plant is refused before sending; stop ends the task."""
    sim = await _cloud(hass, simulator_factory)
    code = sim.plants[0].code
    sensor = entity_id(hass, "sensor", f"{code}_dispatch_status")
    on_plant = {"device_id": device_id(hass, code)}
    await call(hass, "forced_charge", {**on_plant, "duration": 120})
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "forced_charge", {**on_plant, "duration": 60})
    assert err.value.translation_key == "task_running"
    assert sim.calls.count(endpoint=TASK) == 1
    await advance(hass, freezer, 2)  # the task endpoint takes 1 call per minute
    await call(hass, "stop_forced_charge_discharge", on_plant)
    assert state(hass, sensor) == "stopped"
    assert sim.calls.count(endpoint=TASK) == 2
    (running,) = sim.plants[0].tasks[:1]
    assert running.stop_time is not None


@pytest.mark.freeze_time(NIGHT)
async def test_item20_control_refused_task_shows_why(
    hass: HomeAssistant, simulator_factory: Any
) -> None:
    """An LG battery has no SOC control (§5.2.1): the cloud's reason reaches the user."""
    sim = await _cloud(
        hass, simulator_factory, devices=["inverter", DeviceSpec("battery", vendor="lg"), "meter"]
    )
    code = sim.plants[0].code
    with pytest.raises(HomeAssistantError) as err:
        await call(hass, "forced_charge", {"device_id": device_id(hass, code), "target_soc": 90})
    assert not isinstance(err.value, ServiceValidationError)
    assert err.value.translation_key == "dispatch_failed"
    assert err.value.translation_placeholders["code"] == "2"
    assert (
        "LG batteries do not support SOC control" in err.value.translation_placeholders["message"]
    )
    assert sim.plants[0].tasks == []


@pytest.mark.freeze_time(NIGHT)
async def test_item20_control_validated_before_sending(
    hass: HomeAssistant, simulator_factory: Any
) -> None:
    """Ranges are checked first (translated, naming the field); nothing is sent."""
    sim = await _cloud(hass, simulator_factory)
    on_plant = {"device_id": device_id(hass, sim.plants[0].code)}
    for data, key in (
        ({"duration": 1441}, "duration_out_of_range"),
        ({"target_soc": 101}, "target_soc_out_of_range"),
        ({"duration": 10, "power": 0}, "power_out_of_range"),
    ):
        with pytest.raises(ServiceValidationError) as err:
            await call(hass, "forced_charge", {**on_plant, **data})
        assert err.value.translation_key == key
    assert sim.calls.count(endpoint=TASK) == 0


@pytest.mark.freeze_time(NIGHT)
async def test_item20_control_v7_only_entities_not_created(
    hass: HomeAssistant, simulator_factory: Any
) -> None:
    """Today's cloud has no inverter on/off: that switch is not created; the status is."""
    sim = await _cloud(hass, simulator_factory)
    plant = sim.plants[0]
    registry = er.async_get(hass)
    assert registry.async_get_entity_id("sensor", DOMAIN, f"{plant.code}_dispatch_status")
    unique_id = f"{plant.inverters[0].sn}_inverter_power"
    assert registry.async_get_entity_id("switch", DOMAIN, unique_id) is None
