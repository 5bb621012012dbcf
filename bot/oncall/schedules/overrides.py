"""Schedules as they stand now: ``vigil.yaml`` plus the overrides imported from calendars.

Imported overrides live in the ``schedule_overrides`` table, not in memory, so an import
on one replica is seen by every replica on its next read: :meth:`ScheduleBook.current`
reads the table on each call. That is one indexed ``SELECT`` of the overrides not yet
over (a few rows per schedule), cheap enough to call for each page and each
``/incident oncall``; a schedule with nothing imported comes back as the very object from
the configuration.

Which override wins: ``layers.py`` lets the *later* of overlapping overrides win, so the
imported ones are appended after those of ``vigil.yaml`` (an import is the newer, deliberate
decision: the swap agreed at 6 p.m. beats the plan written at deploy time), ordered by when
they were imported (the last import wins), then by start. A re-import that changes nothing
does not move an override in that order. What an import adds, changes, removes and skips is
decided in ``override_plan.py``.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import asdict, fields, replace
from types import MappingProxyType

from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlmodel import col, select

from bot.core.clock import Clock
from bot.core.errors import NotFoundError, StorageError, ValidationError
from bot.oncall.schedules.ical import IcsEntry, read_entries
from bot.oncall.schedules.layers import Schedule
from bot.oncall.schedules.override_plan import KEEP_ENDED, ImportResult, StoredOverride, plan_import
from bot.oncall.schedules.tables import ScheduleOverrideRow as Row
from bot.store.db import Database

log = logging.getLogger(__name__)
MAX_NAME = 100  # the schedule column
_ATTEMPTS = 2  # two imports of one file racing: the loser's insert conflicts; once more


class ScheduleBook:
    """The configured schedules and their imported overrides; every call is its own
    transaction and a database failure is a :class:`StorageError` (nothing changed)."""

    def __init__(self, db: Database, configured: Mapping[str, Schedule], clock: Clock) -> None:
        self._db = db
        self._configured = MappingProxyType(dict(configured))
        self._clock = clock

    @property
    def configured(self) -> Mapping[str, Schedule]:
        """The schedules of ``vigil.yaml`` alone: the names that exist, no database read."""
        return self._configured

    async def current(self) -> Mapping[str, Schedule]:
        """Every configured schedule with its imported overrides appended (one query).

        Overrides that ended more than ``KEEP_ENDED`` ago are not loaded. Rows of a schedule
        no longer in ``vigil.yaml`` are ignored."""
        if not self._configured:
            return self._configured
        stored = await self._read(self._configured)
        return MappingProxyType(
            {name: _with(sched, stored.get(name, ())) for name, sched in self._configured.items()}
        )

    async def get(self, name: str) -> Schedule:
        """One schedule as :meth:`current` gives it, reading only its own rows."""
        sched = self.check(name)
        return _with(sched, (await self._read([name])).get(name, ()))

    async def import_ics(
        self, schedule: str, data: bytes, *, actor: str, source: str, replace: bool = False
    ) -> ImportResult:
        """Import an iCalendar file's events as ``schedule``'s overrides, all or nothing.

        ``source`` names where the file came from (``swaps.ics``, ``api``): ``replace``
        removes the stored overrides of that source that the file no longer has. A bad file
        is a ``ValidationError`` naming the event and property (``events[2].DTEND``), or
        ``ics`` for the file as a whole, and changes nothing."""
        sched = self.check(schedule)
        if len(schedule) > MAX_NAME:
            raise ValidationError(
                "schedule",
                f"a schedule name longer than {MAX_NAME} characters cannot hold imported "
                "overrides; shorten it in vigil.yaml",
            )
        source = source.strip()
        if not source:
            raise ValidationError("source", "say where the calendar comes from, e.g. swaps.ics")
        # Off the event loop: 5000 events take seconds to parse, and alerts keep arriving.
        entries = await asyncio.to_thread(read_entries, data, schedule=sched)
        for attempt in range(_ATTEMPTS):
            try:
                result = await self._import_once(
                    schedule, entries, actor=actor[:200], source=source[:500], replace=replace
                )
            except IntegrityError as exc:
                if attempt == _ATTEMPTS - 1:
                    raise _storage("store the overrides", exc) from exc
                continue
            except (SQLAlchemyError, OSError) as exc:
                raise _storage("store the overrides", exc) from exc
            if result.changed:
                log.info(
                    "overrides of %s imported from %s by %s: %s",
                    schedule,
                    result.source,
                    actor,
                    result.counts(),
                )
            return result
        raise AssertionError("unreachable")

    async def _import_once(
        self, schedule: str, entries: Sequence[IcsEntry], *, actor: str, source: str, replace: bool
    ) -> ImportResult:
        async with self._db.session() as s, s.begin():
            query = select(Row).where(col(Row.schedule) == schedule)
            rows = {row.uid: row for row in (await s.exec(query)).all()}
            result = plan_import(
                entries,
                {uid: _stored(row) for uid, row in rows.items()},
                schedule=schedule,
                source=source,
                actor=actor,
                now=self._clock(),
                replace=replace,
            )
            s.add_all([_new_row(new) for new in result.added])
            s.add_all([_update(rows[new.uid], new) for new in result.updated])
            for old in result.removed:
                await s.delete(rows[old.uid])
        return result

    async def remove(self, schedule: str, uid: str) -> StoredOverride:
        """Delete one imported override; what it was. NotFoundError when there is none."""
        self.check(schedule)
        try:
            async with self._db.session() as s, s.begin():
                query = select(Row).where(col(Row.schedule) == schedule, col(Row.uid) == uid)
                row = (await s.exec(query)).first()
                if row is not None:
                    await s.delete(row)
        except (SQLAlchemyError, OSError) as exc:
            raise _storage("remove the override", exc) from exc
        if row is None:
            raise NotFoundError(
                f"{schedule} has no imported override with UID {uid!r}; "
                f"see them with: vigil schedule overrides {schedule}"
            )
        log.info("override %s of %s removed", uid, schedule)
        return _stored(row)

    def check(self, name: str) -> Schedule:
        """The configured schedule ``name`` (no database read), or the ValidationError that
        names it and the known ones: what to ask before any slower work."""
        sched = self._configured.get(name)
        if sched is None:
            known = ", ".join(sorted(self._configured)) or "none (add them under schedules:)"
            raise ValidationError("schedule", f"no schedule named {name!r}; schedules: {known}")
        return sched

    async def _read(self, names: Collection[str]) -> dict[str, list[StoredOverride]]:
        """The overrides not long over of the schedules ``names``, in winning order."""
        query = (
            select(Row)
            .where(col(Row.schedule).in_(list(names)))
            .where(col(Row.end) >= self._clock() - KEEP_ENDED)
            .order_by(col(Row.imported_at), col(Row.start), col(Row.uid))
        )
        out: dict[str, list[StoredOverride]] = defaultdict(list)
        try:
            async with self._db.read() as s, s.begin():
                for row in (await s.exec(query)).all():
                    out[row.schedule].append(_stored(row))
        except (SQLAlchemyError, OSError) as exc:
            raise _storage("read the imported overrides", exc) from exc
        return out

    # Last in the class: a method named ``list`` shadows the builtin in annotations below it.
    async def list(self, schedule: str) -> tuple[StoredOverride, ...]:
        """``schedule``'s imported overrides still in effect or to come, by start."""
        self.check(schedule)
        rows = (await self._read([schedule])).get(schedule, ())
        return tuple(sorted(rows, key=lambda r: (r.start, r.end, r.uid)))


def _with(schedule: Schedule, stored: Collection[StoredOverride]) -> Schedule:
    if not stored:
        return schedule
    return replace(schedule, overrides=(*schedule.overrides, *(s.override() for s in stored)))


def _stored(row: Row) -> StoredOverride:
    """The row as the pure import rules take it (the dataclass names the columns it needs)."""
    return StoredOverride(**{f.name: getattr(row, f.name) for f in fields(StoredOverride)})


def _new_row(new: StoredOverride) -> Row:
    return Row(**asdict(new))


def _update(row: Row, new: StoredOverride) -> Row:
    row.person, row.start, row.end, row.source = new.person, new.start, new.end, new.source
    row.imported_by, row.imported_at = new.imported_by, new.imported_at
    return row


def _storage(what: str, exc: BaseException) -> StorageError:
    """The database failed; the message is for people (no SQL, no parameters)."""
    log.warning("could not %s: %s", what, type(exc).__name__)
    return StorageError(f"could not {what}: the database is unavailable; nothing changed, retry")
