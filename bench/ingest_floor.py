"""Issue 20, item 4: what each step of a predictions post costs per row, in this process.

Run: ``PYTHONPATH=$PWD .venv/bin/python bench/ingest_floor.py [--repeats 50]``.

``bench/predictions_http.py`` measures the whole post over HTTP; this one takes it apart to
show where the goals' budgets go: 200,000 JSON rows/s per core is 5 µs a row, 2,000,000
Arrow rows/s 0.5 µs a row. The same rows as predictions_http (16 numeric and 4 categorical
features, an id, a class and a confidence), 1,000-row JSON posts and 5,000-row Arrow posts,
through the code ``vigil serve`` runs, each step timed alone in CPU time of this thread
(median of ``--repeats``):

- decode: the JSON body into Python values (``decode_json``: orjson), or the Arrow stream
  into columns (``arrow_body.parse``); beside it, pyarrow's compiled JSON reader turning the
  same rows (as newline-delimited JSON, the form it reads) straight into columns, one thread
  (the other columnar reader at hand; Polars' ``read_ndjson`` measured ~4.6 µs a row here,
  not a dependency);
- count: ``ModelMonitor.predictions`` in service mode (``local=False``): every row checked,
  the features binned into the pane's sketch, the predictions awaiting a label listed;
- store awaiting: the post's predictions awaiting their label written to ``model_awaiting``
  on SQLite, as the pane writer writes them (``PaneStore.write`` of the awaiting rows
  alone, one transaction), which is what lets a label posted later, to any replica, join
  its prediction and answer how many matched;
- store the panes: the post's merged sketch (one row however many rows the post had).

Then two floors of the database step, on the same SQLite settings: 1,000 rows of the same 8
values bound by ``executemany`` into a table with no index at all (the Python binding
alone), and into ``model_awaiting``'s shape by one statement reading a JSON array
(``json_each``: no Python per row, only SQLite's own work). "Ceiling" is the rows/s one core
could reach if the post cost only that step.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from itertools import repeat
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.json as pa_json  # type: ignore[import-untyped]

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.predictions_http import CATEGORICAL, NUMERIC, arrow_body, scored  # noqa: E402
from bot.ingest.json_body import decode_json  # noqa: E402
from bot.monitoring.monitor import ModelMonitor  # noqa: E402
from bot.monitoring.panes.store import PaneStore  # noqa: E402
from bot.quality.arrow_body import parse  # noqa: E402
from bot.quality.profile import build_profile  # noqa: E402
from bot.quality.windows import WindowSpec  # noqa: E402
from bot.store.db import Database  # noqa: E402

MODEL = "bench-model"


def cpu_median(step: Callable[[int], Any], repeats: int) -> float:
    """The median CPU seconds of this thread that ``step(k)`` took, over ``repeats`` calls
    after one warm-up."""
    step(-1)
    took = []
    for k in range(repeats):
        started = time.thread_time()
        step(k)
        took.append(time.thread_time() - started)
    return statistics.median(took)


def monitor() -> ModelMonitor:
    ref = scored(5_000, 1)
    columns: dict[str, list[Any]] = {k: [r["features"][k] for r in ref] for k in NUMERIC}
    columns |= {k: [r["features"][k] for r in ref] for k in CATEGORICAL}
    profile = build_profile(
        columns,
        prediction=[r["prediction"] for r in ref],
        prediction_kind="categorical",
        confidence=[r["confidence"] for r in ref],
    )
    found = ModelMonitor(WindowSpec(rows=10_000), local=False)
    found.watch(MODEL, "v1", profile)
    return found


def sqlite_floors(folder: Path, rows: int, repeats: int) -> tuple[float, float]:
    """Seconds per ``rows`` rows: executemany into an unindexed table, and one json_each
    statement into model_awaiting's shape (primary key and minute index)."""
    conn = sqlite3.connect(folder / "floor.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("CREATE TABLE bare (a, b, c, d, e, f, g, h)")
    conn.execute(
        "CREATE TABLE keyed (model, row_id, reference_id, version, minute, predicted, arrived,"
        " confidence, PRIMARY KEY (model, row_id))"
    )
    conn.execute("CREATE INDEX keyed_minute ON keyed (model, minute)")
    rng = np.random.default_rng(5)
    predicted = rng.choice(["yes", "no"], rows).tolist()
    confidence = rng.uniform(0.5, 1, rows).round(4).tolist()

    def bare(k: int) -> None:
        ids = [f"r{(k + 1) * rows + i}" for i in range(rows)]
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO bare VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            zip(
                repeat(MODEL), ids, repeat(1), repeat("v1"), repeat(5), predicted,
                repeat(123), confidence, strict=False,
            ),
        )  # fmt: skip
        conn.execute("COMMIT")

    def keyed(k: int) -> None:
        ids = [f"r{(k + 1) * rows + i}" for i in range(rows)]
        packed = json.dumps(list(zip(ids, predicted, confidence, strict=True)))
        conn.execute("BEGIN")
        conn.execute(
            "INSERT INTO keyed SELECT ?, value ->> 0, 1, 'v1', 5, value ->> 1, 123, value ->> 2"
            " FROM json_each(?)",
            (MODEL, packed),
        )
        conn.execute("COMMIT")

    try:
        return cpu_median(bare, repeats), cpu_median(keyed, repeats)
    finally:
        conn.close()


async def store_steps(folder: Path, counted: list[Any], repeats: int) -> tuple[float, float]:
    """Seconds per post: PaneStore.write of its awaiting rows alone, and of its panes alone."""
    db = Database(f"sqlite+aiosqlite:///{folder / 'vigil.db'}")
    await db.migrate()
    store = PaneStore(db)
    try:
        took: dict[str, list[float]] = {"awaiting": [], "panes": []}
        for k in range(-1, repeats):
            post = counted[k % len(counted)]
            for what in took:
                started = time.thread_time()
                if what == "awaiting":
                    await store.write({}, post.awaiting, [])
                else:
                    await store.write(post.panes, [], [])
                if k >= 0:
                    took[what].append(time.thread_time() - started)
        return statistics.median(took["awaiting"]), statistics.median(took["panes"])
    finally:
        await db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeats", type=int, default=50)
    args = parser.parse_args()
    watched = monitor()
    now = datetime(2026, 12, 6, tzinfo=UTC)
    n_json, n_arrow = 1_000, 5_000
    json_bodies = [
        json.dumps({"rows": scored(n_json, 10 + p, p * n_json)}).encode() for p in range(8)
    ]
    arrow_bodies = [arrow_body(scored(n_arrow, 50 + p, p * n_arrow)) for p in range(4)]
    json_values = [decode_json(b) for b in json_bodies]
    arrow_values = [{"rows": parse(b)} for b in arrow_bodies]
    tick = iter(range(10**9))

    def count(values: list[Any]) -> Callable[[int], Any]:
        def step(k: int) -> Any:
            at = now + timedelta(seconds=next(tick))
            return watched.predictions(MODEL, values[k % len(values)], at)

        return step

    rows: list[tuple[str, int, float]] = []
    decode = cpu_median(lambda k: decode_json(json_bodies[k % len(json_bodies)]), args.repeats)
    rows.append(("JSON: decode (orjson)", n_json, decode))
    lines = [b"\n".join(orjson.dumps(row) for row in value["rows"]) for value in json_values]
    options = pa_json.ReadOptions(block_size=max(map(len, lines)) + 1, use_threads=False)
    columnar = cpu_median(
        lambda k: pa_json.read_json(pa.py_buffer(lines[k % len(lines)]), read_options=options),
        args.repeats,
    )
    rows.append(("JSON: decode (pyarrow, columns)", n_json, columnar))
    rows.append(("JSON: count", n_json, cpu_median(count(json_values), args.repeats)))
    arrow = cpu_median(lambda k: parse(arrow_bodies[k % len(arrow_bodies)]), args.repeats)
    rows.append(("Arrow: decode", n_arrow, arrow))
    rows.append(("Arrow: count", n_arrow, cpu_median(count(arrow_values), args.repeats)))
    counted = [watched.predictions(MODEL, v, now) for v in json_values]
    with tempfile.TemporaryDirectory() as tmp:
        awaiting, panes = asyncio.run(store_steps(Path(tmp), counted, args.repeats))
        rows.append(("store awaiting (SQLite)", n_json, awaiting))
        rows.append(("store the panes (SQLite)", n_json, panes))
        bare, keyed = sqlite_floors(Path(tmp), n_json, args.repeats)
        rows.append(("floor: executemany, no index", n_json, bare))
        rows.append(("floor: json_each, keyed table", n_json, keyed))
    print(f"CPU per row of each step, median of {args.repeats} (this thread)")
    print(f"  {'step':<32} {'rows':>6} {'µs/row':>8} {'ceiling rows/s':>15}")
    for name, n, seconds in rows:
        per_row = seconds / n * 1e6
        ceiling = f"{1e6 / per_row:,.0f}" if per_row else "-"
        print(f"  {name:<32} {n:>6,} {per_row:>8.2f} {ceiling:>15}")
    print("  goals: JSON 5.00 µs/row (200,000 rows/s a core), Arrow 0.50 µs/row (2,000,000)")


if __name__ == "__main__":
    main()
