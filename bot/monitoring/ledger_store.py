"""The minute ledger in the database: flushed records in, a range of them out, old ones gone.

Rows are additive deltas (``bot.quality.compare.ledger.MinuteRecord``), appended in one batch per
flush and never updated: no read-modify-write, so the same statements serve SQLite and
PostgreSQL, and two processes (the HTTP process of a split ``vigil serve`` takes the posts,
its worker reads) or two lives of one process never overwrite each other's minutes.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import delete, insert
from sqlmodel import col, select

from bot.monitoring.tables import LedgerMinuteRow
from bot.quality.compare.ledger import MinuteRecord
from bot.store.db import Database

_COUNTS = np.dtype("<i8")
_LATENCY = np.dtype("<f4")


@dataclass(frozen=True)
class LedgerBatch:
    """One version's drained records, under the reference its bins come from."""

    model: str
    reference_id: int
    version: str
    records: Sequence[MinuteRecord]


def _row(batch: LedgerBatch, record: MinuteRecord) -> dict[str, object]:
    return {
        "model": batch.model,
        "reference_id": batch.reference_id,
        "version": batch.version,
        "minute": record.minute,
        "counts": record.counts.astype(_COUNTS).tobytes(),
        "conf_sum": record.conf_sum,
        "conf_var": record.conf_var,
        "latencies": record.latencies.astype(_LATENCY).tobytes(),
        "latency_rows": record.latency_rows,
        "confusion": json.dumps([[a, b, n] for (a, b), n in record.confusion.items()]),
    }


def _record(row: LedgerMinuteRow) -> MinuteRecord:
    pairs = json.loads(row.confusion)
    return MinuteRecord(
        minute=row.minute,
        counts=np.frombuffer(row.counts, dtype=_COUNTS).astype(np.int64),
        conf_sum=row.conf_sum,
        conf_var=row.conf_var,
        latencies=np.frombuffer(row.latencies, dtype=_LATENCY),
        latency_rows=row.latency_rows,
        confusion={(str(a), str(b)): int(n) for a, b, n in pairs},
    )


class LedgerStore:
    """Reads and writes ``model_ledger_minutes``; every call is its own transaction."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def append(self, batches: Sequence[LedgerBatch]) -> int:
        """Store every record of ``batches`` in one transaction; returns the rows written."""
        rows = [_row(b, r) for b in batches for r in b.records]
        if rows:
            async with self._db.session() as s, s.begin():
                await s.exec(insert(LedgerMinuteRow), params=rows)
        return len(rows)

    async def versions(self, model: str, reference_id: int) -> set[str]:
        """The versions with a stored minute under ``reference_id``."""
        async with self._db.read() as s, s.begin():
            found = await s.exec(
                select(LedgerMinuteRow.version)
                .where(col(LedgerMinuteRow.model) == model)
                .where(col(LedgerMinuteRow.reference_id) == reference_id)
                .distinct()
            )
            return set(found.all())

    async def read(
        self, model: str, reference_id: int, low: int | None, high: int | None
    ) -> dict[str, list[MinuteRecord]]:
        """Version → the stored records of minutes ``low`` (inclusive) to ``high``."""
        query = (
            select(LedgerMinuteRow)
            .where(col(LedgerMinuteRow.model) == model)
            .where(col(LedgerMinuteRow.reference_id) == reference_id)
        )
        if low is not None:
            query = query.where(col(LedgerMinuteRow.minute) >= low)
        if high is not None:
            query = query.where(col(LedgerMinuteRow.minute) < high)
        out: defaultdict[str, list[MinuteRecord]] = defaultdict(list)
        async with self._db.read() as s, s.begin():
            for row in (await s.exec(query)).all():
                out[row.version].append(_record(row))
        return dict(out)

    async def prune(self, before: int) -> int:
        """Delete the minutes before ``before`` (every model's); returns how many rows."""
        async with self._db.session() as s, s.begin():
            result = await s.exec(
                delete(LedgerMinuteRow).where(col(LedgerMinuteRow.minute) < before)
            )
            return int(getattr(result, "rowcount", 0) or 0)
