"""One model version's evidence by the minute: what a canary judge compares over a time range.

Windows (``windows.py``) answer "how do the last N rows look"; a judge comparing a canary
with the stable version asks "what did each version do since the rollout started", from
one interval to the next. So each version also keeps a ledger of one-minute buckets, by
arrival time, for ``keep`` (a day by default): rows, the confidence sums of the label-free
estimate (``ConfidenceSums``), the prediction and confidence counts on the reference's bins
(the histograms input drift uses), latencies, and the labels joined since, as a confusion
count, credited to the minute their *prediction* arrived, so "accuracy since 14:00" is the
accuracy of the rows served since 14:00, whenever their labels came.

Latencies are values, not a histogram, because rank tests need them: a bucket keeps the
first ``LATENCIES_KEPT`` of its minute (float32: at most 6 MB a version a day) and counts
the rest, so a summary says when it is a sample. A range is read to the minute: a bucket
counts when its minute starts inside it. Pure: no I/O, no clock (the caller passes ``now``).

Durable through ``drain``: it hands over what each bucket gained since the last drain as a
``MinuteRecord`` (a delta, not a total) and empties the bucket, which stays to take late
labels and to cap its latencies. The records are additive: any number of them for a minute,
from any process, sum to that minute's evidence, so the service stores them as they come
(``bot.monitoring.ledger_store``) and a summary adds the stored ones to what memory still
holds (``summary(..., stored=...)``): nothing is counted twice, because a record leaves
memory when it is drained.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt

from bot.quality.batch import MISSING, ColumnBatch
from bot.quality.binning import FloatArray, IntArray
from bot.quality.estimate import AccuracyEstimate, ConfidenceSums, estimate_from_sums
from bot.quality.panes import minute_of
from bot.quality.profile import NumericProfile, ReferenceProfile
from bot.quality.sketch import DEFAULT_CONFIDENCE_EDGES

BUCKET = timedelta(minutes=1)
DEFAULT_KEEP = timedelta(hours=24)
LATENCIES_KEPT = 1_000
"""Latency values kept per version and minute (the rest are counted, not kept)."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ROWS, _CONFIDENT = 0, 1
_HEAD = 2  # the count vector: rows, rows with a confidence, then the bins


def minute_ceiling(moment: datetime) -> int:
    """The first minute that starts at or after ``moment``: where a range read begins."""
    return -(-(moment - _EPOCH) // BUCKET)


@dataclass
class _Bucket:
    counts: IntArray
    conf_sum: float = 0.0
    conf_var: float = 0.0
    latencies: list[npt.NDArray[np.float32]] = field(default_factory=list)
    latency_kept: int = 0
    latency_rows: int = 0
    confusion: Counter[tuple[str, str]] = field(default_factory=Counter)

    def empty(self) -> bool:
        return not (self.latency_rows or self.confusion or self.counts.any())

    def record(self, minute: int) -> MinuteRecord:
        latencies = (
            np.concatenate(self.latencies) if self.latencies else np.zeros(0, dtype=np.float32)
        )
        return MinuteRecord(
            minute,
            self.counts,
            self.conf_sum,
            self.conf_var,
            latencies,
            self.latency_rows,
            dict(self.confusion),
        )

    def clear(self) -> None:
        """Empty, but keep ``latency_kept``: the minute's cap holds across drains."""
        self.counts = np.zeros_like(self.counts)
        self.conf_sum = self.conf_var = 0.0
        self.latencies = []
        self.latency_rows = 0
        self.confusion = Counter()


@dataclass(frozen=True)
class MinuteRecord:
    """What one minute of one version gained between two drains: rows and their sums, the
    latencies kept, the labels joined. Records of the same minute add up."""

    minute: int
    counts: IntArray
    """Rows, rows with a confidence, prediction bins, missing predictions, confidence bins."""
    conf_sum: float
    conf_var: float
    latencies: npt.NDArray[np.float32]
    latency_rows: int
    confusion: Mapping[tuple[str, str], int]


@dataclass(frozen=True)
class VersionSummary:
    """One version's evidence over ``[since, until)`` (to the minute; ``None``: open).

    ``prediction_counts`` are on the reference profile's prediction bins (numeric edges, or
    kept categories then "other"), ``prediction_missing`` apart; ``confidence_counts`` on
    the window's confidence bins: the same histograms input drift reads, so two versions'
    summaries compare bin by bin.
    """

    model: str
    version: str
    since: datetime | None
    until: datetime | None
    rows: int
    confidence: ConfidenceSums
    prediction_counts: IntArray
    prediction_missing: int
    confidence_counts: IntArray
    confusion: Mapping[tuple[str, str], int]
    """(true label, predicted) → rows: the labels joined to this range's predictions."""
    latency_ms: tuple[float, ...]
    latency_rows: int
    """Rows that carried a latency; more than ``len(latency_ms)`` when it is a sample."""

    @property
    def labelled(self) -> int:
        return sum(self.confusion.values())

    @property
    def correct(self) -> int:
        return sum(n for (label, predicted), n in self.confusion.items() if label == predicted)

    @property
    def accuracy(self) -> float | None:
        """Realized accuracy of the labelled rows; None before any label."""
        labelled = self.labelled
        return self.correct / labelled if labelled else None

    @property
    def estimate(self) -> AccuracyEstimate | None:
        """Label-free accuracy (mean confidence) with its standard error; None without
        confidences."""
        c = self.confidence
        return estimate_from_sums(c.n, c.sum_conf, c.sum_var) if c.n else None

    @property
    def latency_sampled(self) -> bool:
        return self.latency_rows > len(self.latency_ms)


class VersionLedger:
    """Minute buckets of one version's rows and labels, for ``keep`` after their minute."""

    def __init__(self, profile: ReferenceProfile, *, keep: timedelta = DEFAULT_KEEP) -> None:
        prediction = profile.prediction
        self._pred_edges = (
            prediction.edges_array() if isinstance(prediction, NumericProfile) else None
        )
        self._pred_width = 0 if prediction is None else len(prediction.histogram)
        self._has_prediction = prediction is not None
        confidence = profile.confidence
        edges = DEFAULT_CONFIDENCE_EDGES if confidence is None else confidence.edges
        self._conf_edges = np.asarray(edges, dtype=np.float64)
        self._conf_at = _HEAD + self._pred_width + 1  # after the bins and the missing count
        self._size = self._conf_at + len(edges) + 1
        self._keep = max(1, keep // BUCKET)
        self._buckets: dict[int, _Bucket] = {}

    @staticmethod
    def minute_of(moment: datetime) -> int:
        """The bucket ``moment`` falls in (the label join remembers it with a prediction)."""
        return minute_of(moment)

    def add(self, batch: ColumnBatch, latencies: FloatArray | None, now: datetime) -> int:
        """Count ``batch``'s rows (and their latencies, NaN where none) into ``now``'s
        minute; returns that minute."""
        minute = minute_of(now)
        bucket = self._bucket(minute)
        if batch.n_rows:
            parts: list[IntArray] = []
            if self._has_prediction:
                parts.append(self._prediction_slots(batch.prediction))
            delta_conf = 0
            if batch.confidence is not None:
                conf = batch.confidence[~np.isnan(batch.confidence)]
                delta_conf = conf.shape[0]
                parts.append(self._conf_at + np.searchsorted(self._conf_edges, conf, "right"))
                bucket.conf_sum += float(conf.sum())
                bucket.conf_var += float((conf * (1.0 - conf)).sum())
            if parts:
                bucket.counts += np.bincount(np.concatenate(parts), minlength=self._size)
            bucket.counts[_ROWS] += batch.n_rows
            bucket.counts[_CONFIDENT] += delta_conf
        if latencies is not None:
            known = latencies[~np.isnan(latencies)]
            room = LATENCIES_KEPT - bucket.latency_kept
            if room > 0 and known.shape[0]:
                kept = known[:room].astype(np.float32)  # 4 bytes a value: a day is 6 MB
                bucket.latencies.append(kept)
                bucket.latency_kept += kept.shape[0]
            bucket.latency_rows += int(known.shape[0])
        return minute

    @property
    def lastminute_of(self) -> int | None:
        """The newest minute that holds rows (None when every bucket is gone)."""
        return max(self._buckets, default=None)

    def label(self, minute: int, label: str, predicted: str) -> None:
        """A label joined to a prediction of ``minute`` (ignored once the minute is gone)."""
        bucket = self._buckets.get(minute)
        if bucket is not None:
            bucket.confusion[(label, predicted)] += 1

    @property
    def width(self) -> int:
        """The length of a record's ``counts`` (a stored record of another width belongs to
        another reference's bins and is not added)."""
        return self._size

    def drain(self, before: int | None = None) -> list[MinuteRecord]:
        """What each minute gained since the last drain (the minutes before ``before``, or
        every one), leaving those buckets empty: the caller stores the records."""
        out: list[MinuteRecord] = []
        for minute, bucket in sorted(self._buckets.items()):
            if before is not None and minute >= before:
                continue
            if not bucket.empty():
                out.append(bucket.record(minute))
                bucket.clear()
        return out

    def summary(
        self,
        model: str,
        version: str,
        since: datetime | None,
        until: datetime | None,
        stored: Iterable[MinuteRecord] = (),
    ) -> VersionSummary:
        """The evidence over ``[since, until)``: what memory holds plus the ``stored``
        records (those drained before; records outside the range are skipped)."""
        low = None if since is None else minute_ceiling(since)  # a minute starting in
        high = None if until is None else minute_ceiling(until)
        counts = np.zeros(self._size, dtype=np.int64)
        conf_sum = conf_var = 0.0
        latencies: list[npt.NDArray[np.float32]] = []
        latency_rows = 0
        confusion: Counter[tuple[str, str]] = Counter()
        memory = [bucket.record(minute) for minute, bucket in self._buckets.items()]
        # Stored first: within a minute they are older, so the latencies stay in order.
        for record in sorted((*stored, *memory), key=lambda r: r.minute):
            minute = record.minute
            if (low is not None and minute < low) or (high is not None and minute >= high):
                continue
            if record.counts.shape[0] != self._size:
                continue
            counts += record.counts
            conf_sum += record.conf_sum
            conf_var += record.conf_var
            if record.latencies.shape[0]:
                latencies.append(record.latencies)
            latency_rows += record.latency_rows
            confusion.update(record.confusion)
        pred = counts[_HEAD : _HEAD + self._pred_width].copy()
        conf_counts = counts[self._conf_at :].copy()
        for array in (pred, conf_counts):
            array.setflags(write=False)
        return VersionSummary(
            model=model,
            version=version,
            since=since,
            until=until,
            rows=int(counts[_ROWS]),
            confidence=ConfidenceSums(int(counts[_CONFIDENT]), conf_sum, conf_var),
            prediction_counts=pred,
            prediction_missing=int(counts[_HEAD + self._pred_width]),
            confidence_counts=conf_counts,
            confusion=dict(confusion),
            latency_ms=tuple(np.concatenate(latencies).tolist()) if latencies else (),
            latency_rows=latency_rows,
        )

    def _bucket(self, minute: int) -> _Bucket:
        bucket = self._buckets.get(minute)
        if bucket is None:
            bucket = self._buckets[minute] = _Bucket(np.zeros(self._size, dtype=np.int64))
            stale = [m for m in self._buckets if m <= minute - self._keep]
            for old in stale:  # a new minute: the ones past ``keep`` go
                del self._buckets[old]
        return bucket

    def _prediction_slots(self, prediction: FloatArray | IntArray) -> IntArray:
        missing = _HEAD + self._pred_width
        if self._pred_edges is None:
            return np.where(prediction == MISSING, missing, _HEAD + prediction)
        bins = np.searchsorted(self._pred_edges, prediction, side="right")
        return np.where(np.isnan(prediction), missing, _HEAD + bins)
