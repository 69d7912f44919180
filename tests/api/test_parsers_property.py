"""Property tests: arbitrary JSON shapes never crash a parser or the envelope decoder.

No per-example deadline: these tests are about outcomes, not speed (a loaded CI machine
made hypothesis's 200 ms default fail them at random).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any, cast

import aiohttp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from multidict import CIMultiDict, CIMultiDictProxy

from custom_components.fusionsolar.api import FusionSolarClient, QuotaGovernor, extract_token
from custom_components.fusionsolar.api import models as m
from custom_components.fusionsolar.api import parsers as p
from custom_components.fusionsolar.api import values as v
from custom_components.fusionsolar.api.errors import FusionSolarError

KEYS = [
    "plantCode",
    "stationCode",
    "plantName",
    "stationName",
    "capacity",
    "list",
    "data",
    "pageCount",
    "dataItemMap",
    "devId",
    "id",
    "dn",
    "sn",
    "esnCode",
    "devTypeId",
    "deviceTypeId",
    "meterPower",
    "pmeterPower",
    "healthState",
    "real_health_state",
    "dateTime",
    "collectTime",
    "alarmId",
    "alarmName",
    "lev",
    "raiseTime",
    "status",
    "dispatchResult",
    "remoteID",
    "execStartTime",
    "startTime",
    "result",
    "setDOD",
    "active_power",
    "ch_discharge_power",
    "gridConnectionDate",
    "latitude",
    "total",
]

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
    | st.sampled_from(["", "12.5", "-1", "2020-02-06T00:00:00+08:00", "3", "1e999", "NaN"])
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), children, max_size=6)
    ),
    max_leaves=40,
)

# Each parser and the model it promises: in a list, as the values of a map, or alone.
PARSERS: list[tuple[Callable[[Any], Any], type]] = [
    (p.parse_plants_legacy, m.Plant),
    (p.parse_plants_stations, m.Plant),
    (p.parse_plants_v7, m.Plant),
    (p.parse_devices_legacy, m.Device),
    (p.parse_devices_v7, m.Device),
    (p.parse_plant_realtime, m.PlantRealtimeKpi),
    (p.parse_station_realtime, m.StationRealtimeKpi),
    (p.parse_five_minutes, m.FiveMinuteKpi),
    (p.parse_hourly, m.HourlyPlantKpi),
    (p.parse_alarms, m.Alarm),
    (p.parse_dod_results, m.DodResult),
    (p.parse_on_off_results, m.OnOffResult),
    (lambda d: p.parse_device_realtime(d, 47), m.DeviceRealtimeKpi),
    (lambda d: p.parse_device_realtime(d, 39), m.DeviceRealtimeKpi),
    (lambda d: p.parse_device_realtime(d, None), m.DeviceRealtimeKpi),
    (lambda d: p.parse_dispatch_command(d, 1), m.DispatchCommand),
    (lambda d: p.parse_dispatch_status(d, 1), m.DispatchStatus),
    (lambda d: p.merge_devices(p.parse_devices_legacy(d), p.parse_devices_v7(d)), m.Device),
]


def assert_typed(result: Any, model: type) -> None:
    """A parser's result is its model, a list of it, or a map of text to it."""
    if isinstance(result, list):
        assert all(isinstance(item, model) for item in result), result
    elif isinstance(result, dict):
        assert all(isinstance(key, str) for key in result), result
        assert all(isinstance(value, model) for value in result.values()), result
    else:
        assert isinstance(result, model), result


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=json_values)
def test_every_parser_survives_any_json(data: Any) -> None:
    for parser, model in PARSERS:
        assert_typed(parser(data), model)
    # Wrapped in an item list too: exercises the per-item code paths.
    for parser, model in PARSERS:
        wrapped = parser(
            [
                data,
                {
                    "dataItemMap": data,
                    "plantCode": "P",
                    "stationCode": "S",
                    "dn": "D",
                    "devId": 1,
                    "id": 1,
                    "dateTime": "2020-02-06T00:00:00+08:00",
                    "collectTime": 0,
                    "alarmId": 1,
                },
            ]
        )
        assert_typed(wrapped, model)


@settings(max_examples=300, deadline=None)
@given(value=scalars | json_values)
def test_scalar_helpers(value: Any) -> None:
    number = v.to_float(value)
    assert number is None or (type(number) is float and math.isfinite(number))
    integer = v.to_int(value)
    assert integer is None or type(integer) is int
    text = v.to_str(value)
    assert text is None or (text != "" and text == text.strip())
    moment = v.to_datetime(value)
    assert moment is None or moment.tzinfo is not None
    health = p.parse_health(value)
    assert health is None or isinstance(health, m.PlantHealth)
    assert all(isinstance(key, str) for key in v.normalize_map(value))
    assert isinstance(v.item_list(value), list)


def _client() -> FusionSolarClient:
    # The session is never used by _decode.
    return FusionSolarClient(
        cast(aiohttp.ClientSession, object()),
        "h",
        "u",
        "p",
        governor=QuotaGovernor(clock=lambda: 0.0),
    )


@settings(max_examples=300, deadline=None)
@given(
    body=json_values.map(json.dumps) | st.text(max_size=30),
    status=st.sampled_from([200, 200, 200, 401, 403, 404, 500, 503]),
    login=st.booleans(),
)
def test_envelope_decoder_raises_only_documented_errors(
    body: str, status: int, login: bool
) -> None:
    client = _client()
    headers = CIMultiDictProxy(CIMultiDict())
    try:
        envelope = client._decode(status, headers, body, "/x", login=login, detecting=False)
    except FusionSolarError:
        return
    assert isinstance(envelope, dict)


@settings(max_examples=200, deadline=None)
@given(
    pairs=st.lists(
        st.tuples(
            st.sampled_from(["Set-Cookie", "set-cookie", "xsrf-token", "X-Other", "xsrftoken"]),
            st.text(max_size=40),
        ),
        max_size=5,
    )
)
def test_extract_token_never_crashes(pairs: list[tuple[str, str]]) -> None:
    token = extract_token(CIMultiDictProxy(CIMultiDict(pairs)))
    assert token is None or token.strip() == token


@settings(max_examples=200, deadline=None)
@given(state=json_values)
def test_governor_restore_accepts_garbage(state: Any) -> None:
    gov = QuotaGovernor(clock=lambda: 1_700_000_000.0)
    gov.restore_state(state)
    gov.restore_state({"version": 1, "endpoints": {"/x": state}})
    exported = json.loads(json.dumps(gov.export_state()))
    gov.snapshot()
    # Whatever it kept is a valid state: restored elsewhere, it is the same state.
    again = QuotaGovernor(clock=lambda: 1_700_000_000.0)
    again.restore_state(exported)
    assert again.export_state() == exported
    assert again.can_call("/x") == gov.can_call("/x")
