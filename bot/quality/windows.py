"""Sliding windows over production rows, kept as histograms on the reference's bins.

A model can serve millions of rows a day; the drift and data-quality checks only need, per
feature, how many recent rows fell in each reference bin. So a window never keeps rows: it
is a ring of *panes* (``panes`` of them, 10 by default), each one flat int64 vector of counts
(every feature's bins, missing and out-of-range counts, prediction and confidence bins, row
/ clean / rejected counts) plus a few float sums. Adding rows is one ``np.bincount`` per
pane touched; sliding drops the oldest pane whole. Memory is ``O(panes x features x bins)``
whatever the traffic, and a running total (updated on add and on evict) makes a snapshot
``O(features x bins)``.

The price of panes is granularity: a row window (``WindowSpec(rows=N)``) is "the last N
rows, to within one pane" (it holds between ``N - N/panes`` and ``N`` rows once full), and
a time window (``WindowSpec(duration=T)``) holds what arrived in the last ``T`` to within
``T/panes``: rows older than ``T`` are always gone, rows a little younger may be too.

Rows are placed by *arrival* (the injected ``now`` of ``add_batch``), not by their own
timestamps, so a late or back-filled batch cannot land in a pane that already slid away;
the rows' own timestamps only set the snapshot's time span. Time never goes backwards: a
``now`` older than the newest pane counts into the newest pane. Nothing here reads a clock.

For label-free accuracy estimation each pane keeps the sum of confidences and the sum of
``c(1 - c)``: the expected accuracy of ``n`` predictions is their mean confidence, with
variance ``sum c(1-c) / n**2`` (a sum of independent Bernoulli trials).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from bot.core.errors import ValidationError
from bot.quality.batch import MISSING, Column, ColumnBatch, outside_reference
from bot.quality.binning import FloatArray, IntArray
from bot.quality.profile import (
    CategoricalProfile,
    FeatureProfile,
    NumericProfile,
    ReferenceProfile,
)
from bot.quality.spec import WindowSpec as WindowSpec  # its home is spec; read here too

DEFAULT_PANES = 10
DEFAULT_CONFIDENCE_EDGES = tuple(round(0.1 * k, 1) for k in range(1, 10))
"""Confidence bins (deciles of [0, 1]) when the profile has no reference confidence."""

_EMPTY = np.iinfo(np.int64).min
_NO_TIME_FIRST = np.iinfo(np.int64).max
_NO_TIME_LAST = np.iinfo(np.int64).min
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CONF_SUM, _CONF_VAR, _PRED_SUM, _PRED_SQ = range(4)


@dataclass(frozen=True)
class WindowSnapshot:
    """The window's totals at ``at``; arrays are read-only and aligned with the profile."""

    at: datetime
    n_rows: int
    """Accepted rows in the window (rows that are in the histograms)."""
    n_clean: int
    n_rejected: int
    counts: Mapping[str, IntArray]
    """Per feature, counts per reference bin (numeric) or per kept category then other."""
    missing: Mapping[str, int]
    outside: Mapping[str, int]
    """Per feature, values outside the reference range, or unseen categories."""
    prediction_counts: IntArray
    """On the profile's prediction bins; empty when the profile has no prediction."""
    prediction_missing: int
    prediction_sum: float
    prediction_sum_squares: float
    confidence_counts: IntArray
    confidence_sum: float
    confidence_variance_sum: float
    """Sum of ``c(1 - c)`` over the rows that had a confidence."""
    first_seen: datetime | None
    last_seen: datetime | None
    """Span of the rows' own timestamps (their arrival time where they had none)."""

    @property
    def n_received(self) -> int:
        return self.n_rows + self.n_rejected

    @property
    def clean_share(self) -> float | None:
        """Clean rows over all rows received, rejected ones included; None when empty."""
        return self.n_clean / self.n_received if self.n_received else None

    @property
    def n_confidence(self) -> int:
        return int(self.confidence_counts.sum())

    @property
    def mean_confidence(self) -> float | None:
        """Expected accuracy without labels; None when no row had a confidence."""
        n = self.n_confidence
        return self.confidence_sum / n if n else None

    @property
    def expected_accuracy_variance(self) -> float | None:
        n = self.n_confidence
        return self.confidence_variance_sum / n**2 if n else None

    @property
    def span(self) -> timedelta | None:
        if self.first_seen is None or self.last_seen is None:
            return None
        return self.last_seen - self.first_seen


def _micros(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return (moment - _EPOCH) // timedelta(microseconds=1)


def _edges_of(profile: FeatureProfile) -> FloatArray | None:
    return profile.edges_array() if isinstance(profile, NumericProfile) else None


def _readonly(array: IntArray) -> IntArray:
    copy = array.copy()
    copy.setflags(write=False)
    return copy


class ModelWindow:
    """Streaming counts of one model version's production rows against its profile."""

    def __init__(
        self, profile: ReferenceProfile, spec: WindowSpec, *, panes: int = DEFAULT_PANES
    ) -> None:
        if panes < 1:
            raise ValidationError("panes", f"must be at least 1, got {panes}")
        self.profile = profile
        self.spec = spec
        if spec.rows is not None:
            self.panes = min(panes, spec.rows)
            self._pane_rows = -(-spec.rows // self.panes)
            self._pane_micros = 0
        else:
            assert spec.duration is not None
            self.panes = panes
            self._pane_rows = 0
            self._pane_micros = max(1, spec.duration // timedelta(microseconds=1) // panes)
        self._layout(profile)
        self._counts = np.zeros((self.panes, self._size), dtype=np.int64)
        self._sums = np.zeros((self.panes, 4), dtype=np.float64)
        self._first = np.full(self.panes, _NO_TIME_FIRST, dtype=np.int64)
        self._last = np.full(self.panes, _NO_TIME_LAST, dtype=np.int64)
        self._ids = np.full(self.panes, _EMPTY, dtype=np.int64)
        self._total = np.zeros(self._size, dtype=np.int64)
        self._latest = _EMPTY
        self._position = 0  # rows received so far (row windows)

    def _layout(self, profile: ReferenceProfile) -> None:
        """Offsets of each block inside a pane's flat count vector."""
        size = 0
        self._bins: list[tuple[FeatureProfile, FloatArray | None, int, int]] = []
        for spec in profile.features:  # each: profile, edges (numeric), offset, width
            width = len(spec.histogram)
            self._bins.append((spec, _edges_of(spec), size, width))
            size += width
        features = len(profile.features)
        self._missing_at, self._outside_at = size, size + features
        size += 2 * features
        prediction = profile.prediction
        self._pred_edges = None if prediction is None else _edges_of(prediction)
        self._pred_at, self._pred_width = (
            size,
            0 if prediction is None else len(prediction.histogram),
        )
        self._pred_missing_at = size + self._pred_width
        size += self._pred_width + 1
        confidence = profile.confidence
        edges = DEFAULT_CONFIDENCE_EDGES if confidence is None else confidence.edges
        self._conf_edges = np.asarray(edges, dtype=np.float64)
        self._conf_at = size
        size += len(edges) + 1
        self._rows_at, self._clean_at, self._rejected_at = size, size + 1, size + 2
        self._size = size + 3

    def copy(self) -> ModelWindow:
        """An independent window holding the same counts (the profile is shared: it is
        never changed): a model's window becomes its first version's when a second appears."""
        twin = copy.copy(self)
        for name in ("_counts", "_sums", "_first", "_last", "_ids", "_total"):
            setattr(twin, name, getattr(self, name).copy())
        return twin

    @property
    def nbytes(self) -> int:
        """Bytes held by the window's arrays: fixed at construction, whatever the traffic."""
        arrays = (self._counts, self._sums, self._first, self._last, self._ids, self._total)
        return sum(a.nbytes for a in arrays)

    @staticmethod
    def _index(edges: FloatArray | None, column: Column, at: int, missing_at: int) -> IntArray:
        """Each value's slot in the pane vector: its bin or category, or the missing count."""
        if edges is None:
            return np.where(column == MISSING, missing_at, at + column)
        bins = np.searchsorted(edges, column, side="right")
        return np.where(np.isnan(column), missing_at, at + bins)

    def _delta(self, batch: ColumnBatch) -> tuple[IntArray, FloatArray]:
        """Counts and sums of ``batch``'s rows as one pane-shaped vector (one bincount)."""
        parts: list[IntArray] = []
        delta = np.zeros(self._size, dtype=np.int64)
        for number, (spec, edges, at, _) in enumerate(self._bins):
            column = batch.features[spec.name]
            parts.append(self._index(edges, column, at, self._missing_at + number))
            delta[self._outside_at + number] = np.count_nonzero(outside_reference(spec, column))
        sums = np.zeros(4, dtype=np.float64)
        prediction = self.profile.prediction
        if prediction is not None:
            parts.append(
                self._index(
                    self._pred_edges, batch.prediction, self._pred_at, self._pred_missing_at
                )
            )
        if prediction is not None and not isinstance(prediction, CategoricalProfile):
            present = batch.prediction[~np.isnan(batch.prediction)]
            sums[_PRED_SUM], sums[_PRED_SQ] = present.sum(), np.square(present).sum()
        if batch.confidence is not None:
            conf = batch.confidence[~np.isnan(batch.confidence)]
            parts.append(self._conf_at + np.searchsorted(self._conf_edges, conf, side="right"))
            sums[_CONF_SUM], sums[_CONF_VAR] = conf.sum(), (conf * (1.0 - conf)).sum()
        if parts:
            delta += np.bincount(np.concatenate(parts), minlength=self._size)
        delta[self._rows_at] = batch.n_rows
        delta[self._clean_at] = np.count_nonzero(batch.clean)
        return delta, sums

    def _evict(self, slot: int) -> None:
        self._total -= self._counts[slot]
        self._counts[slot] = 0
        self._sums[slot] = 0.0
        self._first[slot], self._last[slot] = _NO_TIME_FIRST, _NO_TIME_LAST
        self._ids[slot] = _EMPTY

    def _slide(self, pane: int) -> None:
        """Make ``pane`` the newest: evict every pane that is ``panes`` or more older."""
        if pane <= self._latest:
            return
        stale = (self._ids != _EMPTY) & (self._ids <= pane - self.panes)
        for slot in np.flatnonzero(stale):
            self._evict(int(slot))
        self._latest = pane

    def _count(self, pane: int, batch: ColumnBatch | None, rejected: int, now_micros: int) -> None:
        self._slide(pane)
        slot = pane % self.panes
        if self._ids[slot] != pane:
            if self._ids[slot] != _EMPTY:
                self._evict(slot)
            self._ids[slot] = pane
        if batch is not None and batch.n_rows:
            delta, sums = self._delta(batch)
            self._counts[slot] += delta
            self._total += delta
            self._sums[slot] += sums
            times = np.full(batch.n_rows, now_micros, dtype=np.int64)
            if batch.timestamps is not None:
                stamps = batch.timestamps.astype("datetime64[us]")
                known = ~np.isnat(stamps)
                times[known] = stamps[known].astype(np.int64)
            self._first[slot] = min(self._first[slot], times.min())
            self._last[slot] = max(self._last[slot], times.max())
        self._counts[slot, self._rejected_at] += rejected
        self._total[self._rejected_at] += rejected

    def add_batch(self, batch: ColumnBatch, now: datetime) -> None:
        """Count ``batch`` (and its ``rejected`` rows) into the window as of ``now``."""
        missing = set(self.profile.names) - set(batch.features)
        if missing:
            raise ValueError(f"batch lacks features {sorted(missing)}")
        now_micros = _micros(now)
        if self._pane_micros:
            pane = max(now_micros // self._pane_micros, self._latest)
            self._count(pane, batch, batch.rejected, now_micros)
            return
        accepted = batch.n_rows
        start, end = self._position, self._position + accepted + batch.rejected
        self._position = end
        if end == start:
            return
        size = self._pane_rows
        # Rows in panes that would slide away before this batch ends are never counted.
        at = max(start, ((end - 1) // size - self.panes + 1) * size)
        while at < end:
            pane = at // size
            stop = min(end, (pane + 1) * size)
            first, last = max(at, start) - start, min(stop, start + accepted) - start
            rows = batch.rows(first, last) if last > first else None
            rejected = max(0, stop - max(at, start + accepted))
            self._count(pane, rows, rejected, now_micros)
            at = stop

    def snapshot(self, now: datetime) -> WindowSnapshot:
        """The window's totals as of ``now`` (time windows first slide to ``now``)."""
        if self._pane_micros:
            self._slide(_micros(now) // self._pane_micros)
        total = self._total
        features = self.profile.features
        live = self._ids != _EMPTY
        first = int(self._first[live].min()) if live.any() else _NO_TIME_FIRST
        last = int(self._last[live].max()) if live.any() else _NO_TIME_LAST
        sums = self._sums.sum(axis=0)
        return WindowSnapshot(
            at=now,
            n_rows=int(total[self._rows_at]),
            n_clean=int(total[self._clean_at]),
            n_rejected=int(total[self._rejected_at]),
            counts={s.name: _readonly(total[at : at + w]) for s, _, at, w in self._bins},
            missing={s.name: int(total[self._missing_at + i]) for i, s in enumerate(features)},
            outside={s.name: int(total[self._outside_at + i]) for i, s in enumerate(features)},
            prediction_counts=_readonly(total[self._pred_at : self._pred_at + self._pred_width]),
            prediction_missing=int(total[self._pred_missing_at]),
            prediction_sum=float(sums[_PRED_SUM]),
            prediction_sum_squares=float(sums[_PRED_SQ]),
            confidence_counts=_readonly(total[self._conf_at : self._rows_at]),
            confidence_sum=float(sums[_CONF_SUM]),
            confidence_variance_sum=float(sums[_CONF_VAR]),
            first_seen=None if first == _NO_TIME_FIRST else _EPOCH + timedelta(microseconds=first),
            last_seen=None if last == _NO_TIME_LAST else _EPOCH + timedelta(microseconds=last),
        )
