"""Where each incident's Slack card lives, and which delivery steps already went out.

``slack_cards`` lets every later change ``chat.update`` the one card instead of posting a
new one. With ``slack.incident_channels`` on, a P1/P2 also gets a channel of its own:
``incident_channel`` is its id and ``incident_ts`` the pinned copy of the card there (both
null until created; the copy is updated with the card).

``slack_sent`` records each step of an outbox delivery (card, page DM, thread reply, channel,
pin, invite) as it succeeds, so a delivery retried after a failure half-way skips what Slack
already has: a page is never DMed twice because the thread reply after it failed.

``slack_threads`` (migration 0015) is where the one message of a long process lives (a
rollout, by its key ``rollout:12``): later lines ``chat.update`` it and reply in its thread.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from bot.store.tables import UTCDateTime


class SlackCard(SQLModel, table=True):
    __tablename__ = "slack_cards"

    incident_id: int = Field(
        sa_column=Column(Integer, ForeignKey("incidents.id"), primary_key=True, autoincrement=False)
    )
    channel: str = Field(sa_column=Column(String(32), nullable=False))
    ts: str = Field(sa_column=Column(String(32), nullable=False))
    posted_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    incident_channel: str | None = Field(default=None, sa_column=Column(String(32), nullable=True))
    incident_ts: str | None = Field(default=None, sa_column=Column(String(32), nullable=True))


class SlackSent(SQLModel, table=True):
    __tablename__ = "slack_sent"
    __table_args__ = (UniqueConstraint("outbox_id", "step"),)

    id: int | None = Field(default=None, primary_key=True)
    outbox_id: int = Field(sa_column=Column(Integer, nullable=False, index=True))
    step: str = Field(sa_column=Column(String(32), nullable=False))
    detail: str = Field(sa_column=Column(Text, nullable=False))
    sent_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class SlackThread(SQLModel, table=True):
    __tablename__ = "slack_threads"

    key: str = Field(sa_column=Column(String(100), primary_key=True))
    channel: str = Field(sa_column=Column(String(32), nullable=False))
    ts: str = Field(sa_column=Column(String(32), nullable=False))
    posted_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
