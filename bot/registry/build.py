"""The registry ``vigil.yaml`` asks for (``registry:``), built for ``vigil run`` and the
``vigil model`` verbs alike, so a move from chat and one from the command line reach the
same place."""

from __future__ import annotations

from bot.core.clock import Clock, utcnow
from bot.registry.builtin import BuiltinRegistry
from bot.registry.mlflow import MlflowTarget
from bot.registry.recorded import RecordedRegistry
from bot.registry.settings import RegistrySettings
from bot.registry.webhook import ServingWebhookTarget
from bot.store.db import Database


def build_registry(
    settings: RegistrySettings, db: Database, clock: Clock = utcnow
) -> BuiltinRegistry | RecordedRegistry:
    """The built-in registry, or the record in front of MLflow or a serving webhook. Nothing
    is contacted here: the HTTP session opens on the first call."""
    if settings.kind == "mlflow" and settings.mlflow is not None:
        return RecordedRegistry(db, MlflowTarget(settings.mlflow), clock)
    if settings.kind == "webhook" and settings.webhook is not None:
        return RecordedRegistry(db, ServingWebhookTarget(settings.webhook, clock=clock), clock)
    return BuiltinRegistry(db, clock)


async def close_registry(registry: object) -> None:
    """Close an outside registry's HTTP session; the built-in one holds none."""
    if isinstance(registry, RecordedRegistry):
        await registry.aclose()
