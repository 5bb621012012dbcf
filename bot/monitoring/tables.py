"""The model monitor's tables: references (0007), panes and awaiting predictions (0018;
their label-health columns 0019).

``model_references``: one row per ``vigil model reference`` run, never updated: the newest
row of a model is the reference it is judged against, and the older rows say what it was
judged against before (when a drift alert started after someone swapped the reference,
that is the first thing to check). The profile is JSON (``bot.quality.profile_dict``): bin
edges and counts, not rows, about 10 KB for 20 features.

``model_panes`` and ``model_awaiting``: the windows, the canary judge's evidence and the
label join, shared by every replica (``panes.store``); they replaced the minute ledger's
table of 0015.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, Float, Index, LargeBinary, String, Text
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


class PaneRow(SQLModel, table=True):
    """A slice of one minute of one model version's production rows, as a merged sketch
    (migration 0018; ``bot.monitoring.panes.store``).

    Each write of each replica appends one row per (model, reference, version, minute) it
    touched (the merged deltas of its posts since its last write, never a row per
    prediction), without reading or locking; the rows of a minute add up to that minute,
    and once the minute is over they are folded into one. ``counts``: the sketch's int64
    vector (little-endian) on the bins of reference ``reference_id``
    (``bot.quality.sketch.SketchLayout``); ``sums``: its four float64 sums; ``first`` /
    ``last``: the rows' time span (microseconds since the epoch); ``confusion``: the labels
    joined since to this minute's predictions, JSON ``[[label, predicted, n], ...]``;
    ``latencies``: up to ``LATENCIES_KEPT`` values (float32), ``latency_rows`` all that had one;
    ``labels`` (0019): the same joined labels by source, confidence and delay bin
    (``bot.quality.labels.tally``, JSON), NULL in panes stored before it.
    """

    __tablename__ = "model_panes"
    __table_args__ = (
        Index("ix_model_panes_read", "model", "reference_id", "minute"),
        Index("ix_model_panes_minute", "minute"),
    )

    id: int | None = Field(default=None, primary_key=True)
    model: str = Field(sa_column=Column(String(200), nullable=False))
    reference_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    version: str = Field(sa_column=Column(String(200), nullable=False))
    minute: int = Field(sa_column=Column(BigInteger, nullable=False))
    counts: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    sums: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    first: int = Field(sa_column=Column(BigInteger, nullable=False))
    last: int = Field(sa_column=Column(BigInteger, nullable=False))
    confusion: str = Field(sa_column=Column(Text, nullable=False))
    latencies: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    latency_rows: int = Field(sa_column=Column(BigInteger, nullable=False))
    labels: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class AwaitingRow(SQLModel, table=True):
    """A served prediction waiting for its label (migration 0018): the label join, shared by
    every replica and kept across restarts. Written in bulk with the panes of the same
    post; a label deletes its row as it joins it (``DELETE ... RETURNING``: a label posted
    twice, or to two replicas at once, is counted once). Rows past ``label_horizon`` go.
    ``arrived`` (microseconds since the epoch) and ``confidence`` (0019, NULL before): what
    the label's delay and the label-health tally need."""

    __tablename__ = "model_awaiting"
    __table_args__ = (Index("ix_model_awaiting_minute", "model", "minute"),)

    model: str = Field(sa_column=Column(String(200), primary_key=True))
    row_id: str = Field(sa_column=Column(String(200), primary_key=True))
    reference_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    version: str = Field(sa_column=Column(String(200), nullable=False))
    minute: int = Field(sa_column=Column(BigInteger, nullable=False))
    predicted: str = Field(sa_column=Column(String(200), nullable=False))
    arrived: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    confidence: float | None = Field(default=None, sa_column=Column(Float, nullable=True))
