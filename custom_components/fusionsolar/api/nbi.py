"""Endpoints of today's ``nbi`` family (SmartPVMS 26.2 digest, Part B): data reads.

The ``/rest/openapi/pvms/nbi/v1/...`` paths use the API account's session (the token of
the legacy ``/thirdData/login``): no login of their own. A cloud without them (every
V500R007 system) answers 404 HTML: :class:`EndpointUnavailableError`, remembered by the
session layer (no request for 6 h), so callers fall back to the older sources.

Device history (Part B §2.2): 5-minute rows of **one** device over **at most 24 h** per
call (failCode 40001 beyond), ``devDn`` from the device list. Each row is named by the
start of its 5-minute slot (``collectTime``, epoch ms) and carries the device's values
at the slot's end: counters (``total_cap``, meter ``active_cap``...) are read at
``start + 5 min``. The table names the DN ``devDns``, the samples ``devDn``: both are
read. The map is ``dataItems`` (the reports' ``dataItemMap`` is read too). Values keep
the history table's units (energies in kWh; battery powers in W).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from .batching import Batching
from .const import Endpoint
from .errors import CommunicationError, InvalidArgumentError
from .values import first_of, from_ms, normalize_map, parse_items, to_float, to_int, to_str

#: At most 24 hours per device history call (Part B §2.2; failCode 40001).
MAX_HISTORY_WINDOW_MS: Final = 86_400_000
#: Length of a device history slot (5-minute rows).
HISTORY_SLOT: Final = timedelta(minutes=5)
#: devTypeId values the device history accepts (Part B §2.2 request table).
HISTORY_DEV_TYPES: Final = frozenset(
    {1, 10, 17, 38, 39, 41, 47, 63, 60001, 60003, 60043, 60014, 60010, 23070, 23093}
)


class NoDataError(CommunicationError):
    """The cloud answered a read with ``data: null``: no answer, never "no rows"."""


@dataclass(frozen=True, slots=True)
class DeviceHistoryRow:
    """One 5-minute row of a device: values at ``start + 5 min`` (history units)."""

    dn: str | None
    start: datetime
    collect_time_ms: int
    values: dict[str, float | None] = field(default_factory=dict)

    @property
    def end(self) -> datetime:
        """End of the slot: the moment the row's counters were read."""
        return self.start + HISTORY_SLOT


def _history_row(item: Mapping[str, Any]) -> DeviceHistoryRow | None:
    ms = to_int(item.get("collectTime"))
    start = from_ms(ms) if ms is not None else None
    if ms is None or start is None:
        return None
    raw = item.get("dataItems")
    if not isinstance(raw, Mapping):
        raw = item.get("dataItemMap")
    values = {key: to_float(value) for key, value in normalize_map(raw).items()}
    return DeviceHistoryRow(
        dn=to_str(first_of(item, "devDn", "devDns")),
        start=start,
        collect_time_ms=ms,
        values=values,
    )


def parse_device_history(data: Any) -> list[DeviceHistoryRow]:
    """Device history rows sorted by time, one per slot (the last answer of a slot wins)."""
    rows = {row.collect_time_ms: row for row in parse_items(data, _history_row, "history")}
    return [rows[ms] for ms in sorted(rows)]


def _epoch_ms(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidArgumentError(f"{name} must be epoch milliseconds (int >= 0)")
    return value


class NbiEndpoints(Batching):
    """Data reads of the ``nbi`` family (device history)."""

    async def async_get_device_history(
        self,
        dev_dn: str,
        dev_type_id: int,
        start_ms: int,
        end_ms: int,
        *,
        wait: bool = False,
    ) -> list[DeviceHistoryRow]:
        """5-minute rows of one device with ``start_ms <= collectTime < end_ms`` (<= 24 h).

        ``data: null`` raises :class:`NoDataError` (no answer is never "no rows");
        a cloud without the interface raises :class:`EndpointUnavailableError`.
        """
        if not isinstance(dev_dn, str) or not dev_dn.strip():
            raise InvalidArgumentError("dev_dn must be a device DN (devDn of the device list)")
        if isinstance(dev_type_id, bool) or dev_type_id not in HISTORY_DEV_TYPES:
            raise InvalidArgumentError(f"devTypeId {dev_type_id!r} has no device history")
        start, end = _epoch_ms(start_ms, "start_ms"), _epoch_ms(end_ms, "end_ms")
        if start > end:
            raise InvalidArgumentError("start_ms must not be after end_ms")
        if end - start > MAX_HISTORY_WINDOW_MS:
            raise InvalidArgumentError("A device history call covers at most 24 hours")
        endpoint = Endpoint.NBI_DEVICE_HISTORY
        payload = {"devDn": dev_dn.strip(), "devTypeId": dev_type_id}
        data = await self._call(
            "legacy", endpoint, {**payload, "startTime": start, "endTime": end}, wait=wait
        )
        if data is None:
            raise NoDataError("The service answered without data", endpoint=endpoint)
        return parse_device_history(data)
