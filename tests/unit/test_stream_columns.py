"""The in-process engine streams a file in bounded batches and reads it as it read the whole.

``stream_columns`` must give, batch after batch, exactly the columns ``read_columns`` gives
for the whole file, however the file is cut: a CSV column's type is the whole column's (a
number column with text further down is text from its first row on; true/false spellings
are booleans only when the whole column spells them; a forced-categorical code with a
leading zero keeps every cell's text), so ``vigil model profile --engine memory`` on a file
of any size counts what it counted when it read the file whole.
"""

from __future__ import annotations

import gzip
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bot.core.errors import ValidationError
from bot.monitoring.reference.columns import read_columns, stream_columns
from bot.monitoring.reference.roles import Roles
from bot.profiling.files import batch_columns, reference_profile, sketch_file
from bot.profiling.sketching import count_columns
from bot.quality.profile import CategoricalProfile, Column, ReferenceProfile
from bot.quality.sketch import Sketch, SketchLayout

ARRIVAL = 1_700_000_000_000_000


def _csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[object]]) -> Path:
    lines = [",".join(header)]
    lines += [",".join("" if v is None else str(v) for v in row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _joined(path: Path, rows: int, **kwargs: object) -> dict[str, Column]:
    """``stream_columns``' batches put end to end, checking none is longer than ``rows``."""
    parts: dict[str, list[Column]] = {}
    for columns, length in stream_columns(path, rows=rows, **kwargs):  # type: ignore[arg-type]
        assert 0 < length <= rows
        for name, values in columns.items():
            assert len(values) == length
            parts.setdefault(name, []).append(values)
    out: dict[str, Column] = {}
    for name, pieces in parts.items():
        if all(isinstance(p, np.ndarray) for p in pieces):
            out[name] = np.concatenate(pieces)  # type: ignore[arg-type]
        else:
            out[name] = [v for p in pieces for v in p]  # type: ignore[union-attr]
    return out


def _assert_same_columns(got: dict[str, Column], want: dict[str, Column]) -> None:
    assert list(got) == list(want)
    for name, values in want.items():
        if isinstance(values, np.ndarray):
            assert isinstance(got[name], np.ndarray), name
            assert np.array_equal(got[name], values, equal_nan=True), name
        else:
            assert got[name] == values, name


# Numbers first, text further down: each column's type changes after the first batches.
MIXED_HEADER = ["amount", "code", "flag", "zip", "prediction", "confidence"]
MIXED_ROWS: list[list[object]] = [
    [1.5, "1.50", "True", "501", "a", 0.9],
    [2.5, "2.25", "False", "502", "b", 0.8],
    [3.5, "1.50", "True", "503", "a", 0.7],
    [4.5, "2.25", "False", "", "b", 0.6],
    [5.5, "1.50", "True", "505", "a", 0.5],
    [6.5, "2.25", "False", "506", "b", 0.4],
    [7.5, "1.50", "True", "507", "a", 0.3],
    ["oops", "x", "maybe", "00508", "b", "high"],
    [8.5, "2.25", "False", "509", "a", 0.2],
    ["n/a", "x", "True", "510", "b", 0.1],
]


def test_a_csv_streamed_in_small_batches_reads_as_the_whole_file(tmp_path: Path) -> None:
    path = _csv(tmp_path / "mixed.csv", MIXED_HEADER, MIXED_ROWS)
    whole = read_columns(path, categorical={"zip"})
    assert whole["code"] == [str(r[1]) for r in MIXED_ROWS]  # "1.50" kept as written
    assert whole["flag"][0] == "True"  # not a boolean column: "maybe" further down
    assert whole["zip"][0] == "501"  # "00508" further down: codes kept as text
    assert isinstance(whole["confidence"], list)  # "high" further down
    packed = tmp_path / "mixed.csv.gz"
    packed.write_bytes(gzip.compress(path.read_bytes()))
    for rows in (1, 3, 4, 100):
        # 64-byte Arrow blocks: the first look at each column spans many blocks too.
        for file in (path, packed):
            _assert_same_columns(_joined(file, rows, categorical={"zip"}, block_bytes=64), whole)


def test_a_column_read_as_numbers_whatever_it_holds_streams_as_floats(tmp_path: Path) -> None:
    path = _csv(tmp_path / "mixed.csv", MIXED_HEADER, MIXED_ROWS)
    got = _joined(path, 3, numeric={"amount", "confidence"}, block_bytes=64)
    amount = got["amount"]
    assert isinstance(amount, np.ndarray)
    want = [1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5, np.nan, 8.5, np.nan]  # "oops", "n/a": missing
    assert np.array_equal(amount, np.array(want), equal_nan=True)
    confidence = got["confidence"]
    assert isinstance(confidence, np.ndarray)
    assert np.isnan(confidence[7])  # "high"
    assert confidence[0] == 0.9
    assert got["code"] == [r[1] for r in MIXED_ROWS]  # not read as numbers: not named


def test_a_parquet_file_streamed_in_small_batches_reads_as_the_whole_file(
    tmp_path: Path,
) -> None:
    path = tmp_path / "typed.parquet"
    table = pa.table(
        {
            "amount": pa.array([1.0, None, float("nan"), 4.0, 5.0, 6.0, 7.0]),
            "count": pa.array([1, 2, 3, 4, 5, 6, 7], pa.int32()),
            "plan": pa.array(["a", "b", None, "a", "c", "a", "b"]).dictionary_encode(),
            "flag": [True, False, None, True, True, False, True],
            "note": ["1", "2", "3", "4", "x", "6", "7"],
        }
    )
    pq.write_table(table, path, row_group_size=3)
    whole = read_columns(path)
    for rows in (1, 2, 5, 100):
        _assert_same_columns(_joined(path, rows), whole)
    note = _joined(path, 2, numeric={"note"})["note"]
    assert np.array_equal(note, [1, 2, 3, 4, np.nan, 6, 7], equal_nan=True)  # type: ignore[arg-type]


def test_a_file_with_a_header_only_or_a_ragged_row_late_is_refused_as_before(
    tmp_path: Path,
) -> None:
    empty = _csv(tmp_path / "empty.csv", ["a", "b"], [])
    with pytest.raises(ValidationError, match="has a header but no data rows"):
        list(stream_columns(empty))
    rows: list[list[object]] = [[i, i + 1] for i in range(200)]
    ragged = _csv(tmp_path / "ragged.csv", ["a", "b"], [*rows, [1, 2, 3]])
    with pytest.raises(ValidationError) as streamed:
        list(stream_columns(ragged, rows=7, block_bytes=256))
    with pytest.raises(ValidationError) as whole:
        read_columns(ragged)
    assert streamed.value.detail == whole.value.detail
    assert "line 202 has 3 fields but the header has 2 fields" in whole.value.detail


def _mixed_reference(tmp_path: Path) -> ReferenceProfile:
    rows = [
        [
            float(i % 9),
            ("1.50", "2.25", "x")[i % 3],
            ("True", "False", "maybe")[i % 3],
            str(500 + i % 9),
            ("a", "b")[i % 2],
            (i % 10) / 10,
        ]
        for i in range(60)
    ]
    path = _csv(tmp_path / "ref.csv", MIXED_HEADER, rows)
    profile, _ = reference_profile(
        path,
        Roles(categorical=("zip",)),
        engine="memory",
        importances=None,
        bins=5,
        max_categories=50,
    )
    return profile


def _at(layout: SketchLayout, feature: str, category: str) -> int:
    for spec, _, at, _ in layout.bins:
        if spec.name == feature:
            assert isinstance(spec, CategoricalProfile)
            return at + spec.labels.index(category)
    raise AssertionError(feature)


def test_the_memory_engine_sketches_a_file_in_batches_as_it_did_whole(tmp_path: Path) -> None:
    profile = _mixed_reference(tmp_path)
    layout = SketchLayout(profile)
    path = _csv(tmp_path / "prod.csv", MIXED_HEADER, MIXED_ROWS)
    read = batch_columns(path, profile, Roles())

    def sketch(batch_rows: int) -> Sketch:
        return sketch_file(
            path, layout, read, engine="memory", arrival=ARRIVAL, batch_rows=batch_rows
        )

    cats = {"code", "flag", "zip", "prediction"}
    before = count_columns(  # the engine's old way: the whole file read at once
        layout, read.wanted, read_columns(path, categorical=cats), len(MIXED_ROWS), ARRIVAL
    )
    for batch_rows in (1, 3, 1 << 17):
        got = sketch(batch_rows)
        assert np.array_equal(got.counts, before.counts), batch_rows
        assert np.allclose(got.sums, before.sums, rtol=1e-12, atol=0.0)
        assert (got.first, got.last) == (before.first, before.last)
    got = sketch(3)
    assert got.rows == len(MIXED_ROWS)
    names = profile.names
    assert got.counts[layout.missing_at + names.index("amount")] == 2  # "oops" and "n/a"
    assert got.counts[_at(layout, "code", "1.50")] == 4  # the text, as the reference has it
    assert got.counts[_at(layout, "flag", "True")] == 5  # not "true": "maybe" further down
    assert got.counts[layout.outside_at + names.index("flag")] == 0
