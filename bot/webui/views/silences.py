"""``/silences``: the silences active, pending and recently ended, what each mutes now, the
maintenance windows and the inhibition rules; ``POST /silences/{id}/expire`` ends one.

What a silence "mutes now" is read from the alerts themselves (``muted_by`` names the
silence, the window or the inhibiting rule), the same rows ``/api/v2/alerts`` answers with,
so the page and Alertmanager's clients never disagree. Expiring goes through the silence
service like every other front door: its end timer, due at once, releases what it held
(an alert still firing opens its incident and pages). The form carries the session's CSRF
field; without it the answer is a 403 and nothing changes.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError

from bot.core.errors import NotFoundError, StorageError, ValidationError
from bot.silences.mutes import WindowRule
from bot.silences.service import SilenceService
from bot.silences.spec import SilenceView, matchers_text
from bot.silences.windows import Occurrence, active, occurrences
from bot.store.tables import Alert
from bot.webui.pages import Pages, see_other

log = logging.getLogger(__name__)
RECENT = timedelta(hours=24)  # expired silences still listed this long after their end
MOST_EXPIRED = 20
MOST_MUTED = 20  # muted alerts listed per silence, window or rule; the rest are counted
_ID = re.compile(r"[0-9a-fA-F-]{4,36}")
_AHEAD = (timedelta(days=8), timedelta(days=366))  # where a window's next start is looked for


@dataclass(frozen=True)
class Held:
    """The alerts one silence, window or rule mutes now (the first few, and how many)."""

    alerts: tuple[Alert, ...]
    total: int


@dataclass(frozen=True)
class SilenceRow:
    view: SilenceView
    state: str
    matchers: str
    held: Held


@dataclass(frozen=True)
class WindowRow:
    rule: WindowRule
    subject: str
    now: Occurrence | None
    next: Occurrence | None
    held: Held


def _held(alerts: Sequence[Alert]) -> Held:
    return Held(tuple(alerts[:MOST_MUTED]), len(alerts))


def _subject(rule: WindowRule) -> str:
    w = rule.window
    said = [
        f"service {', '.join(w.services)}" if w.services else "",
        f"model {', '.join(w.models)}" if w.models else "",
        ", ".join(w.matchers),
    ]
    return "; ".join(s for s in said if s) or "all alerts"


def _next(rule: WindowRule, now: datetime) -> Occurrence | None:
    for ahead in _AHEAD:
        later = [o for o in occurrences(rule.window, now, now + ahead) if o.start > now]
        if later:
            return later[0]
    return None


class SilencePages:
    def __init__(self, pages: Pages, silences: SilenceService) -> None:
        self._pages = pages
        self._silences = silences

    def install(self, app: web.Application) -> None:
        guard = self._pages.guard
        app.router.add_get("/silences", guard(self.page))
        app.router.add_post("/silences/{id}/expire", guard(self.expire))

    async def page(self, request: web.Request) -> web.Response:
        now = self._pages.clock()
        listed = await self._silences.listed()
        firing = await self._silences.firing()
        by: defaultdict[tuple[str, str], list[Alert]] = defaultdict(list)
        for alert in firing:
            for reason in alert.muted_by or ():
                kind = str(reason.get("kind", ""))
                key = {"silence": "id", "window": "name", "inhibited": "rule"}.get(kind)
                if key is not None:
                    by[(kind, str(reason.get(key, "")))].append(alert)
        rows = [
            SilenceRow(v, v.state(now), matchers_text(v.matchers), _held(by[("silence", v.id)]))
            for v in listed
            if v.state(now) != "expired" or v.ends_at > now - RECENT
        ]
        order = {"active": 0, "pending": 1, "expired": 2}
        rows.sort(key=lambda r: (order[r.state], r.view.ends_at if r.state != "expired" else now))
        shown = [r for r in rows if r.state != "expired"]
        expired = [r for r in rows if r.state == "expired"][:MOST_EXPIRED]
        windows = [
            WindowRow(
                w,
                _subject(w),
                active(w.window, now),
                _next(w, now),
                _held(by[("window", w.window.name)]),
            )
            for w in self._silences.windows
        ]
        rules = [(r, _held(by[("inhibited", r.name)])) for r in self._silences.rules]
        done = request.query.get("expired", "")
        return self._pages.render(
            request,
            "silences.html.j2",
            silences=shown,
            expired=expired,
            windows=windows,
            rules=rules,
            done=done if _ID.fullmatch(done) else None,
            now=now,
        )

    async def expire(self, request: web.Request) -> web.Response:
        form = await request.post()
        if not self._pages.csrf_ok(request, form.get("csrf")):
            return self._pages.problem(
                request,
                403,
                "Silence not expired",
                "This form is out of date or came from another site. "
                "Reload the page and try again.",
            )
        ref = request.match_info["id"]
        if not _ID.fullmatch(ref):
            return self._not_found(request)
        try:
            view = await self._silences.expire(ref, "web")
        except (NotFoundError, ValidationError):
            return self._not_found(request)
        except (StorageError, SQLAlchemyError, OSError):
            log.exception("could not expire a silence from the web view")
            return self._pages.problem(
                request, 503, "Silence not expired", "The database failed; nothing changed. Retry."
            )
        log.info("silence %s expired from the web view", view.id)
        return see_other(f"/silences?expired={view.short_id}")

    def _not_found(self, request: web.Request) -> web.Response:
        return self._pages.problem(
            request, 404, "No such silence", "There is no silence with this id."
        )
