"""The ``rollouts`` and ``rollout_looks`` tables (migration 0016).

One ``rollouts`` row per rollout (or A/B test), written with the timer of its first look in
one transaction, so a restart finds both. ``active_model`` holds the model's name while the
rollout runs and is emptied when it ends; it is unique, so two people (or processes)
starting a rollout of one model at once cannot both win: at most one rollout per model.
``started_at`` is where the judge's evidence begins: every look reads both versions since
then (cumulative counts, never reset at a step). One ``rollout_looks`` row per look: the
verdict, score, action and the judge's reasons, the rollout's timeline.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Integer, String
from sqlmodel import Field, SQLModel

from bot.store.tables import UTCDateTime


def _utc(*, nullable: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable))


def _text(length: int, *, nullable: bool = False, unique: bool = False) -> Any:
    return Field(default=None, sa_column=Column(String(length), nullable=nullable, unique=unique))


def _int(*, nullable: bool = False) -> Any:
    return Field(default=None, sa_column=Column(Integer, nullable=nullable))


class Rollout(SQLModel, table=True):
    """One rollout; see the module docstring. ``state``: running, promoted, aborted (by a
    person) or failed (the judge)."""

    __tablename__ = "rollouts"

    id: int | None = Field(default=None, primary_key=True)
    model: str = Field(sa_column=Column(String(200), nullable=False, index=True))
    version: str = _text(200)
    baseline: str = _text(200)
    mode: str = _text(8)
    steps: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    every_s: int = _int()
    step: int = _int()
    percent: int = _int()
    state: str = _text(16)
    active_model: str | None = _text(200, nullable=True, unique=True)
    actor: str = _text(200)
    verdict: str | None = _text(16, nullable=True)
    score: int | None = _int(nullable=True)
    incident_id: int | None = _int(nullable=True)
    looks: int = _int()
    started_at: datetime = _utc()
    next_look_at: datetime | None = _utc(nullable=True)
    ended_at: datetime | None = _utc(nullable=True)


class RolloutLook(SQLModel, table=True):
    """One look at a rollout: what the judge said and what Vigil did."""

    __tablename__ = "rollout_looks"

    id: int | None = Field(default=None, primary_key=True)
    rollout_id: int = Field(sa_column=Column(Integer, nullable=False, index=True))
    at: datetime = _utc()
    percent: int = _int()
    verdict: str = _text(16)
    score: int | None = _int(nullable=True)
    action: str = _text(16)
    summary: str = _text(1000)
    reasons: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
