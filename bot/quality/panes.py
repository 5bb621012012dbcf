"""Windows read from panes: which slices of traffic a window or a label window takes.

Since issue 20 a model's production rows are kept as merged sketches (``panes.store``):
each write of each replica adds one per version and minute of arrival, and a minute's are
folded into one once it is over. Shared by every replica, so a window is a choice of panes,
merged. The panes come in arrival order, as ``(minute, sketch)``:

* a row window (``WindowSpec(rows=N)``) is the newest panes whose rows add up to at least
  ``N``: "the last N rows", to within N/10 rows or a second of traffic for the current
  minutes (``monitoring.panes.writer``) and one minute of traffic for older ones;
* a time window (``WindowSpec(duration=T)``) is the panes of the minutes that started at or
  after the minute ``now - T`` falls in: "the last T, to within one minute";
* realized accuracy reads the labels joined to the newest predictions: the newest minutes
  whose joined labels add up to at least ``label_window`` (labels count for the minute
  their prediction arrived).

Pure: minutes are integers (minutes since 1970-01-01 UTC), the caller passes ``now``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bot.quality.sketch import CONF_SUM, Sketch, SketchLayout
from bot.quality.spec import WindowSpec

MINUTE = timedelta(minutes=1)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def minute_of(moment: datetime) -> int:
    return (moment - EPOCH) // MINUTE


def micros_of(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return (moment - EPOCH) // timedelta(microseconds=1)


Slice = tuple[int, Sketch]
"""A pane: the minute its rows arrived in, and their sketch."""


@dataclass(frozen=True)
class Chosen:
    """A window's panes (oldest first) and what they hold merged."""

    minutes: tuple[int, ...]
    """The minute of each pane taken, oldest first."""
    sketch: Sketch
    panes: tuple[Sketch, ...]
    """The panes taken, oldest first: what a change-point detector reads."""
    full: bool
    """A row window holds its N rows (or a time window reached back its whole duration)."""


def choose(panes: Sequence[Slice], layout: SketchLayout, spec: WindowSpec, now: datetime) -> Chosen:
    """The window ``spec`` over ``panes`` (in arrival order) as of ``now``."""
    newest = minute_of(now)
    taken: list[Slice] = []
    full = False
    if spec.rows is not None:
        rows = 0
        for minute, sketch in reversed(panes):
            if minute > newest:
                continue
            count = layout.rows(sketch)
            if not count:
                continue  # labels only
            taken.append((minute, sketch))
            rows += count
            if rows >= spec.rows:
                full = True
                break
        taken.reverse()
    else:
        assert spec.duration is not None
        oldest = minute_of(now - spec.duration)
        taken = [(m, s) for m, s in panes if oldest <= m <= newest and layout.rows(s)]
        full = bool(panes) and panes[0][0] <= oldest
    total = layout.empty()
    for _, sketch in taken:
        total += sketch
    return Chosen(tuple(m for m, _ in taken), total, tuple(s for _, s in taken), full)


def newest_minutes(panes: Sequence[Slice]) -> Iterator[tuple[int, list[Sketch]]]:
    """The panes grouped by minute, newest minute first: a reader that wants the newest N
    labels stops after a few minutes instead of merging a day of panes at every reading."""
    grouped: dict[int, list[Sketch]] = {}
    for minute, sketch in panes:
        grouped.setdefault(minute, []).append(sketch)
    for minute in sorted(grouped, reverse=True):
        yield minute, grouped[minute]


def label_counts(panes: Sequence[Slice], limit: int) -> tuple[Counter[tuple[str, str]], int | None]:
    """The confusion of the newest minutes' labels, at least ``limit`` of them when there
    are; and the oldest minute taken (None when no label was)."""
    out: Counter[tuple[str, str]] = Counter()
    taken = 0
    oldest = None
    for minute, sketches in newest_minutes(panes):
        found = [s.confusion for s in sketches if s.confusion]
        if not found:
            continue
        for confusion in found:
            out.update(confusion)
            taken += sum(confusion.values())
        oldest = minute
        if taken >= limit:
            break
    return out, oldest


def minute_totals(panes: Sequence[Slice], layout: SketchLayout) -> dict[int, tuple[int, float]]:
    """Per minute: rows with a confidence and their sum (what ``SeenCounter`` reads)."""
    out: dict[int, tuple[int, float]] = {}
    for minute, sketch in panes:
        n, total = out.get(minute, (0, 0.0))
        conf = int(sketch.counts[layout.conf_at : layout.rows_at].sum())
        out[minute] = (n + conf, total + float(sketch.sums[CONF_SUM]))
    return out


@dataclass
class SeenCounter:
    """Rows with a confidence, and their sum, across every pane this reader has seen: the
    running counters a sequential detector differences between readings.

    Fed the per-minute totals at each reading; a minute's growth since the last reading is
    added, a minute that left the readings is final (never counted again), so the counters
    only grow, and a row is counted once whichever replica took it."""

    n: int = 0
    total: float = 0.0
    _tracked: dict[int, tuple[int, float]] = field(default_factory=dict)
    _floor: int = -(2**62)

    def advance(self, minutes: Mapping[int, tuple[int, float]]) -> tuple[int, float]:
        for minute, (n, total) in minutes.items():
            if minute < self._floor:
                continue
            old_n, old_total = self._tracked.get(minute, (0, 0.0))
            if n > old_n:
                self.n += n - old_n
                self.total += total - old_total
                self._tracked[minute] = (n, total)
        for minute in [m for m in self._tracked if m not in minutes]:
            del self._tracked[minute]
            self._floor = max(self._floor, minute + 1)
        return self.n, self.total
