"""Shadow mode's pairing rules and counts: a shadow version's outputs joined by id to the live ones.

A shadow version scores the same requests as the version that serves, and its outputs are
posted beside the live ones with the same prediction ids (``shadow: true`` on the post).
They never reach the model's live figures; each shadow output meets the live output of its
id, whichever arrives first, as long as the other comes within ``WINDOW`` (an hour). A
shadow row whose live row never comes in time is counted as unmatched, never as a pair.
Live rows are remembered only while some shadow posted in the last ``WINDOW`` (a model
without a shadow pays nothing), at most ``MAX_ROWS`` of them, and at most ``MAX_ROWS``
waiting shadow rows and labelled-pair ids per version. Where the waiting rows live, and
how two replicas never pair one id twice, is ``bot.monitoring.shadow_store``'s business;
this module is what a pair, a label and an expiry *count*.

Each shadow version keeps a :class:`ShadowTally`: counts from which the comparison
(``bot.rollout.shadow``) reads agreement, the two score histograms on the reference's bins,
latencies, accuracy of each on the pairs whose label came (joined by id, like the live
labels), and per category value of each categorical feature the pairs and disagreements.
Every field adds: tallies written by any number of replicas, in any order, sum to the
tally one process given everything would hold. So the latencies are histograms on fixed
log-spaced edges (``LATENCY_EDGES``, twenty to a decade: a p99 read from them is good to
about 6 %, and exact when every latency is the same, as the observed extremes bound it),
not the last values. Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta

import numpy as np

from bot.quality.binning import FloatArray, IntArray
from bot.quality.profile import (
    OTHER,
    CategoricalProfile,
    NumericProfile,
    ReferenceProfile,
    category_key,
)
from bot.quality.windows import DEFAULT_CONFIDENCE_EDGES

WINDOW = timedelta(hours=1)
"""How long a live or shadow row waits for its partner."""
MAX_ROWS = 100_000
"""Live rows remembered, and shadow rows waiting and paired ids per version, at most."""
MAX_SHADOWS = 8
"""Shadow versions a model keeps at once; one idle for ``IDLE`` makes room."""
IDLE = timedelta(hours=24)
MAX_ID = 200
"""Characters of a row id that shadow mode pairs (a longer id is rejected: its row alone)."""
TOLERANCE = 0.1
"""Numeric predictions agree within this share of the reference's prediction spread."""
LATENCY_EDGES: tuple[float, ...] = tuple(float(10 ** (k / 20)) for k in range(-20, 121))
"""Milliseconds, twenty edges a decade from 0.1 ms to 10^6 ms (each bin a factor 1.12)."""

Prediction = str | float


@dataclass(frozen=True)
class PairRow:
    """One output, live or shadow, as pairing needs it: never the feature values, only the
    categorical ones (``segments``: (feature, value), the value a reference category or
    ``__other__``)."""

    id: str
    prediction: Prediction
    confidence: float | None = None
    latency_ms: float | None = None
    segments: tuple[tuple[str, str], ...] = ()


def _zeros(n: int) -> IntArray:
    return np.zeros(n, dtype=np.int64)


@dataclass
class ShadowTally:
    """One shadow version's comparison so far, or what one write adds to it: counts, not
    rows. ``add`` merges two; ``latency_range`` is (live min, live max, shadow min, shadow
    max) of the paired latencies, ±inf while there are none."""

    version: str
    bins: int
    conf_bins: int
    pairs: int = 0
    agree: int = 0
    abs_diff: float = 0.0
    unmatched: int = 0
    """Shadow rows whose live row did not come within the window (or were pushed out)."""
    duplicates: int = 0
    labelled: int = 0
    live_correct: int = 0
    shadow_correct: int = 0
    live_only: int = 0
    """Labelled pairs the live version got right and the shadow wrong."""
    shadow_only: int = 0
    live_counts: IntArray = field(init=False)
    shadow_counts: IntArray = field(init=False)
    live_conf: IntArray = field(init=False)
    shadow_conf: IntArray = field(init=False)
    live_latency: IntArray = field(init=False)
    shadow_latency: IntArray = field(init=False)
    latency_range: list[float] = field(default_factory=lambda: [np.inf, -np.inf, np.inf, -np.inf])
    segment_pairs: Counter[tuple[str, str]] = field(default_factory=Counter)
    segment_disagree: Counter[tuple[str, str]] = field(default_factory=Counter)

    SCALARS = (
        "pairs",
        "agree",
        "unmatched",
        "duplicates",
        "labelled",
        "live_correct",
        "shadow_correct",
        "live_only",
        "shadow_only",
    )
    """The integer counts, in their stored order (``shadow_codec``)."""
    VECTORS = (
        "live_counts",
        "shadow_counts",
        "live_conf",
        "shadow_conf",
        "live_latency",
        "shadow_latency",
    )

    def __post_init__(self) -> None:
        latency = len(LATENCY_EDGES) + 1
        self.live_counts, self.shadow_counts = _zeros(self.bins), _zeros(self.bins)
        self.live_conf, self.shadow_conf = _zeros(self.conf_bins), _zeros(self.conf_bins)
        self.live_latency, self.shadow_latency = _zeros(latency), _zeros(latency)

    @property
    def latency_pairs(self) -> int:
        """Pairs whose two latencies were both given."""
        return int(self.live_latency.sum())

    def add(self, other: ShadowTally) -> None:
        """Add ``other`` (a tally on the same bins) in place."""
        for name in self.SCALARS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.abs_diff += other.abs_diff
        for name in self.VECTORS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        mine, theirs = self.latency_range, other.latency_range
        self.latency_range = [
            min(mine[0], theirs[0]),
            max(mine[1], theirs[1]),
            min(mine[2], theirs[2]),
            max(mine[3], theirs[3]),
        ]
        self.segment_pairs.update(other.segment_pairs)
        self.segment_disagree.update(other.segment_disagree)

    def __bool__(self) -> bool:
        """Whether it counts anything (a write that changed nothing stores nothing)."""
        return bool(
            any(getattr(self, name) for name in self.SCALARS)
            or self.latency_pairs
            or self.segment_pairs
        )


@dataclass(frozen=True)
class ShadowPost:
    """What became of a post of shadow rows."""

    version: str
    received: int
    paired: int
    waiting: int
    duplicates: int


class ShadowScorer:
    """What pairs and labels count under one reference: its prediction and confidence bins
    and the numeric tolerance. One per reference; every replica builds the same one."""

    def __init__(self, profile: ReferenceProfile, *, tolerance: float = TOLERANCE) -> None:
        prediction = profile.prediction
        self.profile = profile
        self.numeric = isinstance(prediction, NumericProfile)
        self._edges: FloatArray | None = None
        self._categories: dict[str, int] = {}
        self.tolerance = 0.0
        if isinstance(prediction, NumericProfile):
            self._edges = prediction.edges_array()
            self.tolerance = tolerance * max(prediction.std, 1e-9)
            self.bins = len(prediction.edges) + 1
        elif isinstance(prediction, CategoricalProfile):
            self._categories = {c: i for i, c in enumerate(prediction.categories)}
            self.bins = len(prediction.categories) + 1
        else:
            self.bins = 1
        confidence = profile.confidence
        edges = DEFAULT_CONFIDENCE_EDGES if confidence is None else confidence.edges
        self._conf_edges = np.asarray(edges, dtype=np.float64)
        self.conf_bins = len(self._conf_edges) + 1
        self._latency_edges = np.asarray(LATENCY_EDGES, dtype=np.float64)

    def empty(self, version: str) -> ShadowTally:
        return ShadowTally(version, self.bins, self.conf_bins)

    def agree(self, live: Prediction, shadow: Prediction) -> bool:
        """Same class; for a numeric prediction, within the tolerance."""
        if isinstance(live, float) and isinstance(shadow, float):
            return abs(live - shadow) <= self.tolerance
        return prediction_key(live) == prediction_key(shadow)

    def pair(self, tally: ShadowTally, live: PairRow, shadow: PairRow) -> None:
        """Count the pair of ``live`` and ``shadow`` (the same id) in ``tally``."""
        same = self.agree(live.prediction, shadow.prediction)
        tally.pairs += 1
        tally.agree += same
        if isinstance(live.prediction, float) and isinstance(shadow.prediction, float):
            tally.abs_diff += abs(live.prediction - shadow.prediction)
        tally.live_counts[self._bin(live.prediction)] += 1
        tally.shadow_counts[self._bin(shadow.prediction)] += 1
        if live.confidence is not None and shadow.confidence is not None:
            tally.live_conf[self._conf_bin(live.confidence)] += 1
            tally.shadow_conf[self._conf_bin(shadow.confidence)] += 1
        if live.latency_ms is not None and shadow.latency_ms is not None:
            lo, hi = live.latency_ms, shadow.latency_ms
            tally.live_latency[self._latency_bin(lo)] += 1
            tally.shadow_latency[self._latency_bin(hi)] += 1
            r = tally.latency_range
            tally.latency_range = [min(r[0], lo), max(r[1], lo), min(r[2], hi), max(r[3], hi)]
        for segment in live.segments or shadow.segments:
            tally.segment_pairs[segment] += 1
            tally.segment_disagree[segment] += not same

    @staticmethod
    def label(tally: ShadowTally, live: str, shadow: str, label: str) -> None:
        """Count a label of a paired id: ``live`` and ``shadow`` are the pair's predictions
        as :func:`prediction_key` wrote them."""
        live_right, shadow_right = live == label, shadow == label
        tally.labelled += 1
        tally.live_correct += live_right
        tally.shadow_correct += shadow_right
        tally.live_only += live_right and not shadow_right
        tally.shadow_only += shadow_right and not live_right

    def _bin(self, prediction: Prediction) -> int:
        if self._edges is not None:
            if isinstance(prediction, str):
                return self.bins - 1
            return int(np.searchsorted(self._edges, prediction, side="right"))
        return self._categories.get(prediction_key(prediction), self.bins - 1)

    def _conf_bin(self, confidence: float) -> int:
        return int(np.searchsorted(self._conf_edges, confidence, side="right"))

    def _latency_bin(self, latency: float) -> int:
        return int(np.searchsorted(self._latency_edges, max(latency, 0.0), side="right"))


def prediction_key(prediction: Prediction) -> str:
    """The class a prediction names, as labels are compared (``category_key``'s string)."""
    return category_key(prediction) or ""


def segment_value(profile: CategoricalProfile, value: str) -> str:
    """A categorical value as a segment: a reference category, else ``__other__`` (so a
    sender inventing values cannot grow the counts without end)."""
    return value if value in profile.categories else OTHER
