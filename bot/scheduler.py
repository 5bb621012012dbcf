"""The address every durable timer row holds, ``bot.scheduler:_fire``, kept importable.

The timers themselves are :mod:`bot.timers` (this module's name before "schedule" came to
mean on-call layers). APScheduler stores a textual reference to a function in each row of
``vigil_timers`` and imports it whenever it reads the row; a row whose reference no longer
imports is deleted, and with it a pending escalation, SLA reminder or snooze end. Rows
written by every Vigil so far name this module, and new rows name it too, so a database
survives an upgrade and a rollback alike. Nothing else belongs here.
"""

from __future__ import annotations

from typing import Any


async def _fire(kind: str, key: str, payload: dict[str, Any], attempt: int = 0) -> None:
    """The stable address stored in every timer row; :class:`bot.timers.Timers` dispatches by
    ``kind``.

    Only reached if a plain APScheduler (not ours) loads the table: refuse loudly rather
    than drop the page silently.
    """
    raise RuntimeError(f"timer {key!r} ({kind}) must be run by bot.timers.Timers")
