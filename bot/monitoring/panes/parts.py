"""What the model monitor's panes are made of: keys, panes, predictions awaiting labels,
labels posted and joined, and a pane's stored form.

A pane is a slice of one model version's rows as a merged sketch (``bot.quality.sketch``)
with the latencies it kept, under (model, reference, version, minute of arrival). These are
the values that travel between the monitor, the group-commit writer (``writer``) and the
store (``store``), and ``pane_of_row`` / ``values_of`` turn a pane into the columns of
``model_panes`` and back. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from bot.quality.labels.tally import LabelKey, LabelTally, conf_bin, delay_bin
from bot.quality.sketch import SUMS, Sketch

LATENCIES_KEPT = 1_000
"""Latency values kept per pane (the rest are counted, not kept): rank tests need values."""

_COUNTS = np.dtype("<i8")
_SUMS = np.dtype("<f8")
_LATENCY = np.dtype("<f4")


@dataclass(frozen=True, order=True)
class PaneKey:
    model: str
    reference_id: int
    version: str
    minute: int


@dataclass
class Pane:
    """A pane's sketch with the latencies it kept; ``counts`` may be empty in a delta that
    only carries labels (the store adds it to whatever the pane holds)."""

    sketch: Sketch
    latencies: npt.NDArray[np.float32] = field(
        default_factory=lambda: np.zeros(0, dtype=np.float32)
    )
    latency_rows: int = 0

    @staticmethod
    def labels_only(pairs: Mapping[tuple[str, str], int], tally: LabelTally | None = None) -> Pane:
        sketch = Sketch(np.zeros(0, dtype=np.int64), np.zeros(SUMS, dtype=np.float64))
        sketch.confusion.update(pairs)
        if tally is not None:
            sketch.labels += tally
        return Pane(sketch)

    def add(self, other: Pane) -> None:
        """Add ``other`` in place (counts of an empty vector take the other's shape)."""
        mine, theirs = self.sketch, other.sketch
        if not theirs.counts.size:
            counts = mine.counts
        elif not mine.counts.size:
            counts = theirs.counts.copy()
        else:
            counts = mine.counts + theirs.counts
        self.sketch = Sketch(
            counts,
            mine.sums + theirs.sums,
            min(mine.first, theirs.first),
            max(mine.last, theirs.last),
            mine.confusion + theirs.confusion,
            mine.labels + theirs.labels,
        )
        room = LATENCIES_KEPT - len(self.latencies)
        if room > 0 and len(other.latencies):
            self.latencies = np.concatenate([self.latencies, other.latencies[:room]])
        self.latency_rows += other.latency_rows


@dataclass(frozen=True)
class AwaitingBatch:
    """Predictions whose label may come, as parallel columns: one pane's row ids and
    predicted classes (``row_ids[i]`` predicted ``predicted[i]``). Columns, not an object
    per row: a post of 5,000 rows is two lists, written in one statement."""

    key: PaneKey
    row_ids: Sequence[str]
    predicted: Sequence[str]
    arrived: int = 0
    """When the post arrived (microseconds since the epoch; 0: not recorded)."""
    confidence: Sequence[float | None] | None = None
    """Each prediction's confidence (None: the post had none)."""

    def __post_init__(self) -> None:
        if len(self.row_ids) != len(self.predicted):
            raise ValueError("row_ids and predicted must have one entry per prediction")
        if self.confidence is not None and len(self.confidence) != len(self.row_ids):
            raise ValueError("confidence must have one entry per prediction")

    def __len__(self) -> int:
        return len(self.row_ids)


@dataclass(frozen=True)
class Grown:
    """A pane a writer appended, to be updated in place to ``whole``."""

    pane_id: int
    whole: Pane


Work = Callable[[Any], Awaitable[object]]
"""More work a post needs done in the write that stores it (shadow mode's pairing): given
the write's session, it runs after the panes, so what it writes commits, or fails, with
them. It must not raise for a post's own fault (it answers a refusal instead): a failure
fails every post of the write."""


@dataclass(frozen=True)
class Written:
    """What a write did: per label post, the labels that joined; each pane appended's id;
    what each :data:`Work` answered, in order."""

    joined: list[list[Joined]]
    appended: dict[PaneKey, int]
    worked: list[object] = field(default_factory=list)


@dataclass(frozen=True)
class PostedLabel:
    """One row of a post of labels: the prediction's id, the true class, who said so."""

    row_id: str
    label: str
    source: str


@dataclass(frozen=True)
class LabelPost:
    """A post of labels for one model, with when it arrived (microseconds)."""

    model: str
    rows: Sequence[PostedLabel]
    arrived: int


@dataclass(frozen=True)
class Joined:
    """A label that found its prediction; ``delay``: seconds since the prediction arrived
    (None when its arrival was not recorded)."""

    row_id: str
    label: str
    predicted: str
    key: PaneKey
    source: str = ""
    delay: float | None = None
    confidence: float | None = None

    def tally(self) -> LabelTally:
        """This label as a label-health tally of one."""
        out = LabelTally()
        key = LabelKey(
            self.label,
            self.predicted,
            self.source,
            conf_bin(self.confidence),
            delay_bin(self.delay),
        )
        out.add(key, self.confidence)
        return out


def pane_of_row(row: Any) -> Pane:
    """A ``model_panes`` row as a pane."""
    sketch = Sketch(
        np.frombuffer(row.counts, dtype=_COUNTS).astype(np.int64),
        np.frombuffer(row.sums, dtype=_SUMS).astype(np.float64),
        int(row.first),
        int(row.last),
        Sketch.confusion_from_json(row.confusion),
        LabelTally.from_json(row.labels),
    )
    return Pane(sketch, np.frombuffer(row.latencies, dtype=_LATENCY), int(row.latency_rows))


def values_of(pane: Pane) -> dict[str, object]:
    """A pane as the columns of its ``model_panes`` row."""
    s = pane.sketch
    return {
        "counts": s.counts.astype(_COUNTS).tobytes(),
        "sums": s.sums.astype(_SUMS).tobytes(),
        "first": s.first,
        "last": s.last,
        "confusion": s.confusion_json(),
        "labels": s.labels.to_json(),
        "latencies": pane.latencies.astype(_LATENCY).tobytes(),
        "latency_rows": pane.latency_rows,
    }
