"""The pushed-samples parser: what it accepts, and the exact field it names when it refuses."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from bot.core.errors import ValidationError
from bot.sources.base import Sample
from bot.sources.pushed import MAX_SAMPLES, PushedSource, parse_samples

NOW = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)


def ok(**overrides: Any) -> dict[str, Any]:
    return {"metric": "error_rate", "value": 0.075, "labels": {"service": "payments"}} | overrides


def test_parses_samples_defaulting_the_time_to_now() -> None:
    samples = parse_samples(
        {"samples": [ok(), ok(value=3, timestamp="2026-11-24T01:59:30+01:00", labels=None)]},
        now=NOW,
    )
    assert samples[0] == Sample("error_rate", 0.075, {"service": "payments"}, NOW)
    assert samples[1].value == 3.0
    assert samples[1].labels == {}
    assert samples[1].at == datetime(2026, 11, 24, 0, 59, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("payload", "field", "words"),
    [
        ([], "payload", "must be an object"),
        ({}, "samples", "is required"),
        ({"samples": {}}, "samples", "must be an array"),
        ({"samples": []}, "samples", "at least one"),
        ({"samples": [ok()] * (MAX_SAMPLES + 1)}, "samples", f"at most {MAX_SAMPLES}"),
        ({"samples": [ok(), "x"]}, "samples[1]", "must be an object"),
        ({"samples": [ok(), ok(), ok(value=True)]}, "samples[2].value", "not boolean"),
        ({"samples": [ok(value="1")]}, "samples[0].value", "not string"),
        ({"samples": [ok(value=None)]}, "samples[0].value", "is required"),
        ({"samples": [ok(value=float("nan"))]}, "samples[0].value", "finite"),
        ({"samples": [ok(value=float("inf"))]}, "samples[0].value", "finite"),
        ({"samples": [ok(metric=None)]}, "samples[0].metric", "is required"),
        ({"samples": [ok(metric="error-rate")]}, "samples[0].metric", "metric name"),
        ({"samples": [ok(metric="1x")]}, "samples[0].metric", "metric name"),
        ({"samples": [ok(labels={"bad-name": "x"})]}, 'samples[0].labels["bad-name"]', "label"),
        ({"samples": [ok(labels={"service": 1})]}, "samples[0].labels.service", "string"),
        ({"samples": [ok(labels=[])]}, "samples[0].labels", "must be an object"),
        ({"samples": [ok(timestamp="yesterday")]}, "samples[0].timestamp", "RFC 3339"),
        ({"samples": [ok(timestamp="2026-11-24T02:00:00")]}, "samples[0].timestamp", "RFC"),
        ({"samples": [ok(unit="ratio")]}, "samples[0].unit", "not a sample field"),
    ],
)
def test_refuses_naming_the_field(payload: object, field: str, words: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_samples(payload, now=NOW)
    assert caught.value.field == field
    assert words in caught.value.detail


async def test_pushed_source_keeps_the_newest_value_per_series() -> None:
    source = PushedSource()
    early = NOW.replace(minute=0)
    late = NOW.replace(minute=5)
    pay = {"service": "payments"}
    await source.push([Sample("error_rate", 0.5, pay, late), Sample("error_rate", 0.1, pay, early)])
    await source.push([Sample("error_rate", 0.2, {"service": "search"}, early)])
    got = await source.collect(late)
    assert sorted((dict(s.labels)["service"], s.value) for s in got) == [
        ("payments", 0.5),
        ("search", 0.2),
    ]
    assert await source.collect(early) == [Sample("error_rate", 0.2, {"service": "search"}, early)]


async def test_pushed_source_refuses_new_series_past_its_bound_and_stores_nothing() -> None:
    source = PushedSource(max_series=2)
    await source.push([Sample("a", 1, {}, NOW), Sample("b", 1, {}, NOW)])
    with pytest.raises(ValidationError) as caught:
        await source.push([Sample("a", 2, {}, NOW), Sample("c", 1, {}, NOW)])
    assert caught.value.field == "samples"
    assert {(s.metric, s.value) for s in await source.collect(NOW)} == {("a", 1), ("b", 1)}
    await source.push([Sample("a", 3, {}, NOW)])  # known series still update
    assert {(s.metric, s.value) for s in await source.collect(NOW)} == {("a", 3), ("b", 1)}
