"""What the judge is given (per version, and its settings) and what it answers.

Plain values only, so the rollout driver can fill them from the database and the bench from
a simulation: counts, a label-free estimate, latency histograms (or raw latencies), and the
prediction histogram on the reference's bins (the same one input drift is judged on).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from bot.core.errors import ValidationError
from bot.quality.drift.methods import METHODS
from bot.quality.estimate import AccuracyEstimate
from bot.rollout.counts import LatencyGrid

TESTS = 7
"""Tests the judge can run: labelled accuracy, estimated accuracy, request errors, latency
shift, p99, spread, prediction drift. The fail side of ``alpha`` is split evenly over all
seven (Bonferroni), present or not, so the split does not move between looks when labels
start to arrive."""


class Verdict(StrEnum):
    """Per metric: FAIL, proven worse than allowed (roll back); PASS, proven within the
    allowance (step up, once every metric says so); MARGINAL, the point estimate is past the
    allowance but nothing is proven (hold); INCONCLUSIVE, neither proven (hold, keep looking;
    always this below the minimum sample)."""

    PASS = "pass"  # noqa: S105 (a verdict, not a password)
    MARGINAL = "marginal"
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"


@dataclass(frozen=True)
class ArmObservations:
    """One version's rows since the comparison began (cumulative, not the last interval).

    ``rows``: predictions served. ``errors``: failed requests among them (``None``: not
    tracked). ``labelled``/``correct``: labels joined so far and how many were right.
    ``estimate``: the label-free estimate of :mod:`bot.quality.estimate` (CBPE from the
    model's confidence). ``latency_counts``: counts on the judge's :class:`LatencyGrid` (what
    a database keeps); or ``latencies_ms``, raw, counted by the judge. ``predictions``:
    counts on the reference profile's prediction bins (``WindowSnapshot.prediction_counts``).
    """

    version: str
    rows: int = 0
    errors: int | None = None
    labelled: int = 0
    correct: int = 0
    estimate: AccuracyEstimate | None = None
    latency_counts: npt.ArrayLike | None = None
    latencies_ms: npt.ArrayLike | None = None
    predictions: npt.ArrayLike | None = None

    def __post_init__(self) -> None:
        for name in ("rows", "labelled", "correct"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValidationError(name, f"must be a count (integer >= 0), got {value!r}")
        if self.correct > self.labelled:
            raise ValidationError("correct", f"{self.correct} exceeds labelled={self.labelled}")
        if self.errors is not None and not 0 <= self.errors <= self.rows:
            raise ValidationError("errors", f"must lie in [0, rows={self.rows}]")


@dataclass(frozen=True)
class JudgeSettings:
    """How strict the judge is. The defaults are what a team would pick without thinking.

    ``alpha``: the budget for a wrong verdict over the whole rollout and every look, split in
    two. ``fail_share`` of it bounds the chance that a canary within every allowance is ever
    FAILed: split evenly over the :data:`TESTS` (one FAIL of any test fails the rollout: a
    union, so Bonferroni). The rest bounds the chance that a canary worse than an allowance is
    ever PASSed: each metric's pass test gets all of it, because a PASS needs *every* metric
    proven, so a canary worse on one metric is passed only if that metric's own test is fooled
    (an intersection-union test, Berger 1982: no split over metrics). Accuracy has two pass
    tests (the label-free estimate until both versions have ``min_labels``, labels after),
    either of which may pass it, so they share its level: labels four fifths, the estimate
    one fifth (it is the stand-in, and its PASS rests on the canary's own calibration).
    Either kind of error is then at most its share, whatever the canary, and the two
    together at most ``alpha`` (both can only occur on the allowance's edge). Prediction
    drift is not proven within its threshold: its PASS is "PSI within the threshold and the
    always-valid chi-square not failing", on the point estimate. The bounds hold over the
    counts the judge is fed: cumulative since the comparison began, across steps (a driver
    that restarted them at each step would spend the budget once per step).

    ``min_rows`` per version before anything but INCONCLUSIVE, ``min_labels`` per version
    before labels are judged (the estimate stands in until then). Allowances: how much worse
    the canary may be and still pass, once proven within them (accuracy and request errors
    in fractions: 0.01 is one point; at 0 only a canary proven strictly better passes, since
    "exactly as good" can never be proven). ``tail_quantile``:
    the latency quantile the tail test guards (p99), judged once at least
    ``min_tail_events`` canary requests are expected above it. The ``*_tau`` values tune
    which effect size each test catches quickest; they change speed, never validity.
    """

    alpha: float = 0.05
    fail_share: float = 0.5
    min_rows: int = 100
    min_labels: int = 30
    accuracy_allowance: float = 0.01
    error_allowance: float = 0.005
    latency_tolerance: float = 0.10
    spread_tolerance: float = 0.10
    tail_quantile: float = 0.99
    min_tail_events: int = 5
    drift_threshold: float = METHODS["psi"].threshold
    grid: LatencyGrid = field(default_factory=LatencyGrid)
    accuracy_tau: float = 0.02
    error_tau: float = 0.01
    rank_tau: float = 0.05
    tail_tau: float = 0.02

    def __post_init__(self) -> None:
        if not 0 < self.alpha < 1:
            raise ValidationError("alpha", f"must lie in (0, 1), got {self.alpha!r}")
        if not 0 < self.fail_share < 1:
            raise ValidationError("fail_share", f"must lie in (0, 1), got {self.fail_share!r}")
        if self.min_rows < 2 or self.min_labels < 2 or self.min_tail_events < 1:
            raise ValidationError("min_rows", "minimum samples must be at least 2 (events 1)")
        if not 0.5 < self.tail_quantile < 1:
            raise ValidationError("tail_quantile", "must lie in (0.5, 1), e.g. 0.99")
        for name in (
            "accuracy_allowance",
            "error_allowance",
            "latency_tolerance",
            "spread_tolerance",
        ):
            value = getattr(self, name)
            if not (math.isfinite(value) and 0 <= value < 1):
                raise ValidationError(name, f"must lie in [0, 1), got {value!r}")
        for name in ("drift_threshold", "accuracy_tau", "error_tau", "rank_tau", "tail_tau"):
            if not (math.isfinite(getattr(self, name)) and getattr(self, name) > 0):
                raise ValidationError(name, "must be a positive number")

    @property
    def test_alpha(self) -> float:
        """Each fail test's level: ``alpha * fail_share`` over the :data:`TESTS`."""
        return self.alpha * self.fail_share / TESTS

    @property
    def pass_alpha(self) -> float:
        """Each metric's pass-test level: the rest of ``alpha``, whole (intersection-union)."""
        return self.alpha * (1 - self.fail_share)

    @property
    def labels_pass_alpha(self) -> float:
        """The labelled accuracy pass test's level: four fifths of accuracy's."""
        return self.pass_alpha * 0.8

    @property
    def estimate_pass_alpha(self) -> float:
        """The label-free estimate's pass level: the last fifth of accuracy's."""
        return self.pass_alpha * 0.2


@dataclass(frozen=True)
class MetricResult:
    """One metric's verdict, its headline numbers and reason in words. ``p_value``: the
    always-valid p-value of "no worse than allowed" (small: FAIL); ``pass_p_value``: that of
    "worse than allowed" (small: PASS). ``None`` below the minimum sample."""

    metric: str
    verdict: Verdict
    reason: str
    stable: float | None = None
    canary: float | None = None
    p_value: float | None = None
    pass_p_value: float | None = None


@dataclass(frozen=True)
class Judgement:
    """The verdict over every metric, a 0-100 score (``None`` until something is judged)."""

    verdict: Verdict
    score: int | None
    summary: str
    metrics: tuple[MetricResult, ...]

    def lines(self) -> list[str]:
        """The summary, then one line per metric: what a person reads in the thread."""
        return [self.summary, *(f"- {m.reason}" for m in self.metrics)]


def latency_counts(arm: ArmObservations, grid: LatencyGrid) -> npt.NDArray[np.float64] | None:
    """The arm's latency histogram on ``grid`` (counting raw latencies when that is all)."""
    if arm.latency_counts is not None:
        counts = np.asarray(arm.latency_counts, dtype=np.float64)
        if counts.shape != (grid.size,) or np.any(counts < 0) or not np.all(np.isfinite(counts)):
            raise ValidationError(
                "latency_counts", f"must be {grid.size} non-negative counts on the judge's grid"
            )
        return counts
    if arm.latencies_ms is not None:
        return grid.counts(arm.latencies_ms).astype(np.float64)
    return None
