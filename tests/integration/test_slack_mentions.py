"""Who did what, in an incident's Slack thread: a person Vigil names is a mention (Slack
shows the name), while a mention someone typed into a note stays text (it pings nobody).
Read from the text the bot actually posted to the Slack stand-in."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import MappingProxyType

import aiohttp
from aiohttp.test_utils import TestClient, TestServer

from bot.chat.slack.settings import SlackSettings
from bot.config.load import load_settings
from bot.core.secret import Secret
from bot.incidents.reactions.changes import Change
from bot.ingest.generic import parse_generic
from bot.runtime.app import Vigil
from tests.conftest import MakeVigil
from tests.slack_signing import post_signed, slash_command_body
from tests.slack_standin import SlackStandin
from tests.support import FakeClock

SECRET = "5e6f708192a3b4c5d6e7f8091a2b3c4d"
SAM = "U0SAM0001"


async def test_the_thread_names_who_stopped_the_paging_and_keeps_typed_mentions_as_text(
    make_vigil: MakeVigil, clock: FakeClock, tmp_path: Path
) -> None:
    path = tmp_path / "vigil.yaml"
    path.write_text("escalation:\n  levels:\n    - {notify: ['@maya'], wait: 5m}\n")
    async with SlackStandin() as slack:
        channel = slack.add_channel("incidents")
        settings = SlackSettings(
            bot_token=Secret("xoxb-test"),
            signing_secret=Secret(SECRET),
            api_url=slack.url,
            alerts_channel="#incidents",
            users=MappingProxyType({"@maya": "U0MAYA001"}),
        )
        vigil = await make_vigil(slack=settings, oncall=load_settings(path, {}).oncall)
        noted = _heard(vigil, "note")
        alert = {
            "title": "Accuracy below SLA",
            "value": 0.71,
            "labels": {"alertname": "ModelAccuracyBelowSLA", "model": "ranker", "sla": "0.9"},
        }
        await vigil.ingestor.ingest(parse_generic(alert, now=clock()))
        async with (
            TestClient(TestServer(vigil.web_app(), host="127.0.0.1")) as http,
            aiohttp.ClientSession() as session,
        ):
            url = str(http.make_url("/slack/events"))
            for text in ("ack 1", "note 1 asked <@U0EVE0001> & <!channel>"):
                body = slash_command_body(
                    "/incident", text, user_id=SAM, response_url=slack.response_url()
                )
                before = len(slack.responses)
                assert (await post_signed(session, url, body, SECRET)).status == 200
                await slack.wait_for(lambda n=before: len(slack.responses) > n)
            await asyncio.wait_for(noted.wait(), timeout=10)
        assert vigil.slack is not None
        while await vigil.slack.outbox.run_once(clock()):
            clock.advance(seconds=1)

    lines = [m.text for m in slack.messages(channel)]
    assert "📣 02:00Z vigil: Escalation stopped: acknowledged by <@U0SAM0001>" in lines
    assert not [line for line in lines if "&lt;@U0SAM0001&gt;" in line]
    assert "📝 02:00Z <@U0SAM0001>: asked &lt;@U0EVE0001&gt; &amp; &lt;!channel&gt;" in lines


def _heard(vigil: Vigil, kind: str) -> asyncio.Event:
    """Set once a committed change of ``kind`` has been heard (the note is on the timeline)."""
    event = asyncio.Event()

    async def hear(change: Change) -> None:
        if change.kind == kind:
            event.set()

    vigil.notifier.follow(f"test-heard-{kind}", hear, wants=lambda change: True)
    return event
