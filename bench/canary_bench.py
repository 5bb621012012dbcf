"""Issue 17, point 7: does the canary judge fail equal versions when re-checked every minute,
and how soon does it fail a worse canary?

Traffic: 2,000 requests a minute, the canary at 5 % (100 rows a minute, stable 1,900). The
judge is called once a minute on the cumulative counts of each version, exactly as the
rollout driver will call it. Each rollout is simulated with numpy, a thousand at once, and
judged by the judge's own vectorised evidence functions (``bot.rollout.evidence``; the unit
tests check that they agree with ``judge()`` row for row) with the default settings, except
for the latency grid, narrowed to 10 ms - 2 s (the same 1.2 % buckets) to keep it quick.

Stable: accuracy 0.94 (every row labelled at once, the best case), request errors 0.5 %,
latency lognormal (median 120 ms, sigma 0.35: p99 271 ms), predictions uniform on 10 bins.

1. Equal versions, 1,000 rollouts x 60 looks: the share of rollouts the judge ever FAILs,
   beside a fixed-horizon one-sided Mann-Whitney at 5 % (no tolerance) re-checked at every
   look, the usual mistake, and beside our latency test alone at the same 5 % and no
   tolerance (the like-for-like comparison). Also the judge with every allowance at 0 (its
   null hypotheses then sit on equal versions: the hardest case for its false failures).
2. Worse canaries, 1,000 rollouts each, up to 120 looks (a rollout stops at its first FAIL,
   as the driver would roll it back): the canary rows (and minutes at
   5 %) until the judge's first FAIL. Goal: the 3-point accuracy drop fails before the
   rollout leaves 10 %: with steps of 10 minutes (5 % then 10 %), by 1,000 + 2,000 = 3,000
   canary rows. "PASS before FAIL": the rollouts where every test said PASS at some look
   before the first FAIL, i.e. where a driver stepping up on PASS could have widened it.

Label-free: the calibrated model's confidences are Beta with mean the accuracy (concentration
20); each minute's ``sum c`` is drawn by the central limit theorem and ``sum c(1 - c)`` is its
expectation, which is what the monitor's windows keep.

Run: ``PYTHONPATH=. .venv/bin/python bench/canary_bench.py`` (or ``--quick``: 200 rollouts).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
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
    latency_shift,
    latency_spread,
    latency_tail,
    prediction_drift,
    proportions,
    verdicts,
)
from bot.rollout.observations import TESTS, JudgeSettings
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
        accuracy = proportions(
            s.rows - s.correct,
            s.rows,
            c.rows - c.correct,
            c.rows,
            allowance=cfg.accuracy_allowance,
            tau=cfg.accuracy_tau,
            minimum=cfg.min_labels,
            alpha=cfg.test_alpha,
        )
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
        "request errors": proportions(
            s.errors,
            s.rows,
            c.errors,
            c.rows,
            allowance=cfg.error_allowance,
            tau=cfg.error_tau,
            minimum=cfg.min_rows,
            alpha=cfg.test_alpha,
        ),
        "latency": latency_shift(s.latency, c.latency, cfg),
        "p99 latency": latency_tail(s.latency, c.latency, cfg),
        "latency spread": latency_spread(s.latency, c.latency, cfg),
        "prediction distribution": prediction_drift(s.predictions, c.predictions, cfg),
    }


@dataclass
class Run:
    """Per rollout: the first look (1-based) each test failed at, 0 for never."""

    first_fail: dict[str, npt.NDArray[np.int64]]
    naive_fail: npt.NDArray[np.int64]
    ever_marginal: npt.NDArray[np.bool_]
    first_pass: npt.NDArray[np.int64]
    marginal_by: dict[str, npt.NDArray[np.bool_]] = field(default_factory=dict)
    naive_last: npt.NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, dtype=bool))

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
        stacked = np.stack(codes)
        marginal = (stacked == 1).any(axis=0) & ~(stacked >= 2).any(axis=0)
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
        run.naive_last = p < 0.05
        if until_failed:
            going = run.any_fail[ids] == 0
            if not going.any():
                break
            ids = ids[going]
            s.keep(going)
            c.keep(going)
    return run


def share(mask: npt.ArrayLike) -> str:
    a = np.asarray(mask, dtype=bool)
    k = int(a.sum())
    if k == a.size:
        return f"100 % ({k}/{a.size})"
    bound = stats.beta.ppf(0.95, k + 1, a.size - k)  # one-sided 95 % upper bound
    return f"{100 * k / a.size:.1f} % ({k}/{a.size}, 95 % bound {100 * bound:.1f} %)"


def equal_versions(rollouts: int, looks: int) -> None:
    print(f"\n## Equal versions: {rollouts} rollouts x {looks} looks (one a minute)\n")
    t0 = time.perf_counter()
    judged = simulate(STABLE, STABLE, rollouts=rollouts, looks=looks, seed=1)
    zero_tol = JudgeSettings(
        grid=GRID, accuracy_allowance=0, error_allowance=0, latency_tolerance=0, spread_tolerance=0
    )
    bare = simulate(STABLE, STABLE, rollouts=rollouts, looks=looks, seed=2, cfg=zero_tol)
    single = JudgeSettings(grid=GRID, alpha=0.05 * TESTS, latency_tolerance=0)
    alone = simulate(STABLE, STABLE, rollouts=rollouts, looks=looks, seed=3, cfg=single)
    print("| check | rollouts ever failed |\n|---|---|")
    print(f"| judge, default settings (alpha 0.05 over 7 tests) | {share(judged.any_fail > 0)} |")
    for name, first in judged.first_fail.items():
        if (first > 0).any():
            print(f"|   of which {name} | {share(first > 0)} |")
    print(f"| judge, every allowance 0 | {share(bare.any_fail > 0)} |")
    for name, first in bare.first_fail.items():
        if (first > 0).any():
            print(f"|   of which {name} | {share(first > 0)} |")
    print(
        f"| our latency test alone, 5 %, no tolerance | {share(alone.first_fail['latency'] > 0)} |"
    )
    print(
        f"| fixed-horizon Mann-Whitney, 5 %, re-checked every look | "
        f"{share(judged.naive_fail > 0)} |"
    )
    print(f"| the same, checked once, at look {looks} only | {share(judged.naive_last)} |")
    passed = judged.first_pass[judged.first_pass > 0]
    print(
        f"\nEqual versions reached PASS in {share(judged.first_pass > 0)} of rollouts, "
        f"median at look {np.median(passed) if passed.size else float('nan'):.0f} "
        f"({np.median(passed) * CANARY_ROWS if passed.size else 0:,.0f} canary rows); "
        f"MARGINAL at some look (no FAIL) in {share(judged.ever_marginal)}: "
        + ", ".join(f"{n} {share(v)}" for n, v in judged.marginal_by.items() if v.any())
        + ". "
        f"{time.perf_counter() - t0:.1f} s."
    )
    print(
        f"Goal: false failures <= 1 % re-checked every minute: "
        f"{'met' if (judged.any_fail > 0).mean() <= 0.01 else 'MISSED'}."
    )


def worse(rollouts: int, looks: int) -> None:
    sigma_tail = 0.35 + math.log(1.2) / Z99
    bimodal = 0.5 * lognormal(120 / 1.4, 0.2) + 0.5 * lognormal(120 * 1.4, 0.2)
    cases = [
        (
            "accuracy 3 points worse, labels",
            Arm(accuracy=0.91, latency=STABLE.latency, predictions=UNIFORM),
            True,
        ),
        (
            "the same, accuracy allowance 0 (as good or better)",
            Arm(accuracy=0.91, latency=STABLE.latency, predictions=UNIFORM),
            True,
        ),
        (
            "accuracy 3 points worse, no labels (estimate)",
            Arm(accuracy=0.91, latency=STABLE.latency, predictions=UNIFORM),
            False,
        ),
        (
            "20 % slower, every request",
            Arm(latency=lognormal(144, 0.35), predictions=UNIFORM),
            True,
        ),
        (
            "p99 20 % slower, same median",
            Arm(latency=lognormal(120, sigma_tail), predictions=UNIFORM),
            True,
        ),
        ("bimodal (x1.4 and /1.4), same median", Arm(latency=bimodal, predictions=UNIFORM), True),
    ]
    print(f"\n## Worse canaries at 5 %: {rollouts} rollouts each, up to {looks} looks\n")
    print(
        "| canary | failed | canary rows to FAIL, median (p10-p90) | minutes at 5 %, median "
        "| failed by 3,000 rows | PASS before FAIL | first to fire |\n"
        "|---|---|---|---|---|---|---|"
    )
    strict = JudgeSettings(grid=GRID, accuracy_allowance=0.0)
    for i, (name, arm, labels) in enumerate(cases):
        t0 = time.perf_counter()
        run = simulate(
            STABLE,
            arm,
            rollouts=rollouts,
            looks=looks,
            seed=10 + i,
            labels=labels,
            until_failed=True,
            cfg=strict if "allowance 0" in name else SETTINGS,
        )
        first = run.any_fail
        done = first[first > 0]
        if done.size:
            q10, q50, q90 = np.percentile(done, [10, 50, 90])
            rows = f"{q50 * CANARY_ROWS:,.0f} ({q10 * CANARY_ROWS:,.0f}-{q90 * CANARY_ROWS:,.0f})"
            minutes = f"{q50:.0f}"
        else:
            rows, minutes = "-", "-"
        firing: dict[str, int] = {}
        for r in np.flatnonzero(first > 0):
            who = [n for n, f in run.first_fail.items() if f[r] == first[r]]
            for n in who:
                firing[n] = firing.get(n, 0) + 1
        top = ", ".join(
            f"{n} {100 * k / max(done.size, 1):.1f} %"
            for n, k in sorted(firing.items(), key=lambda kv: -kv[1])
        )
        by_goal = share((first > 0) & (first * CANARY_ROWS <= GOAL_ROWS))
        stepped = (run.first_pass > 0) & ((first == 0) | (run.first_pass < first))
        print(
            f"| {name} | {share(first > 0)} | {rows} | {minutes} | {by_goal} | "
            f"{share(stepped)} | {top} |"
            f" <!-- {time.perf_counter() - t0:.1f} s -->"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 rollouts instead of 1,000")
    parser.add_argument("--rollouts", type=int, default=None)
    parser.add_argument("--looks", type=int, default=60)
    args = parser.parse_args(argv)
    rollouts = args.rollouts or (200 if args.quick else 1_000)
    t0 = time.perf_counter()
    print(
        f"Traffic {RATE:,} requests/min, canary {SHARE:.0%} ({CANARY_ROWS} rows/min); "
        f"judge settings: {SETTINGS.alpha=}, min_rows {SETTINGS.min_rows}, "
        f"min_labels {SETTINGS.min_labels}."
    )
    equal_versions(rollouts, args.looks)
    worse(rollouts, 2 * args.looks)
    print(f"\nTotal {time.perf_counter() - t0:.0f} s.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
