"""Arrow columns into the two shapes ``build_profile`` counts fastest.

Each column becomes either a float64 array (NaN for missing) or a list of strings (``None``
for missing) whose equal values share one str object (small in memory). Both readers (CSV
and Parquet) use these; what counts as a number or a boolean is theirs to decide.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]

from bot.quality.binning import FloatArray
from bot.quality.profile import Column

_BOOLEANS = {"true": "true", "false": "false"}


def as_floats(column: Any) -> FloatArray | None:
    """The column as float64 (NaN for null), or None when some value is not a number."""
    try:
        numbers = pc.cast(column, pa.float64(), safe=False)
    except pa.ArrowInvalid:
        try:  # "1, 2, 3" written with spaces after the commas
            numbers = pc.cast(pc.utf8_trim_whitespace(column), pa.float64(), safe=False)
        except pa.ArrowInvalid:
            return None
    return np.asarray(numbers.to_numpy(), dtype=np.float64).reshape(len(numbers))


def floats(values: Column) -> FloatArray:
    """Converted values (``as_floats``' or ``strings``') as float64 for a column read as
    numbers whatever it holds: a cell that is not a number (text) is NaN."""
    if isinstance(values, np.ndarray):
        return values.astype(np.float64)
    out = np.full(len(values), np.nan)
    for row, value in enumerate(values):
        try:
            out[row] = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            continue
    return out


def strings(column: Any, booleans: bool) -> list[str | None]:
    """A string column as a list sharing one str object per distinct value (small in memory).

    With ``booleans``, a column of only true/false spellings becomes ``"true"``/``"false"``.
    """
    encoded = pc.dictionary_encode(column).combine_chunks()  # joins indices, not strings
    values: list[str | None] = [str(v) for v in encoded.dictionary.to_pylist()]
    if booleans and values and {str(v).lower() for v in values} <= _BOOLEANS.keys():
        values = [_BOOLEANS[str(v).lower()] for v in values]
    lookup = np.array([*values, None], dtype=object)
    codes = pc.fill_null(encoded.indices, len(values)).to_numpy(zero_copy_only=False)
    out: list[str | None] = lookup[codes].tolist()
    return out
