"""Endpoints of the legacy ``/thirdData`` family (realtime KPIs, hourly KPIs, alarms)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Final

from yarl import URL

from .batching import Batching, answered_or_pending, chunked, nonempty_codes, valid_codes
from .const import LEGACY_TOKEN_LIFETIME, MAX_BATCH, REALTIME_DEV_TYPES, Endpoint
from .errors import InvalidArgumentError
from .models import Alarm, Device, DeviceRealtimeKpi, HourlyPlantKpi, StationRealtimeKpi
from .parsers import parse_alarms, parse_device_realtime, parse_hourly, parse_station_realtime
from .results import BatchResult
from .session import FamilySession

_ALARM_LANGUAGE_ALIASES: Final = {"en_US": "en_UK", "en_GB": "en_UK", "en": "en_UK"}


def legacy_session(base: URL) -> FamilySession:
    """The legacy family's session at ``base``; tokens live 30 minutes."""
    # Legacy logout: the table says ``xsrftoken`` (l.398), the example (l.418)
    # and 26.2 §3.2.2.2 ``xsrfToken``: both are sent.
    return FamilySession(
        "legacy",
        Endpoint.LEGACY_LOGIN,
        Endpoint.LEGACY_LOGOUT,
        ("xsrfToken", "xsrftoken"),
        ("userName", "systemCode"),
        base,
        lifetime=LEGACY_TOKEN_LIFETIME,
    )


class LegacyEndpoints(Batching):
    """Endpoints of the legacy ``/thirdData`` family."""

    async def async_get_station_realtime(
        self, plant_codes: Iterable[str], *, wait: bool = False
    ) -> BatchResult[StationRealtimeKpi]:
        """Legacy ``getStationRealKpi`` of the plants (batched by 100; see BatchResult).

        A batch answered with ``data: null`` leaves its plants ``pending``.
        """
        codes = valid_codes(plant_codes, "plant_codes")
        result: BatchResult[StationRealtimeKpi] = BatchResult()

        async def read(batch: list[str]) -> None:
            endpoint = Endpoint.STATION_REAL_KPI
            data = await self._call(
                "legacy", endpoint, {"stationCodes": ",".join(batch)}, wait=wait
            )
            if answered_or_pending(result, batch, data, endpoint):
                result.update(parse_station_realtime(data))

        await self._read_batches(result, codes, read)
        return result

    @staticmethod
    def device_realtime_groups(devices: Iterable[Device]) -> list[tuple[int, list[str]]]:
        """The ``getDevRealKpi`` calls needed: (devTypeId, <=100 devIds) per call."""
        by_type: dict[int, list[str]] = {}
        for dev in devices:
            if dev.id is None or dev.dev_type_id not in REALTIME_DEV_TYPES:
                continue
            ids = by_type.setdefault(dev.dev_type_id, [])
            if dev.id not in ids:
                ids.append(dev.id)
        return [
            (type_id, chunk) for type_id in sorted(by_type) for chunk in chunked(by_type[type_id])
        ]

    async def async_get_device_realtime_group(
        self, dev_type_id: int, dev_ids: Sequence[str], *, wait: bool = False
    ) -> dict[str, DeviceRealtimeKpi]:
        """One ``getDevRealKpi`` call for up to 100 devices of one type."""
        ids = nonempty_codes(dev_ids, "dev_ids", limit=MAX_BATCH)
        if isinstance(dev_type_id, bool) or not isinstance(dev_type_id, int):
            raise InvalidArgumentError("dev_type_id must be an int")
        data = await self._call(
            "legacy",
            Endpoint.DEV_REAL_KPI,
            {"devIds": ",".join(ids), "devTypeId": dev_type_id},
            wait=wait,
        )
        return parse_device_realtime(data, dev_type_id, self.generation)

    async def async_get_device_realtime(
        self, devices: Iterable[Device], *, wait: bool = False
    ) -> dict[str, DeviceRealtimeKpi]:
        """``getDevRealKpi`` for the devices: one call per type and 100 devices."""
        result: dict[str, DeviceRealtimeKpi] = {}
        for type_id, ids in self.device_realtime_groups(devices):
            result.update(await self.async_get_device_realtime_group(type_id, ids, wait=wait))
        return result

    # ------------------------------------------------------------------ series

    async def async_get_plant_hourly(
        self, plant_codes: Iterable[str], day_start_ms: int, *, wait: bool = False
    ) -> list[HourlyPlantKpi]:
        """Legacy ``getKpiStationHour`` of the plants for the day of ``day_start_ms``."""
        codes = valid_codes(plant_codes, "plant_codes")
        if isinstance(day_start_ms, bool) or not isinstance(day_start_ms, int):
            raise InvalidArgumentError("day_start_ms must be epoch milliseconds (int)")
        result: list[HourlyPlantKpi] = []
        for chunk in chunked(codes):
            data = await self._call(
                "legacy",
                Endpoint.KPI_STATION_HOUR,
                {"stationCodes": ",".join(chunk), "collectTime": day_start_ms},
                wait=wait,
            )
            result.extend(parse_hourly(data))
        return result

    async def async_get_alarms(
        self,
        plant_codes: Iterable[str],
        begin_ms: int,
        end_ms: int,
        language: str = "en_UK",
        *,
        wait: bool = False,
    ) -> list[Alarm]:
        """Legacy ``getAlarmList`` of the plants between two epoch-ms times.

        ``language`` is one of the spec's codes; ``en_US``/``en_GB`` are sent as ``en_UK``.
        """
        codes = valid_codes(plant_codes, "plant_codes")
        if any(isinstance(v, bool) or not isinstance(v, int) for v in (begin_ms, end_ms)):
            raise InvalidArgumentError("begin_ms and end_ms must be epoch milliseconds (int)")
        if begin_ms > end_ms:
            raise InvalidArgumentError("begin_ms must not be after end_ms")
        lang = _ALARM_LANGUAGE_ALIASES.get(language, language)
        result: list[Alarm] = []
        for chunk in chunked(codes):
            data = await self._call(
                "legacy",
                Endpoint.ALARM_LIST,
                {
                    "stationCodes": ",".join(chunk),
                    "beginTime": begin_ms,
                    "endTime": end_ms,
                    "language": lang,
                },
                wait=wait,
            )
            result.extend(parse_alarms(data))
        return result
