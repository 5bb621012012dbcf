"""A reference file profiled, or a batch of production rows sketched, on a chosen engine.

``ENGINES``: ``duckdb`` (the default: SQL over the file, out of core), ``spark`` (the same
reduction as a Spark job, ``bot.profiling.spark_engine``) and ``memory`` (in process, by
``bot.monitoring.reference``: a sketch streams the file a batch at a time, so any size fits;
a reference profile still holds the whole file, whose exact quantiles sort each column).
Whichever runs, the reference profile and the sketch are the same
(``bot.profiling.reference``, ``bot.profiling.sketching``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from bot.core.errors import ValidationError
from bot.monitoring.reference.columns import BATCH_ROWS, read_header, stream_columns
from bot.monitoring.reference.load import (
    ReferenceSummary,
    load_reference,
    plan_reference,
    summarize,
    with_labels,
)
from bot.monitoring.reference.roles import Roles, assign
from bot.profiling import spark_engine
from bot.profiling.duckdb_engine import DuckFile
from bot.profiling.reference import Column, agreement, profile_table
from bot.profiling.sketching import Wanted, sketch_batches, sketch_parts
from bot.profiling.table import Table
from bot.quality.profile import CategoricalProfile, NumericProfile, ReferenceProfile
from bot.quality.sketch import Sketch, SketchLayout

Engine = Literal["duckdb", "spark", "memory"]
ENGINES: tuple[Engine, ...] = ("duckdb", "spark", "memory")


def reference_profile(
    path: Path,
    roles: Roles,
    *,
    engine: Engine,
    importances: Mapping[str, float] | None,
    bins: int,
    max_categories: int,
) -> tuple[ReferenceProfile, ReferenceSummary]:
    """``vigil model reference``'s profile of ``path`` and what was understood."""
    if engine == "memory":
        return load_reference(
            path, roles, importances=importances, bins=bins, max_categories=max_categories
        )
    plan = plan_reference(path, roles, importances)
    names = read_header(path)
    used = [plan.roles[r] for r in ("prediction", "confidence", "label") if r in plan.roles]
    wanted = [*plan.features, *used]
    forced = set(roles.categorical)
    numeric = {plan.roles["confidence"]} if "confidence" in plan.roles else set()
    table: Table
    if engine == "spark":
        table = spark_engine.SparkFile(path, names, wanted, categorical=forced, numeric=numeric)
    else:
        table = DuckFile(path, names, wanted, categorical=forced, numeric=numeric)
    try:
        if table.n_rows() == 0:
            raise ValidationError("file", f"{path}: has a header but no data rows")
        sources = table.sources
        features = [
            Column(
                n,
                n,
                f"features.{n}",
                "categorical" if n in forced or sources[n] != "number" else "numeric",
            )
            for n in plan.features
        ]
        prediction = confidence = None
        if "prediction" in plan.roles:
            prediction = Column(plan.roles["prediction"], "prediction", "prediction", None)
        if "confidence" in plan.roles:
            confidence = Column(plan.roles["confidence"], "confidence", "confidence", "numeric")
        profile = profile_table(
            table,
            features,
            sources,
            prediction=prediction,
            confidence=confidence,
            importances=importances,
            bins=bins,
            max_categories=max_categories,
            file_name=path.name,
        )
        accuracy = None
        if "label" in plan.roles and isinstance(profile.prediction, CategoricalProfile):
            pairs = table.pair_counts(plan.roles["prediction"], plan.roles["label"])
            accuracy = agreement(pairs)
            profile = with_labels(profile, list(pairs))
    finally:
        table.close()
    return profile, summarize(profile, plan, accuracy)


@dataclass(frozen=True)
class BatchRead:
    """What ``vigil model profile`` read: the columns used, and the ones it could not use."""

    wanted: Wanted
    absent: tuple[str, ...]
    """Reference features the file does not have: missing on every row."""
    extra: tuple[str, ...]
    """File columns that are neither a reference feature nor a role: not judged."""


def batch_columns(path: Path, profile: ReferenceProfile, roles: Roles) -> BatchRead:
    """Match the file's header with the reference: which column feeds which count."""
    names = read_header(path)
    plan = assign(path, names, roles)
    present = set(plan.features)
    features = {f.name: (f.name if f.name in present else None) for f in profile.features}
    known = set(features)
    return BatchRead(
        wanted=Wanted(
            features=features,
            prediction=plan.roles.get("prediction") if profile.prediction else None,
            confidence=plan.roles.get("confidence"),
        ),
        absent=tuple(n for n, c in features.items() if c is None),
        extra=tuple(n for n in plan.features if n not in known),
    )


def sketch_file(
    path: Path,
    layout: SketchLayout,
    read: BatchRead,
    *,
    engine: Engine,
    arrival: int,
    threads: int | None = None,
    batch_rows: int = BATCH_ROWS,
) -> Sketch:
    """The whole file as one sketch on ``layout`` (every row arriving at ``arrival``).

    ``threads``: DuckDB's; ``batch_rows``: the in-process engine's batch length (its
    memory), the sketch the same whatever it is."""
    profile = layout.profile
    categorical = {
        read.wanted.features[f.name] for f in profile.features if isinstance(f, CategoricalProfile)
    }
    numeric = {
        read.wanted.features[f.name] for f in profile.features if isinstance(f, NumericProfile)
    }
    if isinstance(profile.prediction, CategoricalProfile):
        categorical.add(read.wanted.prediction)
    else:
        numeric.add(read.wanted.prediction)
    numeric.add(read.wanted.confidence)
    cats = {c for c in categorical if c is not None}
    nums = {c for c in numeric if c is not None}
    wanted = read.wanted.columns()
    if engine == "memory":
        parts = stream_columns(
            path, columns=wanted, categorical=cats, numeric=nums, rows=batch_rows
        )
        return sketch_parts(layout, read.wanted, parts, arrival)
    if engine == "spark":
        return spark_engine.sketch(
            path, read_header(path), layout, read.wanted, cats, nums, arrival
        )
    with DuckFile(
        path, read_header(path), wanted, categorical=cats, numeric=nums, threads=threads
    ) as duck:
        return sketch_batches(layout, read.wanted, duck.batches(), arrival)
