"""Realized classification metrics, once labels arrive and are joined to predictions.

This is the ground truth that the label-free estimate (:mod:`bot.quality.estimate`) stands
in for until labels come; the service joins labels to predictions by id and hands over two
aligned arrays. A streaming service should not keep rows, so everything is computed from a
confusion matrix that :class:`Confusion` accumulates batch by batch (and that merges).

Conventions, chosen so a window missing a class never crashes or lies:

* A ratio with a zero denominator is ``None`` ("undefined"), never a ``ZeroDivisionError``
  and never a silent 0: precision of a class nobody predicted, recall of a class absent from
  the labels. The counts are reported alongside, so the reader sees why.
* F1 is ``2 TP / (2 TP + FP + FN)``. It equals the harmonic mean of precision and recall
  when both are defined, and it is 0 (not undefined) when a class was present but never
  predicted, or predicted but never present: that is a real miss.
* ``positive=<label>`` gives binary metrics for that label (one-vs-rest if there are more
  classes). ``positive=None`` gives *macro* averages: the unweighted mean over the classes
  seen in either array, of those classes whose value is defined (so a class never predicted
  contributes to macro recall and F1, but not to macro precision; see ``per_class``).
* Accuracy is the share of exact matches, always defined since ``n >= 1``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from bot.core.errors import ValidationError

Label = int | float | str
_KINDS = "biufUO"  # bool, signed/unsigned int, float, unicode, object (checked per item)


@dataclass(frozen=True)
class ClassMetrics:
    """One class, one-vs-rest. ``support`` = true count, ``predicted`` = predicted count."""

    label: Label
    precision: float | None
    recall: float | None
    f1: float | None
    tp: int
    support: int
    predicted: int


@dataclass(frozen=True)
class Metrics:
    """Accuracy and precision/recall/F1: binary for ``positive``, else macro averages."""

    accuracy: float
    precision: float | None
    recall: float | None
    f1: float | None
    n: int
    correct: int
    average: str  # "binary" or "macro"
    positive: Label | None
    per_class: tuple[ClassMetrics, ...]


def _sort_key(label: Label) -> tuple[int, float, str]:
    if isinstance(label, int | float):
        return (0, float(label), "")
    return (1, 0.0, str(label))


def _labels(values: npt.ArrayLike, field: str) -> npt.NDArray[np.generic]:
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValidationError(field, f"must be one-dimensional, got shape {array.shape}")
    if array.size == 0:
        raise ValidationError(field, "has no values")
    if array.dtype.kind not in _KINDS:
        raise ValidationError(field, f"labels must be ints, strings or bools, not {array.dtype}")
    if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
        raise ValidationError(field, "contains NaN or infinite labels; drop unlabelled rows first")
    if array.dtype.kind == "O":
        for item in array.tolist():
            ok = isinstance(item, int | str) or (isinstance(item, float) and math.isfinite(item))
            if not ok:
                raise ValidationError(field, f"labels must be ints or strings, got {item!r}")
    return array


def _family(array: npt.NDArray[np.generic]) -> str:
    kind = array.dtype.kind
    return "strings" if kind == "U" else "object" if kind == "O" else "numbers"


def _pair_counts(
    y_true: npt.NDArray[np.generic], y_pred: npt.NDArray[np.generic]
) -> dict[tuple[Label, Label], int]:
    if y_true.dtype.kind == "O" or y_pred.dtype.kind == "O":
        counts: dict[tuple[Label, Label], int] = {}
        for pair in zip(y_true.tolist(), y_pred.tolist(), strict=True):
            counts[pair] = counts.get(pair, 0) + 1
        return counts
    true_labels, true_index = np.unique(y_true, return_inverse=True)
    pred_labels, pred_index = np.unique(y_pred, return_inverse=True)
    codes = true_index.ravel() * pred_labels.size + pred_index.ravel()
    tally = np.bincount(codes, minlength=true_labels.size * pred_labels.size)
    t_list, p_list = true_labels.tolist(), pred_labels.tolist()
    return {
        (t_list[code // pred_labels.size], p_list[code % pred_labels.size]): int(tally[code])
        for code in np.flatnonzero(tally).tolist()
    }


def _ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator > 0 else None


def _mean(values: Iterable[float | None]) -> float | None:
    defined = [v for v in values if v is not None]
    return sum(defined) / len(defined) if defined else None


class Confusion:
    """Counts of (true label, predicted label) pairs: keeps counts, not rows.

    ``add`` a batch as labels arrive, ``metrics()`` at any time; two windows' matrices merge
    with ``merge``. ``counts()``/``Confusion(counts)`` round-trip for storage.
    """

    def __init__(self, counts: Mapping[tuple[Label, Label], int] | None = None) -> None:
        self._counts: dict[tuple[Label, Label], int] = {}
        for pair, count in (counts or {}).items():
            if isinstance(count, bool) or not isinstance(count, int) or count < 0:
                raise ValidationError("counts", f"{pair!r} must be a count >= 0, got {count!r}")
            if count:
                self._counts[pair] = self._counts.get(pair, 0) + count

    @property
    def n(self) -> int:
        return sum(self._counts.values())

    def counts(self) -> dict[tuple[Label, Label], int]:
        """``{(true, predicted): count}`` for every pair seen (a copy)."""
        return dict(self._counts)

    def labels(self) -> tuple[Label, ...]:
        """Every label seen as truth or prediction, sorted (numbers before strings)."""
        seen = {label for pair in self._counts for label in pair}
        return tuple(sorted(seen, key=_sort_key))

    def add(self, y_true: npt.ArrayLike, y_pred: npt.ArrayLike) -> None:
        """Count one batch of aligned true and predicted labels."""
        true = _labels(y_true, "y_true")
        pred = _labels(y_pred, "y_pred")
        kinds = {_family(true), _family(pred)} - {"object"}
        if len(kinds) > 1:
            raise ValidationError(
                "y_pred",
                f"labels are {_family(pred)} but y_true's are {_family(true)}; "
                "convert one side so equal classes compare equal",
            )
        if true.size != pred.size:
            raise ValidationError(
                "y_pred", f"has {pred.size} values but y_true has {true.size}; they must align"
            )
        for pair, count in _pair_counts(true, pred).items():
            self._counts[pair] = self._counts.get(pair, 0) + count

    def merge(self, other: Confusion) -> Confusion:
        """A new matrix holding both windows' counts."""
        merged = Confusion(self._counts)
        for pair, count in other._counts.items():
            merged._counts[pair] = merged._counts.get(pair, 0) + count
        return merged

    def matrix(self) -> tuple[tuple[Label, ...], npt.NDArray[np.int64]]:
        """``(labels, m)`` with ``m[i, j]`` = rows of true ``labels[i]`` predicted ``labels[j]``."""
        labels = self.labels()
        index = {label: i for i, label in enumerate(labels)}
        m = np.zeros((len(labels), len(labels)), dtype=np.int64)
        for (t, p), count in self._counts.items():
            m[index[t], index[p]] += count
        return labels, m

    def class_metrics(self, label: Label) -> ClassMetrics:
        """One-vs-rest counts and ratios for ``label`` (all undefined if never seen)."""
        tp = self._counts.get((label, label), 0)
        support = sum(c for (t, _), c in self._counts.items() if t == label)
        predicted = sum(c for (_, p), c in self._counts.items() if p == label)
        return ClassMetrics(
            label=label,
            precision=_ratio(tp, predicted),
            recall=_ratio(tp, support),
            f1=_ratio(2 * tp, support + predicted),
            tp=tp,
            support=support,
            predicted=predicted,
        )

    def metrics(self, *, positive: Label | None = None) -> Metrics:
        """Accuracy plus binary (for ``positive``) or macro precision, recall and F1."""
        n = self.n
        if n == 0:
            raise ValidationError("y_true", "no labelled predictions counted yet")
        correct = sum(c for (t, p), c in self._counts.items() if t == p)
        per_class = tuple(self.class_metrics(label) for label in self.labels())
        if positive is None:
            precision = _mean(c.precision for c in per_class)
            recall = _mean(c.recall for c in per_class)
            f1 = _mean(c.f1 for c in per_class)
            average = "macro"
        else:
            chosen = self.class_metrics(positive)
            precision, recall, f1 = chosen.precision, chosen.recall, chosen.f1
            average = "binary"
        return Metrics(
            accuracy=correct / n,
            precision=precision,
            recall=recall,
            f1=f1,
            n=n,
            correct=correct,
            average=average,
            positive=positive,
            per_class=per_class,
        )


def classification_metrics(
    y_true: npt.ArrayLike, y_pred: npt.ArrayLike, *, positive: Label | None = None
) -> Metrics:
    """Metrics of one batch of aligned labels; see the module docstring for conventions."""
    confusion = Confusion()
    confusion.add(y_true, y_pred)
    return confusion.metrics(positive=positive)
