"""Snooze: parsing (and its errors, for a tired reader), the 24 h cap, continuous conditions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.core.errors import ValidationError
from bot.oncall.snooze.rules import (
    MAX_SNOOZE,
    Condition,
    Snooze,
    check_snooze,
    condition_holds,
    holds_since,
    parse_snooze,
    snooze_text,
    snooze_until,
)

T0 = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)
PSI = Condition("psi", "<", 0.1, 30 * MIN)


def series(values: dict[int, float]) -> list[tuple[datetime, float]]:
    """Minute offset from T0 → value."""
    return [(T0 + m * MIN, v) for m, v in values.items()]


def recovering(until: int = 60, bad_until: int = 5) -> list[tuple[datetime, float]]:
    """psi 0.3 for minutes 0..bad_until, then 0.05, one sample a minute."""
    return series({m: 0.3 if m <= bad_until else 0.05 for m in range(until + 1)})


# -- parsing -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12 30m", Snooze(12, 30 * MIN, None, 30 * MIN)),
        ("#12 1h30m", Snooze(12, 90 * MIN, None, 90 * MIN)),
        ("12 until psi<0.1 for 30m", Snooze(12, None, PSI)),
        ("12 UNTIL psi < 0.1 FOR 30m", Snooze(12, None, PSI)),
        ("12 until psi&lt;0.1 for 30m", Snooze(12, None, PSI)),  # Slack escapes < and >
        ("12 until error_rate>=0.05", Snooze(12, None, Condition("error_rate", ">=", 0.05))),
        (
            "12 until latency_ms<=-1e3 for 5m",
            Snooze(12, None, Condition("latency_ms", "<=", -1000.0, 5 * MIN)),
        ),
        (
            "12 2h until psi>0.2 for 10m",
            Snooze(12, 2 * 60 * MIN, Condition("psi", ">", 0.2, 10 * MIN), 2 * 60 * MIN),
        ),
        (
            "12 until psi{feature=\"income\", segment='eu'}<0.1 for 30m",
            Snooze(
                12,
                None,
                Condition("psi", "<", 0.1, 30 * MIN, (("feature", "income"), ("segment", "eu"))),
            ),
        ),
        (
            "12 until psi{feature=\u201cincome\u201d}<0.1 for 30m",  # Slack's curly quotes
            Snooze(12, None, Condition("psi", "<", 0.1, 30 * MIN, (("feature", "income"),))),
        ),
    ],
)
def test_parse(text: str, expected: Snooze) -> None:
    assert parse_snooze(text) == expected


def test_longer_than_a_day_is_capped_with_a_note() -> None:
    snooze = parse_snooze("12 48h")
    assert (snooze.duration, snooze.asked, snooze.capped) == (MAX_SNOOZE, 48 * 60 * MIN, True)
    assert snooze.note == "Capped at 24 h, the longest a snooze lasts (you asked for 48 h)."
    exactly = parse_snooze("12 24h")
    assert (exactly.capped, exactly.note) == (False, "")


@pytest.mark.parametrize(
    ("text", "field", "phrase"),
    [
        ("", "snooze", "Say which incident and for how long"),
        ("twelve 30m", "snooze.incident", "'twelve' is not an incident number"),
        ("0 30m", "snooze.incident", "is not an incident number"),
        ("12", "snooze.duration", "Say for how long, or until what"),
        ("12 30", "snooze.duration", "'30' is not a duration; use a unit: 30m, 2h or 1h30m"),
        ("12 0m", "snooze.duration", "A snooze of 0 snoozes nothing"),
        ("12 30m please", "snooze.duration", "Unexpected 'please' after the duration"),
        ("12 until", "snooze.condition", "Say until what"),
        ("12 until psi", "snooze.condition", "'psi' is not a condition"),
        ("12 until PSI<0.1", "snooze.metric", "lowercase"),
        ("12 until psi==0.1", "snooze.op", "Compare with <, <=, > or >=, not '=='"),
        ("12 until psi=0.1", "snooze.op", "not '='"),
        ("12 until psi<10%", "snooze.value", "'10%' is not a number (write 0.1 for 10 %)"),
        ("12 until psi<low", "snooze.value", "'low' is not a number"),
        ("12 until psi<nan", "snooze.value", "'nan' is not a number"),
        ("12 until psi<0.1 for 30", "snooze.for", "'30' is not a duration"),
        ("12 until psi<0.1 for 30h", "snooze.for", "can never hold before the snooze ends (24 h"),
        ("12 1h until psi<0.1 for 2h", "snooze.for", "(1 h at the most)"),
        ("12 until psi{feature=income}<0.1", "snooze.labels", 'write psi{feature="income"}<0.1'),
    ],
)
def test_errors_name_the_field_and_show_the_right_form(text: str, field: str, phrase: str) -> None:
    with pytest.raises(ValidationError) as info:
        parse_snooze(text)
    assert info.value.field == field
    assert phrase in info.value.detail
    assert "/incident snooze 12" in info.value.detail or field == "snooze.labels"


def test_condition_words_and_label_matching() -> None:
    c = parse_snooze('1 until psi{feature="income"}<=0.1 for 1h30m').condition
    assert c is not None
    assert str(c) == 'psi{feature="income"}<=0.1 for 1 h 30 min'
    assert c.matches({"feature": "income", "model": "fraud-scorer"})
    assert not c.matches({"feature": "age"})
    assert PSI.matches({"feature": "anything"})
    assert [PSI.test(x) for x in (0.05, 0.1, 0.2)] == [True, False, False]


# -- continuous conditions ------------------------------------------------------------------


def test_holds_since_the_first_sample_of_the_unbroken_run() -> None:
    assert holds_since(recovering(), PSI, T0 + 40 * MIN) == T0 + 6 * MIN
    assert holds_since(reversed(recovering()), PSI, T0 + 40 * MIN) == T0 + 6 * MIN  # any order


@pytest.mark.parametrize(
    ("now", "holds"),
    [(T0 + 35 * MIN, False), (T0 + 36 * MIN, True), (T0 + 60 * MIN, True)],
)
def test_condition_holds_after_its_duration(now: datetime, holds: bool) -> None:
    assert condition_holds(recovering(), PSI, now) is holds


def test_a_gap_breaks_the_run_and_stale_data_is_not_evidence() -> None:
    gappy = [(at, v) for at, v in recovering() if not T0 + 20 * MIN < at < T0 + 27 * MIN]
    assert holds_since(gappy, PSI, T0 + 40 * MIN) == T0 + 27 * MIN  # 7 min gap > 5 min
    assert holds_since(recovering(until=40), PSI, T0 + 45 * MIN) == T0 + 6 * MIN  # 5 min: fresh
    assert holds_since(recovering(until=40), PSI, T0 + 46 * MIN) is None  # stale
    assert holds_since(recovering(), PSI, T0 + 40 * MIN, max_gap=30 * MIN) == T0 + 6 * MIN
    assert holds_since([], PSI, T0) is None


def test_latest_sample_failing_means_not_holding() -> None:
    values = {m: 0.05 for m in range(40)} | {40: 0.12}
    assert holds_since(series(values), PSI, T0 + 40 * MIN) is None


def test_hold_counts_from_the_snooze_not_before() -> None:
    long_fine = series({m: 0.05 for m in range(-60, 61)})
    assert condition_holds(long_fine, PSI, T0 + 29 * MIN, since=T0) is False
    assert condition_holds(long_fine, PSI, T0 + 30 * MIN, since=T0) is True
    assert condition_holds(long_fine, PSI, T0 + 29 * MIN) is True  # without since


def test_without_for_one_fresh_sample_after_the_snooze_is_enough() -> None:
    instant = Condition("psi", "<", 0.1)
    assert condition_holds(series({-1: 0.05}), instant, T0, since=T0) is False
    assert condition_holds(series({-1: 0.05, 1: 0.05}), instant, T0 + MIN, since=T0) is True


def test_samples_in_another_zone_are_compared_in_real_time() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    local = [(at.astimezone(berlin), v) for at, v in recovering()]
    assert holds_since(local, PSI, (T0 + 40 * MIN).astimezone(berlin)) == T0 + 6 * MIN


# -- the snooze over time -------------------------------------------------------------------


def test_time_snooze_ends_at_its_time() -> None:
    snooze = parse_snooze("12 30m")
    assert snooze_until(snooze, T0) == T0 + 30 * MIN
    waiting = check_snooze(snooze, T0, T0 + 29 * MIN)
    assert (waiting.over, waiting.next_at) == (False, T0 + 30 * MIN)
    over = check_snooze(snooze, T0, T0 + 30 * MIN)
    assert (over.over, over.why) == (True, "time")
    assert over.text == "Snooze of #12 (30 min) is over: paging again."


def test_capped_snooze_ends_at_the_cap() -> None:
    over = check_snooze(parse_snooze("12 48h"), T0, T0 + MAX_SNOOZE)
    assert (over.over, over.why) == (True, "cap")
    assert over.text == "Snooze of #12 reached the 24 h cap: paging again."


def test_condition_snooze_ends_when_every_matching_series_held() -> None:
    snooze = parse_snooze("12 until psi<0.1 for 30m")
    good, late = recovering(), recovering(bad_until=15)
    assert not check_snooze(snooze, T0, T0 + 36 * MIN, [good, late]).over  # late: 20 min only
    done = check_snooze(snooze, T0, T0 + 46 * MIN, [good, late])
    assert (done.over, done.why) == (True, "condition")
    assert done.text == (
        "psi<0.1 for 30 min held: the snooze of #12 is over. "
        "Check it; /incident resolve 12 if fixed."
    )
    assert check_snooze(snooze, T0, T0 + 46 * MIN, []).next_at == T0 + MAX_SNOOZE  # no data yet
    capped = check_snooze(snooze, T0, T0 + MAX_SNOOZE, [])
    assert capped.text == (
        "Snooze of #12 reached the 24 h cap without psi<0.1 for 30 min holding: paging again."
    )


def test_time_and_condition_whichever_first() -> None:
    snooze = parse_snooze("12 40m until psi<0.1 for 30m")
    assert check_snooze(snooze, T0, T0 + 36 * MIN, [recovering()]).why == "condition"
    timed = check_snooze(snooze, T0, T0 + 40 * MIN, [recovering(bad_until=30)])
    assert timed.why == "time"
    assert (
        timed.text
        == "Snooze of #12 (40 min) is over without psi<0.1 for 30 min holding: paging again."
    )


def test_snooze_text() -> None:
    assert snooze_text(parse_snooze("12 30m"), T0) == (
        "Snoozed #12: no pages until 02:30 UTC. It pages again then, unless it is resolved first."
    )
    assert snooze_text(parse_snooze("12 48h"), T0, tz=ZoneInfo("Europe/Berlin")) == (
        "Snoozed #12: no pages until Wed 25 Nov 03:00 CET. Capped at 24 h, the longest a snooze "
        "lasts (you asked for 48 h). It pages again then, unless it is resolved first."
    )
    assert snooze_text(parse_snooze("12 until psi<0.1 for 30m"), T0) == (
        "Snoozed #12 until psi<0.1 for 30 min, and no later than Wed 25 Nov 02:00 UTC. "
        "It pages again then, unless it is resolved first."
    )
