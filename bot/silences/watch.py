"""Mutes that end: releasing what they held, the reminders, silences that end themselves.

* **Release.** When a silence ends (its time, an expiry, ``expire_on_resolve``), a
  maintenance window closes, or an inhibiting incident clears or resolves, every muted
  alert still firing is judged again; those nothing mutes any more are ingested as they
  are, so they open (or join) an incident and page exactly as if they had just arrived
  ("fires normally the moment the silence ends"). The intake removes their muted rows.
* **Reminder** :data:`~bot.silences.service.REMIND_BEFORE` before a silence ends, in the
  channel: what still fires under it and will page, and how to extend it.
* **Unused**: a silence with ``expire_unused`` that has muted nothing for that long expires.
* **Expire on resolve**: a silence made for an incident ends once the incident has stayed
  resolved for :data:`QUIET_AFTER_RESOLVE` with nothing it silenced firing (not at the
  resolve itself: Alertmanager #1057 was declined for fear of flapping; this answers it).
* **Windows**: each window's next start or end is a durable timer; both are announced.

Every handler is a durable timer (``bot.store.timers``): a kill between the end of a
silence and the release runs the release again in the next process.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import update
from sqlmodel import col, select

from bot.core.clock import Clock
from bot.core.durations import words_rounded
from bot.core.errors import NotFoundError
from bot.incidents.intake.ingest import AlertIngestor
from bot.incidents.reactions.changes import Change
from bot.ingest.model import AlertIn
from bot.silences.mutes import held_by
from bot.silences.service import SilenceService
from bot.silences.spec import silence_words
from bot.silences.tables import SilenceRow
from bot.silences.windows import active, next_change, window_words
from bot.store.db import Database
from bot.store.tables import Alert
from bot.store.timers import Timers

log = logging.getLogger(__name__)

QUIET_AFTER_RESOLVE = timedelta(minutes=30)
Notice = Callable[[str], Awaitable[None]]


def alert_in(row: Alert) -> AlertIn:
    """A stored firing alert as the intake takes it (a release is an arrival)."""
    return AlertIn(
        source=row.source,
        status="firing",
        title=row.title,
        labels=dict(row.labels),
        fingerprint=row.fingerprint,
        starts_at=row.starts_at,
        annotations=dict(row.annotations),
        value=row.value,
        severity_hint=row.severity_hint,
        generator_url=row.generator_url,
    )


class SilenceWatch:
    """The timers and the follower that end mutes; see the module docstring."""

    def __init__(
        self,
        db: Database,
        silences: SilenceService,
        ingestor: AlertIngestor,
        timers: Timers,
        *,
        clock: Clock,
        notice: Notice,
    ) -> None:
        self._db = db
        self._silences = silences
        self._ingestor = ingestor
        self._timers = timers
        self._clock = clock
        self._notice = notice
        for kind, handler in (
            ("silence-end", self._on_end),
            ("silence-remind", self._on_remind),
            ("silence-unused", self._on_unused),
            ("silence-resolved", self._on_resolved),
            ("window-edge", self._on_window),
            ("silence-release", self._on_release),
        ):
            timers.register(kind, handler)

    async def _muted(self) -> list[Alert]:
        async with self._db.read() as s:
            stmt = select(Alert).where(
                col(Alert.incident_id).is_(None),
                col(Alert.status) == "firing",
                col(Alert.muted_by).is_not(None),
            )
            return list((await s.exec(stmt)).all())

    async def release(self) -> list[Alert]:
        """Ingest every muted alert still firing that nothing mutes now; bring the reasons
        of the others up to date. Returns the released alerts."""
        now = self._clock()
        rows = await self._muted()
        if not rows:
            return []
        async with self._db.read() as s:
            mutes = await self._silences.load(s, now)
        freed: list[Alert] = []
        changed: list[tuple[int, list[dict[str, Any]]]] = []
        for row in rows:
            reasons = mutes.reasons(row.labels, row.fingerprint)
            if not reasons:
                freed.append(row)
            elif reasons != row.muted_by and row.id is not None:
                changed.append((row.id, reasons))
        if freed:
            await self._ingestor.ingest([alert_in(r) for r in freed])
            log.info("released %d muted alerts that still fire", len(freed))
        if changed:
            async with self._db.session() as s, s.begin():
                for alert_id, reasons in changed:
                    await s.exec(
                        update(Alert).where(col(Alert.id) == alert_id).values(muted_by=reasons)
                    )
        return freed

    async def _on_release(self, payload: dict[str, Any]) -> None:
        freed = await self.release()
        if freed:
            await self._notice(
                f"{len(freed)} muted alert(s) still fire and nothing mutes them any more (the "
                "inhibiting incident cleared): they now open incidents and page as usual."
            )

    async def _on_end(self, payload: dict[str, Any]) -> None:
        try:
            view = await self._silences.get(str(payload["id"]))
        except NotFoundError:
            return
        now = self._clock()
        if view.ends_at > now:  # extended since this timer was set: its new timer will come
            return
        freed = await self.release()
        mine = [a for a in freed if held_by(a.muted_by, view.id)]
        if mine:
            titles = ", ".join(dict.fromkeys(a.title for a in mine[:3]))
            more = f" and {len(mine) - 3} more" if len(mine) > 3 else ""
            await self._notice(
                f"Silence {view.short_id} has ended and {len(mine)} alert(s) it held still "
                f"fire: they now open incidents and page as usual ({titles}{more})."
            )
        elif view.last_matched_at is not None:
            await self._notice(
                f"Silence {view.short_id} has ended; nothing it held still fires. "
                f"({silence_words(view, now)})"
            )

    async def _on_remind(self, payload: dict[str, Any]) -> None:
        try:
            view = await self._silences.get(str(payload["id"]))
        except NotFoundError:
            return
        now = self._clock()
        if view.state(now) != "active":
            return
        held = [a for a in await self._muted() if held_by(a.muted_by, view.id)]
        what = (
            f"{len(held)} firing alert(s) under it will page then"
            if held
            else "nothing under it fires now"
        )
        await self._notice(
            f"Silence {view.short_id} ends in {words_rounded(view.ends_at - now)}: {what}. "
            f"To keep it: /silence extend {view.short_id} 1h; to end it now: "
            f"/silence expire {view.short_id}. ({silence_words(view, now)})"
        )

    async def _on_unused(self, payload: dict[str, Any]) -> None:
        try:
            view = await self._silences.get(str(payload["id"]))
        except NotFoundError:
            return
        now = self._clock()
        if view.state(now) != "active" or view.expire_unused is None:
            return
        since = max(view.last_matched_at or view.starts_at, view.starts_at)
        if since + view.expire_unused > now:  # it muted something since: look again later
            await self._timers.schedule(
                "silence-unused", f"silence-unused:{view.id}", since + view.expire_unused, payload
            )
            return
        why = f"it muted nothing for {words_rounded(view.expire_unused)}"
        await self._silences.expire(view.id, "vigil", why=why)
        await self._notice(f"Silence {view.short_id} expired: {why}. ({silence_words(view, now)})")

    async def _on_resolved(self, payload: dict[str, Any]) -> None:
        try:
            view = await self._silences.get(str(payload["id"]))
        except NotFoundError:
            return
        now = self._clock()
        if view.state(now) == "expired":
            return
        recent = [
            a
            for a in await self._muted()
            if held_by(a.muted_by, view.id) and a.last_seen > now - QUIET_AFTER_RESOLVE
        ]
        if recent:  # what it silences still fires: the fix has not held yet
            await self._timers.schedule(
                "silence-resolved",
                f"silence-resolved:{view.id}",
                now + QUIET_AFTER_RESOLVE,
                payload,
            )
            return
        why = (
            f"incident #{view.incident_id} stayed resolved for {words_rounded(QUIET_AFTER_RESOLVE)}"
        )
        await self._silences.expire(view.id, "vigil", why=why)
        await self._notice(f"Silence {view.short_id} expired: {why}.")

    async def on_change(self, change: Change) -> None:
        """A follower: a resolved incident starts the quiet period of its silences that
        expire on resolve; a resolved or cleared one may have been inhibiting alerts."""
        incident = change.incident
        if change.kind == "state" and incident.state == "resolved":
            async with self._db.read() as s:
                ids = (
                    await s.exec(
                        select(SilenceRow.id).where(
                            col(SilenceRow.incident_id) == incident.id,
                            col(SilenceRow.expire_on_resolve).is_(True),
                            col(SilenceRow.ends_at) > self._clock(),
                        )
                    )
                ).all()
            due = self._clock() + QUIET_AFTER_RESOLVE
            for sid in ids:
                await self._timers.schedule(
                    "silence-resolved", f"silence-resolved:{sid}", due, {"id": sid}
                )
        if change.kind in ("state", "cleared") and self._silences.rules:
            # A timer, not a release here: a follower may run inside the intake's own turn
            # (inline follow-ups), where ingesting again would wait for itself.
            await self._timers.schedule("silence-release", "silence-release", self._clock(), {})

    # -- maintenance windows ----------------------------------------------------------------

    async def schedule_windows(self) -> None:
        """At start: each window's next start or end (a window removed from vigil.yaml
        leaves a timer that finds nothing and does nothing)."""
        now = self._clock()
        for rule in self._silences.windows:
            edge = next_change(rule.window, now)
            if edge is not None:
                name = rule.window.name
                await self._timers.schedule(
                    "window-edge", f"window-edge:{name}", edge, {"name": name}
                )

    async def _on_window(self, payload: dict[str, Any]) -> None:
        name = str(payload.get("name"))
        rule = next((r for r in self._silences.windows if r.window.name == name), None)
        if rule is None:
            return
        now = self._clock()
        occ = active(rule.window, now)
        if occ is not None:
            await self._notice(
                f"{window_words(rule.window, occ)}: its alerts open no incident and page "
                "nobody until it ends; they are stored and shown, and page at the end if "
                "they still fire."
            )
        else:
            freed = await self.release()
            tail = (
                f"; {len(freed)} alert(s) it held still fire and now page as usual"
                if freed
                else "; nothing it held still fires"
            )
            await self._notice(f"Maintenance window {name} has ended{tail}.")
        edge = next_change(rule.window, now)
        if edge is not None:
            await self._timers.schedule("window-edge", f"window-edge:{name}", edge, payload)
