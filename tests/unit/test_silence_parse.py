"""``/silence …`` and ``/incident silence N …`` as typed, Slack's curly quotes and dashes
included: a command, or a refusal naming what was wrong with the usage line."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.chat.commands.parse import parse_incident
from bot.chat.commands.silences.parse import (
    USAGE,
    SilenceExpire,
    SilenceExtend,
    SilenceHelp,
    SilenceList,
    SilenceNew,
    SilenceShow,
    parse_silence,
)
from bot.chat.commands.types import IncidentSilence, ParseError
from bot.silences.matchers import Matcher


def test_matchers_a_duration_and_a_comment() -> None:
    got = parse_silence('service=payments alertname=~"Latency.*" 2h -- db migration')
    assert isinstance(got, SilenceNew)
    assert got.matchers == (
        Matcher("service", "payments"),
        Matcher("alertname", "Latency.*", is_regex=True),
    )
    assert (got.duration, got.comment, got.confirm) == (timedelta(hours=2), "db migration", False)


def test_slack_curly_quotes_an_em_dash_and_yes() -> None:
    got = parse_silence("alertname=~\u201cLatency high.*\u201d 30m --yes \u2014 load test")
    assert isinstance(got, SilenceNew)
    assert got.matchers == (Matcher("alertname", "Latency high.*", is_regex=True),)
    assert (got.duration, got.comment, got.confirm) == (timedelta(minutes=30), "load test", True)


def test_no_duration_means_the_default_and_expire_unused_is_read() -> None:
    got = parse_silence("env!=staging service=search --expire-unused 2h")
    assert isinstance(got, SilenceNew)
    assert got.duration is None
    assert got.expire_unused == timedelta(hours=2)
    assert got.matchers[0] == Matcher("env", "staging", is_equal=False)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", SilenceHelp()),
        ("help", SilenceHelp()),
        ("list", SilenceList()),
        ("list --all", SilenceList(all=True)),
        ("show 1a2b3c4d", SilenceShow("1a2b3c4d")),
        ("expire 1A2B3C4D", SilenceExpire("1a2b3c4d")),
        ("extend 1a2b3c4d 1h", SilenceExtend("1a2b3c4d", timedelta(hours=1))),
    ],
)
def test_subcommands(text: str, expected: object) -> None:
    assert parse_silence(text) == expected


@pytest.mark.parametrize(
    ("text", "message", "usage"),
    [
        ("2h -- nothing named", "Say which alerts: at least one matcher", "new"),
        ("service=payments migration", "'migration' is not a matcher", "new"),
        ("service=payments 2h 3h", "Two durations given ('3h')", "new"),
        ("service=payments 2x", "'2x' is not a duration", "new"),
        ('alertname=~"(Latency"', "alertname", "new"),
        ("expire", "Give the silence's id", "expire"),
        ("extend 1a2b3c4d", "Say for how long from now", "extend"),
        ("list --everything", "Unknown option '--everything'", "list"),
    ],
)
def test_refusals_name_the_mistake_with_the_usage(text: str, message: str, usage: str) -> None:
    got = parse_silence(text)
    assert isinstance(got, ParseError)
    assert message in got.message
    assert got.usage == USAGE[usage]


def test_incident_silence() -> None:
    assert parse_incident("silence 12 2h --yes -- fixing it") == IncidentSilence(
        12, timedelta(hours=2), "fixing it", True
    )
    assert parse_incident("silence 12") == IncidentSilence(12, None, "", False)
    refused = parse_incident("silence 12 service=payments")
    assert isinstance(refused, ParseError)
    assert "Unexpected 'service=payments'" in refused.message
