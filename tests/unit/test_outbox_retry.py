"""The outbox's failure policy, row by row: what is retried, when, and what is given up."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.core.retry_outcome import MAX_RETRY_AFTER, Delivered, GiveUp, Retry
from bot.outbox.retry import (
    MAX_AGE,
    MAX_BACKOFF,
    PERMANENT,
    RETRYABLE,
    backoff,
    classify_slack_error,
    enforce_max_age,
    retry_after_delay,
)

S = timedelta(seconds=1)


def classify(
    status: int | None, error: str | None = None, retry_after: str | None = None, attempts: int = 1
) -> Retry | GiveUp:
    return classify_slack_error(
        status=status, error=error, retry_after=retry_after, attempts=attempts
    )


@pytest.mark.parametrize(
    ("attempts", "seconds"),
    [
        *[(0, 1), (1, 1), (2, 2), (3, 4), (4, 8), (5, 10), (6, 10), (9, 10)],
        *[(50, 10), (10**9, 10)],
    ],
)
def test_backoff_doubles_from_one_second_up_to_ten_seconds(attempts: int, seconds: int) -> None:
    # Ten seconds at most: the queue drains within 30 s of Slack's return, however long the
    # outage (with the old 5 min cap it had grown to 4 min 16 s).
    assert backoff(attempts) == timedelta(seconds=seconds)
    assert timedelta(seconds=10) == MAX_BACKOFF


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("30", 30),
        ("1", 1),
        ("2.5", 2.5),
        ("0", 1),  # "now" still waits a second: no hot loop
        ("-5", 1),
        (None, 1),
        ("", 1),
        ("soon", 1),
        ("Wed, 21 Oct 2026 07:28:00 GMT", 1),  # HTTP-date form: Slack never sends it
        ("nan", 1),
        ("86400", 900),
        ("inf", 900),
    ],
)
def test_retry_after_header(header: str | None, seconds: float) -> None:
    assert retry_after_delay(header) == timedelta(seconds=seconds)
    assert timedelta(seconds=seconds) <= MAX_RETRY_AFTER


@pytest.mark.parametrize("attempts", [1, 4, 30])
def test_429_waits_for_retry_after_whatever_the_attempt(attempts: int) -> None:
    outcome = classify(429, "ratelimited", "17", attempts=attempts)
    assert outcome == Retry("rate limited by Slack (HTTP 429)", 17 * S)
    assert classify(429, None, None, attempts=attempts) == Retry(outcome.reason, S)


@pytest.mark.parametrize("error", ["ratelimited", "rate_limited"])
def test_ok_false_ratelimited_with_http_200_honours_retry_after_too(error: str) -> None:
    assert classify(200, error, "9", attempts=5) == Retry("rate limited by Slack (HTTP 200)", 9 * S)


@pytest.mark.parametrize("attempts", [1, 3, 12])
@pytest.mark.parametrize("error", [None, "ConnectionResetError", "timeout"])
def test_no_response_at_all_is_a_network_error_and_backs_off(
    error: str | None, attempts: int
) -> None:
    outcome = classify(None, error, "60", attempts=attempts)
    assert isinstance(outcome, Retry)
    assert outcome.after == backoff(attempts)  # no Retry-After without a response
    assert outcome.reason == "network error" + (f": {error}" if error else "")


@pytest.mark.parametrize("status", [500, 502, 503, 504, 599, 408])
@pytest.mark.parametrize("error", [None, "channel_not_found", "ratelimited"])
def test_5xx_and_408_back_off_whatever_the_body_says(status: int, error: str | None) -> None:
    assert classify(status, error, "60", attempts=3) == Retry(f"HTTP {status} from Slack", 4 * S)


@pytest.mark.parametrize("error", sorted(RETRYABLE - {"ratelimited", "rate_limited"}))
def test_temporary_slack_errors_back_off(error: str) -> None:
    assert classify(200, error, None, attempts=2) == Retry(
        f"Slack error {error} (temporary)", 2 * S
    )


def test_the_documented_retryable_errors_are_in_the_table() -> None:
    documented = {"internal_error", "fatal_error", "service_unavailable", "request_timeout"}
    assert documented | {"ratelimited", "team_added_to_org"} <= RETRYABLE
    assert not RETRYABLE & PERMANENT


@pytest.mark.parametrize("error", sorted(PERMANENT))
@pytest.mark.parametrize("attempts", [1, 7])
def test_permanent_slack_errors_give_up_at_once(error: str, attempts: int) -> None:
    assert classify(200, error, "5", attempts=attempts) == GiveUp(
        f"Slack error {error}: the request cannot succeed as it is"
    )


def test_the_documented_permanent_errors_are_in_the_table() -> None:
    assert {
        "channel_not_found",
        "not_in_channel",
        "invalid_auth",
        "account_inactive",
        "token_revoked",
        "invalid_blocks",
        "msg_too_long",
        "message_not_found",
    } <= PERMANENT


def test_an_unknown_error_gives_up_rather_than_block_its_incident_for_a_day() -> None:
    assert classify(200, "brand_new_error") == GiveUp(
        "Slack error brand_new_error (HTTP 200) is not known to be temporary"
    )


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 302])
def test_other_http_statuses_without_an_error_give_up(status: int) -> None:
    assert classify(status) == GiveUp(f"HTTP {status} from Slack without a retryable error")


def test_a_4xx_with_a_temporary_slack_error_still_retries() -> None:
    assert isinstance(classify(400, "internal_error"), Retry)


@pytest.mark.parametrize(
    ("age", "gives_up"),
    [(timedelta(0), False), (MAX_AGE - S, False), (MAX_AGE, True), (MAX_AGE * 3, True)],
)
def test_a_retry_past_the_max_age_gives_up_and_says_so(age: timedelta, gives_up: bool) -> None:
    retry = Retry("HTTP 503 from Slack", 4 * S)
    outcome = enforce_max_age(retry, age=age)
    if gives_up:
        assert outcome == GiveUp("still failing after 24 h, giving up: HTTP 503 from Slack")
    else:
        assert outcome is retry


def test_max_age_is_configurable_and_leaves_other_outcomes_alone() -> None:
    retry = Retry("network error", S)
    assert enforce_max_age(retry, age=2 * S, max_age=2 * S) == GiveUp(
        "still failing after 0.000555556 h, giving up: network error"
    )
    assert enforce_max_age(Delivered(), age=MAX_AGE * 2) == Delivered()
    assert enforce_max_age(GiveUp("x"), age=MAX_AGE * 2) == GiveUp("x")
    assert timedelta(hours=24) == MAX_AGE
