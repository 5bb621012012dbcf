"""``vigil demo``: the whole story in one minute, with no network and a throwaway database.

A fraud model's accuracy slides from 0.94 to 0.71 while its input drifts. Vigil opens an
incident, classifies it (P3 for drift alone, then P2 once accuracy falls below its SLA, with
the reason in words), pages the on-call engineer, escalates when nobody answers, takes the
acknowledgement, rolls the model back to its last known good version, and drafts the
post-mortem when the incident is resolved. Everything runs through the real code paths
(ingestion, classification, commands, paging timers, registry, playbooks, templates); only
the clock is scripted, so the twenty minutes of the story take a second.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TextIO

from bot.chat.backend import announcement
from bot.config.load import Settings, load_settings
from bot.incidents.reactions.changes import Change
from bot.incidents.views import IncidentView
from bot.ingest.generic import parse_generic
from bot.runtime.app import Vigil

MODEL = "fraud-scorer"
CONFIG = """
group_by: [model|service]          # every signal of one model joins one incident
models:
  fraud-scorer: {accuracy_sla: 0.90}
escalation:
  levels:
    - {notify: ["@maya"], wait: 5m}
    - {notify: ["@sam"], wait: 10m}
"""
# (minutes after 01:50, accuracy, PSI): the slide the monitor sees.
READINGS = ((0, 0.94, 0.04), (6, 0.93, 0.12), (12, 0.91, 0.24), (15, 0.86, 0.29), (18, 0.71, 0.31))


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


@contextmanager
def _demo_settings() -> Iterator[Settings]:
    """Settings for a throwaway database and post-mortem folder, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="vigil-demo-") as tmp:
        root = Path(tmp)
        config = root / "vigil.yaml"
        config.write_text(CONFIG, encoding="utf-8")
        env = {"VIGIL_DATABASE_URL": f"sqlite+aiosqlite:///{root / 'demo.db'}"}
        yield replace(load_settings(config, env), postmortems_dir=root / "postmortems")


async def run_demo(out: TextIO) -> int:
    """Play the scenario, writing the transcript to ``out``; 0 when the story completed."""
    clock = DemoClock()
    with _demo_settings() as settings:
        vigil = await Vigil.create(settings, clock=clock, drive_timers=False)
        chat = Transcript(out, clock)
        vigil.attach(chat)
        try:
            return await _play(vigil, chat, clock)
        finally:
            await vigil.close()


async def _play(vigil: Vigil, chat: Transcript, clock: DemoClock) -> int:
    out_story = chat.story
    out_story("Last night: fraud-scorer v3 went to 100 % of traffic. v1 and v2 were good.")
    for version, days in (("v1", 30), ("v2", 9), ("v3", 1)):
        when = clock.now - timedelta(days=days)
        await vigil.registry.register(MODEL, version, actor="ci", stage="shadow")
        await vigil.registry.promote(MODEL, version, actor="ci")
        chat.line("registry", f"{MODEL} {version} promoted to stable ({when:%d %b})")

    out_story("The model monitor reports every few minutes; no request has failed.")
    start = clock.now
    incident = 0
    for minutes, accuracy, psi in READINGS:
        await _advance(vigil, clock, start + timedelta(minutes=minutes))
        chat.line("monitor", f"{MODEL}: accuracy {accuracy:.2f} (SLA 0.90), input PSI {psi:.2f}")
        incident = await _report(vigil, clock, accuracy, psi) or incident
    if not incident:
        chat.line("demo", "the scenario did not open an incident; something is wrong")
        return 1

    out_story("Nobody answers @maya's page (she is asleep). Five minutes later Vigil escalates.")
    await _advance(vigil, clock, clock.now + timedelta(minutes=5))

    out_story("@sam acknowledges from the page and rolls the model back first, diagnosis later.")
    await _advance(vigil, clock, clock.now + timedelta(minutes=2))
    await _say(vigil, chat, "@sam", f"/incident ack {incident}")
    await _advance(vigil, clock, clock.now + timedelta(minutes=1))
    await _say(vigil, chat, "@sam", f"/rollback {MODEL} --incident {incident}")

    out_story("Back on v2, accuracy recovers. The input drift stays: the data changed under v3.")
    await _advance(vigil, clock, clock.now + timedelta(minutes=9))
    chat.line("monitor", f"{MODEL}: accuracy 0.93 (SLA 0.90), input PSI 0.31")
    await _report(vigil, clock, 0.93, 0.31, resolved=True)
    await _advance(vigil, clock, clock.now + timedelta(minutes=4))
    await _say(
        vigil, chat, "@sam", f"/incident resolve {incident} v3 rolled back; retrain on fresh data"
    )

    draft = vigil.postmortems.path_for(incident)
    out_story(f"Every P1 and P2 gets a post-mortem. Vigil drafted it ({draft.name}):")
    chat.block(draft.read_text(encoding="utf-8"))
    out_story("That was `vigil demo`. Next: `make run`, then post an alert (see README).")
    return 0


async def _advance(vigil: Vigil, clock: DemoClock, to: datetime) -> None:
    """Move the scripted clock, running each durable timer at its own time on the way."""
    for timer in sorted(await vigil.timers.pending(), key=lambda p: p.at):
        if timer.at <= to:
            clock.now = max(clock.now, timer.at)
            await vigil.timers.run_due(clock.now)
    clock.now = to
    await vigil.timers.run_due(clock.now)


async def _report(
    vigil: Vigil, clock: DemoClock, accuracy: float, psi: float, *, resolved: bool = False
) -> int | None:
    """What a model monitor would post to /alerts/generic once thresholds are crossed."""
    alerts = []
    if psi > 0.2:
        alerts.append(
            {
                "title": f"Input drift on {MODEL}",
                "labels": {"alertname": "InputDrift", "model": MODEL},
                "value": psi,
                "source": "model-monitor",
            }
        )
    if resolved:
        alerts = []  # only the accuracy alert clears; the drift is in the data, not the model
    if accuracy < 0.90 or resolved:
        alerts.append(
            {
                "title": f"Accuracy below SLA on {MODEL}",
                "labels": {"alertname": "ModelAccuracyBelowSLA", "model": MODEL},
                "value": accuracy,
                "source": "model-monitor",
                "status": "resolved" if resolved else "firing",
            }
        )
    if not alerts:
        return None
    outcomes = await vigil.ingestor.ingest(parse_generic({"alerts": alerts}, now=clock()))
    return next((o.incident_id for o in outcomes if o.incident_id), None)


async def _say(vigil: Vigil, chat: Transcript, who: str, text: str) -> None:
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
