"""Pushed samples in the database: two replicas take pushes, either one (or a restarted
process) reads every series' newest sample, and the series bound holds across them. On
SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from bot.core.errors import ValidationError
from bot.sources.base import Sample
from bot.sources.pushed import PushedSource
from bot.sources.pushed_store import PushedStore
from bot.store.db import Database

NOW = datetime(2026, 12, 6, 2, 0, tzinfo=UTC)
PAY = {"service": "payments", "region": "eu"}


def stored(db: Database, bound: int = 100) -> PushedSource:
    return PushedSource(max_series=bound, store=lambda n: PushedStore(db, max_series=n))


async def test_a_push_to_one_replica_is_read_by_the_other_and_after_a_restart(
    db: Database,
) -> None:
    other = Database(db.url)
    try:
        one, two = stored(db), stored(other)
        await asyncio.gather(
            one.push([Sample("error_rate", 0.2, PAY, NOW)]),
            two.push([Sample("latency_p99", 812.0, {"service": "search"}, NOW)]),
        )
        seen = {(s.metric, s.value) for s in await two.collect(NOW)}
        assert seen == {("error_rate", 0.2), ("latency_p99", 812.0)}
        again = stored(db)  # a restarted process: a new source on the same database
        [error_rate] = [s for s in await again.collect(NOW) if s.metric == "error_rate"]
        assert error_rate == Sample("error_rate", 0.2, PAY, NOW)
    finally:
        await other.dispose()


async def test_the_newer_sample_wins_whichever_arrives_last(db: Database) -> None:
    source = stored(db)
    late, early = NOW, NOW - timedelta(minutes=5)
    await source.push([Sample("error_rate", 0.5, PAY, late)])
    await source.push([Sample("error_rate", 0.1, PAY, early)])  # a retry of an old push
    await source.push([Sample("error_rate", 0.3, PAY, early), Sample("error_rate", 0.4, PAY, late)])
    assert [s.value for s in await source.collect(late)] == [0.4]
    assert await source.collect(early - timedelta(minutes=1)) == []


async def test_the_series_bound_holds_across_replicas_and_a_refused_push_stores_nothing(
    db: Database,
) -> None:
    other = Database(db.url)
    try:
        one, two = stored(db, bound=2), stored(other, bound=2)
        await one.push([Sample("a", 1, {}, NOW)])
        await two.push([Sample("b", 1, {}, NOW)])
        with pytest.raises(ValidationError) as refused:
            await one.push([Sample("a", 2, {}, NOW), Sample("c", 1, {}, NOW)])
        assert refused.value.field == "samples"
        assert "limit of 2 distinct series (holding 2, 1 new)" in refused.value.detail
        assert {(s.metric, s.value) for s in await two.collect(NOW)} == {("a", 1), ("b", 1)}
        await two.push([Sample("a", 3, {}, NOW)])  # a known series still updates
        assert {(s.metric, s.value) for s in await one.collect(NOW)} == {("a", 3), ("b", 1)}
    finally:
        await other.dispose()
