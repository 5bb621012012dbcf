"""The on-call report: MTTA, MTTR and SLA compliance per severity, pages per person, noise.

``vigil report --since 30d`` and ``/incident report [7d]`` read plain records from the
database and hand them here; this module only counts and words, so the numbers are tested
by hand-computable cases. The definitions, each chosen so a figure cannot flatter:

- An incident counts in the period when it *opened* in ``[start, end)``; every figure is as
  of ``end``, so anything stamped after ``end`` has not happened yet.
- MTTA: opened → acknowledged, where resolving or containing without an ack counts as the
  ack (``sla.effective_ack``) and an ack stamped before the opening counts as zero. MTTR:
  opened → resolved; incidents still open are left out of MTTR and shown as *open*.
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
from datetime import UTC, date, datetime, timedelta, tzinfo

from bot.errors import ValidationError
from bot.oncall.calendar import WorkingHours
from bot.oncall.escalation import parse_duration
from bot.oncall.routing import SEVERITIES
from bot.oncall.sla import DEFAULT_SLA, SlaSettings, effective_ack, sla_clock


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


# -- words ------------------------------------------------------------------------------


def short(d: timedelta | None) -> str:
    """Compact, for tables and the headline: ``45s``, ``4m``, ``2h10m``, ``3d4h``, ``—``."""
    if d is None:
        return "—"
    total = int(d.total_seconds())
    days, rest = divmod(total, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{days}d{hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h{minutes:02d}m" if minutes else f"{hours}h"
    return f"{minutes}m" if minutes else f"{seconds}s"


def _mean_median(stat: Stat) -> str:
    return f"{short(stat.mean)} ({short(stat.median)})" if stat.n else "—"


def _of(c: Compliance) -> str:
    return f"{_pct(c)} of {c.decided}" if c.decided else "—"


def _pct(c: Compliance) -> str:
    return "—" if c.percent is None else f"{c.percent:.0f} %"


def headline(report: Report) -> str:
    """The first line, the one people read::

    Last 30 days: 14 incidents (2 P1, 5 P2, 4 P3, 3 P4), MTTA 4m, MTTR 2h10m, SLA met 93 %
    """
    label = report.period.label
    if not report.incidents:
        return f"{label}: no incidents."
    plural = "s" if report.incidents != 1 else ""
    split = ", ".join(f"{r.incidents} {r.severity}" for r in report.by_severity)
    still = f"; {report.open} open" if report.open else ""
    return (
        f"{label}: {report.incidents} incident{plural} ({split}{still}), MTTA "
        f"{short(report.mtta.mean)}, MTTR {short(report.mttr.mean)}, SLA met {_pct(report.sla)}"
    )


def render_report(report: Report, *, markdown: bool = False) -> str:
    """Headline first, then short aligned tables (fenced as code for Slack with ``markdown``)."""
    blocks: list[list[list[str]]] = []
    if report.by_severity:
        rows = [
            ["Sev", "Incidents", "Open", "MTTA (median)", "MTTR (median)", "Ack SLA", "Resolve SLA"]
        ]
        rows += [
            [
                s.severity,
                str(s.incidents),
                str(s.open),
                _mean_median(s.mtta),
                _mean_median(s.mttr),
                _of(s.ack_sla),
                _of(s.resolve_sla),
            ]
            for s in report.by_severity
        ]
        blocks.append(rows)
    if report.pages:
        rows = [["Paged", "Pages", "Out of hours", "Incidents"]]
        rows += [
            [p.person, str(p.pages), str(p.out_of_hours), str(p.incidents)] for p in report.pages
        ]
        blocks.append(rows)
    if report.noisiest_by_alerts:
        rows = [["Noisiest alerts", "Alerts", "Incidents", "Opened"]]
        rows += [
            [a.alertname, str(a.alerts), str(a.incidents), str(a.opened)]
            for a in report.noisiest_by_alerts
        ]
        blocks.append(rows)
    parts = [headline(report)]
    for rows in blocks:
        table = _table(rows)
        parts.append(f"```\n{table}\n```" if markdown else table)
    by_alerts = [a.alertname for a in report.noisiest_by_alerts if a.opened]
    by_opened = [a.alertname for a in report.noisiest_by_opened]
    if by_opened and by_opened != by_alerts[: len(by_opened)]:
        most = ", ".join(f"{a.alertname} {a.opened}" for a in report.noisiest_by_opened)
        parts.append(f"Opened the most incidents: {most}")
    return "\n\n".join(parts)


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows
    )


def parse_since(text: str, now: datetime, *, tz: tzinfo = UTC) -> Period:
    """``30d``, ``7d``, ``24h``, ``2w`` back from ``now``, or a date / date-time (local in
    ``tz`` unless it says its offset) up to ``now``; ValidationError on ``since`` otherwise."""
    raw = text.strip()
    example = "Write it like --since 30d, 7d, 24h, or a date: --since 2026-11-01"
    try:
        span = parse_duration(raw)
    except ValueError:
        span = None
    if span is not None:
        if not span:
            raise ValidationError("since", f"{raw!r} is no time at all. {example}")
        return Period(now - span, now, f"Last {_span_label(span)}")
    try:
        start = datetime.fromisoformat(raw) if "T" in raw or " " in raw else None
        day = None if start else date.fromisoformat(raw)
    except ValueError:
        raise ValidationError(
            "since", f"{raw!r} is neither a duration nor a date. {example}"
        ) from None
    if day is not None:
        start = datetime.combine(day, datetime.min.time(), tzinfo=tz)
        label = f"Since {day.isoformat()}"
    else:
        assert start is not None
        start = start if start.tzinfo else start.replace(tzinfo=tz)
        label = f"Since {start:%Y-%m-%d %H:%M %Z}".rstrip()
    if start >= now:
        raise ValidationError("since", f"{raw!r} is in the future. {example}")
    return Period(start, now, label)


def _span_label(span: timedelta) -> str:
    for unit, size in (
        ("day", timedelta(days=1)),
        ("hour", timedelta(hours=1)),
        ("minute", timedelta(minutes=1)),
    ):
        if span >= size and not span % size:
            n = span // size
            return unit if n == 1 else f"{n} {unit}s"
    return short(span)
