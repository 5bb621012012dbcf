"""Response-time maths for one incident: MTTA, time to contain, MTTR and detection delay.

Kept apart from the Jinja rendering so reports over many incidents (later) and the draft
share one definition of each figure, and so the arithmetic is tested without templates.
Pure: only the incident view goes in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.incidents.response import effective_ack
from bot.incidents.views import IncidentView

#: Severities whose incidents must get a post-mortem (the product promise: every P1 and P2).
NEEDS_POSTMORTEM: frozenset[str] = frozenset({"P1", "P2"})


@dataclass(frozen=True)
class Timings:
    """How fast we reacted, each figure measured from the moment the incident opened.

    ``None`` means "did not happen" (never acknowledged, never contained, still open, no
    alert), which a draft shows as "—" rather than as a misleading zero.
    """

    time_to_acknowledge: timedelta | None
    time_to_contain: timedelta | None
    time_to_resolve: timedelta | None
    #: Earliest alert ``starts_at`` → incident opened: how long the problem existed before
    #: Vigil noticed. Never negative: an alert that started after the incident opened (clock
    #: skew, or a person opened it first) shows no measurable delay.
    detected_after: timedelta | None


def _between(start: datetime, end: datetime | None) -> timedelta | None:
    if end is None:
        return None
    return max(end - start, timedelta(0))


def timings(view: IncidentView) -> Timings:
    """Compute the response times of one incident from its timestamps and alerts."""
    first_alert = min((a.starts_at for a in view.alerts), default=None)
    return Timings(
        time_to_acknowledge=_between(
            view.created_at,
            effective_ack(
                view.created_at, view.acknowledged_at, view.resolved_at, view.contained_at
            ),
        ),
        time_to_contain=_between(view.created_at, view.contained_at),
        time_to_resolve=_between(view.created_at, view.resolved_at),
        detected_after=(
            None if first_alert is None else max(view.created_at - first_alert, timedelta(0))
        ),
    )


def needs_postmortem(view: IncidentView) -> bool:
    """True for the severities that promise a written review (P1, P2), whatever the state."""
    return view.severity in NEEDS_POSTMORTEM
