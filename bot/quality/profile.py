"""A model version's reference profile: the reference dataset reduced to histograms and counts.

Drift and data-quality checks compare production traffic with the data a model version was
validated on. Keeping that reference as raw rows would make every comparison re-read a
possibly huge file; instead ``vigil model reference`` reduces it once to this profile, which
is small (a few numbers per bin), JSON round-trippable (it is stored in the database) and
fixes the bins production windows are counted on, so both sides are always comparable.

Per numeric feature: the inner quantile cut points (``bot.quality.binning``), counts per bin,
min, max, mean, population std and the missing count. Per categorical feature: the
``max_categories`` most frequent categories with their counts; every rarer category is
pooled in one ``__other__`` bucket (``other``), so a high-cardinality column (user ids) stays
small. Because the tail's names are not kept, a production value outside the kept categories
cannot be told apart from a rare reference value when the reference had a tail: only a
profile whose ``other`` is zero (``complete``) can say "never seen in the reference".

Category values are compared as canonical strings (``category_key``): ``1``, ``1.0`` and
``"1"`` are the same category, ``True`` is ``"true"``. Missing means ``None`` or NaN.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal, TypeAlias, cast

import numpy as np
import numpy.typing as npt

from bot.core.errors import ValidationError
from bot.ingest.validate import json_type
from bot.quality.binning import DEFAULT_BINS, FloatArray, bin_counts, quantile_edges
from bot.quality.labels.reference import ReferenceLabels

PROFILE_VERSION = 1
"""Bumped whenever the ``to_dict`` layout changes; ``from_dict`` refuses other versions."""

OTHER = "__other__"
"""Label of the bucket pooling categories beyond the ``max_categories`` most frequent."""

DEFAULT_MAX_CATEGORIES = 50
CLASS_LIMIT = 20
"""A numeric prediction with at most this many distinct whole values is read as class labels."""

Kind: TypeAlias = Literal["numeric", "categorical"]
Column: TypeAlias = Sequence[object] | npt.NDArray[np.generic]
KINDS: tuple[Kind, ...] = ("numeric", "categorical")


def type_name(value: object) -> str:
    """Name ``value``'s type as JSON does (numpy scalars and tuples included)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, tuple):
        value = list(value)
    return json_type(value)


def is_number(value: object) -> bool:
    """True for ints and floats (NumPy's included) but not booleans."""
    if type(value) is float or type(value) is int:  # the common case, checked fastest
        return True
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(
        value, bool | np.bool_
    )


def category_key(value: object) -> str | None:
    """The canonical string of a category value; ``None`` when missing (None or NaN).

    Raises ``TypeError`` for values that cannot be a category (arrays, objects).
    """
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        number = float(value)
        if math.isnan(number):
            return None
        if number.is_integer():
            return str(int(number))
        return repr(number)
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(type_name(value))


@dataclass(frozen=True)
class NumericProfile:
    """One numeric column: ``len(edges) + 1`` bin counts over the non-missing values."""

    name: str
    edges: tuple[float, ...]
    counts: tuple[int, ...]
    missing: int
    min: float
    max: float
    mean: float
    std: float
    kind: Literal["numeric"] = "numeric"

    @property
    def n(self) -> int:
        """Non-missing values in the reference."""
        return sum(self.counts)

    @property
    def missing_share(self) -> float:
        return self.missing / (self.n + self.missing)

    @property
    def histogram(self) -> tuple[int, ...]:
        """Reference counts per bin, aligned with a window's counts for this column."""
        return self.counts

    def edges_array(self) -> FloatArray:
        return np.asarray(self.edges, dtype=np.float64)


@dataclass(frozen=True)
class CategoricalProfile:
    """One categorical column: counts of the kept categories plus the pooled ``other``."""

    name: str
    categories: tuple[str, ...]
    counts: tuple[int, ...]
    other: int
    missing: int
    kind: Literal["categorical"] = "categorical"

    @property
    def n(self) -> int:
        return sum(self.counts) + self.other

    @property
    def missing_share(self) -> float:
        return self.missing / (self.n + self.missing)

    @property
    def complete(self) -> bool:
        """Whether every reference category was kept (no ``__other__`` tail)."""
        return self.other == 0

    @property
    def histogram(self) -> tuple[int, ...]:
        """Counts per kept category, then ``other`` (the bucket for everything else)."""
        return (*self.counts, self.other)

    @property
    def labels(self) -> tuple[str, ...]:
        return (*self.categories, OTHER)


FeatureProfile: TypeAlias = NumericProfile | CategoricalProfile


@dataclass(frozen=True)
class ReferenceProfile:
    """Everything drift and data-quality checks need to know about a model's reference."""

    n_rows: int
    features: tuple[FeatureProfile, ...]
    prediction: FeatureProfile | None = None
    confidence: NumericProfile | None = None
    importances: Mapping[str, float] = field(default_factory=dict)
    version: int = PROFILE_VERSION
    labels: ReferenceLabels | None = None
    """The reference's label mix and agreement (None: the file had no label column)."""

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.features)

    def feature(self, name: str) -> FeatureProfile:
        for profile in self.features:
            if profile.name == name:
                return profile
        raise KeyError(name)


def _float_items(items: list[Any], field: str) -> FloatArray:
    if set(map(type, items)) <= {int, float, type(None)}:
        return np.array(items, dtype=np.float64).reshape(len(items))
    array = np.empty(len(items), dtype=np.float64)
    for row, value in enumerate(items):
        if value is None:
            array[row] = np.nan
        elif is_number(value):
            array[row] = float(value)
        else:
            name = type_name(value)
            article = "an" if name[0] in "aeiou" else "a"
            raise ValidationError(field, f"must be numeric, but row {row} holds {article} {name}")
    return array


def _numeric_array(values: Column, field: str) -> FloatArray:
    """The column as float64 with NaN for missing; non-numbers and infinities are refused."""
    if isinstance(values, np.ndarray) and values.dtype.kind in "iuf":
        array = values.astype(np.float64).ravel()
    else:
        items = values.tolist() if isinstance(values, np.ndarray) else list(values)
        try:
            array = _float_items(items, field)
        except OverflowError:
            raise ValidationError(field, "holds a number too large for a float") from None
    infinite = np.flatnonzero(np.isinf(array))
    if infinite.size:
        raise ValidationError(field, f"row {int(infinite[0])} is infinite")
    return array


def _looks_numeric(values: Column) -> bool:
    if isinstance(values, np.ndarray) and values.dtype.kind in "iuf":
        return True
    items = values.tolist() if isinstance(values, np.ndarray) else values
    if str in set(map(type, items)):  # a string is neither a number nor missing
        return False
    present = [v for v in items if not is_missing(v)]
    return bool(present) and all(is_number(v) for v in present)


def is_missing(value: object) -> bool:
    """Whether ``value`` reads as missing (None or a float NaN)."""
    return value is None or (isinstance(value, float | np.floating) and math.isnan(value))


def _numeric_profile(name: str, values: Column, field: str, bins: int) -> NumericProfile:
    array = _numeric_array(values, field)
    present = array[~np.isnan(array)]
    if present.size == 0:
        raise ValidationError(field, "has no values (every row is missing)")
    edges = quantile_edges(present, bins, field=field)
    return NumericProfile(
        name=name,
        edges=tuple(float(e) for e in edges),
        counts=tuple(int(c) for c in bin_counts(present, edges)),
        missing=int(array.size - present.size),
        min=float(present.min()),
        max=float(present.max()),
        mean=float(present.mean()),
        std=float(present.std()),
    )


def _category_counts(values: Column, field: str) -> tuple[Counter[str], int]:
    """Counts per category key, and the missing count."""
    if isinstance(values, np.ndarray) and values.dtype.kind in "iuf":
        # Numbers (class labels, forced-categorical codes): key each distinct value once
        # rather than calling category_key on every row (1 s per million rows).
        flat = values.ravel()
        present = flat[~np.isnan(flat)] if flat.dtype.kind == "f" else flat
        distinct, tally = np.unique(present, return_counts=True)
        by_key: Counter[str] = Counter()
        for value, count in zip(distinct.tolist(), tally.tolist(), strict=True):
            by_key[cast(str, category_key(value))] += count
        return by_key, int(flat.size - present.size)
    items = values.tolist() if isinstance(values, np.ndarray) else list(values)
    if set(map(type, items)) <= {str, type(None)}:  # already canonical: count directly
        keys = cast(list[str], [v for v in items if v is not None])
        return Counter(keys), len(items) - len(keys)
    counter: Counter[str] = Counter()
    missing = 0
    for row, value in enumerate(items):
        try:
            key = category_key(value)
        except TypeError as exc:
            message = f"row {row}: a category must be a string, number or boolean, not {exc}"
            raise ValidationError(field, message) from None
        if key is None:
            missing += 1
        else:
            counter[key] += 1
    return counter, missing


def _categorical_profile(
    name: str, values: Column, field: str, max_categories: int
) -> CategoricalProfile:
    counter, missing = _category_counts(values, field)
    if not counter:
        raise ValidationError(field, "has no values (every row is missing)")
    return ranked_categories(name, counter, missing, max_categories)


def ranked_categories(
    name: str, counts: Mapping[str, int], missing: int, limit: int
) -> CategoricalProfile:
    """The most frequent categories (ties by key), the rest as other: every engine's."""
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    kept = ranked[:limit]
    return CategoricalProfile(
        name=name,
        categories=tuple(k for k, _ in kept),
        counts=tuple(c for _, c in kept),
        other=sum(c for _, c in ranked[limit:]),
        missing=missing,
    )


def _column_profile(
    name: str, values: Column, field: str, kind: Kind, bins: int, max_categories: int
) -> FeatureProfile:
    if kind == "numeric":
        return _numeric_profile(name, values, field, bins)
    return _categorical_profile(name, values, field, max_categories)


def _prediction_kind(values: Column) -> Kind:
    """Class labels (strings, booleans, or few whole numbers) or a regression output."""
    if not _looks_numeric(values):
        return "categorical"
    array = _numeric_array(values, "prediction")
    present = array[~np.isnan(array)]
    whole = bool(np.all(present == np.round(present)))
    return "categorical" if whole and np.unique(present).size <= CLASS_LIMIT else "numeric"


def build_profile(
    columns: Mapping[str, Column],
    *,
    kinds: Mapping[str, Kind] | None = None,
    prediction: Column | None = None,
    prediction_kind: Kind | None = None,
    confidence: Column | None = None,
    importances: Mapping[str, float] | None = None,
    bins: int = DEFAULT_BINS,
    max_categories: int = DEFAULT_MAX_CATEGORIES,
) -> ReferenceProfile:
    """Reduce a reference dataset (column name to values) to a ``ReferenceProfile``.

    A column's kind is inferred unless ``kinds`` names it: numeric when every present value
    is a number (even with few distinct values: pass ``kinds`` to make a code categorical),
    categorical otherwise. ``prediction`` is profiled as class labels or as a regression
    output (``prediction_kind`` overrides the guess); ``confidence`` must lie in [0, 1].
    """
    if not columns:
        raise ValidationError("features", "the reference has no feature columns")
    if max_categories < 1:
        raise ValidationError("max_categories", f"must be at least 1, got {max_categories}")
    kinds = dict(kinds or {})
    for name, kind in kinds.items():
        if name not in columns:
            raise ValidationError(f"kinds.{name}", "is not a column of the reference")
        if kind not in KINDS:
            raise ValidationError(f"kinds.{name}", f'must be "numeric" or "categorical": {kind}')
    lengths = [(f"features.{name}", name, len(values)) for name, values in columns.items()]
    extra = {"prediction": prediction, "confidence": confidence}
    lengths += [(k, k, len(v)) for k, v in extra.items() if v is not None]
    n_rows = lengths[0][2]
    for path, name, length in lengths:
        if not isinstance(name, str) or not name:
            raise ValidationError("features", f"column names must be non-empty strings: {name!r}")
        if length != n_rows:
            raise ValidationError(path, f"has {length} rows but the first column has {n_rows}")
    if n_rows == 0:
        raise ValidationError("features", "the reference has no rows")
    features = tuple(
        _column_profile(
            name,
            values,
            f"features.{name}",
            kinds.get(name) or ("numeric" if _looks_numeric(values) else "categorical"),
            bins,
            max_categories,
        )
        for name, values in columns.items()
    )
    predicted = None
    if prediction is not None:
        kind = prediction_kind or _prediction_kind(prediction)
        predicted = _column_profile(
            "prediction", prediction, "prediction", kind, bins, max_categories
        )
    confident = None
    if confidence is not None:
        confident = _numeric_profile("confidence", confidence, "confidence", bins)
        if confident.min < 0.0 or confident.max > 1.0:
            raise ValidationError("confidence", "values must lie between 0 and 1")
    weights: dict[str, float] = {}
    for name, weight in (importances or {}).items():
        if name not in columns:
            raise ValidationError(f"importances.{name}", "is not a column of the reference")
        if not is_number(weight) or not math.isfinite(weight):
            raise ValidationError(f"importances.{name}", "must be a finite number")
        weights[name] = float(weight)
    return ReferenceProfile(
        n_rows=n_rows,
        features=features,
        prediction=predicted,
        confidence=confident,
        importances=weights,
    )
