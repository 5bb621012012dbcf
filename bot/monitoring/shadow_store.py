"""Shadow mode's tables read and kept: the comparison's counts, and their upkeep.

Every write of shadow mode (``shadow_pairing``) appends what it changed in a version's
counts to ``shadow_tallies`` as a delta (no read, no update, as the panes do), so
:meth:`ShadowStore.read` sums a version's deltas, and counts a waiting row past the window
as unmatched whether or not it was dropped yet: every replica reads the same answer, and a
restart keeps it.

:meth:`ShadowStore.upkeep` (the service's flush, every 15 s, whichever replica runs it) drops
the waiting rows past the window (counting them unmatched, in the same transaction, so a
reading sees either the row or the count), forgets the live rows past the window, and every
live row once no shadow posted within it, keeps the live rows and each version's paired ids
to ``max_rows`` (the oldest go: between two upkeeps a busy model may hold a few seconds'
more), drops what older references left, and folds each version's deltas into one row.

On PostgreSQL every transaction that changes shadow rows takes one transaction-scoped
advisory lock (:meth:`ShadowStore.lock`) before its first change and nothing else takes it:
a shadow row and its live row reaching two replicas at once are then paired by whichever
commits second (without it each could insert before seeing the other's uncommitted row),
and two writers never wait on each other's rows. On SQLite the one writer serializes them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ARRAY, Text, any_, cast, delete, func, insert, literal, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from bot.monitoring.shadow_tables import (
    ShadowLiveRow,
    ShadowPairedRow,
    ShadowTallyRow,
    ShadowVersionRow,
    ShadowWaitingRow,
)
from bot.quality.compare.shadow import MAX_ROWS, WINDOW, ShadowScorer, ShadowTally
from bot.quality.compare.shadow_codec import summed, tally_values
from bot.quality.panes import micros_of
from bot.store.db import Database

VERSIONS: Any = ShadowVersionRow.__table__  # type: ignore[attr-defined]
LIVE: Any = ShadowLiveRow.__table__  # type: ignore[attr-defined]
WAITING: Any = ShadowWaitingRow.__table__  # type: ignore[attr-defined]
PAIRED: Any = ShadowPairedRow.__table__  # type: ignore[attr-defined]
TALLIES: Any = ShadowTallyRow.__table__  # type: ignore[attr-defined]
LOCK_KEY = 0x76_69_67_69_6C_5F_73_68  # "vigil_sh": the advisory lock of shadow writes
IN_CHUNK = 500  # ids per IN (...) list: well under SQLite's and asyncpg's parameter limits
SECOND = 1_000_000


@dataclass(frozen=True)
class Shadowed:
    """Whose shadow mode a write or a reading is about: the model under its reference, and
    that reference's scorer."""

    model: str
    reference_id: int
    scorer: ShadowScorer


def chunks(items: Sequence[Any], size: int = IN_CHUNK) -> list[Sequence[Any]]:
    return [items[at : at + size] for at in range(0, len(items), size)]


def narrowed(
    stmt: Any, table: Any, model: str, version: str, reference_id: int | None = None
) -> Any:
    """``stmt`` narrowed to ``model``'s ``version`` (under ``reference_id`` when given)."""
    stmt = stmt.where(table.c.model == model).where(table.c.version == version)
    return stmt if reference_id is None else stmt.where(table.c.reference_id == reference_id)


class ShadowStore:
    """The shadow tables' shared parts, readings and upkeep; see the module docstring."""

    def __init__(self, db: Database, *, max_rows: int = MAX_ROWS) -> None:
        self.db = db
        self.window = int(WINDOW.total_seconds() * SECOND)
        self.max_rows = max_rows

    async def lock(self, conn: Any) -> None:
        """Take the shadow writes' lock until the transaction ends (PostgreSQL)."""
        if not self.db.is_sqlite:
            await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})

    def among(self, column: Any, ids: Sequence[str]) -> Any:
        """``column`` is one of ``ids``: on PostgreSQL one array parameter (``= ANY``: one
        statement text whatever the count, each id looked up through the key), on SQLite
        an ``IN`` list. The tables carry no index a lookup by id could be misplanned onto
        (one on ``at`` read before the statistics exist scanned the whole table)."""
        if self.db.is_sqlite:
            return column.in_(list(ids))
        return column == any_(cast(literal(list(ids)), ARRAY(Text)))

    def upsert(self, table: Any, rows: Sequence[dict[str, Any]], keys: Sequence[str]) -> Any:
        """An insert of rows like ``rows[0]`` where a row of the same key is replaced."""
        stmt = (sqlite_insert if self.db.is_sqlite else pg_insert)(table)
        changed = {c: stmt.excluded[c] for c in rows[0] if c not in keys}
        return stmt.on_conflict_do_update(index_elements=list(keys), set_=changed)

    async def held(self, conn: Any, model: str, reference_id: int) -> dict[str, int]:
        """Each shadow version of ``model`` under the reference, with when it last posted."""
        query = (
            select(VERSIONS.c.version, VERSIONS.c.last_at)
            .where(VERSIONS.c.model == model)
            .where(VERSIONS.c.reference_id == reference_id)
        )
        return {str(v): int(at) for v, at in (await conn.execute(query)).all()}

    def active(self, last: int | None, now: int) -> bool:
        """Whether a shadow that last posted at ``last`` is active at ``now``."""
        return last is not None and last + self.window > now

    async def append(self, conn: Any, who: Shadowed, tallies: Iterable[ShadowTally]) -> None:
        """Append each tally that counts anything as a delta of its version."""
        rows = [
            {"model": who.model, "reference_id": who.reference_id, "version": t.version}
            | tally_values(t)._asdict()
            for t in tallies
            if t
        ]
        if rows:
            await conn.execute(insert(TALLIES), rows)

    async def trim(self, conn: Any, table: Any, model: str, version: str | None, count: int) -> int:
        """Delete the oldest rows of ``model`` (and ``version``) past ``max_rows`` of the
        ``count`` it has; returns how many went."""
        excess = count - self.max_rows
        if excess <= 0:
            return 0
        oldest = select(table.c.row_id).where(table.c.model == model)
        stmt = delete(table).where(table.c.model == model)
        if version is not None:
            oldest = oldest.where(table.c.version == version)
            stmt = stmt.where(table.c.version == version)
        oldest = oldest.order_by(table.c.at, table.c.row_id).limit(excess)
        return int((await conn.execute(stmt.where(table.c.row_id.in_(oldest)))).rowcount or 0)

    async def read(
        self, who: Shadowed, version: str, now: datetime
    ) -> tuple[ShadowTally, int] | None:
        """Shadow ``version``'s tally and its rows still waiting, as of ``now`` (a waiting
        row past the window counts as unmatched, whether or not it was dropped yet); None
        when the version never posted under the reference."""
        cutoff = micros_of(now) - self.window
        model, ref = who.model, who.reference_id
        known = narrowed(select(VERSIONS.c.version), VERSIONS, model, version, ref)
        columns = select(TALLIES.c.counts, TALLIES.c.sums, TALLIES.c.segments)
        stored = narrowed(columns, TALLIES, model, version, ref)
        waiting = narrowed(select(func.count()), WAITING, model, version, ref)
        async with self.db.read() as s, s.begin():
            conn = await s.connection()
            if (await conn.execute(known)).first() is None:
                return None
            rows = (await conn.execute(stored)).all()
            late = (await conn.execute(waiting.where(WAITING.c.at < cutoff))).scalar_one()
            total = (await conn.execute(waiting)).scalar_one()
        tally = summed(who.scorer.empty(version), rows)
        tally.unmatched += int(late)
        return tally, int(total) - int(late)

    async def versions(self, model: str, reference_id: int) -> list[str]:
        """The shadow versions of ``model`` under the reference, by name."""
        async with self.db.read() as s, s.begin():
            return sorted(await self.held(await s.connection(), model, reference_id))

    async def upkeep(self, watched: Sequence[Shadowed], now: datetime) -> None:
        """Expire, trim, forget and fold, for each model under its current reference (see
        the module docstring). One transaction."""
        at = micros_of(now)
        async with self.db.session() as s, s.begin():
            conn = await s.connection()
            await self.lock(conn)
            for who in watched:
                await self._keep(conn, who, at)

    async def _keep(self, conn: Any, who: Shadowed, now: int) -> None:
        model, ref = who.model, who.reference_id
        for table in (VERSIONS, LIVE, WAITING, PAIRED, TALLIES):  # an older reference's
            await conn.execute(
                delete(table).where(table.c.model == model).where(table.c.reference_id < ref)
            )
        held = await self.held(conn, model, ref)
        if not held:
            return
        cutoff = now - self.window
        gone = await conn.execute(
            delete(WAITING)
            .where(WAITING.c.model == model)
            .where(WAITING.c.reference_id == ref)
            .where(WAITING.c.at < cutoff)
            .returning(WAITING.c.version)
        )
        tallies: dict[str, ShadowTally] = {}
        for (version,) in gone.all():
            tallies.setdefault(version, who.scorer.empty(version)).unmatched += 1
        await self.append(conn, who, tallies.values())
        live = delete(LIVE).where(LIVE.c.model == model)
        if not self.active(max(held.values()), now):
            await conn.execute(live)
        else:
            await conn.execute(live.where(LIVE.c.at < cutoff))
            count = select(func.count()).where(LIVE.c.model == model)
            await self.trim(conn, LIVE, model, None, (await conn.execute(count)).scalar_one())
        counts = (
            select(PAIRED.c.version, func.count())
            .where(PAIRED.c.model == model)
            .group_by(PAIRED.c.version)
        )
        for version, n in (await conn.execute(counts)).all():
            await self.trim(conn, PAIRED, model, version, int(n))
        for version in held:
            await self._fold(conn, who, version)

    async def _fold(self, conn: Any, who: Shadowed, version: str) -> None:
        """Fold the version's deltas into one row (``DELETE ... RETURNING``, then one
        insert: a delta is folded once, whoever folds)."""
        mine = narrowed(select(func.count()), TALLIES, who.model, version, who.reference_id)
        if (await conn.execute(mine)).scalar_one() < 2:
            return
        taken = await conn.execute(
            narrowed(delete(TALLIES), TALLIES, who.model, version, who.reference_id).returning(
                TALLIES.c.counts, TALLIES.c.sums, TALLIES.c.segments
            )
        )
        await self.append(conn, who, [summed(who.scorer.empty(version), taken.all())])
