"""One client, one quota governor and one token per NBI account.

The NBI counts quota per account, and a new login may end the other sessions
of the same account. So everything that talks to one account (its config
entry, reloads) shares one `FusionSolarAccount`: one client, one governor whose
learned limits survive restarts, and a short cache of the plant list (a 1/min
endpoint) between the config flow and the setup. Config flows validate with an
`AccountProbe` (own client, same governor) that replaces the account's client
only when the flow succeeds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import aiohttp
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import (
    CONF_HOST,
    CONF_PASSWORD,
    CONF_USERNAME,
    CONF_VERIFY_SSL,
    EVENT_HOMEASSISTANT_STOP,
)
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers.aiohttp_client import async_create_clientsession
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util
from homeassistant.util.hass_dict import HassKey

from .api import FusionSolarClient, OAuthBudget, Plant, QuotaGovernor, TokenProvider
from .const import CONF_LEGACY_URL, CONF_V7_URL, DOMAIN, LOGGER

STORAGE_VERSION = 1
SAVE_DELAY = 30
PLANT_CACHE_SECONDS = 3600.0

DATA_ACCOUNTS: HassKey[AccountRegistry] = HassKey(f"{DOMAIN}_accounts")
BUDGET_KEY = "oauth_budget"  # an OAuth owner's calls of the day, kept with the quota


def utc_clock() -> float:
    """Return Home Assistant's notion of now (patched by time-travel in tests)."""
    return dt_util.utcnow().timestamp()


@dataclass(frozen=True, slots=True)
class AccountSettings:
    """What reaches one NBI account."""

    host: str
    username: str
    password: str
    legacy_url: str | None = None
    v7_url: str | None = None
    verify_ssl: bool = True
    token_provider: TokenProvider | None = None  # OAuth: the owner's access tokens

    @property
    def key(self) -> str:
        """Identify the account: its user name, whatever host serves it."""
        return account_key(self.username)


def settings_from_data(data: Mapping[str, Any]) -> AccountSettings:
    """Build the account settings stored in a config entry's data."""
    return AccountSettings(
        host=data[CONF_HOST],
        username=data[CONF_USERNAME],
        password=data[CONF_PASSWORD],
        legacy_url=data.get(CONF_LEGACY_URL),
        v7_url=data.get(CONF_V7_URL),
        verify_ssl=data.get(CONF_VERIFY_SSL, True),
    )


def account_key(username: str) -> str:
    """Build the unique id of an account: the user name, as the cloud compares it.

    The host is left out on purpose: a host move (the 2026 change of the EU operator)
    keeps the account, its entry and its learned quota.
    """
    return username.strip().lower()


def legacy_account_key(host: str, username: str) -> str:
    """The unique id of config entries before version 1.2 (host and user name)."""
    host = host.strip().lower().removeprefix("https://").removeprefix("http://").rstrip("/")
    return f"{host}|{account_key(username)}"


@dataclass(slots=True)
class FusionSolarAccount:
    """Shared state of one account."""

    settings: AccountSettings
    client: FusionSolarClient
    governor: QuotaGovernor
    session: aiohttp.ClientSession
    store: Store[dict[str, Any]]
    budget: OAuthBudget | None = None
    # When each device group (type, ids) was last read: a reload continues the turns.
    device_reads: dict[tuple[str, ...], datetime] = field(default_factory=dict)
    _plants: tuple[float, list[Plant]] | None = field(default=None)

    async def async_get_plants(self) -> list[Plant]:
        """Return the account's plants, reusing a recent answer."""
        if self._plants and utc_clock() - self._plants[0] < PLANT_CACHE_SECONDS:
            return self._plants[1]
        plants = await self.client.async_get_plants()
        self.remember_plants(plants)
        return plants

    def remember_plants(self, plants: list[Plant]) -> None:
        """Keep a plant list just fetched (by a config flow's validation)."""
        self._plants = (utc_clock(), plants)

    def forget_plants(self) -> None:
        """Drop the cached plant list so the next call asks the cloud."""
        self._plants = None

    @callback
    def async_schedule_save(self) -> None:
        """Persist what the governor learned, coalescing frequent calls."""
        self.store.async_delay_save(self.export_state, SAVE_DELAY)

    def export_state(self) -> dict[str, Any]:
        """The governor's state, with an OAuth owner's calls of the day."""
        state = self.governor.export_state()
        if self.budget is not None:
            state[BUDGET_KEY] = self.budget.export_state()
        return state


@dataclass(slots=True)
class AccountProbe:
    """A throw-away client that validates settings in a config flow.

    It has its own session and credentials, so a typo never reaches the running
    entry, but the account's governor, so its login counts in the account's login
    window. The registry adopts it only when the flow succeeds.
    """

    key: str
    settings: AccountSettings
    client: FusionSolarClient
    session: aiohttp.ClientSession
    plants: list[Plant] = field(default_factory=list)

    async def async_validate(self) -> list[Plant]:
        """Log in and list the account's plants."""
        await self.client.async_login()
        self.plants = await self.client.async_get_plants()
        return self.plants

    def discard(self) -> None:
        """Drop the probe (the flow failed or was abandoned)."""
        self.session.detach()


class AccountRegistry:
    """All accounts known to this Home Assistant instance."""

    def __init__(self, hass: HomeAssistant) -> None:
        """Initialize the registry and close sessions when Home Assistant stops."""
        self._hass = hass
        self._accounts: dict[str, FusionSolarAccount] = {}
        self._quotas: dict[str, tuple[QuotaGovernor, Store[dict[str, Any]]]] = {}
        self._budgets: dict[str, OAuthBudget] = {}
        hass.bus.async_listen_once(EVENT_HOMEASSISTANT_STOP, self._async_on_stop)

    async def async_get(
        self, settings: AccountSettings, key: str | None = None
    ) -> FusionSolarAccount:
        """Return the account for these settings, creating or updating it.

        ``key`` is the config entry's unique id (default: the settings' user name).
        """
        key = key or settings.key
        account = self._accounts.get(key)
        if account is not None and account.settings == settings:
            return account
        return self.adopt(await self.async_probe(settings, key))

    async def async_probe(self, settings: AccountSettings, key: str) -> AccountProbe:
        """Return a throw-away client for these settings that shares the account's governor."""
        governor, _store = await self._async_quota(key)
        session = async_create_clientsession(
            self._hass,
            verify_ssl=settings.verify_ssl,
            auto_cleanup=False,
            cookie_jar=aiohttp.CookieJar(unsafe=True),
        )
        budget = self._budgets.get(key) if settings.token_provider is not None else None
        client = self._new_client(settings, session, governor, budget)
        return AccountProbe(key, settings, client, session)

    def adopt(self, probe: AccountProbe) -> FusionSolarAccount:
        """Make a validated probe the account's client: its flow succeeded."""
        governor, store = self._quotas.setdefault(
            probe.key, (probe.client.governor, _quota_store(self._hass, probe.key))
        )
        account = self._accounts.get(probe.key)
        if account is None:
            account = FusionSolarAccount(
                probe.settings, probe.client, governor, probe.session, store
            )
            account.budget = probe.client.oauth_budget
            self._accounts[probe.key] = account
        else:
            account.session.detach()
            account.settings, account.client = probe.settings, probe.client
            account.session = probe.session
            account.budget = probe.client.oauth_budget
        account.forget_plants()
        if probe.plants:
            account.remember_plants(probe.plants)
        return account

    def get_existing(self, key: str) -> FusionSolarAccount | None:
        """Return an account already set up, if any."""
        return self._accounts.get(key)

    async def async_remove(self, key: str) -> None:
        """Log out and forget an account (its config entry was removed)."""
        self._quotas.pop(key, None)
        self._budgets.pop(key, None)
        if (account := self._accounts.pop(key, None)) is None:
            return
        await _async_close(account)
        await account.store.async_remove()

    async def _async_quota(self, key: str) -> tuple[QuotaGovernor, Store[dict[str, Any]]]:
        """The account's governor (with what it learned before) and its store."""
        if (quota := self._quotas.get(key)) is None:
            governor = QuotaGovernor(clock=utc_clock)
            store = _quota_store(self._hass, key)
            budget = self._budgets[key] = OAuthBudget(utc_clock)
            if (stored := await store.async_load()) is not None:
                governor.restore_state(stored)
                if isinstance(owner := stored.get(BUDGET_KEY), Mapping):
                    budget.restore_state(owner)
            quota = self._quotas[key] = (governor, store)
        return quota

    @staticmethod
    def _new_client(
        settings: AccountSettings,
        session: aiohttp.ClientSession,
        governor: QuotaGovernor,
        budget: OAuthBudget | None,
    ) -> FusionSolarClient:
        return FusionSolarClient(
            session,
            settings.host,
            settings.username,
            settings.password,
            legacy_url=settings.legacy_url,
            v7_url=settings.v7_url,
            governor=governor,
            token_provider=settings.token_provider,
            oauth_budget=budget,
        )

    async def _async_on_stop(self, _event: Event) -> None:
        for account in self._accounts.values():
            await account.store.async_save(account.export_state())
            await _async_close(account)
        self._accounts.clear()


def _quota_store(hass: HomeAssistant, key: str) -> Store[dict[str, Any]]:
    return Store(hass, STORAGE_VERSION, f"{DOMAIN}.quota.{_slug(key)}")


async def async_move_quota_store(hass: HomeAssistant, old_key: str, new_key: str) -> None:
    """Keep what the governor learned when an account's key changes (entry migration)."""
    old = _quota_store(hass, old_key)
    if (data := await old.async_load()) is not None:
        await _quota_store(hass, new_key).async_save(data)
    await old.async_remove()


def entry_account_key(entry: ConfigEntry) -> str:
    """The registry key of a config entry's account: its unique id."""
    return entry.unique_id or account_key(entry.data[CONF_USERNAME])


async def _async_close(account: FusionSolarAccount) -> None:
    try:
        await account.client.async_close()
    except Exception as err:
        LOGGER.debug("Logout of %s failed: %s", account.settings.host, type(err).__name__)
    account.session.detach()


def _slug(key: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in key)


def async_get_registry(hass: HomeAssistant) -> AccountRegistry:
    """Return the account registry, creating it on first use."""
    if (registry := hass.data.get(DATA_ACCOUNTS)) is None:
        registry = hass.data[DATA_ACCOUNTS] = AccountRegistry(hass)
    return registry
