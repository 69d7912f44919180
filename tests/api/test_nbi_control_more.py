"""Today's control tasks (26.2 §5.2): refusals before sending and answers without an id."""

from __future__ import annotations

from typing import Any

import pytest

from custom_components.fusionsolar.api import (
    ApiFamilyUnavailableError,
    BatteryOperationMode,
    CommunicationError,
    DispatchMode,
    Endpoint,
    FusionSolarClient,
    InvalidArgumentError,
)
from tests.control_helpers import TOU_WINDOW
from tests.simulator import Simulator

from .conftest import ClientFactory


async def _cloud(make_client: ClientFactory, **config: Any) -> tuple[Simulator, FusionSolarClient]:
    sim, client = await make_client(profile="cloud-2026", alarm_rate_per_day=0.0, **config)
    await client.async_login()
    await client.async_get_plants()
    return sim, client


async def test_nbi_control_task_refused_without_todays_control(
    make_client: ClientFactory,
) -> None:
    """A V500R007 account with V7 takes no 26.2 task: refused before anything is sent."""
    sim, client = await make_client()
    await client.async_login()
    code = sim.plants[0].code
    before = len(sim.calls.records)
    with pytest.raises(ApiFamilyUnavailableError):
        await client.async_set_export_limit(code, 0.0)
    assert sim.calls.count(endpoint=Endpoint.NBI_ACTIVE_POWER_TASK) == 0
    assert len(sim.calls.records) == before


@pytest.mark.parametrize("fault", [{"kind": "data_null"}, {"kind": "missing_keys"}])
async def test_nbi_control_task_answer_without_request_id(
    make_client: ClientFactory, fault: dict[str, Any]
) -> None:
    """An answer without the cloud's requestID cannot be followed: a communication error."""
    sim, client = await _cloud(make_client)
    kind = fault["kind"]
    opts: dict[str, Any] = {"keys": ["requestID"]} if kind == "missing_keys" else {}
    sim.faults.add(Endpoint.NBI_CHARGE_DISCHARGE_TASK, kind, **opts)
    with pytest.raises(CommunicationError):
        await client.async_nbi_charge_discharge([sim.plants[0].code], DispatchMode.STOP)
    assert sim.calls.count(endpoint=Endpoint.NBI_CHARGE_DISCHARGE_TASK) == 1


async def test_nbi_control_bad_arguments_send_nothing(make_client: ClientFactory) -> None:
    """Request ids, dispatch watts, task kinds and PV priorities are checked first."""
    sim, client = await _cloud(make_client)
    code = sim.plants[0].code
    battery = sim.plants[0].batteries[0].sn
    before = len(sim.calls.records)
    for request_id in (0, -3, True):
        with pytest.raises(InvalidArgumentError, match="request_id"):
            await client.async_charge_discharge_status(request_id)
    for power in (1.5, True):
        with pytest.raises(InvalidArgumentError, match="power_w"):
            await client.async_battery_dispatch(code, battery, power)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="not a setting task"):
        await client.async_control_task(Endpoint.NBI_CHARGE_DISCHARGE_TASK, "X" * 16)
    with pytest.raises(InvalidArgumentError, match="pv_priority"):
        await client.async_set_battery_mode(
            code, BatteryOperationMode.TIME_OF_USE, pv_priority="export", windows=[TOU_WINDOW]
        )
    assert len(sim.calls.records) == before
