"""The pure parts of the web view's pages: the sparklines (their numbers as text, escaped,
a gap where there was no data) and what ``/oncall`` computes (a gap with nobody on call,
the next shifts, a policy's levels with who a schedule target pages now)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.oncall.paging.escalation import EscalationPolicy, Level
from bot.oncall.paging.routing import Routing
from bot.oncall.schedules.layers import Layer, Restriction, Schedule
from bot.webui.views.charts import Series, percent, sparkline, words
from bot.webui.views.oncall_view import oncall_view

T0 = datetime(2026, 11, 24, 0, 0, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")


def series(*values: float | None, label: str = "estimated accuracy") -> Series:
    starts = tuple(T0 + timedelta(hours=2 * i) for i in range(len(values)))
    return Series(label, starts, values)


def test_a_sparkline_says_its_numbers_and_breaks_at_a_gap() -> None:
    svg = sparkline(series(0.9, 0.95, None, 0.8), percent, lo=0, hi=1)
    said = (
        "estimated accuracy, 4 points from 24 Nov 00:00 UTC: 90.0%, 95.0%, no data, 80.0%; "
        "last 80.0%, lowest 80.0%, highest 95.0%"
    )
    assert f'aria-label="{said}"' in svg
    assert f"<title>{said}</title>" in svg
    assert 'role="img"' in svg
    assert svg.count("<polyline") == 1  # the first two points
    assert svg.count("<circle") == 1  # the last one, alone after the gap


def test_a_sparkline_escapes_its_label() -> None:
    svg = sparkline(series(1.0, 2.0, label='rows of <script>"x"</script>'))
    assert "<script>" not in svg
    assert "&lt;script&gt;&#34;x&#34;&lt;/script&gt;" in svg


def test_no_data_is_said_so() -> None:
    assert words(series(None, None)) == "estimated accuracy: no data in these 2 intervals"
    assert "<polyline" not in sparkline(series(None, None))


def test_oncall_view_shows_a_gap_the_next_shifts_and_the_policy_targets() -> None:
    # business hours only (Mon-Fri 09:00-17:00 Berlin); Tue 24 Nov 02:00 UTC is outside
    layer = Layer(
        "day",
        ("@maya", "@sam"),
        timedelta(days=1),
        datetime(2026, 11, 23, 9, 0),
        BERLIN,
        restrict=Restriction(frozenset(range(5)), 9 * 60, 17 * 60),
    )
    schedule = Schedule("ml", BERLIN, (layer,))
    policy = EscalationPolicy(
        "default",
        (Level(("schedule:ml",), timedelta(minutes=5)), Level(("@carol",), timedelta(minutes=10))),
    )
    view = oncall_view({"ml": schedule}, {}, Routing(policies={"default": policy}), T0)
    [row] = view.rows
    assert (row.person, row.until, row.next_person) == (None, None, "@sam")
    assert [(s.person, s.start.local) for s in row.coming[:2]] == [
        ("@sam", "Tue 24 Nov 09:00 CET"),
        ("@maya", "Wed 25 Nov 09:00 CET"),
    ]
    assert row.coming[0].start.utc == "Tue 24 Nov 08:00 UTC"
    assert len(row.coming) == 5
    [p] = view.policies
    assert p.levels[0].targets == (("schedule:ml", "nobody"),)
    assert (p.levels[1].after, p.levels[1].wait) == ("after 5 min without ack", "10 min")
    assert p.exhausted == "Nobody acknowledged after 15 min: escalation exhausted."
