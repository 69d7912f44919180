"""Setting tasks of today's cloud (26.2 digest §5.2.3-5.2.10): the commands.

Battery working mode, battery parameters (charge/discharge cut-off SOC, maximum
charge/discharge power) and the export limit are plant-level tasks; a battery dispatch
set-point (third-party mode) is one battery's. Each command checks the value against
the documented range before sending (a translated error naming the field), refuses a
second task of the same kind for a plant whose first has not ended, sends it under the
plant's control lock, and hands the task to the configuration coordinator, which
follows it to its end (entity state and `fusionsolar_control_task_finished`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import Unauthorized, UnknownUser

from .api import (
    BatteryOperationMode,
    BatteryParameters,
    ControlApi,
    ControlTask,
    Device,
    DeviceKind,
    Endpoint,
    FusionSolarClient,
    TaskState,
)
from .api.control_models import (
    AC_CHARGE_KW,
    END_OF_CHARGE_SOC,
    END_OF_DISCHARGE_SOC,
    FEED_IN_KW,
    MAX_TOU_WINDOWS,
    MIN_BATTERY_POWER_W,
)
from .const import LOGGER
from .control import async_set_dod, checked_dod, control_api, control_client, plant_locks
from .coordinator import ConfigurationCoordinator, FusionSolarConfigEntry
from .errors import (
    SETTING,
    async_translated,
    checked,
    checked_whole,
    command_failed,
    validation_error,
)

#: Largest maximum charge/discharge power offered (W); the cloud applies the batteries'
#: own limit when a value is above it (§5.2.5).
MAX_BATTERY_POWER_W = 50_000


async def async_check_admin(hass: HomeAssistant, context: Context | None) -> None:
    """Refuse a command of a user who is not an administrator (system calls pass)."""
    if context is None or not context.user_id:
        return
    user = await hass.auth.async_get_user(context.user_id)
    if user is None:
        raise UnknownUser(context=context)
    if not user.is_admin:
        raise Unauthorized(context=context)


def _task_client(
    entry: FusionSolarConfigEntry,
) -> tuple[FusionSolarClient, ConfigurationCoordinator]:
    client = control_client(entry)
    configuration = entry.runtime_data.configuration
    if client.control_api is not ControlApi.NBI or configuration is None:
        raise validation_error("control_unavailable")
    return client, configuration


def battery_plants(entry: FusionSolarConfigEntry) -> list[str]:
    """Codes of the plants that have a battery."""
    devices = entry.runtime_data.metadata.data.devices.values()
    return sorted({d.plant_code for d in devices if d.kind is DeviceKind.BATTERY and d.plant_code})


def takes_tasks(entry: FusionSolarConfigEntry) -> bool:
    """Whether the account takes today's setting tasks (26.2 control)."""
    runtime = entry.runtime_data
    return runtime.configuration is not None and control_api(entry) is ControlApi.NBI


def plant_label(entry: FusionSolarConfigEntry, plant_code: str) -> str:
    """Name a plant in errors as the cloud names it."""
    plant = entry.runtime_data.metadata.data.plants.get(plant_code)
    return (plant.name if plant else None) or plant_code


async def _async_send(
    entry: FusionSolarConfigEntry,
    plant_code: str,
    endpoint: Endpoint,
    send: Callable[[FusionSolarClient], Awaitable[ControlTask]],
) -> None:
    """Send a setting task for one plant (never a second before the first ended)."""
    client, configuration = _task_client(entry)
    name = plant_label(entry, plant_code)
    async with plant_locks(entry.runtime_data.metadata.hass, [plant_code]):
        if (pending := configuration.running(plant_code, endpoint)) is not None:
            raise validation_error("task_running", plant=name, request_id=pending.task_id)
        LOGGER.debug("%s: %s for %s", entry.title, endpoint.rsplit("/", 3)[-3], plant_code)
        task = await async_translated(send(client), name, SETTING)
    result = task.result(plant_code)
    if result is None or result.state is TaskState.FAIL:
        message = "" if result is None else result.message or ""
        raise command_failed(SETTING, name, message)
    configuration.async_follow(plant_code, endpoint, task)


async def async_set_battery_mode(
    entry: FusionSolarConfigEntry, plant_code: str, mode: BatteryOperationMode
) -> None:
    """Set a plant's battery working mode; TOU keeps the plant's known periods."""
    _, configuration = _task_client(entry)
    windows: tuple[dict[str, object], ...] = ()
    if mode is BatteryOperationMode.TIME_OF_USE:
        known = configuration.plant(plant_code).battery_mode
        windows = () if known is None else known.windows
        if not windows:
            raise validation_error("tou_periods_unknown", plant=plant_label(entry, plant_code))
    await _async_send(
        entry,
        plant_code,
        Endpoint.NBI_BATTERY_MODE_TASK,
        lambda client: client.async_set_battery_mode(plant_code, mode, windows=windows),
    )


def checked_parameters(
    *,
    end_of_charge_soc: float | None = None,
    end_of_discharge_soc: float | None = None,
    max_charge_power: float | None = None,
    max_discharge_power: float | None = None,
) -> BatteryParameters:
    """Check battery parameters against §5.2.5 (translated errors naming the field)."""
    return BatteryParameters(
        None
        if end_of_charge_soc is None
        else checked("end_of_charge_soc", end_of_charge_soc, *END_OF_CHARGE_SOC),
        None
        if end_of_discharge_soc is None
        else checked("end_of_discharge_soc", end_of_discharge_soc, *END_OF_DISCHARGE_SOC),
        None
        if max_charge_power is None
        else checked_whole(
            "max_charge_power", max_charge_power, MIN_BATTERY_POWER_W, MAX_BATTERY_POWER_W
        ),
        None
        if max_discharge_power is None
        else checked_whole(
            "max_discharge_power", max_discharge_power, MIN_BATTERY_POWER_W, MAX_BATTERY_POWER_W
        ),
    )


async def async_set_battery_parameters(
    entry: FusionSolarConfigEntry, plant_code: str, parameters: BatteryParameters
) -> None:
    """Set a plant's battery parameters (checked with `checked_parameters`)."""
    await _async_send(
        entry,
        plant_code,
        Endpoint.NBI_BATTERY_CONFIG_TASK,
        lambda client: client.async_set_battery_parameters(plant_code, parameters),
    )


async def async_set_depth_of_discharge(
    entry: FusionSolarConfigEntry, device: Device, value: float, context: Context | None
) -> None:
    """V7: the battery's DoD; today's cloud: its plant's discharge cut-off (100 - DoD)."""
    if control_api(entry) is not ControlApi.NBI:
        await async_set_dod(entry, [device], value)  # checked there (NaN, range)
        return
    await async_check_admin(entry.runtime_data.metadata.hass, context)
    dod = checked_dod(value)
    low, high = END_OF_DISCHARGE_SOC
    if not low <= 100 - dod <= high or device.plant_code is None:
        raise validation_error(
            "depth_of_discharge_out_of_range", min=f"{100 - high:g}", max=f"{100 - low:g}"
        )
    parameters = BatteryParameters(end_of_discharge_soc=float(100 - dod))
    await async_set_battery_parameters(entry, device.plant_code, parameters)


async def async_set_export_limit(
    entry: FusionSolarConfigEntry,
    plant_code: str,
    limit_kw: float | None,
    *,
    single_phase: bool = False,
) -> None:
    """Limit a plant's feed-in to `limit_kw` (None: no limit), §5.2.7."""
    if limit_kw is not None:
        limit_kw = checked("export_limit", limit_kw, *FEED_IN_KW)
    await _async_send(
        entry,
        plant_code,
        Endpoint.NBI_ACTIVE_POWER_TASK,
        lambda client: client.async_set_export_limit(
            plant_code, limit_kw, single_phase=single_phase
        ),
    )


async def async_battery_dispatch(
    entry: FusionSolarConfigEntry, battery: Device, power: float
) -> None:
    """Third-party dispatch set-point of a battery (W: + charge, - discharge, 0 idle)."""
    watts = checked_whole("dispatch_power", power, -MAX_BATTERY_POWER_W, MAX_BATTERY_POWER_W)
    if battery.dn is None or battery.plant_code is None:
        raise validation_error("device_not_controllable", device=battery.name or battery.key)
    plant_code, battery_dn = battery.plant_code, battery.dn
    await _async_send(
        entry,
        plant_code,
        Endpoint.NBI_BATTERY_DISPATCH_TASK,
        lambda client: client.async_battery_dispatch(plant_code, battery_dn, watts),
    )


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
PV_PRIORITY = {"feed_in": "fedToGridPreference", "charge": "chargePreference"}


def _minutes(value: object, index: int, field: str) -> int:
    """Minutes of the day of an `HH:MM` (or `HH:MM:SS`) time; refuse anything else."""
    text = str(value or "")
    hours, _, rest = text.partition(":")
    minutes = rest[:2]
    if not (hours.isdigit() and minutes.isdigit()) or int(hours) > 23 or int(minutes) > 59:
        raise validation_error("tou_period_invalid", index=index, field=field)
    return int(hours) * 60 + int(minutes)


def checked_tou_periods(periods: list[dict[str, object]]) -> list[dict[str, object]]:
    """Time-of-use periods as §5.2.3 windows (translated errors naming the period).

    1-14 periods, HH:MM, start before end, weekdays, no two overlapping on a day.
    """
    if not 1 <= len(periods) <= MAX_TOU_WINDOWS:
        raise validation_error("tou_periods_count", max=MAX_TOU_WINDOWS)
    windows: list[dict[str, object]] = []
    taken: list[tuple[int, int, int]] = []
    for index, period in enumerate(periods, start=1):
        start = _minutes(period.get("start"), index, "start")
        end = _minutes(period.get("end"), index, "end")
        if end <= start:
            raise validation_error("tou_period_invalid", index=index, field="end")
        mode = period.get("mode")
        if mode not in ("charge", "discharge"):
            raise validation_error("tou_period_invalid", index=index, field="mode")
        days = period.get("days", list(WEEKDAYS))
        if not isinstance(days, list) or not days or any(d not in WEEKDAYS for d in days):
            raise validation_error("tou_period_invalid", index=index, field="days")
        repeat = sorted({WEEKDAYS.index(str(d)) + 1 for d in days})
        for day in repeat:
            if any(d == day and start < e and s < end for d, s, e in taken):
                raise validation_error("tou_periods_overlap", index=index)
            taken.append((day, start, end))
        windows.append(
            {
                "startTime": f"{start // 60:02d}:{start % 60:02d}",
                "endTime": f"{end // 60:02d}:{end % 60:02d}",
                "chargeOrDischarge": mode,
                "repeat": repeat,
            }
        )
    return windows


async def async_set_time_of_use(
    entry: FusionSolarConfigEntry,
    plant_code: str,
    periods: list[dict[str, object]],
    *,
    surplus_pv: str | None = None,
    grid_charge_power: float | None = None,
) -> None:
    """Switch a plant to time of use with these periods (§5.2.3)."""
    windows = checked_tou_periods(periods)
    priority = None if surplus_pv is None else PV_PRIORITY.get(surplus_pv)
    if surplus_pv is not None and priority is None:
        raise validation_error("tou_period_invalid", index=0, field="surplus_pv")
    power = (
        None
        if grid_charge_power is None
        else checked("grid_charge_power", grid_charge_power, *AC_CHARGE_KW)
    )
    await _async_send(
        entry,
        plant_code,
        Endpoint.NBI_BATTERY_MODE_TASK,
        lambda client: client.async_set_battery_mode(
            plant_code,
            BatteryOperationMode.TIME_OF_USE,
            pv_priority=priority,
            ac_charge_kw=power,
            windows=windows,
        ),
    )
