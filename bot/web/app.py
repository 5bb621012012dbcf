"""HTTP routes: alert ingestion, the read API; with the model-quality routes
(:mod:`bot.web.models`), the PagerDuty webhook (:mod:`bot.web.pagerduty`) and health and
metrics (:mod:`bot.web.health`) installed by ``Routes``, which the composition root builds.

Every error is a JSON body ``{"error": code, "field": path, "message": text}`` with a 4xx
status for the caller's mistakes (nothing stored) and 503 for ours (nothing stored, retry:
Alertmanager retries 5xx on its own). A value no database can keep (NUL, a lone surrogate, a
number past a float) is refused as the body is decoded (``bot.ingest.json_body``), naming
its field, and a value the database refuses all the same is a 400, never a 503: a retry
would be refused again, for ever. An alert post gets its 2xx only after the alerts are
committed to the database.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError

from bot.core.clock import Clock
from bot.core.errors import (
    NotFoundError,
    StorageError,
    ValidationError,
)
from bot.core.metrics import Metrics
from bot.core.pagination import page_json, parse_limit
from bot.core.secret import Secret
from bot.heartbeats.service import HeartbeatService
from bot.incidents.intake.apply import IngestOutcome
from bot.incidents.intake.ingest import AlertIngestor
from bot.incidents.service import IncidentService
from bot.ingest.alertmanager import parse_alertmanager
from bot.ingest.generic import parse_generic
from bot.ingest.model import AlertIn
from bot.monitoring.service import ModelQualityService
from bot.sources.pushed import PushedSource, parse_samples
from bot.store.db import Database
from bot.web.body import read_json
from bot.web.health import HealthRoutes
from bot.web.models import ModelRoutes
from bot.web.pagerduty import PagerDutyRoutes
from bot.web.replies import authorized, error, not_stored, unauthorized, whole

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
MAX_BEAT_BYTES = 16 * 1024  # a heartbeat is a handful of numbers


class Routes:
    """The route handlers, bound to the services the composition root built."""

    def __init__(
        self,
        *,
        db: Database,
        incidents: IncidentService,
        ingestor: AlertIngestor,
        metrics: Metrics,
        clock: Clock,
        ingest_token: Secret | None,
        api_token: Secret | None,
        max_body_bytes: int,
        outbox_depth: Callable[[], Awaitable[int]] | None = None,
        pushed: PushedSource | None = None,
        source_statuses: Callable[[], Mapping[str, str]] | None = None,
        dependencies: Callable[[], Mapping[str, Mapping[str, str]]] | None = None,
        overdue: Callable[[], Awaitable[tuple[int, float]]] | None = None,
        heartbeats: HeartbeatService | None = None,
        models: ModelQualityService | None = None,
        pagerduty_secrets: tuple[Secret, ...] = (),
        key_prefix: str = "vigil",
    ) -> None:
        self._incidents = incidents
        self._ingestor = ingestor
        self._metrics = metrics
        self._clock = clock
        self._ingest_token = ingest_token
        self._api_token = api_token
        self._max_body = max_body_bytes
        self._pushed = pushed
        self._heartbeats = heartbeats
        self._health = HealthRoutes(
            db=db,
            incidents=incidents,
            metrics=metrics,
            outbox_depth=outbox_depth,
            source_statuses=source_statuses,
            dependencies=dependencies,
            overdue=overdue,
        )
        self._models = (
            ModelRoutes(
                models,
                ingest_token=ingest_token,
                api_token=api_token,
                max_body_bytes=max_body_bytes,
            )
            if models is not None
            else None
        )
        self._pagerduty = (
            PagerDutyRoutes(incidents, secrets=pagerduty_secrets, key_prefix=key_prefix)
            if pagerduty_secrets
            else None
        )

    def install(self, app: web.Application) -> None:
        app.router.add_post("/alerts/alertmanager", self.alertmanager)
        app.router.add_post("/alerts/generic", self.generic)
        if self._pushed is not None:
            app.router.add_post("/api/v1/samples", self.samples)
        if self._heartbeats is not None:
            app.router.add_post("/api/v1/heartbeats/{name}", self.heartbeat)
        if self._models is not None:
            self._models.install(app)
        if self._pagerduty is not None:
            self._pagerduty.install(app)
        app.router.add_get("/api/v1/incidents", self.list_incidents)
        app.router.add_get("/api/v1/incidents/{id}", self.get_incident)
        self._health.install(app)

    async def alertmanager(self, request: web.Request) -> web.Response:
        return await self._ingest(request, "alertmanager", parse_alertmanager)

    async def generic(self, request: web.Request) -> web.Response:
        return await self._ingest(
            request, "generic", lambda payload: parse_generic(payload, now=self._clock())
        )

    async def samples(self, request: web.Request) -> web.Response:
        """``POST /api/v1/samples``: store pushed samples for the rule runner, all or none."""
        assert self._pushed is not None  # the route exists only with a pushed source
        if not authorized(request, self._ingest_token):
            return unauthorized()
        payload = await read_json(request, max_body=self._max_body, what="samples")
        if isinstance(payload, web.Response):
            return payload
        try:
            samples = parse_samples(payload.value, now=self._clock())
            accepted = await self._pushed.push(samples)
        except ValidationError as exc:
            return error(400, "invalid", exc.field, exc.detail)
        except (SQLAlchemyError, OSError) as exc:
            log.warning("could not store pushed samples (%s)", type(exc).__name__)
            return error(503, "unavailable", "", "could not store the samples; none kept, retry")
        return web.json_response({"accepted": accepted}, status=200)

    async def heartbeat(self, request: web.Request) -> web.Response:
        """``POST /api/v1/heartbeats/{name}``: a batch job's run, committed before the 200;
        the reply lists the run's problems ("0 rows") for the job's own log."""
        assert self._heartbeats is not None  # the route exists only with heartbeats
        if not authorized(request, self._ingest_token):
            return unauthorized()
        try:
            self._heartbeats.spec(request.match_info["name"])
        except NotFoundError as exc:
            return error(404, "not_found", "name", exc.message)
        if (request.content_length or 0) > MAX_BEAT_BYTES:
            return error(
                413, "too_large", "body", f"a beat is at most {MAX_BEAT_BYTES} bytes of JSON"
            )
        body = await read_json(request, max_body=self._max_body, what="fields", empty={})
        if isinstance(body, web.Response):
            return body
        try:
            receipt = await self._heartbeats.beat(request.match_info["name"], body.value)
        except ValidationError as exc:
            return error(400, "invalid", exc.field, exc.detail)
        except (StorageError, SQLAlchemyError, OSError) as exc:
            log.exception("could not store a beat of %s", request.match_info["name"])
            return not_stored(exc, "could not store the beat; nothing was kept, retry")
        return web.json_response(receipt.to_json(), status=200)

    async def _ingest(
        self, request: web.Request, fmt: str, parse: Callable[[Any], list[AlertIn]]
    ) -> web.Response:
        rejected = self._metrics.alerts_rejected
        if not authorized(request, self._ingest_token):
            rejected.labels(fmt, "unauthorized").inc()
            return unauthorized()
        body = await read_json(request, max_body=self._max_body, what="alerts")
        if isinstance(body, web.Response):
            rejected.labels(fmt, "too_large" if body.status == 413 else "invalid").inc()
            return body
        payload = body.value
        try:
            alerts = parse(payload)
        except ValidationError as exc:
            rejected.labels(fmt, "invalid").inc()
            return error(400, "invalid", exc.field, exc.detail)
        try:
            outcomes = await self._ingestor.ingest(alerts)
        except (StorageError, SQLAlchemyError, OSError) as exc:
            log.exception("could not store %d %s alert(s)", len(alerts), fmt)
            answer = not_stored(exc, "could not store the alerts; nothing was kept, retry")
            if answer.status == 400:
                rejected.labels(fmt, "invalid").inc()
            return answer
        for alert in alerts:
            self._metrics.alerts_received.labels(fmt, alert.status).inc()
        muted = sum(1 for o in outcomes if o.action == "muted")
        if muted:
            self._metrics.alerts_muted.labels(fmt).inc(muted)
        return web.json_response(_ingest_body(outcomes), status=200)

    async def list_incidents(self, request: web.Request) -> web.Response:
        """``GET /api/v1/incidents[?all=true&limit=50&cursor=…]``: a page of the open
        incidents (most severe first, then newest) or of all (newest first), each with its
        alerts but not its timeline; ``next_cursor`` (null on the last page) and ``total``
        say whether there is more, so nothing is ever cut without saying so."""
        if not authorized(request, self._api_token):
            return unauthorized()
        flag = request.query.get("all", "false").lower()
        if flag not in ("true", "false", "1", "0"):
            return error(400, "invalid", "all", "must be true or false")
        try:
            page = await self._incidents.page(
                include_closed=flag in ("true", "1"),
                limit=parse_limit(request.query.get("limit")),
                cursor=request.query.get("cursor"),
                with_alerts=True,
            )
        except ValidationError as exc:
            return error(400, "invalid", exc.field, exc.detail)
        items = [i.to_json() for i in page.items]
        return web.json_response({"incidents": items, **page_json(page)})

    async def get_incident(self, request: web.Request) -> web.Response:
        if not authorized(request, self._api_token):
            return unauthorized()
        raw = request.match_info["id"].lstrip("#")
        if not whole(raw, 18):
            return error(400, "invalid", "id", "the incident id must be a positive whole number")
        try:
            view = await self._incidents.get(int(raw))
        except NotFoundError as exc:
            return error(404, "not_found", "id", exc.message)
        return web.json_response(view.to_json())


def _ingest_body(outcomes: list[IngestOutcome]) -> dict[str, Any]:
    incidents = sorted({o.incident_id for o in outcomes if o.incident_id is not None})
    return {
        "status": "ok",
        "accepted": len(outcomes),
        "incidents": incidents,
        "results": [
            {"fingerprint": o.fingerprint, "incident_id": o.incident_id, "action": o.action}
            for o in outcomes
        ],
    }


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Unknown routes and unexpected failures answer in the same JSON shape as the rest."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return error(exc.status, exc.reason.lower().replace(" ", "_"), "", exc.reason)
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error(500, "internal", "", "Vigil hit an internal error; nothing was changed")


def build_web_app(routes: Routes, *, max_body_bytes: int) -> web.Application:
    app = web.Application(client_max_size=max_body_bytes, middlewares=[json_errors])
    routes.install(app)
    return app
