"""The ``sources:`` section of vigil.yaml: defaults, and errors that name the key."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from bot.config.load import parse_sources
from bot.core.errors import ConfigError


def test_defaults_poll_the_host_every_15s_and_not_the_gpu() -> None:
    sources = parse_sources(None, "vigil.yaml")
    assert sources.interval == timedelta(seconds=15)
    assert (sources.system, sources.gpu, sources.prometheus, sources.http_checks) == (
        True,
        False,
        None,
        (),
    )


def test_a_full_section_is_read() -> None:
    sources = parse_sources(
        {
            "interval": "30s",
            "prometheus": {
                "url": "http://127.0.0.1:9090",
                "queries": {"error_rate": "sum(rate(x[5m]))"},
                "timeout": "5s",
            },
            "http_checks": [
                {"name": "features", "url": "http://127.0.0.1:8081/health", "max_latency_ms": 500}
            ],
            "system": False,
            "gpu": True,
        },
        "vigil.yaml",
    )
    assert sources.interval == timedelta(seconds=30)
    assert sources.prometheus is not None
    assert sources.prometheus.timeout_s == 5.0
    assert dict(sources.prometheus.queries) == {"error_rate": "sum(rate(x[5m]))"}
    assert [c.name for c in sources.http_checks] == ["features"]
    assert sources.http_checks[0].max_latency_ms == 500
    assert (sources.system, sources.gpu) == (False, True)


@pytest.mark.parametrize(
    ("section", "key"),
    [
        ([], "sources"),
        ({"intervall": "1m"}, "sources.intervall"),
        ({"interval": 15}, "sources.interval"),
        ({"interval": "0s"}, "sources.interval"),
        ({"system": "yes"}, "sources.system"),
        ({"gpu": 1}, "sources.gpu"),
        ({"prometheus": {"queries": {"a": "b"}}}, "sources.prometheus.url"),
        ({"prometheus": {"url": "ftp://x", "queries": {"a": "b"}}}, "sources.prometheus.url"),
        ({"prometheus": {"url": "http://x"}}, "sources.prometheus.queries"),
        (
            {"prometheus": {"url": "http://x", "queries": {"a-b": "up"}}},
            "sources.prometheus.queries.a-b",
        ),
        ({"http_checks": {}}, "sources.http_checks"),
        ({"http_checks": [{"url": "http://x"}]}, "sources.http_checks[0].name"),
        ({"http_checks": [{"name": "a"}]}, "sources.http_checks[0].url"),
        (
            {"http_checks": [{"name": "a", "url": "http://x"}, {"name": "a", "url": "http://y"}]},
            "sources.http_checks[1].name",
        ),
        ({"http_checks": [{"name": "pushed", "url": "http://x"}]}, "sources.http_checks[0].name"),
        (
            {"http_checks": [{"name": "a", "url": "http://x", "expect_status": 99}]},
            "sources.http_checks[0].expect_status",
        ),
        (
            {"http_checks": [{"name": "a", "url": "http://x", "expect_value": "ok"}]},
            "sources.http_checks[0].expect_value",
        ),
    ],
)
def test_errors_name_the_key(section: Any, key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_sources(section, "vigil.yaml")
    assert caught.value.key == key
    assert caught.value.where == "vigil.yaml"


def test_group_intervals_are_read_and_checked() -> None:
    parsed = parse_sources({"interval": "15s", "group_intervals": {"model-quality": "1m"}}, "v")
    assert dict(parsed.group_intervals) == {"model-quality": timedelta(minutes=1)}
    with pytest.raises(ConfigError) as caught:
        parse_sources({"group_intervals": {"model-quality": "soon"}}, "v")
    assert caught.value.key == "sources.group_intervals.model-quality"


@pytest.mark.parametrize(
    ("section", "says"),
    [
        (
            {"prometheus": {"url": "http://x", "queries": {"a": "b"}, "tmeout": "5s"}},
            "vigil.yaml: sources.prometheus.tmeout: unknown key (allowed: url, queries, timeout)",
        ),
        (
            {"prometheus": {"url": "http://x", "queries": {"error_rate": " "}}},
            "vigil.yaml: sources.prometheus.queries.error_rate: must be a PromQL expression",
        ),
        (
            {"http_checks": [{"name": "a", "url": "http://x"}, {"name": "a", "url": "http://y"}]},
            "vigil.yaml: sources.http_checks[1].name: 'a' is already the name of another source",
        ),
        (
            {"http_checks": [{"name": "a", "url": "http://x", "max_latency_ms": True}]},
            "vigil.yaml: sources.http_checks[0].max_latency_ms: must be a number, got True",
        ),
        ({"gpu": 1}, "vigil.yaml: sources.gpu: must be true or false, got 1"),
        ({"http_checks": None}, "vigil.yaml: sources.http_checks: must be a list of checks"),
    ],
)
def test_messages_read_as_they_always_have(section: Any, says: str) -> None:
    """The section is validated by pydantic; what a user reads is still Vigil's sentence."""
    with pytest.raises(ConfigError) as caught:
        parse_sources(section, "vigil.yaml")
    assert str(caught.value) == says
