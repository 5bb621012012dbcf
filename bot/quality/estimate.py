"""Accuracy estimated without labels, from the model's own calibrated confidence.

Labels arrive late (days for a chargeback, weeks for churn) or never, yet an incident bot
has to say *now* whether the model is getting worse. Confidence-based performance
estimation (CBPE, as NannyML calls it) uses the confidence the model reports for its
predicted class: if that confidence is calibrated, a prediction made with confidence ``c``
is right with probability ``c``, so

* expected accuracy = ``mean(c)`` (the expected number of correct predictions over ``n``);
* the number correct is a sum of independent Bernoulli(``c_i``), i.e. Poisson-binomial, with
  variance ``sum c_i (1 - c_i)``, so the realized accuracy scatters around the estimate with
  standard error ``sqrt(sum c_i (1 - c_i)) / n``. The interval is where the realized accuracy
  of *this* window should fall (normal approximation, clipped to [0, 1]).

Only ``n``, ``sum c`` and ``sum c(1-c)`` are needed, so a streaming window keeps three
numbers, not rows (:class:`ConfidenceSums`, :func:`estimate_from_sums`).

For binary classifiers that report ``P(y=1)`` (a score) instead, the expected confusion
matrix gives precision, recall and F1: among predicted positives ``E[TP] = sum p`` and
``E[FP] = sum (1-p)``; among predicted negatives ``E[FN] = sum p`` and ``E[TN] = sum (1-p)``.
Ratios are taken of the expected counts (as CBPE does), which is accurate for large windows.

CBPE holds under covariate shift (``P(x)`` moves, ``P(y|x)`` does not) and fails under
concept drift or shift into regions the model never saw, where its confidence is no longer
calibrated. It is only as good as the calibration, so :func:`calibration_error` measures the
expected calibration error (ECE) on labelled reference data for the service to quote.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import numpy.typing as npt

from bot.core.errors import ValidationError

FloatArray = npt.NDArray[np.float64]

DEFAULT_LEVEL = 0.95
DEFAULT_ECE_BINS = 10


@dataclass(frozen=True)
class AccuracyEstimate:
    """Expected accuracy, its standard error and the interval at the level asked for."""

    value: float
    std_error: float
    low: float
    high: float
    n: int


@dataclass(frozen=True)
class ConfidenceSums:
    """The sufficient statistics of a window: ``n``, ``sum c`` and ``sum c(1-c)``.

    Windows merge with ``+``, so per-minute buckets add up to an hour without the rows.
    """

    n: int = 0
    sum_conf: float = 0.0
    sum_var: float = 0.0

    def __add__(self, other: ConfidenceSums) -> ConfidenceSums:
        return ConfidenceSums(
            self.n + other.n, self.sum_conf + other.sum_conf, self.sum_var + other.sum_var
        )

    def estimate(self, *, level: float = DEFAULT_LEVEL) -> AccuracyEstimate:
        return estimate_from_sums(self.n, self.sum_conf, self.sum_var, level=level)


@dataclass(frozen=True)
class BinaryEstimate:
    """CBPE estimates for a binary classifier from its scores ``P(y=1)``.

    ``tp``/``fp``/``fn``/``tn`` are *expected* counts (floats). A ratio whose denominator is
    zero is ``None`` (e.g. precision when nothing was predicted positive), never a silent 0.
    """

    accuracy: float
    precision: float | None
    recall: float | None
    f1: float | None
    tp: float
    fp: float
    fn: float
    tn: float
    n: int
    threshold: float


def _probabilities(values: npt.ArrayLike, field: str) -> FloatArray:
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValidationError(field, f"must be numbers: {exc}") from exc
    if array.ndim != 1:
        raise ValidationError(field, f"must be one-dimensional, got shape {array.shape}")
    if array.size == 0:
        raise ValidationError(field, "has no values")
    if not np.all(np.isfinite(array)):
        raise ValidationError(field, "contains NaN or infinite values; drop them first")
    if np.any((array < 0.0) | (array > 1.0)):
        bad = float(array[(array < 0.0) | (array > 1.0)][0])
        raise ValidationError(field, f"must lie in [0, 1], got {bad:g}")
    return array


def _z(level: float) -> float:
    if not 0.0 < level < 1.0:
        raise ValidationError("level", f"must lie strictly between 0 and 1, got {level:g}")
    return NormalDist().inv_cdf(0.5 + level / 2.0)


def confidence_sums(confidence: npt.ArrayLike) -> ConfidenceSums:
    """The sufficient statistics of ``confidence`` (confidence of the predicted class)."""
    c = _probabilities(confidence, "confidence")
    return ConfidenceSums(int(c.size), float(c.sum()), float(np.sum(c * (1.0 - c))))


def estimate_from_sums(
    n: int, sum_conf: float, sum_var: float, *, level: float = DEFAULT_LEVEL
) -> AccuracyEstimate:
    """Expected accuracy ``sum_conf / n`` with standard error ``sqrt(sum_var) / n``.

    The sums are checked for consistency (``0 <= sum_var <= sum_conf - sum_conf**2 / n``,
    which holds for any confidences in [0, 1]) to catch swapped or corrupted statistics.
    """
    z = _z(level)
    if isinstance(n, bool) or not isinstance(n, int | np.integer):
        raise ValidationError("n", f"must be an integer, got {type(n).__name__}")
    n = int(n)
    if n < 1:
        raise ValidationError("n", f"must be at least 1, got {n}")
    for name, value in (("sum_conf", sum_conf), ("sum_var", sum_var)):
        if not math.isfinite(value):
            raise ValidationError(name, f"must be finite, got {value}")
    tol = 1e-9 * n
    if not -tol <= sum_conf <= n + tol:
        raise ValidationError("sum_conf", f"must lie in [0, n={n}], got {sum_conf:g}")
    sum_conf = min(max(sum_conf, 0.0), float(n))
    ceiling = sum_conf - sum_conf * sum_conf / n
    if not -tol <= sum_var <= ceiling + tol:
        raise ValidationError(
            "sum_var",
            f"must lie in [0, {ceiling:g}] for n={n} and sum_conf={sum_conf:g}, got {sum_var:g}",
        )
    sum_var = min(max(sum_var, 0.0), ceiling)
    value = sum_conf / n
    std_error = math.sqrt(sum_var) / n
    return AccuracyEstimate(
        value=value,
        std_error=std_error,
        low=max(0.0, value - z * std_error),
        high=min(1.0, value + z * std_error),
        n=n,
    )


def estimate_accuracy(
    confidence: npt.ArrayLike, *, level: float = DEFAULT_LEVEL
) -> AccuracyEstimate:
    """Expected accuracy from the calibrated confidence of each predicted class."""
    sums = confidence_sums(confidence)
    return estimate_from_sums(sums.n, sums.sum_conf, sums.sum_var, level=level)


def _threshold(threshold: float) -> float:
    if not 0.0 < threshold < 1.0:
        raise ValidationError("threshold", f"must lie strictly between 0 and 1, got {threshold:g}")
    return float(threshold)


def binary_predictions(scores: npt.ArrayLike, *, threshold: float = 0.5) -> npt.NDArray[np.bool_]:
    """The predicted class (``True`` = positive) of each score: ``p >= threshold``."""
    t = _threshold(threshold)
    return _probabilities(scores, "scores") >= t


def binary_confidence(scores: npt.ArrayLike, *, threshold: float = 0.5) -> FloatArray:
    """Confidence of the predicted class: ``p`` if predicted positive, else ``1 - p``.

    At the usual threshold 0.5 this is ``max(p, 1 - p)``; it feeds :func:`estimate_accuracy`.
    """
    t = _threshold(threshold)
    p = _probabilities(scores, "scores")
    return np.where(p >= t, p, 1.0 - p)


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator > 0.0 else None


def estimate_binary(scores: npt.ArrayLike, *, threshold: float = 0.5) -> BinaryEstimate:
    """CBPE accuracy, precision, recall and F1 from binary scores ``P(y=1)``.

    F1 is ``2 E[TP] / (2 E[TP] + E[FP] + E[FN])``, which equals the harmonic mean of the
    estimated precision and recall whenever both are defined.
    """
    t = _threshold(threshold)
    p = _probabilities(scores, "scores")
    positive = p >= t
    tp = float(p[positive].sum())
    fp = float((1.0 - p[positive]).sum())
    fn = float(p[~positive].sum())
    tn = float((1.0 - p[~positive]).sum())
    return BinaryEstimate(
        accuracy=(tp + tn) / p.size,
        precision=_ratio(tp, tp + fp),
        recall=_ratio(tp, tp + fn),
        f1=_ratio(2.0 * tp, 2.0 * tp + fp + fn),
        tp=tp,
        fp=fp,
        fn=fn,
        tn=tn,
        n=int(p.size),
        threshold=t,
    )


def calibration_error(
    confidence: npt.ArrayLike, correct: npt.ArrayLike, *, bins: int = DEFAULT_ECE_BINS
) -> float:
    """Expected calibration error: ``sum_b (n_b / n) |accuracy_b - mean confidence_b|``.

    ``bins`` equal-width bins on [0, 1]; bin ``b`` holds ``[b/bins, (b+1)/bins)`` and the last
    one also holds 1.0. ``correct`` says whether each prediction was right (bools or 0/1).
    0 means perfectly calibrated; CBPE's estimate can be off by roughly this much.
    """
    if isinstance(bins, bool) or not isinstance(bins, int) or bins < 1:
        raise ValidationError("bins", f"must be an integer of at least 1, got {bins!r}")
    c = _probabilities(confidence, "confidence")
    hits = np.asarray(correct)
    if hits.ndim != 1:
        raise ValidationError("correct", f"must be one-dimensional, got shape {hits.shape}")
    if hits.size != c.size:
        raise ValidationError(
            "correct", f"has {hits.size} values but confidence has {c.size}; they must align"
        )
    if hits.dtype != np.bool_:
        try:
            numeric = hits.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise ValidationError("correct", f"must be booleans or 0/1: {exc}") from exc
        if not np.all((numeric == 0.0) | (numeric == 1.0)):
            raise ValidationError("correct", "must be booleans or 0/1")
        hits = numeric == 1.0
    index = np.minimum((c * bins).astype(np.int64), bins - 1)
    conf_sum = np.bincount(index, weights=c, minlength=bins)
    hit_sum = np.bincount(index, weights=hits.astype(np.float64), minlength=bins)
    return float(np.abs(hit_sum - conf_sum).sum() / c.size)
