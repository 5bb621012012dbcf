"""What the model monitor holds per watched model, and what its calls hand back.

``Watched`` is one model under watch (its reference and layout, the panes counted or
loaded, the label join of a monitor without a database, the accuracy history, the
versions' ledgers, the detector's running counters); ``Counted`` a post of predictions
counted (what the service stores before answering); ``LabelResult`` what became of a post
of labels; ``AccuracyPoint`` one point of the accuracy chart.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from bot.monitoring.panes.parts import AwaitingBatch, Pane, PaneKey
from bot.monitoring.versions import VersionState
from bot.quality.data import RowCheck
from bot.quality.panes import SeenCounter
from bot.quality.profile import ReferenceProfile
from bot.quality.sketch import Sketch, SketchLayout

HISTORY_POINTS = 1_440
"""Accuracy points kept per model for the chart: a day at one assessment a minute."""


@dataclass(frozen=True)
class AccuracyPoint:
    """One assessment's accuracy figures, for the accuracy-over-time chart."""

    at: datetime
    estimated: float | None
    low: float | None
    high: float | None
    realized: float | None


class Held(NamedTuple):
    """Local mode: a prediction awaiting its label."""

    predicted: str
    key: PaneKey
    arrived: int
    confidence: float | None


@dataclass
class Watched:
    """One model under watch: its reference and layout, the panes read, its versions."""

    version: str
    """The reference's version."""
    profile: ReferenceProfile
    reference_id: int
    layout: SketchLayout
    panes: list[tuple[str, int, Sketch]] = field(default_factory=list)
    """(version, minute, sketch) in arrival order: what this monitor counted (local) or
    last loaded."""
    awaiting: OrderedDict[str, Held] = field(default_factory=OrderedDict)
    """Local mode's label join: row id → its awaiting prediction."""
    importances: Mapping[str, float] | None = None
    history: deque[AccuracyPoint] = field(default_factory=lambda: deque(maxlen=HISTORY_POINTS))
    versions: dict[str, VersionState] = field(default_factory=dict)
    seen: SeenCounter = field(default_factory=SeenCounter)
    """Rows with a confidence and their sum, every pane read once: counters for the
    rules' sequential detector (``bot.rules.sequential``), which needs every row once."""


@dataclass(frozen=True)
class Counted:
    """A post of predictions, counted: what the caller stores before answering."""

    check: RowCheck
    panes: dict[PaneKey, Pane]
    awaiting: list[AwaitingBatch]
    """Per version, the accepted rows' ids and predicted classes, as columns."""


@dataclass(frozen=True)
class LabelResult:
    """What became of a post of labels."""

    received: int
    matched: int
    unknown: tuple[str, ...]  # ids with no remembered prediction (first 20)
    unknown_total: int
