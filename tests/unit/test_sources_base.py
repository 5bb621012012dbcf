"""The source contract: immutable samples and a status that remembers since when."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.core.errors import VigilError
from bot.sources.base import Sample, SourceStatus, SourceUnavailable

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def test_sample_labels_are_a_frozen_copy() -> None:
    labels = {"model": "ranker"}
    sample = Sample("confidence", 0.9, labels, T0)
    labels["model"] = "changed"
    assert sample.labels["model"] == "ranker"
    with pytest.raises(TypeError):
        sample.labels["model"] = "x"  # type: ignore[index]


def test_unavailable_is_a_retryable_vigil_error() -> None:
    err = SourceUnavailable("connection refused", source="prometheus")
    assert isinstance(err, VigilError)
    assert err.retryable
    assert (str(err), err.reason) == ("prometheus: connection refused", "connection refused")


def test_status_since_moves_only_on_change() -> None:
    later, latest = T0 + timedelta(minutes=1), T0 + timedelta(minutes=2)
    status = SourceStatus.up(T0)
    assert status.observe(later, None) is status
    down = status.observe(later, SourceUnavailable("refused"))
    assert (down.state, down.since, down.reason) == ("unavailable", later, "refused")
    still = down.observe(latest, SourceUnavailable("timed out"))
    assert (still.since, still.reason) == (later, "timed out")
    back = still.observe(latest, None)
    assert (back.is_up, back.since, back.reason) == (True, latest, "")
