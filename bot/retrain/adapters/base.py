"""What every orchestrator adapter offers, and what it answers. Pure: types only.

An adapter turns a :class:`RunRequest` into the orchestrator's own call, with the run's
dedup key as the orchestrator's idempotency key (Airflow's ``dag_run_id``, Prefect's
``idempotency_key``, a GitHub workflow input, a webhook's ``Idempotency-Key`` header), and
reads a run's state back in the orchestrator's words, mapped to Vigil's phases. Messages
name the endpoint without credentials and never quote a token or a response body.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.retrain.decide import Phase


class OrchestratorError(Exception):
    """The orchestrator refused or could not be reached; ``retryable``: try the same
    request again later (a 5xx, 429, a timeout), else the run has failed."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


@dataclass(frozen=True)
class RunRequest:
    """One run to start: the model, why, the key, and the version it should produce."""

    model: str
    key: str
    version: str
    trigger: str
    incident_id: int | None
    requested_at: datetime
    reason: str


@dataclass(frozen=True)
class Observed:
    """A run as the orchestrator sees it: its own ``state`` word, Vigil's ``phase``, and
    its id and page once known (GitHub names its run only after the dispatch)."""

    state: str
    phase: Phase
    external_id: str | None = None
    url: str | None = None


class Orchestrator(Protocol):
    kind: str

    def describe(self) -> str:
        """``Airflow DAG retrain_fraud at https://airflow.internal``: for people."""
        ...

    async def submit(self, run: RunRequest) -> Observed:
        """Start the run, or find the one this key already started (a repeat is success)."""
        ...

    async def observe(self, run: RunRequest, external_id: str | None) -> Observed:
        """The run's state now."""
        ...
