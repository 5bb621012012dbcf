"""The mergeable sketch: what any slice of production rows is reduced to, and how slices add.

Every model-quality figure Vigil computes (the drift statistics, the data-quality score,
the label-free estimate, realized accuracy) reads counts, never rows: per feature, how many
rows fell in each bin of the reference's *fixed* edges (or each kept category, then
"other"), how many were missing and how many lay outside the reference's range; the same
for the prediction and the confidence; row / clean / rejected counts; four float sums (the
confidence, ``c(1 - c)``, the numeric prediction and its square); the span of the rows'
timestamps; and the labels joined to those rows as a confusion count, with their source,
delay and the prediction's confidence (``bot.quality.labels.tally``: label health).

So a :class:`Sketch` is that and nothing else, and merging two is addition, in any order:
a pane of a window, a minute of one replica's traffic, a Spark partition or a DuckDB chunk
all reduce to the same thing, and the union of any of them is their sum. The layout (which
count sits where) is a :class:`SketchLayout`, a pure function of the reference profile: two
processes holding the same reference lay out the same vector, and its ``digest`` names the
edges it was counted on, so sketches counted on other edges are refused instead of added.

Pure: no I/O, no clock; the caller passes the arrival time.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from bot.quality.batch import MISSING, Column, ColumnBatch, outside_reference
from bot.quality.binning import FloatArray, IntArray
from bot.quality.labels.tally import LabelTally
from bot.quality.profile import CategoricalProfile, FeatureProfile, NumericProfile, ReferenceProfile

DEFAULT_CONFIDENCE_EDGES = tuple(round(0.1 * k, 1) for k in range(1, 10))
"""Confidence bins (deciles of [0, 1]) when the profile has no reference confidence."""

SUMS = 4
CONF_SUM, CONF_VAR, PRED_SUM, PRED_SQ = range(SUMS)
NO_FIRST = np.iinfo(np.int64).max
NO_LAST = np.iinfo(np.int64).min


def _edges_of(profile: FeatureProfile) -> FloatArray | None:
    return profile.edges_array() if isinstance(profile, NumericProfile) else None


@dataclass
class Sketch:
    """Counts and sums of a set of rows on a layout's bins; ``+`` is their union.

    ``first``/``last``: microseconds since the epoch of the earliest and latest row (their
    own timestamps, else their arrival), ``NO_FIRST``/``NO_LAST`` when empty. ``confusion``:
    (true label, predicted) → rows, for labels joined to these rows' predictions;
    ``labels``: the same labels by source, delay and confidence bin (label health)."""

    counts: IntArray
    sums: FloatArray
    first: int = NO_FIRST
    last: int = NO_LAST
    confusion: Counter[tuple[str, str]] = field(default_factory=Counter)
    labels: LabelTally = field(default_factory=LabelTally)

    def __add__(self, other: Sketch) -> Sketch:
        out = self.copy()
        out += other
        return out

    def __iadd__(self, other: Sketch) -> Sketch:
        if self.counts.shape != other.counts.shape:
            raise ValueError(
                f"cannot merge sketches of {self.counts.shape[0]} and "
                f"{other.counts.shape[0]} counts: they were counted on other bins"
            )
        self.counts += other.counts
        self.sums += other.sums
        self.first = min(self.first, other.first)
        self.last = max(self.last, other.last)
        self.confusion.update(other.confusion)
        self.labels += other.labels
        return self

    def copy(self) -> Sketch:
        return Sketch(
            self.counts.copy(),
            self.sums.copy(),
            self.first,
            self.last,
            Counter(self.confusion),
            self.labels.copy(),
        )

    def empty(self) -> bool:
        return not (self.counts.any() or self.confusion)

    @property
    def rows(self) -> int:
        """Accepted rows (0 for a sketch of labels only): every layout keeps rows, clean
        and rejected as the vector's last three counts."""
        return int(self.counts[-3]) if self.counts.size >= 3 else 0

    @property
    def labelled(self) -> int:
        return sum(self.confusion.values())

    def confusion_json(self) -> str:
        """``[[label, predicted, n], ...]``, sorted: the stored form of the confusion."""
        return json.dumps(sorted([a, b, n] for (a, b), n in self.confusion.items() if n))

    @staticmethod
    def confusion_from_json(text: str) -> Counter[tuple[str, str]]:
        return Counter({(str(a), str(b)): int(n) for a, b, n in json.loads(text)})


def merge(sketches: Iterable[Sketch], layout: SketchLayout) -> Sketch:
    """The sum of ``sketches`` (an empty sketch of ``layout`` when there are none)."""
    total = layout.empty()
    for sketch in sketches:
        total += sketch
    return total


class SketchLayout:
    """Which count of a sketch's vector is which, for one reference profile.

    In order: each feature's bins (numeric: ``len(edges) + 1``; categorical: the kept
    categories then "other"), one missing count per feature, one outside-range count per
    feature, the prediction's bins and its missing count, the confidence bins, then rows,
    clean rows and rejected rows."""

    def __init__(self, profile: ReferenceProfile) -> None:
        self.profile = profile
        size = 0
        self.bins: list[tuple[FeatureProfile, FloatArray | None, int, int]] = []
        for spec in profile.features:  # each: profile, edges (numeric), offset, width
            width = len(spec.histogram)
            self.bins.append((spec, _edges_of(spec), size, width))
            size += width
        features = len(profile.features)
        self.missing_at, self.outside_at = size, size + features
        size += 2 * features
        prediction = profile.prediction
        self.pred_edges = None if prediction is None else _edges_of(prediction)
        self.pred_at = size
        self.pred_width = 0 if prediction is None else len(prediction.histogram)
        self.pred_missing_at = size + self.pred_width
        size += self.pred_width + 1
        confidence = profile.confidence
        edges = DEFAULT_CONFIDENCE_EDGES if confidence is None else confidence.edges
        self.conf_edges = np.asarray(edges, dtype=np.float64)
        self.conf_at = size
        size += len(edges) + 1
        self.rows_at, self.clean_at, self.rejected_at = size, size + 1, size + 2
        self.size = size + 3

    @cached_property
    def digest(self) -> str:
        """A short hash of every edge and category the layout counts on (its bins' version):
        computed when asked, not with every layout."""
        return _digest(self.profile, self.conf_edges)

    def empty(self) -> Sketch:
        return Sketch(np.zeros(self.size, dtype=np.int64), np.zeros(SUMS, dtype=np.float64))

    @staticmethod
    def _index(edges: FloatArray | None, column: Column, at: int, missing_at: int) -> IntArray:
        """Each value's slot in the vector: its bin or category, or the missing count."""
        if edges is None:
            return np.where(column == MISSING, missing_at, at + column)
        bins = np.searchsorted(edges, column, side="right")
        return np.where(np.isnan(column), missing_at, at + bins)

    def count(self, batch: ColumnBatch, arrival: int) -> Sketch:
        """``batch``'s rows (and its rejected ones) as a sketch: one ``np.bincount``.
        ``arrival``: microseconds since the epoch, the time of rows without a timestamp."""
        parts: list[IntArray] = []
        counts = np.zeros(self.size, dtype=np.int64)
        for number, (spec, edges, at, _) in enumerate(self.bins):
            column = batch.features[spec.name]
            parts.append(self._index(edges, column, at, self.missing_at + number))
            counts[self.outside_at + number] = np.count_nonzero(outside_reference(spec, column))
        sums = np.zeros(SUMS, dtype=np.float64)
        prediction = self.profile.prediction
        if prediction is not None:
            parts.append(
                self._index(self.pred_edges, batch.prediction, self.pred_at, self.pred_missing_at)
            )
        if prediction is not None and not isinstance(prediction, CategoricalProfile):
            present = batch.prediction[~np.isnan(batch.prediction)]
            sums[PRED_SUM], sums[PRED_SQ] = present.sum(), np.square(present).sum()
        if batch.confidence is not None:
            conf = batch.confidence[~np.isnan(batch.confidence)]
            parts.append(self.conf_at + np.searchsorted(self.conf_edges, conf, side="right"))
            sums[CONF_SUM], sums[CONF_VAR] = conf.sum(), (conf * (1.0 - conf)).sum()
        if parts:
            counts += np.bincount(np.concatenate(parts), minlength=self.size)
        counts[self.rows_at] = batch.n_rows
        counts[self.clean_at] = np.count_nonzero(batch.clean)
        counts[self.rejected_at] = batch.rejected
        first, last = NO_FIRST, NO_LAST
        if batch.n_rows:
            times = np.full(batch.n_rows, arrival, dtype=np.int64)
            if batch.timestamps is not None:
                stamps = batch.timestamps.astype("datetime64[us]")
                known = ~np.isnat(stamps)
                times[known] = stamps[known].astype(np.int64)
            first, last = int(times.min()), int(times.max())
        return Sketch(counts, sums, first, last)

    def labels(
        self, pairs: Mapping[tuple[str, str], int], tally: LabelTally | None = None
    ) -> Sketch:
        """A sketch holding only joined labels: (true label, predicted) → rows, and their
        label-health tally."""
        sketch = self.empty()
        sketch.confusion.update(pairs)
        if tally is not None:
            sketch.labels += tally
        return sketch

    def rows(self, sketch: Sketch) -> int:
        return int(sketch.counts[self.rows_at])


def _digest(profile: ReferenceProfile, conf_edges: FloatArray) -> str:
    """A short hash of every edge and category the layout counts on (its "bin version")."""
    parts: list[object] = []
    for spec in (*profile.features, profile.prediction):
        if spec is None:
            parts.append(None)
        elif isinstance(spec, NumericProfile):
            parts.append([spec.name, "n", [float(e) for e in spec.edges]])
        else:
            parts.append([spec.name, "c", list(spec.labels)])
    parts.append([float(e) for e in conf_edges])
    text = json.dumps(parts, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]
