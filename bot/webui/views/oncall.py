"""``/oncall``: who is on call now per schedule and rotation, until when, the next shifts,
the overrides, each escalation policy's levels, and how to subscribe to a schedule's
calendar.

The schedules come from the schedule book with their imported overrides (one small query);
when it cannot be read the page still answers, from ``vigil.yaml``'s schedules alone, and
says so: the page a responder opens when things are broken must not break too. The calendar
feed takes the API token as a header, so the page names the feed's path and how to fetch
it, never a URL with the token in it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError

from bot.core.errors import StorageError
from bot.oncall.schedules.layers import Schedule
from bot.oncall.schedules.overrides import ScheduleBook
from bot.oncall.settings import OncallSettings
from bot.webui.pages import Pages
from bot.webui.views.oncall_view import oncall_view

log = logging.getLogger(__name__)


class OncallPage:
    def __init__(self, pages: Pages, book: ScheduleBook, settings: OncallSettings) -> None:
        self._pages = pages
        self._book = book
        self._settings = settings

    def install(self, app: web.Application) -> None:
        app.router.add_get("/oncall", self._pages.guard(self.page))

    async def page(self, request: web.Request) -> web.Response:
        now = self._pages.clock()
        stale = False
        schedules: Mapping[str, Schedule]
        try:
            schedules = await self._book.current()
        except (StorageError, SQLAlchemyError, OSError):
            log.exception("the on-call page could not read the imported overrides")
            schedules, stale = self._book.configured, True
        view = oncall_view(schedules, self._settings.rotations, self._settings.routing, now)
        return self._pages.render(
            request,
            "oncall.html.j2",
            view=view,
            stale=stale,
            feeds=sorted(schedules),
            open_mode=self._pages.open,
            now=now,
        )
