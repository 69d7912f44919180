"""Control commands: argument checks shared by both generations, 26.2 task models.

``dispatch_fields`` checks a forced charge/discharge the same way for the V7 command
(``vpp/chargeAndDischarge``) and today's task (26.2 digest §5.2.1). The rest are the
typed models of today's configuration queries (§5.1.5) and setting tasks (§5.2.3-5.2.8)
with their tolerant parsers (never raise).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Final

from .errors import InvalidArgumentError
from .models import DispatchMode
from .values import parse_items, to_datetime, to_float, to_int, to_str

#: Ranges of today's setting tasks (§5.2.5; §5.2.3 and §5.2.7 for a Dongle, the
#: strictest controller the digest lists).
END_OF_CHARGE_SOC: Final = (90.0, 100.0)
END_OF_DISCHARGE_SOC: Final = (0.0, 20.0)
MIN_BATTERY_POWER_W: Final = 200
AC_CHARGE_KW: Final = (0.0, 50.0)
FEED_IN_KW: Final = (-1000.0, 5000.0)
MAX_TOU_WINDOWS: Final = 14


def is_real(value: Any) -> bool:
    """A finite int or float (not a bool)."""
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )


def checked_range(name: str, value: Any, low: float, high: float) -> float:
    """``value`` as a float if it is a number in [low, high]; else InvalidArgumentError."""
    if not is_real(value) or not low <= value <= high:
        raise InvalidArgumentError(f"{name} must be a number in [{low}, {high}]")
    return float(value)


def dispatch_fields(
    mode: DispatchMode,
    target_soc: float | None,
    duration_min: int | None,
    power_w: float | None,
) -> tuple[DispatchMode, dict[str, Any]]:
    """Check a forced charge/discharge or stop; return its mode and request fields.

    Exactly one of ``target_soc`` (0-100 %, SOC control) and ``duration_min`` (0-1440,
    duration control) for charge/discharge, neither for stop. ``power_w`` is positive;
    the sign is the spec's (+ charge, - discharge).
    """
    try:
        dispatch = DispatchMode(mode)
    except ValueError:
        raise InvalidArgumentError(f"Invalid dispatch mode {mode!r}") from None
    fields: dict[str, Any] = {"dispatchSwitch": int(dispatch)}
    if dispatch is DispatchMode.STOP:
        if target_soc is not None or duration_min is not None or power_w is not None:
            raise InvalidArgumentError("Stop takes no target SOC, duration or power")
        return dispatch, fields
    if (target_soc is None) == (duration_min is None):
        raise InvalidArgumentError(
            "Charge/discharge needs exactly one of target_soc and duration_min"
        )
    if target_soc is not None:
        fields["controlType"] = 1
        fields["targetSOC"] = checked_range("target_soc", target_soc, 0, 100)
    else:
        if (
            isinstance(duration_min, bool)
            or not isinstance(duration_min, int)
            or not 0 <= duration_min <= 1440
        ):
            raise InvalidArgumentError("duration_min must be an int in [0, 1440]")
        fields["controlType"] = 2
        fields["dispatchTime"] = duration_min
    if power_w is not None:
        if not is_real(power_w) or power_w <= 0 or round(power_w) < 1:
            raise InvalidArgumentError("power_w must be a positive number of watts")
        watts = round(power_w)
        fields["powerDispatch"] = watts if dispatch is DispatchMode.CHARGE else -watts
    return dispatch, fields


# ----------------------------------------------------------------------------- enums


class BatteryOperationMode(StrEnum):
    """``operationMode`` of the battery working-mode query and task (§5.1.5.1, §5.2.3)."""

    MAXIMUM_SELF_CONSUMPTION = "maximumSelfConsumption"
    TIME_OF_USE = "TOU"
    FULLY_FED_TO_GRID = "fullyFidToGrid"  # spelled so by the cloud (digest §10.15)
    THIRD_PARTY_DISPATCH = "thirdPartyDispatch"
    OTHER = "other"


#: The modes the set task accepts (§5.2.3): fully fed to grid can only be read.
SETTABLE_BATTERY_MODES: Final = (
    BatteryOperationMode.MAXIMUM_SELF_CONSUMPTION,
    BatteryOperationMode.TIME_OF_USE,
    BatteryOperationMode.THIRD_PARTY_DISPATCH,
)


class ActivePowerControlMode(StrEnum):
    """``controlMode`` of the active-power control-mode query (§5.1.5.2)."""

    NO_LIMIT = "noLimit"
    ZERO_EXPORT = "zeroExportLimitation"
    LIMITED_KW = "limitedPowerGridKW"
    LIMITED_PERCENT = "limitedPowerGridPercent"
    OTHER = "other"


class TaskState(StrEnum):
    """State of a plant in a setting task (§5.2.4, §5.2.6, §5.2.8)."""

    RUNNING = "RUNNING"
    SUCCESS = "SUCCESS"
    FAIL = "FAIL"


# ----------------------------------------------------------------------------- models


@dataclass(frozen=True, slots=True)
class BatteryModeConfig:
    """A plant's battery working mode (§5.1.5.1); TOU details only in TOU."""

    plant_code: str | None
    mode: BatteryOperationMode
    pv_priority: str | None = None
    ac_charge_kw: float | None = None
    windows: tuple[dict[str, Any], ...] = ()  # chargingAndDischargingTimeWindow items


@dataclass(frozen=True, slots=True)
class ActivePowerConfig:
    """A plant's active-power (export) control mode (§5.1.5.2); limit in kW or %."""

    plant_code: str | None
    mode: ActivePowerControlMode
    limit_kw: float | None = None
    limit_percent: float | None = None


@dataclass(frozen=True, slots=True)
class BatteryParameters:
    """Plant-level battery parameters of §5.2.5 (None: leave unchanged)."""

    end_of_charge_soc: float | None = None
    end_of_discharge_soc: float | None = None
    max_charge_power_w: int | None = None
    max_discharge_power_w: int | None = None

    def payload(self) -> dict[str, float | int]:
        """The ``batteryConfigurationInfo`` object; InvalidArgumentError outside §5.2.5."""
        info: dict[str, float | int] = {}
        for key, name, value, (low, high) in (
            ("endOfChargeSoc", "end_of_charge_soc", self.end_of_charge_soc, END_OF_CHARGE_SOC),
            (
                "endOfDischargeSoc",
                "end_of_discharge_soc",
                self.end_of_discharge_soc,
                END_OF_DISCHARGE_SOC,
            ),
        ):
            if value is not None:
                info[key] = checked_range(name, value, low, high)
        for key, name, watts in (
            ("maximumChargePower", "max_charge_power_w", self.max_charge_power_w),
            ("maximumDischargePower", "max_discharge_power_w", self.max_discharge_power_w),
        ):
            if watts is not None:
                if isinstance(watts, bool) or not isinstance(watts, int) or watts < 200:
                    raise InvalidArgumentError(f"{name} must be an int of at least 200 W")
                info[key] = watts
        if not info:
            raise InvalidArgumentError("Give at least one battery parameter")
        return info

    @classmethod
    def from_info(cls, info: Any) -> BatteryParameters | None:
        """Parse a task-info ``batteryConfigurationInfo``."""
        if not isinstance(info, Mapping):
            return None
        return cls(
            to_float(info.get("endOfChargeSoc")),
            to_float(info.get("endOfDischargeSoc")),
            to_int(info.get("maximumChargePower")) or None,  # 0: not set (§10.7)
            to_int(info.get("maximumDischargePower")) or None,
        )


@dataclass(frozen=True, slots=True)
class PlantTaskResult:
    """One plant of a setting task: its state and the cloud's message."""

    plant_code: str | None
    state: TaskState | None
    message: str | None = None
    battery: BatteryParameters | None = None
    operation_mode: BatteryOperationMode | None = None
    control_mode: str | None = None
    feed_in_kw: float | None = None
    dispatch_power_w: int | None = None


@dataclass(frozen=True, slots=True)
class ControlTask:
    """A delivered setting task (§5.2.3/5.2.5/5.2.7) or its status (§5.2.4/5.2.6/5.2.8)."""

    task_id: str
    results: tuple[PlantTaskResult, ...] = ()
    start: datetime | None = None
    end: datetime | None = None

    def result(self, plant_code: str) -> PlantTaskResult | None:
        """The plant's entry (the only one if the cloud left out the plant code)."""
        only = self.results[0] if len(self.results) == 1 else None
        return next((r for r in self.results if r.plant_code == plant_code), only)


# ----------------------------------------------------------------------------- parsers


def _enum[E: StrEnum](cls: type[E], value: Any, default: E | None = None) -> E | None:
    try:
        return cls(str(value)) if value is not None else default
    except ValueError:
        return default


def parse_battery_mode(data: Any) -> BatteryModeConfig | None:
    """§5.1.5.1 ``data`` (None if it has no mode)."""
    if not isinstance(data, Mapping) or data.get("operationMode") is None:
        return None
    mode = _enum(BatteryOperationMode, data.get("operationMode"), BatteryOperationMode.OTHER)
    assert mode is not None
    detail = data.get("touOperationModeParamDetail")
    detail = detail if isinstance(detail, Mapping) else {}
    return BatteryModeConfig(
        to_str(data.get("plantCode")),
        mode,
        to_str(detail.get("redundantPVEnergyPriority")),
        to_float(detail.get("allowedAcChargePower")),
        tuple(
            dict(window)
            for window in detail.get("chargingAndDischargingTimeWindow") or ()
            if isinstance(window, Mapping)
        ),
    )


def parse_active_power_mode(data: Any) -> ActivePowerConfig | None:
    """§5.1.5.2 ``data``.

    The limit is read from whichever parameter object is filled in (the digest's
    sample 8 names the kW mode with the % object filled, §10.8).
    """
    if not isinstance(data, Mapping) or data.get("controlMode") is None:
        return None
    mode = _enum(ActivePowerControlMode, data.get("controlMode"), ActivePowerControlMode.OTHER)
    assert mode is not None
    kw = data.get("limitedPowerGridValueParam")
    percent = data.get("limitedPowerGridPercentParam")
    return ActivePowerConfig(
        to_str(data.get("plantCode")),
        mode,
        to_float(kw.get("maxGridFeedInPowerValue")) if isinstance(kw, Mapping) else None,
        to_float(percent.get("maxGridFeedInPowerPercent"))
        if isinstance(percent, Mapping)
        else None,
    )


def _plant_result(item: Mapping[str, Any]) -> PlantTaskResult | None:
    info = item.get("controlInfo")
    return PlantTaskResult(
        plant_code=to_str(item.get("plantCode")),
        state=_enum(TaskState, item.get("status")),
        message=to_str(item.get("message")),
        battery=BatteryParameters.from_info(item.get("batteryConfigurationInfo")),
        operation_mode=_enum(BatteryOperationMode, item.get("operationMode")),
        control_mode=to_str(item.get("controlMode")),
        feed_in_kw=to_float(info.get("maxGridFeedInPower")) if isinstance(info, Mapping) else None,
        dispatch_power_w=to_int(item.get("dispatchPower")),
    )


def parse_control_task(data: Any, task_id: str | None = None) -> ControlTask:
    """A setting task's delivery (``taskId``, ``result``) or status (``dispatchResult``)."""
    data = data if isinstance(data, Mapping) else {}
    items = data.get("result", data.get("dispatchResult"))
    if items is None and "status" in data:
        items = [data]  # battery dispatch (§5.2.9/5.2.10): one plant, at the top level
    results = parse_items(items, _plant_result, "control task")
    return ControlTask(
        task_id=to_str(data.get("taskId")) or task_id or "",
        results=tuple(results),
        start=to_datetime(data.get("startTime")),
        end=to_datetime(data.get("endTime")),
    )
