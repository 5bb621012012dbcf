"""The ``retrain_runs`` table (migration 0014): every retraining Vigil asked for.

One row per run, written *before* the orchestrator is called, in the same transaction as
the timer that submits it: a restart finds the row and submits again with the same key,
so a run is neither lost nor doubled. ``dedup_key`` is unique (the same decision made twice
is one row); ``active_model`` holds the model's name while the run is in flight and is
emptied when it ends, and is unique too, so two processes deciding at once cannot both
start a run of one model (as ``incidents.open_key`` keeps one open incident per key).
``detail`` is Vigil's own words about the last state, never an orchestrator's body.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, Integer, String
from sqlmodel import Field, SQLModel

from bot.store.tables import UTCDateTime


def _utc(*, nullable: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable))


def _text(length: int, *, nullable: bool = False, unique: bool = False) -> Any:
    return Field(default=None, sa_column=Column(String(length), nullable=nullable, unique=unique))


class RetrainRun(SQLModel, table=True):
    """One retraining run; see the module docstring."""

    __tablename__ = "retrain_runs"

    id: int | None = Field(default=None, primary_key=True)
    model: str = Field(sa_column=Column(String(200), nullable=False, index=True))
    trigger: str = _text(16)
    dedup_key: str = _text(250, unique=True)
    active_model: str | None = _text(200, nullable=True, unique=True)
    orchestrator: str = _text(16)
    incident_id: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    actor: str = _text(200)
    phase: str = _text(16)
    state: str = _text(64)  # the orchestrator's own word (queued, running, COMPLETED …)
    external_id: str | None = _text(250, nullable=True)
    url: str | None = _text(500, nullable=True)
    version: str | None = _text(200, nullable=True)
    detail: str = _text(500)
    attempts: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    requested_at: datetime = _utc()
    finished_at: datetime | None = _utc(nullable=True)
