"""Each rule group on its own APScheduler interval job.

Infrastructure rules want a fresh look every 15 s; model-quality windows move over minutes
and gain nothing from being judged four times a minute. So every group (``group:`` in the
rules files) gets one ``interval`` job on an in-memory ``AsyncIOScheduler``: coalesced (a
loop that was blocked runs a missed evaluation once, not a burst of them) and never
overlapping itself (``max_instances=1``). Nothing here is durable on purpose: evaluation
jobs are rebuilt from the rules at every start, unlike escalation timers (``bot.store.timers``)
which must survive a restart.

Intervals come from ``sources.group_intervals`` in vigil.yaml, defaulting to
``sources.interval``. A failed run is logged by the job itself and the next interval
retries; the scheduler never stops for it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.rules.runner import RuleRunner

log = logging.getLogger(__name__)


def group_intervals(
    groups: list[str], default: timedelta, overrides: Mapping[str, timedelta]
) -> dict[str, timedelta]:
    """The interval of each group: its override, else ``default``."""
    return {g: overrides.get(g, default) for g in groups}


class RuleSchedule:
    """Runs ``runner.run_group`` per group on APScheduler interval jobs."""

    def __init__(
        self, runner: RuleRunner, intervals: Mapping[str, timedelta] | None = None
    ) -> None:
        self._runner = runner
        self.intervals = group_intervals(list(runner.groups), runner.poll_interval, intervals or {})
        self.scheduler = AsyncIOScheduler(jobstores={"default": MemoryJobStore()}, timezone="UTC")

    def job_id(self, group: str) -> str:
        return f"rules:{group}"

    def start(self) -> None:
        """Add one job per group, each first run at once, and start the scheduler."""
        for group, every in self.intervals.items():
            self.scheduler.add_job(
                self._run,
                "interval",
                args=[group],
                seconds=every.total_seconds(),
                id=self.job_id(group),
                name=f"evaluate rule group {group}",
                coalesce=True,
                max_instances=1,
                misfire_grace_time=max(1, int(every.total_seconds())),
                next_run_time=datetime.now(UTC),  # APScheduler runs on the real clock
            )
            log.info("rule group %s: every %gs", group, every.total_seconds())
        self.scheduler.start()

    def stop(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    async def _run(self, group: str) -> None:
        try:
            await self._runner.run_group(group)
        except Exception:
            every = self.intervals[group].total_seconds()
            log.exception("rule group %s failed; retrying in %gs", group, every)
