"""Group commit of the model monitor's posts: many posts, one write, each answered once stored.

A post of predictions or labels is acknowledged only once it is in the database, so a crash
(even ``kill -9``) loses nothing a sender was told was taken. Writing each post alone would
cost a transaction per post and, on busy minutes, contend for the same pane rows; so posts
that arrive while a write is in flight (or within ``every`` of the previous one) are merged
into the next: their sketches added per pane, their awaiting predictions and labels queued,
and all of it written by one :meth:`~bot.monitoring.pane_store.PaneStore.write`. Each post
then gets its own answer (the labels it joined) or, when the write failed, the error, so
the sender retries and nothing is half-stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.monitoring.pane_store import (
    AwaitingBatch,
    Joined,
    LabelPost,
    Pane,
    PaneKey,
    PaneStore,
    PostedLabel,
)

DEFAULT_EVERY = 0.25
"""Seconds between two writes at most: at most four upserts a second a replica, and a post
waits about that long for its answer under load (at once when the writer is idle)."""


@dataclass
class _Batch:
    deltas: dict[PaneKey, Pane] = field(default_factory=dict)
    awaiting: list[AwaitingBatch] = field(default_factory=list)
    labels: list[LabelPost] = field(default_factory=list)
    label_waiters: list[asyncio.Future[list[Joined]]] = field(default_factory=list)
    waiters: list[asyncio.Future[None]] = field(default_factory=list)

    def empty(self) -> bool:
        return not (self.waiters or self.label_waiters)


class PaneWriter:
    """Queues posts and writes them together; one write at a time, from the event loop."""

    def __init__(self, store: PaneStore, *, every: float = DEFAULT_EVERY) -> None:
        self._store = store
        self._every = every
        self._batch = _Batch()
        self._task: asyncio.Task[None] | None = None
        self._last = 0.0
        self.writes = 0
        """Writes committed so far (tests and the metrics read it)."""

    async def predictions(
        self, deltas: Mapping[PaneKey, Pane], awaiting: Sequence[AwaitingBatch]
    ) -> None:
        """Returns once ``deltas`` and ``awaiting`` are committed; raises what the write
        raised otherwise (nothing of the post is then stored)."""
        batch = self._batch
        for key, pane in deltas.items():
            held = batch.deltas.get(key)
            if held is None:
                batch.deltas[key] = Pane(pane.sketch.copy(), pane.latencies, pane.latency_rows)
            else:
                held.add(pane)
        batch.awaiting.extend(awaiting)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        batch.waiters.append(done)
        self._start()
        await done

    async def labels(
        self, model: str, rows: Sequence[PostedLabel], *, arrived: int
    ) -> list[Joined]:
        """Join ``rows`` to stored predictions (``arrived``: the post's time, microseconds
        since the epoch, for the labels' delay); returns the ones that joined, once
        committed."""
        done: asyncio.Future[list[Joined]] = asyncio.get_running_loop().create_future()
        self._batch.labels.append(LabelPost(model, rows, arrived))
        self._batch.label_waiters.append(done)
        self._start()
        return await done

    def _start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        while not self._batch.empty():
            wait = self._last + self._every - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)  # let more posts join this write
            batch, self._batch = self._batch, _Batch()
            self._last = time.monotonic()
            try:
                joined = await self._store.write(batch.deltas, batch.awaiting, batch.labels)
            except BaseException as exc:  # every waiter learns it; the loop carries on
                waiters: list[asyncio.Future[Any]] = [*batch.waiters, *batch.label_waiters]
                for waiter in waiters:
                    if not waiter.done():
                        waiter.set_exception(exc)
                if isinstance(exc, asyncio.CancelledError | KeyboardInterrupt | SystemExit):
                    raise
                continue
            self.writes += 1
            for waiter in batch.waiters:
                if not waiter.done():
                    waiter.set_result(None)
            for waiter, found in zip(batch.label_waiters, joined, strict=True):
                if not waiter.done():
                    waiter.set_result(found)

    async def close(self) -> None:
        """Wait for what is queued to be written (posts still awaiting an answer)."""
        task = self._task
        if task is not None and not task.done():
            with contextlib.suppress(Exception):
                await task
