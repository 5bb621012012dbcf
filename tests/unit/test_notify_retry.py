"""The pure half of retrying a notification chain later: the backoff schedule, the timer's
payload (a Notification to JSON and back) and what the timeline says."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.core.errors import ValidationError
from bot.core.retry_outcome import Delivered, GiveUp, Retry
from bot.notify.base import Notification
from bot.notify.fallback import Attempt
from bot.notify.retry_plan import (
    RetryJob,
    RetryPolicy,
    attempt_note,
    dropped_line,
    failed_reasons,
    final_line,
    largest_retry_after,
    next_attempt_at,
    notification_from_dict,
    notification_to_dict,
    retry_line,
    timer_key,
    wait_before,
)

T0 = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
POLICY = RetryPolicy()
PAGE = Notification(
    incident_id=12,
    key="vigil:12",
    severity="P1",
    title="fraud-scorer accuracy below SLA",
    text="🔴 P1 #12 fraud-scorer accuracy below SLA — you are paged. Acknowledge: /incident ack 12",
    target="@maya",
)
FULL = Notification(
    incident_id=7,
    key="acme:7",
    severity="P3",
    title="drift on ranker",
    text="P3 #7 drift on ranker\nWhy: PSI 0.3",
    target="maya@example.com",
    kind="reminder",
    url="https://vigil.example.com/incidents/7",
    service="ranker",
    at=datetime(2026, 11, 24, 1, 59, 30, tzinfo=UTC),
)


def with_(n: Notification, **changes: Any) -> Notification:
    return Notification(**{**n.__dict__, **changes})


# -- the schedule ------------------------------------------------------------------------------


def test_steps_then_the_last_step_again() -> None:
    waits = [wait_before(retry, None, POLICY) for retry in range(1, 8)]
    assert waits == [
        timedelta(seconds=30),
        timedelta(minutes=2),
        timedelta(minutes=5),
        timedelta(minutes=10),
        timedelta(minutes=20),
        timedelta(minutes=20),
        timedelta(minutes=20),
    ]


def test_retry_after_only_lengthens_a_wait() -> None:
    assert wait_before(1, timedelta(seconds=90), POLICY) == timedelta(seconds=90)
    # Shorter than the step: the step, so a remote saying "1 s" cannot burn every attempt.
    assert wait_before(1, timedelta(seconds=7), POLICY) == timedelta(seconds=30)
    assert wait_before(3, timedelta(minutes=1), POLICY) == timedelta(minutes=5)


def test_retries_count_from_one() -> None:
    with pytest.raises(ValueError, match="from 1"):
        wait_before(0, None, POLICY)


def schedule(policy: RetryPolicy, retry_after: timedelta | None = None) -> list[timedelta]:
    """Every run's time after the first, as offsets from it, when each run ends in Retry
    at the moment it starts."""
    runs: list[timedelta] = []
    attempt, now = 1, T0
    while (at := next_attempt_at(attempt, T0, now, retry_after, policy)) is not None:
        runs.append(at - T0)
        attempt, now = attempt + 1, at
    return runs


def test_default_schedule_is_six_attempts_within_the_hour() -> None:
    assert schedule(POLICY) == [
        timedelta(seconds=30),
        timedelta(minutes=2, seconds=30),
        timedelta(minutes=7, seconds=30),
        timedelta(minutes=17, seconds=30),
        timedelta(minutes=37, seconds=30),
    ]


def test_the_hour_cuts_retries_short_under_long_retry_afters() -> None:
    quarter = timedelta(minutes=15)
    assert schedule(POLICY, quarter) == [quarter, 2 * quarter, 3 * quarter, 4 * quarter]


def test_one_attempt_means_no_retry() -> None:
    assert next_attempt_at(1, T0, T0, None, RetryPolicy(max_attempts=1)) is None


def test_a_slow_run_counts_against_the_hour() -> None:
    late = T0 + timedelta(minutes=59, seconds=45)
    assert next_attempt_at(2, T0, late, None, POLICY) is None


@pytest.mark.parametrize(
    "bad",
    [
        {"steps": ()},
        {"steps": (timedelta(0),)},
        {"max_attempts": 0},
    ],
)
def test_policy_is_checked(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"retry steps|max_attempts"):
        RetryPolicy(**bad)


def attempt(outcome: Delivered | Retry | GiveUp, channel: str = "pagerduty") -> Attempt:
    return Attempt(channel, channel, 1, outcome, T0)


def test_largest_retry_after_of_a_run() -> None:
    run = [
        attempt(Retry("throttled", timedelta(seconds=30))),
        attempt(Retry("451", None), "email"),
        attempt(Retry("503", timedelta(seconds=90)), "webhook"),
        attempt(GiveUp("400"), "other"),
    ]
    assert largest_retry_after(run) == timedelta(seconds=90)
    assert largest_retry_after([attempt(Retry("reset"))]) is None
    assert largest_retry_after([]) is None


# -- timer keys --------------------------------------------------------------------------------


def test_timer_key_per_incident_target_and_kind() -> None:
    assert timer_key(PAGE) == "incident:12:notify:@maya:page"
    assert timer_key(with_(PAGE, kind="acknowledge")) == "incident:12:notify:@maya:acknowledge"
    assert timer_key(with_(PAGE, incident_id=1)).startswith("incident:1:")


def test_a_long_target_still_makes_one_valid_key() -> None:
    long = "someone." * 30 + "@example.com"
    key = timer_key(with_(PAGE, target=long))
    assert len(key) <= 191
    assert key == timer_key(with_(PAGE, target=long))
    assert key != timer_key(with_(PAGE, target=long + "x"))
    assert key.startswith("incident:12:notify:sha256-")


# -- the payload -------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [PAGE, FULL], ids=["minimal", "every-field"])
def test_notification_round_trips_through_json(n: Notification) -> None:
    data = notification_to_dict(n)
    assert json.loads(json.dumps(data)) == data  # what Timers.schedule insists on
    assert notification_from_dict(json.loads(json.dumps(data))) == n


def test_notification_dict_is_plain() -> None:
    assert notification_to_dict(FULL) == {
        "incident_id": 7,
        "key": "acme:7",
        "severity": "P3",
        "title": "drift on ranker",
        "text": "P3 #7 drift on ranker\nWhy: PSI 0.3",
        "target": "maya@example.com",
        "kind": "reminder",
        "url": "https://vigil.example.com/incidents/7",
        "service": "ranker",
        "at": "2026-11-24T01:59:30+00:00",
    }


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"kind": "shout"}, "kind"),
        ({"severity": "P9"}, "severity"),
        ({"incident_id": "12"}, "incident_id"),
        ({"incident_id": True}, "incident_id"),
        ({"text": None}, "text"),
        ({"text": "  "}, "text"),
        ({"url": 3}, "url"),
        ({"at": "yesterday"}, "at"),
        ({"at": "2026-11-24T01:59:30"}, "at"),
    ],
)
def test_a_bad_notification_dict_names_its_field(change: dict[str, Any], field: str) -> None:
    data = {**notification_to_dict(FULL), **change}
    with pytest.raises(ValidationError) as caught:
        notification_from_dict(data)
    assert caught.value.field == field


def test_a_missing_field_is_refused() -> None:
    data = notification_to_dict(PAGE)
    del data["target"]
    with pytest.raises(ValidationError) as caught:
        notification_from_dict(data)
    assert caught.value.field == "target"


@pytest.mark.parametrize("channels", [None, ("pagerduty",)])
def test_retry_job_round_trips(channels: tuple[str, ...] | None) -> None:
    job = RetryJob(FULL, 3, T0, channels)
    payload = job.to_payload()
    assert json.loads(json.dumps(payload)) == payload
    assert RetryJob.from_payload(json.loads(json.dumps(payload))) == job


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"v": 2}, "v"),
        ({"notification": "x"}, "notification"),
        ({"attempt": 0}, "attempt"),
        ({"started": "soon"}, "started"),
        ({"started": "2026-11-24T02:00:00"}, "started"),
        ({"channels": "pagerduty"}, "channels"),
        ({"channels": [1]}, "channels"),
    ],
)
def test_a_bad_retry_payload_names_its_field(change: dict[str, Any], field: str) -> None:
    payload = {**RetryJob(PAGE, 2, T0).to_payload(), **change}
    with pytest.raises(ValidationError) as caught:
        RetryJob.from_payload(payload)
    assert caught.value.field == field


# -- the timeline's words ----------------------------------------------------------------------


def test_retry_line_says_when_and_how() -> None:
    at = T0 + timedelta(seconds=30)
    assert (
        retry_line(PAGE, at, 2, POLICY, "PagerDuty")
        == "Will try the page to @maya again at 02:00:30Z, PagerDuty first (attempt 2 of 6)"
    )
    ack = with_(PAGE, kind="acknowledge")
    assert (
        retry_line(ack, at, 3, POLICY, None)
        == "Will try the acknowledgement of #12 again at 02:00:30Z (attempt 3 of 6)"
    )


def test_attempt_note_marks_a_retried_run() -> None:
    assert (
        attempt_note("Paged @maya via PagerDuty", 2, POLICY)
        == "Paged @maya via PagerDuty (attempt 2 of 6)"
    )


def test_dropped_line() -> None:
    assert dropped_line(with_(PAGE, kind="reminder"), "acknowledged") == (
        "Stopped retrying the reminder to @maya: #12 is acknowledged now, so nobody needs "
        "waking for it"
    )


def test_final_line_for_a_page_says_who_to_call() -> None:
    reasons = failed_reasons([("PagerDuty", "rate limited by PagerDuty (HTTP 429)")])
    line = final_line(PAGE, 6, timedelta(minutes=37, seconds=30), reasons, ["PagerDuty"])
    assert line == (
        "Could not deliver the page to @maya by any channel (6 attempts over 37 min 30 s; "
        "last: PagerDuty: rate limited by PagerDuty (HTTP 429)). @maya has not been reached "
        "this way: call @maya directly, or page the next level with /incident escalate 12"
    )


def test_final_line_for_an_acknowledgement_says_to_do_it_by_hand() -> None:
    ack = with_(PAGE, kind="acknowledge")
    line = final_line(ack, 1, timedelta(0), failed_reasons([]), [])
    assert line == (
        "Could not deliver the acknowledgement of #12 by any channel (1 attempt; last: no "
        "notification channel is configured). Acknowledge #12 by hand in every tool the page "
        "went to, or people may keep being called"
    )
    resolve = with_(PAGE, kind="resolve")
    reasons = failed_reasons([("PagerDuty", "HTTP 503"), ("the webhook", "timeout")])
    line = final_line(resolve, 2, timedelta(minutes=2), reasons, ["PagerDuty", "the webhook"])
    assert line.startswith(
        "Could not deliver the resolution of #12 by any channel (2 attempts over 2 min; last: "
        "PagerDuty: HTTP 503; the webhook: timeout)."
    )
    assert line.endswith(
        "Resolve #12 by hand in PagerDuty and the webhook, or people may keep being called"
    )
