"""Parsers: both sides of every spec contradiction, tolerant of bad shapes."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from custom_components.fusionsolar.api import parsers as p
from custom_components.fusionsolar.api import values as v
from custom_components.fusionsolar.api.models import (
    AlarmLevel,
    DeviceKind,
    DispatchState,
    PlantHealth,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1, 1.0),
        (1.5, 1.5),
        ("12.5", 12.5),
        (" 3 ", 3.0),
        ("", None),
        (None, None),
        (True, None),
        ("abc", None),
        ("--", None),
        (float("nan"), None),
        (float("inf"), None),
        ([], None),
        ({}, None),
        ("1e400", None),
        (10**400, None),
    ],
)
def test_to_float(value: object, expected: float | None) -> None:
    assert v.to_float(value) == expected


def test_to_int_and_str() -> None:
    assert v.to_int("38") == 38
    assert v.to_int(38.0) == 38
    assert v.to_int(38.5) is None
    assert v.to_int(False) is None
    assert v.to_str(-214543629611879) == "-214543629611879"
    assert v.to_str(2.0) == "2"
    assert v.to_str("  ") is None


@pytest.mark.parametrize(
    "text",
    ["2017-08-05T00:00:00.000+0800", "2017-08-05T00:00:00+08:00", "2017-08-05T00:00:00.000+08:00"],
)
def test_datetime_offset_formats(text: str) -> None:
    parsed = v.to_datetime(text)
    assert parsed == datetime(2017, 8, 5, tzinfo=timezone(timedelta(hours=8)))
    assert parsed is not None
    assert parsed.tzinfo is not None


def test_datetime_ms_and_garbage() -> None:
    assert v.to_datetime(1501862400000) == datetime(2017, 8, 4, 16, tzinfo=UTC)
    assert v.to_datetime("1501862400000") == datetime(2017, 8, 4, 16, tzinfo=UTC)
    assert v.to_datetime("yesterday") is None
    assert v.to_datetime(10**30) is None
    naive = v.to_datetime("2020-02-06 00:00:00")
    assert naive is not None
    assert naive.tzinfo is UTC


def test_legacy_plants_capacity_mw_to_kwp() -> None:
    plants = p.parse_plants_legacy(
        [
            {"stationCode": "BA43", "stationName": "NM", "stationAddr": None, "capacity": 0.0146},
            {"stationCode": None},
            "junk",
        ]
    )
    assert len(plants) == 1
    assert plants[0].code == "BA43"
    assert plants[0].capacity_kwp == pytest.approx(14.6)


def test_v7_plants_map_and_list() -> None:
    item = {
        "plantCode": "NE=1",
        "plantName": "p",
        "capacity": "7.5",
        "gridConnectionDate": "2020-02-06T00:00:00+08:00",
    }
    paged = {"total": 1, "pageCount": 1, "pageNo": 1, "pageSize": 100, "list": [item]}
    for data in (paged, [item]):
        (plant,) = p.parse_plants_v7(data)
        assert plant.capacity_kwp == 7.5
        assert plant.grid_connection_date is not None
    assert p.parse_plants_v7({"total": 0, "list": None}) == []


def test_stations_renamed_fields() -> None:
    (plant,) = p.parse_plants_stations(
        {"list": [{"plantCode": "NE=2", "plantName": "x", "plantAddress": "a", "capacity": 5}]}
    )
    assert (plant.code, plant.name, plant.address, plant.capacity_kwp) == ("NE=2", "x", "a", 5.0)


def test_devices_and_merge() -> None:
    legacy = p.parse_devices_legacy(
        [
            {
                "id": -214543629611879,
                "devName": "inv",
                "stationCode": "NE=1",
                "esnCode": "SN1",
                "devTypeId": "38",
                "softwareVersion": "V1",
                "invType": "SUN2000",
            },
            {"id": 5, "devTypeId": 39, "esnCode": "SN2", "stationCode": "NE=1"},
        ]
    )
    assert legacy[0].id == "-214543629611879"
    assert legacy[0].dev_type_id == 38
    assert legacy[0].kind is DeviceKind.INVERTER
    v7 = p.parse_devices_v7(
        {
            "list": [
                {
                    "plantCode": "NE=1",
                    "dn": "NE=33",
                    "sn": "SN2",
                    "deviceTypeId": 20815,
                    "dataItemMap": {
                        "model": "LUNA",
                        "ratedCapacity": "10",
                        "usableCapacity": 9.5,
                        "dod": 90,
                    },
                },
                {"plantCode": "NE=1", "dn": "NE=44", "sn": "SN9", "deviceTypeId": 20816},
                {"plantCode": "NE=1", "dn": "NE=55", "sn": "SN8", "deviceTypeId": 99999},
            ]
        }
    )
    merged = p.merge_devices(legacy, v7)
    assert [d.key for d in merged] == ["SN1", "SN2", "SN9", "SN8"]
    battery = merged[1]
    assert (battery.id, battery.dn, battery.kind) == ("5", "NE=33", DeviceKind.BATTERY)
    assert battery.battery_rated_capacity_kwh == 10.0
    assert battery.battery_dod == 90.0
    assert merged[2].id is None
    assert merged[2].kind is DeviceKind.METER
    assert merged[3].kind is DeviceKind.OTHER


@pytest.mark.parametrize(
    ("code", "health"),
    [
        (0, PlantHealth.HEALTHY),
        (1, PlantHealth.DISCONNECTED),
        (2, PlantHealth.FAULTY),
        (3, PlantHealth.HEALTHY),
        ("3", PlantHealth.HEALTHY),
        (7, None),
        (None, None),
    ],
)
def test_health_both_families(code: object, health: PlantHealth | None) -> None:
    assert p.parse_health(code) is health


def test_plant_realtime_meter_and_pmeter() -> None:
    data = [
        {
            "plantCode": "A",
            "dataItemMap": {
                "meterPower": -1.5,
                "batteryPower": 5,
                "healthState": 0,
                "batterySOC": None,
            },
        },
        {
            "plantCode": "B",
            "dataItemMap": {"pmeterPower": "2.0", "healthState": 3, "batteryDOD": ""},
        },
        {"plantCode": "C", "dataItemMap": None},
    ]
    result = p.parse_plant_realtime(data)
    assert result["A"].grid_power == -1.5
    assert result["A"].battery_power == 5.0
    assert result["A"].health is PlantHealth.HEALTHY
    assert result["B"].grid_power == 2.0
    assert result["B"].battery_dod is None
    assert result["C"].pv_power is None


def test_station_realtime_strings_and_spaces() -> None:
    data = [
        {
            "stationCode": "X",
            "dataItemMap": {
                "real health state": "3",
                "day power": "10000",
                "total_income": "2088.000",
            },
        },
    ]
    kpi = p.parse_station_realtime(data)["X"]
    assert kpi.health is PlantHealth.HEALTHY
    assert kpi.day_power == 10000.0
    assert kpi.total_income == 2088.0


def test_device_realtime_units() -> None:
    sensor = p.parse_device_realtime(
        [
            {
                "devId": 1,
                "dataItemMap": {"active_power": -1500, "reactive_power": "200", "meter_u": 230},
            }
        ],
        47,
    )["1"]
    assert sensor.values["active_power"] == -1.5
    assert sensor.values["reactive_power"] == 0.2
    assert sensor.values["meter_u"] == 230.0
    battery = p.parse_device_realtime(
        [
            {
                "devId": "2",
                "dataItemMap": {
                    "ch_discharge_power": 2500,
                    "battery_soc": "55",
                    "max charge power": 5000,
                },
            }
        ],
        39,
    )["2"]
    assert battery.get("ch_discharge_power") == 2.5
    assert battery.get("max_charge_power") == 5.0
    assert battery.get("battery_soc") == 55.0
    meter = p.parse_device_realtime(
        [{"devId": 3, "dataItemMap": {"active_power": 1.2, "x": "bad"}}], 17
    )["3"]
    assert meter.values == {"active_power": 1.2, "x": None}


def test_five_minutes_sorted_and_formats() -> None:
    data = [
        {"dateTime": "2017-08-05T00:05:00.000+0800", "pvEnergy": "0.1"},
        {"dateTime": "2017-08-05T00:00:00+08:00", "pvEnergy": 0, "batterySOC": 40},
        {"dateTime": None},
    ]
    items = p.parse_five_minutes(data)
    assert [i.pv_energy for i in items] == [0.0, 0.1]
    assert items[0].battery_soc == 40.0


def test_hourly() -> None:
    data = [
        {
            "stationCode": "B",
            "collectTime": 1501866000000,
            "dataItemMap": {"inverter power": 0, "use_power": "3"},
        },
        {"stationCode": "B", "collectTime": 1501862400000, "dataItemMap": {"inverter_power": 1}},
        {"stationCode": "B", "collectTime": None},
    ]
    items = p.parse_hourly(data)
    assert [i.collect_time_ms for i in items] == [1501862400000, 1501866000000]
    assert items[1].use_power == 3.0
    assert items[0].start.tzinfo is UTC


def test_alarms() -> None:
    raw = {
        "alarmId": 2003,
        "alarmName": "DC arc fault",
        "causeId": 1,
        "devName": "ESN",
        "esnCode": "ESN",
        "lev": 2,
        "raiseTime": 1606418089000,
        "stationCode": "NE=1",
        "status": 1,
        "devTypeId": "38",
    }
    (alarm,) = p.parse_alarms([raw, {"foo": 1}])
    assert alarm.level is AlarmLevel.MAJOR
    assert alarm.active
    assert alarm.key == "NE=1|ESN|2003|1|1606418089000"
    assert alarm.key == p.parse_alarms([raw])[0].key


def test_dispatch_command_and_status_shapes() -> None:
    cmd = p.parse_dispatch_command(
        [{"plantCode": "NE=1", "sn": "s", "dispatchResult": 0, "remoteID": 123}], 42
    )
    assert cmd.success
    assert cmd.results[0].remote_id == "123"
    assert not p.parse_dispatch_command(None, 1).success
    entries = [
        {
            "plantCode": "A",
            "status": 0,
            "chargedCapacity": 1000,
            "execStartTime": "2020-02-06T00:00:10+08:00",
            "execEndTime": "2020-02-06T00:01:10+08:00",
        },
        {
            "plantCode": "B",
            "status": "1",
            "startTime": "2020-02-06T00:00:00+08:00",
            "endTime": None,
        },
    ]
    status = p.parse_dispatch_status(entries, 42)
    assert status.entries[0].start is not None
    assert status.entries[1].start is not None
    assert status.state is DispatchState.IN_PROGRESS
    as_map = p.parse_dispatch_status(entries[0], 42)
    assert as_map.state is DispatchState.COMPLETE
    assert p.parse_dispatch_status({"x": 1}, 1).state is None


def test_dod_and_on_off() -> None:
    (dod,) = p.parse_dod_results([{"dn": "D1", "result": 0, "setDOD": "88"}, {"dn": None}])
    assert (dod.dn, dod.success, dod.set_dod) == ("D1", True, 88)
    (res,) = p.parse_on_off_results([{"dn": "D2", "result": 1}])
    assert res.success is False


def test_to_datetime_ignores_non_ascii_digits() -> None:
    from custom_components.fusionsolar.api.values import to_datetime

    assert to_datetime("¹") is None
    assert to_datetime("1700000000000") is not None


def test_result_flags_accept_booleans_as_sent() -> None:
    """``result`` is 0/1 in the spec; some answers carry true/false."""
    (ok, failed) = p.parse_on_off_results(
        [{"dn": "D1", "result": True}, {"dn": "D2", "result": False}]
    )
    assert (ok.success, failed.success) == (True, False)
    assert v.to_bool_result("0") is True
    assert v.to_bool_result("N/A") is None


def test_an_item_a_parser_cannot_read_is_skipped_and_the_others_kept(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def parse(item: Mapping[str, Any]) -> int:
        return int(item["value"])  # "x" raises

    caplog.set_level(logging.DEBUG, logger=v.__name__)
    items = [{"value": 1}, {"value": "x"}, "not a map", {"value": 3}]
    assert v.parse_items(items, parse, "test") == [1, 3]
    assert "Skipping unparsable test item" in caplog.text
    assert "Skipping test item that is not a map" in caplog.text
