"""The label-health statistics, each from summed tallies (``bot.quality.labels.tally``).

* **Delay quantiles**: from the delay histogram, log-linear inside a bin (a bin spans a
  factor of 1.78, so a quantile is good to that factor; an engineer reads "p95 4 h").
* **Coverage**: labelled rows over rows, counting only the minutes old enough to expect
  their labels: those that ended at least the p95 delay ago (the wait after which 95 % of
  the labels that do come have come), from the oldest minute of the recent labels on.
* **Label drift**: the recent labels' class mix against the reference's, by the tests the
  features take on categories (``bot.quality.drift``: PSI and chi-square).
* **Agreement per source**: share of a source's labels equal to the prediction, and its
  *disagreement ratio*: its disagreement over the reference's. Labels copied from the model
  (a feedback loop: reviewers who see the score, users who accept the suggestion) agree
  with it more than the truth does, so their disagreement collapses (ratio near 0); a model
  that got worse shows the opposite (ratio above 1). A ratio, not a difference: 0.99
  against 0.93 and 0.999 against 0.99 are the same story.
* **Noise** (cleanlab's ``overall_label_health_score`` in spirit: 1 minus the share of
  labels that look wrong): on the labelled rows the model was confident about (0.9 and up),
  a calibrated model errs ``e = 1 - mean confidence`` of the time; labels flipped at rate
  ``eta`` make the observed disagreement ``d = e (1 - eta) + (1 - e) eta`` (the flipped
  label of a wrong prediction taken as the predicted class: exact for two classes, close for
  more), so ``eta = (d - e) / (1 - 2 e)``. It assumes the model is still calibrated at the
  top (its own errors there did not rise): a model that broke shows here too, and its
  estimate gap below says so.
* **Estimate gap**: on the same labelled rows, the label-free estimate (their mean
  confidence) minus realized accuracy, against the reference's gap (0 when the reference has
  no labels): past it by more than a few points, the estimate is no longer trusted.

Pure: no I/O, no clock.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

import numpy as np

from bot.quality.binning import log_quantile
from bot.quality.drift.divergence import psi_counts
from bot.quality.drift.stat_tests import chi_square_counts
from bot.quality.labels.tally import CONF_EDGES, DELAY_EDGES, NO_BIN, LabelTally

HIGH_CONFIDENCE = 0.9
"""Labels of predictions at least this confident are the ones the noise estimate reads."""
MIN_SOURCE_LABELS = 100
"""Labels a source needs before its agreement is judged."""
MIN_EXPECTED_DISAGREEMENTS = 10
"""... and disagreements the reference's rate would expect among them (a ratio of 0 from
2 expected disagreements is chance)."""
MIN_NOISE_LABELS = 100
MIN_GAP_LABELS = 200
MIN_DRIFT_LABELS = 100
MIN_COVERAGE_ROWS = 100
GAP_TRUSTED = 0.05
"""The estimate is trusted while its gap exceeds the reference's by at most this (the
default rule's threshold)."""


def delay_quantile(tally: LabelTally, q: float) -> float | None:
    """The ``q`` quantile of the labels' delay in seconds (None: no delay recorded)."""
    hist = np.zeros(len(DELAY_EDGES) + 1, dtype=np.int64)
    for key, n in tally.n.items():
        if key.delay_bin != NO_BIN:
            hist[key.delay_bin] += n
    return log_quantile(hist, DELAY_EDGES, q)


@dataclass(frozen=True)
class Coverage:
    share: float
    labelled: int
    rows: int
    wait: float
    """Seconds a minute must be over before its labels are expected (the p95 delay)."""


def coverage(
    minutes: list[tuple[int, int, int]], wait: float | None, now_seconds: float, since: int
) -> Coverage | None:
    """``minutes``: (minute, rows, labelled) of the panes read; the minutes from ``since``
    that ended ``wait`` seconds before ``now_seconds`` are counted."""
    if wait is None:
        return None
    rows = labelled = 0
    for minute, n, joined in minutes:
        if minute >= since and (minute + 1) * 60 + wait <= now_seconds:
            rows += n
            labelled += joined
    if rows < MIN_COVERAGE_ROWS:
        return None
    return Coverage(min(1.0, labelled / rows), labelled, rows, wait)


@dataclass(frozen=True)
class LabelDrift:
    psi: float
    p_value: float
    n: int
    mix: dict[str, int]


def label_drift(tally: LabelTally, reference: dict[str, int] | None) -> LabelDrift | None:
    """The recent label mix against the reference's (None: too few labels, or none there)."""
    mix: Counter[str] = Counter()
    for key, n in tally.n.items():
        mix[key.label] += n
    total = sum(mix.values())
    if not reference or total < MIN_DRIFT_LABELS:
        return None
    classes = sorted(set(reference) | set(mix))
    ref = np.array([reference.get(c, 0) for c in classes], dtype=np.float64)
    cur = np.array([mix.get(c, 0) for c in classes], dtype=np.float64)
    test = chi_square_counts(ref, cur)
    return LabelDrift(psi_counts(ref, cur), float(test.p_value), total, dict(sorted(mix.items())))


@dataclass(frozen=True)
class SourceAgreement:
    source: str
    n: int
    agreement: float
    ratio: float | None
    """Disagreement over the reference's (None: no reference agreement, or too few labels
    to judge)."""


def agreement_by_source(tally: LabelTally, reference: float | None) -> list[SourceAgreement]:
    """Per label source (most labels first): agreement with the prediction, and the
    disagreement ratio once there are enough labels to judge it."""
    n: Counter[str] = Counter()
    hits: Counter[str] = Counter()
    for key, count in tally.n.items():
        n[key.source] += count
        hits[key.source] += count if key.label == key.predicted else 0
    out = []
    for source, total in sorted(n.items(), key=lambda kv: (-kv[1], kv[0])):
        agreement = hits[source] / total
        ratio = None
        if reference is not None and reference < 1.0:
            expected = total * (1.0 - reference)
            if total >= MIN_SOURCE_LABELS and expected >= MIN_EXPECTED_DISAGREEMENTS:
                ratio = (1.0 - agreement) / (1.0 - reference)
        out.append(SourceAgreement(source, total, agreement, ratio))
    return out


@dataclass(frozen=True)
class LabelNoise:
    n: int
    disagreement: float
    expected: float
    """The model's own error on these rows if calibrated: 1 - their mean confidence."""
    noise: float
    """Estimated share of wrong labels."""

    @property
    def score(self) -> float:
        """1 - noise: 1 is clean (cleanlab's overall label health score reads the same)."""
        return 1.0 - self.noise


HIGH_BIN = int(np.searchsorted(CONF_EDGES, HIGH_CONFIDENCE, side="right"))


def label_noise(tally: LabelTally) -> LabelNoise | None:
    """The noise estimate of the module docstring (None: too few confident labels)."""
    n = wrong = 0
    conf = 0.0
    for key, count in tally.n.items():
        if key.conf_bin >= HIGH_BIN:
            n += count
            wrong += count if key.label != key.predicted else 0
            conf += tally.conf.get(key, 0.0)
    if n < MIN_NOISE_LABELS:
        return None
    d, e = wrong / n, min(0.49, max(0.0, 1.0 - conf / n))
    eta = min(1.0, max(0.0, (d - e) / (1.0 - 2.0 * e)))
    return LabelNoise(n, d, e, eta)


@dataclass(frozen=True)
class EstimateGap:
    n: int
    estimated: float
    realized: float
    reference: float | None

    @property
    def gap(self) -> float:
        return self.estimated - self.realized

    @property
    def excess(self) -> float:
        """How much farther the estimate misses than on the reference (|gap| - |ref|)."""
        return abs(self.gap) - abs(self.reference or 0.0)

    @property
    def trusted(self) -> bool:
        return self.excess <= GAP_TRUSTED


def estimate_gap(tally: LabelTally, reference: float | None) -> EstimateGap | None:
    """Mean confidence against accuracy on the labelled rows that had a confidence."""
    n = hits = 0
    conf = 0.0
    for key, count in tally.n.items():
        if key.conf_bin != NO_BIN:
            n += count
            hits += count if key.label == key.predicted else 0
            conf += tally.conf.get(key, 0.0)
    if n < MIN_GAP_LABELS:
        return None
    return EstimateGap(n, conf / n, hits / n, reference)


def finite(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else value
