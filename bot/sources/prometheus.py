"""Instant PromQL queries over Prometheus's HTTP API, mapped to Vigil samples.

Each configured metric name maps to one PromQL expression, evaluated with
``GET /api/v1/query``. Queries run side by side, each bounded by ``timeout_s``; a failed
query is reported with its metric name and the PromQL text, because "Prometheus said
bad_data" is useless without the query that caused it. If any query fails the whole
collect is unavailable (listing every failure) rather than silently returning a partial
picture that a rule could misread as "all clear".

Values: Prometheus sends numbers as strings; ``+Inf``/``-Inf`` are kept as infinities, and
``NaN`` samples are dropped, since NaN compares false with every threshold and would look
healthy; a missing sample is what the rule engine already treats as "no data".
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import aiohttp

from bot.sources.base import Sample, SourceUnavailable

SessionFactory = Callable[[], aiohttp.ClientSession]
_MAX_BODY_IN_ERROR = 200


class PrometheusSource:
    """Evaluates ``queries`` (metric name → PromQL) against one Prometheus server."""

    def __init__(
        self,
        base_url: str,
        queries: Mapping[str, str],
        *,
        timeout_s: float = 10.0,
        session_factory: SessionFactory = aiohttp.ClientSession,
        send_time: bool = False,
        name: str = "prometheus",
    ) -> None:
        """``send_time`` pins evaluation to the ``now`` given to ``collect`` (else server time)."""
        self._url = base_url.rstrip("/") + "/api/v1/query"
        self._queries = dict(queries)
        self._timeout_s = timeout_s
        self._session_factory = session_factory
        self._send_time = send_time
        self._name = name

    @property
    def name(self) -> str:
        return self._name

    async def collect(self, now: datetime) -> list[Sample]:
        async with self._session_factory() as session:
            results = await asyncio.gather(
                *(self._query(session, m, q, now) for m, q in self._queries.items()),
                return_exceptions=True,
            )
        samples: list[Sample] = []
        failures: list[str] = []
        for result in results:
            if isinstance(result, SourceUnavailable):
                failures.append(result.reason)
            elif isinstance(result, BaseException):
                raise result
            else:
                samples.extend(result)
        if failures:
            raise SourceUnavailable("; ".join(failures), source=self._name)
        return samples

    async def _query(
        self, session: aiohttp.ClientSession, metric: str, query: str, now: datetime
    ) -> list[Sample]:
        params = {"query": query}
        if self._send_time:
            params["time"] = f"{now.timestamp():.3f}"
        what = f"metric {metric!r} query {query!r}"
        try:
            async with asyncio.timeout(self._timeout_s):
                async with session.get(self._url, params=params) as resp:
                    text = await resp.text()
                    status = resp.status
        except TimeoutError:
            raise SourceUnavailable(f"{what} timed out after {self._timeout_s:g}s") from None
        except aiohttp.ClientError as exc:
            raise SourceUnavailable(f"{what}: cannot reach {self._url}: {exc}") from exc
        body = _decode(text)
        if body is None:
            snippet = text[:_MAX_BODY_IN_ERROR]
            raise SourceUnavailable(f"{what}: HTTP {status}, not JSON: {snippet!r}")
        if status != 200 or body.get("status") != "success":
            kind = body.get("errorType", f"HTTP {status}")
            raise SourceUnavailable(f"{what} failed: {kind}: {body.get('error', '')}")
        try:
            return _samples(metric, body["data"])
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise SourceUnavailable(f"{what}: unexpected response shape: {exc!r}") from exc


def _decode(text: str) -> dict[str, Any] | None:
    try:
        body = json.loads(text)
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _point(metric: str, labels: Mapping[str, str], pair: list[Any]) -> Sample | None:
    """A ``[unix_seconds, "value"]`` pair → a sample at Prometheus's evaluation time."""
    ts, raw = pair
    value = float(raw)
    if math.isnan(value):
        return None
    return Sample(metric, value, labels, datetime.fromtimestamp(float(ts), UTC))


def _samples(metric: str, data: Mapping[str, Any]) -> list[Sample]:
    kind = data["resultType"]
    result = data["result"]
    points: list[Sample | None]
    if kind == "vector":
        points = [
            _point(
                metric,
                {k: str(v) for k, v in item["metric"].items() if k != "__name__"},
                item["value"],
            )
            for item in result
        ]
    elif kind == "scalar":
        points = [_point(metric, {}, result)]
    else:
        raise ValueError(f"resultType {kind!r} is not supported (use an instant vector or scalar)")
    return [p for p in points if p is not None]
