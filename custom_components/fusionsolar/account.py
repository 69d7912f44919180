"""One client, one quota governor and one token per NBI account.

The NBI counts quota per account, and a new login may end the other sessions
of the same account. So everything that talks to one account (config flows,
every config entry of it, reloads) shares one `FusionSolarAccount`: one
client, one governor whose learned limits survive restarts, and a short cache
of the plant list (a 1/min endpoint) between the config flow and the setup.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import aiohttp
from homeassistant.const import EVENT_HOMEASSISTANT_STOP
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers.aiohttp_client import async_create_clientsession
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util
from homeassistant.util.hass_dict import HassKey

from .api import FusionSolarClient, Plant, QuotaGovernor
from .const import DOMAIN, LOGGER

STORAGE_VERSION = 1
SAVE_DELAY = 30
PLANT_CACHE_SECONDS = 3600.0

DATA_ACCOUNTS: HassKey[AccountRegistry] = HassKey(f"{DOMAIN}_accounts")


def utc_clock() -> float:
    """Return Home Assistant's notion of now (patched by time-travel in tests)."""
    return dt_util.utcnow().timestamp()


@dataclass(frozen=True, slots=True)
class AccountSettings:
    """What identifies and reaches one NBI account."""

    host: str
    username: str
    password: str
    legacy_url: str | None = None
    v7_url: str | None = None
    verify_ssl: bool = True

    @property
    def key(self) -> str:
        """Identify the account: quota and sessions are per host and user."""
        return account_key(self.host, self.username)


def account_key(host: str, username: str) -> str:
    """Build the unique id of an account."""
    host = host.strip().lower().removeprefix("https://").removeprefix("http://").rstrip("/")
    return f"{host}|{username.strip().lower()}"


@dataclass(slots=True)
class FusionSolarAccount:
    """Shared state of one account."""

    settings: AccountSettings
    client: FusionSolarClient
    governor: QuotaGovernor
    session: aiohttp.ClientSession
    store: Store[dict[str, Any]]
    _plants: tuple[float, list[Plant]] | None = field(default=None)

    async def async_get_plants(self) -> list[Plant]:
        """Return the account's plants, reusing a recent answer."""
        if self._plants and utc_clock() - self._plants[0] < PLANT_CACHE_SECONDS:
            return self._plants[1]
        plants = await self.client.async_get_plants()
        self._plants = (utc_clock(), plants)
        return plants

    def forget_plants(self) -> None:
        """Drop the cached plant list so the next call asks the cloud."""
        self._plants = None

    @callback
    def async_schedule_save(self) -> None:
        """Persist what the governor learned, coalescing frequent calls."""
        self.store.async_delay_save(self.governor.export_state, SAVE_DELAY)


class AccountRegistry:
    """All accounts known to this Home Assistant instance."""

    def __init__(self, hass: HomeAssistant) -> None:
        """Initialize the registry and close sessions when Home Assistant stops."""
        self._hass = hass
        self._accounts: dict[str, FusionSolarAccount] = {}
        hass.bus.async_listen_once(EVENT_HOMEASSISTANT_STOP, self._async_on_stop)

    async def async_get(self, settings: AccountSettings) -> FusionSolarAccount:
        """Return the account for these settings, creating or updating it."""
        account = self._accounts.get(settings.key)
        if account is not None and account.settings == settings:
            return account
        if account is not None:
            # New password or URLs: a new client, but the same governor.
            account.client = self._new_client(settings, account.session, account.governor)
            account.settings = settings
            account.forget_plants()
            return account
        governor = QuotaGovernor(clock=utc_clock)
        store: Store[dict[str, Any]] = Store(
            self._hass, STORAGE_VERSION, f"{DOMAIN}.quota.{_slug(settings.key)}"
        )
        if (stored := await store.async_load()) is not None:
            governor.restore_state(stored)
        session = async_create_clientsession(
            self._hass,
            verify_ssl=settings.verify_ssl,
            auto_cleanup=False,
            cookie_jar=aiohttp.CookieJar(unsafe=True),
        )
        account = FusionSolarAccount(
            settings=settings,
            client=self._new_client(settings, session, governor),
            governor=governor,
            session=session,
            store=store,
        )
        self._accounts[settings.key] = account
        return account

    def get_existing(self, key: str) -> FusionSolarAccount | None:
        """Return an account already set up, if any."""
        return self._accounts.get(key)

    async def async_remove(self, key: str) -> None:
        """Log out and forget an account (its config entry was removed)."""
        if (account := self._accounts.pop(key, None)) is None:
            return
        await _async_close(account)
        await account.store.async_remove()

    @staticmethod
    def _new_client(
        settings: AccountSettings, session: aiohttp.ClientSession, governor: QuotaGovernor
    ) -> FusionSolarClient:
        return FusionSolarClient(
            session,
            settings.host,
            settings.username,
            settings.password,
            legacy_url=settings.legacy_url,
            v7_url=settings.v7_url,
            governor=governor,
        )

    async def _async_on_stop(self, _event: Event) -> None:
        for account in self._accounts.values():
            await account.store.async_save(account.governor.export_state())
            await _async_close(account)
        self._accounts.clear()


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
