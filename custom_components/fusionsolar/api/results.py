"""Results of batched reads that say what they could not read (issue 16, no silent loss).

A read of more than 100 plants is several calls. When a later call fails (quota,
network, ``data: null``), what the earlier calls brought is kept and the rest is named:

* :class:`BatchResult` - a ``dict`` of answers by plant code;
* :class:`DeviceList` - a ``list`` of devices.

Both are plain containers for callers that only need the data, plus ``pending`` (the
codes not read, in request order), ``retry_after`` (seconds, from a quota error) and
``error`` (why ``pending`` is not empty). ``complete`` is True when nothing is pending.
"""

from __future__ import annotations

from collections.abc import Iterable

from .errors import FusionSolarError, QuotaError
from .models import Device


class Incomplete:
    """What a batched read could not read (nothing, by default)."""

    pending: tuple[str, ...] = ()
    retry_after: float = 0.0
    error: FusionSolarError | None = None

    @property
    def complete(self) -> bool:
        """Whether every requested code was read."""
        return not self.pending

    def add_pending(self, codes: Iterable[str], error: FusionSolarError) -> None:
        """Name ``codes`` as not read because of ``error`` (the first error is kept)."""
        self.pending = tuple(dict.fromkeys((*self.pending, *codes)))
        if self.error is None:
            self.error = error
        if isinstance(error, QuotaError):
            self.retry_after = max(self.retry_after, error.retry_after)


class BatchResult[T](Incomplete, dict[str, T]):
    """Answers by plant code; ``pending`` plants were not read (see :class:`Incomplete`)."""


class DeviceList(Incomplete, list[Device]):
    """Devices of the plants read completely; ``pending`` plants' devices are left out.

    Keep the devices you already know for the ``pending`` plants.
    """
