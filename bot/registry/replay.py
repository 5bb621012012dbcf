"""A model's versions rebuilt from Vigil's append-only record of moves. Pure.

An outside registry (MLflow, a serving webhook) keeps no history Vigil can read, so what
``/rollback`` needs (which version was promoted when, which was rolled back from) is
rebuilt here by replaying the record, entry by entry. Replaying only sets fields, it never
refuses: the record holds moves that were allowed when they were made. The versions the
outside registry has but Vigil never moved join as shadows; until the record has moved a
model's stable version once, the one the outside registry serves is taken as stable.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from bot.registry.serving import Found

SETS_STABLE = ("promoted", "rollback", "pin")


class Entry(Protocol):
    """What replay reads of one record row."""

    @property
    def version(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def at(self) -> datetime: ...
    @property
    def data(self) -> dict[str, Any]: ...


@dataclass
class VersionRow:
    """One version as the rules read and change it (``bot.registry.rules.Row``)."""

    model: str
    version: str
    stage: str
    traffic_percent: int
    created_at: datetime
    promoted_at: datetime | None = None
    promotion_seq: int | None = None
    rolled_back_at: datetime | None = None
    notes: str = ""


@dataclass
class State:
    """The rebuilt versions, oldest first, and the version taken as stable from the outside
    registry (``adopted``), which the next move records before its own entries."""

    rows: list[VersionRow]
    adopted: str | None = None
    recorded: set[str] = field(default_factory=set)


def replay(
    model: str, entries: Sequence[Entry], found: Sequence[Found], serving: str | None
) -> State:
    """The model's versions after every entry; ``serving``: the outside stable version."""
    created = {f.version: f.created_at for f in found}
    rows: dict[str, VersionRow] = {}
    seq = 0

    def row(version: str, at: datetime) -> VersionRow:
        if version not in rows:
            rows[version] = VersionRow(model, version, "shadow", 0, created.get(version, at))
        return rows[version]

    for e in entries:
        r = row(e.version, e.at)
        stable = next((x for x in rows.values() if x.stage == "stable"), None)
        if e.kind == "registered":
            r.notes = str(e.data.get("notes") or "")
        elif e.kind in SETS_STABLE:
            if stable is not None and stable is not r:
                stable.stage, stable.traffic_percent = "shadow", 0
                if e.kind != "promoted":
                    stable.rolled_back_at = e.at
            if r.stage != "stable" or e.kind == "promoted":
                seq += 1
                r.promoted_at, r.promotion_seq = e.at, seq
            r.stage, r.rolled_back_at = "stable", None
        elif e.kind == "canary":
            to = int(e.data.get("to") or 0)
            r.stage, r.traffic_percent = ("canary", to) if to else ("shadow", 0)
        elif e.kind in ("paused", "retired"):
            r.stage, r.traffic_percent = ("shadow" if e.kind == "paused" else "retired"), 0
        _rebalance(rows)
    for f in found:
        row(f.version, f.created_at)
    ordered = sorted(rows.values(), key=lambda x: x.created_at)
    state = State(ordered, recorded={e.version for e in entries})
    ever_set = any(e.kind in SETS_STABLE for e in entries)
    if not ever_set and serving is not None and serving in rows:
        adopted = rows[serving]
        adopted.stage, adopted.traffic_percent, adopted.rolled_back_at = "stable", 0, None
        adopted.promoted_at, adopted.promotion_seq = adopted.created_at, 0
        _rebalance(rows)
        state.adopted = serving
    return state


def _rebalance(rows: Mapping[str, VersionRow]) -> None:
    """The stable version takes whatever the canaries leave."""
    canaries = sum(r.traffic_percent for r in rows.values() if r.stage == "canary")
    for r in rows.values():
        if r.stage == "stable":
            r.traffic_percent = 100 - canaries


def picture(rows: Sequence[VersionRow]) -> tuple[str | None, dict[str, int]]:
    """What serves: the stable version and each serving version's percentage."""
    stable = next((r.version for r in rows if r.stage == "stable"), None)
    return stable, {r.version: r.traffic_percent for r in rows if r.stage in ("stable", "canary")}
