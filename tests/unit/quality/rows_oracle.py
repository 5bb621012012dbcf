"""The row-by-row ``check_rows`` of before issue 20, kept as the oracle that the columnar
one must agree with on every input (tests/unit/quality/test_fast_rows.py). It uses the
exact per-row checks of ``bot.quality.data``, as it did."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

from bot.quality.batch import encode_columns
from bot.quality.binning import FloatArray
from bot.quality.data import (
    _CATEGORY_TYPES,
    MAX_REPORTED,
    REJECTIONS,
    BadRow,
    RowCheck,
    _feature_error,
    _numeric_column,
    _Parsed,
    _path,
    _Rejected,
    _row,
)
from bot.quality.profile import NumericProfile, ReferenceProfile
from bot.quality.row_fields import NAT as _NAT


def row_by_row(rows: Sequence[object], profile: ReferenceProfile) -> RowCheck:
    """Judge each row against ``profile``; the accepted ones become a ``ColumnBatch``."""
    rejected: dict[int, BadRow] = {}
    parsed: list[_Parsed] = []
    numeric_prediction = isinstance(profile.prediction, NumericProfile)
    for index, row in enumerate(rows):
        try:
            parsed.append(_row(row, index, numeric_prediction))
        except _Rejected as exc:
            rejected[index] = BadRow(index, exc.field, exc.reason, exc.kind)
    columns: dict[str, list[object] | FloatArray] = {}
    for spec in profile.features:
        values = [p.features.get(spec.name) for p in parsed]
        numeric = isinstance(spec, NumericProfile)
        array = _numeric_column(values) if numeric else None
        if array is not None or (not numeric and set(map(type, values)) <= _CATEGORY_TYPES):
            columns[spec.name] = values if array is None else array
            continue
        for position, value in enumerate(values):
            error = _feature_error(numeric, value)
            if error is not None:
                index = parsed[position].row
                field = _path(index, "features", spec.name)
                rejected.setdefault(index, BadRow(index, field, *error))
                values[position] = None
        columns[spec.name] = np.array(values, dtype=np.float64) if numeric else values
    known = set(profile.names)
    unknown: Counter[str] = Counter()
    for p in parsed:
        extra = p.features.keys() - known
        if extra:
            unknown.update(extra)
    keep = [position for position, p in enumerate(parsed) if p.row not in rejected]
    if len(keep) < len(parsed):
        parsed = [parsed[position] for position in keep]
        columns = {
            name: values[keep] if isinstance(values, np.ndarray) else [values[k] for k in keep]
            for name, values in columns.items()
        }
    confidences = [p.confidence for p in parsed]
    stamps = [p.micros for p in parsed]
    encoded = encode_columns(
        profile,
        columns,
        [p.prediction for p in parsed],
        confidence=None
        if all(c is None for c in confidences)
        else np.array(confidences, dtype=np.float64).reshape(len(confidences)),
        timestamps=None
        if all(s == _NAT for s in stamps)
        else np.array(stamps, dtype=np.int64).view("datetime64[us]"),
        rejected=len(rejected),
    )
    kinds = Counter(bad.kind for bad in rejected.values())
    reasons = {
        "missing": encoded.rows_missing,
        "out_of_range": encoded.rows_out_of_range,
        "unknown_category": encoded.rows_unknown_category,
        **{kind: kinds[kind] for kind in REJECTIONS},
    }
    return RowCheck(
        batch=encoded.batch,
        ids=tuple(p.id for p in parsed),
        positions=tuple(p.row for p in parsed),
        received=len(rows),
        bad=tuple(rejected[i] for i in sorted(rejected)[:MAX_REPORTED]),
        bad_total=len(rejected),
        reasons=reasons,
        feature_issues=encoded.issues,
        unknown_features=dict(sorted(unknown.items())[:MAX_REPORTED]),
    )
