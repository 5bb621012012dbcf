"""Falling back from one notification channel to the next, and what the timeline says."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.core.errors import ValidationError
from bot.core.retry_outcome import Delivered, GiveUp, Outcome, Retry
from bot.notify.base import Notification
from bot.notify.fake import ScriptedChannel
from bot.notify.fallback import FallbackPolicy, deliver, next_step
from bot.notify.outbox import to_outbox_outcome
from tests.support import FakeClock

PAGE = Notification(
    incident_id=12,
    key="vigil:12",
    severity="P1",
    title="fraud-scorer accuracy below SLA",
    text="🔴 P1 #12 fraud-scorer accuracy below SLA — you are paged. Acknowledge: /incident ack 12",
    target="@maya",
)
INVALID = GiveUp("Event object is invalid: Invalid routing key (HTTP 400)")


class Sleeps:
    """Records the in-line waits instead of sleeping."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def pagerduty(*outcomes: Outcome) -> ScriptedChannel:
    return ScriptedChannel("pagerduty", outcomes, label="PagerDuty", via="via PagerDuty")


def email(*outcomes: Outcome) -> ScriptedChannel:
    return ScriptedChannel("email", outcomes, label="the mail server", via="by e-mail")


def webhook(*outcomes: Outcome) -> ScriptedChannel:
    return ScriptedChannel("webhook", outcomes, label="the webhook", via="via webhook")


async def test_first_channel_delivers_and_the_rest_stay_quiet() -> None:
    pd, mail = pagerduty(), email()
    result = await deliver(PAGE, [pd, mail], sleep=Sleeps())
    assert result.delivered
    assert result.channel == "pagerduty"
    assert result.lines == ("Paged @maya via PagerDuty",)
    assert mail.sent == []
    assert [(a.channel, a.number) for a in result.attempts] == [("pagerduty", 1)]


async def test_refusal_falls_back_to_email_and_says_so() -> None:
    pd, mail = pagerduty(INVALID), email()
    sleeps = Sleeps()
    result = await deliver(PAGE, [pd, mail], sleep=sleeps)
    assert result.channel == "email"
    assert result.lines == (
        "PagerDuty refused the page (Event object is invalid: Invalid routing key (HTTP 400)); "
        "paged @maya by e-mail instead",
    )
    assert sleeps.waits == []  # a refusal is never retried in line
    assert mail.sent == [PAGE]
    assert [(a.channel, type(a.outcome).__name__) for a in result.attempts] == [
        ("pagerduty", "GiveUp"),
        ("email", "Delivered"),
    ]


async def test_a_blip_is_retried_once_on_the_same_channel() -> None:
    pd, mail = pagerduty(Retry("no answer from PagerDuty: connection reset")), email()
    sleeps = Sleeps()
    result = await deliver(PAGE, [pd, mail], sleep=sleeps)
    assert result.channel == "pagerduty"
    assert sleeps.waits == [1.0]
    assert len(pd.sent) == 2
    assert mail.sent == []
    assert result.lines == ("Paged @maya via PagerDuty",)


async def test_a_long_retry_after_moves_on_without_waiting() -> None:
    limited = Retry("rate limited by PagerDuty (HTTP 429)", timedelta(seconds=30))
    pd, mail = pagerduty(limited), email()
    sleeps = Sleeps()
    result = await deliver(PAGE, [pd, mail], sleep=sleeps)
    assert sleeps.waits == []
    assert len(pd.sent) == 1
    assert result.lines == (
        "PagerDuty could not take the page (rate limited by PagerDuty (HTTP 429)); "
        "paged @maya by e-mail instead",
    )


async def test_two_failures_on_one_channel_move_on_and_count_the_attempts() -> None:
    down = Retry("PagerDuty answered HTTP 503 (no reason given)")
    pd, mail = pagerduty(down, down), email()
    sleeps = Sleeps()
    result = await deliver(PAGE, [pd, mail], sleep=sleeps)
    assert sleeps.waits == [1.0]
    assert result.lines[0].startswith(
        "PagerDuty could not take the page (PagerDuty answered HTTP 503 (no reason given), "
        "2 attempts); paged @maya by e-mail"
    )
    assert [a.number for a in result.attempts] == [1, 2, 1]


async def test_every_channel_failing_says_nobody_was_reached() -> None:
    pd = pagerduty(INVALID)
    hook = webhook(GiveUp("the webhook answered HTTP 410"))
    mail = email(Retry("temporary SMTP failure (451 try later)", timedelta(seconds=60)))
    policy = FallbackPolicy(attempts_per_channel=1)
    result = await deliver(PAGE, [pd, hook, mail], policy=policy, sleep=Sleeps())
    assert not result.delivered
    assert result.channel is None
    assert result.lines == (
        "PagerDuty refused the page (Event object is invalid: Invalid routing key (HTTP 400)); "
        "trying the webhook",
        "The webhook refused the page (the webhook answered HTTP 410); trying the mail server",
        "The mail server could not take the page (temporary SMTP failure (451 try later)); "
        "no channel left: @maya was not paged",
    )
    # One channel may work later, so the chain as a whole is retried, after its wait.
    assert isinstance(result.outcome, Retry)
    assert result.outcome.after == timedelta(seconds=60)
    assert "PagerDuty: Event object is invalid" in result.outcome.reason


async def test_all_refusals_give_up() -> None:
    result = await deliver(PAGE, [pagerduty(INVALID), email(GiveUp("550 no such user"))])
    assert isinstance(result.outcome, GiveUp)
    assert result.outcome.reason.startswith("every channel refused: PagerDuty: Event object")


async def test_retry_without_a_wait_leaves_the_backoff_to_the_caller() -> None:
    policy = FallbackPolicy(attempts_per_channel=1)
    result = await deliver(
        PAGE,
        [pagerduty(Retry("reset", timedelta(seconds=5))), email(Retry("timeout"))],
        policy=policy,
    )
    assert isinstance(result.outcome, Retry)
    assert result.outcome.after is None


async def test_no_channel_configured() -> None:
    result = await deliver(PAGE, [])
    assert isinstance(result.outcome, GiveUp)
    assert result.lines == ("No notification channel is configured: @maya was not paged",)


class Broken:
    name = "broken"
    label = "the broken channel"
    via = "via nothing"

    async def send(self, notification: Notification) -> Outcome:
        raise RuntimeError("bug")


async def test_a_channel_that_raises_is_skipped(caplog: pytest.LogCaptureFixture) -> None:
    mail = email()
    result = await deliver(PAGE, [Broken(), mail])
    assert result.channel == "email"
    assert result.lines == (
        "The broken channel refused the page (internal error in the channel (RuntimeError)); "
        "paged @maya by e-mail instead",
    )
    assert any(r.exc_info for r in caplog.records)


async def test_attempts_carry_the_clock() -> None:
    clock = FakeClock()
    result = await deliver(PAGE, [pagerduty()], clock=clock)
    assert result.attempts[0].at == clock.now


@pytest.mark.parametrize(
    ("kind", "line"),
    [
        (
            "reminder",
            "The mail server refused the reminder (x); reminded @maya via webhook instead",
        ),
        (
            "acknowledge",
            "The mail server refused the acknowledgement (x); passed on that #12 is "
            "acknowledged via webhook instead",
        ),
        (
            "resolve",
            "The mail server refused the resolution (x); passed on that #12 is resolved via "
            "webhook instead",
        ),
    ],
)
async def test_lines_name_the_kind(kind: str, line: str) -> None:
    n = Notification(**{**PAGE.__dict__, "kind": kind})
    result = await deliver(n, [email(GiveUp("x")), webhook()])
    assert result.lines == (line,)


# -- the pure decision -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("outcome", "attempt", "expected"),
    [
        (Delivered("ok"), 1, ("done", 0.0)),
        (GiveUp("no"), 1, ("next", 0.0)),
        (Retry("blip"), 1, ("again", 1.0)),
        (Retry("blip"), 2, ("next", 0.0)),
        (Retry("429", timedelta(seconds=2)), 1, ("again", 2.0)),
        (Retry("429", timedelta(seconds=3)), 1, ("next", 0.0)),
    ],
)
def test_next_step(outcome: Outcome, attempt: int, expected: tuple[str, float]) -> None:
    step, wait = next_step(outcome, attempt, FallbackPolicy())
    assert (step, wait.total_seconds()) == expected


def test_more_attempts_back_off_until_the_wait_is_too_long() -> None:
    policy = FallbackPolicy(attempts_per_channel=5, max_inline_wait=timedelta(seconds=4))
    steps = [next_step(Retry("x"), n, policy) for n in range(1, 6)]
    assert [(s, w.total_seconds()) for s, w in steps] == [
        ("again", 1.0),
        ("again", 2.0),
        ("again", 4.0),
        ("next", 0.0),
        ("next", 0.0),
    ]


# -- the message and the outbox bridge ---------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [({"severity": "P9"}, "severity"), ({"kind": "sms"}, "kind"), ({"key": " "}, "key")],
)
def test_notification_checks_its_fields(change: dict[str, str], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Notification(**{**PAGE.__dict__, **change})
    assert caught.value.field == field


def test_headline_is_the_first_line() -> None:
    n = Notification(**{**PAGE.__dict__, "text": "\nfirst line\nsecond"})
    assert n.headline == "first line"


def test_outbox_bridge_backs_off_only_without_a_remote_wait() -> None:
    assert to_outbox_outcome(Delivered("ok"), attempts=1) == Delivered()
    assert to_outbox_outcome(GiveUp("no"), attempts=1) == GiveUp("no")
    assert to_outbox_outcome(Retry("x"), attempts=3) == Retry("x", timedelta(seconds=4))
    waited = Retry("429", timedelta(seconds=30))
    assert to_outbox_outcome(waited, attempts=3) == Retry("429", timedelta(seconds=30))
