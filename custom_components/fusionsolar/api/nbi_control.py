"""Control on today's cloud (SmartPVMS 26.2 digest §5.1.5, §5.2): tasks and settings.

Today's cloud has no V7 family: forced charge/discharge is an asynchronous task
(§5.2.1) whose ``requestID`` the cloud picks, its status keeps the V7 path
``vpp/chargeAndDischargeStatus`` (§5.2.2) and, like every 26.2 call, the /thirdData
login's token. Battery working mode, battery parameters and the export limit are
setting tasks (``taskId``, per plant RUNNING -> SUCCESS / FAIL) read back with their
task-info query and the configuration queries (§5.1.5).

``control_api`` tells which commands an account takes: V7 where the V7 family answers,
26.2 tasks on today's cloud (until its task endpoint answered 404), none otherwise.
Every argument is checked against the documented ranges before anything is sent
(``InvalidArgumentError``); tasks use CONTROL priority and wait at most 60 s for their
1-per-minute quota (§4.2); a task is never sent twice (``CONTROL_ENDPOINTS``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Any, Final

from .batching import nonempty_codes
from .const import CONTROL_MAX_WAIT, Endpoint
from .control_models import (
    AC_CHARGE_KW,
    FEED_IN_KW,
    SETTABLE_BATTERY_MODES,
    ActivePowerConfig,
    BatteryModeConfig,
    BatteryOperationMode,
    BatteryParameters,
    ControlTask,
    checked_range,
    dispatch_fields,
    parse_active_power_mode,
    parse_battery_mode,
    parse_control_task,
)
from .errors import ApiFamilyUnavailableError, CommunicationError, InvalidArgumentError
from .kpitables import ApiGeneration
from .models import DispatchCommand, DispatchMode, DispatchResult, DispatchStatus
from .parsers import parse_dispatch_status
from .quotastate import Priority
from .v7 import V7Endpoints
from .values import parse_items, to_bool_result, to_int, to_str

#: Plants per task: charge/discharge (§5.2.1) and setting tasks (§5.2.3/5.2.5/5.2.7).
MAX_DISPATCH_PLANTS: Final = 100
PV_PRIORITIES: Final = ("fedToGridPreference", "chargePreference")


class ControlApi(StrEnum):
    """Which control commands an account takes."""

    V7 = "v7"  # vpp/chargeAndDischarge, vpp/dod, vpp/devOnOff (V500R007)
    NBI = "nbi"  # today's cloud: the 26.2 tasks (§5.2)
    NONE = "none"


def _dispatch_result(item: Mapping[str, Any]) -> DispatchResult | None:
    return DispatchResult(
        plant_code=to_str(item.get("plantCode")),
        sn=to_str(item.get("sn")),
        remote_id=to_str(item.get("subTaskId")),
        success=to_bool_result(item.get("dispatchResult")),
    )


class NbiControlEndpoints(V7Endpoints):
    """Control tasks and configuration queries of today's cloud."""

    _unavailable: dict[str, float]

    @property
    def control_api(self) -> ControlApi:
        """V7 commands, today's tasks (until their endpoint answered 404), or none."""
        if self.families.v7:
            return ControlApi.V7
        if (
            self.generation is ApiGeneration.CLOUD_2026
            and Endpoint.NBI_CHARGE_DISCHARGE_TASK not in self._unavailable
        ):
            return ControlApi.NBI
        return ControlApi.NONE

    async def _task(self, endpoint: Endpoint, payload: Mapping[str, Any]) -> Any:
        """Send a task (CONTROL priority, at most 60 s for its quota, never resent)."""
        if self.control_api is not ControlApi.NBI:
            raise ApiFamilyUnavailableError("This account takes no 26.2 control tasks")
        return await self._call(
            "legacy",
            endpoint,
            payload,
            priority=Priority.CONTROL,
            wait=True,
            max_wait=CONTROL_MAX_WAIT,
        )

    # ------------------------------------------------------------ §5.2.1 / §5.2.2

    async def async_nbi_charge_discharge(
        self,
        plant_codes: Iterable[str],
        mode: DispatchMode,
        *,
        target_soc: float | None = None,
        duration_min: int | None = None,
        power_w: float | None = None,
    ) -> DispatchCommand:
        """Forced charge/discharge or stop as a 26.2 task (§5.2.1).

        Same arguments as ``async_charge_discharge``. The cloud picks the ``requestID``:
        an answer lost on the way cannot be asked for (``OutcomeUnknownError``).
        """
        codes = nonempty_codes(plant_codes, "plant_codes", limit=MAX_DISPATCH_PLANTS)
        _, fields = dispatch_fields(mode, target_soc, duration_min, power_w)
        tasks = [{"plantCode": code, **fields} for code in codes]
        data = await self._task(Endpoint.NBI_CHARGE_DISCHARGE_TASK, {"tasks": tasks})
        request_id = to_int(data.get("requestID")) if isinstance(data, Mapping) else None
        if request_id is None:
            raise CommunicationError(
                "The task answer has no requestID", endpoint=Endpoint.NBI_CHARGE_DISCHARGE_TASK
            )
        results = parse_items(data.get("result"), _dispatch_result, "charge-and-discharge")
        return DispatchCommand(request_id, tuple(results))

    async def async_charge_discharge_status(
        self, request_id: int, *, wait: bool = False
    ) -> DispatchStatus:
        """Status of a charge/discharge task: V7, or today's §5.2.2 (legacy token)."""
        if self.control_api is not ControlApi.NBI:
            return await super().async_charge_discharge_status(request_id, wait=wait)
        if isinstance(request_id, bool) or not isinstance(request_id, int) or request_id <= 0:
            raise InvalidArgumentError("request_id must be a positive int")
        data = await self._call(
            "legacy", Endpoint.VPP_CHARGE_DISCHARGE_STATUS, {"requestID": request_id}, wait=wait
        )
        return parse_dispatch_status(data, request_id)

    # ------------------------------------------------------------ §5.1.5 queries

    async def async_get_battery_mode(
        self, plant_code: str, *, wait: bool = False
    ) -> BatteryModeConfig | None:
        """The plant's battery working mode (§5.1.5.1; 1 call per minute)."""
        code = nonempty_codes([plant_code], "plant_code")[0]
        data = await self._call("legacy", Endpoint.NBI_BATTERY_MODE, {"plantCode": code}, wait=wait)
        return parse_battery_mode(data)

    async def async_get_active_power_mode(
        self, plant_code: str, *, wait: bool = False
    ) -> ActivePowerConfig | None:
        """The plant's active-power (export) control mode (§5.1.5.2; 1 call per minute)."""
        code = nonempty_codes([plant_code], "plant_code")[0]
        data = await self._call(
            "legacy", Endpoint.NBI_ACTIVE_POWER_MODE, {"plantCode": code}, wait=wait
        )
        return parse_active_power_mode(data)

    # ------------------------------------------------------------ setting tasks

    async def async_set_battery_mode(
        self,
        plant_code: str,
        mode: BatteryOperationMode,
        *,
        pv_priority: str | None = None,
        ac_charge_kw: float | None = None,
        windows: Iterable[Mapping[str, Any]] = (),
    ) -> ControlTask:
        """Set the working mode (§5.2.3).

        TOU needs 1-14 ``windows`` (``startTime``, ``endTime`` HH:MM,
        ``chargeOrDischarge``, ``repeat`` weekdays 1-7).
        """
        code = nonempty_codes([plant_code], "plant_code")[0]
        if mode not in SETTABLE_BATTERY_MODES:
            raise InvalidArgumentError(f"The working mode {mode!r} cannot be set")
        task: dict[str, Any] = {"plantCode": code, "operationMode": str(mode)}
        if mode is BatteryOperationMode.TIME_OF_USE:
            task.update(_tou_fields(pv_priority, ac_charge_kw, list(windows)))
        data = await self._task(Endpoint.NBI_BATTERY_MODE_TASK, {"tasks": [task]})
        return parse_control_task(data)

    async def async_set_battery_parameters(
        self, plant_code: str, parameters: BatteryParameters
    ) -> ControlTask:
        """Set charge/discharge cut-off SOC and maximum powers (§5.2.5)."""
        code = nonempty_codes([plant_code], "plant_code")[0]
        task = {"plantCode": code, "batteryConfigurationInfo": parameters.payload()}
        data = await self._task(Endpoint.NBI_BATTERY_CONFIG_TASK, {"tasks": [task]})
        return parse_control_task(data)

    async def async_set_export_limit(
        self, plant_code: str, limit_kw: float | None, *, single_phase: bool = False
    ) -> ControlTask:
        """No limit (``None``) or limited feed-in in kW (§5.2.7, v2)."""
        code = nonempty_codes([plant_code], "plant_code")[0]
        task: dict[str, Any] = {"plantCode": code, "controlMode": "0"}
        if limit_kw is not None:
            low, high = FEED_IN_KW
            task["controlMode"] = "6"
            task["controlInfo"] = {
                "maxGridFeedInPower": checked_range("limit_kw", limit_kw, low, high),
                "limitationMode": "1" if single_phase else "0",
            }
        data = await self._task(Endpoint.NBI_ACTIVE_POWER_TASK, {"tasks": [task]})
        return parse_control_task(data)

    async def async_battery_dispatch(
        self, plant_code: str, battery_dn: str, power_w: int
    ) -> ControlTask:
        """Third-party dispatch set-point of one battery (§5.2.9).

        W: > 0 charge, < 0 discharge, 0 idle; the plant must be in third-party dispatch
        (set by §5.2.3).
        """
        code = nonempty_codes([plant_code], "plant_code")[0]
        battery = nonempty_codes([battery_dn], "battery_dn")[0]
        if isinstance(power_w, bool) or not isinstance(power_w, int):
            raise InvalidArgumentError("power_w must be an int of watts")
        payload = {"plantCode": code, "batteryDn": battery, "dispatchPower": power_w}
        data = await self._task(Endpoint.NBI_BATTERY_DISPATCH_TASK, payload)
        return parse_control_task(data)

    async def async_control_task(self, endpoint: Endpoint, task_id: str) -> ControlTask:
        """Status of a setting task by its delivery endpoint's query (§5.2.4/6/8/10)."""
        if not isinstance(task_id, str) or len(task_id) != 16:
            raise InvalidArgumentError("task_id must be the 16 characters the cloud gave")
        query = TASK_QUERIES.get(endpoint)
        if query is None:
            raise InvalidArgumentError(f"{endpoint} is not a setting task")
        data = await self._call("legacy", query, {"taskId": task_id})
        return parse_control_task(data, task_id)


#: The task-info query of each setting task.
TASK_QUERIES: Final[dict[str, Endpoint]] = {
    Endpoint.NBI_BATTERY_MODE_TASK: Endpoint.NBI_BATTERY_MODE_INFO,
    Endpoint.NBI_BATTERY_CONFIG_TASK: Endpoint.NBI_BATTERY_CONFIG_INFO,
    Endpoint.NBI_ACTIVE_POWER_TASK: Endpoint.NBI_ACTIVE_POWER_INFO,
    Endpoint.NBI_BATTERY_DISPATCH_TASK: Endpoint.NBI_BATTERY_DISPATCH_INFO,
}


def _tou_fields(
    pv_priority: str | None, ac_charge_kw: float | None, windows: list[Mapping[str, Any]]
) -> dict[str, Any]:
    """The TOU part of §5.2.3, checked."""
    if not 1 <= len(windows) <= 14:
        raise InvalidArgumentError("TOU needs 1 to 14 charge/discharge windows")
    fields: dict[str, Any] = {"chargingAndDischargingTimeWindow": [dict(w) for w in windows]}
    if pv_priority is not None:
        if pv_priority not in PV_PRIORITIES:
            raise InvalidArgumentError(f"pv_priority must be one of {PV_PRIORITIES}")
        fields["redundantPVEnergyPriority"] = pv_priority
    if ac_charge_kw is not None:
        fields["allowedAcChargePower"] = checked_range("ac_charge_kw", ac_charge_kw, *AC_CHARGE_KW)
    return fields
