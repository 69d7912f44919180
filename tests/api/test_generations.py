"""Units and meanings per key and per API generation (V500R007 vs today's 26.x cloud).

Each difference is checked on both simulator profiles: the 2021 reference (``spec``) and
``cloud-2026`` (SmartPVMS 26.2 digest). The generation comes from the logged-in client
(``api_generation``), the values from real ``getDevRealKpi`` answers of the simulator,
parsed as the client parses them.
"""

from __future__ import annotations

import aiohttp
import pytest

from custom_components.fusionsolar.api import (
    DEVICE_KPI_UNITS,
    ApiGeneration,
    KpiPeriod,
    api_generation,
    kpi_key_for,
)
from custom_components.fusionsolar.api.models import DeviceRealtimeKpi
from custom_components.fusionsolar.api.parsers import parse_device_realtime
from tests.simulator import Simulator
from tests.simulator.testing import NbiTestClient

from .conftest import ClientFactory
from .fakes import FakeClock

PROFILES = ("spec", "cloud-2026")


async def _login(make_client: ClientFactory, profile: str) -> tuple[Simulator, ApiGeneration]:
    """Log the client in on a `profile` simulator; the account's generation."""
    sim, client = await make_client(profile=profile, alarm_rate_per_day=0.0)
    await client.async_login()
    assert client.families.legacy
    # The client does not learn yet that a host is today's cloud (the nbi family comes
    # with the 26.2 client): the profile stands for that evidence here.
    return sim, api_generation(client.families, todays_cloud=profile == "cloud-2026")


async def _kpi(
    sim: Simulator, http: aiohttp.ClientSession, generation: ApiGeneration, dev_type: int
) -> DeviceRealtimeKpi:
    """The first device of `dev_type`, read raw and parsed as the client parses it.

    (On cloud-2026 the client cannot list plants yet: getStationList is 404 there.)
    """
    raw = NbiTestClient(sim, http)
    assert (await raw.login()).status == 200
    codes = ",".join(plant.code for plant in sim.plants)
    devices = await raw.data("getDevList", {"stationCodes": codes})
    dev_id = str(next(d["id"] for d in devices if d["devTypeId"] == dev_type))
    data = await raw.data("getDevRealKpi", {"devIds": dev_id, "devTypeId": dev_type})
    # The one line the client needs (client.py): parse in the account's generation.
    return parse_device_realtime(data, dev_type, generation)[dev_id]


async def _both(
    make_client: ClientFactory, http: aiohttp.ClientSession, clock: FakeClock, dev_type: int
) -> dict[ApiGeneration, DeviceRealtimeKpi]:
    """The same plant on both profiles at the same moment, per generation."""
    logged_in = [await _login(make_client, profile) for profile in PROFILES]
    clock.advance(3 * 3600)  # past each account's login window; 13:00, grid export
    return {gen: await _kpi(sim, http, gen, dev_type) for sim, gen in logged_in}


async def test_devtypes_generation_from_the_accounts_families(
    make_client: ClientFactory,
) -> None:
    """V7 answers on a V500R007 system; today's cloud has no V7 (404): 26.x meanings."""
    generations = [(await _login(make_client, profile))[1] for profile in PROFILES]
    assert generations == [ApiGeneration.V500R007, ApiGeneration.CLOUD_2026]


async def test_devtypes_grid_meter_active_power_in_kw_on_both_generations(
    make_client: ClientFactory, http: aiohttp.ClientSession, clock: FakeClock
) -> None:
    """Meter (17) ``active_power``: kW in 2021, W since 24.7.0; the client returns kW."""
    kpis = await _both(make_client, http, clock, 17)
    old, new = kpis[ApiGeneration.V500R007], kpis[ApiGeneration.CLOUD_2026]
    assert DEVICE_KPI_UNITS[17]["active_power"] == "kW"
    old_power = old.get("active_power")
    assert old_power is not None
    assert abs(old_power) > 0.1  # a real flow, in kW
    assert new.get("active_power") == pytest.approx(old.get("active_power"), abs=0.001)
    phases = [new.get(f"active_power_{phase}") or 0.0 for phase in "abc"]
    assert sum(phases) == pytest.approx(new.get("active_power"), abs=0.001)


async def test_devtypes_battery_lifetime_and_day_energies_per_generation(
    make_client: ClientFactory, http: aiohttp.ClientSession, clock: FakeClock
) -> None:
    """Battery (39): ``charge_cap`` lifetime in 2021, the day's on 26.x (lifetime there:
    ``total_charged_energy``, 26.1.0); both lifetime counters agree."""
    kpis = await _both(make_client, http, clock, 39)
    keys = ("charge_cap", "total_charged_energy")
    found = {gen: tuple(kpi_key_for(gen, 39, keys, period) for period in KpiPeriod) for gen in kpis}
    assert found == {
        ApiGeneration.V500R007: (None, "charge_cap"),
        ApiGeneration.CLOUD_2026: ("charge_cap", "total_charged_energy"),
    }
    old, new = kpis[ApiGeneration.V500R007], kpis[ApiGeneration.CLOUD_2026]
    lifetime = old.get("charge_cap")
    assert lifetime is not None
    assert lifetime > 0
    assert new.get("total_charged_energy") == pytest.approx(lifetime, abs=0.01)
    day = new.get("charge_cap")
    assert day is not None
    assert 0 <= day < lifetime
    # The battery's powers stay W -> kW on both.
    assert new.get("ch_discharge_power") == pytest.approx(old.get("ch_discharge_power"), abs=0.001)
