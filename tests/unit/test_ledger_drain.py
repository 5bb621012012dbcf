"""The minute ledger drains into additive records: memory plus what was drained is what
memory alone held, across any number of drains, late labels and a fresh ledger (a restart)."""

from __future__ import annotations

from datetime import timedelta

from bot.monitoring.monitor import ModelMonitor
from bot.quality.compare.ledger import LATENCIES_KEPT, MinuteRecord, VersionLedger, VersionSummary
from bot.quality.windows import WindowSpec
from tests.unit.test_monitor import NOW, reference, rows
from tests.unit.test_monitor_versions import tag


def figures(s: VersionSummary) -> tuple[object, ...]:
    """Every figure of a summary, comparable with ==."""
    return (
        s.rows,
        s.confidence,
        s.prediction_counts.tolist(),
        s.prediction_missing,
        s.confidence_counts.tolist(),
        dict(s.confusion),
        s.latency_ms,
        s.latency_rows,
    )


def monitor_with_rows() -> tuple[ModelMonitor, list[dict[str, object]]]:
    monitor = ModelMonitor(WindowSpec(rows=10_000))
    monitor.watch("credit", "v7", reference())
    first, second = rows(60, seed=1), rows(40, seed=2, start=60)
    monitor.predictions("credit", {"rows": tag(first, "v1", latency_ms=12)}, NOW)
    monitor.predictions(
        "credit", {"rows": tag(second, "v1", latency_ms=30)}, NOW + timedelta(minutes=2)
    )
    return monitor, first + second


def test_drained_records_plus_memory_are_what_memory_held_and_nothing_twice() -> None:
    monitor, posted = monitor_with_rows()
    ledger = monitor.version("credit", "v1").ledger
    before = ledger.summary("credit", "v1", None, None)
    stored: list[MinuteRecord] = []

    # Only the closed minute (the first): the open one stays in memory.
    stored += ledger.drain(VersionLedger.minute_of(NOW + timedelta(minutes=2)))
    assert [r.minute for r in stored] == [VersionLedger.minute_of(NOW)]
    assert figures(ledger.summary("credit", "v1", None, None, stored)) == figures(before)
    assert ledger.summary("credit", "v1", None, None).rows == 40  # memory holds the rest
    assert ledger.drain(VersionLedger.minute_of(NOW + timedelta(minutes=2))) == []

    # Labels joined after their minute was drained are a new delta of that minute.
    truths = [{"id": r["id"], "label": r["prediction"]} for r in posted]
    monitor.labels("credit", {"rows": truths})
    labelled = ledger.summary("credit", "v1", None, None, stored)
    assert (labelled.rows, labelled.labelled) == (100, 100)
    stored += ledger.drain()
    again = ledger.summary("credit", "v1", None, None, stored)
    assert figures(again) == figures(labelled)
    assert ledger.drain() == []

    # A fresh ledger (a restart) reads the same from the records alone, ranges included.
    fresh = VersionLedger(reference())
    assert figures(fresh.summary("credit", "v1", None, None, stored)) == figures(labelled)
    late = NOW + timedelta(minutes=1)
    assert figures(fresh.summary("credit", "v1", late, None, stored)) == figures(
        ledger.summary("credit", "v1", late, None, stored)
    )
    assert fresh.summary("credit", "v1", late, None, stored).rows == 40


def test_the_minutes_latency_sample_stays_capped_across_drains() -> None:
    monitor = ModelMonitor(WindowSpec(rows=10_000))
    monitor.watch("credit", "v7", reference())
    ledger_of = monitor.version
    monitor.predictions(
        "credit", {"rows": tag(rows(LATENCIES_KEPT - 100, seed=3), "v1", latency_ms=5)}, NOW
    )
    stored = ledger_of("credit", "v1").ledger.drain()
    monitor.predictions(
        "credit", {"rows": tag(rows(300, seed=4, start=5_000), "v1", latency_ms=9)}, NOW
    )
    s = ledger_of("credit", "v1").ledger.summary("credit", "v1", None, None, stored)
    assert (len(s.latency_ms), s.latency_rows) == (LATENCIES_KEPT, LATENCIES_KEPT + 200)
    assert s.latency_ms[-100:] == (9.0,) * 100


def test_a_record_of_another_references_bins_is_not_added() -> None:
    monitor, _ = monitor_with_rows()
    stored = monitor.version("credit", "v1").ledger.drain()
    other = MinuteRecord(
        stored[0].minute, stored[0].counts[:-1], 0.0, 0.0, stored[0].latencies[:0], 0, {}
    )
    assert VersionLedger(reference()).summary("credit", "v1", None, None, [other]).rows == 0
