"""Issue 20 "Control on 26.2": the simulator's control tasks on the cloud-2026 profile.

Section numbers are the 26.2 digest's (/work/shared/spec/SmartPVMS-26.2-NBI-digest.md).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import BATTERY_DN, Started
from tests.conftest import PLANT_CODE as PLANT
from tests.conftest import StartSimulator as Factory
from tests.simulator import const
from tests.simulator.config import DeviceSpec
from tests.simulator.testing import FakeClock, NbiTestClient

TASK = "/rest/openapi/pvms/nbi/v2/control/charge-and-discharge/async-task"
STATUS = const.V7_CHARGE_DISCHARGE_STATUS
MODE_TASK = "/rest/openapi/pvms/nbi/v1/control/battery/mode/async-task"
MODE_INFO = "/rest/openapi/pvms/nbi/v1/control/battery/mode/task-info"
CONFIG_TASK = "/rest/openapi/pvms/nbi/v1/control/battery/configuration/async-task"
CONFIG_INFO = "/rest/openapi/pvms/nbi/v1/control/battery/configuration/task-info"
POWER_TASK = "/rest/openapi/pvms/nbi/v2/control/active-power-control/async-task"
DISPATCH_TASK = "/rest/openapi/pvms/nbi/v1/control/battery/battery-dispatch/async-task"
BATTERY_MODE = "/rest/openapi/pvms/nbi/v1/configuration/battery-mode"
POWER_MODE = "/rest/openapi/pvms/nbi/v1/configuration/active-power-control-mode"
MINUTE = 61.0


@pytest.fixture
def make(simulators_on_fake_clock: Factory) -> Factory:
    """cloud-2026 simulators on a fake clock (a Monday in June, 12:01 local), logged in."""

    async def factory(**config: Any) -> Started:
        config.setdefault("profile", "cloud-2026")
        config.setdefault("alarm_rate_per_day", 0.0)
        sim, client, clock = await simulators_on_fake_clock(
            FakeClock.at(2026, 6, 15, 12, 1), **config
        )
        assert (await client.login()).status == 200
        return sim, client, clock

    return factory


async def send(client: NbiTestClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """The answer (HTTP 200) to a call with the /thirdData token."""
    status, payload = await client.post(path, body, token=client.tokens["legacy"])
    assert status == 200, payload
    assert isinstance(payload, dict)
    return payload


def charge(power: int | None = 3000, **extra: Any) -> dict[str, Any]:
    """One §5.2.1 forced-charge task for 60 minutes."""
    task: dict[str, Any] = {
        "plantCode": PLANT,
        "dispatchSwitch": 1,
        "controlType": 2,
        "dispatchTime": 60,
    }
    if power is not None:
        task["powerDispatch"] = power
    return {"tasks": [{**task, **extra}]}


async def test_item20_control_sim_charge_task_runs_to_completion(make: Factory) -> None:
    """§5.2.1/5.2.2: server requestID, status 1 then 0 with the energy; the battery acts."""
    sim, client, clock = await make()
    soc_before = sim.state(PLANT).soc
    answer = await send(client, TASK, charge(-3000, dispatchSwitch=2))
    assert answer["failCode"] == 0, answer
    request_id = answer["data"]["requestID"]
    assert answer["data"]["result"][0]["dispatchResult"] == 0
    clock.advance(15 * 60)
    status = await send(client, STATUS, {"requestID": request_id})
    assert status["failCode"] == 0
    assert status["data"][0]["status"] == 1
    assert status["data"][0]["execEndTime"] is None
    clock.advance(60 * 60)
    await client.login()  # the token timed out (30 idle minutes)
    status = await send(client, STATUS, {"requestID": request_id})
    entry = status["data"][0]
    assert entry["status"] == 0
    assert entry["dischargedCapacity"] == pytest.approx(3.0, abs=0.3)
    assert entry["chargedCapacity"] is None
    assert entry["execEndTime"] is not None
    assert sim.state(PLANT).soc < soc_before - 10


async def test_item20_control_sim_status_query_path_and_token(make: Factory) -> None:
    """§5.2.2 keeps its V7-looking path on today's cloud; the V7 login stays 404."""
    _, client, clock = await make()
    status, _ = await client.post(const.V7_LOGIN, {"username": "x", "password": "y"})
    assert status == 404
    answer = await send(client, STATUS, {"requestID": 123})
    assert answer["failCode"] == 20050
    clock.advance(MINUTE)
    answer = await send(client, STATUS, {})
    assert answer["failCode"] == 20044


@pytest.mark.parametrize(
    ("task", "message"),
    [
        (charge(-3000), "PowerDispatch is illegal"),
        (charge(3000, dispatchSwitch=2), "PowerDispatch is illegal"),
        (charge(0), "PowerDispatch is illegal"),
        (charge(dispatchSwitch=3), "DispatchSwitch is illegal"),
        (charge(dispatchTime=1441), "DispatchTime is illegal"),
        (charge(controlType=1, targetSOC=101), "TargetSOC is illegal"),
        (charge(controlType=None), "ControlType is illegal"),
    ],
)
async def test_item20_control_sim_charge_validation(
    make: Factory, task: dict[str, Any], message: str
) -> None:
    """§5.2.1: sign (charge > 0, discharge < 0 W) and ranges; nothing is started."""
    sim, client, _ = await make()
    answer = await send(client, TASK, task)
    assert answer["success"] is False
    assert answer["failCode"] == 2
    assert answer["data"]["result"][0]["dispatchResult"] == 1
    assert message in answer["data"]["result"][0]["description"]
    assert sim.plant(PLANT).tasks == []


async def test_item20_control_sim_charge_framework_errors(make: Factory) -> None:
    """§5.2.1 types and list size: HTTP 400 framework errors (§7.4); an empty list fails."""
    _, client, clock = await make()
    status, payload = await client.post(TASK, charge(3000.5), token=client.tokens["legacy"])
    assert status == 400
    assert payload["reasonArgs"] == ["powerDispatch"]
    clock.advance(MINUTE)
    answer = await send(client, TASK, {"tasks": []})
    assert answer["failCode"] == 2
    assert answer["message"] == "Battery charge and discharge task list is empty."
    clock.advance(MINUTE)
    many = {"tasks": [{"plantCode": f"NE={i}", "dispatchSwitch": 0} for i in range(101)]}
    status, payload = await client.post(TASK, many, token=client.tokens["legacy"])
    assert status == 400


async def test_item20_control_sim_lg_has_no_soc_control(make: Factory) -> None:
    """§5.2.1: LG batteries refuse SOC control; time control works."""
    lg = DeviceSpec("battery", vendor="lg")
    _, client, clock = await make(devices=["inverter", lg, "meter"])
    answer = await send(client, TASK, charge(controlType=1, targetSOC=90, dispatchTime=None))
    assert answer["failCode"] == 2
    assert "LG" in answer["data"]["result"][0]["description"]
    clock.advance(MINUTE)
    assert (await send(client, TASK, charge()))["failCode"] == 0


async def test_item20_control_sim_one_task_per_plant_and_stop(make: Factory) -> None:
    """§6.1: no second task while one runs (partial success names it); a stop ends it."""
    sim, client, clock = await make(plants=2)
    first = await send(client, TASK, charge())
    clock.advance(MINUTE)
    second_plant = sim.plants[1].code
    both = charge()
    both["tasks"].append({**both["tasks"][0], "plantCode": second_plant})
    answer = await send(client, TASK, both)
    assert answer["success"] is True
    assert answer["failCode"] == 1
    by_plant = {r["plantCode"]: r for r in answer["data"]["result"]}
    assert by_plant[PLANT]["dispatchResult"] == 1
    assert by_plant[second_plant]["dispatchResult"] == 0
    clock.advance(MINUTE)
    stop = await send(client, TASK, {"tasks": [{"plantCode": PLANT, "dispatchSwitch": 0}]})
    assert stop["failCode"] == 0
    clock.advance(10 * 60)
    status = await send(client, STATUS, {"requestID": first["data"]["requestID"]})
    assert status["data"][0]["status"] == 0


async def test_item20_control_sim_one_call_per_minute_per_endpoint(make: Factory) -> None:
    """§4.2: each control endpoint 1 call per minute per API account (407)."""
    _, client, clock = await make()
    assert (await send(client, TASK, charge()))["failCode"] == 0
    assert (await send(client, TASK, charge()))["failCode"] == 407
    assert (await send(client, STATUS, {"requestID": 1}))["failCode"] == 20050
    assert (await send(client, STATUS, {"requestID": 1}))["failCode"] == 407
    clock.advance(MINUTE)
    assert (await send(client, STATUS, {"requestID": 1}))["failCode"] == 20050


TOU = {
    "plantCode": PLANT,
    "operationMode": "TOU",
    "redundantPVEnergyPriority": "fedToGridPreference",
    "allowedAcChargePower": 3.5,
    "chargingAndDischargingTimeWindow": [
        {"startTime": "01:00", "endTime": "05:00", "chargeOrDischarge": "charge", "repeat": [1, 2]},
        {"startTime": "17:00", "endTime": "21:00", "chargeOrDischarge": "discharge", "repeat": [1]},
    ],
}


async def test_item20_control_sim_working_mode_task(make: Factory) -> None:
    """§5.2.3/5.2.4: RUNNING then SUCCESS; the configuration query reports it (§5.1.5.1)."""
    _, client, clock = await make()
    answer = await send(client, MODE_TASK, {"tasks": [TOU]})
    assert answer["failCode"] == 0, answer
    task_id = answer["data"]["taskId"]
    assert len(task_id) == 16
    assert answer["data"]["result"][0]["status"] == "RUNNING"
    clock.advance(MINUTE)
    info = await send(client, MODE_INFO, {"taskId": task_id})
    assert info["data"]["dispatchResult"][0]["status"] == "RUNNING"
    assert info["data"]["endTime"] is None
    clock.advance(MINUTE * 2)
    info = await send(client, MODE_INFO, {"taskId": task_id})
    assert info["data"]["dispatchResult"][0]["status"] == "SUCCESS"
    assert info["data"]["dispatchResult"][0]["operationMode"] == "TOU"
    mode = (await send(client, BATTERY_MODE, {"plantCode": PLANT}))["data"]
    assert mode["operationMode"] == "TOU"
    assert mode["touOperationModeParamDetail"]["allowedAcChargePower"] == 3.5
    clock.advance(MINUTE)
    assert (await send(client, MODE_INFO, {"taskId": "X" * 16}))["failCode"] == 20620


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"operationMode": "fullyFidToGrid"}, "operationMode in"),
        ({"chargingAndDischargingTimeWindow": None}, "mandatory for TOU"),
        ({"allowedAcChargePower": 50.5}, "allowedAcChargePower in"),
        (
            {
                "chargingAndDischargingTimeWindow": [
                    {
                        "startTime": "01:00",
                        "endTime": "05:00",
                        "chargeOrDischarge": "charge",
                        "repeat": [1],
                    },
                    {
                        "startTime": "04:00",
                        "endTime": "06:00",
                        "chargeOrDischarge": "charge",
                        "repeat": [1],
                    },
                ]
            },
            "overlap",
        ),
        ({"operationMode": "maximumSelfConsumption"}, "same as the current value"),
    ],
)
async def test_item20_control_sim_working_mode_validation(
    make: Factory, change: dict[str, Any], message: str
) -> None:
    """§5.2.3: modes, TOU windows (mandatory, no overlap), ranges, unchanged value."""
    _, client, _ = await make()
    answer = await send(client, MODE_TASK, {"tasks": [{**TOU, **change}]})
    assert answer["failCode"] == 2
    assert message in answer["data"]["result"][0]["message"]


async def test_item20_control_sim_battery_parameters_change_the_plant(make: Factory) -> None:
    """§5.2.5/5.2.6: ranges (SOC, >= 200 W); the discharge cut-off SOC becomes the EOD."""
    sim, client, clock = await make()
    bad = {"plantCode": PLANT, "batteryConfigurationInfo": {"endOfDischargeSoc": 25.0}}
    answer = await send(client, CONFIG_TASK, {"tasks": [bad]})
    assert "endOfDischargeSoc in" in answer["data"]["result"][0]["message"]
    clock.advance(MINUTE)
    bad["batteryConfigurationInfo"] = {"maximumChargePower": 199}
    answer = await send(client, CONFIG_TASK, {"tasks": [bad]})
    assert "maximumChargePower in" in answer["data"]["result"][0]["message"]
    clock.advance(MINUTE)
    good = {
        "plantCode": PLANT,
        "batteryConfigurationInfo": {"endOfDischargeSoc": 15.0, "maximumChargePower": 10**6},
    }
    answer = await send(client, CONFIG_TASK, {"tasks": [good]})
    assert answer["failCode"] == 0, answer
    clock.advance(MINUTE * 3)
    info = await send(client, CONFIG_INFO, {"taskId": answer["data"]["taskId"]})
    entry = info["data"]["dispatchResult"][0]
    assert entry["status"] == "SUCCESS"
    plant = sim.plant(PLANT)
    assert entry["batteryConfigurationInfo"]["maximumChargePower"] == round(
        plant.max_battery_kw * 1000
    )
    assert plant.plant_eod(clock() + 600) == 15.0


async def test_item20_control_sim_export_limit_and_dispatch(make: Factory) -> None:
    """§5.2.7 sets the export limit (§5.1.5.2 reports it); §5.2.9 needs third-party mode."""
    _, client, clock = await make()
    limit = {
        "plantCode": PLANT,
        "controlMode": "6",
        "controlInfo": {"maxGridFeedInPower": 0.0, "limitationMode": "0"},
    }
    assert (await send(client, POWER_TASK, {"tasks": [limit]}))["failCode"] == 0
    clock.advance(MINUTE * 3)
    mode = (await send(client, POWER_MODE, {"plantCode": PLANT}))["data"]
    assert mode["controlMode"] == "limitedPowerGridKW"
    assert mode["limitedPowerGridValueParam"]["maxGridFeedInPowerValue"] == 0.0
    body = {"plantCode": PLANT, "batteryDn": BATTERY_DN, "dispatchPower": 2000}
    assert (await send(client, DISPATCH_TASK, body))["failCode"] == 20627
    third = {"plantCode": PLANT, "operationMode": "thirdPartyDispatch"}
    clock.advance(MINUTE)
    assert (await send(client, MODE_TASK, {"tasks": [third]}))["failCode"] == 0
    clock.advance(MINUTE * 3)
    answer = await send(client, DISPATCH_TASK, body)
    assert answer["failCode"] == 0, answer
    assert answer["data"]["status"] == "RUNNING"
