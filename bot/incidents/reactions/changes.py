"""What a committed incident change tells: the :class:`Change`, and the :class:`Notifier`
that hands it to listeners (best effort) and to followers (durable ``reactions`` rows).

Apart from the incident service because every room hears changes (chat, paging, SLA,
snooze, evidence, post-mortems) and none of them needs the service's operations to do so;
beside the ``reactions`` table because staging a follower's row is how a change is made
impossible to lose.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.incidents.reactions.tables import Reaction
from bot.incidents.views import IncidentView

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Change:
    """Told to listeners after a committed change: what happened, to which incident, by whom."""

    kind: str  # opened | severity | state | commander | note | alert | cleared | refiring
    incident: IncidentView
    actor: str
    text: str


Listener = Callable[[Change], Awaitable[None]]
Wants = Callable[[Change], bool]


class Runner(Protocol):
    """What runs the staged follow-ups after the commit (``bot.incidents.reactions.reactor``)."""

    async def run(self, rows: Sequence[Reaction], changes: Mapping[int, Change]) -> None: ...


@dataclass(frozen=True)
class Follower:
    """A listener whose work must not be lost: paging, SLA timers, the post-mortem draft."""

    name: str
    listener: Listener
    wants: Wants


class Notifier:
    """Tells listeners about committed changes, in two ways.

    - :meth:`subscribe`: after the commit, best effort (what the console prints, counters);
      one failing listener does not stop the rest.
    - :meth:`follow`: durable. :meth:`stage` writes a ``reactions`` row for each follower
      that wants the change inside the change's own transaction, and the runner (the
      :class:`bot.incidents.reactions.reactor.Reactor`) runs it after the commit and again until it
      succeeds, across restarts. Paging is a follower: a P1 cannot go unpaged because a
      listener failed or the process died after the commit.
    """

    def __init__(self) -> None:
        self._listeners: list[Listener] = []
        self._followers: dict[str, Follower] = {}
        self.runner: Runner | None = None

    def subscribe(self, listener: Listener, *, first: bool = False) -> None:
        """Add a listener; ``first`` puts it before those already there (chat before paging)."""
        if first:
            self._listeners.insert(0, listener)
        else:
            self._listeners.append(listener)

    def follow(self, name: str, listener: Listener, *, wants: Wants) -> None:
        """Add a durable listener for the changes ``wants`` says yes to (judged on the
        change as committed); it runs in the order followers were added."""
        if name in self._followers:
            raise ValueError(f"a follower named {name!r} is already registered")
        self._followers[name] = Follower(name, listener, wants)

    def follower(self, name: str) -> Follower | None:
        return self._followers.get(name)

    def stage(self, session: AsyncSession, changes: Sequence[Change], at: datetime) -> Staged:
        """Inside the change's transaction: one ``reactions`` row per (change, follower that
        wants it), committed with the change. Pass the result to :meth:`publish`."""
        staged = Staged()
        for change in changes:
            for follower in self._followers.values():
                if follower.wants(change):
                    row = Reaction(
                        incident_id=change.incident.id,
                        follower=follower.name,
                        data={"kind": change.kind, "actor": change.actor, "text": change.text},
                        created_at=at,
                        due_at=at,
                    )
                    session.add(row)
                    staged.rows.append((row, change))
        return staged

    async def publish(self, changes: Sequence[Change], staged: Staged | None = None) -> None:
        """After the commit: the best-effort listeners, then the staged follow-ups."""
        for change in changes:
            for listener in self._listeners:
                try:
                    await listener(change)
                except Exception:
                    log.exception(
                        "listener failed for %s on incident #%s", change.kind, change.incident.id
                    )
        if staged is not None and staged.rows and self.runner is not None:
            rows = [row for row, _ in staged.rows]
            await self.runner.run(rows, {id(row): change for row, change in staged.rows})


@dataclass
class Staged:
    """The follow-up rows one transaction wrote, with the change each one is for."""

    rows: list[tuple[Reaction, Change]] = field(default_factory=list)
