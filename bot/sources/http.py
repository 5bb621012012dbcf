"""HTTP checks of upstream dependencies: is it up, how fast, and does it say it is healthy.

A dependency being down is a measurement, not a source failure: the check yields
``dependency_up`` 0 (with the reason in ``CheckResult``) rather than raising, so "the
feature store is down" reaches the rules like any other sample. ``dependency_latency_ms``
is emitted whenever an answer arrived, measured with an injected monotonic clock so tests
are exact. A response slower than ``max_latency_ms`` counts as down ("degraded" in the
product brief: any upstream dependency degraded is an alert).

Each check's samples carry ``dependency`` and ``service`` (both the check's name), so two
dependencies down are two incidents (incidents group by service), and, while down, the
reason, the URL without credentials and what to do (``notes["detail"]``), which the rule's
alert quotes: "feature-store is down — connection refused (http://…/health); …". The
check also keeps the dependency's own state (``state``) for ``/healthz``: that the check
ran says the checker works, not that the dependency does.
"""

from __future__ import annotations

import asyncio
import errno
import json
import socket
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import aiohttp

from bot.sources.base import Sample, Source
from bot.sources.dependency import NOT_CHECKED, DependencyState, down_detail, observe, safe_url

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
        interval: timedelta | None = None,
        clock: Callable[[], float] = time.monotonic,
        session_factory: SessionFactory = aiohttp.ClientSession,
    ) -> None:
        """``json_field`` is a dotted path (``checks.db.status``, digits index lists); with
        ``expect_value`` None the field need only be present; ``interval`` (the poll's) is
        only quoted in the alert ("Vigil checks again every 15 s")."""
        self._name = name
        self._url = url
        self.shown_url = safe_url(url)
        self._interval = interval
        self._expect_status = expect_status
        self._max_latency_ms = max_latency_ms
        self._json_field = json_field
        self._expect_value = expect_value
        self._timeout_s = timeout_s
        self._clock = clock
        self._session_factory = session_factory
        self.last: CheckResult | None = None
        #: The dependency's own state after the last check; None before the first.
        self.state: DependencyState | None = None

    @property
    def name(self) -> str:
        return self._name

    async def collect(self, now: datetime) -> list[Sample]:
        result = await self.check()
        self.state = observe(self.state, result.up, result.reason, now, self.shown_url)
        labels = {"dependency": self._name, "service": self._name}
        notes = {}
        if not result.up:
            notes["detail"] = down_detail(self._name, result.reason, self.shown_url, self._interval)
        samples = [Sample("dependency_up", 1.0 if result.up else 0.0, labels, now, notes)]
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
        except (aiohttp.ClientError, ValueError) as exc:
            return CheckResult(False, None, None, unreachable(exc))
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


_ERRNO_WORDS = {
    errno.ECONNREFUSED: "connection refused",
    errno.ECONNRESET: "connection reset",
    errno.EHOSTUNREACH: "host unreachable",
    errno.ENETUNREACH: "network unreachable",
}


def unreachable(exc: BaseException) -> str:
    """Why no answer came, in a few words and never with the URL: aiohttp's own messages
    quote the host, sometimes the whole URL (with its password or token)."""
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return "TLS certificate rejected"
    if isinstance(exc, aiohttp.ClientConnectorSSLError):
        return "TLS handshake failed"
    if isinstance(exc, aiohttp.ClientConnectorDNSError) or (
        isinstance(exc, aiohttp.ClientConnectorError) and isinstance(exc.os_error, socket.gaierror)
    ):
        return "host name not found"
    if isinstance(exc, aiohttp.ClientConnectorError):
        os_error = exc.os_error
        text = str(os_error)  # "Multiple exceptions: [Errno 111] …" for a name with 2 addresses
        for code, words in _ERRNO_WORDS.items():
            if os_error.errno == code or f"[Errno {code}]" in text:
                return words
        return f"cannot connect ({(os_error.strerror or type(os_error).__name__).lower()})"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "the server closed the connection without answering"
    if isinstance(exc, aiohttp.InvalidURL | ValueError):
        return "the configured URL is not valid"
    return f"no valid HTTP answer ({type(exc).__name__})"


def dependency_states(sources: Iterable[Source]) -> dict[str, Mapping[str, str]]:
    """Each HTTP dependency's own state as ``/healthz`` shows it, by name."""
    return {
        s.name: s.state.to_json() if s.state is not None else NOT_CHECKED
        for s in sources
        if isinstance(s, HttpCheck)
    }


def dotted(document: Any, path: str) -> Any:
    """The value at a dotted path (``a.b.0.c``), or a sentinel when any step is missing."""
    current = document
    for part in path.split("."):
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list) and 0 <= _index(part) < len(current):
            current = current[_index(part)]
        else:
            return _MISSING
    return current


def _index(part: str) -> int:
    """A path step as a list index; -1 (no element) unless it is ASCII digits: "²" passes
    ``str.isdigit`` and ``int`` refuses it."""
    return int(part) if part.isascii() and part.isdigit() and len(part) <= 18 else -1
