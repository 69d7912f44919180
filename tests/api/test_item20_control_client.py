"""Issue 20 "Control on 26.2": the client's control tasks against the cloud-2026 simulator."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

import pytest

from custom_components.fusionsolar.api import (
    ActivePowerControlMode,
    BatteryOperationMode,
    BatteryParameters,
    ControlApi,
    DispatchMode,
    DispatchState,
    Endpoint,
    FusionSolarClient,
    InvalidArgumentError,
    TaskNotFoundError,
    TaskRejectedError,
    TaskState,
)
from tests.control_helpers import TOU_WINDOW
from tests.simulator import Simulator
from tests.simulator.config import DeviceSpec

from .conftest import ClientFactory
from .fakes import FakeClock


async def _cloud(make_client: ClientFactory, **config: Any) -> tuple[Simulator, FusionSolarClient]:
    sim, client = await make_client(profile="cloud-2026", alarm_rate_per_day=0.0, **config)
    await client.async_login()
    await client.async_get_plants()  # today's cloud is learned from the plant list
    return sim, client


async def test_item20_control_api_per_account(make_client: ClientFactory) -> None:
    """V7 where it answers; today's tasks on today's cloud; none on a V500R007 without V7."""
    _, v7 = await make_client()
    await v7.async_login()
    assert v7.control_api is ControlApi.V7
    _, cloud = await _cloud(make_client)
    assert cloud.control_api is ControlApi.NBI
    _, no_v7 = await make_client(quirks=["no_v7"])
    await no_v7.async_login()
    await no_v7.async_get_plants()
    assert no_v7.control_api is ControlApi.NONE


async def test_item20_control_charge_task_and_status(
    make_client: ClientFactory, clock: FakeClock
) -> None:
    """§5.2.1: the cloud's requestID; §5.2.2 on its V7-looking path with the legacy token."""
    sim, client = await _cloud(make_client)
    code = sim.plants[0].code
    command = await client.async_nbi_charge_discharge(
        [code], DispatchMode.DISCHARGE, duration_min=30, power_w=2000
    )
    assert command.request_id in sim.tasks.by_request
    assert command.success
    (sent,) = sim.tasks.by_request[command.request_id]
    assert (sent.switch, sent.duration_min, sent.power_kw) == (2, 30, 2.0)
    (task_call,) = sim.calls.select(endpoint=Endpoint.NBI_CHARGE_DISCHARGE_TASK)
    assert task_call.family == "legacy"
    clock.advance(3600)
    status = await client.async_charge_discharge_status(command.request_id)
    assert status.state is DispatchState.COMPLETE
    assert status.entries[0].discharged_kwh == pytest.approx(1.0, abs=0.05)


async def test_item20_control_refused_and_partial_tasks(
    make_client: ClientFactory, clock: FakeClock
) -> None:
    """failCode 1 is a success with per-plant results; 2 names each plant's reason."""
    lg = DeviceSpec("battery", vendor="lg")
    sim, client = await _cloud(make_client, plants=2, plant_devices={1: ["inverter", lg]})
    codes = [plant.code for plant in sim.plants]
    command = await client.async_nbi_charge_discharge(codes, DispatchMode.CHARGE, target_soc=90)
    assert {r.plant_code: r.success for r in command.results} == {codes[0]: True, codes[1]: False}
    clock.advance(61)
    with pytest.raises(TaskRejectedError) as err:
        await client.async_nbi_charge_discharge([codes[1]], DispatchMode.CHARGE, target_soc=90)
    assert err.value.fail_code == 2
    assert "LG batteries do not support SOC control" in err.value.message
    clock.advance(61)
    with pytest.raises(TaskNotFoundError):
        await client.async_control_task(Endpoint.NBI_BATTERY_MODE_TASK, "X" * 16)


async def test_item20_control_settings_round_trip(
    make_client: ClientFactory, clock: FakeClock
) -> None:
    """§5.2.3/5.2.7 tasks end SUCCESS; §5.1.5 queries then report the new settings."""
    sim, client = await _cloud(make_client)
    code = sim.plants[0].code
    task = await client.async_set_battery_mode(
        code,
        BatteryOperationMode.TIME_OF_USE,
        pv_priority="fedToGridPreference",
        ac_charge_kw=2.5,
        windows=[TOU_WINDOW],
    )
    assert len(task.task_id) == 16
    assert task.result(code) is not None
    limit = await client.async_set_export_limit(code, 0.0)
    clock.advance(180)
    status = await client.async_control_task(Endpoint.NBI_BATTERY_MODE_TASK, task.task_id)
    result = status.result(code)
    assert result is not None
    assert result.state is TaskState.SUCCESS
    assert result.operation_mode is BatteryOperationMode.TIME_OF_USE
    status = await client.async_control_task(Endpoint.NBI_ACTIVE_POWER_TASK, limit.task_id)
    assert status.results[0].state is TaskState.SUCCESS
    mode = await client.async_get_battery_mode(code)
    assert mode is not None
    assert mode.mode is BatteryOperationMode.TIME_OF_USE
    assert mode.ac_charge_kw == 2.5
    assert mode.windows[0]["startTime"] == "01:00"
    export = await client.async_get_active_power_mode(code)
    assert export is not None
    assert (export.mode, export.limit_kw) == (ActivePowerControlMode.LIMITED_KW, 0.0)


async def test_item20_control_validation_sends_nothing(make_client: ClientFactory) -> None:
    """Every documented range is checked before anything is sent."""
    sim, client = await _cloud(make_client)
    code = sim.plants[0].code
    before = len(sim.calls.records)
    bad: list[Awaitable[object]] = [
        client.async_nbi_charge_discharge([code], DispatchMode.CHARGE, duration_min=1441),
        client.async_nbi_charge_discharge([code], DispatchMode.CHARGE, target_soc=101),
        client.async_nbi_charge_discharge([code], DispatchMode.CHARGE, duration_min=5, power_w=0),
        client.async_nbi_charge_discharge([f"NE={i}" for i in range(101)], DispatchMode.STOP),
        client.async_set_battery_parameters(code, BatteryParameters(end_of_charge_soc=89.9)),
        client.async_set_battery_parameters(code, BatteryParameters(end_of_discharge_soc=20.1)),
        client.async_set_battery_parameters(code, BatteryParameters(max_charge_power_w=199)),
        client.async_set_battery_parameters(code, BatteryParameters()),
        client.async_set_battery_mode(code, BatteryOperationMode.FULLY_FED_TO_GRID),
        client.async_set_battery_mode(code, BatteryOperationMode.TIME_OF_USE),
        client.async_set_battery_mode(
            code, BatteryOperationMode.TIME_OF_USE, windows=[TOU_WINDOW] * 15
        ),
        client.async_set_battery_mode(
            code, BatteryOperationMode.TIME_OF_USE, windows=[TOU_WINDOW], ac_charge_kw=50.1
        ),
        client.async_set_export_limit(code, -1000.1),
        client.async_control_task(Endpoint.NBI_BATTERY_MODE_TASK, "short"),
    ]
    for coro in bad:
        with pytest.raises(InvalidArgumentError):
            await coro
    assert len(sim.calls.records) == before
