"""Shadow mode's tables (migration 0021): the pairing of live and shadow rows, shared by
every replica and kept across restarts (``shadow_store``).

Times are microseconds since the epoch; every row names the reference it was counted
under, as a new reference starts shadow mode afresh (its bins changed), and the rows of an
older one are pruned. Row ids are at most ``MAX_ID`` characters (``shadow_rows`` rejects
longer ones).

``shadow_versions``: one row per (model, reference, shadow version): when it first and
last posted. A model's shadow is *active* while its newest ``last_at`` is within the
window: every replica reads it, so a live row taken by any replica is remembered.
``shadow_live``: live rows remembered while a shadow is active, one per (model, id).
``shadow_waiting``: shadow rows whose live row has not come yet, per version.
``shadow_paired``: paired ids awaiting their label, with both predictions' classes.
``shadow_tallies``: what each write added to a version's counts, appended without a read
(as ``model_panes``), summed when read and folded into one row by the periodic flush.

Rows are looked up by id (the key, and ``(model, row_id)`` for a post that names no
version); no index on ``at``: PostgreSQL, before it has statistics, read lookups by id
through one and filtered every row, and what reads by age (expiry, trimming) runs every
15 s on one model's rows, where a scan is cheap.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, LargeBinary, String, Text
from sqlmodel import Field, SQLModel

from bot.quality.compare.shadow import MAX_ID


class ShadowVersionRow(SQLModel, table=True):
    __tablename__ = "shadow_versions"

    model: str = Field(sa_column=Column(String(200), primary_key=True))
    reference_id: int = Field(sa_column=Column(BigInteger, primary_key=True))
    version: str = Field(sa_column=Column(String(200), primary_key=True))
    first_at: int = Field(sa_column=Column(BigInteger, nullable=False))
    last_at: int = Field(sa_column=Column(BigInteger, nullable=False))


class ShadowLiveRow(SQLModel, table=True):
    __tablename__ = "shadow_live"

    model: str = Field(sa_column=Column(String(200), primary_key=True))
    row_id: str = Field(sa_column=Column(String(MAX_ID), primary_key=True))
    reference_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    at: int = Field(sa_column=Column(BigInteger, nullable=False))
    row: str = Field(sa_column=Column(Text, nullable=False))
    """The row as ``quality.compare.shadow_codec.row_text`` wrote it."""


class ShadowWaitingRow(SQLModel, table=True):
    __tablename__ = "shadow_waiting"
    __table_args__ = (Index("ix_shadow_waiting_id", "model", "row_id"),)

    model: str = Field(sa_column=Column(String(200), primary_key=True))
    version: str = Field(sa_column=Column(String(200), primary_key=True))
    row_id: str = Field(sa_column=Column(String(MAX_ID), primary_key=True))
    reference_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    at: int = Field(sa_column=Column(BigInteger, nullable=False))
    row: str = Field(sa_column=Column(Text, nullable=False))


class ShadowPairedRow(SQLModel, table=True):
    __tablename__ = "shadow_paired"
    __table_args__ = (Index("ix_shadow_paired_id", "model", "row_id"),)

    model: str = Field(sa_column=Column(String(200), primary_key=True))
    version: str = Field(sa_column=Column(String(200), primary_key=True))
    row_id: str = Field(sa_column=Column(String(MAX_ID), primary_key=True))
    reference_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    at: int = Field(sa_column=Column(BigInteger, nullable=False))
    live: str = Field(sa_column=Column(Text, nullable=False))
    shadow: str = Field(sa_column=Column(Text, nullable=False))


class ShadowTallyRow(SQLModel, table=True):
    __tablename__ = "shadow_tallies"
    __table_args__ = (Index("ix_shadow_tallies_read", "model", "reference_id", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    model: str = Field(sa_column=Column(String(200), nullable=False))
    reference_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    version: str = Field(sa_column=Column(String(200), nullable=False))
    counts: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    sums: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    segments: str = Field(sa_column=Column(Text, nullable=False))
