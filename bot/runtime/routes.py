"""The HTTP routes of a running Vigil, assembled from its parts.

Apart from :mod:`bot.runtime.app` so that the root stays one screen per concern: each room's
routes (``bot.web``) are built here on the services the root made.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from bot.sources.http import dependency_states
from bot.web.app import Routes, build_web_app
from bot.web.judge import JudgeRoutes
from bot.web.schedules import ScheduleRoutes
from bot.web.silences import SilenceRoutes
from bot.webui import app as webui
from bot.webui.views.status import StatusSources

if TYPE_CHECKING:  # the root imports this module; it hands itself in
    from bot.runtime.app import Vigil


def web_app(vigil: Vigil) -> web.Application:
    """Every route of a running Vigil on one aiohttp application."""
    routes = Routes(
        db=vigil.db,
        incidents=vigil.incidents,
        ingestor=vigil.ingestor,
        metrics=vigil.metrics,
        clock=vigil.clock,
        ingest_token=vigil.settings.ingest_token,
        api_token=vigil.settings.api_token,
        max_body_bytes=vigil.settings.max_body_bytes,
        outbox_depth=vigil.slack.outbox.pending if vigil.slack is not None else None,
        pushed=vigil.pushed,
        source_statuses=vigil.rules_runner.statuses,
        dependencies=lambda: dependency_states(vigil.rules_runner.sources),
        overdue=vigil.reactor.overdue,
        heartbeats=vigil.heartbeats,
        models=vigil.models,
        pagerduty_secrets=(
            vigil.settings.notify.pagerduty.webhook_secrets
            if vigil.settings.notify.pagerduty is not None
            else ()
        ),
        key_prefix=vigil.settings.notify.key_prefix,
    )
    app = build_web_app(routes, max_body_bytes=vigil.settings.max_body_bytes)
    ScheduleRoutes(
        vigil.schedule_book,
        api_token=vigil.settings.api_token,
        max_body_bytes=vigil.settings.max_body_bytes,
        clock=vigil.clock,
    ).install(app)
    SilenceRoutes(
        vigil.silences,
        api_token=vigil.settings.api_token,
        clock=vigil.clock,
        max_body_bytes=vigil.settings.max_body_bytes,
    ).install(app)
    JudgeRoutes(
        vigil.models,
        vigil.registry,
        vigil.rollouts.driver.judge_settings,
        api_token=vigil.settings.api_token,
        max_body_bytes=vigil.settings.max_body_bytes,
    ).install(app)
    webui.install(
        app,
        db=vigil.db,
        api_token=vigil.settings.api_token,
        clock=vigil.clock,
        group_by=vigil.settings.incidents.group_by,
        evidence_dir=vigil.settings.evidence_dir,
        postmortem_path=vigil.postmortems.path_for,
        services=webui.Services(
            schedule_book=vigil.schedule_book,
            oncall=vigil.settings.oncall,
            registry=vigil.registry,
            models=vigil.models,
            rollouts=vigil.rollouts,
            silences=vigil.silences,
            status=StatusSources(
                db=vigil.db,
                source_statuses=vigil.rules_runner.statuses,
                dependencies=lambda: dependency_states(vigil.rules_runner.sources),
                overdue=vigil.reactor.overdue,
                outbox_depth=vigil.slack.outbox.pending if vigil.slack is not None else None,
            ),
        ),
    )
    # Events, slash commands and interactivity on one URL; not in Socket Mode, where
    # requests arrive over the socket and an HTTP route would take unsigned ones.
    if vigil.slack is not None and not vigil.slack.front.settings.socket_mode:
        app.router.add_post("/slack/events", vigil.slack.front.handle)
    return app
