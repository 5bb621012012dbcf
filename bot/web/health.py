"""``GET /healthz`` and ``GET /metrics``: is this process fit to take alerts, and its counters.

Health is about this process and its database, never about what Vigil watches: a
dependency down is reported, and leaves the status as it is, so a balancer never drops the
bot that is alerting about the outage.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web

from bot.core.metrics import CONTENT_TYPE, Metrics
from bot.incidents.service import IncidentService
from bot.store.db import Database


async def health_report(
    db: Database,
    *,
    overdue: Callable[[], Awaitable[tuple[int, float]]] | None = None,
    source_statuses: Callable[[], Mapping[str, str]] | None = None,
    dependencies: Callable[[], Mapping[str, Mapping[str, str]]] | None = None,
) -> tuple[dict[str, Any], int]:
    """The body and status of ``/healthz`` (see ``HealthRoutes.healthz``); the web view's
    status page shows the same. Dependency URLs are already without credentials
    (``bot.sources.dependency.safe_url``)."""
    health = await db.health()
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
    if status == 200 and overdue is not None:
        late, oldest = await overdue()
        if late:  # pages and timers wait: the worker is stopped, or cannot keep up
            body["status"] = "degraded"
            body["follow_ups"] = (
                f"{late} overdue (pages, escalations, SLA timers), the oldest by "
                f"{oldest:.0f} s: is the worker running? (`vigil serve` starts it)"
            )
    if source_statuses is not None:
        body["sources"] = dict(source_statuses())
    if dependencies is not None:
        body["dependencies"] = {k: dict(v) for k, v in dependencies().items()}
    return body, status


class HealthRoutes:
    """The health and metrics handlers, bound to what they read."""

    def __init__(
        self,
        *,
        db: Database,
        incidents: IncidentService,
        metrics: Metrics,
        outbox_depth: Callable[[], Awaitable[int]] | None = None,
        source_statuses: Callable[[], Mapping[str, str]] | None = None,
        dependencies: Callable[[], Mapping[str, Mapping[str, str]]] | None = None,
        overdue: Callable[[], Awaitable[tuple[int, float]]] | None = None,
    ) -> None:
        self._db = db
        self._incidents = incidents
        self._metrics = metrics
        self._incident_pairs: set[tuple[str, str]] = set()  # (severity, state) ever counted
        self._outbox_depth = outbox_depth
        self._source_statuses = source_statuses
        self._dependencies = dependencies
        self._overdue = overdue

    def install(self, app: web.Application) -> None:
        app.router.add_get("/healthz", self.healthz)
        app.router.add_get("/metrics", self.metrics)

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
        body, status = await health_report(
            self._db,
            overdue=self._overdue,
            source_statuses=self._source_statuses,
            dependencies=self._dependencies,
        )
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
