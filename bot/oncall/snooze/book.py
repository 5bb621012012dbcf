"""Which incidents have a snooze running: a read of the ``snoozes`` table, nothing more.

The Pager asks it before it pages a newly severe incident (raising a snoozed incident to P1
must not page over the snooze someone chose), and ``SnoozeService`` asks it before it
changes one. Apart from the service so the Pager can be built first: the service needs the
Pager (to hold and resume paging), and the Pager needed the service only for this read,
a cycle the composition root broke with a lambda.
"""

from __future__ import annotations

from sqlmodel import col, select

from bot.oncall.snooze.tables import SnoozeRow
from bot.store.db import Database


class SnoozeBook:
    """Reads running snoozes (``ended_at`` unset) from the database."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def active(self, incident_id: int) -> SnoozeRow | None:
        """The incident's snooze while it runs; None when there is none or it is over."""
        stmt = select(SnoozeRow).where(
            col(SnoozeRow.incident_id) == incident_id, col(SnoozeRow.ended_at).is_(None)
        )
        async with self._db.read() as s, s.begin():
            return (await s.exec(stmt)).first()

    async def is_snoozed(self, incident_id: int) -> bool:
        """Is a snooze running?"""
        return await self.active(incident_id) is not None
