"""What every drift statistic checks and shares: its input types, validation, proportions.

Counts and samples are validated here once, each refusal a ``ValidationError`` naming the
argument (``reference``, ``current``, ``eps``…), so every statistic refuses bad input alike.
An empty bin gets an explicit ``eps`` proportion, then the vector is renormalised (KL stays
>= 0), never ``inf``; a bin empty on *both* sides says nothing and is dropped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np
import numpy.typing as npt

from bot.core.errors import ValidationError

Counts = npt.ArrayLike
"""Counts per bin or category (ints or floats): anything ``np.asarray`` reads as numbers."""
Column = npt.ArrayLike | Sequence[object]
"""One feature's raw values, numbers or categories (any hashable, orderable objects)."""
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
Kind = Literal["numeric", "categorical"]
Binning = Literal["quantile", "equal_width"]

DEFAULT_EPS = 1e-4
"""Proportion given to an empty bin (before renormalising) so logarithms stay finite."""
DEFAULT_MIN_STD = 1e-3
"""Floor of the reference std that Wasserstein is divided by (Evidently's value)."""
LARGE_SAMPLE_ROWS = 1000
"""Above this many reference rows, defaults switch from p-value tests to effect sizes."""


@dataclass(frozen=True)
class StatTestResult:
    """A test's statistic and its two-sided p-value."""

    statistic: float
    p_value: float


def check_kind(kind: str) -> None:
    """``kind`` is ``numeric`` or ``categorical``."""
    if kind not in get_args(Kind):
        raise ValidationError("kind", f"must be 'numeric' or 'categorical', got {kind!r}")


def numeric_values(values: Column, field: str) -> FloatArray:
    """``values`` as a flat float array; empty, non-numeric, NaN or inf → ``ValidationError``."""
    try:
        array = np.asarray(values, dtype=np.float64).ravel()
    except (TypeError, ValueError) as exc:
        raise ValidationError(
            field, "must be numbers; compare non-numeric features as kind='categorical'"
        ) from exc
    if array.size == 0:
        raise ValidationError(field, "has no values")
    finite = np.isfinite(array)
    if not finite.all():
        bad = int(array.size - np.count_nonzero(finite))
        raise ValidationError(field, f"contains {bad} NaN or infinite values; drop or impute them")
    return array


def counts_of(values: Counts, field: str) -> FloatArray:
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValidationError(field, "must be a list of counts (numbers)") from exc
    if array.ndim != 1:
        raise ValidationError(field, f"must be a flat list of counts, got shape {array.shape}")
    if array.size == 0:
        raise ValidationError(field, "has no bins")
    if not np.isfinite(array).all():
        raise ValidationError(field, "contains NaN or infinite counts")
    if (array < 0).any():
        first = int(np.argmax(array < 0))
        raise ValidationError(field, f"has a negative count ({array[first]:g} in bin {first})")
    if array.sum() <= 0:
        raise ValidationError(field, "counts sum to zero; an empty window has no distribution")
    return array


def pair(reference: Counts, current: Counts) -> tuple[FloatArray, FloatArray]:
    ref, cur = counts_of(reference, "reference"), counts_of(current, "current")
    if ref.size != cur.size:
        raise ValidationError(
            "current",
            f"has {cur.size} bins but reference has {ref.size}; count both on the same bins",
        )
    return ref, cur


def positive(value: float, field: str) -> float:
    if not (math.isfinite(value) and value > 0):
        raise ValidationError(field, f"must be a positive finite number, got {value!r}")
    return float(value)


def check_eps(eps: float) -> float:
    if not (math.isfinite(eps) and 0 < eps < 1):
        raise ValidationError("eps", f"must be between 0 and 1 (exclusive), got {eps!r}")
    return eps


def proportions(counts: FloatArray, eps: float) -> FloatArray:
    """Counts → proportions; empty bins get ``eps`` and the vector is renormalised."""
    p: FloatArray = counts / counts.sum()
    if (p == 0).any():
        p = np.where(p > 0, p, eps)
        p /= p.sum()
    return p


def informative(ref: FloatArray, cur: FloatArray) -> tuple[FloatArray, FloatArray]:
    keep = (ref > 0) | (cur > 0)
    return ref[keep], cur[keep]
