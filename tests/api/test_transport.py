"""The transport: base URLs, network errors and the envelope's corner cases."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from yarl import URL

from custom_components.fusionsolar.api import (
    CommunicationError,
    Endpoint,
    FusionSolarClient,
    InvalidArgumentError,
    PermissionDeniedError,
    QuotaExceededError,
    QuotaGovernor,
    UnknownError,
)
from custom_components.fusionsolar.api.transport import base_url

from .conftest import ClientFactory
from .fakes import FakeClock


def test_base_url_forms() -> None:
    assert base_url("eu5.fusionsolar.huawei.com") == URL("https://eu5.fusionsolar.huawei.com/")
    assert base_url(" http://host:8080/api/?q=1#top ") == URL("http://host:8080/api")
    with pytest.raises(InvalidArgumentError, match="Not a host"):
        base_url("https://")


async def test_client_refuses_a_host_that_is_no_host(http: aiohttp.ClientSession) -> None:
    with pytest.raises(InvalidArgumentError):
        FusionSolarClient(http, "   ", "user", "secret")


@pytest_asyncio.fixture
async def cut_off_server(socket_enabled: None) -> AsyncIterator[str]:
    """An HTTP server whose answers end before their announced length."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
        )
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield f"http://127.0.0.1:{port}"


async def test_answer_cut_off_is_a_network_error_that_stays_counted(
    http: aiohttp.ClientSession, cut_off_server: str, clock: FakeClock
) -> None:
    governor = QuotaGovernor(clock=clock, sleep=clock.sleep)
    client = FusionSolarClient(http, cut_off_server, "user", "secret", governor=governor)
    with pytest.raises(CommunicationError, match="Network error") as exc:
        await client.async_login()
    assert "secret" not in str(exc.value)
    # The request reached the server (it may have counted it): the slot is not given back.
    assert governor.calls_in_window(Endpoint.LEGACY_LOGIN) == 1
    assert not governor.can_call(Endpoint.LEGACY_LOGIN)


async def _station_answer(make_client: ClientFactory, status: int, body: Any) -> Any:
    sim, client = await make_client()
    await client.async_login()
    sim.faults.add("getStationRealKpi", "http_status", status=status, body=body)
    return sim, client, sim.plants[0].code


async def test_http_403_with_an_nbi_envelope_is_decoded_by_its_fail_code(
    make_client: ClientFactory,
) -> None:
    body = {"success": False, "failCode": 20056, "message": "", "errorCode": "x"}
    _sim, client, code = await _station_answer(make_client, 403, body)
    with pytest.raises(PermissionDeniedError) as exc:
        await client.async_get_station_realtime([code])
    assert exc.value.fail_code == 20056  # not a bare "HTTP 403 Forbidden"
    assert set(client.refused_endpoints) == {Endpoint.STATION_REAL_KPI}


async def test_http_403_without_envelope_is_forbidden(make_client: ClientFactory) -> None:
    _sim, client, code = await _station_answer(make_client, 403, {"errorCode": "x"})
    with pytest.raises(PermissionDeniedError, match="HTTP 403") as exc:
        await client.async_get_station_realtime([code])
    assert exc.value.fail_code is None
    assert client.refused_endpoints == {}


async def test_success_given_as_text(make_client: ClientFactory) -> None:
    body = {"success": " TRUE ", "failCode": "0", "data": []}
    sim, client, code = await _station_answer(make_client, 200, body)
    result = await client.async_get_station_realtime([code])
    assert code not in result
    assert sim.calls.count(Endpoint.STATION_REAL_KPI) == 1


async def test_failure_given_as_text_without_code(make_client: ClientFactory) -> None:
    body = {"success": "false", "failCode": 0, "data": None}
    _sim, client, code = await _station_answer(make_client, 200, body)
    with pytest.raises(UnknownError, match="without an error code"):
        await client.async_get_station_realtime([code])


async def test_successful_envelope_with_an_error_status(make_client: ClientFactory) -> None:
    body = {"success": True, "failCode": 0, "data": []}
    _sim, client, code = await _station_answer(make_client, 400, body)
    with pytest.raises(CommunicationError, match="HTTP 400"):
        await client.async_get_station_realtime([code])


async def test_407_message_carried_in_data(make_client: ClientFactory) -> None:
    body = {
        "success": False,
        "failCode": 407,
        "message": " ",
        "data": "ACCESS_FREQUENCY_IS_TOO_HIGH",
    }
    _sim, client, code = await _station_answer(make_client, 200, body)
    with pytest.raises(QuotaExceededError, match="ACCESS_FREQUENCY_IS_TOO_HIGH") as exc:
        await client.async_get_station_realtime([code])
    assert exc.value.fail_code == 407
    assert exc.value.retry_after > 0
    assert client.governor.refusals(Endpoint.STATION_REAL_KPI) == 1
