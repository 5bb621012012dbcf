"""Production rows checked against the reference profile: rejected, accepted, clean.

Rows arrive by HTTP from code Vigil does not control, so each one is judged on its own: one
malformed row must never cost the good rows of its batch. Three outcomes:

* **bad** (rejected, not counted in any histogram): not an object; ``id`` missing, empty or
  not a string/integer; ``prediction`` missing or of the wrong type; ``features`` not an
  object; a feature of the wrong type (a string for a numeric feature, an array anywhere);
  a non-finite number; ``confidence`` outside [0, 1]; an unreadable ``timestamp``. Each is
  reported by index and field path (``rows[3].features.age: must be a number, not string``);
  only the first problem of a row is reported, and only the first ``MAX_REPORTED`` rows.
* **accepted but not clean**: a feature missing or null (or NaN), a numeric value strictly
  outside the reference's [min, max], or a category the reference never had (see
  ``bot.quality.batch`` for why there is no tolerance band).
* **clean**: everything else.

The data-quality score is clean rows over all rows *received*: rejected rows count against
it. Features the profile does not know are accepted and ignored, and reported once per
post with the number of rows that carried them, so a renamed column shows up as one line
instead of crashing or flooding the report.

Timestamps are ISO 8601 with an offset (``2026-11-24T21:23:33Z``) or epoch seconds; a naive
ISO time is refused rather than guessed, like every other timestamp Vigil accepts.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple, cast

import numpy as np

from bot.quality.batch import ColumnBatch, FeatureIssues, encode_columns
from bot.quality.binning import FloatArray
from bot.quality.profile import (
    CategoricalProfile,
    NumericProfile,
    ReferenceProfile,
    category_key,
    is_number,
    type_name,
)
from bot.quality.row_fields import (
    EPOCH,
    MAX_EPOCH,
    MAX_TEXT,
    NAT,
    ColumnarRows,
    feature_columns,
    finite,
    read_fields,
)

MAX_REPORTED = 20
"""Most rejected rows (and unknown feature names) listed in a ``RowCheck``."""

ROW_ISSUES = ("missing", "out_of_range", "unknown_category")
REJECTIONS = ("not_object", "missing_field", "wrong_type", "invalid")
_NUMBERS = {int, float, type(None)}
_CATEGORY_TYPES = {str, int, float, bool, type(None)}


@dataclass(frozen=True)
class BadRow:
    """One rejected row: where (``rows[3].features.age``), why, and the kind of problem."""

    index: int
    field: str
    reason: str
    kind: str

    def __str__(self) -> str:
        return f"{self.field}: {self.reason}"


@dataclass(frozen=True)
class RowCheck:
    """The verdict on one post of rows: the accepted ones as a batch, and what was wrong."""

    batch: ColumnBatch
    ids: tuple[str | int, ...]
    """Ids of the accepted rows, in batch order."""
    positions: tuple[int, ...]
    """Where each accepted row was in the post (its index in ``rows``), in batch order."""
    received: int
    bad: tuple[BadRow, ...]
    """The first ``MAX_REPORTED`` rejected rows; ``bad_total`` counts all of them."""
    bad_total: int
    reasons: Mapping[str, int]
    """Rows per problem: accepted rows per ``ROW_ISSUES`` kind (a row may count under
    several), rejected rows per ``REJECTIONS`` kind (by their first problem)."""
    feature_issues: Mapping[str, FeatureIssues] = field(default_factory=dict)
    unknown_features: Mapping[str, int] = field(default_factory=dict)
    """Names not in the profile (at most ``MAX_REPORTED``) and how many rows carried each."""
    predicted: Sequence[str] = ()
    """Each accepted row's prediction as a category key (``category_key``), in batch
    order: what the label join remembers, built once for the whole column."""

    @property
    def accepted(self) -> int:
        return self.batch.n_rows

    @property
    def clean(self) -> int:
        return int(np.count_nonzero(self.batch.clean))

    @property
    def quality(self) -> float | None:
        """Clean rows over rows received (rejected ones included); None for an empty post."""
        return self.clean / self.received if self.received else None

    def describe_rejections(self, limit: int = 3) -> str:
        """``3 rows rejected: rows[3].features.age: must be a number, not string; …``."""
        if not self.bad_total:
            return "no rows rejected"
        noun = "row" if self.bad_total == 1 else "rows"
        shown = "; ".join(str(b) for b in self.bad[:limit])
        more = "; …" if self.bad_total > limit else ""
        return f"{self.bad_total} {noun} rejected: {shown}{more}"


class _Rejected(Exception):
    def __init__(self, field: str, reason: str, kind: str) -> None:
        super().__init__(reason)
        self.field, self.reason, self.kind = field, reason, kind


def _key(name: str) -> str:
    return name if name.isidentifier() else f"[{json.dumps(name)}]"


def _path(index: int, *keys: str) -> str:
    tail = "".join(k if k.startswith("[") else f".{k}" for k in map(_key, keys))
    return f"rows[{index}]{tail}"


def _timestamp(value: object, index: int) -> int:
    """Microseconds since the epoch of an ISO 8601 string (with offset) or epoch seconds."""
    if is_number(value):
        seconds = finite(value)
        if seconds is None or abs(seconds) >= MAX_EPOCH:
            raise _Rejected(
                _path(index, "timestamp"), "must be epoch seconds (not milliseconds)", "invalid"
            )
        return round(seconds * 1_000_000)
    if not isinstance(value, str):
        raise _Rejected(
            _path(index, "timestamp"),
            f"must be a string or number, not {type_name(value)}",
            "wrong_type",
        )
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise _Rejected(
            _path(index, "timestamp"),
            "must be an ISO 8601 time such as 2026-11-24T21:23:33Z",
            "invalid",
        ) from None
    if moment.tzinfo is None:
        raise _Rejected(
            _path(index, "timestamp"), "must include a UTC offset, such as Z or +02:00", "invalid"
        )
    return (moment - EPOCH) // timedelta(microseconds=1)


class _Parsed(NamedTuple):
    row: int
    id: str | int
    prediction: object
    features: Mapping[str, object]
    confidence: float | None
    micros: int


def _row(row: object, index: int, numeric: bool) -> _Parsed:
    """The row's parts, or ``_Rejected`` naming its first problem (features come later)."""
    if not isinstance(row, Mapping):
        raise _Rejected(_path(index), f"must be an object, not {type_name(row)}", "not_object")
    row_id = row.get("id")
    if row_id is None:
        raise _Rejected(_path(index, "id"), "is required", "missing_field")
    if not (isinstance(row_id, str) and row_id.strip()) and not (
        isinstance(row_id, int) and not isinstance(row_id, bool)
    ):
        raise _Rejected(
            _path(index, "id"), "must be a non-empty string or an integer", "wrong_type"
        )
    if len(str(row_id)) > MAX_TEXT:
        raise _Rejected(_path(index, "id"), f"must be at most {MAX_TEXT} characters", "invalid")
    prediction = row.get("prediction")
    if prediction is None:
        raise _Rejected(_path(index, "prediction"), "is required", "missing_field")
    if is_number(prediction):
        if finite(prediction) is None:
            raise _Rejected(_path(index, "prediction"), "must be a finite number", "invalid")
    elif numeric or not isinstance(prediction, str | bool):
        expected = "a number" if numeric else "a number or string"
        reason = f"must be {expected}, not {type_name(prediction)}"
        raise _Rejected(_path(index, "prediction"), reason, "wrong_type")
    elif isinstance(prediction, str) and len(prediction) > MAX_TEXT:
        reason = f"must be at most {MAX_TEXT} characters"
        raise _Rejected(_path(index, "prediction"), reason, "invalid")
    features = row.get("features")
    if not isinstance(features, Mapping):
        if features is None:
            raise _Rejected(_path(index, "features"), "is required", "missing_field")
        reason = f"must be an object, not {type_name(features)}"
        raise _Rejected(_path(index, "features"), reason, "wrong_type")
    confidence = row.get("confidence")
    if confidence is not None:
        if not is_number(confidence):
            reason = f"must be a number, not {type_name(confidence)}"
            raise _Rejected(_path(index, "confidence"), reason, "wrong_type")
        confidence = finite(confidence)
        if confidence is None or not 0.0 <= confidence <= 1.0:
            raise _Rejected(_path(index, "confidence"), "must be between 0 and 1", "invalid")
    stamp = row.get("timestamp")
    micros = NAT if stamp is None else _timestamp(stamp, index)
    return _Parsed(index, row_id, prediction, features, confidence, micros)


def _feature_error(numeric: bool, value: object) -> tuple[str, str] | None:
    """Why a feature value is refused (reason, kind), or None when its type is acceptable."""
    if numeric:
        if value is None:
            return None
        if not is_number(value):
            return f"must be a number, not {type_name(value)}", "wrong_type"
        if finite(value) is None and not (isinstance(value, float) and math.isnan(value)):
            return "must be a finite number", "invalid"
        return None
    if type(value) in _CATEGORY_TYPES:
        return None
    return f"must be a string or number, not {type_name(value)}", "wrong_type"


def _numeric_column(values: Sequence[object]) -> FloatArray | None:
    """The values as float64 (None as NaN), or None when some value needs a closer look."""
    if not set(map(type, values)) <= _NUMBERS:
        return None
    try:
        array = np.array(values, dtype=np.float64).reshape(len(values))
    except OverflowError:
        return None
    return None if np.isinf(array).any() else array


def _taken(
    column: FloatArray | Sequence[object] | None, n: int, positions: list[int] | None
) -> FloatArray | Sequence[object]:
    """A columnar feature's values at ``positions`` (all rows when None)."""
    if column is None:
        return [None] * (n if positions is None else len(positions))
    if positions is None:
        return column
    if isinstance(column, np.ndarray):
        return column[positions]
    return [column[i] for i in positions]


def check_rows(rows: Sequence[object], profile: ReferenceProfile) -> RowCheck:
    """Judge each row against ``profile``; the accepted ones become a ``ColumnBatch``.

    Fields are read column by column (``bot.quality.row_fields``); only the rows and the
    feature columns that fail that fast reading are judged one value at a time, by the
    exact checks above, so every verdict and message is theirs."""
    numeric_prediction = isinstance(profile.prediction, NumericProfile)
    fields = read_fields(rows, numeric_prediction)
    rejected: dict[int, BadRow] = {}
    ids, predictions, features = fields.ids, fields.predictions, fields.features
    confidence, micros = fields.confidence, fields.micros
    for index in fields.suspects:
        try:
            p = _row(rows[index], index, numeric_prediction)
        except _Rejected as exc:
            rejected[index] = BadRow(index, exc.field, exc.reason, exc.kind)
            continue
        ids[index], predictions[index], features[index] = p.id, p.prediction, p.features
        confidence[index] = math.nan if p.confidence is None else p.confidence
        micros[index] = p.micros
    positions = [i for i in range(len(rows)) if i not in rejected] if rejected else None
    if positions is not None:
        ids, predictions = [ids[i] for i in positions], [predictions[i] for i in positions]
        features = [features[i] for i in positions]
        confidence, micros = confidence[positions], micros[positions]
    maps = cast(list[Mapping[str, object]], features)
    columns: dict[str, list[object] | tuple[object, ...] | FloatArray] = {}
    unknown: Counter[str] = Counter()
    raw_columns: Sequence[FloatArray | Sequence[object]]
    if isinstance(rows, ColumnarRows):
        raw_columns = [
            _taken(rows.feature(f.name, isinstance(f, NumericProfile)), len(rows), positions)
            for f in profile.features
        ]
        extra = set(rows.feature_names()) - set(profile.names)
        unknown.update({name: len(ids) for name in extra})  # every row carries a column
        only_known = True
    else:
        raw_columns, only_known = feature_columns(maps, profile.names)
    for spec, raw in zip(profile.features, raw_columns, strict=True):
        numeric = isinstance(spec, NumericProfile)
        if isinstance(raw, np.ndarray):  # a columnar body's numbers, checked finite
            columns[spec.name] = raw
            continue
        array = _numeric_column(raw) if numeric else None
        if array is not None or (not numeric and set(map(type, raw)) <= _CATEGORY_TYPES):
            columns[spec.name] = raw if array is None else array  # type: ignore[assignment]
            continue
        values = list(raw)
        for position, value in enumerate(values):
            error = _feature_error(numeric, value)
            if error is not None:
                index = position if positions is None else positions[position]
                field = _path(index, "features", spec.name)
                rejected.setdefault(index, BadRow(index, field, *error))
                values[position] = None
        columns[spec.name] = np.array(values, dtype=np.float64) if numeric else values
    if not only_known:
        known = set(profile.names)
        for mapping in maps:
            extra = mapping.keys() - known
            if extra:
                unknown.update(extra)
    if positions is None:
        positions = list(range(len(rows)))
    if len(rejected) > len(rows) - len(positions):  # some rows failed on a feature
        keep = [k for k, index in enumerate(positions) if index not in rejected]
        positions, ids = [positions[k] for k in keep], [ids[k] for k in keep]
        predictions = [predictions[k] for k in keep]
        columns = {
            name: values[keep] if isinstance(values, np.ndarray) else [values[k] for k in keep]
            for name, values in columns.items()
        }
        confidence, micros = confidence[keep], micros[keep]
    keys = prediction_keys(predictions)
    encoded = encode_columns(
        profile,
        columns,
        keys if isinstance(profile.prediction, CategoricalProfile) else predictions,
        confidence=None if np.isnan(confidence).all() else confidence,
        timestamps=None if (micros == NAT).all() else micros.view("datetime64[us]"),
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
        ids=tuple(cast(list[str | int], ids)),
        positions=tuple(positions),
        received=len(rows),
        bad=tuple(rejected[i] for i in sorted(rejected)[:MAX_REPORTED]),
        bad_total=len(rejected),
        reasons=reasons,
        feature_issues=encoded.issues,
        unknown_features=dict(sorted(unknown.items())[:MAX_REPORTED]),
        predicted=keys,
    )


def prediction_keys(predictions: Sequence[object]) -> list[str]:
    """The category keys of accepted predictions (labels as they are; numbers and booleans
    by ``category_key``): one pass, no Python call per label when all are strings."""
    if set(map(type, predictions)) <= {str}:
        return cast(list[str], list(predictions))
    return [category_key(v) or "" for v in predictions]  # accepted: never missing
