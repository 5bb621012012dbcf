"""A reference file's columns, whichever its format: the header checked, the data converted.

``vigil model reference MODEL FILE`` hands over whatever the data scientist exported: a CSV
from pandas or a spreadsheet (``csv_file.py``), or a Parquet file (``parquet_file.py``).
This module picks the reader by the file's name and gives back the same thing for both:
only the columns asked for (never the id, timestamp or ignored ones), each a float64 array
(NaN for missing) or a list of strings (``None`` for missing), which is exactly what
``bot.quality.profile.build_profile`` counts fastest. The values get the same category keys
as the live rows the monitor will compare with them (``bot.quality.profile.category_key``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Literal

from bot.core.errors import ValidationError
from bot.monitoring.reference.csv_file import csv_column, csv_header, read_csv_table
from bot.monitoring.reference.parquet_file import (
    parquet_column,
    parquet_names,
    read_parquet_table,
)
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
    chosen = set(names if columns is None else columns)
    wanted = tuple(n for n in names if n in chosen)
    unknown = sorted(chosen - set(names))
    if unknown:
        raise ValidationError("file", f"{path}: has no column {unknown[0]!r}")
    forced = set(categorical)
    if file_format(path) == "csv":
        table = read_csv_table(path, names, wanted)
        convert = csv_column
    else:
        table = read_parquet_table(path, wanted)
        convert = parquet_column
    if table.num_rows == 0:
        raise ValidationError("file", f"{path}: has a header but no data rows")
    out: dict[str, Column] = {}
    for name in wanted:
        out[name] = convert(path, name, table.column(name), name in forced)
        table = table.drop_columns([name])  # release each column once converted
    return out


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
