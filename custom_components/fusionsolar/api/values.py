"""Tolerant conversion of NBI values: numbers, texts, times, maps and pages.

Every function accepts *any* JSON value and never raises: a bad value becomes ``None``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

_LOGGER = logging.getLogger(__name__)

# ----------------------------------------------------------------------------- helpers


def to_float(value: Any) -> float | None:
    """A finite float from a number or numeric string ("12.5", " 3 "); else None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        result = float(value) if abs(value) < 1e300 else None
    elif isinstance(value, float):
        result = value
    elif isinstance(value, str):
        text = value.strip().replace(",", ".") if value.count(",") == 1 else value.strip()
        if not text or text in {"-", "--", "N/A", "null", "None"}:
            return None
        try:
            result = float(text)
        except ValueError:
            return None
    else:
        return None
    if result is None or math.isnan(result) or math.isinf(result):
        return None
    return result + 0.0  # -0.0 becomes 0.0


def to_int(value: Any) -> int | None:
    """An int from an int, an integral float or a numeric string; else None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            pass
    number = to_float(value)
    if number is None or not number.is_integer():
        return None
    return int(number)


def to_str(value: Any) -> str | None:
    """A stripped non-empty string; numbers (ids) become their decimal text; else None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        return text or None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and math.isfinite(value):
        return str(int(value)) if value.is_integer() else str(value)
    return None


def to_bool_result(value: Any) -> bool | None:
    """A result flag where 0 means success and 1 failure (spec: dispatchResult/result)."""
    if isinstance(value, bool):
        return value
    code = to_int(value)
    if code is None:
        return None
    return code == 0


def to_datetime(value: Any) -> datetime | None:
    """An aware datetime from ISO text (+0800, +08:00, Z, .000 millis) or epoch ms.

    Naive text is taken as UTC (the spec always includes the zone).
    """
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return from_ms(value)
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text:
        return None
    if text.isascii() and text.isdigit():  # "¹" is a digit to str.isdigit, not to int()
        return from_ms(int(text))
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def from_ms(value: Any) -> datetime | None:
    """An aware UTC datetime from epoch milliseconds."""
    number = to_float(value)
    if number is None:
        return None
    try:
        return datetime.fromtimestamp(number / 1000.0, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def normalize_key(key: str) -> str:
    """Spec examples write keys with spaces ("real health state"): use underscores."""
    return "_".join(key.strip().split())


def normalize_map(value: Any) -> dict[str, Any]:
    """A dataItemMap with normalised keys; anything that is not a map becomes {}."""
    if not isinstance(value, Mapping):
        return {}
    return {normalize_key(k): v for k, v in value.items() if isinstance(k, str)}


_PAGING_KEYS = ("list", "total", "pageCount", "pageNo", "pageSize")


def item_list(data: Any) -> list[Any]:
    """The items of ``data``: a bare list, a paged map ``{list: [...]}``, or a single map.

    The spec's tables describe paged maps, its examples bare lists (field-notes).
    """
    if isinstance(data, list):
        return data
    if isinstance(data, Mapping):
        for key in ("list", "data", "records", "rows"):
            inner = data.get(key)
            if isinstance(inner, list):
                return inner
        if any(key in data for key in _PAGING_KEYS):
            return []
        if data and all(isinstance(v, Mapping) for v in data.values()):
            # A map keyed by id ({"NE=1": {...}, ...}).
            return list(data.values())
        if data:
            return [data]
    return []


def page_count(data: Any) -> int | None:
    """``pageCount`` of a paged map, if present."""
    if isinstance(data, Mapping):
        return to_int(data.get("pageCount"))
    return None


def first_of(item: Mapping[str, Any], *keys: str) -> Any:
    """The first non-None value among ``keys``."""
    for key in keys:
        value = item.get(key)
        if value is not None and value != "":
            return value
    return None


def parse_items[T](
    data: Any, parser: Callable[[Mapping[str, Any]], T | None], what: str
) -> list[T]:
    """Apply ``parser`` to every map item; skip bad items with a debug log."""
    result: list[T] = []
    for raw in item_list(data):
        if not isinstance(raw, Mapping):
            _LOGGER.debug("Skipping %s item that is not a map: %.100r", what, raw)
            continue
        try:
            parsed = parser(raw)
        except Exception:
            _LOGGER.debug("Skipping unparsable %s item: %.200r", what, raw, exc_info=True)
            continue
        if parsed is not None:
            result.append(parsed)
    return result
