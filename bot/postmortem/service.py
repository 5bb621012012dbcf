"""Drafting a post-mortem as an action: render, write the file, record it on the timeline.

Used by ``/incident postmortem N``, ``vigil postmortem N`` and automatically when a P1 or P2
incident is resolved (every P1 and P2 gets a post-mortem, as the product promises). A
resolved incident moves to the ``postmortem`` state when its draft is written.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path

from bot.core.clock import Clock
from bot.incidents.reactions.changes import Change
from bot.incidents.service import IncidentService
from bot.incidents.views import IncidentView
from bot.postmortem.draft import PostmortemRenderer
from bot.postmortem.report import needs_postmortem

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Draft:
    path: Path
    text: str
    incident: IncidentView


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


class PostmortemService:
    def __init__(
        self,
        incidents: IncidentService,
        renderer: PostmortemRenderer,
        *,
        out_dir: Path,
        clock: Clock,
    ) -> None:
        self._incidents = incidents
        self._renderer = renderer
        self._out_dir = out_dir
        self._clock = clock

    def path_for(self, incident_id: int) -> Path:
        return self._out_dir / f"incident-{incident_id}-postmortem.md"

    async def render(self, incident_id: int) -> str:
        """The draft text, without writing or recording anything (``vigil postmortem``)."""
        view = await self._incidents.get(incident_id)
        return self._renderer.render(view, now=self._clock())

    async def draft(self, incident_id: int, *, actor: str, advance: bool = True) -> Draft:
        """Render the draft, write it under ``out_dir`` and record it on the timeline.

        With ``advance`` (a person asked for it) a resolved incident moves to ``postmortem``:
        the review has started. The automatic draft on resolve leaves the state alone.
        """
        view = await self._incidents.get(incident_id)
        text = self._renderer.render(view, now=self._clock())
        path = self.path_for(incident_id)
        await asyncio.to_thread(_write, path, text)
        state = "postmortem" if advance and view.state == "resolved" else None
        view = await self._incidents.record(
            incident_id,
            kind="postmortem",
            text=f"Post-mortem draft written to {path} by {actor}",
            actor=actor,
            data={"path": str(path)},
            state=state,
        )
        return Draft(path, text, view)

    async def on_change(self, change: Change) -> None:
        """Listener: draft automatically when a P1 or P2 incident is resolved."""
        view = change.incident
        if change.kind == "state" and view.state == "resolved" and needs_postmortem(view):
            draft = await self.draft(view.id, actor="vigil", advance=False)
            log.info("post-mortem draft for #%d written to %s", view.id, draft.path)
