"""One step of an outbox item sent to Slack at most once: recorded in ``slack_sent``.

Every part of a delivery (the card, the page DM, a thread reply, a pin, an invite…) is a
step. A step that succeeds is recorded, so a retry after Slack failed half-way skips what
Slack already has; on a later attempt the step first looks in Slack for what an earlier
attempt posted without living to record it (the ``find`` of ``StepLog.run``). The metadata
every posted message carries (``tag``) is what that look recognises. Kept apart from the
steps themselves so each of them reads as what it sends.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from bot.chat.slack.tables import SlackCard, SlackSent
from bot.core.clock import Clock
from bot.core.retry_outcome import Outcome
from bot.outbox.retry import classify_slack_error
from bot.outbox.worker import OutboxItem
from bot.store.db import Database

log = logging.getLogger(__name__)

OUTBOX_EVENT = "vigil_outbox"
"""The ``event_type`` of the metadata on every message the deliverer posts."""

ALREADY = "outbox %d: %s was already in Slack (an earlier attempt went unrecorded); not sent again"

Step = Callable[[], Awaitable[str]]
Find = Callable[[], Awaitable[str | None]]


def tag(item: OutboxItem, step: str, **extra: object) -> dict[str, Any]:
    """The metadata that marks a message as this outbox row's ``step``."""
    return {
        "event_type": OUTBOX_EVENT,
        "event_payload": {"outbox_id": item.id, "step": step, **extra},
    }


def tagged(message: Mapping[str, Any], item: OutboxItem, step: str) -> bool:
    """Whether ``message`` is the one this outbox row's ``step`` posted."""
    metadata = message.get("metadata") or {}
    payload = metadata.get("event_payload") or {}
    return (
        metadata.get("event_type") == OUTBOX_EVENT
        and payload.get("outbox_id") == item.id
        and payload.get("step") == step
    )


def api_outcome(exc: SlackApiError, attempts: int) -> Outcome:
    """What a Slack API refusal means for the outbox item: retry (when) or give up."""
    response = exc.response
    return classify_slack_error(
        status=response.status_code,
        error=str(response.get("error") or "") or None,
        retry_after=response.headers.get("Retry-After") or response.headers.get("retry-after"),
        attempts=attempts,
    )


class StepLog:
    """The ``slack_sent`` record of which steps of which outbox item went out."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    async def done(self, item: OutboxItem, step: str) -> str | None:
        """What ``step`` of this item recorded when it went out, or None if it has not."""
        async with self._db.read() as s, s.begin():
            return (
                await s.exec(
                    select(SlackSent.detail).where(
                        col(SlackSent.outbox_id) == item.id, col(SlackSent.step) == step
                    )
                )
            ).first()

    async def run(
        self,
        item: OutboxItem,
        step: str,
        action: Step,
        *,
        find: Find | None = None,
        save_as: str | None = None,
    ) -> str:
        """Run ``action`` unless this item's ``step`` already went out; its result either way.

        On a later attempt ``find`` first looks in Slack for what an earlier attempt may have
        posted without living to record it; found, that is recorded and nothing is sent.
        ``save_as`` names a ``slack_cards`` column that takes the result in the same
        transaction that records the step (the incident channel, its card copy).
        """
        # A first attempt has recorded nothing yet: no read (a storm's deliveries are many).
        done = await self.done(item, step) if item.attempts > 1 else None
        if done is not None:
            return done
        found = await find() if find is not None and item.attempts > 1 else None
        if found is not None:
            log.info(ALREADY, item.id, step)
        detail = found if found is not None else await action()
        try:
            async with self._db.session() as s, s.begin():
                s.add(SlackSent(outbox_id=item.id, step=step, detail=detail, sent_at=self._clock()))
                if save_as is not None:
                    card = await s.get(SlackCard, item.incident_id)
                    assert card is not None  # the card is posted before any step that saves
                    setattr(card, save_as, detail)
        except IntegrityError:
            log.warning("outbox item %d step %s was sent twice", item.id, step)
        return detail
