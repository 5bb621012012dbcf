"""Acknowledging or resolving in Vigil does the same to the PagerDuty incident our page opened.

Otherwise PagerDuty keeps calling people about something already handled here. A Notifier
listener beside the Pager: not sent back to PagerDuty when PagerDuty itself told us (the
webhook's actor ends in "(PagerDuty)"), and only for incidents that were paged (no PagerDuty
incident exists otherwise). It goes through the ``NotifyRetrier`` limited to the PagerDuty
channel, so a 429 or an outage is retried by a durable timer rather than leaving PagerDuty
ringing, and a failure that cannot be retried is said on the timeline with what to do.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.incidents.reactions.changes import Change
from bot.notify.base import Kind
from bot.notify.retry import NotifyRetrier

KINDS: dict[str, Kind] = {
    "acknowledged": "acknowledge",
    "contained": "acknowledge",
    "resolved": "resolve",
}


class PagerDutyMirror:
    def __init__(self, retrier: NotifyRetrier, steps_sent: Callable[[int], Awaitable[int]]):
        self._retrier = retrier
        self._steps_sent = steps_sent

    async def on_change(self, change: Change) -> None:
        """Listener: a state change to acknowledged, contained or resolved."""
        view, actor = change.incident, change.actor
        kind = KINDS.get(view.state)
        pagerduty = [c for c in self._retrier.channels if c.name == "pagerduty"]
        if change.kind != "state" or kind is None or not pagerduty:
            return
        if actor.endswith("(PagerDuty)") or await self._steps_sent(view.id) == 0:
            return
        text = f"{view.state.capitalize()} in Vigil by {actor}"
        notification = self._retrier.notification(view, actor, text, kind)
        await self._retrier.send(notification, channels=pagerduty)
