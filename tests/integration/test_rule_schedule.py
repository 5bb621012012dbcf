"""Rule groups on APScheduler interval jobs: each group on its own interval, sharing polls.

The schedule runs on APScheduler's real loop; the tests wait on the scheduler's own
``EVENT_JOB_EXECUTED`` hook (never a sleep) and evaluate on the injected clock.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, JobExecutionEvent

from bot.rules import parse_rules
from bot.rules.cadence import RuleSchedule
from bot.rules.runner import RuleRunner
from bot.runtime.app import Vigil
from bot.sources.base import Sample
from bot.sources.pushed import PushedSource
from tests.support import FakeClock

RULES = [
    {
        "name": "error-rate-high",
        "group": "infrastructure",
        "metric": "error_rate",
        "op": ">",
        "threshold": 0.01,
        "for": "0s",
        "unit": "ratio",
        "labels": {"alertname": "HighErrorRate", "signal": "error_rate", "severity": "warning"},
    },
    {
        "name": "input-drift-psi",
        "group": "model-quality",
        "metric": "input_drift_psi",
        "op": ">",
        "threshold": 0.2,
        "for": "0s",
        "unit": "score",
        "labels": {"alertname": "InputDrift", "signal": "psi", "severity": "warning"},
    },
]


class CountingSource(PushedSource):
    """The pushed-samples source, counting how often the runner polls it."""

    def __init__(self) -> None:
        super().__init__(name="counting")
        self.polls = 0

    async def collect(self, now: datetime) -> list[Sample]:
        self.polls += 1
        return await super().collect(now)


def runner_for(vigil: Vigil, clock: FakeClock, source: PushedSource) -> RuleRunner:
    return RuleRunner(
        [source],
        parse_rules([("rules/test.yaml", {"rules": RULES})]),
        ingestor=vigil.ingestor,
        models={},
        services={},
        clock=clock,
        poll_interval=timedelta(seconds=15),
    )


async def test_groups_run_on_their_own_interval_jobs_and_open_incidents(
    vigil: Vigil, clock: FakeClock
) -> None:
    source = CountingSource()
    now = clock()
    await source.push(
        [
            Sample("error_rate", 0.2, {"service": "payments"}, now),
            Sample("input_drift_psi", 0.4, {"model": "fraud"}, now),
        ]
    )
    runner = runner_for(vigil, clock, source)
    schedule = RuleSchedule(
        runner, {"infrastructure": timedelta(seconds=30), "model-quality": timedelta(minutes=2)}
    )
    assert schedule.intervals == {
        "infrastructure": timedelta(seconds=30),
        "model-quality": timedelta(minutes=2),
    }
    ran: dict[str, int] = {}
    errors: list[Any] = []
    both = asyncio.Event()

    def listener(event: JobExecutionEvent) -> None:
        if event.exception is not None:
            errors.append(event.exception)
        ran[event.job_id] = ran.get(event.job_id, 0) + 1
        if len(ran) == 2:
            both.set()

    schedule.scheduler.add_listener(listener, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
    schedule.start()
    try:
        await asyncio.wait_for(both.wait(), timeout=10)
        jobs = {job.id: job.trigger.interval for job in schedule.scheduler.get_jobs()}
    finally:
        schedule.stop()
    await runner.wait_idle()
    assert errors == []
    assert ran == {"rules:infrastructure": 1, "rules:model-quality": 1}
    assert jobs == {
        "rules:infrastructure": timedelta(seconds=30),
        "rules:model-quality": timedelta(minutes=2),
    }
    titles = sorted(i.title for i in await vigil.incidents.list(include_closed=True))
    assert len(titles) == 2
    assert any("error rate" in t for t in titles)
    assert any("PSI" in t or "drift" in t.lower() for t in titles)
    assert source.polls == 1  # both groups ran on one poll: the second found it fresh


async def test_a_group_polls_only_when_its_samples_are_stale(
    vigil: Vigil, clock: FakeClock
) -> None:
    source = CountingSource()
    runner = runner_for(vigil, clock, source)
    await runner.run_group("infrastructure")
    clock.advance(seconds=5)
    await runner.run_group("model-quality")  # 5 s later: the samples are fresh
    assert source.polls == 1
    clock.advance(seconds=15)
    await runner.run_group("model-quality")
    assert source.polls == 2


async def test_a_slower_group_sees_every_point_since_its_last_run(
    vigil: Vigil, clock: FakeClock
) -> None:
    """A breach that came and went between two runs of a slow group is still judged."""
    source = CountingSource()
    runner = runner_for(vigil, clock, source)
    await runner.run_group("model-quality")
    for psi in (0.05, 0.5, 0.05):  # one breaching point between two model-quality runs
        clock.advance(seconds=15)
        await source.push([Sample("input_drift_psi", psi, {"model": "fraud"}, clock())])
        await runner.run_group("infrastructure")
    outcomes = await runner.run_group("model-quality")
    assert [(o.action, o.incident_id) for o in outcomes] == [("opened", 1), ("resolved", 1)]
