"""SLA clocks: when an incident must be acknowledged and resolved, and the words when it is not.

Pure: the timestamps and ``now`` come in, the due times, states, reminder times and chat text
go out, so the SLA timer, the report and the tests share one definition. Defaults are the
product's, overridable per severity in ``vigil.yaml`` (parsed by :mod:`bot.oncall.sla.config`)::

    sla:
      P1: {acknowledge: 5m, resolve: 4h, remind_every: 30m}
      P2: {acknowledge: 15m, resolve: 24h, remind_every: 2h}
      P3: {acknowledge: 4h, resolve: 3d, remind_every: 1d}
      P4: {acknowledge: 1bd, resolve: 2w, remind_every: 1w}   # 1bd = one business day
      warn_at: ["50%", "80%"]      # reminders before each breach; also "15m before"; [] = none

Decisions, each for a reason:

- Every clock starts when the incident opened; "3d" and "2w" are elapsed time.
- ``Nbd`` counts business days: the clock runs only on working days of ``working_hours``
  (days, tz, holidays; whole local days, not just the hours), in local wall-clock time, so
  Fri 16:00 + 1bd = Mon 16:00 even across a DST change, and Sat 10:00 + 1bd = Tue 00:00.
- Resolved (or contained) without an ack counts as acknowledged at that moment: acting on
  it means someone saw it, which is what ``IncidentService`` records too. An ack stamped
  before the opening (clock skew, imports) counts as at the opening, never negative.
- A target is *met* when done at or before ``due``; *breached* when done later, or still not
  done at ``due`` (the due instant belongs to the breach, so a timer set for ``due`` sees
  it); *pending* otherwise.
- Reminders before a breach default to 50 % and 80 % of each target: proportional, so a
  P1's 5 min gets them at 2 min 30 s and 4 min and a P4's two weeks at 7 and 11.2 days.
  Only the latest missed reminder is sent (after downtime one message, not a burst), none
  once the target is met or breached.
- An acknowledged incident left unresolved is reminded every ``remind_every`` after the
  ack (``off`` disables); elapsed time, not business time, on the view that an
  acknowledged P3 still open on Saturday is worth a line.
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from types import MappingProxyType
from typing import Literal

from bot.core.durations import words_rounded
from bot.incidents.response import effective_ack
from bot.oncall.calendar import WorkingHours, add_business_time

Which = Literal["acknowledge", "resolve"]
TargetState = Literal["met", "breached", "pending"]
_MIN = timedelta(minutes=1)


@dataclass(frozen=True)
class BusinessDays:
    """A target counted in business days (``1bd``) rather than elapsed time."""

    days: int

    def __str__(self) -> str:
        return f"{self.days} business day{'s' if self.days != 1 else ''}"


Span = timedelta | BusinessDays


@dataclass(frozen=True)
class SlaTarget:
    acknowledge: Span
    resolve: Span
    remind_every: timedelta | None  # acknowledged but unresolved: remind this often


@dataclass(frozen=True)
class WarnPoint:
    """A reminder before a breach: at ``fraction`` of the target elapsed, or ``before`` due."""

    fraction: float | None = None
    before: timedelta | None = None


DEFAULT_TARGETS: Mapping[str, SlaTarget] = MappingProxyType(
    {
        "P1": SlaTarget(timedelta(minutes=5), timedelta(hours=4), timedelta(minutes=30)),
        "P2": SlaTarget(timedelta(minutes=15), timedelta(hours=24), timedelta(hours=2)),
        "P3": SlaTarget(timedelta(hours=4), timedelta(days=3), timedelta(days=1)),
        "P4": SlaTarget(BusinessDays(1), timedelta(weeks=2), timedelta(weeks=1)),
    }
)
DEFAULT_WARN_AT: tuple[WarnPoint, ...] = (WarnPoint(fraction=0.5), WarnPoint(fraction=0.8))


@dataclass(frozen=True)
class SlaSettings:
    targets: Mapping[str, SlaTarget] = field(default_factory=lambda: DEFAULT_TARGETS)
    warn_at: tuple[WarnPoint, ...] = DEFAULT_WARN_AT
    calendar: WorkingHours = field(default_factory=WorkingHours)


DEFAULT_SLA = SlaSettings()


@dataclass(frozen=True)
class TargetClock:
    """One target of one incident: ``done_at`` is the effective ack (or resolve) time."""

    which: Which
    target: Span
    due: datetime
    done_at: datetime | None
    state: TargetState
    reminders: tuple[datetime, ...]


@dataclass(frozen=True)
class SlaClock:
    severity: str
    opened_at: datetime
    now: datetime
    acknowledge: TargetClock
    resolve: TargetClock

    @property
    def targets(self) -> tuple[TargetClock, TargetClock]:
        return (self.acknowledge, self.resolve)


def due_at(opened_at: datetime, span: Span, calendar: WorkingHours, share: float = 1.0) -> datetime:
    """When ``share`` of the target ``span`` has run out, counted from ``opened_at``."""
    if isinstance(span, BusinessDays):
        return add_business_time(opened_at, timedelta(days=span.days) * share, calendar)
    return opened_at + span * share


def sla_clock(
    severity: str,
    opened_at: datetime,
    acknowledged_at: datetime | None,
    resolved_at: datetime | None,
    now: datetime,
    *,
    contained_at: datetime | None = None,
    settings: SlaSettings = DEFAULT_SLA,
) -> SlaClock:
    """Due times, state and reminder times of both targets at ``now``; ValueError for an
    unknown severity (classification only makes P1-P4)."""
    # In UTC: arithmetic between two datetimes of one non-UTC zone is wall-clock in Python.
    opened_at, now = opened_at.astimezone(UTC), now.astimezone(UTC)
    acknowledged_at, resolved_at, contained_at = (
        None if t is None else t.astimezone(UTC)
        for t in (acknowledged_at, resolved_at, contained_at)
    )
    sev = severity.upper()
    if sev not in settings.targets:
        raise ValueError(f"no SLA for severity {severity!r}")
    target = settings.targets[sev]
    acked = effective_ack(opened_at, acknowledged_at, resolved_at, contained_at)
    resolved = None if resolved_at is None else max(resolved_at, opened_at)
    return SlaClock(
        sev,
        opened_at,
        now,
        _target("acknowledge", target.acknowledge, acked, opened_at, now, settings),
        _target("resolve", target.resolve, resolved, opened_at, now, settings),
    )


def _target(
    which: Which,
    span: Span,
    done: datetime | None,
    opened_at: datetime,
    now: datetime,
    settings: SlaSettings,
) -> TargetClock:
    due = due_at(opened_at, span, settings.calendar)
    if done is not None and done <= due:
        state: TargetState = "met"
    elif done is not None or now >= due:
        state = "breached"
    else:
        state = "pending"
    reminders = {
        due_at(opened_at, span, settings.calendar, w.fraction)
        if w.fraction is not None
        else due - (w.before or timedelta())
        for w in settings.warn_at
    }
    kept = tuple(sorted(r for r in reminders if opened_at < r < due))
    return TargetClock(which, span, due, done, state, kept)


@dataclass(frozen=True)
class SlaEvent:
    """Something to say in the channel and record on the timeline. ``key`` is stable: record
    it with the event and pass the recorded keys back, so nothing is said twice."""

    kind: Literal["reminder", "breach"]
    which: Which
    at: datetime
    key: str


def due_events(clock: SlaClock, announced: AbstractSet[str] = frozenset()) -> tuple[SlaEvent, ...]:
    """What should be said at ``clock.now`` and has not been: each breach once (also a late
    ack or resolve found after downtime), and for a pending target its latest reminder."""
    events: list[SlaEvent] = []
    for t in clock.targets:
        if t.state == "breached":
            event = SlaEvent("breach", t.which, t.due, f"{t.which}:breach")
        elif t.state == "pending" and any(r <= clock.now for r in t.reminders):
            number = sum(r <= clock.now for r in t.reminders)
            at = t.reminders[number - 1]
            event = SlaEvent("reminder", t.which, at, f"{t.which}:reminder:{number}")
        else:
            continue
        if event.key not in announced:
            events.append(event)
    return tuple(events)


def next_check(clock: SlaClock) -> datetime | None:
    """When to look again: the next reminder or due time of a pending target (None: never)."""
    times = [
        at
        for t in clock.targets
        if t.state == "pending"
        for at in (*t.reminders, t.due)
        if at > clock.now
    ]
    return min(times, default=None)


def sla_text(
    event: SlaEvent, clock: SlaClock, *, incident_id: int, title: str, tz: tzinfo = UTC
) -> str:
    """The channel line, first what and how late, then what to do::

    P1 #12 fraud-scorer: acknowledge SLA breached 2 min ago (due 02:05 UTC, 5 min after it
    opened); nobody has acknowledged. /incident ack 12
    """
    t = clock.acknowledge if event.which == "acknowledge" else clock.resolve
    head = f"{clock.severity} #{incident_id} {title}: {event.which} SLA"
    due = f"{_at(t.due, clock.now, tz)}, {_span(t.target)} after it opened"
    if event.kind == "reminder":
        head += f" due in {words_rounded(t.due - clock.now)} ({due})"
    elif t.done_at is None:
        head += f" breached {_ago(clock.now - t.due)} (due {due})"
    else:
        late = words_rounded(t.done_at - t.due)
        done = "acknowledged" if event.which == "acknowledge" else "resolved"
        return (
            f"{head} breached (due {due}): {done} {late} late, at {_at(t.done_at, clock.now, tz)}."
        )
    acked = clock.acknowledge.done_at
    if acked is None:
        nobody = "nobody has acknowledged" + (" yet" if event.kind == "reminder" else "")
        return f"{head}; {nobody}. /incident ack {incident_id}"
    return (
        f"{head}; still open (acknowledged {_at(acked, clock.now, tz)}). "
        f"/incident resolve {incident_id} once it is fixed"
    )


@dataclass(frozen=True)
class UnresolvedReminders:
    """``count``: reminders come due by now (send one if more than were sent); ``next_at``:
    when the next one is due (None: resolved, not acknowledged, or reminders off)."""

    count: int
    next_at: datetime | None


def unresolved_reminders(
    acknowledged_at: datetime | None,
    resolved_at: datetime | None,
    now: datetime,
    every: timedelta | None,
) -> UnresolvedReminders:
    """Reminders at ack + every, ack + 2·every, … while the incident stays unresolved."""
    if acknowledged_at is None or resolved_at is not None or not every:
        return UnresolvedReminders(0, None)
    count = max((now - acknowledged_at) // every, 0)
    return UnresolvedReminders(count, acknowledged_at + (count + 1) * every)


def unresolved_text(clock: SlaClock, *, incident_id: int, title: str, tz: tzinfo = UTC) -> str:
    """``P2 #7 search-ranker: acknowledged 3 h ago and still open. …``"""
    acked = clock.acknowledge.done_at
    since = f"acknowledged {_ago(clock.now - acked)}" if acked else "not acknowledged"
    resolve = clock.resolve
    when = (
        f"resolve SLA due {_at(resolve.due, clock.now, tz)}"
        if resolve.state == "pending"
        else f"resolve SLA breached {_ago(clock.now - resolve.due)}"
    )
    return (
        f"{clock.severity} #{incident_id} {title}: {since} and still open ({when}). "
        f"/incident contain {incident_id} once users are safe, /incident resolve {incident_id} "
        "when fixed"
    )


def _ago(delta: timedelta) -> str:
    return "just now" if delta < _MIN else f"{words_rounded(delta)} ago"


def _span(span: Span) -> str:
    return str(span) if isinstance(span, BusinessDays) else words_rounded(span)


def _at(at: datetime, now: datetime, tz: tzinfo) -> str:
    """``02:05 UTC`` today, ``Mon 24 Nov 09:00 CET`` another day (both read in ``tz``)."""
    local, today = at.astimezone(tz), now.astimezone(tz)
    return f"{local:%H:%M %Z}" if local.date() == today.date() else f"{local:%a %d %b %H:%M %Z}"
