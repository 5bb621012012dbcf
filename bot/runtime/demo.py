"""``vigil demo``: the whole story in one minute, with no network and a throwaway database.

A fraud model's accuracy slides from 0.94 to 0.71 while its input drifts. Vigil opens an
incident, classifies it (P3 for drift alone, then P2 once accuracy falls below its SLA, with
the reason in words), pages the on-call engineer, escalates when nobody answers, takes the
acknowledgement, rolls the model back to its last known good version, and drafts the
post-mortem when the incident is resolved. In the second act (``demo_act2``) the model is
retrained, judged in shadow, and sent out as a canary that the judge fails at 10 %. Everything
runs through the real code paths (ingestion, classification, commands, paging timers,
registry, playbooks, templates, retraining, shadow mode, rollouts and the judge); only the
clock, the traffic and the orchestrator are scripted, so the day of the story takes seconds.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import TextIO

from bot.config.load import Settings, load_settings
from bot.ingest.generic import parse_generic
from bot.runtime.app import Vigil
from bot.runtime.demo_act2 import act_two
from bot.runtime.demo_stage import MODEL, DemoClock, Transcript, advance, say
from bot.runtime.demo_traffic import StandInAirflow

CONFIG = """
group_by: [model|service]          # every signal of one model joins one incident
models:
  fraud-scorer: {accuracy_sla: 0.90}
escalation:
  levels:
    - {notify: ["@maya"], wait: 5m}
    - {notify: ["@sam"], wait: 10m}
retraining:                         # the DAG is a stand-in in this process (no network)
  fraud-scorer:
    airflow: {url: "https://airflow.example.invalid", dag_id: retrain_fraud}
    poll: 10m
rollout: {steps: [5, 10, 25, 50, 100], every: 10m, severity: P4}  # rolled back: post, no page
"""
# (minutes after 01:50, accuracy, PSI): the slide the monitor sees.
READINGS = ((0, 0.94, 0.04), (6, 0.93, 0.12), (12, 0.91, 0.24), (15, 0.86, 0.29), (18, 0.71, 0.31))


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
        vigil = await Vigil.create(
            settings, clock=clock, drive_timers=False, orchestrators={MODEL: StandInAirflow()}
        )
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
        await advance(vigil, clock, start + timedelta(minutes=minutes))
        chat.line("monitor", f"{MODEL}: accuracy {accuracy:.2f} (SLA 0.90), input PSI {psi:.2f}")
        incident = await _report(vigil, clock, accuracy, psi) or incident
    if not incident:
        chat.line("demo", "the scenario did not open an incident; something is wrong")
        return 1

    out_story("Nobody answers @maya's page (she is asleep). Five minutes later Vigil escalates.")
    await advance(vigil, clock, clock.now + timedelta(minutes=5))

    out_story("@sam acknowledges from the page and rolls the model back first, diagnosis later.")
    await advance(vigil, clock, clock.now + timedelta(minutes=2))
    await say(vigil, chat, "@sam", f"/incident ack {incident}")
    await advance(vigil, clock, clock.now + timedelta(minutes=1))
    await say(vigil, chat, "@sam", f"/rollback {MODEL} --incident {incident}")

    out_story("Back on v2, accuracy recovers. The input drift stays: the data changed under v3.")
    await advance(vigil, clock, clock.now + timedelta(minutes=9))
    chat.line("monitor", f"{MODEL}: accuracy 0.93 (SLA 0.90), input PSI 0.31")
    await _report(vigil, clock, 0.93, 0.31, resolved=True)
    await advance(vigil, clock, clock.now + timedelta(minutes=4))
    await say(
        vigil, chat, "@sam", f"/incident resolve {incident} v3 rolled back; retrain on fresh data"
    )

    draft = vigil.postmortems.path_for(incident)
    out_story(f"Every P1 and P2 gets a post-mortem. Vigil drafted it ({draft.name}):")
    chat.block(draft.read_text(encoding="utf-8"))
    if not await act_two(vigil, chat, clock, incident):
        return 1
    out_story("That was `vigil demo`. Next: `make run`, then post an alert (see README).")
    return 0


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
