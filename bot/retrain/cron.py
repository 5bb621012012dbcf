"""Each model's ``schedule:`` on an APScheduler cron trigger (UTC).

Like the rule cadence (``bot.rules.cadence``) the jobs live in memory and are rebuilt from
``vigil.yaml`` at every start: what must survive a restart is the run, and its row does. A
missed fire is run once when the loop gets to it (coalesced, within an hour's grace), never
as a burst. The run's dedup key is the minute the schedule named, so two replicas firing
the same minute make one run.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from bot.retrain.service import RetrainService

log = logging.getLogger(__name__)

GRACE_S = 3600


class RetrainSchedule:
    def __init__(self, service: RetrainService) -> None:
        self._service = service
        self.scheduler = AsyncIOScheduler(jobstores={"default": MemoryJobStore()}, timezone="UTC")

    def start(self) -> None:
        """One job per model with a ``schedule:``; nothing to start when none has one."""
        plans = [p for p in self._service.plans.values() if p.schedule]
        for plan in plans:
            assert plan.schedule is not None
            self.scheduler.add_job(
                self._run,
                CronTrigger.from_crontab(plan.schedule, timezone="UTC"),
                args=[plan.model],
                id=f"retrain:{plan.model}",
                name=f"retrain {plan.model}",
                coalesce=True,
                max_instances=1,
                misfire_grace_time=GRACE_S,
            )
            log.info("retraining %s on cron %r (UTC)", plan.model, plan.schedule)
        if plans:
            self.scheduler.start()

    def stop(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    async def _run(self, model: str) -> None:
        try:
            await self._service.scheduled(model, datetime.now(UTC))  # APScheduler's clock
        except Exception:
            log.exception("scheduled retraining of %s failed; the next fire tries again", model)
