"""Batching helpers: id validation, incomplete results (api/batching.py, api/results.py)."""

from __future__ import annotations

import pytest

from custom_components.fusionsolar.api import (
    BatchResult,
    CommunicationError,
    InvalidArgumentError,
    QuotaExceededError,
)
from custom_components.fusionsolar.api.batching import valid_codes


@pytest.mark.parametrize("bad", [[1.5], [True], [None], [""], ["a,b"], "NE=1"])
def test_ids_that_are_no_ids_are_refused(bad: object) -> None:
    with pytest.raises(InvalidArgumentError, match="plant_codes"):
        valid_codes(bad, "plant_codes")  # type: ignore[arg-type]


def test_ids_are_stripped_and_deduplicated_in_order() -> None:
    assert valid_codes([" NE=2", 7, "NE=2", "NE=1 "], "plant_codes") == ["NE=2", "7", "NE=1"]


def test_pending_codes_keep_the_first_error_and_the_longest_wait() -> None:
    result: BatchResult[int] = BatchResult()
    assert result.complete
    quota = QuotaExceededError("407", retry_after=60.0)
    result.add_pending(["NE=1"], quota)
    result.add_pending(["NE=1", "NE=2"], CommunicationError("timeout"))
    result.add_pending(["NE=3"], QuotaExceededError("407", retry_after=30.0))
    assert result.pending == ("NE=1", "NE=2", "NE=3")
    assert result.error is quota
    assert result.retry_after == 60.0
    assert not result.complete
