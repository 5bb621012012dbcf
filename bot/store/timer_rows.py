"""The ``timers`` table's statements: write, cancel, read due rows, claim by token, delete.

Apart from the loop (:mod:`bot.store.timers`) so that what a claim *is* (an ``UPDATE`` of the
row as it was read) reads in one place, next to the other statements on the same table, and
the loop reads as a loop. Every write goes through Vigil's :class:`bot.store.db.Database`
writer; reads through its read sessions.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import NamedTuple

from sqlalchemy import Table, delete, func, insert, update
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.store.db import Database


class Pending(NamedTuple):
    key: str
    kind: str
    at: datetime


class Due(NamedTuple):
    """A timer row as read: claimed by its ``token``, never by its key alone."""

    key: str
    kind: str
    at: datetime
    payload: str
    attempt: int
    token: str


def new_token() -> str:
    return uuid.uuid4().hex


class TimerRows:
    """The statements on one timers table, through one database."""

    def __init__(self, db: Database, table: Table) -> None:
        self._db = db
        self.table = table

    async def write(
        self, session: AsyncSession, kind: str, key: str, at: datetime, text: str, attempt: int
    ) -> None:
        """Replace the timer of ``key`` inside the caller's transaction."""
        t = self.table
        await session.exec(delete(t).where(t.c.key == key))
        await session.exec(
            insert(t).values(
                key=key,
                kind=kind,
                due_at=at.astimezone(UTC),
                payload=text,
                attempt=attempt,
                token=new_token(),
            )
        )

    async def remove(self, key: str) -> bool:
        """Delete one timer; False when there was none."""
        t = self.table
        # Looked up first on a read session: most cancels find nothing (a page delivered at
        # its first try cancels the retry it never needed), and a write would wait its turn
        # for SQLite's one writer, in a storm behind the alerts, for nothing.
        async with self._db.read() as s, s.begin():
            found = (await s.exec(select(t.c.key).where(t.c.key == key))).first()
        if found is None:
            return False
        async with self._db.session() as s, s.begin():
            result = await s.exec(delete(t).where(t.c.key == key))
        return int(result.rowcount) > 0

    async def remove_prefix(self, prefix: str) -> int:
        """Delete every timer whose key starts with ``prefix`` in one statement; how many."""
        t = self.table
        async with self._db.session() as s, s.begin():
            result = await s.exec(delete(t).where(t.c.key.startswith(prefix, autoescape=True)))
        return int(result.rowcount)

    async def pending(self) -> list[Pending]:
        """Every timer not yet fired (a claimed one at its lease's end), earliest first."""
        t = self.table
        query = select(t.c.key, t.c.kind, t.c.due_at).order_by(t.c.due_at, t.c.key)
        async with self._db.read() as s, s.begin():
            rows = (await s.exec(query)).all()
        return [Pending(key, kind, at) for key, kind, at in rows]

    async def due(self, now: datetime, limit: int) -> list[Due]:
        """The rows due at ``now``, earliest first, as read (each with its token)."""
        t = self.table
        columns = (t.c.key, t.c.kind, t.c.due_at, t.c.payload, t.c.attempt, t.c.token)
        query = (
            t.select()
            .with_only_columns(*columns)
            .where(t.c.due_at <= now)
            .order_by(t.c.due_at, t.c.key)
            .limit(limit)
        )
        async with self._db.read() as s, s.begin():
            conn = await s.connection()
            return [Due(*row) for row in (await conn.execute(query)).all()]

    async def next_due(self) -> datetime | None:
        async with self._db.read() as s, s.begin():
            found: datetime | None = (await s.exec(select(func.min(self.table.c.due_at)))).one()
        return found

    async def claim(self, due: Due, until: datetime) -> str | None:
        """Lease the row of ``due`` *as it was read* (its token): move its due time to
        ``until`` under a new token; that token if this call won, else None.

        By token, not key: between another replica's read and its claim, the process that
        claimed first may have re-scheduled the same key (the next escalation step, the
        next handoff), and a claim by key would take that new timer and run the old one a
        second time."""
        t = self.table
        token = new_token()
        async with self._db.session() as s, s.begin():
            result = await s.exec(
                update(t)
                .where(t.c.key == due.key, t.c.token == due.token)
                .values(due_at=until, token=token)
            )
        return token if int(result.rowcount) == 1 else None

    async def done(self, key: str, token: str) -> None:
        """Delete the row this process leased, unless the handler set the key anew (another
        token) or someone cancelled it meanwhile (no row)."""
        t = self.table
        async with self._db.session() as s, s.begin():
            await s.exec(delete(t).where(t.c.key == key, t.c.token == token))

    async def still_ours(self, session: AsyncSession, key: str, token: str) -> bool:
        """Whether the row of ``key`` still carries ``token`` (not set anew, not cancelled)."""
        t = self.table
        query = select(t.c.key).where(t.c.key == key, t.c.token == token)
        return (await session.exec(query)).first() is not None
