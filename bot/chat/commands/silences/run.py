"""Runs ``/silence`` and ``/incident silence N`` against the silence service, and words the
replies.

A new silence is shown before it is made: without ``--yes`` the reply (to the caller alone)
lists the firing alerts it would mute now, until when, and the exact command that creates
it, so nobody hushes more than they meant at 2 a.m. Once made, the channel is told who
silenced what, until when and why, and how to end it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from bot.chat.commands.reply import Reply
from bot.chat.commands.silences.parse import (
    HELP,
    SilenceCommand,
    SilenceExpire,
    SilenceExtend,
    SilenceHelp,
    SilenceList,
    SilenceNew,
    SilenceShow,
)
from bot.chat.commands.types import IncidentSilence
from bot.core.clock import Clock
from bot.core.durations import short_duration, words_rounded
from bot.core.errors import ValidationError
from bot.incidents.service import IncidentService
from bot.silences.matchers import Matcher
from bot.silences.mutes import held_by
from bot.silences.service import SilenceService
from bot.silences.spec import DEFAULT_LENGTH, SilenceSpec, SilenceView, matchers_text, silence_words
from bot.store.tables import Alert

SHOWN = 5  # alerts a preview names


def _alerts_words(alerts: Sequence[Alert]) -> str:
    if not alerts:
        return "no firing alert now (it hushes matching alerts that arrive while it lasts)"
    lines = []
    for a in alerts[:SHOWN]:
        where = f" (incident #{a.incident_id})" if a.incident_id is not None else " (already muted)"
        lines.append(f"  • {a.title}{where}")
    more = f"\n  … and {len(alerts) - SHOWN} more" if len(alerts) > SHOWN else ""
    return f"{len(alerts)} firing alert(s):\n" + "\n".join(lines) + more


class SilenceCommands:
    """The silence commands of chat, on the services."""

    def __init__(
        self,
        silences: SilenceService,
        incidents: IncidentService,
        *,
        group_by: Sequence[str],
        clock: Clock,
    ) -> None:
        self._silences = silences
        self._incidents = incidents
        self._group_by = tuple(group_by)
        self._clock = clock

    async def run(self, command: SilenceCommand, actor: str) -> Reply:
        match command:
            case SilenceHelp():
                return Reply(HELP, ephemeral=True)
            case SilenceNew():
                return await self._new(
                    command.matchers,
                    command.duration,
                    command.comment,
                    command.confirm,
                    actor,
                    incident=None,
                    unused=command.expire_unused,
                    again=f"/silence {command.text}",
                )
            case SilenceList(everything):
                return await self._list(everything)
            case SilenceShow(ref):
                view = await self._silences.get(ref)
                muting = [a for a in await self._silences.firing() if held_by(a.muted_by, view.id)]
                now = self._clock()
                return Reply(
                    f"{silence_words(view, now)}\nMuting now: {_alerts_words(muting)}",
                    ephemeral=True,
                )
            case SilenceExpire(ref):
                view = await self._silences.expire(ref, actor)
                return Reply(
                    f"🔔 Silence {view.short_id} ended by {actor}: {matchers_text(view.matchers)}. "
                    "What it held pages now if it still fires.",
                    ephemeral=False,
                )
            case SilenceExtend(ref, duration):
                return await self._extend(ref, duration, actor)
        raise AssertionError(command)

    async def for_incident(self, c: IncidentSilence, actor: str) -> Reply:
        """The incident's alerts, by the labels that group them into it."""
        incident = await self._incidents.get(c.incident_id, timeline=False)
        if not incident.alerts:
            raise ValidationError(
                "incident",
                f"#{c.incident_id} has no alerts to silence (it was opened by hand); "
                "use /silence with matchers",
            )
        labels = incident.alerts[0].labels
        matchers = []
        for entry in self._group_by:
            names = [n.strip() for n in entry.split("|") if n.strip()]
            name = next((n for n in names if labels.get(n)), None)
            if name is not None:
                matchers.append(Matcher(name, labels[name], is_regex=False, is_equal=True))
        again = f"/incident silence {c.incident_id}"
        if c.duration is not None:
            again += f" {short_duration(c.duration)}"
        return await self._new(
            tuple(matchers),
            c.duration,
            c.comment,
            c.confirm,
            actor,
            incident=c.incident_id,
            unused=None,
            again=again,
        )

    async def _new(
        self,
        matchers: tuple[Matcher, ...],
        duration: timedelta | None,
        comment: str,
        confirm: bool,
        actor: str,
        *,
        incident: int | None,
        unused: timedelta | None,
        again: str,
    ) -> Reply:
        now = self._clock()
        length = duration or DEFAULT_LENGTH
        spec = SilenceSpec(
            matchers=matchers,
            starts_at=now,
            ends_at=now + length,
            created_by=actor,
            comment=comment,
            incident_id=incident,
            expire_on_resolve=incident is not None,
            expire_unused=unused,
        )
        if not confirm:
            self._silences.check(spec)  # the refusals of a real creation, nothing stored
            alerts = await self._silences.preview(matchers)
            create = _with_yes(again, comment)
            return Reply(
                f"🔕 Preview, nothing silenced yet: {matchers_text(matchers)} for "
                f"{words_rounded(length)} would mute {_alerts_words(alerts)}\n"
                f"To create it: {create}",
                ephemeral=True,
                confirm=create,
            )
        view = await self._silences.create(spec)
        alerts = await self._silences.preview(matchers)
        return Reply(_created(view, len(alerts), now_words=words_rounded(length)), ephemeral=False)

    async def _list(self, everything: bool) -> Reply:
        views = await self._silences.listed(include_expired=everything)
        now = self._clock()
        if not views:
            return Reply(
                "No silences" + ("" if everything else " active or pending") + ".", ephemeral=True
            )
        return Reply("\n".join(silence_words(v, now) for v in views[:50]), ephemeral=True)

    async def _extend(self, ref: str, duration: timedelta, actor: str) -> Reply:
        view = await self._silences.get(ref)
        now = self._clock()
        spec = SilenceSpec(
            matchers=view.matchers,
            starts_at=view.starts_at,
            ends_at=now + duration,
            created_by=view.created_by,
            comment=view.comment,
            incident_id=view.incident_id,
            expire_on_resolve=view.expire_on_resolve,
            expire_unused=view.expire_unused,
        )
        view = await self._silences.create(spec, sid=view.id)
        return Reply(
            f"🔕 Silence {view.short_id} extended by {actor}: now ends in "
            f"{words_rounded(duration)}. ({silence_words(view, now)})",
            ephemeral=False,
        )


def _with_yes(again: str, comment: str) -> str:
    tail = f" -- {comment}" if comment else ""
    head = again.split(" -- ", 1)[0].strip()
    return f"{head} --yes{tail}" if "--yes" not in head else f"{head}{tail}"


def _created(view: SilenceView, muting: int, *, now_words: str) -> str:
    why = f" Why: {view.comment}." if view.comment.strip() else ""
    incident = f" for #{view.incident_id}" if view.incident_id is not None else ""
    return (
        f"🔕 {view.created_by} silenced {matchers_text(view.matchers)}{incident} for "
        f"{now_words}, until {view.ends_at:%H:%M} UTC: {muting} firing alert(s) muted now; "
        "matching alerts open no incident and page nobody until then (they are stored, and "
        f"page at the end if they still fire).{why} End it early: /silence expire {view.short_id}"
    )
