"""Request parameter parsing shared by the handler modules (failCodes of the spec)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from . import const
from .pipeline import ApiError


def _id_list(raw: Any, *, empty: int, max_code: int, limit: int = const.MAX_IDS) -> list[str]:
    if raw is None:
        raise ApiError(empty)
    items = [str(x) for x in raw] if isinstance(raw, list) else str(raw).split(",")
    result: list[str] = []
    for item in items:
        text = item.strip()
        if text and text not in result:
            result.append(text)
    if not result:
        raise ApiError(empty)
    if len(result) > limit:
        raise ApiError(max_code)
    return result


def _as_int(value: Any) -> int | None:
    """An integer from int / integral float / numeric string; None if absent or invalid."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            try:
                number = float(text)
            except ValueError:
                return None
            return int(number) if number.is_integer() else None
    return None


def _as_float(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if math.isfinite(float(value)) else None
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def _required_time(body: Mapping[str, Any], key: str) -> float:
    """Epoch seconds from a millisecond parameter (20012 if absent or invalid)."""
    value = _as_int(body.get(key))
    if value is None:
        raise ApiError(20012)
    return value / 1000.0


def _month_days(d: date) -> list[date]:
    first = d.replace(day=1)
    nxt = (first + timedelta(days=32)).replace(day=1)
    return [first + timedelta(days=i) for i in range((nxt - first).days)]


def _months(year: int) -> list[tuple[date, date]]:
    result = []
    for month in range(1, 13):
        first = date(year, month, 1)
        last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        result.append((first, last))
    return result


def _ms(t: float) -> int:
    return round(t * 1000)


def _page(
    items: list[dict[str, Any]], page_no: int, page_size: int
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    total = len(items)
    page_count = max(1, math.ceil(total / page_size)) if total else 0
    chunk = items[(page_no - 1) * page_size : page_no * page_size]
    return chunk, {
        "total": total,
        "pageCount": page_count,
        "pageNo": page_no,
        "pageSize": page_size,
        "list": chunk,
    }


def _paging(body: Mapping[str, Any], *, required: bool) -> tuple[int, int]:
    page_no = _page_param(
        body, "pageNo", missing=30004 if required else None, default=1, invalid=30021
    )
    page_size = _page_param(
        body, "pageSize", missing=30005 if required else None, default=100, invalid=30006
    )
    return page_no, page_size


def _page_param(
    body: Mapping[str, Any], key: str, *, missing: int | None, default: int, invalid: int
) -> int:
    """``pageNo`` (from 1) or ``pageSize`` (one of PAGE_SIZES); ``default`` if optional."""
    raw = body.get(key)
    if raw is None:
        if missing is not None:
            raise ApiError(missing)
        return default
    parsed = _as_int(raw)
    valid = parsed in const.PAGE_SIZES if key == "pageSize" else parsed is not None and parsed >= 1
    if parsed is None or not valid:
        raise ApiError(invalid)
    return parsed


def _int_set(raw: Any) -> set[int] | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    items = raw if isinstance(raw, list) else str(raw).split(",")
    result = {v for v in (_as_int(x) for x in items) if v is not None}
    return result or None
