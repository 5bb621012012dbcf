"""How a typed (Parquet) column is read by an engine, from its Arrow type: the rule of
``bot.monitoring.reference.parquet_file`` (numbers, booleans, text; the rest refused)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped]

from bot.core.errors import ValidationError
from bot.profiling.table import Source


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
