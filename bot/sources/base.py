"""The contract every source keeps: samples out, or a clear "unavailable" with a reason.

A poll loop calls ``collect(now)`` on many sources side by side. One slow or broken source
must never stall or crash the others, so every source bounds its I/O with ``asyncio.timeout``
and turns its own failures into ``SourceUnavailable`` (retryable: the next poll may work).
``SourceStatus`` records up/unavailable and since when, so chat can say "Prometheus has been
unreachable since 10:02" once instead of once per poll.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Literal, Protocol, runtime_checkable

from bot.core.errors import VigilError

State = Literal["up", "unavailable"]


@dataclass(frozen=True, slots=True)
class Sample:
    """One measured value of one metric for one subject (service, model, GPU) at one time.

    ``labels`` is copied into a read-only mapping so a sample cannot change after a rule
    has looked at it.
    """

    metric: str
    value: float
    labels: Mapping[str, str]
    at: datetime
    #: Evidence for an alert this sample may fire (``{"detail": "top drift: income 0.61"}``):
    #: copied into the alert's annotations; ``detail`` is also appended to its summary.
    notes: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        object.__setattr__(self, "labels", MappingProxyType(dict(self.labels)))
        object.__setattr__(self, "notes", MappingProxyType(dict(self.notes)))


class SourceUnavailable(VigilError):
    """A source could not produce samples this time; ``reason`` says why, in words.

    Retryable: an unreachable Prometheus or a timed-out query may work on the next poll.
    """

    retryable = True

    def __init__(self, reason: str, *, source: str = "") -> None:
        super().__init__(f"{source}: {reason}" if source else reason)
        self.reason = reason
        self.source = source


@dataclass(frozen=True, slots=True)
class SourceStatus:
    """Whether a source is up, and since when; ``reason`` is set while it is unavailable."""

    state: State
    since: datetime
    reason: str = field(default="")

    @classmethod
    def up(cls, since: datetime) -> SourceStatus:
        return cls("up", since)

    @classmethod
    def unavailable(cls, reason: str, since: datetime) -> SourceStatus:
        return cls("unavailable", since, reason)

    @property
    def is_up(self) -> bool:
        return self.state == "up"

    def observe(self, now: datetime, error: SourceUnavailable | None) -> SourceStatus:
        """The status after one poll: ``since`` moves only when the state changes.

        The reason is refreshed while unavailable (the cause can change, e.g. refused →
        timed out) without resetting ``since``, so "down for 20 minutes" stays true.
        """
        if error is None:
            return self if self.is_up else SourceStatus.up(now)
        since = self.since if not self.is_up else now
        return SourceStatus.unavailable(error.reason, since)


@runtime_checkable
class Source(Protocol):
    """Anything that yields samples on demand; ``name`` identifies it in status and logs."""

    @property
    def name(self) -> str: ...

    async def collect(self, now: datetime) -> list[Sample]:
        """Samples as of ``now``, or ``SourceUnavailable`` with the reason."""
        ...


async def poll(
    source: Source, now: datetime, status: SourceStatus | None = None
) -> tuple[list[Sample], SourceStatus]:
    """Collect once and fold the outcome into ``status``: never raises ``SourceUnavailable``.

    The poll loop uses this so an unavailable source yields no samples and an updated
    status rather than an exception; programming errors still propagate.
    """
    current = status if status is not None else SourceStatus.up(now)
    try:
        samples = await source.collect(now)
    except SourceUnavailable as exc:
        return [], current.observe(now, exc)
    return samples, current.observe(now, None)
