"""How the rule evaluation's cost per tick grows with the number of series.

Run: ``.venv/bin/python bench/rules_bench.py [--ticks N] [--sizes 100,1000,10000]``

The bundled rules (rules/default.yaml) with every per-subject SLA/capacity configured, so all
20 rules run. Series are spread round-robin over the rules' 19 metrics with the labels real
exporters give them (service/instance, model, gpu, dependency); each tick gives every series
one new sample around its rule's threshold (some pending, some firing, some resolving), and
time advances 30 s. The first tick (which builds the state) is timed apart from the rest.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.rules import EvalState, Point, Series, default_rules_file, evaluate, load_rules

STEP = timedelta(seconds=30)
SERVICE_METRICS = (
    "http_latency_p95_ms",
    "error_rate",
    "queue_depth",
    "db_query_time_avg_ms",
    "request_rate",
    "throughput_rps",
    "cache_hit_rate",
    "timeout_rate",
)
MODEL_METRICS = (
    "prediction_confidence_mean",
    "input_drift_psi",
    "output_drift_kl",
    "feature_importance_rank_corr",
    "accuracy",
    "data_quality_score",
    "model_latency_p99_ms",
)
# A typical value and the spread around it (one sample in ten or so crosses the threshold).
TYPICAL: Mapping[str, tuple[float, float]] = {
    "cpu_utilization": (0.6, 0.15),
    "gpu_utilization": (0.6, 0.25),
    "gpu_memory_utilization": (0.7, 0.1),
    "http_latency_p95_ms": (350, 120),
    "error_rate": (0.004, 0.005),
    "queue_depth": (400, 300),
    "db_query_time_avg_ms": (120, 60),
    "request_rate": (300, 40),
    "throughput_rps": (260, 50),
    "cache_hit_rate": (0.7, 0.2),
    "timeout_rate": (0.002, 0.002),
    "dependency_up": (0.9, 0.3),
    "prediction_confidence_mean": (0.8, 0.1),
    "input_drift_psi": (0.1, 0.07),
    "output_drift_kl": (0.05, 0.04),
    "feature_importance_rank_corr": (0.9, 0.07),
    "accuracy": (0.93, 0.03),
    "data_quality_score": (0.98, 0.02),
    "model_latency_p99_ms": (180, 60),
}
METRICS = tuple(TYPICAL)


def labels_for(metric: str, i: int) -> dict[str, str]:
    """Labels as exporters give them; ``i`` makes each series distinct."""
    if metric in ("cpu_utilization",):
        return {"instance": f"node-{i}:9100"}
    if metric.startswith("gpu_"):
        return {"instance": f"node-{i // 8}:9400", "gpu": str(i % 8)}
    if metric == "dependency_up":
        return {"service": f"svc-{i % 50}", "dependency": f"dep-{i}"}
    if metric in SERVICE_METRICS:
        return {"service": f"svc-{i // 4}", "instance": f"pod-{i}"}
    return {"model": f"model-{i // 2}", "version": str(i % 2 + 1)}


def make_series(n: int) -> list[Series]:
    return [
        Series.of(METRICS[k % len(METRICS)], labels_for(METRICS[k % len(METRICS)], k))
        for k in range(n)
    ]


def subjects(
    series: list[Series],
) -> tuple[dict[str, dict[str, float]], dict[str, dict[str, float]]]:
    """Every model and service seen gets every SLA/capacity setting: all rules on."""
    models: dict[str, dict[str, float]] = {}
    services: dict[str, dict[str, float]] = {}
    for s in series:
        labels = s.label_map
        if "model" in labels:
            models[labels["model"]] = {
                "accuracy_sla": 0.9,
                "confidence_floor": 0.6,
                "latency_p99_sla_ms": 300,
                "output_kl_threshold": 0.1,
            }
        if "service" in labels:
            services[labels["service"]] = {
                "latency_p95_sla_ms": 500,
                "queue_capacity": 1000,
                "capacity_rps": 150,
            }
    return models, services


def run(n: int, ticks: int, rng: random.Random) -> tuple[float, float, int]:
    """(first tick ms, mean ms of the following ticks, alert changes seen)."""
    rules = load_rules([default_rules_file()])
    series = make_series(n)
    models, services = subjects(series)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    state: EvalState | None = None
    times: list[float] = []
    changes = 0
    for _ in range(ticks + 1):
        now += STEP
        samples = {s: (Point(now, max(0.0, rng.gauss(*TYPICAL[s.metric]))),) for s in series}
        t0 = time.perf_counter()
        state, out = evaluate(rules, samples, state, now, models=models, services=services)
        times.append((time.perf_counter() - t0) * 1000)
        changes += len(out)
    return times[0], statistics.fmean(times[1:]), changes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=10, help="timed ticks after the first")
    parser.add_argument("--sizes", default="100,1000,10000", help="series counts, comma-separated")
    args = parser.parse_args()
    sizes = [int(x) for x in args.sizes.split(",")]
    rng = random.Random(42)  # noqa: S311 (synthetic data, not secrets)
    print(f"rules: {len(load_rules([default_rules_file()]))} (all on); {args.ticks} ticks each")
    print(
        f"{'series':>8} {'first ms':>9} {'ms/tick':>9} {'us/series':>10} "
        f"{'growth':>14} {'changes':>8}"
    )
    previous: tuple[int, float] | None = None
    for n in sizes:
        first, mean, changes = run(n, args.ticks, rng)
        growth = ""
        if previous is not None:
            growth = f"x{mean / previous[1]:.1f} for {n / previous[0]:g}x"
        print(
            f"{n:>8} {first:>9.1f} {mean:>9.2f} {mean * 1000 / n:>10.1f} {growth:>14} {changes:>8}"
        )
        previous = (n, mean)


if __name__ == "__main__":
    main()
