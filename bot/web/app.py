"""HTTP routes: alert ingestion, the read API, health and metrics.

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
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError

from bot.clock import Clock
from bot.db import Database
from bot.errors import (
    NotFoundError,
    StorageError,
    TransitionError,
    ValidationError,
)
from bot.heartbeats.service import HeartbeatService
from bot.incidents.ingest import AlertIngestor
from bot.incidents.intake.apply import IngestOutcome
from bot.incidents.service import IncidentService
from bot.ingest.alertmanager import parse_alertmanager
from bot.ingest.generic import parse_generic
from bot.ingest.json_body import decode_json
from bot.ingest.model import AlertIn
from bot.metrics import CONTENT_TYPE, Metrics
from bot.monitoring.replies import labels_reply, predictions_reply
from bot.monitoring.service import ModelQualityService
from bot.notify.pagerduty_webhook import parse_webhook, verify_signature
from bot.pagination import page_json, parse_limit
from bot.secret import Secret
from bot.sources.pushed import PushedSource, parse_samples
from bot.web.replies import authorized, error, not_stored, unauthorized, unavailable, whole

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
        self._db = db
        self._incidents = incidents
        self._ingestor = ingestor
        self._metrics = metrics
        self._incident_pairs: set[tuple[str, str]] = set()  # (severity, state) ever counted
        self._clock = clock
        self._ingest_token = ingest_token
        self._api_token = api_token
        self._max_body = max_body_bytes
        self._outbox_depth = outbox_depth
        self._pushed = pushed
        self._source_statuses = source_statuses
        self._dependencies = dependencies
        self._overdue = overdue
        self._heartbeats = heartbeats
        self._models = models
        self._pd_secrets = pagerduty_secrets
        self._key_prefix = key_prefix

    def install(self, app: web.Application) -> None:
        app.router.add_post("/alerts/alertmanager", self.alertmanager)
        app.router.add_post("/alerts/generic", self.generic)
        if self._pushed is not None:
            app.router.add_post("/api/v1/samples", self.samples)
        if self._heartbeats is not None:
            app.router.add_post("/api/v1/heartbeats/{name}", self.heartbeat)
        if self._models is not None:
            app.router.add_post("/api/v1/models/{model}/predictions", self.model_predictions)
            app.router.add_post("/api/v1/models/{model}/labels", self.model_labels)
            app.router.add_get("/api/v1/models/{model}/quality", self.model_quality)
        if self._pd_secrets:
            app.router.add_post("/api/v1/pagerduty/webhook", self.pagerduty_webhook)
        app.router.add_get("/api/v1/incidents", self.list_incidents)
        app.router.add_get("/api/v1/incidents/{id}", self.get_incident)
        app.router.add_get("/healthz", self.healthz)
        app.router.add_get("/metrics", self.metrics)

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
        payload = await self._read_json(request, "samples")
        if isinstance(payload, web.Response):
            return payload
        try:
            samples = parse_samples(payload.value, now=self._clock())
            accepted = self._pushed.push(samples)
        except ValidationError as exc:
            return error(400, "invalid", exc.field, exc.detail)
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
        body = await self._read_json(request, "fields", empty={})
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

    async def model_predictions(self, request: web.Request) -> web.Response:
        """``POST /api/v1/models/{model}/predictions``: count a batch of scored rows.

        200 even when some rows were bad: the good rows were counted and the reply lists the
        bad ones by field. 400 only when the post itself is malformed (nothing counted)."""
        return await self._model_post(request, "predictions")

    async def model_labels(self, request: web.Request) -> web.Response:
        """``POST /api/v1/models/{model}/labels``: true classes, joined to predictions by id."""
        return await self._model_post(request, "labels")

    async def _model_post(self, request: web.Request, what: str) -> web.Response:
        assert self._models is not None  # the routes exist only with the monitor
        if not authorized(request, self._ingest_token):
            return unauthorized()
        model = request.match_info["model"]
        if len(model) > 200:
            return error(400, "invalid", "model", "a model name is at most 200 characters")
        body = await self._read_json(request, what)
        if isinstance(body, web.Response):
            return body
        try:
            if what == "predictions":
                check = await self._models.predictions(model, body.value)
                return web.json_response(predictions_reply(model, check))
            result = await self._models.labels(model, body.value)
            return web.json_response(labels_reply(model, result))
        except NotFoundError as exc:
            return error(404, "not_found", "model", exc.message)
        except ValidationError as exc:
            return error(400, "invalid", exc.field, exc.detail)
        except (StorageError, SQLAlchemyError, OSError):
            log.exception("could not read the reference of %s", model)
            return unavailable(
                f"could not read the model's reference; no {what} were counted, retry"
            )

    async def model_quality(self, request: web.Request) -> web.Response:
        """``GET /api/v1/models/{model}/quality``: drift, data quality, and the label-free
        accuracy estimate with its interval next to the realized accuracy."""
        assert self._models is not None
        if not authorized(request, self._api_token):
            return unauthorized()
        try:
            return web.json_response(await self._models.quality(request.match_info["model"]))
        except NotFoundError as exc:
            return error(404, "not_found", "model", exc.message)

    async def pagerduty_webhook(self, request: web.Request) -> web.Response:
        """``POST /api/v1/pagerduty/webhook``: an acknowledgement or resolution made in
        PagerDuty, mirrored onto our incident (PagerDuty webhooks v3, signed with the
        subscription's secret). Answered 2xx whenever the body was authentic, even when there
        is nothing to do (not ours, already acknowledged), so PagerDuty does not retry it."""
        raw = await request.read()
        if not verify_signature(
            raw, request.headers.get("X-PagerDuty-Signature"), self._pd_secrets
        ):
            return error(
                401,
                "unauthorized",
                "X-PagerDuty-Signature",
                "the signature does not match the webhook secret (VIGIL_PAGERDUTY_WEBHOOK_SECRET)",
            )
        try:
            ack = parse_webhook(raw)
        except ValidationError as exc:
            return error(400, "invalid", exc.field, exc.detail)
        if ack is None:
            return web.json_response({"status": "ignored", "why": "event type not mirrored"})
        incident_id = ack.incident_id(self._key_prefix)
        if incident_id is None:
            return web.json_response({"status": "ignored", "why": "not a Vigil incident"})
        actor = f"{ack.by} (PagerDuty)"
        try:
            if ack.action == "acknowledged":
                view = await self._incidents.acknowledge(incident_id, actor=actor)
            else:
                view = await self._incidents.resolve(incident_id, actor=actor)
        except NotFoundError:
            return web.json_response({"status": "ignored", "why": f"no incident #{incident_id}"})
        except TransitionError as exc:
            return web.json_response({"status": "unchanged", "why": exc.message})
        except (StorageError, SQLAlchemyError, OSError) as exc:
            log.exception("could not mirror PagerDuty's %s of #%d", ack.action, incident_id)
            return not_stored(
                exc,
                f"could not record that incident #{incident_id} was {ack.action} in PagerDuty; "
                "nothing was changed, retry (PagerDuty redelivers a failed webhook)",
            )
        return web.json_response({"status": "ok", "incident": view.id, "state": view.state})

    async def _read_json(
        self, request: web.Request, what: str, *, empty: Any = None
    ) -> _Body | web.Response:
        """The decoded JSON body, or the error response (413 too large, 400 not JSON).

        With ``empty`` set, an empty body reads as that value instead of being refused."""
        try:
            raw = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return error(
                413,
                "too_large",
                "body",
                f"the body is larger than {self._max_body} bytes; send fewer {what} per post",
            )
        if empty is not None and not raw.strip():
            return _Body(empty)
        try:
            return _Body(decode_json(raw))
        except ValidationError as exc:
            return error(400, "invalid", exc.field, exc.detail)
        except (ValueError, RecursionError) as exc:
            why = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
            return error(400, "invalid_json", "body", f"the body is not valid JSON ({why})")

    async def _ingest(
        self, request: web.Request, fmt: str, parse: Callable[[Any], list[AlertIn]]
    ) -> web.Response:
        rejected = self._metrics.alerts_rejected
        if not authorized(request, self._ingest_token):
            rejected.labels(fmt, "unauthorized").inc()
            return unauthorized()
        body = await self._read_json(request, "alerts")
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

    async def healthz(self, request: web.Request) -> web.Response:
        """200 while the database can be read and written, even when writes wait their turn
        ("writes delayed 12 s": busy is not down, and a balancer must not drop a busy bot);
        503 when it can't be read, or can't be written (read-only, full): not up. Follow-ups
        (pages) overdue make it "degraded", still 200: this process still takes alerts, and
        the pages wait for the one that runs them (the worker of a split serve).
        ``sources`` says whether each source could be polled (the checker works);
        ``dependencies`` says whether each checked dependency is up, and a dependency down
        leaves ``status`` as it is: Vigil is healthy and alerting about it, and a balancer
        must not drop the bot because the feature store is down."""
        health = await self._db.health()
        body: dict[str, Any]
        if not health.readable:
            body, status = {"status": "unavailable", "database": "down"}, 503
        elif not health.writable:
            body, status = {"status": "unavailable", "database": "read-only"}, 503
            body["message"] = f"the database can be read but not written ({health.error})"
        elif health.delayed:
            body, status = {"status": "degraded", "database": "up"}, 200
            body["writes"] = f"delayed {health.delayed:.0f} s"
        else:
            body, status = {"status": "ok", "database": "up"}, 200
        if status == 200 and self._overdue is not None:
            late, oldest = await self._overdue()
            if late:  # pages and timers wait: the worker is stopped, or cannot keep up
                body["status"] = "degraded"
                body["follow_ups"] = (
                    f"{late} overdue (pages, escalations, SLA timers), the oldest by "
                    f"{oldest:.0f} s: is the worker running? (`vigil serve` starts it)"
                )
        if self._source_statuses is not None:
            body["sources"] = dict(self._source_statuses())
        if self._dependencies is not None:
            body["dependencies"] = {k: dict(v) for k, v in self._dependencies().items()}
        return web.json_response(body, status=status)

    async def metrics(self, request: web.Request) -> web.Response:
        """Counters as they are, plus gauges read fresh: incidents by severity and state,
        and the outbox depth when Slack is connected."""
        counts = await self._incidents.counts()
        # Pairs no longer counted show 0 rather than vanish: a series that disappears reads
        # as "no data" in a graph, and (split serve) a value kept in a file cannot be cleared.
        for pair in self._incident_pairs - set(counts):
            self._metrics.incidents.labels(*pair).set(0)
        for (severity, state), n in counts.items():
            self._metrics.incidents.labels(severity, state).set(n)
        self._incident_pairs |= set(counts)
        if self._outbox_depth is not None:
            self._metrics.outbox_depth.set(await self._outbox_depth())
        body = self._metrics.render()
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})


@dataclass(frozen=True, slots=True)
class _Body:
    """A decoded JSON body (any JSON value, ``null`` included)."""

    value: Any


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
