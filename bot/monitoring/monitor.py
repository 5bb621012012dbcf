"""Per-model state between posts: the reference, the streaming window, the label join.

A model is watched once it has a reference profile (``vigil model reference``). Each post
of predictions is checked row by row against it (bad rows are reported, never fatal, and
never drop the good rows of the batch) and counted into the model's window; nothing keeps
the feature values themselves. Labels arrive later and are joined by row id: the monitor
remembers the prediction of the last ``label_horizon`` ids (an id and a class label each,
not the row), and keeps the last ``label_window`` labelled outcomes for realized accuracy.

Every row belongs to a model version (``versions.py`` says which): each version seen has its
own window, labelled outcomes and minute ledger (``bot.quality.compare.ledger``), so a canary's
drift, estimate and accuracy are read apart from the stable version's, while the model's
own figures stay those of every row together, as before versions existed. A label counts
for the version of the prediction it joins.

``samples(now)`` is what the rule engine polls (through ``bot.sources.models``): one sample
per metric per model, labelled ``model`` (and ``model_version``), the drift sample carrying
the top drifting features as a note for the alert. In memory: a restart starts the windows
empty (the reference stays in the database), which delays a drift alert by one window at
worst and never invents one.
"""

from __future__ import annotations

import math
from collections import Counter, OrderedDict, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from itertools import repeat
from typing import Any

import numpy as np

from bot.core.errors import NotFoundError, ValidationError
from bot.ingest.validate import bounded_list, child, fail, item, json_type, require_object
from bot.monitoring.versions import (
    UNKNOWN,
    Outcomes,
    UnknownVersion,
    VersionState,
    make_room,
    row_tags,
)
from bot.quality.assess import MIN_ROWS, Assessment, assess
from bot.quality.batch import ColumnBatch
from bot.quality.binning import FloatArray
from bot.quality.compare.ledger import VersionLedger, VersionSummary
from bot.quality.data import RowCheck, check_rows
from bot.quality.performance import Metrics
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
    """One model under watch: its reference, window and label join, and its versions.

    ``window`` and ``outcomes`` are the model's, every version together (what the rules and
    the quality answer have always read); ``versions`` holds each version's own."""

    version: str
    """The reference's version."""
    profile: ReferenceProfile
    window: ModelWindow
    outcomes: Outcomes
    awaiting: OrderedDict[str, tuple[str, str, int]] = field(default_factory=OrderedDict)
    """Row id → (predicted class, version, minute of arrival) until its label comes."""
    importances: Mapping[str, float] | None = None
    history: deque[AccuracyPoint] = field(default_factory=lambda: deque(maxlen=HISTORY_POINTS))
    versions: dict[str, VersionState] = field(default_factory=dict)
    sole: str | None = None
    """The one version seen so far, whose window is ``window`` itself; None once two were."""
    confidence_seen: tuple[int, float] = (0, 0.0)
    """Rows with a confidence and the sum of their confidences since ``watch``: counters for
    the rules' sequential detector (``bot.rules.sequential``), which needs every row once."""


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
        window = ModelWindow(profile, self.spec)
        self._models[model] = Watched(version, profile, window, Outcomes(self._label_window))

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

    def versions(self, model: str) -> list[str]:
        """The versions whose rows the model's window has seen since it was watched."""
        return sorted(self.watched(model).versions)

    def version(self, model: str, version: str) -> VersionState:
        state = self.watched(model).versions.get(version)
        if state is None:
            seen = ", ".join(self.versions(model)) or "none yet"
            raise UnknownVersion(
                f"model {model!r} has no rows of version {version!r} (versions seen: {seen})"
            )
        return state

    def predictions(
        self, model: str, payload: object, now: datetime, *, default_version: str = UNKNOWN
    ) -> RowCheck:
        """Check and count a post ``{"rows": [...], "importances": {...}?, "version": ...?}``;
        rows that name no version (and a post that names none) are ``default_version``'s."""
        watched = self.watched(model)
        body = require_object(payload, "")
        rows = _rows(body)
        importances = _importances(body.get("importances"), watched.profile)
        tags = row_tags(rows, body.get("version"), default_version)
        check = check_rows(rows, watched.profile)
        present = set(tags.versions)
        self._prepare(watched, present, now)
        watched.window.add_batch(check.batch, now)
        if check.batch.confidence is not None:
            conf = check.batch.confidence[~np.isnan(check.batch.confidence)]
            n, total = watched.confidence_seen
            watched.confidence_seen = (n + len(conf), total + float(conf.sum()))
        if importances is not None:
            watched.importances = importances
        latencies = None if tags.latencies is None else tags.latencies[list(check.positions)]
        if len(present) == 1:
            (version,) = present
            minute = _count(watched, version, check.batch, latencies, now)
            tagged: Iterable[tuple[str, int]] = repeat((version, minute))  # endless: one a row
        else:
            tagged = _count_apart(watched, tags.versions, check, latencies, now)
        awaiting = watched.awaiting
        remember = awaiting.move_to_end
        for position, (version, minute) in zip(check.positions, tagged, strict=False):
            row: Any = rows[position]  # an accepted row is an object
            predicted = category_key(row.get("prediction"))
            if predicted is not None:
                row_id = str(row["id"])
                awaiting[row_id] = (predicted, version, minute)
                remember(row_id)
        while len(awaiting) > self._horizon:
            awaiting.popitem(last=False)
        return check

    def _prepare(self, watched: Watched, present: set[str], now: datetime) -> None:
        """A state for each version new in this post, before any of its rows is counted."""
        new = sorted(present - watched.versions.keys())
        if not new:
            return
        make_room(watched.versions, watched.sole, len(new), now)
        if not watched.versions and len(new) == 1:
            (only,) = new
            ledger = VersionLedger(watched.profile)
            watched.versions[only] = VersionState(watched.window, ledger, self._outcomes())
            watched.sole = only
            return
        if watched.sole is not None:  # the window it shared was all its rows: now its own
            watched.versions[watched.sole].window = watched.window.copy()
            watched.sole = None
        for version in new:
            watched.versions[version] = VersionState(
                ModelWindow(watched.profile, self.spec),
                VersionLedger(watched.profile),
                self._outcomes(),
            )

    def _outcomes(self) -> Outcomes:
        return Outcomes(self._label_window)

    def labels(self, model: str, payload: object) -> LabelResult:
        """Join a post ``{"rows": [{"id": ..., "label": ...}]}`` to remembered predictions;
        each label counts for the model and for the version of its prediction.

        The whole post is validated first; one malformed row refuses the post (400 naming
        it) so a half-applied label feed never skews the realized accuracy.
        """
        watched = self.watched(model)
        rows = _rows(require_object(payload, ""), fields=("rows", "importances"))
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
            found = watched.awaiting.pop(row_id, None)
            if found is None:
                unknown.append(row_id)
                continue
            matched += 1
            predicted, version, minute = found
            watched.outcomes.add(label, predicted)
            state = watched.versions.get(version)
            if state is not None:
                state.outcomes.add(label, predicted)
                state.ledger.label(minute, label, predicted)
        return LabelResult(len(pairs), matched, tuple(unknown[:20]), len(unknown))

    def realized(self, model: str, version: str | None = None) -> Metrics | None:
        """Realized metrics over the model's last labelled rows, or one version's."""
        if version is None:
            return self.watched(model).outcomes.metrics()
        return self.version(model, version).outcomes.metrics()

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
            panes=watched.window.pane_sketches(now),
        )
        result = replace(result, confidence_seen=watched.confidence_seen)
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

    def version_assessment(
        self, model: str, version: str, now: datetime, *, snapshot: WindowSnapshot | None = None
    ) -> Assessment:
        """One version's window judged as the model's is (kept off the model's history)."""
        watched = self.watched(model)
        state = self.version(model, version)
        return assess(
            model,
            watched.profile,
            snapshot if snapshot is not None else state.window.snapshot(now),
            realized=state.outcomes.metrics(),
            current_importances=watched.importances,
            min_rows=self.min_rows,
            panes=state.window.pane_sketches(now),
        )

    def summary(
        self, model: str, version: str, *, since: datetime | None, until: datetime | None
    ) -> VersionSummary:
        """One version's ledger over ``[since, until)``: what a canary judge compares."""
        return self.version(model, version).ledger.summary(model, version, since, until)

    def history(self, model: str) -> list[AccuracyPoint]:
        """The model's accuracy over time, oldest first (at most ``HISTORY_POINTS``)."""
        return list(self.watched(model).history)


def _count(
    watched: Watched,
    version: str,
    batch: ColumnBatch,
    latencies: FloatArray | None,
    now: datetime,
) -> int:
    """Count one version's rows into its window (unless it is the model's) and ledger."""
    state = watched.versions[version]
    if state.window is not watched.window:
        state.window.add_batch(batch, now)
    return state.ledger.add(batch, latencies, now)


def _count_apart(
    watched: Watched,
    versions: list[str],
    check: RowCheck,
    latencies: FloatArray | None,
    now: datetime,
) -> list[tuple[str, int]]:
    """A post of several versions: each one's rows (and rejected rows) counted apart;
    returns each accepted row's (version, minute)."""
    accepted = [versions[p] for p in check.positions]
    rejected = Counter(versions)
    rejected.subtract(accepted)
    names = np.array(accepted, dtype=object)
    minute_of: dict[str, int] = {}
    for version in sorted(set(versions)):
        index = np.flatnonzero(names == version)
        part = check.batch.take(index, rejected=rejected[version])
        chosen = None if latencies is None else latencies[index]
        minute_of[version] = _count(watched, version, part, chosen, now)
    return [(version, minute_of[version]) for version in accepted]


def _rows(
    body: Mapping[str, object],
    *,
    fields: tuple[str, ...] = ("rows", "importances", "version", "shadow"),
) -> Sequence[object]:
    raw = bounded_list(body.get("rows"), "rows", most=MAX_ROWS, noun="row")
    extra = sorted(set(body) - set(fields))
    if extra:
        raise fail(extra[0], f"is not a field of this endpoint ({', '.join(fields)})")
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
