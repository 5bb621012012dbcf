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


def format_duration(d: timedelta | None) -> str:
    """A duration as a person reads it, in its two largest units, rounded down to seconds.

    ``42 s``, ``4 min 12 s``, ``4 min``, ``2 h 05 min``, ``2 h``, ``1 d 3 h``, ``1 d``;
    ``None`` is ``—`` (did not happen). Minutes after hours are zero-padded so a column of
    durations lines up; a negative duration keeps its sign rather than hiding a clock problem.
    """
    if d is None:
        return "—"
    if d < timedelta(0):
        return "-" + format_duration(-d)
    total = int(d.total_seconds())
    days, rest = divmod(total, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes:02d} min" if minutes else f"{hours} h"
    if minutes:
        return f"{minutes} min {seconds} s" if seconds else f"{minutes} min"
    return f"{seconds} s"


def needs_postmortem(view: IncidentView) -> bool:
    """True for the severities that promise a written review (P1, P2), whatever the state."""
    return view.severity in NEEDS_POSTMORTEM
