"""A reference dataset file (CSV or Parquet) read into a ``ReferenceProfile``.

``vigil model reference MODEL FILE`` hands over whatever the data scientist exported: a CSV
from pandas or a spreadsheet, or a Parquet file. This module turns it into the columns
``bot.quality.profile.build_profile`` wants, decides which columns are features and which
play a role (id, prediction, confidence, label, timestamp), and says what it decided, so
the user can see at once if a column was taken for the wrong thing.

Reading goes through Arrow (``pyarrow.csv`` and ``pyarrow.parquet``): multi-threaded C,
about 8 times faster than the ``csv`` module, and it keeps strings compact until each
column is converted. Only the columns the profile needs are read (never the id, timestamp
or ignored ones), and each becomes either a float64 array (NaN for missing) or a list of
strings (``None`` for missing), which is exactly what ``build_profile`` counts fastest.

The values must get the same category keys as the live rows the monitor will compare with
them (``bot.quality.profile.category_key``, applied to JSON values), so:

* CSV cells are untyped text. A column whose every non-empty cell parses as a number is
  numeric (float64); anything else is text, kept verbatim. Empty cells and the tokens
  pandas reads as missing (``NA``, ``NaN``, ``null``, ``None``, ``#N/A`` ... see
  ``MISSING_TOKENS``) are missing, so a file pandas wrote reads the way pandas reads it.
* A text column holding only ``true``/``false`` (any case: pandas writes ``True``) becomes
  ``"true"``/``"false"``, the keys of JSON booleans.
* A column forced categorical (``Roles.categorical``, for numeric codes) that is all numbers
  is keyed like JSON numbers (``7`` and ``7.0`` are both ``"7"``: pandas writes an integer
  column with gaps as ``7.0``), unless one of its cells has a leading zero (``00501``): then
  the codes are text and every cell is kept verbatim.
* Parquet is typed: integers, floats and decimals become float64, booleans
  ``"true"``/``"false"``, strings stay strings. Other types (timestamps, binary, lists,
  structs) cannot be compared with JSON values and are refused unless ``--ignore``-d.

Every problem with the file is a ``ValidationError`` naming what to fix (``file``, or the
option such as ``--prediction``); no reader exception escapes as a traceback.
"""

from __future__ import annotations

import csv
import gzip
import json
import math
from collections import Counter
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TextIO

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]
import pyarrow.csv as pa_csv  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]

from bot.errors import ValidationError
from bot.quality.binning import DEFAULT_BINS, FloatArray
from bot.quality.profile import (
    DEFAULT_MAX_CATEGORIES,
    CategoricalProfile,
    Column,
    Kind,
    ReferenceProfile,
    build_profile,
    category_key,
)

MISSING_TOKENS = (
    "",
    "#N/A",
    "#N/A N/A",
    "#NA",
    "-1.#IND",
    "-1.#QNAN",
    "-NaN",
    "-nan",
    "1.#IND",
    "1.#QNAN",
    "<NA>",
    "N/A",
    "NA",
    "NULL",
    "NaN",
    "None",
    "n/a",
    "nan",
    "null",
)
"""CSV cells read as missing: pandas 2's default ``na_values``, so both read a file alike."""

ROLES = ("id", "prediction", "confidence", "label", "timestamp")
"""Column roles, in the order they are resolved; a role's conventional column is its name."""

Format = Literal["csv", "parquet"]
_SHOWN_COLUMNS = 30
_BOOLEANS = {"true": "true", "false": "false"}
_LEADING_ZERO = r"^\s*[+-]?0[0-9]"
_ARROW_ERRORS = (pa.ArrowException, OSError, ValueError)


@dataclass(frozen=True)
class Roles:
    """Which columns of the file are not features.

    A role left ``None`` takes the column of its conventional name (``id``, ``prediction``,
    ``confidence``, ``label``, ``timestamp``) when the file has one; a role named explicitly
    must exist. ``ignore`` drops columns (also a conventional role column the user does not
    want); ``categorical`` forces features categorical (numeric codes such as a merchant
    category code), which inference would otherwise take as numbers.
    """

    id: str | None = None
    prediction: str | None = None
    confidence: str | None = None
    label: str | None = None
    timestamp: str | None = None
    ignore: tuple[str, ...] = ()
    categorical: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReferenceSummary:
    """What ``vigil model reference`` tells the user it understood from the file."""

    rows: int
    features: tuple[tuple[str, Kind], ...]
    """Each feature with its kind, in file order."""
    prediction: str | None = None
    prediction_kind: Kind | None = None
    confidence: str | None = None
    label: str | None = None
    id: str | None = None
    timestamp: str | None = None
    ignored: tuple[str, ...] = ()
    accuracy: float | None = None
    """Share of labelled rows whose prediction equals the label (same keys as live rows);
    None without both columns, for a numeric (regression) prediction, or with no row
    carrying both."""
    labelled: int = 0
    """Rows with both a prediction and a label: the accuracy's denominator."""
    warnings: tuple[str, ...] = ()

    def lines(self) -> list[str]:
        """The summary as short lines for a terminal or chat reply."""
        kinds = ", ".join(f"{name} ({kind})" for name, kind in self.features)
        noun = "feature" if len(self.features) == 1 else "features"
        rows = "1 row" if self.rows == 1 else f"{self.rows:,} rows"
        out = [f"{rows}, {len(self.features)} {noun}: {kinds}"]
        if self.prediction is not None:
            out.append(f"prediction: {self.prediction} ({self.prediction_kind})")
        if self.confidence is not None:
            out.append(f"confidence: {self.confidence}")
        if self.label is not None:
            line = f"label: {self.label}"
            if self.accuracy is not None:
                line += f" (reference accuracy {self.accuracy:.3f} over {self.labelled:,} rows)"
            out.append(line)
        out.extend(
            f"{role}: {name}"
            for role, name in (("id", self.id), ("timestamp", self.timestamp))
            if name is not None
        )
        if self.ignored:
            out.append(f"ignored: {', '.join(self.ignored)}")
        out.extend(f"warning: {w}" for w in self.warnings)
        return out


# --- the file ------------------------------------------------------------------------------


def file_format(path: Path) -> Format:
    """``csv`` for ``.csv``/``.csv.gz``, ``parquet`` for ``.parquet``/``.pq``, else an error."""
    name = path.name.lower()
    if name.endswith((".csv", ".csv.gz")):
        return "csv"
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    raise ValidationError("file", f"{path}: must be a .csv (or .csv.gz) or .parquet file")


def read_header(path: Path) -> tuple[str, ...]:
    """The file's column names, checked (present, named, distinct) without reading the data."""
    fmt = file_format(path)
    _check_exists(path)
    names = _csv_header(path) if fmt == "csv" else _parquet_names(path)
    _check_names(path, names)
    return names


def read_columns(
    path: Path,
    *,
    columns: Collection[str] | None = None,
    categorical: Collection[str] = (),
) -> dict[str, Column]:
    """The file's columns (or only ``columns``, in file order) as float64 arrays or lists.

    Numeric columns are float64 arrays with NaN for missing; the others are lists of str
    with ``None`` for missing (see the module docstring for what counts as which, and for
    ``categorical``). Raises ``ValidationError`` (field ``file``) for a missing, unreadable
    or malformed file, and one with no data rows.
    """
    names = read_header(path)
    chosen = set(names if columns is None else columns)
    wanted = tuple(n for n in names if n in chosen)
    unknown = sorted(chosen - set(names))
    if unknown:
        raise ValidationError("file", f"{path}: has no column {unknown[0]!r}")
    forced = set(categorical)
    if file_format(path) == "csv":
        table = _read_csv_table(path, names, wanted)
        convert = _csv_column
    else:
        table = _read_parquet_table(path, wanted)
        convert = _parquet_column
    if table.num_rows == 0:
        raise ValidationError("file", f"{path}: has a header but no data rows")
    out: dict[str, Column] = {}
    for name in wanted:
        out[name] = convert(path, name, table.column(name), name in forced)
        table = table.drop_columns([name])  # release each column once converted
    return out


def _check_exists(path: Path) -> None:
    if path.is_dir():
        raise ValidationError("file", f"{path}: is a directory, not a file")
    if not path.exists():
        raise ValidationError("file", f"{path}: no such file")


def _unreadable(path: Path, exc: BaseException) -> ValidationError:
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return ValidationError("file", f"{path}: cannot be read: {_short(reason)}")


def _short(text: str, most: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= most else text[: most - 1] + "…"


def _open_text(path: Path) -> TextIO:
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8-sig", newline="")
    return path.open(encoding="utf-8-sig", newline="")


def _records(path: Path) -> Iterator[tuple[int, list[str]]]:
    """Non-blank CSV records with the line each ends on (the ``csv`` module: exact lines)."""
    with _open_text(path) as handle:
        reader = csv.reader(handle)
        for record in reader:
            if record:
                yield reader.line_num, record


def _csv_header(path: Path) -> tuple[str, ...]:
    try:
        first = next(_records(path), None)
    except UnicodeDecodeError:
        raise _not_utf8(path) from None
    except csv.Error as exc:
        raise ValidationError("file", f"{path}: line 1: {exc}") from None
    except (OSError, EOFError) as exc:  # gzip.BadGzipFile is an OSError
        raise _unreadable(path, exc) from None
    if first is None:
        raise ValidationError("file", f"{path}: is empty (a CSV needs a header line)")
    header = tuple(first[1])
    if len(header) == 1 and any(sep in header[0] for sep in ";\t|"):
        raise ValidationError(
            "file", f"{path}: has one column {header[0]!r}; columns must be separated by commas"
        )
    if _looks_like_data(header):
        shown = _short(",".join(header), 80)
        raise ValidationError(
            "file",
            f"{path}: the first line must be a header naming the columns, but it looks like "
            f"data ({shown})",
        )
    return header


def _looks_like_data(header: Sequence[str]) -> bool:
    """A first line of numbers is data, except pandas' default names ``0,1,2,...``."""
    numbers: list[float] = []
    for cell in header:
        try:
            numbers.append(float(cell))
        except ValueError:
            continue
    if any(not n.is_integer() for n in numbers if math.isfinite(n)):
        return True  # "0.5" is a value, never a column name
    return len(numbers) == len(header) and numbers != [float(i) for i in range(len(header))]


def _not_utf8(path: Path) -> ValidationError:
    return ValidationError("file", f"{path}: is not UTF-8 text; save it as UTF-8 CSV")


def _parquet_names(path: Path) -> tuple[str, ...]:
    try:
        schema = pq.read_schema(path)
    except _ARROW_ERRORS as exc:
        raise _not_parquet(path, exc) from None
    return tuple(str(n) for n in schema.names)


def _not_parquet(path: Path, exc: BaseException) -> ValidationError:
    if isinstance(exc, PermissionError):
        return _unreadable(path, exc)
    return ValidationError("file", f"{path}: is not a readable Parquet file ({_short(str(exc))})")


def _check_names(path: Path, names: Sequence[str]) -> None:
    for position, name in enumerate(names, start=1):
        if not name.strip():
            raise ValidationError(
                "file",
                f"{path}: column {position} has no name in the header (a pandas index? "
                "write the file with index=False)",
            )
    repeated = sorted(n for n, count in Counter(names).items() if count > 1)
    if repeated:
        raise ValidationError(
            "file", f"{path}: column names must be distinct; repeated: {', '.join(repeated)}"
        )


def _read_csv_table(path: Path, names: Sequence[str], wanted: Sequence[str]) -> Any:
    """Every wanted column as Arrow strings; numbers are recognised per column afterwards."""
    convert = pa_csv.ConvertOptions(
        column_types={name: pa.string() for name in wanted},
        include_columns=list(wanted),
        null_values=list(MISSING_TOKENS),
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
    )
    parse = pa_csv.ParseOptions(newlines_in_values=True)
    try:
        return pa_csv.read_csv(path, parse_options=parse, convert_options=convert)
    except _ARROW_ERRORS as exc:
        text = str(exc)
        if "UTF8" in text:
            raise _not_utf8(path) from None
        if "CSV parse error" in text:
            raise _ragged(path, len(names), text) from None
        raise _unreadable(path, exc) from None


def _ragged(path: Path, width: int, arrow_message: str) -> ValidationError:
    """Find the first row whose field count differs from the header's (Arrow does not say)."""
    try:
        records = _records(path)
        next(records)  # the header
        for line, record in records:
            if len(record) != width:
                return ValidationError(
                    "file",
                    f"{path}: line {line} has {_fields(len(record))} but the header has "
                    f"{_fields(width)}",
                )
    except (csv.Error, OSError, EOFError, UnicodeDecodeError):
        pass
    detail = _short(arrow_message.removeprefix("CSV parse error: "))
    return ValidationError("file", f"{path}: is not valid CSV: {detail}")


def _fields(count: int) -> str:
    return f"{count} field" if count == 1 else f"{count} fields"


def _read_parquet_table(path: Path, wanted: Sequence[str]) -> Any:
    try:
        return pq.read_table(path, columns=list(wanted))
    except _ARROW_ERRORS as exc:
        raise _not_parquet(path, exc) from None


def _as_floats(column: Any) -> FloatArray | None:
    """The column as float64 (NaN for null), or None when some value is not a number."""
    try:
        numbers = pc.cast(column, pa.float64(), safe=False)
    except pa.ArrowInvalid:
        try:  # "1, 2, 3" written with spaces after the commas
            numbers = pc.cast(pc.utf8_trim_whitespace(column), pa.float64(), safe=False)
        except pa.ArrowInvalid:
            return None
    return np.asarray(numbers.to_numpy(), dtype=np.float64).reshape(len(numbers))


def _strings(column: Any, booleans: bool) -> list[str | None]:
    """A string column as a list sharing one str object per distinct value (small in memory).

    With ``booleans``, a column of only true/false spellings becomes ``"true"``/``"false"``.
    """
    encoded = pc.dictionary_encode(column).combine_chunks()  # joins indices, not strings
    values: list[str | None] = [str(v) for v in encoded.dictionary.to_pylist()]
    if booleans and values and {str(v).lower() for v in values} <= _BOOLEANS.keys():
        values = [_BOOLEANS[str(v).lower()] for v in values]
    lookup = np.array([*values, None], dtype=object)
    codes = pc.fill_null(encoded.indices, len(values)).to_numpy(zero_copy_only=False)
    strings: list[str | None] = lookup[codes].tolist()
    return strings


def _csv_column(path: Path, name: str, column: Any, categorical: bool) -> Column:
    numbers = _as_floats(column)
    if numbers is None:
        return _strings(column, booleans=True)
    if categorical and pc.any(pc.match_substring_regex(column, _LEADING_ZERO)).as_py():
        return _strings(column, booleans=False)  # codes such as "00501": keep the text
    return numbers


def _parquet_column(path: Path, name: str, column: Any, categorical: bool) -> Column:
    kind = column.type
    if pa.types.is_dictionary(kind):
        column = pc.cast(column, kind.value_type)
        kind = kind.value_type
    if pa.types.is_null(kind):
        return np.full(len(column), np.nan)
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        numbers = pc.cast(column, pa.float64(), safe=False).to_numpy()
        return np.asarray(numbers, dtype=np.float64).reshape(len(column))
    if pa.types.is_boolean(kind):
        keyed = pc.if_else(column, "true", "false")
        return _strings(keyed, booleans=False)
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return _strings(column, booleans=False)
    if hasattr(pa.types, "is_string_view") and pa.types.is_string_view(kind):
        return _strings(pc.cast(column, pa.string()), booleans=False)
    raise ValidationError(
        "file",
        f"{path}: column {name!r} holds {kind}, which live rows cannot carry as JSON; "
        f"pass --ignore {name} (or name it as the --id or --timestamp column)",
    )


# --- roles ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Assignment:
    roles: dict[str, str]
    """Role to column, for the roles the file has."""
    features: tuple[str, ...]
    ignored: tuple[str, ...]


def _listing(names: Sequence[str]) -> str:
    shown = ", ".join(names[:_SHOWN_COLUMNS])
    more = len(names) - _SHOWN_COLUMNS
    return f"{shown}, … ({more} more)" if more > 0 else shown


def _assign(path: Path, names: Sequence[str], roles: Roles) -> _Assignment:
    """Resolve every role to a column of ``names``; whatever is left is a feature."""
    present = set(names)

    def absent(option: str, name: str) -> ValidationError:
        return ValidationError(
            option, f"{path.name} has no column {name!r}; its columns: {_listing(names)}"
        )

    explicit = {role: getattr(roles, role) for role in ROLES if getattr(roles, role)}
    owner: dict[str, str] = {}
    for role, name in explicit.items():
        if name not in present:
            raise absent(f"--{role}", name)
        if name in owner:
            raise ValidationError(f"--{role}", f"{name!r} is already the {owner[name]} column")
        owner[name] = role
    for option, listed in (("--ignore", roles.ignore), ("--categorical", roles.categorical)):
        for name in listed:
            if name not in present:
                raise absent(option, name)
            if name in owner:
                raise ValidationError(option, f"{name!r} is the {owner[name]} column")
    ignored = set(roles.ignore)
    for name in roles.categorical:
        if name in ignored:
            raise ValidationError("--categorical", f"{name!r} is also ignored (--ignore)")
    assigned = dict(explicit)
    for role in ROLES:
        if role not in assigned and role in present and role not in owner and role not in ignored:
            assigned[role] = owner[role] = role
    for name in roles.categorical:
        if name in owner:  # took a conventional role
            raise ValidationError(
                "--categorical", f"{name!r} is the {owner[name]} column, not a feature"
            )
    features = tuple(n for n in names if n not in owner and n not in ignored)
    if not features:
        raise ValidationError(
            "file",
            f"{path}: has no feature columns (every column is a role or ignored): "
            f"{_listing(names)}",
        )
    return _Assignment(assigned, features, tuple(n for n in names if n in ignored))


# --- the profile ---------------------------------------------------------------------------


def load_reference(
    path: Path,
    roles: Roles,
    *,
    importances: Mapping[str, float] | None = None,
    bins: int = DEFAULT_BINS,
    max_categories: int = DEFAULT_MAX_CATEGORIES,
) -> tuple[ReferenceProfile, ReferenceSummary]:
    """Read ``path`` and reduce it to the model's reference profile, with what was understood.

    The id and timestamp columns are never read: they identify rows, they do not describe
    the data. The label is read only to compute the reference accuracy the live realized
    accuracy can be held against.
    """
    names = read_header(path)
    plan = _assign(path, names, roles)
    for name in importances or {}:
        if name not in plan.features:
            role = next((r for r, c in plan.roles.items() if c == name), None)
            why = (
                f"is the {role} column, not a feature"
                if role
                else "is ignored (--ignore)"
                if name in plan.ignored
                else f"is not a column of {path.name}"
            )
            raise ValidationError(f"importances.{name}", why)
    used = {plan.roles[r] for r in ("prediction", "confidence", "label") if r in plan.roles}
    columns = read_columns(
        path, columns=set(plan.features) | used, categorical=set(roles.categorical)
    )
    for name in plan.features:
        if _all_missing(columns[name]):
            raise ValidationError(
                f"features.{name}",
                f"is empty on every row of {path.name}; pass --ignore {name}",
            )
    prediction = columns.pop(plan.roles["prediction"]) if "prediction" in plan.roles else None
    confidence = columns.pop(plan.roles["confidence"]) if "confidence" in plan.roles else None
    label = columns.pop(plan.roles["label"]) if "label" in plan.roles else None
    # The kinds are known from the column types: naming them spares build_profile a Python
    # pass over every value of every text column to infer what it would infer anyway.
    forced = set(roles.categorical)
    kinds: dict[str, Kind] = {
        name: "numeric" if isinstance(values, np.ndarray) and name not in forced else "categorical"
        for name, values in columns.items()
    }
    profile = build_profile(
        columns,
        kinds=kinds,
        prediction=prediction,
        confidence=confidence,
        importances=importances,
        bins=bins,
        max_categories=max_categories,
    )
    del columns, confidence
    accuracy, labelled, warnings = None, 0, []
    if label is not None and prediction is not None:
        if isinstance(profile.prediction, CategoricalProfile):
            accuracy, labelled = _agreement(prediction, label)
            if accuracy is None:
                warnings.append("no row has both a prediction and a label: no accuracy")
            elif accuracy == 0.0:
                warnings.append(
                    "no prediction equals its label: are the prediction and label columns "
                    "the same kind of value (1/0 against fraud/legit)?"
                )
        else:
            warnings.append(
                "the prediction is numeric (a regression output), so no reference accuracy"
            )
    summary = ReferenceSummary(
        rows=profile.n_rows,
        features=tuple((f.name, f.kind) for f in profile.features),
        prediction=plan.roles.get("prediction"),
        prediction_kind=profile.prediction.kind if profile.prediction else None,
        confidence=plan.roles.get("confidence"),
        label=plan.roles.get("label"),
        id=plan.roles.get("id"),
        timestamp=plan.roles.get("timestamp"),
        ignored=plan.ignored,
        accuracy=accuracy,
        labelled=labelled,
        warnings=tuple(warnings),
    )
    return profile, summary


def _all_missing(values: Column) -> bool:
    if isinstance(values, np.ndarray):
        return bool(np.isnan(values).all())
    return all(v is None for v in values)


def _keys(values: Column) -> list[str | None]:
    """Category keys as the monitor computes them for live predictions and labels."""
    items = values.tolist() if isinstance(values, np.ndarray) else list(values)
    return [v if v is None or type(v) is str else category_key(v) for v in items]


def _agreement(prediction: Column, label: Column) -> tuple[float | None, int]:
    """Share of rows with both values where the prediction's key equals the label's."""
    if isinstance(prediction, np.ndarray) and isinstance(label, np.ndarray):
        both = ~(np.isnan(prediction) | np.isnan(label))  # equal floats <=> equal keys
        labelled = int(both.sum())
        hits = int((prediction[both] == label[both]).sum())
    else:
        pairs = [
            (p, t)
            for p, t in zip(_keys(prediction), _keys(label), strict=True)
            if p is not None and t is not None
        ]
        labelled = len(pairs)
        hits = sum(p == t for p, t in pairs)
    return (hits / labelled if labelled else None), labelled


# --- importances ---------------------------------------------------------------------------


def parse_importances(text: str) -> dict[str, float]:
    """Feature importances from a JSON object file or inline ``income=0.31,debt_ratio=0.2``.

    Text naming an existing file is read as JSON; text with ``=`` is inline pairs. Names are
    checked against the reference later (``load_reference``), here only the shape is.
    """
    path = Path(text)
    if path.is_file():
        return _importances_file(path)
    if "=" not in text:
        if text.lower().endswith(".json"):
            raise ValidationError("importances", f"{text}: no such file")
        raise ValidationError(
            "importances",
            "must be a JSON file or NAME=WEIGHT pairs separated by commas "
            f"(income=0.31,debt_ratio=0.2), not {_short(text, 60)!r}",
        )
    out: dict[str, float] = {}
    for pair in text.split(","):
        name, sep, raw = (part.strip() for part in pair.partition("="))
        if not pair.strip():
            continue
        if not sep or not name:
            raise ValidationError("importances", f"{pair.strip()!r} is not NAME=WEIGHT")
        if name in out:
            raise ValidationError(f"importances.{name}", "is given twice")
        try:
            weight = float(raw)
        except ValueError:
            raise ValidationError(f"importances.{name}", f"{raw!r} is not a number") from None
        out[name] = _weight(name, weight)
    return out  # not empty: the text holds "=", so some pair was kept or refused


def _weight(name: str, weight: float) -> float:
    if not math.isfinite(weight):
        raise ValidationError(f"importances.{name}", "must be a finite number")
    return weight


def _importances_file(path: Path) -> dict[str, float]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ValidationError("importances", f"{path}: cannot be read: {reason}") from None
    except json.JSONDecodeError as exc:
        raise ValidationError(
            "importances", f"{path}: line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    if not isinstance(data, dict):
        raise ValidationError(
            "importances", f'{path}: must hold a JSON object {{"feature": weight, ...}}'
        )
    out: dict[str, float] = {}
    for name, weight in data.items():
        if isinstance(weight, bool) or not isinstance(weight, int | float):
            raise ValidationError(f"importances.{name}", "must be a number")
        out[name] = _weight(name, float(weight))
    if not out:
        raise ValidationError("importances", f"{path}: names no feature")
    return out


__all__ = [
    "MISSING_TOKENS",
    "ReferenceSummary",
    "Roles",
    "file_format",
    "load_reference",
    "parse_importances",
    "read_columns",
    "read_header",
]
