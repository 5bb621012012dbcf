"""What a loaded playbook is: a name, a description and steps, each frozen and validated.

Playbooks are written by people (``playbooks/*.yaml``) and read by the runner; the loader
guarantees that every ``Playbook`` it hands out has known actions, sane timeouts and the
parameters its actions need, so a broken file fails at ``vigil check``, not at 2 a.m.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

OnFailure = Literal["stop", "continue"]
ON_FAILURE: tuple[OnFailure, ...] = ("stop", "continue")
DEFAULT_TIMEOUT_S = 60.0
MAX_TIMEOUT_S = 3600.0


@dataclass(frozen=True)
class Step:
    """One action with its parameters (strings may hold ``{{ input }}`` placeholders)."""

    name: str
    action: str
    params: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    timeout_s: float = DEFAULT_TIMEOUT_S
    on_failure: OnFailure = "stop"


@dataclass(frozen=True)
class Playbook:
    """A named list of steps; ``inputs`` are the placeholders a run must fill."""

    name: str
    description: str
    steps: tuple[Step, ...]
    inputs: frozenset[str] = frozenset()
    source: str = ""
