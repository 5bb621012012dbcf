"""Drift computation: Evidently 0.6.x ``DataDriftPreset`` against Vigil's compatible mode.

Same seeded data for both sides: N reference rows and N current rows of ``--features``
numeric features, every fourth feature shifted. Each measured side runs in a fresh
subprocess that builds its data first, then records its resident set (VmRSS), resets the
kernel's peak counter (``/proc/self/clear_refs``) and reports the peak (VmHWM) minus that
baseline: the extra memory the computation itself needed. Wall time is ``perf_counter``.

Run: ``PYTHONPATH=. /tmp/evenv/bin/python bench/drift_bench.py [--rows 100000 1000000]
[--features 20] [--quick]`` (a Python with evidently 0.6.x and pandas<3, the ``bench``
dependency group). Exit status 1 when some feature's PSI differs by more than 1e-6.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

PSI_TOLERANCE = 1e-6
SHIFTED_EVERY = 4
SEED = 20240611


def make_data(n_rows: int, n_features: int, seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """Reference and current (n_rows, n_features) arrays; every 4th feature's mean shifts."""
    rng = np.random.default_rng(seed)
    ref = np.empty((n_rows, n_features))
    cur = np.empty((n_rows, n_features))
    for j in range(n_features):
        shift = 0.25 if j % SHIFTED_EVERY == 0 else 0.0
        if j % 3 == 2:  # skewed features alongside the normal ones
            ref[:, j] = rng.lognormal(0.0, 0.5, n_rows)
            cur[:, j] = rng.lognormal(shift, 0.5, n_rows)
        else:
            ref[:, j] = rng.normal(10.0 * j, 1.0 + j % 5, n_rows)
            cur[:, j] = rng.normal(10.0 * j + shift * (1.0 + j % 5), 1.0 + j % 5, n_rows)
    return ref, cur


def names(n_features: int) -> list[str]:
    return [f"f{j:02d}" for j in range(n_features)]


# --- memory -------------------------------------------------------------------------------


def _status_kib(key: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


class PeakMemory:
    """Peak RSS above the RSS at ``start``: VmHWM after a reset, else ``ru_maxrss``."""

    def start(self) -> None:
        self.baseline = _status_kib("VmRSS") or 0
        try:
            Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to VmRSS
            self.method = "VmHWM after clear_refs, minus VmRSS baseline"
        except OSError:
            self.method = "ru_maxrss (lifetime) minus VmRSS baseline"

    def peak_mb(self) -> float:
        if self.method.startswith("VmHWM"):
            peak = _status_kib("VmHWM") or 0
        else:
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return max(0, peak - self.baseline) / 1024.0


# --- workers (one per subprocess) ---------------------------------------------------------


def _evidently_scores(result: dict[str, Any]) -> dict[str, float]:
    for metric in result["metrics"]:
        columns = metric.get("result", {}).get("drift_by_columns")
        if columns:
            return {name: float(c["drift_score"]) for name, c in columns.items()}
    raise RuntimeError("no drift_by_columns in Evidently's report")


def worker_evidently(n_rows: int, n_features: int, stattest: str | None) -> dict[str, Any]:
    import pandas as pd
    from evidently.metric_preset import DataDriftPreset
    from evidently.report import Report

    ref, cur = make_data(n_rows, n_features)
    cols = names(n_features)
    ref_df, cur_df = pd.DataFrame(ref, columns=cols), pd.DataFrame(cur, columns=cols)
    del ref, cur
    memory = PeakMemory()
    memory.start()
    started = time.perf_counter()
    preset = DataDriftPreset() if stattest is None else DataDriftPreset(stattest=stattest)
    report = Report(metrics=[preset])
    report.run(reference_data=ref_df, current_data=cur_df)
    scores = _evidently_scores(report.as_dict())
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "peak_mb": memory.peak_mb(),
        "memory": memory.method,
        "scores": scores,
    }


def worker_vigil(n_rows: int, n_features: int, stattest: str | None) -> dict[str, Any]:
    from bot.quality.evidently_compat import evidently_psi, evidently_wasserstein

    ref, cur = make_data(n_rows, n_features)
    # Column-contiguous copies, as a columnar batch or a DataFrame column would hold them.
    ref_cols = [np.ascontiguousarray(ref[:, j]) for j in range(n_features)]
    cur_cols = [np.ascontiguousarray(cur[:, j]) for j in range(n_features)]
    del ref, cur
    method = evidently_psi if stattest == "psi" else evidently_wasserstein
    memory = PeakMemory()
    memory.start()
    started = time.perf_counter()
    scores = {
        name: method(r, c) for name, r, c in zip(names(n_features), ref_cols, cur_cols, strict=True)
    }
    seconds = time.perf_counter() - started
    out: dict[str, Any] = {
        "seconds": seconds,
        "peak_mb": memory.peak_mb(),
        "memory": memory.method,
        "scores": scores,
    }
    if stattest == "psi":
        out["floor_seconds"] = bincount_floor(ref_cols, cur_cols)
    return out


def bincount_floor(ref_cols: list[np.ndarray], cur_cols: list[np.ndarray]) -> float:
    """One ``np.bincount`` per side per column over precomputed bin indices (best of 3)."""
    from bot.quality.evidently_compat import sturges_edges

    indices = []
    for r, c in zip(ref_cols, cur_cols, strict=True):
        edges = sturges_edges(r, c)
        inner = edges[1:-1]
        indices.append(
            (
                np.searchsorted(inner, r, side="right"),
                np.searchsorted(inner, c, side="right"),
                edges.size - 1,
            )
        )
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        for ri, ci, bins in indices:
            np.bincount(ri, minlength=bins)
            np.bincount(ci, minlength=bins)
        best = min(best, time.perf_counter() - started)
    return best


def run_worker(side: str, n_rows: int, n_features: int, stattest: str | None) -> dict[str, Any]:
    command = [
        sys.executable,
        __file__,
        "--worker",
        side,
        "--rows",
        str(n_rows),
        "--features",
        str(n_features),
        "--stattest",
        stattest or "default",
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"worker {side}/{stattest} at {n_rows} rows failed")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- streaming costs (in this process, independent of N) ----------------------------------


def streaming_costs(n_features: int, repeats: int = 50) -> tuple[float, float]:
    """Median ms of ``ModelWindow.add_batch`` and of ``check_rows`` for 1,000-row posts."""
    from bot.quality.batch import encode_columns
    from bot.quality.data import check_rows
    from bot.quality.profile import build_profile
    from bot.quality.windows import ModelWindow, WindowSpec

    ref, cur = make_data(20_000, n_features, seed=SEED + 1)
    cols = names(n_features)
    rng = np.random.default_rng(SEED + 2)
    profile = build_profile(
        {n: ref[:, j] for j, n in enumerate(cols)}, prediction=rng.normal(size=ref.shape[0])
    )
    window = ModelWindow(profile, WindowSpec(rows=100_000))
    batch_rows = cur[:1000]
    prediction = rng.normal(size=1000)
    batch = encode_columns(
        profile, {n: batch_rows[:, j] for j, n in enumerate(cols)}, prediction
    ).batch
    now = datetime.now(UTC)
    add_ms = []
    for _ in range(repeats):
        started = time.perf_counter()
        window.add_batch(batch, now)
        add_ms.append((time.perf_counter() - started) * 1000)
    rows = [
        {
            "id": i,
            "prediction": float(prediction[i]),
            "features": {n: float(batch_rows[i, j]) for j, n in enumerate(cols)},
        }
        for i in range(1000)
    ]
    check_ms = []
    for _ in range(repeats):
        started = time.perf_counter()
        checked = check_rows(rows, profile)
        check_ms.append((time.perf_counter() - started) * 1000)
    assert checked.batch.n_rows == 1000, checked.bad
    return statistics.median(add_ms), statistics.median(check_ms)


# --- main ---------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--features", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="10^5 rows only")
    parser.add_argument("--worker", choices=["evidently", "vigil"], help=argparse.SUPPRESS)
    parser.add_argument("--stattest", default="default", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        stattest = None if args.stattest == "default" else args.stattest
        work = worker_evidently if args.worker == "evidently" else worker_vigil
        print(json.dumps(work(args.rows[0], args.features, stattest)))
        return 0
    sizes = [100_000] if args.quick else args.rows
    print(
        f"{args.features} numeric features, every {SHIFTED_EVERY}th shifted; reference and "
        f"current N rows each; each side in a fresh subprocess"
    )
    failed = False
    lines = []
    memory_method = ""
    for n in sizes:
        ev_default = run_worker("evidently", n, args.features, None)
        ev_psi = run_worker("evidently", n, args.features, "psi")
        vi_default = run_worker("vigil", n, args.features, None)
        vi_psi = run_worker("vigil", n, args.features, "psi")
        memory_method = vi_psi["memory"]
        psi_diff = max(abs(ev_psi["scores"][k] - v) for k, v in vi_psi["scores"].items())
        w_diff = max(abs(ev_default["scores"][k] - v) for k, v in vi_default["scores"].items())
        failed |= psi_diff > PSI_TOLERANCE
        for label, ev, vi in (
            ("default (wasserstein)", ev_default, vi_default),
            ("psi", ev_psi, vi_psi),
        ):
            lines.append(
                f"| {n:>9,} | {label:<21} | {ev['seconds']:>11.2f} | {vi['seconds']:>7.3f} | "
                f"{ev['seconds'] / vi['seconds']:>7.0f}x | {ev['peak_mb']:>12.0f} | "
                f"{vi['peak_mb']:>8.1f} | {psi_diff if label == 'psi' else w_diff:>8.1e} |"
            )
        floor = vi_psi["floor_seconds"]
        lines.append(
            f"| {n:>9,} | bincount floor        |           - | {floor:>7.3f} | "
            f"psi {vi_psi['seconds'] / floor:>3.1f}x | {'-':>12} | {'-':>8} | {'-':>8} |"
        )
        print(f"done {n:,} rows", file=sys.stderr)
    print(f"peak memory: {memory_method}")
    print(
        "| rows      | method                | evidently s | vigil s | speed-up | "
        "evidently MB | vigil MB | max diff |"
    )
    print(
        "|-----------|-----------------------|-------------|---------|----------|"
        "--------------|----------|----------|"
    )
    print("\n".join(lines))
    print(
        "max diff: PSI row = max |PSI difference| over features (must be <= 1e-6); "
        "default row = max |normed Wasserstein difference|"
    )
    add_ms, check_ms = streaming_costs(args.features)
    print(
        f"ModelWindow.add_batch, 1,000 rows x {args.features} features: {add_ms:.3f} ms "
        f"(median of 50)"
    )
    print(
        f"check_rows, 1,000 JSON-like rows x {args.features} features: {check_ms:.2f} ms "
        f"(median of 50)"
    )
    if failed:
        print(f"FAIL: PSI differs from Evidently's by more than {PSI_TOLERANCE}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
