"""The console chat backend: type ``/incident …`` in the terminal, see the team's channel.

It runs the same ``CommandRunner`` Slack will, so everything can be tried with no Slack
workspace. Lines without a leading slash work too (``incident list``, ``rollback m``,
``rollout status m``), and
so do bare subcommands (``ack 3``). Changes made by
others (alerts, the API) are announced as they commit; the console user's own actions are
not echoed twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from typing import TextIO

from bot.chat.backend import announcement
from bot.chat.commands.run import CommandRunner
from bot.chat.commands.spec import SUBCOMMANDS
from bot.incidents.reactions.changes import Change
from bot.incidents.views import IncidentView

log = logging.getLogger(__name__)

PROMPT = "vigil> "
WELCOME = (
    "Vigil console. Type /incident help for commands, /quit to leave. "
    "Alerts posted to the HTTP server show up here."
)


class ConsoleBackend:
    name = "console"

    def __init__(
        self,
        runner: CommandRunner,
        *,
        reader: asyncio.StreamReader,
        out: TextIO,
        user: str,
        on_quit: asyncio.Event | None = None,
    ) -> None:
        self._runner = runner
        self._reader = reader
        self._out = out
        self.user = user
        self._quit = on_quit or asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._prompting = False

    async def announce(self, change: Change) -> None:
        if change.actor == self.user:
            return
        self._interject(announcement(change))

    async def page(self, target: str, incident: IncidentView, text: str) -> None:
        """On the console every page is shown, whoever it is for: this terminal is the team."""
        self._interject(f"📟 PAGE for {target}: {text}")

    async def notice(self, text: str) -> None:
        """A team-channel message (a handoff): printed as it comes, like an announcement."""
        self._interject(text)

    async def progress(self, key: str, headline: str, line: str) -> None:
        """A rollout's step: the line alone (the terminal keeps every line; no headline to
        edit)."""
        self._interject(f"🚦 {line}")

    async def start(self) -> None:
        self._print(WELCOME)
        self._task = asyncio.create_task(self._loop(), name="console")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def handle_line(self, line: str) -> str | None:
        """Run one typed line; return the reply text (None for a blank line)."""
        text = line.strip()
        if not text:
            return None
        word, _, rest = text.lstrip("/").partition(" ")
        word = word.lower()
        if word in ("quit", "exit"):
            self._quit.set()
            return "Bye. The HTTP server stops too."
        if word in SUBCOMMANDS:  # on the console, "ack 3" means "/incident ack 3"
            word, rest = "incident", text.lstrip("/")
        if word == "rollback":
            reply = await self._runner.run_rollback(rest, actor=self.user)
        elif word == "rollout":
            reply = await self._runner.run_rollout(rest, actor=self.user)
        elif word == "silence":
            reply = await self._runner.run_silence(rest, actor=self.user)
        elif word == "incident":
            reply = await self._runner.run_incident(rest, actor=self.user, markdown=False)
        else:
            return f"⚠️ Unknown command '/{word}'. Try /incident help."
        prefix = "(only you) " if reply.ephemeral else ""
        return prefix + reply.text

    async def _loop(self) -> None:
        while not self._quit.is_set():
            self._out.write(PROMPT)
            self._out.flush()
            self._prompting = True
            try:
                raw = await self._reader.readline()
            finally:
                self._prompting = False
            if not raw:  # end of input: leave like /quit
                self._quit.set()
                return
            reply = await self.handle_line(raw.decode(errors="replace"))
            if reply:
                self._print(reply)

    def _interject(self, text: str) -> None:
        """Print something that arrived on its own, without gluing it onto a waiting prompt."""
        if self._prompting:
            self._out.write("\n")
        self._print(text)
        if self._prompting:
            self._out.write(PROMPT)
            self._out.flush()

    def _print(self, text: str) -> None:
        self._out.write(text + "\n")
        self._out.flush()


async def stdin_reader() -> asyncio.StreamReader:
    """An asyncio reader over the process's standard input."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    return reader
