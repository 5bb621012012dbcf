"""What an outside registry is told, and what it must answer: ``Move`` and ``ServingTarget``.

A move is the serving picture before and after one change (which version is stable, which
canaries take what share), so the far end never has to know Vigil's rules. The target
either carries the move out and returns, or raises ``RegistryError`` having changed
nothing it can undo; :mod:`bot.registry.recorded` appends to Vigil's record only after it
returned. Pure: the adapters (``mlflow``, ``webhook``) do the I/O.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class Found:
    """A version the outside registry has, whether or not Vigil ever moved it."""

    version: str
    created_at: datetime


@dataclass(frozen=True)
class Move:
    """One change of what serves a model: ``kind`` is promote, canary, rollback, pin or
    retire; ``traffic_*`` map each serving version (the stable one and the canaries) to its
    percentage; ``key`` is the idempotency key (the same move retried has the same key)."""

    model: str
    kind: str
    stable_before: str | None
    stable_after: str | None
    traffic_before: Mapping[str, int]
    traffic_after: Mapping[str, int]
    actor: str
    incident: int | None
    key: str
    at: datetime
    text: str

    @property
    def canaries_before(self) -> dict[str, int]:
        return {v: p for v, p in self.traffic_before.items() if v != self.stable_before}

    @property
    def canaries_after(self) -> dict[str, int]:
        return {v: p for v, p in self.traffic_after.items() if v != self.stable_after}


def move_key(target: str, model: str, seq: int, traffic: Mapping[str, int]) -> str:
    """The idempotency key: the record's next entry number and the picture it leads to."""
    picture = ",".join(f"{v}={p}" for v, p in sorted(traffic.items()))
    digest = hashlib.sha256(f"{target}\n{model}\n{seq}\n{picture}".encode()).hexdigest()
    return f"vigil-{digest[:32]}"


class ServingTarget(Protocol):
    """Where the serving picture lives outside Vigil."""

    name: str
    """The record's ``target`` column: ``mlflow`` or ``webhook``."""

    label: str
    """How messages name it: "MLflow at http://mlflow:5000"; never a secret."""

    owns_versions: bool
    """True when versions exist there first (MLflow numbers them) and Vigil only moves
    them; False when Vigil's record is the only list of versions (a webhook)."""

    async def models(self) -> list[str]:
        """The models it knows of its own (none for a webhook)."""
        ...

    async def versions(self, model: str) -> list[Found]:
        """The versions it knows of its own, oldest first (none for a webhook)."""
        ...

    async def stable(self, model: str) -> str | None:
        """The version it serves as stable now, if it can say (None for a webhook): used
        only until Vigil's record has moved the model once."""
        ...

    async def apply(self, move: Move) -> None:
        """Carry out ``move``, or raise ``RegistryError`` saying why not (nothing moved)."""
        ...

    async def aclose(self) -> None: ...
