"""Replies to the commands that change what serves: ``/rollback``, ``/incident contain N
--pin`` and ``/incident retrain N``.

Worded for the person who typed the command at 2 a.m.: the first line says what changed
(which version replaced which), how it went, and the next thing to do. A dry run says what
would happen and that nothing changed. A run that failed halfway says so plainly, with the
runner's summary naming the step that failed and the steps not run.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.chat.commands import render
from bot.chat.commands.reply import Reply
from bot.chat.commands.rollback import Rollback
from bot.incidents.views import IncidentView
from bot.playbooks.runner import RunResult
from bot.playbooks.service import IncidentRun
from bot.registry.base import RollbackResult
from bot.retrain.service import Requested


def _step_data(result: RunResult, action: str) -> Mapping[str, Any] | None:
    """What the (successful) step of ``action`` reported, or None if it did not succeed."""
    for step in result.steps:
        if step.action == action and step.status == "ok":
            return step.data
    return None


def _paused(data: Mapping[str, Any], *, would: bool = False) -> str:
    paused = [str(v) for v in data.get("paused") or ()]
    if not paused:
        return ""
    verb = "Would also pause" if would else "Paused"
    return f"\n{verb} canar{'ies' if len(paused) > 1 else 'y'} {', '.join(paused)}."


def rollback(cmd: Rollback, result: RunResult, plan: RollbackResult, *, actor: str) -> Reply:
    """``⏪ fraud-scorer rolled back: v3 → v2 (last known good) by @alice. Next: …``."""
    model, n = cmd.model, cmd.incident_id
    data = _step_data(result, "registry.rollback")
    if data is None:
        where = f" Every step is on #{n}'s timeline." if n and not cmd.dry_run else ""
        return Reply(
            f"⚠️ Rollback of {model} did not happen: {result.summary}{where}\n"
            f"Next: check what serves with `vigil model list {model}`.",
            ephemeral=cmd.dry_run,
        )
    before, after = data.get("from_version") or plan.from_version, data.get("to_version")
    if cmd.dry_run:
        again = f"/rollback {model}" + (f" {cmd.version}" if cmd.version else "")
        again += f" --incident {n}" if n else ""
        return Reply(
            f"Dry run: would replace {before} with {after} on {model}. Nothing changed. "
            f"Next: {again} to do it." + _paused(data, would=True),
            ephemeral=True,
        )
    why = " (last known good)" if cmd.version is None else ""
    if n:
        then = f"Next: watch accuracy; /incident resolve {n} when it recovers."
    else:
        then = f"Next: watch accuracy; to undo, `vigil model promote {model} {before}`."
    text = f"⏪ {model} rolled back: {before} → {after}{why} by {actor}. {then}"
    text += _paused(data)
    if not result.ok:  # switched, but a later step (a note) failed
        text += f"\n⚠️ {result.summary}"
    return Reply(text, ephemeral=False)


def containment(run: IncidentRun, *, actor: str) -> Reply:
    """``🔴 P1 #1 contained by @alice, traffic pinned to v2: <title>. Next: …``."""
    view, result = run.incident, run.result
    data = _step_data(result, "registry.pin_traffic")
    if not result.ok or data is None:
        model = view.model or "MODEL"
        return Reply(
            f"⚠️ Containment of #{view.id} failed, so it is still {view.state}: "
            f"{result.summary}\n"
            f"Next: /rollback {model} VERSION --incident {view.id}, or /incident contain "
            f"{view.id} to mark it contained without pinning.",
            ephemeral=False,
            incident=view,
        )
    what = f"contained by {actor}, traffic pinned to {data.get('to_version')}"
    pinned = next(s.message for s in result.steps if s.action == "registry.pin_traffic")
    return Reply(f"{render.headline(view, what)}\n{pinned}", ephemeral=False, incident=view)


def retrain(run: IncidentRun, *, actor: str) -> Reply:
    """``🔁 Retraining of fraud-scorer requested for #1 by @alice (…). Next: …``."""
    view, result = run.incident, run.result
    model = view.model or "the model"
    if not result.ok:
        return Reply(
            f"⚠️ Retraining of {model} for #{view.id} was not requested: {result.summary}\n"
            "Next: check the training service at retrain_url, then /incident retrain "
            f"{view.id} again.",
            ephemeral=False,
            incident=view,
        )
    sent = result.steps[0].message if result.steps else ""
    return Reply(
        f"🔁 Retraining of {model} requested for #{view.id} by {actor} ({sent}). "
        f"Next: when the new version is registered, canary it: "
        f"`vigil model canary {model} VERSION 5`.",
        ephemeral=False,
        incident=view,
    )


def retrain_run(view: IncidentView, made: Requested, where: str, *, actor: str) -> Reply:
    """``/incident retrain N`` for a model with a ``retraining:`` entry: the run it started
    (or the reason none did), on the orchestrator named, followed in the incident's thread."""
    model = view.model or "the model"
    if made.run is None:
        return Reply(
            f"⚠️ Retraining of {model} for #{view.id} was not requested: {made.refused}. "
            f"Next: its state is posted on #{view.id} as it changes; ask again when it ends.",
            ephemeral=True,
            incident=view,
        )
    run = made.run
    return Reply(
        f"🔁 Retraining of {model} requested for #{view.id} by {actor} on {where} "
        f"(run {run.dedup_key}). Next: its state is posted here; the version it makes, "
        f"{run.version}, enters as shadow, never straight to stable.",
        ephemeral=False,
        incident=view,
    )
