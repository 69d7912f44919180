"""Issue 16 "No silent data loss": listings, batched reads and learned daily budgets."""

from __future__ import annotations

from datetime import UTC, date, datetime, tzinfo
from typing import Any

import pytest

from custom_components.fusionsolar.api import (
    BatchResult,
    CommunicationError,
    DeviceList,
    Endpoint,
    FusionSolarClient,
    QuotaExceededError,
    QuotaGovernor,
    QuotaWouldExceed,
)
from custom_components.fusionsolar.api.errors import error_for_fail_code

from .conftest import ClientFactory
from .fakes import FakeClock
from .governor import accepted_calls, governor
from .governor import call as _call

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


@pytest.mark.parametrize("endpoint", ["plants", "stations", "getStationList"])
async def test_item16_6_null_plant_listing_is_not_an_empty_account(
    make_client: ClientFactory, endpoint: str
) -> None:
    """``data: null`` is no answer: the client raises instead of returning no plants."""
    quirks = ["permission"] if endpoint == "stations" else []
    sim, client = await make_client(plants=2, quirks=quirks, v7_enabled=endpoint == "plants")
    await client.async_login()
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


# --- item 2: batched plant reads keep what arrived ---------------------------------------


async def test_item16_2_plant_realtime_keeps_earlier_batches(
    make_client: ClientFactory, clock: FakeClock
) -> None:
    """The governor knows 1/min: batch 2 would exceed; batch 1's 100 plants are kept."""
    sim, client = await make_client(plants=150, devices=("inverter",))
    client.governor.restore_state(
        {"endpoints": {Endpoint.VPP_PLANT_REALTIME: {"learned_limit": 1}}}
    )
    codes = [p.code for p in sim.plants]
    result = await client.async_get_plant_realtime(codes)
    assert isinstance(result, BatchResult)
    assert list(result) == codes[:100]
    assert result.pending == tuple(codes[100:])
    assert isinstance(result.error, QuotaWouldExceed)
    assert 55 <= result.retry_after <= 62
    assert not result.complete
    # The caller asks for the pending plants when the quota allows: all 150 read.
    clock.advance(result.retry_after)
    rest = await client.async_get_plant_realtime(result.pending)
    assert rest.complete
    assert sorted({**result, **rest}) == sorted(codes)
    assert sim.calls.refused == 0


async def test_item16_2_station_realtime_keeps_earlier_batches_after_407(
    make_client: ClientFactory,
) -> None:
    """The service allows 1/min (unknown to the governor): batch 2 is refused."""
    overrides = {Endpoint.STATION_REAL_KPI: 1}
    sim, client = await make_client(plants=150, devices=("inverter",), quota_overrides=overrides)
    codes = [p.code for p in sim.plants]
    result = await client.async_get_station_realtime(codes)
    assert len(result) == 100
    assert result.pending == tuple(codes[100:])
    assert isinstance(result.error, QuotaExceededError)
    assert result.retry_after >= 60
    assert sim.calls.refused == 1


async def test_item16_2_first_batch_failure_still_raises(make_client: ClientFactory) -> None:
    """Nothing arrived: the error itself is the answer (callers handle it as before)."""
    sim, client = await make_client(plants=150, devices=("inverter",))
    codes = [p.code for p in sim.plants]
    sim.faults.add("getStationRealKpi", "fail_code", fail_code=407)
    with pytest.raises(QuotaExceededError):
        await client.async_get_station_realtime(codes)


async def test_item16_2_device_list_keeps_earlier_batches(
    make_client: ClientFactory, clock: FakeClock
) -> None:
    """getDevList batch 2 refused: plants of batch 1 keep their devices, ids and DNs."""
    sim, client = await make_client(
        plants=150, quota_overrides={Endpoint.DEV_LIST: 1}, quirks=["plants_as_list"]
    )
    codes = [p.code for p in sim.plants]
    devices = await client.async_get_devices(codes)
    assert isinstance(devices, DeviceList)
    assert devices.pending == tuple(codes[100:])
    assert isinstance(devices.error, QuotaExceededError)
    assert len(devices) == 300
    assert {d.plant_code for d in devices} == set(codes[:100])
    assert all(d.id and d.dn for d in devices)
    clock.advance(devices.retry_after)
    rest = await client.async_get_devices(devices.pending)
    assert rest.complete
    assert len(rest) == 150
    assert all(d.id and d.dn for d in rest)


# --- item 6: getDevList answering data: null -----------------------------------------------


async def test_item16_6_null_device_list_is_not_an_empty_list(
    make_client: ClientFactory,
) -> None:
    """``data: null`` must not become "no devices" nor V7 devices without legacy ids."""
    sim, client = await make_client(plants=2)
    await client.async_login()
    sim.faults.add("getDevList", "data_null")
    with pytest.raises(CommunicationError):
        await client.async_get_devices([p.code for p in sim.plants])
    devices = await client.async_get_devices([p.code for p in sim.plants])
    assert len(devices) == 6
    assert all(d.id for d in devices)


async def test_item16_6_null_realtime_batch_is_pending(make_client: ClientFactory) -> None:
    """A realtime batch answered ``data: null`` is named, not silently empty."""
    sim, client = await make_client(plants=150, devices=("inverter",))
    sim.faults.add("getStationRealKpi", "data_null")
    codes = [p.code for p in sim.plants]
    result = await client.async_get_station_realtime(codes)
    assert list(result) == codes[100:]  # the next batch is still read
    assert result.pending == tuple(codes[:100])
    assert isinstance(result.error, CommunicationError)
    assert result.retry_after == 0


async def test_item16_6_null_later_device_batch_is_pending(make_client: ClientFactory) -> None:
    sim, client = await make_client(plants=150, devices=("inverter",))
    await client.async_login()
    sim.faults.add("getDevList", "data_null", after=1)
    codes = [p.code for p in sim.plants]
    devices = await client.async_get_devices(codes)
    assert devices.pending == tuple(codes[100:])
    assert isinstance(devices.error, CommunicationError)
    assert len(devices) == 100
    assert all(d.id for d in devices)


# --- item 13: a daily budget only from evidence, and a quick recovery ----------------------

FIVE = Endpoint.VPP_PLANT_FIVE_MINUTES  # a daily-budget endpoint (field), spec 10/min


def _day_clock(hour: int = 6) -> FakeClock:
    return FakeClock(datetime(2025, 6, 2, hour, tzinfo=UTC).timestamp())


async def _calls_until(gov: QuotaGovernor, clock: FakeClock, end: float, every: float) -> int:
    """Call ``endpoint`` every ``every`` s when the governor allows it; count the calls."""
    done = 0
    while clock.now < end:
        if gov.retry_after(FIVE) == 0:
            await _call(gov, FIVE)
            done += 1
        clock.advance(every)
    return done


async def test_item16_13_one_stray_refusal_teaches_no_daily_budget() -> None:
    clock = _day_clock()
    gov = governor(clock)
    await accepted_calls(gov, FIVE, 3, clock, 300)
    retry = await _call(gov, FIVE, refused=True)  # nothing in the window: unexplained
    assert gov.daily_budget(FIVE) is None
    assert retry <= 2 * gov.window
    clock.advance(retry)
    # The rest of the day: one call per 5 minutes, as before the stray refusal.
    calls = await _calls_until(gov, clock, clock.now + 12 * 3600, 300)
    assert calls == 144


async def test_item16_13_repeated_refusals_across_windows_teach_the_budget() -> None:
    clock = _day_clock()
    gov = governor(clock)
    await accepted_calls(gov, FIVE, 25, clock, 120)
    clock.advance(await _call(gov, FIVE, refused=True))
    assert gov.daily_budget(FIVE) is None
    await _call(gov, FIVE, refused=True)  # a later window, refused again: a daily limit
    assert gov.daily_budget(FIVE) == 25
    midnight = datetime(2025, 6, 3, tzinfo=UTC).timestamp()
    assert gov.retry_after(FIVE) == pytest.approx(midnight - clock.now)


async def test_item16_13_fail_code_20618_is_a_daily_budget_at_once() -> None:
    clock = _day_clock()
    gov = governor(clock)
    for _ in range(7):
        await _call(gov, Endpoint.DEV_LIST)
        clock.advance(120)
    slot = await gov.acquire(Endpoint.DEV_LIST)
    slot.refused(daily=True)
    assert gov.daily_budget(Endpoint.DEV_LIST) == 7
    assert error_for_fail_code(20618).__class__ is QuotaExceededError


async def test_item16_13_learned_budget_recovers_when_a_probe_succeeds() -> None:
    """A budget of 3 learned by an old version from one stray 407 recovers the same day."""
    clock = _day_clock(0)
    gov = governor(clock)
    gov.restore_state({"endpoints": {FIVE: {"daily_budget": 3}}})
    calls = await _calls_until(gov, clock, clock.now + 24 * 3600, 300)
    assert gov.daily_budget(FIVE) is None  # the accepted probe contradicted it
    assert calls == 288 - 11  # one hour (11 slots) held back, then all
    assert await _calls_until(gov, clock, clock.now + 24 * 3600, 300) == 288


async def test_item16_13_refused_probe_waits_for_the_next_day() -> None:
    clock = _day_clock()
    gov = governor(clock)
    gov.restore_state({"endpoints": {FIVE: {"daily_budget": 2}}})
    await _call(gov, FIVE)
    clock.advance(120)
    await _call(gov, FIVE)
    assert 3500 <= gov.retry_after(FIVE) <= 3600  # a probe after an hour
    clock.advance(gov.retry_after(FIVE))
    await _call(gov, FIVE, refused=True)  # the budget is real
    assert gov.daily_budget(FIVE) == 2
    midnight = datetime(2025, 6, 3, tzinfo=UTC).timestamp()
    assert gov.retry_after(FIVE) == pytest.approx(midnight - clock.now)


async def test_item16_13_stray_407_on_five_minutes_through_the_client(
    make_client: ClientFactory, clock: FakeClock
) -> None:
    sim, client = await make_client(plants=1, devices=("inverter",))
    code = sim.plants[0].code
    tz = sim.plants[0].tz
    day = datetime.fromtimestamp(clock.now, tz).date()
    sim.faults.add("vpp/plantFiveMinutesKpi", "fail_code", fail_code=407, after=2)
    ok = await five_minute_reads(client, clock, code, day, tz)
    assert sim.calls.refused == 1
    assert client.governor.daily_budget(FIVE) is None
    assert ok == 35


async def five_minute_reads(
    client: FusionSolarClient, clock: FakeClock, code: str, day: date, tz: tzinfo
) -> int:
    """Read the plant's five-minute data every 5 minutes for three hours; count the answers."""
    ok = 0
    for _ in range(36):
        try:
            await client.async_get_plant_five_minutes(code, day, tz)
            ok += 1
        except (QuotaExceededError, QuotaWouldExceed):
            pass
        clock.advance(300)
    return ok


@pytest.mark.parametrize("fail_code", [407, 20618])
async def test_item16_13_daily_budget_through_the_client(
    make_client: ClientFactory, clock: FakeClock, fail_code: int
) -> None:
    """The service's daily limit (both shapes) is learned, with at most two refusals."""
    sim, client = await make_client(
        plants=1,
        devices=("inverter",),
        quirks=["daily_budget"],
        daily_budget_overrides={FIVE: 5},
        daily_limit_fail_code=fail_code,
    )
    code = sim.plants[0].code
    tz = sim.plants[0].tz
    day = datetime.fromtimestamp(clock.now, tz).date()
    ok = await five_minute_reads(client, clock, code, day, tz)
    assert ok == 5
    assert client.governor.daily_budget(FIVE) == 5
    # 20618 says "daily" at once; a 407 needs a second refusal in a later window.
    assert sim.calls.refused == (1 if fail_code == 20618 else 2)


async def test_item16_13_old_state_per_day_count_is_no_streak() -> None:
    """A state saved by an older version counted refusals per day: not evidence now."""
    clock = _day_clock()
    gov = governor(clock)
    gov.restore_state(
        {"endpoints": {FIVE: {"unexplained_day": "2025-06-02", "unexplained_count": 3}}}
    )
    await _call(gov, FIVE)
    clock.advance(300)
    await _call(gov, FIVE, refused=True)
    assert gov.daily_budget(FIVE) is None
    state = gov.export_state()["endpoints"][FIVE]
    assert state["unexplained_streak"] == 1


async def test_item16_1_client_150_plants_with_bare_list_pages(
    make_client: ClientFactory, clock: FakeClock
) -> None:
    """Two simulated hours through the client: 150/150 plants, 450/450 devices, no 407.

    (The simulated day runs at the integration level: tests/test_issue16_integration.py.)
    """
    sim, client = await make_client(plants=150, quirks=["plants_as_list"])
    plants = await client.async_get_plants()
    codes = [p.code for p in plants]
    devices = await client.async_get_devices(codes)
    assert devices.complete
    plants_seen: set[str] = set()
    devices_seen: set[str] = set()
    for _ in range(24):
        plants_seen.update(await client.async_get_plant_realtime(codes))
        devices_seen.update(await client.async_get_device_realtime(devices))
        clock.advance(300)
    assert len(plants_seen) == 150
    assert len(devices_seen) == 450
    assert sim.calls.refused == 0
    assert sim.calls.count(fail_code=407) == 0
