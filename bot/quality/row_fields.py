"""A post's row fields read column by column, for ``bot.quality.data.check_rows``.

Judging 1,000 rows one at a time in Python cost more than everything else a post does
(issue 20: 4.4 ms of a 1,000-row post of 20 features). Here each field is pulled out of
every row in one C-level pass (``map(dict.get, …)``, ``itemgetter``) and judged with one
type-set test and one NumPy comparison. The verdict is deliberately one-sided: a row
whose fields pass is certainly one the exact row check accepts, with the same values; any
row that does not pass is only *suspect*, and ``check_rows`` gives it the exact check,
which names its problem or accepts it. Every message and rejection rule therefore stays
the exact check's; this module only decides which rows can skip it. Exact ``type`` tests
(not ``isinstance``) keep it so: booleans, NumPy scalars and subclasses are all suspect.
"""

from __future__ import annotations

import contextlib
import math
from abc import abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import repeat
from operator import itemgetter
from typing import cast

import numpy as np

from bot.quality.binning import FloatArray, IntArray

MAX_EPOCH = 253402300800
"""10000-01-01 in epoch seconds: larger "seconds" are milliseconds sent by mistake."""
NAT = int(np.iinfo(np.int64).min)
MAX_TEXT = 200
"""The longest id, and class a prediction names, a row may have: each is stored to join the
row's label (``model_awaiting``), in a column of this width."""
_ID_BOUND = 10**MAX_TEXT  # an integer id's digits fit the column below this
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NONE = type(None)
_NUMBER = frozenset({int, float})
_EMPTY: dict[str, object] = {}


def finite(value: object) -> float | None:
    """A JSON number as a float, or None when it is infinite, NaN or too large for a float."""
    try:
        number = float(cast(float, value))
    except OverflowError:  # a 400-digit integer is valid JSON
        return None
    return number if math.isfinite(number) else None


@dataclass
class Fields:
    """Every row's fields (placeholders where a row is suspect) and the suspect rows."""

    ids: list[object]
    predictions: list[object]
    features: list[object]
    confidence: FloatArray
    """NaN where a row gave none."""
    micros: IntArray
    """Microseconds since the epoch; ``NAT`` where a row gave no timestamp."""
    suspects: list[int]
    """Rows (ascending) that the exact row check must judge."""


class ColumnarRows(Sequence[dict[str, object]]):
    """A post's rows that arrived as columns (an Arrow body, ``bot.quality.arrow_rows``).

    ``check_rows`` and the monitor read the columns directly; indexing builds one row's
    dict, which only the exact check of a suspect row (and shadow mode) ever asks for, so
    a clean post never becomes Python objects per row. ``column`` gives one row-level key's
    values, ``feature`` one feature's: a float64 array (NaN missing) when every value is
    certainly a finite number or missing, else the raw values for the exact checks."""

    @abstractmethod
    def fields(self, numeric_prediction: bool) -> Fields:
        """``read_fields``' answer for these rows (``features`` unused)."""

    @abstractmethod
    def column(self, key: str) -> list[object]:
        """Every row's value of a row-level key (None where absent or null)."""

    @abstractmethod
    def feature(self, name: str, numbers: bool) -> FloatArray | Sequence[object] | None:
        """Every row's value of one feature; None when no row carries it. ``numbers``: the
        profile wants numbers, so a column certain to hold only finite numbers or nulls
        comes as float64 (null as NaN); otherwise the values as they are."""

    @abstractmethod
    def feature_names(self) -> list[str]:
        """The features the rows carry (each row carries every one: a column)."""


def read_fields(rows: Sequence[object], numeric_prediction: bool) -> Fields:
    """The row-level fields of ``rows``, and which rows need the exact check."""
    if isinstance(rows, ColumnarRows):
        return rows.fields(numeric_prediction)
    objects = cast(Sequence[dict[str, object]], rows)
    if not set(map(type, rows)) <= {dict}:  # a non-object row has no id: suspect below
        objects = [r if type(r) is dict else _EMPTY for r in rows]
    suspects: set[int] = set()

    def column(key: str) -> list[object]:
        return list(map(dict.get, objects, repeat(key)))

    ids = column("id")
    suspects.update(bad_ids(ids))
    predictions = column("prediction")
    suspects.update(bad_predictions(predictions, numeric_prediction))
    features = column("features")
    if not set(map(type, features)) <= {dict}:
        suspects.update(i for i, f in enumerate(features) if type(f) is not dict)
    confidence, unsure = _confidences(column("confidence"))
    suspects.update(unsure)
    micros, unsure = timestamps(column("timestamp"))
    suspects.update(unsure)
    return Fields(ids, predictions, features, confidence, micros, sorted(suspects))


def bad_ids(ids: list[object]) -> Iterable[int]:
    kinds = set(map(type, ids))
    if kinds <= {int} and _short_ints(cast(list[int], ids)):
        return ()
    texts = cast(list[str], ids)
    if kinds == {str} and all(map(str.strip, texts)) and _short_texts(texts):
        return ()
    return (i for i, v in enumerate(ids) if not _fine_id(v))


def _short_ints(values: list[int]) -> bool:
    """Whether every integer's digits fit ``MAX_TEXT`` characters."""
    return not values or (min(values) > -_ID_BOUND // 10 and max(values) < _ID_BOUND)


def _short_texts(values: Iterable[str]) -> bool:
    return max(map(len, values), default=0) <= MAX_TEXT


def _fine_id(v: object) -> bool:
    if type(v) is int:
        return len(str(v)) <= MAX_TEXT
    return type(v) is str and bool(v.strip()) and len(v) <= MAX_TEXT


def bad_predictions(predictions: list[object], numeric: bool) -> Iterable[int]:
    kinds = set(map(type, predictions))
    texts = (v for v in predictions if type(v) is str)
    if not numeric and kinds <= {str, bool} and _short_texts(cast(Iterable[str], texts)):
        return ()
    if kinds <= _NUMBER:
        try:
            values = np.array(predictions, dtype=np.float64)
        except OverflowError:
            pass
        else:
            if np.isfinite(values).all():
                return ()

    def fine(v: object) -> bool:
        if type(v) in _NUMBER:
            return finite(v) is not None
        if type(v) is str:
            return not numeric and len(v) <= MAX_TEXT
        return not numeric and type(v) is bool

    return (i for i, v in enumerate(predictions) if not fine(v))


def _confidences(values: list[object]) -> tuple[FloatArray, Iterable[int]]:
    n = len(values)
    kinds = set(map(type, values))
    if kinds <= {_NONE}:
        return np.full(n, np.nan), ()
    array: FloatArray | None = None
    if kinds <= {int, float, _NONE}:
        with contextlib.suppress(OverflowError):  # an integer too large: value by value
            array = np.array(values, dtype=np.float64).reshape(n)  # None reads as NaN
    if array is None:
        array = np.array([_confidence(v) for v in values], dtype=np.float64).reshape(n)
    outside = np.flatnonzero(~((array >= 0.0) & (array <= 1.0)))  # NaN too
    return array, [int(i) for i in outside if values[i] is not None]


def _confidence(value: object) -> float:
    if type(value) in _NUMBER:
        number = finite(value)
        if number is not None:
            return number
    return math.nan  # suspect unless None


def timestamps(values: list[object]) -> tuple[IntArray, Iterable[int]]:
    n = len(values)
    kinds = set(map(type, values))
    if kinds <= {_NONE}:
        return np.full(n, NAT, dtype=np.int64), ()
    if kinds <= _NUMBER:
        try:
            seconds = np.array(values, dtype=np.float64).reshape(n)
        except OverflowError:
            pass
        else:
            fine = np.abs(seconds) < MAX_EPOCH  # NaN and the infinities fail
            if fine.all():
                return np.rint(seconds * 1_000_000).astype(np.int64), ()
    micros = [_micros(v) for v in values]
    unsure = [i for i, m in enumerate(micros) if m is None]
    array = np.array([NAT if m is None else m for m in micros], dtype=np.int64).reshape(n)
    return array, unsure


def _micros(value: object) -> int | None:
    """The microseconds the exact check would read, or None when it must look itself."""
    if value is None:
        return NAT
    if type(value) in _NUMBER:
        seconds = finite(value)
        if seconds is None or abs(seconds) >= MAX_EPOCH:
            return None
        return round(seconds * 1_000_000)
    if type(value) is not str:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return (moment - EPOCH) // timedelta(microseconds=1)


def feature_columns(
    features: Sequence[Mapping[str, object]], names: Sequence[str]
) -> tuple[list[Sequence[object]], bool]:
    """Each named feature's values (None where a row lacks it), and whether no row had a
    feature outside ``names`` (False means: count the unknown ones row by row)."""
    n = len(features)
    if not n or not names:
        return [[None] * n for _ in names], not any(features)
    try:
        table = list(map(itemgetter(*names), features))
    except KeyError:  # some row lacks a feature: fetch each column with a default
        return [[f.get(name) for f in features] for name in names], False
    if len(names) == 1:  # itemgetter of one name gives the value, not a tuple
        columns: list[Sequence[object]] = [table]
    else:
        columns = list(zip(*table, strict=True))
    return columns, set(map(len, features)) == {len(names)}
