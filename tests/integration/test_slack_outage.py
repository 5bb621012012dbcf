"""Slack's Web API unreachable: slash commands are still answered, and the queue drains soon
after Slack comes back, however long the outage was.

Signed requests over real HTTP into Vigil's own server, answers and posts through the real
slack_sdk to the local stand-in. The outage is simulated time (the FakeClock) for the queue:
the worker is run at each moment it says something is due, as its run loop does.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from types import MappingProxyType
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.chat.slack.settings import SlackSettings
from bot.core.secret import Secret
from bot.outbox.retry import MAX_BACKOFF
from bot.runtime.app import Vigil
from tests.conftest import MakeVigil
from tests.slack_signing import post_signed, slash_command_body
from tests.slack_standin import SlackStandin
from tests.support import FakeClock

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
SAM = "U0SAM0001"
DRAIN_WITHIN = timedelta(seconds=30)


@dataclass
class Rig:
    vigil: Vigil
    slack: SlackStandin
    http: TestClient[Any, Any]
    session: aiohttp.ClientSession
    channel: str

    async def command(self, text: str) -> tuple[aiohttp.ClientResponse, float, str]:
        """A signed /incident; the HTTP answer, how long the ack took, the response_url."""
        url = self.slack.response_url()
        body = slash_command_body("/incident", text, user_id=SAM, response_url=url)
        started = time.monotonic()
        resp = await post_signed(
            self.session, str(self.http.make_url("/slack/events")), body, SECRET
        )
        return resp, time.monotonic() - started, url


@pytest.fixture
async def rig(make_vigil: MakeVigil) -> AsyncIterator[Rig]:
    async with SlackStandin() as slack:
        channel = slack.add_channel("incidents")
        settings = SlackSettings(
            bot_token=Secret("xoxb-test"),
            signing_secret=Secret(SECRET),
            api_url=slack.url,
            alerts_channel="#incidents",
            responder_groups=MappingProxyType({}),
        )
        slack.down("hang", web_api_only=True)  # silent before Vigil even starts
        vigil = await make_vigil(slack=settings)
        async with (
            TestClient(TestServer(vigil.web_app(), host="127.0.0.1")) as http,
            aiohttp.ClientSession() as session,
        ):
            yield Rig(vigil, slack, http, session, channel)


async def test_slash_commands_are_answered_while_the_web_api_is_unreachable(rig: Rig) -> None:
    assert rig.vigil.slack is not None
    await rig.vigil.slack.backend.start()  # the start-up token check fails, in the background
    await rig.slack.wait_for(lambda: rig.slack.calls_to("auth.test"))
    assert not rig.slack.calls_to("auth.test")[0].ok

    opened, ack_new, new_url = await rig.command("new Ranker down --sev P2")
    [announced] = await rig.slack.wait_for(lambda: rig.slack.responses_to(new_url))
    assert "#1" in announced.text
    listed, ack_list, list_url = await rig.command("list")
    [answer] = await rig.slack.wait_for(lambda: rig.slack.responses_to(list_url))
    assert "Ranker down" in answer.text
    assert (opened.status, listed.status) == (200, 200)
    assert max(ack_new, ack_list) < 3.0  # Slack's limit for the ack
    assert all(not c.ok for c in rig.slack.calls_to("auth.test"))  # none answered, none needed

    rig.slack.down("503", web_api_only=True)  # refusing now: the form cannot open
    empty, ack_empty, form_url = await rig.command("")
    [no_form] = await rig.slack.wait_for(lambda: rig.slack.responses_to(form_url))
    assert (empty.status, ack_empty < 3.0) == (200, True)
    assert no_form.text.startswith("⚠️ The new-incident form could not be opened")
    assert "/incident new TITLE" in no_form.text

    rig.slack.up()  # the background check verifies the token once Slack answers
    identity = rig.vigil.slack.front.identity
    await asyncio.wait_for(identity.known.wait(), 10)
    verified = identity.verified
    assert verified is not None
    assert (verified.team_id, verified.user_id) == ("T0VIGIL01", "UBOT")


async def test_after_a_long_outage_the_queue_drains_within_30_s_of_slacks_return(
    rig: Rig, clock: FakeClock
) -> None:
    assert rig.vigil.slack is not None
    rig.slack.down("503")  # refusing at once: each attempt fails without waiting
    outbox = rig.vigil.slack.outbox
    for title in ("Ranker down", "Scorer slow", "Feature store stale"):
        await rig.vigil.incidents.open(title=title, actor="<@U0SAM0001>", severity="P2")
    down_since = clock()
    await outbox.run_once(clock())
    waits: list[timedelta] = []
    while clock() - down_since < timedelta(minutes=15):  # long enough for 5 min of backoff
        due = await outbox.next_due()
        assert due is not None
        waits.append(due - clock())
        clock.now = max(due, clock())
        await outbox.run_once(clock())
    assert max(waits) <= MAX_BACKOFF  # the backoff stopped growing at the cap

    rig.slack.up()
    back = clock()
    while await outbox.pending():
        due = await outbox.next_due()
        assert due is not None
        clock.now = max(due, clock())
        await outbox.run_once(clock())
    drained_after = clock() - back
    assert drained_after <= DRAIN_WITHIN, drained_after
    messages = rig.slack.messages(rig.channel)
    cards = [m.text for m in messages if m.thread_ts is None]
    # One card each (incidents are delivered side by side: their order is not kept).
    assert sorted(c.split(" ", 3)[:3] for c in cards) == [["🟠", "P2", f"#{n}"] for n in (1, 2, 3)]
    replies = [(m.thread_ts, m.text.split(": ", 1)[1]) for m in messages if m.thread_ts]
    assert len(replies) == len(set(replies)) == 3 * 2  # "Opened by …" and "P2: set by …", once
