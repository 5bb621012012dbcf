"""Shadow mode's pairing in the database, on SQLite and PostgreSQL: the rules one process
kept in memory, now shared by replicas (two engines on one database) and kept across a
restart.

A shadow row meets the live row of its id whichever comes first, within the window; one
whose partner never comes is unmatched; live rows are kept only while a shadow is active;
re-sent rows count once; rows and versions are bounded; labels join pairs by id, once; a
post's pairing commits with its panes or not at all.
Replicas racing on the same ids pair each once, and a restart reads what was written.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError

from bot.monitoring.panes.parts import PaneKey, Work
from bot.monitoring.panes.store import PaneStore
from bot.monitoring.panes.writer import PaneWriter
from bot.monitoring.shadow_pairing import Refused, ShadowPairing
from bot.monitoring.shadow_store import LIVE, PAIRED, TALLIES, Shadowed, ShadowStore
from bot.quality.compare.shadow import (
    MAX_ROWS,
    MAX_SHADOWS,
    PairRow,
    ShadowPost,
    ShadowScorer,
    ShadowTally,
)
from bot.store.db import Database
from tests.integration.test_pane_store import pane
from tests.unit.test_shadow import classifier, regressor, row

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
SCORER = ShadowScorer(classifier())
WHO = Shadowed("credit", 1, SCORER)


class Replica:
    """One process's view: its own engine on the shared database, writing as the service
    does (each post's work in a pane write)."""

    def __init__(self, db: Database, *, max_rows: int = MAX_ROWS, who: Shadowed = WHO) -> None:
        self.db = db
        self.store = ShadowStore(db, max_rows=max_rows)
        self.pairing = ShadowPairing(self.store)
        self.panes = PaneStore(db)
        self.who = who

    async def run(self, work: Work) -> object:
        return (await self.panes.write({}, [], [], work=[work])).worked[0]

    async def shadow(self, version: str, rows: Sequence[PairRow], at: datetime) -> ShadowPost:
        done = await self.run(self.pairing.post(self.who, version, rows, at))
        assert isinstance(done, ShadowPost), done
        return done

    async def live(self, rows: Sequence[PairRow], at: datetime) -> int:
        made = await self.run(self.pairing.live(self.who, lambda: rows, at))
        assert isinstance(made, int)
        return made

    async def label(self, labels: list[tuple[str, str]]) -> int:
        made = await self.run(self.pairing.labels(self.who, labels))
        assert isinstance(made, int)
        return made

    async def tally(self, version: str, at: datetime) -> tuple[ShadowTally, int]:
        found = await self.store.read(self.who, version, at)
        assert found is not None
        return found

    async def count(self, table: Any) -> int:
        async with self.db.read() as s, s.begin():
            conn = await s.connection()
            return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())


@pytest.fixture
async def other(db: Database) -> AsyncIterator[Database]:
    """A second replica: its own engine and connections on the same database."""
    second = Database(db.url)
    yield second
    await second.dispose()


async def test_a_shadow_pairs_with_its_live_row_whichever_comes_first(db: Database) -> None:
    one = Replica(db)
    post = await one.shadow("v8", [row(1, "ok"), row(2, "fraud")], T0)
    assert (post.paired, post.waiting) == (0, 2)
    assert await one.live([row(1, "ok"), row(2, "ok")], T0 + timedelta(minutes=5)) == 2
    # Live first this time: remembered (a shadow is active), the shadow pairs on arrival.
    await one.live([row(3, "ok")], T0 + timedelta(minutes=6))
    post = await one.shadow("v8", [row(3, "ok")], T0 + timedelta(minutes=7))
    assert (post.paired, post.waiting) == (1, 0)
    tally, waiting = await one.tally("v8", T0 + timedelta(minutes=7))
    assert (tally.pairs, tally.agree, tally.unmatched, waiting) == (3, 2, 0, 0)


async def test_a_shadow_row_whose_live_row_never_comes_within_the_window_is_unmatched(
    db: Database,
) -> None:
    one = Replica(db)
    await one.shadow("v8", [row(1, "ok"), row(2, "ok")], T0)
    assert await one.live([row(1, "ok")], T0 + timedelta(minutes=59)) == 1
    # r2's live row comes after the hour: r2 is unmatched, never paired.
    assert await one.live([row(2, "ok")], T0 + timedelta(minutes=61)) == 0
    tally, waiting = await one.tally("v8", T0 + timedelta(minutes=61))
    assert (tally.pairs, tally.unmatched, waiting) == (1, 1, 0)


async def test_live_rows_are_remembered_only_while_a_shadow_is_active(db: Database) -> None:
    one = Replica(db)
    await one.shadow("v7", [], T0 - timedelta(hours=3))  # long quiet: not active
    assert await one.live([row(1, "ok")], T0) == 0
    assert await one.count(LIVE) == 0
    # r1 was not remembered: its shadow waits, and is read as unmatched after the hour.
    post = await one.shadow("v8", [row(1, "ok")], T0 + timedelta(minutes=1))
    assert (post.paired, post.waiting) == (0, 1)
    await one.live([row(2, "ok")], T0 + timedelta(minutes=2))
    assert await one.count(LIVE) == 1
    later = T0 + timedelta(hours=2)
    tally, waiting = await one.tally("v8", later)
    assert (tally.unmatched, waiting) == (1, 0)
    # The upkeep drops the row (counting it once) and the live rows of a quiet shadow.
    await one.store.upkeep([WHO], later)
    tally, waiting = await one.tally("v8", later)
    assert (tally.unmatched, waiting) == (1, 0)
    assert await one.count(LIVE) == 0


async def test_rows_are_bounded_and_a_row_pushed_out_unpaired_counts_as_unmatched(
    db: Database,
) -> None:
    one = Replica(db, max_rows=3)
    post = await one.shadow("v8", [row(i, "ok") for i in range(5)], T0)
    assert post.waiting == 3
    assert (await one.tally("v8", T0))[0].unmatched == 2
    await one.live([row(i, "ok") for i in range(10, 20)], T0)
    await one.store.upkeep([WHO], T0)
    assert await one.count(LIVE) == 3


async def test_a_resent_shadow_row_counts_once(db: Database) -> None:
    one = Replica(db)
    await one.shadow("v8", [], T0)
    await one.live([row(1, "ok")], T0)
    await one.shadow("v8", [row(1, "ok")], T0)
    post = await one.shadow("v8", [row(1, "ok"), row(2, "ok"), row(2, "ok")], T0)
    assert (post.duplicates, post.waiting) == (2, 1)
    tally, _ = await one.tally("v8", T0)
    assert (tally.pairs, tally.duplicates) == (1, 2)


async def test_a_row_resent_after_the_window_is_unmatched_once_and_waits_anew(
    db: Database,
) -> None:
    one = Replica(db)
    await one.shadow("v8", [row(1, "ok")], T0)
    later = T0 + timedelta(minutes=61)
    post = await one.shadow("v8", [row(1, "ok")], later)
    assert (post.duplicates, post.waiting) == (0, 1)
    tally, waiting = await one.tally("v8", later)
    assert (tally.unmatched, waiting) == (1, 1)
    assert await one.live([row(1, "ok")], later) == 1


async def test_shadow_versions_are_bounded(db: Database) -> None:
    one = Replica(db)
    for v in range(MAX_SHADOWS):
        await one.shadow(f"v{v}", [], T0)
    refused = await one.run(one.pairing.post(WHO, "extra", [row(1, "ok")], T0 + timedelta(hours=1)))
    assert isinstance(refused, Refused)
    assert refused.field == "version"
    assert "at most 8" in refused.reason
    assert "extra" not in await one.store.versions("credit", 1)
    # A day later the idle ones make room.
    await one.shadow("extra", [], T0 + timedelta(hours=25))
    assert await one.store.versions("credit", 1) == ["extra"]


async def test_labels_join_pairs_once_whichever_replica_takes_them(
    db: Database, other: Database
) -> None:
    one, two = Replica(db), Replica(other)
    await one.shadow("v8", [], T0)
    await one.live([row(1, "ok"), row(2, "fraud"), row(3, "ok")], T0)
    await two.shadow("v8", [row(1, "ok"), row(2, "ok"), row(3, "fraud")], T0)
    labels = [("r1", "ok"), ("r2", "fraud"), ("r3", "fraud"), ("r9", "ok")]
    counted = await asyncio.gather(one.label(labels), two.label(labels))
    assert sorted(counted) == [0, 3]
    t, _ = await one.tally("v8", T0)
    assert (t.labelled, t.live_correct, t.shadow_correct) == (3, 2, 2)
    assert (t.live_only, t.shadow_only) == (1, 1)
    assert await one.label([("r1", "ok")]) == 0  # a label counts once
    assert await one.count(PAIRED) == 0


async def test_replicas_racing_on_the_same_ids_pair_each_once(
    db: Database, other: Database
) -> None:
    """Shadow rows to one replica, their live rows to the other, at the same moments: each
    id pairs exactly once, none is left waiting, none is counted twice."""
    one, two = Replica(db), Replica(other)
    await one.shadow("v8", [], T0)
    n, batch = 400, 20
    posts: list[Coroutine[Any, Any, object]] = []
    for start in range(0, n, batch):
        ids = range(start, start + batch)
        posts.append(one.shadow("v8", [row(i, "fraud" if i % 10 == 0 else "ok") for i in ids], T0))
        posts.append(two.live([row(i, "ok") for i in ids], T0))
    await asyncio.gather(*posts)
    tally, waiting = await two.tally("v8", T0)
    assert (tally.pairs, tally.agree, waiting, tally.unmatched) == (n, n - n // 10, 0, 0)
    assert tally.duplicates == 0


async def test_a_restart_reads_what_was_written_and_the_fold_changes_nothing(
    database_url: str,
) -> None:
    first = Database(database_url)
    await first.migrate()
    try:
        one = Replica(first)
        await one.shadow("v8", [row(i, "ok", latency_ms=30.0) for i in range(50)], T0)
        await one.live([row(i, "ok", latency_ms=20.0) for i in range(40)], T0)
        await one.label([(f"r{i}", "ok") for i in range(10)])
        before = await one.tally("v8", T0)
    finally:
        await first.dispose()
    again = Database(database_url)
    try:
        two = Replica(again)
        assert await two.count(TALLIES) == 2  # the first post counted nothing: no row
        after = await two.tally("v8", T0)
        await two.store.upkeep([WHO], T0)
        assert await two.count(TALLIES) == 1
        folded = await two.tally("v8", T0)
    finally:
        await again.dispose()
    for tally, waiting in (after, folded):
        assert waiting == before[1] == 10
        assert (tally.pairs, tally.labelled, tally.latency_range) == (
            40,
            10,
            [20.0, 20.0, 30.0, 30.0],
        )
        assert tally.live_latency.tolist() == before[0].live_latency.tolist()


def okay(i: int) -> list[PairRow]:
    return [row(i, "ok")]


async def test_a_posts_pairing_commits_with_its_panes_or_not_at_all(db: Database) -> None:
    """Through the group-commit writer, as the service posts: queued posts share writes and
    each gets its own answer; a write that fails answers every post with the error and
    stores none of their pairing."""
    one = Replica(db)
    writer = PaneWriter(one.panes, every=0.05)
    await writer.run(one.pairing.post(WHO, "v8", [], T0))
    key = PaneKey("credit", 1, "v1", 100)
    shadows = [writer.run(one.pairing.post(WHO, "v8", [row(i, "ok")], T0)) for i in range(0, 30, 3)]
    lives = [
        writer.predictions({key: pane(1)}, [], one.pairing.live(WHO, partial(okay, i), T0))
        for i in range(0, 30, 3)
    ]
    answers = await asyncio.gather(*shadows, *lives)
    assert writer.writes < 1 + 20  # merged, not one a post
    assert [a.version for a in answers[:10] if isinstance(a, ShadowPost)] == ["v8"] * 10
    assert (
        sum(a for a in answers[10:] if isinstance(a, int))
        + sum(a.paired for a in answers[:10] if isinstance(a, ShadowPost))
        == 10
    )
    async with db.engine.begin() as conn:  # the panes table is gone: the write fails
        await conn.execute(text("DROP TABLE model_panes"))
    failed = await asyncio.gather(
        writer.predictions({key: pane(1)}, [], one.pairing.live(WHO, partial(okay, 99), T0)),
        writer.run(one.pairing.post(WHO, "v8", [row(98, "ok")], T0)),
        return_exceptions=True,
    )
    assert all(isinstance(f, SQLAlchemyError) for f in failed)
    tally, waiting = await one.tally("v8", T0)
    assert (tally.pairs, waiting) == (10, 0)
    assert await one.count(LIVE) == 10  # r99 was not remembered


async def test_a_new_reference_starts_shadow_mode_afresh(db: Database) -> None:
    one = Replica(db)
    await one.shadow("v8", [row(1, "ok")], T0)
    renewed = Replica(db, who=Shadowed("credit", 2, ShadowScorer(regressor())))
    assert await renewed.store.read(renewed.who, "v8", T0) is None
    assert await renewed.store.versions("credit", 2) == []
    post = await renewed.shadow("v8", [row(1, 3.0)], T0)
    assert (post.waiting, post.duplicates) == (1, 0)  # the old reference's row is gone
    await renewed.store.upkeep([renewed.who], T0)
    assert await one.store.versions("credit", 1) == []
