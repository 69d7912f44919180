"""Simulator: the ``/_sim`` admin API, the only way to steer a simulator in another process.

Issue 18 item 8: every admin route is used by a test (the dev instance and the browser
tests run the simulator standalone, where ``sim.faults`` & co. are out of reach).
"""

from __future__ import annotations

from typing import Any

import aiohttp

from tests.simulator import Simulator
from tests.simulator.testing import NbiTestClient


async def _admin(
    session: aiohttp.ClientSession, sim: Simulator, method: str, path: str, body: Any = None
) -> tuple[int, Any]:
    async with session.request(method, f"{sim.url}/_sim/{path}", json=body) as response:
        if response.content_type == "application/json":
            return response.status, await response.json()
        return response.status, await response.text()


async def test_item18_8_admin_faults_and_quirks(simulator: Simulator) -> None:
    async with aiohttp.ClientSession() as session:
        client = NbiTestClient(simulator, session)
        fault = {"endpoint": "getStationList", "kind": "fail_code", "fail_code": 20056}
        status, armed = await _admin(session, simulator, "POST", "faults", fault)
        assert (status, armed["kind"], armed["opts"]) == (200, "fail_code", {"fail_code": 20056})
        assert (await _admin(session, simulator, "POST", "faults", {"kind": "nope"}))[0] == 400
        assert (await _admin(session, simulator, "GET", "faults"))[1] == [armed]
        await client.login("legacy")
        assert (await client.post("getStationList"))[1]["failCode"] == 20056
        assert simulator.faults.faults == []  # used up
        await _admin(session, simulator, "POST", "faults", {**fault, "count": 0})
        assert len(simulator.faults.faults) == 1  # until cleared
        assert (await _admin(session, simulator, "DELETE", "faults"))[1] == {"ok": True}
        assert simulator.faults.faults == []

        status, quirks = await _admin(session, simulator, "POST", "quirks", {"no_v7": True})
        assert status == 200
        assert quirks["no_v7"] is True
        assert simulator.quirks.no_v7
        assert (await _admin(session, simulator, "GET", "quirks"))[1] == quirks
        assert (await _admin(session, simulator, "POST", "quirks", {"nope": True}))[0] == 400
        assert (await client.login("v7")).status == 404


async def test_item18_8_admin_calls_clock_and_quota(simulator: Simulator) -> None:
    async with aiohttp.ClientSession() as session:
        client = NbiTestClient(simulator, session)
        await client.login("legacy")
        assert (await client.post("getStationList"))[1]["success"]
        assert (await client.post("getStationList"))[1]["failCode"] == 407
        _, calls = await _admin(session, simulator, "GET", "calls")
        assert calls["summary"]["total"] == 3
        assert calls["summary"]["quota_refused"] == 1
        assert [r["endpoint"] for r in calls["records"]][-1] == "/thirdData/getStationList"

        assert (await _admin(session, simulator, "POST", "quota/reset"))[1] == {"ok": True}
        assert (await client.post("getStationList"))[1]["success"]
        assert (await _admin(session, simulator, "DELETE", "calls"))[1] == {"ok": True}
        assert simulator.calls.records == []

        _, clock = await _admin(session, simulator, "GET", "clock")
        assert clock["offset"] == 0.0
        assert clock["boundary"] == simulator.boundary()
        _, moved = await _admin(session, simulator, "POST", "clock", {"advance": 3600})
        assert moved["offset"] == 3600.0
        assert moved["now"] >= clock["now"] + 3600
        _, reset = await _admin(session, simulator, "POST", "clock", {"offset": 0})
        assert reset["offset"] == 0.0
        assert simulator.clock_offset == 0.0


async def test_item18_8_admin_alarms_and_state(simulator: Simulator) -> None:
    plant = simulator.plants[0]
    async with aiohttp.ClientSession() as session:
        _, raised = await _admin(
            session, simulator, "POST", "alarms", {"plantCode": plant.code, "alarmId": 2032}
        )
        assert (raised["plantCode"], raised["alarmId"], raised["manual"]) == (
            plant.code,
            2032,
            True,
        )
        _, active = await _admin(session, simulator, "GET", "alarms")
        assert raised in active
        _, cleared = await _admin(session, simulator, "DELETE", "alarms", {"key": raised["key"]})
        assert cleared == {"cleared": 1}
        _, active = await _admin(session, simulator, "GET", "alarms")
        assert raised["key"] not in [a["key"] for a in active]

        _, state = await _admin(session, simulator, "GET", "state")
        assert state["boundary"] == simulator.boundary()
        assert [p["plantCode"] for p in state["plants"]] == [p.code for p in simulator.plants]
        assert {d["dn"] for d in state["plants"][0]["devices"]} == {d.dn for d in plant.devices}
        assert (await _admin(session, simulator, "POST", "plant", {"plantCode": "NE=0"}))[0] == 404
        assert (await _admin(session, simulator, "POST", "device", {"dn": "NE=0"}))[0] == 404
