"""DuckDB, the default engine: a CSV or Parquet file profiled and sketched by SQL, out of
core (DuckDB spills sorts and aggregates to a temporary directory), on one machine.

``DuckFile`` reads the file through ``read_csv`` (every cell as text, pandas' missing tokens
as NULL, as ``bot.monitoring.reference.csv_file`` reads it) or ``read_parquet``, decides how
each column is read (``bot.profiling.table.Source``), and answers the reference profile's
questions (``bot.profiling.table.Table``) as aggregate queries; ``batches`` streams the
normalized columns as Arrow record batches for ``bot.profiling.sketching``.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Collection, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb

from bot.core.errors import ValidationError
from bot.monitoring.reference.columns import file_format
from bot.monitoring.reference.csv_file import MISSING_TOKENS
from bot.monitoring.reference.problems import short
from bot.profiling.schema import column_sources
from bot.profiling.table import (
    BOOLEAN_WORDS,
    LEADING_ZERO,
    NumericSummary,
    Source,
    TextStats,
)


def quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _scan(path: Path) -> str:
    where = _literal(str(path))
    if file_format(path) == "parquet":
        return f"read_parquet({where})"
    nulls = ", ".join(_literal(t) for t in MISSING_TOKENS)
    return (
        f"read_csv({where}, header = true, all_varchar = true, delim = ',', quote = '\"', "
        f"escape = '\"', nullstr = [{nulls}], auto_detect = false, "
        "columns = {" + "}"  # filled in by DuckFile: the header's names, all VARCHAR
    )


class DuckFile:
    """One file on DuckDB, its ``wanted`` columns normalized; close it when done."""

    def __init__(
        self,
        path: Path,
        names: Sequence[str],
        wanted: Collection[str],
        *,
        categorical: Collection[str] = (),
        numeric: Collection[str] = (),
        threads: int | None = None,
    ) -> None:
        """``names``: the header's columns. ``categorical``: columns read as categories (a
        leading-zero code stays text); ``numeric``: columns read as numbers whatever they
        hold (a cell that is not one is missing), as a numeric reference feature is."""
        self.path = path
        self._spill = tempfile.mkdtemp(prefix="vigil-duckdb-")
        config: dict[str, Any] = {"temp_directory": self._spill}
        if threads:
            config["threads"] = threads
        self.con = duckdb.connect(":memory:", config=config)
        self.con.execute("SET preserve_insertion_order = false")
        # Parquet min/max statistics never hold NaN (pyarrow leaves NaN out of them), and
        # DuckDB's statistics propagation then folds isnan(x) to false: NaN would count as
        # a value, not as missing. Off, so NaN is seen.
        self.con.execute("SET disabled_optimizers = 'statistics_propagation'")
        scan = _scan(path)
        if file_format(path) == "csv":
            types = ", ".join(f"{_literal(n)}: 'VARCHAR'" for n in names)
            scan = scan.replace("columns = {}", "columns = {" + types + "}") + ")"
        self.scan = scan
        self.wanted = [n for n in names if n in set(wanted)]
        self.boolean_text: set[str] = set()
        self.sources = self._sources(set(categorical), set(numeric))

    def close(self) -> None:
        self.con.close()
        shutil.rmtree(self._spill, ignore_errors=True)

    def __enter__(self) -> DuckFile:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _query(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        try:
            return self.con.execute(sql, list(params)).fetchall()
        except duckdb.Error as exc:
            raise ValidationError("file", f"{self.path}: {short(str(exc))}") from None

    def _sources(self, categorical: set[str], numeric: set[str]) -> dict[str, Source]:
        sources, self.boolean_text = column_sources(
            self.path,
            self.wanted,
            parquet=file_format(self.path) == "parquet",
            categorical=categorical,
            numeric=numeric,
            text_stats=self.text_stats,
        )
        return sources

    def text_stats(self, names: Sequence[str]) -> dict[str, TextStats]:
        if not names:
            return {}
        words = ", ".join(_literal(w) for w in BOOLEAN_WORDS)
        parts = []
        for name in names:
            c = quoted(name)
            parts += [
                f"count({c})",
                f"count(TRY_CAST(trim({c}) AS DOUBLE))",
                f"count(*) FILTER (WHERE regexp_matches({c}, {_literal(LEADING_ZERO)}))",
                f"count(*) FILTER (WHERE lower({c}) IN ({words}))",
            ]
        row = self._query(f"SELECT {', '.join(parts)} FROM {self.scan}")[0]  # noqa: S608 (names quoted by quoted())
        return {n: TextStats(*row[4 * i : 4 * i + 4]) for i, n in enumerate(names)}

    def expr(self, name: str) -> str:
        """The normalized column: DOUBLE without NaN, or text, NULL for missing."""
        c, source = quoted(name), self.sources[name]
        if source == "number":
            raw = (
                f"TRY_CAST(trim({c}) AS DOUBLE)"
                if file_format(self.path) == "csv"
                else (f"TRY_CAST({c} AS DOUBLE)")
            )
            return f"(CASE WHEN isnan({raw}) THEN NULL ELSE {raw} END)"
        if source == "boolean":
            return f"(CASE WHEN {c} THEN 'true' WHEN NOT {c} THEN 'false' END)"
        if source == "csv-text" and name in self.boolean_text:
            return f"lower({c})"  # True/FALSE spellings: the keys of JSON booleans
        return f"CAST({c} AS VARCHAR)"

    def _from(self) -> str:
        columns = ", ".join(f"{self.expr(n)} AS {quoted(n)}" for n in self.wanted)
        return f"(SELECT {columns} FROM {self.scan})"  # noqa: S608 (names quoted by quoted())

    # -- bot.profiling.table.Table --------------------------------------------------------

    def n_rows(self) -> int:
        return int(self._query(f"SELECT count(*) FROM {self.scan}")[0][0])  # noqa: S608 (names quoted by quoted())

    def numeric_summaries(self, names: Sequence[str]) -> dict[str, NumericSummary]:
        if not names:
            return {}
        parts = []
        for name in names:
            c = quoted(name)
            parts += [
                f"count({c})",
                f"count(*) - count({c})",
                f"count(*) FILTER (WHERE isinf({c}))",
                f"min({c})",
                f"max({c})",
                f"avg({c})",
                f"stddev_pop({c})",
                f"count(DISTINCT {c})",
                f"coalesce(bool_and({c} = floor({c})), true)",
            ]
        row = self._query(f"SELECT {', '.join(parts)} FROM {self._from()}")[0]  # noqa: S608 (names quoted by quoted())
        out = {}
        for i, name in enumerate(names):
            present, missing, inf, low, high, mean, std, distinct, whole = row[9 * i : 9 * i + 9]
            out[name] = NumericSummary(
                int(present),
                int(missing),
                int(inf),
                float("nan") if low is None else float(low),
                float("nan") if high is None else float(high),
                float("nan") if mean is None else float(mean),
                float("nan") if std is None else float(std),
                int(distinct),
                bool(whole),
            )
        return out

    def distinct_values(self, name: str) -> list[float]:
        c = quoted(name)
        rows = self._query(f"SELECT DISTINCT {c} FROM {self._from()} WHERE {c} IS NOT NULL")  # noqa: S608 (names quoted by quoted())
        return sorted(float(v) for (v,) in rows)

    def order_statistics(self, name: str, positions: Sequence[int]) -> dict[int, float]:
        c = quoted(name)
        marks = ", ".join(str(int(p)) for p in positions)
        rows = self._query(
            f"SELECT k, v FROM (SELECT {c} AS v, row_number() OVER (ORDER BY {c}) - 1 AS k "  # noqa: S608 (names quoted by quoted())
            f"FROM {self._from()} WHERE {c} IS NOT NULL) WHERE k IN ({marks})"
        )
        return {int(k): float(v) for k, v in rows}

    def at_or_above(self, edges: Mapping[str, Sequence[float]]) -> dict[str, list[int]]:
        parts, params, shape = [], [], []
        for name, cuts in edges.items():
            for cut in cuts:
                parts.append(f"count(*) FILTER (WHERE {quoted(name)} >= ?)")
                params.append(float(cut))
            shape.append((name, len(cuts)))
        if not parts:
            return {}
        row = self._query(f"SELECT {', '.join(parts)} FROM {self._from()}", params)[0]  # noqa: S608 (names quoted by quoted())
        out, at = {}, 0
        for name, width in shape:
            out[name] = [int(v) for v in row[at : at + width]]
            at += width
        return out

    def value_counts(self, name: str) -> list[tuple[object, int]]:
        c = quoted(name)
        return [
            (v, int(n))
            for v, n in self._query(
                f"SELECT {c}, count(*) FROM {self._from()} WHERE {c} IS NOT NULL GROUP BY {c}"  # noqa: S608 (names quoted by quoted())
            )
        ]

    def pair_counts(self, first: str, second: str) -> list[tuple[object, object, int]]:
        a, b = quoted(first), quoted(second)
        return [
            (x, y, int(n))
            for x, y, n in self._query(
                f"SELECT {a}, {b}, count(*) FROM {self._from()} "  # noqa: S608 (names quoted by quoted())
                f"WHERE {a} IS NOT NULL AND {b} IS NOT NULL GROUP BY {a}, {b}"
            )
        ]

    # -- sketches -------------------------------------------------------------------------

    def batches(self, rows: int = 1 << 17) -> Iterator[Any]:
        """The normalized wanted columns as Arrow record batches, streamed."""
        try:
            reader = self.con.sql(f"SELECT * FROM {self._from()}").to_arrow_reader(rows)  # noqa: S608 (names quoted by quoted())
            yield from reader
        except duckdb.Error as exc:
            raise ValidationError("file", f"{self.path}: {short(str(exc))}") from None
