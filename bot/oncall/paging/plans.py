"""The plan of one incident's paging, as pure data: what a timer needs to page the next step.

A plan is (incident, policy name, severity, start time, first step number). It travels in
the durable ``escalate`` timer's payload and in the timeline entry that started the paging,
so a timer run after a restart, or on the other replica, pages by the same plan, and the
Escalate button finds it on the timeline. The page's own wording lives here too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.incidents.severity import mark
from bot.incidents.views import IncidentView
from bot.oncall.paging.escalation import PageStep

TIMER_KIND = "escalate"


def labels(view: IncidentView) -> dict[str, str | None]:
    return {"service": view.service, "model": view.model}


def current_plan(view: IncidentView) -> Plan | None:
    """The plan of the latest entry that started paging (or an Escalate) on the timeline."""
    for event in reversed(view.timeline):
        if event.kind == "escalation" and "policy" in event.data:
            return Plan.of({"incident": view.id, **event.data})
    return None


def owned_by(view: IncidentView) -> str | None:
    """Who moved the incident to its present state (who acked or contained it), from the
    timeline; None when the timeline does not say."""
    for event in reversed(view.timeline):
        if event.kind == "state" and event.data.get("to") == view.state:
            return event.actor
    return None


def timer_key(incident_id: int) -> str:
    """The one escalation timer of an incident (the trailing colon keeps #1 apart from #12)."""
    return f"incident:{incident_id}:escalate"


def page_text(view: IncidentView, step: PageStep, next_at: datetime | None, after: str) -> str:
    """The page, first line first: what, how bad, what to do, and what happens if nobody does."""
    head = (
        f"{mark(view.severity)} {view.severity} #{view.id} {view.title} — you are paged "
        f"(level {step.level}). Acknowledge: /incident ack {view.id}"
    )
    if next_at is not None and after:
        head += f"; otherwise {after} is paged at {next_at.strftime('%H:%M')}Z"
    return f"{head}\nWhy: {view.severity_reason}"


def page_entry(person: str, step: PageStep, chats: Sequence[str], notify: Sequence[str]) -> str:
    """The timeline's line for one page, saying how far it really went.

    It once said "paged @sam … via console" while the log said "@sam was not paged": the
    console only shows the page to whoever watches that terminal. So: a chat backend that
    reaches the person (Slack's DM) is "via slack"; the console alone, with no ``notify:``
    channel, says so; ``notify:`` channels alone are "paging … through" (their own line
    follows with the outcome); with nothing at all the line says nobody was reached and
    what to set up."""
    where = f"{person} (level {step.level}, round {step.round})"
    if list(chats) == ["console"] and not notify:
        return (
            f"Paged {where} on this console only: no notify: channel (PagerDuty, e-mail, "
            "webhook) reaches them anywhere else"
        )
    if chats:
        return f"Paged {where} via {', '.join(chats)}"
    if notify:
        return f"Paging {where} through {', '.join(notify)}"
    return (
        f"{person} was NOT paged (level {step.level}, round {step.round}): no chat backend is "
        "connected and no notify: channel is configured; set up slack: or notify: in vigil.yaml"
    )


@dataclass(frozen=True)
class Plan:
    """One run of a policy for one incident: what a timer needs to page the next step."""

    incident: int
    policy: str
    severity: str
    started: datetime
    base: int = 0  # the step number of this plan's first page (a re-page continues numbering)

    def payload(self) -> dict[str, Any]:
        return {
            "incident": self.incident,
            "policy": self.policy,
            "severity": self.severity,
            "started": self.started.isoformat(),
            "base": self.base,
        }

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> Plan | None:
        """From a timer payload or the entry that started paging; None for an older entry that
        carries no policy name (written before routing, by the single ``escalation:``)."""
        if "policy" not in data:
            return None
        return cls(
            int(data["incident"]),
            str(data["policy"]),
            str(data["severity"]),
            datetime.fromisoformat(str(data["started"])),
            int(data.get("base", 0)),
        )
