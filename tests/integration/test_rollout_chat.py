"""``/rollout`` from chat: typed on the console, and as signed slash commands over real HTTP
into Vigil's Slack route, answered through the Slack stand-in's ``response_url``.

A start moves the registry (the canary at its first share) and answers the channel; status
is the caller's alone; abort puts the canary back to 0 %. Bad input names what was wrong,
privately, and starts nothing; a user outside the responder groups is refused start and
abort (and the attempt changes nothing) but may read the status.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from types import MappingProxyType
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.chat.console import ConsoleBackend
from bot.chat.slack.settings import SlackSettings
from bot.core.secret import Secret
from bot.runtime.app import Vigil
from tests.conftest import MakeVigil
from tests.slack_signing import post_signed, slash_command_body
from tests.slack_standin import SlackStandin
from tests.support import FakeClock

MODEL = "fraud-scorer"
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
SAM = "U0SAM0001"  # a responder
EVE = "U0EVE0001"  # not a responder


async def registered(vigil: Vigil) -> None:
    await vigil.registry.register(MODEL, "v7", stage="stable", actor="@ci")
    await vigil.registry.register(MODEL, "v8", actor="@ci")


async def shares(vigil: Vigil) -> dict[str, tuple[str, int]]:
    return {v.version: (v.stage, v.traffic_percent) for v in await vigil.registry.versions(MODEL)}


# -- the console ---------------------------------------------------------------------------


@pytest.fixture
async def console(vigil: Vigil) -> ConsoleBackend:
    await registered(vigil)
    return ConsoleBackend(
        vigil.commands, reader=asyncio.StreamReader(), out=io.StringIO(), user="@maya"
    )


async def test_the_console_starts_reads_and_stops_a_rollout(
    vigil: Vigil, console: ConsoleBackend, clock: FakeClock
) -> None:
    said = await console.handle_line(f"/rollout start {MODEL} v8 --steps 5,10,25 --every 10m")
    assert said is not None
    assert said.startswith(
        "🚦 fraud-scorer v8 canary started by @maya at 5 % against v7 (5 → 10 → 25 % → "
        "promote; a look every 10 min); first look "
    )
    assert said.endswith("Stop it: /rollout abort fraud-scorer")
    assert await shares(vigil) == {"v7": ("stable", 95), "v8": ("canary", 5)}

    status = await console.handle_line(f"rollout status {MODEL}")  # no slash: the same
    assert status is not None
    assert status.splitlines()[:3] == [
        "(only you) 🚦 fraud-scorer v8 canary at 5 % (step 1 of 3): last look no look yet; "
        f"next look {(clock() + timedelta(minutes=10)).strftime('%H:%MZ')}",
        f"Started {clock().strftime('%H:%MZ')} by @maya against v7: 5 → 10 → 25 % → promote, "
        "a look every 10 min.",
        "No look yet.",
    ]
    assert status.splitlines()[-1] == "Stop it: /rollout abort fraud-scorer"

    again = await console.handle_line(f"/rollout start {MODEL} v8")
    assert again is not None
    assert again.startswith("(only you) ⚠️ a rollout of fraud-scorer is already running: v8 at 5 %")
    assert again.endswith("Nothing changed.")

    stopped = await console.handle_line(f"/rollout abort {MODEL}")
    assert stopped == "⏹️ fraud-scorer v8 canary stopped at 5 % by @maya; v7 serves 100 % again."
    assert await shares(vigil) == {"v7": ("stable", 100), "v8": ("shadow", 0)}
    ended = await console.handle_line(f"/rollout {MODEL}")
    assert ended is not None
    assert ended.startswith("(only you) ⏹️ fraud-scorer v8 canary stopped at 5 %; v7 serves 100 %")
    assert "Stop it" not in ended


async def test_the_console_refuses_bad_input_and_starts_nothing(
    vigil: Vigil, console: ConsoleBackend
) -> None:
    before = await shares(vigil)
    cases = {
        f"/rollout start {MODEL}": "(only you) ⚠️ Missing version.\nUsage: /rollout start ",
        f"/rollout start {MODEL} v8 --steps 10,5": "(only you) ⚠️ --steps must rise step by step",
        f"/rollout start {MODEL} v8 --every soon": "(only you) ⚠️ --every must be a duration",
        f"/rollout start {MODEL} v9": "(only you) ⚠️ fraud-scorer has no version 'v9'",
        f"/rollout start {MODEL} v7": "(only you) ⚠️ fraud-scorer v7 is already the stable",
        "/rollout start ranker v1": "(only you) ⚠️ ",
        f"/rollout abort {MODEL}": "(only you) ⚠️ no rollout of fraud-scorer is running",
        "/rollout strat": "(only you) ⚠️ Unknown subcommand 'strat'. Did you mean 'start'?",
    }
    for line, start in cases.items():
        said = await console.handle_line(line)
        assert said is not None
        assert said.startswith(start), (line, said)
    assert await shares(vigil) == before
    assert await vigil.rollouts.status(MODEL) is None
    help_text = await console.handle_line("/rollout help")
    assert help_text is not None
    assert "/rollout start MODEL VERSION [--steps 5,10,25,50,100] [--every 10m]" in help_text


# -- Slack -----------------------------------------------------------------------------------


@dataclass
class Rig:
    vigil: Vigil
    slack: SlackStandin
    http: TestClient[Any, Any]
    session: aiohttp.ClientSession

    async def rollout(self, text: str, *, user: str = SAM) -> Any:
        """Post ``/rollout TEXT`` signed as Slack would; the answer it gets."""
        url = self.slack.response_url()
        before = len(self.slack.responses)
        body = slash_command_body("/rollout", text, user_id=user, response_url=url)
        resp = await post_signed(
            self.session, str(self.http.make_url("/slack/events")), body, SECRET
        )
        assert resp.status == 200
        assert resp.content_length == 0  # the bare ack first; the answer by response_url
        await self.slack.wait_for(lambda: len(self.slack.responses) > before)
        return self.slack.responses[before]


@pytest.fixture
async def rig(make_vigil: MakeVigil) -> AsyncIterator[Rig]:
    async with SlackStandin() as slack:
        slack.add_channel("incidents")
        settings = SlackSettings(
            bot_token=Secret("xoxb-test"),
            signing_secret=Secret(SECRET),
            api_url=slack.url,
            alerts_channel="#incidents",
            responder_groups=MappingProxyType({"ml-oncall": frozenset({SAM})}),
        )
        vigil = await make_vigil(slack=settings)
        await registered(vigil)
        async with (
            TestClient(TestServer(vigil.web_app(), host="127.0.0.1")) as http,
            aiohttp.ClientSession() as session,
        ):
            yield Rig(vigil, slack, http, session)


async def test_slack_starts_a_rollout_shows_its_status_and_aborts_it(rig: Rig) -> None:
    started = await rig.rollout(f"start {MODEL} v8 --steps 5,10,25 --every 10m")
    assert started.response_type == "in_channel"  # the team should know traffic moved
    assert started.text.startswith("🚦 fraud-scorer v8 canary started by <@U0SAM0001> at 5 %")
    assert await shares(rig.vigil) == {"v7": ("stable", 95), "v8": ("canary", 5)}

    status = await rig.rollout(f"status {MODEL}", user=EVE)  # reading is anyone's
    assert status.response_type == "ephemeral"
    assert status.text.startswith("🚦 fraud-scorer v8 canary at 5 % (step 1 of 3)")

    stopped = await rig.rollout(f"abort {MODEL}")
    assert stopped.response_type == "in_channel"
    assert stopped.text.startswith("⏹️ fraud-scorer v8 canary stopped at 5 % by <@U0SAM0001>")
    assert await shares(rig.vigil) == {"v7": ("stable", 100), "v8": ("shadow", 0)}


async def test_slack_refuses_a_non_responder_and_bad_input_privately(rig: Rig) -> None:
    refused = await rig.rollout(f"start {MODEL} v8", user=EVE)
    assert refused.response_type == "ephemeral"
    assert refused.text.startswith("⛔ Only responders (ml-oncall) may start rollouts.")
    refused_ab = await rig.rollout(f"ab {MODEL} v7 v8 --share 20", user=EVE)
    assert refused_ab.text.startswith("⛔ Only responders (ml-oncall) may start A/B tests.")
    assert await rig.vigil.rollouts.status(MODEL) is None
    assert (await shares(rig.vigil))["v8"][1] == 0

    bad = await rig.rollout(f"start {MODEL} v8 --every 10")
    assert bad.response_type == "ephemeral"
    assert bad.text == (
        "⚠️ --every must be a duration like 10m, 30s or 1h, got '10'.\n"
        "Usage: /rollout start MODEL VERSION [--steps 5,10,25,50,100] [--every 10m]"
    )
    assert await rig.vigil.rollouts.status(MODEL) is None

    ab = await rig.rollout(f"ab {MODEL} v7 v8 --share 20")
    assert ab.text.startswith("🚦 fraud-scorer A/B v7 vs v8 started by <@U0SAM0001> at 20 %")
    refused_abort = await rig.rollout(f"abort {MODEL}", user=EVE)
    assert refused_abort.text.startswith("⛔ Only responders (ml-oncall) may stop rollouts.")
    assert await shares(rig.vigil) == {"v7": ("stable", 80), "v8": ("canary", 20)}
