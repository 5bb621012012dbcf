"""Divergences between two distributions: PSI, KL and Jensen-Shannon.

Conventions: natural logs; PSI ``sum((q - p) ln(q / p))`` (the product's rule "input drift
PSI > 0.2"); KL is KL(reference ‖ current); JS is the Jensen-Shannon *distance* (sqrt of the
divergence, at most ``sqrt(ln 2)``). ``*_counts`` take what a streaming window holds (O(bins));
the others take two raw samples and count them first (``samples.py``).

scipy is imported by the functions that use it, on their first call, not with this module:
it takes over half a second to import, and every ``vigil`` command (``vigil demo``, ``vigil
check``) builds the app, which imports this module, whether or not it ever judges drift.
"""

from __future__ import annotations

import math

import numpy as np

from bot.quality.binning import DEFAULT_BINS
from bot.quality.drift.inputs import (
    DEFAULT_EPS,
    Binning,
    Column,
    Counts,
    Kind,
    check_eps,
    informative,
    pair,
    proportions,
)
from bot.quality.drift.samples import distribution


def psi_counts(reference: Counts, current: Counts, *, eps: float = DEFAULT_EPS) -> float:
    """Population Stability Index ``sum((q - p) ln(q / p))`` of two count vectors (symmetric)."""
    ref, cur = informative(*pair(reference, current))
    p, q = proportions(ref, check_eps(eps)), proportions(cur, eps)
    return float(np.sum((q - p) * np.log(q / p)))


def kl_counts(reference: Counts, current: Counts, *, eps: float = DEFAULT_EPS) -> float:
    """Kullback-Leibler divergence KL(reference ‖ current) ``= sum(p ln(p / q))``; not symmetric."""
    ref, cur = informative(*pair(reference, current))
    p, q = proportions(ref, check_eps(eps)), proportions(cur, eps)
    from scipy import special  # type: ignore[import-untyped, unused-ignore]  # deferred: see the docstring

    return max(0.0, float(np.sum(special.rel_entr(p, q))))


def js_counts(reference: Counts, current: Counts) -> float:
    """Jensen-Shannon distance ``sqrt((KL(p‖m) + KL(q‖m)) / 2)``, ``m = (p + q) / 2``.

    Symmetric and bounded by ``sqrt(ln 2)``; needs no ``eps`` (``m`` is positive wherever
    ``p`` or ``q`` is). Equals ``scipy.spatial.distance.jensenshannon`` on the proportions.
    """
    ref, cur = pair(reference, current)
    p, q = ref / ref.sum(), cur / cur.sum()
    m = (p + q) / 2
    from scipy import special  # type: ignore[import-untyped, unused-ignore]  # deferred: see the docstring

    divergence = (np.sum(special.rel_entr(p, m)) + np.sum(special.rel_entr(q, m))) / 2
    return math.sqrt(max(0.0, float(divergence)))


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
    return psi_counts(*distribution(reference, current, kind, bins, binning), eps=eps)


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
    return kl_counts(*distribution(reference, current, kind, bins, binning), eps=eps)


def js(
    reference: Column,
    current: Column,
    *,
    kind: Kind = "numeric",
    bins: int = DEFAULT_BINS,
    binning: Binning = "quantile",
) -> float:
    """Jensen-Shannon distance of two samples, binned like :func:`psi`."""
    return js_counts(*distribution(reference, current, kind, bins, binning))
