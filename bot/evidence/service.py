"""Attach charts to model-quality incidents: read the monitor, render off the loop, write, record.

A notifier listener. When a change shows an open incident with a firing model-quality alert
about a watched model, and the incident still lacks a chart, it draws it: the top drifting
feature's reference vs current histogram (when the window holds enough rows to judge drift)
and accuracy over time (when the model has any accuracy figure yet). Each is written to
``out_dir/incident-<id>-drift-<feature>.png`` / ``incident-<id>-accuracy.png`` atomically
(temp file, then rename: the Slack deliverer or a person never reads half a PNG), then put on
the timeline as an ``evidence`` entry naming the file. From there the console prints it, the
Slack outbox uploads it into the card's thread and the post-mortem draft links it.

Once per incident per chart: the timeline is the record, read fresh before drawing, and an
incident this process is drawing is skipped by a concurrent change rather than drawn twice.

A chart that cannot be drawn or written is logged with its traceback and nothing is
recorded. A timeline note saying so would reach Slack, the console and the post-mortem,
where the responder can do nothing about it (it is Vigil's problem, for its operator's
logs), and would stand in for the chart; recording nothing lets the incident's next change
try again.

The monitor is read on the event loop (it is not thread-safe and reads are cheap); only the
rendering, of copies (profile, counts, history points), and the file write run in a worker
thread, so the loop keeps serving alerts meanwhile. The caller of the change (an alert post,
a command) does wait for the charts, a fraction of a second, like it waits for paging.

Matplotlib is loaded on the first render (``bot.evidence.charts._mpl``), not with this
module: it takes a third of a second or more to import, and only a model-quality incident
ever draws a chart.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from bot.core.clock import Clock
from bot.core.durations import short_duration
from bot.core.errors import NotFoundError
from bot.evidence import plan
from bot.evidence.charts import accuracy_chart, drift_chart, importance_chart
from bot.incidents.policy.signals import SubjectPolicy
from bot.incidents.reactions.changes import Change
from bot.incidents.service import IncidentService
from bot.incidents.states import OPEN_STATES
from bot.incidents.views import IncidentView
from bot.monitoring.monitor import ModelMonitor
from bot.monitoring.watched import AccuracyPoint
from bot.quality.binning import IntArray
from bot.quality.profile import FeatureProfile
from bot.quality.windows import WindowSpec

log = logging.getLogger(__name__)

TRIGGERS = frozenset({"opened", "alert", "severity"})
"""Changes that can bring a model-quality alert to an incident (a joining alert that raises
nothing publishes no change: its chart waits for the incident's next one)."""


@dataclass(frozen=True)
class _Chart:
    """One chart to draw: what it is, its file, its words, and the render to run."""

    chart: str
    filename: str
    title: str
    caption: str
    feature: str | None
    render: Callable[[], bytes]


class EvidenceService:
    """Draws and attaches the charts of model-quality incidents (a notifier listener)."""

    def __init__(
        self,
        monitor: ModelMonitor,
        incidents: IncidentService,
        *,
        out_dir: Path,
        clock: Clock,
        models: Mapping[str, SubjectPolicy] = MappingProxyType({}),
    ) -> None:
        self._monitor = monitor
        self._incidents = incidents
        self._out_dir = out_dir.absolute()  # stored paths must not hang on a reader's cwd
        self._clock = clock
        self._models = models
        self._busy: set[int] = set()

    async def on_change(self, change: Change) -> None:
        """Listener: attach what charts a model-quality incident lacks; never raises."""
        if change.kind not in TRIGGERS or not self._wants(change.incident):
            return
        incident_id = change.incident.id
        if incident_id in self._busy:
            return
        self._busy.add(incident_id)
        try:
            await self._attach(incident_id)
        except Exception:
            log.exception("could not attach charts to incident #%d", incident_id)
        finally:
            self._busy.discard(incident_id)

    def _wants(self, view: IncidentView) -> bool:
        return (
            view.state in OPEN_STATES
            and plan.quality_model(view) is not None
            and not plan.wanted(plan.firing_kinds(view)) <= plan.attached(view)
        )

    async def _attach(self, incident_id: int) -> None:
        view = await self._incidents.get(incident_id)  # fresh: the change's copy may be stale
        model = plan.quality_model(view)
        if model is None or not self._wants(view):
            return
        try:
            todo = self._plan(view, model)
        except NotFoundError:  # not watched (no reference profile): nothing to draw from
            return
        for chart in todo:
            await self._draw(incident_id, chart)

    def _plan(self, view: IncidentView, model: str) -> list[_Chart]:
        """The missing charts, with copies of what they need read from the monitor now."""
        watched = self._monitor.watched(model)
        now = self._clock()
        done = plan.attached(view)
        out: list[_Chart] = []
        snapshot = self._monitor.snapshot(model, now)  # the panes the last rule poll read
        # also the history's latest point
        assessment = self._monitor.assessment(model, now, snapshot=snapshot)
        kinds = plan.firing_kinds(view)
        wanted = plan.wanted(kinds)
        top_psi = assessment.drift[0].psi if assessment.drift else 0.0
        if plan.DRIFT in wanted - done and assessment.drift and plan.draws_drift(kinds, top_psi):
            top = assessment.drift[0]
            window = _window_text(self._monitor.spec, snapshot.n_rows)
            render = functools.partial(
                _drift_png,
                watched.profile.feature(top.feature),
                snapshot.counts[top.feature].copy(),
                model=model,
                psi=top.psi,
                window_text=window,
            )
            out.append(
                _Chart(
                    plan.DRIFT,
                    f"incident-{view.id}-drift-{plan.slug(top.feature)}.png",
                    plan.drift_title(top.feature, window, top.psi),
                    plan.drift_caption(top.feature, window, top.psi),
                    top.feature,
                    render,
                )
            )
        stability = assessment.stability
        if plan.IMPORTANCE in wanted - done and stability is not None and watched.importances:
            moves = "; ".join(m.describe() for m in stability.moves[:2])
            render = functools.partial(
                _importance_png,
                dict(watched.profile.importances or {}),
                dict(watched.importances),
                model=model,
                tau=stability.tau,
            )
            out.append(
                _Chart(
                    plan.IMPORTANCE,
                    f"incident-{view.id}-importance.png",
                    plan.importance_title(model),
                    plan.importance_caption(model, stability.tau, moves),
                    None,
                    render,
                )
            )
        history = self._monitor.history(model) if plan.ACCURACY not in done else []
        if history:
            sla = plan.accuracy_sla(view, model, self._models)
            caption = plan.accuracy_caption(
                model, [p.estimated for p in history], [p.realized for p in history], sla
            )
            render = functools.partial(_accuracy_png, history, model=model, sla=sla)
            out.append(
                _Chart(
                    plan.ACCURACY,
                    f"incident-{view.id}-accuracy.png",
                    plan.accuracy_title(model),
                    caption,
                    None,
                    render,
                )
            )
        return out

    async def _draw(self, incident_id: int, chart: _Chart) -> None:
        path = self._out_dir / chart.filename
        try:
            png = await asyncio.to_thread(chart.render)
            await asyncio.to_thread(write_atomically, path, png)
        except Exception:
            log.exception("incident #%d: the %s chart could not be drawn", incident_id, chart.chart)
            return
        await self._incidents.record(
            incident_id,
            kind=plan.EVIDENCE,
            actor="vigil",
            text=plan.entry_text(chart.caption, str(path)),
            data={
                "path": str(path),
                "chart": chart.chart,
                "title": chart.title,
                "feature": chart.feature,
            },
        )


def _drift_png(
    profile: FeatureProfile, counts: IntArray, *, model: str, psi: float, window_text: str
) -> bytes:
    return drift_chart(profile, counts, model=model, psi=psi, window_text=window_text)


def _importance_png(
    reference: Mapping[str, float], current: Mapping[str, float], *, model: str, tau: float
) -> bytes:
    return importance_chart(reference, current, model=model, tau=tau)


def _accuracy_png(points: Sequence[AccuracyPoint], *, model: str, sla: float | None) -> bytes:
    return accuracy_chart(points, model=model, sla=sla)


def _window_text(spec: WindowSpec, n_rows: int) -> str:
    """``last 1,000 rows``, or for a time window ``last 30m (412 rows)``."""
    if spec.duration is not None:
        return f"last {short_duration(spec.duration)} ({n_rows:,} rows)"
    return f"last {n_rows:,} rows"


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temp file in the same directory and a rename, so a
    reader sees the old file or the whole new one, never a torn one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.chmod(temp, 0o644)  # mkstemp's 0600 would hide the chart from the people it is for
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
