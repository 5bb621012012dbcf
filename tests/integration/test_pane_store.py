"""The shared panes: two writers (two replicas, two connections) adding to the same minutes
never lose or double a row, a label joins once however often it is posted, and posts
queued together are written together. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections import Counter

import numpy as np
import pytest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from bot.monitoring.panes.parts import AwaitingBatch, LabelPost, Pane, PaneKey, PostedLabel
from bot.monitoring.panes.store import PaneStore
from bot.monitoring.panes.writer import PaneWriter
from bot.quality.sketch import SUMS, Sketch
from bot.store.db import Database

SIZE = 12


def pane(rows: int, conf: float = 0.5, latency: float | None = None) -> Pane:
    counts = np.zeros(SIZE, dtype=np.int64)
    counts[0] = rows
    counts[-3] = rows
    sums = np.zeros(SUMS, dtype=np.float64)
    sums[0] = conf * rows
    sketch = Sketch(counts, sums, first=1_000 * rows, last=2_000 * rows)
    if latency is None:
        return Pane(sketch)
    return Pane(sketch, np.full(rows, latency, dtype=np.float32), rows)


def total(panes: list[tuple[str, int, Pane]], version: str, minute: int) -> Pane:
    out = Pane.labels_only({})
    for v, m, p in panes:
        if (v, m) == (version, minute):
            out.add(p)
    return out


def key(minute: int, version: str = "v1") -> PaneKey:
    return PaneKey("credit", 1, version, minute)


async def test_two_replicas_adding_to_the_same_minutes_lose_nothing(db: Database) -> None:
    other = Database(db.url)  # a second replica: its own engine and connections
    try:
        one, two = PaneStore(db), PaneStore(other)
        writes = [
            store.write({key(m): pane(r), key(m + 1, "v2"): pane(1)}, [], [])
            for r in range(1, 11)
            for m in (100, 101)
            for store in (one, two)
        ]
        await asyncio.gather(*writes)
        before = await one.read("credit", 1, since=100)
        folded = await two.compact(200, since=0)  # every minute is over: one pane each
        stored = await one.read("credit", 1, since=100)
    finally:
        await other.dispose()
    assert len(before) == 4 * 20
    assert folded == 4 * 20 - 4
    assert [(v, m) for v, m, _ in stored] == [("v1", 100), ("v1", 101), ("v2", 101), ("v2", 102)]
    totals = {(v, m): total(before, v, m) for v, m, _ in stored}
    for version, minute, folded_pane in stored:  # folding changed no count
        expected = totals[(version, minute)].sketch.counts.tolist()
        assert folded_pane.sketch.counts.tolist() == expected
    # each minute: rows 1..10 from each replica
    v1 = {m: p for v, m, p in stored if v == "v1"}
    assert [int(v1[m].sketch.counts[0]) for m in (100, 101)] == [110, 110]
    assert v1[100].sketch.sums[0] == pytest.approx(55.0)
    assert (v1[100].sketch.first, v1[100].sketch.last) == (1_000, 20_000)


async def test_a_label_joins_its_prediction_once_whoever_posts_it(db: Database) -> None:
    other = Database(db.url)
    try:
        one, two = PaneStore(db), PaneStore(other)
        ids, classes = [f"r{i}" for i in range(50)], ["yes" if i % 2 else "no" for i in range(50)]
        awaiting = [AwaitingBatch(key(200), ids, classes)]
        await one.write({key(200): pane(50)}, awaiting, [])
        labels = [posted(f"r{i}", "yes") for i in range(50)] + [posted("ghost", "yes")]
        first, second = await asyncio.gather(
            one.write({}, [], [LabelPost("credit", labels, 0)]),
            two.write({}, [], [LabelPost("credit", labels, 0)]),
        )
        stored = total(await one.read("credit", 1), "v1", 200)
        left = await one.awaiting_count("credit")
    finally:
        await other.dispose()
    joined = [j.row_id for j in first.joined[0] + second.joined[0]]
    assert sorted(joined) == sorted(f"r{i}" for i in range(50))  # each once, ghost never
    confusion = stored.sketch.confusion
    assert confusion == Counter({("yes", "yes"): 25, ("yes", "no"): 25})
    assert int(stored.sketch.counts[0]) == 50  # the rows are untouched
    assert left == 0


def posted(row_id: str, label: str, source: str = "unspecified") -> PostedLabel:
    return PostedLabel(row_id, label, source)


async def test_a_label_is_tallied_with_its_source_delay_and_confidence(db: Database) -> None:
    store = PaneStore(db)
    second = 1_000_000
    arrived = 200 * 60 * second
    await store.write({}, [AwaitingBatch(key(200), ["r1"], ["yes"], arrived, [0.97])], [])
    later = LabelPost("credit", [posted("r1", "no", "chargeback")], arrived + 3_600 * second)
    (joined,) = (await store.write({}, [], [later])).joined
    assert [(j.source, j.delay, j.confidence) for j in joined] == [("chargeback", 3_600.0, 0.97)]
    tally = total(await store.read("credit", 1), "v1", 200).sketch.labels
    ((found, n),) = tally.n.items()
    assert (found.label, found.predicted, found.source, n) == ("no", "yes", "chargeback", 1)
    assert tally.conf[found] == 0.97


async def test_a_prediction_posted_again_is_the_newer_one(db: Database) -> None:
    store = PaneStore(db)
    await store.write({}, [AwaitingBatch(key(300), ["r1"], ["no"])], [])
    await store.write({}, [AwaitingBatch(key(301), ["r1"], ["yes"])], [])
    twice = [posted("r1", "yes"), posted("r1", "yes")]
    (joined,) = (await store.write({}, [], [LabelPost("credit", twice, 0)])).joined
    assert [(j.predicted, j.key.minute) for j in joined] == [("yes", 301)]


async def test_a_prediction_posted_twice_in_one_write_is_the_later_one(db: Database) -> None:
    store = PaneStore(db)
    posts = [
        AwaitingBatch(key(300), ["r1", "r2", "r1"], ["no", "no", "maybe"]),
        AwaitingBatch(key(301, "v2"), ["r2", "r3"], ["yes", "no"]),
    ]
    await store.write({}, posts, [])
    pairs = [posted("r1", "x"), posted("r2", "x"), posted("r3", "x")]
    (joined,) = (await store.write({}, [], [LabelPost("credit", pairs, 0)])).joined
    found = sorted((j.row_id, j.predicted, j.key.version, j.key.minute) for j in joined)
    assert found == [("r1", "maybe", "v1", 300), ("r2", "yes", "v2", 301), ("r3", "no", "v2", 301)]


async def test_one_sender_posting_in_turn_is_answered_at_once_into_one_pane(
    db: Database,
) -> None:
    """A sender that waits for each answer is never held back for a batching interval, and
    its writes of the same second grow the writer's own pane instead of adding rows."""
    store = PaneStore(db)
    writer = PaneWriter(store)
    for i in range(20):  # one at a time: each awaits its answer before the next
        await writer.predictions({key(500): pane(2)}, [AwaitingBatch(key(500), [f"s{i}"], ["no"])])
    assert writer.writes == 20
    rows = [p for _, m, p in await store.read("credit", 1) if m == 500]
    assert len(rows) <= 2  # a pane a second (the loop may straddle a second's end)
    assert sum(int(p.sketch.counts[0]) for p in rows) == 40
    assert await store.awaiting_count("credit") == 20


async def test_a_pane_stops_growing_at_a_tenth_of_the_row_window(db: Database) -> None:
    """A 50-row window ends within 5 rows of where it should, however fast rows come."""
    store = PaneStore(db)
    writer = PaneWriter(store, pane_rows=5)
    for _ in range(4):
        await writer.predictions({key(600): pane(3)}, [])
    rows = [int(p.sketch.counts[0]) for _, m, p in await store.read("credit", 1) if m == 600]
    assert rows == [6, 6]  # 3 grew to 6, then a new pane, which grew to 6


async def test_posts_queued_together_are_written_in_one_transaction(db: Database) -> None:
    store = PaneStore(db)
    writer = PaneWriter(store, every=0.05)
    posts = [
        writer.predictions(
            {key(400): pane(3, latency=12.0)}, [AwaitingBatch(key(400), [f"p{i}"], ["yes"])]
        )
        for i in range(40)
    ]
    await asyncio.gather(*posts)
    rows = [posted("p0", "yes"), posted("p1", "no"), posted("nope", "yes")]
    joined = await writer.labels("credit", rows, arrived=0)
    stored = total(await store.read("credit", 1), "v1", 400)
    assert int(stored.sketch.counts[0]) == 120
    assert stored.latency_rows == 120
    assert len(stored.latencies) == 120
    assert writer.writes < 40 + 1  # merged, not one a post
    assert [j.row_id for j in joined] == ["p0", "p1"]
    assert stored.sketch.confusion == Counter({("yes", "yes"): 1, ("no", "yes"): 1})


async def test_a_failed_write_answers_every_post_and_stores_none_of_it(db: Database) -> None:
    store = PaneStore(db)
    writer = PaneWriter(store, every=0.0)
    async with db.engine.begin() as conn:  # the panes table is gone: the upsert fails
        await conn.execute(text("DROP TABLE model_panes"))
    posts = [
        writer.predictions({key(1): pane(1)}, [AwaitingBatch(key(1), [f"r{i}"], ["yes"])])
        for i in range(3)
    ]
    answers = await asyncio.gather(*posts, return_exceptions=True)
    assert all(isinstance(a, SQLAlchemyError) for a in answers)
    assert await store.awaiting_count("credit") == 0  # the predictions went with it


async def refuse_poison(db: Database) -> None:
    """Make the database itself refuse one value: a prediction with the id ``poison``."""
    async with db.engine.begin() as conn:
        if db.is_sqlite:
            await conn.execute(
                text(
                    "CREATE TRIGGER poison BEFORE INSERT ON model_awaiting "
                    "WHEN NEW.row_id = 'poison' BEGIN SELECT RAISE(ABORT, 'poison'); END"
                )
            )
        else:
            await conn.execute(
                text("ALTER TABLE model_awaiting ADD CONSTRAINT poison CHECK (row_id <> 'poison')")
            )


async def test_a_post_whose_value_is_refused_fails_alone(db: Database) -> None:
    """Posts written together share one transaction; when the database refuses a value of
    one of them, the others are written again without it and answered as stored: one bad
    post cannot fail the posts of every other sender that shared its write."""
    store = PaneStore(db)
    await store.write({}, [AwaitingBatch(key(700), ["old"], ["yes"])], [])
    await refuse_poison(db)
    writer = PaneWriter(store, every=0.05)  # posts arriving meanwhile share the next write
    ids = ["a", "b", "poison", "c"]
    posts = [
        writer.predictions({key(701): pane(2)}, [AwaitingBatch(key(701), [i], ["yes"])])
        for i in ids
    ]
    label = writer.labels("credit", [posted("old", "yes")], arrived=0)
    *answers, joined = await asyncio.gather(*posts, label, return_exceptions=True)
    assert [type(a).__name__ for a in answers] == [
        "NoneType",
        "NoneType",
        "IntegrityError",
        "NoneType",
    ]
    assert [j.row_id for j in joined] == ["old"]  # type: ignore[union-attr]
    assert await store.awaiting_count("credit") == 3  # a, b and c; old joined
    stored = total(await store.read("credit", 1), "v1", 701)
    assert int(stored.sketch.counts[0]) == 6  # the three stored posts' rows, not the fourth's


async def test_old_panes_and_predictions_past_the_horizon_go(db: Database) -> None:
    store = PaneStore(db)
    await store.write(
        {key(m): pane(1) for m in (10, 20, 30)},
        [AwaitingBatch(key(m), [f"r{m}"], ["yes"]) for m in (10, 20, 30)],
        [],
    )
    assert await store.oldest("credit", 1) == 10
    dropped = await store.prune(15, awaiting_before={"credit": 25})
    assert dropped == 1
    assert [m for _, m, _ in await store.read("credit", 1)] == [20, 30]
    assert await store.awaiting_count("credit") == 1
