"""Governor test helpers: a governor on a fake clock, calls reported accepted or refused."""

from __future__ import annotations

from typing import Any

from custom_components.fusionsolar.api import QuotaGovernor

from .fakes import FakeClock


def governor(clock: FakeClock, **kwargs: Any) -> QuotaGovernor:
    """A governor on ``clock`` (its sleeps move the clock on)."""
    return QuotaGovernor(clock=clock, sleep=clock.sleep, **kwargs)


async def call(gov: QuotaGovernor, endpoint: str, *, refused: bool = False, **kw: Any) -> float:
    """One call of ``endpoint``: accepted, or refused for quota (returns the retry seconds)."""
    slot = await gov.acquire(endpoint, **kw)
    if refused:
        return slot.refused()
    slot.success()
    return 0.0


async def accepted_calls(
    gov: QuotaGovernor, endpoint: str, count: int, clock: FakeClock | None = None, every: float = 0
) -> None:
    """``count`` accepted calls of ``endpoint``, the clock moved ``every`` s after each."""
    for _ in range(count):
        await call(gov, endpoint)
        if clock is not None:
            clock.advance(every)
