"""Issue 20: the client on OAuth (Bearer tokens from outside, the owner's daily budgets)."""

from __future__ import annotations

from typing import Any

import pytest

from custom_components.fusionsolar.api import (
    DailyBudgetSpentError,
    Endpoint,
    FusionSolarClient,
    OAuthBudget,
    OAuthRevokedError,
    QuotaExceededError,
    QuotaWouldExceed,
)
from custom_components.fusionsolar.api.oauthbudget import (
    BASIC,
    BASIC_PER_DAY,
    CONTROL,
    DAY,
    category,
    make_plan,
)
from custom_components.fusionsolar.api.quotastate import Priority
from tests.oauth_helpers import grant
from tests.simulator import Simulator
from tests.simulator.oauth import SCOPE_BASIC, SCOPE_CONTROL, Grant

from .conftest import ClientFactory
from .fakes import FakeClock


class Provider:
    """Stands in for Home Assistant's OAuth2Session: refreshes when given a refused token."""

    def __init__(self, sim: Simulator, grant: Grant) -> None:
        self.sim = sim
        self.grant = grant
        self.refused: list[str | None] = []

    async def __call__(self, refused: str | None) -> str:
        self.refused.append(refused)
        if refused is not None and not self.grant.revoked:
            self.grant.access_token = f"at-refreshed-{len(self.refused)}"
            self.grant.access_expires = self.sim.now() + 3600
        return self.grant.access_token


async def oauth_client(
    make_client: ClientFactory, clock: FakeClock, **config: Any
) -> tuple[Simulator, FusionSolarClient, Provider, OAuthBudget]:
    sim, _ = await make_client(profile="cloud-2026", **config)
    provider = Provider(sim, grant(sim, SCOPE_BASIC, SCOPE_CONTROL))
    budget = OAuthBudget(clock)
    _, client = await make_client(
        sim=sim, client_kwargs={"token_provider": provider, "oauth_budget": budget}
    )
    return sim, client, provider, budget


async def test_item20_oauth_client_calls_with_bearer_and_never_logs_in(
    make_client: ClientFactory, clock: FakeClock
) -> None:
    sim, client, _provider, budget = await oauth_client(make_client, clock, plants=2)
    families = await client.async_login()
    plants = await client.async_get_plants()
    devices = await client.async_get_devices([p.code for p in plants])
    assert (families.legacy, families.v7) == (True, False)
    assert len(plants) == 2
    assert devices
    assert client.oauth
    logins = [r for r in sim.calls.records if r.endpoint.endswith("/login")]
    assert logins == []
    assert {r.account for r in sim.calls.records} == {"oauth:owner"}
    assert budget.used(BASIC) == len(sim.calls.records)
    # The plan knows the account's size now: one group per device type.
    assert budget.plan.device_groups == len({d.dev_type_id for d in devices}) > 1
    await client.async_close()
    assert not [r for r in sim.calls.records if r.endpoint.endswith("/logout")]


async def test_item20_oauth_client_refreshes_a_refused_token_once(
    make_client: ClientFactory, clock: FakeClock
) -> None:
    sim, client, provider, _ = await oauth_client(make_client, clock)
    await client.async_get_plants()
    old = provider.grant.access_token
    sim.oauth.expire_access_tokens()
    clock.advance(DAY / 4)  # the plan lists plants four times a day
    plants = await client.async_get_plants()
    assert plants
    assert old in provider.refused  # handed back once, then the refreshed token worked
    assert [r.fail_code for r in sim.calls.records][-2:] == [305, 0]


async def test_item20_oauth_client_revoked_authorization_is_a_distinct_error(
    make_client: ClientFactory, clock: FakeClock
) -> None:
    sim, client, _provider, _ = await oauth_client(make_client, clock)
    await client.async_get_plants()
    sim.oauth.revoke_owner("owner")
    clock.advance(DAY / 4)
    with pytest.raises(OAuthRevokedError):
        await client.async_get_plants()


def test_item20_oauth_budget_plan_fits_the_day() -> None:
    for plants, groups in ((1, 3), (10, 3), (150, 8)):
        plan = make_plan(plants, groups)
        assert plan.calls_per_day <= BASIC_PER_DAY - 50
        assert plan.gaps[Endpoint.STATION_REAL_KPI] <= 300  # power flow every refresh
        assert plan.device_refresh >= 300


def test_item20_oauth_budget_refuses_before_sending() -> None:
    clock = FakeClock(1_750_000_000.0)
    budget = OAuthBudget(clock)
    budget.reserve(Endpoint.DEV_REAL_KPI, Priority.READ)
    with pytest.raises(QuotaWouldExceed) as err:
        budget.reserve(Endpoint.DEV_REAL_KPI, Priority.READ)
    assert 0 < err.value.retry_after <= budget.plan.device_gap
    # Reads leave the last control calls for the user's commands.
    status = Endpoint.VPP_CHARGE_DISCHARGE_STATUS
    assert category(status) == CONTROL
    for _ in range(60):
        budget.reserve(status, Priority.READ)
    with pytest.raises(QuotaWouldExceed):
        budget.reserve(status, Priority.READ)
    for _ in range(40):
        budget.reserve(Endpoint.VPP_CHARGE_DISCHARGE, Priority.CONTROL)
    with pytest.raises(DailyBudgetSpentError) as spent:
        budget.reserve(Endpoint.VPP_CHARGE_DISCHARGE, Priority.CONTROL)
    assert spent.value.retry_after == pytest.approx(DAY)
    clock.advance(DAY)
    budget.reserve(Endpoint.VPP_CHARGE_DISCHARGE, Priority.CONTROL)
    restored = OAuthBudget(clock)
    restored.restore_state(budget.export_state())
    assert restored.used(CONTROL) == budget.used(CONTROL) == 1


async def test_item20_oauth_client_a_407_pauses_the_owners_category(
    make_client: ClientFactory, clock: FakeClock
) -> None:
    sim, client, _provider, budget = await oauth_client(make_client, clock)
    day = sim.local_day(sim.now()).isoformat()
    sim.oauth.used[("oauth:owner", day, SCOPE_BASIC)] = 1000
    with pytest.raises(QuotaExceededError) as err:
        await client.async_get_plants()
    assert err.value.retry_after >= 3600
    with pytest.raises(QuotaWouldExceed):
        await client.async_get_plants()
    assert budget.refusals == 1
