"""What an engine answers about a file, so one piece of code builds the reference profile.

The reference profile (``bot.quality.profile``) needs, per numeric column, the present and
missing counts, min, max, mean, population std, whether there are at most ``bins`` distinct
values (then the values), else a few order statistics (``bot.profiling.quantiles``), and the
counts at or above each edge; per categorical column, its value counts. An engine (DuckDB,
Spark) answers those as queries over the file, never holding its rows; ``bot.profiling
.reference`` turns the answers into the profile. Columns are seen *normalized*: missing is
SQL NULL (a CSV missing token or a NaN included), numbers are DOUBLE.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, TypeAlias

LEADING_ZERO = r"^\s*[+-]?0[0-9]"
"""A code such as ``00501`` (``csv_file``'s rule, in RE2/Java syntax alike)."""
BOOLEAN_WORDS = ("true", "false")

Source: TypeAlias = Literal["number", "text", "csv-text", "boolean"]
"""How a column's values are read: DOUBLE; text as is (Parquet strings, or CSV codes with a
leading zero); CSV text (``true``/``false`` spellings become booleans' keys); a boolean."""


@dataclass(frozen=True)
class TextStats:
    """A CSV column's cells: how many are present, how many parse as numbers, how many have
    a leading zero (``00501``: a code, not a number, when the column is forced categorical)."""

    present: int
    numeric: int
    leading_zero: int
    booleans: int
    """Cells spelling true or false, in any case."""


@dataclass(frozen=True)
class NumericSummary:
    """One numeric column's one-pass aggregates (NaN counted as missing)."""

    present: int
    missing: int
    infinite: int
    min: float
    max: float
    mean: float
    std: float
    distinct: int
    whole: bool
    """Whether every present value is a whole number (a prediction of class labels?)."""


class Table(Protocol):
    """One file on one engine, its columns normalized as their ``Source`` says."""

    sources: dict[str, Source]

    def close(self) -> None: ...

    def n_rows(self) -> int: ...

    def numeric_summaries(self, names: Sequence[str]) -> dict[str, NumericSummary]: ...

    def distinct_values(self, name: str) -> list[float]:
        """The column's distinct present values (asked only when there are few)."""
        ...

    def order_statistics(self, name: str, positions: Sequence[int]) -> dict[int, float]:
        """The present values at these 0-based positions of the sorted column."""
        ...

    def at_or_above(self, edges: Mapping[str, Sequence[float]]) -> dict[str, list[int]]:
        """Per column, how many present values are at or above each edge."""
        ...

    def value_counts(self, name: str) -> list[tuple[object, int]]:
        """Each present value (str, float or bool) with its count."""
        ...

    def pair_counts(self, first: str, second: str) -> list[tuple[object, object, int]]:
        """Each pair of present values of two columns on the same row, with its count."""
        ...


def source_of_text(stats: TextStats, forced_categorical: bool) -> Source:
    """How ``csv_file.csv_column`` reads a CSV column: numbers when every present cell is
    one (all-empty included), unless forced categorical with a leading-zero code."""
    if stats.numeric < stats.present:
        return "csv-text"
    if forced_categorical and stats.leading_zero:
        return "text"
    return "number"
