"""Re-classifying an incident after its alerts changed: the severity only ever rises.

A new incident takes the policy's verdict. An open one is raised when the policy says worse
and the severity is the policy's; a severity a person set is kept, and the policy's
disagreement is written on the timeline once per verdict. Nothing is above P1, so a P1 is
never classified again (a storm's repeats cost nothing here).
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.incidents import store
from bot.incidents.policy.classify import Classification, classify
from bot.incidents.settings import IncidentSettings
from bot.incidents.severity import SEVERITIES
from bot.store.tables import Incident, TimelineEvent


async def reclassify(
    s: AsyncSession, incident: Incident, settings: IncidentSettings, now: datetime, *, new: bool
) -> bool:
    """Re-classify over every alert of the incident; True when the severity rose."""
    assert incident.id is not None
    if not new and incident.severity == SEVERITIES[0]:
        return False  # nothing is above P1: the policy can neither raise it nor disagree
    signals = await store.firing_signals(
        session=s,
        incident_id=incident.id,
        models=settings.models,
        services=settings.services,
    )
    verdict = classify(signals, settings.policy)
    if new:
        _adopt(s, incident, verdict, now, verdict.reason, {"severity": verdict.severity})
        return False
    if _rank(verdict.severity) >= _rank(incident.severity):
        return False
    if incident.severity_source == "policy":
        before = incident.severity
        text = f"Severity raised {before} → {verdict.reason}"
        _adopt(s, incident, verdict, now, text, {"from": before, "to": verdict.severity})
        return True
    last = (
        await s.exec(
            select(TimelineEvent)
            .where(
                col(TimelineEvent.incident_id) == incident.id,
                col(TimelineEvent.kind) == "policy",
            )
            .order_by(col(TimelineEvent.id).desc())
        )
    ).first()
    if last is None or last.data.get("severity") != verdict.severity:
        store.add_event(
            session=s,
            incident=incident,
            at=now,
            kind="policy",
            actor="vigil",
            text=(
                f"The policy now says {verdict.reason}; keeping {incident.severity} set "
                f"by a person (/incident sev {incident.id} {verdict.severity} to agree)"
            ),
            data={"severity": verdict.severity, "rule": verdict.rule},
        )
    return False


def _adopt(
    s: AsyncSession,
    incident: Incident,
    verdict: Classification,
    now: datetime,
    text: str,
    data: dict[str, object],
) -> None:
    """Take the policy's severity, its "Why" and, when the story joins several kinds of
    signal (``Classification.headline``), its title: set together so the title and the Why
    agree and the title does not change with every new value; and say so on the timeline."""
    incident.severity, incident.severity_reason = verdict.severity, verdict.reason
    if verdict.headline is not None:
        incident.title = verdict.headline[:300]
    store.add_event(
        session=s,
        incident=incident,
        at=now,
        kind="severity",
        actor="vigil",
        text=text,
        data={**data, "source": "policy", "rule": verdict.rule},
    )


def _rank(severity: str) -> int:
    return SEVERITIES.index(severity) if severity in SEVERITIES else len(SEVERITIES)
