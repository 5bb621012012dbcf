"""The snooze watcher's pure parts: two timestamps per series answer as every sample would,
scope keeps other subjects' series out, progress survives JSON, and the /incident snooze
command reads what parse_snooze reads (its errors with the usage line)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from bot.chat.backend import announcement
from bot.chat.commands.parse import ParseError, Snooze, parse_incident
from bot.chat.commands.spec import USAGE
from bot.chat.slack.blocks.thread import timeline_reply
from bot.core.errors import ValidationError
from bot.incidents.reactions.changes import Change
from bot.incidents.views import EventView, IncidentView
from bot.oncall.snooze.progress import (
    Run,
    advance,
    check_runs,
    in_scope,
    observe,
    run_holds,
    runs_from_json,
    runs_to_json,
    series_key,
)
from bot.oncall.snooze.rules import MAX_GAP, Condition, condition_holds, parse_snooze

T0 = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)
SEC = timedelta(seconds=1)
PSI = Condition("psi", "<", 0.1, 30 * MIN)


@pytest.mark.parametrize("seed", range(200))
def test_runs_answer_as_condition_holds_does_from_every_sample(seed: int) -> None:
    rng = random.Random(seed)
    cond = Condition("psi", "<", 0.1, timedelta(minutes=rng.choice([0, 3, 10, 30])))
    since = T0 + timedelta(minutes=rng.randint(-20, 20))
    samples: list[tuple[datetime, float]] = []
    at = T0 - 30 * MIN
    for _ in range(rng.randint(0, 60)):
        at += timedelta(seconds=rng.choice([30, 60, 60, 60, 120, 299, 300, 301, 420]))
        samples.append((at, rng.choice([0.05, 0.05, 0.05, 0.09, 0.1, 0.3])))
    run: Run | None = None
    for i, (at, value) in enumerate(samples):
        run = observe(run, at, value, cond)
        seen = samples[: i + 1]
        for later in (timedelta(), timedelta(minutes=2), timedelta(minutes=5), 6 * MIN):
            now = at + later
            expected = condition_holds(seen, cond, now, since=since)
            assert run_holds(run, cond, now, since=since) is expected, (i, later)


def test_a_repeated_or_late_sample_changes_nothing() -> None:
    run = observe(None, T0, 0.05, PSI)
    assert observe(run, T0, 0.05, PSI) is run  # a source re-reporting its latest value
    assert observe(run, T0 - MIN, 0.3, PSI) is run  # late: cannot be placed in the run
    assert observe(run, T0 + MIN, 0.3, PSI) == Run(T0 + MIN, None)


def test_run_holds_only_with_fresh_samples_taken_since_the_snooze() -> None:
    run = Run(last=T0 + 40 * MIN, since=T0)
    assert run_holds(run, PSI, T0 + 40 * MIN, since=T0)
    assert not run_holds(run, PSI, T0 + 40 * MIN + MAX_GAP + timedelta(seconds=1), since=T0)
    assert not run_holds(run, PSI, T0 + 40 * MIN, since=T0 + 41 * MIN)
    assert not run_holds(run, PSI, T0 + 40 * MIN, since=T0 + 20 * MIN)  # 20 min of 30
    assert not run_holds(Run(T0, None), PSI, T0, since=T0)
    assert not run_holds(None, PSI, T0, since=T0)


def test_scope_keeps_other_models_out_but_not_unlabelled_series() -> None:
    scope = {"model": "fraud-scorer"}
    assert in_scope(PSI, "psi", {"model": "fraud-scorer", "feature": "income"}, scope)
    assert not in_scope(PSI, "psi", {"model": "ranker"}, scope)
    assert in_scope(PSI, "psi", {"feature": "income"}, scope)
    assert not in_scope(PSI, "error_rate", {"model": "fraud-scorer"}, scope)
    income = Condition("psi", "<", 0.1, labels=(("feature", "income"),))
    assert not in_scope(income, "psi", {"feature": "age"}, {})


def test_advance_keeps_one_run_per_series_and_takes_future_points_as_now() -> None:
    a, b = {"feature": "a"}, {"feature": "b"}
    runs = advance({}, [(b, T0, 0.3), (a, T0 + MIN, 0.05), (a, T0, 0.05)], PSI, T0 + MIN)
    assert runs == {series_key(a): Run(T0 + MIN, T0), series_key(b): Run(T0, None)}
    # Stamped after the poll began (Prometheus's evaluation time): seen now, not dropped.
    later = advance(runs, [(b, T0 + 2 * MIN + 1 * SEC, 0.05)], PSI, T0 + 2 * MIN)
    assert later[series_key(b)] == Run(T0 + 2 * MIN, T0 + 2 * MIN)


def test_every_series_seen_must_hold_and_one_gone_quiet_keeps_the_snooze() -> None:
    snooze = parse_snooze("12 until psi<0.1 for 30m")
    good = Run(T0 + 30 * MIN, T0)
    assert check_runs(snooze, T0, T0 + 30 * MIN, [good]).why == "condition"
    quiet = Run(T0 + 10 * MIN, T0)
    assert not check_runs(snooze, T0, T0 + 30 * MIN, [good, quiet]).over
    assert not check_runs(snooze, T0, T0 + 30 * MIN, []).over
    capped = check_runs(snooze, T0, T0 + timedelta(hours=24), [quiet])
    assert (capped.over, capped.why) == (True, "cap")


def test_progress_survives_json_and_garbage_only_restarts_the_count() -> None:
    runs = {"x": Run(T0, None), "y": Run(T0 + MIN, T0)}
    assert runs_from_json(runs_to_json(runs)) == runs
    assert runs_from_json({}) == {}
    assert runs_from_json({"series": {"x": {"last": "yesterday"}, "y": 3}}) == {}
    assert runs_from_json({"series": {"z": {"last": "2026-11-24T02:00:00"}}}) == {}  # naive


def test_a_doubled_comparison_is_named() -> None:
    with pytest.raises(ValidationError) as info:
        parse_snooze("12 until psi<<0.1")
    assert info.value.field == "snooze.op"
    assert "not '<<'" in info.value.detail


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("snooze 12 30m", Snooze(12, "12 30m")),
        ("snooze #12 until psi<0.1 for 30m", Snooze(12, "12 until psi<0.1 for 30m")),
        (
            "SNOOZE 12 2h until error_rate<=0.01 for 10m",
            Snooze(12, "12 2h until error_rate<=0.01 for 10m"),
        ),
        ("snooze 12 off", Snooze(12, None)),
        ("snooze 12 OFF", Snooze(12, None)),
    ],
)
def test_the_command_reads_what_parse_snooze_reads(text: str, expected: Snooze) -> None:
    assert parse_incident(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("snooze", "Missing incident number."),
        ("snooze 12", "Say for how long, or until what."),
        ("snooze 12 until psi<<0.1", "Compare with <, <=, > or >=, not '<<'"),
        ("snooze 12 30", "'30' is not a duration"),
    ],
)
def test_command_errors_carry_the_usage(text: str, message: str) -> None:
    result = parse_incident(text)
    assert isinstance(result, ParseError)
    assert result.message.startswith(message)
    assert result.usage == USAGE["snooze"]


def _view() -> IncidentView:
    return IncidentView(
        id=12,
        title="Accuracy below SLA on fraud-scorer",
        severity="P2",
        severity_reason="P2: accuracy",
        severity_source="policy",
        state="triggered",
        commander=None,
        service=None,
        model="fraud-scorer",
        group_key="k",
        created_by="vigil",
        created_at=T0,
        updated_at=T0,
        acknowledged_at=None,
        contained_at=None,
        resolved_at=None,
    )


def test_snooze_lines_read_whole_in_the_console_and_slack() -> None:
    text = (
        "Snoozed #12: no pages until 02:30 UTC. It pages again then, unless it is resolved first."
    )
    assert announcement(Change("snooze", _view(), "@alice", text)) == f"🟠 😴 {text}"
    line, _blocks = timeline_reply(EventView(T0, "snooze", "@alice", text, {}))
    assert line.startswith("😴 02:00Z")
