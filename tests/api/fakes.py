"""A fake clock whose sleep advances time, for simulated days in milliseconds."""

from __future__ import annotations

import asyncio


class FakeClock:
    """Epoch seconds under test control; ``sleep`` advances them."""

    def __init__(self, start: float = 1_750_000_000.0) -> None:
        self.now = start
        self.slept = 0.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    async def sleep(self, seconds: float) -> None:
        """Wake at now + seconds; concurrent sleepers share the same timeline."""
        seconds = max(0.0, seconds)
        self.slept += seconds
        target = self.now + seconds
        await asyncio.sleep(0)
        self.now = max(self.now, target)
