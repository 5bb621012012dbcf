"""The rule loop: poll every source, evaluate the rules, ingest what changed.

One ``tick`` polls all sources side by side with ``poll`` (an unavailable source yields no
samples and an updated status, never an exception), groups the samples by series for the
pure ``evaluate``, and hands every ``AlertChange`` to the incident pipeline in one
``ingest`` call. The evaluation state is kept only once that call has committed, so an
outage of the database re-evaluates the same samples on the next tick instead of losing
the alert.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from datetime import datetime, timedelta

from bot.incidents.ingest import AlertIngestor, IngestOutcome
from bot.incidents.store import Clock
from bot.metrics import Metrics
from bot.rules.alerts import to_alert_in
from bot.rules.effective import Subjects
from bot.rules.evaluate import EvalState, evaluate
from bot.rules.schema import Point, Rule, Series
from bot.sources.base import Sample, Source, SourceStatus, poll

log = logging.getLogger(__name__)


def group_samples(samples: Sequence[Sample]) -> dict[Series, list[Point]]:
    """Samples as ``evaluate`` takes them: the points of each (metric, labels) series."""
    grouped: dict[Series, list[Point]] = {}
    for sample in samples:
        series = Series.of(sample.metric, sample.labels)
        grouped.setdefault(series, []).append(Point(sample.at, sample.value))
    return grouped


def describe_status(status: SourceStatus) -> str:
    """``up`` or ``unavailable: <reason>``, as /healthz shows it."""
    return "up" if status.is_up else f"unavailable: {status.reason}"


class RuleRunner:
    """Polls ``sources`` and evaluates ``rules``; keeps the evaluation state between ticks."""

    def __init__(
        self,
        sources: Sequence[Source],
        rules: Sequence[Rule],
        *,
        ingestor: AlertIngestor,
        models: Subjects,
        services: Subjects,
        clock: Clock,
        metrics: Metrics | None = None,
    ) -> None:
        self.sources = list(sources)
        self._metrics = metrics
        self.rules = list(rules)
        self._ingestor = ingestor
        self._models = models
        self._services = services
        self._clock = clock
        self._state: EvalState | None = None
        self._statuses: dict[str, SourceStatus] = {}
        self._lock = asyncio.Lock()

    @property
    def state(self) -> EvalState | None:
        return self._state

    def statuses(self) -> dict[str, str]:
        """Each polled source's status in words, by source name."""
        return {name: describe_status(s) for name, s in self._statuses.items()}

    async def tick(self, now: datetime | None = None) -> list[IngestOutcome]:
        """Poll, evaluate and ingest once; returns what became of the alerts it sent."""
        async with self._lock:
            now = now or self._clock()
            polled = await asyncio.gather(*(self._poll(s, now) for s in self.sources))
            samples = [sample for batch in polled for sample in batch]
            started = time.perf_counter()
            state, changes = evaluate(
                self.rules,
                group_samples(samples),
                self._state,
                now,
                models=self._models,
                services=self._services,
            )
            if self._metrics is not None:
                self._metrics.rule_evaluation.observe(time.perf_counter() - started)
            outcomes: list[IngestOutcome] = []
            if changes:
                outcomes = await self._ingestor.ingest([to_alert_in(c, now) for c in changes])
            self._state = state
            return outcomes

    async def _poll(self, source: Source, now: datetime) -> list[Sample]:
        previous = self._statuses.get(source.name)
        try:
            samples, status = await poll(source, now, previous)
        except Exception as exc:  # a bug in one source must not stop the others
            log.exception("source %s failed", source.name)
            fallback = previous or SourceStatus.up(now)
            reason = f"{type(exc).__name__}: {exc}"
            status = SourceStatus.unavailable(reason, fallback.since if not fallback.is_up else now)
            samples = []
        if previous is None or previous.state != status.state:
            if status.is_up:
                log.info("source %s is up", source.name)
            else:
                log.warning("source %s is unavailable: %s", source.name, status.reason)
        if not status.is_up and self._metrics is not None:
            self._metrics.source_errors.labels(source.name).inc()
        self._statuses[source.name] = status
        return samples

    async def run(self, stop: asyncio.Event, interval: timedelta) -> None:
        """Tick every ``interval`` until ``stop`` is set; a failed tick is logged and retried."""
        seconds = interval.total_seconds()
        while not stop.is_set():
            try:
                await self.tick()
            except Exception:
                log.exception("rule evaluation failed; retrying in %gs", seconds)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=seconds)

    async def close(self) -> None:
        """Release sources that hold resources (NVML)."""
        for source in self.sources:
            closer = getattr(source, "close", None)
            if closer is not None:
                await closer()
