"""``vigil model profile MODEL FILE``: a batch of production rows judged against the model's
newest reference, as one window: what the live monitor would say for those rows.

The file is reduced to one sketch on the reference's layout by the chosen engine
(``bot.profiling.files.sketch_file``: DuckDB by default, Spark, or in process), then
``snapshot_of`` and ``assess`` give the figures, and ``bot.profiling.report`` words them.
"""

from __future__ import annotations

import argparse
import asyncio
import json

from bot.cli.common import quiet
from bot.cli.database import once, printed
from bot.core.clock import utcnow
from bot.core.errors import ValidationError
from bot.monitoring.reference.roles import Roles
from bot.monitoring.store import ReferenceStore
from bot.profiling.files import batch_columns, sketch_file
from bot.profiling.report import as_json, report_lines
from bot.quality.assess import assess
from bot.quality.sketch import SketchLayout
from bot.quality.windows import snapshot_of
from bot.store.db import Database


def main(args: argparse.Namespace) -> int:
    """Print the judgement (or JSON); 1 after one line naming the problem."""
    config = quiet(args).settings
    return printed(asyncio.run(once(config, lambda db: _run(args, db))))


async def _run(args: argparse.Namespace, db: Database) -> str:
    history = await ReferenceStore(db).history(args.model)
    if not history:
        raise ValidationError(
            "model",
            f"{args.model} has no reference to judge against; store one first: "
            f"vigil model reference {args.model} FILE",
        )
    stored = history[0]
    layout = SketchLayout(stored.profile)
    roles = Roles(
        id=args.id,
        prediction=args.prediction,
        confidence=args.confidence,
        label=args.label,
        timestamp=args.timestamp,
        ignore=tuple(args.ignore),
    )
    now = utcnow()
    arrival = int(now.timestamp() * 1_000_000)
    read = await asyncio.to_thread(batch_columns, args.file, stored.profile, roles)
    sketch = await asyncio.to_thread(
        sketch_file, args.file, layout, read, engine=args.engine, arrival=arrival
    )
    assessment = assess(args.model, stored.profile, snapshot_of(layout, sketch, now))
    context = {
        "source": str(args.file),
        "engine": args.engine,
        "reference": f"reference #{stored.id} ({stored.version}, {stored.n_rows:,} rows)",
        "absent": list(read.absent),
        "extra": list(read.extra),
    }
    if args.json:
        return json.dumps(as_json(args.model, assessment, **context), indent=2)
    return "\n".join(report_lines(args.model, assessment, **context))
