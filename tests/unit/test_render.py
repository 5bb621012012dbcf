"""Chat renderings: the first line says how bad it is, which incident, what, and what next.

Views are built by hand, so these tests need no database.
"""

from __future__ import annotations

from dataclasses import fields, replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.chat.commands import render
from bot.core.pagination import Page
from bot.incidents.severity import mark as severity_mark
from bot.incidents.views import AlertView, EventView, IncidentSummary, IncidentView

T0 = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)


def view(
    *,
    number: int = 7,
    title: str = "Ranker p99 over 2s",
    severity: str = "P1",
    state: str = "triggered",
    commander: str | None = None,
    alerts: tuple[AlertView, ...] = (),
    timeline: tuple[EventView, ...] = (),
    acknowledged_at: datetime | None = None,
    resolved_at: datetime | None = None,
) -> IncidentView:
    return IncidentView(
        id=number,
        title=title,
        severity=severity,
        severity_reason=f"{severity}: latency 2.4s > 2s on service ranker",
        severity_source="policy",
        state=state,
        commander=commander,
        service="ranker",
        model=None,
        group_key="alertname=RankerLatency,service=ranker",
        created_by="alertmanager",
        created_at=T0,
        updated_at=T0,
        acknowledged_at=acknowledged_at,
        contained_at=None,
        resolved_at=resolved_at,
        alerts=alerts,
        timeline=timeline,
    )


def alert(
    *, n: int = 1, status: str = "firing", value: float | None = None, count: int = 1
) -> AlertView:
    return AlertView(
        id=n,
        fingerprint=f"{n:016x}",
        status=status,
        title=f"RankerLatency on ranker #{n}",
        source="alertmanager",
        labels={"alertname": "RankerLatency", "service": "ranker"},
        annotations={},
        value=value,
        severity_hint=None,
        generator_url=None,
        starts_at=T0,
        ends_at=None,
        first_seen=T0,
        last_seen=T0,
        count=count,
    )


def event(minutes: int, text: str, kind: str = "state") -> EventView:
    return EventView(
        at=T0 + timedelta(minutes=minutes), kind=kind, actor="@alice", text=text, data={}
    )


MARKS = [("P1", "🔴"), ("P2", "🟠"), ("P3", "🟡"), ("P4", "🔵")]

NEXT_STEP = [
    ("triggered", "P3", "Next: /incident ack 7"),
    (
        "acknowledged",
        "P3",
        "Next: /incident contain 7 once users are safe, or /incident resolve 7",
    ),
    ("contained", "P3", "Next: fix the cause, then /incident resolve 7"),
    ("resolved", "P1", "Next: write the post-mortem"),
    ("resolved", "P2", "Next: write the post-mortem"),
    ("resolved", "P3", "Done."),
    ("resolved", "P4", "Done."),
    ("postmortem", "P1", "Done."),
]


@pytest.mark.parametrize(("severity", "mark"), MARKS)
def test_each_severity_has_its_own_mark(severity: str, mark: str) -> None:
    assert severity_mark(severity) == mark


def test_an_unknown_severity_gets_a_neutral_mark_rather_than_an_error() -> None:
    assert severity_mark("P9") == "⚪"
    assert render.headline(view(severity="P9"), "opened").startswith("⚪ P9 #7 ")


@pytest.mark.parametrize(("state", "severity", "step"), NEXT_STEP)
def test_next_step_per_state(state: str, severity: str, step: str) -> None:
    assert render.next_step(view(state=state, severity=severity)) == step


@pytest.mark.parametrize(("state", "severity", "step"), NEXT_STEP)
def test_headline_first_line_has_mark_number_title_and_next_step(
    state: str, severity: str, step: str
) -> None:
    v = view(state=state, severity=severity)
    text = render.headline(v, "acknowledged by @alice")
    first = text.splitlines()[0]
    assert first == (
        f"{render.mark(severity)} {severity} #7 acknowledged by @alice: Ranker p99 over 2s. {step}"
    )


@pytest.mark.parametrize(("severity", "mark"), MARKS)
@pytest.mark.parametrize("state", ["triggered", "acknowledged", "contained", "resolved"])
def test_one_line_names_mark_severity_number_title_and_state(
    severity: str, mark: str, state: str
) -> None:
    line = render.one_line(view(severity=severity, state=state, number=12, title="GPU OOM"))
    assert "\n" not in line
    assert line == f"{mark} {severity} #12 GPU OOM · {state}"


def test_one_line_adds_commander_and_firing_count_only_when_there_are_some() -> None:
    v = view(commander="@bob", alerts=(alert(n=1), alert(n=2), alert(n=3, status="resolved")))
    assert render.one_line(v) == (
        "🔴 P1 #7 Ranker p99 over 2s · triggered · commander @bob · 2 alerts firing"
    )
    single = replace(v, commander=None, alerts=(alert(n=1),))
    assert render.one_line(single) == "🔴 P1 #7 Ranker p99 over 2s · triggered · 1 alert firing"
    cleared = replace(v, commander=None, alerts=(alert(n=1, status="resolved"),))
    assert render.one_line(cleared) == "🔴 P1 #7 Ranker p99 over 2s · triggered"


def test_detail_shows_why_alerts_times_next_step_and_timeline() -> None:
    v = view(
        state="resolved",
        commander="@bob",
        alerts=(alert(n=1, value=2.4, count=3), alert(n=2, status="resolved")),
        timeline=(event(0, "Opened by @alice: Ranker p99 over 2s"), event(9, "Resolved")),
        acknowledged_at=T0 + timedelta(minutes=4),
        resolved_at=T0 + timedelta(minutes=9),
    )
    lines = render.detail(v).splitlines()
    assert lines[0] == render.one_line(v)
    assert lines[1] == "Why: P1: latency 2.4s > 2s on service ranker"
    assert lines[2] == (
        "Opened 2026-11-24 02:00:00Z by alertmanager · acknowledged 2026-11-24 02:04:00Z"
        " · resolved 2026-11-24 02:09:00Z"
    )
    assert lines[3] == "Next: write the post-mortem"
    assert lines[4:7] == [
        "Alerts:",
        "  [firing] RankerLatency on ranker #1 value=2.4 seen 3 times"
        " (fingerprint 0000000000000001)",
        "  [resolved] RankerLatency on ranker #2 (fingerprint 0000000000000002)",
    ]
    assert lines[7:] == [
        "Timeline:",
        "  2026-11-24 02:00:00Z  Opened by @alice: Ranker p99 over 2s",
        "  2026-11-24 02:09:00Z  Resolved",
    ]


def test_detail_of_a_fresh_incident_has_no_empty_sections() -> None:
    text = render.detail(view())
    assert "Alerts:" not in text
    assert "Timeline" not in text
    assert "acknowledged 2026" not in text
    assert "" not in text.splitlines()


def test_detail_shows_the_last_fifteen_timeline_entries_and_says_how_many_are_hidden() -> None:
    v = view(timeline=tuple(event(i, f"step {i}") for i in range(20)))
    lines = render.detail(v).splitlines()
    header = lines.index("Timeline (last 15, 5 earlier):")
    shown = lines[header + 1 :]
    assert len(shown) == 15
    assert shown[0].endswith("step 5")
    assert shown[-1].endswith("step 19")
    assert not any(line.endswith("step 4") for line in lines)


def summary(v: IncidentView) -> IncidentSummary:
    """The list's summary of a view, as the summary query would read it."""
    own = {f.name for f in fields(IncidentSummary)} - {"firing_count", "alerts"}
    return IncidentSummary(**{n: getattr(v, n) for n in own}, firing_count=len(v.firing))


def page(
    *views: IncidentView, total: int | None = None, next_cursor: str | None = None
) -> Page[IncidentSummary]:
    items = tuple(summary(v) for v in views)
    return Page(items, next_cursor, len(items) if total is None else total)


def more(cursor: str) -> str:
    return f"/incident list --cursor {cursor}"


def test_listing_says_so_when_there_is_nothing() -> None:
    assert render.listing(page(), include_closed=False, more=more) == (
        "No open incidents. All quiet."
    )
    assert render.listing(page(), include_closed=True, more=more) == "No incidents yet."


def test_listing_has_a_title_line_then_one_line_per_incident_in_the_given_order() -> None:
    views = [view(number=2, severity="P1"), view(number=5, severity="P3")]
    assert render.listing(page(*views), include_closed=False, more=more).splitlines() == [
        "2 open, most severe first:",
        render.one_line(views[0]),
        render.one_line(views[1]),
    ]
    listed = render.listing(page(*views), include_closed=True, more=more)
    assert listed.splitlines()[0] == "Recent incidents:"


def test_a_summary_reads_on_one_line_as_its_incident_does() -> None:
    v = view(commander="@bob", alerts=(alert(n=1), alert(n=2), alert(n=3, status="resolved")))
    assert render.one_line(summary(v)) == render.one_line(v)
    assert render.one_line(summary(v)).endswith("· commander @bob · 2 alerts firing")


def test_a_cut_listing_says_how_many_of_how_many_and_the_command_for_the_rest() -> None:
    views = [view(number=9, severity="P1"), view(number=4, severity="P2")]
    lines = render.listing(
        page(*views, total=312, next_cursor="C2"), include_closed=False, more=more
    ).splitlines()
    assert lines == [
        "Showing 2 of 312 open, most severe first:",
        render.one_line(views[0]),
        render.one_line(views[1]),
        "More: /incident list --cursor C2",
    ]
    last = render.listing(page(views[1], total=312), include_closed=True, more=more)
    assert last.splitlines() == [
        "Showing 1 of 312 incidents, newest first:",
        render.one_line(views[1]),
    ]


def test_a_page_past_the_end_says_how_many_there_are() -> None:
    text = render.listing(page(total=3), include_closed=False, more=more)
    assert text == "Nothing after that point; 3 open in all."


def test_detail_names_the_author_of_each_note() -> None:
    v = view(timeline=(event(3, "rolled back the canary", kind="note"),))
    assert "  2026-11-24 02:03:00Z  Note from @alice: rolled back the canary" in render.detail(v)
