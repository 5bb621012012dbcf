"""Actions on the model registry: roll back, pin traffic (containment), set a canary."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.core.errors import ValidationError
from bot.playbooks.actions.base import RunContext, StepOutcome, need_text, text_param
from bot.registry.base import RegistryError, RollbackResult
from bot.registry.rules import returned_to

FALLBACKS = ("previous_stable", "stable")


def _switched(result: RollbackResult) -> StepOutcome:
    data = {
        "model": result.model,
        "from_version": result.from_version,
        "to_version": result.to_version,
        "paused": list(result.paused),
    }
    return StepOutcome(True, result.explanation, data)


async def rollback(ctx: RunContext, params: Mapping[str, Any]) -> StepOutcome:
    """``registry.rollback``: the last known good version (or ``to_version``) serves again.

    A refusal (no earlier stable version) raises ``RegistryError``: a failed step, with
    the registry's sentence as the reason.
    """
    result = await ctx.registry.rollback(
        need_text(params, "model"),
        text_param(params, "to_version", required=False),
        actor=ctx.actor,
        dry_run=ctx.dry_run,
        incident=ctx.incident,
    )
    return _switched(result)


async def pin_traffic(ctx: RunContext, params: Mapping[str, Any]) -> StepOutcome:
    """``registry.pin_traffic``: 100 % to one version, canaries paused (containment).

    Give ``version``, or ``fallback``: ``previous_stable`` (the last known good version, the
    usual containment) or ``stable`` (keep the stable, stop the canaries).
    """
    model = need_text(params, "model")
    version = text_param(params, "version", required=False)
    fallback = text_param(params, "fallback", required=False)
    if (version is None) == (fallback is None):
        raise ValidationError("params", "give either version or fallback, not both or neither")
    if fallback is not None:
        if fallback not in FALLBACKS:
            raise ValidationError("params.fallback", f"must be one of {', '.join(FALLBACKS)}")
        if fallback == "stable":
            stable = await ctx.registry.stable(model)
            if stable is None:
                raise ValidationError("params.fallback", f"{model} has no stable version")
            version = stable.version
        else:  # the rollback target, planned without changing anything
            version = await _last_known_good(ctx, model)
    assert version is not None
    return _switched(
        await ctx.registry.pin_traffic(
            model, version, actor=ctx.actor, dry_run=ctx.dry_run, incident=ctx.incident
        )
    )


async def _last_known_good(ctx: RunContext, model: str) -> str:
    """Where containment pins: the rollback target, or the stable version itself when a
    rollback has just put it back (right after ``/rollback M --incident N``, pinning is
    still a fine thing to ask, and the good version is the one serving)."""
    try:
        return (await ctx.registry.rollback(model, actor=ctx.actor, dry_run=True)).to_version
    except RegistryError:
        versions = await ctx.registry.versions(model)
        stable = next((v for v in versions if v.stage == "stable"), None)
        if stable is None or returned_to(versions, stable) is None:
            raise
        return stable.version


async def set_canary(ctx: RunContext, params: Mapping[str, Any]) -> StepOutcome:
    """``registry.set_canary``: give a version ``percent`` % of the traffic (0 stops it)."""
    model, version = need_text(params, "model"), need_text(params, "version")
    raw = params.get("percent")
    try:
        percent = int(str(raw))
    except ValueError:
        raise ValidationError("params.percent", f"must be a whole number, got {raw!r}") from None
    if ctx.dry_run:
        known = [v.version for v in await ctx.registry.versions(model)]
        if version not in known:
            raise ValidationError("params.version", f"{model} has no version {version!r}")
        return StepOutcome(True, f"Dry run: would set {model} {version} canary to {percent} %")
    info = await ctx.registry.set_canary(
        model, version, percent, actor=ctx.actor, incident=ctx.incident
    )
    return StepOutcome(
        True,
        f"{model} {version} is now {info.stage} at {info.traffic_percent} %",
        {"model": model, "version": version, "percent": info.traffic_percent},
    )
