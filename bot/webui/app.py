"""The web view on an aiohttp application: ``/`` → ``/incidents``, the stylesheet, signing
in, the incident pages and the pages of ``bot.webui.views`` (on call, models, silences,
status); the composition root (``bot.runtime.routes``) calls ``install`` with the services
those pages read.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from bot.core.clock import Clock
from bot.core.secret import Secret
from bot.monitoring.service import ModelQualityService
from bot.oncall.schedules.overrides import ScheduleBook
from bot.oncall.settings import OncallSettings
from bot.registry.base import ModelRegistry
from bot.rollouts.service import RolloutService
from bot.silences.service import SilenceService
from bot.store.db import Database
from bot.webui.auth import LoginRoutes
from bot.webui.incidents import IncidentPages
from bot.webui.pages import Pages, see_other, stylesheet
from bot.webui.views.models import ModelPages
from bot.webui.views.oncall import OncallPage
from bot.webui.views.silences import SilencePages
from bot.webui.views.status import StatusPage, StatusSources


@dataclass(frozen=True)
class Services:
    """The running Vigil's parts the pages beyond the incidents read (or, for a silence,
    change): handed in whole so the composition root names each once."""

    schedule_book: ScheduleBook
    oncall: OncallSettings
    registry: ModelRegistry
    models: ModelQualityService
    rollouts: RolloutService
    silences: SilenceService
    status: StatusSources


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
    services: Services,
) -> Pages:
    """Add the web view's routes; returns the shared ``Pages``."""
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
    OncallPage(pages, services.schedule_book, services.oncall).install(app)
    ModelPages(pages, services.registry, services.models, services.rollouts).install(app)
    SilencePages(pages, services.silences).install(app)
    StatusPage(pages, services.status).install(app)
    return pages
