"""Call log: one record per API request the simulator answered."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class CallRecord:
    """One API call.

    ``time`` is the simulator clock (epoch s), ``family`` "legacy" or "v7", ``endpoint``
    the URL path, ``fail_code`` the envelope's failCode (None when the answer had no JSON
    envelope), ``quota_refused`` True for 407 and quota-403 refusals, ``size`` the number
    of ids in the request (plant codes, device ids, DNs), ``fault`` the injected fault kind.
    """

    time: float
    account: str | None
    family: str
    endpoint: str
    http_status: int = 200
    fail_code: int | None = None
    quota_refused: bool = False
    size: int = 0
    fault: str | None = None
    quirk: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return asdict(self)


@dataclass
class CallLog:
    """All calls, in order."""

    records: list[CallRecord] = field(default_factory=list)

    def add(self, record: CallRecord) -> None:
        """Append a record."""
        self.records.append(record)

    def clear(self) -> None:
        """Forget every record."""
        self.records.clear()

    def select(
        self,
        endpoint: str | None = None,
        fail_code: int | None = None,
        since: float | None = None,
        *,
        account: str | None = None,
        quota_refused: bool | None = None,
        until: float | None = None,
    ) -> list[CallRecord]:
        """Records matching every given filter (``endpoint`` may be a path suffix)."""
        return [
            r
            for r in self.records
            if (endpoint is None or _endpoint_matches(r.endpoint, endpoint))
            and (fail_code is None or r.fail_code == fail_code)
            and (since is None or r.time >= since)
            and (until is None or r.time < until)
            and (account is None or r.account == account)
            and (quota_refused is None or r.quota_refused == quota_refused)
        ]

    def count(self, *args: Any, **kwargs: Any) -> int:
        """Number of records ``select`` (same filters) returns."""
        return len(self.select(*args, **kwargs))

    def per_endpoint(self, since: float | None = None) -> dict[str, int]:
        """Calls per endpoint."""
        return dict(Counter(r.endpoint for r in self.records if since is None or r.time >= since))

    @property
    def refused(self) -> int:
        """Number of quota refusals (407 or quota 403)."""
        return sum(1 for r in self.records if r.quota_refused)

    def summary(self) -> dict[str, Any]:
        """Counts for the admin API / benchmarks."""
        return {
            "total": len(self.records),
            "quota_refused": self.refused,
            "per_endpoint": self.per_endpoint(),
            "fail_codes": dict(Counter(str(r.fail_code) for r in self.records)),
        }


def _endpoint_matches(path: str, wanted: str) -> bool:
    return path == wanted or path.endswith("/" + wanted.lstrip("/"))
