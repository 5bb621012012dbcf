"""``vigil model canary MODEL VERSION [--steps …] [--every …]``, ``vigil model ab MODEL A B
--share N`` and ``vigil model rollout MODEL [--abort]``: start, read and stop a rollout.

A module of its own because it loads the judge (numpy), which ``vigil model list`` does not
need. This process only writes: the rollout row, the canary's first share, and the durable
timers of the first look and of the line for chat; the running Vigil (``vigil serve``) makes
the looks and posts the lines, since the evidence is in its memory. ``canary`` with a
PERCENT keeps its old meaning (set the share, no judging) and goes to
:mod:`bot.cli.verbs.model.registry`. Of vigil.yaml it reads the top level, ``registry:`` and
``rollout:`` (the steps, the look interval, the judge's thresholds).
"""

from __future__ import annotations

import argparse
import asyncio

from bot.cli.common import actor, quiet, when
from bot.cli.database import once, printed
from bot.cli.verbs.model import registry as plain
from bot.core.clock import utcnow
from bot.core.durations import parse_duration
from bot.core.errors import NotFoundError, ValidationError
from bot.incidents.reactions.changes import Notifier
from bot.incidents.service import IncidentService
from bot.quality.compare.ledger import VersionSummary
from bot.registry.build import build_registry, close_registry
from bot.registry.settings import RegistrySettings
from bot.rollout.settings import RolloutSettings, parse_rollout
from bot.rollout.steps import parse_steps
from bot.rollout.story import headline
from bot.rollouts.chat import RolloutChat
from bot.rollouts.driver import RolloutDriver
from bot.rollouts.service import RolloutReport, RolloutService
from bot.rollouts.store import RolloutStore
from bot.store.db import Database
from bot.store.timers import Timers


def main(args: argparse.Namespace) -> int:
    config = quiet(args)
    if args.model_command == "canary":
        percent = args.percent if args.percent is not None else args.set_percent
        if percent is not None:
            args.percent = percent
            return plain.main(args)
    registry, rollout = plain.registry_of(config), parse_rollout(config.top.rollout, config.where)
    return printed(asyncio.run(once(config.settings, lambda db: _run(args, db, registry, rollout))))


async def _no_evidence(model: str, since: object) -> dict[str, VersionSummary]:
    raise NotFoundError("this process holds no evidence; the running Vigil looks")


async def _run(
    args: argparse.Namespace, db: Database, where: RegistrySettings, settings: RolloutSettings
) -> str:
    registry = build_registry(where, db, utcnow)
    timers = Timers(db, clock=utcnow)
    store = RolloutStore(db)
    incidents = IncidentService(db, notifier=Notifier(), clock=utcnow)
    driver = RolloutDriver(
        db,
        store,
        registry,
        timers,
        incidents,
        RolloutChat(list),
        _no_evidence,
        settings,
        clock=utcnow,
    )
    rollouts = RolloutService(db, store, registry, timers, driver, clock=utcnow)
    await timers.start(paused=True)  # writes timers; the running Vigil fires them
    try:
        return await run(args, rollouts, who=actor())
    finally:
        await timers.stop()
        await close_registry(registry)


async def run(args: argparse.Namespace, rollouts: RolloutService, *, who: str) -> str:
    """Carry out one rollout action; the text to print."""
    cmd = args.model_command
    every = parse_duration(args.every) if getattr(args, "every", None) else None
    if cmd == "canary":
        steps = parse_steps(args.steps) if args.steps else None
        state = await rollouts.start(args.model, args.version, actor=who, steps=steps, every=every)
        return f"{headline(state)}\nStarted; `vigil serve` makes the looks."
    if cmd == "ab":
        if not 1 <= args.share <= 99:
            raise ValidationError("share", f"must lie in 1-99, got {args.share}")
        state = await rollouts.start(
            args.model,
            args.b,
            actor=who,
            steps=(args.share,),
            every=every,
            mode="ab",
            baseline=args.a,
        )
        return f"{headline(state)}\nStarted; `vigil serve` makes the looks."
    if args.abort:
        state = await rollouts.abort(args.model, actor=who)
        return headline(state)
    report = await rollouts.status(args.model)
    if report is None:
        return (
            f"{args.model} has had no rollout. Start one: vigil model canary {args.model} VERSION"
        )
    return report_text(report)


def report_text(report: RolloutReport) -> str:
    """The rollout's headline, then a line per look: what `vigil model rollout` prints."""
    lines = [headline(report.rollout)]
    for look in report.looks:
        score = "" if look.score is None else f" (score {look.score})"
        lines.append(
            f"  {when(look.at)}  at {look.percent} %: {look.verdict.upper()}{score} → {look.action}"
        )
    if not report.looks:
        lines.append("  no look yet")
    return "\n".join(lines)
