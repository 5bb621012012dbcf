"""SQLModel tables of the built-in registry and of playbook runs (migration 0002), and the
record of moves on an outside registry (migration 0013).

``model_versions`` holds one row per model version and its stage; ``model_events`` is the
append-only history (who changed what, when) that a post-mortem quotes. ``playbook_runs``
and ``playbook_steps`` record each playbook execution step by step. Times are UTC-aware.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from bot.store.tables import UTCDateTime


def _utc(*, nullable: bool, index: bool = False) -> Any:
    return Field(sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


class ModelVersion(SQLModel, table=True):
    """One version of one model. ``promotion_seq`` orders promotions (clock ties included);
    ``rolled_back_at`` marks a version that was rolled back from, so it is never picked as
    the last known good until promoted again."""

    __tablename__ = "model_versions"
    __table_args__ = (UniqueConstraint("model", "version", name="uq_model_versions_model"),)

    id: int | None = Field(default=None, primary_key=True)
    model: str = Field(sa_column=Column(String(200), nullable=False, index=True))
    version: str = Field(sa_column=Column(String(64), nullable=False))
    stage: str = Field(sa_column=Column(String(16), nullable=False))
    traffic_percent: int = Field(sa_column=Column(Integer, nullable=False))
    created_at: datetime = _utc(nullable=False)
    promoted_at: datetime | None = _utc(nullable=True)
    promotion_seq: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    rolled_back_at: datetime | None = _utc(nullable=True)
    notes: str = Field(default="", sa_column=Column(Text, nullable=False))


class ModelEvent(SQLModel, table=True):
    """One change to a model's versions, with the person (or playbook) who made it."""

    __tablename__ = "model_events"

    id: int | None = Field(default=None, primary_key=True)
    model: str = Field(sa_column=Column(String(200), nullable=False, index=True))
    version: str = Field(sa_column=Column(String(64), nullable=False))
    at: datetime = _utc(nullable=False)
    kind: str = Field(sa_column=Column(String(32), nullable=False))
    actor: str = Field(sa_column=Column(Text, nullable=False))
    text: str = Field(sa_column=Column(Text, nullable=False))
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class PlaybookRun(SQLModel, table=True):
    """One execution of a playbook; ``run_id`` is the runner's id, known before the row."""

    __tablename__ = "playbook_runs"

    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(sa_column=Column(String(32), nullable=False, unique=True))
    playbook: str = Field(sa_column=Column(String(100), nullable=False))
    incident_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("incidents.id"), nullable=True, index=True),
    )
    actor: str = Field(sa_column=Column(Text, nullable=False))
    dry_run: bool = Field(sa_column=Column(Boolean, nullable=False))
    status: str = Field(sa_column=Column(String(16), nullable=False))  # running|ok|failed
    summary: str = Field(default="", sa_column=Column(Text, nullable=False))
    started_at: datetime = _utc(nullable=False)
    finished_at: datetime | None = _utc(nullable=True)


class PlaybookStepRow(SQLModel, table=True):
    """One step of a run: started, then ok or failed with the reason in ``message``."""

    __tablename__ = "playbook_steps"
    __table_args__ = (UniqueConstraint("run_id", "position", name="uq_playbook_steps_run"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(
        sa_column=Column(Integer, ForeignKey("playbook_runs.id"), nullable=False, index=True)
    )
    position: int = Field(sa_column=Column(Integer, nullable=False))  # 1-based
    name: str = Field(sa_column=Column(Text, nullable=False))
    action: str = Field(sa_column=Column(String(64), nullable=False))
    status: str = Field(sa_column=Column(String(16), nullable=False))  # running|ok|failed
    message: str = Field(default="", sa_column=Column(Text, nullable=False))
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    started_at: datetime = _utc(nullable=False)
    finished_at: datetime | None = _utc(nullable=True)


class RegistryMove(SQLModel, table=True):
    """One entry of Vigil's append-only record of moves on an outside registry (MLflow
    aliases, a serving webhook), which keeps no history of its own: rows are only ever
    inserted. ``seq`` numbers a model's entries per target; the unique key makes two
    writers racing for the same model collide instead of interleaving."""

    __tablename__ = "registry_moves"
    __table_args__ = (
        UniqueConstraint("target", "model", "seq", name="uq_registry_moves_target_model_seq"),
    )

    id: int | None = Field(default=None, primary_key=True)
    target: str = Field(sa_column=Column(String(16), nullable=False))  # mlflow | webhook
    model: str = Field(sa_column=Column(String(200), nullable=False))
    seq: int = Field(sa_column=Column(Integer, nullable=False))
    version: str = Field(sa_column=Column(String(64), nullable=False))
    kind: str = Field(sa_column=Column(String(32), nullable=False))
    actor: str = Field(sa_column=Column(Text, nullable=False))
    incident: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    at: datetime = _utc(nullable=False)
    text: str = Field(sa_column=Column(Text, nullable=False))
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
