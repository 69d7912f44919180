"""Helpers for tests that drive the simulator over HTTP: a fake clock, a tiny client, a pool."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, Self
from zoneinfo import ZoneInfo

import aiohttp

from . import const
from .app import Simulator
from .config import SimulatorConfig

# The first plant of a simulator and its first devices (numbered whatever the seed).
PLANT = "NE=33554432"
INVERTER_ID = 1000000033554433
BATTERY_ID = 1000000033554434
METER_ID = 1000000033554435
INVERTER_DN = "NE=33554433"
BATTERY_DN = "NE=33554434"

LEGACY_NAMES = frozenset(e.removeprefix(const.LEGACY_PREFIX) for e in const.LEGACY_ENDPOINTS)


class FakeClock:
    """A mutable clock (epoch seconds) to pass as ``Simulator(clock=...)``."""

    def __init__(self, start: float) -> None:
        """Start at ``start``."""
        self.t = float(start)

    def __call__(self) -> float:
        """Current time."""
        return self.t

    def advance(self, seconds: float) -> float:
        """Move forward; returns the new time."""
        self.t += seconds
        return self.t

    @classmethod
    def at(
        cls,
        year: int,
        month: int,
        day: int,
        hour: int = 0,
        minute: int = 0,
        second: int = 0,
        /,
        *,
        tz: str = "Europe/Amsterdam",
    ) -> FakeClock:
        """A clock at a local wall-clock time."""
        local = datetime(year, month, day, hour, minute, second, tzinfo=ZoneInfo(tz))
        return cls(local.timestamp())


def endpoint_path(name: str) -> str:
    """``"getDevRealKpi"`` -> legacy path, ``"vpp/dod"`` -> V7 path, paths unchanged."""
    if name.startswith("/"):
        return name
    if name in LEGACY_NAMES:
        return const.LEGACY_PREFIX + name
    return const.V7_PREFIX + name


class NbiTestClient:
    """Minimal raw client: logs in per family and posts JSON with the token header."""

    def __init__(self, sim: Simulator, session: aiohttp.ClientSession) -> None:
        """Client for ``sim`` (must be started)."""
        self.sim = sim
        self.session = session
        self.tokens: dict[str, str] = {}

    async def login(
        self, family: str = "legacy", username: str | None = None, password: str | None = None
    ) -> aiohttp.ClientResponse:
        """Log in; on success remembers the token (header, or cookie for old shapes)."""
        user = username if username is not None else self.sim.username
        pwd = password if password is not None else self.sim.password
        if family == "legacy":
            path, body = const.LOGIN, {"userName": user, "systemCode": pwd}
        else:
            path, body = const.V7_LOGIN, {"username": user, "password": pwd}
        response = await self.session.post(self.sim.url + path, json=body)
        await response.read()
        token = response.headers.get("xsrf-token") or response.headers.get("xsrftoken")
        if token is None:
            for cookie in response.headers.getall("Set-Cookie", []):
                for part in cookie.replace(",", ";").split(";"):
                    name, _, value = part.strip().partition("=")
                    if name == "XSRF-TOKEN":
                        token = value
        if token:
            self.tokens[family] = token
        return response

    async def post(
        self, name: str, body: Any = None, *, token: str | None = None, raw: bool = False
    ) -> tuple[int, Any]:
        """POST to an API endpoint; returns (HTTP status, parsed JSON or text)."""
        path = endpoint_path(name)
        family = "v7" if path.startswith(const.V7_PREFIX) else "legacy"
        headers = {}
        use = token if token is not None else self.tokens.get(family)
        if use:
            headers["XSRF-TOKEN"] = use
        async with self.session.post(
            self.sim.url + path, json=body if body is not None else {}, headers=headers
        ) as response:
            text = await response.text()
            if raw:
                return response.status, text
            try:
                return response.status, await response.json(content_type=None)
            except ValueError:
                return response.status, text

    async def data(self, name: str, body: Any = None) -> Any:
        """POST and return ``data``, asserting success."""
        status, payload = await self.post(name, body)
        assert status == 200, payload
        assert isinstance(payload, dict), payload
        assert payload.get("success") is True, payload
        return payload["data"]


class SimulatorPool:
    """Simulators on fake clocks sharing one client session; ``async with`` stops them."""

    def __init__(self) -> None:
        """No simulator yet; the session opens on entry."""
        self.sims: list[Simulator] = []
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Self:
        """Open the client session."""
        self._session = aiohttp.ClientSession()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        """Close the session and stop every simulator started."""
        if self._session is not None:
            await self._session.close()
        for sim in self.sims:
            await sim.stop()

    async def start(
        self, clock: FakeClock, **config: Any
    ) -> tuple[Simulator, NbiTestClient, FakeClock]:
        """A started simulator of ``SimulatorConfig(**config)`` and a client for it."""
        assert self._session is not None, "use SimulatorPool with async with"
        sim = Simulator(SimulatorConfig(**config), clock=clock)
        await sim.start()
        self.sims.append(sim)
        return sim, NbiTestClient(sim, self._session), clock


Started = tuple[Simulator, NbiTestClient, FakeClock]
Factory = Callable[..., Awaitable[Started]]
