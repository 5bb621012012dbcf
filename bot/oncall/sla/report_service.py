"""The database half of the on-call report: read one period's records, bounded, and word them.

``bot.oncall.sla.report`` counts and ``bot.oncall.sla.report_text`` words plain records without I/O,
so the numbers are tested by hand; this module is the only place that knows where those
records live. The incident row keeps its own opened (``created_at``), acknowledged, contained
and resolved times, ``pages`` keeps one row per person paged, and ``alerts`` one row per alert
identity with its repeat count, so three indexed range queries are the whole report: no
timeline is replayed.

Every query filters by time in SQL and reads at most ``limit`` rows (earliest first), so
``--since 5y`` on a busy database cannot exhaust memory; when a cap is hit the report says
so under its tables rather than quietly counting less. The same SQL runs on SQLite and
PostgreSQL: plain comparisons on UTC timestamp columns, no dialect functions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeAlias, TypeVar

from sqlalchemy.orm import Mapped
from sqlmodel import col, select
from sqlmodel.sql.expression import Select

from bot.core.clock import Clock
from bot.oncall.calendar import WorkingHours
from bot.oncall.sla.clocks import SlaSettings
from bot.oncall.sla.report import (
    AlertRecord,
    IncidentRecord,
    PageRecord,
    Period,
    Report,
    build_report,
)
from bot.oncall.sla.report_text import cap_note, parse_since, render_report
from bot.store.db import Database
from bot.store.tables import Alert, Incident, Page

_When: TypeAlias = datetime | None
_Q = TypeVar("_Q", bound="Select[*tuple[Any, ...]]")
MAX_ROWS = 50_000
"""Rows read per table for one report: a month of a noisy fleet fits many times over."""


@dataclass(frozen=True)
class ReportRecords:
    """What one period holds; ``capped`` names the tables that had more than the limit."""

    incidents: tuple[IncidentRecord, ...]
    pages: tuple[PageRecord, ...]
    alerts: tuple[AlertRecord, ...]
    capped: tuple[str, ...] = ()


async def read_records(db: Database, period: Period, *, limit: int = MAX_ROWS) -> ReportRecords:
    """Incidents opened, pages sent and alerts first seen in ``[period.start, period.end)``.

    One read transaction, so the three lists are one consistent picture of the database.
    """
    # Only the columns counted. sqlmodel's select() is typed up to four columns, so the wider
    # ones are built as Select directly with the row type spelled out.
    incident_cols: Select[int, str, datetime, _When, _When, _When] = Select(
        col(Incident.id),
        col(Incident.severity),
        col(Incident.created_at),
        col(Incident.acknowledged_at),
        col(Incident.resolved_at),
        col(Incident.contained_at),
    )
    incidents_q = _in_period(
        incident_cols, col(Incident.created_at), col(Incident.id), period, limit
    )
    page_cols = select(col(Page.incident_id), col(Page.target), col(Page.sent_at))
    pages_q = _in_period(page_cols, col(Page.sent_at), col(Page.id), period, limit)
    alert_cols: Select[dict[str, str], str, datetime, int, int | None] = Select(
        col(Alert.labels),
        col(Alert.title),
        col(Alert.first_seen),
        col(Alert.count),
        col(Alert.incident_id),
    )
    alerts_q = _in_period(alert_cols, col(Alert.first_seen), col(Alert.id), period, limit)
    async with db.read() as s, s.begin():
        incident_rows = (await s.exec(incidents_q)).all()
        page_rows = (await s.exec(pages_q)).all()
        alert_rows = (await s.exec(alerts_q)).all()
    capped = tuple(
        name
        for name, rows in (
            ("incidents", incident_rows),
            ("pages", page_rows),
            ("alerts", alert_rows),
        )
        if len(rows) > limit
    )
    incidents = tuple(
        IncidentRecord(
            id=i,
            severity=sev,
            opened_at=opened,
            acknowledged_at=acked,
            resolved_at=resolved,
            contained_at=contained,
        )
        for i, sev, opened, acked, resolved, contained in incident_rows[:limit]
    )
    pages = tuple(PageRecord(incident_id=i, person=who, at=at) for i, who, at in page_rows[:limit])
    alerts = tuple(
        AlertRecord(
            alertname=_alertname(labels, title), at=at, count=count, incident_id=incident_id
        )
        for labels, title, at, count, incident_id in alert_rows[:limit]
    )
    return ReportRecords(incidents, pages, alerts, capped)


def _in_period(query: _Q, at: Mapped[Any], row_id: Mapped[Any], period: Period, limit: int) -> _Q:
    """``query`` narrowed to rows stamped ``at`` in ``[period.start, period.end)``, earliest
    first (``row_id`` breaks ties), one row over ``limit`` so a capped table shows."""
    return query.where(at >= period.start, at < period.end).order_by(at, row_id).limit(limit + 1)


def _alertname(labels: object, title: str) -> str:
    """The ``alertname`` label (what people grep their rules for), else the alert's title."""
    name = labels.get("alertname") if isinstance(labels, dict) else None
    return name.strip() if isinstance(name, str) and name.strip() else title


class ReportService:
    """``vigil report`` and ``/incident report``: one period's report as text.

    The SLA targets and working hours come in as arguments (not read from settings here) so
    whoever builds the service decides where they are configured, and tests pass their own.
    ``working_hours`` None counts out-of-hours pages on the SLA's business calendar.
    """

    def __init__(
        self,
        db: Database,
        *,
        sla: SlaSettings,
        working_hours: WorkingHours | None,
        clock: Clock,
        limit: int = MAX_ROWS,
    ) -> None:
        self._db = db
        self._sla = sla
        self._hours = working_hours or sla.calendar
        self._clock = clock
        self._limit = limit

    async def build(self, since_text: str) -> tuple[Report, tuple[str, ...]]:
        """The counted report and the tables that hit the row cap. ``since_text`` is read in
        the working-hours zone (a bare date is local midnight there); ValidationError naming
        ``since`` for anything that is not a span or a past date."""
        period = parse_since(since_text, self._clock(), tz=self._hours.tz)
        records = await read_records(self._db, period, limit=self._limit)
        report = build_report(
            period,
            records.incidents,
            records.pages,
            records.alerts,
            sla=self._sla,
            working_hours=self._hours,
        )
        return report, records.capped

    async def report(self, since_text: str, *, markdown: bool = False) -> str:
        """The report's text; ``markdown`` fences the tables so Slack keeps them aligned."""
        report, capped = await self.build(since_text)
        text = render_report(report, markdown=markdown)
        note = cap_note(capped, self._limit)
        return f"{text}\n\n{note}" if note else text
