"""Per-model state between posts: the reference, the panes of the window, the label join.

A model is watched once it has a reference profile (``vigil model reference``). Each post
of predictions is checked row by row against it (bad rows are reported, never fatal, and
never drop the good rows of the batch) and reduced to one sketch per version
(``bot.quality.sketch``) for the minute it arrived; nothing keeps the feature values
themselves. The predictions (row id and class) are kept for the label join; labels arrive
later and are joined by row id, and count for their prediction's version and minute.

Where the panes live is the caller's choice. Alone (``local=True``: the demo, the benches,
tests) the monitor adds each post to its own panes and joins labels in memory. Under the
service (``local=False``) it only *counts*: :meth:`ModelMonitor.predictions` returns the
post's panes and awaiting predictions, which the service stores (``panes.store``) before
answering, and :meth:`ModelMonitor.load` hands back what every replica stored; the
readings then come from those panes (``bot.quality.panes``: which minutes a window takes).

Every row belongs to a model version (``versions.py`` says which): each version has its
own panes (and, alone, a minute ledger: ``bot.quality.compare.ledger``), so a canary's
drift, estimate and accuracy are read apart from the stable version's, while the model's
own figures are every version's panes added minute by minute.

``assessment(model, now)`` is what the rule engine polls (through ``bot.sources.models``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from operator import itemgetter

from bot.core.errors import NotFoundError
from bot.ingest.validate import require_object
from bot.monitoring.label_rows import posted_labels
from bot.monitoring.panes.parts import (
    AwaitingBatch,
    Joined,
    Pane,
    PaneKey,
    PostedLabel,
)
from bot.monitoring.posts import apart, confidences, importances, listed, pane_of, post_rows
from bot.monitoring.versions import UNKNOWN, UnknownVersion, VersionState, make_room, row_tags
from bot.monitoring.watched import AccuracyPoint, Counted, Held, LabelResult, Watched
from bot.quality.assess import MIN_ROWS, Assessment, assess
from bot.quality.batch import ColumnBatch
from bot.quality.binning import FloatArray
from bot.quality.compare.ledger import VersionLedger, VersionSummary
from bot.quality.data import check_rows
from bot.quality.labels.health import label_health
from bot.quality.panes import (
    Chosen,
    Slice,
    choose,
    label_counts,
    micros_of,
    minute_of,
    minute_totals,
)
from bot.quality.performance import Confusion, Label, Metrics
from bot.quality.profile import ReferenceProfile
from bot.quality.sketch import Sketch, SketchLayout
from bot.quality.windows import WindowSnapshot, WindowSpec, snapshot_of


class ModelMonitor:
    """Holds every watched model's panes; thread-free, used from the event loop only."""

    def __init__(
        self,
        spec: WindowSpec,
        *,
        label_horizon: int = 100_000,
        label_window: int = 5_000,
        min_rows: int = MIN_ROWS,
        local: bool = True,
    ) -> None:
        self.spec = spec
        self.min_rows = min_rows
        self.local = local
        self.label_horizon = label_horizon
        self.label_window = label_window
        self._models: dict[str, Watched] = {}

    def watch(
        self, model: str, version: str, profile: ReferenceProfile, reference_id: int = 0
    ) -> None:
        """Start (or restart, on a new reference) watching ``model`` with no panes."""
        watched = Watched(version, profile, reference_id, SketchLayout(profile))
        self._models[model] = watched

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

    def _state(self, watched: Watched) -> VersionState:
        """A new version's state: a minute ledger only when this monitor keeps its panes."""
        return VersionState(VersionLedger(watched.profile) if self.local else None)

    def versions(self, model: str) -> list[str]:
        """The versions whose rows the model's panes hold (or its ledgers saw)."""
        watched = self.watched(model)
        return sorted(watched.versions.keys() | {v for v, _, _ in watched.panes})

    def version(self, model: str, version: str) -> VersionState:
        watched = self.watched(model)
        state = watched.versions.get(version)
        if state is None and any(v == version for v, _, _ in watched.panes):
            state = watched.versions[version] = self._state(watched)
        if state is None:
            seen = ", ".join(self.versions(model)) or "none yet"
            raise UnknownVersion(
                f"model {model!r} has no rows of version {version!r} (versions seen: {seen})"
            )
        return state

    def predictions(
        self, model: str, payload: object, now: datetime, *, default_version: str = UNKNOWN
    ) -> Counted:
        """Check and count a post ``{"rows": [...], "importances": {...}?, "version": ...?}``;
        rows that name no version (and a post that names none) are ``default_version``'s."""
        watched = self.watched(model)
        body = require_object(payload, "")
        rows = post_rows(body)
        pushed = importances(body.get("importances"), watched.profile)
        tags = row_tags(rows, body.get("version"), default_version)
        check = check_rows(rows, watched.profile)
        present = set(tags.versions)
        new = sorted(present - watched.versions.keys())
        if new:
            make_room(watched.versions, len(new), now)
            if self.local:  # a day quiet and forgotten (the store prunes its own)
                watched.panes = [p for p in watched.panes if p[0] in watched.versions]
            for version in new:
                watched.versions[version] = self._state(watched)
        if pushed is not None:
            watched.importances = pushed
        latencies = None if tags.latencies is None else tags.latencies[list(check.positions)]
        minute, arrival = minute_of(now), micros_of(now)
        panes: dict[PaneKey, Pane] = {}
        if len(present) == 1:
            (version,) = present
            parts: list[tuple[str, ColumnBatch, FloatArray | None, list[int] | None]]
            parts = [(version, check.batch, latencies, None)]
        else:
            parts = [*apart(tags.versions, check, latencies)]
        indices = [(version, index) for version, _, _, index in parts]
        for version, batch, kept, _ in parts:
            state = watched.versions[version]
            state.last_minute = minute
            if state.ledger is not None:
                state.ledger.add(batch, kept, now)
            key = PaneKey(model, watched.reference_id, version, minute)
            panes[key] = pane_of(watched.layout.count(batch, arrival), kept)
        awaiting: list[AwaitingBatch] = []
        row_ids = list(map(str, check.ids))
        confs = confidences(check)
        for version, index in indices:
            key = PaneKey(model, watched.reference_id, version, minute)
            if index is None:
                batch_conf = confs
                awaiting.append(AwaitingBatch(key, row_ids, check.predicted, arrival, batch_conf))
            else:
                take = itemgetter(*index) if len(index) else None
                ids = [] if take is None else listed(take(row_ids))
                predicted = [] if take is None else listed(take(check.predicted))
                conf = None
                if confs is not None and take is not None:
                    got = take(confs)
                    conf = list(got) if isinstance(got, tuple) else [got]
                awaiting.append(AwaitingBatch(key, ids, predicted, arrival, conf))
        counted = Counted(check, panes, awaiting)
        if self.local:
            self._absorb(watched, counted, now)
        return counted

    def _absorb(self, watched: Watched, counted: Counted, now: datetime) -> None:
        """Local mode: add a post's panes and awaiting predictions to this monitor's own."""
        for key, pane in counted.panes.items():
            watched.panes.append((key.version, key.minute, pane.sketch))
        remember = watched.awaiting
        for batch in counted.awaiting:
            for at, (row_id, predicted) in enumerate(
                zip(batch.row_ids, batch.predicted, strict=True)
            ):
                conf = None if batch.confidence is None else batch.confidence[at]
                remember[row_id] = Held(predicted, batch.key, batch.arrived, conf)
                remember.move_to_end(row_id)
        while len(remember) > self.label_horizon:
            remember.popitem(last=False)
        self._trim(watched, now)

    def _trim(self, watched: Watched, now: datetime) -> None:
        """Local mode: forget the minutes no window nor label window reads any more."""
        oldest: list[int] = []
        for version in (None, *{v for v, _, _ in watched.panes}):
            view = _select(watched, version)
            oldest += choose(view, watched.layout, self.spec, now).minutes[:1]
            labelled = label_counts(view, self.label_window)[1]
            oldest += [] if labelled is None else [labelled]
        if oldest:
            first = min(oldest)
            watched.panes = [p for p in watched.panes if p[1] >= first]

    def load(self, model: str, panes: Sequence[tuple[str, int, Pane]]) -> None:
        """Service mode: the panes every replica stored, (version, minute, pane) in order."""
        watched = self.watched(model)
        layout = watched.layout
        loaded: list[tuple[str, int, Sketch]] = []
        for version, minute, pane in panes:
            sketch = pane.sketch
            if sketch.counts.shape != (layout.size,):  # labels only
                sketch = layout.labels(sketch.confusion, sketch.labels)
            loaded.append((version, minute, sketch))
        watched.panes = loaded

    def parse_labels(self, model: str, payload: object) -> list[PostedLabel]:
        """The rows of a post ``{"rows": [{"id", "label", "source"?}], "source"?}``
        (``label_rows``: one malformed row refuses the whole post, 400 naming it)."""
        self.watched(model)
        body = require_object(payload, "")
        return posted_labels(body, post_rows(body, fields=("rows", "importances", "source")))

    def labels(self, model: str, payload: object, now: datetime | None = None) -> LabelResult:
        """Local mode: join a post of labels to the predictions this monitor remembers
        (``now``: when the post arrived, for the labels' delay)."""
        watched = self.watched(model)
        pairs = self.parse_labels(model, payload)
        found: list[Joined] = []
        for posted in pairs:
            held = watched.awaiting.pop(posted.row_id, None)
            if held is None:
                continue
            delay = None
            if now is not None and held.arrived:
                delay = (micros_of(now) - held.arrived) / 1e6
            item_ = Joined(
                posted.row_id,
                posted.label,
                held.predicted,
                held.key,
                posted.source,
                delay,
                held.confidence,
            )
            found.append(item_)
            pair = {(item_.label, item_.predicted): 1}
            sketch = watched.layout.labels(pair, item_.tally())
            watched.panes.append((held.key.version, held.key.minute, sketch))
        return self.joined(model, pairs, found)

    def joined(
        self, model: str, pairs: Sequence[PostedLabel], found: Sequence[Joined]
    ) -> LabelResult:
        """What became of a post of labels whose ``found`` ones joined; each joined label
        also counts in its version's minute ledger."""
        watched = self.watched(model)
        for item_ in found:
            state = watched.versions.get(item_.key.version)
            ledger = None if state is None else state.ledger
            if ledger is not None and item_.key.reference_id == watched.reference_id:
                ledger.label(item_.key.minute, item_.label, item_.predicted)
        joined = Counter(j.row_id for j in found)  # an id posted twice joins once
        unknown: list[str] = []
        for row_id in (p.row_id for p in pairs):
            if joined[row_id]:
                joined[row_id] -= 1
            else:
                unknown.append(row_id)
        return LabelResult(len(pairs), len(found), tuple(unknown[:20]), len(unknown))

    def view(self, model: str, version: str | None = None) -> list[Slice]:
        """The model's panes (every version's), or one version's, in arrival order."""
        watched = self.watched(model)
        if version is not None:
            self.version(model, version)  # UnknownVersion naming the versions seen
        return _select(watched, version)

    def horizon_minute(self, model: str) -> int | None:
        """The oldest minute of the newest ``label_horizon`` predictions in the panes read
        (None when they hold fewer): awaiting predictions before it are past the horizon."""
        watched = self.watched(model)
        rows = 0
        for _, minute, sketch in reversed(watched.panes):
            rows += watched.layout.rows(sketch)
            if rows >= self.label_horizon:
                return minute
        return None

    def window(self, model: str, now: datetime, version: str | None = None) -> Chosen:
        """The model's window as of ``now`` (every version's rows), or one version's."""
        watched = self.watched(model)
        return choose(self.view(model, version), watched.layout, self.spec, now)

    def snapshot(self, model: str, now: datetime, version: str | None = None) -> WindowSnapshot:
        watched = self.watched(model)
        return snapshot_of(watched.layout, self.window(model, now, version).sketch, now)

    def realized(self, model: str, version: str | None = None) -> Metrics | None:
        """Realized metrics over the labels of the model's newest predictions (at least
        ``label_window`` of them when there are), or one version's."""
        counts, _ = label_counts(self.view(model, version), self.label_window)
        if not counts:
            return None
        confusion: dict[tuple[Label, Label], int] = dict(counts.items())
        return Confusion(confusion).metrics()

    def assessment(
        self, model: str, now: datetime, *, snapshot: WindowSnapshot | None = None
    ) -> Assessment:
        """Judge the window now; the accuracy figures also go on the model's history (one
        point per moment: a second assessment at the same ``now`` replaces the first).
        ``snapshot``: the window's ``snapshot(now)`` when the caller already took it."""
        watched = self.watched(model)
        view = self.view(model, None)
        window = choose(view, watched.layout, self.spec, now)
        result = assess(
            model,
            watched.profile,
            snapshot if snapshot is not None else snapshot_of(watched.layout, window.sketch, now),
            realized=self.realized(model),
            current_importances=watched.importances,
            min_rows=self.min_rows,
            panes=window.panes,
            layout=watched.layout,
        )
        totals = minute_totals(view, watched.layout)
        health = label_health(
            view, watched.layout, watched.profile.labels, now, limit=self.label_window
        )
        result = replace(result, confidence_seen=watched.seen.advance(totals), labels=health)
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
        window = self.window(model, now, version)
        result = assess(
            model,
            watched.profile,
            snapshot if snapshot is not None else snapshot_of(watched.layout, window.sketch, now),
            realized=self.realized(model, version),
            current_importances=watched.importances,
            min_rows=self.min_rows,
            panes=window.panes,
            layout=watched.layout,
        )
        view = self.view(model, version)
        reference = watched.profile.labels
        health = label_health(view, watched.layout, reference, now, limit=self.label_window)
        return replace(result, labels=health)

    def summary(
        self, model: str, version: str, *, since: datetime | None, until: datetime | None
    ) -> VersionSummary:
        """One version's ledger over ``[since, until)``: what a canary judge compares."""
        ledger = self.version(model, version).ledger or VersionLedger(self.watched(model).profile)
        return ledger.summary(model, version, since, until)

    def history(self, model: str) -> list[AccuracyPoint]:
        """The model's accuracy over time, oldest first (at most ``HISTORY_POINTS``)."""
        return list(self.watched(model).history)


def _select(watched: Watched, version: str | None) -> list[Slice]:
    return [(m, s) for v, m, s in watched.panes if version is None or v == version]
