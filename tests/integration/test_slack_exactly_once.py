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
import contextlib
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import aiohttp
import pytest

from bot.chat.slack.settings import SlackSettings
from bot.config.load import load_settings
from bot.core.secret import Secret
from bot.evidence.plan import EVIDENCE
from bot.outbox.worker import LEASE, OutboxWorker
from bot.runtime.app import Vigil
from tests.conftest import MakeVigil
from tests.integration.procs import BIN, Child, clean_env, free_port, running
from tests.slack_signing import post_signed, slash_command_body
from tests.slack_standin import BOT_SCOPES, Hold, Message, SlackStandin
from tests.support import FakeClock

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
MAYA = "U0MAYA001"
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


# -- every kind of post, in one process: the worker dies mid-call, a later attempt looks -------


@dataclass
class Rig:
    vigil: Vigil
    slack: SlackStandin
    channel: str
    clock: FakeClock

    @property
    def outbox(self) -> OutboxWorker:
        assert self.vigil.slack is not None
        return self.vigil.slack.outbox

    async def die_during(self, hold: Hold) -> None:
        """Run the worker until Slack has accepted the held call, then end it right there,
        as a kill -9 would: Slack has the message, Vigil has not recorded it."""
        worker = asyncio.create_task(self.outbox.run_once(self.clock()))
        await asyncio.wait_for(hold.accepted.wait(), 10)
        worker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await worker
        hold.release()

    async def after_the_lease(self) -> None:
        self.clock.advance(seconds=LEASE.total_seconds())
        await self.outbox.run_once(self.clock())
        assert await self.outbox.pending() == 0


async def _rig(
    make_vigil: MakeVigil,
    slack: SlackStandin,
    clock: FakeClock,
    tmp: Path,
    *,
    incident_channels: bool = False,
) -> Rig:
    channel = slack.add_channel("incidents")
    path = tmp / "vigil.yaml"
    path.write_text("escalation:\n  levels:\n    - {notify: ['@maya'], wait: 5m}\n")
    settings = SlackSettings(
        bot_token=Secret("xoxb-test"),
        signing_secret=Secret(SECRET),
        api_url=slack.url,
        alerts_channel="#incidents",
        users=MappingProxyType({"@maya": MAYA}),
        incident_channels=incident_channels,
    )
    vigil = await make_vigil(slack=settings, oncall=load_settings(path, {}).oncall)
    return Rig(vigil, slack, channel, clock)


async def test_a_page_dm_posted_before_the_worker_died_is_not_sent_again(
    make_vigil: MakeVigil, clock: FakeClock, tmp_path: Path
) -> None:
    async with SlackStandin() as slack:
        rig = await _rig(make_vigil, slack, clock, tmp_path)
        hold = slack.hold("chat.postMessage", when=lambda a: str(a["channel"]).startswith("D"))
        await rig.vigil.incidents.open(title="Ranker down", actor="@sam", severity="P1")
        await rig.die_during(hold)  # a P1 pages level 1: @maya's DM
        await rig.after_the_lease()
        [dm] = {
            str(c.args["channel"])
            for c in slack.calls_to("chat.postMessage")
            if str(c.args["channel"]).startswith("D")
        }
        assert len(slack.messages(dm)) == 1  # paged once, though the worker died mid-page
        assert slack.calls_to("conversations.history")  # looked before posting again


async def test_a_notice_and_a_chart_are_recognised_too(
    make_vigil: MakeVigil, clock: FakeClock, tmp_path: Path
) -> None:
    async with SlackStandin() as slack:
        rig = await _rig(make_vigil, slack, clock, tmp_path)
        assert rig.vigil.slack is not None
        hold = slack.hold("chat.postMessage", when=lambda a: a.get("text") == "Handoff: @maya")
        await rig.vigil.slack.backend.notice("Handoff: @maya")
        await rig.die_during(hold)
        await rig.after_the_lease()
        assert [m.text for m in slack.messages(rig.channel)] == ["Handoff: @maya"]

        await rig.vigil.incidents.open(title="Scorer drifts", actor="@sam", severity="P3")
        await rig.outbox.run_once(clock())
        chart = tmp_path / "incident-1-drift.png"
        chart.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
        hold = slack.hold("files.completeUploadExternal")
        await rig.vigil.incidents.record(
            1,
            kind=EVIDENCE,
            text="Drift of amount: PSI 0.41",
            actor="vigil",
            data={"path": str(chart), "title": "Drift of amount"},
        )
        await rig.die_during(hold)
        await rig.after_the_lease()
        assert [f.filename for f in slack.files.values() if f.shared] == [chart.name]


async def test_without_the_history_scope_a_message_is_sent_again_rather_than_lost(
    make_vigil: MakeVigil, clock: FakeClock, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    scopes = ",".join(s for s in BOT_SCOPES.split(",") if not s.endswith(":history"))
    async with SlackStandin(scopes=scopes) as slack:
        rig = await _rig(make_vigil, slack, clock, tmp_path)
        await rig.vigil.incidents.open(title="Ranker down", actor="@sam", severity="P3")
        hold = slack.hold("chat.postMessage", when=lambda a: bool(a.get("thread_ts")))
        await rig.die_during(hold)
        await rig.after_the_lease()
        [card] = [m for m in slack.messages(rig.channel) if m.thread_ts is None]
        opened = [m for m in slack.thread(rig.channel, card.ts) if "Opened by" in m.text]
        assert len(opened) == 2  # a duplicate, said in the log: never a gap
        assert "cannot look for an earlier attempt's message (missing_scope" in caplog.text


async def test_an_incident_channel_created_before_the_worker_died_is_the_one_used(
    make_vigil: MakeVigil, clock: FakeClock, tmp_path: Path
) -> None:
    async with SlackStandin() as slack:
        rig = await _rig(make_vigil, slack, clock, tmp_path, incident_channels=True)
        old = slack.add_channel("inc-1-ranker-down")  # another Vigil database's, long ago:
        slack.channels[old]["created"] = 0  # not taken for ours
        hold = slack.hold("conversations.create", when=lambda a: a["name"].endswith("-2"))
        await rig.vigil.incidents.open(title="Ranker down", actor="@sam", severity="P1")
        await rig.die_during(hold)
        await rig.after_the_lease()
        created = [c.args["name"] for c in slack.calls_to("conversations.create") if c.ok]
        assert created == ["inc-1-ranker-down-2"]  # the first name was taken before Vigil
        names = [c["name"] for c in slack.channels.values()]
        assert names.count("inc-1-ranker-down-2") == 1
        assert "inc-1-ranker-down-3" not in names  # the retry took the channel it made
        [copy] = [m for m in slack.messages(created_id(slack, "inc-1-ranker-down-2")) if m.pinned]
        assert copy.text.startswith("🔴 P1 #1")


def created_id(slack: SlackStandin, name: str) -> str:
    return next(cid for cid, chan in slack.channels.items() if chan["name"] == name)
