"""When a person first responded to an incident: the one definition of MTTA's end.

A post-mortem and ``/incident report`` once disagreed on the same incident: the report
counted the first of acknowledge, contain and resolve, the post-mortem acknowledgement
alone (so an incident resolved without an ack had no time to acknowledge there). Both
read this now. A person who contained or resolved it had plainly taken it, and a stamp
before the opening (a clock a little behind) counts as the opening. Pure.
"""

from __future__ import annotations

from datetime import datetime


def effective_ack(
    opened_at: datetime,
    acknowledged_at: datetime | None,
    resolved_at: datetime | None,
    contained_at: datetime | None = None,
) -> datetime | None:
    """The first of ack, contain and resolve, never before the opening (None: none yet)."""
    times = [t for t in (acknowledged_at, contained_at, resolved_at) if t is not None]
    return max(min(times), opened_at) if times else None
