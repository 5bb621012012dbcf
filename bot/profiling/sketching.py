"""A batch of production rows (any engine's Arrow record batch, or a batch of the in-process
reader's columns) reduced to one partial ``Sketch`` on a reference's layout.

This is the one function every engine runs, DuckDB on the batches it streams, Spark inside
``mapInArrow`` on each partition, the in-process path on the batches
``bot.monitoring.reference.columns.stream_columns`` streams: so their sketches are equal by
construction, and merging partial sketches (addition) gives the file's sketch in any order.
The engines only read and normalize the file (missing as null, numbers as DOUBLE, text as
text); coding the values against the reference (``encode_columns``) and counting them
(``SketchLayout.count``) is exactly what the live monitor does with posted rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]

from bot.monitoring.reference.values import floats, strings
from bot.quality.batch import encode_columns
from bot.quality.profile import Column, NumericProfile
from bot.quality.sketch import Sketch, SketchLayout


@dataclass(frozen=True)
class Wanted:
    """Which file column feeds each part of the sketch (None: the file has none)."""

    features: Mapping[str, str | None]
    """Profile feature → file column."""
    prediction: str | None
    confidence: str | None

    def columns(self) -> list[str]:
        named = [*self.features.values(), self.prediction, self.confidence]
        return list(dict.fromkeys(c for c in named if c is not None))


def count_columns(
    layout: SketchLayout,
    wanted: Wanted,
    columns: Mapping[str, Column],
    n_rows: int,
    arrival: int,
) -> Sketch:
    """``n_rows`` rows given as ``columns`` (float64 with NaN, or lists of str with None),
    counted on ``layout``; ``arrival`` (microseconds since the epoch) is their time."""
    features: dict[str, Column] = {}
    for spec in layout.profile.features:
        name = wanted.features.get(spec.name)
        if name is None:
            continue
        raw = columns[name]
        features[spec.name] = floats(raw) if isinstance(spec, NumericProfile) else raw
    prediction: Any = np.full(n_rows, np.nan)
    if wanted.prediction is not None:
        prediction = columns[wanted.prediction]
        if isinstance(layout.profile.prediction, NumericProfile):
            prediction = floats(prediction)
    confidence = None
    if wanted.confidence is not None:
        confidence = floats(columns[wanted.confidence])
    encoded = encode_columns(layout.profile, features, prediction, confidence=confidence)
    return layout.count(encoded.batch, arrival)


def arrow_columns(batch: Any) -> dict[str, Column]:
    """A normalized record batch's columns: floating ones as float64 (null → NaN), text as
    lists of str (None for null)."""
    out: dict[str, Column] = {}
    for name, column in zip(batch.schema.names, batch.columns, strict=True):
        if pa.types.is_floating(column.type) or pa.types.is_integer(column.type):
            numbers = column.cast(pa.float64()).to_numpy(zero_copy_only=False)
            out[name] = np.asarray(numbers, dtype=np.float64)
        else:
            out[name] = strings(pa.chunked_array([column.cast(pa.string())]), booleans=False)
    return out


def sketch_parts(
    layout: SketchLayout,
    wanted: Wanted,
    parts: Iterable[tuple[Mapping[str, Column], int]],
    arrival: int,
) -> Sketch:
    """The sum of every part's sketch, each part ``count_columns``' columns and row count:
    one partition's, or one file's, read a bounded batch at a time."""
    total = layout.empty()
    for columns, rows in parts:
        if rows:
            total += count_columns(layout, wanted, columns, rows, arrival)
    return total


def sketch_batches(
    layout: SketchLayout, wanted: Wanted, batches: Iterable[Any], arrival: int
) -> Sketch:
    """The sum of every normalized Arrow record batch's sketch."""
    parts = ((arrow_columns(b), b.num_rows) for b in batches if b.num_rows)
    return sketch_parts(layout, wanted, parts, arrival)


def sketch_bytes(sketch: Sketch) -> bytes:
    """A partial sketch as bytes for an engine to ship (counts, sums, first, last)."""
    span = np.array([sketch.first, sketch.last], dtype=np.int64)
    return (
        sketch.counts.astype("<i8").tobytes()
        + sketch.sums.astype("<f8").tobytes()
        + (span.astype("<i8").tobytes())
    )


def sketch_from_bytes(layout: SketchLayout, data: bytes) -> Sketch:
    """``sketch_bytes`` read back; refused unless it was counted on ``layout``'s size."""
    empty = layout.empty()
    expected = 8 * (empty.counts.size + empty.sums.size + 2)
    if len(data) != expected:
        raise ValueError(f"a partial sketch of {len(data)} bytes, expected {expected}")
    counts = np.frombuffer(data, dtype="<i8", count=empty.counts.size).astype(np.int64)
    offset = 8 * empty.counts.size
    sums = np.frombuffer(data, dtype="<f8", count=empty.sums.size, offset=offset)
    span = np.frombuffer(data, dtype="<i8", count=2, offset=offset + 8 * empty.sums.size)
    return Sketch(counts, sums.astype(np.float64), int(span[0]), int(span[1]))
