"""The admin API under ``/_sim/...``: inspect and steer a running simulator over HTTP.

Each route calls one public ``Simulator`` helper (``calls``, ``faults``, ``quirks``,
``raise_alarm``/``clear_alarm``, ``clock_offset``, ``state``, plants and devices, quota).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .kpis import r1, r3
from .model import Alarm
from .params import _ms

if TYPE_CHECKING:
    from .app import Simulator


async def _json_body(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    if not raw.strip():
        return {}
    parsed = json.loads(raw)
    if not isinstance(parsed, dict):
        raise web.HTTPBadRequest(text="JSON object expected")
    return parsed


def _alarm_json(alarm: Alarm) -> dict[str, Any]:
    return {
        "key": alarm.key,
        "alarmId": alarm.alarm_id,
        "plantCode": alarm.device.plant.code,
        "dn": alarm.device.dn,
        "raiseTime": _ms(alarm.raise_time),
        "clearTime": _ms(alarm.clear_time) if alarm.clear_time is not None else None,
        "manual": alarm.manual,
    }


class AdminApi:
    """The ``/_sim`` routes of one simulator."""

    def __init__(self, sim: Simulator) -> None:
        """Serve ``sim``."""
        self.sim = sim

    def routes(self) -> list[web.RouteDef]:
        """The route table."""
        return [
            web.get("/_sim/calls", self.get_calls),
            web.delete("/_sim/calls", self.delete_calls),
            web.get("/_sim/faults", self.get_faults),
            web.post("/_sim/faults", self.post_faults),
            web.delete("/_sim/faults", self.delete_faults),
            web.get("/_sim/quirks", self.get_quirks),
            web.post("/_sim/quirks", self.post_quirks),
            web.get("/_sim/alarms", self.get_alarms),
            web.post("/_sim/alarms", self.post_alarms),
            web.delete("/_sim/alarms", self.delete_alarms),
            web.get("/_sim/clock", self.get_clock),
            web.post("/_sim/clock", self.post_clock),
            web.get("/_sim/state", self.get_state),
            web.post("/_sim/quota/reset", self.post_reset_quota),
            web.post("/_sim/plant", self.post_plant),
            web.post("/_sim/device", self.post_device),
        ]

    async def get_calls(self, request: web.Request) -> web.Response:
        """The call log and its summary."""
        records = [r.as_dict() for r in self.sim.calls.records]
        return web.json_response({"summary": self.sim.calls.summary(), "records": records})

    async def delete_calls(self, request: web.Request) -> web.Response:
        """Empty the call log."""
        self.sim.calls.clear()
        return web.json_response({"ok": True})

    async def get_faults(self, request: web.Request) -> web.Response:
        """The armed faults."""
        return web.json_response([f.as_dict() for f in self.sim.faults.faults])

    async def post_faults(self, request: web.Request) -> web.Response:
        """Arm a fault: ``endpoint``, ``kind``, ``count`` and the kind's options."""
        body = await _json_body(request)
        endpoint = body.pop("endpoint", None)
        kind = body.pop("kind", None)
        count = int(body.pop("count", 1))
        try:
            fault = self.sim.faults.add(endpoint, str(kind), count, **body)
        except ValueError as err:
            raise web.HTTPBadRequest(text=str(err)) from err
        return web.json_response(fault.as_dict())

    async def delete_faults(self, request: web.Request) -> web.Response:
        """Disarm every fault."""
        self.sim.faults.clear()
        return web.json_response({"ok": True})

    async def get_quirks(self, request: web.Request) -> web.Response:
        """The quirk switches."""
        return web.json_response(self.sim.quirks.as_dict())

    async def post_quirks(self, request: web.Request) -> web.Response:
        """Set quirks by name."""
        body = await _json_body(request)
        try:
            for name, value in body.items():
                self.sim.quirks.set(name, bool(value))
        except ValueError as err:
            raise web.HTTPBadRequest(text=str(err)) from err
        return web.json_response(self.sim.quirks.as_dict())

    async def get_alarms(self, request: web.Request) -> web.Response:
        """The active alarms of every plant."""
        boundary = self.sim.boundary()
        return web.json_response(
            [_alarm_json(a) for p in self.sim.plants for a in p.active_alarms(boundary)]
        )

    async def post_alarms(self, request: web.Request) -> web.Response:
        """Raise an alarm (``plantCode``, ``alarmId``, ``dn``)."""
        body = await _json_body(request)
        plant = body.get("plantCode", 0)
        alarm = self.sim.raise_alarm(
            plant if isinstance(plant, str) else int(plant),
            int(body.get("alarmId", 2032)),
            body.get("dn"),
        )
        return web.json_response(_alarm_json(alarm))

    async def delete_alarms(self, request: web.Request) -> web.Response:
        """Clear a manual alarm by ``key`` (none: every manual alarm)."""
        body = await _json_body(request)
        key = body.get("key") or request.query.get("key")
        return web.json_response({"cleared": self.sim.clear_alarm(key)})

    async def get_clock(self, request: web.Request) -> web.Response:
        """Simulator time, clock offset and the published boundary."""
        sim = self.sim
        return web.json_response(
            {"now": sim.now(), "offset": sim.clock_offset, "boundary": sim.boundary()}
        )

    async def post_clock(self, request: web.Request) -> web.Response:
        """Set (``offset``) or move (``advance``) the clock offset."""
        body = await _json_body(request)
        if "offset" in body:
            self.sim.clock_offset = float(body["offset"])
        if "advance" in body:
            self.sim.clock_offset += float(body["advance"])
        return await self.get_clock(request)

    async def get_state(self, request: web.Request) -> web.Response:
        """The published state of every plant."""
        sim = self.sim
        boundary = sim.boundary()
        plants = []
        for plant in sim.plants:
            state = plant.state(boundary)
            plants.append(
                {
                    "plantCode": plant.code,
                    "pvPower": r3(state.pv_kw),
                    "loadPower": r3(state.load_kw),
                    "gridPower": r3(state.grid_kw),
                    "batteryPower": r3(state.battery_kw),
                    "soc": r1(state.soc) if state.soc is not None else None,
                    "eod": state.eod,
                    "health": plant.health(boundary),
                    "devices": [
                        {"dn": d.dn, "id": d.dev_id, "sn": d.sn, "kind": d.kind}
                        for d in plant.devices
                    ],
                }
            )
        return web.json_response({"now": sim.now(), "boundary": boundary, "plants": plants})

    async def post_plant(self, request: web.Request) -> web.Response:
        """Take a plant off line or back (``plantCode``, ``offline``)."""
        body = await _json_body(request)
        try:
            plant = self.sim.plant(body.get("plantCode", 0))
        except (KeyError, IndexError) as err:
            raise web.HTTPNotFound(text="unknown plant") from err
        if "offline" in body:
            plant.offline = bool(body["offline"])
        return web.json_response({"plantCode": plant.code, "offline": plant.offline})

    async def post_device(self, request: web.Request) -> web.Response:
        """Make a device refuse control commands (``dn``, ``control_fails``)."""
        body = await _json_body(request)
        try:
            device = self.sim.device(body["dn"])
        except KeyError as err:
            raise web.HTTPNotFound(text="unknown device") from err
        if "control_fails" in body:
            device.control_fails = bool(body["control_fails"])
        return web.json_response({"dn": device.dn, "control_fails": device.control_fails})

    async def post_reset_quota(self, request: web.Request) -> web.Response:
        """Forget every quota window (and the cloud-2026 flow control)."""
        self.sim.quota.reset()
        if self.sim.cloud is not None:
            self.sim.cloud.flow.reset()
        return web.json_response({"ok": True})
