"""Samples pushed to Vigil over HTTP (``POST /api/v1/samples``), for metrics no scraper has.

``parse_samples`` is pure: it turns the decoded JSON body into ``Sample``s or raises
``ValidationError`` naming the offending field (``samples[2].value``), using the same
helpers as the alert parsers so every inbound format fails the same way. ``PushedSource``
keeps only the latest value of each series, bounded in how many series it will hold, and
hands them to the rule runner like any other source: in the database when it is given a
``PushedStore`` (``vigil serve``: every replica takes pushes, a restart forgets none), in
memory otherwise (the demo's rule tests, benches).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy.exc import SQLAlchemyError

from bot.core.errors import ValidationError
from bot.ingest.validate import (
    bounded_list,
    child,
    fail,
    item,
    json_type,
    labels_map,
    optional_time,
    require_object,
    require_string,
)
from bot.sources.base import Sample, SourceUnavailable
from bot.sources.pushed_store import PushedStore

MAX_SAMPLES = 5000
"""Most samples accepted in one post."""

MAX_SERIES = 10_000
"""Default bound on the distinct series ``PushedSource`` keeps."""

_METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_MAX_METRIC_LEN = 200
_FIELDS = frozenset({"metric", "value", "labels", "timestamp"})

SeriesKey = tuple[str, tuple[tuple[str, str], ...]]


def parse_samples(payload: object, *, now: datetime) -> list[Sample]:
    """Validate a push body; a sample without ``timestamp`` is taken as measured at ``now``."""
    body = require_object(payload, "")
    raw = bounded_list(body.get("samples"), "samples", most=MAX_SAMPLES, noun="sample")
    return [_sample(entry, item("samples", i), now) for i, entry in enumerate(raw)]


def _sample(entry: object, path: str, now: datetime) -> Sample:
    obj = require_object(entry, path)
    extra = sorted(set(obj) - _FIELDS)
    if extra:
        raise fail(
            child(path, extra[0]), "is not a sample field (metric, value, labels, timestamp)"
        )
    metric_path = child(path, "metric")
    metric = require_string(obj.get("metric"), metric_path)
    if len(metric) > _MAX_METRIC_LEN:
        raise fail(metric_path, f"must be at most {_MAX_METRIC_LEN} characters")
    if not _METRIC_NAME.fullmatch(metric):
        raise fail(metric_path, "metric name must match [a-zA-Z_:][a-zA-Z0-9_:]*")
    value_path = child(path, "value")
    value = obj.get("value")
    if value is None:
        raise fail(value_path, "is required")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise fail(value_path, f"must be a number, not {json_type(value)}")
    try:
        number = float(value)
    except OverflowError:  # an integer too large for a float
        number = math.inf
    if not math.isfinite(number):
        raise fail(value_path, "must be a finite number")
    labels = labels_map(obj.get("labels"), child(path, "labels"))
    at = optional_time(obj.get("timestamp"), child(path, "timestamp")) or now
    return Sample(metric, number, labels, at)


def series_key(sample: Sample) -> SeriesKey:
    return sample.metric, tuple(sorted(sample.labels.items()))


class PushedSource:
    """The latest pushed value per series; at most ``max_series`` distinct series."""

    def __init__(
        self,
        *,
        max_series: int = MAX_SERIES,
        name: str = "pushed",
        store: Callable[[int], PushedStore] | None = None,
    ) -> None:
        self._max_series = max_series
        self._name = name
        self._latest: dict[SeriesKey, Sample] = {}
        self._store = None if store is None else store(max_series)

    @property
    def name(self) -> str:
        return self._name

    async def push(self, samples: Sequence[Sample]) -> int:
        """Keep each series' newest sample; all or nothing when the series bound would break.

        Raises ``ValidationError`` (field ``samples``) without storing anything if the post
        would take the buffer past ``max_series``. Stored (committed) on return.
        """
        if self._store is not None:
            return await self._store.push(samples)
        new = {series_key(s) for s in samples} - self._latest.keys()
        if len(self._latest) + len(new) > self._max_series:
            raise ValidationError(
                "samples",
                f"would exceed the limit of {self._max_series} distinct series "
                f"(holding {len(self._latest)}, {len(new)} new)",
            )
        for sample in samples:
            key = series_key(sample)
            held = self._latest.get(key)
            if held is None or sample.at >= held.at:
                self._latest[key] = sample
        return len(samples)

    async def collect(self, now: datetime) -> list[Sample]:
        if self._store is not None:
            try:
                return await self._store.latest(now)
            except (SQLAlchemyError, OSError) as exc:  # this poll says why; the next retries
                raise SourceUnavailable(
                    f"could not read the pushed samples: {type(exc).__name__}", source=self._name
                ) from exc
        return [s for s in self._latest.values() if s.at <= now]
