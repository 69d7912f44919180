"""First-run setup of the dev instance through Home Assistant's own APIs.

Onboarding (owner ``dev`` / ``fusionsolar-dev``), the FusionSolar config flow against
the simulator, and the Energy dashboard, each only when not done yet, so every run
of ``scripts/develop`` may call it. Everything goes through the REST and websocket
APIs a browser would use; nothing is written into ``.storage`` by hand.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp

DEV_NAME = "Developer"
DEV_USERNAME = "dev"
DEV_PASSWORD = "fusionsolar-dev"  # documented in the README; loopback-only dev instance
DOMAIN = "fusionsolar"

# Live sensors for the Energy dashboard, by translation key (sensor.py).
SOLAR_KEY = "energy_total"
GRID_IMPORT_KEY = "grid_import_energy"
GRID_EXPORT_KEY = "grid_export_energy"
BATTERY_OUT_KEY = "discharged_energy"
BATTERY_IN_KEY = "charged_energy"


HISTORY_KEY = "history_backfill"
HISTORY_WAIT = 120.0  # the first import starts 30 s after setup
ONBOARDING_EXTRAS = ("google_translate", "met", "radio_browser", "shopping_list")
NO_PRICE: dict[str, None] = {"entity_energy_price": None, "number_energy_price": None}


class BootstrapError(RuntimeError):
    """Home Assistant answered something the bootstrap cannot continue with."""


@dataclass(frozen=True)
class Account:
    """The simulator account added through the config flow."""

    host: str
    username: str = "nbi_user"
    password: str = "nbi_pass"


@dataclass
class EnergySources:
    """Statistic ids for the Energy dashboard."""

    solar: list[str]
    grid_import: list[str]
    grid_export: list[str]
    batteries: list[tuple[str, str]]  # (energy out = discharge, energy in = charge)

    def __bool__(self) -> bool:
        return bool(self.solar or self.grid_import or self.grid_export or self.batteries)

    def legacy_prefs(self) -> list[dict[str, Any]]:
        """Energy sources in the format of Home Assistant before the unified grid."""
        sources = self._solar_and_batteries()
        if self.grid_import or self.grid_export:
            sources.append(
                {
                    "type": "grid",
                    "flow_from": [
                        {"stat_energy_from": stat, "stat_cost": None, **NO_PRICE}
                        for stat in self.grid_import
                    ],
                    "flow_to": [
                        {"stat_energy_to": stat, "stat_compensation": None, **NO_PRICE}
                        for stat in self.grid_export
                    ],
                    "cost_adjustment_day": 0,
                }
            )
        return sources

    def unified_prefs(self) -> list[dict[str, Any]]:
        """Energy sources in the unified grid format of newer Home Assistant releases."""
        sources = self._solar_and_batteries()
        count = max(len(self.grid_import), len(self.grid_export))
        for index in range(count):
            imported = self.grid_import[index] if index < len(self.grid_import) else None
            exported = self.grid_export[index] if index < len(self.grid_export) else None
            sources.append(
                {
                    "type": "grid",
                    "stat_energy_from": imported,
                    "stat_energy_to": exported,
                    "cost_adjustment_day": 0,
                }
            )
        return sources

    def _solar_and_batteries(self) -> list[dict[str, Any]]:
        sources: list[dict[str, Any]] = [
            {"type": "solar", "stat_energy_from": stat} for stat in self.solar
        ]
        sources.extend(
            {"type": "battery", "stat_energy_from": out, "stat_energy_to": into}
            for out, into in self.batteries
        )
        return sources

    def statistic_ids(self) -> set[str]:
        """Every statistic id used."""
        return {
            *self.solar,
            *self.grid_import,
            *self.grid_export,
            *(stat for pair in self.batteries for stat in pair),
        }


def live_sources(registry: Iterable[dict[str, Any]]) -> EnergySources:
    """Pick the integration's total_increasing sensors from the entity registry."""
    by_key: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for entry in registry:
        if entry.get("platform") == DOMAIN and not entry.get("disabled_by"):
            by_key[entry.get("translation_key") or ""].append(entry)

    def ids(key: str) -> list[str]:
        return sorted(entry["entity_id"] for entry in by_key[key])

    charged = {entry["device_id"]: entry["entity_id"] for entry in by_key[BATTERY_IN_KEY]}
    batteries = sorted(
        (entry["entity_id"], charged[entry["device_id"]])
        for entry in by_key[BATTERY_OUT_KEY]
        if entry["device_id"] in charged
    )
    return EnergySources(
        solar=ids(SOLAR_KEY),
        grid_import=ids(GRID_IMPORT_KEY),
        grid_export=ids(GRID_EXPORT_KEY),
        batteries=batteries,
    )


# Imported long-term statistics ``fusionsolar:<plant>_<kind>`` (history.py's ENERGY_KINDS).
IMPORTED_KINDS: dict[str, str] = {
    "solar_production": "solar",
    "grid_import": "import",
    "grid_export": "export",
    "battery_charge": "charge",
    "battery_discharge": "discharge",
}


def imported_sources(statistic_ids: Iterable[str]) -> EnergySources:
    """Sort the imported ``fusionsolar:`` statistics into Energy dashboard roles."""
    roles: dict[str, dict[str, str]] = defaultdict(dict)
    for stat in sorted(statistic_ids):
        if not stat.startswith(f"{DOMAIN}:"):
            continue
        for suffix, role in IMPORTED_KINDS.items():
            if stat.endswith(f"_{suffix}"):
                roles[role][stat.removesuffix(f"_{suffix}")] = stat
    return EnergySources(
        solar=sorted(roles["solar"].values()),
        grid_import=sorted(roles["import"].values()),
        grid_export=sorted(roles["export"].values()),
        batteries=sorted(
            (stat, roles["charge"][plant])
            for plant, stat in roles["discharge"].items()
            if plant in roles["charge"]
        ),
    )


class WebSocket:
    """A minimal Home Assistant websocket client."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        """Wrap an authenticated websocket."""
        self._ws = ws
        self._id = 0

    async def call(self, type_: str, **data: Any) -> Any:
        """Send a command and return its result; raise on an error answer."""
        self._id += 1
        await self._ws.send_json({"id": self._id, "type": type_, **data})
        while True:
            msg = await self._ws.receive_json(timeout=60)
            if msg.get("id") == self._id and msg.get("type") == "result":
                if not msg.get("success"):
                    raise BootstrapError(f"{type_}: {msg.get('error')}")
                return msg.get("result")


class HomeAssistantApi:
    """The REST and websocket APIs of one Home Assistant, as the dev owner."""

    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        """Talk to the Home Assistant at ``url`` (``http://127.0.0.1:8123``)."""
        self.session = session
        self.url = url.rstrip("/")
        self.client_id = f"{self.url}/"
        self.token: str | None = None

    async def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """Send an API request; return the JSON answer."""
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        async with self.session.request(
            method, f"{self.url}{path}", headers=headers, **kwargs
        ) as resp:
            if resp.status >= 400:
                raise BootstrapError(f"{method} {path}: HTTP {resp.status} {await resp.text()}")
            return await resp.json(content_type=None)

    async def wait_until_up(self, seconds: float, alive: Callable[[], bool]) -> None:
        """Wait until the frontend answers (it sets up after auth and onboarding)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if not alive():
                raise BootstrapError("Home Assistant exited during startup")
            try:
                async with self.session.get(f"{self.url}/manifest.json") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(1)
        raise BootstrapError(f"Home Assistant did not answer at {self.url} in {seconds:.0f} s")

    async def onboarding_done(self) -> set[str]:
        """Return the onboarding steps already done (the API is gone once all are)."""
        async with self.session.get(f"{self.url}/api/onboarding") as resp:
            if resp.status == 404:
                return {"user", "core_config", "analytics", "integration"}
            steps = await resp.json()
        return {step["step"] for step in steps if step["done"]}

    async def _token_from_code(self, code: str) -> None:
        data = {"grant_type": "authorization_code", "code": code, "client_id": self.client_id}
        self.token = (await self.request("POST", "/auth/token", data=data))["access_token"]

    async def log_in(self) -> bool:
        """Create the owner on first run, else log in; return whether this onboarded."""
        if "user" not in await self.onboarding_done():
            answer = await self.request(
                "POST",
                "/api/onboarding/users",
                json={
                    "client_id": self.client_id,
                    "name": DEV_NAME,
                    "username": DEV_USERNAME,
                    "password": DEV_PASSWORD,
                    "language": "en",
                },
            )
            await self._token_from_code(answer["auth_code"])
            return True
        flow = await self.request(
            "POST",
            "/auth/login_flow",
            json={
                "client_id": self.client_id,
                "handler": ["homeassistant", None],
                "redirect_uri": self.client_id,
            },
        )
        result = await self.request(
            "POST",
            f"/auth/login_flow/{flow['flow_id']}",
            json={
                "client_id": self.client_id,
                "username": DEV_USERNAME,
                "password": DEV_PASSWORD,
            },
        )
        if result.get("type") != "create_entry":
            raise BootstrapError(
                f"cannot log in as {DEV_USERNAME!r}: {result.get('errors')}. This config "
                "directory was onboarded with another owner; use a fresh one (--config)."
            )
        await self._token_from_code(result["result"])
        return False

    async def finish_onboarding(self) -> None:
        """Complete the remaining onboarding steps (location comes from configuration.yaml)."""
        done = await self.onboarding_done()
        if "core_config" not in done:
            await self.request("POST", "/api/onboarding/core_config")
        if "analytics" not in done:
            await self.request("POST", "/api/onboarding/analytics")
        if "integration" not in done:
            await self.request(
                "POST",
                "/api/onboarding/integration",
                json={"client_id": self.client_id, "redirect_uri": self.client_id},
            )

    @asynccontextmanager
    async def websocket(self) -> AsyncIterator[WebSocket]:
        """Open an authenticated websocket."""
        async with self.session.ws_connect(f"{self.url}/api/websocket") as ws:
            await ws.receive_json(timeout=30)  # auth_required
            await ws.send_json({"type": "auth", "access_token": self.token})
            answer = await ws.receive_json(timeout=30)
            if answer.get("type") != "auth_ok":
                raise BootstrapError(f"websocket authentication failed: {answer}")
            yield WebSocket(ws)

    async def entries(self, domain: str = DOMAIN) -> list[dict[str, Any]]:
        """Return the config entries of a domain."""
        entries = await self.request("GET", f"/api/config/config_entries/entry?domain={domain}")
        return [entry for entry in entries if entry["domain"] == domain]

    async def remove_onboarding_extras(self) -> None:
        """Remove what onboarding adds that needs the internet or its own packages.

        Finishing onboarding starts flows for Met.no, Google Translate, Radio Browser and
        the shopping list; offline and with --skip-pip they only fail or clutter.
        """
        for domain in ONBOARDING_EXTRAS:
            for entry in await self.entries(domain):
                if entry.get("source") == "onboarding":
                    await self.request(
                        "DELETE", f"/api/config/config_entries/entry/{entry['entry_id']}"
                    )

    async def add_account(
        self, account: Account, plants: list[str] | None = None
    ) -> dict[str, Any]:
        """Walk the config flow: account step, then the plant selection (default: all)."""
        flow = await self.request(
            "POST", "/api/config/config_entries/flow", json={"handler": DOMAIN}
        )
        path = f"/api/config/config_entries/flow/{flow['flow_id']}"
        if flow.get("type") == "menu":  # API account or Sign in with FusionSolar
            await self.request("POST", path, json={"next_step_id": "account"})
        user_input = {
            "host": account.host,
            "username": account.username,
            "password": account.password,
            "advanced": {},
        }
        result = await self.request("POST", path, json=user_input)
        if result.get("type") == "form" and result.get("step_id") == "plants":
            if plants is None:
                schema = {field["name"]: field for field in result["data_schema"]}
                plants = list(schema["plants"].get("default") or [])
            result = await self.request("POST", path, json={"plants": plants})
        if result.get("type") != "create_entry":
            raise BootstrapError(
                f"config flow stopped at {result.get('step_id') or result.get('reason')}: "
                f"{result.get('errors')}"
            )
        return dict(result["result"])

    async def set_history_days(self, entry_id: str, days: int) -> None:
        """Change how many days of history the entry imports (options flow)."""
        flow = await self.request(
            "POST", "/api/config/config_entries/options/flow", json={"handler": entry_id}
        )
        options = {
            field["name"]: field["default"] for field in flow["data_schema"] if "default" in field
        }
        result = await self.request(
            "POST",
            f"/api/config/config_entries/options/flow/{flow['flow_id']}",
            json={**options, "history_days": days},
        )
        if result.get("type") != "create_entry":
            raise BootstrapError(f"options flow stopped: {result.get('errors')}")

    async def wait_for_entry_loaded(self, entry_id: str, seconds: float) -> None:
        """Wait until the config entry has set up."""
        await _poll(
            seconds,
            f"config entry {entry_id} did not load",
            lambda: self._entry_state(entry_id),
            lambda state: state == "loaded",
            lambda state: state in ("setup_error", "migration_error", "failed_unload"),
        )

    async def _entry_state(self, entry_id: str) -> str | None:
        for entry in await self.entries():
            if entry["entry_id"] == entry_id:
                return str(entry["state"])
        return None

    async def fusionsolar_entities(self) -> list[dict[str, Any]]:
        """Return the integration's entity registry entries."""
        async with self.websocket() as ws:
            registry = await ws.call("config/entity_registry/list")
        return [entry for entry in registry if entry["platform"] == DOMAIN]

    async def wait_for_live_sources(self, seconds: float) -> EnergySources:
        """Wait until the energy sensors exist and have a value; return them."""

        async def read() -> EnergySources:
            sources = live_sources(await self.fusionsolar_entities())
            states = {state["entity_id"]: state["state"] for state in await self.states()}
            ready = all(_is_number(states.get(stat)) for stat in sources.statistic_ids())
            return sources if sources and ready else EnergySources([], [], [], [])

        return await _poll(seconds, "no FusionSolar energy sensors with values", read, bool)

    async def states(self) -> list[dict[str, Any]]:
        """Return every state."""
        return list(await self.request("GET", "/api/states"))

    async def imported_sources(self, plants: int, wait: float) -> EnergySources | None:
        """Return the imported statistics once they cover every plant, else None.

        Waits up to ``wait`` s: the first import starts 30 s after setup, plant by plant.
        """
        deadline = time.monotonic() + wait
        while True:
            async with self.websocket() as ws:
                stats = await ws.call("recorder/list_statistic_ids", statistic_type="sum")
            sources = imported_sources(stat["statistic_id"] for stat in stats)
            if len(sources.solar) >= plants:
                return sources
            if time.monotonic() > deadline:
                return None
            await asyncio.sleep(2)

    async def configure_energy(self, live: EnergySources, imported: EnergySources | None) -> str:
        """Set the Energy dashboard: imported statistics if complete, else live sensors.

        Only an empty configuration or one made of this integration's statistics is
        changed, so a configuration of your own stays as it is.
        """
        wanted, kind = (imported, "imported statistics") if imported else (live, "live sensors")
        ours = live.statistic_ids() | (imported.statistic_ids() if imported else set())
        async with self.websocket() as ws:
            prefs = await _get_prefs(ws)
            current = _used_statistic_ids(prefs.get("energy_sources", []))
            if current == wanted.statistic_ids():
                return f"uses {kind}"
            if not current <= ours:
                return "left as you configured it"
            try:
                await ws.call("energy/save_prefs", energy_sources=wanted.legacy_prefs())
            except BootstrapError:  # newer releases: one grid source per meter
                await ws.call("energy/save_prefs", energy_sources=wanted.unified_prefs())
            return f"set to {kind}"

    async def imports_history(self) -> bool:
        """Return whether the integration imports history (it has a backfill sensor)."""
        entities = await self.fusionsolar_entities()
        return any(entity["translation_key"] == HISTORY_KEY for entity in entities)

    async def create_long_lived_token(self, name: str) -> str:
        """Create a long-lived access token for curl and the browser tests."""
        async with self.websocket() as ws:
            token = await ws.call("auth/long_lived_access_token", client_name=name, lifespan=3650)
        return str(token)


async def _get_prefs(ws: WebSocket) -> dict[str, Any]:
    """Return the Energy prefs; ``energy/get_prefs`` errors before the first save."""
    try:
        return dict(await ws.call("energy/get_prefs"))
    except BootstrapError:
        return {}


def _used_statistic_ids(sources: Iterable[dict[str, Any]]) -> set[str]:
    used: set[str] = set()
    for source in sources:
        for key in ("stat_energy_from", "stat_energy_to"):
            if source.get(key):
                used.add(source[key])
        for flow in (*source.get("flow_from", ()), *source.get("flow_to", ())):
            used.update(
                flow[key] for key in ("stat_energy_from", "stat_energy_to") if flow.get(key)
            )
    return used


def _is_number(value: str | None) -> bool:
    try:
        float(value or "")
    except ValueError:
        return False
    return True


async def _poll[T](
    seconds: float,
    message: str,
    read: Callable[[], Awaitable[T]],
    done: Callable[[T], bool],
    failed: Callable[[T], bool] = lambda _value: False,
) -> T:
    """Call ``read`` every second until ``done``; raise on ``failed`` or after ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        value = await read()
        if done(value):
            return value
        if failed(value) or time.monotonic() > deadline:
            raise BootstrapError(f"{message} (last: {value!r})")
        await asyncio.sleep(1)


@dataclass
class BootstrapResult:
    """What the bootstrap did, for the banner."""

    onboarded: bool
    entry_added: bool
    energy: str
    entity_count: int
    history_pending: bool  # history is still being imported; energy may switch later


async def async_bootstrap(
    url: str,
    account: Account,
    *,
    history_days: int | None = None,
    seconds: float = 180,
    alive: Callable[[], bool] = lambda: True,
) -> tuple[BootstrapResult, HomeAssistantApi, aiohttp.ClientSession]:
    """Onboard, add the simulator account and configure energy, as far as not done yet.

    ``history_days`` sets the entry's history import window when the entry is added.
    Returns the API logged in as the dev owner and its session (close it when done).
    """
    session = aiohttp.ClientSession()
    try:
        api = HomeAssistantApi(session, url)
        await api.wait_until_up(seconds, alive)
        onboarded = await api.log_in()
        await api.finish_onboarding()
        entries = await api.entries()
        added = not entries
        if added:
            entry = await api.add_account(account)
            await api.wait_for_entry_loaded(entry["entry_id"], seconds)
            if history_days is not None:  # before the first import, 30 s after setup
                await api.set_history_days(entry["entry_id"], history_days)
                await asyncio.sleep(1)  # the options change reloads the entry
                await api.wait_for_entry_loaded(entry["entry_id"], seconds)
        live = await api.wait_for_live_sources(seconds)
        history = await api.imports_history()
        imported = await api.imported_sources(len(live.solar), HISTORY_WAIT if history else 0)
        energy = await api.configure_energy(live, imported)
        await api.remove_onboarding_extras()
        entities = await api.fusionsolar_entities()
        count = len(entities)
    except BaseException:
        await session.close()
        raise
    pending = history and imported is None
    return BootstrapResult(onboarded, added, energy, count, pending), api, session


async def async_switch_to_imported(url: str, token: str, wait: float) -> str | None:
    """Wait for the history import to cover every plant, then use it for energy.

    Return what was done, or None when the import did not complete within ``wait`` s.
    """
    async with aiohttp.ClientSession() as session:
        api = HomeAssistantApi(session, url)
        api.token = token
        live = live_sources(await api.fusionsolar_entities())
        imported = await api.imported_sources(len(live.solar), wait)
        return None if imported is None else await api.configure_energy(live, imported)
