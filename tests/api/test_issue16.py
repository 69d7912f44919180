"""Issue 16 "No silent data loss": listings, batched reads and learned daily budgets."""

from __future__ import annotations

from typing import Any

import pytest

from custom_components.fusionsolar.api import (
    CommunicationError,
    Endpoint,
    FusionSolarClient,
)

from .conftest import ClientFactory
from .fakes import FakeClock

# --- item 1: more than 100 plants, bare-list pages ---------------------------------------


async def test_item16_1_bare_list_pages_are_all_read(make_client: ClientFactory) -> None:
    """V7 ``plants`` and ``devices`` answering bare lists (the reference's examples)."""
    sim, client = await make_client(plants=150, quirks=["plants_as_list"])
    plants = await client.async_get_plants()
    assert len(plants) == 150
    assert sim.calls.count(Endpoint.V7_PLANTS) == 2  # 100 + a short page of 50
    devices = await client.async_get_devices([p.code for p in plants])
    assert len(devices) == 450
    assert all(d.id and d.dn for d in devices)  # every device known to both families
    assert sim.calls.refused == 0


async def test_item16_1_field_stations_bare_list_pages_are_all_read(
    make_client: ClientFactory,
) -> None:
    """Field profile: ``/thirdData/stations`` answers bare lists; 150 plants, 2 pages."""
    sim, client = await make_client(
        plants=150, profile="field", devices=("inverter",), disabled_quirks=["null_values"]
    )
    plants = await client.async_get_plants(wait=True)
    assert len(plants) == 150
    assert len({p.code for p in plants}) == 150
    pages = sim.calls.select(Endpoint.STATIONS)
    assert len(pages) == 2
    assert sim.calls.refused == 0


async def test_item16_1_full_last_page_ends_with_an_empty_page(
    make_client: ClientFactory,
) -> None:
    sim, client = await make_client(plants=100, devices=("inverter",), quirks=["plants_as_list"])
    plants = await client.async_get_plants()
    assert len(plants) == 100
    assert sim.calls.count(Endpoint.V7_PLANTS) == 2  # a full page may have a next one
    assert sim.calls.refused == 0


async def test_item16_1_repeated_page_stops_paging(make_client: ClientFactory) -> None:
    """A service that ignores ``pageNo`` answers page 1 again: stop, no duplicates."""
    sim, client = await make_client(plants=100, devices=("inverter",), quirks=["plants_as_list"])
    original = FusionSolarClient._call
    pages: list[int] = []

    async def first_page_only(
        self: FusionSolarClient, family: Any, endpoint: Any, payload: Any, **kwargs: Any
    ) -> Any:
        if endpoint == Endpoint.V7_PLANTS:
            pages.append(payload["pageNo"])
            payload = {**payload, "pageNo": 1}
        return await original(self, family, endpoint, payload, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(FusionSolarClient, "_call", first_page_only)
        plants = await client.async_get_plants()
    assert pages == [1, 2]
    assert len(plants) == 100
    assert sim.calls.refused == 0


@pytest.mark.parametrize("endpoint", ["plants", "stations"])
async def test_item16_1_null_plant_listing_is_not_an_empty_account(
    make_client: ClientFactory, endpoint: str
) -> None:
    """``data: null`` is no answer: the client raises instead of returning no plants."""
    quirks = ["permission"] if endpoint == "stations" else []
    sim, client = await make_client(plants=2, quirks=quirks, v7_enabled=endpoint == "plants")
    sim.faults.add(endpoint, "data_null")
    with pytest.raises(CommunicationError):
        await client.async_get_plants(wait=True)


async def test_item16_1_stations_paging_waits_for_quota(
    make_client: ClientFactory, clock: FakeClock
) -> None:
    """Page 2 of a 1/min listing waits for its slot instead of being refused."""
    sim, client = await make_client(
        plants=120, devices=("inverter",), quirks=["permission", "plants_as_list"], v7_enabled=False
    )
    start = clock.now
    plants = await client.async_get_plants()
    assert len(plants) == 120
    pages = sim.calls.select(Endpoint.STATIONS)
    assert len(pages) == 2
    assert pages[1].time - pages[0].time >= 60
    assert clock.now - start >= 60
    assert sim.calls.refused == 0
