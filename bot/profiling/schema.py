"""How a typed (Parquet) column is read by an engine, from its Arrow type: the rule of
``bot.monitoring.reference.parquet_file`` (numbers, booleans, text; the rest refused)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]

from bot.core.errors import ValidationError
from bot.profiling.table import Source, TextStats, source_of_text


def parquet_source(path: Path, name: str, kind: Any) -> Source:
    """``number`` for integers, floats, decimals and all-null columns; ``boolean``; ``text``
    for strings; anything else refused, as the in-process reader refuses it."""
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    if pa.types.is_null(kind):
        return "number"
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        return "number"
    if pa.types.is_boolean(kind):
        return "boolean"
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return "text"
    if hasattr(pa.types, "is_string_view") and pa.types.is_string_view(kind):
        return "text"
    raise ValidationError(
        "file",
        f"{path}: column {name!r} holds {kind}, which live rows cannot carry as JSON; "
        f"pass --ignore {name} (or name it as the --id or --timestamp column)",
    )


def column_sources(
    path: Path,
    wanted: Sequence[str],
    *,
    parquet: bool,
    categorical: set[str],
    numeric: set[str],
    text_stats: Callable[[Sequence[str]], dict[str, TextStats]],
) -> tuple[dict[str, Source], set[str]]:
    """How each wanted column is read, whichever engine reads it: a Parquet column by its
    type, a CSV column by its cells (``text_stats``: the engine's count of them); a column
    the user named numeric is a number. Also the CSV columns whose cells all spell a
    boolean (their keys are the booleans')."""
    if parquet:
        schema = pq.read_schema(path)
        out = {n: parquet_source(path, n, schema.field(n).type) for n in wanted}
        return {n: "number" if n in numeric else s for n, s in out.items()}, set()
    stats = text_stats(wanted)
    boolean_text = {n for n, t in stats.items() if t.present and t.booleans == t.present}
    sources: dict[str, Source] = {
        n: "number" if n in numeric else source_of_text(stats[n], n in categorical) for n in wanted
    }
    return sources, boolean_text
