"""Async client of the SmartPVMS northbound API (legacy ``/thirdData`` and V7).

See ``docs/architecture.md`` for the contract. :class:`FusionSolarClient` composes
the layers, each in its module:

* ``transport.py``: one HTTP exchange through the quota governor, the envelope and its
  errors; a request is sent once (only a read with quota left is sent again after the
  connection dropped; control commands raise ``OutcomeUnknownError``);
* ``session.py``: a session per API family (lazy login, renewal, V7 detection,
  kick-outs, refused endpoints); tokens and passwords never reach logs or ``repr``;
* ``batching.py``: paged listings and batches of 100 codes;
* ``legacy.py``, ``v7.py``, ``nbi.py``: the endpoints of each family (``nbi`` uses the
  legacy session);
* ``nbi_control.py``: control tasks and configuration queries of today's cloud (26.2);
* here: the constructor, and the plant and device lists that combine both families.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Iterable

import aiohttp
from yarl import URL

from .batching import answered, valid_codes
from .const import V7_DEFAULT_PORT, Endpoint
from .errors import (
    ApiFamilyUnavailableError,
    EndpointUnavailableError,
    FusionSolarError,
    NotAnNbiHostError,
    PermissionDeniedError,
    UnauthorizedResourceError,
)
from .legacy import LegacyEndpoints, legacy_session
from .models import Device, Plant
from .nbi import NbiEndpoints
from .nbi_control import NbiControlEndpoints
from .oauth import TokenProvider
from .oauthbudget import OAuthBudget
from .parsers import (
    merge_devices,
    parse_devices_legacy,
    parse_devices_v7,
    parse_plants_legacy,
    parse_plants_stations,
    parse_plants_v7,
)
from .quota import QuotaGovernor
from .results import DeviceList
from .session import Family, FamilySession, RefusedEndpoint
from .transport import base_url
from .v7 import v7_session

_LOGGER = logging.getLogger(__name__)


class FusionSolarClient(LegacyEndpoints, NbiControlEndpoints, NbiEndpoints):
    """Client of one NBI account (see module docstring and docs/architecture.md)."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        host: str,
        username: str,
        password: str,
        *,
        legacy_url: str | None = None,
        v7_url: str | None = None,
        governor: QuotaGovernor | None = None,
        request_timeout: float = 30.0,
        verify_ssl: bool = True,
        token_provider: TokenProvider | None = None,
        oauth_budget: OAuthBudget | None = None,
    ) -> None:
        """Create the client; nothing is sent until the first call.

        With ``token_provider`` (OAuth, today's cloud only) every call carries the
        access token it gives (``Authorization: Bearer``), nothing logs in, and
        ``oauth_budget`` (the owner's daily budget, shared by its clients) plans the calls.
        """
        self._http_session = session
        self._username = username
        self._password = password
        self._timeout = aiohttp.ClientTimeout(
            total=request_timeout, sock_connect=min(10.0, request_timeout)
        )
        self._ssl: bool = bool(verify_ssl)
        self.governor = governor if governor is not None else QuotaGovernor()
        host_url = base_url(host)
        self.host = host_url.host or host
        legacy_base = base_url(legacy_url) if legacy_url else host_url
        candidates: list[URL] = []
        if v7_url:
            candidates.append(base_url(v7_url))
        candidates.append(host_url.with_port(V7_DEFAULT_PORT).with_path("/"))
        candidates.append(legacy_base)
        self._v7_candidates: list[URL] = []
        for cand in candidates:
            if all(str(cand).rstrip("/") != str(c).rstrip("/") for c in self._v7_candidates):
                self._v7_candidates.append(cand)
        self._sessions: dict[Family, FamilySession] = {
            "legacy": legacy_session(legacy_base),
            "v7": v7_session(),
        }
        self._refused: dict[str, RefusedEndpoint] = {}
        self._unavailable: dict[str, float] = {}
        self._login_lock: asyncio.Lock | None = None
        self._credentials_refused = False
        self.session_kickouts = 0
        self._last_request_id = 0
        if token_provider is not None:
            self._use_bearer(token_provider, oauth_budget)

    def __repr__(self) -> str:
        """Never shows the password or tokens."""
        return (
            f"FusionSolarClient(host={self.host!r}, username={self._username!r}, "
            f"password='***', families={self.families})"
        )

    # ------------------------------------------------------------------ plants

    async def async_get_plants(self, *, wait: bool = False) -> list[Plant]:
        """The account's plants.

        V7 ``plants`` (paged), else ``getStationList``, else the paged
        ``/thirdData/stations`` (where getStationList is refused, or gone as on today's
        cloud). A listing answered with ``data: null`` raises :class:`CommunicationError`.
        """
        if await self._family_available("v7", wait):
            try:
                return parse_plants_v7(await self._paged("v7", Endpoint.V7_PLANTS, {}, wait))
            except PermissionDeniedError as err:
                if isinstance(err, UnauthorizedResourceError):
                    raise
                _LOGGER.debug("V7 plants refused; using the legacy plant list")
        # Today's cloud (learned, and stored with the quota state) has no getStationList.
        if not self.todays_cloud and (listed := await self._station_list(wait)) is not None:
            return self._sized(listed)
        plants = parse_plants_stations(await self._paged("legacy", Endpoint.STATIONS, {}, wait))
        return self._sized(plants)

    async def _station_list(self, wait: bool) -> list[Plant] | None:
        """``getStationList``; None where it is refused or gone (today's cloud)."""
        try:
            data = await self._call("legacy", Endpoint.STATION_LIST, {}, wait=wait)
        except EndpointUnavailableError:
            # Replaced by ``stations`` in 24.2.0: the host is today's cloud (26.x), whose
            # quotas follow the account's size and whose units differ.
            _LOGGER.debug("No getStationList: today's cloud; using the paged plant list")
            self.governor.note_cloud_2026()
            return None
        except PermissionDeniedError as err:
            if isinstance(err, UnauthorizedResourceError):
                raise
            return None
        return parse_plants_legacy(answered(data, Endpoint.STATION_LIST))

    def _sized(self, plants: list[Plant]) -> list[Plant]:
        """Tell the governor how many plants the account has (today's quotas grow with it)."""
        size = self.governor.account_size
        self.governor.set_account_size(len(plants), size.devices_by_type)
        self._plan_budget()
        return plants

    # ------------------------------------------------------------------ devices

    async def async_get_devices(
        self, plant_codes: Iterable[str], *, wait: bool = False
    ) -> DeviceList:
        """Devices of the plants: legacy ``getDevList`` merged with V7 ``devices`` by SN.

        A list answered with ``data: null`` is no list: it raises
        :class:`CommunicationError` (or, after other batches arrived, its plants are
        ``pending``). Devices of ``pending`` plants are left out of the result.
        """
        codes = valid_codes(plant_codes, "plant_codes")
        result = DeviceList()
        if not codes:
            return result
        legacy: list[Device] = []

        async def read_legacy(batch: list[str]) -> None:
            data = await self._call(
                "legacy", Endpoint.DEV_LIST, {"stationCodes": ",".join(batch)}, wait=wait
            )
            legacy.extend(parse_devices_legacy(answered(data, Endpoint.DEV_LIST)))

        legacy_error: FusionSolarError | None = None
        try:
            await self._read_batches(result, codes, read_legacy)
        except (PermissionDeniedError, ApiFamilyUnavailableError, NotAnNbiHostError) as err:
            if isinstance(err, UnauthorizedResourceError):
                raise
            legacy_error = err
        v7: list[Device] = []

        async def read_v7(batch: list[str]) -> None:
            raw = await self._paged(
                "v7", Endpoint.V7_DEVICES, {"plantCodes": ",".join(batch)}, wait
            )
            v7.extend(parse_devices_v7(raw))

        if await self._family_available("v7", wait):
            # V7 pages not read (quota) leave those plants with their legacy devices, as a
            # refused V7 list does; they are pending only without a legacy list.
            v7_read = DeviceList()
            try:
                v7_codes = [code for code in codes if code not in result.pending]
                await self._read_batches(v7_read, v7_codes, read_v7, started=legacy_error is None)
                if v7_read.error is not None and legacy_error is not None:
                    result.add_pending(v7_read.pending, v7_read.error)
            except PermissionDeniedError as err:
                if legacy_error is not None or isinstance(err, UnauthorizedResourceError):
                    raise
                _LOGGER.debug("V7 devices refused; legacy device list only")
        elif legacy_error is not None:
            raise legacy_error
        pending = set(result.pending)
        result.extend(d for d in merge_devices(legacy, v7) if d.plant_code not in pending)
        self._note_devices(result)
        return result

    def _note_devices(self, devices: DeviceList) -> None:
        """Tell the governor the devices per type (today's quotas grow with them).

        Only the devices of the plants asked are known: a smaller size is the safe side.
        """
        counts = Counter(device.dev_type_id for device in devices if device.dev_type_id)
        self.governor.set_account_size(self.governor.account_size.plants, counts)
        self._plan_budget()
