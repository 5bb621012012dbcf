"""The notification channels against local stand-ins speaking each wire format.

PagerDuty: ``tests.pagerduty_standin`` (Events API v2 and the PagerDuty UI's webhooks). The
generic webhook: a small aiohttp receiver below that checks signatures with the receiver
helper we ship. E-mail: a real SMTP server, aiosmtpd's ``Controller``, on 127.0.0.1. All on
ephemeral ports, all stopped by their fixtures; every network wait is bounded by the
channel's own timeout.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from bot.core.errors import ConfigError
from bot.core.retry_outcome import Delivered, GiveUp, Retry
from bot.core.secret import Secret
from bot.notify.base import Notification
from bot.notify.email import EmailChannel
from bot.notify.fallback import deliver
from bot.notify.http import Reply
from bot.notify.pagerduty.events import PagerDutyChannel, classify
from bot.notify.pagerduty.webhook import SIGNATURE_HEADER as PD_SIGNATURE
from bot.notify.pagerduty.webhook import parse_webhook
from bot.notify.pagerduty.webhook import verify_signature as verify_pd
from bot.notify.webhook import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WebhookChannel,
    sign,
    verify_signature,
)
from tests.pagerduty_standin import ROUTING_KEY, PagerDutyStandin, signature
from tests.smtp_standin import (
    SMTP_PASSWORD,
    SMTP_USER,
    SmtpServer,
    authenticator,
    start_smtp,
)
from tests.support import FakeClock

TITLE = "fraud-scorer accuracy below SLA"
TEXT = (
    "🔴 P1 #12 fraud-scorer accuracy below SLA — you are paged (level 1). "
    "Acknowledge: /incident ack 12\nWhy: estimated accuracy 0.71 < SLA 0.90 for 15 min"
)
PAGE = Notification(
    incident_id=12,
    key="vigil:12",
    severity="P1",
    title=TITLE,
    text=TEXT,
    target="@maya",
    url="https://vigil.example.com/incidents/12",
    service="fraud-scorer",
)
OTHER_KEY = "Z9Y8X7W6V5U4T3S2R1Q0P9O8N7M6L5K4"  # 32 characters, not known to the stand-in
HOOK_SECRET = "hook-secret-0123456789abcdef"
PD_WEBHOOK_SECRET = "pd-webhook-secret-abcdef0123456789"


def kind(n: Notification, k: str) -> Notification:
    return Notification(**{**n.__dict__, "kind": k})


def closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def pd_status(pd: PagerDutyStandin, key: str) -> str | None:
    """What the PagerDuty UI shows for the incident of ``key`` (None: no such incident)."""
    incident = pd.incident(key)
    return incident.status if incident is not None else None


def outcome_text(outcome: Delivered | Retry | GiveUp) -> str:
    return outcome.detail if isinstance(outcome, Delivered) else outcome.reason


@pytest.fixture
async def pd() -> AsyncIterator[PagerDutyStandin]:
    async with PagerDutyStandin() as standin:
        yield standin


@pytest.fixture
async def pd_channel(pd: PagerDutyStandin) -> AsyncIterator[PagerDutyChannel]:
    channel = PagerDutyChannel(routing_key=Secret(ROUTING_KEY), url=pd.url, timeout=5)
    yield channel
    await channel.aclose()


# -- PagerDuty ---------------------------------------------------------------------------------


async def test_pagerduty_trigger_acknowledge_resolve(
    pd: PagerDutyStandin, pd_channel: PagerDutyChannel
) -> None:
    triggered = await pd_channel.send(PAGE)
    assert triggered == Delivered("PagerDuty accepted the trigger for vigil:12 (Event processed)")
    incident = pd.incident("vigil:12")
    assert incident is not None
    assert (incident.status, incident.severity, incident.source) == (
        "triggered",
        "critical",
        "vigil",
    )
    assert incident.summary == "P1 #12 fraud-scorer accuracy below SLA"
    assert incident.custom_details == {"text": TEXT, "incident": 12, "severity": "P1"}
    assert incident.links == [
        {"href": "https://vigil.example.com/incidents/12", "text": "Vigil incident #12"}
    ]
    sent = pd.accepted("trigger")[0].body
    assert sent is not None
    assert sent["payload"]["component"] == "fraud-scorer"
    assert sent["client_url"] == "https://vigil.example.com/incidents/12"

    assert isinstance(await pd_channel.send(kind(PAGE, "acknowledge")), Delivered)
    assert pd_status(pd, "vigil:12") == "acknowledged"
    assert isinstance(await pd_channel.send(kind(PAGE, "resolve")), Delivered)
    assert pd_status(pd, "vigil:12") == "resolved"
    # Acknowledge and resolve carry only what PagerDuty reads.
    assert [sorted(e.body or {}) for e in pd.events[1:]] == [
        ["dedup_key", "event_action", "routing_key"]
    ] * 2
    assert len(pd.incidents) == 1


@pytest.mark.parametrize(
    ("severity", "expected"),
    [("P1", "critical"), ("P2", "error"), ("P3", "warning"), ("P4", "info")],
)
async def test_pagerduty_severity_mapping(
    pd: PagerDutyStandin, pd_channel: PagerDutyChannel, severity: str, expected: str
) -> None:
    n = Notification(**{**PAGE.__dict__, "severity": severity})
    assert isinstance(await pd_channel.send(n), Delivered)
    incident = pd.incident("vigil:12")
    assert incident is not None
    assert incident.severity == expected


async def test_pagerduty_reminder_folds_into_the_open_incident(
    pd: PagerDutyStandin, pd_channel: PagerDutyChannel
) -> None:
    await pd_channel.send(PAGE)
    assert isinstance(await pd_channel.send(kind(PAGE, "reminder")), Delivered)
    assert len(pd.incidents) == 1
    incident = pd.incident("vigil:12")
    assert incident is not None
    assert incident.alerts == 2


async def test_pagerduty_400_gives_up_quoting_its_errors(pd: PagerDutyStandin) -> None:
    channel = PagerDutyChannel(routing_key=Secret(OTHER_KEY), url=pd.url, timeout=5)
    try:
        outcome = await channel.send(PAGE)
    finally:
        await channel.aclose()
    assert outcome == GiveUp("Event object is invalid: Invalid routing key (HTTP 400)")
    assert pd.incidents == []


async def test_pagerduty_429_then_success(
    pd: PagerDutyStandin, pd_channel: PagerDutyChannel
) -> None:
    pd.fail_next(1, 429, retry_after=7)
    outcome = await pd_channel.send(PAGE)
    assert outcome == Retry("rate limited by PagerDuty (HTTP 429)", timedelta(seconds=7))
    assert pd.incidents == []  # a throttled event changes nothing
    assert isinstance(await pd_channel.send(PAGE), Delivered)
    assert len(pd.incidents) == 1


async def test_pagerduty_429_without_retry_after_is_retried_in_line(
    pd: PagerDutyStandin, pd_channel: PagerDutyChannel
) -> None:
    pd.fail_next(1, 429)
    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)

    result = await deliver(PAGE, [pd_channel], sleep=record)
    assert result.channel == "pagerduty"
    assert waits == [1.0]  # the caller's backoff, since PagerDuty named no wait
    assert [e.status for e in pd.events] == [429, 202]
    assert result.lines == ("Paged @maya via PagerDuty",)


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_pagerduty_5xx_retries_with_its_retry_after(
    pd: PagerDutyStandin, pd_channel: PagerDutyChannel, status: int
) -> None:
    pd.fail_next(1, status, retry_after=20)
    outcome = await pd_channel.send(PAGE)
    assert outcome == Retry(
        f"PagerDuty answered HTTP {status} (Internal error)", timedelta(seconds=20)
    )


async def test_pagerduty_dropped_connection_retries(
    pd: PagerDutyStandin, pd_channel: PagerDutyChannel
) -> None:
    pd.fail_next(1, kind="disconnect")
    outcome = await pd_channel.send(PAGE)
    assert isinstance(outcome, Retry)
    assert outcome.reason.startswith("no answer from PagerDuty: ")
    assert outcome.after is None


async def test_pagerduty_unreachable_retries() -> None:
    port = closed_port()
    channel = PagerDutyChannel(
        routing_key=Secret(ROUTING_KEY), url=f"http://127.0.0.1:{port}/v2/enqueue", timeout=5
    )
    try:
        outcome = await channel.send(PAGE)
    finally:
        await channel.aclose()
    assert isinstance(outcome, Retry)
    assert outcome.reason.startswith(
        f"no answer from PagerDuty: cannot connect to 127.0.0.1:{port}"
    )


@pytest.mark.parametrize(
    ("status", "kind_"),
    [(404, GiveUp), (413, GiveUp), (301, GiveUp), (408, Retry), (200, Delivered)],
)
async def test_pagerduty_other_statuses(
    pd: PagerDutyStandin, pd_channel: PagerDutyChannel, status: int, kind_: type
) -> None:
    pd.respond_next(status, {"status": "x", "message": "said so"}, headers={"Location": "/x"})
    assert isinstance(await pd_channel.send(PAGE), kind_)


async def test_pagerduty_dedup_key_too_long_is_refused_before_sending(
    pd: PagerDutyStandin, pd_channel: PagerDutyChannel
) -> None:
    n = Notification(**{**PAGE.__dict__, "key": "k" * 256})
    outcome = await pd_channel.send(n)
    assert isinstance(outcome, GiveUp)
    assert "255" in outcome.reason
    assert pd.events == []


async def test_routing_key_never_reaches_logs_or_outcomes(
    pd: PagerDutyStandin, pd_channel: PagerDutyChannel, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    outcomes = [await pd_channel.send(PAGE)]
    pd.fail_next(1, 429, retry_after=1)
    outcomes.append(await pd_channel.send(PAGE))
    pd.fail_next(1, 500)
    outcomes.append(await pd_channel.send(PAGE))
    pd.fail_next(1, kind="disconnect")
    outcomes.append(await pd_channel.send(PAGE))
    # A server that echoes the key back in its errors (PagerDuty does not, but a proxy might).
    pd.respond_next(
        400, {"message": "Event object is invalid", "errors": [f"bad key {ROUTING_KEY}"]}
    )
    outcomes.append(await pd_channel.send(PAGE))
    pd.respond_next(503, f"upstream said {ROUTING_KEY}")
    outcomes.append(await pd_channel.send(PAGE))
    wrong = PagerDutyChannel(routing_key=Secret(OTHER_KEY), url=pd.url, timeout=5)
    outcomes.append(await wrong.send(PAGE))
    await wrong.aclose()

    assert [type(o).__name__ for o in outcomes] == [
        "Delivered", "Retry", "Retry", "Retry", "GiveUp", "Retry", "GiveUp",
    ]  # fmt: skip
    assert "bad key ********" in outcome_text(outcomes[4])
    texts = [outcome_text(o) for o in outcomes] + [repr(o) for o in outcomes]
    texts += [r.getMessage() for r in caplog.records] + [repr(pd_channel)]
    assert caplog.records  # the channel did log
    for text in texts:
        assert ROUTING_KEY not in text
        assert OTHER_KEY not in text


def test_bad_routing_key_is_a_config_error_without_the_key() -> None:
    with pytest.raises(ConfigError) as caught:
        PagerDutyChannel(routing_key=Secret("short-secret-key"))
    assert caught.value.key == "pagerduty.routing_key"
    assert "short-secret-key" not in str(caught.value)


async def test_acknowledgement_in_pagerduty_comes_back_to_our_incident(
    pd: PagerDutyStandin, pd_channel: PagerDutyChannel
) -> None:
    """Both ways: our trigger opens the PagerDuty incident; a person acknowledges it there;
    PagerDuty's signed v3 webhook names our incident again."""
    await pd_channel.send(PAGE)
    body = pd.acknowledge_in_ui("vigil:12", by="Maya Lin")
    headers = {PD_SIGNATURE: signature(body, PD_WEBHOOK_SECRET)}
    assert verify_pd(body, headers[PD_SIGNATURE], Secret(PD_WEBHOOK_SECRET))
    ack = parse_webhook(body)
    assert ack is not None
    assert (ack.action, ack.incident_id(), ack.by, ack.by_person) == (
        "acknowledged",
        12,
        "Maya Lin",
        True,
    )
    # Our own acknowledgement then reaches an incident that is already acknowledged: no-op.
    assert isinstance(await pd_channel.send(kind(PAGE, "acknowledge")), Delivered)
    resolved = parse_webhook(pd.resolve_in_ui("vigil:12"))
    assert resolved is not None
    assert (resolved.action, resolved.incident_id()) == ("resolved", 12)


def test_classify_tolerates_a_body_that_is_not_json() -> None:
    outcome = classify("trigger", "vigil:1", Reply(400, None, "<html>Bad   Request</html>"))
    assert outcome == GiveUp("<html>Bad Request</html> (HTTP 400)")


# -- the generic webhook -----------------------------------------------------------------------


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    verified: bool


@dataclass
class Receiver:
    """A webhook receiver, as a team would write one with :func:`verify_signature`."""

    clock: FakeClock
    url: str = ""
    received: list[Received] = field(default_factory=list)
    answers: list[tuple[int, dict[str, str], str]] = field(default_factory=list)
    hang: asyncio.Event | None = None

    async def handle(self, request: web.Request) -> web.Response:
        if self.hang is not None:
            await self.hang.wait()
        body = await request.read()
        ok = verify_signature(
            Secret(HOOK_SECRET),
            request.headers.get(TIMESTAMP_HEADER),
            body,
            request.headers.get(SIGNATURE_HEADER),
            now=self.clock(),
        )
        self.received.append(Received(dict(request.headers), body, ok))
        if self.answers:
            status, headers, text = self.answers.pop(0)
            return web.Response(status=status, headers=headers, text=text)
        return web.Response(status=204) if ok else web.Response(status=401, text="bad signature")


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    rec = Receiver(FakeClock())
    app = web.Application()
    app.router.add_post("/hooks/vigil", rec.handle)
    runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    rec.url = f"http://{host}:{port}/hooks/vigil?token=url-token-in-query"
    try:
        yield rec
    finally:
        if rec.hang is not None:
            rec.hang.set()
        await runner.cleanup()


@pytest.fixture
async def hook(receiver: Receiver) -> AsyncIterator[WebhookChannel]:
    channel = WebhookChannel(receiver.url, Secret(HOOK_SECRET), clock=receiver.clock, timeout=5)
    yield channel
    await channel.aclose()


async def test_webhook_posts_signed_json(receiver: Receiver, hook: WebhookChannel) -> None:
    outcome = await hook.send(PAGE)
    assert outcome == Delivered("the webhook answered HTTP 204")
    [got] = receiver.received
    assert got.verified
    assert got.headers["Content-Type"] == "application/json; charset=utf-8"
    assert got.headers[TIMESTAMP_HEADER] == str(int(receiver.clock.now.timestamp()))
    assert json.loads(got.body) == {
        "event": "page",
        "incident": {
            "id": 12,
            "key": "vigil:12",
            "severity": "P1",
            "title": TITLE,
            "url": "https://vigil.example.com/incidents/12",
            "service": "fraud-scorer",
        },
        "target": "@maya",
        "text": TEXT,
        "sent_at": "2026-11-24T02:00:00Z",
    }


async def test_webhook_replay_and_tampering_are_rejected(
    receiver: Receiver, hook: WebhookChannel
) -> None:
    await hook.send(PAGE)
    [original] = receiver.received
    replay = {k: original.headers[k] for k in (TIMESTAMP_HEADER, SIGNATURE_HEADER)}
    async with aiohttp.ClientSession() as session:
        # Within the tolerance the receiver accepts a byte-identical copy (its job to dedup) ...
        receiver.clock.advance(minutes=4)
        async with session.post(receiver.url, data=original.body, headers=replay) as resp:
            assert resp.status == 204
        # ... but not once the timestamp is stale,
        receiver.clock.advance(minutes=2)
        async with session.post(receiver.url, data=original.body, headers=replay) as resp:
            assert resp.status == 401
        # nor with a fresh timestamp the signature does not cover,
        fresh = {**replay, TIMESTAMP_HEADER: str(int(receiver.clock.now.timestamp()))}
        async with session.post(receiver.url, data=original.body, headers=fresh) as resp:
            assert resp.status == 401
        # nor with a changed body.
        receiver.clock.advance(minutes=-6)
        tampered = original.body.replace(b'"P1"', b'"P4"')
        async with session.post(receiver.url, data=tampered, headers=replay) as resp:
            assert resp.status == 401
    assert [r.verified for r in receiver.received] == [True, True, False, False, False]


def test_webhook_signature_helper_edges() -> None:
    clock = FakeClock()
    now = int(clock.now.timestamp())
    body = b'{"event":"page"}'
    good = sign(Secret(HOOK_SECRET), now, body)
    assert verify_signature(Secret(HOOK_SECRET), str(now), body, good, now=clock.now)
    assert verify_signature(  # from the future, within tolerance (clock skew)
        Secret(HOOK_SECRET), str(now), body, good, now=clock.now - timedelta(minutes=4)
    )
    assert not verify_signature(
        Secret(HOOK_SECRET), str(now), body, good, now=clock.now - timedelta(minutes=6)
    )
    assert not verify_signature(Secret(HOOK_SECRET), "soon", body, good, now=clock.now)
    assert not verify_signature(Secret(HOOK_SECRET), None, body, good, now=clock.now)
    assert verify_signature(
        [Secret("another-secret-0123456789"), Secret(HOOK_SECRET)],
        str(now),
        body,
        "v1=" + "0" * 64 + "," + good,
        now=clock.now,
    )


SECONDS_12, SECONDS_3 = timedelta(seconds=12), timedelta(seconds=3)


@pytest.mark.parametrize(
    ("status", "headers", "expected"),
    [
        (500, {}, Retry("the webhook answered HTTP 500: boom")),
        (503, {"Retry-After": "12"}, Retry("the webhook answered HTTP 503: boom", SECONDS_12)),
        (429, {"Retry-After": "3"}, Retry("the webhook answered HTTP 429: boom", SECONDS_3)),
        (408, {}, Retry("the webhook answered HTTP 408: boom")),
        (410, {}, GiveUp("the webhook answered HTTP 410: boom")),
        (400, {}, GiveUp("the webhook answered HTTP 400: boom")),
        (200, {}, Delivered("the webhook answered HTTP 200")),
    ],
)  # fmt: skip
async def test_webhook_answers(
    receiver: Receiver,
    hook: WebhookChannel,
    status: int,
    headers: dict[str, str],
    expected: Delivered | Retry | GiveUp,
) -> None:
    receiver.answers.append((status, headers, "boom"))
    assert await hook.send(PAGE) == expected


async def test_webhook_unanswered_within_the_timeout_retries(receiver: Receiver) -> None:
    receiver.hang = asyncio.Event()
    channel = WebhookChannel(receiver.url, Secret(HOOK_SECRET), clock=receiver.clock, timeout=0.2)
    try:
        outcome = await channel.send(PAGE)
    finally:
        await channel.aclose()
    assert outcome == Retry("no answer from the webhook: no answer within 0.2 s")


async def test_webhook_secrets_stay_out_of_logs(
    receiver: Receiver, hook: WebhookChannel, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    receiver.answers.append((400, {}, f"rejected {HOOK_SECRET} at {receiver.url}"))
    outcome = await hook.send(PAGE)
    assert isinstance(outcome, GiveUp)
    texts = [r.getMessage() for r in caplog.records] + [outcome.reason]
    assert any("127.0.0.1" in t for t in texts)
    for text in texts:
        assert HOOK_SECRET not in text
        assert "url-token-in-query" not in text


def test_webhook_config_is_checked() -> None:
    with pytest.raises(ConfigError):
        WebhookChannel("ftp://example.com/x", Secret(HOOK_SECRET))
    with pytest.raises(ConfigError):
        WebhookChannel("https://example.com/x", Secret("short"))


# -- e-mail ------------------------------------------------------------------------------------


@pytest.fixture
def smtp_auth() -> Iterator[SmtpServer]:
    controller, server = start_smtp(authenticator=authenticator, auth_require_tls=False)
    try:
        yield server
    finally:
        controller.stop()


def mail_channel(port: int, **kwargs: Any) -> EmailChannel:
    return EmailChannel(
        "127.0.0.1",
        port,
        "Vigil <vigil@example.com>",
        addresses={"maya": "maya@example.com"},
        starttls=False,
        timeout=5,
        clock=FakeClock(),
        **kwargs,
    )


async def test_email_page_arrives_with_subject_and_body(smtp: SmtpServer) -> None:
    outcome = await mail_channel(smtp.port).send(PAGE)
    assert outcome == Delivered("mail to maya@example.com accepted (2.0.0 Ok: queued as 4711)")
    [envelope] = smtp.mailbox.mails
    assert envelope.mail_from == "vigil@example.com"
    assert envelope.rcpt_tos == ["maya@example.com"]
    msg = smtp.mailbox.message()
    assert msg["Subject"] == (
        "[P1] #12 fraud-scorer accuracy below SLA — acknowledge: /incident ack 12"
    )
    assert msg["To"] == "maya@example.com"
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg["References"] == "<vigil-12@example.com>"
    assert msg["X-Vigil-Severity"] == "P1"
    assert msg["Date"] == "Tue, 24 Nov 2026 02:00:00 +0000"
    content = msg.get_content()
    assert content.splitlines()[0] == TEXT.splitlines()[0]
    assert "Incident: https://vigil.example.com/incidents/12" in content
    assert "incident key vigil:12" in content


@pytest.mark.parametrize(
    ("k", "tail"),
    [
        ("reminder", "reminder, acknowledge: /incident ack 12"),
        ("acknowledge", "acknowledged"),
        ("resolve", "resolved"),
    ],
)
async def test_email_subjects_follow_the_kind(smtp: SmtpServer, k: str, tail: str) -> None:
    assert isinstance(await mail_channel(smtp.port).send(kind(PAGE, k)), Delivered)
    assert smtp.mailbox.message()["Subject"] == f"[P1] #12 {TITLE} — {tail}"


async def test_email_to_an_address_target_and_a_header_safe_title(smtp: SmtpServer) -> None:
    n = Notification(**{**PAGE.__dict__, "target": "ops@example.org", "title": "evil\r\nBcc: x@y"})
    assert isinstance(await mail_channel(smtp.port).send(n), Delivered)
    msg = smtp.mailbox.message()
    assert msg["Bcc"] is None
    assert msg["Subject"].startswith("[P1] #12 evil Bcc: x@y — ")
    assert smtp.mailbox.mails[0].rcpt_tos == ["ops@example.org"]


async def test_email_unknown_handle_gives_up_without_connecting(smtp: SmtpServer) -> None:
    n = Notification(**{**PAGE.__dict__, "target": "@bob"})
    assert await mail_channel(smtp.port).send(n) == GiveUp("no e-mail address known for @bob")
    assert smtp.mailbox.mails == []


async def test_email_550_gives_up(smtp: SmtpServer) -> None:
    smtp.mailbox.rcpt_reply = "550 5.1.1 <maya@example.com>: no such user"
    outcome = await mail_channel(smtp.port).send(PAGE)
    assert outcome == GiveUp(
        "the recipient was refused (550 5.1.1 <maya@example.com>: no such user)"
    )


async def test_email_451_retries(smtp: SmtpServer) -> None:
    smtp.mailbox.rcpt_reply = "451 4.7.1 greylisted, try again later"
    outcome = await mail_channel(smtp.port).send(PAGE)
    assert outcome == Retry("the recipient was deferred (451 4.7.1 greylisted, try again later)")


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("554 5.7.1 message rejected as spam", GiveUp),
        ("452 4.3.1 insufficient system storage", Retry),
    ],
)
async def test_email_data_refusals(smtp: SmtpServer, reply: str, expected: type) -> None:
    smtp.mailbox.data_reply = reply
    outcome = await mail_channel(smtp.port).send(PAGE)
    assert isinstance(outcome, expected)
    assert reply[:3] in outcome_text(outcome)


async def test_email_server_down_retries() -> None:
    outcome = await mail_channel(closed_port()).send(PAGE)
    assert isinstance(outcome, Retry)
    assert outcome.reason.startswith("no connection to the mail server")


async def test_email_starttls_required_but_not_offered_gives_up(smtp: SmtpServer) -> None:
    channel = EmailChannel("127.0.0.1", smtp.port, "vigil@example.com", timeout=5)
    outcome = await channel.send(Notification(**{**PAGE.__dict__, "target": "m@example.com"}))
    assert isinstance(outcome, GiveUp)
    assert "STARTTLS" in outcome.reason


async def test_email_login(smtp_auth: SmtpServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="bot")
    good = mail_channel(smtp_auth.port, username=SMTP_USER, password=Secret(SMTP_PASSWORD))
    assert isinstance(await good.send(PAGE), Delivered)
    bad = mail_channel(smtp_auth.port, username=SMTP_USER, password=Secret("wrong-password"))
    outcome = await bad.send(PAGE)
    assert isinstance(outcome, GiveUp)
    assert outcome.reason.startswith("login refused (535")
    assert outcome.reason.endswith("check the SMTP username and password")
    assert len(smtp_auth.mailbox.mails) == 1
    for text in [r.getMessage() for r in caplog.records] + [outcome.reason, repr(good)]:
        assert SMTP_PASSWORD not in text
        assert "wrong-password" not in text


def test_email_config_is_checked() -> None:
    with pytest.raises(ConfigError):
        EmailChannel("h", 25, "not-an-address")
    with pytest.raises(ConfigError):
        EmailChannel("h", 465, "v@example.com", starttls=True, implicit_tls=True)
    with pytest.raises(ConfigError):
        EmailChannel("h", 25, "v@example.com", username="only-the-user")


# -- fallback across real channels -------------------------------------------------------------


async def test_refused_page_falls_back_to_email(pd: PagerDutyStandin, smtp: SmtpServer) -> None:
    refused = PagerDutyChannel(routing_key=Secret(OTHER_KEY), url=pd.url, timeout=5)
    try:
        result = await deliver(PAGE, [refused, mail_channel(smtp.port)])
    finally:
        await refused.aclose()
    assert result.lines == (
        "PagerDuty refused the page (Event object is invalid: Invalid routing key (HTTP 400)); "
        "paged @maya by e-mail instead",
    )
    assert result.channel == "email"
    assert [a.channel for a in result.attempts] == ["pagerduty", "email"]
    assert pd.incidents == []
    assert smtp.mailbox.message()["Subject"].startswith("[P1] #12 ")
