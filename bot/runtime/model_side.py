"""The model side of the composition root: the model-quality service, retraining and
progressive rollouts.

Apart from :mod:`bot.runtime.app` so that the root stays one screen per concern: these two
are built from the same settings (``quality:``, ``models:``, ``retraining:``) and the
registry that ``registry:`` names, and nothing else in the root needs their insides.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from bot.chat.backend import ChatBackend
from bot.config.load import Settings
from bot.core.clock import Clock
from bot.incidents.service import IncidentService
from bot.monitoring.monitor import ModelMonitor
from bot.monitoring.panes.store import PaneStore
from bot.monitoring.service import ModelQualityService
from bot.monitoring.shadow_store import ShadowStore
from bot.monitoring.shadows import ShadowMonitor
from bot.monitoring.store import ReferenceStore
from bot.registry.base import ModelRegistry, stable_version
from bot.retrain.adapters.base import Orchestrator
from bot.retrain.adapters.build import build_orchestrator
from bot.retrain.follow import RunFollower
from bot.retrain.service import RetrainService
from bot.retrain.store import RunStore
from bot.rollouts.chat import RolloutChat
from bot.rollouts.driver import RolloutDriver
from bot.rollouts.service import RolloutService
from bot.rollouts.store import RolloutStore
from bot.rules.schema import Rule
from bot.store.db import Database
from bot.store.timers import Timers


def build_models(
    settings: Settings, db: Database, registry: ModelRegistry, clock: Clock
) -> ModelQualityService:
    """The monitor of every watched model; a row without a version is the stable one's."""
    quality = settings.quality
    return ModelQualityService(
        ModelMonitor(
            quality.window,
            label_horizon=quality.label_horizon,
            label_window=quality.label_window,
            min_rows=quality.min_rows,
            local=False,  # the panes and the label join are the database's: every replica's
        ),
        ReferenceStore(db),
        models=settings.incidents.models,
        clock=clock,
        stable_version=lambda model: stable_version(registry, model),
        ledger_keep=quality.ledger_keep,
        panes=PaneStore(db),
        shadows=ShadowMonitor(ShadowStore(db)),  # shadow pairs too: every replica's
    )


def build_retrain(
    settings: Settings,
    db: Database,
    timers: Timers,
    incidents: IncidentService,
    registry: ModelRegistry,
    clock: Clock,
    senders: Callable[[], Sequence[ChatBackend]],
    orchestrators: Mapping[str, Orchestrator] | None = None,
    rules: Sequence[Rule] = (),
) -> RetrainService:
    """Retraining on drift, on cron and on ``/incident retrain N`` (``retraining:``);
    ``orchestrators`` stands in for the configured adapters of the models it names;
    ``rules``: the loaded alerting rules, whose label-health rules hold it on bad labels."""
    runs = RunStore(db)
    plans = settings.retraining
    follower = RunFollower(
        runs,
        timers,
        incidents,
        registry,
        plans,
        {m: build_orchestrator(p.orchestration) for m, p in plans.items()}
        | dict(orchestrators or {}),
        clock=clock,
        senders=senders,
    )
    models = settings.incidents.models
    return RetrainService(
        db, runs, timers, follower, plans, clock=clock, rules=rules, models=models
    )


def build_rollouts(
    settings: Settings,
    db: Database,
    timers: Timers,
    incidents: IncidentService,
    registry: ModelRegistry,
    models: ModelQualityService,
    clock: Clock,
    senders: Callable[[], Sequence[ChatBackend]],
) -> RolloutService:
    """Progressive rollouts and A/B tests judged every interval (``rollout:``); the look
    timers are registered here, so before ``Timers.start``."""
    store = RolloutStore(db)
    driver = RolloutDriver(
        db,
        store,
        registry,
        timers,
        incidents,
        RolloutChat(senders),
        lambda model, since: models.summaries(model, since=since),
        settings.rollout,
        clock=clock,
    )
    return RolloutService(db, store, registry, timers, driver, clock=clock)
