"""Endpoints of the V7 family: plant realtime and 5-minute KPIs, and control."""

from __future__ import annotations

import random
import time
from collections.abc import Iterable
from datetime import date, datetime, timedelta, tzinfo
from datetime import time as dtime
from typing import Any, Final

from .batching import Batching, answered_or_pending, nonempty_codes, valid_codes
from .const import CONTROL_MAX_WAIT, MAX_BATCH, Endpoint
from .control_models import dispatch_fields
from .errors import InvalidArgumentError
from .models import (
    DispatchCommand,
    DispatchMode,
    DispatchStatus,
    DodResult,
    FiveMinuteKpi,
    OnOffResult,
    PlantRealtimeKpi,
)
from .parsers import (
    parse_dispatch_command,
    parse_dispatch_status,
    parse_dod_results,
    parse_five_minutes,
    parse_on_off_results,
    parse_plant_realtime,
)
from .quotastate import Priority
from .results import BatchResult
from .session import FamilySession

_JAVA_LONG_MAX: Final = 2**63 - 1


def v7_session() -> FamilySession:
    """The V7 family's session; its base URL is detected at the first login."""
    # V7 logout: ``xsrftoken`` (l.3630).
    return FamilySession(
        "v7", Endpoint.V7_LOGIN, Endpoint.V7_LOGOUT, ("xsrftoken",), ("username", "password"), None
    )


class V7Endpoints(Batching):
    """Endpoints of the V7 family (``vpp/...``): realtime and 5-minute KPIs, control."""

    _last_request_id: int

    async def async_get_plant_realtime(
        self, plant_codes: Iterable[str], *, wait: bool = False
    ) -> BatchResult[PlantRealtimeKpi]:
        """V7 ``vpp/plantRealtimeKpi`` of the plants (batched by 100; see BatchResult).

        A batch answered with ``data: null`` leaves its plants ``pending``.
        """
        codes = valid_codes(plant_codes, "plant_codes")
        result: BatchResult[PlantRealtimeKpi] = BatchResult()
        if not codes:
            return result
        await self._require_v7(Priority.READ, wait, None)

        async def read(batch: list[str]) -> None:
            endpoint = Endpoint.VPP_PLANT_REALTIME
            data = await self._call("v7", endpoint, {"plantCodes": ",".join(batch)}, wait=wait)
            if answered_or_pending(result, batch, data, endpoint):
                result.update(parse_plant_realtime(data))

        await self._read_batches(result, codes, read)
        return result

    # ------------------------------------------------------------------ series

    async def async_get_plant_five_minutes(
        self, plant_code: str, day: date, tz: tzinfo, *, wait: bool = False
    ) -> list[FiveMinuteKpi]:
        """V7 ``vpp/plantFiveMinutesKpi`` of one plant for one local day."""
        code = nonempty_codes([plant_code], "plant_code")[0]
        start = datetime.combine(day, dtime.min, tzinfo=tz)
        end = datetime.combine(day + timedelta(days=1), dtime.min, tzinfo=tz)
        await self._require_v7(Priority.READ, wait, None)
        data = await self._call(
            "v7",
            Endpoint.VPP_PLANT_FIVE_MINUTES,
            {
                "plantCode": code,
                "startTime": int(start.timestamp() * 1000),
                "endTime": int(end.timestamp() * 1000) - 1,
            },
            wait=wait,
        )
        return parse_five_minutes(data)

    # ------------------------------------------------------------------ control

    def new_request_id(self) -> int:
        """A unique requestID (ms time x 1000 + random, strictly increasing, Java Long)."""
        candidate = (time.time_ns() // 1_000_000) * 1000 + random.randrange(1000)
        self._last_request_id = max(candidate, self._last_request_id + 1)
        return self._last_request_id

    async def async_charge_discharge(
        self,
        plant_codes: Iterable[str],
        mode: DispatchMode,
        *,
        target_soc: float | None = None,
        duration_min: int | None = None,
        power_w: float | None = None,
        request_id: int | None = None,
    ) -> DispatchCommand:
        """Forced charge/discharge or stop (``vpp/chargeAndDischarge``).

        Exactly one of ``target_soc`` (0-100 %, SOC control) and ``duration_min``
        (0-1440, duration control) for charge/discharge, neither for stop. ``power_w`` is
        positive; the client applies the spec's sign (+ charge, - discharge).
        ``request_id`` (default: ``new_request_id()``) lets the caller ask for the task's
        status when the answer is lost.
        """
        codes = nonempty_codes(plant_codes, "plant_codes", limit=MAX_BATCH)
        if request_id is not None and (
            isinstance(request_id, bool)
            or not isinstance(request_id, int)
            or not 0 < request_id <= _JAVA_LONG_MAX
        ):
            raise InvalidArgumentError("request_id must be an int in [1, 2^63 - 1]")
        _, fields = dispatch_fields(mode, target_soc, duration_min, power_w)
        payload: dict[str, Any] = {"plantCodes": ",".join(codes), **fields}
        await self._require_v7(Priority.CONTROL, True, CONTROL_MAX_WAIT)
        if request_id is None:
            request_id = self.new_request_id()
        payload["requestID"] = request_id
        data = await self._call(
            "v7",
            Endpoint.VPP_CHARGE_DISCHARGE,
            payload,
            priority=Priority.CONTROL,
            wait=True,
            max_wait=CONTROL_MAX_WAIT,
        )
        return parse_dispatch_command(data, request_id)

    async def async_charge_discharge_status(
        self, request_id: int, *, wait: bool = False
    ) -> DispatchStatus:
        """Status of a charge/discharge task (``vpp/chargeAndDischargeStatus``)."""
        if isinstance(request_id, bool) or not isinstance(request_id, int):
            raise InvalidArgumentError("request_id must be an int")
        if not 0 < request_id <= _JAVA_LONG_MAX:
            raise InvalidArgumentError("request_id out of range")
        await self._require_v7(Priority.READ, wait, None)
        data = await self._call(
            "v7",
            Endpoint.VPP_CHARGE_DISCHARGE_STATUS,
            {"requestID": request_id},
            wait=wait,
        )
        return parse_dispatch_status(data, request_id)

    async def async_set_dod(self, dns: Iterable[str], dod: int) -> list[DodResult]:
        """Set the depth of discharge (0-100 %) of batteries (``vpp/dod``).

        The system applies the closest allowed value; see ``DodResult.set_dod``.
        """
        codes = nonempty_codes(dns, "dns", limit=MAX_BATCH)
        if isinstance(dod, bool) or not isinstance(dod, int) or not 0 <= dod <= 100:
            raise InvalidArgumentError("dod must be an int in [0, 100]")
        await self._require_v7(Priority.CONTROL, True, CONTROL_MAX_WAIT)
        data = await self._call(
            "v7",
            Endpoint.VPP_DOD,
            {"dns": ",".join(codes), "dod": dod},
            priority=Priority.CONTROL,
            wait=True,
            max_wait=CONTROL_MAX_WAIT,
        )
        return parse_dod_results(data)

    async def async_device_on_off(self, dns: Iterable[str], on: bool) -> list[OnOffResult]:
        """Start (``on=True``) or shut down inverters (``vpp/devOnOff``)."""
        codes = nonempty_codes(dns, "dns", limit=MAX_BATCH)
        if not isinstance(on, bool):
            raise InvalidArgumentError("on must be a bool")
        await self._require_v7(Priority.CONTROL, True, CONTROL_MAX_WAIT)
        data = await self._call(
            "v7",
            Endpoint.VPP_DEV_ON_OFF,
            {"dns": ",".join(codes), "controlType": 1 if on else 2},
            priority=Priority.CONTROL,
            wait=True,
            max_wait=CONTROL_MAX_WAIT,
        )
        return parse_on_off_results(data)
