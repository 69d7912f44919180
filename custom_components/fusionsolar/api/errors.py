"""Errors of the FusionSolar client, mapped from the spec's error codes (§7 and per endpoint).

No error ever carries a token or a password: messages come from the tables below or
from the server's ``message`` field, never from request data.
"""

from __future__ import annotations

from typing import Final

#: English messages of every documented failCode (spec §7 plus the per-endpoint tables,
#: plus field codes). Where §7 and an endpoint table disagree, the endpoint table wins
#: (e.g. 20046 concerns devices, 20040 the charge/discharge switch).
FAIL_CODE_MESSAGES: Final[dict[int, str]] = {
    305: "You are not in the login state. You need to log in again.",
    401: "You do not have the related data interface permission.",
    407: "The interface access frequency is too high.",
    20001: "The third-party system ID does not exist.",
    20002: "The third-party system is forbidden.",
    20003: "The third-party system has expired.",
    20004: "The server is abnormal.",
    20005: "The device ID cannot be empty.",
    20006: "Some devices do not match the device type.",
    20007: "The system does not have the desired power plant resources.",
    20008: "The system does not have the desired device resources.",
    20009: "Queried KPIs are not configured in the system.",
    20010: "The plant list cannot be empty.",
    20011: "The device list cannot be empty.",
    20012: "The query time cannot be empty.",
    20013: "The device type is incorrect. The interface does not support operations on some "
    "devices.",
    20014: "A maximum of 100 plants can be queried at a time.",
    20015: "A maximum of 100 plants can be queried at a time.",
    20016: "A maximum of 100 devices can be queried at a time.",
    20017: "A maximum of 100 devices can be queried at a time.",
    20018: "A maximum of 10 devices can be operated at a time.",
    20019: "The switch type is incorrect. 1 and 2 indicate switch-on and switch-off respectively.",
    20020: "The upgrade package corresponding to the device version cannot be found.",
    20021: "The upgrade file does not exist.",
    20022: "The upgrade records of the devices in the system are not found.",
    20023: "The query start time cannot be later than the query end time.",
    20024: "The language cannot be empty.",
    20025: "The language parameter value is incorrect.",
    20026: "Only data of the latest 365 days can be queried.",
    20027: "The query time period cannot span more than 31 days.",
    20028: "The system does not have related user information.",
    20030: "I-V diagnosis task creation failure cause: The irradiation may not meet the "
    "minimum diagnosis requirement.",
    20031: "I-V diagnosis task creation failure.",
    20032: "I-V diagnosis task creation failure.",
    20033: "I-V diagnosis task creation failure.",
    20034: "The task does not exist.",
    20035: "MPPT devices do not support backfeed current.",
    20036: "The backfeed current duration of the MPPT device exceeds the maximum limit.",
    20037: "The backfeed current of the MPPT device is out of range. The allowed value is (0, 15]",
    20038: "In the input parameters, the authorization code list is empty (null), or the "
    "number of authorization codes is out of range. The allowed range is [0, 1000].",
    20039: "The DoD value is empty or out of range. The allowed range is [0,100].",
    20040: "The charge/discharge switch parameter value is invalid.",
    20041: "The control type cannot be empty for forced charge and discharge.",
    20042: "The target SOC for charge/discharge is empty or invalid.",
    20043: "The charge/discharge duration is empty or invalid.",
    20044: "The unique ID of a charge/discharge task cannot be empty.",
    20045: "Unauthorized PV plants exist in the input parameters.",
    20046: "Unauthorized devices exist in the input parameters.",
    20047: "The forced charge/discharge power in the input parameters is invalid.",
    20048: "Duplicate charging and discharging task ID.",
    20049: "Failed to deliver the charging and discharging task.",
    20050: "The charging and discharging task query parameter does not exist.",
    20051: "Failed to set the battery DOD.",
    20052: "Failed to start or shut down the inverter.",
    20053: "SOC control is not supported and an update is needed.",
    20056: "You do not have the permission to access this interface.",  # field
    20400: "The username or password of the third-party system is incorrect.",
    20403: "The login of the third-party system user is restricted.",
    20618: "The API account exceeded the maximum daily calls for this interface.",  # 26.2
    30001: "The device ESN list cannot be empty.",
    30002: "The ESNs queried at a time cannot exceed 50.",
    30003: "The account cannot be empty in the input parameter.",
    30004: "The value of pageNo cannot be empty.",
    30005: "The value of pageSize cannot be empty.",
    30006: "The value of pageSize is out of range. The allowed range is {10, 20, 30, 50, 100}.",
    30007: "The values of startTime and endTime must be both provided or empty.",
    30008: "Failed to invoke the internal interface.",
    30009: "The value of taskName is empty.",
    30010: "The value of nds is empty.",
    30011: "The value of cleanStatus is empty or invalid.",
    30012: "The value of environmentalParameters is empty or invalid.",
    30013: "The value of modulePlaneIrradiance or moduleBackSurfaceTemperature is empty when "
    "environmentalParameters is set to 1.",
    30014: "The value of scanPointNum must be set to 128.",
    30015: "The value of taskId is empty.",
    30016: "The value of dn is empty.",
    30017: "The value of dns is invalid. The number of devices exceeds 100 or devices on "
    "which the user does not have permission exist.",
    30018: "The value of taskName is invalid (for example, null field).",
    30019: "The value of moduleBackSurfaceTemperature is out of range. The allowed range is "
    "[0.0, 100.0].",
    30020: "The value of modulePlaneIrradiance is out of range. The allowed range is "
    "[400.0, 1500.0].",
    30021: "The value of pageNo is smaller than 0.",
    30022: "The value of timestamp is empty.",
    30023: "The command type is invalid (for example, null).",
    30024: "The power supply duration is invalid.",
    30025: "The MPPT list is empty.",
    30026: "The value of mppts is empty.",
    30027: "The number of MPPTs connected to a single inverter exceeds the maximum limit (3), "
    "or the total number of MPPTs in a single task exceeds the maximum limit (32).",
    30028: "The backfeed current input value is invalid.",
    30029: "Authentication failed.",
}

#: Control tasks of today's cloud (26.2 digest §5.2, §7.1). ``1``/``2`` are the task
#: delivery's own codes (partial success is a successful answer, see transport).
FAIL_CODE_MESSAGES.update(
    {
        2: "The task failed.",
        20607: "The task list is empty.",
        20608: "Duplicate plant codes exist in the input parameters.",
        20609: "The plant networking is not supported.",
        20611: "The input parameter is out of the valid range.",
        20612: "The input parameters contain null values.",
        20614: "The device is offline.",
        20615: "The same task is already running for this plant.",
        20620: "The taskId does not exist.",
        20622: "The plant DN is invalid or you have no permission.",
        20627: "Third-party dispatch has never been set for the plant through the northbound "
        "interface.",
        20628: "The battery's current mode is not third-party dispatch.",
        20629: "The devices in the plant do not support this setting.",
        20631: "The device does not exist under the plant.",
    }
)


class FusionSolarError(Exception):
    """Base class of every error raised by the client."""

    def __init__(
        self,
        message: str | None = None,
        *,
        fail_code: int | None = None,
        endpoint: str | None = None,
    ) -> None:
        """Create an error; the message defaults to the spec's text for ``fail_code``."""
        if not message and fail_code is not None:
            message = FAIL_CODE_MESSAGES.get(fail_code)
        self.fail_code = fail_code
        self.endpoint = endpoint
        self.message = message or self.__class__.__name__
        parts = [self.message]
        if fail_code is not None:
            parts.append(f"failCode {fail_code}")
        if endpoint:
            parts.append(endpoint)
        super().__init__(" | ".join(parts))


class AuthenticationError(FusionSolarError):
    """Wrong credentials, unknown/forbidden/expired account, 30029, or an empty login body."""


class OAuthRevokedError(AuthenticationError):
    """The owner's authorization ended (revoked, re-authorized elsewhere): sign in again."""


class PermissionDeniedError(FusionSolarError):
    """The account may not use this interface (401, 20056) or log in (20403)."""


class UnauthorizedResourceError(PermissionDeniedError):
    """The account may not see some of the requested plants/devices (20007/20008/20045/20046).

    Unlike a plain :class:`PermissionDeniedError` this does not mark the endpoint refused.
    """


class QuotaError(FusionSolarError):
    """Base class of the two quota errors; carries ``retry_after`` seconds."""

    def __init__(
        self,
        message: str | None = None,
        *,
        fail_code: int | None = None,
        endpoint: str | None = None,
        retry_after: float = 0.0,
    ) -> None:
        """Create a quota error."""
        super().__init__(message, fail_code=fail_code, endpoint=endpoint)
        self.retry_after = max(0.0, float(retry_after))


class QuotaExceededError(QuotaError):
    """The server refused a call for quota: failCode 407 or 20618 (daily) or HTTP 403."""


class SystemLimitError(QuotaExceededError):
    """failCode 429 (today's cloud): the interface's system-wide limit, over all accounts.

    Not this account's quota: every endpoint pauses a minute, then longer (§4, FAQ 8.2.6).
    """


class SystemBusyError(QuotaExceededError):
    """failCode 20200 (today's cloud): the system is busy; retry a little later."""


class QuotaWouldExceed(QuotaError):  # noqa: N818 - name fixed by the architecture contract
    """Raised *before* sending: the call would exceed a (spec or learned) quota."""

    def __init__(self, endpoint: str, retry_after: float, message: str | None = None) -> None:
        """Create the error for ``endpoint``; retry in ``retry_after`` seconds."""
        super().__init__(
            message or f"Quota of {endpoint} would be exceeded; retry in {retry_after:.0f} s",
            endpoint=endpoint,
            retry_after=retry_after,
        )


class DailyBudgetSpentError(QuotaWouldExceed):
    """An OAuth owner's daily budget (26.2 §4.1) of this kind of call is spent."""


class TokenExpiredError(FusionSolarError):
    """305: the session token is no longer valid (idle timeout or kicked out)."""


class InvalidRequestError(FusionSolarError):
    """The server rejected a parameter (parameter error codes)."""


class InvalidArgumentError(InvalidRequestError, ValueError):
    """The client rejected an argument before sending anything."""


class DuplicateRequestError(InvalidRequestError):
    """A charge/discharge request ID the cloud already has (20048)."""


class TaskNotFoundError(InvalidRequestError):
    """A charge/discharge task the cloud does not know (20050)."""


class ControlFailedError(FusionSolarError):
    """A control command was accepted but failed on the system (20049, 20051, 20052)."""


class ControlNotSupportedError(ControlFailedError):
    """The device does not support this control (20053: SOC control needs an update)."""


class TaskRejectedError(ControlFailedError):
    """Today's cloud refused a control task for every plant (failCode 2, §5.2).

    ``message`` holds each plant's reason, as the cloud gave it.
    """


class TaskRunningError(InvalidRequestError):
    """A task of the same kind still runs for the plant (20615): wait for its end."""


class DeviceOfflineError(ControlFailedError):
    """The plant's controller or battery is disconnected (20614)."""


class ThirdPartyDispatchRequiredError(ControlNotSupportedError):
    """Battery dispatch needs the third-party dispatch mode set through the API (20627/20628)."""


class ApiFamilyUnavailableError(FusionSolarError):
    """The account/host does not offer the API family needed (e.g. no V7: no control)."""


class EndpointUnavailableError(ApiFamilyUnavailableError):
    """The cloud does not offer this endpoint (HTTP 404 where its login works).

    Today's cloud (26.x) answers 404 for the V7 family and for paths it replaced, such
    as ``getStationList`` (replaced by ``stations`` in 24.2.0).
    """


class NotAnNbiHostError(FusionSolarError):
    """The host answered HTML or 404 where the NBI answers JSON (a portal, not the NBI)."""


class CommunicationError(FusionSolarError):
    """Network error, timeout, 5xx, malformed or unexpected response."""


class ServiceUnavailableError(CommunicationError):
    """The service is down for maintenance (HTTP 503 / HTML maintenance page)."""


class OutcomeUnknownError(CommunicationError):
    """A command may have reached the server but no answer came back (never resent blindly)."""


class ServerError(CommunicationError):
    """The server reports an internal error (20004, 30008)."""


class UnknownError(FusionSolarError):
    """A failCode the spec does not document."""


#: A daily limit is used up (26.2 reference): the governor learns a daily budget at once.
DAILY_LIMIT_FAIL_CODE: Final = 20618
#: Today's cloud: the system-wide limit of an interface (§4) and "system busy" (§6).
SYSTEM_LIMIT_FAIL_CODE: Final = 429
SYSTEM_BUSY_FAIL_CODE: Final = 20200
_AUTH_CODES: Final = frozenset({20001, 20002, 20003, 20028, 20400, 30029})
_PERMISSION_CODES: Final = frozenset({401, 20056, 20403})
_RESOURCE_CODES: Final = frozenset({20007, 20008, 20045, 20046})
_CONTROL_FAILED_CODES: Final = frozenset({20049, 20051, 20052})
_SERVER_CODES: Final = frozenset({20004, 30008})
_NOT_SUPPORTED_CODES: Final = frozenset({20053, 20609, 20629, 20631})
_TASK_CLASSES: Final[dict[int, type[FusionSolarError]]] = {
    2: TaskRejectedError,
    20614: DeviceOfflineError,
    20615: TaskRunningError,
    20627: ThirdPartyDispatchRequiredError,
    20628: ThirdPartyDispatchRequiredError,
}
#: The task delivery's "partial success" (§5.2.1, §5.2.3 ...): a successful answer.
PARTIAL_SUCCESS_FAIL_CODE: Final = 1
TASK_FAILED_FAIL_CODE: Final = 2


def task_refusal_text(message: str | None, data: object) -> str | None:
    """A refused task's message with each plant's reason (``data.result``, §5.2)."""
    results = data.get("result") if isinstance(data, dict) else None
    reasons = [
        f"{item.get('plantCode')}: {item.get('description') or item.get('message')}"
        for item in results or ()
        if isinstance(item, dict) and (item.get("description") or item.get("message"))
    ]
    if not reasons:
        return message
    return "; ".join([message or "", *reasons]).strip("; ")


#: Codes whose condition means "this endpoint is refused to this account".
ENDPOINT_REFUSAL_CODES: Final = frozenset({401, 20056})


def error_class_for(fail_code: int) -> type[FusionSolarError]:
    """The error class of a failCode."""
    if fail_code == 305:
        return TokenExpiredError
    if fail_code in (407, DAILY_LIMIT_FAIL_CODE):
        return QuotaExceededError
    if fail_code == SYSTEM_LIMIT_FAIL_CODE:
        return SystemLimitError
    if fail_code == SYSTEM_BUSY_FAIL_CODE:
        return SystemBusyError
    if fail_code in _AUTH_CODES:
        return AuthenticationError
    if fail_code in _PERMISSION_CODES:
        return PermissionDeniedError
    if fail_code in _RESOURCE_CODES:
        return UnauthorizedResourceError
    if fail_code in _CONTROL_FAILED_CODES:
        return ControlFailedError
    if fail_code in _NOT_SUPPORTED_CODES:
        return ControlNotSupportedError
    if fail_code in _TASK_CLASSES:
        return _TASK_CLASSES[fail_code]
    if fail_code == 20048:
        return DuplicateRequestError
    if fail_code in (20050, 20620):
        return TaskNotFoundError
    if fail_code in _SERVER_CODES:
        return ServerError
    if fail_code in FAIL_CODE_MESSAGES:
        return InvalidRequestError
    return UnknownError


def error_for_fail_code(
    fail_code: int,
    message: str | None = None,
    *,
    endpoint: str | None = None,
    retry_after: float = 0.0,
) -> FusionSolarError:
    """Build the error for a failCode; the spec's English message is preferred."""
    cls = error_class_for(fail_code)
    text = FAIL_CODE_MESSAGES.get(fail_code)
    if message and message.strip() and (text is None or message.strip() != text):
        # Keep the server's wording too (e.g. "ACCESS_FREQUENCY_IS_TOO_HIGH").
        text = f"{text} ({message.strip()[:200]})" if text else message.strip()[:200]
    if issubclass(cls, QuotaExceededError):
        return cls(text, fail_code=fail_code, endpoint=endpoint, retry_after=retry_after)
    return cls(text, fail_code=fail_code, endpoint=endpoint)
