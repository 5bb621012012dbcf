"""The on-call report: hand-computed MTTA/MTTR, SLA compliance, pages, noise, --since."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.core.durations import short_rounded
from bot.core.errors import ValidationError
from bot.oncall.calendar import parse_working_hours
from bot.oncall.sla.report import (
    AlertRecord,
    IncidentRecord,
    PageRecord,
    Period,
    Stat,
    build_report,
)
from bot.oncall.sla.report_text import headline, parse_since, render_report

END = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)  # a Monday
PERIOD = Period(END - timedelta(days=30), END, "Last 30 days")
M = timedelta(minutes=1)
H = timedelta(hours=1)


def at(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


INCIDENTS = [
    IncidentRecord(0, "P1", at(20, 2, month=10), at(20, 2, 5, month=10)),  # before the period
    IncidentRecord(1, "P1", at(10, 2), at(10, 2, 3), at(10, 3)),
    IncidentRecord(2, "P1", at(12, 3), at(12, 3, 7), at(12, 8)),  # both SLAs breached
    IncidentRecord(3, "P2", at(13, 10), at(13, 10, 10), at(14, 6)),
    IncidentRecord(4, "P2", at(20, 10), None, at(20, 12)),  # resolved without ack: ack at 12:00
    IncidentRecord(5, "P2", at(30, 2), at(30, 2, 5)),  # open, resolve due tomorrow
    IncidentRecord(6, "P3", at(16, 9), at(16, 10), at(18, 9)),
    IncidentRecord(7, "p4", at(27, 16)),  # open since Friday; 1bd: due Monday 16:00
    IncidentRecord(8, "P3", at(30, 11), at(30, 13)),  # acked after the end: not yet
]
PAGES = [
    PageRecord(1, "@alice", at(10, 2)),
    PageRecord(2, "@alice", at(12, 3)),
    PageRecord(3, "@alice", at(13, 10)),
    PageRecord(2, "@bob", at(12, 3, 5)),
    PageRecord(2, "@bob", at(12, 3, 10)),
    PageRecord(6, "@carol", at(16, 9)),
    PageRecord(0, "@dave", at(20, 2, month=10)),
]
ALERTS = [
    AlertRecord("HighErrorRate", at(10, 1, 59), 40, 1),
    AlertRecord("HighErrorRate", at(12, 2, 59), 30, 2),
    AlertRecord("DriftPSI", at(12, 3, 1), 5, 2),
    AlertRecord("DriftPSI", at(13, 9, 59), 3, 3),
    AlertRecord("DriftPSI", at(16, 8, 59), 2, 6),
    AlertRecord("DriftPSI", at(20, 9, 59), 1, 4),
    AlertRecord("GPUHot", at(29, 0), 100, None),
    AlertRecord("CPUHigh", at(30, 1, 59), 2, 5),
    AlertRecord("CPUHigh", at(1, 0, month=10), 50, None),
]


def test_headline_and_totals() -> None:
    r = build_report(PERIOD, INCIDENTS, PAGES, ALERTS)
    assert (r.incidents, r.open) == (8, 3)  # #0 opened before the period
    # MTTA over 6 acked: 3, 7, 10, 120 (resolved without ack), 5, 60 min; #7 and #8 not yet.
    assert r.mtta == Stat(6, timedelta(minutes=205 / 6), timedelta(minutes=8.5))
    # MTTR over 5 resolved: 60, 300, 1200, 120, 2880 min; open ones left out.
    assert r.mttr == Stat(5, timedelta(minutes=912), timedelta(minutes=300))
    # 8 targets met, 3 breached (#2 both, #4 ack); pending ones left out.
    assert (r.sla.met, r.sla.breached) == (8, 3)
    assert headline(r) == (
        "Last 30 days: 8 incidents (2 P1, 3 P2, 2 P3, 1 P4; 3 open), MTTA 34m, MTTR 15h12m, "
        "SLA met 73 %"
    )


def test_per_severity() -> None:
    rows = {s.severity: s for s in build_report(PERIOD, INCIDENTS, PAGES, ALERTS).by_severity}
    p1, p2, p3, p4 = rows["P1"], rows["P2"], rows["P3"], rows["P4"]
    assert (p1.incidents, p1.open, p1.mtta.mean, p1.mttr.median) == (2, 0, 5 * M, 3 * H)
    assert (p1.ack_sla.met, p1.ack_sla.breached, p1.resolve_sla.percent) == (1, 1, 50.0)
    assert (p2.incidents, p2.open, p2.mtta.mean, p2.mtta.median) == (3, 1, 45 * M, 10 * M)
    assert (p2.ack_sla.met, p2.ack_sla.breached) == (2, 1)  # #4's ack came with the resolve
    assert (p2.resolve_sla.met, p2.resolve_sla.decided) == (2, 2)  # #5 still pending
    assert (p3.incidents, p3.open, p3.mtta.n, p3.ack_sla.decided) == (2, 1, 1, 1)
    assert (p4.open, p4.mtta.n, p4.ack_sla.decided, p4.ack_sla.percent) == (1, 0, 0, None)


def test_pages_per_person_with_out_of_hours() -> None:
    r = build_report(PERIOD, INCIDENTS, PAGES, ALERTS)
    assert [(p.person, p.pages, p.out_of_hours, p.incidents) for p in r.pages] == [
        ("@alice", 3, 2, 3),
        ("@bob", 2, 2, 1),
        ("@carol", 1, 0, 1),
    ]
    berlin = parse_working_hours({"from": "04:00", "to": "12:00", "tz": "Europe/Berlin"}, where="w")
    shifted = build_report(PERIOD, INCIDENTS, PAGES, ALERTS, working_hours=berlin)
    assert [p.out_of_hours for p in shifted.pages] == [
        1,
        0,
        0,
    ]  # only 02:00 UTC (03:00 CET) is early


def test_noisiest_alerts_by_count_and_by_incidents_opened() -> None:
    r = build_report(PERIOD, INCIDENTS, PAGES, ALERTS, top=3)
    assert [(a.alertname, a.alerts, a.incidents, a.opened) for a in r.noisiest_by_alerts] == [
        ("GPUHot", 100, 0, 0),
        ("HighErrorRate", 70, 2, 2),
        ("DriftPSI", 11, 4, 3),
    ]
    assert [(a.alertname, a.opened) for a in r.noisiest_by_opened] == [
        ("DriftPSI", 3),
        ("HighErrorRate", 2),
        ("CPUHigh", 1),
    ]


def test_render() -> None:
    assert render_report(build_report(PERIOD, INCIDENTS, PAGES, ALERTS)) == "\n".join(
        [
            "Last 30 days: 8 incidents (2 P1, 3 P2, 2 P3, 1 P4; 3 open), MTTA 34m, MTTR 15h12m, "
            "SLA met 73 %",
            "",
            "Sev  Incidents  Open  MTTA (median)  MTTR (median)  Ack SLA     Resolve SLA",
            "P1   2          0     5m (5m)        3h (3h)        50 % of 2   50 % of 2",
            "P2   3          1     45m (10m)      11h (11h)      67 % of 3   100 % of 2",
            "P3   2          1     1h (1h)        2d (2d)        100 % of 1  100 % of 1",
            "P4   1          1     —              —              —           —",
            "",
            "Paged   Pages  Out of hours  Incidents",
            "@alice  3      2             3",
            "@bob    2      2             1",
            "@carol  1      0             1",
            "",
            "Noisiest alerts  Alerts  Incidents  Opened",
            "GPUHot           100     0          0",
            "HighErrorRate    70      2          2",
            "DriftPSI         11      4          3",
            "CPUHigh          2       1          1",
            "",
            "Opened the most incidents: DriftPSI 3, HighErrorRate 2, CPUHigh 1",
        ]
    )


def test_render_markdown_fences_tables_and_empty_period() -> None:
    text = render_report(build_report(PERIOD, INCIDENTS[1:2]), markdown=True)
    assert text == "\n".join(
        [
            "Last 30 days: 1 incident (1 P1), MTTA 3m, MTTR 1h, SLA met 100 %",
            "",
            "```",
            "Sev  Incidents  Open  MTTA (median)  MTTR (median)  Ack SLA     Resolve SLA",
            "P1   1          0     3m (3m)        1h (1h)        100 % of 1  100 % of 1",
            "```",
        ]
    )
    assert render_report(build_report(PERIOD, [])) == "Last 30 days: no incidents."


def test_open_incident_past_due_counts_as_breached() -> None:
    late = IncidentRecord(9, "P1", END - 10 * M)  # unacked for 10 min: ack SLA breached
    r = build_report(PERIOD, [late])
    assert (r.sla.met, r.sla.breached, r.open) == (0, 1, 1)  # resolve still pending
    assert headline(r) == "Last 30 days: 1 incident (1 P1; 1 open), MTTA —, MTTR —, SLA met 0 %"


def test_ack_before_open_counts_as_zero_and_zones_do_not_matter() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    # Opened 01:30 Berlin on the night clocks went back (25 Oct), resolved 3 real hours later.
    opened = datetime(2026, 10, 25, 1, 30, tzinfo=berlin)
    resolved = datetime(2026, 10, 25, 3, 30, tzinfo=berlin)
    odd = IncidentRecord(10, "P2", opened, opened - 2 * M, resolved)
    r = build_report(Period(opened - H, opened + 9 * H, "x"), [odd])
    assert (r.mtta.mean, r.mttr.mean) == (timedelta(), 3 * H)


@pytest.mark.parametrize(
    ("delta", "expected"),
    [
        (None, "—"),
        (timedelta(seconds=45), "45s"),
        (4 * M + timedelta(seconds=59), "4m"),
        (2 * H + 10 * M, "2h10m"),
        (2 * H + 5 * M, "2h05m"),
        (2 * H, "2h"),
        (timedelta(days=3, hours=4), "3d4h"),
        (timedelta(days=2), "2d"),
    ],
)
def test_short(delta: timedelta | None, expected: str) -> None:
    assert short_rounded(delta) == expected


NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "start", "label"),
    [
        ("30d", NOW - timedelta(days=30), "Last 30 days"),
        ("7d", NOW - timedelta(days=7), "Last 7 days"),
        ("24h", NOW - timedelta(hours=24), "Last day"),
        ("12h", NOW - timedelta(hours=12), "Last 12 hours"),
        ("2w", NOW - timedelta(days=14), "Last 14 days"),
        ("1h30m", NOW - timedelta(minutes=90), "Last 90 minutes"),
        ("2026-11-01", datetime(2026, 11, 1, tzinfo=UTC), "Since 2026-11-01"),
        (
            "2026-11-01T08:00+01:00",
            datetime(2026, 11, 1, 7, 0, tzinfo=UTC),
            "Since 2026-11-01 08:00 UTC+01:00",
        ),
    ],
)
def test_parse_since(text: str, start: datetime, label: str) -> None:
    period = parse_since(text, NOW)
    assert (period.start, period.end, period.label) == (start, NOW, label)


def test_parse_since_date_is_local_midnight() -> None:
    period = parse_since("2026-11-01", NOW, tz=ZoneInfo("Europe/Berlin"))
    assert period.start == datetime(2026, 10, 31, 23, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("yesterday", "'yesterday' is neither a duration nor a date"),
        ("30", "neither a duration nor a date"),
        ("0d", "is no time at all"),
        ("2026-12-01", "is in the future"),
        ("2026-13-01", "neither a duration nor a date"),
    ],
)
def test_parse_since_errors(text: str, phrase: str) -> None:
    with pytest.raises(ValidationError) as info:
        parse_since(text, NOW)
    assert info.value.field == "since"
    assert phrase in info.value.detail
    assert "--since 30d" in info.value.detail
