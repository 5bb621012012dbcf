"""What decides an incident's grouping, severity and quiet period, as ``vigil.yaml`` sets it.

Shared by the incident service and alert ingestion; apart from both so that reading the
configuration (``bot.config.load``) loads no database code. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from types import MappingProxyType

from bot.incidents import quiet
from bot.incidents.intake.fingerprint import DEFAULT_GROUP_BY
from bot.incidents.policy.classify import DEFAULT_POLICY, Policy, SubjectPolicy


@dataclass(frozen=True)
class IncidentSettings:
    """What decides grouping and severity; built from ``vigil.yaml`` by ``bot.config.load``."""

    group_by: tuple[str, ...] = DEFAULT_GROUP_BY
    policy: Policy = DEFAULT_POLICY
    models: Mapping[str, SubjectPolicy] = field(default_factory=lambda: MappingProxyType({}))
    services: Mapping[str, SubjectPolicy] = field(default_factory=lambda: MappingProxyType({}))
    #: Severity → quiet period after every alert cleared before it resolves itself (None:
    #: never by itself); ``bot.incidents.quiet``.
    auto_resolve: Mapping[str, timedelta | None] = field(default_factory=lambda: quiet.DEFAULTS)
