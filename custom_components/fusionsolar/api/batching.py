"""Paging and batching of NBI reads, and the validation of the codes they take."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any, Final

from .const import MAX_BATCH, MAX_PAGES, PAGE_SIZE, Endpoint
from .errors import CommunicationError, InvalidArgumentError, QuotaError, UnauthorizedResourceError
from .results import Incomplete
from .session import Family, Sessions
from .values import item_list, page_count

_LOGGER = logging.getLogger(__name__)

#: Errors that end a batched read after earlier batches arrived (their data is kept).
_BATCH_STOP_ERRORS: Final = (QuotaError, CommunicationError, UnauthorizedResourceError)


def chunked[T](items: Sequence[T], size: int = MAX_BATCH) -> list[list[T]]:
    """Split ``items`` into lists of at most ``size``."""
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


def valid_codes(values: Iterable[Any], what: str) -> list[str]:
    """Validate a list of ids: strings, non-empty; duplicates dropped, order kept."""
    if isinstance(values, str | bytes):
        raise InvalidArgumentError(f"{what} must be a list, not a string")
    result: list[str] = []
    seen: set[str] = set()
    for value in values:
        if not isinstance(value, str | int) or isinstance(value, bool):
            raise InvalidArgumentError(f"{what} contains an invalid id")
        text = str(value).strip()
        if not text or "," in text:
            raise InvalidArgumentError(f"{what} contains an empty or invalid id")
        if text not in seen:
            seen.add(text)
            result.append(text)
    return result


def nonempty_codes(values: Iterable[Any], what: str, *, limit: int | None = None) -> list[str]:
    """Validated ids (see :func:`valid_codes`): at least one, at most ``limit``."""
    result = valid_codes(values, what)
    if not result:
        raise InvalidArgumentError(f"{what} cannot be empty")
    if limit is not None and len(result) > limit:
        raise InvalidArgumentError(f"At most {limit} {what} per command, got {len(result)}")
    return result


def answered(data: Any, endpoint: str) -> Any:
    """``data`` of a read; ``data: null`` means no answer, never "nothing there"."""
    if data is None:
        raise CommunicationError("The service answered without data", endpoint=endpoint)
    return data


def answered_or_pending(result: Incomplete, batch: Sequence[str], data: Any, endpoint: str) -> bool:
    """Whether a batch brought data; ``data: null`` leaves its codes pending."""
    if data is not None:
        return True
    result.add_pending(
        batch, CommunicationError("The service answered without data", endpoint=endpoint)
    )
    return False


class Batching(Sessions):
    """Reads of many codes: pages of a listing, batches of 100 codes."""

    async def _paged(
        self, family: Family, endpoint: Endpoint, payload: Mapping[str, Any], wait: bool
    ) -> list[Any]:
        """All items of a paged listing. Pages after the first always wait for quota.

        A paged map ends at its ``pageCount``; a bare list (the reference's examples,
        no ``pageCount``) at a short, empty or repeated page (a service ignoring
        ``pageNo``). ``data: null`` raises: no answer is not an empty list.
        """
        items: list[Any] = []
        previous: list[Any] | None = None
        for page in range(1, MAX_PAGES + 1):
            data = answered(
                await self._call(
                    family,
                    endpoint,
                    {**payload, "pageNo": page, "pageSize": PAGE_SIZE},
                    wait=wait or page > 1,
                ),
                endpoint,
            )
            page_items = item_list(data)
            if not page_items or page_items == previous:
                break
            items.extend(page_items)
            pages = page_count(data)
            if (page >= pages) if pages is not None else len(page_items) < PAGE_SIZE:
                break
            previous = page_items
        return items

    async def _read_batches(
        self,
        result: Incomplete,
        codes: Sequence[str],
        read: Callable[[list[str]], Awaitable[None]],
        *,
        started: bool = False,
    ) -> None:
        """Call ``read`` per batch of 100 codes; stop at the first batch that fails.

        Until something arrived (``started``, or a first batch read), the error is
        raised as is; afterwards the codes not read go to ``result.pending``.
        """
        batches = chunked(codes)
        for index, batch in enumerate(batches):
            try:
                await read(batch)
            except _BATCH_STOP_ERRORS as err:
                if index == 0 and not started:
                    raise
                rest = [code for later in batches[index:] for code in later]
                _LOGGER.debug("%d of %d codes not read: %s", len(rest), len(codes), err)
                result.add_pending(rest, err)
                return
