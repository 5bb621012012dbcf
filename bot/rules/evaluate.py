"""Evaluate rules over samples: one small state machine per (rule, series), time a parameter.

    inactive ──condition true──▶ pending(since) ──held for `for`──▶ firing ─┐
        ▲            ◀──condition false──┘                                 │
        └───────────── resolved: value cleared the hysteresis band ────────┘

Only the two edges into and out of *firing* emit an ``AlertChange``; evaluating a firing
rule again emits nothing (no spam), and a value wobbling inside the hysteresis band keeps it
firing (no flapping). Missing data is a separate flag beside the phase: a series with no
sample for ``absent_after`` raises its own alert (``DataAbsent``, or the rule's own alert
for ``kind: absent``) and freezes the phase, so a stalled exporter neither resolves a firing
alert nor passes silently. ``kind: absent`` rules also fire when their metric has never
reported since evaluation started; other kinds only watch series they have seen (a host
without GPUs must not page about GPU metrics).

Pure: no I/O, no clock. The caller passes ``now`` and keeps the returned state.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Literal

from bot.incidents.quiet import RELAPSE_OF, WATCHED_SINCE
from bot.rules.alerts import (
    AlertChange,
    absent_labels,
    alert_labels,
    annotations_for,
    describe,
    describe_absent,
)
from bot.rules.baseline import Deviation, deviation
from bot.rules.effective import Subjects, threshold_for
from bot.rules.heightened.tighten import (
    NORMAL,
    NORMAL_WINDOW,
    USUAL_THRESHOLD,
    Heightening,
    WatchKey,
    keep_recent,
    median_before,
    shortened,
    tightened_threshold,
    watch_key,
)
from bot.rules.schema import CEILINGS, Point, Rule, Series, holds, still_holds
from bot.rules.sequential import (
    CHANGEPOINT,
    CUSUM,
    ROWS_ARE_VALUE,
    RUN,
    STREAM_NOTES,
    Change,
    Cusum,
    change,
    reading,
    update,
)

Phase = Literal["inactive", "pending", "firing"]
_NONE: Subjects = MappingProxyType({})
_NO_NOTES: Mapping[str, str] = MappingProxyType({})
_NO_WATCHES: Mapping[WatchKey, Heightening] = MappingProxyType({})


@dataclass(frozen=True)
class SeriesState:
    """Where one rule stands for one series.

    ``since`` is when the condition started holding (pending and firing); ``fired_at`` when
    it fired; ``history`` keeps the baseline window for ``baseline`` rules only.
    """

    phase: Phase = "inactive"
    since: datetime | None = None
    fired_at: datetime | None = None
    last_seen: datetime | None = None
    last_value: float | None = None
    absent_since: datetime | None = None
    history: tuple[Point, ...] = ()
    notes: Mapping[str, str] | None = None  # the latest point's evidence
    #: ``threshold`` rules: one value a minute over the last hour and ``for``, whose median
    #: before the condition began is the subject's normal (``bot.rules.heightened``).
    recent: tuple[Point, ...] = ()
    #: ``detect: cusum`` rules: the sequential detector, fed by the points' row counters.
    cusum: Cusum | None = None


@dataclass(frozen=True)
class EvalState:
    """Everything the evaluator remembers between calls; ``started`` is the first ``now``."""

    series: Mapping[tuple[str, Series], SeriesState] = field(default_factory=dict)
    started: datetime | None = None


def evaluate(
    rules: Sequence[Rule],
    samples_by_series: Mapping[Series, Sequence[Point]],
    state: EvalState | None,
    now: datetime,
    *,
    models: Subjects = _NONE,
    services: Subjects = _NONE,
    heartbeats: Subjects = _NONE,
    heightened: Mapping[WatchKey, Heightening] = _NO_WATCHES,
) -> tuple[EvalState, list[AlertChange]]:
    """Advance every enabled rule to ``now``; return the new state and the alert changes.

    ``samples_by_series`` holds the new points per series (the latest only, or a batch);
    points at or before a series' last seen time are ignored, and one stamped after ``now``
    counts as seen at ``now``. ``heightened`` are the watches after a fix in force at
    ``now``: the (rule, subject) pairs they name are judged by the tightened rule, and an
    alert they fire says which incident it relapses (``relapse_of``).
    """
    state = state or EvalState()
    started = state.started or now
    table: dict[tuple[str, Series], SeriesState] = {}
    changes: list[AlertChange] = []
    known_of: dict[str, set[Series]] = {}
    for name, s in state.series:
        known_of.setdefault(name, set()).add(s)
    watched = {name for name, _ in heightened}
    for rule in rules:
        if not rule.enabled:
            continue
        known = known_of.get(rule.name, set())
        seen = known | {s for s in samples_by_series if rule.watches(s)}
        placeholder = Series.of(rule.metric)  # "this metric has never reported at all"
        if rule.kind == "absent" and not seen:
            seen = {placeholder}
        for series in sorted(seen):
            old = state.series.get((rule.name, series), SeriesState())
            watch = None
            if rule.name in watched:
                watch = heightened.get(watch_key(rule.name, alert_labels(rule, series)))
            ctx = _Ctx(rule, series, now, models, services, heartbeats, changes, watch)
            if series == placeholder and len(seen) > 1 and not samples_by_series.get(series):
                ctx.retire(old)  # the metric reports now, under real labels
                continue
            table[(rule.name, series)] = ctx.step(old, samples_by_series.get(series, ()), started)
    return EvalState(series=table, started=started), changes


@dataclass
class _Ctx:
    rule: Rule
    series: Series
    now: datetime
    models: Subjects
    services: Subjects
    heartbeats: Subjects
    out: list[AlertChange]
    watch: Heightening | None = None
    usual: Rule | None = None  # the rule as it is outside the watch

    def __post_init__(self) -> None:
        self.usual = self.rule
        if self.watch is not None:
            self.rule = shortened(self.rule, self.watch)

    def step(self, st: SeriesState, points: Iterable[Point], started: datetime) -> SeriesState:
        # A point stamped after ``now`` is taken as seen now, not dropped: Prometheus stamps
        # an instant query's result with its own evaluation time, later than the moment the
        # poll began (and another machine's clock may run ahead), so dropping such points
        # meant a real Prometheus never opened an incident.
        fresh = sorted(
            replace(p, at=self.now) if p.at > self.now else p
            for p in points
            if st.last_seen is None or min(p.at, self.now) > st.last_seen
        )
        for point in fresh:
            st = self._observe(st, point)
        st = self._absence(st, started)
        if st.absent_since is None and st.last_value is not None and self.rule.kind != "absent":
            st = self._judge(st, st.last_value, self.now)
        return st

    def retire(self, st: SeriesState) -> None:
        """Drop a series for good, resolving its absence alert if one is firing."""
        if st.absent_since is not None:
            labels = absent_labels(self.rule, self.series)
            text = describe_absent(self.rule, labels, firing=False)
            self._emit(
                "resolved", labels, None, None, self.rule.absent_after, text, st.absent_since
            )

    def _observe(self, st: SeriesState, point: Point) -> SeriesState:
        history = st.history
        recent = st.recent
        if self.rule.kind == "baseline" and self.rule.baseline is not None:
            oldest = point.at - self.rule.baseline.window
            history = (*(p for p in history if p.at >= oldest), point)
        elif self.rule.kind == "threshold":
            span = NORMAL_WINDOW + max(self.rule.for_, (self.usual or self.rule).for_)
            recent = keep_recent(recent, point, span)
        st = replace(
            st,
            last_seen=point.at,
            last_value=point.value,
            history=history,
            notes=point.notes,
            recent=recent,
            cusum=self._detector(st.cusum, point),
        )
        return self._judge(st, point.value, point.at) if self.rule.kind != "absent" else st

    def _absence(self, st: SeriesState, started: datetime) -> SeriesState:
        reference = st.last_seen or started
        missing = self.now - reference >= self.rule.absent_after and not self._off()
        labels = absent_labels(self.rule, self.series)
        window = self.rule.absent_after
        if missing and st.absent_since is None:
            begun = reference + window
            text = describe_absent(self.rule, labels, firing=True)
            self._emit("firing", labels, None, None, window, text, begun)
            return replace(st, absent_since=begun)
        if not missing and st.absent_since is not None:
            text = describe_absent(self.rule, labels, firing=False)
            self._emit("resolved", labels, None, None, window, text, st.absent_since)
            return replace(st, absent_since=None)
        return st

    def _off(self) -> bool:
        """Is this rule off for this series (no threshold: ``threshold_from`` unset, no
        default)? Then its data going missing is no news either: ``vigil rules list`` said
        the rule was off, yet "no data for model_latency_p99_ms" opened an incident two
        minutes after a model stopped pushing it. (An ``absent`` rule needs no threshold.)"""
        return self.rule.kind != "absent" and self._threshold() is None

    def _threshold(self) -> float | None:
        """This rule's threshold for this series (its labels, the subject's settings)."""
        return threshold_for(
            self.rule,
            self.series.label_map,
            models=self.models,
            services=self.services,
            heartbeats=self.heartbeats,
        )

    def _detector(self, cusum: Cusum | None, point: Point) -> Cusum | None:
        """The CUSUM advanced by the rows since the last point (``detect`` rules whose
        series carries row counters; others keep None and wait ``for``)."""
        spec, read = self.rule.detect, reading(point.notes)
        if spec is None or spec.method != CUSUM or read is None or self.rule.kind != "threshold":
            return cusum
        threshold = self._threshold()
        if threshold is None:
            return cusum
        return update(cusum or Cusum(), read, spec, self.rule.op, threshold)

    def _change(self, st: SeriesState) -> Change | None:
        """The change point on the latest point (``detect: changepoint`` rules only)."""
        spec = self.rule.detect
        if spec is None or spec.method != CHANGEPOINT or self.rule.kind != "threshold":
            return None
        return change(st.notes)

    def _run(self, st: SeriesState) -> Change | None:
        """The CUSUM's run while it alarms, for a series whose value is its rows' mean
        (``rows_are_value``): the rows since the change began, and their mean."""
        spec, cusum = self.rule.detect, st.cusum
        if spec is None or spec.method != CUSUM or cusum is None or not cusum.alarm:
            return None
        if not st.notes or st.notes.get(ROWS_ARE_VALUE) != "true":
            return None
        return cusum.run()

    def _judge(self, st: SeriesState, value: float, at: datetime) -> SeriesState:
        rule = self.rule
        threshold = self._threshold()
        if threshold is None:
            return st
        usual = threshold
        if self.watch is not None:
            threshold = tightened_threshold(rule, threshold, self.watch)
        dev: Deviation | None = None
        measured = value
        if rule.kind == "baseline" and rule.baseline is not None:
            cut = st.last_seen or at  # judge the newest point against the points before it
            before = [p.value for p in st.history if p.at < cut]
            dev = deviation(before, value, min_samples=rule.baseline.min_samples)
            if dev is None:
                return st  # too little history to judge: keep the phase as it is
            measured = abs(dev.z)
        moved, run = self._change(st), self._run(st)
        if st.phase == "firing":
            ceiling = CEILINGS.get(rule.unit) if rule.kind == "threshold" else None
            judged = (measured, *(x.value for x in (moved, run) if x is not None))
            if any(
                still_holds(rule.op, x, threshold, rule.resolve_hysteresis, ceiling=ceiling)
                for x in judged
            ):
                return replace(st, last_value=value)
            self._changed("resolved", st, measured, threshold, at, dev, value)
            cusum = st.cusum.restart() if st.cusum is not None else None
            return replace(st, phase="inactive", since=None, fired_at=None, cusum=cusum)
        held = holds(rule.op, measured, threshold)
        # A change point whose rows are past the threshold is the condition itself, judged
        # on the rows since the change rather than on the whole (diluted) window.
        if moved is not None and not holds(rule.op, moved.value, threshold):
            moved = None
        if run is not None and not holds(rule.op, run.value, threshold):
            run = None  # the same for a CUSUM's run (``bot.rules.sequential``, "The run")
        if not held and moved is None and run is None:
            return replace(st, phase="inactive", since=None)
        since = st.since if st.phase == "pending" and st.since is not None else at
        # The detector can only bring the firing forward: a sustained change it has seen
        # fires at once, and the rule's `for:` still bounds the wait (what a user tuned holds).
        detected = held and st.cusum is not None and st.cusum.seen is not None and st.cusum.alarm
        waited = held and at - since >= rule.for_
        if not (detected or moved is not None or run is not None or waited):
            return replace(st, phase="pending", since=since)
        notes = self._firing_notes(st, since, threshold, usual)
        cusum = st.cusum.restart() if st.cusum is not None else None
        if run is not None and not waited:  # the run is judged, and kept, while it fires
            notes |= {"detector": CUSUM, "detected_after_rows": str(run.rows), RUN: "true"}
            measured = value = run.value
            cusum = st.cusum
        elif st.cusum is not None and detected:
            notes |= {"detector": CUSUM, "detected_after_rows": str(st.cusum.rows)}
        elif moved is not None and not waited:
            notes |= {"detector": CHANGEPOINT, "detected_after_rows": str(moved.rows)}
            measured = value = moved.value
        self._changed("firing", st, measured, threshold, at, dev, value, notes)
        return replace(st, phase="firing", since=since, fired_at=at, cusum=cusum)

    def _firing_notes(
        self, st: SeriesState, since: datetime, threshold: float, usual: float
    ) -> dict[str, str]:
        """What a firing alert adds for the watch after a fix: the subject's normal (the
        median of the hour before the condition began, if it is on the clear side), and,
        during a watch, the incident it relapses and the threshold it normally uses."""
        notes: dict[str, str] = {}
        normal = median_before(st.recent, since) if self.rule.kind == "threshold" else None
        if normal is not None and not holds(self.rule.op, normal, usual):
            notes[NORMAL] = repr(normal)
        if self.watch is not None:
            notes[RELAPSE_OF] = str(self.watch.incident_id)
            notes[WATCHED_SINCE] = self.watch.resolved_at.isoformat()
            notes[USUAL_THRESHOLD] = repr(usual)
        return notes

    def _changed(
        self,
        status: Literal["firing", "resolved"],
        st: SeriesState,
        measured: float,
        threshold: float,
        at: datetime,
        dev: Deviation | None,
        observed: float,
        extra: Mapping[str, str] = _NO_NOTES,
    ) -> None:
        labels = alert_labels(self.rule, self.series)
        shown = dev.z if dev is not None else measured  # baselines quote the signed z
        firing = status == "firing"
        text = describe(
            self.rule, labels, shown, threshold, firing=firing, dev=dev, observed=observed
        )
        notes = {k: v for k, v in (st.notes or {}).items() if k not in STREAM_NOTES}
        window = self.rule.for_
        if firing and "detected_after_rows" in extra:  # fired by the detector, not the wait
            window = timedelta(0)
            rule = replace(self.rule, for_=window)
            text = describe(rule, labels, shown, threshold, firing=True)
            rows = extra["detected_after_rows"]
            moved = change(st.notes) if extra.get("detector") == CHANGEPOINT else None
            if moved is not None:
                text += moved.words()
            elif extra.get(RUN):
                text += f" (on the {int(rows):,} rows since the change began, CUSUM)"
            else:
                text += f" (a sustained change from the reference, CUSUM over {rows} rows)"
        if firing and notes.get("detail"):
            text = f"{text} — {notes['detail']}"
        if dev is not None:
            notes |= {"observed": repr(observed), "median": repr(dev.median), "mad": repr(dev.mad)}
        notes |= extra
        starts = at if firing else (st.fired_at or at)
        self._emit(status, labels, shown, threshold, window, text, starts, notes)

    def _emit(
        self,
        status: Literal["firing", "resolved"],
        labels: dict[str, str],
        value: float | None,
        threshold: float | None,
        window: timedelta,
        summary: str,
        starts_at: datetime,
        extra: Mapping[str, str] = _NO_NOTES,
    ) -> None:
        notes = annotations_for(self.rule, value, threshold, window, summary) | dict(extra)
        self.out.append(
            AlertChange(
                status=status,
                rule=self.rule.name,
                labels=MappingProxyType(labels),
                value=value,
                threshold=threshold,
                window=window,
                summary=summary,
                starts_at=starts_at,
                annotations=MappingProxyType(notes),
            )
        )
