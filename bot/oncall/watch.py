"""The durable-watcher skeleton the on-call rooms share: one timer kind, one timer per
subject, fired one at a time, a failed firing tried again a minute later.

The handoff notices (``schedules/watch.py``), the SLA reminders (``sla/watch.py``) and a
snooze's end (``snooze/service.py``) each keep one durable timer per subject (a schedule,
an incident) in :class:`bot.store.timers.Timers` and differ only in what a firing does. What they
share lives here, once:

- **Registered at build.** The kind's handler is registered when the watcher is built,
  so it must be built before ``Timers.start`` (a timer that fires with no handler is
  dropped).
- **One firing at a time per watcher**, in this process: a firing reads, decides and
  writes, and two of them interleaving could say a line twice. Across processes the timer
  row's claim keeps each firing to one.
- **A firing that fails runs again after** :data:`RETRY` (database down), with the same
  payload, so what it remembers (the handoff's ``since``, the snooze it belongs to) is not
  lost; the firing itself is written to be run again. If even that write fails, the timer
  is gone until the next start, whose ``resume`` plants it again. (``Timers`` retries a
  handler that raises too, but backs off to minutes; a watcher's own retry keeps it to one.)
- **A subject that is gone** (``NotFoundError``: the incident was deleted), or a firing
  that can never work (the watcher's ``drop`` errors, e.g. a severity without an SLA), drops
  the timer with one log line instead of retrying forever.
- **Resuming at start is best effort per subject**: one subject that cannot be planned is
  logged and the others still are (:func:`plant_each`); nothing here keeps Vigil from
  starting.

Log lines go to the watcher's own logger, so an operator filtering on
``bot.oncall.sla.watch`` still sees its failures.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from bot.core.clock import Clock
from bot.core.errors import NotFoundError
from bot.store.timers import Timers

RETRY = timedelta(minutes=1)
"""A firing that failed (database down) runs again this much later."""

Payload = dict[str, Any]
T = TypeVar("T")


class WatchTimer:
    """One kind of durable timer with the firing discipline of the module docstring.

    ``fire`` does the work of one firing; ``key`` gives the timer key a payload belongs to
    (for the retry) and ``what`` names the firing in the log ("SLA check of incident #12")."""

    def __init__(
        self,
        timers: Timers,
        kind: str,
        fire: Callable[[Payload], Awaitable[None]],
        *,
        key: Callable[[Payload], str],
        what: Callable[[Payload], str],
        clock: Clock,
        log: logging.Logger,
        drop: tuple[type[Exception], ...] = (),
        retry: timedelta = RETRY,
    ) -> None:
        self._timers = timers
        self.kind = kind
        self._fire = fire
        self._key = key
        self._what = what
        self._clock = clock
        self._log = log
        self._drop = drop
        self._retry = retry
        self._running = asyncio.Lock()
        timers.register(kind, self._on_timer)

    async def schedule(self, key: str, at: datetime, payload: Payload) -> None:
        """Set (or move) the timer ``key`` to fire at ``at`` with ``payload``."""
        await self._timers.schedule(self.kind, key, at, payload)

    async def cancel(self, key: str) -> bool:
        return await self._timers.cancel(key)

    async def pending_keys(self) -> set[str]:
        """The keys of this kind's timers still waiting to fire (any process's)."""
        return {p.key for p in await self._timers.pending() if p.kind == self.kind}

    async def _on_timer(self, payload: Payload) -> None:
        key, what = self._key(payload), self._what(payload)
        try:
            async with self._running:
                await self._fire(payload)
        except NotFoundError as exc:
            self._log.warning("%s dropped: %s", what, exc)
        except self._drop:
            self._log.exception("%s impossible; its timer is dropped", what)
        except Exception:
            self._log.exception("%s failed; trying again shortly", what)
            try:
                await self.schedule(key, self._clock() + self._retry, payload)
            except Exception:
                self._log.exception("%s: its timer is lost until the next start", what)


async def plant_each(
    subjects: Iterable[T],
    plant: Callable[[T], Awaitable[bool]],
    *,
    what: Callable[[T], str],
    log: logging.Logger,
) -> int:
    """Run ``plant`` for each subject (a resume at start); how many it planted (returned
    True). One that raises is logged ("``what`` not set") and the rest still run."""
    planted = 0
    for subject in subjects:
        try:
            planted += await plant(subject)
        except Exception:
            log.exception("%s not set", what(subject))
    return planted
