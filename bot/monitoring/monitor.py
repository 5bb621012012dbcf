"""Per-model state between posts: the reference, the streaming window, the label join.

A model is watched once it has a reference profile (``vigil model reference``). Each post
of predictions is checked row by row against it (bad rows are reported, never fatal, and
never drop the good rows of the batch) and counted into the model's window; nothing keeps
the feature values themselves. Labels arrive later and are joined by row id: the monitor
remembers the prediction of the last ``label_horizon`` ids (an id and a class label each,
not the row), and keeps the last ``label_window`` labelled outcomes for realized accuracy.

``samples(now)`` is what the rule engine polls (through ``bot.sources.models``): one sample
per metric per model, labelled ``model`` (and ``model_version``), the drift sample carrying
the top drifting features as a note for the alert. In memory: a restart starts the windows
empty (the reference stays in the database), which delays a drift alert by one window at
worst and never invents one.
"""

from __future__ import annotations

import math
from collections import Counter, OrderedDict, deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from bot.core.errors import NotFoundError, ValidationError
from bot.ingest.validate import bounded_list, child, fail, item, json_type, require_object
from bot.quality.assess import MIN_ROWS, Assessment, assess
from bot.quality.data import RowCheck, check_rows
from bot.quality.performance import Confusion, Label, Metrics
from bot.quality.profile import ReferenceProfile, category_key
from bot.quality.windows import ModelWindow, WindowSnapshot, WindowSpec

MAX_ROWS = 10_000
"""Most rows accepted in one post of predictions or labels."""

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


@dataclass
class Watched:
    """One model under watch: its reference, window and label join."""

    version: str
    profile: ReferenceProfile
    window: ModelWindow
    awaiting: OrderedDict[str, str] = field(default_factory=OrderedDict)
    outcomes: deque[tuple[str, str]] = field(default_factory=deque)
    tally: Counter[tuple[str, str]] = field(default_factory=Counter)
    """``outcomes`` counted by (label, predicted), kept in step: realized metrics read it
    instead of recounting thousands of outcomes on every poll."""
    importances: Mapping[str, float] | None = None
    history: deque[AccuracyPoint] = field(default_factory=lambda: deque(maxlen=HISTORY_POINTS))


@dataclass(frozen=True)
class LabelResult:
    """What became of a post of labels."""

    received: int
    matched: int
    unknown: tuple[str, ...]  # ids with no remembered prediction (first 20)
    unknown_total: int


class ModelMonitor:
    """Holds every watched model's window; thread-free, used from the event loop only."""

    def __init__(
        self,
        spec: WindowSpec,
        *,
        label_horizon: int = 100_000,
        label_window: int = 5_000,
        min_rows: int = MIN_ROWS,
    ) -> None:
        self.spec = spec
        self.min_rows = min_rows
        self._horizon = label_horizon
        self._label_window = label_window
        self._models: dict[str, Watched] = {}

    def watch(self, model: str, version: str, profile: ReferenceProfile) -> None:
        """Start (or restart, on a new reference) watching ``model`` with an empty window."""
        self._models[model] = Watched(version, profile, ModelWindow(profile, self.spec))

    def models(self) -> list[str]:
        return sorted(self._models)

    def watched(self, model: str) -> Watched:
        found = self._models.get(model)
        if found is None:
            raise NotFoundError(
                f"model {model!r} has no reference profile; store one with "
                f"`vigil model reference {model} FILE`"
            )
        return found

    def predictions(self, model: str, payload: object, now: datetime) -> RowCheck:
        """Check and count a post ``{"rows": [...], "importances": {...}?}``."""
        watched = self.watched(model)
        body = require_object(payload, "")
        rows = _rows(body)
        importances = _importances(body.get("importances"), watched.profile)
        check = check_rows(rows, watched.profile)
        watched.window.add_batch(check.batch, now)
        if importances is not None:
            watched.importances = importances
        accepted = set(map(str, check.ids))
        for row in rows:
            if isinstance(row, Mapping) and str(row.get("id")) in accepted:
                predicted = category_key(row.get("prediction"))
                if predicted is not None:
                    watched.awaiting[str(row["id"])] = predicted
                    watched.awaiting.move_to_end(str(row["id"]))
        while len(watched.awaiting) > self._horizon:
            watched.awaiting.popitem(last=False)
        return check

    def labels(self, model: str, payload: object) -> LabelResult:
        """Join a post ``{"rows": [{"id": ..., "label": ...}]}`` to remembered predictions.

        The whole post is validated first; one malformed row refuses the post (400 naming
        it) so a half-applied label feed never skews the realized accuracy.
        """
        watched = self.watched(model)
        rows = _rows(require_object(payload, ""))
        pairs: list[tuple[str, str]] = []
        for i, row in enumerate(rows):
            path = item("rows", i)
            obj = require_object(row, path)
            raw_id, raw_label = obj.get("id"), obj.get("label")
            if isinstance(raw_id, bool) or not isinstance(raw_id, str | int) or raw_id == "":
                raise fail(child(path, "id"), "is required (a non-empty string or integer)")
            label = category_key(raw_label)
            if label is None:
                raise fail(child(path, "label"), "is required (the true class)")
            pairs.append((str(raw_id), label))
        unknown: list[str] = []
        matched = 0
        for row_id, label in pairs:
            predicted = watched.awaiting.pop(row_id, None)
            if predicted is None:
                unknown.append(row_id)
                continue
            matched += 1
            watched.outcomes.append((label, predicted))
            watched.tally[(label, predicted)] += 1
        while len(watched.outcomes) > self._label_window:
            old = watched.outcomes.popleft()
            watched.tally[old] -= 1
            if not watched.tally[old]:
                del watched.tally[old]
        return LabelResult(len(pairs), matched, tuple(unknown[:20]), len(unknown))

    def realized(self, model: str) -> Metrics | None:
        watched = self.watched(model)
        if not watched.tally:
            return None
        counts: dict[tuple[Label, Label], int] = dict(watched.tally.items())
        return Confusion(counts).metrics()

    def assessment(
        self, model: str, now: datetime, *, snapshot: WindowSnapshot | None = None
    ) -> Assessment:
        """Judge the window now; the accuracy figures also go on the model's history (one
        point per moment: a second assessment at the same ``now`` replaces the first).
        ``snapshot``: the window's ``snapshot(now)`` when the caller already took it."""
        watched = self.watched(model)
        result = assess(
            model,
            watched.profile,
            snapshot if snapshot is not None else watched.window.snapshot(now),
            realized=self.realized(model),
            current_importances=watched.importances,
            min_rows=self.min_rows,
        )
        estimate = result.estimate
        if estimate is not None or result.realized is not None:
            point = AccuracyPoint(
                now,
                estimate.value if estimate else None,
                estimate.low if estimate else None,
                estimate.high if estimate else None,
                result.realized.accuracy if result.realized else None,
            )
            if watched.history and watched.history[-1].at >= now:
                watched.history.pop()
            watched.history.append(point)
        return result

    def history(self, model: str) -> list[AccuracyPoint]:
        """The model's accuracy over time, oldest first (at most ``HISTORY_POINTS``)."""
        return list(self.watched(model).history)


def _rows(body: Mapping[str, object]) -> Sequence[object]:
    raw = bounded_list(body.get("rows"), "rows", most=MAX_ROWS, noun="row")
    extra = sorted(set(body) - {"rows", "importances"})
    if extra:
        raise fail(extra[0], "is not a field of this endpoint (rows, importances)")
    return raw


def _importances(raw: object, profile: ReferenceProfile) -> dict[str, float] | None:
    if raw is None:
        return None
    obj = require_object(raw, "importances")
    out: dict[str, float] = {}
    for name, value in obj.items():
        path = child("importances", name)
        if name not in profile.names:
            raise fail(path, "is not a feature of the reference profile")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise fail(path, f"must be a number, not {json_type(value)}")
        try:
            weight = float(value)
        except OverflowError:  # an integer too large for a float
            weight = math.inf
        if not math.isfinite(weight):  # NaN would sort anywhere: the ranking means nothing
            raise fail(path, f"must be a finite number, not {value!r:.40}")
        out[name] = weight
    if not out:
        raise ValidationError("importances", "must name at least one feature")
    return out
