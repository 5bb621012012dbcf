"""Wake this process's workers when another process commits work for them (PostgreSQL).

A split ``vigil serve`` stores alerts in one process and pages from another: the page's
``reactions`` row is committed by the first, and the second must run it at once, not at
its next look (a second later). The tables that hold such work notify ``vigil_wake`` on
insert (migration 0010), with the table's name as the payload; :func:`listen` holds one
connection that LISTENs and calls the matching wake-up. After each (re)connection every
wake-up is called once, for what was committed while nobody listened; the workers' own
polls remain the floor if the connection is lost for longer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from typing import Any

from bot.store.db import Database

log = logging.getLogger(__name__)

CHANNEL = "vigil_wake"
RETRY = 1.0  # seconds before the first reconnection, doubling
RETRY_MAX = 30.0
CHECK = 2.0  # seconds between checks that the listening connection is still open


async def listen(
    db: Database,
    wakes: Mapping[str, Callable[[], None]],
    stop: asyncio.Event,
    *,
    listening: asyncio.Event | None = None,
) -> None:
    """Until ``stop``: call ``wakes[table]`` for each notification naming ``table``.
    ``listening`` is set each time the LISTEN is in place (tests wait on it)."""
    if db.is_sqlite:
        return
    wait = RETRY

    def heard(_conn: Any, _pid: int, _channel: str, payload: str) -> None:
        wake = wakes.get(payload)
        if wake is not None:
            wake()

    while not stop.is_set():
        try:
            async with db.engine.connect() as conn:
                raw = (await conn.get_raw_connection()).driver_connection
                assert raw is not None
                await raw.add_listener(CHANNEL, heard)
                try:
                    wait = RETRY
                    for wake in wakes.values():  # what was committed while nobody listened
                        wake()
                    if listening is not None:
                        listening.set()
                    while not stop.is_set() and not raw.is_closed():
                        with contextlib.suppress(asyncio.TimeoutError):
                            await asyncio.wait_for(stop.wait(), CHECK)
                finally:
                    if listening is not None:
                        listening.clear()
                    if not raw.is_closed():
                        with contextlib.suppress(Exception):
                            await raw.remove_listener(CHANNEL, heard)
                if not stop.is_set():
                    log.warning("wake-ups: the listening connection closed; reconnecting")
        except Exception as exc:  # the database is away: the workers' polls go on meanwhile
            log.warning(
                "wake-ups: cannot listen (%s); trying again in %.0f s", type(exc).__name__, wait
            )
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), wait)
            wait = min(wait * 2, RETRY_MAX)
