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
from datetime import datetime, timedelta

import numpy as np

from bot.core.errors import ValidationError
from bot.quality.batch import ColumnBatch
from bot.quality.binning import IntArray
from bot.quality.panes import EPOCH, micros_of
from bot.quality.profile import ReferenceProfile
from bot.quality.sketch import (
    CONF_SUM,
    CONF_VAR,
    DEFAULT_CONFIDENCE_EDGES,
    NO_FIRST,
    NO_LAST,
    PRED_SQ,
    PRED_SUM,
    SUMS,
    Sketch,
    SketchLayout,
)
from bot.quality.spec import WindowSpec as WindowSpec  # its home is spec; read here too

DEFAULT_PANES = 10
__all__ = ["DEFAULT_CONFIDENCE_EDGES", "ModelWindow", "WindowSnapshot", "WindowSpec"]

_EMPTY = np.iinfo(np.int64).min


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


def _readonly(array: IntArray) -> IntArray:
    copy = array.copy()
    copy.setflags(write=False)
    return copy


def _moment(micros: int, empty: int) -> datetime | None:
    return None if micros == empty else EPOCH + timedelta(microseconds=micros)


def snapshot_of(layout: SketchLayout, sketch: Sketch, at: datetime) -> WindowSnapshot:
    """The figures a window's merged sketch holds, as a snapshot taken at ``at``."""
    total, sums = sketch.counts, sketch.sums
    features = layout.profile.features
    missing_at, outside_at = layout.missing_at, layout.outside_at
    return WindowSnapshot(
        at=at,
        n_rows=int(total[layout.rows_at]),
        n_clean=int(total[layout.clean_at]),
        n_rejected=int(total[layout.rejected_at]),
        counts={s.name: _readonly(total[at_ : at_ + w]) for s, _, at_, w in layout.bins},
        missing={s.name: int(total[missing_at + i]) for i, s in enumerate(features)},
        outside={s.name: int(total[outside_at + i]) for i, s in enumerate(features)},
        prediction_counts=_readonly(total[layout.pred_at : layout.pred_at + layout.pred_width]),
        prediction_missing=int(total[layout.pred_missing_at]),
        prediction_sum=float(sums[PRED_SUM]),
        prediction_sum_squares=float(sums[PRED_SQ]),
        confidence_counts=_readonly(total[layout.conf_at : layout.rows_at]),
        confidence_sum=float(sums[CONF_SUM]),
        confidence_variance_sum=float(sums[CONF_VAR]),
        first_seen=_moment(sketch.first, NO_FIRST),
        last_seen=_moment(sketch.last, NO_LAST),
    )


class ModelWindow:
    """Streaming counts of one model version's production rows against its profile: a ring
    of panes, each a :class:`~bot.quality.sketch.Sketch` kept as one row of an array."""

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
        self.layout = SketchLayout(profile)
        size = self.layout.size
        self._counts = np.zeros((self.panes, size), dtype=np.int64)
        self._sums = np.zeros((self.panes, SUMS), dtype=np.float64)
        self._first = np.full(self.panes, NO_FIRST, dtype=np.int64)
        self._last = np.full(self.panes, NO_LAST, dtype=np.int64)
        self._ids = np.full(self.panes, _EMPTY, dtype=np.int64)
        self._total = np.zeros(size, dtype=np.int64)
        self._latest = _EMPTY
        self._position = 0  # rows received so far (row windows)

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

    def _evict(self, slot: int) -> None:
        self._total -= self._counts[slot]
        self._counts[slot] = 0
        self._sums[slot] = 0.0
        self._first[slot], self._last[slot] = NO_FIRST, NO_LAST
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
            delta = self.layout.count(batch.with_rejected(0), now_micros)
            self._counts[slot] += delta.counts
            self._total += delta.counts
            self._sums[slot] += delta.sums
            self._first[slot] = min(self._first[slot], delta.first)
            self._last[slot] = max(self._last[slot], delta.last)
        self._counts[slot, self.layout.rejected_at] += rejected
        self._total[self.layout.rejected_at] += rejected

    def add_batch(self, batch: ColumnBatch, now: datetime) -> None:
        """Count ``batch`` (and its ``rejected`` rows) into the window as of ``now``."""
        missing = set(self.profile.names) - set(batch.features)
        if missing:
            raise ValueError(f"batch lacks features {sorted(missing)}")
        now_micros = micros_of(now)
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

    def _slide_to(self, now: datetime) -> None:
        if self._pane_micros:
            self._slide(micros_of(now) // self._pane_micros)

    def pane_sketches(self, now: datetime) -> list[Sketch]:
        """The live panes as of ``now``, oldest first (copies): what a detector that looks
        for the point a window changed at reads, pane by pane."""
        self._slide_to(now)
        live = [int(slot) for slot in np.argsort(self._ids) if self._ids[slot] != _EMPTY]
        return [
            Sketch(
                self._counts[slot].copy(),
                self._sums[slot].copy(),
                int(self._first[slot]),
                int(self._last[slot]),
            )
            for slot in live
        ]

    def sketch(self, now: datetime) -> Sketch:
        """The whole window as one sketch as of ``now`` (the panes merged)."""
        self._slide_to(now)
        live = self._ids != _EMPTY
        first = int(self._first[live].min()) if live.any() else NO_FIRST
        last = int(self._last[live].max()) if live.any() else NO_LAST
        return Sketch(self._total.copy(), self._sums.sum(axis=0), first, last)

    def snapshot(self, now: datetime) -> WindowSnapshot:
        """The window's totals as of ``now`` (time windows first slide to ``now``)."""
        return snapshot_of(self.layout, self.sketch(now), now)
