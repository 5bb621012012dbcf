"""Drift statistics: how far a production window's distribution moved from the reference's.

* **From counts** (``*_counts``, O(bins)): what a streaming window holds, per-bin counts on
  the reference's cut points (:mod:`bot.quality.binning`) or per-category counts aligned by
  category. An empty bin gets an explicit ``eps`` proportion, then the vector is renormalised
  (KL stays >= 0), never ``inf``; a bin empty on *both* sides says nothing and is dropped.
* **From raw arrays** (:func:`psi`, :func:`ks`, ...): reference profiles, batch checks, the
  benchmark. The reference is sorted once (numpy's SIMD sort beats a bin search per value),
  its cuts and counts read off the sorted array; categories align on the union of both sides,
  so a category the reference never saw is its own bucket.

Conventions: natural logs; PSI ``sum((q - p) ln(q / p))``; KL is KL(reference ‖ current);
JS is the Jensen-Shannon *distance* (sqrt of the divergence, at most ``sqrt(ln 2)``);
Wasserstein is divided by the reference's population std, floored at ``min_std``.

Defaults (:func:`default_method`) follow Evidently: on more than ``LARGE_SAMPLE_ROWS``
reference rows a p-value flags trivial shifts (everything is "significant" on a million
rows), so large samples use effect sizes, Wasserstein (normed) for numeric and JS for
categorical, threshold 0.1; small samples use KS p < 0.05 and chi-square p < 0.05. PSI's 0.2
is the product's rule "input drift PSI > 0.2". Evidently-equal values: :mod:`.evidently_compat`.

scipy is imported by the functions that use it, on their first call, not with this module:
it takes over half a second to import, and every ``vigil`` command (``vigil demo``, ``vigil
check``) builds the app, which imports this module, whether or not it ever judges drift.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Mapping, Sequence, Sized
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal, get_args

import numpy as np
import numpy.typing as npt

from bot.errors import ValidationError
from bot.quality.binning import DEFAULT_BINS, equal_width_edges, quantile_edges

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


# --- validation -----------------------------------------------------------------------------


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


def _counts(values: Counts, field: str) -> FloatArray:
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


def _pair(reference: Counts, current: Counts) -> tuple[FloatArray, FloatArray]:
    ref, cur = _counts(reference, "reference"), _counts(current, "current")
    if ref.size != cur.size:
        raise ValidationError(
            "current",
            f"has {cur.size} bins but reference has {ref.size}; count both on the same bins",
        )
    return ref, cur


def _positive(value: float, field: str) -> float:
    if not (math.isfinite(value) and value > 0):
        raise ValidationError(field, f"must be a positive finite number, got {value!r}")
    return float(value)


def _check_eps(eps: float) -> float:
    if not (math.isfinite(eps) and 0 < eps < 1):
        raise ValidationError("eps", f"must be between 0 and 1 (exclusive), got {eps!r}")
    return eps


def _proportions(counts: FloatArray, eps: float) -> FloatArray:
    """Counts → proportions; empty bins get ``eps`` and the vector is renormalised."""
    p: FloatArray = counts / counts.sum()
    if (p == 0).any():
        p = np.where(p > 0, p, eps)
        p /= p.sum()
    return p


def _informative(ref: FloatArray, cur: FloatArray) -> tuple[FloatArray, FloatArray]:
    keep = (ref > 0) | (cur > 0)
    return ref[keep], cur[keep]


# --- from counts ----------------------------------------------------------------------------


def psi_counts(reference: Counts, current: Counts, *, eps: float = DEFAULT_EPS) -> float:
    """Population Stability Index ``sum((q - p) ln(q / p))`` of two count vectors (symmetric)."""
    ref, cur = _informative(*_pair(reference, current))
    p, q = _proportions(ref, _check_eps(eps)), _proportions(cur, eps)
    return float(np.sum((q - p) * np.log(q / p)))


def kl_counts(reference: Counts, current: Counts, *, eps: float = DEFAULT_EPS) -> float:
    """Kullback-Leibler divergence KL(reference ‖ current) ``= sum(p ln(p / q))``; not symmetric."""
    ref, cur = _informative(*_pair(reference, current))
    p, q = _proportions(ref, _check_eps(eps)), _proportions(cur, eps)
    from scipy import special  # type: ignore[import-untyped, unused-ignore]  # deferred: above

    return max(0.0, float(np.sum(special.rel_entr(p, q))))


def js_counts(reference: Counts, current: Counts) -> float:
    """Jensen-Shannon distance ``sqrt((KL(p‖m) + KL(q‖m)) / 2)``, ``m = (p + q) / 2``.

    Symmetric and bounded by ``sqrt(ln 2)``; needs no ``eps`` (``m`` is positive wherever
    ``p`` or ``q`` is). Equals ``scipy.spatial.distance.jensenshannon`` on the proportions.
    """
    ref, cur = _pair(reference, current)
    p, q = ref / ref.sum(), cur / cur.sum()
    m = (p + q) / 2
    from scipy import special  # type: ignore[import-untyped, unused-ignore]  # deferred: above

    divergence = (np.sum(special.rel_entr(p, m)) + np.sum(special.rel_entr(q, m))) / 2
    return math.sqrt(max(0.0, float(divergence)))


def chi_square_counts(
    reference: Counts, current: Counts, *, eps: float = DEFAULT_EPS
) -> StatTestResult:
    """Chi-square goodness of fit of the current counts to the reference's proportions.

    As Evidently does, the expected counts are the reference proportions scaled to the
    current total. A category the reference never saw would expect 0 rows (an infinite
    statistic), so its proportion is ``eps`` instead. Degrees of freedom: informative
    categories - 1; with a single one there is nothing to compare (statistic 0, p 1).
    """
    _check_eps(eps)
    ref, cur = _informative(*_pair(reference, current))
    if ref.size < 2:
        return StatTestResult(0.0, 1.0)
    expected = _proportions(ref, eps) * cur.sum()
    statistic = float(np.sum((cur - expected) ** 2 / expected))
    from scipy import stats  # type: ignore[import-untyped, unused-ignore]  # deferred: above

    return StatTestResult(statistic, float(stats.chi2.sf(statistic, ref.size - 1)))


def ks_counts(reference: Counts, current: Counts) -> StatTestResult:
    """Two-sample Kolmogorov-Smirnov on binned counts (ordered bins only) — an approximation.

    The statistic is the largest CDF difference *at the bin edges*; the true one (over every
    value) can only be larger, so this never overstates drift and coarse bins understate it.
    The p-value is Smirnov's asymptotic one with the counts' totals as sample sizes.
    """
    ref, cur = _pair(reference, current)
    gap = np.cumsum(ref) / ref.sum() - np.cumsum(cur) / cur.sum()
    statistic = float(np.max(np.abs(gap)))
    n, m = ref.sum(), cur.sum()  # as ks_2samp(method="asymp"): kstwo with n m / (n + m) rows
    from scipy import stats  # type: ignore[import-untyped, unused-ignore]  # deferred: above

    p_value = stats.kstwo.sf(statistic, max(1.0, float(np.round(n * m / (n + m)))))
    return StatTestResult(statistic, float(np.clip(p_value, 0.0, 1.0)))


def wasserstein_counts(
    reference: Counts,
    current: Counts,
    edges: npt.ArrayLike,
    *,
    low: float,
    high: float,
    ref_std: float,
    min_std: float = DEFAULT_MIN_STD,
) -> float:
    """Wasserstein-1 between binned counts, divided by ``max(ref_std, min_std)`` — approximate.

    Every row of a bin is placed at the bin's midpoint; the open outer bins are clamped to
    the reference range ``[low, high]``, so values far outside it count as if at its edge
    (PSI and KS still see them). ``edges`` are the inner cut points the counts were taken on.
    """
    ref, cur = _pair(reference, current)
    cuts = numeric_values(edges, "edges")
    if cuts.size + 1 != ref.size:
        raise ValidationError("edges", f"gives {cuts.size + 1} bins but the counts have {ref.size}")
    if (np.diff(cuts) <= 0).any():
        raise ValidationError("edges", "must be strictly increasing")
    if not (math.isfinite(low) and low <= cuts[0]):
        raise ValidationError("low", f"must be finite and at most the first cut {cuts[0]:g}")
    if not (math.isfinite(high) and high >= cuts[-1]):
        raise ValidationError("high", f"must be finite and at least the last cut {cuts[-1]:g}")
    if not (math.isfinite(ref_std) and ref_std >= 0):
        raise ValidationError("ref_std", f"must be a finite number >= 0, got {ref_std!r}")
    bounds = np.concatenate(([low], cuts, [high]))
    mids = (bounds[:-1] + bounds[1:]) / 2
    gap = np.cumsum(ref)[:-1] / ref.sum() - np.cumsum(cur)[:-1] / cur.sum()
    distance = float(np.sum(np.abs(gap) * np.diff(mids)))
    return distance / max(ref_std, _positive(min_std, "min_std"))


# --- from raw arrays ------------------------------------------------------------------------


def _open_histogram(values: FloatArray, edges: FloatArray) -> IntArray:
    """Counts on the inner cut points with open outer bins (``binning.bin_counts`` semantics)."""
    bounds = np.concatenate(([-np.inf], edges, [np.inf]))
    return np.histogram(values, bounds)[0].astype(np.int64)


def histogram_counts(
    reference: Column,
    current: Column,
    *,
    bins: int = DEFAULT_BINS,
    binning: Binning = "quantile",
) -> tuple[FloatArray, IntArray, IntArray]:
    """The reference's inner cut points and both sides' counts on them.

    A constant reference has no spread to cut (every current value above it would share its
    bin), so it is refused; compare such a feature with :func:`ks`, :func:`wasserstein_normed`
    or as ``kind="categorical"``.
    """
    ref = np.sort(numeric_values(reference, "reference"))
    cur = numeric_values(current, "current")
    if ref[0] == ref[-1]:
        raise ValidationError(
            "reference",
            f"is constant (every value is {ref[0]:g}), so it cannot be cut into bins; "
            "use ks or wasserstein_normed, or compare it as kind='categorical'",
        )
    if binning == "quantile":
        edges = quantile_edges(ref, bins)
    elif binning == "equal_width":
        edges = equal_width_edges(ref, bins)
    else:
        raise ValidationError("binning", f"must be 'quantile' or 'equal_width', got {binning!r}")
    below = np.searchsorted(ref, edges, side="left")
    ref_counts = np.diff(below, prepend=0, append=ref.size).astype(np.int64)
    return edges, ref_counts, _open_histogram(cur, edges)


def _tally(values: Column, field: str) -> dict[Any, int]:
    """Count per category; missing (None, NaN) or mutually unorderable categories are refused.

    Typed arrays go through ``np.unique``; object arrays through a hash ``Counter`` (sorting
    Python objects is ~30x slower). A plain list stays objects, so ``["a", 1]`` is refused
    rather than silently read as ``["a", "1"]``.
    """
    typed = hasattr(values, "dtype")
    array = (np.asarray(values) if typed else np.asarray(values, dtype=object)).ravel()
    if array.size == 0:
        raise ValidationError(field, "has no values")
    if array.dtype.kind == "O":
        tally = dict(Counter(array.tolist()))
    else:
        keys, counts = np.unique(array, return_counts=True)
        tally = dict(zip(keys.tolist(), counts.tolist(), strict=True))
    missing = sum(n for k, n in tally.items() if k is None or (isinstance(k, float) and k != k))
    if missing:
        raise ValidationError(field, f"has {missing} missing values; map them to e.g. '<missing>'")
    try:
        sorted(tally)
    except TypeError:
        raise ValidationError(field, "mixes category types (e.g. str and int); use str") from None
    return tally


def category_counts(reference: Column, current: Column) -> tuple[list[Any], IntArray, IntArray]:
    """Sorted union of both sides' categories and each side's count per category."""
    ref, cur = _tally(reference, "reference"), _tally(current, "current")
    try:
        categories = sorted(ref.keys() | cur.keys())
    except TypeError:
        raise ValidationError(
            "current", "has categories of another type than the reference's; use one type"
        ) from None
    ref_counts = np.array([ref.get(c, 0) for c in categories], dtype=np.int64)
    cur_counts = np.array([cur.get(c, 0) for c in categories], dtype=np.int64)
    return categories, ref_counts, cur_counts


def _check_kind(kind: str) -> None:
    if kind not in get_args(Kind):
        raise ValidationError("kind", f"must be 'numeric' or 'categorical', got {kind!r}")


def _distribution(
    reference: Column, current: Column, kind: Kind, bins: int, binning: Binning
) -> tuple[IntArray, IntArray]:
    _check_kind(kind)
    if kind == "categorical":
        return category_counts(reference, current)[1:]
    return histogram_counts(reference, current, bins=bins, binning=binning)[1:]


def psi(
    reference: Column,
    current: Column,
    *,
    kind: Kind = "numeric",
    bins: int = DEFAULT_BINS,
    binning: Binning = "quantile",
    eps: float = DEFAULT_EPS,
) -> float:
    """PSI of two samples: numeric on the reference's ``bins`` cuts, categorical per category."""
    return psi_counts(*_distribution(reference, current, kind, bins, binning), eps=eps)


def kl(
    reference: Column,
    current: Column,
    *,
    kind: Kind = "numeric",
    bins: int = DEFAULT_BINS,
    binning: Binning = "quantile",
    eps: float = DEFAULT_EPS,
) -> float:
    """KL(reference ‖ current) of two samples, binned like :func:`psi`."""
    return kl_counts(*_distribution(reference, current, kind, bins, binning), eps=eps)


def js(
    reference: Column,
    current: Column,
    *,
    kind: Kind = "numeric",
    bins: int = DEFAULT_BINS,
    binning: Binning = "quantile",
) -> float:
    """Jensen-Shannon distance of two samples, binned like :func:`psi`."""
    return js_counts(*_distribution(reference, current, kind, bins, binning))


def chi_square(reference: Column, current: Column) -> StatTestResult:
    """Chi-square test of two categorical samples (see :func:`chi_square_counts`)."""
    return chi_square_counts(*category_counts(reference, current)[1:])


def ks(reference: Column, current: Column) -> StatTestResult:
    """Two-sample Kolmogorov-Smirnov test: ``scipy.stats.ks_2samp``, two-sided.

    Its "auto" method: an exact p-value up to 10,000 rows a side, Smirnov's asymptotic above.
    """
    from scipy import stats  # type: ignore[import-untyped, unused-ignore]  # deferred: above

    result = stats.ks_2samp(
        numeric_values(reference, "reference"), numeric_values(current, "current")
    )
    return StatTestResult(float(result.statistic), float(result.pvalue))


def _wasserstein_sorted(u: FloatArray, v: FloatArray) -> float:
    """W1 of two sorted samples as the integral of ``|Q_u(t) - Q_v(t)|`` over quantiles ``t``.

    The quantile functions step at ``k / n`` and ``l / m``: in integer units of
    ``1 / lcm(n, m)``, at ``a_k = k step_u`` and ``b_l = l step_v``. Each interval of the
    merged steps ends at some ``a_k`` or ``b_l``, and its start and the other side's order
    statistic follow by integer division, so nothing is merged or searched. Same value as
    ``scipy.stats.wasserstein_distance``, ~15x faster.
    """
    n, m = u.size, v.size
    if n == m:
        return float(np.mean(np.abs(u - v)))
    lcm = n // math.gcd(n, m) * m
    if lcm > 2**62:  # the integer grid would overflow; fall back to scipy
        from scipy import stats  # type: ignore[import-untyped, unused-ignore]  # deferred: above

        return float(stats.wasserstein_distance(u, v))
    step_u, step_v = lcm // n, lcm // m
    a = np.arange(step_u, lcm + 1, step_u, dtype=np.int64)
    at_v = (a - 1) // step_v  # v's order statistic on (start, a_k]; starts after the last b < a_k
    width_a = a - np.maximum(a - step_u, at_v * step_v)
    b = np.arange(step_v, lcm + 1, step_v, dtype=np.int64)
    at_u = (b - 1) // step_u  # a tie a_k = b_l ends an a-interval first: b's is then empty
    width_b = b - np.maximum(b - step_v, (b // step_u) * step_u)
    total = np.dot(np.abs(u - v[at_v]), width_a.astype(np.float64))
    total += np.dot(np.abs(u[at_u] - v), width_b.astype(np.float64))
    return float(total) / lcm


def wasserstein_normed(
    reference: Column, current: Column, *, min_std: float = DEFAULT_MIN_STD
) -> float:
    """Wasserstein-1 distance divided by ``max(std(reference), min_std)`` (population std).

    The floor is Evidently's rule for a constant reference: identical data still scores 0,
    and any move away from a value the reference never left scores large (drift).
    """
    ref = np.sort(numeric_values(reference, "reference"))
    cur = np.sort(numeric_values(current, "current"))
    norm = max(float(np.std(ref)), _positive(min_std, "min_std"))
    return _wasserstein_sorted(ref, cur) / norm


# --- registry and defaults ------------------------------------------------------------------


@dataclass(frozen=True)
class DriftScore:
    """One feature's drift verdict: ``value`` of ``method`` against ``threshold``."""

    method: str
    value: float
    threshold: float
    drifted: bool


@dataclass(frozen=True)
class DriftMethod:
    """A registered statistic: a distance drifts *above* its threshold, a p-value *below*."""

    name: str
    kinds: frozenset[str]
    threshold: float
    is_p_value: bool
    compute: Callable[[Column, Column, Kind], float]

    def judge(self, value: float, threshold: float | None = None) -> DriftScore:
        """Compare ``value`` with ``threshold`` (this method's default when ``None``)."""
        limit = self.threshold if threshold is None else _positive(threshold, "threshold")
        drifted = value < limit if self.is_p_value else value > limit
        return DriftScore(self.name, float(value), limit, bool(drifted))


_NUM, _CAT = frozenset({"numeric"}), frozenset({"categorical"})
_BOTH = _NUM | _CAT
_REGISTERED = (
    DriftMethod("psi", _BOTH, 0.2, False, lambda r, c, k: psi(r, c, kind=k)),
    DriftMethod("kl", _BOTH, 0.1, False, lambda r, c, k: kl(r, c, kind=k)),
    DriftMethod("js", _BOTH, 0.1, False, lambda r, c, k: js(r, c, kind=k)),
    DriftMethod("wasserstein", _NUM, 0.1, False, lambda r, c, _: wasserstein_normed(r, c)),
    DriftMethod("ks", _NUM, 0.05, True, lambda r, c, _: ks(r, c).p_value),
    DriftMethod("chi_square", _CAT, 0.05, True, lambda r, c, _: chi_square(r, c).p_value),
)
METHODS: Mapping[str, DriftMethod] = MappingProxyType({m.name: m for m in _REGISTERED})
"""Methods by name. KS and chi-square report their p-value; the rest a distance."""


def get_method(name: str) -> DriftMethod:
    """The registered method called ``name``."""
    try:
        return METHODS[name]
    except KeyError:
        raise ValidationError("method", f"unknown {name!r}; known: {', '.join(METHODS)}") from None


def default_method(kind: Kind, n_rows: int) -> str:
    """Evidently's choice: effect sizes above ``LARGE_SAMPLE_ROWS`` reference rows, else tests."""
    _check_kind(kind)
    if n_rows < 1:
        raise ValidationError("n_rows", f"must be at least 1, got {n_rows}")
    if n_rows > LARGE_SAMPLE_ROWS:
        return "wasserstein" if kind == "numeric" else "js"
    return "ks" if kind == "numeric" else "chi_square"


def drift_score(
    reference: Column,
    current: Column,
    *,
    kind: Kind,
    method: str | None = None,
    threshold: float | None = None,
) -> DriftScore:
    """Score one feature with ``method`` (the default for its kind and size when ``None``)."""
    _check_kind(kind)
    n_rows = len(reference) if isinstance(reference, Sized) else 1
    entry = get_method(method or default_method(kind, n_rows))
    if kind not in entry.kinds:
        usable = ", ".join(name for name, m in METHODS.items() if kind in m.kinds)
        raise ValidationError("method", f"{entry.name!r} is not for {kind} features; use {usable}")
    return entry.judge(entry.compute(reference, current, kind), threshold)
