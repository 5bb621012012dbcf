"""What time it is, as something a caller can replace.

Every service that stamps or schedules takes a ``Clock`` (default :func:`utcnow`), so tests
and ``vigil demo`` drive time with a fake clock and nothing sleeps to wait for it. Pure.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    """The default clock: now, aware, in UTC; tests inject their own."""
    return datetime.now(UTC)
