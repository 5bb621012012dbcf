"""Shadow mode's pairing: a shadow version's outputs joined by id to the live ones.

A shadow version scores the same requests as the version that serves, and its outputs are
posted beside the live ones with the same prediction ids (``shadow: true`` on the post).
They never reach the model's live figures; here each shadow output meets the live output of
its id, whichever arrives first, as long as the other comes within ``window`` (an hour by
default). A shadow row whose live row never comes in time is counted as unmatched, never as
a pair. Memory is bounded: live rows are remembered only while some shadow posted in the
last ``window`` (a model without a shadow pays nothing), at most ``max_rows`` of them, and
at most ``max_rows`` waiting shadow rows and labelled-pair ids per version.

Each shadow version keeps a :class:`ShadowTally`: counts from which the comparison
(``bot.rollout.shadow``) reads agreement, the two score histograms on the reference's bins,
latencies, accuracy of each on the pairs whose label came (joined by id, like the live
labels), and per category value of each categorical feature the pairs and disagreements.
Pure: no I/O, no clock (the caller passes ``now``).
"""

from __future__ import annotations

from collections import Counter, OrderedDict, deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from bot.core.errors import ValidationError
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
"""Live rows remembered, and shadow rows waiting per version, at most."""
LATENCIES_KEPT = 10_000
"""The most recent paired latencies kept per side and version."""
MAX_SHADOWS = 8
"""Shadow versions a model keeps at once; one idle for ``IDLE`` makes room."""
IDLE = timedelta(hours=24)
TOLERANCE = 0.1
"""Numeric predictions agree within this share of the reference's prediction spread."""

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


@dataclass
class ShadowTally:
    """One shadow version's comparison so far: counts, not rows."""

    version: str
    first_at: datetime
    last_at: datetime
    bins: int
    conf_bins: int
    pairs: int = 0
    agree: int = 0
    abs_diff: float = 0.0
    unmatched: int = 0
    """Shadow rows whose live row did not come within the window (or were pushed out)."""
    duplicates: int = 0
    live_counts: IntArray = field(init=False)
    shadow_counts: IntArray = field(init=False)
    live_conf: IntArray = field(init=False)
    shadow_conf: IntArray = field(init=False)
    live_latency: deque[float] = field(default_factory=lambda: deque(maxlen=LATENCIES_KEPT))
    shadow_latency: deque[float] = field(default_factory=lambda: deque(maxlen=LATENCIES_KEPT))
    labelled: int = 0
    live_correct: int = 0
    shadow_correct: int = 0
    live_only: int = 0
    """Labelled pairs the live version got right and the shadow wrong."""
    shadow_only: int = 0
    segment_pairs: Counter[tuple[str, str]] = field(default_factory=Counter)
    segment_disagree: Counter[tuple[str, str]] = field(default_factory=Counter)
    paired: OrderedDict[str, tuple[Prediction, Prediction]] = field(default_factory=OrderedDict)
    """Paired id → (live, shadow) prediction, until its label comes."""
    waiting: OrderedDict[str, tuple[datetime, PairRow]] = field(default_factory=OrderedDict)
    """Shadow rows whose live row has not come yet, oldest first."""

    def __post_init__(self) -> None:
        self.live_counts = np.zeros(self.bins, dtype=np.int64)
        self.shadow_counts = np.zeros(self.bins, dtype=np.int64)
        self.live_conf = np.zeros(self.conf_bins, dtype=np.int64)
        self.shadow_conf = np.zeros(self.conf_bins, dtype=np.int64)


@dataclass(frozen=True)
class ShadowPost:
    """What became of a post of shadow rows."""

    version: str
    received: int
    paired: int
    waiting: int
    duplicates: int


class ShadowBook:
    """One model's live/shadow pairing and every shadow version's tally."""

    def __init__(
        self,
        profile: ReferenceProfile,
        *,
        window: timedelta = WINDOW,
        max_rows: int = MAX_ROWS,
        tolerance: float = TOLERANCE,
    ) -> None:
        prediction = profile.prediction
        self.profile = profile
        self.numeric = isinstance(prediction, NumericProfile)
        self._edges: FloatArray | None = None
        self._categories: dict[str, int] = {}
        self.tolerance = 0.0
        if isinstance(prediction, NumericProfile):
            self._edges = prediction.edges_array()
            self.tolerance = tolerance * max(prediction.std, 1e-9)
            self._bins = len(prediction.edges) + 1
        elif isinstance(prediction, CategoricalProfile):
            self._categories = {c: i for i, c in enumerate(prediction.categories)}
            self._bins = len(prediction.categories) + 1
        else:
            self._bins = 1
        confidence = profile.confidence
        edges = DEFAULT_CONFIDENCE_EDGES if confidence is None else confidence.edges
        self._conf_edges = np.asarray(edges, dtype=np.float64)
        self._window = window
        self._max = max_rows
        self._live: OrderedDict[str, tuple[datetime, PairRow]] = OrderedDict()
        self._active_until: datetime | None = None
        self.tallies: dict[str, ShadowTally] = {}

    @property
    def active(self) -> bool:
        """Whether live rows are being remembered (a shadow posted within the window)."""
        return self._active_until is not None

    def add_live(self, rows: list[PairRow], now: datetime) -> int:
        """Pair live rows with shadow rows waiting for them, and remember them for shadows
        still to come; nothing while no shadow is active. Returns the pairs made."""
        self.expire(now)
        if self._active_until is None:
            return 0
        made = 0
        live = self._live
        for row in rows:
            for tally in self.tallies.values():
                found = tally.waiting.pop(row.id, None)
                if found is not None:
                    self._pair(tally, row, found[1])
                    made += 1
            live[row.id] = (now, row)
            live.move_to_end(row.id)
        while len(live) > self._max:
            live.popitem(last=False)
        return made

    def add_shadow(self, version: str, rows: list[PairRow], now: datetime) -> ShadowPost:
        """Pair shadow rows of ``version`` with remembered live rows; the rest wait."""
        self.expire(now)
        tally = self._tally(version, now)
        tally.last_at = now
        self._active_until = now + self._window
        paired = duplicates = 0
        for row in rows:
            if row.id in tally.paired or row.id in tally.waiting:
                duplicates += 1  # a re-sent row is counted once
                continue
            found = self._live.get(row.id)
            if found is not None:
                self._pair(tally, found[1], row)
                paired += 1
            else:
                tally.waiting[row.id] = (now, row)
        while len(tally.waiting) > self._max:
            tally.waiting.popitem(last=False)
            tally.unmatched += 1
        tally.duplicates += duplicates
        return ShadowPost(version, len(rows), paired, len(tally.waiting), duplicates)

    def label(self, labels: list[tuple[str, str]]) -> None:
        """True classes by id: each paired id's label counts for both sides' accuracy."""
        if not self.tallies:
            return
        for row_id, label in labels:
            for tally in self.tallies.values():
                found = tally.paired.pop(row_id, None)
                if found is None:
                    continue
                live_right = _key(found[0]) == label
                shadow_right = _key(found[1]) == label
                tally.labelled += 1
                tally.live_correct += live_right
                tally.shadow_correct += shadow_right
                tally.live_only += live_right and not shadow_right
                tally.shadow_only += shadow_right and not live_right

    def expire(self, now: datetime) -> None:
        """Forget rows older than the window; a shadow row forgotten unpaired is unmatched."""
        oldest = now - self._window
        live = self._live
        while live and next(iter(live.values()))[0] < oldest:
            live.popitem(last=False)
        for tally in self.tallies.values():
            waiting = tally.waiting
            while waiting and next(iter(waiting.values()))[0] < oldest:
                waiting.popitem(last=False)
                tally.unmatched += 1
        if self._active_until is not None and self._active_until <= now:
            self._active_until = None
            live.clear()

    def _tally(self, version: str, now: datetime) -> ShadowTally:
        tally = self.tallies.get(version)
        if tally is not None:
            return tally
        if len(self.tallies) >= MAX_SHADOWS:
            for name, held in sorted(self.tallies.items()):
                if held.last_at < now - IDLE:
                    del self.tallies[name]
        if len(self.tallies) >= MAX_SHADOWS:
            raise ValidationError(
                "version",
                f"the model already has {len(self.tallies)} shadow versions that posted in the "
                f"last day, at most {MAX_SHADOWS}: {', '.join(sorted(self.tallies))}",
            )
        tally = ShadowTally(version, now, now, self._bins, len(self._conf_edges) + 1)
        self.tallies[version] = tally
        return tally

    def agree(self, live: Prediction, shadow: Prediction) -> bool:
        """Same class; for a numeric prediction, within the tolerance."""
        if isinstance(live, float) and isinstance(shadow, float):
            return abs(live - shadow) <= self.tolerance
        return _key(live) == _key(shadow)

    def _pair(self, tally: ShadowTally, live: PairRow, shadow: PairRow) -> None:
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
            tally.live_latency.append(live.latency_ms)
            tally.shadow_latency.append(shadow.latency_ms)
        for segment in live.segments or shadow.segments:
            tally.segment_pairs[segment] += 1
            tally.segment_disagree[segment] += not same
        tally.paired[live.id] = (live.prediction, shadow.prediction)
        while len(tally.paired) > self._max:
            tally.paired.popitem(last=False)

    def _bin(self, prediction: Prediction) -> int:
        if self._edges is not None:
            if isinstance(prediction, str):
                return self._bins - 1
            return int(np.searchsorted(self._edges, prediction, side="right"))
        return self._categories.get(_key(prediction), self._bins - 1)

    def _conf_bin(self, confidence: float) -> int:
        return int(np.searchsorted(self._conf_edges, confidence, side="right"))


def _key(prediction: Prediction) -> str:
    """The class a prediction names, as labels are compared (``category_key``'s string)."""
    return category_key(prediction) or ""


def segment_value(profile: CategoricalProfile, value: str) -> str:
    """A categorical value as a segment: a reference category, else ``__other__`` (so a
    sender inventing values cannot grow the counts without end)."""
    return value if value in profile.categories else OTHER
