"""The model-monitoring service: references from the database, rows and labels from HTTP.

Ties the in-memory ``ModelMonitor`` to the ``model_references`` table. ``sync`` loads the
newest reference of each model and re-watches a model whose reference changed (a new
``vigil model reference`` run, from any process), starting its window empty, because rows
counted against the old bins mean nothing against the new ones. The rule runner's
model-quality poll calls ``sync`` first; a post for a model the monitor does not know yet
syncs once before answering 404, so a reference stored a second ago is found.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from bot.core.clock import Clock
from bot.core.errors import NotFoundError
from bot.core.timefmt import iso_z
from bot.incidents.policy.classify import SubjectPolicy
from bot.monitoring.monitor import LabelResult, ModelMonitor
from bot.monitoring.store import ReferenceStore, StoredReference
from bot.monitoring.views import quality_json
from bot.quality.data import RowCheck

log = logging.getLogger(__name__)


class ModelQualityService:
    def __init__(
        self,
        monitor: ModelMonitor,
        store: ReferenceStore,
        *,
        models: Mapping[str, SubjectPolicy],
        clock: Clock,
    ) -> None:
        self.monitor = monitor
        self.store = store
        self._models = models
        self._clock = clock
        self._loaded: dict[str, StoredReference] = {}

    async def sync(self) -> None:
        """Watch every model's newest stored reference; re-watch the ones that changed."""
        for model, newest in (await self.store.newest_ids()).items():
            held = self._loaded.get(model)
            if held is not None and held.id == newest:
                continue
            stored = await self.store.get(newest)
            if stored is None:  # pragma: no cover - rows are never deleted
                continue
            self.monitor.watch(model, stored.version, stored.profile)
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

    async def predictions(self, model: str, payload: object) -> RowCheck:
        await self._known(model)
        return self.monitor.predictions(model, payload, self._clock())

    async def labels(self, model: str, payload: object) -> LabelResult:
        await self._known(model)
        return self.monitor.labels(model, payload)

    async def quality(self, model: str) -> dict[str, Any]:
        """What ``GET /api/v1/models/{model}/quality`` answers."""
        await self._known(model)
        now = self._clock()
        watched = self.monitor.watched(model)
        stored = self._loaded[model]
        policy = self._models.get(model)
        snapshot = watched.window.snapshot(now)
        return quality_json(
            self.monitor.assessment(model, now, snapshot=snapshot),
            snapshot,
            version=watched.version,
            window=self.monitor.spec.describe(),
            min_rows=self.monitor.min_rows,
            reference={
                "id": stored.id,
                "rows": stored.n_rows,
                "source": stored.source,
                "stored_at": iso_z(stored.created_at),
                "stored_by": stored.actor,
            },
            sla=policy.accuracy_sla if policy is not None else None,
        )

    def reference_of(self, model: str) -> StoredReference:
        found = self._loaded.get(model)
        if found is None:
            raise NotFoundError(f"model {model!r} is not watched")
        return found
