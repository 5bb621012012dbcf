"""Group commit of the model monitor's posts: many posts, one write, each answered once stored.

A post of predictions or labels is acknowledged only once it is in the database, so a crash
(even ``kill -9``) loses nothing a sender was told was taken. Writing each post alone would
cost a transaction per post; so posts that arrive while a write is in flight are merged into
the next: their sketches added per pane, their awaiting predictions and labels queued, and
all of it written by one :meth:`~bot.monitoring.panes.store.PaneStore.write` as soon as the
previous write ends. Each post then gets its own answer (the labels it joined) or, when the
write failed, the error, so the sender retries and nothing is half-stored. When the database
refused a *value* (a constraint, a data exception: the same on every retry), the posts are
written again one by one, so only the post that brought it fails. A post may bring
a ``Work`` (shadow mode's pairing) to run in the same write, and a shadow post is nothing
but one (:meth:`PaneWriter.run`): each is answered with what its work answered.

A write appends one pane per (version, minute) it touched, and for ``OWN_FOR`` (a second)
after, while the pane holds fewer than ``pane_rows`` rows, this writer's later writes to the
same key update that pane in place (it alone writes it, so the new content is known
without a read): a replica adds at most one row a second a version however busy it is, a
sender that posts one batch at a time is answered as fast as the database commits, and a
row window of N rows still ends within N/10 rows (``pane_rows``) of where it should.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy.exc import DataError, IntegrityError

from bot.core.errors import refused_value
from bot.monitoring.panes.parts import (
    AwaitingBatch,
    Grown,
    Joined,
    LabelPost,
    Pane,
    PaneKey,
    PostedLabel,
    Work,
    Written,
)
from bot.monitoring.panes.store import PaneStore


def refused(exc: BaseException) -> bool:
    """Did the database refuse a value (a constraint, a data exception), which writing the
    same rows again cannot fix, rather than fail (a lost connection, a lock)?"""
    return isinstance(exc, IntegrityError | DataError) or refused_value(exc) is not None


DEFAULT_EVERY = 0.0
"""Seconds between the starts of two writes at least (0: the next starts when one ends)."""
OWN_FOR = 1.0
"""Seconds a pane this writer appended keeps taking its later writes in place."""


@dataclass(frozen=True)
class _Post:
    """One post's share of a write, and where its answer goes."""

    done: asyncio.Future[Any]
    deltas: Mapping[PaneKey, Pane] = field(default_factory=dict)
    awaiting: Sequence[AwaitingBatch] = ()
    labels: LabelPost | None = None
    work: Work | None = None
    at: int | None = None
    """Where ``work`` stands in the batch's ``work`` (what it answered, in ``worked``)."""

    def answer(self, written: Written, joined: Iterator[list[Joined]]) -> object:
        """What this post is answered once ``written``: the labels it joined (the next of
        the write's ``joined``, one per label post in order), else what its work answered."""
        if self.labels is not None:
            return next(joined)
        return None if self.at is None else written.worked[self.at]


def _fail(posts: Sequence[_Post], exc: BaseException) -> None:
    """Answer ``posts`` with the write's error (each sender retries), then raise it again
    if it stops the writer itself (cancelled, interrupted) rather than the write."""
    for post in posts:
        if not post.done.done():
            post.done.set_exception(exc)
    if isinstance(exc, asyncio.CancelledError | KeyboardInterrupt | SystemExit):
        raise exc


@dataclass
class _Batch:
    """The merged content of the next write, and each post as it came (its answer goes to
    it; it is written alone should the write of them all be refused)."""

    deltas: dict[PaneKey, Pane] = field(default_factory=dict)
    awaiting: list[AwaitingBatch] = field(default_factory=list)
    labels: list[LabelPost] = field(default_factory=list)
    work: list[Work] = field(default_factory=list)
    posts: list[_Post] = field(default_factory=list)

    def empty(self) -> bool:
        return not self.posts


class PaneWriter:
    """Queues posts and writes them together; one write at a time, from the event loop."""

    def __init__(
        self, store: PaneStore, *, every: float = DEFAULT_EVERY, pane_rows: int | None = None
    ) -> None:
        self._store = store
        self._every = every
        self._pane_rows = pane_rows
        self._batch = _Batch()
        self._task: asyncio.Task[None] | None = None
        self._last = 0.0
        self._own: dict[PaneKey, tuple[int, Pane, float]] = {}
        """Key → (pane id, its whole content, when appended): the panes taking writes."""
        self.writes = 0
        """Writes committed so far (tests and the metrics read it)."""

    async def predictions(
        self,
        deltas: Mapping[PaneKey, Pane],
        awaiting: Sequence[AwaitingBatch],
        work: Work | None = None,
    ) -> object:
        """Returns once ``deltas``, ``awaiting`` and what ``work`` wrote are committed, with
        what ``work`` answered (None without it); raises what the write raised otherwise
        (nothing of the post is then stored)."""
        batch = self._batch
        for key, pane in deltas.items():
            held = batch.deltas.get(key)
            if held is None:
                batch.deltas[key] = Pane(pane.sketch.copy(), pane.latencies, pane.latency_rows)
            else:
                held.add(pane)
        batch.awaiting.extend(awaiting)
        done: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        batch.posts.append(_Post(done, deltas, awaiting, None, work, self._work(work)))
        self._start()
        return await done

    async def run(self, work: Work) -> object:
        """Run ``work`` in the next write (a post that stores no pane: a shadow post);
        returns what it answered, once committed."""
        return await self.predictions({}, [], work)

    async def labels(
        self, model: str, rows: Sequence[PostedLabel], *, arrived: int, work: Work | None = None
    ) -> list[Joined]:
        """Join ``rows`` to stored predictions (``arrived``: the post's time, microseconds
        since the epoch, for the labels' delay), and run ``work`` in the same write; returns
        the ones that joined, once committed."""
        done: asyncio.Future[list[Joined]] = asyncio.get_running_loop().create_future()
        post = LabelPost(model, rows, arrived)
        self._batch.labels.append(post)
        self._batch.posts.append(_Post(done, labels=post, work=work, at=self._work(work)))
        self._start()
        return await done

    def _work(self, work: Work | None) -> int | None:
        if work is None:
            return None
        self._batch.work.append(work)
        return len(self._batch.work) - 1

    def _start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        while not self._batch.empty():
            wait = self._last + self._every - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)  # let more posts join this write
            batch, self._batch = self._batch, _Batch()
            self._last = now = time.monotonic()
            grow = self._grown(batch.deltas, now)
            try:
                written = await self._store.write(
                    batch.deltas, batch.awaiting, batch.labels, grow=grow, work=batch.work
                )
            except BaseException as exc:  # every waiter learns it; the loop carries on
                if len(batch.posts) > 1 and refused(exc):
                    await self._alone(batch)  # one post's value: the others are not its fault
                    continue
                _fail(batch.posts, exc)
                continue
            self.writes += 1
            for key, grown in grow.items():
                self._own[key] = (grown.pane_id, grown.whole, self._own[key][2])
            for key, pane_id in written.appended.items():
                if key in batch.deltas and key not in grow:
                    self._own[key] = (pane_id, batch.deltas[key], now)
                else:
                    self._own.pop(key, None)  # labels went in: its content is not all ours
            joined = iter(written.joined)
            for post in batch.posts:
                found = post.answer(written, joined)
                if not post.done.done():
                    post.done.set_result(found)

    async def _alone(self, batch: _Batch) -> None:
        """Write each post of a refused write by itself: the one whose value the database
        refuses gets that error, the others are stored and answered as usual (a poisoned
        post would otherwise fail every post that shared its write, and their retries)."""
        for key in batch.deltas:
            self._own.pop(key, None)  # the appends below are not this writer's to grow
        for post in batch.posts:
            labels = [post.labels] if post.labels is not None else []
            work = [post.work] if post.work is not None else []
            try:
                written = await self._store.write(post.deltas, post.awaiting, labels, work=work)
            except BaseException as exc:
                _fail([post], exc)
                continue
            self.writes += 1
            found = replace(post, at=0 if work else None).answer(written, iter(written.joined))
            if not post.done.done():
                post.done.set_result(found)

    def _grown(self, deltas: dict[PaneKey, Pane], now: float) -> dict[PaneKey, Grown]:
        """The panes of ``deltas`` this writer appended less than ``OWN_FOR`` ago, with
        their content after this write; the older ones are let go."""
        for key in [k for k, (_, _, at) in self._own.items() if now - at >= OWN_FOR]:
            del self._own[key]
        out: dict[PaneKey, Grown] = {}
        for key, delta in deltas.items():
            held = self._own.get(key)
            if held is None:
                continue
            if self._pane_rows is not None and held[1].sketch.rows >= self._pane_rows:
                del self._own[key]  # as large as a window's granularity: the next is new
                continue
            whole = Pane(held[1].sketch.copy(), held[1].latencies, held[1].latency_rows)
            whole.add(delta)
            out[key] = Grown(held[0], whole)
        return out

    async def close(self) -> None:
        """Wait for what is queued to be written (posts still awaiting an answer)."""
        task = self._task
        if task is not None and not task.done():
            with contextlib.suppress(Exception):
                await task
