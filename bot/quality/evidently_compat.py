"""Drift values equal to Evidently 0.6.x's on the same data, for the benchmark and migrations.

Teams moving from Evidently compare our numbers with the ones their dashboards showed, so
this mode reproduces Evidently's conventions (read from its source,
``calculations/stattests/{psi,jensenshannon,kl_div,wasserstein_distance_norm,ks_stattest,
utils}.py``) rather than ours:

* **Bins** (``get_binned_data``): a numeric feature whose reference has more than
  ``DISCRETE_MAX`` (20) distinct values is cut into Sturges equal-width bins over reference
  and current *together* (``np.histogram_bin_edges(concat, "sturges")``, last bin closed);
  otherwise, and for categorical features, every distinct value of either side is a bucket.
  Proportions are over each side's row count.
* **Empty bins** (PSI, KL only; JS takes raw proportions): on each side separately, zeros
  become ``min nonzero / 1e6`` if that minimum is at most 1e-4, else 1e-4 (:func:`fill_empty`).
* **PSI** ``sum((p - q) ln(p / q))``; **KL** ``scipy.stats.entropy(p, q)`` (renormalises);
  **JS** ``scipy.spatial.distance.jensenshannon(p, q)`` (natural log);
  **Wasserstein** ``wasserstein_distance / max(std(reference), 0.001)``;
  **KS** the p-value of ``scipy.stats.ks_2samp`` (Evidently's drift score for "ks").

Evidently's own thresholds are not repeated here: this module yields values, and
:mod:`bot.quality.drift` judges them. The speed comes from counting each side once with
precomputed edges (no concatenated copy, no pandas) and the sort-based Wasserstein.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

import numpy as np
import numpy.typing as npt
from scipy import special  # type: ignore[import-untyped, unused-ignore]

from bot.core.errors import ValidationError
from bot.quality.drift.divergence import js_counts
from bot.quality.drift.inputs import Column, FloatArray, Kind, numeric_values
from bot.quality.drift.samples import category_counts
from bot.quality.drift.stat_tests import ks
from bot.quality.drift.wasserstein import wasserstein_normed

DISCRETE_MAX = 20
"""A numeric reference with at most this many distinct values is compared value by value."""
FILL_CAP = 1e-4
FILL_SCALE = 1e-6
EVIDENTLY_MIN_STD = 0.001


def sturges_edges(reference: FloatArray, current: FloatArray) -> FloatArray:
    """All bin edges (outer ones included) of ``np.histogram_bin_edges(concat, "sturges")``.

    Computed from both sides' minimum, maximum and total size, without the concatenated copy:
    width ``(max - min) / (log2(n) + 1)``, ``ceil(range / width)`` bins; a zero range gives
    numpy's single bin ``[v - 0.5, v + 0.5]``.
    """
    low = min(float(reference.min()), float(current.min()))
    high = max(float(reference.max()), float(current.max()))
    if low == high:
        return np.array([low - 0.5, high + 0.5])
    width = (high - low) / (np.log2(reference.size + current.size) + 1.0)
    n_bins = int(np.ceil((high - low) / width))
    return np.linspace(low, high, n_bins + 1)


def fill_empty(proportions: npt.ArrayLike) -> FloatArray:
    """Zeros → ``min nonzero / 1e6`` if that minimum is <= 1e-4, else 1e-4 (Evidently's rule)."""
    p = np.asarray(proportions, dtype=np.float64)
    nonzero = p[p > 0]
    if nonzero.size == 0:
        raise ValidationError("proportions", "are all zero; nothing to fill from")
    smallest = float(nonzero.min())
    floor = smallest * FILL_SCALE if smallest <= FILL_CAP else FILL_CAP
    return np.where(p == 0, floor, p)


def _many_values(reference: FloatArray) -> bool:
    """Whether the reference has more than ``DISCRETE_MAX`` distinct values (cheap for most)."""
    if np.unique(reference[:1024]).size > DISCRETE_MAX:
        return True
    return bool(np.unique(reference).size > DISCRETE_MAX)


def binned_proportions(
    reference: Column, current: Column, *, kind: Kind = "numeric", fill: bool = True
) -> tuple[FloatArray, FloatArray]:
    """Each side's share per bucket, as Evidently's ``get_binned_data`` (see module doc)."""
    if kind == "numeric":
        ref = numeric_values(reference, "reference")
        cur = numeric_values(current, "current")
        if _many_values(ref):
            edges = sturges_edges(ref, cur)
            ref_counts, cur_counts = np.histogram(ref, edges)[0], np.histogram(cur, edges)[0]
        else:
            _, ref_counts, cur_counts = category_counts(ref, cur)
    elif kind == "categorical":
        _, ref_counts, cur_counts = category_counts(reference, current)
    else:
        raise ValidationError("kind", f"must be 'numeric' or 'categorical', got {kind!r}")
    ref_p = ref_counts / ref_counts.sum()
    cur_p = cur_counts / cur_counts.sum()
    if fill:
        return fill_empty(ref_p), fill_empty(cur_p)
    return ref_p, cur_p


def evidently_psi(reference: Column, current: Column, *, kind: Kind = "numeric") -> float:
    """Evidently's PSI: Sturges bins (or values), per-side empty-bin fill, no renormalising."""
    p, q = binned_proportions(reference, current, kind=kind)
    return float(np.sum((p - q) * np.log(p / q)))


def evidently_kl(reference: Column, current: Column, *, kind: Kind = "numeric") -> float:
    """Evidently's ``kl_div``: filled proportions, renormalised as ``scipy.stats.entropy`` does."""
    p, q = binned_proportions(reference, current, kind=kind)
    return float(np.sum(special.rel_entr(p / p.sum(), q / q.sum())))


def evidently_js(reference: Column, current: Column, *, kind: Kind = "numeric") -> float:
    """Evidently's ``jensenshannon``: JS distance of the unfilled proportions (natural log)."""
    return js_counts(*binned_proportions(reference, current, kind=kind, fill=False))


def evidently_wasserstein(reference: Column, current: Column) -> float:
    """Evidently's ``wasserstein``: W1 over ``max(std(reference), 0.001)``."""
    return wasserstein_normed(reference, current, min_std=EVIDENTLY_MIN_STD)


def evidently_ks(reference: Column, current: Column) -> float:
    """Evidently's ``ks`` drift score: the two-sided ``ks_2samp`` p-value."""
    return ks(reference, current).p_value


EVIDENTLY_METHODS: Mapping[str, Callable[[Column, Column], float]] = MappingProxyType(
    {
        "psi": evidently_psi,
        "kl_div": evidently_kl,
        "jensenshannon": evidently_js,
        "wasserstein": evidently_wasserstein,
        "ks": evidently_ks,
    }
)
"""Numeric-feature functions by Evidently's stattest name, for the benchmark."""
