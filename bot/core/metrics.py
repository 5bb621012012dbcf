"""Prometheus metrics about Vigil itself, served at ``/metrics``.

Each app gets its own registry (not the process-global one), so two apps in one process
(tests, an embedded demo) never collide on metric names.

A split ``vigil serve`` (``bot.runtime.supervise``) runs two processes, and a scrape reaches only
the HTTP one, while pages and timers count their failures in the worker. There the
supervisor sets ``PROMETHEUS_MULTIPROC_DIR`` before its children start: prometheus_client
then keeps every process's values in files in that folder, and :meth:`Metrics.render`
sums them (its multiprocess mode). Gauges take the most recent value written by any
process (each is written by one process only).
"""

from __future__ import annotations

import os

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST

CONTENT_TYPE = CONTENT_TYPE_LATEST
MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"  # prometheus_client reads it at import


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.alerts_received = Counter(
            "vigil_alerts_received",
            "Alerts accepted and stored, by source format and status.",
            ["format", "status"],
            registry=self.registry,
        )
        self.alerts_rejected = Counter(
            "vigil_alert_posts_rejected",
            "Alert posts refused (bad input, auth, size), by source format and reason.",
            ["format", "reason"],
            registry=self.registry,
        )
        self.alerts_muted = Counter(
            "vigil_alerts_muted",
            "Firing alerts stored but muted (a silence, a maintenance window, inhibition): no "
            "incident, no page. By source format.",
            ["format"],
            registry=self.registry,
        )
        self.incidents_opened = Counter(
            "vigil_incidents_opened",
            "Incidents opened from alerts, by severity at opening.",
            ["severity"],
            registry=self.registry,
        )

        self.incidents = Gauge(
            "vigil_incidents",
            "Incidents by severity and state, read from the database at each scrape.",
            ["severity", "state"],
            registry=self.registry,
            multiprocess_mode="mostrecent",
        )
        self.outbox_depth = Gauge(
            "vigil_outbox_depth",
            "Chat messages waiting in the outbox (not yet delivered nor given up).",
            registry=self.registry,
            multiprocess_mode="mostrecent",
        )

        self.rule_evaluation = Histogram(
            "vigil_rule_evaluation_seconds",
            "Time to evaluate one rule group over its new samples (polling not included).",
            ["group"],
            registry=self.registry,
        )
        self.source_errors = Counter(
            "vigil_source_errors",
            "Polls of a source that failed (the source is unavailable until one succeeds).",
            ["source"],
            registry=self.registry,
        )

        self.timer_failures = Counter(
            "vigil_timer_failures",
            "Durable timers whose handler raised (each is retried with backoff), by kind.",
            ["kind"],
            registry=self.registry,
        )
        self.reaction_failures = Counter(
            "vigil_reaction_failures",
            "Follow-ups of a committed change (paging, SLA timer, post-mortem draft) that "
            "failed and wait for a retry, by listener.",
            ["listener"],
            registry=self.registry,
        )
        self.reactions_pending = Gauge(
            "vigil_reactions_pending",
            "Follow-ups of committed changes not yet done (due now or waiting for a retry).",
            registry=self.registry,
            multiprocess_mode="mostrecent",
        )

    def render(self) -> bytes:
        """The exposition text: this process's values, or every process's when split."""
        folder = os.environ.get(MULTIPROCESS_DIR)
        if not folder:
            return generate_latest(self.registry)
        merged = CollectorRegistry()
        multiprocess.MultiProcessCollector(merged, path=folder)  # type: ignore[no-untyped-call]
        return generate_latest(merged)
