"""kill -9 between Slack accepting a message and Vigil recording it: no duplicate, no gap.

A real ``vigil serve`` on a SQLite file posts an incident's card and thread replies to the
Slack stand-in through the real slack_sdk. The stand-in holds back its answer to one post
(the card, or a thread reply) after storing the message, which is the moment Slack has the
message and Vigil does not know it; the test SIGKILLs the process right then. A second
process on the same file finds the claimed row when its lease ends, sees by the message's
metadata (``conversations.history`` / ``conversations.replies``) that Slack already has it,
records it and goes on: the card is there once and the thread holds each timeline entry
exactly once, in order.

The thread-reply case also restarts while Slack's Web API is unreachable, as after the
outage in issue 14: the slash command sent then is acknowledged and answered (nothing on
the request path needs the Web API), and the queue goes on once Slack is back.

Real processes keep real time: every wait is bounded and awaits an event (a request reaching
the stand-in, a process exiting) or polls the bot's HTTP API; nothing sleeps to win a race.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.integration.procs import BIN, Child, clean_env, free_port, running
from tests.slack_signing import post_signed, slash_command_body
from tests.slack_standin import Message, SlackStandin

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
ALERT = {"title": "fraud-scorer is down", "labels": {"alertname": "ServiceDown"}}


def _is_card(args: dict[str, Any]) -> bool:
    return not args.get("thread_ts")


def _is_reply(args: dict[str, Any]) -> bool:
    return bool(args.get("thread_ts"))


async def _drained(http: aiohttp.ClientSession, base: str, child: Child) -> None:
    """Poll /metrics until the outbox is empty (bounded; fails at once if the child died)."""
    async with asyncio.timeout(60):
        while True:
            async with http.get(f"{base}/metrics") as resp:
                text = await resp.text()
            depth = [line for line in text.splitlines() if line.startswith("vigil_outbox_depth")]
            if depth and float(depth[0].split()[-1]) == 0:
                return
            assert not await child.exited_within(0.1), child.describe()


async def _timeline(http: aiohttp.ClientSession, base: str) -> list[str]:
    async with http.get(f"{base}/api/v1/incidents/1") as resp:
        body = await resp.json()
    return [str(e["text"]) for e in body["timeline"]]


@pytest.mark.parametrize(
    ("what", "held"),
    [("card", _is_card), ("thread reply", _is_reply)],
    ids=["card", "thread-reply"],
)
async def test_a_kill_between_slacks_answer_and_the_commit_neither_duplicates_nor_loses(
    tmp_path: Path, what: str, held: Callable[[dict[str, Any]], bool]
) -> None:
    async with SlackStandin() as slack:
        channel = slack.add_channel("incidents")
        (tmp_path / "vigil.yaml").write_text('slack:\n  alerts_channel: "#incidents"\n')
        env = clean_env(
            VIGIL_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'vigil.db'}",
            SLACK_BOT_TOKEN="xoxb-test",
            SLACK_SIGNING_SECRET=SECRET,
            SLACK_API_URL=slack.url,
        )

        def serve(name: str) -> tuple[Any, str]:
            port = free_port()
            argv = [str(BIN / "vigil"), "serve", "--port", str(port)]
            child = running(name, argv, log_path=tmp_path / f"{name}.log", cwd=tmp_path, env=env)
            return child, f"http://127.0.0.1:{port}"

        hold = slack.hold("chat.postMessage", when=held)
        first, base = serve("first")
        async with (
            asyncio.timeout(150),
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http,
        ):
            async with first as a:
                await a.wait_http(f"{base}/healthz")
                async with http.post(f"{base}/alerts/generic", json=ALERT) as resp:
                    assert resp.status == 200, await resp.text()
                await asyncio.wait_for(hold.accepted.wait(), 30)  # Slack has it, Vigil not
                a.proc.send_signal(signal.SIGKILL)
                assert await a.exited_within(10), a.describe()
            hold.release()  # the answer goes nowhere: the process that asked is gone
            assert hold.call is not None
            assert hold.call.ok

            restart_during_outage = what == "thread reply"
            if restart_during_outage:
                slack.down("disconnect", web_api_only=True)
            second, base = serve("second")
            async with second as b:
                await b.wait_http(f"{base}/healthz")
                if restart_during_outage:
                    url = slack.response_url("list")
                    body = slash_command_body("/incident", "list", response_url=url)
                    started = time.monotonic()
                    resp = await post_signed(http, f"{base}/slack/events", body, SECRET)
                    assert resp.status == 200
                    assert time.monotonic() - started < 3.0
                    [answer] = await slack.wait_for(lambda: slack.responses_to(url), 10)
                    assert "fraud-scorer is down" in answer.text
                    slack.up()
                await _drained(http, base, b)
                timeline = await _timeline(http, base)
                log = b.log()

    cards = [m for m in slack.messages(channel) if m.thread_ts is None]
    assert len(cards) == 1, [m.text for m in cards]
    replies = slack.thread(channel, cards[0].ts)
    assert [_entry(m) for m in replies] == timeline  # each entry once, in order: no gap
    assert "already in Slack" in log  # recognised, not sent again
    assert "xoxb-test" not in log


def _entry(message: Message) -> str:
    """The timeline text a thread reply carries (after the time and the actor)."""
    return message.text.split(": ", 1)[1]
