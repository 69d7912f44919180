"""Issue 19: the ``nbi`` family's device history (26.2 digest Part B §2.2), client side."""

from __future__ import annotations

from typing import Any

import pytest

from custom_components.fusionsolar.api import (
    Endpoint,
    EndpointUnavailableError,
    InvalidArgumentError,
    NoDataError,
    parse_device_history,
)
from custom_components.fusionsolar.api.nbi import HISTORY_SLOT
from tests.simulator import Simulator

from .conftest import START, ClientFactory
from .fakes import FakeClock

HISTORY = Endpoint.NBI_DEVICE_HISTORY.value
HOUR_MS = 3_600_000


async def _meter(make_client: ClientFactory, **config: Any) -> tuple[Simulator, Any, Any]:
    sim, client = await make_client(profile="cloud-2026", alarm_rate_per_day=0.0, **config)
    plants = await client.async_get_plants()
    devices = await client.async_get_devices([plant.code for plant in plants])
    meter = next(device for device in devices if device.dev_type_id == 17)
    return sim, client, meter


def _window(hours: int) -> tuple[int, int]:
    start = int(START // 3600) * HOUR_MS - hours * HOUR_MS
    return start, start + hours * HOUR_MS


async def test_item19_history_client_reads_one_devices_5_minute_rows(
    make_client: ClientFactory,
) -> None:
    sim, client, meter = await _meter(make_client)
    start, end = _window(2)
    rows = await client.async_get_device_history(meter.dn, 17, start, end)
    assert [row.collect_time_ms for row in rows] == list(range(start, end, 300_000))
    assert {row.dn for row in rows} == {meter.dn}
    code = sim.plants[0].code
    for row in rows:  # counters at the end of the row's slot (kWh)
        truth = sim.state(code, at=(row.start + HISTORY_SLOT).timestamp()).total
        assert row.values["reverse_active_cap"] == pytest.approx(truth["import"], abs=0.001)
        assert row.values["active_cap"] == pytest.approx(truth["export"], abs=0.001)
    assert sim.calls.count(endpoint=HISTORY) == 1


async def test_item19_history_client_refuses_bad_windows_before_sending(
    make_client: ClientFactory,
) -> None:
    sim, client, meter = await _meter(make_client)
    start, end = _window(24)
    bad: list[tuple[Any, Any, Any, Any]] = [
        (meter.dn, 17, start, end + 1),  # over 24 h: 40001 at the cloud
        (meter.dn, 17, end, start),
        (meter.dn, 17, -1, end),
        (meter.dn, 17, float(start), end),
        ("", 17, start, end),
        (meter.dn, 60044, start, end),  # real-time only
        (meter.dn, True, start, end),
    ]
    for args in bad:
        with pytest.raises(InvalidArgumentError):
            await client.async_get_device_history(*args)
    assert sim.calls.count(endpoint=HISTORY) == 0
    assert len(await client.async_get_device_history(meter.dn, 17, start, end)) == 288


async def test_item19_history_client_on_a_v500r007_system_is_unavailable_and_remembered(
    make_client: ClientFactory, clock: FakeClock
) -> None:
    sim, client = await make_client(alarm_rate_per_day=0.0)
    start, end = _window(1)
    for _ in range(2):
        with pytest.raises(EndpointUnavailableError):
            await client.async_get_device_history("NE=1", 38, start, end)
        clock.advance(120)
    assert sim.calls.count(endpoint=HISTORY) == 1  # the 404 (HTML) is remembered
    assert HISTORY in client.unavailable_endpoints


async def test_item19_history_client_null_data_is_no_answer(make_client: ClientFactory) -> None:
    sim, client, meter = await _meter(make_client)
    sim.faults.add(HISTORY, "data_null", count=1)
    start, end = _window(1)
    with pytest.raises(NoDataError):
        await client.async_get_device_history(meter.dn, 17, start, end)


@pytest.mark.parametrize(
    "data",
    [None, "N/A", 7, {}, [], {"list": None}, [None, 1, "x", {"collectTime": "N/A"}]],
)
def test_item19_history_parser_never_raises_on_odd_answers(data: Any) -> None:
    assert parse_device_history(data) == []


def test_item19_history_parser_reads_both_dn_names_strings_and_nulls() -> None:
    rows = parse_device_history(
        [
            {"devDn": "NE=1", "collectTime": 1758038700000, "dataItemMap": {"total_cap": 2}},
            {
                "devDns": "NE=1",  # the table's name (the samples say devDn)
                "collectTime": "1758038400000",
                "dataItems": {"total_cap": "12.5", "close_time": "N/A", "pv5_u": None},
            },
            {"devDn": "NE=1", "collectTime": 1758039000000, "dataItems": [1, 2]},
        ]
    )
    assert [row.collect_time_ms for row in rows] == [1758038400000, 1758038700000, 1758039000000]
    assert rows[0].dn == "NE=1"
    assert rows[0].values == {"total_cap": 12.5, "close_time": None, "pv5_u": None}
    assert rows[1].values == {"total_cap": 2.0}
    assert rows[2].values == {}
