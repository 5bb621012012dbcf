"""Runs parsed ``/incident``, ``/rollback`` and ``/rollout`` commands against the services,
and words the replies.

Chat-agnostic: the console and Slack hand it the text and the caller's name and show the
``Reply`` it returns. Errors (bad input, unknown incident, illegal transition) become a reply
to the caller alone and change nothing; the bot never crashes on what a person types.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping

from bot.chat.commands import parse as p
from bot.chat.commands import remedies, render, rollout_replies, spec
from bot.chat.commands.reply import Reply
from bot.chat.commands.rollback import HELP as ROLLBACK_HELP
from bot.chat.commands.rollback import Rollback, RollbackHelp, parse_rollback
from bot.chat.commands.rollout import HELP as ROLLOUT_HELP
from bot.chat.commands.rollout import (
    RolloutAB,
    RolloutAbort,
    RolloutCommand,
    RolloutHelp,
    RolloutStart,
    RolloutStatus,
    parse_rollout,
)
from bot.chat.commands.silences.parse import parse_silence
from bot.chat.commands.silences.run import SilenceCommands
from bot.core.clock import Clock
from bot.core.errors import ValidationError, VigilError
from bot.incidents.service import IncidentService, Unchanged
from bot.incidents.views import IncidentView
from bot.oncall.schedules.layers import Schedule
from bot.oncall.settings import OncallSettings
from bot.oncall.sla.report_service import ReportService
from bot.oncall.snooze.service import SnoozeService
from bot.oncall.status import oncall_text
from bot.playbooks.service import PlaybookService
from bot.postmortem.service import PostmortemService
from bot.retrain.service import RetrainService
from bot.rollouts.service import RolloutService

__all__ = ["CommandRunner", "Reply"]

log = logging.getLogger(__name__)
NO_REPORTS = "Reports are not available here."
NO_ROLLOUTS = "Rollouts are not available here."
NO_SILENCES = "Silences are not available here."
INTERNAL_ERROR = (
    "⚠️ Vigil hit an internal error and changed nothing. Try again; if it repeats, "
    "check the bot's log."
)


class CommandRunner:
    def __init__(
        self,
        incidents: IncidentService,
        postmortems: PostmortemService,
        *,
        oncall: OncallSettings,
        clock: Clock,
        playbooks: PlaybookService,
        reports: ReportService | None = None,
        escalate: Callable[..., Awaitable[IncidentView]] | None = None,
        snoozes: SnoozeService | None = None,
        schedules: Callable[[], Awaitable[Mapping[str, Schedule]]] | None = None,
        retrain: RetrainService | None = None,
        rollouts: RolloutService | None = None,
        silences: SilenceCommands | None = None,
    ) -> None:
        self._rollouts = rollouts
        self.silences = silences  # set by the composition root once the silences exist
        self._retrain = retrain  # models with a retraining: entry; the rest: the playbook
        self._incidents = incidents
        self._schedules = schedules  # with imported overrides; else the configured ones
        self._reports = reports
        self._escalate = escalate
        self._snoozes = snoozes
        self._postmortems = postmortems
        self._playbooks = playbooks
        self._oncall = oncall
        self._clock = clock

    async def run_incident(self, text: str, *, actor: str, markdown: bool = True) -> Reply:
        """Run the text that followed ``/incident``.

        ``markdown``: the reply may use Slack mrkdwn (report tables fenced as code so Slack
        keeps their columns, commands to copy in backticks). A terminal shows those marks
        literally, so the console asks for plain text."""
        command = p.parse_incident(text)
        if isinstance(command, p.ParseError):
            return Reply(f"⚠️ {command.message}\nUsage: {command.usage}", ephemeral=True)
        work = self._dispatch(command, actor, markdown=markdown)
        return await _guarded(work, f"/incident {text.split(' ', 1)[0]}")

    async def run_rollback(self, text: str, *, actor: str) -> Reply:
        """Run the text that followed ``/rollback``: MODEL [VERSION] [--incident N] [--dry-run].

        A refusal (unknown model, no earlier version, unknown incident) comes before any
        step runs: a private reply, and nothing changed anywhere.
        """
        command = parse_rollback(text)
        if isinstance(command, p.ParseError):
            return Reply(f"⚠️ {command.message}\nUsage: {command.usage}", ephemeral=True)
        if isinstance(command, RollbackHelp):
            return Reply(ROLLBACK_HELP, ephemeral=True)
        return await _guarded(
            self._rollback(command, actor), "/rollback", refused=" Nothing changed."
        )

    async def _rollback(self, c: Rollback, actor: str) -> Reply:
        result, plan = await self._playbooks.rollback(
            c.model, c.version, incident_id=c.incident_id, actor=actor, dry_run=c.dry_run
        )
        return remedies.rollback(c, result, plan, actor=actor)

    async def run_rollout(self, text: str, *, actor: str) -> Reply:
        """Run the text that followed ``/rollout``: start, ab, status, abort, help.

        Bad input and refusals (unknown model or version, a rollout already running, no
        stable version to compare with) are a private reply, and nothing starts.
        """
        command = parse_rollout(text)
        if isinstance(command, p.ParseError):
            return Reply(f"⚠️ {command.message}\nUsage: {command.usage}", ephemeral=True)
        if isinstance(command, RolloutHelp):
            return Reply(ROLLOUT_HELP, ephemeral=True)
        if self._rollouts is None:
            return Reply(NO_ROLLOUTS, ephemeral=True)
        work = self._rollout(self._rollouts, command, actor)
        return await _guarded(
            work, f"/rollout {text.split(' ', 1)[0]}", refused=" Nothing changed."
        )

    async def run_silence(self, text: str, *, actor: str) -> Reply:
        """Run the text that followed ``/silence``: a new silence (a preview without
        ``--yes``), list, show, expire, extend, help. A refusal changes nothing."""
        command = parse_silence(text)
        if isinstance(command, p.ParseError):
            return Reply(f"⚠️ {command.message}\nUsage: {command.usage}", ephemeral=True)
        if self.silences is None:
            return Reply(NO_SILENCES, ephemeral=True)
        work = self.silences.run(command, actor)
        return await _guarded(work, "/silence", refused=" Nothing changed.")

    async def _rollout(self, rollouts: RolloutService, c: RolloutCommand, actor: str) -> Reply:
        match c:
            case RolloutStart(model, version, steps, every):
                state = await rollouts.start(model, version, actor=actor, steps=steps, every=every)
                return rollout_replies.started(state)
            case RolloutAB(model, a, b, share, every):
                state = await rollouts.start(
                    model, b, actor=actor, steps=(share,), every=every, mode="ab", baseline=a
                )
                return rollout_replies.started(state)
            case RolloutAbort(model):
                return rollout_replies.aborted(await rollouts.abort(model, actor=actor), actor)
            case RolloutStatus(model):
                return rollout_replies.status(model, await rollouts.status(model))
        raise AssertionError(f"unhandled command {c!r}")

    async def _dispatch(self, c: p.Command, actor: str, *, markdown: bool) -> Reply:
        inc = self._incidents
        match c:
            case p.Help(topic):
                return Reply(spec.help_text(topic), ephemeral=True)
            case p.List(all=include_closed, cursor=cursor):
                page = await inc.page(include_closed=include_closed, cursor=cursor)
                more = _more(c, markdown=markdown)
                text = render.listing(page, include_closed=include_closed, more=more)
                return Reply(text, ephemeral=True)
            case p.Show(n):
                return _private(await inc.get(n))
            case p.New(title, severity, service, model):
                v = await inc.open(
                    title=title, actor=actor, severity=severity, service=service, model=model
                )
                return _public(v, f"opened by {actor}")
            case p.Ack(n):
                return _public(await inc.acknowledge(n, actor=actor), f"acknowledged by {actor}")
            case p.Escalate(n):
                if self._escalate is None:
                    return Reply("Escalation is not available here.", ephemeral=True)
                v = await self._escalate(n, actor=actor)
                return _public(v, f"escalated by {actor}: the next level is paged now")
            case p.Snooze(n, request):
                if self._snoozes is None:
                    return Reply("Snoozing is not available here.", ephemeral=True)
                if request is None:
                    done = await self._snoozes.unsnooze(n, actor=actor)
                else:
                    try:
                        done = await self._snoozes.snooze(n, request, actor=actor)
                    except ValidationError as exc:  # a metric nothing reports, say
                        usage = spec.USAGE["snooze"]
                        return Reply(f"⚠️ {exc.detail}\nUsage: {usage}", ephemeral=True)
                # Public: the channel must know nobody will be paged (or that paging is back).
                return Reply(f"😴 {done.text}", ephemeral=False, incident=done.incident)
            case p.IncidentSilence():
                if self.silences is None:
                    return Reply(NO_SILENCES, ephemeral=True)
                return await self.silences.for_incident(c, actor)
            case p.Sev(n, severity):
                try:
                    v = await inc.set_severity(n, severity, actor=actor)
                except Unchanged as exc:  # not a refusal: the caller alone, without ⚠️
                    return Reply(exc.message, ephemeral=True)
                return _public(v, f"severity set to {v.severity} by {actor}")
            case p.Assign(n, user):
                v = await inc.assign(n, user, actor=actor)
                return _public(v, f"commander is now {user}")
            case p.Note(n, text):
                v = await inc.note(n, text, actor=actor)
                return Reply(f"📝 Note added to #{v.id} by {actor}: {text}", False, v)
            case p.Contain(n, pin=True):
                return remedies.containment(
                    await self._playbooks.contain(n, actor=actor), actor=actor
                )
            case p.Contain(n):
                return _public(await inc.contain(n, actor=actor), f"contained by {actor}")
            case p.Retrain(n):
                if self._retrain is not None and self._retrain.plans:
                    view = await inc.get(n, timeline=False, alerts=False)
                    if view.model is not None and self._retrain.configured(view.model):
                        made = await self._retrain.manual(view.model, n, actor=actor)
                        where = self._retrain.follower.where(view.model)
                        return remedies.retrain_run(view, made, where, actor=actor)
                return remedies.retrain(await self._playbooks.retrain(n, actor=actor), actor=actor)
            case p.Resolve(n, text):
                v = await inc.resolve(n, actor=actor, text=text)
                return _public(v, f"resolved by {actor}")
            case p.Oncall(schedule):
                book = None if self._schedules is None else await self._schedules()
                text = oncall_text(self._oncall, self._clock(), schedule, book)
                return Reply(text, ephemeral=True)
            case p.Report(since):
                return await self._report(since, markdown=markdown)
            case p.Postmortem(n):
                draft = await self._postmortems.draft(n, actor=actor)
                head = f"📝 Post-mortem draft for #{n} written to {draft.path}"
                return Reply(f"{head}\n\n{draft.text}", ephemeral=True, incident=draft.incident)
        raise AssertionError(f"unhandled command {c!r}")

    async def _report(self, since: str, *, markdown: bool) -> Reply:
        """The report, to the caller alone: a lookup, not news for the channel. Tables are
        fenced for Slack (``markdown``) so it keeps their columns, plain on the console; a
        bad period answers with the usage line."""
        if self._reports is None:
            return Reply(NO_REPORTS, ephemeral=True)
        try:
            text = await self._reports.report(since, markdown=markdown)
        except ValidationError as exc:
            return Reply(f"⚠️ {exc.message}\nUsage: {spec.USAGE['report']}", ephemeral=True)
        return Reply(text, ephemeral=True)


async def _guarded(work: Awaitable[Reply], what: str, *, refused: str = "") -> Reply:
    """The reply, or a private refusal; the bot never crashes on what a person types.

    Only the command's name is logged on an internal error: typed text may hold anything.
    """
    try:
        return await work
    except VigilError as exc:
        return Reply(f"⚠️ {exc.message}{refused}", ephemeral=True)
    except Exception:
        log.exception("command failed: %s", what)
        return Reply(INTERNAL_ERROR, ephemeral=True)


def _more(c: p.List, *, markdown: bool) -> Callable[[str], str]:
    """The command that shows the page after a cut list, options kept; in backticks for
    Slack, so it neither formats the cursor nor turns ``--`` into a dash when copied."""
    tick = "`" if markdown else ""
    return lambda cursor: f"{tick}/incident list{' --all' if c.all else ''} --cursor {cursor}{tick}"


def _public(view: IncidentView, what: str) -> Reply:
    return Reply(render.headline(view, what), ephemeral=False, incident=view)


def _private(view: IncidentView) -> Reply:
    return Reply(render.detail(view), ephemeral=True, incident=view)
