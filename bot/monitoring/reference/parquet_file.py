"""Reading a Parquet reference file (``.parquet`` or ``.pq``).

Parquet is typed: integers, floats and decimals become float64, booleans
``"true"``/``"false"`` (the keys of JSON booleans), strings stay strings. Other types
(timestamps, binary, lists, structs) cannot be compared with the JSON values of live rows
and are refused unless ``--ignore``-d.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]

from bot.core.errors import ValidationError
from bot.monitoring.reference.problems import ARROW_ERRORS, short, unreadable
from bot.monitoring.reference.values import strings
from bot.quality.profile import Column


def parquet_names(path: Path) -> tuple[str, ...]:
    """The column names from the file's schema, without reading the data."""
    try:
        schema = pq.read_schema(path)
    except ARROW_ERRORS as exc:
        raise _not_parquet(path, exc) from None
    return tuple(str(n) for n in schema.names)


def _not_parquet(path: Path, exc: BaseException) -> ValidationError:
    if isinstance(exc, PermissionError):
        return unreadable(path, exc)
    return ValidationError("file", f"{path}: is not a readable Parquet file ({short(str(exc))})")


def read_parquet_table(path: Path, wanted: Sequence[str]) -> Any:
    """The wanted columns, as typed as the file has them."""
    try:
        return pq.read_table(path, columns=list(wanted))
    except ARROW_ERRORS as exc:
        raise _not_parquet(path, exc) from None


def parquet_batches(path: Path, wanted: Sequence[str], rows: int) -> Iterator[Any]:
    """``read_parquet_table`` streamed: record batches of at most ``rows`` rows, decoded one
    at a time, so memory stays flat whatever the file's size.

    Not pre-buffered: a pre-buffering reader kept every row group it had read until the
    end (6x10^6 rows: 1.1 GB held, growing with the file); and read through a 1 MiB buffer,
    else each column chunk is read whole (a file written as one row group: all of it)."""
    try:
        with pq.ParquetFile(path, pre_buffer=False, buffer_size=1 << 20) as handle:
            yield from handle.iter_batches(batch_size=rows, columns=list(wanted))
    except ARROW_ERRORS as exc:
        raise _not_parquet(path, exc) from None


def parquet_column(path: Path, name: str, column: Any, categorical: bool) -> Column:
    """A typed column as float64 or strings; a type live rows cannot carry is refused."""
    kind = column.type
    if pa.types.is_dictionary(kind):
        column = pc.cast(column, kind.value_type)
        kind = kind.value_type
    if pa.types.is_null(kind):
        return np.full(len(column), np.nan)
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        numbers = pc.cast(column, pa.float64(), safe=False).to_numpy()
        return np.asarray(numbers, dtype=np.float64).reshape(len(column))
    if pa.types.is_boolean(kind):
        keyed = pc.if_else(column, "true", "false")
        return strings(keyed, booleans=False)
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return strings(column, booleans=False)
    if hasattr(pa.types, "is_string_view") and pa.types.is_string_view(kind):
        return strings(pc.cast(column, pa.string()), booleans=False)
    raise ValidationError(
        "file",
        f"{path}: column {name!r} holds {kind}, which live rows cannot carry as JSON; "
        f"pass --ignore {name} (or name it as the --id or --timestamp column)",
    )
