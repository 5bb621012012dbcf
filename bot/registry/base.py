"""The model registry contract: which versions of a model exist and which one serves.

Every adapter (the built-in one in Vigil's database, the in-memory fake, and the outside
ones in ``bot.registry.recorded``: MLflow aliases, a signed serving webhook) keeps
the same promises, so ``/rollback`` and the playbooks never care which one they talk to:

- a version is ``stable`` (serves the rest of the traffic), ``canary`` (1-99 % of it),
  ``shadow`` (gets a copy of the traffic, serves nothing) or ``retired``;
- once any version has been promoted a model has exactly one stable version, and the stable
  percentage plus every canary percentage is 100;
- ``rollback`` goes to the *last known good* version: the most recently promoted one that
  has not itself been rolled back, never simply the row before. A refused rollback changes
  nothing and says why, naming the versions the model has.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from bot.core.errors import NotFoundError, VigilError

Stage = Literal["stable", "canary", "shadow", "retired"]
STAGES: tuple[Stage, ...] = ("stable", "canary", "shadow", "retired")


class RegistryError(VigilError):
    """The registry refused a change that would make no sense; nothing was changed.

    Example: "No earlier stable version of fraud-scorer to roll back to; it has only v3."
    """


@dataclass(frozen=True)
class VersionInfo:
    """A snapshot of one model version, safe to hand to chat and the API."""

    model: str
    version: str
    stage: Stage
    traffic_percent: int
    created_at: datetime
    promoted_at: datetime | None = None
    notes: str = ""
    rolled_back_at: datetime | None = None


@dataclass(frozen=True)
class RollbackResult:
    """A change of the serving version (rollback or containment pin), or its plan (dry run).

    ``explanation`` is the sentence a person reads: which version replaced which, and what
    else moved (paused canaries).
    """

    model: str
    from_version: str | None
    to_version: str
    explanation: str
    dry_run: bool = False
    paused: tuple[str, ...] = ()


@dataclass(frozen=True)
class RegistryEvent:
    """One entry of a model's history: who changed what, when."""

    at: datetime
    model: str
    version: str
    kind: str  # registered | promoted | canary | rollback | pin | retired | paused
    actor: str
    text: str
    data: dict[str, Any] = field(default_factory=dict)


class ModelRegistry(Protocol):
    """What Vigil needs from a model registry; every method is async and transactional."""

    async def models(self) -> list[str]:
        """Every model the registry knows, sorted."""
        ...

    async def versions(self, model: str) -> list[VersionInfo]:
        """The model's versions, oldest first; ``NotFoundError`` listing known models."""
        ...

    async def stable(self, model: str) -> VersionInfo | None:
        """The version serving the model now, or None before the first promotion."""
        ...

    async def history(self, model: str) -> list[RegistryEvent]:
        """Every change to the model's versions, oldest first."""
        ...

    async def register(
        self,
        model: str,
        version: str,
        *,
        stage: Stage = "shadow",
        traffic: int = 0,
        actor: str,
        notes: str = "",
    ) -> VersionInfo:
        """Add a version. ``stable`` promotes it, ``canary`` starts it at ``traffic`` %."""
        ...

    async def promote(self, model: str, version: str, *, actor: str) -> VersionInfo:
        """Make the version stable; the previous stable stays deployable as a shadow."""
        ...

    async def set_canary(
        self,
        model: str,
        version: str,
        percent: int,
        *,
        actor: str = "vigil",
        incident: int | None = None,
    ) -> VersionInfo:
        """Give a non-stable version ``percent`` % of the traffic (0 puts it back in shadow).

        ``incident`` (here and on the switches below): the incident the change is made for,
        which an outside registry records with the move (MLflow's ``vigil.incident`` tag)."""
        ...

    async def rollback(
        self,
        model: str,
        to_version: str | None = None,
        *,
        actor: str,
        dry_run: bool = False,
        incident: int | None = None,
    ) -> RollbackResult:
        """Make the last known good version (or ``to_version``) stable again.

        The replaced version is marked rolled back, so it is never "last known good" again
        until someone promotes it; canaries are paused (back to shadow).
        """
        ...

    async def pin_traffic(
        self,
        model: str,
        version: str,
        *,
        actor: str,
        dry_run: bool = False,
        incident: int | None = None,
    ) -> RollbackResult:
        """Containment: ``version`` serves 100 %, every canary is paused.

        Pinning the current stable only pauses canaries; pinning another version replaces
        the stable exactly as a rollback to it would.
        """
        ...

    async def retire(self, model: str, version: str, *, actor: str = "vigil") -> VersionInfo:
        """Take a version out of service for good; the stable version cannot be retired."""
        ...


async def stable_version(registry: ModelRegistry, model: str) -> str | None:
    """The version serving ``model`` now, or None when nothing is stable yet or the registry
    does not know the model (a model watched for quality need not be registered)."""
    try:
        stable = await registry.stable(model)
    except NotFoundError:
        return None
    return stable.version if stable is not None else None
