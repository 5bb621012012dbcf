"""What retraining says on an incident's timeline (its Slack thread) or in the team channel.
Pure. Each line says what happened, where the run is, and what comes next; a finished
run's version is named with the stage it entered (shadow), since it never serves by itself.
"""

from __future__ import annotations

from bot.retrain.adapters.base import Observed


def why(trigger: str, reason: str) -> str:
    return {"drift": "drift", "schedule": "schedule", "manual": "asked"}.get(trigger, trigger) + (
        f": {reason}" if reason else ""
    )


def requested(model: str, where: str, key: str, trigger: str, reason: str) -> str:
    return f"🔁 Retraining of {model} requested ({why(trigger, reason)}) from {where}; run {key}."


def started(model: str, where: str, seen: Observed) -> str:
    at = f" ({seen.url})" if seen.url else ""
    return f"▶️ Retraining of {model} started on {where}: {seen.state}{at}."


def progressed(model: str, seen: Observed) -> str:
    return f"⏳ Retraining of {model}: {seen.state}."


def not_started(model: str, where: str, error: str) -> str:
    return (
        f"⚠️ Retraining of {model} could not be started on {where}: {error}. Nothing runs; "
        "no version changed."
    )


def handed_off(model: str, where: str, seen: Observed, version: str) -> str:
    return (
        f"🔁 Retraining of {model} handed to {where} ({seen.state}). A webhook reports no "
        f"state, so Vigil follows it no further. Next: register what it makes with "
        f"`vigil model register {model} {version}`: it enters as shadow, not stable."
    )


def succeeded(model: str, seen: Observed, version: str) -> str:
    return (
        f"✅ Retraining of {model} finished ({seen.state}): version {version} registered as "
        f"shadow, serving no traffic. Next: compare it in shadow, then "
        f"`vigil model canary {model} {version} 5`; it never goes straight to stable."
    )


def not_registered(model: str, seen: Observed, version: str, error: str) -> str:
    return (
        f"⚠️ Retraining of {model} finished ({seen.state}) but version {version} could not be "
        f"registered: {error}. Nothing serves it. Next: `vigil model register {model} "
        f"{version}` once the registry takes it."
    )


def failed(model: str, seen: Observed, incident: int | None) -> str:
    at = f" ({seen.url})" if seen.url else ""
    again = f"/incident retrain {incident}" if incident is not None else "the next trigger"
    return (
        f"❌ Retraining of {model} failed ({seen.state}){at}: no new version; what serves "
        f"is unchanged. Next: read the run's logs, then {again}."
    )


def lost(model: str, error: str) -> str:
    return (
        f"⚠️ Retraining of {model}: Vigil could not read the run's state ({error}) for too "
        "long and stopped following it. Next: check the orchestrator."
    )
