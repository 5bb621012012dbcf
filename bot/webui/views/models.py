"""``/models`` and ``/models/{model}``: each model's versions and stages, its drift, data
quality and accuracy (estimated and realized), the running rollout and the shadow
verdicts, with sparklines over the last day.

The figures are the ones ``GET /api/v1/models/{model}/quality`` and ``…/shadow`` answer
(the same service calls); the charts read the minute ledger through ``summaries``, one
interval at a time (``POINTS`` intervals over ``SPAN``): rows, the label-free estimate,
the realized accuracy and the output drift (KL of the predictions against the reference)
per interval, all versions together on the list and each version apart on a model's page.
A model the registry knows but the monitor does not (no reference stored) is listed with
its versions and says how to start watching it; a registry that cannot be read leaves the
monitored models listed, saying so.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from aiohttp import web
from markupsafe import Markup
from sqlalchemy.exc import SQLAlchemyError

from bot.core.errors import NotFoundError, VigilError
from bot.monitoring.service import ModelQualityService
from bot.quality.compare.ledger import VersionSummary
from bot.quality.drift.divergence import kl_counts
from bot.quality.estimate import ConfidenceSums
from bot.registry.base import ModelRegistry, VersionInfo
from bot.rollouts.service import RolloutReport, RolloutService
from bot.webui.pages import Pages
from bot.webui.views.charts import Series, percent, plain, sparkline

log = logging.getLogger(__name__)
SPAN = timedelta(hours=24)
POINTS = 12
_FAILED = (VigilError, SQLAlchemyError, OSError)


@dataclass(frozen=True)
class Chart:
    name: str
    svg: Markup


@dataclass(frozen=True)
class VersionLine:
    version: str
    info: VersionInfo | None
    figures: Mapping[str, Any] | None  # its line of the quality answer
    charts: tuple[Chart, ...]


@dataclass(frozen=True)
class ModelCard:
    name: str
    stable: str | None
    versions: tuple[VersionLine, ...]
    quality: Mapping[str, Any] | None
    watch_hint: str | None  # why there are no figures, and what starts them
    rollout: RolloutReport | None
    shadows: tuple[Mapping[str, Any], ...]
    charts: tuple[Chart, ...]


def _merged(summaries: Iterable[VersionSummary]) -> tuple[int, ConfidenceSums, int, int, Any]:
    rows, conf, labelled, correct, counts = 0, ConfidenceSums(), 0, 0, None
    for s in summaries:
        rows += s.rows
        conf = conf + s.confidence
        labelled += s.labelled
        correct += s.correct
        if s.prediction_counts.shape[0]:
            counts = s.prediction_counts if counts is None else counts + s.prediction_counts
    return rows, conf, labelled, correct, counts


def chart_set(
    starts: tuple[datetime, ...],
    buckets: list[list[VersionSummary]],
    reference: tuple[int, ...] | None,
) -> tuple[Chart, ...]:
    """Rows, estimated and realized accuracy and output drift per interval."""
    rows: list[float | None] = []
    est: list[float | None] = []
    real: list[float | None] = []
    kl: list[float | None] = []
    for bucket in buckets:
        n, conf, labelled, correct, counts = _merged(bucket)
        rows.append(float(n))
        est.append(conf.estimate().value if conf.n else None)
        real.append(correct / labelled if labelled else None)
        drift = None
        if reference and counts is not None and int(counts.sum()):
            drift = kl_counts(np.asarray(reference), counts)
        kl.append(drift)
    return (
        Chart("Rows", sparkline(Series("rows per interval", starts, tuple(rows)), plain, lo=0)),
        Chart(
            "Estimated accuracy",
            sparkline(Series("estimated accuracy", starts, tuple(est)), percent, lo=0, hi=1),
        ),
        Chart(
            "Realized accuracy",
            sparkline(Series("realized accuracy", starts, tuple(real)), percent, lo=0, hi=1),
        ),
        Chart(
            "Output drift (KL)",
            sparkline(Series("output drift KL", starts, tuple(kl)), plain, lo=0),
        ),
    )


class ModelPages:
    def __init__(
        self,
        pages: Pages,
        registry: ModelRegistry,
        models: ModelQualityService,
        rollouts: RolloutService,
    ) -> None:
        self._pages = pages
        self._registry = registry
        self._models = models
        self._rollouts = rollouts

    def install(self, app: web.Application) -> None:
        guard = self._pages.guard
        app.router.add_get("/models", guard(self.listing))
        app.router.add_get("/models/{model}", guard(self.model))

    async def _names(self) -> tuple[list[str], list[str]]:
        problems: list[str] = []
        names: set[str] = set()
        try:
            names.update(await self._registry.models())
        except _FAILED as exc:
            log.warning("the models page could not read the registry: %s", exc)
            problems.append("The model registry could not be read: versions may be missing.")
        try:
            await self._models.sync()
            names.update(self._models.monitor.models())
        except _FAILED as exc:
            log.warning("the models page could not read the references: %s", exc)
            problems.append("The stored references could not be read: figures may be missing.")
        return sorted(names), problems

    async def listing(self, request: web.Request) -> web.Response:
        names, problems = await self._names()
        cards = [await self._card(name, detail=False) for name in names]
        return self._pages.render(
            request,
            "models.html.j2",
            cards=cards,
            problems=problems,
            detail=False,
            span=SPAN,
            points=POINTS,
            now=self._pages.clock(),
        )

    async def model(self, request: web.Request) -> web.Response:
        name = request.match_info["model"]
        names, problems = await self._names()
        if name not in names:
            return self._pages.problem(
                request, 404, "No such model", "Vigil knows no model of this name."
            )
        card = await self._card(name, detail=True)
        return self._pages.render(
            request,
            "models.html.j2",
            cards=[card],
            problems=problems,
            detail=True,
            span=SPAN,
            points=POINTS,
            now=self._pages.clock(),
        )

    async def _card(self, name: str, *, detail: bool) -> ModelCard:
        infos: list[VersionInfo] = []
        try:
            infos = await self._registry.versions(name)
        except NotFoundError:
            pass
        except _FAILED as exc:
            log.warning("could not read the versions of %s: %s", name, exc)
        stable = next((v.version for v in infos if v.stage == "stable"), None)
        quality: Mapping[str, Any] | None = None
        hint: str | None = None
        try:
            quality = await self._models.quality(name)
        except NotFoundError:
            hint = f"Not watched: store a reference with `vigil model reference {name} …`."
        except _FAILED as exc:
            log.warning("could not read the quality of %s: %s", name, exc)
            hint = "The quality figures could not be read."
        rollout: RolloutReport | None = None
        try:
            rollout = await self._rollouts.status(name)
        except _FAILED as exc:
            log.warning("could not read the rollouts of %s: %s", name, exc)
        shadows: list[Mapping[str, Any]] = []
        if quality is not None:
            try:
                versions = await self._models.shadow_versions(name)
            except _FAILED as exc:
                log.warning("could not read the shadow versions of %s: %s", name, exc)
                versions = []
            for version in versions:
                try:
                    shadows.append(await self._models.shadow(name, version))
                except _FAILED:
                    continue
        charts: tuple[Chart, ...] = ()
        per_version: dict[str, tuple[Chart, ...]] = {}
        if quality is not None:
            charts, per_version = await self._history(name, detail=detail)
        figures = {str(v["version"]): v for v in (quality or {}).get("versions", [])}
        seen = [v.version for v in infos] + sorted(set(figures) - {v.version for v in infos})
        by_info = {v.version: v for v in infos}
        lines = tuple(
            VersionLine(v, by_info.get(v), figures.get(v), per_version.get(v, ())) for v in seen
        )
        return ModelCard(name, stable, lines, quality, hint, rollout, tuple(shadows), charts)

    async def _history(
        self, name: str, *, detail: bool
    ) -> tuple[tuple[Chart, ...], dict[str, tuple[Chart, ...]]]:
        """The charts of the model (all versions) and, on its own page, of each version."""
        now = self._pages.clock()
        step = SPAN / POINTS
        end = now + timedelta(minutes=1)  # the open minute too
        starts = tuple(end - SPAN + i * step for i in range(POINTS))
        try:
            buckets = [
                await self._models.summaries(name, since=lo, until=lo + step) for lo in starts
            ]
            profile = self._models.reference_of(name).profile
        except _FAILED as exc:
            log.warning("could not read the ledger of %s: %s", name, exc)
            return (), {}
        reference = profile.prediction.histogram if profile.prediction is not None else None
        model = chart_set(starts, [list(b.values()) for b in buckets], reference)
        if not detail:
            return model, {}
        versions = sorted({v for b in buckets for v in b})
        apart = {
            v: chart_set(starts, [[b[v]] if v in b else [] for b in buckets], reference)
            for v in versions
        }
        return model, apart
