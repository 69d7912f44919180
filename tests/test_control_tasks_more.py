"""Setting tasks on today's cloud (26.2 §5.2.3-5.2.10): refusals and tasks that go wrong.

Commands refused before sending (unknown user, no 26.2 control, a battery without a dn,
bad periods), a delivery the cloud reports failed, and the configuration coordinator
following tasks the cloud lost, could not report now or never ends, and queries the
plant does not support.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import (
    HomeAssistantError,
    ServiceValidationError,
    Unauthorized,
    UnknownUser,
)
from pytest_homeassistant_custom_component.common import async_capture_events

from custom_components.fusionsolar import control_tasks
from custom_components.fusionsolar.api import DeviceKind, Endpoint, TaskState
from custom_components.fusionsolar.const import DOMAIN, EVENT_CONTROL_TASK_FINISHED
from tests.conftest import advance_minutes as advance
from tests.conftest import entity_id_of as entity_id
from tests.conftest import setup_integration
from tests.control_helpers import CLOUD_OPTIONS as OPTIONS
from tests.control_helpers import NIGHT, call, device_id, run_until, state
from tests.control_helpers import set_number as _set_number
from tests.control_helpers import set_up_cloud as _cloud
from tests.simulator import Simulator

EXPORT_TASK = Endpoint.NBI_ACTIVE_POWER_TASK
EXPORT_INFO = Endpoint.NBI_ACTIVE_POWER_INFO
NIGHT_PERIOD: dict[str, object] = {
    "start": "01:00",
    "end": "05:00",
    "mode": "charge",
    "days": ["mon"],
}


def _entry(hass: HomeAssistant) -> Any:
    return hass.config_entries.async_entries(DOMAIN)[0]


@pytest.mark.freeze_time(NIGHT)
async def test_control_tasks_unknown_user_is_refused(
    hass: HomeAssistant, simulator_factory: Any, hass_read_only_user: Any
) -> None:
    """Unknown users and users who are not administrators are refused; system calls pass."""
    await _cloud(hass, simulator_factory)
    with pytest.raises(UnknownUser):
        await control_tasks.async_check_admin(hass, Context(user_id="no-such-user"))
    with pytest.raises(Unauthorized):
        await control_tasks.async_check_admin(hass, Context(user_id=hass_read_only_user.id))
    await control_tasks.async_check_admin(hass, None)
    await control_tasks.async_check_admin(hass, Context())


@pytest.mark.freeze_time(NIGHT)
async def test_control_tasks_v7_account_takes_no_setting_tasks(
    hass: HomeAssistant, simulator_factory: Any
) -> None:
    """A V500R007 account (V7 commands) has no 26.2 setting tasks: refused, nothing sent."""
    sim: Simulator = await simulator_factory(alarm_rate_per_day=0.0)
    await setup_integration(hass, sim, **OPTIONS)
    entry = _entry(hass)
    assert not control_tasks.takes_tasks(entry)
    before = len(sim.calls.records)
    with pytest.raises(ServiceValidationError) as err:
        await control_tasks.async_set_export_limit(entry, sim.plants[0].code, 0.0)
    assert err.value.translation_key == "control_unavailable"
    assert len(sim.calls.records) == before


@pytest.mark.freeze_time(NIGHT)
async def test_control_tasks_refused_before_sending(
    hass: HomeAssistant, simulator_factory: Any
) -> None:
    """A battery without a dn, bad times, modes and surplus-PV choices send nothing."""
    sim = await _cloud(hass, simulator_factory)
    entry = _entry(hass)
    code = sim.plants[0].code
    battery = next(
        d for d in entry.runtime_data.metadata.data.devices.values() if d.kind is DeviceKind.BATTERY
    )
    before = len(sim.calls.records)
    with pytest.raises(ServiceValidationError) as err:
        await control_tasks.async_battery_dispatch(
            entry, dataclasses.replace(battery, dn=None), 100
        )
    assert err.value.translation_key == "device_not_controllable"
    periods: tuple[tuple[dict[str, object], str], ...] = (
        ({**NIGHT_PERIOD, "start": "25:00"}, "start"),
        ({**NIGHT_PERIOD, "end": "5 pm"}, "end"),
        ({**NIGHT_PERIOD, "mode": "hold"}, "mode"),
    )
    for period, field in periods:
        with pytest.raises(ServiceValidationError) as err:
            await control_tasks.async_set_time_of_use(entry, code, [period])
        assert err.value.translation_key == "tou_period_invalid"
        assert err.value.translation_placeholders == {"index": "1", "field": field}
    with pytest.raises(ServiceValidationError) as err:
        await control_tasks.async_set_time_of_use(entry, code, [NIGHT_PERIOD], surplus_pv="sell")
    assert err.value.translation_placeholders == {"index": "0", "field": "surplus_pv"}
    assert len(sim.calls.records) == before


@pytest.mark.freeze_time(NIGHT)
async def test_control_tasks_delivery_reported_failed(
    hass: HomeAssistant, simulator_factory: Any, freezer: FrozenDateTimeFactory
) -> None:
    """A delivery whose plant result is FAIL or missing is an error and is not followed."""
    sim = await _cloud(hass, simulator_factory)
    code = sim.plants[0].code
    on_plant = {"device_id": device_id(hass, code)}
    configuration = _entry(hass).runtime_data.configuration
    sim.faults.add(EXPORT_TASK, "values", values={"status": "FAIL", "message": "Plant busy"})
    with pytest.raises(HomeAssistantError) as err:
        await call(hass, "set_export_limit", {**on_plant, "limit": 0})
    assert not isinstance(err.value, ServiceValidationError)
    assert "Plant busy" in str(err.value.translation_placeholders)
    assert configuration.running(code, EXPORT_TASK) is None
    config_task = Endpoint.NBI_BATTERY_CONFIG_TASK
    sim.faults.add(config_task, "data_null")  # no result for the plant
    cutoff = entity_id(hass, "number", f"{code}_end_of_discharge_soc")
    with pytest.raises(HomeAssistantError) as other:
        await _set_number(hass, cutoff, 15)
    assert other.value.translation_key == err.value.translation_key
    assert configuration.running(code, config_task) is None
    assert sim.calls.count(endpoint=EXPORT_TASK) == sim.calls.count(endpoint=config_task) == 1


@pytest.mark.freeze_time(NIGHT)
async def test_configuration_task_unread_then_lost(
    hass: HomeAssistant, simulator_factory: Any, freezer: FrozenDateTimeFactory
) -> None:
    """A status the cloud cannot give now is asked again; a task it lost ends as failed."""
    sim = await _cloud(hass, simulator_factory)
    code = sim.plants[0].code
    number = entity_id(hass, "number", f"{code}_export_limit")
    events = async_capture_events(hass, EVENT_CONTROL_TASK_FINISHED)
    sim.faults.add(EXPORT_INFO, "fail_code", count=0, fail_code=20004)
    await _set_number(hass, number, 0)
    await advance(hass, freezer, 3)
    assert [r.fail_code for r in sim.calls.select(endpoint=EXPORT_INFO)] == [20004]
    assert events == []
    configuration = _entry(hass).runtime_data.configuration
    assert configuration.running(code, EXPORT_TASK) is not None
    sim.faults.clear()
    await run_until(hass, freezer, number, "0.0", limit=5)
    assert events[-1].data["state"] == "success"

    await call(hass, "set_export_limit", {"device_id": device_id(hass, code)})
    sim.faults.add(EXPORT_INFO, "fail_code", count=0, fail_code=20050)  # task unknown
    for _ in range(3):
        await advance(hass, freezer, 1)
    assert [e.data["state"] for e in events] == ["success", "fail"]
    assert configuration.running(code, EXPORT_TASK) is None
    assert configuration.plant(code).last_task[EXPORT_TASK].state is TaskState.FAIL
    assert state(hass, number) == "0.0"  # a failed task changes nothing


@pytest.mark.freeze_time(NIGHT)
async def test_configuration_task_never_ending_times_out(
    hass: HomeAssistant, simulator_factory: Any, freezer: FrozenDateTimeFactory
) -> None:
    """A task the cloud reports running for over an hour ends as failed with TIMEOUT."""
    sim = await _cloud(hass, simulator_factory)
    code = sim.plants[0].code
    events = async_capture_events(hass, EVENT_CONTROL_TASK_FINISHED)
    sim.faults.add(EXPORT_INFO, "values", count=0, values={"status": "RUNNING"})
    await call(hass, "set_export_limit", {"device_id": device_id(hass, code), "limit": 0})
    await advance(hass, freezer, 90)  # every poll answers RUNNING
    assert events == []
    assert sim.calls.count(endpoint=EXPORT_INFO) > 30
    await advance(hass, freezer, 40)
    (event,) = events
    assert (event.data["state"], event.data["message"]) == ("fail", "TIMEOUT")
    configuration = _entry(hass).runtime_data.configuration
    assert configuration.running(code, EXPORT_TASK) is None


@pytest.mark.freeze_time(NIGHT)
async def test_configuration_unsupported_query_is_not_asked_again(
    hass: HomeAssistant, simulator_factory: Any, freezer: FrozenDateTimeFactory
) -> None:
    """A query the plant does not support is dropped; one that failed now is read next hour."""
    sim: Simulator = await simulator_factory(profile="cloud-2026", alarm_rate_per_day=0.0)
    sim.faults.add(Endpoint.NBI_BATTERY_MODE, "fail_code", fail_code=20053)
    sim.faults.add(Endpoint.NBI_ACTIVE_POWER_MODE, "fail_code", count=0, fail_code=20004)
    await setup_integration(hass, sim, **OPTIONS)
    code = sim.plants[0].code
    sensor = entity_id(hass, "sensor", f"{code}_export_control_mode")
    assert sim.calls.count(endpoint=Endpoint.NBI_BATTERY_MODE) == 1
    assert state(hass, sensor) == "unknown"
    sim.faults.clear()
    await advance(hass, freezer, 62)
    assert state(hass, sensor) == "no_limit"
    assert sim.calls.count(endpoint=Endpoint.NBI_BATTERY_MODE) == 1
    configuration = _entry(hass).runtime_data.configuration
    assert configuration.plant(code).battery_mode is None
    assert not configuration.supported(Endpoint.NBI_BATTERY_MODE, code)
