"""The monitor per model version: windows kept apart exactly, the minute ledger's ranges."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from bot.core.errors import ValidationError
from bot.monitoring.monitor import ModelMonitor
from bot.monitoring.versions import MAX_VERSIONS
from bot.quality.compare.ledger import LATENCIES_KEPT
from bot.quality.windows import WindowSpec
from tests.unit.test_monitor import NOW, reference, rows


def tag(batch: list[dict[str, object]], version: str, **extra: object) -> list[dict[str, object]]:
    return [{**row, "version": version, **extra} for row in batch]


def counts(monitor: ModelMonitor, version: str | None) -> tuple[int, int, list[int]]:
    snap = monitor.snapshot("credit", NOW, version)
    return snap.n_rows, snap.n_rejected, snap.counts["income"].tolist()


def test_a_second_version_is_counted_apart_without_losing_or_doubling_rows() -> None:
    monitor = ModelMonitor(WindowSpec(rows=1000))
    monitor.watch("credit", "v7", reference())
    first = rows(300, seed=1)
    monitor.predictions("credit", {"rows": [*first, "not a row"], "version": "v1"}, NOW)
    assert counts(monitor, "v1")[:2] == (300, 1)

    canary = rows(100, shift=30, seed=2, start=300)
    stable = rows(200, seed=3, start=400)
    monitor.predictions("credit", {"rows": tag(canary, "v2") + tag(stable, "v1")}, NOW)
    v1, v2, whole = counts(monitor, "v1"), counts(monitor, "v2"), counts(monitor, None)
    assert (v1[0], v2[0], whole[0]) == (500, 100, 600)
    assert v1[1] + v2[1] == whole[1] == 1  # the rejected row stays v1's
    assert (np.array(v1[2]) + np.array(v2[2])).tolist() == whole[2]
    # Only v1's rows: the same figures as a model that never had a canary.
    alone = ModelMonitor(WindowSpec(rows=1000))
    alone.watch("credit", "v7", reference())
    alone.predictions("credit", {"rows": [*first, "not a row"]}, NOW)
    alone.predictions("credit", {"rows": stable}, NOW)
    assert counts(alone, None) == v1


def test_the_ledger_reads_a_range_by_minute_and_labels_count_where_their_prediction_arrived() -> (
    None
):
    monitor = ModelMonitor(WindowSpec(rows=1000))
    monitor.watch("credit", "v7", reference())
    early, late = rows(60, seed=1), rows(40, seed=2, start=60)
    monitor.predictions("credit", {"rows": tag(early, "v2", latency_ms=12)}, NOW)
    monitor.predictions("credit", {"rows": tag(late, "v2")}, NOW + timedelta(minutes=5))
    truths = [{"id": r["id"], "label": r["prediction"]} for r in early + late]
    monitor.labels("credit", {"rows": truths})

    def summary(**span: object) -> tuple[int, int, int]:
        s = monitor.summary("credit", "v2", **span)  # type: ignore[arg-type]
        return s.rows, s.labelled, s.latency_rows

    assert summary(since=None, until=None) == (100, 100, 60)
    assert summary(since=NOW + timedelta(minutes=1), until=None) == (40, 40, 0)
    assert summary(since=None, until=NOW + timedelta(minutes=5)) == (60, 60, 60)
    assert summary(since=NOW + timedelta(seconds=1), until=NOW + timedelta(minutes=5)) == (
        0,
        0,
        0,
    )
    whole = monitor.summary("credit", "v2", since=None, until=None)
    assert whole.accuracy == 1.0
    assert whole.estimate is not None
    assert whole.estimate.n == 100


def test_latencies_beyond_the_minutes_sample_are_counted_not_kept() -> None:
    monitor = ModelMonitor(WindowSpec(rows=10_000))
    monitor.watch("credit", "v7", reference())
    batch = tag(rows(LATENCIES_KEPT + 200, seed=4), "v1", latency_ms=8.5)
    monitor.predictions("credit", {"rows": batch}, NOW)
    s = monitor.summary("credit", "v1", since=None, until=None)
    assert (len(s.latency_ms), s.latency_rows, s.latency_sampled) == (
        LATENCIES_KEPT,
        LATENCIES_KEPT + 200,
        True,
    )


def test_minutes_older_than_a_day_are_dropped() -> None:
    monitor = ModelMonitor(WindowSpec(rows=1000))
    monitor.watch("credit", "v7", reference())
    monitor.predictions("credit", {"rows": tag(rows(10, seed=5), "v1")}, NOW)
    monitor.predictions(
        "credit", {"rows": tag(rows(5, seed=6, start=10), "v1")}, NOW + timedelta(hours=25)
    )
    assert monitor.summary("credit", "v1", since=None, until=None).rows == 5
    # A label for a prediction whose minute is gone still counts for realized accuracy.
    monitor.labels("credit", {"rows": [{"id": "r0", "label": "approve"}]})
    assert monitor.summary("credit", "v1", since=None, until=None).labelled == 0
    realized = monitor.realized("credit", "v1")
    assert realized is not None
    assert realized.n == 1


@pytest.mark.parametrize("version", [3, "3", "v1.2.0+build-7", "champion@2026/11"])
def test_versions_the_registries_use_are_accepted(version: object) -> None:
    monitor = ModelMonitor(WindowSpec(rows=1000))
    monitor.watch("credit", "v7", reference())
    monitor.predictions("credit", {"rows": tag(rows(2), "x"), "version": version}, NOW)
    monitor.predictions("credit", {"rows": rows(2, start=2), "version": version}, NOW)
    assert monitor.versions("credit") == [str(version), "x"]


def test_a_seventeenth_version_is_refused_until_an_old_one_is_a_day_quiet() -> None:
    monitor = ModelMonitor(WindowSpec(rows=1000))
    monitor.watch("credit", "v7", reference())
    batch = [tag(rows(1, start=i), f"v{i}")[0] for i in range(MAX_VERSIONS)]
    monitor.predictions("credit", {"rows": batch}, NOW)
    extra = {"rows": rows(1, start=99), "version": "late"}
    with pytest.raises(ValidationError) as refused:
        monitor.predictions("credit", extra, NOW + timedelta(hours=1))
    assert refused.value.field == "version"
    assert "at most 16" in refused.value.detail
    assert "late" not in monitor.versions("credit")
    keep = {"rows": tag(rows(1, start=100), "v1")}
    monitor.predictions("credit", keep, NOW + timedelta(hours=23))
    monitor.predictions("credit", extra, NOW + timedelta(hours=25))
    assert monitor.versions("credit") == sorted(["late", "v1"])
