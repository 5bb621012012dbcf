"""The one shape every inbound alert takes once parsed, whatever format it arrived in."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

AlertStatus = Literal["firing", "resolved"]


@dataclass(frozen=True)
class AlertIn:
    """A validated alert, ready for the incident service.

    ``fingerprint`` is Alertmanager's (see ``bot.incidents.intake.fingerprint``); when a sender
    supplies one we keep it, otherwise it is computed from ``labels``. ``ends_at`` is None
    while firing (Alertmanager's ``0001-01-01T00:00:00Z`` is mapped to None).
    """

    source: str
    status: AlertStatus
    title: str
    labels: dict[str, str]
    fingerprint: str
    starts_at: datetime
    annotations: dict[str, str] = field(default_factory=dict)
    ends_at: datetime | None = None
    value: float | None = None
    severity_hint: str | None = None
    generator_url: str | None = None
