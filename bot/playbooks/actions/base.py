"""The contract every playbook action keeps, and the helpers they share.

An action is an async callable ``(ctx, params) -> StepOutcome``. It reports failure by
returning ``ok=False`` with a reason a person can act on, or by raising a ``VigilError``;
the runner turns anything else into a failed step, so one broken action never crashes a
run. In a dry run (``ctx.dry_run``) an action changes nothing and says what it would do.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Protocol

from bot.core.errors import ValidationError
from bot.registry.base import ModelRegistry


@dataclass(frozen=True)
class StepOutcome:
    """What a step did: ``message`` goes on the incident timeline, ``data`` to later steps."""

    ok: bool
    message: str
    data: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class RunContext:
    """What an action may use: the registry, who runs it, and whether it is a dry run."""

    registry: ModelRegistry
    actor: str
    dry_run: bool = False
    incident: int | None = None
    run_id: str = ""
    timeout_s: float = 60.0


class Action(Protocol):
    async def __call__(self, ctx: RunContext, params: Mapping[str, Any]) -> StepOutcome: ...


@dataclass(frozen=True)
class ActionSpec:
    """An action under its name, with the parameters the loader lets a step give it."""

    name: str
    run: Action
    required: frozenset[str] = frozenset()
    optional: frozenset[str] = frozenset()


def text_param(params: Mapping[str, Any], key: str, *, required: bool = True) -> str | None:
    """A string parameter after placeholders were filled; empty or None counts as absent."""
    value = params.get(key)
    if value is None or value == "":
        if required:
            raise ValidationError(f"params.{key}", "is empty after filling placeholders")
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValidationError(f"params.{key}", f"must be text, got {type(value).__name__}")
    return str(value)


def need_text(params: Mapping[str, Any], key: str) -> str:
    value = text_param(params, key)
    assert value is not None
    return value
