"""The adapter for a model's ``retraining:`` entry."""

from __future__ import annotations

from bot.retrain.adapters.airflow import AirflowOrchestrator
from bot.retrain.adapters.base import Orchestrator
from bot.retrain.adapters.github import GitHubOrchestrator
from bot.retrain.adapters.prefect import PrefectOrchestrator
from bot.retrain.adapters.webhook import WebhookOrchestrator
from bot.retrain.config import Orchestration


def build_orchestrator(spec: Orchestration) -> Orchestrator:
    match spec.kind:
        case "airflow":
            return AirflowOrchestrator(spec)
        case "prefect":
            return PrefectOrchestrator(spec)
        case "github":
            return GitHubOrchestrator(spec)
        case "webhook":
            return WebhookOrchestrator(spec)
