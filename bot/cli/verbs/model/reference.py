"""``vigil model reference MODEL FILE``: profile a reference dataset (CSV or Parquet) and
store it as the model's reference, the profile production rows are judged against.

Its own module because it is the one model action that reads a file: the reader
(``bot.monitoring.reference``, with pyarrow and numpy) loads only for it, not for
``vigil model list`` and the other registry actions (:mod:`bot.cli.verbs.model.registry`).
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import datetime

from bot.cli.common import actor, quiet
from bot.cli.database import once, printed
from bot.core.clock import utcnow
from bot.core.errors import VigilError
from bot.monitoring.reference.importances import parse_importances
from bot.monitoring.reference.roles import Roles
from bot.monitoring.store import ReferenceStore
from bot.profiling.files import reference_profile
from bot.quality.binning import DEFAULT_BINS
from bot.quality.profile import DEFAULT_MAX_CATEGORIES
from bot.registry.base import ModelRegistry
from bot.registry.builtin import BuiltinRegistry
from bot.store.db import Database


def main(args: argparse.Namespace) -> int:
    """Store the reference and print what it holds; 1 after one line naming the problem."""
    config = quiet(args).settings
    return printed(asyncio.run(once(config, lambda db: _run(args, db))))


async def _run(args: argparse.Namespace, db: Database) -> str:
    registry = BuiltinRegistry(db, utcnow)
    return await reference(args, registry, ReferenceStore(db), who=actor(), now=utcnow())


async def reference(
    args: argparse.Namespace,
    registry: ModelRegistry,
    references: ReferenceStore,
    *,
    who: str,
    now: datetime,
) -> str:
    """Read, profile and store the file; the text to print."""
    roles = Roles(
        id=args.id,
        prediction=args.prediction,
        confidence=args.confidence,
        label=args.label,
        timestamp=args.timestamp,
        ignore=tuple(args.ignore),
        categorical=tuple(args.categorical),
    )
    importances = parse_importances(args.importances) if args.importances else None
    bins = DEFAULT_BINS if args.bins is None else args.bins
    # Off the event loop: a million-row CSV takes seconds to read and bin.
    profile, summary = await asyncio.to_thread(
        reference_profile,
        args.file,
        roles,
        engine=args.engine,
        importances=importances,
        bins=bins,
        max_categories=DEFAULT_MAX_CATEGORIES,
    )
    version = args.version
    if version is None:
        stable = await _stable_version(registry, args.model)
        version = stable or "unversioned"
    stored = await references.save(
        args.model, version, profile, source=str(args.file), actor=who, now=now
    )
    lines = [
        f"Stored the reference of {args.model} {version} from {args.file} "
        f"(reference #{stored.id}, profiled on {args.engine}).",
        *(f"  {line}" for line in summary.lines()),
        "A running Vigil judges production rows against it from its next model-quality poll; "
        "the model's window starts empty.",
        f"Send rows: POST /api/v1/models/{args.model}/predictions",
    ]
    if summary.confidence is None:
        lines.append(
            "  note: no confidence column, so accuracy cannot be estimated before labels arrive"
        )
    return "\n".join(lines)


async def _stable_version(registry: ModelRegistry, model: str) -> str | None:
    try:
        stable = await registry.stable(model)
    except VigilError:  # a model the registry does not know: references need no registry
        return None
    return stable.version if stable is not None else None
