"""Client errors as Home Assistant errors: one place that translates them, by type.

Every action and control entity raises what `control_error` makes of a client error
(or `async_translated` around a command), and `validation_error` for input refused
before anything is sent. The translation keys name what the spec's failCode means;
the placeholders give the code and the cloud's message.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass

from homeassistant.exceptions import HomeAssistantError, ServiceValidationError

from .api import (
    ApiFamilyUnavailableError,
    AuthenticationError,
    ControlFailedError,
    ControlNotSupportedError,
    DailyBudgetSpentError,
    DeviceOfflineError,
    DuplicateRequestError,
    FusionSolarError,
    InvalidRequestError,
    PermissionDeniedError,
    QuotaError,
    TaskNotFoundError,
    TaskRejectedError,
    TaskRunningError,
    ThirdPartyDispatchRequiredError,
    UnauthorizedResourceError,
)
from .const import DOMAIN


@dataclass(frozen=True, slots=True)
class Command:
    """What a control command acts on, and how its failure is named to the user.

    `failure_code` is the failCode the spec gives this command's failure: it is shown
    too when the cloud accepts the command but reports some devices failed.
    """

    failed: str
    unauthorized: str
    failure_code: int


DISPATCH = Command("dispatch_failed", "unauthorized_plant", 20049)
SET_DOD = Command("dod_failed", "unauthorized_device", 20051)
SWITCH = Command("on_off_failed", "unauthorized_device", 20052)
SETTING = Command("setting_failed", "unauthorized_plant", 2)  # 26.2 setting tasks

# Checked in this order: subclasses before their bases.
_KEYS: tuple[tuple[type[FusionSolarError], str], ...] = (
    (ThirdPartyDispatchRequiredError, "third_party_dispatch_required"),
    (DeviceOfflineError, "device_offline"),
    (TaskRunningError, "cloud_task_running"),
    (ControlNotSupportedError, "soc_control_not_supported"),
    (DuplicateRequestError, "duplicate_request"),
    (TaskNotFoundError, "task_not_found"),
    (ApiFamilyUnavailableError, "control_unavailable"),
    (DailyBudgetSpentError, "control_budget_spent"),
    (QuotaError, "control_quota"),
    (AuthenticationError, "authentication_failed"),
    (PermissionDeniedError, "control_permission"),
    (InvalidRequestError, "control_rejected"),
)


def validation_error(key: str, **placeholders: object) -> ServiceValidationError:
    """Build a translated error for invalid input (nothing was sent)."""
    return ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key=key,
        translation_placeholders={name: str(value) for name, value in placeholders.items()},
    )


def _number(value: float) -> str:
    """Show a limit as people write it: 100, not 100.0."""
    return str(int(value)) if value == int(value) else str(value)


def checked(field: str, value: float, low: float, high: float) -> float:
    """Return `value` if it lies in [low, high] (NaN never does); refuse it otherwise.

    The error's key is `<field>_out_of_range`: its text names the field as the action
    shows it, with the unit.
    """
    if not low <= value <= high:
        raise validation_error(f"{field}_out_of_range", min=_number(low), max=_number(high))
    return value


def checked_whole(field: str, value: float, low: float, high: float) -> int:
    """Return `value` as an int if it is a whole number in [low, high]; refuse it otherwise."""
    if checked(field, value, low, high) != int(value):
        raise validation_error(f"{field}_out_of_range", min=_number(low), max=_number(high))
    return int(value)


def _key(err: FusionSolarError, command: Command) -> str:
    if isinstance(err, UnauthorizedResourceError):
        return command.unauthorized
    if isinstance(err, TaskRejectedError):
        return "task_rejected"  # today's cloud names each plant's reason
    if isinstance(err, ControlFailedError) and not isinstance(
        err, ControlNotSupportedError | DeviceOfflineError
    ):
        return command.failed
    return next((key for cls, key in _KEYS if isinstance(err, cls)), "control_communication")


def _command_error(key: str, code: int | None, message: str, devices: str) -> HomeAssistantError:
    return HomeAssistantError(
        translation_domain=DOMAIN,
        translation_key=key,
        translation_placeholders={
            "code": "-" if code is None else str(code),
            "message": message,
            "devices": devices,
        },
    )


def control_error(
    err: FusionSolarError, devices: str, command: Command = DISPATCH
) -> HomeAssistantError:
    """Translate a client error of a control command by its type."""
    return _command_error(_key(err, command), err.fail_code, err.message, devices)


def command_failed(command: Command, devices: str, message: str = "") -> HomeAssistantError:
    """Tell that the cloud accepted a command but reports it failed for `devices`."""
    return _command_error(command.failed, command.failure_code, message, devices)


async def async_translated[T](command: Awaitable[T], devices: str, kind: Command = DISPATCH) -> T:
    """Await a client command, translating its errors."""
    try:
        return await command
    except FusionSolarError as err:
        raise control_error(err, devices, kind) from err
