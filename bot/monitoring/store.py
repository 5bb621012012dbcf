"""Reference profiles in the database: store one, read the newest of each model.

The model monitor keeps its windows in memory but its references here, so a restart (or a
second replica) judges against the same reference, and ``vigil model reference`` run in
another process reaches a running bot: the bot asks for the newest ids on each poll (one
small query) and loads only the profiles that changed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import col, select

from bot.monitoring.tables import ModelReferenceRow
from bot.quality.profile import ReferenceProfile
from bot.quality.profile_dict import profile_from_dict, profile_to_dict
from bot.store.db import Database


@dataclass(frozen=True)
class StoredReference:
    """A reference profile as stored: which model and version, from which file, by whom."""

    id: int
    model: str
    version: str
    n_rows: int
    source: str
    actor: str
    created_at: datetime
    profile: ReferenceProfile


def _stored(row: ModelReferenceRow) -> StoredReference:
    assert row.id is not None
    return StoredReference(
        id=row.id,
        model=row.model,
        version=row.version,
        n_rows=row.n_rows,
        source=row.source,
        actor=row.actor,
        created_at=row.created_at,
        profile=profile_from_dict(json.loads(row.profile)),
    )


class ReferenceStore:
    """Reads and writes ``model_references``; every call is its own transaction."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def save(
        self,
        model: str,
        version: str,
        profile: ReferenceProfile,
        *,
        source: str,
        actor: str,
        now: datetime,
    ) -> StoredReference:
        """Store a new reference for ``model`` (committed on return); it becomes the newest."""
        row = ModelReferenceRow(
            model=model,
            version=version,
            n_rows=profile.n_rows,
            source=source[:500],
            actor=actor[:200],
            profile=json.dumps(profile_to_dict(profile), separators=(",", ":")),
            created_at=now,
        )
        async with self._db.session() as s, s.begin():
            s.add(row)
            await s.flush()
            return _stored(row)

    async def newest_ids(self) -> dict[str, int]:
        """Model → id of its newest reference: what a poll compares with what it holds."""
        async with self._db.read() as s, s.begin():
            rows = await s.exec(
                select(ModelReferenceRow.model, func.max(col(ModelReferenceRow.id))).group_by(
                    col(ModelReferenceRow.model)
                )
            )
            return {model: newest for model, newest in rows.all() if newest is not None}

    async def get(self, reference_id: int) -> StoredReference | None:
        async with self._db.read() as s, s.begin():
            row = await s.get(ModelReferenceRow, reference_id)
            return None if row is None else _stored(row)

    async def history(self, model: str) -> list[StoredReference]:
        """Every reference stored for ``model``, newest first."""
        async with self._db.read() as s, s.begin():
            rows = await s.exec(
                select(ModelReferenceRow)
                .where(col(ModelReferenceRow.model) == model)
                .order_by(col(ModelReferenceRow.id).desc())
            )
            return [_stored(r) for r in rows.all()]
