"""``detect: changepoint``: a rule judges the rows since the change point its source found.

The model monitor puts the inputs' change point on the ``input_drift_psi`` sample (rows
since the change, the PSI of those rows, the features that moved); the rule fires at once
when that PSI is past its threshold, while the window's own PSI, diluted by its older rows,
would still need minutes and then its ``for``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bot.rules import EvalState, Point, Rule, Series, evaluate, parse_rules
from bot.rules.alerts import AlertChange
from bot.rules.effective import effective
from bot.rules.listing import rule_lines
from bot.rules.sequential import CHANGE_FEATURES, CHANGE_ROWS, CHANGE_VALUE, STREAM_NOTES

T0 = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)
SERIES = Series.of("input_drift_psi", {"model": "credit"})


def rule(**over: Any) -> Rule:
    base: dict[str, Any] = {
        "name": "drift",
        "metric": "input_drift_psi",
        "op": ">",
        "threshold": 0.2,
        "for": "10m",
        "unit": "score",
        "detect": "changepoint",
        "labels": {"alertname": "InputDrift", "signal": "psi"},
    }
    item = {k: v for k, v in {**base, **over}.items() if v is not None}
    (parsed,) = parse_rules([("rules/test.yaml", {"rules": [item]})])
    return parsed


def point(minute: int, window_psi: float, change: tuple[int, float] | None = None) -> Point:
    notes = {"detail": f"top drift (PSI): income {window_psi:.2f}"}
    if change is not None:
        rows, value = change
        notes |= {
            CHANGE_ROWS: str(rows),
            CHANGE_VALUE: repr(value),
            CHANGE_FEATURES: f"income {value:.2f}",
        }
    return Point(T0 + minute * MIN, window_psi, notes)


def run(r: Rule, points: list[Point]) -> list[tuple[int, AlertChange]]:
    state: EvalState | None = None
    out = []
    for p in points:
        state, changes = evaluate([r], {SERIES: [p]}, state, p.at)
        out += [(int((p.at - T0) / MIN), c) for c in changes]
    return out


def shift() -> list[Point]:
    """A window of 1,000 rows, 100 a minute, whose inputs shift at minute 10: the change
    point's PSI is large at once, the window's climbs as shifted panes replace old ones."""
    calm = [point(m, 0.03) for m in range(1, 11)]
    moved = [point(10 + k, min(3.0, 0.04 * k * k), (100 * k, 3.0)) for k in range(1, 31)]
    return calm + moved


def test_a_change_point_past_the_threshold_fires_at_once_quoting_its_rows() -> None:
    ((minute, fired), *_) = run(rule(), shift())
    assert minute == 11  # the first minute of shifted rows, window PSI still 0.04
    assert fired.status == "firing"
    assert fired.value == 3.0
    assert fired.window == timedelta(0)
    assert "on the 100 rows since a change the monitor found: income 3.00" in fired.summary
    assert fired.annotations["detector"] == "changepoint"
    assert fired.annotations["detected_after_rows"] == "100"
    assert not STREAM_NOTES & fired.annotations.keys()


def test_the_same_rule_without_the_detector_waits_for_the_window_and_its_for() -> None:
    ((minute, fired), *_) = run(rule(detect="none"), shift())
    assert fired.status == "firing"
    assert minute >= 13 + 10  # window PSI past 0.2 from minute 13, then `for: 10m`


def test_a_change_point_too_small_to_matter_does_not_fire() -> None:
    """The test says the change is real; the threshold still says whether it is bad."""
    points = [point(m, 0.05, (300, 0.12)) for m in range(1, 30)]
    assert run(rule(), points) == []


def test_it_stays_firing_while_the_rows_since_the_change_are_bad_and_resolves_after() -> None:
    points = [
        point(1, 0.04, (100, 2.5)),  # fires
        point(2, 0.10, (200, 2.5)),  # the window is still below 0.2: held by the change
        point(3, 0.10),  # no change point any more, window below the band: resolved
    ]
    assert [(m, c.status) for m, c in run(rule(), points)] == [(1, "firing"), (3, "resolved")]


def test_without_a_change_point_it_waits_its_for_like_any_rule() -> None:
    points = [point(m, 0.5) for m in range(1, 20)]
    ((minute, fired),) = run(rule(), points)
    assert minute == 11
    assert "detector" not in fired.annotations


def test_rules_list_says_the_source_tests_the_panes() -> None:
    (line,) = rule_lines(effective([rule()]))
    assert "detect: changepoint (the source's test of the window's panes), else for 10m" in line
