"""Issue 20: the OAuth client and the owner's budget on odd answers and odd stored state."""

from __future__ import annotations

import pytest

from custom_components.fusionsolar.api import (
    FusionSolarClient,
    OAuthBudget,
    OAuthRevokedError,
    QuotaWouldExceed,
)
from custom_components.fusionsolar.api.oauthbudget import (
    BASIC,
    BASIC_PER_DAY,
    CONTROL,
    CONTROL_PER_DAY,
    DAY,
    category,
)
from custom_components.fusionsolar.api.quotastate import Priority
from tests.oauth_helpers import grant
from tests.simulator import Simulator
from tests.simulator.oauth import SCOPE_BASIC

from .conftest import ClientFactory
from .fakes import FakeClock


class StuckProvider:
    """A provider that hands back the refused token (its refresh failed silently)."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.refused: list[str | None] = []

    async def __call__(self, refused: str | None) -> str:
        self.refused.append(refused)
        return self.token


class BogusRefreshProvider(StuckProvider):
    """A provider whose "refreshed" token the cloud does not know either."""

    async def __call__(self, refused: str | None) -> str:
        self.refused.append(refused)
        return self.token if refused is None else f"{self.token}-unknown"


async def _client_with(
    make_client: ClientFactory, clock: FakeClock, provider_class: type[StuckProvider]
) -> tuple[Simulator, StuckProvider, FusionSolarClient]:
    sim, _ = await make_client(profile="cloud-2026")
    provider = provider_class(grant(sim, SCOPE_BASIC).access_token)
    _, client = await make_client(
        sim=sim, client_kwargs={"token_provider": provider, "oauth_budget": OAuthBudget(clock)}
    )
    return sim, provider, client


async def test_item20_oauth_provider_giving_the_refused_token_again_is_revoked(
    make_client: ClientFactory, clock: FakeClock
) -> None:
    sim, provider, client = await _client_with(make_client, clock, StuckProvider)
    sim.oauth.expire_access_tokens()
    with pytest.raises(OAuthRevokedError):
        await client.async_get_plants()
    assert provider.refused == [None, provider.token]
    assert [r.fail_code for r in sim.calls.records] == [305]  # no second call with it


async def test_item20_oauth_second_305_after_a_refresh_is_revoked(
    make_client: ClientFactory, clock: FakeClock
) -> None:
    sim, provider, client = await _client_with(make_client, clock, BogusRefreshProvider)
    sim.oauth.expire_access_tokens()
    with pytest.raises(OAuthRevokedError):
        await client.async_get_plants()
    assert provider.refused == [None, provider.token]
    assert [r.fail_code for r in sim.calls.records] == [305, 305]


def test_item20_oauth_budget_unknown_control_paths_count_as_control() -> None:
    assert category("/thirdData/control/futureAction") == CONTROL
    assert category("/thirdData/futureReading") == BASIC


def test_item20_oauth_budget_left_counts_down_and_never_below_zero() -> None:
    clock = FakeClock()
    budget = OAuthBudget(clock, basic=BASIC_PER_DAY, control=1)
    assert budget.left(CONTROL) == 1
    budget.restore_state({CONTROL: [clock() - 10, clock() - 5]})  # over the limit
    assert budget.left(CONTROL) == 0
    clock.advance(DAY)
    assert budget.left(CONTROL) == 1


def test_item20_oauth_budget_refund_without_calls_changes_nothing() -> None:
    budget = OAuthBudget(FakeClock())
    budget.refund("/thirdData/getStationList")
    assert budget.used(BASIC) == 0
    assert budget.left(BASIC) == BASIC_PER_DAY


def test_item20_oauth_budget_restore_ignores_odd_shapes() -> None:
    clock = FakeClock()
    budget = OAuthBudget(clock)
    budget.restore_state({BASIC: "not a list", CONTROL: {"a": 1}, "paused": ["odd"]})
    budget.restore_state({"paused": {BASIC: "soon", CONTROL: None}})
    assert budget.export_state() == {BASIC: [], CONTROL: [], "paused": {}}
    assert budget.left(CONTROL) == CONTROL_PER_DAY


def test_item20_oauth_budget_restore_keeps_a_stored_pause() -> None:
    clock = FakeClock()
    budget = OAuthBudget(clock)
    until = clock() + 600
    budget.restore_state({"paused": {BASIC: until, CONTROL: "odd"}})
    assert budget.export_state()["paused"] == {BASIC: until}
    with pytest.raises(QuotaWouldExceed, match="allows this call in 600 s"):
        budget.reserve("/thirdData/getStationList", Priority.READ)
