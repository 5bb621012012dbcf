"""Predictions sent as an Arrow IPC stream (``application/vnd.apache.arrow.stream``).

A model server that already holds its scores as Arrow (or pandas, or Polars) can send them
without writing JSON. The columns are named as the JSON row keys: ``id``, ``prediction``,
``confidence``, ``timestamp``, ``version``, ``latency_ms``, and ``features``, a struct with
one child per feature. Each column is checked by its *type* once, so a wrong-typed column
is one error naming it (``features.age: must be a number column, not string``) rather
than a thousand row errors; values are then judged row by row by the same checks as JSON
rows, so a null id or a confidence of 1.5 is rejected with the same message.

Pure: bytes in, rows out. The rows are an :class:`ArrowRows`, read column by column
(``bot.quality.row_fields.ColumnarRows``): numeric features become float64 arrays (null as
NaN) in one call each, ids, predictions and labels one list each, and no row becomes a
Python dict unless the exact check must judge it (a null id, a confidence of 1.5, an
infinite feature: found by one vectorised test per column) or shadow mode pairs it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cached_property
from typing import Any, overload

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]
import pyarrow.types as pt  # type: ignore[import-untyped]

from bot.quality.arrow_body import ArrowBodyError
from bot.quality.binning import FloatArray
from bot.quality.row_fields import (
    MAX_EPOCH,
    NAT,
    ColumnarRows,
    Fields,
    bad_ids,
    bad_predictions,
    timestamps,
)


def _numeric(t: pa.DataType) -> bool:
    return bool(pt.is_integer(t) or pt.is_floating(t))


def _text(t: pa.DataType) -> bool:
    return bool(pt.is_string(t) or pt.is_large_string(t))


_CHECKS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "id": (lambda t: _text(t) or pt.is_integer(t), "a string or integer column"),
    "prediction": (
        lambda t: _text(t) or _numeric(t) or pt.is_boolean(t),
        "a column of labels or numbers",
    ),
    "confidence": (_numeric, "a number column"),
    "timestamp": (
        lambda t: _text(t) or _numeric(t) or pt.is_timestamp(t),
        "a timestamp, ISO 8601 string or epoch-seconds column",
    ),
    "version": (_text, "a string column"),
    "latency_ms": (_numeric, "a number column"),
}  # fmt: skip


def _feature_ok(t: pa.DataType) -> bool:
    if pt.is_dictionary(t):
        return _text(t.value_type)
    return _numeric(t) or _text(t) or pt.is_boolean(t)


def read_table(raw: bytes) -> pa.Table:
    """The stream's record batches as one table; ``ArrowBodyError`` when it is not one."""
    try:
        with pa.ipc.open_stream(pa.py_buffer(raw)) as reader:
            return reader.read_all()
    except (pa.ArrowInvalid, pa.ArrowTypeError, OSError) as exc:
        raise ArrowBodyError("body", f"the body is not an Arrow IPC stream ({exc})") from None


def arrow_rows(raw: bytes) -> ArrowRows:
    """The rows of the stream ``raw``, as the JSON body's ``rows`` would hold them."""
    table = read_table(raw)
    for name, (fits, wanted) in _CHECKS.items():
        if name in table.column_names and not fits(table.schema.field(name).type):
            kind = table.schema.field(name).type
            raise ArrowBodyError(name, f"must be {wanted}, not {kind}")
    if "features" in table.column_names:
        kind = table.schema.field("features").type
        if not pt.is_struct(kind):
            raise ArrowBodyError("features", f"must be a struct column, not {kind}")
        for child in kind:
            if not _feature_ok(child.type):
                raise ArrowBodyError(
                    f"features.{child.name}",
                    f"must be a number, boolean or string column, not {child.type}",
                )
    if "timestamp" in table.column_names and pt.is_timestamp(table.schema.field("timestamp").type):
        stamp = table.schema.field("timestamp").type
        if stamp.tz is None:
            raise ArrowBodyError("timestamp", "must carry a time zone, such as UTC")
        micros = pc.cast(table["timestamp"], pa.timestamp("us", tz=stamp.tz)).cast(pa.int64())
        seconds = pc.divide(pc.cast(micros, pa.float64()), 1_000_000.0)
        table = table.set_column(table.column_names.index("timestamp"), "timestamp", seconds)
    return ArrowRows(table)


def _floats(column: pa.ChunkedArray) -> FloatArray:
    """A numeric column as float64, null as NaN."""
    return np.asarray(column.to_numpy(zero_copy_only=False), dtype=np.float64)


class ArrowRows(ColumnarRows):
    """An Arrow body's rows, read by column (see ``ColumnarRows``)."""

    def __init__(self, table: pa.Table) -> None:
        self._table = table.combine_chunks()
        self._n = int(table.num_rows)

    def __len__(self) -> int:
        return self._n

    @overload
    def __getitem__(self, index: int) -> dict[str, object]: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[dict[str, object]]: ...
    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return self._rows[index]
        if not -self._n <= index < self._n:
            raise IndexError(index)
        found: dict[str, object] = self._table.slice(index % self._n, 1).to_pylist()[0]
        return found

    @cached_property
    def _rows(self) -> list[dict[str, object]]:
        rows: list[dict[str, object]] = self._table.to_pylist()
        return rows

    def _get(self, key: str) -> pa.ChunkedArray | None:
        return self._table[key] if key in self._table.column_names else None

    def column(self, key: str) -> list[object]:
        found = self._get(key)
        if found is not None and found.null_count == 0 and pc.count_distinct(found).as_py() == 1:
            return [found[0].as_py()] * self._n  # one version for the whole post
        return self._list(key)

    def _list(self, key: str) -> list[object]:
        found = self._get(key)
        if found is None:
            return [None] * self._n
        values: list[object] = found.to_pylist()
        return values

    @cached_property
    def _features(self) -> dict[str, pa.Array]:
        found = self._get("features")
        if found is None:
            return {}
        struct = found.chunk(0) if found.num_chunks else pa.array([], type=found.type)
        children = struct.flatten()  # a null row's children read null
        return {f.name: child for f, child in zip(found.type, children, strict=True)}

    def feature_names(self) -> list[str]:
        return list(self._features)

    def feature(self, name: str, numbers: bool) -> FloatArray | Sequence[object] | None:
        child = self._features.get(name)
        if child is None:
            return None
        if numbers and (pt.is_integer(child.type) or pt.is_floating(child.type)):
            array = _floats(child)
            if not np.isinf(array).any():  # infinite values: the exact check names them
                return array
        values: list[object] = child.to_pylist()
        return values

    def fields(self, numeric_prediction: bool) -> Fields:
        n = self._n
        suspects: set[int] = set()
        ids = self._list("id")
        suspects.update(bad_ids(ids))
        predictions = self._list("prediction")
        suspects.update(bad_predictions(predictions, numeric_prediction))
        struct = self._get("features")
        if struct is None:
            suspects.update(range(n))
        elif struct.null_count:
            suspects.update(
                np.flatnonzero(struct.is_null().to_numpy(zero_copy_only=False)).tolist()
            )
        confidence = np.full(n, np.nan)
        found = self._get("confidence")
        if found is not None:
            confidence = _floats(found)
            given = found.is_valid().to_numpy(zero_copy_only=False)
            outside = ~((confidence >= 0.0) & (confidence <= 1.0)) & given  # NaN too
            suspects.update(np.flatnonzero(outside).tolist())
        micros = np.full(n, NAT, dtype=np.int64)
        stamp = self._get("timestamp")
        if stamp is not None and _text(stamp.type):
            micros, unsure = timestamps(stamp.to_pylist())
            suspects.update(unsure)
        elif stamp is not None:
            seconds = _floats(stamp)
            given = stamp.is_valid().to_numpy(zero_copy_only=False)
            fine = np.abs(seconds) < MAX_EPOCH  # NaN and the infinities fail
            suspects.update(np.flatnonzero(given & ~fine).tolist())
            ok = given & fine
            micros[ok] = np.rint(seconds[ok] * 1_000_000).astype(np.int64)
        placeholders: list[object] = [None] * n
        return Fields(ids, predictions, placeholders, confidence, micros, sorted(suspects))
