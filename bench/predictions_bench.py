"""The predictions ingest path: what one post of scored rows costs the monitor.

Run: ``PYTHONPATH=. .venv/bin/python bench/predictions_bench.py [--repeats 200]``.

Times ``ModelMonitor.predictions`` (row checks, the window, the label join, the per-version
counts) for 1,000-row posts of the calibrated credit model of ``scenario.py`` (its numeric
and categorical features, a categorical prediction and a confidence), in this process, the
median and the fastest of ``--repeats`` posts after a warm-up, in CPU time of the thread, for three kinds of traffic: rows without a
version (every user before versions), rows that all carry one version, and rows split
between two versions (a canary: two windows and two ledgers counted). The HTTP and JSON
decoding in front of it cost the same whatever the monitor does, so they are left out.
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.scenario import CATEGORICAL, FEATURES, make_reference, make_stream
from bot.monitoring.monitor import ModelMonitor
from bot.quality.profile import build_profile
from bot.quality.windows import WindowSpec

MODEL = "credit-scorer"
POST_ROWS = 1_000


def _posts(versions: tuple[str, ...], n_posts: int) -> list[list[dict[str, Any]]]:
    stream = make_stream(POST_ROWS * n_posts, shifted=False, seed=3)
    names = (*FEATURES, *CATEGORICAL)
    columns = [stream[name].tolist() for name in names]
    predictions = stream["prediction"].tolist()
    confidences = stream["confidence"].tolist()
    posts = []
    for p in range(n_posts):
        rows = []
        for i in range(p * POST_ROWS, (p + 1) * POST_ROWS):
            row: dict[str, Any] = {
                "id": f"r{i}",
                "features": dict(zip(names, (column[i] for column in columns), strict=True)),
                "prediction": predictions[i],
                "confidence": confidences[i],
            }
            if versions:
                row["version"] = versions[i % 20 == 0] if len(versions) > 1 else versions[0]
            rows.append(row)
        posts.append(rows)
    return posts


def time_kinds(kinds: dict[str, tuple[str, ...]], repeats: int) -> dict[str, tuple[float, float]]:
    """Median and fastest CPU ms of one post per kind (``()``: rows without a version); the kinds take turns
    post by post, so a noisy neighbour on a shared machine slows them alike."""
    ref = make_reference(20_000, 1)
    profile = build_profile(
        {name: ref[name] for name in (*FEATURES, *CATEGORICAL)},
        prediction=ref["prediction"],
        prediction_kind="categorical",
        confidence=ref["confidence"],
    )
    now = datetime(2026, 1, 1, tzinfo=UTC)
    runs = []
    for versions in kinds.values():
        monitor = ModelMonitor(WindowSpec(rows=10_000))
        monitor.watch(MODEL, "v1", profile)
        posts = _posts(versions, 20)
        for rows in posts:  # warm-up: the windows and the label join are full
            monitor.predictions(MODEL, {"rows": rows}, now)
        runs.append((monitor, posts))
    took: list[list[float]] = [[] for _ in kinds]
    for k in range(repeats):
        now += timedelta(seconds=1)
        for times, (monitor, posts) in zip(took, runs, strict=True):
            rows = posts[k % len(posts)]
            started = time.thread_time()
            monitor.predictions(MODEL, {"rows": rows}, now)
            times.append((time.thread_time() - started) * 1000)
    return {name: (statistics.median(t), min(t)) for name, t in zip(kinds, took, strict=True)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeats", type=int, default=500, help="timed posts per kind")
    args = parser.parse_args(argv)
    kinds = {
        "no version": (),
        "one version": ("v1",),
        "two versions (5 % canary)": ("v1", "v2"),
    }
    print(
        f"ModelMonitor.predictions, {POST_ROWS:,}-row posts, {args.repeats} each: median "
        "(fastest) CPU ms of this thread, which other jobs on a shared machine disturb less "
        "than wall time"
    )
    for name, (median, fastest) in time_kinds(kinds, args.repeats).items():
        print(f"  {name:<28} {median:7.3f} ({fastest:.3f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
