"""The stage both acts of ``vigil demo`` play on: the scripted clock, the transcript (the
console chat backend the demo attaches), and the two things a scene does: let time pass,
with each durable timer run at its own time, and have a person type a command."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TextIO

from bot.chat.backend import announcement
from bot.incidents.reactions.changes import Change
from bot.incidents.views import IncidentView
from bot.runtime.app import Vigil

MODEL = "fraud-scorer"


@dataclass
class DemoClock:
    now: datetime = field(default_factory=lambda: datetime(2026, 11, 24, 1, 50, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now


class Transcript:
    """Prints the story: the team channel, direct pages, and what people type."""

    name = "demo"

    def __init__(self, out: TextIO, clock: DemoClock) -> None:
        self._out = out
        self._clock = clock
        self.typing = ""

    def line(self, who: str, text: str) -> None:
        stamp = self._clock().strftime("%H:%M")
        lines = text.splitlines() or [""]
        self._out.write(f"{stamp}  {who:<16} {lines[0]}\n")
        for rest in lines[1:]:
            self._out.write(f"{'':23}{rest}\n")

    def story(self, text: str) -> None:
        self._out.write(f"\n── {text}\n")

    def block(self, text: str) -> None:
        self._out.write("\n" + text)

    async def announce(self, change: Change) -> None:
        if change.actor != self.typing:  # their own reply is printed already
            self.line("#ml-incidents", announcement(change))

    async def page(self, target: str, incident: IncidentView, text: str) -> None:
        self.line(f"📟 DM {target}", text)

    async def notice(self, text: str) -> None:
        self.line("#ml-incidents", text)

    async def progress(self, key: str, headline: str, line: str) -> None:
        self.line("#ml-incidents", f"🚦 {line}")

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None


async def advance(vigil: Vigil, clock: DemoClock, to: datetime) -> None:
    """Move the scripted clock, running each durable timer at its own time on the way; a
    timer that one of them sets (a rollout's next look, a retraining's next poll) runs at
    its own time too when that comes before ``to``."""
    ran: datetime | None = None
    while True:
        due = min((t.at for t in await vigil.timers.pending() if t.at <= to), default=None)
        if due is None or (ran is not None and max(clock.now, due) <= ran):
            break  # nothing left before ``to``, or only what just ran and stayed (a retry)
        clock.now = ran = max(clock.now, due)
        await vigil.timers.run_due(clock.now)
    clock.now = to
    await vigil.timers.run_due(clock.now)


async def say(vigil: Vigil, chat: Transcript, who: str, text: str) -> None:
    """``who`` types ``text`` in the channel; Vigil's reply is printed as it answers."""
    chat.line(who, text)
    chat.typing = who
    try:
        if text.startswith("/rollback"):
            reply = await vigil.commands.run_rollback(text.removeprefix("/rollback"), actor=who)
        else:
            said = text.removeprefix("/incident")
            reply = await vigil.commands.run_incident(said, actor=who, markdown=False)
    finally:
        chat.typing = ""
    chat.line("vigil → " + ("you" if reply.ephemeral else "channel"), reply.text)
