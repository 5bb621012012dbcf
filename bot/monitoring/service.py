"""The model-monitoring service: references from the database, rows and labels from HTTP.

Ties the in-memory ``ModelMonitor`` to the ``model_references`` table. ``sync`` loads the
newest reference of each model and re-watches a model whose reference changed (a new
``vigil model reference`` run, from any process), starting its window empty, because rows
counted against the old bins mean nothing against the new ones. The rule runner's
model-quality poll calls ``sync`` first; a post for a model the monitor does not know yet
syncs once before answering 404, so a reference stored a second ago is found; ``summaries``
syncs before each read, so the worker of a split serve (no rule poll) follows it too.

Rows that name no version belong to the version the registry says is stable
(``stable_version``, asked at most every ``STABLE_TTL`` per model and again after each
sync, so a post costs no registry read), else ``unknown``; when the registry cannot be
read the last answer stands. ``summaries`` is the per-version read the canary judge and
shadow mode take: each version's ledger over a time range.

The windows and the label join are in the database (``panes.store``, issue 20): a post of
predictions is reduced to one sketch per version and minute, and answered once the
group-commit writer (``panes.writer``) stored it with its awaiting predictions; a post of
labels is joined there (each label once, whichever replica took it). Every reading (the
rule poll through ``refresh``, ``quality``) first loads the panes the window needs from
the table, so any number of replicas take posts and each judges all of them; a restart,
even ``kill -9``, loses nothing a post's answer acknowledged. ``refresh`` reads back
``_lookback`` minutes, grown (x4, up to ``ledger_keep``) while the window or the label
window is not full and older panes exist, and shrunk back when they were full sooner.

``summaries`` (what the canary judge and shadow mode compare) sums the same panes over a
time range (``panes.summary``), so the evidence of a rollout is as durable and as shared as
the windows. ``flush`` (every ``FLUSH_EVERY``, and at close) folds each closed minute's
panes into one and deletes what is past ``ledger_keep`` or the label horizon. Alone
(a ``local`` monitor, no store: the demo's first act, benches) the monitor keeps its own
panes and a minute ledger per version in memory.
A shadow post (``"shadow": true``) goes to ``shadows`` (``ShadowMonitor``) instead of the
monitor, so what serves reads the same; live posts and labels are handed to it after the
monitor counted them. Its pairing is stored by the same write as the post (the writer's
``Work``), so shadow mode is as shared and as durable as the windows; ``shadow`` answers
``GET /api/v1/models/{model}/shadow?version=V`` from the database, and ``flush`` keeps its
tables (expiry, bounds, folding) too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from bot.core.clock import Clock
from bot.core.errors import NotFoundError, ValidationError, VigilError
from bot.core.timefmt import iso_z
from bot.incidents.policy.classify import SubjectPolicy
from bot.ingest.validate import require_object
from bot.monitoring.monitor import ModelMonitor
from bot.monitoring.panes.parts import Pane
from bot.monitoring.panes.store import PaneStore
from bot.monitoring.panes.summary import summary_of
from bot.monitoring.panes.writer import PaneWriter
from bot.monitoring.shadow_rows import ShadowRows, is_shadow
from bot.monitoring.shadow_store import Shadowed
from bot.monitoring.shadow_views import shadow_json
from bot.monitoring.shadows import ShadowMonitor
from bot.monitoring.store import ReferenceStore, StoredReference
from bot.monitoring.versions import UNKNOWN
from bot.monitoring.views import quality_json, version_json
from bot.monitoring.watched import LabelResult
from bot.quality.compare.ledger import DEFAULT_KEEP, VersionSummary, minute_ceiling
from bot.quality.compare.shadow import ShadowPost
from bot.quality.data import RowCheck
from bot.quality.panes import MINUTE, label_counts, micros_of, minute_of

StableVersion = Callable[[str], Awaitable[str | None]]
"""The registry's stable version of a model (None when it has none, or no such model)."""

STABLE_TTL = timedelta(seconds=5)
LOOKBACK = 15
"""Minutes of panes a reading loads at first (grown while the windows are not full)."""
FLUSH_EVERY = 15.0
"""Seconds between two foldings of the closed minutes' panes (and prunings)."""

log = logging.getLogger(__name__)


class ModelQualityService:
    def __init__(
        self,
        monitor: ModelMonitor,
        store: ReferenceStore,
        *,
        models: Mapping[str, SubjectPolicy],
        clock: Clock,
        stable_version: StableVersion | None = None,
        ledger_keep: timedelta = DEFAULT_KEEP,
        shadows: ShadowMonitor | None = None,
        panes: PaneStore | None = None,
        writer: PaneWriter | None = None,
    ) -> None:
        if (panes is None) != monitor.local:
            raise ValueError("a monitor reads its own panes (local) or the store's, not both")
        self.monitor = monitor
        self._panes = panes
        rows = monitor.spec.rows
        grain = None if rows is None else max(1, rows // 10)  # the old panes' N/10 rows
        self._writer = (
            writer if writer is not None or panes is None else PaneWriter(panes, pane_rows=grain)
        )
        self._lookback: dict[str, int] = {}
        self.shadows = shadows
        self.store = store
        self._models = models
        self._clock = clock
        self._stable_version = stable_version
        self._stable: dict[str, tuple[str, datetime]] = {}
        self._loaded: dict[str, StoredReference] = {}
        self._ledger_keep = ledger_keep
        self._closed = False

    async def sync(self) -> None:
        """Watch every model's newest stored reference; re-watch the ones that changed."""
        self._stable.clear()  # a promotion elsewhere reaches the next post
        for model, newest in (await self.store.newest_ids()).items():
            held = self._loaded.get(model)
            if held is not None and held.id == newest:
                continue
            stored = await self.store.get(newest)
            if stored is None:  # pragma: no cover - rows are never deleted
                continue
            self.monitor.watch(model, stored.version, stored.profile, stored.id)
            self._lookback.pop(model, None)
            self._loaded[model] = stored
            if held is None:
                log.info(
                    "watching model %s %s against the reference from %s (%d rows)",
                    model,
                    stored.version,
                    stored.source,
                    stored.n_rows,
                )
            else:
                log.info(
                    "model %s has a new reference (%s %s, from %s): its window starts empty",
                    model,
                    stored.version,
                    stored.created_at.isoformat(),
                    stored.source,
                )

    async def _known(self, model: str) -> None:
        if model not in self._loaded:
            await self.sync()
        self.monitor.watched(model)  # NotFoundError naming the command that fixes it

    async def default_version(self, model: str) -> str:
        """The version of rows that name none: the registry's stable one, else unknown."""
        now = self._clock()
        held = self._stable.get(model)
        if held is not None and now - held[1] < STABLE_TTL:
            return held[0]
        version = UNKNOWN if held is None else held[0]
        if self._stable_version is not None:
            try:
                version = await self._stable_version(model) or UNKNOWN
            except (VigilError, SQLAlchemyError, OSError) as exc:
                log.warning(
                    "could not read the stable version of %s (%s); using %s", model, exc, version
                )
        self._stable[model] = (version, now)
        return version

    async def predictions(
        self, model: str, payload: object
    ) -> RowCheck | tuple[ShadowRows, ShadowPost]:
        """Count a live post (and hand it to shadow mode), or pair a shadow post."""
        await self._known(model)
        body = require_object(payload, "")
        now = self._clock()
        profile = self.monitor.watched(model).profile
        if is_shadow(body):
            shadows, writer = self._shadowing()
            parsed = shadows.parse(body, profile)
            paired = await writer.run(shadows.post(self._who(shadows, model), parsed, now))
            return parsed, shadows.answered(paired)
        default = await self.default_version(model)
        counted = self.monitor.predictions(model, body, now, default_version=default)
        if self._writer is not None:  # answered once stored: a crash loses no answered row
            work = None
            if self.shadows is not None:
                who = self._who(self.shadows, model)
                work = self.shadows.live(who, body, counted.check, profile, now)
            await self._writer.predictions(counted.panes, counted.awaiting, work)
        return counted.check

    async def labels(self, model: str, payload: object) -> LabelResult:
        await self._known(model)
        if self._writer is None:
            return self.monitor.labels(model, payload, self._clock())
        pairs = self.monitor.parse_labels(model, payload)
        work = None
        if self.shadows is not None:
            work = self.shadows.labels(self._who(self.shadows, model), pairs)
        arrived = micros_of(self._clock())
        found = await self._writer.labels(model, pairs, arrived=arrived, work=work)
        return self.monitor.joined(model, pairs, found)

    def _shadowing(self) -> tuple[ShadowMonitor, PaneWriter]:
        if self.shadows is None or self._writer is None:
            raise ValidationError("shadow", "shadow mode needs the database (no shadow store)")
        return self.shadows, self._writer

    def _who(self, shadows: ShadowMonitor, model: str) -> Shadowed:
        """``model`` as shadow mode keys it: under its loaded reference, with its scorer."""
        return shadows.shadowed(model, self._loaded[model].id, self.monitor.watched(model).profile)

    async def shadow_versions(self, model: str) -> list[str]:
        """The shadow versions of ``model`` under its reference, by name."""
        await self._known(model)
        if self.shadows is None:
            return []
        return await self.shadows.versions(model, self._loaded[model].id)

    async def refresh_all(self) -> None:
        """Sync the references, then load every watched model's panes: what the rule poll
        runs before it judges."""
        await self.sync()
        for model in self.monitor.models():
            await self.refresh(model)

    async def refresh(self, model: str) -> None:
        """Load the panes ``model``'s readings need, as every replica stored them."""
        if self._panes is None:
            return
        reference = self._loaded[model]
        now = self._clock()
        keep = max(LOOKBACK, self._ledger_keep // MINUTE)
        oldest: int | None = None  # asked once, and only when a window is short
        asked = False
        lookback = self._lookback.get(model, LOOKBACK)
        if self.monitor.spec.duration is not None:
            lookback = max(lookback, self.monitor.spec.duration // MINUTE + 2)
        while True:
            since = minute_of(now) - lookback
            self.monitor.load(model, await self._panes.read(model, reference.id, since))
            window = self.monitor.window(model, now)
            counts, first = label_counts(self.monitor.view(model), self.monitor.label_window)
            short = not window.full or sum(counts.values()) < self.monitor.label_window
            if not short or lookback >= keep:
                break
            if not asked:
                oldest, asked = await self._panes.oldest(model, reference.id), True
            if oldest is None or oldest >= since:
                break
            lookback = min(keep, lookback * 4)
        if not short:  # both full: read about twice what they took next time
            used = minute_of(now) - min(window.minutes[:1] + (() if first is None else (first,)))
            lookback = min(lookback, max(LOOKBACK, 2 * used + 2))
        self._lookback[model] = lookback

    async def shadow(self, model: str, version: str) -> dict[str, Any]:
        """What ``GET /api/v1/models/{model}/shadow?version=V`` answers: shadow ``V``
        beside what served, with its verdict; ``UnknownVersion`` when it posted nothing."""
        await self._known(model)
        shadows, _ = self._shadowing()
        comparison = await shadows.comparison(self._who(shadows, model), version, self._clock())
        return shadow_json(model, comparison, shadows.settings)

    async def quality(self, model: str, version: str | None = None) -> dict[str, Any]:
        """What ``GET /api/v1/models/{model}/quality[?version=V]`` answers: the model's
        figures (every version together) with a line per version, or one version's."""
        await self._known(model)
        now = self._clock()
        watched = self.monitor.watched(model)
        stored = self._loaded[model]
        policy = self._models.get(model)
        await self.refresh(model)
        snapshot = self.monitor.snapshot(model, now, version)
        if version is None:
            assessment = self.monitor.assessment(model, now, snapshot=snapshot)
        else:
            assessment = self.monitor.version_assessment(model, version, now, snapshot=snapshot)
        answer = quality_json(
            assessment,
            snapshot,
            version=watched.version if version is None else version,
            window=self.monitor.spec.describe(),
            min_rows=self.monitor.min_rows,
            reference={
                "id": stored.id,
                "version": stored.version,
                "rows": stored.n_rows,
                "source": stored.source,
                "stored_at": iso_z(stored.created_at),
                "stored_by": stored.actor,
            },
            sla=policy.accuracy_sla if policy is not None else None,
        )
        if version is None:
            answer["versions"] = [
                version_json(
                    name, self.monitor.version_assessment(model, name, now), self.monitor.min_rows
                )
                for name in self.monitor.versions(model)
            ]
        return answer

    async def summaries(
        self, model: str, *, since: datetime | None = None, until: datetime | None = None
    ) -> dict[str, VersionSummary]:
        """Per version of ``model``, its rows, labels (confusion), label-free estimate,
        latencies and prediction histograms over ``[since, until)``, to the minute: what the
        canary judge and shadow mode compare. Versions seen since the model's reference was
        stored; an unknown model is ``NotFoundError``. Syncs first (one query when nothing
        changed): the worker of a split serve runs no rule poll, and holding an old
        reference it would read none of the panes stored under the new one."""
        await self.sync()
        watched = self.monitor.watched(model)  # NotFoundError naming the command that fixes it
        if self._panes is None:
            return {
                name: self.monitor.summary(model, name, since=since, until=until)
                for name in self.monitor.versions(model)
            }
        reference = self._loaded[model]
        low = None if since is None else minute_ceiling(since)
        high = None if until is None else minute_ceiling(until)
        chosen: defaultdict[str, list[Pane]] = defaultdict(list)
        for name in await self._panes.versions(model, reference.id):
            chosen[name] = []  # stored out of the range: still a version
        for name, minute, pane in await self._panes.read(model, reference.id, low):
            if high is None or minute < high:
                chosen[name].append(pane)
        return {
            name: summary_of(watched.layout, model, name, since, until, chosen[name])
            for name in sorted(chosen)
        }

    async def flush(self) -> None:
        """Fold each closed minute's panes into one; delete the panes past ``ledger_keep``
        and the awaiting predictions past the label horizon; keep shadow mode's tables
        (nothing to do when local)."""
        if self._panes is not None:
            await self._prune_panes(self._clock())

    async def _prune_panes(self, now: datetime) -> None:
        assert self._panes is not None
        closed = minute_of(now) - 1  # a minute is folded once it is over (and a minute more)
        await self._panes.compact(closed, since=closed - 120)
        before = minute_of(now - self._ledger_keep)
        horizon: dict[str, int] = {}
        for model in self.monitor.models():
            cut = self.monitor.horizon_minute(model)  # the newest label_horizon predictions
            horizon[model] = before if cut is None else max(before, cut)
        await self._panes.prune(before, awaiting_before=horizon)
        if self.shadows is not None:
            watched = [
                self._who(self.shadows, m) for m in self.monitor.models() if m in self._loaded
            ]
            await self.shadows.upkeep(watched, now)

    async def close(self) -> None:
        """The last flush, open minutes included: a clean restart keeps every row's evidence.
        Once: a second close (the database already gone) writes nothing."""
        if self._closed:
            return
        self._closed = True
        if self._writer is not None:
            await self._writer.close()  # the posts still waiting for their answer

    async def flush_every(self, stop: asyncio.Event, seconds: float = FLUSH_EVERY) -> None:
        """Flush until ``stop`` is set (a failure is logged and tried at the next turn)."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=seconds)
            try:
                await self.flush()
            except (SQLAlchemyError, OSError) as exc:
                log.warning("could not fold or prune the model panes (%s); trying again", exc)

    def reference_of(self, model: str) -> StoredReference:
        found = self._loaded.get(model)
        if found is None:
            raise NotFoundError(f"model {model!r} is not watched")
        return found
