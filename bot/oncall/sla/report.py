"""The on-call report: MTTA, MTTR and SLA compliance per severity, pages per person, noise.

``vigil report --since 30d`` and ``/incident report [7d]`` read plain records from the
database (:mod:`bot.oncall.sla.report_service`) and hand them here; this module only counts, so the
numbers are tested by hand-computable cases, and :mod:`bot.oncall.sla.report_text` words them.
The definitions, each chosen so a figure cannot flatter:

- An incident counts in the period when it *opened* in ``[start, end)``; every figure is as
  of ``end``, so anything stamped after ``end`` has not happened yet.
- MTTA: opened → acknowledged, where resolving or containing without an ack counts as the
  ack (``bot.incidents.response.effective_ack``, which post-mortems read too) and an ack
  stamped before the opening counts as zero. MTTR: opened → resolved; incidents still
  open are left out of MTTR and shown as *open*.
- SLA compliance per target: met / (met + breached). A pending target (still open, not yet
  due) is left out; an open incident past its due time counts as breached.
- Pages per person: pages sent in the period, and how many fell outside working hours.
- Noisiest alerts: by alerts received (each alert's repeat count included) and by incidents
  *opened* (the alert seen first in an incident opened it).
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.incidents.response import effective_ack
from bot.oncall.calendar import WorkingHours
from bot.oncall.paging.routing import SEVERITIES
from bot.oncall.sla.clocks import DEFAULT_SLA, SlaSettings, sla_clock


@dataclass(frozen=True)
class IncidentRecord:
    id: int
    severity: str
    opened_at: datetime
    acknowledged_at: datetime | None = None
    resolved_at: datetime | None = None
    contained_at: datetime | None = None


@dataclass(frozen=True)
class PageRecord:
    incident_id: int
    person: str
    at: datetime


@dataclass(frozen=True)
class AlertRecord:
    """One alert row: ``count`` times received, first seen ``at``, joined to an incident."""

    alertname: str
    at: datetime
    count: int = 1
    incident_id: int | None = None


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime
    label: str  # "Last 30 days", "Since 2026-11-01"


@dataclass(frozen=True)
class Stat:
    """Mean and median of ``n`` durations (None when n is 0)."""

    n: int
    mean: timedelta | None
    median: timedelta | None

    @classmethod
    def of(cls, values: Sequence[timedelta]) -> Stat:
        if not values:
            return cls(0, None, None)
        seconds = [v.total_seconds() for v in values]
        return cls(
            len(values),
            timedelta(seconds=statistics.fmean(seconds)),
            timedelta(seconds=statistics.median(seconds)),
        )


@dataclass(frozen=True)
class Compliance:
    met: int = 0
    breached: int = 0

    @property
    def decided(self) -> int:
        return self.met + self.breached

    @property
    def percent(self) -> float | None:
        return 100 * self.met / self.decided if self.decided else None

    def __add__(self, other: Compliance) -> Compliance:
        return Compliance(self.met + other.met, self.breached + other.breached)


@dataclass(frozen=True)
class SeverityStats:
    severity: str
    incidents: int
    open: int
    mtta: Stat
    mttr: Stat
    ack_sla: Compliance
    resolve_sla: Compliance


@dataclass(frozen=True)
class PersonPages:
    person: str
    pages: int
    out_of_hours: int
    incidents: int


@dataclass(frozen=True)
class AlertNoise:
    alertname: str
    alerts: int
    incidents: int  # incidents it took part in
    opened: int  # incidents it opened


@dataclass(frozen=True)
class Report:
    period: Period
    incidents: int
    open: int
    mtta: Stat
    mttr: Stat
    sla: Compliance  # both targets together, for the headline
    by_severity: tuple[SeverityStats, ...]
    pages: tuple[PersonPages, ...]
    noisiest_by_alerts: tuple[AlertNoise, ...]
    noisiest_by_opened: tuple[AlertNoise, ...]


def build_report(
    period: Period,
    incidents: Iterable[IncidentRecord],
    pages: Iterable[PageRecord] = (),
    alerts: Iterable[AlertRecord] = (),
    *,
    sla: SlaSettings = DEFAULT_SLA,
    working_hours: WorkingHours | None = None,
    top: int = 5,
) -> Report:
    """Count everything for ``period`` (see the module docstring for each definition)."""
    start, end = period.start, period.end
    hours = working_hours or sla.calendar
    chosen = [
        i for i in incidents if start <= i.opened_at < end and i.severity.upper() in SEVERITIES
    ]
    rows = [
        _severity_stats(sev, [i for i in chosen if i.severity.upper() == sev], end, sla)
        for sev in SEVERITIES
    ]
    all_acks = [_ack(i, end) for i in chosen]
    all_resolves = [_resolve(i, end) for i in chosen]
    noise = _noise([a for a in alerts if start <= a.at < end])
    by_opened = sorted(
        (n for n in noise if n.opened), key=lambda n: (-n.opened, -n.alerts, n.alertname)
    )
    return Report(
        period=period,
        incidents=len(chosen),
        open=sum(r.open for r in rows),
        mtta=Stat.of([d for d in all_acks if d is not None]),
        mttr=Stat.of([d for d in all_resolves if d is not None]),
        sla=sum((r.ack_sla + r.resolve_sla for r in rows), Compliance()),
        by_severity=tuple(r for r in rows if r.incidents),
        pages=_pages([p for p in pages if start <= p.at < end], hours),
        noisiest_by_alerts=noise[:top],
        noisiest_by_opened=tuple(by_opened[:top]),
    )


def _ack(i: IncidentRecord, end: datetime) -> timedelta | None:
    at = effective_ack(
        i.opened_at, *(_by(t, end) for t in (i.acknowledged_at, i.resolved_at, i.contained_at))
    )
    return None if at is None else _minus(at, i.opened_at)


def _resolve(i: IncidentRecord, end: datetime) -> timedelta | None:
    at = _by(i.resolved_at, end)
    return None if at is None else max(_minus(at, i.opened_at), timedelta())


def _minus(later: datetime, earlier: datetime) -> timedelta:
    """Real elapsed time: two datetimes of one non-UTC zone subtract as wall-clock in Python."""
    return later.astimezone(UTC) - earlier.astimezone(UTC)


def _by(at: datetime | None, end: datetime) -> datetime | None:
    return at if at is not None and at <= end else None


def _severity_stats(
    sev: str, chosen: list[IncidentRecord], end: datetime, sla: SlaSettings
) -> SeverityStats:
    ack_sla, resolve_sla = Compliance(), Compliance()
    for i in chosen:
        clock = sla_clock(
            sev,
            i.opened_at,
            _by(i.acknowledged_at, end),
            _by(i.resolved_at, end),
            end,
            contained_at=_by(i.contained_at, end),
            settings=sla,
        )
        ack_sla += Compliance(
            clock.acknowledge.state == "met", clock.acknowledge.state == "breached"
        )
        resolve_sla += Compliance(clock.resolve.state == "met", clock.resolve.state == "breached")
    acks = [_ack(i, end) for i in chosen]
    resolves = [_resolve(i, end) for i in chosen]
    return SeverityStats(
        sev,
        len(chosen),
        sum(r is None for r in resolves),
        Stat.of([d for d in acks if d is not None]),
        Stat.of([d for d in resolves if d is not None]),
        ack_sla,
        resolve_sla,
    )


def _pages(pages: list[PageRecord], hours: WorkingHours) -> tuple[PersonPages, ...]:
    count: Counter[str] = Counter()
    late: Counter[str] = Counter()
    incidents: defaultdict[str, set[int]] = defaultdict(set)
    for p in pages:
        count[p.person] += 1
        late[p.person] += not hours.contains(p.at)
        incidents[p.person].add(p.incident_id)
    rows = [PersonPages(who, n, late[who], len(incidents[who])) for who, n in count.items()]
    return tuple(sorted(rows, key=lambda r: (-r.pages, r.person)))


def _noise(alerts: list[AlertRecord]) -> tuple[AlertNoise, ...]:
    received: Counter[str] = Counter()
    joined: defaultdict[str, set[int]] = defaultdict(set)
    first: dict[int, AlertRecord] = {}
    for a in alerts:
        received[a.alertname] += a.count
        if a.incident_id is not None:
            joined[a.alertname].add(a.incident_id)
            seen = first.get(a.incident_id)
            if seen is None or (a.at, a.alertname) < (seen.at, seen.alertname):
                first[a.incident_id] = a
    opened = Counter(a.alertname for a in first.values())
    rows = [AlertNoise(name, n, len(joined[name]), opened[name]) for name, n in received.items()]
    return tuple(sorted(rows, key=lambda r: (-r.alerts, -r.opened, r.alertname)))
