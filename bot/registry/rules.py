"""The registry's rules, pure: what a promote, canary, rollback, pin or retire does to rows.

Both adapters (``builtin`` in the database, ``fake`` in memory) load one model's version rows,
call these functions to change them in place and get back the history entries to store, so
the two can never disagree about what "last known good" means. Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol, TypeVar, cast

from bot.core.errors import NotFoundError, ValidationError
from bot.registry.base import RegistryError, RollbackResult, Stage, VersionInfo

SwitchKind = Literal["rollback", "pin"]
MAX_MODEL = 200
MAX_VERSION = 64


class Row(Protocol):
    """The fields of one stored version that the rules read and write."""

    model: str
    version: str
    stage: str
    traffic_percent: int
    created_at: datetime
    promoted_at: datetime | None
    promotion_seq: int | None
    rolled_back_at: datetime | None
    notes: str


R = TypeVar("R", bound=Row)


class Dated(Protocol):
    """What :func:`returned_to` reads: a stored row or a ``VersionInfo`` alike."""

    @property
    def promoted_at(self) -> datetime | None: ...

    @property
    def rolled_back_at(self) -> datetime | None: ...


D = TypeVar("D", bound=Dated)


@dataclass(frozen=True)
class Change:
    """A history entry the caller stores: what happened to which version."""

    version: str
    kind: str
    text: str
    data: dict[str, Any] = field(default_factory=dict)


def check_name(what: Literal["model", "version"], value: str) -> str:
    """Names appear in chat and URLs: non-empty, bounded, no whitespace."""
    limit = MAX_MODEL if what == "model" else MAX_VERSION
    if not value or len(value) > limit or any(c.isspace() or not c.isprintable() for c in value):
        raise ValidationError(what, f"must be 1-{limit} printable characters without spaces")
    return value


def info(row: Row) -> VersionInfo:
    return VersionInfo(
        model=row.model,
        version=row.version,
        stage=cast(Stage, row.stage),
        traffic_percent=row.traffic_percent,
        created_at=row.created_at,
        promoted_at=row.promoted_at,
        notes=row.notes,
        rolled_back_at=row.rolled_back_at,
    )


def describe(rows: Sequence[Row]) -> str:
    """ "v2 (shadow), v3 (stable, 90 %), v4 (canary, 10 %)": the model at a glance."""
    parts = []
    for r in rows:
        pct = f", {r.traffic_percent} %" if r.stage in ("stable", "canary") else ""
        parts.append(f"{r.version} ({r.stage}{pct})")
    return ", ".join(parts)


def unknown_model(model: str, known: Sequence[str]) -> NotFoundError:
    listed = ", ".join(known) if known else "none yet"
    return NotFoundError(f"The registry has no model {model!r}. Known models: {listed}.")


def find(rows: Sequence[R], model: str, version: str) -> R:
    for r in rows:
        if r.version == version:
            return r
    listed = ", ".join(r.version for r in rows) or "none"
    raise NotFoundError(f"{model} has no version {version!r}. Its versions: {listed}.")


def stable_of(rows: Sequence[R]) -> R | None:
    return next((r for r in rows if r.stage == "stable"), None)


def last_known_good(rows: Sequence[R], current: R | None) -> R | None:
    """The most recently promoted version that is not serving now and was not rolled back."""
    candidates = [
        r
        for r in rows
        if r is not current
        and r.promotion_seq is not None
        and r.rolled_back_at is None
        and r.stage != "retired"
    ]
    return max(candidates, key=lambda r: r.promotion_seq or 0, default=None)


def returned_to(rows: Sequence[D], current: D | None) -> D | None:
    """The version most recently rolled back from ``current``, if ``current`` serves
    because of a rollback (so it is itself the last known good version), else None."""
    if current is None or current.promoted_at is None:
        return None
    undone = [
        r
        for r in rows
        if r is not current
        and r.rolled_back_at is not None
        and r.rolled_back_at >= current.promoted_at
    ]
    at = current.promoted_at
    return max(undone, key=lambda r: r.rolled_back_at or at, default=None)


def _next_seq(rows: Sequence[Row]) -> int:
    return max((r.promotion_seq or 0 for r in rows), default=0) + 1


def _canary_total(rows: Sequence[Row], *, excluding: Row | None = None) -> int:
    return sum(r.traffic_percent for r in rows if r.stage == "canary" and r is not excluding)


def _refuse_retired(model: str, row: Row) -> None:
    if row.stage == "retired":
        raise RegistryError(f"{model} {row.version} is retired; register a new version instead.")


def promote(rows: Sequence[Row], row: Row, now: datetime) -> list[Change]:
    """``row`` becomes stable; the old stable becomes a shadow and the previous good."""
    _refuse_retired(row.model, row)
    if row.stage == "stable":
        raise RegistryError(f"{row.model} {row.version} is already the stable version.")
    old = stable_of(rows)
    if old is not None:
        old.stage, old.traffic_percent = "shadow", 0
    row.stage = "stable"
    row.traffic_percent = 100 - _canary_total(rows)
    row.promoted_at, row.promotion_seq, row.rolled_back_at = now, _next_seq(rows), None
    text = f"{row.version} promoted to stable"
    text += f", replacing {old.version}" if old is not None else ""
    return [Change(row.version, "promoted", text, {"from": old.version if old else None})]


def set_canary(rows: Sequence[Row], row: Row, percent: int) -> list[Change]:
    """Move traffic between the stable version and a canary; 0 % puts it back in shadow."""
    _refuse_retired(row.model, row)
    if row.stage == "stable":
        raise RegistryError(
            f"{row.model} {row.version} is the stable version; it cannot also be a canary."
        )
    if not 0 <= percent <= 99:
        raise ValidationError("percent", f"a canary takes 1-99 % of the traffic, got {percent}")
    stable = stable_of(rows)
    if stable is None:
        raise RegistryError(
            f"{row.model} has no stable version yet; promote one before starting a canary."
        )
    total = _canary_total(rows, excluding=row) + percent
    if total > 99:
        raise RegistryError(
            f"Canaries of {row.model} would take {total} %; "
            f"the stable {stable.version} must keep at least 1 %."
        )
    before = row.traffic_percent
    row.stage, row.traffic_percent = ("canary", percent) if percent else ("shadow", 0)
    stable.traffic_percent = 100 - total
    text = f"{row.version} canary at {percent} % (was {before} %)"
    if not percent:
        text = f"{row.version} canary stopped (was {before} %), back in shadow"
    return [Change(row.version, "canary", text, {"from": before, "to": percent})]


def plan_switch(
    rows: Sequence[Row],
    model: str,
    to_version: str | None,
    *,
    kind: SwitchKind,
    dry_run: bool,
) -> RollbackResult:
    """Decide what a rollback or pin would do, without changing anything."""
    current = stable_of(rows)
    if to_version is not None:
        target = find(rows, model, to_version)
    elif kind == "pin":
        raise ValidationError("version", "pin_traffic needs the version to pin")
    elif current is None:
        raise RegistryError(
            f"{model} has no stable version to roll back from. Its versions: {describe(rows)}."
        )
    else:
        found = last_known_good(rows, current)
        if found is None:
            undone = returned_to(rows, current)
            if undone is not None:  # a rollback already put the good one back: say so
                raise RegistryError(
                    f"No earlier stable version of {model} to roll back to: "
                    f"{current.version} serves because {undone.version} was rolled back, so "
                    f"{current.version} is the last known good version."
                )
            others = [r for r in rows if r is not current]
            tail = f"it has only {current.version}"
            if others:
                tail = f"{current.version} is the only version ever promoted ({describe(others)})"
            raise RegistryError(f"No earlier stable version of {model} to roll back to; {tail}.")
        target = found
    _refuse_retired(model, target)
    if kind == "rollback" and target is current:
        raise RegistryError(f"{model} {target.version} is already the stable version.")
    paused = tuple(r.version for r in rows if r.stage == "canary" and r is not target)
    would = "would " if dry_run else ""
    if target is current:
        what = f"{model}: {target.version} {would}serve 100 % as before"
    elif current is None:
        what = f"{model}: {target.version} {would}become stable, serving 100 %"
    elif dry_run:
        what = f"{model}: would replace {current.version} with {target.version}"
    else:
        what = f"{model}: {target.version} replaced {current.version} as stable"
    if kind == "rollback" and to_version is None:
        what += f" ({target.version} is the last known good version)"
    if paused:
        what += (
            f"; canar{'ies' if len(paused) > 1 else 'y'} {'would be ' if dry_run else ''}paused: "
        )
        what += ", ".join(paused)
    head = {"rollback": "Rollback of", "pin": "Traffic pinned on"}[kind]
    return RollbackResult(
        model=model,
        from_version=current.version if current else None,
        to_version=target.version,
        explanation=f"{'Dry run: ' if dry_run else ''}{head} {what}.",
        dry_run=dry_run,
        paused=paused,
    )


def apply_switch(
    rows: Sequence[Row], plan: RollbackResult, now: datetime, *, kind: str
) -> list[Change]:
    """Carry out a plan from ``plan_switch``: pause canaries, swap the stable version."""
    target = find(rows, plan.model, plan.to_version)
    changes = []
    for r in rows:
        if r.stage == "canary" and r is not target:
            changes.append(
                Change(
                    r.version, "paused", f"{r.version} canary paused (was {r.traffic_percent} %)"
                )
            )
            r.stage, r.traffic_percent = "shadow", 0
    current = stable_of(rows)
    if current is not None and current is not target:
        current.stage, current.traffic_percent, current.rolled_back_at = "shadow", 0, now
    if target.stage != "stable":
        target.promoted_at, target.promotion_seq = now, _next_seq(rows)
    target.stage, target.traffic_percent, target.rolled_back_at = "stable", 100, None
    data = {"from": plan.from_version, "to": plan.to_version, "paused": list(plan.paused)}
    changes.append(Change(target.version, kind, plan.explanation, data))
    return changes


def retire(rows: Sequence[Row], row: Row) -> list[Change]:
    """Retire a non-stable version; a canary's traffic goes back to the stable one."""
    _refuse_retired(row.model, row)
    if row.stage == "stable":
        raise RegistryError(
            f"{row.model} {row.version} is the stable version; "
            "roll back or promote another version before retiring it."
        )
    stable = stable_of(rows)
    if row.stage == "canary" and stable is not None:
        stable.traffic_percent += row.traffic_percent
    before = row.stage
    row.stage, row.traffic_percent = "retired", 0
    return [Change(row.version, "retired", f"{row.version} retired (was {before})")]


class Shape(Protocol):
    """What ``invariant_problems`` reads: a stored row or a ``VersionInfo`` snapshot."""

    @property
    def version(self) -> str: ...
    @property
    def stage(self) -> str: ...
    @property
    def traffic_percent(self) -> int: ...
    @property
    def promoted_at(self) -> datetime | None: ...


def invariant_problems(rows: Sequence[Shape]) -> list[str]:
    """Broken promises, in words; empty when the model is consistent (used by tests)."""
    problems = []
    stables = [r for r in rows if r.stage == "stable"]
    if len(stables) > 1:
        problems.append(f"{len(stables)} stable versions")
    if any(r.promoted_at is not None for r in rows) and not stables:
        problems.append("no stable version after a promotion")
    for r in rows:
        if r.stage == "canary" and not 1 <= r.traffic_percent <= 99:
            problems.append(f"canary {r.version} at {r.traffic_percent} %")
        if r.stage in ("shadow", "retired") and r.traffic_percent:
            problems.append(f"{r.stage} {r.version} serves {r.traffic_percent} %")
    canaries = sum(r.traffic_percent for r in rows if r.stage == "canary")
    if stables and sum(r.traffic_percent for r in stables) + canaries != 100:
        problems.append("stable and canary traffic do not add up to 100 %")
    return problems


def check_new(rows: Sequence[Row], model: str, version: str, stage: str, traffic: int) -> None:
    """Refuse a duplicate version and stage/traffic pairs that make no sense."""
    if any(r.version == version for r in rows):
        raise RegistryError(f"{model} {version} is already registered.")
    if stage not in ("stable", "canary", "shadow"):
        raise ValidationError("stage", f"a new version is stable, canary or shadow, got {stage!r}")
    if stage != "canary" and traffic:
        raise ValidationError("traffic", f"only a canary takes a traffic share, not a {stage}")
    if stage == "canary" and not 1 <= traffic <= 99:
        raise ValidationError("traffic", f"a canary takes 1-99 % of the traffic, got {traffic}")


def registered(
    rows: Sequence[Row], row: Row, stage: str, traffic: int, now: datetime, notes: str
) -> list[Change]:
    """History for a freshly added shadow ``row`` (already in ``rows``), then its stage."""
    text = f"{row.version} registered" + (f": {notes}" if notes else "")
    changes = [Change(row.version, "registered", text, {"notes": notes})]
    if stage == "stable":
        changes += promote(rows, row, now)
    elif stage == "canary":
        changes += set_canary(rows, row, traffic)
    return changes
