"""The web view on an aiohttp application: ``/`` → ``/incidents``, the stylesheet, signing
in, and the incident pages; the composition root (``bot.runtime.routes``) calls ``install``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from aiohttp import web

from bot.core.clock import Clock
from bot.core.secret import Secret
from bot.store.db import Database
from bot.webui.auth import LoginRoutes
from bot.webui.incidents import IncidentPages
from bot.webui.pages import Pages, see_other, stylesheet


async def home(request: web.Request) -> web.Response:
    response = see_other("/incidents")
    response.set_status(302)
    return response


def install(
    app: web.Application,
    *,
    db: Database,
    api_token: Secret | None,
    clock: Clock,
    group_by: Sequence[str],
    evidence_dir: Path,
    postmortem_path: Callable[[int], Path],
) -> Pages:
    """Add the web view's routes; returns the shared ``Pages`` for later pages to use."""
    pages = Pages(api_token, clock)
    app.router.add_get("/", home)
    app.router.add_get("/static/vigil.css", stylesheet)
    LoginRoutes(pages).install(app)
    IncidentPages(
        pages,
        db,
        group_by=group_by,
        evidence_dir=evidence_dir,
        postmortem_path=postmortem_path,
    ).install(app)
    return pages
