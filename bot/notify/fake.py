"""A channel that answers from a script and remembers what it was sent: the fake beside
the :class:`~bot.notify.base.Channel` contract, for tests of whatever drives channels."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from bot.core.retry_outcome import Delivered, Outcome
from bot.notify.base import Notification


class ScriptedChannel:
    """Answers each ``send`` with the next scripted outcome, then ``Delivered`` forever."""

    def __init__(
        self,
        name: str,
        outcomes: Iterable[Outcome] = (),
        *,
        label: str | None = None,
        via: str | None = None,
    ) -> None:
        self.name = name
        self.label = label or name
        self.via = via or f"via {self.label}"
        self._script: deque[Outcome] = deque(outcomes)
        self.sent: list[Notification] = []

    async def send(self, notification: Notification) -> Outcome:
        self.sent.append(notification)
        if self._script:
            return self._script.popleft()
        return Delivered(f"{self.name} took it")
