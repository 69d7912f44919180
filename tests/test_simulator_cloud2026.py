"""Simulator profile ``cloud-2026``: today's cloud as the SmartPVMS 26.2 digest describes it.

Section numbers are those of /work/shared/spec/SmartPVMS-26.2-NBI-digest.md (Part A,
"Part B §n" for the second half).
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from tests.conftest import INVERTER_DN, Started
from tests.conftest import PLANT_CODE as PLANT
from tests.conftest import StartSimulator as Factory
from tests.simulator import FIELD_QUIRKS, Account, Quirks, SimulatorConfig, const
from tests.simulator.__main__ import parse_args
from tests.simulator.cloud2026 import CLOUD_V7_PATHS
from tests.simulator.config import CloudOptions
from tests.simulator.flowcontrol import dynamic_budget, static_budget
from tests.simulator.pytest_plugin import SimulatorFactory
from tests.simulator.testing import FakeClock, NbiTestClient

HISTORY = "/rest/openapi/pvms/nbi/v1/device/history"
BATTERY_MODE = "/rest/openapi/pvms/nbi/v1/configuration/battery-mode"
POWER_MODE = "/rest/openapi/pvms/nbi/v1/configuration/active-power-control-mode"
HOUR_MS = 3_600_000


# §5.1.2.2 Table 5-1 (revised in 26.2.0)
INVERTER_STATES = frozenset(
    {*range(8), 256, *range(512, 526), *range(768, 786), *range(1025, 1030), 1280, 1281}
    | {1536, 1792, 2048, 2304, 2560, 2561, 40960, 40961, 45056, 49152}
)
# §5.1.2.2 devTypeId 23070 table
SMART_ASSISTANT_KEYS = frozenset(
    {
        "run_state",
        *("a_i", "b_i", "c_i", "ab_u", "bc_u", "ca_u", "a_u", "b_u", "c_u"),
        *("active_power_a", "active_power_b", "active_power_c", "active_power"),
        *("reactive_power", "power_factor", "active_cap", "reverse_active_cap"),
        *("ex_a_i", "ex_b_i", "ex_c_i", "ex_a_u", "ex_b_u", "ex_c_u"),
        *("ex_active_power_a", "ex_active_power_b", "ex_active_power_c", "ex_active_power"),
        *("ex_reactive_power", "ex_power_factor", "ex_active_cap", "ex_reverse_active_cap"),
    }
)
# §5.1.2.2 devTypeId 23093 table
ALL_IN_ONE_KEYS = frozenset(
    {
        "inverter_state",
        *("ab_u", "bc_u", "ca_u", "a_u", "b_u", "c_u", "a_i", "b_i", "c_i"),
        *("efficiency", "temperature", "power_factor", "elec_freq", "active_power"),
        *("reactive_power", "day_cap", "mppt_power", "total_cap", "open_time", "close_time"),
        *("pv1_u", "pv2_u", "pv3_u", "pv1_i", "pv2_i", "pv3_i"),
        *("mppt_1_cap", "mppt_2_cap", "mppt_3_cap", "run_state"),
        *("battery_status", "max_charge_power", "max_discharge_power", "ch_discharge_power"),
        *("busbar_u", "battery_soc", "ch_discharge_model", "charge_cap", "discharge_cap"),
        *("rated_capacity", "battery_info"),
    }
)
# Part B §2.3: battery (39) history set
BATTERY_HISTORY_KEYS = frozenset(
    {
        *("battery_status", "max_charge_power", "max_discharge_power", "ch_discharge_power"),
        *("busbar_u", "battery_soc", "battery_soh", "ch_discharge_model"),
        *("charge_cap", "discharge_cap"),
    }
)
# Part B §4.3: plant daily keys (19, also monthly and yearly)
PLANT_DAY_KEYS = frozenset(
    {
        *("installed_capacity", "radiation_intensity", "theory_power", "performance_ratio"),
        *("inverter_power", "ongrid_power", "use_power", "power_profit", "perpower_ratio"),
        *("reduction_total_co2", "reduction_total_coal", "reduction_total_tree", "buyPower"),
        *("chargeCap", "dischargeCap", "selfUsePower", "selfProvide", "PVYield"),
        "inverterYield",
    }
)
PLANT_HOUR_KEYS = frozenset(
    {
        *("radiation_intensity", "theory_power", "inverter_power", "ongrid_power"),
        *("power_profit", "chargeCap", "dischargeCap", "selfProvide", "PVYield"),
        "inverterYield",
    }
)


@pytest.fixture
def make(simulators_on_fake_clock: Factory) -> Factory:
    """Start cloud-2026 simulators on a fake clock (a Monday in June, 12:01 local)."""

    async def factory(
        clock: FakeClock | None = None, *, login: bool = True, **config: Any
    ) -> Started:
        clk = clock or FakeClock.at(2026, 6, 15, 12, 1)
        config.setdefault("profile", "cloud-2026")
        config.setdefault("alarm_rate_per_day", 0.0)
        sim, client, clk = await simulators_on_fake_clock(clk, **config)
        if login:
            assert (await client.login()).status == 200
        return sim, client, clk

    return factory


async def ok(client: NbiTestClient, name: str, body: dict[str, Any]) -> Any:
    """Data of a successful call."""
    status, payload = await client.post(name, body)
    assert status == 200, payload
    assert payload["success"] is True, payload
    return payload["data"]


async def fail_code(client: NbiTestClient, name: str, body: dict[str, Any]) -> int:
    """failCode of a refused call."""
    status, payload = await client.post(name, body)
    assert status == 200, payload
    assert payload["success"] is False, payload
    return int(payload["failCode"])


async def later(clock: FakeClock, seconds: float, *clients: NbiTestClient) -> None:
    """Move the clock on; log in again (tokens expire after 30 idle minutes, §3.2.2.1)."""
    clock.advance(seconds)
    for client in clients:
        assert (await client.login()).status == 200


async def devices_by_type(client: NbiTestClient, codes: str) -> dict[int, list[dict[str, Any]]]:
    """getDevList grouped by devTypeId."""
    result: dict[int, list[dict[str, Any]]] = {}
    for device in await ok(client, "getDevList", {"stationCodes": codes}):
        result.setdefault(device["devTypeId"], []).append(device)
    return result


async def realtime(client: NbiTestClient, device: dict[str, Any]) -> dict[str, Any]:
    """getDevRealKpi map of one device."""
    body = {"devIds": str(device["id"]), "devTypeId": device["devTypeId"]}
    data = await ok(client, "getDevRealKpi", body)
    return dict(data[0]["dataItemMap"])


# --- profile selection ------------------------------------------------------------------------


async def test_cloud2026_profile_selectable_like_the_others(
    simulator_factory: SimulatorFactory,
) -> None:
    """``--profile cloud-2026``, ``SimulatorConfig(profile=...)`` and the pytest factory."""
    assert parse_args(["--profile", "cloud-2026"]).profile == "cloud-2026"
    assert parse_args(["--profile", "cloud-2026+field"]).profile == "cloud-2026+field"
    assert Quirks.for_profile("cloud-2026").enabled() == []
    assert Quirks.for_profile("cloud-2026+field").enabled() == list(FIELD_QUIRKS)
    assert SimulatorConfig(profile="cloud-2026").is_cloud_2026
    assert not SimulatorConfig(profile="field").is_cloud_2026
    with pytest.raises(ValueError, match="unknown profile"):
        Quirks.for_profile("cloud-2025")  # type: ignore[arg-type]
    sim = await simulator_factory(profile="cloud-2026")
    assert sim.cloud is not None
    assert (await simulator_factory()).cloud is None


# --- §1 / §2.3: what the cloud serves -----------------------------------------------------------


async def test_cloud2026_s1_no_v7_family_404_html(make: Factory) -> None:
    """§1 intro: the V7 ``/rest/openapi/pvms/v1`` family is not in 26.2: 404 HTML.

    Except the charge/discharge task query, documented at its old path (§5.2.2).
    """
    sim, client, _ = await make()
    for path in (const.V7_LOGIN, *(p for p in const.V7_ENDPOINTS if p not in CLOUD_V7_PATHS)):
        status, text = await client.post(path, {}, raw=True)
        assert status == 404, path
        assert text.lstrip().startswith("<!DOCTYPE html>"), path
    for method, path in (("GET", const.V7_PLANTS), ("POST", const.V7_PREFIX + "vpp/unknown")):
        async with client.session.request(method, sim.url + path) as response:
            assert response.status == 404, (method, path)
            assert response.content_type == "text/html"


async def test_cloud2026_s1_12_replaced_legacy_paths_404_html(make: Factory) -> None:
    """§1.12 (24.2.0): getStationList and getDevFiveMinutes were replaced; 26.2 has neither."""
    _, client, _ = await make()
    for name in ("getStationList", "getDevFiveMinutes"):
        status, text = await client.post(name, {"stationCodes": PLANT}, raw=True)
        assert status == 404
        assert "<html>" in text


async def test_cloud2026_nbi_family_only_on_the_cloud_profile(make: Factory) -> None:
    """The V500R007 profile has no ``/rest/openapi/pvms/nbi`` family (404 HTML)."""
    _, client, _ = await make(profile="spec")
    status, text = await client.post(HISTORY, {}, raw=True)
    assert status == 404
    assert "<html>" in text


# --- §5.1.1: plant list and device list ---------------------------------------------------------


async def test_cloud2026_s5_1_1_1_stations_paged_100(make: Factory) -> None:
    """§5.1.1.1: paged plant list, at most 100 per page; pageNo required; time checks."""
    _, client, clock = await make(plants=150)
    first = await ok(client, "stations", {"pageNo": 1})
    second = await ok(client, "stations", {"pageNo": 2})
    assert (first["total"], first["pageCount"], first["pageSize"]) == (150, 2, 100)
    assert len(first["list"]) == 100
    assert len(second["list"]) == 50
    assert {"plantCode", "capacity", "gridConnectionDate"} <= set(first["list"][0])
    assert await fail_code(client, "stations", {}) == 30004
    negative = {"pageNo": 1, "gridConnectedStartTime": -1}
    assert await fail_code(client, "stations", negative) == 20605
    now_ms = int(clock.t * 1000)
    reversed_range = {"pageNo": 1, "gridConnectedStartTime": now_ms, "gridConnectedEndTime": 0}
    assert await fail_code(client, "stations", reversed_range) == 20604


async def test_cloud2026_s5_1_1_2_device_list_has_smart_assistant_and_dn(make: Factory) -> None:
    """§5.1.1.2: ``devDn`` and ``model`` per device; plant 1 has a SmartAssistant (23070)."""
    _, client, _ = await make(plants=2)
    devices = await devices_by_type(client, f"{PLANT},NE=33554496")
    assert [d["stationCode"] for d in devices[23070]] == [PLANT]
    for device in (d for group in devices.values() for d in group):
        assert device["devDn"].startswith("NE=")
        assert device["model"]


# --- §5.1.2.1 plant real-time ------------------------------------------------------------------


async def test_cloud2026_s5_1_2_1_day_on_grid_and_use_energy_reset_daily(make: Factory) -> None:
    """§5.1.2.1 (24.6.0): ``day_on_grid_energy``/``day_use_energy`` in kWh, reset at midnight."""
    sim, client, clock = await make(clock=FakeClock.at(2026, 6, 15, 23, 56))
    evening = (await ok(client, "getStationRealKpi", {"stationCodes": PLANT}))[0]["dataItemMap"]
    state = sim.state(PLANT)
    assert evening["day_on_grid_energy"] == round(state.day["export"], 3) > 1.0
    assert evening["day_use_energy"] == round(state.day["load"], 3) > 1.0
    clock.advance(5 * 60)  # 00:01 next day: the 00:00 boundary
    night = (await ok(client, "getStationRealKpi", {"stationCodes": PLANT}))[0]["dataItemMap"]
    assert night["day_on_grid_energy"] == 0.0
    assert night["day_use_energy"] == 0.0


# --- §5.1.2.2 device real-time -----------------------------------------------------------------


async def test_cloud2026_s5_1_2_2_sns_or_dev_ids_exactly_one(make: Factory) -> None:
    """§5.1.2.2: exactly one of ``sns`` and ``devIds``; battery ``sn`` is null."""
    _, client, clock = await make()
    devices = await devices_by_type(client, PLANT)
    battery = devices[39][0]
    by_sn = await ok(client, "getDevRealKpi", {"sns": battery["esnCode"], "devTypeId": 39})
    assert by_sn[0]["devId"] == battery["id"]
    assert by_sn[0]["sn"] is None
    both = {"sns": battery["esnCode"], "devIds": str(battery["id"]), "devTypeId": 39}
    cases = [
        (both, 30030),
        ({"devTypeId": 39}, 20005),
        ({"sns": battery["esnCode"], "devTypeId": 38}, 20006),
        ({"sns": battery["esnCode"]}, 20008),
        ({"devIds": ",".join(str(n) for n in range(101)), "devTypeId": 39}, 20017),
    ]
    for body, code in cases:
        clock.advance(300)  # device real-time: 4 calls per 5 minutes here
        assert await fail_code(client, "getDevRealKpi", body) == code, body


async def test_cloud2026_s5_1_2_2_grid_meter_active_power_in_watts(make: Factory) -> None:
    """§5.1.2.2 table 17 / 24.7.0: grid meter ``active_power`` in W (V500R007: kW)."""
    _, cloud, clock = await make()
    _, spec, _ = await make(clock=clock, profile="spec")
    meter = (await devices_by_type(cloud, PLANT))[17][0]
    cloud_map = await realtime(cloud, meter)
    spec_map = await realtime(spec, meter)
    assert abs(spec_map["active_power"]) > 0.1
    assert cloud_map["active_power"] == pytest.approx(spec_map["active_power"] * 1000, abs=1)
    for phase in "abc":
        assert cloud_map[f"active_power_{phase}"] == pytest.approx(
            spec_map["active_power"] * 1000 / 3, abs=1
        )
    assert cloud_map["grid_frequency"] is None  # deprecated, default null
    assert cloud_map["active_cap"] == spec_map["active_cap"]


async def test_cloud2026_s5_1_2_2_battery_day_energies_reset_at_midnight(make: Factory) -> None:
    """§5.1.2.2 table 39: ``charge_cap``/``discharge_cap`` are the day's energies (reset at
    local midnight); ``total_charged_energy``/``total_discharged_energy`` (26.1.0) are
    lifetime; ``rated_capacity`` (24.7.0); ``ch_discharge_model`` 0-12."""
    _, client, clock = await make(clock=FakeClock.at(2026, 6, 15, 0, 1))
    battery = (await devices_by_type(client, PLANT))[39][0]
    midnight = await realtime(client, battery)
    assert midnight["charge_cap"] == midnight["discharge_cap"] == 0.0
    await later(clock, 23 * 3600 + 55 * 60, client)  # 23:56, the 23:55 boundary
    evening = await realtime(client, battery)
    charged = evening["total_charged_energy"] - midnight["total_charged_energy"]
    discharged = evening["total_discharged_energy"] - midnight["total_discharged_energy"]
    assert evening["charge_cap"] == pytest.approx(charged, abs=0.002)
    assert evening["discharge_cap"] == pytest.approx(discharged, abs=0.002)
    assert evening["charge_cap"] > 1.0
    assert evening["total_charged_energy"] > evening["charge_cap"]
    assert evening["rated_capacity"] == 10.0
    assert 0 <= evening["ch_discharge_model"] <= 12
    clock.advance(10 * 60)  # 00:06 next day
    next_day = await realtime(client, battery)
    assert next_day["charge_cap"] < evening["charge_cap"]
    assert next_day["total_charged_energy"] >= evening["total_charged_energy"]


async def test_cloud2026_s5_1_2_2_smart_assistant_keys_and_units(make: Factory) -> None:
    """§5.1.2.2 table 23070: the documented keys; powers in kW (the meter's are W)."""
    _, client, _ = await make()
    devices = await devices_by_type(client, PLANT)
    assistant = await realtime(client, devices[23070][0])
    meter = await realtime(client, devices[17][0])
    assert set(assistant) == SMART_ASSISTANT_KEYS
    assert assistant["active_power"] == pytest.approx(meter["active_power"] / 1000, abs=0.002)
    assert assistant["active_cap"] == meter["active_cap"]
    assert assistant["reverse_active_cap"] == meter["reverse_active_cap"]
    assert assistant["run_state"] == 1


async def test_cloud2026_s5_1_2_2_all_in_one_keys_and_inverter_states(make: Factory) -> None:
    """§5.1.2.2 table 23093 and Table 5-1: all-in-one keys; every inverter_state in 5-1."""
    _, client, _ = await make(cloud=CloudOptions(all_in_one_plants=(0,)))
    devices = await devices_by_type(client, PLANT)
    assert 38 not in devices  # the inverter and the battery are the all-in-one unit
    assert 39 not in devices
    unit = await realtime(client, devices[23093][0])
    assert set(unit) == ALL_IN_ONE_KEYS
    assert 0 <= unit["battery_status"] <= 4
    assert 1 <= len(unit["battery_info"]) <= 4
    assert unit["inverter_state"] in INVERTER_STATES
    _, plain, _ = await make()
    inverter = (await devices_by_type(plain, PLANT))[38][0]
    assert (await realtime(plain, inverter))["inverter_state"] in INVERTER_STATES


async def test_cloud2026_s5_1_2_2_string_inverter_36_strings(make: Factory) -> None:
    """§1.6 (25.1.0): string inverters (1) report pv1..pv36."""
    _, client, _ = await make(devices=["string_inverter", "battery", "meter"])
    inverter = (await devices_by_type(client, PLANT))[1][0]
    item = await realtime(client, inverter)
    assert {f"pv{n}_u" for n in range(1, 37)} <= set(item)
    assert {f"pv{n}_i" for n in range(1, 37)} <= set(item)


# --- Part B §2.2 device history ----------------------------------------------------------------


async def test_cloud2026_b2_2_history_rows_5_minutes_apart(make: Factory) -> None:
    """Part B §2.2: 5-minute rows of one device (``devDn``, ``collectTime``, ``dataItems``)."""
    sim, client, _ = await make()
    end = int(sim.boundary() * 1000)
    body = {"devDn": INVERTER_DN, "devTypeId": 38, "startTime": end - 24 * HOUR_MS}
    status, payload = await client.post(HISTORY, {**body, "endTime": end})
    assert status == 200
    assert payload["success"] is True
    assert "params" not in payload  # the /rest/openapi envelope
    rows = payload["data"]
    times = [row["collectTime"] for row in rows]
    assert len(rows) == 288
    assert {b - a for a, b in itertools.pairwise(times)} == {300_000}
    assert {row["devDn"] for row in rows} == {INVERTER_DN}
    assert "run_state" not in rows[0]["dataItems"]  # history set = real-time minus run_state


async def test_cloud2026_b2_2_history_24h_limit_and_validation(make: Factory) -> None:
    """Part B §2.2 / §7.1: 40001 over 24 h, 20604 start > end, 20605 negative, 20005/20008/
    20012 missing, 20006 wrong type, HTTP 400 framework error for an unknown parameter."""
    _, client, clock = await make()
    end = int(clock.t * 1000)
    base = {"devDn": INVERTER_DN, "devTypeId": 38, "startTime": end - 24 * HOUR_MS, "endTime": end}
    cases = [
        ({**base, "startTime": end - 24 * HOUR_MS - 1}, 40001),
        ({**base, "startTime": end + 1}, 20604),
        ({**base, "startTime": -1}, 20605),
        ({k: v for k, v in base.items() if k != "devDn"}, 20005),
        ({k: v for k, v in base.items() if k != "devTypeId"}, 20008),
        ({k: v for k, v in base.items() if k != "startTime"}, 20012),
        ({**base, "devTypeId": 39}, 20006),
    ]
    for body, code in cases:
        clock.advance(151)  # history flow control: Σ n/600 per second, 4 devices
        assert await fail_code(client, HISTORY, body) == code, body
    clock.advance(151)
    status, payload = await client.post(HISTORY, {**base, "pageSize": 10})
    assert status == 400
    assert payload["exceptionType"] == "ROA_EXFRAME_EXCEPTION"
    assert payload["reasonArgs"] == ["pageSize"]


async def test_cloud2026_b2_3_battery_history_reduced_set(make: Factory) -> None:
    """Part B §2.3: battery history has no rated_capacity/run_state/total_* keys."""
    sim, client, _ = await make()
    end = int(sim.boundary() * 1000)
    body = {"devDn": "NE=33554434", "devTypeId": 39, "startTime": end - HOUR_MS, "endTime": end}
    rows = await ok(client, HISTORY, body)
    assert len(rows) == 12
    assert set(rows[0]["dataItems"]) == BATTERY_HISTORY_KEYS


# --- Part B §4 reports ---------------------------------------------------------------------------


async def test_cloud2026_b4_plant_report_fields(make: Factory) -> None:
    """Part B §4.2-4.5: hourly keys incl. PVYield/inverterYield (24.5.0); daily 19 keys."""
    _, client, clock = await make()
    body = {"stationCodes": PLANT, "collectTime": int(clock.t * 1000)}
    hours = await ok(client, "getKpiStationHour", body)
    assert set(hours[0]["dataItemMap"]) == PLANT_HOUR_KEYS
    for name in ("getKpiStationDay", "getKpiStationMonth", "getKpiStationYear"):
        records = await ok(client, name, body)
        assert set(records[-1]["dataItemMap"]) == PLANT_DAY_KEYS, name
    today = (await ok(client, "getKpiStationDay", body))[-1]["dataItemMap"]
    assert today["PVYield"] == today["inverter_power"]
    assert today["buyPower"] >= 0.0


async def test_cloud2026_b4_6_device_report_fields(make: Factory) -> None:
    """Part B §4.6: device daily keys per type (39, 38, 23093); ``sns`` accepted."""
    _, client, clock = await make(plants=2, cloud=CloudOptions(all_in_one_plants=(1,)))
    devices = await devices_by_type(client, f"{PLANT},NE=33554496")
    t = int(clock.t * 1000)
    expected = {
        39: {"charge_cap", "discharge_cap", "charge_time", "discharge_time"},
        38: {"installed_capacity", "product_power", "perpower_ratio"},
        23093: {"installed_capacity", "product_power", "perpower_ratio"}
        | {"charge_cap", "discharge_cap"},
    }
    for type_id, keys in expected.items():
        body = {"sns": devices[type_id][0]["esnCode"], "devTypeId": type_id, "collectTime": t}
        records = await ok(client, "getDevKpiDay", body)
        assert set(records[-1]["dataItemMap"]) == keys, type_id
    meter = {"devIds": str(devices[17][0]["id"]), "devTypeId": 17, "collectTime": t}
    assert await fail_code(client, "getDevKpiDay", meter) == 20013


# --- Part B §5 configuration queries -----------------------------------------------------------


async def test_cloud2026_b5_configuration_queries(make: Factory) -> None:
    """Part B §5.1/§5.2: field names; 20631 without battery; 1 call per minute (§4.2)."""
    _, client, clock = await make(plants=2, plant_devices={1: ["inverter", "meter"]})
    data = await ok(client, BATTERY_MODE, {"plantCode": PLANT})
    assert data == {
        "plantCode": PLANT,
        "operationMode": "maximumSelfConsumption",
        "touOperationModeParamDetail": None,
    }
    assert await fail_code(client, BATTERY_MODE, {"plantCode": PLANT}) == 407
    clock.advance(61)
    assert await fail_code(client, BATTERY_MODE, {"plantCode": "NE=33554496"}) == 20631
    clock.advance(61)
    assert await fail_code(client, BATTERY_MODE, {"plantCode": "NE=1"}) == 20622
    clock.advance(61)
    status, payload = await client.post(BATTERY_MODE, {})
    assert status == 400
    assert payload["reasonArgs"] == ["plantCode"]
    mode = await ok(client, POWER_MODE, {"plantCode": PLANT})
    assert mode["controlMode"] == "noLimit"
    assert set(mode) == {
        "plantCode",
        "controlMode",
        "zeroExportLimitationParam",
        "limitedPowerGridPercentParam",
        "limitedPowerGridValueParam",
    }


# --- §4.2 flow control --------------------------------------------------------------------------


def test_cloud2026_s4_2_formulas_match_the_digest_examples() -> None:
    """§4.2 examples: 20 and 120 plants/inverters/meters."""
    small, large = {38: 20, 17: 20}, {38: 120, 17: 120}
    assert dynamic_budget("plant_list", 20, small).limit == 34
    assert dynamic_budget("plant_list", 120, large).limit == 44
    assert dynamic_budget("device_list", 120, large).limit == 26
    assert dynamic_budget("plant_realtime", 20, small).limit == 1
    assert dynamic_budget("plant_realtime", 120, large).limit == 2
    assert dynamic_budget("device_realtime", 120, large).limit == 4
    assert dynamic_budget("alarms", 20, small).limit == 2
    assert dynamic_budget("alarms", 120, large).limit == 4
    assert dynamic_budget("plant_report", 120, large).limit == 26
    assert dynamic_budget("device_report", 20, small).limit == 26
    assert dynamic_budget("device_report", 120, large).limit == 28
    history = dynamic_budget("device_history", 20, {38: 20, 17: 10})
    assert history.limit == 1
    assert history.window == pytest.approx(20.0)  # 0.05 per second: one call every 20 s
    assert dynamic_budget("device_history", 600, {38: 600, 17: 600}).limit == 2
    assert (static_budget("plant_realtime").limit, static_budget("plant_realtime").window) == (
        30,
        60.0,
    )
    assert static_budget("device_history").limit == 1


async def test_cloud2026_s4_2_one_plant_realtime_once_per_5_minutes(make: Factory) -> None:
    """§4.2 at 1 plant: plant real-time ⌈1/100⌉ = 1 per 5 min; device real-time 1 per type."""
    _, client, clock = await make()
    body = {"stationCodes": PLANT}
    await ok(client, "getStationRealKpi", body)
    assert await fail_code(client, "getStationRealKpi", body) == 407
    clock.advance(299)
    assert await fail_code(client, "getStationRealKpi", body) == 407
    clock.advance(2)
    await ok(client, "getStationRealKpi", body)
    # 4 device types (38, 39, 17, 23070), one each: Σ⌈1/100⌉ = 4 per 5 minutes
    devices = await devices_by_type(client, PLANT)
    battery = devices[39][0]
    for _ in range(4):
        await realtime(client, battery)
    assert (
        await fail_code(client, "getDevRealKpi", {"sns": battery["esnCode"], "devTypeId": 39})
        == 407
    )


async def test_cloud2026_s4_2_150_plants_budgets(make: Factory) -> None:
    """§4.2 at 150 plants: plant real-time 2 per 5 min; alarms max(2, Σ) per 30 min;
    plant list 2*10+24 = 44 per day, then 20618."""
    _, client, clock = await make(plants=150)
    body = {"stationCodes": PLANT}
    for _ in range(2):
        await ok(client, "getStationRealKpi", body)
    assert await fail_code(client, "getStationRealKpi", body) == 407
    now_ms = int(clock.t * 1000)
    alarms = {
        "stationCodes": PLANT,
        "beginTime": now_ms - 24 * HOUR_MS,
        "endTime": now_ms,
        "language": "en_UK",
    }
    # 150 each of 38, 39, 17 -> 2 + 2 + 2, one SmartAssistant -> 1: Σ = 7 > ⌈150/100⌉
    for _ in range(7):
        await ok(client, "getAlarmList", alarms)
    assert await fail_code(client, "getAlarmList", alarms) == 407
    for _ in range(44):
        await ok(client, "stations", {"pageNo": 1})
    assert await fail_code(client, "stations", {"pageNo": 1}) == 20618
    await later(clock, 12 * 3600, client)  # the next local day
    await ok(client, "stations", {"pageNo": 1})


async def test_cloud2026_s4_2_history_per_second_rate(make: Factory) -> None:
    """§4.2: history Σ(n/60/10) per second: 4 devices -> one call per 150 s."""
    _, client, clock = await make()
    end = int(clock.t * 1000)
    body = {"devDn": INVERTER_DN, "devTypeId": 38, "startTime": end - HOUR_MS, "endTime": end}
    await ok(client, HISTORY, body)
    clock.advance(149)
    assert await fail_code(client, HISTORY, body) == 407
    clock.advance(2)
    await ok(client, HISTORY, body)


async def test_cloud2026_s4_2_daily_report_budget_20618(make: Factory) -> None:
    """§4.2: plant reports ⌈plants/100⌉ + 24 per day; beyond: 20618 (§7.1 #58)."""
    _, client, clock = await make()
    body = {"stationCodes": PLANT, "collectTime": int(clock.t * 1000)}
    for _ in range(25):
        await ok(client, "getKpiStationDay", body)
    assert await fail_code(client, "getKpiStationDay", body) == 20618
    await ok(client, "getKpiStationMonth", body)  # each endpoint its own budget


async def test_cloud2026_s7_2_static_account_keeps_old_table(make: Factory) -> None:
    """§7.2 / FAQ 8.2.2: an old account keeps 30 plant real-time calls per minute."""
    old = Account("old_api", "old_pass")
    _, client, _ = await make(
        accounts=[old], cloud=CloudOptions(static_flow_control_accounts=("old_api",))
    )
    assert (await client.login(username="old_api", password="old_pass")).status == 200
    for _ in range(30):
        await ok(client, "getStationRealKpi", {"stationCodes": PLANT})
    assert await fail_code(client, "getStationRealKpi", {"stationCodes": PLANT}) == 407


async def test_cloud2026_s4_system_limit_429_and_busy_20200(make: Factory) -> None:
    """§4: 429 when all users together exceed an interface's limit; §7.1 #42: 20200 busy."""
    options = CloudOptions(
        system_limits={const.GET_DEV_LIST: 1}, busy_endpoints=(const.GET_ALARM_LIST,)
    )
    sim, client, _ = await make(cloud=options)
    await ok(client, "getDevList", {"stationCodes": PLANT})
    assert await fail_code(client, "getDevList", {"stationCodes": PLANT}) == 429
    alarms = {"stationCodes": PLANT, "beginTime": 1, "endTime": 2, "language": "en_UK"}
    assert await fail_code(client, "getAlarmList", alarms) == 20200
    sim.faults.add("getStationRealKpi", "fail_code", fail_code=429)
    assert await fail_code(client, "getStationRealKpi", {"stationCodes": PLANT}) == 429


async def test_cloud2026_s3_2_2_1_login_5_per_10_minutes(make: Factory) -> None:
    """§3.2.2.1: 5 logins per 10 minutes (407 after); each login invalidates the last token."""
    _, client, clock = await make(login=False)
    tokens = []
    for _ in range(5):
        assert (await client.login()).status == 200
        tokens.append(client.tokens["legacy"])
        clock.advance(10)
    response = await client.login()
    payload = await response.json()
    assert payload["failCode"] == 407
    _, old = await client.post("getDevList", {"stationCodes": PLANT}, token=tokens[0])
    assert old["failCode"] == 305
    clock.advance(600)
    assert (await client.login()).status == 200


async def test_cloud2026_s3_2_2_1_five_wrong_passwords_lock_30_minutes(make: Factory) -> None:
    """§3.2.2.1: 5 wrong passwords within 10 minutes lock the account for 30 minutes."""
    _, client, clock = await make(login=False)
    for _ in range(5):
        response = await client.login(password="wrong")
        assert (await response.json())["failCode"] == 20400
        clock.advance(60)
    clock.advance(600)  # the login window is free again, the lock is not over
    response = await client.login()
    assert (await response.json())["failCode"] == 20400
    assert "legacy" not in client.tokens
    clock.advance(1200)  # 30 minutes after the fifth wrong password
    response = await client.login()
    assert (await response.json())["success"] is True


async def test_cloud2026_s3_2_2_2_logout_5_per_10_minutes(make: Factory) -> None:
    """§3.2.2.2: logout 5 calls per 10 minutes (407 beyond), counted per API account."""
    _, client, clock = await make()
    codes = []
    for _ in range(6):  # logouts of an unknown token, sent with the live session's header
        codes.append((await client.post("logout", {"xsrfToken": "x-unknown"}))[1]["failCode"])
        clock.advance(30)
    assert codes[5] == 407
    assert 407 not in codes[:5]


# --- composition with the field profile ---------------------------------------------------------


async def test_cloud2026_field_profile_composes(make: Factory) -> None:
    """``cloud-2026+field``: 26.2 data and flow control with the field quirks on top."""
    sim, client, _ = await make(profile="cloud-2026+field", disabled_quirks=["null_values"])
    assert set(sim.quirks.enabled()) == set(FIELD_QUIRKS) - {"null_values"}
    item = (await ok(client, "getStationRealKpi", {"stationCodes": PLANT}))[0]["dataItemMap"]
    assert "day_on_grid_energy" in item
    status, _ = await client.post(const.V7_LOGIN, {}, raw=True)
    assert status == 404
    battery = (await devices_by_type(client, PLANT))[39][0]
    await realtime(client, battery)
    body = {"sns": battery["esnCode"], "devTypeId": 39}
    # the dynamic budget (4 per 5 min) would allow it; strict_quota (1/min) does not
    assert await fail_code(client, "getDevRealKpi", body) == 407


# --- energy consistency with the V500R007 profile -----------------------------------------------


async def test_cloud2026_lifetime_counter_deltas_equal_v500r007(make: Factory) -> None:
    """Same seed, same day: the device lifetime counters move by the same energy on both
    profiles (inverter total_cap; battery V500 charge_cap/discharge_cap = 26.2
    total_charged_energy/total_discharged_energy; meter active_cap/reverse_active_cap;
    SmartAssistant active_cap = meter)."""
    clock = FakeClock.at(2026, 6, 15, 0, 1)
    _, cloud, _ = await make(clock=clock, seed=7)
    _, spec, _ = await make(clock=clock, seed=7, profile="spec")
    devices = await devices_by_type(cloud, PLANT)

    async def read() -> dict[str, float]:
        inv_c = await realtime(cloud, devices[38][0])
        inv_s = await realtime(spec, devices[38][0])
        bat_c = await realtime(cloud, devices[39][0])
        bat_s = await realtime(spec, devices[39][0])
        met_c = await realtime(cloud, devices[17][0])
        met_s = await realtime(spec, devices[17][0])
        assistant = await realtime(cloud, devices[23070][0])
        return {
            "cloud_pv": inv_c["total_cap"],
            "spec_pv": inv_s["total_cap"],
            "cloud_charge": bat_c["total_charged_energy"],
            "spec_charge": bat_s["charge_cap"],
            "cloud_discharge": bat_c["total_discharged_energy"],
            "spec_discharge": bat_s["discharge_cap"],
            "cloud_export": met_c["active_cap"],
            "spec_export": met_s["active_cap"],
            "cloud_import": met_c["reverse_active_cap"],
            "spec_import": met_s["reverse_active_cap"],
            "assistant_export": assistant["active_cap"],
        }

    before = await read()
    await later(clock, 24 * 3600, cloud, spec)
    after = await read()
    delta = {key: after[key] - before[key] for key in before}
    assert delta["spec_pv"] > 10.0
    for counter in ("pv", "charge", "discharge", "export", "import"):
        assert delta[f"cloud_{counter}"] == pytest.approx(delta[f"spec_{counter}"], abs=0.002)
    assert delta["assistant_export"] == pytest.approx(delta["spec_export"], abs=0.002)
