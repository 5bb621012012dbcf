"""The rule loop: poll every source, evaluate each rule group, ingest what changed.

Rules belong to groups (``group:`` in the rules file: infrastructure, application,
model-quality, data-pipelines); ``bot.rules.cadence`` runs each group on its own APScheduler
interval. A group's run first polls the sources if the last poll is older than the poll
interval (so a group never judges stale samples, and groups sharing the interval share one
poll), then evaluates only its own rules with its own state over the samples it has not
seen yet. ``tick`` runs one poll and every group at once; tests and ``vigil demo`` use it
with an injected clock.

Polling uses ``poll`` (an unavailable source yields no samples and an updated status,
never an exception); every ``AlertChange`` goes to the incident pipeline in one ``ingest``
call per group. A group's evaluation state and its consumed samples are committed only once
that call has returned, so an outage of the database re-evaluates the same samples on the
next run instead of losing the alert.

The watches after a fix (``watches``, a :class:`bot.rules.heightened.watches.WatchBook` in
the app) are asked before each evaluation: a rule that fired in an incident resolved a while
ago judges that incident's subject by its tightened form until the watch ends. A failing
read keeps the watches last read (the database being down must not stop the rules).

Every poll's samples also go to the listeners added with ``listen`` (a snooze waiting for
``psi<0.1`` hears them there), before the rules judge them; a failing listener is logged.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from bot.core.clock import Clock
from bot.core.metrics import Metrics
from bot.incidents.intake.apply import IngestOutcome
from bot.incidents.intake.ingest import AlertIngestor
from bot.rules.alerts import to_alert_in
from bot.rules.effective import Subjects
from bot.rules.evaluate import EvalState, evaluate
from bot.rules.heightened.tighten import Heightening, WatchKey
from bot.rules.schema import Point, Rule, Series
from bot.sources.base import Sample, Source, SourceStatus, poll

log = logging.getLogger(__name__)


SampleListener = Callable[[Sequence[Sample], datetime], Awaitable[None]]
"""Told every poll's samples and its time (a snooze waiting for ``psi<0.1``)."""


def group_samples(samples: Sequence[Sample]) -> dict[Series, list[Point]]:
    """Samples as ``evaluate`` takes them: the points of each (metric, labels) series."""
    grouped: dict[Series, list[Point]] = {}
    for sample in samples:
        series = Series.of(sample.metric, sample.labels)
        grouped.setdefault(series, []).append(Point(sample.at, sample.value, sample.notes or None))
    return grouped


def describe_status(status: SourceStatus) -> str:
    """``up`` or ``unavailable: <reason>``, as /healthz shows it."""
    return "up" if status.is_up else f"unavailable: {status.reason}"


class Watches(Protocol):
    """The watches after a fix in force at a time (``bot.rules.heightened.watches``)."""

    async def current(self, now: datetime) -> Mapping[WatchKey, Heightening]: ...


MAX_POINTS_PER_SERIES = 64
"""Most unevaluated points kept per series for a group that runs less often than the poll."""


class RuleRunner:
    """Polls ``sources`` and evaluates ``rules`` group by group, keeping state between runs."""

    def __init__(
        self,
        sources: Sequence[Source],
        rules: Sequence[Rule],
        *,
        ingestor: AlertIngestor,
        models: Subjects,
        services: Subjects,
        heartbeats: Subjects | None = None,
        clock: Clock,
        metrics: Metrics | None = None,
        poll_interval: timedelta = timedelta(seconds=15),
        watches: Watches | None = None,
    ) -> None:
        self.sources = list(sources)
        self._metrics = metrics
        self.rules = list(rules)
        self.groups: dict[str, list[Rule]] = {}
        for rule in self.rules:
            self.groups.setdefault(rule.group, []).append(rule)
        #: The groups that watch each metric, so a poll files each series in one look-up.
        self._groups_of: dict[str, list[str]] = {}
        for group, group_rules in self.groups.items():
            for metric in dict.fromkeys(r.metric for r in group_rules):
                self._groups_of.setdefault(metric, []).append(group)
        self._ingestor = ingestor
        self._models = models
        self._services = services
        self._heartbeats: Subjects = heartbeats or {}
        self._clock = clock
        self.poll_interval = poll_interval
        self._states: dict[str, EvalState] = {}
        self._pending: dict[str, dict[Series, list[Point]]] = {g: {} for g in self.groups}
        self._last_poll: datetime | None = None
        self._statuses: dict[str, SourceStatus] = {}
        self._lock = asyncio.Lock()
        self._listeners: list[SampleListener] = []
        self._watches = watches
        self._heightened: Mapping[WatchKey, Heightening] = {}

    def statuses(self) -> dict[str, str]:
        """Each polled source's status in words, by source name."""
        return {name: describe_status(s) for name, s in self._statuses.items()}

    def listen(self, listener: SampleListener) -> None:
        """Hear every poll's samples, whether or not a rule watches their metric."""
        self._listeners.append(listener)

    async def tick(self, now: datetime | None = None) -> list[IngestOutcome]:
        """Poll once and evaluate every group; returns what became of the alerts it sent."""
        async with self._lock:
            now = now or self._clock()
            await self._poll_all(now)
            outcomes: list[IngestOutcome] = []
            for group in self.groups:
                outcomes += await self._evaluate(group, now)
            return outcomes

    async def run_group(self, group: str, now: datetime | None = None) -> list[IngestOutcome]:
        """One scheduled run of ``group``: poll if the samples are stale, then evaluate it."""
        async with self._lock:
            now = now or self._clock()
            stale = self._last_poll is None or now - self._last_poll >= self.poll_interval * 0.9
            if stale:
                await self._poll_all(now)
            return await self._evaluate(group, now)

    async def _poll_all(self, now: datetime) -> None:
        polled = await asyncio.gather(*(self._poll(s, now) for s in self.sources))
        self._last_poll = now
        samples = [s for batch in polled for s in batch]
        for listener in self._listeners:
            try:
                await listener(samples, now)
            except Exception:  # a listener's bug must not stop the rules
                log.exception("sample listener failed")
        for series, points in group_samples(samples).items():
            for group in self._groups_of.get(series.metric, ()):
                held = self._pending[group].setdefault(series, [])
                held.extend(points)
                del held[:-MAX_POINTS_PER_SERIES]

    async def _evaluate(self, group: str, now: datetime) -> list[IngestOutcome]:
        pending = self._pending.get(group, {})
        heightened = await self._current_watches(now)
        started = time.perf_counter()
        state, changes = evaluate(
            self.groups.get(group, []),
            pending,
            self._states.get(group),
            now,
            models=self._models,
            services=self._services,
            heartbeats=self._heartbeats,
            heightened=heightened,
        )
        if self._metrics is not None:
            self._metrics.rule_evaluation.labels(group).observe(time.perf_counter() - started)
        outcomes: list[IngestOutcome] = []
        if changes:
            outcomes = await self._ingestor.ingest([to_alert_in(c, now) for c in changes])
        self._states[group] = state
        self._pending[group] = {}
        return outcomes

    async def _current_watches(self, now: datetime) -> Mapping[WatchKey, Heightening]:
        if self._watches is None:
            return self._heightened
        try:
            self._heightened = await self._watches.current(now)
        except Exception:  # the database is away: judge by the watches last read
            log.warning("could not read the watches after a fix; using the last ones read")
        return {k: h for k, h in self._heightened.items() if h.until > now}

    async def wait_idle(self) -> None:
        """Return once no poll or evaluation is in flight (used at shutdown)."""
        async with self._lock:
            return

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

    async def close(self) -> None:
        """Release sources that hold resources (NVML)."""
        for source in self.sources:
            closer = getattr(source, "close", None)
            if closer is not None:
                await closer()
