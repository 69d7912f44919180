"""The quota governor with a fake clock."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import pytest

from custom_components.fusionsolar.api import Endpoint, Priority, QuotaGovernor, QuotaWouldExceed
from custom_components.fusionsolar.api.quotastate import DECAY_INTERVAL

from .fakes import FakeClock
from .governor import accepted_calls
from .governor import call as _call
from .governor import governor as _gov

RT = Endpoint.VPP_PLANT_REALTIME  # spec 10/min
HOUR = Endpoint.KPI_STATION_HOUR  # spec 1/min, daily budget candidate
LIST = Endpoint.DEV_LIST  # spec 10/min, no daily budget expected


async def test_spec_limit_and_window() -> None:
    clock = FakeClock()
    gov = _gov(clock)
    await accepted_calls(gov, RT, 10)
    assert not gov.can_call(RT)
    with pytest.raises(QuotaWouldExceed) as exc:
        await gov.acquire(RT, wait=False)
    assert exc.value.retry_after == pytest.approx(61.0)
    assert exc.value.endpoint == RT
    clock.advance(30)
    assert gov.retry_after(RT) == pytest.approx(31.0)
    await _call(gov, RT, wait=True)
    assert clock.now - 1_750_000_000.0 == pytest.approx(61.0)
    assert gov.calls_in_window(RT) == 1


async def test_unknown_endpoint_uses_section1_limit_and_overrides() -> None:
    clock = FakeClock()
    gov = _gov(clock, limits={"/custom": 2})
    assert gov.spec_limit("/nothing") == 10
    await _call(gov, "/custom")
    await _call(gov, "/custom")
    assert not gov.can_call("/custom")


async def test_max_wait() -> None:
    clock = FakeClock()
    gov = _gov(clock)
    await _call(gov, HOUR)
    with pytest.raises(QuotaWouldExceed):
        await gov.acquire(HOUR, wait=True, max_wait=30)
    assert clock.slept == 0


async def test_refund_gives_the_slot_back() -> None:
    clock = FakeClock()
    gov = _gov(clock)
    slot = await gov.acquire(HOUR)
    slot.refund()
    assert gov.can_call(HOUR)
    slot.refund()  # idempotent
    assert gov.calls_in_window(HOUR) == 0


async def test_learns_stricter_limit_once() -> None:
    clock = FakeClock()
    gov = _gov(clock)
    await accepted_calls(gov, RT, 3)
    retry = await _call(gov, RT, refused=True)
    assert retry == pytest.approx(61.0)
    assert gov.limit(RT) == 3
    assert gov.refusals(RT) == 1
    with pytest.raises(QuotaWouldExceed):
        await gov.acquire(RT)
    clock.advance(61)
    await accepted_calls(gov, RT, 3)
    assert not gov.can_call(RT)
    snap = gov.snapshot()[RT]
    assert snap["learned_limit"] == 3
    assert snap["spec_limit"] == 10
    assert snap["refusals"] == 1


async def test_learns_daily_budget_on_daily_endpoint() -> None:
    clock = FakeClock(datetime(2025, 6, 1, 10, tzinfo=UTC).timestamp())
    gov = _gov(clock)
    await accepted_calls(gov, HOUR, 5, clock, 3600)
    clock.advance(await _call(gov, HOUR, refused=True))  # one refusal: a back-off only
    await _call(gov, HOUR, refused=True)  # again in a later window: a daily budget
    assert gov.daily_budget(HOUR) == 5
    midnight = datetime(2025, 6, 2, tzinfo=UTC).timestamp()
    assert gov.retry_after(HOUR) == pytest.approx(midnight - clock.now)
    clock.now = midnight + 1
    await accepted_calls(gov, HOUR, 5, clock, 61)
    assert not gov.can_call(HOUR)
    assert gov.retry_after(HOUR) == pytest.approx(3600 - 61)  # one probe an hour later


async def test_unexplained_refusals_elsewhere_back_off_not_for_the_day() -> None:
    clock = FakeClock(datetime(2025, 6, 1, 1, tzinfo=UTC).timestamp())
    gov = _gov(clock)
    await accepted_calls(gov, LIST, 4, clock, 100)
    await _call(gov, LIST, refused=True)  # unexplained #1: block the window
    assert gov.daily_budget(LIST) is None
    assert gov.retry_after(LIST) == pytest.approx(61.0)
    clock.advance(61)
    await _call(gov, LIST, refused=True)  # unexplained #2: a longer pause, no budget
    assert gov.daily_budget(LIST) is None
    assert 61.0 < gov.retry_after(LIST) <= 3600.0
    clock.advance(gov.retry_after(LIST))
    assert gov.can_call(LIST)


async def test_day_boundary_lag_keeps_budget() -> None:
    clock = FakeClock(datetime(2025, 6, 1, 10, tzinfo=UTC).timestamp())
    gov = _gov(clock)
    gov.restore_state({"endpoints": {HOUR: {"daily_budget": 3}}})
    clock.now = datetime(2025, 6, 2, 0, 0, 5, tzinfo=UTC).timestamp()
    clock.advance(await _call(gov, HOUR, refused=True))
    retry = await _call(gov, HOUR, refused=True)  # the plant's day lags UTC
    assert gov.daily_budget(HOUR) == 3
    assert retry == pytest.approx(3600)


async def test_item16_13_a_used_up_budget_waits_for_the_plants_day() -> None:
    """Daily budgets count the plants' local day: a budget used up at noon in Amsterdam
    (UTC+2) is there again at 22:00 UTC, not two hours later at UTC midnight."""
    clock = FakeClock(datetime(2025, 6, 1, 10, tzinfo=UTC).timestamp())
    gov = _gov(clock)
    gov.set_day_offset(2 * 3600)
    await accepted_calls(gov, HOUR, 5, clock, 3600)
    clock.advance(await _call(gov, HOUR, refused=True))
    await _call(gov, HOUR, refused=True)
    assert gov.daily_budget(HOUR) == 5
    local_midnight = datetime(2025, 6, 1, 22, tzinfo=UTC).timestamp()
    assert gov.retry_after(HOUR) == pytest.approx(local_midnight - clock.now)
    clock.now = local_midnight + 1
    await accepted_calls(gov, HOUR, 5, clock, 61)  # a new day's budget
    assert not gov.can_call(HOUR)
    # The offset survives a restart.
    restarted = _gov(clock)
    restarted.restore_state(json.loads(json.dumps(gov.export_state())))
    assert not restarted.can_call(HOUR)


async def test_item16_13_a_day_that_turns_later_keeps_the_budget() -> None:
    """If the service's day turns later than the plants' midnight, the first call of the
    day is refused: that is no smaller budget, only an hour's wait, as often as needed."""
    clock = FakeClock(datetime(2025, 6, 1, 21, tzinfo=UTC).timestamp())
    gov = _gov(clock)
    gov.set_day_offset(2 * 3600)
    gov.restore_state({"endpoints": {HOUR: {"daily_budget": 5}}})
    for _ in range(3):  # refusals at the local midnight and after (UTC counts the day)
        clock.advance(await _call(gov, HOUR, refused=True))
    assert gov.daily_budget(HOUR) == 5
    retry = await _call(gov, HOUR, refused=True)
    assert gov.daily_budget(HOUR) == 5
    assert retry == pytest.approx(3600)


async def test_login_refusal_only_blocks_the_window() -> None:
    clock = FakeClock()
    gov = _gov(clock)
    retry = await _call(gov, Endpoint.V7_LOGIN, refused=True)
    assert retry == pytest.approx(61.0)
    assert gov.daily_budget(Endpoint.V7_LOGIN) is None
    clock.advance(61)
    assert gov.can_call(Endpoint.V7_LOGIN)


async def test_decay_after_interval() -> None:
    clock = FakeClock()
    gov = _gov(clock)
    await _call(gov, RT)
    await _call(gov, RT, refused=True)
    assert gov.limit(RT) == 1
    clock.advance(DECAY_INTERVAL - 10)
    assert gov.limit(RT) == 1
    clock.advance(11)
    gov.snapshot()  # rolls
    assert gov.limit(RT) == 2


async def test_failed_probe_doubles_interval() -> None:
    clock = FakeClock()
    gov = _gov(clock)
    await _call(gov, RT)
    await _call(gov, RT, refused=True)
    clock.advance(DECAY_INTERVAL + 1)
    assert gov.retry_after(RT) == 0
    assert gov.limit(RT) == 2
    await _call(gov, RT)
    await _call(gov, RT, refused=True)  # probe failed: the second call was refused
    assert gov.limit(RT) == 1
    assert gov.snapshot()[RT]["decay_interval"] == 2 * DECAY_INTERVAL


async def test_decay_back_to_spec() -> None:
    clock = FakeClock()
    gov = _gov(clock, decay_interval=100.0)
    await accepted_calls(gov, RT, 3)
    await _call(gov, RT, refused=True)
    assert gov.limit(RT) == 3
    for _ in range(10):
        clock.advance(101)
        gov.snapshot()
    assert gov.limit(RT) == 10
    assert gov.snapshot()[RT]["learned_limit"] is None


async def test_export_restore_roundtrip() -> None:
    clock = FakeClock()
    gov = _gov(clock)
    await accepted_calls(gov, RT, 2)
    await _call(gov, RT, refused=True)
    await _call(gov, HOUR, refused=True)
    state = json.loads(json.dumps(gov.export_state()))
    other = _gov(clock)
    other.restore_state(state)
    assert other.limit(RT) == 2
    assert other.retry_after(RT) == pytest.approx(gov.retry_after(RT))
    assert other.daily_budget(HOUR) == gov.daily_budget(HOUR)
    assert other.calls_in_window(RT) == 3
    assert other.refusals(RT) == 1
    # Restoring never loosens.
    other.restore_state({"version": 1, "endpoints": {RT: {"learned_limit": 9}}})
    assert other.limit(RT) == 2


async def test_inflight_serialises_an_endpoint() -> None:
    clock = FakeClock()
    gov = _gov(clock)
    first = await gov.acquire(RT)
    second = asyncio.create_task(gov.acquire(RT, wait=True))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert not second.done()
    first.refused()  # a refusal while the second waited: it must not be sent now
    slot = await second
    assert clock.now >= first.time + 61
    slot.success()


async def test_control_goes_first() -> None:
    clock = FakeClock()
    gate = asyncio.Event()

    async def gated_sleep(seconds: float) -> None:
        await gate.wait()
        await clock.sleep(seconds)

    gov = QuotaGovernor(clock=clock, sleep=gated_sleep)
    await _call(gov, HOUR)
    order: list[str] = []

    async def take(name: str, prio: Priority) -> None:
        slot = await gov.acquire(HOUR, priority=prio, wait=True)
        order.append(name)
        slot.success()

    read = asyncio.create_task(take("read", Priority.READ))
    await asyncio.sleep(0)
    control = asyncio.create_task(take("control", Priority.CONTROL))
    await asyncio.sleep(0)
    gate.set()
    await asyncio.wait_for(asyncio.gather(read, control), 5)
    assert order == ["control", "read"]


async def test_reads_leave_headroom_on_shared_endpoints() -> None:
    clock = FakeClock()
    gov = _gov(clock, limits={Endpoint.VPP_CHARGE_DISCHARGE_STATUS: 3})
    ep = Endpoint.VPP_CHARGE_DISCHARGE_STATUS
    await _call(gov, ep)
    await _call(gov, ep)
    assert not gov.can_call(ep)
    assert gov.can_call(ep, priority=Priority.CONTROL)
    await _call(gov, ep, priority=Priority.CONTROL)


async def test_default_clock_is_time_time(monkeypatch: pytest.MonkeyPatch) -> None:
    gov = QuotaGovernor()
    monkeypatch.setattr("time.time", lambda: 1234.0)
    assert gov.now() == 1234.0


async def test_a_slot_takes_only_its_first_outcome() -> None:
    clock = FakeClock()
    gov = _gov(clock)
    slot = await gov.acquire(RT)
    slot.success()
    slot.success()  # counted once
    assert gov.snapshot()[RT]["total_calls"] == 1
    # Later reports change nothing: they only say when the endpoint may be called.
    assert slot.refused() == 0.0
    assert slot.refused(daily=True) == 0.0
    assert slot.busy() == 0.0
    assert slot.system_refused() == 0.0
    assert gov.refusals(RT) == 0
    assert gov.daily_budget(RT) is None
    assert gov.retry_after(LIST) == 0.0  # no account-wide pause
    assert gov.calls_in_window(RT) == 1
    login = await gov.acquire(Endpoint.LEGACY_LOGIN)
    login.success()
    clock.advance(61)
    assert gov.can_call(Endpoint.LEGACY_LOGIN)  # only the login's own minute
    # A late report still tells the truth about the endpoint's wait.
    blocked = await gov.acquire(HOUR)
    assert blocked.refused() == pytest.approx(61.0)
    clock.advance(10)
    assert blocked.busy() == pytest.approx(51.0)
    assert blocked.system_refused() == pytest.approx(51.0)
    assert gov.refusals(HOUR) == 1


async def test_decay_raises_a_learned_daily_budget() -> None:
    clock = FakeClock(datetime(2025, 6, 1, 10, tzinfo=UTC).timestamp())
    gov = _gov(clock)
    await _call(gov, HOUR)
    clock.advance(61)
    await _call(gov, HOUR)
    clock.advance(61)
    (await gov.acquire(HOUR)).refused(daily=True)  # 20618 after two accepted calls
    assert gov.daily_budget(HOUR) == 2
    assert gov.limit(HOUR) == 1  # the minute limit was not touched
    clock.advance(DECAY_INTERVAL - 1)
    assert gov.snapshot()[HOUR]["daily_budget"] == 2
    clock.advance(1)
    snap = gov.snapshot()[HOUR]
    assert snap["daily_budget"] == 3
    assert snap["learned_limit"] is None
    clock.advance(DECAY_INTERVAL)
    assert gov.snapshot()[HOUR]["daily_budget"] == 4


async def test_a_cancelled_waiter_does_not_break_the_release() -> None:
    clock = FakeClock()
    gov = _gov(clock)
    first = await gov.acquire(RT)
    waiter = asyncio.create_task(gov.acquire(RT, wait=True))
    await asyncio.sleep(0)
    assert not waiter.done()
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    first.success()  # must not fail on the cancelled waiter's future
    assert gov.can_call(RT)
    (await gov.acquire(RT)).success()
    assert gov.calls_in_window(RT) == 2


async def test_refund_after_the_call_left_the_window() -> None:
    clock = FakeClock()
    gov = _gov(clock)
    slot = await gov.acquire(HOUR)
    clock.advance(120)  # e.g. a connection attempt that hung for two minutes
    assert gov.calls_in_window(HOUR) == 0
    slot.refund()
    assert gov.calls_in_window(HOUR) == 0
    assert gov.can_call(HOUR)
    (await gov.acquire(HOUR)).success()
    assert gov.calls_in_window(HOUR) == 1


async def test_record_refusal_without_a_slot_learns_the_limit() -> None:
    clock = FakeClock()
    gov = _gov(clock)
    await accepted_calls(gov, RT, 3)
    assert gov.record_refusal(RT) == pytest.approx(61.0)
    assert gov.limit(RT) == 3
    assert gov.refusals(RT) == 1
    assert gov.calls_in_window(RT) == 4  # the refused call was on the wire too


async def test_refusal_of_a_full_window_learns_nothing() -> None:
    clock = FakeClock()
    gov = _gov(clock)
    await accepted_calls(gov, RT, 10)
    # The window was full (e.g. calls another tool made in our name): it explains it.
    assert gov.record_refusal(RT) == pytest.approx(61.0)
    assert gov.limit(RT) == 10
    assert gov.snapshot()[RT]["learned_limit"] is None
    assert gov.daily_budget(RT) is None


async def test_can_call_counts_every_call_asked_for() -> None:
    clock = FakeClock()
    gov = _gov(clock)
    await accepted_calls(gov, RT, 8)
    assert gov.can_call(RT, 2)
    assert not gov.can_call(RT, 3)
    assert gov.can_call(RT, 0)
    await _call(gov, RT, refused=True)
    assert not gov.can_call(RT)
    assert gov.can_call(RT, 0)  # nothing asked for is always allowed


async def test_restore_takes_only_well_formed_values() -> None:
    clock = FakeClock(datetime(2025, 6, 1, 10, tzinfo=UTC).timestamp())
    gov = _gov(clock)
    gov.restore_state(
        {
            "account_size": {"plants": 3, "devices_by_type": {"38": 2, "x": 1, "47": "a"}},
            "endpoints": {
                RT: {"learned_limit": True, "blocked_until": float("inf")},
                LIST: {"learned_limit": 4.0, "last_refusal": 1e20},
                HOUR: {"learned_limit": 2.5, "refusals": 1.0},
            },
        }
    )
    assert gov.account_size.plants == 3
    assert dict(gov.account_size.devices_by_type) == {38: 2}
    assert gov.limit(RT) == 10  # a boolean is no limit
    assert gov.retry_after(RT) == 0.0  # an infinite block is no block
    assert gov.limit(LIST) == 4  # 4.0 is an integer
    assert gov.limit(HOUR) == 1
    assert gov.refusals(HOUR) == 1
    snap = gov.snapshot()
    assert snap[LIST]["last_refusal"] is None  # a date out of range is not shown
    assert snap[LIST]["learned_limit"] == 4
    # A size without a plant count is ignored; the known one stays.
    gov.restore_state({"account_size": {"plants": "3", "devices_by_type": {"38": 9}}})
    gov.restore_state({"account_size": {"plants": 5, "devices_by_type": None}})
    assert gov.account_size.plants == 3
    assert dict(gov.account_size.devices_by_type) == {38: 2}


async def test_restore_keeps_an_account_pause_and_a_used_up_budget() -> None:
    clock = FakeClock(datetime(2025, 6, 1, 10, tzinfo=UTC).timestamp())
    gov = _gov(clock)
    today = datetime.fromtimestamp(clock.now, UTC).date().isoformat()
    gov.restore_state(
        {
            "paused_until": clock.now + 100,
            "endpoints": {
                HOUR: {
                    "daily_budget": 2,
                    "day": today,
                    "day_calls": 2,
                    "budget_used_up": clock.now - 600,
                }
            },
        }
    )
    assert gov.retry_after(LIST) == pytest.approx(100.0)
    assert gov.flow_snapshot()["paused_until"] is not None
    clock.advance(100)
    # Used up ten minutes ago: one probe an hour after it ran out.
    assert gov.retry_after(HOUR) == pytest.approx(3600.0 - 700.0)
    state = json.loads(json.dumps(gov.export_state()))
    assert state["endpoints"][HOUR]["budget_used_up"] == pytest.approx(clock.now - 700)
    restarted = _gov(clock)
    restarted.restore_state(state)
    assert restarted.retry_after(HOUR) == pytest.approx(3600.0 - 700.0)
