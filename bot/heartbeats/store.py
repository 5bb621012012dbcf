"""Heartbeat state in the database: record a beat, read every heartbeat's state.

A beat is one ``INSERT … ON CONFLICT DO UPDATE`` (SQLite and PostgreSQL both have it), so
two beats of one job arriving together both count and neither is lost, without a read
before the write; ``RETURNING`` hands back the row as the beat left it, schema hash learned
included. Lateness is judged from these rows, so a restarted Vigil still notices a job that
never came.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Table, case, func, or_
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, select

from bot.heartbeats.check import Beat, HeartbeatState
from bot.heartbeats.tables import HeartbeatRow
from bot.store.db import Database

_TABLE: Table = HeartbeatRow.__table__  # type: ignore[attr-defined]
#: The columns that describe the last run; a beat replaces them only if it finished later.
_LAST = ("last_beat_at", "last_rows", "last_schema_hash", "last_label_delay_s")


class HeartbeatStore:
    """Reads and writes the ``heartbeats`` table; every call is its own transaction."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def _insert(self) -> Any:
        dialect = sqlite if self._db.is_sqlite else postgresql
        return dialect.insert(_TABLE)

    async def record(self, name: str, beat: Beat, now: datetime) -> HeartbeatState:
        """Store one beat (committed on return) and give back the heartbeat's new state."""
        stmt = self._insert().values(
            name=name,
            known_since=now,
            last_beat_at=beat.at,
            last_rows=beat.rows,
            last_schema_hash=beat.schema_hash,
            learned_schema_hash=beat.schema_hash,
            last_label_delay_s=beat.label_delay_s,
            beats=1,
            updated_at=now,
        )
        new = stmt.excluded
        c = _TABLE.c
        later = or_(c.last_beat_at.is_(None), new.last_beat_at >= c.last_beat_at)
        values: dict[str, ColumnElement[Any]] = {
            key: case((later, new[key]), else_=c[key]) for key in _LAST
        }
        values["learned_schema_hash"] = func.coalesce(c.learned_schema_hash, new.last_schema_hash)
        values["beats"] = c.beats + 1
        values["updated_at"] = new.updated_at
        upsert = stmt.on_conflict_do_update(index_elements=[c.name], set_=values).returning(
            *_TABLE.c
        )
        async with self._db.session() as s, s.begin():
            row = (await s.exec(upsert)).one()
        return _state(row._mapping)

    async def states(self, names: Sequence[str], now: datetime) -> dict[str, HeartbeatState]:
        """The state of each named heartbeat; one never seen before is known from ``now``."""
        found = await self._read(names)
        missing = [n for n in names if n not in found]
        if missing:
            await self._ensure(missing, now)
            found |= await self._read(missing)
        return found

    async def _read(self, names: Iterable[str]) -> dict[str, HeartbeatState]:
        stmt = select(HeartbeatRow).where(col(HeartbeatRow.name).in_(list(names)))
        async with self._db.read() as s, s.begin():
            rows = (await s.exec(stmt)).all()
        return {row.name: _state(row.model_dump()) for row in rows}

    async def _ensure(self, names: Sequence[str], now: datetime) -> None:
        rows = [{"name": n, "known_since": now, "beats": 0, "updated_at": now} for n in names]
        stmt = self._insert().values(rows).on_conflict_do_nothing(index_elements=["name"])
        async with self._db.session() as s, s.begin():
            await s.exec(stmt)


def _state(row: Mapping[str, Any]) -> HeartbeatState:
    return HeartbeatState(
        known_since=row["known_since"],
        last_beat_at=row["last_beat_at"],
        last_rows=row["last_rows"],
        last_schema_hash=row["last_schema_hash"],
        learned_schema_hash=row["learned_schema_hash"],
        last_label_delay_s=row["last_label_delay_s"],
        beats=int(row["beats"]),
    )
