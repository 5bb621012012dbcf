"""HTTP checks of upstream dependencies: is it up, how fast, and does it say it is healthy.

A dependency being down is a measurement, not a source failure: the check yields
``dependency_up`` 0 (with the reason in ``CheckResult``) rather than raising, so "the
feature store is down" reaches the rules like any other sample. ``dependency_latency_ms``
is emitted whenever an answer arrived, measured with an injected monotonic clock so tests
are exact. A response slower than ``max_latency_ms`` counts as down ("degraded" in the
product brief: any upstream dependency degraded is an alert).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiohttp

from bot.sources.base import Sample

SessionFactory = Callable[[], aiohttp.ClientSession]
_MISSING = object()


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One check's outcome; ``reason`` says in words why it is down (empty when up)."""

    up: bool
    status: int | None
    latency_ms: float | None
    reason: str = ""


class HttpCheck:
    """GET ``url`` and judge it by status, latency and optionally one JSON field."""

    def __init__(
        self,
        name: str,
        url: str,
        *,
        expect_status: int = 200,
        max_latency_ms: float | None = None,
        json_field: str | None = None,
        expect_value: Any = None,
        timeout_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        session_factory: SessionFactory = aiohttp.ClientSession,
    ) -> None:
        """``json_field`` is a dotted path (``checks.db.status``, digits index lists); with
        ``expect_value`` None the field need only be present."""
        self._name = name
        self._url = url
        self._expect_status = expect_status
        self._max_latency_ms = max_latency_ms
        self._json_field = json_field
        self._expect_value = expect_value
        self._timeout_s = timeout_s
        self._clock = clock
        self._session_factory = session_factory
        self.last: CheckResult | None = None

    @property
    def name(self) -> str:
        return self._name

    async def collect(self, now: datetime) -> list[Sample]:
        result = await self.check()
        labels = {"dependency": self._name}
        samples = [Sample("dependency_up", 1.0 if result.up else 0.0, labels, now)]
        if result.latency_ms is not None:
            samples.append(Sample("dependency_latency_ms", result.latency_ms, labels, now))
        return samples

    async def check(self) -> CheckResult:
        """Run the check once; never raises for a dependency's failure."""
        self.last = result = await self._check()
        return result

    async def _check(self) -> CheckResult:
        started = self._clock()
        try:
            async with (
                asyncio.timeout(self._timeout_s),
                self._session_factory() as session,
                session.get(self._url, allow_redirects=False) as resp,
            ):
                body = await resp.read()
                status = resp.status
        except TimeoutError:
            return CheckResult(False, None, None, f"timed out after {self._timeout_s:g}s")
        except aiohttp.ClientError as exc:
            return CheckResult(False, None, None, f"cannot reach {self._url}: {exc}")
        latency_ms = (self._clock() - started) * 1000.0
        if status != self._expect_status:
            reason = f"HTTP {status}, expected {self._expect_status}"
            return CheckResult(False, status, latency_ms, reason)
        if self._max_latency_ms is not None and latency_ms > self._max_latency_ms:
            reason = f"slow: {latency_ms:.0f} ms > {self._max_latency_ms:g} ms"
            return CheckResult(False, status, latency_ms, reason)
        if self._json_field is not None:
            reason = self._judge_json(body)
            if reason:
                return CheckResult(False, status, latency_ms, reason)
        return CheckResult(True, status, latency_ms)

    def _judge_json(self, body: bytes) -> str:
        """Empty when the JSON field is as expected, else why not."""
        field = self._json_field
        try:
            document = json.loads(body)
        except ValueError:
            return f"body is not JSON (looking for {field!r})"
        value = dotted(document, field or "")
        if value is _MISSING:
            return f"JSON field {field!r} is missing"
        if self._expect_value is not None and value != self._expect_value:
            return f"JSON field {field!r} is {value!r}, expected {self._expect_value!r}"
        return ""


def dotted(document: Any, path: str) -> Any:
    """The value at a dotted path (``a.b.0.c``), or a sentinel when any step is missing."""
    current = document
    for part in path.split("."):
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return _MISSING
    return current
