"""Rows per second of one file reduced to one sketch, on each engine (DuckDB, Spark
``local[*]``, in process), for ``vigil model profile`` on a big batch.

The data (N rows x 20 numeric features, a class prediction and a confidence) is generated on
disk as Parquet in chunks of 10^6 rows, so 10^8 rows never sit in memory; the reference is
the first chunk profiled in process. Each engine then sketches the whole file on the
reference's layout; the sketches must be equal (counts exactly, sums to 1e-9), else exit 1.
The in-process path streams the file in batches of 2^17 rows, so it runs at 10^8 rows too.
Timings are wall clock, the JVM's start excluded (a warm-up sketch of the first chunk).
"extra MB" is how far this process's resident set rose above where it stood when the engine
started (``drift_bench.PeakMemory``: VmHWM after a ``clear_refs`` reset; Spark's JVM is
another process, not counted): flat whatever ``--rows`` for an engine that streams.

    PYTHONPATH=. .venv/bin/python bench/sketch_bench.py --rows 10000000
    PYTHONPATH=. .venv/bin/python bench/sketch_bench.py            # 10^8 rows (~17 GB of Parquet)
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from bench.drift_bench import PeakMemory
from bot.monitoring.reference.roles import Roles
from bot.profiling.files import ENGINES, Engine, batch_columns, reference_profile, sketch_file
from bot.quality.sketch import Sketch, SketchLayout

FEATURES = 20
CHUNK = 1_000_000


def _chunk(rng: np.random.Generator, rows: int) -> pa.Table:
    columns: dict[str, object] = {
        f"f{i}": rng.normal(0.1 * (i % 4), 1.0, rows) for i in range(FEATURES)
    }
    columns["prediction"] = rng.integers(0, 2, rows).astype(np.int64)
    columns["confidence"] = rng.random(rows)
    return pa.table(columns)


def write(path: Path, rows: int) -> None:
    """``rows`` rows of Parquet, written a chunk at a time (a row group each)."""
    rng = np.random.default_rng(7)
    writer = None
    done = 0
    while done < rows:
        table = _chunk(rng, min(CHUNK, rows - done))
        if writer is None:
            writer = pq.ParquetWriter(path, table.schema)
        writer.write_table(table)
        done += table.num_rows
    assert writer is not None
    writer.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000_000)
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--dir", type=Path, default=None, help="where the Parquet goes")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="sketch-bench-", dir=args.dir))
    data, sample = folder / "rows.parquet", folder / "reference.parquet"
    started = time.perf_counter()
    write(data, args.rows)
    write(sample, min(args.rows, CHUNK))
    size = data.stat().st_size / 1e9
    print(f"wrote {args.rows:,} rows ({size:.2f} GB) in {time.perf_counter() - started:.0f} s")
    profile, _ = reference_profile(
        sample, Roles(), engine="memory", importances=None, bins=10, max_categories=50
    )
    layout = SketchLayout(profile)
    read = batch_columns(data, profile, Roles())
    results: dict[str, Sketch] = {}
    print("| engine | rows | seconds | rows/s | extra MB |\n|---|---:|---:|---:|---:|")
    for name in args.engines.split(","):
        engine: Engine = name  # type: ignore[assignment]
        if engine == "spark":  # the JVM's start and the first job are not the engine's speed
            sketch_file(sample, layout, read, engine=engine, arrival=0)
        memory = PeakMemory()
        memory.start()
        began = time.perf_counter()
        results[engine] = sketch_file(data, layout, read, engine=engine, arrival=0)
        took = time.perf_counter() - began
        extra = memory.peak_mb()
        print(
            f"| {engine} | {args.rows:,} | {took:.1f} | {args.rows / took:,.0f} | {extra:,.0f} |",
            flush=True,
        )
    sketches = list(results.values())
    for other in sketches[1:]:
        if not (
            np.array_equal(other.counts, sketches[0].counts)
            and np.allclose(other.sums, sketches[0].sums, rtol=1e-9, atol=0)
        ):
            print("engines disagree", file=sys.stderr)
            return 1
    for path in (data, sample):
        path.unlink()
    os.rmdir(folder)
    return 0


if __name__ == "__main__":
    sys.exit(main())
