"""Heartbeats, the pure half: the ``heartbeats:`` settings, a beat's body, the metrics, the
problems in words. No database, no clock: ``now`` is passed in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.config.load import load_settings, parse_sources
from bot.core.durations import parse_duration
from bot.core.errors import ConfigError, ValidationError
from bot.heartbeats.check import (
    LABEL_DELAY,
    OVERDUE,
    ROWS,
    SCHEMA_CHANGED,
    Beat,
    HeartbeatState,
    expected_hash,
    overdue_seconds,
    parse_beat,
    problems,
    readings,
)
from bot.heartbeats.spec import HeartbeatSpec, default_grace, parse_heartbeats
from bot.rules.effective import effective, threshold_for
from bot.rules.loader import default_rules_file, load_rules

T0 = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def spec(**overrides: Any) -> HeartbeatSpec:
    raw: dict[str, Any] = {"every": "1h", "grace": "10m", "labels": {"model": "fraud"}}
    raw.update(overrides)
    return parse_heartbeats({"fraud-scoring": raw}, "vigil.yaml")["fraud-scoring"]


# --- settings ---------------------------------------------------------------------------------


def test_a_full_entry_is_read() -> None:
    s = spec(max_label_delay="6h", schema_hash=" 9f2c ")
    assert (s.name, s.every, s.grace) == ("fraud-scoring", HOUR, timedelta(minutes=10))
    assert s.max_label_delay == 6 * 3600.0  # seconds: the label-delay rule's threshold
    assert s.schema_hash == "9f2c"
    assert dict(s.labels) == {"model": "fraud"}


@pytest.mark.parametrize(
    ("every", "grace"),
    [
        ("1h", timedelta(minutes=6)),
        ("5m", timedelta(minutes=1)),
        ("1d", timedelta(hours=2, minutes=24)),
    ],
)
def test_grace_defaults_to_a_tenth_of_every_and_at_least_a_minute(
    every: str, grace: timedelta
) -> None:
    assert parse_heartbeats({"x": {"every": every}}, "f")["x"].grace == grace
    assert default_grace(parse_duration(every)) == grace
    assert parse_heartbeats({"x": {"every": every, "grace": "0s"}}, "f")["x"].grace == timedelta(0)


def test_absent_section_is_no_heartbeats() -> None:
    assert dict(parse_heartbeats(None, "f")) == {}
    assert dict(load_settings(None, {}).heartbeats) == {}


@pytest.mark.parametrize(
    ("section", "key"),
    [
        ([], "heartbeats"),
        ({"Fraud Scoring": {"every": "1h"}}, "heartbeats.Fraud Scoring"),
        ({"x": "1h"}, "heartbeats.x"),
        ({"x": {}}, "heartbeats.x.every"),
        ({"x": {"every": "soon"}}, "heartbeats.x.every"),
        ({"x": {"every": 3600}}, "heartbeats.x.every"),
        ({"x": {"every": "0s"}}, "heartbeats.x.every"),
        ({"x": {"every": "1h", "grace": "a bit"}}, "heartbeats.x.grace"),
        ({"x": {"every": "1h", "max_label_delay": "0s"}}, "heartbeats.x.max_label_delay"),
        ({"x": {"every": "1h", "max_label_delay": 6}}, "heartbeats.x.max_label_delay"),
        ({"x": {"every": "1h", "schema_hash": 1234}}, "heartbeats.x.schema_hash"),
        ({"x": {"every": "1h", "schema_hash": "a" * 201}}, "heartbeats.x.schema_hash"),
        ({"x": {"every": "1h", "labels": ["model"]}}, "heartbeats.x.labels"),
        ({"x": {"every": "1h", "labels": {"heartbeat": "y"}}}, "heartbeats.x.labels.heartbeat"),
        ({"x": {"every": "1h", "labels": {"model-name": "y"}}}, "heartbeats.x.labels.model-name"),
        ({"x": {"every": "1h", "labels": {"team": 7}}}, "heartbeats.x.labels.team"),
        ({"x": {"every": "1h", "evry": "1h"}}, "heartbeats.x.evry"),
    ],
)
def test_mistakes_name_the_key(section: object, key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_heartbeats(section, "vigil.yaml")
    assert caught.value.key == key
    assert caught.value.where == "vigil.yaml"


@pytest.mark.parametrize(
    ("section", "says"),
    [
        (
            {"x": {"grace": "1m"}},
            "heartbeats.x.every: is required: how often a run is expected (30m, 1h, 1d)",
        ),
        ({"x": "1h"}, "heartbeats.x: must be a mapping with at least `every`"),
        (
            {"x": {"every": "1h", "labels": {"heartbeat": "y"}}},
            "heartbeats.x.labels.heartbeat: heartbeat is set by the heartbeat rules; "
            "choose another label",
        ),
        (
            {"x": {"every": "1h", "evry": "1h"}},
            "heartbeats.x.evry: unknown key (allowed: every, grace, max_label_delay, "
            "schema_hash, labels)",
        ),
    ],
)
def test_mistakes_read_as_they_always_have(section: object, says: str) -> None:
    """Each heartbeat is validated by pydantic; what a user reads is still Vigil's sentence."""
    with pytest.raises(ConfigError) as caught:
        parse_heartbeats(section, "vigil.yaml")
    assert str(caught.value) == f"vigil.yaml: {says}"


def test_vigil_yaml_errors_name_the_file_and_key(tmp_path: Path) -> None:
    config = tmp_path / "vigil.yaml"
    config.write_text("heartbeats:\n  x:\n    every: hourly\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(config, {})
    assert (caught.value.where, caught.value.key) == (str(config), "heartbeats.x.every")
    assert "hourly" in caught.value.message
    config.write_text("heartbeats:\n  x: {every: 1h, labels: {model: m}}\n", encoding="utf-8")
    assert load_settings(config, {}).heartbeats["x"].labels == {"model": "m"}


def test_an_http_check_cannot_take_the_heartbeats_source_name() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_sources({"http_checks": [{"name": "heartbeats", "url": "http://x"}]}, "f")
    assert caught.value.key == "sources.http_checks[0].name"


def test_the_label_delay_rule_reads_max_label_delay_and_says_the_key_you_write() -> None:
    rules = load_rules([default_rules_file()])
    [rule] = [r for r in rules if r.name == "heartbeat-label-delay"]
    [off] = effective([rule])
    assert (off.on, off.reason) == (False, "needs heartbeats.<name>.max_label_delay")
    table = {"fraud-scoring": spec(max_label_delay="6h"), "other": spec()}
    [on] = effective([rule], heartbeats=table)
    assert on.on
    assert on.subjects == ("fraud-scoring",)
    labels = {"heartbeat": "fraud-scoring", "model": "fraud"}
    assert threshold_for(rule, labels, heartbeats=table) == 21600.0
    assert threshold_for(rule, {"heartbeat": "other"}, heartbeats=table) is None


# --- a beat's body ----------------------------------------------------------------------------


def test_an_empty_body_is_a_plain_beat_at_now() -> None:
    assert parse_beat({}, now=T0) == Beat(at=T0)


def test_a_full_body_is_read() -> None:
    beat = parse_beat(
        {
            "rows": 48210,
            "schema_hash": "9f2c",
            "label_delay_seconds": 5400.5,
            "timestamp": "2026-11-24T01:30:00Z",
        },
        now=T0,
    )
    assert beat == Beat(T0 - timedelta(minutes=30), 48210, "9f2c", 5400.5)
    assert parse_beat({"rows": 12.0}, now=T0).rows == 12  # JSON has one number type
    assert parse_beat({"rows": None, "schema_hash": None}, now=T0) == Beat(at=T0)


def test_a_clock_a_little_ahead_is_taken_as_now() -> None:
    ahead = (T0 + timedelta(minutes=2)).isoformat()
    assert parse_beat({"timestamp": ahead}, now=T0).at == T0


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ([], "payload", "must be an object"),
        ({"rowz": 5}, "rowz", "is not a heartbeat field"),
        ({"rows": "5"}, "rows", "whole number"),
        ({"rows": 1.5}, "rows", "whole number, not 1.5"),
        ({"rows": True}, "rows", "whole number"),
        ({"rows": -1}, "rows", "between 0"),
        ({"schema_hash": 7}, "schema_hash", "must be a string"),
        ({"schema_hash": "  "}, "schema_hash", "must not be empty"),
        ({"schema_hash": "a" * 201}, "schema_hash", "at most 200"),
        ({"label_delay_seconds": "1h"}, "label_delay_seconds", "number of seconds"),
        ({"label_delay_seconds": -5}, "label_delay_seconds", ">= 0"),
        ({"label_delay_seconds": float("inf")}, "label_delay_seconds", "finite"),
        ({"label_delay_seconds": 10**400}, "label_delay_seconds", "finite"),
        ({"rows": 2**63}, "rows", "between 0"),
        ({"timestamp": "yesterday"}, "timestamp", "RFC 3339"),
        ({"timestamp": "2026-11-24T02:10:00Z"}, "timestamp", "10m in the future"),
    ],
)
def test_a_bad_body_names_the_field(body: object, field: str, words: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_beat(body, now=T0)
    assert caught.value.field == field
    assert words in caught.value.detail


# --- metrics ----------------------------------------------------------------------------------


def test_never_beaten_counts_from_when_vigil_first_knew_it() -> None:
    s, state = spec(), HeartbeatState(known_since=T0)
    assert overdue_seconds(s, state, T0) == -(70 * 60)
    assert overdue_seconds(s, state, T0 + timedelta(minutes=70)) == 0
    assert overdue_seconds(s, state, T0 + timedelta(minutes=71)) == 60
    [reading] = readings(s, state, T0)
    assert reading.metric == OVERDUE
    assert dict(reading.labels) == {"model": "fraud", "heartbeat": "fraud-scoring"}


def test_overdue_counts_from_the_last_run() -> None:
    state = HeartbeatState(known_since=T0 - 10 * HOUR, last_beat_at=T0)
    assert overdue_seconds(spec(), state, T0 + HOUR) == -600
    assert overdue_seconds(spec(), state, T0 + 2 * HOUR) == 3000


def test_every_carried_number_becomes_a_metric() -> None:
    state = HeartbeatState(
        known_since=T0,
        last_beat_at=T0,
        last_rows=0,
        last_schema_hash="a",
        learned_schema_hash="a",
        last_label_delay_s=30.0,
        beats=1,
    )
    got = {r.metric: r.value for r in readings(spec(), state, T0)}
    assert got == {OVERDUE: -4200.0, ROWS: 0.0, SCHEMA_CHANGED: 0.0, LABEL_DELAY: 30.0}


def test_the_schema_is_learned_from_the_first_hash_then_a_change_is_flagged() -> None:
    learned = HeartbeatState(known_since=T0, last_schema_hash="a", learned_schema_hash="a")
    changed = HeartbeatState(known_since=T0, last_schema_hash="b", learned_schema_hash="a")
    assert expected_hash(spec(), changed) == "a"
    assert _value(readings(spec(), learned, T0), SCHEMA_CHANGED) == 0.0
    assert _value(readings(spec(), changed, T0), SCHEMA_CHANGED) == 1.0
    no_hash = HeartbeatState(known_since=T0, learned_schema_hash="a")  # last run sent none
    assert _value(readings(spec(), no_hash, T0), SCHEMA_CHANGED) is None


def test_a_pinned_schema_wins_over_the_learned_one() -> None:
    pinned = spec(schema_hash="p")
    state = HeartbeatState(known_since=T0, last_schema_hash="a", learned_schema_hash="a")
    assert expected_hash(pinned, state) == "p"
    assert _value(readings(pinned, state, T0), SCHEMA_CHANGED) == 1.0
    fixed = HeartbeatState(known_since=T0, last_schema_hash="p", learned_schema_hash="a")
    assert _value(readings(pinned, fixed, T0), SCHEMA_CHANGED) == 0.0


def _value(found: list[Any], metric: str) -> float | None:
    return next((r.value for r in found if r.metric == metric), None)


# --- problems in words ------------------------------------------------------------------------


def test_a_good_run_has_no_problems() -> None:
    beat = Beat(T0, rows=10, schema_hash="a", label_delay_s=60)
    assert problems(spec(max_label_delay="6h"), beat, "a", T0) == []


def test_problems_are_said_in_words() -> None:
    s = spec(max_label_delay="6h")
    beat = Beat(T0, rows=0, schema_hash="77aa" * 8, label_delay_s=8 * 3600)
    assert problems(s, beat, "9f2c", T0) == [
        "0 rows",
        "schema changed: expected 9f2c, got 77aa77aa77aa77aa…",
        "label delay 8h over the 6h limit",
    ]


def test_a_run_reported_too_late_says_so() -> None:
    beat = Beat(T0 - 2 * HOUR)
    assert problems(spec(), beat, None, T0) == [
        "late already: the run finished 2h ago, more than every 1h + grace 10m"
    ]
    # an old run reported late, while a newer one is known: the newer one decides
    assert problems(spec(), beat, None, T0, latest=T0 - timedelta(minutes=5)) == []


def test_label_delay_without_a_limit_is_not_a_problem() -> None:
    assert problems(spec(), Beat(T0, label_delay_s=10**6), None, T0) == []
