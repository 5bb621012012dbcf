"""Reading a CSV reference file (``.csv`` or ``.csv.gz``) the way pandas reads it.

CSV cells are untyped text. A column whose every non-empty cell parses as a number is
numeric (float64); anything else is text, kept verbatim. Empty cells and the tokens pandas
reads as missing (``NA``, ``NaN``, ``null``, ``None``, ``#N/A`` ... see ``MISSING_TOKENS``)
are missing, so a file pandas wrote reads the way pandas reads it. A text column holding
only ``true``/``false`` (any case: pandas writes ``True``) becomes ``"true"``/``"false"``,
the keys of JSON booleans. A column forced categorical that is all numbers is keyed like
JSON numbers, unless one of its cells has a leading zero (``00501``): then the codes are
text and every cell is kept verbatim.

The data goes through ``pyarrow.csv`` (multi-threaded C, about 8 times faster than the
``csv`` module); the header, and the line of a ragged row Arrow does not name, are read
with the ``csv`` module, which knows exact line numbers. A file too big to hold is streamed
in blocks (``csv_blocks``): each block's look at a column (``CsvCells``) is summed over the
file first, so the blocks are then read as one look at the whole column would read them.
"""

from __future__ import annotations

import csv
import gzip
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TextIO

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]
import pyarrow.csv as pa_csv  # type: ignore[import-untyped]

from bot.core.errors import ValidationError
from bot.monitoring.reference.problems import ARROW_ERRORS, short, unreadable
from bot.monitoring.reference.values import as_floats, strings
from bot.quality.binning import FloatArray
from bot.quality.profile import Column

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

_LEADING_ZERO = r"^\s*[+-]?0[0-9]"


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


def csv_header(path: Path) -> tuple[str, ...]:
    """The header line's names; refused when the file is empty, not UTF-8, separated by
    something other than commas, or starts with data."""
    try:
        first = next(_records(path), None)
    except UnicodeDecodeError:
        raise _not_utf8(path) from None
    except csv.Error as exc:
        raise ValidationError("file", f"{path}: line 1: {exc}") from None
    except (OSError, EOFError) as exc:  # gzip.BadGzipFile is an OSError
        raise unreadable(path, exc) from None
    if first is None:
        raise ValidationError("file", f"{path}: is empty (a CSV needs a header line)")
    header = tuple(first[1])
    if len(header) == 1 and any(sep in header[0] for sep in ";\t|"):
        raise ValidationError(
            "file", f"{path}: has one column {header[0]!r}; columns must be separated by commas"
        )
    if _looks_like_data(header):
        shown = short(",".join(header), 80)
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


def _options(wanted: Sequence[str]) -> tuple[Any, Any]:
    convert = pa_csv.ConvertOptions(
        column_types={name: pa.string() for name in wanted},
        include_columns=list(wanted),
        null_values=list(MISSING_TOKENS),
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
    )
    return pa_csv.ParseOptions(newlines_in_values=True), convert


def _arrow_failure(path: Path, width: int, exc: BaseException) -> ValidationError:
    text = str(exc)
    if "UTF8" in text:
        return _not_utf8(path)
    if "CSV parse error" in text:
        return _ragged(path, width, text)
    return unreadable(path, exc)


def read_csv_table(path: Path, names: Sequence[str], wanted: Sequence[str]) -> Any:
    """Every wanted column as Arrow strings; numbers are recognised per column afterwards."""
    parse, convert = _options(wanted)
    try:
        return pa_csv.read_csv(path, parse_options=parse, convert_options=convert)
    except ARROW_ERRORS as exc:
        raise _arrow_failure(path, len(names), exc) from None


def csv_blocks(
    path: Path, names: Sequence[str], wanted: Sequence[str], block_bytes: int
) -> Iterator[Any]:
    """``read_csv_table`` streamed: Arrow record batches of about ``block_bytes`` of the
    file each, so memory stays flat whatever its size (a bad row refused as it would be)."""
    parse, convert = _options(wanted)
    read = pa_csv.ReadOptions(block_size=block_bytes)
    try:
        with pa_csv.open_csv(
            path, read_options=read, parse_options=parse, convert_options=convert
        ) as reader:
            yield from reader
    except ARROW_ERRORS as exc:
        raise _arrow_failure(path, len(names), exc) from None


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
    detail = short(arrow_message.removeprefix("CSV parse error: "))
    return ValidationError("file", f"{path}: is not valid CSV: {detail}")


def _fields(count: int) -> str:
    return f"{count} field" if count == 1 else f"{count} fields"


CsvReading = Literal["number", "text", "boolean"]
"""How a CSV column is read: float64; its text verbatim; its text with true/false spellings
as the keys of JSON booleans."""


@dataclass(frozen=True)
class CsvCells:
    """What decides how a CSV column is read, seen in some of its cells (one block of a
    streamed file). ``+`` joins two looks, so a file's blocks summed decide exactly as one
    look at the whole column (``csv_column``) does: a number column in one block and text
    in a later one is text throughout, as it always was."""

    numbers: bool = True
    """Every cell parses as a number (``as_floats``; no cell, or only missing ones, too)."""
    leading_zero: bool = False
    """A number cell is a code such as ``00501`` (looked for in forced-categorical columns)."""
    booleans: bool = True
    """Every present cell spells true or false, in any case."""

    @classmethod
    def of(cls, column: Any, categorical: bool, numbers: FloatArray | None = None) -> CsvCells:
        """A look at ``column`` (``numbers``: its ``as_floats``, when already cast)."""
        if numbers is None:
            numbers = as_floats(column)
        if numbers is not None:
            code = categorical and pc.any(pc.match_substring_regex(column, _LEADING_ZERO))
            return cls(True, bool(code and code.as_py()), column.null_count == len(column))
        spelled = pc.utf8_lower(column.unique().drop_null())
        only = pc.all(pc.is_in(spelled, value_set=pa.array(["true", "false"])), min_count=0)
        return cls(False, False, bool(only.as_py()))

    def __add__(self, other: CsvCells) -> CsvCells:
        return CsvCells(
            self.numbers and other.numbers,
            self.leading_zero or other.leading_zero,
            self.booleans and other.booleans,
        )

    def reading(self) -> CsvReading:
        if self.numbers:
            return "text" if self.leading_zero else "number"  # "00501": a code, keep the text
        return "boolean" if self.booleans else "text"


def csv_values(
    path: Path, column: Any, reading: CsvReading, numbers: FloatArray | None = None
) -> Column:
    """Some of a column's cells read as the whole column's ``CsvCells`` say."""
    if reading != "number":
        return strings(column, booleans=reading == "boolean")
    if numbers is None:
        numbers = as_floats(column)
    if numbers is None:  # a later block that was not there when the file was looked at
        raise ValidationError("file", f"{path}: changed while it was being read")
    return numbers


def csv_column(path: Path, name: str, column: Any, categorical: bool) -> Column:
    """A column of text cells as numbers when every cell is one, else as its text."""
    numbers = as_floats(column)
    return csv_values(path, column, CsvCells.of(column, categorical, numbers).reading(), numbers)
