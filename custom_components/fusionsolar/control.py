"""Battery and inverter control: the commands.

Every control command (forced charge/discharge, stop, depth of discharge, inverter
on/off) goes through the `async_*` helpers here: they check that the account has the
V7 API and the values, log the command once (at debug, devices by their DN: names often
hold serial numbers), and turn client errors into translated Home Assistant errors
(`errors.py`) that carry the spec's meaning of the failCode. Commands to one plant are
serialised (`plant_locks`), so "is a task running?" and the command that follows cannot
interleave with another command to that plant.

A charge/discharge command whose answer is lost (the connection dropped after sending,
a timeout, a malformed answer, or a resent attempt refused as a duplicate) is never
sent again by us: the task's status is asked with the same request ID. A task the
cloud knows is tracked as if the answer had come; a task it does not know was not
received (the original error is raised); when the status cannot be had either, the
user is told that the outcome is unknown and the task is tracked until the cloud
answers for it. The tasks are followed by the dispatch coordinator
(`coordinator/dispatch.py`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.translation import async_get_exception_message
from homeassistant.util.hass_dict import HassKey

from .api import (
    CommunicationError,
    ControlApi,
    Device,
    DeviceKind,
    DispatchCommand,
    DispatchMode,
    DispatchResult,
    DispatchStatus,
    DuplicateRequestError,
    FusionSolarClient,
    FusionSolarError,
    TaskNotFoundError,
)
from .const import DOMAIN, LOGGER
from .coordinator import FusionSolarConfigEntry, delivered
from .errors import (
    DISPATCH,
    SET_DOD,
    SWITCH,
    async_translated,
    checked_whole,
    command_failed,
    control_error,
    validation_error,
)
from .oauth import control_granted, is_oauth_entry

# One lock per plant code, shared by every entry: commands to a plant never interleave.
PLANT_LOCKS: HassKey[dict[str, asyncio.Lock]] = HassKey(f"{DOMAIN}_plant_locks")


def checked_dod(dod: float) -> int:
    """Return a depth of discharge (whole %, 0-100) or refuse it with a translated error."""
    return checked_whole("depth_of_discharge", dod, 0, 100)


def control_api(entry: FusionSolarConfigEntry) -> ControlApi:
    """Return which control the entry may use.

    The account's, or none for a sign-in with FusionSolar (OAuth) without the control scope.
    """
    if is_oauth_entry(entry) and not control_granted(entry):
        return ControlApi.NONE
    return entry.runtime_data.account.client.control_api


def can_control(entry: FusionSolarConfigEntry, *, v7_only: bool = False) -> bool:
    """Return whether the account takes control commands: V7, or today's tasks (26.2).

    `v7_only`: whether it takes the V7 commands (inverter on/off, `vpp/dod`). A sign-in
    with FusionSolar (OAuth) takes them only when the owner granted the control scope.
    """
    api = control_api(entry)
    return api is ControlApi.V7 or (api is ControlApi.NBI and not v7_only)


def control_client(entry: FusionSolarConfigEntry, *, v7_only: bool = False) -> FusionSolarClient:
    """Return the entry's client, or refuse when the account takes no control commands.

    V7 commands, or today's tasks (26.2) on today's cloud; `v7_only` for the commands
    today's cloud no longer has (inverter on/off).
    """
    client = entry.runtime_data.account.client
    if not can_control(entry, v7_only=v7_only):
        raise validation_error("control_unavailable")
    return client


def device_label(device: Device) -> str:
    """Name a device in errors, as the cloud names it."""
    return device.name or device.dn or device.key


def log_label(device: Device) -> str:
    """Name a device in logs by its DN: names and keys often hold a serial number."""
    return device.dn or "(no DN)"


@asynccontextmanager
async def plant_locks(hass: HomeAssistant, plant_codes: Iterable[str]) -> AsyncIterator[None]:
    """Hold the control locks of plants (in a fixed order, so never a deadlock)."""
    locks = hass.data.setdefault(PLANT_LOCKS, {})
    async with AsyncExitStack() as stack:
        for code in sorted(set(plant_codes)):
            await stack.enter_async_context(locks.setdefault(code, asyncio.Lock()))
        yield


def current_dod(entry: FusionSolarConfigEntry, key: str) -> float | None:
    """Return a battery's DoD: the one the cloud applied, until the device list reports one."""
    metadata = entry.runtime_data.metadata.data
    applied = entry.runtime_data.dispatch.dod.get(key)
    if applied is not None and (
        metadata.lists_fetched is None or metadata.lists_fetched <= applied.at
    ):
        return applied.value
    device = metadata.devices.get(key)
    return None if device is None else device.battery_dod


def end_of_discharge(entry: FusionSolarConfigEntry, plant_code: str) -> float | None:
    """Return the highest end-of-discharge SOC (100 % - DoD) of a plant's batteries."""
    levels = [
        100 - dod
        for device in entry.runtime_data.metadata.data.devices.values()
        if device.kind is DeviceKind.BATTERY
        and device.plant_code == plant_code
        and (dod := current_dod(entry, device.key)) is not None
    ]
    return max(levels, default=None)


# ----------------------------------------------------------------------------- commands


@dataclass(frozen=True, slots=True)
class DispatchOutcome:
    """A delivered charge/discharge command; `note` tells how it was confirmed if unusual."""

    command: DispatchCommand
    note: str | None = None


async def async_dispatch(
    entry: FusionSolarConfigEntry,
    plant_codes: list[str],
    mode: DispatchMode,
    *,
    target_soc: float | None = None,
    duration: int | None = None,
    power: int | None = None,
) -> DispatchOutcome:
    """Send a forced charge, discharge or stop to plants, and track the task.

    Callers hold the plants' `plant_locks` across their checks and this call.
    """
    client = control_client(entry)
    plants = ", ".join(plant_codes)
    settings = {"target SOC %": target_soc, "minutes": duration, "W": power}
    request_id = client.new_request_id()
    LOGGER.debug(
        "%s: %s of %s %s (request %s)",
        entry.title,
        "stop" if mode is DispatchMode.STOP else f"forced {mode.name.lower()}",
        plants,
        {name: value for name, value in settings.items() if value is not None},
        request_id,
    )
    if client.control_api is ControlApi.NBI:
        command = await async_translated(
            client.async_nbi_charge_discharge(
                plant_codes, mode, target_soc=target_soc, duration_min=duration, power_w=power
            ),
            plants,
        )
        return _tracked(entry, plant_codes, mode, command)
    status: DispatchStatus | None = None
    try:
        command = await client.async_charge_discharge(
            plant_codes,
            mode,
            target_soc=target_soc,
            duration_min=duration,
            power_w=power,
            request_id=request_id,
        )
    except FusionSolarError as err:
        if not _answer_lost(err):
            raise control_error(err, plants, DISPATCH) from err
        command, status = await _async_confirm(entry, plant_codes, mode, request_id, err)
    outcome = _tracked(entry, plant_codes, mode, command)
    if status is None:
        return outcome
    entry.runtime_data.dispatch.async_apply(status)
    note = async_get_exception_message(
        DOMAIN, "answer_lost_task_confirmed", {"request_id": str(request_id)}
    )
    return DispatchOutcome(command, note)


def _tracked(
    entry: FusionSolarConfigEntry,
    plant_codes: list[str],
    mode: DispatchMode,
    command: DispatchCommand,
) -> DispatchOutcome:
    """Follow the tasks a delivered command started (warn about plants it missed)."""
    if missed := set(plant_codes) - delivered(command):
        LOGGER.warning(
            "%s: the command was not delivered to %s",
            entry.title,
            ", ".join(sorted(missed)),
        )
    entry.runtime_data.dispatch.async_track(command, mode)
    return DispatchOutcome(command)


def _answer_lost(err: FusionSolarError) -> bool:
    """Return whether a command may have been received despite the error.

    A duplicate request ID (20048) for an ID chosen just now means that a first,
    unanswered attempt arrived (a client resending after a dropped connection).
    """
    return isinstance(err, CommunicationError | DuplicateRequestError)


async def _async_confirm(
    entry: FusionSolarConfigEntry,
    plant_codes: list[str],
    mode: DispatchMode,
    request_id: int,
    err: FusionSolarError,
) -> tuple[DispatchCommand, DispatchStatus]:
    """Ask the status of a command whose answer was lost; never send it again.

    Return the command as the cloud knows it, and its status. Raise the original error
    if the cloud does not know it, or "outcome unknown" (the task is tracked) if it
    cannot tell.
    """
    plants = ", ".join(plant_codes)
    LOGGER.warning(
        "%s: no answer to request %s for %s (%s); asking the cloud whether it arrived",
        entry.title,
        request_id,
        plants,
        err,
    )
    tracker = entry.runtime_data.dispatch
    try:
        status = await entry.runtime_data.account.client.async_charge_discharge_status(request_id)
    except TaskNotFoundError:
        raise control_error(err, plants) from err
    except FusionSolarError as status_err:
        LOGGER.debug("Status of request %s unavailable: %s", request_id, status_err)
        if mode is not DispatchMode.STOP:
            tracker.async_track(_assumed_command(request_id, plant_codes), mode)
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="outcome_unknown",
            translation_placeholders={"devices": plants, "request_id": str(request_id)},
        ) from err
    only = plant_codes[0] if len(plant_codes) == 1 else None
    known = {task.plant_code or only for task in status.entries}
    return _assumed_command(request_id, [code for code in plant_codes if code in known]), status


def _assumed_command(request_id: int, plant_codes: Iterable[str]) -> DispatchCommand:
    """Describe a command the cloud received for plants (from its status, not its answer)."""
    return DispatchCommand(
        request_id,
        tuple(DispatchResult(code, None, None, True) for code in plant_codes),
    )


async def async_set_dod(
    entry: FusionSolarConfigEntry, batteries: list[Device], value: float
) -> dict[str, int | None]:
    """Set the depth of discharge of batteries; return what each applied (by key)."""
    dod = checked_dod(value)
    client = control_client(entry, v7_only=True)
    names = ", ".join(device_label(battery) for battery in batteries)
    LOGGER.debug(
        "%s: depth of discharge %s %% for %s",
        entry.title,
        dod,
        ", ".join(log_label(battery) for battery in batteries),
    )
    results = await async_translated(
        client.async_set_dod([b.dn for b in batteries if b.dn], dod), names, SET_DOD
    )
    by_dn = {result.dn: result for result in results}
    applied = {
        battery.key: result.set_dod
        for battery in batteries
        if (result := by_dn.get(battery.dn or "")) is not None and result.success is not False
    }
    entry.runtime_data.dispatch.async_dod_applied(applied)
    if failed := [device_label(b) for b in batteries if b.key not in applied]:
        raise command_failed(SET_DOD, ", ".join(failed))
    return applied


async def async_switch_inverter(entry: FusionSolarConfigEntry, inverter: Device, on: bool) -> None:
    """Start or shut down an inverter (V7 only: today's cloud has no such command)."""
    client = control_client(entry, v7_only=True)
    name = device_label(inverter)
    LOGGER.debug(
        "%s: switching inverter %s %s", entry.title, log_label(inverter), "on" if on else "off"
    )
    results = await async_translated(
        client.async_device_on_off([inverter.dn or ""], on), name, SWITCH
    )
    if not any(result.dn == inverter.dn and result.success is not False for result in results):
        raise command_failed(SWITCH, name)
