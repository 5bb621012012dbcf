"""The model monitor's panes and label join in the database, shared by every replica.

A pane is a slice of one model version's rows as a merged sketch (``bot.quality.sketch``),
under (model, reference, version, minute of arrival). :meth:`PaneStore.write` takes what a
process gathered since its last write (merged deltas, never a row per prediction), the
predictions now awaiting a label, and the labels posted, and in ONE transaction:

1. stores the awaiting predictions (a row id posted again is the newer prediction);
2. joins each label to its prediction by deleting the awaiting row (``DELETE ... RETURNING``:
   a label posted twice, or to two replicas at once, joins once), crediting it to the
   prediction's minute as a confusion count and in the pane's label-health tally (its
   source, its delay since the prediction arrived, the prediction's confidence);
3. appends one pane per (model, reference, version, minute) it touched: an insert, no
   read, no lock, so replicas never wait for one another nor overwrite each other;
4. runs each post's ``Work`` (shadow mode's pairing, ``monitoring.shadow_pairing``), so
   what a post does beyond its panes commits with them.

The panes' ids order them by arrival, so a row window ("the last N rows") takes the newest
panes to within N/10 rows or a second for recent minutes (``writer``). :meth:`compact` folds
the panes of each closed minute into one (``DELETE ... RETURNING`` then one insert, in one
transaction: a pane is folded once, whoever compacts), so a minute costs one row to read
once it is over. :meth:`read` returns the panes of a minute range in id order;
:meth:`prune` drops panes past the retention and awaiting predictions past the horizon.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from itertools import repeat
from typing import Any

from sqlalchemy import delete, func, insert, tuple_
from sqlmodel import col, select

from bot.monitoring.panes.parts import (
    AwaitingBatch,
    Grown,
    Joined,
    LabelPost,
    Pane,
    PaneKey,
    PostedLabel,
    Work,
    Written,
    pane_of_row,
    values_of,
)
from bot.monitoring.tables import AwaitingRow, PaneRow
from bot.store.db import Database

_PANES: Any = PaneRow.__table__  # type: ignore[attr-defined]
_AWAITING: Any = AwaitingRow.__table__  # type: ignore[attr-defined]
_IN_CHUNK = 500  # ids per IN (...) list: well under SQLite's and asyncpg's parameter limits
_COLUMNS = "model, row_id, reference_id, version, minute, predicted, arrived, confidence"
_NEWER = (
    "ON CONFLICT (model, row_id) DO UPDATE SET reference_id = excluded.reference_id, "
    "version = excluded.version, minute = excluded.minute, predicted = excluded.predicted, "
    "arrived = excluded.arrived, confidence = excluded.confidence"
)
_SQLITE_REMEMBER = (
    f"INSERT INTO model_awaiting ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?) {_NEWER}"  # noqa: S608  # constant text: the values are bound
)
_PG_REMEMBER = (
    f"INSERT INTO model_awaiting ({_COLUMNS}) SELECT DISTINCT ON (model, row_id) {_COLUMNS} "  # noqa: S608
    "FROM unnest($1::varchar[], $2::varchar[], $3::bigint[], $4::varchar[], $5::bigint[], "
    "$6::varchar[], $7::bigint[], $8::float8[]) "
    f"WITH ORDINALITY AS t({_COLUMNS}, at) ORDER BY model, row_id, at DESC {_NEWER}"
)
"""One statement, the rows as eight arrays. ``DISTINCT ON`` keeps an id's last prediction of
the write (an upsert may not touch a row twice); sorted by key, so two replicas upserting
the same ids lock them in the same order."""


def _chunks(items: Sequence[Any], size: int = _IN_CHUNK) -> list[Sequence[Any]]:
    return [items[at : at + size] for at in range(0, len(items), size)]


class PaneStore:
    """Reads and writes ``model_panes`` and ``model_awaiting``."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def write(
        self,
        deltas: Mapping[PaneKey, Pane],
        awaiting: Sequence[AwaitingBatch],
        labels: Sequence[LabelPost],
        *,
        grow: Mapping[PaneKey, Grown] | None = None,
        work: Sequence[Work] = (),
    ) -> Written:
        """Store ``deltas`` and ``awaiting``, and join ``labels`` (per post). One
        transaction: all of it is stored, or none.

        ``grow``: panes this writer appended a moment ago and alone writes to, with their
        new whole content: they are updated in place instead of a new pane appended (a
        replica's second of traffic stays one row however many writes it took). A pane that
        is gone (another process folded its minute) gets the delta appended instead. Each
        other delta is appended, and :class:`Written` says where. Then each of ``work`` runs
        on the same transaction, in order."""
        adding: defaultdict[PaneKey, Pane] = defaultdict(
            lambda: Pane.labels_only({}),
        )
        grown = grow or {}
        for key, pane in deltas.items():
            if key not in grown:
                adding[key].add(pane)
        joined: list[list[Joined]] = []
        async with self._db.session() as s, s.begin():
            await self._remember(s, awaiting)
            for post in labels:
                found = await self._join(s, post)
                joined.append(found)
                for item in found:
                    pair = {(item.label, item.predicted): 1}
                    adding[item.key].add(Pane.labels_only(pair, item.tally()))
            for key in sorted(grown):
                update = grown[key]
                done = await s.exec(
                    _PANES.update()
                    .where(_PANES.c.id == update.pane_id)
                    .values(**values_of(update.whole))
                )
                if not done.rowcount:  # folded away meanwhile: its content is in the fold
                    adding[key].add(deltas[key])
            appended = await self._append(s, adding)
            worked = [await w(s) for w in work]
        return Written(joined, appended, worked)

    async def _remember(self, s: Any, awaiting: Sequence[AwaitingBatch]) -> None:
        """Upsert the awaiting predictions in bulk: a row id posted again (in this write or
        an earlier one) is the newer prediction. Plain tuples to the driver, no ORM per row:
        on PostgreSQL one ``INSERT ... SELECT FROM unnest(arrays)`` per column set (the rows
        travel as eight binary arrays), on SQLite one ``executemany``."""
        if not any(len(batch) for batch in awaiting):
            return
        conn = await s.connection()
        if self._db.is_sqlite:  # one statement a row, in order: the later prediction wins
            rows: list[tuple[object, ...]] = []
            for batch in awaiting:
                k = batch.key
                rows += zip(
                    repeat(k.model),
                    batch.row_ids,
                    repeat(k.reference_id),
                    repeat(k.version),
                    repeat(k.minute),
                    batch.predicted,
                    repeat(batch.arrived or None),
                    _confidences(batch),
                    strict=False,
                )
            await conn.exec_driver_sql(_SQLITE_REMEMBER, rows)
            return
        columns: tuple[list[object], ...] = ([], [], [], [], [], [], [], [])
        models, ids, references, versions, minutes, predicted, arrived, confidence = columns
        for batch in awaiting:
            k, n = batch.key, len(batch)
            models += repeat(k.model, n)
            ids += batch.row_ids
            references += repeat(k.reference_id, n)
            versions += repeat(k.version, n)
            minutes += repeat(k.minute, n)
            predicted += batch.predicted
            arrived += repeat(batch.arrived or None, n)
            confidence += _confidences(batch)
        await conn.exec_driver_sql(_PG_REMEMBER, columns)

    async def _join(self, s: Any, post: LabelPost) -> list[Joined]:
        model = post.model
        wanted: dict[str, list[PostedLabel]] = defaultdict(list)
        for posted in post.rows:
            wanted[posted.row_id].append(posted)
        out: list[Joined] = []
        for ids in _chunks(sorted(wanted)):
            table = _AWAITING
            stmt = (
                delete(table)
                .where(table.c.model == model)
                .where(table.c.row_id.in_(list(ids)))
                .returning(
                    table.c.row_id,
                    table.c.reference_id,
                    table.c.version,
                    table.c.minute,
                    table.c.predicted,
                    table.c.arrived,
                    table.c.confidence,
                )
            )
            for row in (await s.exec(stmt)).all():
                key = PaneKey(model, int(row.reference_id), row.version, int(row.minute))
                posted = wanted[row.row_id][0]  # a repeat of the id in the post is unknown
                delay = None if not row.arrived else (post.arrived - int(row.arrived)) / 1e6
                confidence = None if row.confidence is None else float(row.confidence)
                out.append(
                    Joined(
                        row.row_id,
                        posted.label,
                        row.predicted,
                        key,
                        posted.source,
                        delay,
                        confidence,
                    )
                )
        return out

    async def _append(self, s: Any, adding: Mapping[PaneKey, Pane]) -> dict[PaneKey, int]:
        """Append one pane per key; returns each one's id."""
        out: dict[PaneKey, int] = {}
        for k in sorted(adding):
            row = {"model": k.model, "reference_id": k.reference_id, "version": k.version}
            row |= {"minute": k.minute} | values_of(adding[k])
            stmt = insert(_PANES).values(**row).returning(_PANES.c.id)
            out[k] = int((await s.exec(stmt)).one()[0])
        return out

    async def compact(self, before: int, *, since: int) -> int:
        """Fold the panes of each minute in ``[since, before)`` that has several into one;
        returns the panes folded away."""
        table = _PANES
        keys = (table.c.model, table.c.reference_id, table.c.version, table.c.minute)
        crowded = (
            select(*keys)
            .where(table.c.minute >= since)
            .where(table.c.minute < before)
            .group_by(*keys)
            .having(func.count() > 1)
        )
        folded = 0
        async with self._db.session() as s, s.begin():
            for model, reference_id, version, minute in (await s.exec(crowded)).all():
                key = PaneKey(model, int(reference_id), version, int(minute))
                taken = (
                    await s.exec(
                        delete(table)
                        .where(tuple_(*keys) == (model, reference_id, version, minute))
                        .returning(*table.c)
                    )
                ).all()
                if not taken:  # another process folded it first
                    continue
                total = pane_of_row(taken[0])
                for row in taken[1:]:
                    total.add(pane_of_row(row))
                await self._append(s, {key: total})
                folded += len(taken) - 1
        return folded

    async def read(
        self, model: str, reference_id: int, since: int | None = None
    ) -> list[tuple[str, int, Pane]]:
        """The panes of minutes ``since`` (inclusive) on, as (version, minute, pane), by
        minute and, within a minute, in the order they were written."""
        query = (
            select(PaneRow)
            .where(col(PaneRow.model) == model)
            .where(col(PaneRow.reference_id) == reference_id)
        )
        if since is not None:
            query = query.where(col(PaneRow.minute) >= since)
        query = query.order_by(col(PaneRow.minute), col(PaneRow.id))
        async with self._db.read() as s, s.begin():
            return [
                (row.version, row.minute, pane_of_row(row)) for row in (await s.exec(query)).all()
            ]

    async def versions(self, model: str, reference_id: int) -> list[str]:
        """The versions with a stored pane under ``reference_id``, by name."""
        query = (
            select(col(PaneRow.version))
            .where(col(PaneRow.model) == model)
            .where(col(PaneRow.reference_id) == reference_id)
            .distinct()
        )
        async with self._db.read() as s, s.begin():
            return sorted((await s.exec(query)).all())

    async def oldest(self, model: str, reference_id: int) -> int | None:
        """The oldest minute stored for ``model`` under ``reference_id`` (None: none)."""
        query = (
            select(func.min(col(PaneRow.minute)))
            .where(col(PaneRow.model) == model)
            .where(col(PaneRow.reference_id) == reference_id)
        )
        async with self._db.read() as s, s.begin():
            found = (await s.exec(query)).one()
        return None if found is None else int(found)

    async def prune(self, before: int, *, awaiting_before: Mapping[str, int]) -> int:
        """Drop panes of minutes before ``before`` and, per model, awaiting predictions
        of minutes before ``awaiting_before[model]``; returns the panes dropped."""
        async with self._db.session() as s, s.begin():
            result = await s.exec(delete(PaneRow).where(col(PaneRow.minute) < before))
            for model, minute in sorted(awaiting_before.items()):
                await s.exec(
                    delete(AwaitingRow)
                    .where(col(AwaitingRow.model) == model)
                    .where(col(AwaitingRow.minute) < minute)
                )
            return int(getattr(result, "rowcount", 0) or 0)

    async def awaiting_count(self, model: str) -> int:
        async with self._db.read() as s, s.begin():
            query = select(func.count()).where(col(AwaitingRow.model) == model)
            return int((await s.exec(query)).one())


def _confidences(batch: AwaitingBatch) -> Sequence[float | None]:
    return batch.confidence if batch.confidence is not None else [None] * len(batch)
