"""Actions: forced charge/discharge, stop, depth of discharge, dispatch status, and more.

On today's cloud also the export limit, the battery dispatch set-point and the
time-of-use periods (26.2 digest §5.2.7, §5.2.9, §5.2.3), sent as tasks through
`control_tasks.py`.

Every action targets plant or battery devices (a battery stands for its plant where
a plant is needed) and needs an administrator. Input is fully checked before anything
is sent, and refused with a translated error naming the field as the action shows it
(numbers are taken as given, never truncated); see `control.py` for the commands and
`errors.py` for their errors. A forced discharge to a target below the batteries'
end-of-discharge level (100 % - depth of discharge) is refused: the batteries would stop
there anyway.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial

import voluptuous as vol
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import ATTR_DEVICE_ID
from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import device_registry as dr
from homeassistant.util.json import JsonValueType

from .api import ControlApi, Device, DeviceKind, DispatchMode
from .const import DOMAIN
from .control import (
    async_dispatch,
    async_set_dod,
    checked_dod,
    control_api,
    control_client,
    end_of_discharge,
    plant_locks,
)
from .control_tasks import (
    async_battery_dispatch,
    async_check_admin,
    async_set_depth_of_discharge,
    async_set_export_limit,
    async_set_time_of_use,
)
from .coordinator import FusionSolarConfigEntry, PlantDispatch, delivered, selected_plants
from .errors import checked, checked_whole, validation_error

SERVICE_FORCED_CHARGE = "forced_charge"
SERVICE_FORCED_DISCHARGE = "forced_discharge"
SERVICE_STOP = "stop_forced_charge_discharge"
SERVICE_SET_DOD = "set_depth_of_discharge"
SERVICE_GET_STATUS = "get_dispatch_status"
SERVICE_SET_EXPORT_LIMIT = "set_export_limit"  # today's cloud (26.2 §5.2.7)
SERVICE_BATTERY_DISPATCH = "battery_dispatch"  # today's cloud (26.2 §5.2.9)
SERVICE_SET_TIME_OF_USE = "set_time_of_use"  # today's cloud (26.2 §5.2.3)

ATTR_TARGET_SOC = "target_soc"
ATTR_DURATION = "duration"
ATTR_POWER = "power"
ATTR_DEPTH_OF_DISCHARGE = "depth_of_discharge"
ATTR_REQUEST_ID = "request_id"
ATTR_LIMIT = "limit"
ATTR_SINGLE_PHASE = "single_phase"
ATTR_PERIODS = "periods"
ATTR_SURPLUS_PV = "surplus_pv"
ATTR_GRID_CHARGE_POWER = "grid_charge_power"

MIN_DURATION = 1  # minutes; the spec allows 0, a task that does nothing
MAX_DURATION = 1440  # minutes (spec §5.3.6)
MAX_POWER = 1_000_000  # W; the cloud uses the maximum the batteries allow when above it
MAX_REQUEST_ID = 2**63 - 1

# Numbers are coerced to float only (request IDs, too long for a float, to int): the
# range and whole-number checks that follow give translated errors (an int coercion
# would silently turn 0.9 minutes into 0).
TARGET_SCHEMA = vol.Schema({vol.Required(ATTR_DEVICE_ID): vol.All(cv.ensure_list, [cv.string])})
DISPATCH_SCHEMA = TARGET_SCHEMA.extend(
    {
        vol.Optional(ATTR_TARGET_SOC): vol.Coerce(float),
        vol.Optional(ATTR_DURATION): vol.Coerce(float),
        vol.Optional(ATTR_POWER): vol.Coerce(float),
    }
)
DOD_SCHEMA = TARGET_SCHEMA.extend({vol.Required(ATTR_DEPTH_OF_DISCHARGE): vol.Coerce(float)})
STATUS_SCHEMA = TARGET_SCHEMA.extend({vol.Optional(ATTR_REQUEST_ID): vol.Coerce(int)})
EXPORT_LIMIT_SCHEMA = TARGET_SCHEMA.extend(
    {
        vol.Optional(ATTR_LIMIT): vol.Coerce(float),
        vol.Optional(ATTR_SINGLE_PHASE, default=False): cv.boolean,
    }
)
BATTERY_DISPATCH_SCHEMA = TARGET_SCHEMA.extend({vol.Required(ATTR_POWER): vol.Coerce(float)})
TIME_OF_USE_SCHEMA = TARGET_SCHEMA.extend(
    {
        vol.Required(ATTR_PERIODS): vol.All(cv.ensure_list, [dict]),
        vol.Optional(ATTR_SURPLUS_PV): cv.string,
        vol.Optional(ATTR_GRID_CHARGE_POWER): vol.Coerce(float),
    }
)


@dataclass(slots=True)
class EntryTargets:
    """The plants and batteries an action targets in one config entry."""

    entry: FusionSolarConfigEntry
    plants: list[str] = field(default_factory=list)
    batteries: dict[str, Device] = field(default_factory=dict)  # by HA device id


def _entry_of(
    hass: HomeAssistant, device: dr.DeviceEntry
) -> tuple[FusionSolarConfigEntry, str | None]:
    """Return the loaded FusionSolar entry of a device and its identifier."""
    name = device.name_by_user or device.name or device.id
    for entry_id in device.config_entries:
        entry = hass.config_entries.async_get_entry(entry_id)
        if entry is None or entry.domain != DOMAIN:
            continue
        if entry.state is not ConfigEntryState.LOADED:
            raise validation_error("entry_not_loaded", device=name)
        identifier = next((ident for dom, ident in device.identifiers if dom == DOMAIN), None)
        return entry, identifier
    raise validation_error("not_fusionsolar_device", device=name)


def _resolve(
    hass: HomeAssistant, device_ids: list[str], *, batteries_only: bool = False
) -> list[EntryTargets]:
    """Map device ids to plants and batteries per entry; refuse anything else."""
    if not device_ids:
        raise validation_error("no_battery" if batteries_only else "no_plant_or_battery")
    registry = dr.async_get(hass)
    targets: dict[str, EntryTargets] = {}
    for device_id in device_ids:
        if (device := registry.async_get(device_id)) is None:
            raise validation_error("device_not_found", device_id=device_id)
        entry, identifier = _entry_of(hass, device)
        control_client(entry)
        target = targets.setdefault(entry.entry_id, EntryTargets(entry))
        battery = entry.runtime_data.metadata.data.devices.get(identifier or "")
        name = device.name_by_user or device.name or device_id
        if battery is not None and battery.kind is DeviceKind.BATTERY:
            if battery.dn is None or battery.plant_code is None:
                raise validation_error("device_not_controllable", device=name)
            target.batteries[device_id] = battery
            plant = battery.plant_code
        elif not batteries_only and identifier in selected_plants(entry):
            plant = identifier
        else:
            key = "battery_expected" if batteries_only else "plant_or_battery_expected"
            raise validation_error(key, device=name)
        if plant not in target.plants:
            target.plants.append(plant)
    return list(targets.values())


@dataclass(frozen=True, slots=True)
class DispatchSettings:
    """The checked settings of a forced charge or discharge."""

    target_soc: float | None
    duration: int | None
    power: int | None

    @classmethod
    def from_call(cls, call: ServiceCall) -> DispatchSettings:
        """Check a forced charge/discharge call's numbers; refuse them with clear errors."""
        soc, duration = call.data.get(ATTR_TARGET_SOC), call.data.get(ATTR_DURATION)
        power = call.data.get(ATTR_POWER)
        if soc is None and duration is None:
            raise validation_error("soc_or_duration_missing")
        if soc is not None and duration is not None:
            raise validation_error("soc_and_duration")
        return cls(
            None if soc is None else checked(ATTR_TARGET_SOC, soc, 0, 100),
            None
            if duration is None
            else checked_whole(ATTR_DURATION, duration, MIN_DURATION, MAX_DURATION),
            None if power is None else round(checked(ATTR_POWER, power, 1, MAX_POWER)),
        )


def _check_end_of_discharge(target: EntryTargets, target_soc: float) -> None:
    """Refuse a discharge target below a plant's end-of-discharge SOC (it stops there)."""
    for code in target.plants:
        limit = end_of_discharge(target.entry, code)
        if limit is not None and target_soc < limit:
            plant = target.entry.runtime_data.metadata.data.plants.get(code)
            raise validation_error(
                "target_below_end_of_discharge",
                plant=(plant.name if plant else None) or code,
                limit=f"{limit:g}",
                dod=f"{100 - limit:g}",
            )


def _check_idle(target: EntryTargets) -> None:
    """Refuse plants that run a task (call with their `plant_locks` held)."""
    for code in target.plants:
        if (task := target.entry.runtime_data.dispatch.running(code)) is not None:
            raise validation_error("task_running", plant=code, request_id=task.request_id)


async def _async_forced(mode: DispatchMode, call: ServiceCall) -> ServiceResponse:
    """Start a forced charge or discharge; return each plant's task."""
    settings = DispatchSettings.from_call(call)
    targets = _resolve(call.hass, call.data[ATTR_DEVICE_ID])
    if mode is DispatchMode.DISCHARGE and settings.target_soc is not None:
        for target in targets:
            _check_end_of_discharge(target, settings.target_soc)
    tasks: list[JsonValueType] = []
    async with plant_locks(call.hass, (code for t in targets for code in t.plants)):
        for target in targets:
            _check_idle(target)
        for target in targets:
            outcome = await async_dispatch(
                target.entry,
                target.plants,
                mode,
                target_soc=settings.target_soc,
                duration=settings.duration,
                power=settings.power,
            )
            started = delivered(outcome.command)
            tracker = target.entry.runtime_data.dispatch
            note = {} if outcome.note is None else {"note": outcome.note}
            tasks.extend(
                {**tracker.info(code), "delivered": True, **note}
                if code in started
                else {
                    "plant_code": code,
                    "request_id": outcome.command.request_id,
                    "delivered": False,
                }
                for code in target.plants
            )
    return {"tasks": tasks}


async def _async_stop(call: ServiceCall) -> ServiceResponse:
    """Stop the forced charge/discharge of the targeted plants."""
    for target in _resolve(call.hass, call.data[ATTR_DEVICE_ID]):
        async with plant_locks(call.hass, target.plants):
            await async_dispatch(target.entry, target.plants, DispatchMode.STOP)
    return None


async def _async_set_dod(call: ServiceCall) -> ServiceResponse:
    """Set the depth of discharge of batteries; return what each applied."""
    dod = checked_dod(call.data[ATTR_DEPTH_OF_DISCHARGE])
    batteries: list[JsonValueType] = []
    for target in _resolve(call.hass, call.data[ATTR_DEVICE_ID], batteries_only=True):
        if control_api(target.entry) is ControlApi.NBI:
            batteries.extend(await _async_set_plant_dod(target, dod))
            continue
        applied = await async_set_dod(target.entry, list(target.batteries.values()), dod)
        batteries.extend(
            {"device_id": device_id, ATTR_DEPTH_OF_DISCHARGE: applied.get(battery.key)}
            for device_id, battery in target.batteries.items()
        )
    return {"batteries": batteries}


async def _async_set_plant_dod(target: EntryTargets, dod: int) -> list[JsonValueType]:
    """Today's cloud: the plants' discharge cut-off SOC (100 - DoD), one task per plant.

    The DoD is applied once the task succeeded (the number shows it then).
    """
    by_plant = {battery.plant_code: battery for battery in target.batteries.values()}
    for battery in by_plant.values():
        await async_set_depth_of_discharge(target.entry, battery, dod, None)
    return [
        {"device_id": device_id, ATTR_DEPTH_OF_DISCHARGE: None, "pending": True}
        for device_id in target.batteries
    ]


async def _async_set_export_limit(call: ServiceCall) -> ServiceResponse:
    """Limit the plants' feed-in (kW), or lift the limit (no `limit`); today's cloud."""
    for target in _resolve(call.hass, call.data[ATTR_DEVICE_ID]):
        for code in target.plants:
            await async_set_export_limit(
                target.entry,
                code,
                call.data.get(ATTR_LIMIT),
                single_phase=call.data[ATTR_SINGLE_PHASE],
            )
    return None


async def _async_battery_dispatch(call: ServiceCall) -> ServiceResponse:
    """Set batteries' third-party dispatch power (W: + charge, - discharge); today's cloud."""
    for target in _resolve(call.hass, call.data[ATTR_DEVICE_ID], batteries_only=True):
        for battery in target.batteries.values():
            await async_battery_dispatch(target.entry, battery, call.data[ATTR_POWER])
    return None


async def _async_set_time_of_use(call: ServiceCall) -> ServiceResponse:
    """Switch plants to time of use with the given periods; today's cloud."""
    for target in _resolve(call.hass, call.data[ATTR_DEVICE_ID]):
        for code in target.plants:
            await async_set_time_of_use(
                target.entry,
                code,
                call.data[ATTR_PERIODS],
                surplus_pv=call.data.get(ATTR_SURPLUS_PV),
                grid_charge_power=call.data.get(ATTR_GRID_CHARGE_POWER),
            )
    return None


async def _async_get_status(call: ServiceCall) -> ServiceResponse:
    """Return the targeted plants' tasks, asking the cloud about running ones."""
    request_id: int | None = call.data.get(ATTR_REQUEST_ID)
    if request_id is not None:
        checked(ATTR_REQUEST_ID, request_id, 1, MAX_REQUEST_ID)
    tasks: list[JsonValueType] = []
    for target in _resolve(call.hass, call.data[ATTR_DEVICE_ID]):
        tracker = target.entry.runtime_data.dispatch
        if request_id is not None:
            status = await tracker.async_query(request_id)
            tasks.extend(
                {
                    "plant_code": entry.plant_code,
                    **PlantDispatch.from_task(request_id, entry).as_dict(),
                }
                for entry in status.entries
                if entry.plant_code in target.plants
            )
            continue
        running = {task.request_id for code in target.plants if (task := tracker.running(code))}
        for running_id in sorted(running):
            await tracker.async_query(running_id)
        tasks.extend(tracker.info(code) for code in target.plants)
    return {"tasks": tasks}


async def _async_admin(
    handler: Callable[[ServiceCall], Awaitable[ServiceResponse]], call: ServiceCall
) -> ServiceResponse:
    """Run an action for administrators only.

    Like `service.async_register_admin_service`, which cannot return response data
    on every supported Home Assistant version.
    """
    await async_check_admin(call.hass, call.context)
    return await handler(call)


def _register(
    hass: HomeAssistant,
    name: str,
    handler: Callable[[ServiceCall], Awaitable[ServiceResponse]],
    schema: vol.Schema,
    supports_response: SupportsResponse,
) -> None:
    hass.services.async_register(
        DOMAIN, name, partial(_async_admin, handler), schema, supports_response
    )


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register the integration's actions (once, in `async_setup`)."""
    optional, only = SupportsResponse.OPTIONAL, SupportsResponse.ONLY
    charge = partial(_async_forced, DispatchMode.CHARGE)
    discharge = partial(_async_forced, DispatchMode.DISCHARGE)
    _register(hass, SERVICE_FORCED_CHARGE, charge, DISPATCH_SCHEMA, optional)
    _register(hass, SERVICE_FORCED_DISCHARGE, discharge, DISPATCH_SCHEMA, optional)
    _register(hass, SERVICE_STOP, _async_stop, TARGET_SCHEMA, SupportsResponse.NONE)
    _register(hass, SERVICE_SET_DOD, _async_set_dod, DOD_SCHEMA, optional)
    _register(hass, SERVICE_GET_STATUS, _async_get_status, STATUS_SCHEMA, only)
    none = SupportsResponse.NONE
    _register(hass, SERVICE_SET_EXPORT_LIMIT, _async_set_export_limit, EXPORT_LIMIT_SCHEMA, none)
    _register(
        hass, SERVICE_BATTERY_DISPATCH, _async_battery_dispatch, BATTERY_DISPATCH_SCHEMA, none
    )
    _register(hass, SERVICE_SET_TIME_OF_USE, _async_set_time_of_use, TIME_OF_USE_SCHEMA, none)
