"""Shadow mode's stored forms: a tally as the columns of its row, a waiting row as text.

A :class:`~bot.quality.compare.shadow.ShadowTally` is stored as ``counts`` (little-endian
int64: the integer counts in ``ShadowTally.SCALARS`` order, then the prediction, confidence
and latency histograms of each side), ``sums`` (float64: the absolute differences' sum and
the latency extremes) and ``segments`` (JSON ``[[feature, value, pairs, disagreements],
...]``), as the panes store their sketches: appended by each write, summed when read. A
waiting live or shadow row (``PairRow``) is JSON. Pure: no I/O.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from typing import NamedTuple

import numpy as np

from bot.quality.compare.shadow import PairRow, Prediction, ShadowTally

_COUNTS = np.dtype("<i8")
_SUMS = np.dtype("<f8")


class StoredTally(NamedTuple):
    """A tally as the columns of its row."""

    counts: bytes
    sums: bytes
    segments: str


def tally_values(tally: ShadowTally) -> StoredTally:
    """A tally as the ``counts``, ``sums`` and ``segments`` columns of its row."""
    scalars = np.array([getattr(tally, name) for name in tally.SCALARS], dtype=_COUNTS)
    vectors = [getattr(tally, name).astype(_COUNTS) for name in tally.VECTORS]
    sums = np.array([tally.abs_diff, *tally.latency_range], dtype=_SUMS)
    segments = sorted(
        [feature, value, n, tally.segment_disagree[(feature, value)]]
        for (feature, value), n in tally.segment_pairs.items()
        if n
    )
    return StoredTally(
        np.concatenate([scalars, *vectors]).tobytes(), sums.tobytes(), json.dumps(segments)
    )


def tally_of(empty: ShadowTally, counts: bytes, sums: bytes, segments: str) -> ShadowTally:
    """A stored tally back, on the bins of ``empty`` (which it fills and returns); a row
    stored on other bins (another reference's) is a ``ValueError``."""
    values = np.frombuffer(counts, dtype=_COUNTS).astype(np.int64)
    sizes = [len(getattr(empty, name)) for name in empty.VECTORS]
    if len(values) != len(empty.SCALARS) + sum(sizes):
        raise ValueError("a stored shadow tally does not fit the reference's bins")
    for at, name in enumerate(empty.SCALARS):
        setattr(empty, name, int(values[at]))
    at = len(empty.SCALARS)
    for name, size in zip(empty.VECTORS, sizes, strict=True):
        setattr(empty, name, values[at : at + size].copy())
        at += size
    floats = np.frombuffer(sums, dtype=_SUMS)
    empty.abs_diff = float(floats[0])
    empty.latency_range = [float(v) for v in floats[1:5]]
    for feature, value, n, disagree in json.loads(segments):
        empty.segment_pairs[(str(feature), str(value))] += int(n)
        empty.segment_disagree[(str(feature), str(value))] += int(disagree)
    return empty


def summed(empty: ShadowTally, rows: Iterable[tuple[bytes, bytes, str]]) -> ShadowTally:
    """The sum of stored tallies (``(counts, sums, segments)`` each) on ``empty``'s bins."""
    total = empty
    for counts, sums, segments in rows:
        part = ShadowTally(empty.version, empty.bins, empty.conf_bins)
        total.add(tally_of(part, counts, sums, segments))
    return total


def row_text(row: PairRow) -> str:
    """A live or shadow row as it waits in the database (its id is a column of its own)."""
    out: dict[str, object] = {"p": row.prediction}
    if row.confidence is not None:
        out["c"] = row.confidence
    if row.latency_ms is not None:
        out["l"] = row.latency_ms
    if row.segments:
        out["s"] = [list(s) for s in row.segments]
    return json.dumps(out, separators=(",", ":"))


def row_of(row_id: str, text: str) -> PairRow:
    """The row :func:`row_text` stored."""
    data = json.loads(text)
    raw = data["p"]
    prediction: Prediction = raw if isinstance(raw, str) else float(raw)
    confidence = data.get("c")
    latency = data.get("l")
    return PairRow(
        id=row_id,
        prediction=prediction,
        confidence=None if confidence is None else float(confidence),
        latency_ms=None if latency is None or math.isnan(latency) else float(latency),
        segments=tuple((str(f), str(v)) for f, v in data.get("s", ())),
    )
