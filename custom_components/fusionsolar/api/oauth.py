"""OAuth access (26.2 digest §3.1.3): data calls with an access token from outside.

The owner's tokens are obtained and refreshed by the caller (Home Assistant's
``OAuth2Session``); the client asks its ``TokenProvider`` for the token of the moment
before each call and sends it as ``Authorization: Bearer``. Nothing logs in or out, and
only the legacy ``/thirdData`` and ``nbi`` paths exist (no V7 on today's cloud).

A 305 (``INVALID_CREDENTIAL``, §8.1.4) hands the refused token back to the provider once,
which refreshes it; a second 305, or the provider giving the refused token again, means
the authorization ended (revoked by the owner, or a newer authorization replaced it):
:class:`OAuthRevokedError`, an :class:`AuthenticationError`, so the caller signs in again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Protocol

from .errors import ApiFamilyUnavailableError, OAuthRevokedError
from .oauthbudget import OAuthBudget

if TYPE_CHECKING:
    from .quota import QuotaGovernor

#: Returns a valid access token; given the token the cloud just refused, a newer one
#: (or raises :class:`OAuthRevokedError` when the authorization ended).
TokenProvider = Callable[[str | None], Awaitable[str]]

REVOKED_MESSAGE = "The owner's authorization ended; sign in with FusionSolar again"


class TokenSession(Protocol):
    """What the OAuth side needs of a family's session."""

    token: str | None
    generation: int
    available: bool | None


class BearerSessions:
    """The OAuth side of the client's sessions (mixed into ``Sessions``)."""

    if TYPE_CHECKING:
        governor: QuotaGovernor
        _bearer: bool
        _oauth_budget: OAuthBudget | None
        _token_provider: TokenProvider | None
        _refused_token: str | None

    @property
    def oauth(self) -> bool:
        """Whether this client calls with an OAuth owner's access token."""
        return self._token_provider is not None

    @property
    def oauth_budget(self) -> OAuthBudget | None:
        """The owner's daily budget (OAuth clients)."""
        return self._oauth_budget

    def _use_bearer(self, provider: TokenProvider, budget: OAuthBudget | None) -> None:
        """Call with the provider's tokens; OAuth exists on today's cloud only."""
        self._token_provider = provider
        self._bearer = True
        self._oauth_budget = budget
        self.governor.note_cloud_2026()

    async def _bearer_token(self, family: str, sess: TokenSession) -> tuple[str, int]:
        """The access token for a call of ``family`` (no login)."""
        if family != "legacy":
            sess.available = False
            raise ApiFamilyUnavailableError("OAuth access offers no V7 API")
        assert self._token_provider is not None
        refused, self._refused_token = self._refused_token, None
        token = await self._token_provider(refused)
        if refused is not None and token == refused:
            raise OAuthRevokedError(REVOKED_MESSAGE)
        if token != sess.token:
            sess.token = token
            sess.generation += 1
        sess.available = True
        return token, sess.generation

    def _bearer_refused(self, token: str, again: bool) -> None:
        """A 305 for ``token``: the provider gets it back once, then the sign-in ended."""
        if again:
            raise OAuthRevokedError(REVOKED_MESSAGE)
        self._refused_token = token

    def _plan_budget(self) -> None:
        """Plan the owner's day for the account's size (plants, device groups)."""
        if self._oauth_budget is None:
            return
        size = self.governor.account_size
        groups = sum(-(-count // 100) for count in size.devices_by_type.values())
        self._oauth_budget.set_account_size(size.plants, groups)
