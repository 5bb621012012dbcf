"""The ``heartbeats`` source: every configured heartbeat's metrics, read from the database.

Each poll reads the heartbeats' rows (creating, on first sight, the row that says since
when Vigil has known a heartbeat) and turns them into samples at ``now`` with
``bot.heartbeats.check.readings``. The samples are stamped ``now``, not with the run's
time, so a run's numbers are judged on every poll and a job that runs hourly does not trip
the rules' missing-data alert. A database error makes the source unavailable, with the
reason; the rule runner then has no heartbeat samples for that poll.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import datetime

from sqlalchemy.exc import SQLAlchemyError

from bot.core.errors import StorageError
from bot.heartbeats.check import readings
from bot.heartbeats.spec import HeartbeatSpec
from bot.heartbeats.store import HeartbeatStore
from bot.sources.base import Sample, SourceUnavailable

NAME = "heartbeats"


class HeartbeatSource:
    """Samples of every heartbeat in ``specs`` (``heartbeats:`` of vigil.yaml)."""

    def __init__(
        self, store: HeartbeatStore, specs: Mapping[str, HeartbeatSpec], *, timeout_s: float = 10.0
    ) -> None:
        self._store = store
        self._specs = dict(specs)
        self._timeout_s = timeout_s

    @property
    def name(self) -> str:
        return NAME

    async def collect(self, now: datetime) -> list[Sample]:
        if not self._specs:
            return []
        try:
            async with asyncio.timeout(self._timeout_s):
                states = await self._store.states(sorted(self._specs), now)
        except TimeoutError:
            raise SourceUnavailable(
                f"the database did not answer within {self._timeout_s:g}s", source=NAME
            ) from None
        except (SQLAlchemyError, StorageError, OSError) as exc:
            raise SourceUnavailable(f"cannot read heartbeats: {_why(exc)}", source=NAME) from exc
        samples: list[Sample] = []
        for name, spec in sorted(self._specs.items()):
            state = states.get(name)
            if state is None:
                continue
            samples += [
                Sample(r.metric, r.value, r.labels, now, r.notes)
                for r in readings(spec, state, now)
            ]
        return samples


def _why(exc: Exception) -> str:
    """The driver's own first line (``connection refused``), never the SQL or its values."""
    cause = getattr(exc, "orig", None) or exc
    text = str(cause).strip().splitlines()[0][:200] if str(cause).strip() else ""
    return f"{type(cause).__name__}: {text}" if text else type(cause).__name__
