"""Issue 17, point 7: does the canary judge fail equal versions when re-checked every minute,
how soon does it prove them equal (PASS: step up), and does it ever step up a worse canary?

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
   fail nulls then sit on equal versions: the hardest case for its false failures). Then the
   promotion speed: the look (minute at 5 %) of the first PASS, every metric proven within
   its allowance: median, p90, the share never passing within the 60 looks, and which
   metric is proven last.
2. Worse canaries, 1,000 rollouts each, up to 120 looks (a rollout stops at its first FAIL,
   as the driver would roll it back): the share that ever PASS (every metric proven within
   its allowance, so the driver would step up: a canary reaches 10 % only through a PASS at
   5 %, so this is the share that would widen at all), and the canary rows (and minutes at
   5 %) until the judge's first FAIL. The old goal, the 3-point drop failed before the
   rollout leaves 10 % with 10-minute steps, by 1,000 + 2,000 = 3,000 canary rows, is also
   reported. Canaries exactly at an allowance (1 point worse, errors 0.5 point more, 10 %
   slower) check the pass side's own error: they may be failed or held, but should be
   PASSed at most at the pass tests' level (2.5 %; 2 % for accuracy on labels).

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
from pathlib import Path

import numpy as np
import numpy.typing as npt
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.canary_sim import (
    CANARY_ROWS,
    GOAL_ROWS,
    GRID,
    RATE,
    SETTINGS,
    SHARE,
    STABLE,
    UNIFORM,
    Z99,
    Arm,
    lognormal,
    simulate,
)
from bot.rollout.observations import TESTS, JudgeSettings


def share(mask: npt.ArrayLike) -> str:
    a = np.asarray(mask, dtype=bool)
    k = int(a.sum())
    if k == a.size:
        return f"100 % ({k}/{a.size})"
    bound = stats.beta.ppf(0.95, k + 1, a.size - k)  # one-sided 95 % upper bound
    return f"{100 * k / a.size:.1f} % ({k}/{a.size}, 95 % bound {100 * bound:.1f} %)"


def minutes(looks: npt.ArrayLike, horizon: int) -> str:
    """Median and p90 of the first look reached (0 = never, counted as past ``horizon``)."""
    a = np.asarray(looks, dtype=np.float64)
    a = np.where(a > 0, a, np.inf)
    out = []
    for q in (50, 90):
        v = float(np.percentile(a, q, method="higher")) if a.size else math.inf
        out.append(f"> {horizon}" if math.isinf(v) else f"{v:.0f}")
    return f"{out[0]} (p90 {out[1]})"


def rows_at(look: float) -> str:
    return "-" if math.isinf(look) else f"{look * CANARY_ROWS:,.0f}"


def equal_versions(rollouts: int, looks: int) -> bool:
    print(f"\n## Equal versions: {rollouts} rollouts x {looks} looks (one a minute)\n")
    t0 = time.perf_counter()
    long = 3 * looks
    judged = simulate(STABLE, STABLE, rollouts=rollouts, looks=long, seed=1, naive_at=looks)

    def within(first: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
        return (first > 0) & (first <= looks)

    zero_tol = JudgeSettings(
        grid=GRID, accuracy_allowance=0, error_allowance=0, latency_tolerance=0, spread_tolerance=0
    )
    bare = simulate(STABLE, STABLE, rollouts=rollouts, looks=looks, seed=2, cfg=zero_tol)
    # the fail side at 5 % for one test: alpha * fail_share / TESTS = 0.05
    single = JudgeSettings(grid=GRID, alpha=2 * 0.05 * TESTS, latency_tolerance=0)
    alone = simulate(STABLE, STABLE, rollouts=rollouts, looks=looks, seed=3, cfg=single)
    print("| check | rollouts ever failed |\n|---|---|")
    print(
        f"| judge, default settings (fail tests: alpha {SETTINGS.alpha} x "
        f"{SETTINGS.fail_share} over {TESTS} tests) | {share(within(judged.any_fail))} |"
    )
    for name, first in judged.first_fail.items():
        if within(first).any():
            print(f"|   of which {name} | {share(within(first))} |")
    print(f"| the same over {long} looks | {share(judged.any_fail > 0)} |")
    print(f"| judge, every allowance 0 | {share(bare.any_fail > 0)} |")
    for name, first in bare.first_fail.items():
        if (first > 0).any():
            print(f"|   of which {name} | {share(first > 0)} |")
    print(
        f"| our latency test alone, 5 %, no tolerance | {share(alone.first_fail['latency'] > 0)} |"
    )
    print(
        f"| fixed-horizon Mann-Whitney, 5 %, re-checked every look | "
        f"{share(within(judged.naive_fail))} |"
    )
    print(f"| the same, checked once, at look {looks} only | {share(judged.naive_last)} |")
    false_fail = float(within(judged.any_fail).mean())
    print(
        f"\nPromotion speed over {long} looks (first PASS: every metric proven within its "
        "allowance):\n"
    )
    print(
        f"| what | minute at 5 %, median (p90) | canary rows, median | never within {looks} "
        f"| never within {long} |\n|---|---|---|---|---|"
    )

    def speed(name: str, first: npt.NDArray[np.int64]) -> None:
        at = float(np.percentile(np.where(first > 0, first, np.inf), 50, method="higher"))
        print(
            f"| {name} | {minutes(first, long)} | {rows_at(at)} "
            f"| {share((first == 0) | (first > looks))} | {share(first == 0)} |"
        )

    speed("PASS (step up)", judged.first_pass)
    for name, proven in judged.first_proven.items():
        speed(f"  {name} proven", proven)
    wide = JudgeSettings(grid=GRID, accuracy_allowance=0.02, error_allowance=0.01)
    loose = simulate(STABLE, STABLE, rollouts=rollouts, looks=long, seed=4, cfg=wide)
    speed("PASS, allowances doubled (accuracy 2 points, errors 1 point)", loose.first_pass)
    print(
        f"\nMARGINAL overall at some look (no FAIL) in {share(judged.ever_marginal)}: "
        + ", ".join(f"{n} {share(v)}" for n, v in judged.marginal_by.items() if v.any())
        + f". {time.perf_counter() - t0:.1f} s."
    )
    met = false_fail <= 0.01
    print(f"Goal: false failures <= 1 % re-checked every minute: {'met' if met else 'MISSED'}.")
    return met


def cases() -> list[tuple[str, Arm, bool]]:
    sigma_tail = 0.35 + math.log(1.2) / Z99
    bimodal = 0.5 * lognormal(120 / 1.4, 0.2) + 0.5 * lognormal(120 * 1.4, 0.2)
    lat, pred = STABLE.latency, UNIFORM
    return [
        (
            "accuracy 3 points worse, labels",
            Arm(accuracy=0.91, latency=lat, predictions=pred),
            True,
        ),
        (
            "accuracy 3 points worse, no labels (estimate)",
            Arm(accuracy=0.91, latency=lat, predictions=pred),
            False,
        ),
        ("20 % slower, every request", Arm(latency=lognormal(144, 0.35), predictions=pred), True),
        (
            "p99 20 % slower, same median",
            Arm(latency=lognormal(120, sigma_tail), predictions=pred),
            True,
        ),
        ("bimodal (x1.4 and /1.4), same median", Arm(latency=bimodal, predictions=pred), True),
        (
            "edge: accuracy 1 point worse (the allowance)",
            Arm(accuracy=0.93, latency=lat, predictions=pred),
            True,
        ),
        (
            "edge: the same, no labels (estimate)",
            Arm(accuracy=0.93, latency=lat, predictions=pred),
            False,
        ),
        (
            "edge: request errors 1.0 % (0.5 point more)",
            Arm(error_rate=0.010, latency=lat, predictions=pred),
            True,
        ),
        (
            "edge: 10 % slower, every request",
            Arm(latency=lognormal(132, 0.35), predictions=pred),
            True,
        ),
    ]


def worse(rollouts: int, looks: int) -> bool:
    print(f"\n## Worse canaries at 5 %: {rollouts} rollouts each, up to {looks} looks\n")
    print(
        "| canary | ever PASS (would step up) | failed | canary rows to FAIL, median (p10-p90) "
        "| minutes at 5 %, median | failed by 3,000 rows | first to fire |\n"
        "|---|---|---|---|---|---|---|"
    )
    goal_met = True
    for i, (name, arm, labels) in enumerate(cases()):
        t0 = time.perf_counter()
        run = simulate(
            STABLE,
            arm,
            rollouts=rollouts,
            looks=looks,
            seed=10 + i,
            labels=labels,
            until_failed=True,
        )
        first = run.any_fail
        done = first[first > 0]
        if done.size:
            q10, q50, q90 = np.percentile(done, [10, 50, 90])
            rows = f"{q50 * CANARY_ROWS:,.0f} ({q10 * CANARY_ROWS:,.0f}-{q90 * CANARY_ROWS:,.0f})"
            mins = f"{q50:.0f}"
        else:
            rows, mins = "-", "-"
        firing: dict[str, int] = {}
        for r in np.flatnonzero(first > 0):
            for n in (n for n, f in run.first_fail.items() if f[r] == first[r]):
                firing[n] = firing.get(n, 0) + 1
        top = ", ".join(
            f"{n} {100 * k / max(done.size, 1):.1f} %"
            for n, k in sorted(firing.items(), key=lambda kv: -kv[1])
        )
        by_goal = share((first > 0) & (first * CANARY_ROWS <= GOAL_ROWS))
        stepped = (run.first_pass > 0) & ((first == 0) | (run.first_pass < first))
        if name.startswith("accuracy 3"):
            goal_met &= bool(stepped.mean() <= 0.01)
        print(
            f"| {name} | {share(stepped)} | {share(first > 0)} | {rows} | {mins} | {by_goal} "
            f"| {top or '-'} | <!-- {time.perf_counter() - t0:.1f} s -->"
        )
    print(
        "\nGoal: the 3-point drop never widened past 10 % (ever PASS <= 1 %, it then holds at "
        f"5 % until failed): {'met' if goal_met else 'MISSED'}."
    )
    return goal_met


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
        f"judge settings: alpha {SETTINGS.alpha} (fail tests {SETTINGS.test_alpha:.4f} each, "
        f"pass tests {SETTINGS.pass_alpha:.4f}, accuracy's {SETTINGS.labels_pass_alpha:.4f} "
        f"on labels and {SETTINGS.estimate_pass_alpha:.4f} on the estimate), "
        f"min_rows {SETTINGS.min_rows}, min_labels {SETTINGS.min_labels}."
    )
    equal_versions(rollouts, args.looks)
    worse(rollouts, 2 * args.looks)
    print(f"\nTotal {time.perf_counter() - t0:.0f} s.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
