"""``/status``: Vigil itself. The database's health as ``/healthz`` computes it
(``bot.web.health.health_report``), each source's and dependency's state, the Slack outbox
depth, the follow-ups overdue, the pending timers, the schema and Vigil's version.

Nothing secret: the database is named by its driver, host, port and database only (never
the user, password or query), and the dependency URLs are the ones ``/healthz`` shows,
already without credentials or token-like parameters.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from importlib.metadata import PackageNotFoundError, version

from aiohttp import web
from sqlalchemy import func
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import select

from bot.store.db import Database
from bot.store.schema import SCHEMA_HEAD, stamped
from bot.store.tables import TIMERS_TABLE
from bot.web.health import health_report
from bot.webui.pages import Pages

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StatusSources:
    """What the status page reads, handed in by the composition root."""

    db: Database
    source_statuses: Callable[[], Mapping[str, str]]
    dependencies: Callable[[], Mapping[str, Mapping[str, str]]]
    overdue: Callable[[], Awaitable[tuple[int, float]]]
    outbox_depth: Callable[[], Awaitable[int]] | None  # None: Slack is off


def database_words(url: str) -> str:
    """``postgresql+asyncpg on db.internal:5432, database vigil``: no user, no password."""
    parsed = make_url(url)
    where = f" on {parsed.host}{f':{parsed.port}' if parsed.port else ''}" if parsed.host else ""
    return f"{parsed.drivername}{where}, database {parsed.database or '(in memory)'}"


def vigil_version() -> str:
    try:
        return version("vigil")
    except PackageNotFoundError:
        return "unknown (not installed as a package)"


class StatusPage:
    def __init__(self, pages: Pages, sources: StatusSources) -> None:
        self._pages = pages
        self._s = sources

    def install(self, app: web.Application) -> None:
        app.router.add_get("/status", self._pages.guard(self.page))

    async def page(self, request: web.Request) -> web.Response:
        s = self._s
        health, code = await health_report(
            s.db,
            overdue=s.overdue,
            source_statuses=s.source_statuses,
            dependencies=s.dependencies,
        )
        schema: str | None = None
        timers: int | None = None
        next_timer: datetime | None = None
        try:
            async with s.db.read() as session, session.begin():
                revisions = await (await session.connection()).run_sync(stamped)
                schema = ", ".join(sorted(revisions)) or None
                t = TIMERS_TABLE.c
                row = (await session.exec(select(func.count(), func.min(t.due_at)))).one()
                timers, next_timer = int(row[0]), row[1]
        except (SQLAlchemyError, OSError):
            log.warning("the status page could not read the schema version or timers")
        outbox: int | str | None = None
        if s.outbox_depth is not None:
            try:
                outbox = await s.outbox_depth()
            except (SQLAlchemyError, OSError):
                outbox = "could not be read"
        return self._pages.render(
            request,
            "status.html.j2",
            http_status=code,
            health=health,
            database=database_words(s.db.url),
            schema=schema,
            schema_head=SCHEMA_HEAD,
            timers=timers,
            next_timer=next_timer,
            outbox=outbox,
            version=vigil_version(),
            now=self._pages.clock(),
        )
