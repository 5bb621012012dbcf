"""``vigil model references MODEL``: every reference profile stored for a model, newest (the
one in use) first.

Its own module because the reference store decodes profiles with the model-quality maths
(numpy): listing them loads that, ``vigil model list`` and the registry actions
(:mod:`bot.cli.verbs.model.registry`) do not.
"""

from __future__ import annotations

import argparse
import asyncio

from bot.cli.common import quiet, when
from bot.cli.database import once, printed
from bot.monitoring.store import ReferenceStore, StoredReference
from bot.store.db import Database


def main(args: argparse.Namespace) -> int:
    """Print the model's references (or how to store one)."""
    config = quiet(args).settings
    return printed(asyncio.run(once(config, lambda db: _run(args.model, db))))


async def _run(model: str, db: Database) -> str:
    return references_text(model, await ReferenceStore(db).history(model))


def references_text(model: str, stored: list[StoredReference]) -> str:
    """One line per stored reference: id, when, version, rows, file, by whom."""
    if not stored:
        return f"{model} has no reference yet. Store one: vigil model reference {model} FILE"
    lines = [f"{model} references, newest (the one in use) first:"]
    for ref in stored:
        lines.append(
            f"  #{ref.id}  {when(ref.created_at)}  {ref.version}  {ref.n_rows:,} rows "
            f"from {ref.source}  by {ref.actor}"
        )
    return "\n".join(lines)
