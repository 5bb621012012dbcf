"""Pushed samples in the database: every replica takes them, whichever one evaluates reads them.

``POST /api/v1/samples`` may reach any replica behind a load balancer, and a restart must
not forget the last value a batch job pushed an hour ago (it would not push again until
its next run). So the latest sample of each series is a row of ``pushed_samples``
(migration 0020), keyed by a hash of the metric and its sorted labels, written by one
``INSERT ... ON CONFLICT DO UPDATE`` per post that keeps the newer of the stored and the
pushed sample (a late retry never replaces a newer value), and answered once committed.
The bound on distinct series holds across replicas: a post that would pass it stores
nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Column, Float, String, Table, Text, case, func
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Field, SQLModel, col, select

from bot.core.errors import ValidationError
from bot.sources.base import Sample
from bot.store.db import Database
from bot.store.tables import UTCDateTime

_IN_CHUNK = 500


class PushedSampleRow(SQLModel, table=True):
    """The latest pushed sample of one series (migration 0020)."""

    __tablename__ = "pushed_samples"

    series: str = Field(sa_column=Column(String(64), primary_key=True))
    """sha256 of ``[metric, sorted labels]`` (hex): labels can be long, a key cannot."""
    metric: str = Field(sa_column=Column(String(200), nullable=False))
    labels: str = Field(sa_column=Column(Text, nullable=False))
    value: float = Field(sa_column=Column(Float, nullable=False))
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


_TABLE: Table = PushedSampleRow.__table__  # type: ignore[attr-defined]


def series_id(sample: Sample) -> str:
    text = json.dumps([sample.metric, sorted(sample.labels.items())], separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


class PushedStore:
    """Reads and writes ``pushed_samples``; every call is its own transaction."""

    def __init__(self, db: Database, *, max_series: int) -> None:
        self._db = db
        self._max_series = max_series

    def _insert(self) -> Any:
        return (sqlite if self._db.is_sqlite else postgresql).insert(_TABLE)

    async def push(self, samples: Sequence[Sample]) -> int:
        """Keep each series' newest sample; all or nothing when the series bound would break
        (``ValidationError`` on ``samples``, nothing stored)."""
        newest: dict[str, Sample] = {}
        for sample in samples:  # within a post too, the newer sample of a series wins
            key = series_id(sample)
            held = newest.get(key)
            if held is None or sample.at >= held.at:
                newest[key] = sample
        if not newest:
            return len(samples)
        rows = [
            {
                "series": key,
                "metric": s.metric,
                "labels": json.dumps(dict(sorted(s.labels.items()))),
                "value": s.value,
                "at": s.at,
            }
            for key, s in sorted(newest.items())
        ]
        stmt = self._insert()
        new = stmt.excluded
        later = new.at >= _TABLE.c.at
        upsert = stmt.on_conflict_do_update(
            index_elements=[_TABLE.c.series],
            set_={
                "value": case((later, new.value), else_=_TABLE.c.value),
                "at": case((later, new.at), else_=_TABLE.c.at),
            },
        )
        async with self._db.session() as s, s.begin():
            holding = (await s.exec(select(func.count()).select_from(_TABLE))).one()
            known = 0
            keys = sorted(newest)
            for at in range(0, len(keys), _IN_CHUNK):
                chunk = keys[at : at + _IN_CHUNK]
                query = select(func.count()).where(col(PushedSampleRow.series).in_(chunk))
                known += (await s.exec(query)).one()
            fresh = len(newest) - known
            if holding + fresh > self._max_series:
                raise ValidationError(
                    "samples",
                    f"would exceed the limit of {self._max_series} distinct series "
                    f"(holding {holding}, {fresh} new)",
                )
            await s.exec(upsert, params=rows)
        return len(samples)

    async def latest(self, now: datetime) -> list[Sample]:
        """The latest sample of every series, measured at or before ``now``."""
        query = select(PushedSampleRow).where(col(PushedSampleRow.at) <= now)
        async with self._db.read() as s, s.begin():
            found = (await s.exec(query.order_by(col(PushedSampleRow.series)))).all()
        return [Sample(r.metric, r.value, json.loads(r.labels), r.at) for r in found]

    async def count(self) -> int:
        async with self._db.read() as s, s.begin():
            return int((await s.exec(select(func.count()).select_from(_TABLE))).one())
