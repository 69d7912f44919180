"""Error hierarchy and the failCode table."""

from __future__ import annotations

import pytest

from custom_components.fusionsolar.api import errors as e


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        (20001, e.AuthenticationError),
        (20002, e.AuthenticationError),
        (20003, e.AuthenticationError),
        (20400, e.AuthenticationError),
        (401, e.PermissionDeniedError),
        (20056, e.PermissionDeniedError),
        (20403, e.PermissionDeniedError),
        (20007, e.UnauthorizedResourceError),
        (20046, e.UnauthorizedResourceError),
        (407, e.QuotaExceededError),
        (305, e.TokenExpiredError),
        (20010, e.InvalidRequestError),
        (20039, e.InvalidRequestError),
        (30006, e.InvalidRequestError),
        (20049, e.ControlFailedError),
        (20053, e.ControlNotSupportedError),
        (20004, e.ServerError),
        (99999, e.UnknownError),
    ],
)
def test_mapping(code: int, cls: type[e.FusionSolarError]) -> None:
    err = e.error_for_fail_code(code, None, endpoint="/x")
    assert type(err) is cls
    assert err.fail_code == code
    assert err.endpoint == "/x"
    assert str(code) in str(err)


def test_every_documented_code_has_a_message_and_class() -> None:
    for code, message in e.FAIL_CODE_MESSAGES.items():
        err = e.error_for_fail_code(code)
        assert err.message == message
        assert not isinstance(err, e.UnknownError)


def test_server_message_kept() -> None:
    err = e.error_for_fail_code(407, "ACCESS_FREQUENCY_IS_TOO_HIGH")
    assert "ACCESS_FREQUENCY_IS_TOO_HIGH" in str(err)
    assert "too high" in str(err)


def test_hierarchy() -> None:
    assert issubclass(e.ServiceUnavailableError, e.CommunicationError)
    assert issubclass(e.InvalidArgumentError, ValueError)
    assert issubclass(e.InvalidArgumentError, e.InvalidRequestError)
    assert issubclass(e.QuotaWouldExceed, e.QuotaError)
    err = e.QuotaWouldExceed("/thirdData/login", 12.5)
    assert err.retry_after == 12.5
    assert err.endpoint == "/thirdData/login"
