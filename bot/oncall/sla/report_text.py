"""The on-call report as text: the period people type and the headline and tables they read.

``--since 30d`` / ``2026-11-01`` becomes a :class:`Period`; a counted :class:`Report` becomes
a headline plus short aligned tables (fenced as code for Slack). Pure, like the counting in
:mod:`bot.oncall.sla.report`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, tzinfo

from bot.core.durations import parse_duration, period_words, short_rounded
from bot.core.errors import ValidationError
from bot.oncall.sla.report import Compliance, Period, Report, Stat


def _mean_median(stat: Stat) -> str:
    return f"{short_rounded(stat.mean)} ({short_rounded(stat.median)})" if stat.n else "—"


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
        f"{short_rounded(report.mtta.mean)}, MTTR {short_rounded(report.mttr.mean)}, "
        f"SLA met {_pct(report.sla)}"
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


def cap_note(capped: tuple[str, ...], limit: int) -> str:
    """The line under a capped report; empty when nothing was capped."""
    if not capped:
        return ""
    what = capped[0] if len(capped) == 1 else f"{', '.join(capped[:-1])} and {capped[-1]}"
    return (
        f"⚠️ More {what} in this period than one report reads: only the earliest {limit:,} "
        "of each were counted. Ask for a shorter period for exact figures."
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
        return Period(now - span, now, f"Last {period_words(span)}")
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
