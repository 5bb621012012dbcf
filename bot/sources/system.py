"""Host CPU utilization via psutil, and the "sustained over a window" rule it needs.

The brief's threshold is "CPU > 80 % sustained": one busy poll is normal, a host pinned for
minutes is not. ``CpuSource`` only measures; ``Sustained`` is the pure judgement, kept here
beside its first user so the rule engine can reuse it for any "above X for Y" condition.

``psutil.cpu_percent(interval=None)`` reports usage since its previous call and returns a
meaningless 0.0 on the first one, so ``psutil_cpu_reader`` primes it once when created.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from datetime import datetime, timedelta

import psutil

from bot.sources.base import Sample, SourceUnavailable

CpuReader = Callable[[], float]
"""Returns CPU utilization in percent (0..100) since the previous call."""


def psutil_cpu_reader() -> CpuReader:
    """psutil's system-wide CPU percent, primed so the first real reading is meaningful."""
    psutil.cpu_percent(interval=None)
    return lambda: psutil.cpu_percent(interval=None)


class CpuSource:
    """One ``cpu_utilization`` sample (0..1) per poll, labelled with the host name."""

    def __init__(
        self,
        *,
        host: str | None = None,
        reader: CpuReader | None = None,
        timeout_s: float = 2.0,
        name: str = "system",
    ) -> None:
        self._host = host if host is not None else socket.gethostname()
        self._reader = reader if reader is not None else psutil_cpu_reader()
        self._timeout_s = timeout_s
        self._name = name

    @property
    def name(self) -> str:
        return self._name

    async def collect(self, now: datetime) -> list[Sample]:
        # psutil reads /proc synchronously; a thread keeps a stalled read off the event loop.
        try:
            async with asyncio.timeout(self._timeout_s):
                percent = await asyncio.to_thread(self._reader)
        except TimeoutError:
            raise SourceUnavailable(
                f"CPU reading timed out after {self._timeout_s:g}s", source=self._name
            ) from None
        except (OSError, psutil.Error) as exc:
            raise SourceUnavailable(f"cannot read CPU: {exc}", source=self._name) from exc
        value = min(max(percent / 100.0, 0.0), 1.0)
        return [Sample("cpu_utilization", value, {"host": self._host}, now)]


class Sustained:
    """Whether a value has stayed strictly above ``threshold`` for the whole ``window``.

    Feed observations in time order with ``observe``. The run starts at the first
    observation above the threshold and breaks at any observation at or below it, or when
    two observations are further apart than ``max_gap`` (no data is not "still high").
    This is Prometheus's ``for:`` semantics: true once ``at - start >= window``.
    """

    def __init__(
        self, threshold: float, window: timedelta, *, max_gap: timedelta | None = None
    ) -> None:
        if window < timedelta(0):
            raise ValueError("window must not be negative")
        self.threshold = threshold
        self.window = window
        self.max_gap = max_gap
        self._since: datetime | None = None
        self._last: datetime | None = None

    @property
    def since(self) -> datetime | None:
        """When the current above-threshold run started, or None when there is none."""
        return self._since

    def observe(self, at: datetime, value: float) -> bool:
        if self._last is not None and at < self._last:
            raise ValueError(f"observation at {at.isoformat()} is older than the last one")
        gap = self._last is not None and self.max_gap is not None and at - self._last > self.max_gap
        self._last = at
        if not value > self.threshold:  # NaN is never "above"
            self._since = None
            return False
        if self._since is None or gap:
            self._since = at
        return at - self._since >= self.window

    def reset(self) -> None:
        self._since = None
        self._last = None
