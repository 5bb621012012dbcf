"""How a time is written in JSON answers: ISO 8601, UTC spelled ``Z``."""

from __future__ import annotations

from datetime import datetime
from typing import overload


@overload
def iso_z(value: datetime) -> str: ...
@overload
def iso_z(value: datetime | None) -> str | None: ...
def iso_z(value: datetime | None) -> str | None:
    """``2024-05-01T12:00:00Z`` for an aware UTC time; ``None`` stays ``None``."""
    return None if value is None else value.isoformat().replace("+00:00", "Z")
