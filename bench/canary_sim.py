"""The canary bench's simulation: rollouts of two versions, a thousand at once, judged once a
look by the judge's own vectorised evidence functions (``bot.rollout.evidence``).

Each look adds a minute of traffic (2,000 requests, the canary's share of them) to each
version's cumulative counts: errors, labels, the label-free estimate's sums, latency and
prediction histograms; then records, per rollout, the first look each test FAILed and was
proven within its allowance, and the first look every test said PASS. What the figures mean
and the report: ``bench/canary_bench.py``.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.rollout.counts import LatencyGrid, auc
from bot.rollout.evidence import (
    Evidence,
    estimate_gap,
    labelled_accuracy,
    latency_shift,
    latency_spread,
    latency_tail,
    prediction_drift,
    request_errors,
    verdicts,
)
from bot.rollout.observations import JudgeSettings
from bot.rollout.sequential import fixed_horizon_p

FloatArray = npt.NDArray[np.float64]
RATE, SHARE = 2_000, 0.05
CANARY_ROWS = round(RATE * SHARE)
STABLE_ROWS = RATE - CANARY_ROWS
GOAL_ROWS = 10 * CANARY_ROWS + 10 * 2 * CANARY_ROWS
GRID = LatencyGrid(low_ms=10.0, high_ms=2_000.0)
SETTINGS = JudgeSettings(grid=GRID)
Z99 = float(stats.norm.ppf(0.99))
CONCENTRATION = 20.0


@dataclass(frozen=True)
class Arm:
    """One version's truth: accuracy, request error rate, latency and prediction shares."""

    accuracy: float = 0.94
    error_rate: float = 0.005
    latency: FloatArray = None  # type: ignore[assignment]
    predictions: FloatArray = None  # type: ignore[assignment]


def lognormal(median: float, sigma: float) -> FloatArray:
    edges = np.log(GRID.low_ms) + np.arange(1, GRID.size) * GRID.step
    cdf = stats.norm.cdf((edges - math.log(median)) / sigma)
    p = np.diff(np.concatenate([[0.0], cdf, [1.0]]))
    return np.asarray(p / p.sum(), dtype=np.float64)


UNIFORM = np.full(10, 0.1)
STABLE = Arm(latency=lognormal(120, 0.35), predictions=UNIFORM)


def _draw(rng: np.random.Generator, n: int, p: FloatArray, size: int) -> FloatArray:
    support = np.flatnonzero(p > 1e-12)
    lo, hi = support[0], support[-1] + 1
    out = np.zeros((size, p.size))
    out[:, lo:hi] = rng.multinomial(n, p[lo:hi] / p[lo:hi].sum(), size=size)
    return out


@dataclass
class Totals:
    """Cumulative counts per rollout for one arm."""

    rows: FloatArray
    errors: FloatArray
    correct: FloatArray
    sum_conf: FloatArray
    sum_var: FloatArray
    latency: FloatArray
    predictions: FloatArray

    @classmethod
    def empty(cls, size: int, arm: Arm) -> Totals:
        z = np.zeros(size)
        return cls(
            z.copy(),
            z.copy(),
            z.copy(),
            z.copy(),
            z.copy(),
            np.zeros((size, arm.latency.size)),
            np.zeros((size, arm.predictions.size)),
        )

    def keep(self, mask: npt.NDArray[np.bool_]) -> None:
        """Drop the rollouts that are over (``mask`` False)."""
        for name in ("rows", "errors", "correct", "sum_conf", "sum_var", "latency", "predictions"):
            setattr(self, name, getattr(self, name)[mask])

    def add(self, rng: np.random.Generator, arm: Arm, n: int) -> None:
        size = self.rows.size
        self.rows += n
        self.errors += rng.binomial(n, arm.error_rate, size)
        self.correct += rng.binomial(n, arm.accuracy, size)
        mu = arm.accuracy
        var_c = mu * (1 - mu) / (CONCENTRATION + 1)
        self.sum_conf += rng.normal(n * mu, math.sqrt(n * var_c), size)
        self.sum_var += n * (mu * (1 - mu) - var_c)
        self.latency += _draw(rng, n, arm.latency, size)
        self.predictions += _draw(rng, n, arm.predictions, size)


def evidence(s: Totals, c: Totals, cfg: JudgeSettings, labels: bool) -> dict[str, Evidence]:
    """Every test the judge runs, on a batch of rollouts."""
    if labels:
        accuracy = labelled_accuracy(s.rows - s.correct, s.rows, c.rows - c.correct, c.rows, cfg)
    else:
        accuracy = estimate_gap(
            s.sum_conf / s.rows,
            np.sqrt(s.sum_var) / s.rows,
            s.rows,
            c.sum_conf / c.rows,
            np.sqrt(c.sum_var) / c.rows,
            c.rows,
            cfg,
        )
    return {
        "accuracy": accuracy,
        "request errors": request_errors(s.errors, s.rows, c.errors, c.rows, cfg),
        "latency": latency_shift(s.latency, c.latency, cfg),
        "p99 latency": latency_tail(s.latency, c.latency, cfg),
        "latency spread": latency_spread(s.latency, c.latency, cfg),
        "prediction distribution": prediction_drift(s.predictions, c.predictions, cfg),
    }


@dataclass
class Run:
    """Per rollout: the first look (1-based) each test failed at (``first_fail``), was proven
    within its allowance at (``first_proven``), and every test passed at (``first_pass``):
    0 for never."""

    first_fail: dict[str, npt.NDArray[np.int64]]
    naive_fail: npt.NDArray[np.int64]
    ever_marginal: npt.NDArray[np.bool_]
    first_pass: npt.NDArray[np.int64]
    marginal_by: dict[str, npt.NDArray[np.bool_]] = field(default_factory=dict)
    naive_last: npt.NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, dtype=bool))
    first_proven: dict[str, npt.NDArray[np.int64]] = field(default_factory=dict)

    @property
    def any_fail(self) -> npt.NDArray[np.int64]:
        stacked = np.stack([np.where(v > 0, v, 10**9) for v in self.first_fail.values()])
        first = stacked.min(axis=0)
        return np.where(first < 10**9, first, 0)


def simulate(
    stable: Arm,
    canary: Arm,
    *,
    rollouts: int,
    looks: int,
    seed: int,
    cfg: JudgeSettings = SETTINGS,
    labels: bool = True,
    until_failed: bool = False,
    naive_at: int | None = None,
) -> Run:
    """``rollouts`` rollouts judged once a look; with ``until_failed``, a rollout stops being
    simulated at its first FAIL (as the driver would roll it back), which saves the time."""
    rng = np.random.default_rng(seed)
    s, c = Totals.empty(rollouts, stable), Totals.empty(rollouts, canary)
    zero = np.zeros(rollouts, dtype=np.int64)
    run = Run({}, zero.copy(), np.zeros(rollouts, dtype=bool), zero.copy())
    ids = np.arange(rollouts)
    for look in range(1, looks + 1):
        s.add(rng, stable, STABLE_ROWS)
        c.add(rng, canary, CANARY_ROWS)
        codes = []
        for name, e in evidence(s, c, cfg, labels).items():
            code = verdicts(e)
            codes.append(code)
            first = run.first_fail.setdefault(name, zero.copy())
            hit = ids[(code == 2) & (first[ids] == 0)]
            first[hit] = look
            proven = run.first_proven.setdefault(name, zero.copy())
            proven[ids[(code == 0) & (proven[ids] == 0)]] = look
        stacked = np.stack(codes)
        marginal = (stacked == 1).any(axis=0) & ~(stacked == 2).any(axis=0)
        run.ever_marginal[ids] |= marginal
        for name, code in zip(run.first_fail, codes, strict=True):
            by = run.marginal_by.setdefault(name, np.zeros(rollouts, dtype=bool))
            by[ids] |= marginal & (code == 1)
        passed = ids[(stacked == 0).all(axis=0) & (run.first_pass[ids] == 0)]
        run.first_pass[passed] = look
        theta, _ = auc(s.latency, c.latency)
        m, n = s.rows, c.rows
        p = fixed_horizon_p(theta - 0.5, (n + m + 1) / (12 * n * m), null=0.0)
        run.naive_fail[ids[(p < 0.05) & (run.naive_fail[ids] == 0)]] = look
        if look == (naive_at or looks):
            run.naive_last = p < 0.05
        if until_failed:
            going = run.any_fail[ids] == 0
            if not going.any():
                break
            ids = ids[going]
            s.keep(going)
            c.keep(going)
    return run
