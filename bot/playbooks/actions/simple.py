"""Actions that only speak: a note on the timeline, a request for a human to confirm."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.playbooks.actions.base import RunContext, StepOutcome, need_text


async def incident_note(ctx: RunContext, params: Mapping[str, Any]) -> StepOutcome:
    """``incident.note``: the text becomes the step's message, which the run's recorder
    puts on the incident timeline (the same in a dry run: a note changes nothing)."""
    return StepOutcome(True, need_text(params, "text"))


async def check_manual(ctx: RunContext, params: Mapping[str, Any]) -> StepOutcome:
    """``check.manual``: ask the responder to verify something by hand ("Confirm: …").

    It does not wait: the run goes on, and the request stays on the timeline where the
    commander sees it; a blocking wait for an acknowledgement is a later feature.
    """
    return StepOutcome(True, f"Confirm: {need_text(params, 'text')}", {"confirm": True})
