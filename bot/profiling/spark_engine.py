"""Apache Spark: the same profile and sketch as a Spark job, for data that lives in a cluster.

A sketch is computed where the data is: ``sketch_frame`` runs ``DataFrame.mapInArrow`` with
``bot.profiling.sketching.sketch_batches`` on each partition's Arrow record batches, which
yields the partition's partial sketch as one row of bytes; the driver adds them up. The same
code runs on a laptop's ``local[*]`` and on a cluster (``VIGIL_SPARK_MASTER``, or any active
session). ``SparkFile`` answers the reference profile's questions (``bot.profiling.table``)
with DataFrame aggregates; its order statistics come from a distributed sort
(``orderBy`` then ``zipWithIndex``), exact, so the edges equal the in-process ones.

pyspark is imported on first use (``_spark``): it is an optional dependency group (``spark``)
and starts a JVM; ``vigil model reference`` on DuckDB never pays for it.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Collection, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped]

from bot.core.errors import ValidationError
from bot.monitoring.reference.columns import file_format
from bot.monitoring.reference.csv_file import MISSING_TOKENS
from bot.monitoring.reference.problems import short
from bot.profiling.schema import column_sources
from bot.profiling.sketching import Wanted, sketch_batches, sketch_bytes, sketch_from_bytes
from bot.profiling.table import (
    BOOLEAN_WORDS,
    LEADING_ZERO,
    NumericSummary,
    Source,
    TextStats,
)
from bot.quality.sketch import Sketch, SketchLayout

MASTER_ENV = "VIGIL_SPARK_MASTER"


def _spark() -> Any:
    """The active Spark session, else a new one on ``VIGIL_SPARK_MASTER`` (``local[*]``)."""
    try:
        sql = importlib.import_module("pyspark.sql")
    except ImportError:
        raise ValidationError(
            "--engine", "spark needs pyspark: install the 'spark' dependency group"
        ) from None
    active = sql.SparkSession.getActiveSession()
    if active is not None:
        return active
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    try:
        return (
            sql.SparkSession.builder.master(os.environ.get(MASTER_ENV, "local[*]"))
            .appName("vigil")
            .config("spark.ui.enabled", "false")
            .config("spark.sql.ansi.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .getOrCreate()
        )
    except Exception as exc:  # no java, a bad master: pyspark's own error types
        raise ValidationError(
            "--engine", f"spark cannot start ({short(str(exc))}); is java installed?"
        ) from None


def _functions() -> Any:
    return importlib.import_module("pyspark.sql.functions")


def _ticked(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _col(name: str) -> Any:
    return _functions().col(_ticked(name))


def _double(name: str, trim: bool) -> Any:
    """The column as DOUBLE, null where it is not a number (whatever the ANSI setting)."""
    inner = f"trim({_ticked(name)})" if trim else _ticked(name)
    return _functions().expr(f"try_cast({inner} AS DOUBLE)")


class SparkFile:
    """One CSV/Parquet file as a Spark DataFrame, its ``wanted`` columns normalized."""

    def __init__(
        self,
        path: Path,
        names: Sequence[str],
        wanted: Collection[str],
        *,
        categorical: Collection[str] = (),
        numeric: Collection[str] = (),
    ) -> None:
        self.path = path
        self.spark = _spark()
        f = _functions()
        self.csv = file_format(path) == "csv"
        reader = self.spark.read
        if self.csv:
            raw = reader.options(header=True, inferSchema=False, escape='"').csv(str(path))
            tokens = list(MISSING_TOKENS)
            raw = raw.select(
                *[f.when(_col(n).isin(tokens), None).otherwise(_col(n)).alias(n) for n in names]
            )
        else:
            raw = reader.parquet(str(path))
        self.raw = raw
        self.wanted = [n for n in names if n in set(wanted)]
        self.boolean_text: set[str] = set()
        self.sources = self._sources(set(categorical), set(numeric))
        self.frame = raw.select(*[self.expr(n).alias(n) for n in self.wanted])

    def close(self) -> None:
        """Nothing to release: the session outlives one file (a JVM start is seconds)."""

    def _sources(self, categorical: set[str], numeric: set[str]) -> dict[str, Source]:
        sources, self.boolean_text = column_sources(
            self.path,
            self.wanted,
            parquet=not self.csv,
            categorical=categorical,
            numeric=numeric,
            text_stats=self.text_stats,
        )
        return sources

    def text_stats(self, names: Sequence[str]) -> dict[str, TextStats]:
        f = _functions()
        parts = []
        for name in names:
            c = _col(name)
            parts += [
                f.count(c),
                f.count(_double(name, True)),
                f.count(f.when(c.rlike(LEADING_ZERO), 1)),
                f.count(f.when(f.lower(c).isin(list(BOOLEAN_WORDS)), 1)),
            ]
        row = self.raw.agg(*parts).collect()[0] if parts else []
        return {
            n: TextStats(*[int(v) for v in row[4 * i : 4 * i + 4]]) for i, n in enumerate(names)
        }

    def expr(self, name: str) -> Any:
        f, c, source = _functions(), _col(name), self.sources[name]
        if source == "number":
            raw = _double(name, self.csv)
            return f.when(f.isnan(raw), None).otherwise(raw)
        if source == "boolean":
            return f.when(c, "true").when(~c, "false")
        if source == "csv-text" and name in self.boolean_text:
            return f.lower(c)
        return c.cast("string")

    # -- bot.profiling.table.Table --------------------------------------------------------

    def n_rows(self) -> int:
        return int(self.raw.count())

    def numeric_summaries(self, names: Sequence[str]) -> dict[str, NumericSummary]:
        if not names:
            return {}
        f = _functions()
        parts = []
        for name in names:
            c = _col(name)
            parts += [
                f.count(c),
                f.count(f.lit(1)) - f.count(c),
                f.count(f.when(f.abs(c) == float("inf"), 1)),
                f.min(c),
                f.max(c),
                f.avg(c),
                f.stddev_pop(c),
                f.count_distinct(c),
                f.count(f.when(c % 1 != 0, 1)),
            ]
        row = self.frame.agg(*parts).collect()[0]
        out = {}
        for i, name in enumerate(names):
            present, missing, inf, low, high, mean, std, distinct, broken = row[9 * i : 9 * i + 9]
            nan = float("nan")
            out[name] = NumericSummary(
                int(present),
                int(missing),
                int(inf),
                nan if low is None else float(low),
                nan if high is None else float(high),
                nan if mean is None else float(mean),
                nan if std is None else float(std),
                int(distinct),
                int(broken) == 0,
            )
        return out

    def _present(self, name: str) -> Any:
        return self.frame.select(_col(name)).where(_col(name).isNotNull())

    def distinct_values(self, name: str) -> list[float]:
        return sorted(float(r[0]) for r in self._present(name).distinct().collect())

    def order_statistics(self, name: str, positions: Sequence[int]) -> dict[int, float]:
        wanted = frozenset(int(p) for p in positions)
        ordered = self._present(name).orderBy(_col(name)).rdd.zipWithIndex()
        picked = ordered.filter(lambda pair: pair[1] in wanted).collect()
        return {int(k): float(row[0]) for row, k in picked}

    def at_or_above(self, edges: Mapping[str, Sequence[float]]) -> dict[str, list[int]]:
        f = _functions()
        parts, shape = [], []
        for name, cuts in edges.items():
            parts += [f.count(f.when(_col(name) >= f.lit(float(cut)), 1)) for cut in cuts]
            shape.append((name, len(cuts)))
        if not parts:
            return {}
        row = self.frame.agg(*parts).collect()[0]
        out, at = {}, 0
        for name, width in shape:
            out[name] = [int(v) for v in row[at : at + width]]
            at += width
        return out

    def value_counts(self, name: str) -> list[tuple[object, int]]:
        rows = self._present(name).groupBy(_col(name)).count().collect()
        return [(r[0], int(r[1])) for r in rows]

    def pair_counts(self, first: str, second: str) -> list[tuple[object, object, int]]:
        a, b = _col(first), _col(second)
        both = self.frame.where(a.isNotNull() & b.isNotNull()).groupBy(a, b).count()
        return [(r[0], r[1], int(r[2])) for r in both.collect()]


def _partial(layout: SketchLayout, wanted: Wanted, arrival: int) -> Any:
    """The per-partition function: Arrow batches in, one row holding their sketch out."""

    def partition(batches: Iterator[Any]) -> Iterator[Any]:
        sketch = sketch_batches(layout, wanted, batches, arrival)
        yield pa.RecordBatch.from_pydict(
            {"sketch": [sketch_bytes(sketch)]}, schema=pa.schema([("sketch", pa.binary())])
        )

    return partition


def sketch_frame(frame: Any, layout: SketchLayout, wanted: Wanted, arrival: int) -> Sketch:
    """Any DataFrame with the normalized ``wanted`` columns (DOUBLE, or string; null for
    missing) as one sketch: a partial sketch per partition, merged on the driver."""
    rows = frame.mapInArrow(_partial(layout, wanted, arrival), "sketch binary").collect()
    total = layout.empty()
    for row in rows:
        total += sketch_from_bytes(layout, bytes(row[0]))
    return total


def sketch(
    path: Path,
    names: Sequence[str],
    layout: SketchLayout,
    wanted: Wanted,
    categorical: Collection[str],
    numeric: Collection[str],
    arrival: int,
) -> Sketch:
    """A local file's rows as one sketch, read and counted by Spark."""
    spark_file = SparkFile(path, names, wanted.columns(), categorical=categorical, numeric=numeric)
    return sketch_frame(spark_file.frame, layout, wanted, arrival)
