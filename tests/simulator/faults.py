"""Fault injection.

``sim.faults.add(endpoint, kind, count=1, **opts)``: the next ``count`` matching requests
(``count <= 0``: every one until ``clear()``) get the fault.  ``endpoint`` is None (any),
an exact path or a path suffix such as ``"getDevRealKpi"`` or ``"vpp/plantRealtimeKpi"``;
``family="legacy"|"v7"``, ``account=...`` and ``match={"devTypeId": 39}`` (request body
values, compared as text) narrow the match further; ``after=N`` lets the first N matching
requests pass (e.g. the second batch of a read).

Kinds answered *instead of* the API (nothing is counted against the quota):

* ``fail_code``: HTTP 200 envelope with ``fail_code`` (default 407), ``message``.
* ``http_status``: HTTP ``status`` (default 500); ``body`` (default an HTML page).
* ``quota_403``: HTTP 403 ``{"errorCode":"49401021002","exceptionInfo":...}``.
* ``timeout``: sleep ``seconds`` (default 30, real time) then answer normally.
* ``html``: HTTP ``status`` (default 200) with an HTML page.
* ``empty_body``: HTTP 200, empty body.

``delay`` sleeps ``seconds`` (default 2) and then processes the call normally.

Kinds applied to the normal answer (the call is processed and counted):

* ``malformed_json``: the JSON text cut in half.
* ``nulls``: every value inside ``data`` becomes null (identity keys such as stationCode,
  devId, dn, collectTime are kept unless ``keep_ids=False``).
* ``missing_keys``: drop ``keys`` (a list) everywhere in ``data``; without ``keys`` every
  second scalar key of each object (identity keys and nested objects kept).
* ``data_as_list``: a map ``data`` becomes a list (a paged map's ``list``, else ``[data]``).
* ``data_as_map``: a list ``data`` becomes a map (``shape="paged"`` -> paged map, default
  ``"first"`` -> the first element).
* ``strings``: every number inside ``data`` becomes a string.
* ``values``: every key of ``values`` (a map) found anywhere in ``data`` gets that value
  (an absurd reading, e.g. ``values={"totalEnergy": 1e9}``).
* ``disconnect``: the call is processed (a command takes effect), then the connection
  is dropped before the answer is sent (the client sees ``ServerDisconnectedError``).
* ``data_null``: ``data`` becomes null (a field quirk, on demand).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

PRE_KINDS = frozenset({"fail_code", "http_status", "quota_403", "timeout", "html", "empty_body"})
DELAY_KINDS = frozenset({"delay"})
POST_KINDS = frozenset(
    {
        "malformed_json",
        "nulls",
        "missing_keys",
        "data_as_list",
        "data_as_map",
        "strings",
        "values",
        "disconnect",
        "data_null",
    }
)
KINDS = PRE_KINDS | DELAY_KINDS | POST_KINDS

ID_KEYS = frozenset(
    {
        "stationCode",
        "plantCode",
        "devId",
        "id",
        "dn",
        "sn",
        "esnCode",
        "collectTime",
        "dateTime",
        "devTypeId",
        "deviceTypeId",
    }
)


@dataclass
class Fault:
    """One armed fault."""

    endpoint: str | None
    kind: str
    remaining: int
    opts: dict[str, Any] = field(default_factory=dict)
    hits: int = 0
    passed: int = 0

    def matches(
        self,
        endpoint: str,
        family: str,
        account: str | None,
        body: Mapping[str, Any] | None = None,
    ) -> bool:
        """Whether a request matches."""
        if self.endpoint is not None and not (
            endpoint == self.endpoint or endpoint.endswith("/" + self.endpoint.lstrip("/"))
        ):
            return False
        wanted_family = self.opts.get("family")
        if wanted_family is not None and wanted_family != family:
            return False
        wanted_account = self.opts.get("account")
        if wanted_account is not None and wanted_account != account:
            return False
        wanted_body: Mapping[str, Any] = self.opts.get("match") or {}
        given = body or {}
        return all(str(given.get(key)) == str(value) for key, value in wanted_body.items())

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return {
            "endpoint": self.endpoint,
            "kind": self.kind,
            "remaining": self.remaining,
            "hits": self.hits,
            "opts": self.opts,
        }


class FaultInjector:
    """Armed faults, consumed in the order they were added."""

    def __init__(self) -> None:
        """Start with no fault."""
        self.faults: list[Fault] = []

    def add(self, endpoint: str | None, kind: str, count: int = 1, **opts: Any) -> Fault:
        """Arm a fault for the next ``count`` matching requests (<= 0: until cleared)."""
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; known: {sorted(KINDS)}")
        fault = Fault(endpoint, kind, count, dict(opts))
        self.faults.append(fault)
        return fault

    def clear(self) -> None:
        """Disarm every fault."""
        self.faults.clear()

    def take(
        self,
        endpoint: str,
        family: str,
        account: str | None,
        kinds: frozenset[str],
        body: Mapping[str, Any] | None = None,
    ) -> Fault | None:
        """Consume the first armed fault of ``kinds`` matching the request."""
        for fault in self.faults:
            if fault.kind in kinds and fault.matches(endpoint, family, account, body):
                if fault.passed < int(fault.opts.get("after", 0)):
                    fault.passed += 1
                    continue
                fault.hits += 1
                if fault.remaining > 0:
                    fault.remaining -= 1
                    if fault.remaining == 0:
                        self.faults.remove(fault)
                return fault
        return None


def mutate_data(data: Any, fault: Fault, endpoint: str) -> Any:
    """Apply a data-mutating fault to an envelope's ``data``."""
    kind = fault.kind
    if kind == "nulls":
        return _nulls(data, keep_ids=bool(fault.opts.get("keep_ids", True)))
    if kind == "missing_keys":
        keys = fault.opts.get("keys")
        return _drop(data, frozenset(keys) if keys else None)
    if kind == "data_as_list":
        if isinstance(data, dict):
            inner = data.get("list")
            return inner if isinstance(inner, list) else [data]
        return data
    if kind == "data_as_map":
        if isinstance(data, list):
            shape = fault.opts.get("shape")
            if shape is None:
                shape = "paged" if endpoint.endswith(("/plants", "/devices")) else "first"
            if shape == "paged":
                return {
                    "total": len(data),
                    "pageCount": 1,
                    "pageNo": 1,
                    "pageSize": max(len(data), 1),
                    "list": data,
                }
            return data[0] if data else {}
        return data
    if kind == "strings":
        return _strings(data)
    if kind == "values":
        return _set_values(data, dict(fault.opts.get("values") or {}))
    if kind == "data_null":
        return None
    return data


def _set_values(value: Any, values: dict[str, Any]) -> Any:
    if isinstance(value, dict):
        return {k: values[k] if k in values else _set_values(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [_set_values(v, values) for v in value]
    return value


def _nulls(value: Any, *, keep_ids: bool, key: str | None = None) -> Any:
    if isinstance(value, dict):
        return {k: _nulls(v, keep_ids=keep_ids, key=k) for k, v in value.items()}
    if isinstance(value, list):
        return [_nulls(v, keep_ids=keep_ids) for v in value]
    if keep_ids and key in ID_KEYS:
        return value
    return None


def _drop(value: Any, keys: frozenset[str] | None) -> Any:
    if isinstance(value, dict):
        items = list(value.items())
        result: dict[str, Any] = {}
        for i, (k, v) in enumerate(items):
            if keys is not None and k in keys:
                continue
            leaf = not isinstance(v, dict | list)
            if keys is None and leaf and k not in ID_KEYS and i % 2 == 1:
                continue
            result[k] = _drop(v, keys)
        return result
    if isinstance(value, list):
        return [_drop(v, keys) for v in value]
    return value


def _strings(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strings(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_strings(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):
        return str(value)
    return value
