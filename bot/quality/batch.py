"""Production rows as columns coded against a reference profile, ready to be counted.

The windows count rows with ``np.bincount``, which wants one integer per value: a numeric
feature stays a float64 column (NaN for missing) that the window bins on the reference's
edges, and a categorical feature becomes an int64 code column: ``0 .. K-1`` for the
profile's kept categories, ``K`` for anything else (the ``__other__`` bucket, which for a
*complete* profile means "never seen in the reference"), and ``MISSING`` (-1).

What "clean" means is decided here, once, for the row checker and the windows alike: a row
is clean when no feature is missing, no numeric value lies strictly outside the reference's
[min, max], and no categorical value is unseen in a complete profile. There is no tolerance
band: the reference range is the range the model was validated on, and the data-quality
score is the share of rows inside it.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import repeat
from typing import Any, TypeAlias, cast

import numpy as np
import numpy.typing as npt

from bot.quality.binning import FloatArray, IntArray
from bot.quality.profile import (
    CategoricalProfile,
    FeatureProfile,
    NumericProfile,
    ReferenceProfile,
    category_key,
    is_number,
)

BoolArray: TypeAlias = npt.NDArray[np.bool_]
TimeArray: TypeAlias = npt.NDArray[np.datetime64]
Column: TypeAlias = npt.NDArray[Any]

MISSING = -1
"""Code of a missing categorical value."""


@dataclass(frozen=True)
class ColumnBatch:
    """Accepted rows, column by column; every array has one entry per accepted row.

    ``features`` maps each profile feature to float64 (numeric, NaN missing) or int64 codes
    (categorical). ``prediction`` is int64 codes when the profile's prediction is
    categorical, float64 otherwise. ``timestamps`` is ``datetime64[us]`` (NaT where a row
    had none). ``rejected`` counts rows of the same post refused as malformed: they are not
    here, but they count against the data-quality score.
    """

    features: Mapping[str, Column]
    prediction: Column
    clean: BoolArray
    confidence: FloatArray | None = None
    timestamps: TimeArray | None = None
    rejected: int = 0

    def __post_init__(self) -> None:
        n = self.clean.shape[0]
        arrays = {"prediction": self.prediction, "confidence": self.confidence}
        arrays.update({f"features.{k}": v for k, v in self.features.items()})
        arrays["timestamps"] = self.timestamps
        for name, array in arrays.items():
            if array is not None and array.shape != (n,):
                raise ValueError(f"{name} has shape {array.shape}, expected ({n},)")
        if self.rejected < 0:
            raise ValueError("rejected must not be negative")

    @property
    def n_rows(self) -> int:
        return int(self.clean.shape[0])

    def rows(self, start: int, stop: int) -> ColumnBatch:
        """Rows ``start:stop`` (views, no copies); the slice carries no rejected rows."""
        cut = slice(start, stop)
        return ColumnBatch(
            features={k: v[cut] for k, v in self.features.items()},
            prediction=self.prediction[cut],
            clean=self.clean[cut],
            confidence=None if self.confidence is None else self.confidence[cut],
            timestamps=None if self.timestamps is None else self.timestamps[cut],
        )

    def take(self, index: IntArray, *, rejected: int = 0) -> ColumnBatch:
        """The rows at ``index`` (copies), with ``rejected`` rows of the post refused beside
        them: one model version's share of a post."""
        return ColumnBatch(
            features={k: v[index] for k, v in self.features.items()},
            prediction=self.prediction[index],
            clean=self.clean[index],
            confidence=None if self.confidence is None else self.confidence[index],
            timestamps=None if self.timestamps is None else self.timestamps[index],
            rejected=rejected,
        )

    def with_rejected(self, rejected: int) -> ColumnBatch:
        """The same rows, counted beside ``rejected`` refused ones."""
        return dataclasses.replace(self, rejected=rejected)


@dataclass(frozen=True)
class FeatureIssues:
    """Per feature, how many accepted rows were missing it or fell outside the reference."""

    missing: int = 0
    out_of_range: int = 0
    unknown_category: int = 0


@dataclass(frozen=True)
class Encoded:
    """A coded batch, its per-feature issues, and how many rows had each kind of issue."""

    batch: ColumnBatch
    issues: dict[str, FeatureIssues]
    """Only features with at least one issue."""
    rows_missing: int
    rows_out_of_range: int
    rows_unknown_category: int


def category_codes(profile: CategoricalProfile, values: Column | Sequence[object]) -> IntArray:
    """Codes of raw category values: kept index, ``K`` for any other, ``MISSING``."""
    index: dict[str | None, int] = {name: code for code, name in enumerate(profile.categories)}
    index[None] = MISSING
    other = len(profile.categories)
    items: Sequence[object] = values.tolist() if isinstance(values, np.ndarray) else values
    if set(map(type, items)) <= {str, type(None)}:
        keys = cast(Sequence[str | None], items)  # already canonical: skip category_key
    else:
        keys = [category_key(v) for v in items]
    codes = map(index.get, keys, repeat(other))  # one C-level pass, no Python per value
    return np.fromiter(codes, dtype=np.int64, count=len(keys))


def missing_mask(profile: FeatureProfile, column: Column) -> BoolArray:
    if isinstance(profile, NumericProfile):
        return np.isnan(column)
    return column == MISSING  # type: ignore[no-any-return]


def outside_reference(profile: FeatureProfile, column: Column) -> BoolArray:
    """Values strictly outside the reference range, or categories it never had."""
    if isinstance(profile, NumericProfile):
        return (column < profile.min) | (column > profile.max)  # NaN compares False
    if profile.complete:
        return column == len(profile.categories)  # type: ignore[no-any-return]
    return np.zeros(column.shape, dtype=np.bool_)


def _numbers(values: Column | Sequence[object]) -> FloatArray:
    """Float64 of numeric values; anything else (labels, booleans, None) reads as NaN."""
    if isinstance(values, np.ndarray) and values.dtype.kind in "iuf":
        return values.astype(np.float64)
    if not isinstance(values, np.ndarray) and set(map(type, values)) <= {int, float}:
        with contextlib.suppress(OverflowError):  # an integer too large: value by value
            return np.array(values, dtype=np.float64).reshape(len(values))
    items = [float(cast(float, v)) if is_number(v) else np.nan for v in values]
    return np.array(items, dtype=np.float64).reshape(len(items))


def encode_columns(
    profile: ReferenceProfile,
    features: Mapping[str, Column | Sequence[object]],
    prediction: Column | Sequence[object],
    *,
    confidence: FloatArray | None = None,
    timestamps: TimeArray | None = None,
    rejected: int = 0,
) -> Encoded:
    """Code already type-checked columns against ``profile`` and decide which rows are clean.

    Numeric columns must already be float64-convertible (NaN or None for missing);
    categorical columns hold raw values. A profile feature absent from ``features`` is
    missing on every row.
    """
    n = len(prediction)
    any_missing, any_outside, any_unknown = (np.zeros(n, dtype=np.bool_) for _ in range(3))
    coded: dict[str, Column] = {}
    issues: dict[str, FeatureIssues] = {}
    for spec in profile.features:
        raw = features.get(spec.name)
        if raw is None:
            column: Column = (
                np.full(n, np.nan)
                if isinstance(spec, NumericProfile)
                else np.full(n, MISSING, dtype=np.int64)
            )
        elif isinstance(spec, NumericProfile):
            column = np.asarray(raw, dtype=np.float64)
        else:
            column = category_codes(spec, raw)
        missing = missing_mask(spec, column)
        outside = outside_reference(spec, column)
        any_missing |= missing
        if isinstance(spec, NumericProfile):
            any_outside |= outside
        else:
            any_unknown |= outside
        coded[spec.name] = column
        n_missing, n_outside = int(missing.sum()), int(outside.sum())
        if n_missing or n_outside:
            numeric = isinstance(spec, NumericProfile)
            issues[spec.name] = FeatureIssues(
                missing=n_missing,
                out_of_range=n_outside if numeric else 0,
                unknown_category=0 if numeric else n_outside,
            )
    target = profile.prediction
    if isinstance(target, CategoricalProfile):
        predicted: Column = category_codes(target, prediction)
    else:
        predicted = _numbers(prediction)
    batch = ColumnBatch(
        features=coded,
        prediction=predicted,
        clean=~(any_missing | any_outside | any_unknown),
        confidence=confidence,
        timestamps=timestamps,
        rejected=rejected,
    )
    return Encoded(
        batch=batch,
        issues=issues,
        rows_missing=int(any_missing.sum()),
        rows_out_of_range=int(any_outside.sum()),
        rows_unknown_category=int(any_unknown.sum()),
    )
