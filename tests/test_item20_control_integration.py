"""Issue 20 "Control on 26.2": the integration's control on today's cloud (cloud-2026).

The same actions as on V500R007 (`fusionsolar.forced_charge` ...), sent as today's
tasks (26.2 digest §5.2), followed to their end by the dispatch coordinator.
"""

from __future__ import annotations

from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError, Unauthorized
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import issue_registry as ir
from pytest_homeassistant_custom_component.common import async_capture_events

from custom_components.fusionsolar.api import ControlApi, Endpoint
from custom_components.fusionsolar.const import (
    DOMAIN,
    EVENT_CONTROL_TASK_FINISHED,
    EVENT_DISPATCH_FINISHED,
)
from tests.conftest import advance_minutes as advance
from tests.conftest import entity_id_of as entity_id
from tests.control_helpers import (
    CLOUD_OPTIONS,
    EVENING,
    NIGHT,
    call,
    device_id,
    run_until,
    set_number,
    set_up_cloud,
    state,
)
from tests.simulator.config import DeviceSpec

TASK = Endpoint.NBI_CHARGE_DISCHARGE_TASK
STATUS = Endpoint.VPP_CHARGE_DISCHARGE_STATUS
OPTIONS = CLOUD_OPTIONS
_cloud = set_up_cloud


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
    assert err.value.translation_key == "task_rejected"
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


# --- battery working mode, export control, battery parameters (§5.1.5, §5.2.3-5.2.6) ----


async def _select(hass: HomeAssistant, entity: str, option: str, **kwargs: Any) -> None:
    await hass.services.async_call(
        "select", "select_option", {"entity_id": entity, "option": option}, blocking=True, **kwargs
    )


_set_number = set_number


@pytest.mark.freeze_time(NIGHT)
async def test_item20_control_working_mode_select(
    hass: HomeAssistant, simulator_factory: Any, freezer: FrozenDateTimeFactory
) -> None:
    """The select shows the queried mode; a new mode shows once its task succeeded."""
    sim = await _cloud(hass, simulator_factory)
    code = sim.plants[0].code
    select = entity_id(hass, "select", f"{code}_battery_working_mode")
    events = async_capture_events(hass, EVENT_CONTROL_TASK_FINISHED)
    assert state(hass, select) == "maximise_self_consumption"
    assert state(hass, entity_id(hass, "sensor", f"{code}_export_control_mode")) == "no_limit"

    await _select(hass, select, "third_party_dispatch")

    assert sim.calls.count(endpoint=Endpoint.NBI_BATTERY_MODE_TASK) == 1
    assert state(hass, select) == "maximise_self_consumption"  # not applied yet
    assert hass.states.get(select).attributes["task_state"] == "running"
    seen = await run_until(hass, freezer, select, "third_party_dispatch", limit=10)
    assert seen == ["maximise_self_consumption", "third_party_dispatch"]
    (event,) = events
    assert event.data["plant_code"] == code
    assert event.data["task"] == "battery_working_mode"
    assert event.data["state"] == "success"
    assert hass.states.get(select).attributes["task_state"] == "success"
    # the cloud reports it too (the next hourly query)
    await advance(hass, freezer, 61)
    assert state(hass, select) == "third_party_dispatch"
    with pytest.raises(ServiceValidationError) as err:
        await _select(hass, select, "time_of_use")  # no periods known for the plant
    assert err.value.translation_key == "tou_periods_unknown"
    with pytest.raises(ServiceValidationError) as err:
        await _select(hass, select, "fully_fed_to_grid")
    assert err.value.translation_key == "mode_not_settable"
    assert sim.calls.count(endpoint=Endpoint.NBI_BATTERY_MODE_TASK) == 1


@pytest.mark.freeze_time(NIGHT)
async def test_item20_control_select_admin_only(
    hass: HomeAssistant, simulator_factory: Any, hass_read_only_user: Any
) -> None:
    """A user who is not an administrator cannot change the working mode."""
    sim = await _cloud(hass, simulator_factory)
    select = entity_id(hass, "select", f"{sim.plants[0].code}_battery_working_mode")
    with pytest.raises(Unauthorized):
        await _select(
            hass, select, "third_party_dispatch", context=Context(user_id=hass_read_only_user.id)
        )
    assert sim.calls.count(endpoint=Endpoint.NBI_BATTERY_MODE_TASK) == 0


@pytest.mark.freeze_time(NIGHT)
async def test_item20_control_battery_parameters(
    hass: HomeAssistant, simulator_factory: Any, freezer: FrozenDateTimeFactory
) -> None:
    """Discharge cut-off SOC: range first; applied, it is the DoD and the plant's EOD."""
    sim = await _cloud(hass, simulator_factory)
    plant = sim.plants[0]
    cutoff = entity_id(hass, "number", f"{plant.code}_end_of_discharge_soc")
    dod = entity_id(hass, "number", f"{plant.batteries[0].sn}_depth_of_discharge")
    power = entity_id(hass, "number", f"{plant.code}_max_charge_power")
    for entity, value, key in (
        (cutoff, 25, "out_of_range"),  # Home Assistant's own range check (the entity's)
        (power, 199, "out_of_range"),
        (power, 2000.5, "max_charge_power_out_of_range"),  # ours: whole watts (§5.2.5)
    ):
        with pytest.raises(ServiceValidationError) as err:
            await _set_number(hass, entity, value)
        assert err.value.translation_key == key
    assert sim.calls.count(endpoint=Endpoint.NBI_BATTERY_CONFIG_TASK) == 0

    await _set_number(hass, cutoff, 15)
    with pytest.raises(ServiceValidationError) as err:  # one task per plant at a time
        await _set_number(hass, dod, 90)
    assert err.value.translation_key == "task_running"
    await run_until(hass, freezer, cutoff, "15.0", limit=10)
    assert state(hass, dod) == "85.0"
    assert plant.plant_eod(sim.now()) == 15.0

    await _set_number(hass, dod, 90)  # the DoD number sets the plant's cut-off (10 %)
    await run_until(hass, freezer, cutoff, "10.0", limit=10)
    assert state(hass, dod) == "90.0"
    assert sim.calls.count(endpoint=Endpoint.NBI_BATTERY_CONFIG_TASK) == 2
    assert not [r for r in sim.calls.records if r.quota_refused]


@pytest.mark.freeze_time(NIGHT)
async def test_item20_control_export_limit(
    hass: HomeAssistant, simulator_factory: Any, freezer: FrozenDateTimeFactory
) -> None:
    """Zero export at negative prices: the number sets it, the action lifts it (§5.2.7)."""
    sim = await _cloud(hass, simulator_factory)
    code = sim.plants[0].code
    number = entity_id(hass, "number", f"{code}_export_limit")
    sensor = entity_id(hass, "sensor", f"{code}_export_control_mode")
    on_plant = {"device_id": device_id(hass, code)}
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "set_export_limit", {**on_plant, "limit": 5000.5})
    assert err.value.translation_key == "export_limit_out_of_range"
    assert sim.calls.count(endpoint=Endpoint.NBI_ACTIVE_POWER_TASK) == 0

    await _set_number(hass, number, 0)
    await run_until(hass, freezer, number, "0.0", limit=10)
    assert state(hass, sensor) == "limited_feed_in_kw"
    await advance(hass, freezer, 60)  # the hourly query confirms it
    assert state(hass, sensor) == "limited_feed_in_kw"

    await call(hass, "set_export_limit", on_plant)  # no limit
    await run_until(hass, freezer, sensor, "no_limit", limit=10)
    assert state(hass, number) == "unknown"
    assert sim.calls.count(endpoint=Endpoint.NBI_ACTIVE_POWER_TASK) == 2


@pytest.mark.freeze_time(NIGHT)
async def test_item20_control_battery_dispatch(
    hass: HomeAssistant, simulator_factory: Any, freezer: FrozenDateTimeFactory
) -> None:
    """§5.2.9 needs third-party dispatch set first (translated 20627); then it is sent."""
    sim = await _cloud(hass, simulator_factory)
    code = sim.plants[0].code
    on_battery = {"device_id": device_id(hass, sim.plants[0].batteries[0].sn)}
    events = async_capture_events(hass, EVENT_CONTROL_TASK_FINISHED)
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "battery_dispatch", {**on_battery, "power": 100.5})
    assert err.value.translation_key == "dispatch_power_out_of_range"
    with pytest.raises(HomeAssistantError) as err:
        await call(hass, "battery_dispatch", {**on_battery, "power": -2000})
    assert err.value.translation_key == "third_party_dispatch_required"
    select = entity_id(hass, "select", f"{code}_battery_working_mode")
    await _select(hass, select, "third_party_dispatch")
    await run_until(hass, freezer, select, "third_party_dispatch", limit=10)
    await call(hass, "battery_dispatch", {**on_battery, "power": -2000})
    for _ in range(5):
        await advance(hass, freezer, 1)
    assert [e.data["task"] for e in events] == ["battery_working_mode", "battery_dispatch"]
    assert events[-1].data["state"] == "success"


@pytest.mark.freeze_time(NIGHT)
async def test_item20_control_time_of_use_action(
    hass: HomeAssistant, simulator_factory: Any, freezer: FrozenDateTimeFactory
) -> None:
    """TOU periods as an action: checked first (period named), then the mode follows."""
    sim = await _cloud(hass, simulator_factory)
    code = sim.plants[0].code
    on_plant = {"device_id": device_id(hass, code)}
    night = {"start": "01:00", "end": "05:00", "mode": "charge", "days": ["mon"]}
    for periods, key, index in (
        ([], "tou_periods_count", None),
        ([{**night, "end": "00:30"}], "tou_period_invalid", "1"),
        ([night, {**night, "start": "04:00", "end": "06:00"}], "tou_periods_overlap", "2"),
        ([{**night, "days": ["monday"]}], "tou_period_invalid", "1"),
    ):
        with pytest.raises(ServiceValidationError) as err:
            await call(hass, "set_time_of_use", {**on_plant, "periods": periods})
        assert err.value.translation_key == key
        if index is not None:
            assert err.value.translation_placeholders["index"] == index
    assert sim.calls.count(endpoint=Endpoint.NBI_BATTERY_MODE_TASK) == 0

    evening = {"start": "17:00", "end": "21:00", "mode": "discharge"}
    await call(
        hass,
        "set_time_of_use",
        {**on_plant, "periods": [night, evening], "surplus_pv": "feed_in", "grid_charge_power": 3},
    )
    select = entity_id(hass, "select", f"{code}_battery_working_mode")
    await run_until(hass, freezer, select, "time_of_use", limit=10)
    await advance(hass, freezer, 61)  # the hourly query reports the periods
    assert state(hass, select) == "time_of_use"
    # Back to self-consumption and again to time of use with the known periods.
    await _select(hass, select, "maximise_self_consumption")
    await run_until(hass, freezer, select, "maximise_self_consumption", limit=10)
    await advance(hass, freezer, 2)
    await _select(hass, select, "time_of_use")
    await run_until(hass, freezer, select, "time_of_use", limit=10)


@pytest.mark.freeze_time(NIGHT)
async def test_item20_control_no_missing_control_repair_on_todays_cloud(
    hass: HomeAssistant, simulator_factory: Any
) -> None:
    """Today's cloud has control (26.2 tasks): no "control is unavailable" repair."""
    await _cloud(hass, simulator_factory)
    issues = ir.async_get(hass).issues
    assert [key for (domain, key) in issues if domain == DOMAIN and "no_v7" in key] == []


@pytest.mark.freeze_time(NIGHT)
async def test_item20_control_dod_action_sets_the_cut_off(
    hass: HomeAssistant, simulator_factory: Any, freezer: FrozenDateTimeFactory
) -> None:
    """`set_depth_of_discharge` on today's cloud: the plant's discharge cut-off (100 - DoD)."""
    sim = await _cloud(hass, simulator_factory)
    plant = sim.plants[0]
    on_battery = {"device_id": device_id(hass, plant.batteries[0].sn)}
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "set_depth_of_discharge", {**on_battery, "depth_of_discharge": 70})
    assert err.value.translation_key == "depth_of_discharge_out_of_range"
    response = await call(
        hass, "set_depth_of_discharge", {**on_battery, "depth_of_discharge": 95}, response=True
    )
    assert response["batteries"][0]["pending"] is True
    cutoff = entity_id(hass, "number", f"{plant.code}_end_of_discharge_soc")
    await run_until(hass, freezer, cutoff, "5.0", limit=10)
    assert plant.plant_eod(sim.now()) == 5.0
