"""The console backend driven like a terminal: bytes in on a StreamReader, text out.

No sleeps: the loop is awaited through its ``on_quit`` event or ``stop()``, and where a test
needs the console to be waiting at its prompt it waits for the prompt to be written.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from bot.chat.commands import render
from bot.chat.console import PROMPT, WELCOME, ConsoleBackend
from bot.ingest.alertmanager import parse_alertmanager
from bot.runtime.app import Vigil
from tests.support import am_alert, am_payload, fixture_json

USER = "@console"
LIMIT = 10.0  # seconds; only a guard against a hang, never a wait


class Screen(io.StringIO):
    """The console's output; lets a test wait until the prompt has been shown ``n`` times."""

    def __init__(self) -> None:
        super().__init__()
        self.prompts = 0
        self._prompted = asyncio.Event()

    def write(self, s: str) -> int:
        written = super().write(s)
        if s.endswith(PROMPT):
            self.prompts += 1
            self._prompted.set()
        return written

    async def until_prompt(self, n: int) -> None:
        async def wait() -> None:
            while self.prompts < n:
                self._prompted.clear()
                await self._prompted.wait()

        await asyncio.wait_for(wait(), LIMIT)

    def lines(self) -> list[str]:
        """What the user reads: every line, with the prompts taken off."""
        return [line.replace(PROMPT, "") for line in self.getvalue().split("\n")]


@dataclass
class Terminal:
    backend: ConsoleBackend
    reader: asyncio.StreamReader
    screen: Screen
    quit: asyncio.Event

    def type(self, *lines: str | bytes) -> None:
        for line in lines:
            raw = line if isinstance(line, bytes) else line.encode()
            self.reader.feed_data(raw + b"\n")

    async def finish(self) -> None:
        """Close the input and wait for the loop to end on its own, as on Ctrl-D."""
        self.reader.feed_eof()
        await self.ended()

    async def ended(self) -> None:
        await asyncio.wait_for(self.quit.wait(), LIMIT)
        await asyncio.wait_for(self.backend.stop(), LIMIT)


@pytest.fixture
async def term(vigil: Vigil) -> AsyncIterator[Terminal]:
    reader = asyncio.StreamReader()
    screen = Screen()
    quit_event = asyncio.Event()
    backend = ConsoleBackend(
        vigil.commands, reader=reader, out=screen, user=USER, on_quit=quit_event
    )
    vigil.attach(backend)
    await backend.start()
    yield Terminal(backend, reader, screen, quit_event)
    await backend.stop()


async def expected(vigil: Vigil, text: str) -> str:
    """The reply the console should print for a read-only command."""
    reply = await vigil.commands.run_incident(text, actor=USER)
    return ("(only you) " if reply.ephemeral else "") + reply.text


async def test_welcome_then_a_prompt(term: Terminal) -> None:
    await term.screen.until_prompt(1)
    assert term.screen.getvalue() == WELCOME + "\n" + PROMPT
    await term.finish()


async def test_typed_lines_with_or_without_slash_get_the_same_replies(
    vigil: Vigil, term: Terminal
) -> None:
    term.type(
        "/incident new Ranker p99 over 2s --sev P2",
        "/incident list",
        "incident list",
        "INCIDENT list",
        "list",
        "/list",
        "/incident show #1",
        "show 1",
    )
    await term.finish()
    lines = term.screen.lines()
    assert "🟠 P2 #1 opened by @console: Ranker p99 over 2s. Next: /incident ack 1" in lines
    listing = await expected(vigil, "list")
    assert listing.startswith("(only you) 1 open, most severe first:\n🟠 P2 #1 ")
    assert term.screen.getvalue().count(listing + "\n") == 5
    show = await expected(vigil, "show 1")
    assert term.screen.getvalue().count(show + "\n") == 2
    assert len(await vigil.incidents.list(include_closed=True)) == 1


async def test_handle_line_returns_the_reply_without_printing_it(
    vigil: Vigil, term: Terminal
) -> None:
    await term.screen.until_prompt(1)
    before = term.screen.getvalue()
    reply = await term.backend.handle_line("  /incident new GPU OOM on node 7  \n")
    assert reply == "🔵 P4 #1 opened by @console: GPU OOM on node 7. Next: /incident ack 1"
    assert await term.backend.handle_line("   ") is None
    assert term.screen.getvalue() == before  # own change: no announcement either
    assert (await vigil.incidents.get(1)).created_by == USER
    await term.finish()


@pytest.mark.parametrize("word", ["/quit", "quit", "/exit", "/QUIT"])
async def test_quit_ends_the_loop_and_nothing_after_it_runs(
    vigil: Vigil, term: Terminal, word: str
) -> None:
    term.type(word, "/incident new typed after quit")
    await term.ended()
    assert term.screen.lines()[-2:] == ["Bye. The HTTP server stops too.", ""]
    assert await vigil.incidents.list(include_closed=True) == []


async def test_end_of_input_ends_the_loop_like_quit(vigil: Vigil, term: Terminal) -> None:
    term.type("/incident new Disk full")
    await term.finish()
    assert term.quit.is_set()
    assert "Bye." not in term.screen.getvalue()
    assert [v.title for v in await vigil.incidents.list()] == ["Disk full"]


def console_tasks() -> list[asyncio.Task[object]]:
    """The console's read loop, while it runs (``all_tasks`` lists unfinished tasks only)."""
    return [t for t in asyncio.all_tasks() if t.get_name() == "console"]


async def test_stop_ends_a_console_that_is_waiting_for_input(term: Terminal) -> None:
    await term.screen.until_prompt(1)
    assert len(console_tasks()) == 1
    await asyncio.wait_for(term.backend.stop(), LIMIT)
    assert console_tasks() == []
    assert not term.quit.is_set()  # stopped from outside, not by the user


async def test_alerts_are_announced_while_the_console_waits(vigil: Vigil, term: Terminal) -> None:
    await term.screen.until_prompt(1)
    await vigil.ingestor.ingest(parse_alertmanager(fixture_json("alertmanager-v4-firing.json")))
    view = await vigil.incidents.get(1)
    shown = term.screen.getvalue()
    # On its own line (not glued to the prompt), then the prompt again.
    assert shown.startswith(WELCOME + "\n" + PROMPT + "\n🔴 P1 #1 opened: ")
    assert shown.endswith(PROMPT)
    first = shown.split("\n")[2]
    assert first == ("🔴 P1 #1 opened: 5xx ratio above 5% on payments. Next: /incident ack 1")
    assert shown.split("\n")[3] == "  Why: " + view.severity_reason
    await term.finish()


async def test_a_severity_raised_by_a_new_alert_is_announced(vigil: Vigil, term: Terminal) -> None:
    await term.screen.until_prompt(1)
    labels = {"alertname": "HighErrorRate", "service": "payments"}
    await vigil.ingestor.ingest(parse_alertmanager(am_payload(am_alert(labels))))
    weak = await vigil.incidents.get(1)
    assert weak.severity != "P1"
    critical = {**labels, "severity": "critical", "instance": "pod-2"}
    await vigil.ingestor.ingest(parse_alertmanager(am_payload(am_alert(critical))))
    lines = term.screen.lines()
    assert any(
        line.startswith(
            "🔴 P1 #1 severity now P1: HighErrorRate on payments. Next: /incident ack 1"
        )
        for line in lines
    ), lines
    await term.finish()


async def test_own_commands_are_not_echoed_but_other_peoples_are_announced(
    vigil: Vigil, term: Terminal
) -> None:
    term.type("/incident new Feature store stale --sev P3")
    await term.screen.until_prompt(2)  # the reply is out and the console waits again
    await vigil.commands.run_incident("ack 1", actor="@bob")
    await vigil.commands.run_incident("note 1 checking the ETL job", actor="@bob")
    term.type("/incident resolve 1")
    await term.finish()
    text = term.screen.getvalue()
    # The console's own changes: its reply once, never the channel announcement too.
    assert text.count("opened by @console: Feature store stale") == 1
    assert "opened: Feature store stale" not in text
    assert text.count("resolved by @console") == 1
    assert "Resolved by @console" not in text
    # Bob's changes, made elsewhere, are announced.
    lines = term.screen.lines()
    assert any(
        line.startswith("🟡 P3 #1") and "acknowledged by @bob" in line.lower() for line in lines
    ), lines
    assert any(line.startswith("🟡 P3 #1") and "checking the ETL job" in line for line in lines)


async def test_ephemeral_replies_say_only_you(term: Terminal) -> None:
    term.type("/incident new Ranker p99 over 2s", "/incident list", "/incident ack", "ack 99")
    await term.finish()
    lines = term.screen.lines()
    assert lines[1].startswith("🔵 P4 #1 opened by @console")  # public: no prefix
    assert "(only you) 1 open, most severe first:" in lines
    assert "(only you) ⚠️ Missing incident number." in lines
    assert "Usage: /incident ack N" in lines
    assert "(only you) ⚠️ There is no incident #99. `/incident list --all` shows them all." in lines


@pytest.mark.parametrize(
    ("typed", "word"),
    [
        ("/foo", "foo"),
        ("/foo bar baz", "foo"),
        ("deploy now", "deploy"),
        ("/INCIDENTS", "incidents"),
    ],
)
async def test_an_unknown_command_answers_with_a_hint(
    vigil: Vigil, term: Terminal, typed: str, word: str
) -> None:
    term.type(typed)
    await term.finish()
    assert f"⚠️ Unknown command '/{word}'. Try /incident help." in term.screen.lines()
    assert await vigil.incidents.list(include_closed=True) == []


async def test_help_and_bare_subcommands_work_on_the_console(vigil: Vigil, term: Terminal) -> None:
    term.type("new Ranker p99 over 2s", "ack 1", "/help")
    await term.finish()
    assert (await vigil.incidents.get(1)).state == "acknowledged"
    text = term.screen.getvalue()
    assert "acknowledged by @console: Ranker p99 over 2s" in text
    assert await expected(vigil, "help") in text


async def test_blank_lines_and_undecodable_bytes_do_not_stop_the_console(
    vigil: Vigil, term: Terminal
) -> None:
    term.type("", "   ", b"\xff\xfe", "/incident new Still here")
    await term.finish()
    lines = term.screen.lines()
    assert any(line.startswith("⚠️ Unknown command '/") for line in lines)
    assert [v.title for v in await vigil.incidents.list()] == ["Still here"]
    # Two blank lines: two prompts and no reply between them.
    assert term.screen.getvalue().startswith(WELCOME + "\n" + PROMPT * 3 + "⚠️ ")


async def test_closing_vigil_stops_an_attached_console(vigil: Vigil, term: Terminal) -> None:
    await term.screen.until_prompt(1)
    assert len(console_tasks()) == 1
    await asyncio.wait_for(vigil.close(), LIMIT)
    assert console_tasks() == []


async def test_an_alert_clearing_while_others_fire_is_announced_with_title_and_next_step(
    vigil: Vigil, term: Terminal
) -> None:
    base = {"alertname": "HighErrorRate", "service": "payments", "severity": "critical"}
    a = am_alert({**base, "pod": "a"}, annotations={"summary": "5xx on pod a"})
    b = am_alert({**base, "pod": "b"}, annotations={"summary": "5xx on pod b"})
    await vigil.ingestor.ingest(parse_alertmanager(am_payload(a, b)))
    await term.screen.until_prompt(1)
    shown = len(term.screen.getvalue())

    cleared = {**b, "status": "resolved", "endsAt": "2026-11-24T02:05:00Z"}
    await vigil.ingestor.ingest(parse_alertmanager(am_payload(cleared)))
    view = await vigil.incidents.get(1)
    assert (view.state, len(view.firing)) == ("triggered", 1)
    new = term.screen.getvalue()[shown:].strip("\n").replace(PROMPT, "")
    first = new.split("\n")[0]
    assert first.startswith("🔴 P1 #1")
    assert "5xx on pod a" in first  # the incident's title
    assert render.next_step(view) in first
    await term.finish()
