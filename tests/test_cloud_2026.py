"""Issue 19: the integration on today's cloud (simulator profile ``cloud-2026``).

No V7 family, ``getStationList`` gone (404 pages), quotas per day and per plant, meter
power in W: set up with nothing to choose, show every plant and device, cause no refusal.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant

from custom_components.fusionsolar.api import Endpoint
from custom_components.fusionsolar.const import CONF_HISTORY_DAYS, CONF_POLL_ALARMS, DOMAIN
from tests.conftest import SUNNY, next_refresh, setup_integration
from tests.harness.dayrun import Scenario, start_run
from tests.harness.statistics import statistics_lost
from tests.harness.truth import DASHBOARD_COUNTERS
from tests.simulator import Simulator
from tests.simulator.config import CloudOptions


async def test_item19_an_hour_on_todays_cloud_shows_every_plant_and_device(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, simulator_factory: Any
) -> None:
    scenario = Scenario(
        "issue19-cloud-2026",
        plants=2,
        profile="cloud-2026",
        hours=1.0,
        restarts=(),
        simulator={"alarm_rate_per_day": 0.0},
    )
    run = await start_run(hass, freezer, simulator_factory, scenario)
    result = await run.run()

    availability = result["availability"]
    assert availability["plants_with_data"] == 2, result["events"]
    assert availability["devices_with_data"] == sum(result["devices"].values())
    assert result["quota_refusals"] == 0, result["refusals"]
    assert result["data_age"]["over_target_share"] == 0
    assert result["calls"][Endpoint.STATION_REAL_KPI] == 12  # every refresh
    # Detection costs one 404 each: the V7 login and the replaced getStationList.
    not_found = Counter(r.endpoint for r in run.records() if r.http_status == 404)
    assert not_found == {Endpoint.V7_LOGIN: 1, Endpoint.STATION_LIST: 1}
    assert result["http_errors"] == {"404": 2}


@pytest.mark.freeze_time(SUNNY)
async def test_item19_meter_power_in_watts_is_shown_in_kilowatts(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, simulator_factory: Any
) -> None:
    """Today's cloud reports the meter's active power in W (the 2021 one in kW)."""
    sim: Simulator = await simulator_factory(profile="cloud-2026", alarm_rate_per_day=0.0)
    await setup_integration(hass, sim, **{CONF_POLL_ALARMS: False, CONF_HISTORY_DAYS: 0})
    # §4.2 allows one call per device type per 5 minutes: the setup's calls count.
    await next_refresh(hass, freezer)
    await next_refresh(hass, freezer)
    plant = sim.plants[0]
    meter = next(device for device in plant.devices if device.dev_type_id == 17)
    grid_kw = sim.state(plant.code).grid_kw
    assert abs(grid_kw) > 0.1  # a sunny morning: something flows
    shown = float(hass.states.get(f"sensor.meter_{meter.sn.lower()}_active_power").state)
    assert shown == pytest.approx(grid_kw, abs=0.01)


@pytest.mark.freeze_time(SUNNY)
@pytest.mark.parametrize(
    "config",
    [
        {"profile": "cloud-2026"},
        {"quirks": ["no_v7"]},  # a V500R007 account without V7 rights
        {"profile": "cloud-2026", "plants": 2, "cloud": CloudOptions(smart_assistant_plants=(1,))},
    ],
    ids=["cloud-2026", "v500r007-no-v7", "cloud-2026-smart-assistant"],
)
async def test_item19_power_flow_without_v7_is_derived_from_the_devices(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    simulator_factory: Any,
    config: dict[str, Any],
) -> None:
    """PV, grid, battery, load and SOC of each plant, within 0.01 kW of the truth."""
    sim: Simulator = await simulator_factory(alarm_rate_per_day=0.0, **config)
    await setup_integration(hass, sim, **{CONF_POLL_ALARMS: False, CONF_HISTORY_DAYS: 0})
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    for _ in range(3):
        await next_refresh(hass, freezer)
        for index, plant in enumerate(sim.plants):
            # The slot of the devices' data (§4.2 may have held a call back a little).
            slots = {
                state.updated
                for key, state in entry.runtime_data.devices.data.items()
                if entry.runtime_data.metadata.data.devices[key].plant_code == plant.code
            }
            assert len(slots) == 1
            truth = sim.state(plant.code, slots.pop().timestamp())
            entity = f"sensor.plant_{index + 1}"
            shown = {
                key: float(hass.states.get(f"{entity}_{key}").state)
                for key in ("pv_power", "grid_power", "battery_power", "load_power")
            }
            expected = {
                "pv_power": truth.pv_kw,
                "grid_power": truth.grid_kw,
                "battery_power": truth.battery_kw,
                "load_power": truth.load_kw,
            }
            assert shown == pytest.approx(expected, abs=0.011), (plant.code, config)
            soc = float(hass.states.get(f"{entity}_battery_state_of_charge").state)
            assert soc == pytest.approx(truth.soc, abs=0.1)


@pytest.mark.parametrize("enable_statistics", [True])
async def test_item19_a_day_with_reload_and_restart_keeps_refreshes_on_time(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    simulator_factory: Any,
    recorder_mock: Any,
    enable_statistics: bool,
) -> None:
    """Issue 19's must-show for one plant: a day on today's cloud with a reload and a
    restart. Power flow, statistics and the Energy dashboard against the truth.

    One call per device type per 5 minutes on rolling windows: a refresh held back
    past the poll time is skipped, so the next ones run on time again (not ever later)."""
    scenario = Scenario(
        "issue19-cloud-2026-day",
        plants=1,
        profile="cloud-2026",
        reloads=(6.04,),
        recorder=True,
        simulator={"alarm_rate_per_day": 0.0},
    )
    run = await start_run(hass, freezer, simulator_factory, scenario)
    result = await run.run()
    # Every hour imported from device history equals the simulator's energy.
    assert await statistics_lost(hass, run) == {
        "plants_checked": 1,
        "hour_rows_checked": 23 * 6,
        "missing": 0,
        "wrong": 0,
        "worst_error_kwh": pytest.approx(0, abs=0.007),
    }
    # The Energy dashboard on the plant's lifetime counters: every slot, no issue.
    assert set(result["energy_dashboard"]["counters"]) == set(DASHBOARD_COUNTERS)
    assert result["energy_dashboard"]["issues"] == {}

    assert result["quota_refusals"] == 0, result["refusals"]
    assert result["availability"]["became_unavailable"] == 0
    # The derived power flow, once per slot for the whole day, against the truth.
    flow = result["power_flow"]
    assert flow["values_checked"] >= 286 * 5, flow
    assert flow["values_off"] == 0, flow
    # Late a few times a day (the 1 s safety margin adds up), never for long.
    assert result["data_age"]["over_target_share"] < 0.05, result["data_age"]
    assert result["data_age"]["max_s"] <= 2 * 300 + 60
    # Today's cloud is learned once and stored: no getStationList after the reload and
    # the restart (the V7 login is tried at each start: an account may gain V7).
    not_found = Counter(r.endpoint for r in run.records() if r.http_status == 404)
    assert not_found == {Endpoint.V7_LOGIN: 3, Endpoint.STATION_LIST: 1}


@pytest.mark.freeze_time(SUNNY)
@pytest.mark.parametrize("profile", ["spec", "cloud-2026"])
async def test_item19_plant_export_and_consumption_today_on_todays_cloud(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, simulator_factory: Any, profile: str
) -> None:
    """``getStationRealKpi`` gains ``day_on_grid_energy`` and ``day_use_energy`` (26.x,
    §5.1.2.1, kWh, the plant's day): two daily plant sensors there, none on V500R007."""
    sim: Simulator = await simulator_factory(profile=profile, alarm_rate_per_day=0.0)
    await setup_integration(hass, sim, **{CONF_POLL_ALARMS: False, CONF_HISTORY_DAYS: 0})
    await next_refresh(hass, freezer)
    export = hass.states.get("sensor.plant_1_grid_export_today")
    consumption = hass.states.get("sensor.plant_1_consumption_today")
    if profile == "spec":
        assert export is None
        assert consumption is None
        return
    code = sim.plants[0].code
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    read_at = entry.runtime_data.plants.data[code].station_updated
    day = sim.state(code, read_at.timestamp()).day
    assert float(export.state) == pytest.approx(day["export"], abs=0.001)
    assert float(consumption.state) == pytest.approx(day["load"], abs=0.001)
    assert day["load"] > 1.0
    for state in (export, consumption):
        assert state.attributes["state_class"] == "total_increasing"
        assert state.attributes["unit_of_measurement"] == "kWh"
        assert state.attributes["device_class"] == "energy"
