"""Control actions: lost answers, concurrency, input checks, logs, stop (issues 17 and 21)."""

from __future__ import annotations

import asyncio
import math
from datetime import timedelta
from typing import Any
from unittest.mock import patch

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.number import ATTR_VALUE, SERVICE_SET_VALUE
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
)

from custom_components.fusionsolar.api import (
    ApiFamilyUnavailableError,
    AuthenticationError,
    CommunicationError,
    DispatchMode,
    DuplicateRequestError,
    FusionSolarClient,
    FusionSolarError,
    InvalidRequestError,
    OutcomeUnknownError,
    PermissionDeniedError,
    QuotaWouldExceed,
)
from custom_components.fusionsolar.const import DOMAIN, EVENT_DISPATCH_FINISHED
from custom_components.fusionsolar.errors import control_error
from custom_components.fusionsolar.stores import EntryStore, entry_store_key
from tests.conftest import advance_minutes as advance
from tests.conftest import entity_id_of as entity_id
from tests.conftest import entry_for
from tests.conftest import setup_integration as setup
from tests.control_helpers import (
    CHARGE,
    DOD,
    NIGHT,
    STATUS,
    call,
    control_calls,
    device_id,
    refused,
    run_until,
    set_up_plant,
    state,
)
from tests.simulator import Simulator

PLANT_SENSOR = "{}_dispatch_status"


def client_of(entry: MockConfigEntry) -> FusionSolarClient:
    client: FusionSolarClient = entry.runtime_data.account.client
    return client


def message(err: pytest.ExceptionInfo[HomeAssistantError]) -> str:
    """The error's English text, as Home Assistant shows it."""
    return str(err.value)


# ----------------------------------------------------------------------------- 17.5


@pytest.mark.freeze_time(NIGHT)
async def test_item17_5_forced_charge_processed_then_connection_dropped(
    hass: HomeAssistant, simulator: Simulator
) -> None:
    _, code, sensor = await set_up_plant(hass, simulator)
    simulator.faults.add(CHARGE, "disconnect")

    response = await call(
        hass,
        "forced_charge",
        {"device_id": device_id(hass, code), "duration": 60},
        response=True,
    )

    assert simulator.calls.count(endpoint=CHARGE) == 1
    (record,) = simulator.calls.select(endpoint=CHARGE)
    assert record.fault == "disconnect"
    assert simulator.calls.count(endpoint=STATUS) == 1
    (task,) = response["tasks"]
    assert task["delivered"] is True
    assert task["state"] == "in_progress"
    assert task["note"] == (
        "The connection dropped before FusionSolar answered, but the cloud confirmed task "
        f"{task['request_id']}. It was not sent again"
    )
    assert list(simulator.tasks.by_request) == [task["request_id"]]
    assert state(hass, sensor) == "in_progress"
    assert hass.states.get(sensor).attributes["request_id"] == task["request_id"]
    assert hass.states.get(sensor).attributes["start"] is not None


@pytest.mark.freeze_time(NIGHT)
async def test_item17_5_outcome_unknown_error_confirmed_by_status(
    hass: HomeAssistant, simulator: Simulator, freezer: FrozenDateTimeFactory
) -> None:
    entry, code, sensor = await set_up_plant(hass, simulator)
    events = async_capture_events(hass, EVENT_DISPATCH_FINISHED)
    client = client_of(entry)
    original = client.async_charge_discharge

    async def processed_then_lost(*args: Any, **kwargs: Any) -> Any:
        await original(*args, **kwargs)
        raise OutcomeUnknownError("The connection dropped after sending")

    with patch.object(client, "async_charge_discharge", processed_then_lost):
        response = await call(
            hass,
            "forced_charge",
            {"device_id": device_id(hass, code), "duration": 15},
            response=True,
        )

    assert simulator.calls.count(endpoint=CHARGE) == 1
    assert response["tasks"][0]["state"] == "in_progress"
    assert "note" in response["tasks"][0]
    assert state(hass, sensor) == "in_progress"
    await run_until(hass, freezer, sensor, "complete", limit=25)
    assert len(events) == 1


@pytest.mark.freeze_time(NIGHT)
async def test_item17_5_outcome_unknown_when_status_fails_too(
    hass: HomeAssistant, simulator: Simulator, freezer: FrozenDateTimeFactory
) -> None:
    _, code, sensor = await set_up_plant(hass, simulator)
    simulator.faults.add(CHARGE, "disconnect")
    simulator.faults.add(STATUS, "http_status", status=502)

    with pytest.raises(HomeAssistantError) as err:
        await call(hass, "forced_charge", {"device_id": device_id(hass, code), "duration": 30})

    assert not isinstance(err.value, ServiceValidationError)
    assert err.value.translation_key == "outcome_unknown"
    (request_id,) = simulator.tasks.by_request
    assert message(err) == (
        f"FusionSolar did not answer the command for {code} (request {request_id}), and "
        "whether it arrived is unknown. It was not sent again: the integration keeps asking "
        "the cloud about this task, and the plant's Forced charge/discharge sensor shows "
        "what it learns"
    )
    assert simulator.calls.count(endpoint=CHARGE) == 1
    # Tracking continues: the sensor shows the task, the next poll learns it runs.
    assert state(hass, sensor) == "in_progress"
    assert hass.states.get(sensor).attributes["request_id"] == request_id
    await advance(hass, freezer, 3)
    assert hass.states.get(sensor).attributes["start"] is not None
    assert state(hass, sensor) == "in_progress"
    assert simulator.calls.count(endpoint=CHARGE) == 1


@pytest.mark.freeze_time(NIGHT)
async def test_item17_5_unknown_task_forgotten_when_cloud_never_had_it(
    hass: HomeAssistant, simulator: Simulator, freezer: FrozenDateTimeFactory
) -> None:
    entry, code, sensor = await set_up_plant(hass, simulator)
    client = client_of(entry)

    async def never_sent(*_args: Any, **_kwargs: Any) -> Any:
        raise OutcomeUnknownError("The connection dropped")

    simulator.faults.add(STATUS, "http_status", status=502)
    with (
        patch.object(client, "async_charge_discharge", never_sent),
        pytest.raises(HomeAssistantError) as err,
    ):
        await call(hass, "forced_charge", {"device_id": device_id(hass, code), "duration": 30})

    assert err.value.translation_key == "outcome_unknown"
    assert state(hass, sensor) == "in_progress"
    await advance(hass, freezer, 3)  # the cloud answers 20050: it never had the task
    assert state(hass, sensor) == "idle"
    assert control_calls(simulator) == 2  # two status queries, no command


@pytest.mark.freeze_time(NIGHT)
async def test_item17_5_command_not_received_is_reported_failed(
    hass: HomeAssistant, simulator: Simulator
) -> None:
    await setup(hass, simulator)
    code = simulator.plants[0].code
    simulator.faults.add(CHARGE, "http_status", status=502)

    with pytest.raises(HomeAssistantError) as err:
        await call(hass, "forced_charge", {"device_id": device_id(hass, code), "duration": 30})

    assert err.value.translation_key == "control_communication"
    assert simulator.calls.count(endpoint=CHARGE) == 1
    assert simulator.calls.count(endpoint=STATUS, fail_code=20050) == 1
    assert simulator.tasks.by_request == {}
    assert state(hass, entity_id(hass, "sensor", PLANT_SENSOR.format(code))) == "idle"


@pytest.mark.freeze_time(NIGHT)
async def test_item17_5_stop_with_lost_answer_confirmed(
    hass: HomeAssistant, simulator: Simulator
) -> None:
    await setup(hass, simulator)
    code = simulator.plants[0].code
    plant_device = device_id(hass, code)
    sensor = entity_id(hass, "sensor", PLANT_SENSOR.format(code))
    await call(hass, "forced_charge", {"device_id": plant_device, "duration": 60})
    simulator.faults.add(CHARGE, "disconnect")

    await call(hass, "stop_forced_charge_discharge", {"device_id": plant_device})

    assert simulator.calls.count(endpoint=CHARGE) == 2
    assert state(hass, sensor) == "stopped"


# ----------------------------------------------------------------------------- 17.6


@pytest.mark.freeze_time(NIGHT)
async def test_item17_6_concurrent_forced_charges_serialised(
    hass: HomeAssistant, simulator: Simulator
) -> None:
    await setup(hass, simulator)
    code = simulator.plants[0].code
    plant_device = device_id(hass, code)
    battery_device = device_id(hass, simulator.plants[0].batteries[0].sn)

    results = await asyncio.gather(
        call(hass, "forced_charge", {"device_id": plant_device, "duration": 30}, response=True),
        call(hass, "forced_charge", {"device_id": battery_device, "target_soc": 80}, response=True),
        return_exceptions=True,
    )

    assert simulator.calls.count(endpoint=CHARGE) == 1
    (refused,) = [r for r in results if isinstance(r, Exception)]
    assert isinstance(refused, ServiceValidationError)
    assert refused.translation_key == "task_running"
    (request_id,) = simulator.tasks.by_request
    assert str(refused) == (
        f"A forced charge/discharge task (request {request_id}) is still running on plant "
        f"{code}. The cloud allows one task per plant: stop it first"
    )


# ----------------------------------------------------------------------------- 17.12


@pytest.mark.freeze_time(NIGHT)
async def test_item17_12_empty_device_list_refused(
    hass: HomeAssistant, simulator: Simulator
) -> None:
    await setup(hass, simulator)
    cases = [
        ("forced_charge", {"duration": 5}, "Choose at least one plant or battery"),
        ("forced_discharge", {"duration": 5}, "Choose at least one plant or battery"),
        ("stop_forced_charge_discharge", {}, "Choose at least one plant or battery"),
        ("set_depth_of_discharge", {"depth_of_discharge": 90}, "Choose at least one battery"),
        ("get_dispatch_status", {}, "Choose at least one plant or battery"),
    ]
    for service, data, text in cases:
        with pytest.raises(ServiceValidationError) as err:
            await call(
                hass, service, {"device_id": [], **data}, response=service == "get_dispatch_status"
            )
        assert message(err) == text, service
    assert control_calls(simulator) == 0


@pytest.mark.freeze_time(NIGHT)
async def test_item17_12_fractional_duration_refused(
    hass: HomeAssistant, simulator: Simulator
) -> None:
    await setup(hass, simulator)
    on_plant = {"device_id": device_id(hass, simulator.plants[0].code)}
    text = "Duration must be a whole number of minutes between 1 and 1440"
    for duration in (0.9, 0, 30.5, "7.5"):
        assert (
            str(await refused(hass, "forced_charge", {**on_plant, "duration": duration})) == text
        ), duration
    assert control_calls(simulator) == 0


@pytest.mark.freeze_time(NIGHT)
async def test_item17_12_nan_depth_of_discharge_refused(
    hass: HomeAssistant, simulator: Simulator
) -> None:
    await setup(hass, simulator)
    battery = simulator.plants[0].batteries[0]
    number = entity_id(hass, "number", f"{battery.sn}_depth_of_discharge")
    text = "Depth of discharge must be a whole number between 0 and 100 %"
    for value in (math.nan, "nan", 85.5):
        with pytest.raises(ServiceValidationError) as err:
            await hass.services.async_call(
                "number", SERVICE_SET_VALUE, {ATTR_ENTITY_ID: number, ATTR_VALUE: value}, True
            )
        assert message(err) == text, value
    on_battery = {"device_id": device_id(hass, battery.sn)}
    for value in (math.nan, 90.5):
        assert (
            str(
                await refused(
                    hass, "set_depth_of_discharge", {**on_battery, "depth_of_discharge": value}
                )
            )
            == text
        ), value
    assert simulator.calls.count(endpoint=DOD) == 0


# ----------------------------------------------------------------------------- 17.13


@pytest.mark.freeze_time(NIGHT)
async def test_item17_13_commands_logged_at_debug_without_serial_numbers(
    hass: HomeAssistant, simulator: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    await setup(hass, simulator)
    plant = simulator.plants[0]
    battery = plant.batteries[0]
    inverter = plant.inverters[0]
    serials = [device.sn for device in (*plant.batteries, *plant.inverters)]
    caplog.clear()
    caplog.set_level("DEBUG", logger="custom_components.fusionsolar")

    await call(hass, "forced_charge", {"device_id": device_id(hass, plant.code), "duration": 5})
    await call(
        hass,
        "set_depth_of_discharge",
        {"device_id": device_id(hass, battery.sn), "depth_of_discharge": 90},
    )
    switch = entity_id(hass, "switch", f"{inverter.sn}_inverter_power")
    await hass.services.async_call("switch", "turn_off", {ATTR_ENTITY_ID: switch}, True)

    ours = [r for r in caplog.records if r.name.startswith("custom_components.fusionsolar")]
    commands = [r for r in ours if "control.py" in r.pathname]
    assert len(commands) == 3, [r.getMessage() for r in commands]
    assert {r.levelname for r in commands} == {"DEBUG"}
    assert battery.dn in commands[1].getMessage()
    assert inverter.dn in commands[2].getMessage()
    texts = [r.getMessage() for r in caplog.records]
    assert not [text for text in texts if any(sn in text for sn in serials)]


# ----------------------------------------------------------------------------- 21


@pytest.mark.freeze_time(NIGHT)
async def test_item21_1_missing_and_double_settings_have_own_messages(
    hass: HomeAssistant, simulator: Simulator
) -> None:
    await setup(hass, simulator)
    on_plant = {"device_id": device_id(hass, simulator.plants[0].code)}
    for data, text in (
        (on_plant, "Give a target state of charge or a duration"),
        (
            {**on_plant, "target_soc": 50, "duration": 5},
            "Give either a target state of charge or a duration, not both",
        ),
    ):
        assert str(await refused(hass, "forced_charge", data)) == text
    assert control_calls(simulator) == 0


@pytest.mark.freeze_time(NIGHT)
async def test_item21_2_range_errors_name_field_and_unit(
    hass: HomeAssistant, simulator: Simulator
) -> None:
    await setup(hass, simulator)
    plant = simulator.plants[0]
    on_plant = {"device_id": device_id(hass, plant.code)}
    on_battery = {"device_id": device_id(hass, plant.batteries[0].sn)}
    soc_text = "Target state of charge must be between 0 and 100 %"
    cases: list[tuple[str, dict[str, Any], str]] = [
        ("forced_charge", {**on_plant, "target_soc": 150}, soc_text),
        ("forced_discharge", {**on_plant, "target_soc": -1}, soc_text),
        ("forced_charge", {**on_plant, "target_soc": math.nan}, soc_text),
        (
            "forced_charge",
            {**on_plant, "duration": 1441},
            "Duration must be a whole number of minutes between 1 and 1440",
        ),
        (
            "forced_charge",
            {**on_plant, "duration": 5, "power": 0},
            "Power must be between 1 and 1000000 W",
        ),
        (
            "set_depth_of_discharge",
            {**on_battery, "depth_of_discharge": 101},
            "Depth of discharge must be a whole number between 0 and 100 %",
        ),
        (
            "get_dispatch_status",
            {**on_plant, "request_id": 0},
            "Request ID must be between 1 and 9223372036854775807",
        ),
    ]
    for service, data, text in cases:
        assert (
            str(await refused(hass, service, data, response=service == "get_dispatch_status"))
            == text
        ), data
    assert control_calls(simulator) == 0


@pytest.mark.freeze_time(NIGHT)
async def test_item21_3_discharge_below_end_of_discharge_refused(
    hass: HomeAssistant, simulator: Simulator
) -> None:
    await setup(hass, simulator)
    plant = simulator.plants[0]
    battery = plant.batteries[0]
    assert plant.eod(battery, simulator.now()) == 10  # Huawei default: DoD 90 %
    on_battery = {"device_id": device_id(hass, battery.sn)}

    assert str(await refused(hass, "forced_discharge", {**on_battery, "target_soc": 5})) == (
        f"The batteries of {plant.name} stop discharging at 10 % (100 % minus their depth of "
        "discharge of 90 %). Choose a target state of charge of at least 10 %, or raise the "
        "depth of discharge first"
    )
    assert control_calls(simulator) == 0
    # The limit follows the DoD the cloud applied.
    await call(hass, "set_depth_of_discharge", {**on_battery, "depth_of_discharge": 80})
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "forced_discharge", {**on_battery, "target_soc": 15})
    assert "stop discharging at 20 %" in message(err)
    await call(hass, "forced_discharge", {**on_battery, "target_soc": 20})
    assert simulator.calls.count(endpoint=CHARGE) == 1
    # A forced charge to a low target is not a discharge: no limit.
    await call(hass, "stop_forced_charge_discharge", on_battery)
    await call(hass, "forced_charge", {**on_battery, "target_soc": 5})
    assert simulator.calls.count(endpoint=CHARGE) == 3


@pytest.mark.freeze_time(NIGHT)
async def test_item21_4_stopped_task_shows_stopped_with_consistent_times(
    hass: HomeAssistant, simulator: Simulator, freezer: FrozenDateTimeFactory
) -> None:
    await setup(hass, simulator)
    code = simulator.plants[0].code
    plant_device = device_id(hass, code)
    sensor = entity_id(hass, "sensor", PLANT_SENSOR.format(code))
    events = async_capture_events(hass, EVENT_DISPATCH_FINISHED)
    await call(hass, "forced_charge", {"device_id": plant_device, "target_soc": 50})
    freezer.tick(timedelta(seconds=30))

    await call(hass, "stop_forced_charge_discharge", {"device_id": plant_device})

    def times() -> tuple[Any, Any]:
        attributes = hass.states.get(sensor).attributes
        return (
            dt_util.parse_datetime(attributes["start"]),
            dt_util.parse_datetime(attributes["end"]),
        )

    assert state(hass, sensor) == "stopped"
    start, end = times()
    assert start is not None
    assert end == dt_util.utcnow()
    assert end >= start
    # The cloud confirms the stop at its next status: state and times stay consistent.
    for _ in range(5):
        await advance(hass, freezer, 3)
        assert state(hass, sensor) == "stopped"
        start, end = times()
        assert start is not None
        assert end is not None
        assert end >= start
    (event,) = events
    assert event.data["state"] == "stopped"
    assert event.data["charged_energy"] is not None
    status = await call(hass, "get_dispatch_status", {"device_id": plant_device}, response=True)
    assert status["tasks"][0]["state"] == "stopped"
    polls = simulator.calls.count(endpoint=STATUS)
    await advance(hass, freezer, 6)
    assert simulator.calls.count(endpoint=STATUS) == polls  # confirmed: no more polling


@pytest.mark.freeze_time(NIGHT)
async def test_item21_4_stopped_translated(hass: HomeAssistant) -> None:
    from homeassistant.helpers.translation import async_get_translations

    for language, text in (("en", "Stopped"), ("de", "Gestoppt"), ("nl", "Gestopt")):
        translations = await async_get_translations(hass, language, "entity", [DOMAIN])
        key = f"component.{DOMAIN}.entity.sensor.dispatch_status.state.stopped"
        assert translations[key] == text


# ----------------------------------------------------------------------------- coverage


@pytest.mark.freeze_time(NIGHT)
async def test_item21_tasks_given_up_25_hours_after_the_request(
    hass: HomeAssistant, simulator_factory: Any, freezer: FrozenDateTimeFactory
) -> None:
    """The cloud never answers for the tasks: the tracker gives up on its own after 25 h."""
    sim: Simulator = await simulator_factory(plants=2)
    await setup(hass, sim)
    charging, stopped = (plant.code for plant in sim.plants)
    sensors = [entity_id(hass, "sensor", PLANT_SENSOR.format(code)) for code in (charging, stopped)]
    events = async_capture_events(hass, EVENT_DISPATCH_FINISHED)
    await call(hass, "forced_charge", {"device_id": device_id(hass, charging), "duration": 600})
    await call(hass, "forced_charge", {"device_id": device_id(hass, stopped), "duration": 600})
    await call(hass, "stop_forced_charge_discharge", {"device_id": device_id(hass, stopped)})
    sim.faults.add(STATUS, "http_status", count=0, status=502)

    await advance(hass, freezer, 3)
    assert [state(hass, sensor) for sensor in sensors] == ["in_progress", "stopped"]
    freezer.tick(timedelta(hours=24, minutes=50))
    await advance(hass, freezer, 3)
    assert [state(hass, sensor) for sensor in sensors] == ["in_progress", "stopped"]
    assert events == []

    await advance(hass, freezer, 9)

    assert [state(hass, sensor) for sensor in sensors] == ["timeout", "stopped"]
    assert {event.data["plant_code"]: event.data["state"] for event in events} == {
        charging: "timeout",
        stopped: "stopped",
    }
    polls = sim.calls.count(endpoint=STATUS)
    await advance(hass, freezer, 6)
    assert sim.calls.count(endpoint=STATUS) == polls  # given up: no more polling


@pytest.mark.freeze_time(NIGHT)
async def test_item21_quota_refusal_ends_a_polling_round(
    hass: HomeAssistant, simulator_factory: Any, freezer: FrozenDateTimeFactory
) -> None:
    sim: Simulator = await simulator_factory(plants=2)
    entry = await setup(hass, sim)
    for plant in sim.plants:
        await call(
            hass, "forced_charge", {"device_id": device_id(hass, plant.code), "duration": 60}
        )
    asked: list[int] = []

    async def refused(request_id: int, **_kwargs: Any) -> Any:
        asked.append(request_id)
        raise QuotaWouldExceed(STATUS, 30)

    with patch.object(client_of(entry), "async_charge_discharge_status", refused):
        await advance(hass, freezer, 3)

    assert len(asked) == 1  # the second request waits for the next round
    await advance(hass, freezer, 3)
    assert sim.calls.count(endpoint=STATUS) == 2


@pytest.mark.freeze_time(NIGHT)
async def test_item21_stored_tasks_restored(
    hass: HomeAssistant, simulator: Simulator, hass_storage: dict[str, Any]
) -> None:
    """Tasks stored by an older version (stopped flag) and broken ones."""
    entry = entry_for(simulator)
    code = simulator.plants[0].code
    key = entry_store_key(EntryStore.DISPATCH, entry.entry_id)
    hass_storage[key] = {
        "version": 1,
        "key": key,
        "data": {
            "plants": {
                code: {
                    "request_id": 42,
                    "mode": "charge",
                    "state": "in_progress",
                    "requested": "2026-06-18T00:50:00+00:00",
                    "start": "2026-06-18T00:50:00+00:00",
                    "end": None,
                    "stopped": True,
                },
                "NE=broken": {"state": "in_progress"},
            }
        },
    }
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    sensor = entity_id(hass, "sensor", PLANT_SENSOR.format(code))
    assert state(hass, sensor) == "stopped"
    assert hass.states.get(sensor).attributes["request_id"] == 42
    assert list(entry.runtime_data.dispatch.plants) == [code]


@pytest.mark.freeze_time(NIGHT)
async def test_item21_status_of_idle_plant_and_of_a_discharge(
    hass: HomeAssistant, simulator: Simulator
) -> None:
    await setup(hass, simulator)
    code = simulator.plants[0].code
    plant_device = {"device_id": device_id(hass, code)}
    sensor = entity_id(hass, "sensor", PLANT_SENSOR.format(code))

    idle = await call(hass, "get_dispatch_status", plant_device, response=True)
    await call(hass, "stop_forced_charge_discharge", plant_device)  # nothing to stop

    assert idle == {"tasks": [{"plant_code": code, "request_id": None, "state": "idle"}]}
    assert state(hass, sensor) == "idle"
    response = await call(hass, "forced_discharge", {**plant_device, "duration": 30}, response=True)
    request_id = response["tasks"][0]["request_id"]
    status = await call(
        hass, "get_dispatch_status", {**plant_device, "request_id": request_id}, response=True
    )
    (task,) = status["tasks"]
    assert (task["plant_code"], task["mode"], task["state"]) == (code, "discharge", "in_progress")


@pytest.mark.parametrize(
    ("error", "key"),
    [
        (ApiFamilyUnavailableError("no V7"), "control_unavailable"),
        (AuthenticationError(fail_code=20001), "authentication_failed"),
        (PermissionDeniedError(fail_code=401), "control_permission"),
        (QuotaWouldExceed(CHARGE, 30), "control_quota"),
        (InvalidRequestError(fail_code=20040), "control_rejected"),
        (CommunicationError("Request timed out"), "control_communication"),
        (DuplicateRequestError(fail_code=20048), "duplicate_request"),
    ],
)
def test_item21_client_errors_keep_their_meaning(error: FusionSolarError, key: str) -> None:
    translated = control_error(error, "Plant 1")
    assert translated.translation_key == key
    assert translated.translation_placeholders["devices"] == "Plant 1"


@pytest.mark.freeze_time(NIGHT)
async def test_item21_4_task_stopped_elsewhere_has_consistent_times(
    hass: HomeAssistant, simulator: Simulator, freezer: FrozenDateTimeFactory
) -> None:
    """Stopped from the FusionSolar app: the cloud ends it at its slot, before it started."""
    entry, code, sensor = await set_up_plant(hass, simulator)
    await call(hass, "forced_charge", {"device_id": device_id(hass, code), "duration": 60})
    await client_of(entry).async_charge_discharge([code], DispatchMode.STOP)

    await advance(hass, freezer, 3)

    assert state(hass, sensor) == "complete"
    attributes = hass.states.get(sensor).attributes
    start = dt_util.parse_datetime(attributes["start"])
    end = dt_util.parse_datetime(attributes["end"])
    assert start is not None
    assert end == start  # the cloud said 01:00, before the 01:02 start
