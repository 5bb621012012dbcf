"""Where did the inputs change? A stateless change-point test over a window's panes.

The window's PSI answers "how far is the whole window from the reference?", and the rule
``PSI > 0.2 for 10m`` then waits for the answer to stay bad: at 100 rows a minute a shift is
caught 1,300 rows after it began, because the first shifted rows are diluted by the
window's older ones and then the ``for`` runs. This asks a sharper question of the same
counts: *is there a point in the window after which the rows no longer look like the
reference?* Each suffix of the window's panes (the newest pane, the newest two, ..., all of
them) is a candidate for "the rows since the change", and for each feature its merged
histogram is tested against the reference's:

* **The test.** Pearson's chi-square test of homogeneity of two count vectors, the
  reference's and the suffix's, on the reference's own bins: ``X2 = sum (O - E)^2 / E`` over
  both rows of the 2 x k table, chi-square with ``k - 1`` degrees of freedom when the
  reference and the suffix come from one distribution (the likelihood-ratio G statistic was
  tried and is anti-conservative in the far tail at 100 rows: 1.3-1.5 times its nominal
  rate at p = 1e-3 to 1e-4 on ten bins; Pearson's stays within its rate, though a pooled
  bin of 5-10 expected rows still runs up to twice its rate at 1e-4). Testing against the
  reference's *counts* (not its proportions taken as exact) keeps the reference's own
  sampling noise in the null. The bins are pooled, smallest reference share first, until
  the pool expects ``MIN_EXPECTED`` rows (the chi-square approximation needs a few rows per
  bin; an unseen category lands in the pool, so it still counts). Maximising over suffixes
  is a windowed scan for a change at an unknown pane (the score-test form of the
  generalized likelihood ratio).
* **The false-alarm rate.** Every (feature, suffix) pair with at least ``min_rows`` rows is
  one test; the smallest p-value is multiplied by the number of tests (Bonferroni), and the
  window *alarms* when that adjusted p-value is at most ``alpha`` (``DEFAULT_ALPHA``: at
  most one false alarm per 10,000 assessments of reference-like rows, whatever the number
  of features and panes; nested suffixes are correlated, so the real rate is lower).
* **What it returns.** The most significant suffix is the estimate of the change point:
  its rows are "the rows since the change", the features whose own test passes there are
  the ones that moved, and their PSI on those rows (worst first) says how far. A shift is
  caught as soon as ``min_rows`` shifted rows have arrived, within one to three panes.

It keeps no state between calls: the panes are the state, so the same function reads a
window held in memory or one-minute panes read back from a database. The reference must be
the one the panes were counted on (same layout). Pure: no I/O, no clock.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bot.quality.binning import FloatArray, IntArray
from bot.quality.drift.divergence import psi_counts
from bot.quality.sketch import Sketch, SketchLayout

DEFAULT_ALPHA = 1e-4
"""Chance that one assessment of reference-like rows alarms (an upper bound: Bonferroni).
Per assessment, not per row: sources are polled every 15 s by default, so 1e-4 bounds false
alarms at one per 10,000 polls (about 42 hours at that pace; one per 100 windows of 1,000
rows needs only 1e-3 at one assessment a minute and 100 rows a minute). The price is power:
a tenfold smaller alpha asks a chi-square on nine degrees of freedom for about 5 more, a
few more rows of a small drift; a gross shift is caught on its first pane either way."""
MIN_ROWS = 100
"""Fewest rows (of one feature, not missing) a suffix needs to be tested: below it the
chi-square approximation is unsafe at the small p-values a multiplicity correction asks for."""
MIN_EXPECTED = 5.0
"""Bins where a suffix expects fewer rows than this are pooled into one."""


@dataclass(frozen=True)
class FeatureChange:
    """One feature's test on the suffix: its PSI there and its adjusted p-value."""

    feature: str
    psi: float
    p_value: float


@dataclass(frozen=True)
class ChangePoint:
    """The most significant suffix of the panes, and whether it says the inputs changed.

    ``statistic``/``dof``: the chi-square statistic of the best (feature, suffix) test; ``p_value``:
    its p-value times ``tests`` (capped at 1); ``rows``/``panes``: the suffix's size, the
    rows since the change when ``alarm``; ``moved``: the features whose own adjusted p-value
    is at most ``alpha`` on that suffix, largest PSI first (empty without an alarm)."""

    alarm: bool
    statistic: float
    dof: int
    p_value: float
    rows: int
    panes: int
    tests: int
    alpha: float
    moved: tuple[FeatureChange, ...] = ()

    @property
    def psi(self) -> float | None:
        """The worst moved feature's PSI on the rows since the change (None: no alarm)."""
        return self.moved[0].psi if self.moved else None

    def top_features(self, k: int = 3) -> str:
        """``session_length 2.10, income 0.81``: the moved features, for alerts and cards."""
        return ", ".join(f"{m.feature} {m.psi:.2f}" for m in self.moved[:k])


def chi_square(reference: IntArray, current: IntArray) -> tuple[FloatArray, IntArray]:
    """Pearson's statistic and degrees of freedom of the 2 x k homogeneity test of the
    ``reference`` counts (k bins) against each row of ``current`` (s rows of k bins).

    The bins are first pooled, smallest reference share first, until the pool expects at
    least ``MIN_EXPECTED`` of the row's rows; bins empty in both are left out. For a
    2 x k table the statistic is ``T^2 / (N n) * sum (c - n m / T)^2 / m``, with ``N``,
    ``n`` the two totals, ``T = N + n`` and ``m`` each bin's total. Degrees of freedom 0
    (statistic 0) when fewer than two bins are left."""
    ref = np.asarray(reference, dtype=np.float64)
    cur = np.atleast_2d(np.asarray(current, dtype=np.float64))
    big_n, n = ref.sum(), cur.sum(axis=1)
    order = np.argsort(ref, kind="stable")
    ref, cur = ref[order], cur[:, order]
    share = ref / big_n if big_n > 0 else np.zeros_like(ref)
    before = np.cumsum(share) - share  # the reference share of the smaller bins
    pooled = n[:, None] * before[None, :] < MIN_EXPECTED
    pool_ref = np.where(pooled, ref[None, :], 0.0).sum(axis=1)
    pool_cur = np.where(pooled, cur, 0.0).sum(axis=1)
    refs = np.column_stack([np.where(pooled, 0.0, ref[None, :]), pool_ref])
    curs = np.column_stack([np.where(pooled, 0.0, cur), pool_cur])
    totals = refs + curs
    used = totals > 0
    t = big_n + n
    with np.errstate(divide="ignore", invalid="ignore"):
        gap = curs - (n / t)[:, None] * totals
        terms = np.where(used, np.square(gap) / np.where(used, totals, 1.0), 0.0)
        stat = np.square(t) / (big_n * n) * terms.sum(axis=1)
    dof = used.sum(axis=1) - 1
    ok = (dof > 0) & (n > 0) & (big_n > 0)
    return np.where(ok, stat, 0.0), np.where(ok, dof, 0).astype(np.int64)


def log_p_value(statistics: FloatArray, dofs: IntArray) -> FloatArray:
    """ln P(chi2(dof) >= statistic). Where the p-value underflows (a gross shift), the
    leading term of the upper incomplete gamma's expansion: still ordered, still tiny."""
    from scipy import special  # type: ignore[import-untyped, unused-ignore]  # deferred, as in divergence

    half, a = statistics / 2.0, dofs / 2.0
    p = np.asarray(special.gammaincc(a, half), dtype=np.float64)
    with np.errstate(divide="ignore"):
        tail = (a - 1.0) * np.log(np.maximum(half, 1e-300)) - half - special.gammaln(a)
        return np.where(p > 0, np.log(np.maximum(p, 1e-300)), tail)


def detect_change(
    layout: SketchLayout,
    panes: Sequence[Sketch],
    *,
    alpha: float = DEFAULT_ALPHA,
    min_rows: int = MIN_ROWS,
) -> ChangePoint | None:
    """Test every suffix of ``panes`` (oldest first) against ``layout``'s reference.

    None when no suffix holds ``min_rows`` rows of any feature (nothing could be tested)."""
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    counts = [p.counts for p in panes if p.counts.any()]
    if not counts:
        return None
    suffixes = np.cumsum(np.stack(counts)[::-1], axis=0)  # row s: the newest s + 1 panes
    stats: list[FloatArray] = []
    dofs: list[IntArray] = []
    for spec, _, at, width in layout.bins:
        current = suffixes[:, at : at + width]
        stat, dof = chi_square(np.asarray(spec.histogram, dtype=np.int64), current)
        dof[current.sum(axis=1) < min_rows] = 0
        stats.append(stat)
        dofs.append(dof)
    stat_table, dof_table = np.stack(stats), np.stack(dofs)  # feature x suffix
    tested = dof_table > 0
    m = int(tested.sum())
    if not m:
        return None
    log_p = np.where(tested, log_p_value(stat_table, np.maximum(dof_table, 1)), 0.0)
    log_m, log_alpha = math.log(m), math.log(alpha)
    # The most significant test; among equals the larger statistic per degree of freedom,
    # then the longer suffix (more rows of the same change).
    per_dof = stat_table / np.maximum(dof_table, 1)
    cells = list(zip(*np.nonzero(tested), strict=True))
    feature, suffix = max(cells, key=lambda c: (-log_p[c], per_dof[c], c[1]))
    best = float(log_p[feature, suffix])
    adjusted = min(1.0, math.exp(min(0.0, best + log_m)))
    alarm = best + log_m <= log_alpha
    moved: list[FeatureChange] = []
    if alarm:
        merged = suffixes[suffix]
        for number in np.flatnonzero(tested[:, suffix] & (log_p[:, suffix] + log_m <= log_alpha)):
            spec, _, at, width = layout.bins[int(number)]
            psi = psi_counts(np.asarray(spec.histogram), merged[at : at + width])
            p = min(1.0, math.exp(min(0.0, float(log_p[number, suffix]) + log_m)))
            moved.append(FeatureChange(spec.name, psi, p))
        moved.sort(key=lambda c: (-c.psi, c.feature))
    rows = int(suffixes[suffix][layout.rows_at])
    return ChangePoint(
        alarm,
        float(stat_table[feature, suffix]),
        int(dof_table[feature, suffix]),
        adjusted,
        rows,
        int(suffix) + 1,
        m,
        alpha,
        tuple(moved),
    )
