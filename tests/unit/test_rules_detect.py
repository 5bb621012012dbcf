"""``detect: cusum`` and ``detect: changepoint`` rules: the syntax and its errors, ``vigil
rules list``, and the evaluator firing a detect rule sooner than the same rule with ``for:
10m`` on the same rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from bot.core.errors import ConfigError
from bot.rules import (
    EvalState,
    Point,
    Rule,
    Series,
    default_rules_file,
    evaluate,
    load_rules,
    parse_rules,
)
from bot.rules.alerts import AlertChange
from bot.rules.effective import effective
from bot.rules.listing import rule_lines
from bot.rules.sequential import (
    DEFAULT_ARL0,
    REFERENCE_MEAN,
    REFERENCE_SD,
    ROWS_ARE_VALUE,
    ROWS_SEEN,
    ROWS_SUM,
    RUN,
    STREAM_NOTES,
    DetectSpec,
)

WHERE = "rules/test.yaml"
T0 = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)
SERIES = Series.of("accuracy_estimated", {"model": "credit"})
MEAN, SD = 0.94, 0.08


def item(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": "estimate-low",
        "metric": "accuracy_estimated",
        "op": "<",
        "threshold": 0.90,
        "for": "10m",
        "unit": "ratio",
        "labels": {"alertname": "EstimateLow", "signal": "accuracy_estimated"},
    }
    return {k: v for k, v in {**base, **over}.items() if v is not None}


def parse(*items: dict[str, Any]) -> list[Rule]:
    return parse_rules([(WHERE, {"rules": list(items)})])


def test_detect_cusum_with_and_without_parameters() -> None:
    (plain,) = parse(item(detect="cusum"))
    assert plain.detect == DetectSpec("cusum", DEFAULT_ARL0, None)
    assert plain.for_ == timedelta(minutes=10)  # kept: the wait for series without rows
    (tuned,) = parse(item(detect="cusum", arl0=20_000, shift=1.5))
    assert tuned.detect == DetectSpec("cusum", 20_000, 1.5)
    (old,) = parse(item())
    assert old.detect is None


def test_a_later_file_can_switch_the_detector_off() -> None:
    rules = parse_rules(
        [
            ("rules/default.yaml", {"rules": [item(detect="cusum")]}),
            ("rules/mine.yaml", {"rules": [{"name": "estimate-low", "detect": "none"}]}),
        ]
    )
    assert rules[0].detect is None


@pytest.mark.parametrize(
    ("over", "key", "says"),
    [
        ({"detect": "ewma"}, "rules[0].detect", "is not one of changepoint, cusum or none"),
        (
            {"detect": "changepoint", "arl0": 5_000},
            "rules[0].arl0",
            "only a rule with `detect: cusum`",
        ),
        ({"detect": "cusum", "arl0": 10}, "rules[0].arl0", "whole number of rows >= 100"),
        ({"detect": "cusum", "arl0": 1e5}, "rules[0].arl0", "whole number"),
        ({"detect": "cusum", "shift": 0}, "rules[0].shift", "above 0"),
        ({"detect": "cusum", "shift": "big"}, "rules[0].shift", "not a finite number"),
        ({"arl0": 5_000}, "rules[0].arl0", "only a rule with `detect: cusum`"),
        ({"shift": 1.0}, "rules[0].shift", "only a rule with `detect: cusum`"),
        ({"detect": "cusum", "kind": "baseline", "op": ">"}, "rules[0].detect", "threshold"),
    ],
)
def test_errors_name_the_key(over: dict[str, Any], key: str, says: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse(item(**over))
    assert info.value.where == WHERE
    assert info.value.key == key
    assert says in str(info.value)


def test_rules_list_shows_the_detector_and_the_fallback_wait() -> None:
    rules = parse(item(detect="cusum"), item(name="plain"))
    lines = rule_lines(effective(rules))
    assert "detect: cusum ARL0 100,000 rows, else for 10m" in lines[0]
    assert "detect" not in lines[1]
    assert "for 10m" in lines[1]


def test_the_bundled_model_quality_rules_use_the_detectors_and_keep_their_wait() -> None:
    bundled = {r.name: r for r in load_rules([default_rules_file()])}
    assert bundled["accuracy-estimated-below-sla"].detect == DetectSpec()
    assert bundled["confidence-below-floor"].detect == DetectSpec()
    assert bundled["input-drift-psi"].detect == DetectSpec("changepoint")
    for name in ("accuracy-estimated-below-sla", "confidence-below-floor", "input-drift-psi"):
        assert bundled[name].for_ == timedelta(minutes=10)
    assert bundled["output-drift-kl"].detect is None


def stream(
    minutes: int,
    shift_at: int,
    rate: int = 100,
    seed: int = 4,
    back_at: int | None = None,
    *,
    mean_of_rows: bool = False,
) -> list[Point]:
    """A model's estimate minute by minute: rows at ``MEAN``, at 0.71 from ``shift_at`` (and
    at ``MEAN`` again from ``back_at``); each point is the mean of the last 1,000 rows and
    carries the running row counters (and, ``mean_of_rows``, the note that its value is the
    rows' mean, as the mean confidence's sample says)."""
    rng = np.random.default_rng(seed)
    rows: list[float] = []
    points = []
    for minute in range(minutes):
        shifted = shift_at <= minute < (back_at if back_at is not None else minutes)
        mean = 0.71 if shifted else MEAN
        rows += list(np.clip(rng.normal(mean, SD, rate), 0, 1))
        notes = {
            ROWS_SEEN: str(len(rows)),
            ROWS_SUM: repr(float(np.sum(rows))),
            REFERENCE_MEAN: repr(MEAN),
            REFERENCE_SD: repr(SD),
        } | ({ROWS_ARE_VALUE: "true"} if mean_of_rows else {})
        at = T0 + (minute + 1) * MIN
        points.append(Point(at, float(np.mean(rows[-1_000:])), notes))
    return points


def firings(rule: Rule, points: list[Point]) -> list[tuple[datetime, AlertChange]]:
    state: EvalState | None = None
    out = []
    for point in points:
        state, changes = evaluate([rule], {SERIES: [point]}, state, point.at)
        out += [(point.at, c) for c in changes if c.status == "firing"]
    return out


def test_a_detect_rule_fires_minutes_sooner_than_the_same_rule_with_for_10m() -> None:
    (waits,) = parse(item())
    (detects,) = parse(item(detect="cusum"))
    points = stream(minutes=60, shift_at=30)
    shift = T0 + 31 * MIN  # the first point with shifted rows
    ((waited, _),) = firings(waits, points)
    ((detected, change),) = firings(detects, points)
    assert waited - shift >= 10 * MIN
    assert detected - shift <= 3 * MIN  # the 1,000-row mean crosses 0.90 within ~2 minutes
    assert "CUSUM over" in change.summary
    assert change.annotations["detector"] == "cusum"
    assert change.window == timedelta(0)
    assert not STREAM_NOTES & change.annotations.keys()  # counters stay out of the alert


def test_stable_rows_never_fire_the_detect_rule() -> None:
    (detects,) = parse(item(detect="cusum"))
    assert firings(detects, stream(minutes=300, shift_at=300, seed=9)) == []


def test_the_detector_restarts_on_firing_and_on_resolving() -> None:
    (detects,) = parse(item(detect="cusum"))
    state: EvalState | None = None
    statuses: list[str] = []
    statistics: dict[str, float] = {}
    for point in stream(minutes=90, shift_at=30, back_at=45):
        state, changes = evaluate([detects], {SERIES: [point]}, state, point.at)
        cusum = state.series[("estimate-low", SERIES)].cusum
        assert cusum is not None
        for change in changes:
            statuses.append(change.status)
            statistics[change.status] = cusum.statistic
    # Fired once on the shift, resolved once the window recovered, never re-fired on the
    # reference-like rows after: the statistic was back at 0 after each transition.
    assert statuses == ["firing", "resolved"]
    assert statistics == {"firing": 0.0, "resolved": 0.0}


def test_without_row_counters_a_detect_rule_waits_its_for() -> None:
    (detects,) = parse(item(detect="cusum"))
    points = [Point(p.at, p.value) for p in stream(minutes=60, shift_at=30)]
    ((fired, _),) = firings(detects, points)
    assert fired - (T0 + 31 * MIN) >= 10 * MIN


def test_the_for_still_bounds_the_wait_when_the_detector_has_not_alarmed() -> None:
    """A value past the threshold the detector is slow to call (it expects a bigger shift
    than the one on the rows) fires after the rule's ``for:`` all the same: the detector only
    brings the firing forward; what a user tuned still holds."""
    (slow,) = parse(item(detect="cusum", arl0=10_000_000, shift=20.0, **{"for": "2m"}))
    points = stream(minutes=60, shift_at=30)
    crossed = next(p.at for p in points if p.value < 0.90)
    ((fired, change),) = firings(slow, points)
    assert fired - crossed == 2 * MIN
    assert "detector" not in change.annotations


def changes_of(rule: Rule, points: list[Point]) -> list[tuple[datetime, AlertChange]]:
    state: EvalState | None = None
    out = []
    for point in points:
        state, changes = evaluate([rule], {SERIES: [point]}, state, point.at)
        out += [(point.at, c) for c in changes]
    return out


FLOOR = 0.80
"""A threshold far below the reference's 0.94: the 1,000-row window reads it only once some
600 rows have fallen to 0.71 (six minutes at 100 rows a minute)."""


def test_a_run_of_fallen_rows_fires_before_the_window_reaches_the_threshold() -> None:
    """The mean confidence's rule judges the rows since the fall began (the CUSUM's run) as
    soon as the detector alarms, instead of waiting for the window's older rows to be
    outnumbered: minutes sooner, quoting the fallen rows' mean."""
    (detects,) = parse(item(detect="cusum", threshold=FLOOR))
    shift = T0 + 31 * MIN
    points = stream(minutes=60, shift_at=30, mean_of_rows=True)
    crossed = next(p.at for p in points if p.value < FLOOR)
    ((fired, change),) = firings(detects, points)
    assert crossed - shift >= 5 * MIN  # the window alone: six minutes
    assert fired - shift <= 3 * MIN
    assert change.value is not None
    assert change.value < 0.75  # the run's rows, not the window
    assert change.annotations[RUN] == "true"
    assert "rows since the change began" in change.summary
    # A series whose value is not its rows' mean (the estimate) waits for the window.
    plain = stream(minutes=60, shift_at=30)
    ((later, _),) = firings(detects, plain)
    assert later == crossed


def test_a_rule_fired_on_its_run_holds_until_the_rows_and_the_window_recover() -> None:
    """Fired on the run while the window still reads above the threshold, the alert is not
    resolved at the next minute (the run keeps it firing until the window has caught up):
    one firing, one resolution, after the rows came back."""
    (detects,) = parse(item(detect="cusum", threshold=FLOOR))
    points = stream(minutes=120, shift_at=30, back_at=60, mean_of_rows=True)
    seen = changes_of(detects, points)
    assert [c.status for _, c in seen] == ["firing", "resolved"]
    (fired, _), (resolved, _) = seen
    assert fired < T0 + 34 * MIN
    assert resolved > T0 + 60 * MIN


def test_stable_rows_never_fire_on_a_run() -> None:
    (detects,) = parse(item(detect="cusum", threshold=FLOOR))
    for seed in (9, 10, 11):
        assert (
            firings(detects, stream(minutes=300, shift_at=300, seed=seed, mean_of_rows=True)) == []
        )
