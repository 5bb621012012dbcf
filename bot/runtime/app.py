"""The composition root: the only place that builds and wires the database, services,
HTTP server and chat backend. Everything else receives what it needs as arguments.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aiohttp import web

from bot.chat.backend import ChatBackend
from bot.chat.commands.run import CommandRunner
from bot.config.load import Settings, rule_files
from bot.core.clock import Clock, utcnow
from bot.core.metrics import Metrics
from bot.evidence.service import EvidenceService
from bot.heartbeats.service import HeartbeatService
from bot.heartbeats.store import HeartbeatStore
from bot.incidents.auto_resolve import WATCHED as AUTO_WATCHED
from bot.incidents.auto_resolve import AutoResolver
from bot.incidents.intake.ingest import AlertIngestor
from bot.incidents.reactions.changes import Change, Notifier
from bot.incidents.reactions.reactor import Reactor
from bot.incidents.service import IncidentService
from bot.incidents.states import OPEN_STATES
from bot.monitoring.service import ModelQualityService
from bot.notify.base import Channel
from bot.notify.build import build_channels, close_channels
from bot.notify.retry import NotifyRetrier
from bot.oncall.paging.mirror import PagerDutyMirror
from bot.oncall.paging.pager import NOTIFY, Pager
from bot.oncall.schedules.overrides import ScheduleBook
from bot.oncall.schedules.watch import HandoffWatch
from bot.oncall.sla.report_service import ReportService
from bot.oncall.sla.watch import WATCHED as SLA_WATCHED
from bot.oncall.sla.watch import SlaWatch
from bot.oncall.snooze.book import SnoozeBook
from bot.oncall.snooze.service import SnoozeService
from bot.playbooks.configured import load_configured_playbooks
from bot.playbooks.history import RunLog
from bot.playbooks.service import PlaybookService
from bot.postmortem.draft import PostmortemRenderer
from bot.postmortem.service import PostmortemService
from bot.registry.base import ModelRegistry
from bot.registry.build import build_registry, close_registry
from bot.retrain.adapters.base import Orchestrator
from bot.retrain.service import RetrainService
from bot.rollouts.service import RolloutService
from bot.rules.loader import load_rules
from bot.rules.runner import RuleRunner
from bot.runtime.model_side import build_models, build_retrain, build_rollouts
from bot.runtime.noise import build_silences
from bot.runtime.routes import web_app
from bot.runtime.watch_side import build_watch_book, follow_watch
from bot.silences.service import SilenceService
from bot.silences.watch import SilenceWatch
from bot.sources.base import Source
from bot.sources.build import build_sources
from bot.sources.heartbeats import HeartbeatSource
from bot.sources.models import ModelQualitySource
from bot.sources.pushed import PushedSource
from bot.sources.pushed_store import PushedStore
from bot.store.db import Database
from bot.store.timers import Timers

if TYPE_CHECKING:  # Slack's libraries load only when Slack is configured (see create)
    from bot.chat.slack.wiring import SlackParts

# What starts or stops paging: a new or more severe incident, an ack or resolve, every alert
# cleared, one firing again.
PAGER_KINDS = frozenset({"opened", "severity", "state", "cleared", "refiring"})


@dataclass
class Vigil:
    """A running Vigil's parts, built by ``create`` and released by ``close``."""

    settings: Settings
    db: Database
    notifier: Notifier
    incidents: IncidentService
    ingestor: AlertIngestor
    commands: CommandRunner
    metrics: Metrics
    postmortems: PostmortemService
    timers: Timers
    pager: Pager
    snoozes: SnoozeService
    registry: ModelRegistry
    playbooks: PlaybookService
    clock: Clock
    rules_runner: RuleRunner
    pushed: PushedSource
    heartbeats: HeartbeatService
    models: ModelQualityService
    schedule_book: ScheduleBook  # vigil.yaml's schedules + imported overrides, read fresh
    reports: ReportService  # the on-call report (SLA targets and working hours as the timers')
    handoffs: HandoffWatch  # posts "📟 Handoff: …" to the team channel when a schedule turns
    reactor: Reactor  # runs the follow-ups of committed changes (paging first) until done
    retrain: RetrainService  # retraining on drift, on cron and on /incident retrain N
    rollouts: RolloutService  # canary rollouts and A/B tests, judged every interval
    silences: SilenceService  # silences, maintenance windows, inhibition: the intake's muter
    silence_watch: SilenceWatch  # releases what a mute held when it ends; reminders
    channels: list[Channel] = field(default_factory=list)
    backends: list[ChatBackend] = field(default_factory=list)
    slack: SlackParts | None = None

    @classmethod
    async def create(
        cls,
        settings: Settings,
        *,
        clock: Clock = utcnow,
        drive_timers: bool = True,
        follow_ups: bool = True,
        orchestrators: Mapping[str, Orchestrator] | None = None,
    ) -> Vigil:
        """Open the database, apply migrations, and wire the services.

        ``drive_timers=False`` leaves durable timers (escalations) to ``vigil.timers.run_due``,
        for tests and the demo, whose clocks are not the wall clock. ``follow_ups=False``
        (the HTTP process of a split ``vigil serve``) leaves what a stopped process still
        owed (follow-ups, SLA and handoff timers) to the worker process, which resumes it.
        ``orchestrators`` replaces the retraining adapters ``retraining:`` names, per model
        (the demo's in-process stand-in; nothing else passes it).
        """
        playbooks = load_configured_playbooks(settings)  # a broken one: ConfigError, no db
        rules = load_rules(rule_files(settings))  # likewise for a broken rules file
        db = Database(settings.database_url)
        try:
            await db.migrate()
        except Exception:
            await db.dispose()
            raise
        notifier = Notifier()
        metrics = Metrics()
        incidents = IncidentService(db, notifier=notifier, clock=clock)
        reactor = Reactor(db, notifier, load=incidents.get, clock=clock, metrics=metrics)
        ingestor = AlertIngestor(db, settings.incidents, notifier=notifier, clock=clock)
        postmortems = PostmortemService(
            incidents,
            PostmortemRenderer(settings.templates_dir),
            out_dir=settings.postmortems_dir,
            clock=clock,
        )
        registry = build_registry(settings.registry, db, clock)
        runs = PlaybookService(
            playbooks,
            registry,
            incidents,
            RunLog(db, clock),
            clock=clock,
            retrain_url=settings.retrain_url,
        )
        timers = Timers(
            db,
            clock=clock,
            poll=settings.timer_poll,
            on_failure=lambda kind: metrics.timer_failures.labels(kind).inc(),
        )
        pushed = PushedSource(store=lambda bound: PushedStore(db, max_series=bound))  # shared
        sources: list[Source] = build_sources(settings.sources, pushed)
        beats = HeartbeatStore(db)
        if settings.heartbeats:
            sources.append(HeartbeatSource(beats, settings.heartbeats))
        models = build_models(settings, db, registry, clock)
        try:
            await models.sync()  # the watched models, before the first poll or post
        except Exception:
            await db.dispose()
            raise
        sources.append(ModelQualitySource(models.monitor, sync=models.refresh_all))
        watch_book = build_watch_book(settings, db)  # rules watch closely after a fix
        rules_runner = RuleRunner(
            sources,
            rules,
            ingestor=ingestor,
            models=settings.incidents.models,
            services=settings.incidents.services,
            heartbeats=settings.heartbeats,
            clock=clock,
            metrics=metrics,
            poll_interval=settings.sources.interval,
            watches=watch_book,
        )
        backends: list[ChatBackend] = []
        channels = build_channels(settings.notify)
        # notify: channels with durable retries (a 429 from PagerDuty is tried again later).
        retrier = NotifyRetrier(
            incidents, timers, channels, clock=clock, key_prefix=settings.notify.key_prefix
        )
        # Who is on call: `await schedule_book.current()` (one small query, every replica's
        # imports included) rather than settings.oncall.schedules, which lacks the imports.
        schedule_book = ScheduleBook(db, settings.oncall.schedules, clock)
        pager = Pager(
            db,
            incidents,
            timers,
            settings.oncall,
            senders=lambda: backends,
            clock=clock,
            retrier=retrier,
            schedules=schedule_book.current,
            snoozed=SnoozeBook(db).is_snoozed,
            reactor=reactor,
        )
        # Before timers.start: a timer kind must be registered before any overdue one fires.
        # The same SLA and calendar as the report, so the channel and the report agree.
        sla, hours = settings.oncall.sla, settings.oncall.routing.working_hours
        reports = ReportService(db, sla=sla, working_hours=hours, clock=clock)
        sla_watch = SlaWatch(incidents, timers, sla=sla, working_hours=hours, clock=clock)
        tz = (hours or sla.calendar).tz  # the zone SLA lines show times in
        known = {rule.metric for rule in rules}  # what a snooze's condition may wait for
        if settings.sources.prometheus is not None:
            known |= set(settings.sources.prometheus.queries)
        snoozes = SnoozeService(db, incidents, timers, pager, clock=clock, tz=tz, metrics=known)
        rules_runner.listen(snoozes.on_samples)  # a snooze "until psi<0.1" hears every poll
        retrain = build_retrain(
            settings, db, timers, incidents, registry, clock, lambda: backends, orchestrators, rules
        )
        rules_runner.listen(retrain.on_samples)  # K of N drifted windows start a retraining
        rollouts = build_rollouts(
            settings, db, timers, incidents, registry, models, clock, lambda: backends
        )
        silences, silence_watch, silence_chat = build_silences(
            settings, db, timers, ingestor, notifier, incidents, clock, lambda: backends
        )
        handoffs = HandoffWatch(
            timers,
            schedules=schedule_book.current,
            open_incidents=incidents.list,
            count_open=incidents.count_open,
            senders=lambda: backends,
            clock=clock,
        )
        vigil = cls(
            settings=settings,
            db=db,
            notifier=notifier,
            incidents=incidents,
            ingestor=ingestor,
            commands=CommandRunner(
                incidents,
                postmortems,
                oncall=settings.oncall,
                clock=clock,
                playbooks=runs,
                reports=reports,
                escalate=pager.escalate,
                snoozes=snoozes,
                schedules=schedule_book.current,
                retrain=retrain,
                rollouts=rollouts,
                silences=silence_chat,
            ),
            metrics=metrics,
            postmortems=postmortems,
            timers=timers,
            pager=pager,
            snoozes=snoozes,
            registry=registry,
            playbooks=runs,
            clock=clock,
            rules_runner=rules_runner,
            pushed=pushed,
            heartbeats=HeartbeatService(beats, settings.heartbeats, clock=clock),
            models=models,
            schedule_book=schedule_book,
            reports=reports,
            handoffs=handoffs,
            reactor=reactor,
            retrain=retrain,
            rollouts=rollouts,
            silences=silences,
            silence_watch=silence_watch,
            channels=channels,
            backends=backends,
        )
        notifier.subscribe(vigil._count_opened)
        # Followers: durable, written with the change and retried until done (reactor.py).
        notifier.follow("pager", pager.on_change, wants=lambda c: c.kind in PAGER_KINDS)
        reactor.urgent = frozenset({"pager", NOTIFY})  # pages go before the other follow-ups
        mirror = PagerDutyMirror(retrier, pager.pages.steps_sent)
        notifier.follow("pagerduty-mirror", mirror.on_change, wants=lambda c: c.kind == "state")
        notifier.follow("sla", sla_watch.on_change, wants=lambda c: c.kind in SLA_WATCHED)
        notifier.follow(
            "snooze", snoozes.on_change, wants=lambda c: c.incident.state not in OPEN_STATES
        )
        auto = AutoResolver(incidents, timers, quiet=settings.incidents.auto_resolve)
        notifier.follow("auto-resolve", auto.on_change, wants=lambda c: c.kind in AUTO_WATCHED)
        follow_watch(notifier, settings, incidents, watch_book, rules)  # before the draft
        notifier.follow(
            "postmortem",
            postmortems.on_change,
            wants=lambda c: c.kind == "state" and c.incident.state == "resolved",
        )
        evidence = EvidenceService(
            models.monitor,
            incidents,
            out_dir=settings.evidence_dir,
            clock=clock,
            models=settings.incidents.models,  # the accuracy SLA when an alert carries none
        )
        notifier.subscribe(evidence.on_change)
        if settings.slack is not None:
            # Imported here: Bolt and the Slack SDK take ~0.1 s to import, which every vigil
            # command without Slack (vigil demo, check, the console) would pay for nothing.
            from bot.chat.slack.wiring import build_slack

            vigil.slack = build_slack(
                settings.slack,
                db=db,
                commands=vigil.commands,
                incidents=incidents,
                registry=registry,
                clock=clock,
            )
            vigil.attach(vigil.slack.backend)
            # A storm is stored first and paged, then narrated in the thread.
            vigil.slack.outbox.hold = lambda: ingestor.busy() or reactor.paging()
        if db.is_sqlite:  # a storm is stored first (Reactor.loop): its one writer is shared
            reactor.intake_busy = ingestor.busy
        try:
            await timers.start(paused=not drive_timers)
            await snoozes.resume()  # snoozes set before this process: timers and conditions
            if follow_ups:
                await reactor.run_due()  # follow-ups a stopped or killed process still owed
                await sla_watch.resume()  # incidents opened before this process: SLA timers
                await handoffs.resume()  # each schedule's next handoff, unless one is pending
                await rollouts.resume()  # a running rollout whose look timer was lost
                await silence_watch.schedule_windows()  # each window's next start or end
                await silence_watch.release()  # mutes that ended while no process ran
        except Exception:
            await db.dispose()
            raise
        return vigil

    async def _count_opened(self, change: Change) -> None:
        if change.kind == "opened" and change.actor == "vigil":
            self.metrics.incidents_opened.labels(change.incident.severity).inc()

    def attach(self, backend: ChatBackend) -> None:
        """Let a chat backend hear every committed incident change."""
        self.backends.append(backend)
        self.notifier.subscribe(backend.announce, first=True)  # the news before any page

    def web_app(self) -> web.Application:
        """The HTTP server's routes (``bot.runtime.routes``)."""
        return web_app(self)

    async def close(self) -> None:
        for backend in self.backends:
            await backend.stop()
        await self.timers.stop()
        await self.rules_runner.close()
        await self.models.close()  # the minute ledger, open minute too, before the db goes
        await close_channels(self.channels)
        await close_registry(self.registry)
        await self.db.dispose()
