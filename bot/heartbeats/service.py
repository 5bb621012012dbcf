"""Receiving a beat: check the name, validate the body, store it, say what was wrong with it.

The HTTP route (``POST /api/v1/heartbeats/{name}``) only translates: this answers with a
``Receipt`` the job can print, so a run that produced bad data learns it from its own log
at once ("0 rows"), not only from the incident the rules open a moment later.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.core.clock import Clock
from bot.core.errors import NotFoundError
from bot.core.timefmt import iso_z
from bot.heartbeats.check import expected_hash, late_after, parse_beat, problems
from bot.heartbeats.spec import HeartbeatSpec
from bot.heartbeats.store import HeartbeatStore


@dataclass(frozen=True)
class Receipt:
    """What the job is told: when its next run is due, and this run's problems in words."""

    name: str
    received_at: datetime
    finished_at: datetime
    next_due: datetime
    late_after: datetime
    beats: int
    problems: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "received_at": iso_z(self.received_at),
            "finished_at": iso_z(self.finished_at),
            "next_due": iso_z(self.next_due),
            "late_after": iso_z(self.late_after),
            "beats": self.beats,
            "problems": list(self.problems),
        }


class HeartbeatService:
    """The configured heartbeats (``heartbeats:`` of vigil.yaml) and their store."""

    def __init__(
        self, store: HeartbeatStore, specs: Mapping[str, HeartbeatSpec], *, clock: Clock
    ) -> None:
        self._store = store
        self._specs = dict(specs)
        self._clock = clock

    def spec(self, name: str) -> HeartbeatSpec:
        """The heartbeat's settings; ``NotFoundError`` says which names exist, and how to add."""
        spec = self._specs.get(name)
        if spec is None:
            shown = json.dumps(name[:100])
            how = f"add it under `heartbeats:` in vigil.yaml ({name[:100]}: {{every: 1h}})"
            if self._specs:
                names = ", ".join(sorted(self._specs))
                raise NotFoundError(f"no heartbeat named {shown} (configured: {names}); {how}")
            raise NotFoundError(f"no heartbeats are configured; {how}")
        return spec

    async def beat(self, name: str, payload: object) -> Receipt:
        """Record one run (committed on return). ``NotFoundError`` for an unknown name,
        ``ValidationError`` naming the field for a bad body; either way nothing is stored."""
        spec = self.spec(name)
        now = self._clock()
        beat = parse_beat(payload, now=now)
        state = await self._store.record(name, beat, now)
        assert state.last_beat_at is not None  # a beat was just recorded
        return Receipt(
            name=name,
            received_at=now,
            finished_at=beat.at,
            next_due=state.last_beat_at + spec.every,
            late_after=late_after(spec, state.last_beat_at),
            beats=state.beats,
            problems=tuple(
                problems(spec, beat, expected_hash(spec, state), now, latest=state.last_beat_at)
            ),
        )
