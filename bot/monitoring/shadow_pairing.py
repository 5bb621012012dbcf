"""Shadow mode's pairing in the database: what a shadow post, a live post and a post of
labels do to the shadow tables, shared by every replica.

Each is a ``Work`` (``panes.parts``) run inside the group-commit write that stores the post
(``panes.writer``), so it commits with the post or not at all, and the post is answered
only once it did: a restart, even ``kill -9``, loses nothing acknowledged.

* A **shadow post** (:meth:`ShadowPairing.post`) makes room for a new version (at
  ``MAX_SHADOWS``, the ones idle for ``IDLE`` go; else it is refused), marks its version
  active (``shadow_versions.last_at``), counts an id already waiting (within the window)
  or paired as a duplicate (one that waited past it is unmatched, and waits anew), pairs
  each new row with the live row of its id remembered within the window, and leaves the
  rest waiting (the oldest past ``max_rows`` pushed out, unmatched). The other rows past
  the window go with the flush (``ShadowStore.upkeep``), read as unmatched until then. A
  model's first shadow post after a quiet window forgets the live rows of before (they
  were remembered for a shadow that went away).
* A **live post** (:meth:`ShadowPairing.live`) does nothing unless some shadow version
  posted within the window (one indexed read, no lock); then it takes the waiting shadow
  rows of its ids with ``DELETE ... RETURNING`` (a row pairs once, whichever replica took
  its live row; one that waited past the window is unmatched instead) and remembers the
  live rows.
* A **label** (:meth:`ShadowPairing.labels`) takes its paired id the same way, so a label
  posted twice, or to two replicas, counts once; a label of no pair costs one indexed read.

Every change is taken under the shadow lock (``ShadowStore.lock``), and counted as a delta
appended to ``shadow_tallies``. Which rows pair is ``bot.quality.compare.shadow``'s rule.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select

from bot.monitoring.panes.parts import Work
from bot.monitoring.shadow_store import (
    LIVE,
    PAIRED,
    SECOND,
    TALLIES,
    VERSIONS,
    WAITING,
    Shadowed,
    ShadowStore,
    chunks,
    narrowed,
)
from bot.quality.compare.shadow import (
    IDLE,
    MAX_SHADOWS,
    PairRow,
    ShadowPost,
    ShadowTally,
    prediction_key,
)
from bot.quality.compare.shadow_codec import row_of, row_text
from bot.quality.panes import micros_of


@dataclass(frozen=True)
class Refused:
    """A shadow post refused for its own fault (nothing of it was written)."""

    field: str
    reason: str


class ShadowPairing:
    """The work of each post; see the module docstring."""

    def __init__(self, store: ShadowStore) -> None:
        self.store = store

    def post(self, who: Shadowed, version: str, rows: Sequence[PairRow], now: datetime) -> Work:
        """The work of a shadow post: answers a :class:`ShadowPost`, or :class:`Refused`
        when the model already has ``MAX_SHADOWS`` versions that posted within ``IDLE``."""

        async def work(session: Any) -> ShadowPost | Refused:
            conn = await session.connection()
            await self.store.lock(conn)
            return await self._post(conn, who, version, rows, micros_of(now))

        return work

    async def _post(
        self, conn: Any, who: Shadowed, version: str, rows: Sequence[PairRow], now: int
    ) -> ShadowPost | Refused:
        model = who.model
        held = await self.store.held(conn, model, who.reference_id)
        refused = await self._make_room(conn, who, version, held, now)
        if refused is not None:
            return refused
        cutoff = now - self.store.window
        if not self.store.active(max(held.values(), default=None), now):  # the live rows
            # were remembered for a shadow that went quiet, or for none: they go
            await conn.execute(delete(LIVE).where(LIVE.c.model == model))
        await self._mark(conn, who, version, now, new=version not in held)
        tally = who.scorer.empty(version)
        first: dict[str, PairRow] = {}
        for row in rows:
            first.setdefault(row.id, row)
        ids = sorted(first)
        seen = await self._present(conn, PAIRED, model, version, ids)
        waited = await self._waited(conn, model, version, ids)
        late = [i for i, at in waited.items() if at < cutoff]
        if late:  # an id that waited past the window is unmatched, and may wait anew
            gone = await conn.execute(
                narrowed(delete(WAITING), WAITING, model, version).where(
                    self.store.among(WAITING.c.row_id, late)
                )
            )
            tally.unmatched += gone.rowcount or 0
        seen |= {i for i, at in waited.items() if at >= cutoff}
        tally.duplicates = len(rows) - len(first) + len(seen)
        fresh = [first[i] for i in ids if i not in seen]
        live = await self._live(conn, who, [r.id for r in fresh], cutoff)
        paired: list[dict[str, Any]] = []
        waiting: list[dict[str, Any]] = []
        base = {"model": model, "version": version, "reference_id": who.reference_id, "at": now}
        for row in fresh:
            partner = live.get(row.id)
            if partner is None:
                waiting.append(base | {"row_id": row.id, "row": row_text(row)})
                continue
            who.scorer.pair(tally, partner, row)
            paired.append(base | _pair_columns(partner, row))
        keys = ("model", "version", "row_id")
        for table, new in ((PAIRED, paired), (WAITING, waiting)):
            for part in chunks(new):
                await conn.execute(self.store.upsert(table, part, keys), list(part))
        tally.unmatched += await self._bound(conn, model, version, cutoff)
        held_now = await self._still_waiting(conn, model, version, cutoff)
        await self.store.append(conn, who, [tally])
        return ShadowPost(version, len(rows), len(paired), held_now, tally.duplicates)

    async def _bound(self, conn: Any, model: str, version: str, cutoff: int) -> int:
        """Push the oldest waiting rows past ``max_rows`` out; returns how many went (each
        unmatched: one past the window already was, the others are now)."""
        count = narrowed(select(func.count()), WAITING, model, version)
        total = int((await conn.execute(count)).scalar_one())
        return await self.store.trim(conn, WAITING, model, version, total)

    async def _still_waiting(self, conn: Any, model: str, version: str, cutoff: int) -> int:
        """The version's rows still waiting within the window."""
        count = narrowed(select(func.count()), WAITING, model, version)
        return int((await conn.execute(count.where(WAITING.c.at >= cutoff))).scalar_one())

    async def _waited(
        self, conn: Any, model: str, version: str, ids: Sequence[str]
    ) -> dict[str, int]:
        """Which of ``ids`` wait already, and since when."""
        out: dict[str, int] = {}
        for part in chunks(ids):
            query = narrowed(select(WAITING.c.row_id, WAITING.c.at), WAITING, model, version).where(
                self.store.among(WAITING.c.row_id, part)
            )
            out.update({str(i): int(at) for i, at in (await conn.execute(query)).all()})
        return out

    async def _make_room(
        self, conn: Any, who: Shadowed, version: str, held: dict[str, int], now: int
    ) -> Refused | None:
        """At ``MAX_SHADOWS`` versions, the ones idle for a day go (from ``held`` too); still
        at it, a new version is refused."""
        if version in held or len(held) < MAX_SHADOWS:
            return None
        idle = int(IDLE.total_seconds() * SECOND)
        for name in sorted(v for v, last in held.items() if last < now - idle):
            await self.forget(conn, who.model, name, who.reference_id)
            del held[name]
        if len(held) < MAX_SHADOWS:
            return None
        return Refused(
            "version",
            f"the model already has {len(held)} shadow versions that posted in the "
            f"last day, at most {MAX_SHADOWS}: {', '.join(sorted(held))}",
        )

    async def forget(self, conn: Any, model: str, version: str, reference_id: int) -> None:
        """Drop a shadow version under a reference, with its counts and rows."""
        for table in (VERSIONS, TALLIES):
            await conn.execute(narrowed(delete(table), table, model, version, reference_id))
        for table in (WAITING, PAIRED):
            await conn.execute(narrowed(delete(table), table, model, version))

    async def _mark(self, conn: Any, who: Shadowed, version: str, now: int, *, new: bool) -> None:
        """The version posted now; a version new under this reference starts without the
        rows an older reference left."""
        key = {"model": who.model, "reference_id": who.reference_id, "version": version}
        if new:
            for table in (WAITING, PAIRED):
                await conn.execute(narrowed(delete(table), table, who.model, version))
            row = key | {"first_at": now, "last_at": now}
            await conn.execute(self.store.upsert(VERSIONS, [row], list(key)), [row])
            return
        await conn.execute(
            VERSIONS.update()
            .where(VERSIONS.c.model == who.model)
            .where(VERSIONS.c.reference_id == who.reference_id)
            .where(VERSIONS.c.version == version)
            .values(last_at=now)
        )

    async def _present(
        self, conn: Any, table: Any, model: str, version: str, ids: Sequence[str]
    ) -> set[str]:
        out: set[str] = set()
        for part in chunks(ids):
            query = (
                select(table.c.row_id)
                .where(table.c.model == model)
                .where(table.c.version == version)
                .where(self.store.among(table.c.row_id, part))
            )
            out.update((await conn.execute(query)).scalars())
        return out

    async def _live(
        self, conn: Any, who: Shadowed, ids: Sequence[str], cutoff: int
    ) -> dict[str, PairRow]:
        out: dict[str, PairRow] = {}
        for part in chunks(ids):
            query = (
                select(LIVE.c.row_id, LIVE.c.row)
                .where(LIVE.c.model == who.model)
                .where(LIVE.c.reference_id == who.reference_id)
                .where(LIVE.c.at >= cutoff)
                .where(self.store.among(LIVE.c.row_id, part))
            )
            for row_id, stored in (await conn.execute(query)).all():
                out[row_id] = row_of(row_id, stored)
        return out

    def live(
        self,
        who: Shadowed,
        rows: Callable[[], Sequence[PairRow]],
        now: datetime,
        seen: Callable[[bool], None] | None = None,
    ) -> Work:
        """The work of a live post: answers the pairs made. ``rows`` is called only when a
        shadow is active; ``seen`` is told whether one was."""

        async def work(session: Any) -> int:
            conn = await session.connection()
            at = micros_of(now)
            held = await self.store.held(conn, who.model, who.reference_id)
            active = self.store.active(max(held.values(), default=None), at)
            if seen is not None:
                seen(active)
            taken = rows() if active else ()
            if not taken:
                return 0
            await self.store.lock(conn)
            return await self._live_rows(conn, who, taken, at)

        return work

    async def _live_rows(self, conn: Any, who: Shadowed, rows: Sequence[PairRow], now: int) -> int:
        first: dict[str, PairRow] = {}
        last: dict[str, PairRow] = {}
        for row in rows:
            first.setdefault(row.id, row)
            last[row.id] = row
        ids = sorted(first)
        cutoff = now - self.store.window
        tallies: dict[str, ShadowTally] = {}
        paired: list[dict[str, Any]] = []
        for part in chunks(ids):
            taken = await conn.execute(
                delete(WAITING)
                .where(WAITING.c.model == who.model)
                .where(WAITING.c.reference_id == who.reference_id)
                .where(self.store.among(WAITING.c.row_id, part))
                .returning(WAITING.c.version, WAITING.c.row_id, WAITING.c.at, WAITING.c.row)
            )
            for version, row_id, waited, stored in taken.all():
                tally = tallies.setdefault(version, who.scorer.empty(version))
                if int(waited) < cutoff:  # it waited too long: unmatched, never a pair
                    tally.unmatched += 1
                    continue
                shadow = row_of(row_id, stored)
                who.scorer.pair(tally, first[row_id], shadow)
                paired.append(
                    {"model": who.model, "version": version, "reference_id": who.reference_id}
                    | {"at": now}
                    | _pair_columns(first[row_id], shadow)
                )
        remembered = [
            {"model": who.model, "row_id": i, "reference_id": who.reference_id, "at": now}
            | {"row": row_text(last[i])}
            for i in ids
        ]
        for part in chunks(remembered):
            await conn.execute(self.store.upsert(LIVE, list(part), ("model", "row_id")), list(part))
        for part in chunks(paired):
            stmt = self.store.upsert(PAIRED, list(part), ("model", "version", "row_id"))
            await conn.execute(stmt, list(part))
        await self.store.append(conn, who, tallies.values())
        return len(paired)

    def labels(self, who: Shadowed, labels: Sequence[tuple[str, str]]) -> Work:
        """The work of a post of labels ((id, class) each): each paired id's first label
        counts for both sides' accuracy, once. Answers the pairs labelled."""

        async def work(session: Any) -> int:
            conn = await session.connection()
            first: dict[str, str] = {}
            for row_id, label in labels:
                first.setdefault(row_id, label)
            ids = sorted(first)
            if not await self._any_paired(conn, who, ids):
                return 0  # the usual case: no lock, one indexed read
            await self.store.lock(conn)
            tallies: dict[str, ShadowTally] = {}
            for part in chunks(ids):
                taken = await conn.execute(
                    delete(PAIRED)
                    .where(PAIRED.c.model == who.model)
                    .where(PAIRED.c.reference_id == who.reference_id)
                    .where(self.store.among(PAIRED.c.row_id, part))
                    .returning(PAIRED.c.version, PAIRED.c.row_id, PAIRED.c.live, PAIRED.c.shadow)
                )
                for version, row_id, live, shadow in taken.all():
                    tally = tallies.setdefault(version, who.scorer.empty(version))
                    who.scorer.label(tally, live, shadow, first[row_id])
            await self.store.append(conn, who, tallies.values())
            return sum(t.labelled for t in tallies.values())

        return work

    async def _any_paired(self, conn: Any, who: Shadowed, ids: Sequence[str]) -> bool:
        for part in chunks(ids):
            query = (
                select(PAIRED.c.row_id)
                .where(PAIRED.c.model == who.model)
                .where(PAIRED.c.reference_id == who.reference_id)
                .where(self.store.among(PAIRED.c.row_id, part))
                .limit(1)
            )
            if (await conn.execute(query)).first() is not None:
                return True
        return False


def _pair_columns(live: PairRow, shadow: PairRow) -> dict[str, Any]:
    return {
        "row_id": live.id,
        "live": prediction_key(live.prediction),
        "shadow": prediction_key(shadow.prediction),
    }
