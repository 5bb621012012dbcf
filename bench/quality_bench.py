"""How soon each model-quality rule fires after a covariate shift, and how often it cries wolf.

Issue 7: the synthetic credit model of ``bench/scenario.py`` (calibrated; accuracy 0.94 on
reference-like traffic, 0.71 under the shift) is streamed through the real ``ModelMonitor``,
its assessments turned into samples by ``bot.sources.models.assessment_samples``, and those
judged by the real evaluator (``bot.rules.evaluate``) with the real ``model-quality`` rules
of ``rules/default.yaml``, ``accuracy_sla: 0.90`` (as ``vigil demo`` sets it) and
``confidence_floor: 0.85``:

* ``accuracy-estimated-below-sla``: label-free estimate (mean confidence) < SLA;
* ``confidence-below-floor``: mean confidence < the floor;
* ``input-drift-psi``: the worst feature's PSI > 0.2;
* ``accuracy-below-sla``: realized accuracy (joined labels) < SLA for 10m.

Issue 20: a rule that says ``detect:`` (``cusum`` for the estimate and the confidence,
``changepoint`` for PSI) is also judged as it was before, by a copy named ``<rule>@for``
with its ``for: 10m`` wait only: both read the same samples of the same streams in the same
run, so the tables put today's and the detector's rows after the shift and false alarms
side by side (the first table, "today vs the detector", in one place), with each
detector's own alarm onsets on unshifted rows (before the value condition) against its
stated rate: ARL0 rows for a CUSUM, alpha per assessment for the change-point test.

Time is injected. Traffic: ``rate`` rows a minute; minute ``k``'s rows are served during
``[k, k+1)`` and posted in one batch at ``k+1``; the monitor is then assessed and the group
evaluated at that same instant (one evaluation a minute, as ``group_intervals:
{model-quality: 1m}``). Labels for minute ``k``'s rows are posted ``label_delay`` minutes
after the rows. The drift window is the last ``window`` rows (``WindowSpec(rows=...)``, 10
panes); realized accuracy is over the monitor's default last 5,000 labelled rows.

Shifted run: reference-like traffic for a warm-up of ``S`` minutes (the label delay plus the
time to fill the label window, plus one: every metric is live and steady), then shifted
traffic. A rule firing at evaluation time ``t`` fired ``t - S`` minutes and ``(t - S) *
rate`` rows after the shift; "condition first held" is the first evaluation past the
threshold, before ``for:`` (for ``detect: changepoint``, the window's value or the value on
the rows since the change point); "value at firing" is the value the alert quoted. Each
seed has its own reference, streams and label draws.

Unshifted run (other seeds): reference-like traffic only. After the same warm-up, every
transition to *firing* of the studied rules is a false alarm. A "window" is ``window`` rows,
one non-overlapping window of the drift window's size (``window / rate`` minutes, so
``window / rate`` evaluations); the rate is false alarms per 100 such windows, with a
one-sided 95% Poisson upper bound. "Evaluations breached" is the share of evaluations whose
raw condition held (the value past the threshold, before ``for:`` is applied).

Profiles (rate, window): 1,000 rows/min and 100 rows/min with the default window of 1,000
rows (``quality.window``), and 100 rows/min with 200 rows, the smallest window the default
``min_rows`` (200) allows: the noisiest. Labels 60 minutes late in all three.

Run: ``.venv/bin/python bench/quality_bench.py`` (all three profiles, 10 seeds, 60 unshifted
windows a seed) or ``--quick`` (the first profile, 3 seeds, 34 windows a seed); one profile
with ``--rate R [--window N]``; also ``--seeds``, ``--windows``, ``--label-delay``.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.scenario import (
    CATEGORICAL,
    FEATURES,
    TARGET_REFERENCE,
    TARGET_SHIFTED,
    Stream,
    make_reference,
    make_stream,
)
from bot.core.durations import short_duration
from bot.monitoring.monitor import ModelMonitor
from bot.quality.drift.changepoint import DEFAULT_ALPHA
from bot.quality.profile import ReferenceProfile, build_profile
from bot.quality.windows import WindowSpec
from bot.rules import EvalState, Rule, Series, default_rules_file, evaluate, load_rules
from bot.rules.effective import threshold_for
from bot.rules.runner import group_samples
from bot.rules.schema import holds
from bot.rules.sequential import CHANGEPOINT
from bot.rules.sequential import change as change_point
from bot.sources.models import assessment_samples

MODEL = "credit"
VERSION = "v1"
ACCURACY_SLA = 0.90
CONFIDENCE_FLOOR = 0.85
MODELS: Mapping[str, Mapping[str, float]] = {
    MODEL: {"accuracy_sla": ACCURACY_SLA, "confidence_floor": CONFIDENCE_FLOOR}
}
GROUP = "model-quality"
RULES = (
    "accuracy-estimated-below-sla",
    "confidence-below-floor",
    "input-drift-psi",
    "accuracy-below-sla",
)
SHORT = {
    "accuracy-estimated-below-sla": "estimate",
    "confidence-below-floor": "confidence",
    "input-drift-psi": "PSI",
    "accuracy-below-sla": "realized accuracy",
}
TODAY = "@for"
"""Suffix of a rule's copy as it was before ``detect: cusum``: the fixed ``for`` wait only."""
LABEL_WINDOW = 5_000  # ModelMonitor's default label_window, restated for the warm-up
START = datetime(2026, 11, 25, 0, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
REFERENCE_ROWS = 20_000


@dataclass(frozen=True)
class Setup:
    """One traffic profile: rows a minute, drift window, label delay (minutes)."""

    rate: int = 1_000
    window: int = 1_000
    label_delay: int = 60

    @property
    def warmup(self) -> int:
        """Minutes until labels arrive and fill the label window (every metric live)."""
        return self.label_delay + math.ceil(LABEL_WINDOW / self.rate) + 1

    def describe(self) -> str:
        return (
            f"{self.rate:,} rows/min in one post a minute, window = last {self.window:,} rows "
            f"({self.window / self.rate:g} min), labels {self.label_delay} min late, "
            f"realized accuracy over the last {LABEL_WINDOW:,} labels"
        )


@dataclass
class Run:
    """What one stream did, minute by minute (``t`` = minutes since the stream began)."""

    setup: Setup
    seed: int
    minutes: int
    shift_at: int | None
    """Minute the shifted traffic begins (its first post is at ``shift_at + 1``), or None."""
    count_from: int
    """First evaluation minute counted for false alarms (the end of the warm-up)."""
    tracked: tuple[str, ...] = RULES
    """The rules studied: ``RULES`` and, before each that says ``detect``, its ``TODAY`` copy."""
    firings: dict[str, list[int]] = field(default_factory=dict)
    """Minute of every transition to firing, per rule."""
    values: dict[str, dict[int, float]] = field(default_factory=dict)
    """The rule's metric at every evaluation that had a sample."""
    fired_values: dict[str, dict[int, float]] = field(default_factory=dict)
    """The value each firing quoted (a change point's: the metric on the rows since it)."""
    held: dict[str, set[int]] = field(default_factory=dict)
    """Evaluations whose raw condition held (before ``for:``)."""
    alarmed: dict[str, set[int]] = field(default_factory=dict)
    """``detect`` rules: evaluations at which the detector alarmed (CUSUM >= h, or the
    sample carried a change point), whatever the value; its onsets on unshifted rows
    measure the detector's own false-alarm rate."""
    other_firings: list[tuple[str, int]] = field(default_factory=list)
    """Other rules of the group that fired: (rule, minute)."""

    def __post_init__(self) -> None:
        for name in self.tracked:
            self.firings.setdefault(name, [])
            self.values.setdefault(name, {})
            self.fired_values.setdefault(name, {})
            self.held.setdefault(name, set())
            self.alarmed.setdefault(name, set())

    def _counted(self, t: int) -> bool:
        """Evaluations judged only on reference-like rows, after the warm-up."""
        return t >= self.count_from and (self.shift_at is None or t <= self.shift_at)

    def after_shift(self, minutes: Sequence[int] | set[int]) -> int | None:
        """Minutes from the shift to the first of ``minutes`` that saw shifted rows."""
        if self.shift_at is None:
            return None
        later = sorted(t - self.shift_at for t in minutes if t > self.shift_at)
        return later[0] if later else None

    def false_alarms(self, rule: str) -> int:
        return sum(1 for t in self.firings[rule] if self._counted(t))

    def alarm_onsets(self, rule: str) -> int:
        """Counted evaluations where the detector alarmed and had not one evaluation before."""
        return sum(
            1 for t in self.alarmed[rule] if self._counted(t) and t - 1 not in self.alarmed[rule]
        )

    def evaluations(self, rule: str) -> int:
        return sum(1 for t in self.values[rule] if self._counted(t))

    def breaches(self, rule: str) -> int:
        return sum(1 for t in self.held[rule] if self._counted(t))

    @property
    def counted_windows(self) -> float:
        """Non-overlapping windows of reference-like rows in the counted span."""
        end = self.shift_at if self.shift_at is not None else self.minutes
        return (end - self.count_from + 1) * self.setup.rate / self.setup.window


def model_quality_rules() -> list[Rule]:
    """The bundled rules of the model-quality group, as the runner evaluates them, and for
    each studied rule that says ``detect:`` a ``TODAY`` copy without it (its ``for`` wait
    only, as before the detector): both judge the same streams in the same run."""
    rules = [r for r in load_rules([default_rules_file()]) if r.group == GROUP]
    missing = set(RULES) - {r.name for r in rules}
    if missing:
        raise SystemExit(f"rules/default.yaml lacks {sorted(missing)} in group {GROUP}")
    today = [
        replace(r, name=r.name + TODAY, detect=None)
        for r in rules
        if r.name in RULES and r.detect is not None
    ]
    return rules + today


def tracked(rules: Sequence[Rule]) -> tuple[str, ...]:
    """``RULES`` in order, each preceded by its ``TODAY`` copy when ``rules`` has one."""
    names = {r.name for r in rules}
    return tuple(n for rule in RULES for n in (rule + TODAY, rule) if n in names)


def short(name: str, rules: Sequence[Rule] | None = None) -> str:
    """``estimate, for 10m`` / ``estimate, detect: cusum``: a row's label in the tables."""
    base = name.removesuffix(TODAY)
    rule = next((r for r in rules or () if r.name == name), None)
    if rule is None:
        return SHORT[base]
    how = f"detect: {rule.detect.method}" if rule.detect else f"for {short_duration(rule.for_)}"
    return f"{SHORT[base]}, {how}" + (" (today)" if name.endswith(TODAY) else "")


def reference_profile(seed: int) -> ReferenceProfile:
    ref = make_reference(REFERENCE_ROWS, seed)
    return build_profile(
        {name: ref[name] for name in (*FEATURES, *CATEGORICAL)},
        prediction=ref["prediction"],
        prediction_kind="categorical",
        confidence=ref["confidence"],
    )


def _rows(stream: Stream, lo: int, hi: int) -> list[dict[str, Any]]:
    """Rows ``lo:hi`` as the prediction endpoint takes them (JSON-like dicts)."""
    names = (*FEATURES, *CATEGORICAL)
    columns = [stream[name][lo:hi].tolist() for name in names]
    ids = stream["id"][lo:hi].tolist()
    predictions = stream["prediction"][lo:hi].tolist()
    confidences = stream["confidence"][lo:hi].tolist()
    return [
        {
            "id": ids[i],
            "features": dict(zip(names, (column[i] for column in columns), strict=True)),
            "prediction": predictions[i],
            "confidence": confidences[i],
        }
        for i in range(hi - lo)
    ]


def _labels(stream: Stream, lo: int, hi: int) -> list[dict[str, Any]]:
    ids = stream["id"][lo:hi].tolist()
    labels = stream["label"][lo:hi].tolist()
    return [{"id": i, "label": y} for i, y in zip(ids, labels, strict=True)]


def simulate(
    setup: Setup,
    *,
    seed: int,
    minutes: int,
    shift_at: int | None = None,
    rules: Sequence[Rule] | None = None,
) -> Run:
    """Stream ``minutes`` of traffic, shifted from minute ``shift_at`` on when given."""
    rules = list(rules) if rules is not None else model_quality_rules()
    by_name = {r.name: r for r in rules}
    monitor = ModelMonitor(WindowSpec(rows=setup.window), label_window=LABEL_WINDOW)
    monitor.watch(MODEL, VERSION, reference_profile(seed))
    before = minutes if shift_at is None else min(shift_at, minutes)
    # Minute k's rows, as (stream, first row): posted at k + 1, labelled label_delay later.
    segments: list[tuple[Stream, int]] = []
    if before:
        calm = make_stream(before * setup.rate, shifted=False, seed=seed)
        segments += [(calm, k * setup.rate) for k in range(before)]
    if minutes > before:
        shifted = make_stream((minutes - before) * setup.rate, shifted=True, seed=seed)
        segments += [(shifted, k * setup.rate) for k in range(minutes - before)]
    run = Run(setup, seed, minutes, shift_at, setup.warmup + 1, tracked(rules))
    state: EvalState | None = None
    for k in range(minutes):
        t = k + 1
        now = START + t * MINUTE
        stream, lo = segments[k]
        monitor.predictions(MODEL, {"rows": _rows(stream, lo, lo + setup.rate)}, now)
        if k >= setup.label_delay:
            old, old_lo = segments[k - setup.label_delay]
            monitor.labels(MODEL, {"rows": _labels(old, old_lo, old_lo + setup.rate)})
        samples = assessment_samples(monitor.assessment(MODEL, now), VERSION, now)
        grouped = group_samples(samples)
        state, changes = evaluate(rules, grouped, state, now, models=MODELS)
        for change in changes:
            rule = by_name[change.rule]
            if change.status != "firing" or change.labels["alertname"] != rule.alertname:
                continue  # resolutions, and DataAbsent (never expected here)
            if change.rule in run.firings:
                run.firings[change.rule].append(t)
                if change.value is not None:
                    run.fired_values[change.rule][t] = change.value
            else:
                run.other_firings.append((change.rule, t))
        for name in run.tracked:
            rule = by_name[name]
            for series, points in grouped.items():
                if rule.watches(series):
                    value = points[-1].value
                    run.values[name][t] = value
                    judged = [value]
                    moved = None
                    if rule.detect is not None and rule.detect.method == CHANGEPOINT:
                        moved = change_point(points[-1].notes)
                    if moved is not None:  # the rule judges the rows since the change too
                        run.alarmed[name].add(t)
                        judged.append(moved.value)
                    if any(holds(rule.op, x, _threshold(rule, series)) for x in judged):
                        run.held[name].add(t)
                    kept = state.series.get((name, series))
                    if kept is not None and kept.cusum is not None and kept.cusum.alarm:
                        run.alarmed[name].add(t)
    return run


def _threshold(rule: Rule, series: Series) -> float:
    threshold = threshold_for(rule, series.label_map, models=MODELS)
    if threshold is None:
        raise SystemExit(f"{rule.name} has no threshold for {series}")
    return threshold


def shifted_run(
    setup: Setup, seed: int, *, after: int | None = None, rules: Sequence[Rule] | None = None
) -> Run:
    """The warm-up, then shifted traffic from minute ``S = warm-up`` for ``after`` minutes
    (default: the label delay plus an hour, time for the realized-accuracy rule to fire)."""
    after = setup.label_delay + 60 if after is None else after
    return simulate(
        setup, seed=seed, minutes=setup.warmup + after, shift_at=setup.warmup, rules=rules
    )


def unshifted_run(
    setup: Setup, seed: int, *, windows: int, rules: Sequence[Rule] | None = None
) -> Run:
    """The warm-up, then at least ``windows`` counted windows of reference-like traffic."""
    counted = math.ceil(windows * setup.window / setup.rate)
    return simulate(setup, seed=seed, minutes=setup.warmup + counted, rules=rules)


# --- the study ----------------------------------------------------------------------------


@dataclass
class Study:
    setup: Setup
    shifted: list[Run]
    unshifted: list[Run]
    seconds: float
    rules: Sequence[Rule] = ()
    """The rules judged (for the tables' labels: ``for 10m`` or ``detect: cusum``)."""


def study(setup: Setup, seeds: Sequence[int], *, windows: int) -> Study:
    """Per seed, one shifted run and one unshifted run (another seed) of ``windows``."""
    started = time.perf_counter()
    rules = model_quality_rules()
    shifted = [shifted_run(setup, s, rules=rules) for s in seeds]
    unshifted = [unshifted_run(setup, 1_000 + s, windows=windows, rules=rules) for s in seeds]
    return Study(setup, shifted, unshifted, time.perf_counter() - started, rules)


def _spread(values: Sequence[float]) -> str:
    if not values:
        return "-"
    low, high, middle = min(values), max(values), statistics.median(values)
    if low == high:
        return _number(middle)
    return f"{_number(middle)} ({_number(low)}-{_number(high)})"


def _number(x: float) -> str:
    return f"{x:,.0f}" if float(x).is_integer() else f"{x:,.1f}"


def shift_table(result: Study) -> list[str]:
    setup, runs = result.setup, result.shifted
    shift = setup.warmup
    lines = [
        f"Shifted stream, {len(runs)} seeds: reference-like traffic for {shift} min, then "
        f"shifted traffic for {runs[0].minutes - shift} min. Median (range) over seeds:",
        "",
        "| rule | fired | rows after shift | minutes after shift "
        "| condition first held (min) | value at firing |",
        "|------|-------|------------------|---------------------"
        "|----------------------------|-----------------|",
    ]
    for rule in runs[0].tracked:
        delays = [d for r in runs if (d := r.after_shift(r.firings[rule])) is not None]
        held = [d for r in runs if (d := r.after_shift(r.held[rule])) is not None]
        at_fire = [
            r.fired_values[rule][shift + d]
            for r in runs
            if (d := r.after_shift(r.firings[rule])) is not None
        ]
        value = f"{statistics.median(at_fire):.3f}" if at_fire else "-"
        lines.append(
            f"| {short(rule, result.rules)} (`{rule.removesuffix(TODAY)}`) | "
            f"{len(delays)}/{len(runs)} | "
            f"{_spread([d * setup.rate for d in delays])} | {_spread(delays)} | "
            f"{_spread(held)} | {value} |"
        )
    early = sum(1 for r in runs for rule in r.tracked for t in r.firings[rule] if t <= shift)
    others = sorted({name for r in runs for name, t in r.other_firings if t > shift})
    lines += ["", f"Firings of these rules before the shift: {early}.", _levels(result)]
    if others:
        lines.append(f"Other {GROUP} rules that also fired after the shift: {', '.join(others)}.")
    return lines


def _levels(result: Study) -> str:
    """Where the estimate and realized accuracy stand before the shift and settle after it."""
    setup, runs = result.setup, result.shifted
    shift = setup.warmup
    estimate_settled = math.ceil(setup.window / setup.rate) + 1
    realized_settled = setup.label_delay + math.ceil(LABEL_WINDOW / setup.rate) + 1
    estimate, realized = "accuracy-estimated-below-sla", "accuracy-below-sla"
    picks = (
        ("estimate before the shift", estimate, shift),
        ("realized before", realized, shift),
        (f"estimate {estimate_settled} min after", estimate, shift + estimate_settled),
        (f"realized {realized_settled} min after", realized, shift + realized_settled),
    )
    shown = []
    for name, rule, t in picks:
        values = [r.values[rule][t] for r in runs if t in r.values[rule]]
        if values:
            shown.append(f"{name} {statistics.median(values):.3f}")
    return (
        f"Accuracy (median over seeds; targets {TARGET_REFERENCE} before, {TARGET_SHIFTED} "
        f"after): " + ", ".join(shown) + "."
    )


def false_alarm_table(result: Study) -> list[str]:
    setup, runs = result.setup, result.unshifted
    windows = sum(r.counted_windows for r in runs)
    evaluations = sum(r.minutes - r.count_from + 1 for r in runs)
    lines = [
        f"Unshifted stream, {len(runs)} seeds: {windows:,.0f} windows of {setup.window:,} rows "
        f"({evaluations:,} evaluations) counted after a {setup.warmup}-min warm-up each.",
        "",
        "| rule | false alarms | per 100 windows | 95% upper bound per 100 "
        "| evaluations breached | worst value |",
        "|------|--------------|-----------------|-------------------------"
        "|----------------------|-------------|",
    ]
    for rule in runs[0].tracked:
        alarms = sum(r.false_alarms(rule) for r in runs)
        seen = sum(r.evaluations(rule) for r in runs)
        breached = sum(r.breaches(rule) for r in runs)
        values = [v for r in runs for t, v in r.values[rule].items() if t >= r.count_from]
        worst = max(values) if rule.startswith("input-drift-psi") else min(values)
        bound = _poisson_upper(alarms) / windows * 100
        share = f"{breached / seen:.2%} ({breached}/{seen})" if seen else "-"
        lines.append(
            f"| {short(rule, result.rules)} (`{rule.removesuffix(TODAY)}`) | {alarms} | "
            f"{alarms / windows * 100:.2f} | "
            f"{bound:.2f} | {share} | {worst:.3f} |"
        )
    for rule in runs[0].tracked:
        spec = next((r.detect for r in result.rules if r.name == rule), None)
        if spec is None:
            continue
        onsets = sum(r.alarm_onsets(rule) for r in runs)
        rows = windows * setup.window
        if spec.method == CHANGEPOINT:
            what = "a change point on the sample"
            bound = evaluations * DEFAULT_ALPHA
            expects = f"its alpha of {DEFAULT_ALPHA:g} per assessment bounds it by {bound:.1f}"
        else:
            what = "CUSUM >= h"
            expects = f"its ARL0 of {spec.arl0:,} rows expects about {rows / spec.arl0:.1f}"
        lines += [
            "",
            f"Detector of `{rule}` alone ({what}, before the value condition): {onsets} "
            f"alarm onsets in {rows:,.0f} rows ({onsets / windows * 100:.2f} per 100 windows; "
            f"{expects}).",
        ]
    others = sorted(
        f"{name} at minute {t} (seed {r.seed})"
        for r in runs
        for name, t in r.other_firings
        if t >= r.count_from
    )
    if others:
        lines += ["", f"Other {GROUP} rules that fired on the unshifted stream: {others}."]
    return lines


def _poisson_upper(k: int) -> float:
    """One-sided 95% upper bound on a Poisson mean after observing ``k`` (exact for k=0)."""
    if k == 0:
        return -math.log(0.05)  # 2.996, the "rule of three"
    # Wilson-Hilferty approximation of the chi-square quantile: chi2(0.95, 2k+2) / 2.
    dof = 2 * k + 2
    z = 1.6448536269514722
    return dof * (1 - 2 / (9 * dof) + z * math.sqrt(2 / (9 * dof))) ** 3 / 2


def comparison_table(result: Study) -> list[str]:
    """Per rule with a detector: today's ``for`` wait beside the detector, in rows after the
    shift to firing (median and max over seeds; a seed that never fired counts as "-") and
    false alarms per 100 stable windows with the 95% upper bound."""
    setup, shifted, unshifted = result.setup, result.shifted, result.unshifted
    windows = sum(r.counted_windows for r in unshifted)
    lines = [
        "Today (`for` only) vs the detector: rows after the shift to firing (median / max "
        f"over {len(shifted)} seeds) and false alarms per 100 stable windows (95% upper "
        f"bound) over {windows:,.0f} windows:",
        "",
        "| rule | today: rows | detector: rows | today: false alarms / 100 "
        "| detector: false alarms / 100 |",
        "|------|-------------|----------------|---------------------------"
        "|------------------------------|",
    ]

    def rows(name: str) -> str:
        delays = [r.after_shift(r.firings[name]) for r in shifted]
        fired = [d * setup.rate for d in delays if d is not None]
        if not fired:
            return "never"
        worst = _number(max(fired)) if len(fired) == len(delays) else "never"
        return f"{_number(statistics.median(fired))} / {worst}"

    def alarms(name: str) -> str:
        count = sum(r.false_alarms(name) for r in unshifted)
        bound = _poisson_upper(count) / windows * 100
        return f"{count / windows * 100:.2f} (≤ {bound:.2f})"

    for name in shifted[0].tracked:
        if not name.endswith(TODAY):
            continue
        rule = name.removesuffix(TODAY)
        lines.append(
            f"| {short(rule, result.rules)} (`{rule}`) | {rows(name)} | {rows(rule)} | "
            f"{alarms(name)} | {alarms(rule)} |"
        )
    return lines


def report(result: Study) -> list[str]:
    return [
        f"### {result.setup.describe()}",
        "",
        *comparison_table(result),
        "",
        *shift_table(result),
        "",
        *false_alarm_table(result),
        "",
        f"Runtime: {result.seconds:.1f} s.",
    ]


PROFILES = (
    Setup(1_000, 1_000),  # a busy model, the default window (quality.window: {rows: 1000})
    Setup(100, 1_000),  # a quiet one: the same window holds 10 minutes of traffic
    Setup(100, 200),  # the smallest window the default min_rows (200) allows: the noisiest
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="first profile only, 3 seeds, 34 windows per seed"
    )
    parser.add_argument("--seeds", type=int, default=10, help="seeds per profile (default 10)")
    parser.add_argument(
        "--windows", type=int, default=60, help="unshifted windows per seed (default 60)"
    )
    parser.add_argument("--rate", type=int, help="rows a minute (one profile instead of three)")
    parser.add_argument("--window", type=int, help="drift window in rows (with --rate)")
    parser.add_argument("--label-delay", type=int, default=60, help="minutes (default 60)")
    args = parser.parse_args(argv)
    if args.rate is not None:
        setups = [Setup(args.rate, args.window or 1_000, args.label_delay)]
    else:
        profiles = PROFILES[:1] if args.quick else PROFILES
        setups = [Setup(p.rate, p.window, args.label_delay) for p in profiles]
    seeds = range(3 if args.quick else args.seeds)
    windows = 34 if args.quick else args.windows
    print(
        f"Scenario: bench/scenario.py, accuracy {TARGET_REFERENCE} -> {TARGET_SHIFTED} under "
        f"covariate shift; rules {', '.join(RULES)} from rules/default.yaml (group {GROUP}) "
        f"with accuracy_sla {ACCURACY_SLA}, through the real ModelMonitor and evaluator; one "
        f"evaluation a minute, time injected."
    )
    for setup in setups:
        print()
        print("\n".join(report(study(setup, seeds, windows=windows))))
        sys.stdout.flush()
    total = time.time() - psutil.Process().create_time()
    print(f"\nTotal runtime (process start to end, imports included): {total:.0f} s.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
