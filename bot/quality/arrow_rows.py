"""Predictions sent as an Arrow IPC stream (``application/vnd.apache.arrow.stream``).

A model server that already holds its scores as Arrow (or pandas, or Polars) can send them
without writing JSON. The columns are named as the JSON row keys: ``id``, ``prediction``,
``confidence``, ``timestamp``, ``version``, ``latency_ms``, and ``features``, a struct with
one child per feature. Each column is checked by its *type* once, so a wrong-typed column
is one error naming it (``features.age: must be a number column, not string``) rather
than a thousand row errors; values are then judged row by row by the same checks as JSON
rows, so a null id or a confidence of 1.5 is rejected with the same message.

Pure: bytes in, rows out. The rows are the JSON rows' dicts, built by Arrow's C++
``to_pylist``: the monitor (``ModelMonitor.predictions``) takes a list of rows and walks it
for versions, latencies and the label join, so a post must be one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]
import pyarrow.types as pt  # type: ignore[import-untyped]

ARROW_STREAM = "application/vnd.apache.arrow.stream"


class ArrowBodyError(ValueError):
    """The body is no Arrow stream, or a column has a type no row could hold."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field, self.message = field, message


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


def arrow_rows(raw: bytes) -> list[dict[str, Any]]:
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
    rows: list[dict[str, Any]] = table.to_pylist()
    return rows
