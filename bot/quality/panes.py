"""Windows read from one-minute panes: which minutes a window or a label window takes.

Since issue 20 a model's production rows are kept as one merged sketch per version and
minute of arrival (``bot.monitoring.pane_store``), shared by every replica, so a window is a
choice of minutes, merged:

* a row window (``WindowSpec(rows=N)``) is the newest minutes whose rows add up to at least
  ``N``, the current minute included: "the last N rows, to within one minute of traffic";
* a time window (``WindowSpec(duration=T)``) is the minutes that started at or after the
  minute ``now - T`` falls in: "the last T, to within one minute";
* realized accuracy reads the labels joined to the newest predictions: the newest minutes
  whose joined labels add up to at least ``label_window``.

Pure: minutes are integers (minutes since 1970-01-01 UTC), the caller passes ``now``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bot.quality.sketch import Sketch, SketchLayout
from bot.quality.spec import WindowSpec

MINUTE = timedelta(minutes=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def minute_of(moment: datetime) -> int:
    return (moment - _EPOCH) // MINUTE


def micros_of(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return (moment - _EPOCH) // timedelta(microseconds=1)


@dataclass(frozen=True)
class Chosen:
    """A window's minutes (oldest first) and what they hold merged."""

    minutes: tuple[int, ...]
    sketch: Sketch
    panes: tuple[Sketch, ...]
    """The chosen minutes' sketches, oldest first: a change-point detector reads them."""
    full: bool
    """A row window holds its N rows (or a time window reached back its whole duration)."""


def choose(
    panes: Mapping[int, Sketch], layout: SketchLayout, spec: WindowSpec, now: datetime
) -> Chosen:
    """The window ``spec`` over ``panes`` (minute → sketch) as of ``now``."""
    newest = minute_of(now)
    minutes: list[int] = []
    full = False
    if spec.rows is not None:
        rows = 0
        for minute in sorted((m for m in panes if m <= newest), reverse=True):
            minutes.append(minute)
            rows += layout.rows(panes[minute])
            if rows >= spec.rows:
                full = True
                break
        minutes.reverse()
    else:
        assert spec.duration is not None
        oldest = minute_of(now - spec.duration)
        minutes = sorted(m for m in panes if oldest <= m <= newest)
        full = bool(panes) and min(panes) <= oldest
    chosen = tuple(panes[m] for m in minutes)
    total = layout.empty()
    for sketch in chosen:
        total += sketch
    return Chosen(tuple(minutes), total, chosen, full)


def label_counts(
    panes: Mapping[int, Sketch], limit: int
) -> tuple[Counter[tuple[str, str]], int | None]:
    """The confusion of the newest minutes' labels, at least ``limit`` of them when there
    are; and the oldest minute taken (None when no label was)."""
    out: Counter[tuple[str, str]] = Counter()
    taken = 0
    oldest = None
    for minute in sorted(panes, reverse=True):
        confusion = panes[minute].confusion
        if not confusion:
            continue
        out.update(confusion)
        taken += sum(confusion.values())
        oldest = minute
        if taken >= limit:
            break
    return out, oldest


def by_minute(views: Sequence[Mapping[int, Sketch]]) -> dict[int, Sketch]:
    """Several versions' panes merged minute by minute: the model's own panes."""
    out: dict[int, Sketch] = {}
    for view in views:
        for minute, sketch in view.items():
            held = out.get(minute)
            out[minute] = sketch.copy() if held is None else held + sketch
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
