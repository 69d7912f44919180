"""The governor on today's cloud (SmartPVMS 26.2): both flow-control policies, 429, 20200,
20618 and the login guard. Issue "Today's FusionSolar cloud", flow control.

Limits come from the 26.2 digest (§4.2 formulas and examples, §7.2, §3.2.2.1, §4, §7.1).
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from custom_components.fusionsolar.api import (
    Endpoint,
    QuotaGovernor,
    QuotaWouldExceed,
)
from custom_components.fusionsolar.api.flowpolicy import (
    AccountSize,
    DataKind,
    EndpointPlan,
    FlowPolicy,
    Rule,
    dynamic_rule,
)

from .conftest import ClientFactory
from .fakes import FakeClock
from .governor import accepted_calls, governor
from .governor import call as _call

RT = Endpoint.STATION_REAL_KPI
DEV_RT = Endpoint.DEV_REAL_KPI
ALARMS = Endpoint.ALARM_LIST
REPORT = Endpoint.KPI_STATION_DAY
HISTORY = Endpoint.NBI_DEVICE_HISTORY
LOGIN = Endpoint.LEGACY_LOGIN
DAY = 86400.0


def _gov(clock: FakeClock, policy: FlowPolicy = FlowPolicy.DYNAMIC) -> QuotaGovernor:
    return governor(clock, policy=policy)


def test_flow_4_2_formulas_match_the_digest_examples() -> None:
    """§4.2 examples: 20 and 120 plants, 20/120 inverters and meters, history rates."""
    small = AccountSize(20, {38: 20, 47: 20})
    large = AccountSize(120, {38: 120, 47: 120})
    assert dynamic_rule(DataKind.PLANT_LIST, small) == Rule(34, DAY)
    assert dynamic_rule(DataKind.PLANT_LIST, large) == Rule(44, DAY)
    assert dynamic_rule(DataKind.DEVICE_LIST, large) == Rule(26, DAY)
    assert dynamic_rule(DataKind.PLANT_REALTIME, large) == Rule(2, 300.0)
    assert dynamic_rule(DataKind.DEVICE_REALTIME, small) == Rule(2, 300.0)
    assert dynamic_rule(DataKind.DEVICE_REALTIME, large) == Rule(4, 300.0)
    assert dynamic_rule(DataKind.ALARMS, small) == Rule(2, 1800.0)
    assert dynamic_rule(DataKind.ALARMS, large) == Rule(4, 1800.0)
    assert dynamic_rule(DataKind.PLANT_REPORT, small) == Rule(25, DAY)
    assert dynamic_rule(DataKind.DEVICE_REPORT, large) == Rule(28, DAY)
    history = dynamic_rule(DataKind.DEVICE_HISTORY, AccountSize(20, {1: 20, 17: 10}))
    assert history.limit == 1
    assert history.window == pytest.approx(20.0)  # "one call every 20 seconds"
    big = dynamic_rule(DataKind.DEVICE_HISTORY, AccountSize(1200, {1: 600, 17: 600}))
    assert big == Rule(2, 1.0)


async def test_flow_v500r007_default_behaviour_unchanged() -> None:
    """Without a hint the governor keeps the 2021 per-minute table only."""
    clock = FakeClock()
    gov = governor(clock)
    assert gov.policy is FlowPolicy.V500R007
    assert gov.rules(RT) == ()
    await accepted_calls(gov, RT, 10)
    assert not gov.can_call(RT)
    assert gov.retry_after(RT) == pytest.approx(61.0)


async def test_flow_4_2_plant_realtime_per_5_minutes_by_size() -> None:
    """1 plant: ⌈1/100⌉ = 1 call per 5 minutes; 150 plants: 2 (plus the 1 s margin)."""
    clock = FakeClock()
    gov = _gov(clock)
    await _call(gov, RT)
    assert not gov.can_call(RT)
    assert gov.retry_after(RT) == pytest.approx(301.0)
    with pytest.raises(QuotaWouldExceed):
        await gov.acquire(RT)
    gov.set_account_size(150, {38: 150})
    assert gov.can_call(RT)
    await _call(gov, RT)
    assert not gov.can_call(RT)
    clock.advance(301)
    assert gov.can_call(RT)


async def test_flow_4_2_alarms_30_minute_budget() -> None:
    """Alarms max(⌈plants/100⌉, Σ⌈n/100⌉) per 30 minutes: 2 for 1 plant, 2 device types."""
    clock = FakeClock()
    gov = _gov(clock)
    gov.set_account_size(1, {38: 1, 39: 1})
    await _call(gov, ALARMS)
    clock.advance(61)
    await _call(gov, ALARMS)
    clock.advance(61)
    assert gov.retry_after(ALARMS) == pytest.approx(1801.0 - 122.0)


async def test_flow_4_2_daily_budget_is_a_rolling_day() -> None:
    """Plant reports ⌈plants/100⌉ + 24 = 25 per day, valid whatever the day boundary."""
    clock = FakeClock()
    gov = _gov(clock)
    start = clock.now
    await accepted_calls(gov, REPORT, 25, clock, 61)
    assert not gov.can_call(REPORT)
    assert clock.now + gov.retry_after(REPORT) == pytest.approx(start + DAY + 1.0)
    await _call(gov, Endpoint.KPI_STATION_MONTH)  # each endpoint has its own budget


async def test_flow_unknown_policy_applies_both_tables() -> None:
    """Until the policy is known: §7.2 history 1/min and §4.2's rate, login 5/10 min."""
    clock = FakeClock()
    gov = _gov(clock, FlowPolicy.UNKNOWN)
    gov.set_account_size(1500, {1: 1200})  # §4.2 alone: 2 history calls per second
    await _call(gov, HISTORY)
    assert gov.retry_after(HISTORY) == pytest.approx(61.0)
    await accepted_calls(gov, LOGIN, 5, clock, 61)
    assert gov.retry_after(LOGIN) == pytest.approx(601.0 - 5 * 61.0)
    plan = gov.plan([RT, HISTORY])
    assert plan[RT] == EndpointPlan(15, 301.0)  # ⌈1500/100⌉ per 5 min beats 10/min
    assert plan[HISTORY] == EndpointPlan(1, 61.0)


async def test_flow_nbi_family_answering_means_todays_cloud() -> None:
    """The first accepted call of /rest/openapi/pvms/nbi turns V500R007 into UNKNOWN."""
    clock = FakeClock()
    gov = governor(clock)
    (await gov.acquire(HISTORY)).refund()  # 404 HTML: not answered, no change
    assert gov.policy is FlowPolicy.V500R007
    await _call(gov, HISTORY)
    assert gov.policy is FlowPolicy.UNKNOWN
    gov.set_policy(FlowPolicy.STATIC)
    gov.note_cloud_2026()  # a known policy stays
    assert gov.policy is FlowPolicy.STATIC


async def test_flow_calls_before_the_hint_count_in_the_new_windows() -> None:
    """Calls made before the host was known as today's cloud still count (5 minutes)."""
    clock = FakeClock()
    gov = governor(clock)
    await _call(gov, RT)
    clock.advance(120)
    gov.note_cloud_2026()
    assert gov.retry_after(RT) == pytest.approx(301.0 - 120.0)
    assert "history" in gov.export_state()["endpoints"][RT]
    legacy = governor(clock)
    await _call(legacy, RT)
    assert "history" not in legacy.export_state()["endpoints"][RT]  # V500R007 state unchanged


async def test_flow_20618_learns_dynamic_and_the_day_is_used_up() -> None:
    """20618 on an UNKNOWN account: the dynamic policy, the endpoint waits for the next day."""
    clock = FakeClock()
    gov = _gov(clock, FlowPolicy.UNKNOWN)
    await _call(gov, Endpoint.DEV_LIST)
    clock.advance(61)
    retry = (await gov.acquire(Endpoint.DEV_LIST)).refused(daily=True)
    assert gov.policy is FlowPolicy.DYNAMIC
    assert gov.daily_budget(Endpoint.DEV_LIST) == 1
    midnight = datetime.fromtimestamp(clock.now, UTC).replace(hour=0, minute=0, second=0)
    assert clock.now + retry >= midnight.timestamp() + DAY


async def test_flow_429_pauses_every_endpoint_and_is_not_learned() -> None:
    """429: all endpoints wait 1 minute, doubling while 429s follow; limits unchanged."""
    clock = FakeClock()
    gov = _gov(clock)
    slot = await gov.acquire(DEV_RT)
    assert slot.system_refused() == pytest.approx(60.0)
    assert gov.retry_after(ALARMS) == pytest.approx(60.0)
    assert gov.retry_after(LOGIN) == pytest.approx(60.0)
    assert gov.refusals(DEV_RT) == 0
    assert gov.limit(DEV_RT) == gov.spec_limit(DEV_RT)
    clock.advance(60)
    assert (await gov.acquire(ALARMS)).system_refused() == pytest.approx(120.0)
    clock.advance(120)
    await _call(gov, RT)
    clock.advance(61)
    assert (await gov.acquire(LOGIN)).system_refused() == pytest.approx(60.0)


async def test_flow_20200_busy_short_backoff_not_learned() -> None:
    """20200 system busy: that endpoint waits 15 s (doubling), nothing is learned."""
    clock = FakeClock()
    gov = governor(clock)
    slot = await gov.acquire(DEV_RT)
    assert slot.busy() == pytest.approx(15.0)
    assert gov.retry_after(ALARMS) == 0
    clock.advance(15)
    assert (await gov.acquire(DEV_RT)).busy() == pytest.approx(30.0)
    assert gov.refusals(DEV_RT) == 0
    assert gov.limit(DEV_RT) == 10


async def test_flow_policy_size_and_rolling_day_survive_restart() -> None:
    """Policy, account size and the rolling day's calls are persisted."""
    clock = FakeClock()
    gov = _gov(clock, FlowPolicy.UNKNOWN)
    gov.set_account_size(150, {38: 150})
    gov.set_policy(FlowPolicy.DYNAMIC)
    await accepted_calls(gov, REPORT, 25, clock, 61)
    restarted = governor(clock)
    restarted.restore_state(json.loads(json.dumps(gov.export_state())))
    assert restarted.policy is FlowPolicy.DYNAMIC
    assert restarted.account_size.plant_hundreds == 2
    await _call(restarted, REPORT)  # 26 per day at 150 plants
    assert not restarted.can_call(REPORT)
    assert restarted.flow_snapshot()["plan"][REPORT] == {
        "calls": 26,
        "window": DAY + 1.0,
        "min_interval": pytest.approx((DAY + 1.0) / 26),
    }


def test_flow_plan_cycles() -> None:
    """A refresh of k calls fits m times in a window when m * k <= calls."""
    assert EndpointPlan(7, 301.0).cycle(7) == 301.001
    assert EndpointPlan(26, 86401.0).cycle(2) == 6646.231  # 86401 / 13, 1 ms over
    assert EndpointPlan(2, 301.0).cycle(3) == 602.0


# --- the real client against the simulator's cloud-2026 profile ------------------------------


@pytest.mark.parametrize(("plants", "hours"), [(1, 25), (150, 3)])
async def test_flow_cloud2026_by_the_plan_no_refusal(
    make_client: ClientFactory, clock: FakeClock, plants: int, hours: int
) -> None:
    """The real client on today's cloud at the plan's cadence: power flow and device data
    every 5 minutes, alarms and reports within their budgets (a day and more at 1 plant;
    150 plants: 2 batches, 7 device groups), and not one 407, 429 or 20618, nor a
    QuotaWouldExceed from the governor (every read is ``wait=False``)."""
    gov = governor(clock)
    sim, client = await make_client(profile="cloud-2026", plants=plants, governor=gov)
    gov.note_cloud_2026()  # the host is today's cloud: the policy is not known yet
    await client.async_login()
    codes = [plant.code for plant in sim.plants]
    devices = await client.async_get_devices(codes)
    sizes = Counter(device.dev_type_id for device in devices if device.dev_type_id is not None)
    gov.set_account_size(len(codes), sizes)
    groups = client.device_realtime_groups(devices)
    # n each of 38, 39, 17 and one SmartAssistant: Σ⌈n/100⌉ device calls per 5 minutes
    assert gov.account_size.type_hundreds == 3 * math.ceil(plants / 100) + 1
    batches = math.ceil(plants / 100)

    def hourly() -> Any:
        day_ms = int(clock.now // DAY * DAY * 1000)
        return client.async_get_plant_hourly(codes, day_ms)

    def alarms() -> Any:
        now_ms = int(clock.now * 1000)
        return client.async_get_alarms(codes, now_ms - 3_600_000, now_ms)

    async def device_data() -> None:
        for type_id, ids in groups:
            await client.async_get_device_realtime_group(type_id, ids)

    kinds: dict[str, tuple[Callable[[], Awaitable[Any]], float]] = {
        RT: (lambda: client.async_get_station_realtime(codes), gov.cycle(RT, batches)),
        DEV_RT: (device_data, gov.cycle(DEV_RT, len(groups))),
        ALARMS: (alarms, gov.cycle(ALARMS, batches)),
        Endpoint.KPI_STATION_HOUR: (hourly, gov.cycle(Endpoint.KPI_STATION_HOUR, batches)),
        Endpoint.DEV_LIST: (
            lambda: client.async_get_devices(codes),
            gov.cycle(Endpoint.DEV_LIST, batches),
        ),
    }
    assert kinds[RT][1] == kinds[DEV_RT][1] == 301.001  # every 5 minutes (+ 1 s margin)
    start = clock.now
    due = dict.fromkeys(kinds, start)
    due[Endpoint.DEV_LIST] += kinds[Endpoint.DEV_LIST][1]  # read once above
    cycles = dict.fromkeys(kinds, 0)
    while (name := min(due, key=due.__getitem__)) and due[name] < start + hours * 3600:
        clock.advance(due[name] - clock.now)
        read, every = kinds[name]
        await read()  # wait=False: raises QuotaWouldExceed if the plan were too fast
        cycles[name] += 1
        due[name] += every

    log = sim.calls
    assert log.refused == 0
    assert [log.count(fail_code=code) for code in (407, 429, 20618, 20200)] == [0, 0, 0, 0]
    assert cycles[RT] == math.ceil(hours * 3600 / 301)
    for endpoint in (RT, ALARMS, Endpoint.KPI_STATION_HOUR):
        assert log.count(endpoint, since=start) == batches * cycles[endpoint]
    assert log.count(DEV_RT, since=start) == len(groups) * cycles[DEV_RT]
    if hours > 24:  # a whole day of each daily budget used: 25 reports at 1 plant
        assert log.count(Endpoint.KPI_STATION_HOUR, since=start, until=start + DAY) == 25
    assert gov.policy is FlowPolicy.UNKNOWN


async def test_flow_refusal_the_policy_windows_explain_learns_nothing() -> None:
    """A refusal within a used-up §4.2 window: wait for that window, learn no limit."""
    clock = FakeClock()
    gov = _gov(clock)
    gov.set_account_size(1, {38: 1, 39: 1})  # alarms: 2 per 30 minutes
    await _call(gov, ALARMS)
    clock.advance(61)
    await _call(gov, ALARMS)
    clock.advance(61)
    retry = gov.record_refusal(ALARMS)
    assert retry == pytest.approx(1801.0 - 122.0)
    assert gov.limit(ALARMS) == gov.spec_limit(ALARMS)
    assert gov.daily_budget(ALARMS) is None
    assert gov.policy is FlowPolicy.DYNAMIC


async def test_flow_refusal_the_minute_explains_keeps_the_policy_unknown() -> None:
    """On an UNKNOWN account, a 407 of a full minute window says nothing about §4.2."""
    clock = FakeClock()
    gov = _gov(clock, FlowPolicy.UNKNOWN)
    gov.set_account_size(1000, {38: 1000})
    endpoint = Endpoint.DEV_REAL_KPI
    limit = gov.spec_limit(endpoint)
    await accepted_calls(gov, endpoint, limit)
    gov.record_refusal(endpoint)
    assert gov.policy is FlowPolicy.UNKNOWN
    assert gov.limit(endpoint) == limit
    # The same refusal with nothing in the window: the dynamic policy.
    clock.advance(3600)
    gov.record_refusal(endpoint)
    assert gov.policy is FlowPolicy.DYNAMIC


async def test_flow_can_call_counts_the_policy_windows_for_every_call() -> None:
    """Two calls asked for where the 30-minute window has room for one: not now."""
    clock = FakeClock()
    gov = _gov(clock)
    gov.set_account_size(1, {38: 1, 39: 1})  # alarms: 2 per 30 minutes
    await _call(gov, ALARMS)
    clock.advance(61)
    assert gov.can_call(ALARMS)
    assert not gov.can_call(ALARMS, 2)  # the minute window alone would allow it
    clock.advance(1801 - 61)
    assert gov.can_call(ALARMS, 2)
