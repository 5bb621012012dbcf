"""What importing a calendar does to the stored overrides, decided without I/O.

``overrides.py`` reads a schedule's stored rows, calls :func:`plan_import` and writes what it
returns in one transaction; keeping the decisions here makes them testable without a
database and keeps the service to reading and writing. The rules, and why:

* An override is keyed by (schedule, UID). The same UID with the same person, start, end
  and source is *unchanged* and its row is not touched (not even ``imported_at``), so
  importing one file twice changes nothing; anything different is *updated* in place.
* A cancelled event (``STATUS:CANCELLED``) removes the override stored under its UID: that
  is how calendar apps say an event is gone.
* An event that ended more than :data:`KEEP_ENDED` ago is skipped, unless its UID is stored
  (then the row follows the event): it can no longer change who is paged.
* The same UID twice in one file: the later event counts and the earlier is skipped, as a
  calendar app reading the file top to bottom would do.
* Stored overrides from the same ``source`` that the file no longer has are *kept* unless
  ``replace`` is asked for: a file at hand is often one of several exports (this week's
  swaps), and silently dropping an agreed swap pages the wrong person. With ``replace`` the
  file is the whole truth for its source and the rest are removed. Either way the result
  lists them, so the person importing sees what stays.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.core.timefmt import iso_z
from bot.oncall.schedules.ical import IcsEntry
from bot.oncall.schedules.layers import Override

KEEP_ENDED = timedelta(days=1)
"""How long after its end an override is still loaded, listed, and worth importing."""


@dataclass(frozen=True)
class StoredOverride:
    """One imported override as stored: the override, where it came from, who brought it."""

    schedule: str
    uid: str
    person: str
    start: datetime
    end: datetime
    source: str
    imported_by: str
    imported_at: datetime

    def override(self) -> Override:
        """As a schedule override; ``/incident oncall`` then says "via override (imported
        from swaps.ics)"."""
        reason = f"imported from {self.source}"
        return Override(self.person, self.start, self.end, reason, uid=self.uid)

    def same_as(self, other: StoredOverride) -> bool:
        """True when importing ``other`` over this one would change nothing that matters."""
        mine = (self.person, self.start, self.end, self.source)
        return mine == (other.person, other.start, other.end, other.source)


@dataclass(frozen=True)
class Skipped:
    """An event of the file that changed nothing, and why (``field`` is ``events[3]``)."""

    field: str
    uid: str
    reason: str


@dataclass(frozen=True)
class ImportResult:
    """What an import did to one schedule; each tuple in start order.

    ``added``, ``updated`` and ``unchanged`` are the file's overrides as now stored;
    ``removed`` as they were; ``kept`` are stored overrides of the same source that the file
    no longer has and that stay (see the module notes on ``replace``)."""

    schedule: str
    source: str
    added: tuple[StoredOverride, ...] = ()
    updated: tuple[StoredOverride, ...] = ()
    unchanged: tuple[StoredOverride, ...] = ()
    removed: tuple[StoredOverride, ...] = ()
    kept: tuple[StoredOverride, ...] = ()
    skipped: tuple[Skipped, ...] = ()

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)

    def counts(self) -> dict[str, int]:
        return {
            "added": len(self.added),
            "updated": len(self.updated),
            "unchanged": len(self.unchanged),
            "removed": len(self.removed),
            "kept": len(self.kept),
            "skipped": len(self.skipped),
        }


def plan_import(
    entries: Sequence[IcsEntry],
    stored: Mapping[str, StoredOverride],
    *,
    schedule: str,
    source: str,
    actor: str,
    now: datetime,
    replace: bool = False,
) -> ImportResult:
    """The result of importing ``entries`` over ``stored`` (every row of ``schedule``, by
    UID); the caller writes ``added``, ``updated`` and ``removed`` as they are."""
    last = {entry.uid: i for i, entry in enumerate(entries) if entry.uid}
    cutoff = now - KEEP_ENDED
    added: list[StoredOverride] = []
    updated: list[StoredOverride] = []
    unchanged: list[StoredOverride] = []
    removed: list[StoredOverride] = []
    skipped: list[Skipped] = []
    for i, entry in enumerate(entries):
        old = stored.get(entry.uid)
        why = _skip(entry, i, entries, last, old, cutoff)
        if why is not None:
            skipped.append(Skipped(entry.field, entry.uid, why))
        elif entry.override is None:
            assert old is not None  # _skip let a cancelled event through: it is stored
            removed.append(old)
        else:
            o = entry.override
            new = StoredOverride(schedule, entry.uid, o.person, o.start, o.end, source, actor, now)
            if old is None:
                added.append(new)
            elif old.same_as(new):
                unchanged.append(old)
            else:
                updated.append(new)
    rest = [
        row
        for uid, row in stored.items()
        if uid not in last and row.source == source and row.end >= cutoff
    ]
    if replace:
        removed.extend(rest)
        rest = []
    return ImportResult(
        schedule,
        source,
        added=_ordered(added),
        updated=_ordered(updated),
        unchanged=_ordered(unchanged),
        removed=_ordered(removed),
        kept=_ordered(rest),
        skipped=tuple(skipped),
    )


def _skip(
    entry: IcsEntry,
    index: int,
    entries: Sequence[IcsEntry],
    last: Mapping[str, int],
    old: StoredOverride | None,
    cutoff: datetime,
) -> str | None:
    """Why ``entry`` changes nothing, or None when it does."""
    if not entry.uid:
        return "cancelled, and without a UID it names no stored override"
    if last[entry.uid] != index:
        return f"the same UID comes again in {entries[last[entry.uid]].field}, which counts"
    if entry.override is None:
        return None if old is not None else "cancelled, and nothing was stored under its UID"
    if old is None and entry.override.end < cutoff:
        return f"already over (ended {iso_z(entry.override.end)})"
    return None


def _ordered(rows: Sequence[StoredOverride]) -> tuple[StoredOverride, ...]:
    return tuple(sorted(rows, key=lambda r: (r.start, r.end, r.uid)))


def override_json(row: StoredOverride) -> dict[str, Any]:
    """One stored override in API answers (times ISO 8601 with ``Z``)."""
    return {
        "uid": row.uid,
        "person": row.person,
        "start": iso_z(row.start),
        "end": iso_z(row.end),
        "source": row.source,
        "imported_by": row.imported_by,
        "imported_at": iso_z(row.imported_at),
    }


def import_json(result: ImportResult) -> dict[str, Any]:
    """The answer to ``POST /api/v1/schedules/{name}/overrides``: the counts first, then the
    file's overrides as stored (each with ``change``), what was removed or kept, what was
    skipped and why."""
    changes = [
        *(("added", r) for r in result.added),
        *(("updated", r) for r in result.updated),
        *(("unchanged", r) for r in result.unchanged),
    ]
    changes.sort(key=lambda pair: (pair[1].start, pair[1].end, pair[1].uid))
    return {
        "schedule": result.schedule,
        "source": result.source,
        "changed": result.changed,
        "counts": result.counts(),
        "overrides": [{**override_json(r), "change": change} for change, r in changes],
        "removed": [override_json(r) for r in result.removed],
        "kept": [override_json(r) for r in result.kept],
        "skipped": [{"field": s.field, "uid": s.uid, "reason": s.reason} for s in result.skipped],
    }
