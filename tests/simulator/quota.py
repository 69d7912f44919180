"""Quota bookkeeping: rolling 60 s windows and (field) daily budgets per account+endpoint."""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Mapping
from dataclasses import dataclass, field

from . import const

WINDOW = 60.0


@dataclass
class QuotaTracker:
    """Accepted-call timestamps per (account, endpoint); daily counters per local day."""

    overrides: Mapping[str, int] = field(default_factory=dict)
    count_refused: bool = False
    _windows: dict[tuple[str, str], deque[float]] = field(
        default_factory=lambda: defaultdict(deque)
    )
    _daily: dict[tuple[str, str, str], int] = field(default_factory=lambda: defaultdict(int))

    def limit(self, endpoint: str, *, strict: bool) -> int:
        """Per-minute limit of an endpoint (``strict``: field quirk strict_quota)."""
        if endpoint in self.overrides:
            return self.overrides[endpoint]
        base = const.QUOTA_PER_MINUTE.get(endpoint, 10)
        if strict and endpoint in const.READ_ENDPOINTS:
            return min(base, 1)
        return base

    def used(self, account: str, endpoint: str, now: float) -> int:
        """Calls counted in the window ending at ``now``."""
        window = self._windows[(account, endpoint)]
        while window and window[0] <= now - WINDOW:
            window.popleft()
        return len(window)

    def check(self, account: str, endpoint: str, now: float, *, strict: bool) -> bool:
        """True (and the call is counted) if the call fits the rolling window."""
        allowed = self.used(account, endpoint, now) < self.limit(endpoint, strict=strict)
        if allowed or self.count_refused:
            self._windows[(account, endpoint)].append(now)
        return allowed

    def retry_after(self, account: str, endpoint: str, now: float) -> float:
        """Seconds until the oldest counted call leaves the window."""
        window = self._windows[(account, endpoint)]
        return max(0.0, window[0] + WINDOW - now) if window else 0.0

    def daily_check(self, account: str, endpoint: str, day: str, budget: int) -> bool:
        """True (and counted) if the day's budget is not used up."""
        key = (account, endpoint, day)
        if self._daily[key] >= budget:
            return False
        self._daily[key] += 1
        return True

    def daily_used(self, account: str, endpoint: str, day: str) -> int:
        """Accepted calls of the day."""
        return self._daily.get((account, endpoint, day), 0)

    def reset(self) -> None:
        """Forget all windows and budgets."""
        self._windows.clear()
        self._daily.clear()
