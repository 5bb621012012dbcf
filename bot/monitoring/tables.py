"""The ``model_references`` table (migration 0007): every reference profile ever stored.

One row per ``vigil model reference`` run, never updated: the newest row of a model is the
reference it is judged against, and the older rows say what it was judged against before
(when a drift alert started after someone swapped the reference, that is the first thing
to check). The profile is JSON (``bot.quality.profile_dict``): bin edges and counts, not rows,
about 10 KB for 20 features.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, Index, String, Text
from sqlmodel import Field, SQLModel

from bot.store.tables import UTCDateTime


class ModelReferenceRow(SQLModel, table=True):
    """One stored reference profile; see the module docstring."""

    __tablename__ = "model_references"
    __table_args__ = (Index("ix_model_references_model_id", "model", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    model: str = Field(sa_column=Column(String(200), nullable=False))
    version: str = Field(sa_column=Column(String(200), nullable=False))
    n_rows: int = Field(sa_column=Column(BigInteger, nullable=False))
    source: str = Field(sa_column=Column(String(500), nullable=False))
    actor: str = Field(sa_column=Column(String(200), nullable=False))
    profile: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
