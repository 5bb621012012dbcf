"""Who may do what from Slack: only members of the configured responder groups may roll
back, contain, change severity, retrain, start and stop rollouts, or silence alerts; anyone
else gets an ephemeral refusal, and an attempt on an incident is on its timeline.

Apart from the front door (``front.py``) so that one table says which commands are a
responder's, for slash commands and buttons alike.
"""

from __future__ import annotations

import contextlib

from bot.chat.commands import parse as p
from bot.chat.commands.reply import Reply
from bot.chat.commands.rollout import RESPONDERS_ONLY
from bot.chat.commands.silences.parse import SilenceExpire, SilenceExtend, SilenceNew
from bot.chat.slack.settings import SlackSettings
from bot.core.errors import VigilError
from bot.incidents.service import IncidentService

_GUARDED: dict[type, str] = {p.Sev: "change severity", p.Contain: "contain incidents"}
_GUARDED |= {p.Retrain: "retrain models", **RESPONDERS_ONLY}  # /rollout status: anyone's
_SILENCING = (p.IncidentSilence, SilenceNew, SilenceExpire, SilenceExtend)  # list, show: anyone
_GUARDED |= dict.fromkeys(_SILENCING, "silence alerts")


def actor_of(user_id: str) -> str:
    """How a Slack user appears on the timeline: a mention, which Slack renders as a name."""
    return f"<@{user_id}>"


class Guard:
    """The responder check of every command that changes something."""

    def __init__(self, settings: SlackSettings, incidents: IncidentService) -> None:
        self._settings = settings
        self._incidents = incidents

    async def refuse(self, user: str, parsed: object) -> Reply | None:
        """A refusal if ``parsed`` (a parsed command) is a responder's and ``user`` is not."""
        what = next((w for kind, w in _GUARDED.items() if isinstance(parsed, kind)), None)
        if what is None or self._settings.may_respond(user):
            return None
        incident_id = getattr(parsed, "incident_id", None)
        return await self.refusal(user, what, incident_id)

    async def refuse_rollback(self, user: str, incident_id: object) -> Reply | None:
        ok = self._settings.may_respond(user)
        return None if ok else await self.refusal(user, "roll back models", incident_id)

    async def refusal(self, user: str, what: str, incident_id: object) -> Reply:
        groups = ", ".join(sorted(self._settings.responder_groups))
        if isinstance(incident_id, int):
            with contextlib.suppress(VigilError):  # no such incident: the refusal still stands
                await self._incidents.record(
                    incident_id,
                    kind="refused",
                    text=f"{actor_of(user)} tried to {what}; refused (not a responder)",
                    actor=actor_of(user),
                )
        return Reply(
            f"⛔ Only responders ({groups}) may {what}. Nothing changed. Ask one of them, or "
            "add a note with /incident note N TEXT.",
            ephemeral=True,
        )
