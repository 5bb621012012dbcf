"""A reference file's columns, whichever its format: the header checked, the data converted.

``vigil model reference MODEL FILE`` hands over whatever the data scientist exported: a CSV
from pandas or a spreadsheet (``csv_file.py``), or a Parquet file (``parquet_file.py``).
This module picks the reader by the file's name and gives back the same thing for both:
only the columns asked for (never the id, timestamp or ignored ones), each a float64 array
(NaN for missing) or a list of strings (``None`` for missing), which is exactly what
``bot.quality.profile.build_profile`` counts fastest. The values get the same category keys
as the live rows the monitor will compare with them (``bot.quality.profile.category_key``).
``read_columns`` holds the whole file (a reference profile's exact quantiles sort each
column); ``stream_columns`` gives the same columns a bounded batch at a time (a sketch of a
file of any size).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa  # type: ignore[import-untyped]

from bot.core.errors import ValidationError
from bot.monitoring.reference.csv_file import (
    CsvCells,
    csv_blocks,
    csv_column,
    csv_header,
    csv_values,
    read_csv_table,
)
from bot.monitoring.reference.parquet_file import (
    parquet_batches,
    parquet_column,
    parquet_names,
    read_parquet_table,
)
from bot.monitoring.reference.values import floats
from bot.quality.profile import Column

Format = Literal["csv", "parquet"]


def file_format(path: Path) -> Format:
    """``csv`` for ``.csv``/``.csv.gz``, ``parquet`` for ``.parquet``/``.pq``, else an error."""
    name = path.name.lower()
    if name.endswith((".csv", ".csv.gz")):
        return "csv"
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    raise ValidationError("file", f"{path}: must be a .csv (or .csv.gz) or .parquet file")


def read_header(path: Path) -> tuple[str, ...]:
    """The file's column names, checked (present, named, distinct) without reading the data."""
    fmt = file_format(path)
    _check_exists(path)
    names = csv_header(path) if fmt == "csv" else parquet_names(path)
    _check_names(path, names)
    return names


BATCH_ROWS = 1 << 17
"""Rows in one batch ``stream_columns`` yields (DuckDB's batches are as long)."""
CSV_BLOCK_BYTES = 1 << 21
"""Bytes of CSV parsed at a time when streaming (Arrow's blocks, joined into batches). Arrow
reads about 32 blocks ahead of a slow reader, so this bounds the memory: about 70 MB."""


def _wanted(path: Path, names: Sequence[str], columns: Collection[str] | None) -> list[str]:
    chosen = set(names if columns is None else columns)
    unknown = sorted(chosen - set(names))
    if unknown:
        raise ValidationError("file", f"{path}: has no column {unknown[0]!r}")
    return [n for n in names if n in chosen]


def _no_rows(path: Path) -> ValidationError:
    return ValidationError("file", f"{path}: has a header but no data rows")


def read_columns(
    path: Path,
    *,
    columns: Collection[str] | None = None,
    categorical: Collection[str] = (),
) -> dict[str, Column]:
    """The file's columns (or only ``columns``, in file order) as float64 arrays or lists.

    Numeric columns are float64 arrays with NaN for missing; the others are lists of str
    with ``None`` for missing (see ``csv_file`` and ``parquet_file`` for what counts as
    which, and for ``categorical``). Raises ``ValidationError`` (field ``file``) for a
    missing, unreadable or malformed file, and one with no data rows.
    """
    names = read_header(path)
    wanted = _wanted(path, names, columns)
    forced = set(categorical)
    if file_format(path) == "csv":
        table = read_csv_table(path, names, wanted)
        convert = csv_column
    else:
        table = read_parquet_table(path, wanted)
        convert = parquet_column
    if table.num_rows == 0:
        raise _no_rows(path)
    out: dict[str, Column] = {}
    for name in wanted:
        out[name] = convert(path, name, table.column(name), name in forced)
        table = table.drop_columns([name])  # release each column once converted
    return out


def stream_columns(
    path: Path,
    *,
    columns: Collection[str] | None = None,
    categorical: Collection[str] = (),
    numeric: Collection[str] = (),
    rows: int = BATCH_ROWS,
    block_bytes: int = CSV_BLOCK_BYTES,
) -> Iterator[tuple[dict[str, Column], int]]:
    """``read_columns`` a batch of at most ``rows`` rows at a time, with the batch's length:
    memory stays flat whatever the file's size, and the batches joined are exactly what
    ``read_columns`` gives. A CSV is read twice: once to see how each column reads over the
    whole file (``CsvCells``: a number column with text further down is text from its first
    row on, as before), then to convert. ``numeric``: columns the caller reads as numbers
    whatever they hold; they come as float64, a cell that is not a number NaN
    (``values.floats`` of ``read_columns``' column), and need no first look. Errors as
    ``read_columns``'s, raised when the batch that has them is reached."""
    names = read_header(path)
    wanted = _wanted(path, names, columns)
    forced = set(categorical)
    numbers = set(numeric) - forced
    blocks: Iterable[Any]
    if file_format(path) == "csv":
        looks = {n: CsvCells() for n in wanted if n not in numbers}
        if looks:
            for block in csv_blocks(path, names, list(looks), block_bytes):
                cells = pa.Table.from_batches([block])
                for name in looks:
                    looks[name] += CsvCells.of(cells.column(name), name in forced)
        readings = {n: look.reading() for n, look in looks.items()}

        def convert(name: str, column: Any) -> Column:
            if name in numbers:
                return floats(csv_column(path, name, column, False))
            return csv_values(path, column, readings[name])

        blocks = csv_blocks(path, names, wanted or names[:1], block_bytes)  # [:1]: rows
    else:

        def convert(name: str, column: Any) -> Column:
            values = parquet_column(path, name, column, name in forced)
            return floats(values) if name in numbers else values

        blocks = parquet_batches(path, wanted, rows)
    seen = 0
    for batch in _rebatched(blocks, rows):
        yield {n: convert(n, batch.column(n)) for n in wanted}, batch.num_rows
        seen += batch.num_rows
    if not seen:
        raise _no_rows(path)


def _rebatched(blocks: Iterable[Any], rows: int) -> Iterator[Any]:
    """Tables of ``rows`` rows (the last one shorter) from record batches of any length:
    Arrow's CSV blocks are small, and a short batch costs the counting its fixed part."""
    held: list[Any] = []
    count = 0
    for block in blocks:
        held.append(block)
        count += block.num_rows
        while count >= rows:
            table = pa.Table.from_batches(held)
            yield table.slice(0, rows)
            rest = table.slice(rows)
            held, count = rest.to_batches(), rest.num_rows
    if count:
        yield pa.Table.from_batches(held)


def _check_exists(path: Path) -> None:
    if path.is_dir():
        raise ValidationError("file", f"{path}: is a directory, not a file")
    if not path.exists():
        raise ValidationError("file", f"{path}: no such file")


def _check_names(path: Path, names: Sequence[str]) -> None:
    for position, name in enumerate(names, start=1):
        if not name.strip():
            raise ValidationError(
                "file",
                f"{path}: column {position} has no name in the header (a pandas index? "
                "write the file with index=False)",
            )
    repeated = sorted(n for n, count in Counter(names).items() if count > 1)
    if repeated:
        raise ValidationError(
            "file", f"{path}: column names must be distinct; repeated: {', '.join(repeated)}"
        )
