"""Slack end to end: signed slash commands and button clicks over real HTTP into Vigil's own
server, answers and cards out through the real slack_sdk to a local Slack stand-in.

The outbox worker is driven with ``run_once`` on the FakeClock, so outages, Retry-After and
restarts are shown without sleeping.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.chat.slack.blocks.actions import (
    ACK,
    CONTAIN,
    ESCALATE,
    RESOLVE,
    ROLLBACK,
    ROLLBACK_CONFIRM,
)
from bot.chat.slack.settings import SlackSettings
from bot.config.load import load_settings
from bot.core.secret import Secret
from bot.incidents.reactions.changes import Change
from bot.ingest.generic import parse_generic
from bot.runtime.app import Vigil
from tests.conftest import MakeVigil
from tests.slack_signing import block_action_body, post_signed, slash_command_body
from tests.slack_standin import SlackStandin
from tests.support import FakeClock

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
SAM = "U0SAM0001"  # a responder
EVE = "U0EVE0001"  # not a responder


@dataclass
class Rig:
    vigil: Vigil
    slack: SlackStandin
    http: TestClient[Any, Any]
    session: aiohttp.ClientSession
    channel: str

    async def command(
        self,
        command: str,
        text: str,
        *,
        user: str = SAM,
        retry_num: int | None = None,
        body: bytes | None = None,
    ) -> tuple[aiohttp.ClientResponse, bytes]:
        url = self.slack.response_url()
        body = body or slash_command_body(command, text, user_id=user, response_url=url)
        resp = await post_signed(
            self.session,
            str(self.http.make_url("/slack/events")),
            body,
            SECRET,
            retry_num=retry_num,
        )
        return resp, body

    async def click(self, action_id: str, value: str, *, user: str = SAM) -> aiohttp.ClientResponse:
        body = block_action_body(
            action_id, value, user_id=user, response_url=self.slack.response_url()
        )
        return await post_signed(
            self.session, str(self.http.make_url("/slack/events")), body, SECRET
        )

    async def flush(self, clock: FakeClock) -> int:
        assert self.vigil.slack is not None
        return await self.vigil.slack.outbox.run_once(clock())


def _settings(url: str) -> SlackSettings:
    return SlackSettings(
        bot_token=Secret("xoxb-test"),
        signing_secret=Secret(SECRET),
        api_url=url,
        alerts_channel="#incidents",
        users=MappingProxyType({"@maya": "U0MAYA001"}),
        responder_groups=MappingProxyType({"ml-oncall": frozenset({SAM})}),
    )


@pytest.fixture
async def rig(make_vigil: MakeVigil) -> AsyncIterator[Rig]:
    async with SlackStandin() as slack:
        channel = slack.add_channel("incidents")
        vigil = await make_vigil(slack=_settings(slack.url))
        async with (
            TestClient(TestServer(vigil.web_app(), host="127.0.0.1")) as http,
            aiohttp.ClientSession() as session,
        ):
            yield Rig(vigil, slack, http, session, channel)


async def _responses(rig: Rig, count: int) -> list[Any]:
    await rig.slack.wait_for(lambda: len(rig.slack.responses) >= count)
    return rig.slack.responses


async def test_a_bad_or_stale_signature_gets_401_and_does_nothing(rig: Rig) -> None:
    body = slash_command_body(
        "/incident", "new Ranker down --sev P1", user_id=SAM, response_url=rig.slack.response_url()
    )
    url = str(rig.http.make_url("/slack/events"))
    bad = await post_signed(rig.session, url, body, "not-the-secret")
    stale = await post_signed(rig.session, url, body, SECRET, timestamp=int(time.time()) - 600)
    assert (bad.status, stale.status) == (401, 401)
    assert await rig.vigil.incidents.list(include_closed=True) == []


async def test_slash_command_is_acked_then_answered_and_the_card_follows(
    rig: Rig, clock: FakeClock
) -> None:
    resp, _ = await rig.command("/incident", "new Ranker p99 over 2s --sev P2 --model ranker")
    assert resp.status == 200
    assert resp.content_length == 0  # the bare ack: the answer comes after, by response_url
    [answer] = await _responses(rig, 1)
    assert answer.response_type == "in_channel"
    assert answer.text.startswith("🟠 P2 #1 opened by <@U0SAM0001>: Ranker p99 over 2s.")

    await rig.flush(clock)
    [card, *replies] = rig.slack.messages(rig.channel)
    assert card.text.startswith("🟠 P2 #1")
    assert [b["action_id"] for b in _buttons(card.blocks)] == [
        ACK,
        ESCALATE,
        CONTAIN,
        RESOLVE,
        ROLLBACK,
    ]
    assert replies
    assert all(r.thread_ts == card.ts for r in replies)


async def test_errors_and_usage_go_to_the_caller_only(rig: Rig) -> None:
    await rig.command("/incident", "ack abc")
    [answer] = await _responses(rig, 1)
    assert answer.response_type == "ephemeral"
    assert "Usage: /incident ack N" in answer.text


async def test_each_button_updates_the_card_in_place(rig: Rig, clock: FakeClock) -> None:
    await rig.vigil.incidents.open(title="Ranker p99 over 2s", actor="<@U0SAM0001>", severity="P2")
    await rig.flush(clock)
    [card] = [m for m in rig.slack.messages(rig.channel) if m.thread_ts in (None, m.ts)]
    watch = StateWatch(rig.vigil)
    for action, state in ((ACK, "acknowledged"), (RESOLVE, "resolved")):
        resp = await rig.click(action, "1")
        assert resp.status == 200
        await watch.reached(1, state)
        for _ in range(5):  # bounded: a flush during a follow-up's last step holds the card
            clock.advance(seconds=1)
            await rig.flush(clock)
            updated = rig.slack.message(rig.channel, card.ts)
            if state in json.dumps(updated.blocks).lower():
                break
        assert state in json.dumps(updated.blocks).lower()
    assert len(rig.slack.calls_to("chat.update")) >= 2
    assert _buttons(rig.slack.message(rig.channel, card.ts).blocks) == []  # resolved: none


async def test_a_double_click_acknowledges_once(rig: Rig, clock: FakeClock) -> None:
    await rig.vigil.incidents.open(title="Ranker down", actor="<@U0SAM0001>", severity="P1")
    await rig.click(ACK, "1")
    await rig.click(ACK, "1")
    [refusal] = await _responses(rig, 1)
    assert refusal.text == "⚠️ Incident #1 is already acknowledged."
    view = await rig.vigil.incidents.get(1)
    assert [e.kind for e in view.timeline].count("state") == 1


async def test_a_retried_delivery_is_not_run_twice(rig: Rig) -> None:
    _, body = await rig.command("/incident", "new Ranker down --sev P3")
    await _responses(rig, 1)
    resp, _ = await rig.command("/incident", "", body=body, retry_num=1)
    assert resp.status == 200
    assert len(await rig.vigil.incidents.list()) == 1


async def test_rollback_asks_first_names_the_versions_and_refuses_non_responders(
    rig: Rig, clock: FakeClock
) -> None:
    registry = rig.vigil.registry
    for version in ("v1", "v2", "v3"):
        await registry.register("fraud-scorer", version, actor="ci")
        await registry.promote("fraud-scorer", version, actor="ci")
    await rig.vigil.incidents.open(
        title="Fraud scorer accuracy", actor="<@U0SAM0001>", severity="P2", model="fraud-scorer"
    )

    await rig.command("/rollback", "fraud-scorer --incident 1", user=EVE)
    [refused] = await _responses(rig, 1)
    assert refused.response_type == "ephemeral"
    assert refused.text.startswith("⛔ Only responders (ml-oncall) may roll back models.")
    assert (await registry.stable("fraud-scorer")).version == "v3"  # type: ignore[union-attr]
    timeline = [e.text for e in (await rig.vigil.incidents.get(1)).timeline]
    assert "<@U0EVE0001> tried to roll back models; refused (not a responder)" in timeline

    await rig.command("/rollback", "fraud-scorer --incident 1", user=SAM)
    [_, ask] = await _responses(rig, 2)
    assert ask.text == "Roll back fraud-scorer: replace v3 with v2?"
    confirm = next(b for b in _buttons(ask.blocks) if b["action_id"] == ROLLBACK_CONFIRM)
    assert (await registry.stable("fraud-scorer")).version == "v3"  # type: ignore[union-attr]

    await rig.click(ROLLBACK_CONFIRM, confirm["value"])
    await rig.click(ROLLBACK_CONFIRM, confirm["value"])  # the double click
    answers = await _responses(rig, 4)
    texts = sorted(r.text.splitlines()[0] for r in answers[2:])
    assert texts[0].startswith("⏪ fraud-scorer rolled back: v3 → v2")
    assert texts[1].startswith("⚠️ Already done: fraud-scorer now serves v2, not v3.")
    assert (await registry.stable("fraud-scorer")).version == "v2"  # type: ignore[union-attr]


async def test_the_outbox_survives_an_outage_and_a_restart_in_order(
    rig: Rig, clock: FakeClock, make_vigil: MakeVigil
) -> None:
    rig.slack.down()
    await rig.vigil.incidents.open(title="Ranker down", actor="<@U0SAM0001>", severity="P1")
    await rig.vigil.incidents.note(1, "first note", actor="<@U0SAM0001>")
    await rig.vigil.incidents.note(1, "second note", actor="<@U0SAM0001>")
    await rig.flush(clock)
    assert rig.slack.messages(rig.channel) == []
    await rig.vigil.close()  # the bot restarts while Slack is still down

    rig.slack.up()
    again = await make_vigil(slack=_settings(rig.slack.url))
    assert again.slack is not None
    clock.advance(minutes=5)
    await again.slack.outbox.run_once(clock())
    messages = rig.slack.messages(rig.channel)
    texts = [m.text for m in messages]
    assert texts[0].startswith("🔴 P1 #1")
    replies = [t for t in texts[1:] if "note" in t]
    assert [("first" in t, "second" in t) for t in replies] == [(True, False), (False, True)]
    posts = len(rig.slack.calls_to("chat.postMessage"))
    clock.advance(minutes=5)
    await again.slack.outbox.run_once(clock())
    assert len(rig.slack.calls_to("chat.postMessage")) == posts  # nothing twice


async def test_retry_after_is_honoured(rig: Rig, clock: FakeClock) -> None:
    rig.slack.fail_next("chat.postMessage", kind="ratelimited", retry_after=30)
    await rig.vigil.incidents.open(title="Ranker down", actor="<@U0SAM0001>", severity="P1")
    await rig.flush(clock)
    tried = len(rig.slack.calls)
    clock.advance(seconds=29)
    await rig.flush(clock)
    assert len(rig.slack.calls) == tried  # not before Retry-After
    clock.advance(seconds=1)
    await rig.flush(clock)
    assert rig.slack.messages(rig.channel)[0].text.startswith("🔴 P1 #1")


async def _paged(
    make_vigil: MakeVigil, slack: SlackStandin, clock: FakeClock, tmp_path: Any, levels: list[str]
) -> Vigil:
    """A Vigil on ``slack`` paging ``levels`` (5 min each) for a P2 accuracy alert it has
    just taken, its outbox flushed once (the card and level 1's DM sent)."""
    path = tmp_path / "vigil.yaml"
    steps = "".join(f"    - {{notify: ['{who}'], wait: 5m}}\n" for who in levels)
    path.write_text(f"escalation:\n  levels:\n{steps}")
    vigil = await make_vigil(slack=_settings(slack.url), oncall=load_settings(path, {}).oncall)
    alert = {
        "title": "Accuracy below SLA",
        "value": 0.71,
        "labels": {"alertname": "ModelAccuracyBelowSLA", "model": "fraud-scorer", "sla": "0.9"},
    }
    await vigil.ingestor.ingest(parse_generic(alert, now=clock()))
    assert vigil.slack is not None
    await vigil.slack.outbox.run_once(clock())
    return vigil


async def test_a_page_is_a_dm_with_buttons_and_acking_from_it_stops_escalation(
    make_vigil: MakeVigil, clock: FakeClock, tmp_path: Any
) -> None:
    async with SlackStandin() as slack:
        channel = slack.add_channel("incidents")
        vigil = await _paged(make_vigil, slack, clock, tmp_path, ["@maya", "<@U0SAM0001>"])
        assert vigil.slack is not None
        watch = StateWatch(vigil)
        [dm_open] = slack.calls_to("conversations.open")
        assert dm_open.args["users"] == "U0MAYA001"
        dm = [c for c in slack.calls_to("chat.postMessage") if c.args["channel"].startswith("D")]
        assert len(dm) == 1
        assert [b["action_id"] for b in _buttons(dm[0].args["blocks"])][:2] == [
            ACK,
            ESCALATE,
        ]
        async with (
            TestClient(TestServer(vigil.web_app(), host="127.0.0.1")) as http,
            aiohttp.ClientSession() as session,
        ):
            body = block_action_body(
                ACK, "1", user_id="U0MAYA001", response_url=slack.response_url()
            )
            await post_signed(session, str(http.make_url("/slack/events")), body, SECRET)
            await watch.reached(1, "acknowledged")
        assert (await vigil.incidents.get(1)).state == "acknowledged"
        assert [t for t in await vigil.timers.pending() if t.kind == "escalate"] == []
        for _ in range(5):  # bounded: a flush during a follow-up's last step holds the card
            clock.advance(minutes=1)
            await vigil.slack.outbox.run_once(clock())
            [card] = [m for m in slack.messages(channel) if m.thread_ts in (None, m.ts)]
            if "acknowledged" in json.dumps(card.blocks).lower():
                break
        assert "acknowledged" in json.dumps(card.blocks).lower()


async def test_a_slack_page_says_what_every_channel_says_and_escalate_is_the_command(
    make_vigil: MakeVigil, clock: FakeClock, tmp_path: Any
) -> None:
    # The DM was worded apart from the page every other channel gets: it lacked who is paged
    # next and when, and its Escalate button skipped the command path /incident escalate takes.
    async with SlackStandin() as slack:
        slack.add_channel("incidents")
        vigil = await _paged(make_vigil, slack, clock, tmp_path, ["@maya", "@sam", "@lee"])
        [dm] = [c for c in slack.calls_to("chat.postMessage") if c.args["channel"].startswith("D")]
        page = next(e for e in (await vigil.incidents.get(1)).timeline if e.kind == "page")
        head, why = str(page.data["text"]).split("\n")
        assert "otherwise @sam is paged at " in head, head
        assert dm.args["text"] == head
        context = json.dumps(dm.args["blocks"][1])
        assert why.startswith("Why: P2: accuracy 0.71 below SLA 0.90"), why
        assert why in context, context
        async with (
            TestClient(TestServer(vigil.web_app(), host="127.0.0.1")) as http,
            aiohttp.ClientSession() as session,
        ):
            answered = slack.response_url()
            press = block_action_body(ESCALATE, "1", user_id="U0MAYA001", response_url=answered)
            await post_signed(session, str(http.make_url("/slack/events")), press, SECRET)
            [said] = await slack.wait_for(lambda: slack.responses_to(answered), timeout=10)
        assert said.response_type == "ephemeral"
        assert "escalated by <@U0MAYA001>: the next level is paged now" in said.text, said.text
        typed = await vigil.commands.run_incident("escalate 1", actor="<@U0MAYA001>")
        assert typed.text == said.text  # one command path, one answer
        timeline = (await vigil.incidents.get(1)).timeline
        assert [e.data.get("level") for e in timeline if e.kind == "page"] == [1, 2, 3]


def _buttons(message_blocks: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    return [
        element
        for block in message_blocks or []
        if block.get("type") == "actions"
        for element in block["elements"]
    ]


class StateWatch:
    """Waits, without sleeping, until a listener hears the incident reach a state: the click's
    work runs after Bolt has acknowledged it, so the HTTP answer comes first."""

    def __init__(self, vigil: Vigil) -> None:
        self._reached: dict[tuple[int, str], asyncio.Event] = {}
        # A follower of its own, registered after the bot's: an incident's follow-ups run in
        # order, so when this one hears a change, stopping the escalation (say) is done.
        vigil.notifier.follow("test-state-watch", self._hear, wants=lambda change: True)

    async def _hear(self, change: Change) -> None:
        self._event(change.incident.id, change.incident.state).set()

    def _event(self, incident: int, state: str) -> asyncio.Event:
        return self._reached.setdefault((incident, state), asyncio.Event())

    async def reached(self, incident: int, state: str) -> None:
        """The change is committed and the bot's follow-ups of it have run."""
        await asyncio.wait_for(self._event(incident, state).wait(), timeout=10)


async def test_metrics_show_the_outbox_depth_while_slack_is_down(
    rig: Rig, clock: FakeClock
) -> None:
    rig.slack.down()
    await rig.vigil.incidents.open(title="Ranker down", actor="<@U0SAM0001>", severity="P1")
    await rig.flush(clock)
    text = await (await rig.http.get("/metrics")).text()
    assert "vigil_outbox_depth 2.0" in text  # "opened" and its severity entry, both waiting
    rig.slack.up()
    clock.advance(minutes=5)
    await rig.flush(clock)
    text = await (await rig.http.get("/metrics")).text()
    assert "vigil_outbox_depth 0.0" in text
