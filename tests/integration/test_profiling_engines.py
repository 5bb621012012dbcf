"""DuckDB, Apache Spark and the in-process path give the same reference profile and the same
sketch of the same file, CSV or Parquet; the in-process path streams the file in batches and
gives the same sketch whatever their length.

Every count (bins, missing, outside the range, categories, prediction, confidence, rows),
every edge, category, min and max is equal; the float sums of a sketch agree to 1e-9
relative and a profile's mean and std to 1e-12 (each engine sums in its own order). Spark
runs in local mode, one session for the whole test run (``spark`` fixture); without pyspark
or java those tests skip saying why, and fail under ``CI=true``.
"""

from __future__ import annotations

import dataclasses
import math
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bot.monitoring.reference.roles import Roles
from bot.profiling.files import Engine, batch_columns, reference_profile, sketch_file
from bot.quality.profile import NumericProfile, ReferenceProfile
from bot.quality.sketch import Sketch, SketchLayout
from tests.profiling_data import write_files

ARRIVAL = 1_700_000_000_000_000


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """A ``local[2]`` Spark session, started once, stopped at the end of the run."""
    message = ""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        message = "no pyspark: install the 'spark' dependency group (make test does)"
    if not message and shutil.which("java") is None:
        message = "no java: apt-get install openjdk-17-jre-headless (.ci/run does)"
    if message:
        if _in_ci():
            pytest.fail(message + " (CI=true: the Spark tests must run)")
        pytest.skip(message)
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    session = (
        SparkSession.builder.master("local[2]")
        .appName("vigil-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return write_files(tmp_path_factory.mktemp("engines"))


def _profile(path: Path, engine: Engine) -> ReferenceProfile:
    profile, _ = reference_profile(
        path, Roles(), engine=engine, importances=None, bins=10, max_categories=50
    )
    return profile


def _without_moments(profile: ReferenceProfile) -> ReferenceProfile:
    def strip(spec: Any) -> Any:
        if isinstance(spec, NumericProfile):
            return dataclasses.replace(spec, mean=0.0, std=0.0)
        return spec

    return dataclasses.replace(
        profile,
        features=tuple(strip(f) for f in profile.features),
        prediction=strip(profile.prediction),
        confidence=strip(profile.confidence),
        # The label health yardstick's gap is the confidence mean minus the agreement.
        labels=None if profile.labels is None else dataclasses.replace(profile.labels, gap=0.0),
    )


def assert_same_profile(got: ReferenceProfile, want: ReferenceProfile) -> None:
    assert _without_moments(got) == _without_moments(want)
    pairs = zip(
        (*got.features, got.prediction, got.confidence),
        (*want.features, want.prediction, want.confidence),
        strict=True,
    )
    for a, b in pairs:
        if isinstance(a, NumericProfile) and isinstance(b, NumericProfile):
            assert math.isclose(a.mean, b.mean, rel_tol=1e-12, abs_tol=1e-15)
            assert math.isclose(a.std, b.std, rel_tol=1e-12, abs_tol=1e-15)
    if got.labels is not None and want.labels is not None:
        assert got.labels.gap is not None
        assert want.labels.gap is not None
        assert math.isclose(got.labels.gap, want.labels.gap, rel_tol=1e-12, abs_tol=1e-15)


def assert_same_sketch(got: Sketch, want: Sketch) -> None:
    assert np.array_equal(got.counts, want.counts)
    assert np.allclose(got.sums, want.sums, rtol=1e-9, atol=0.0)
    assert (got.first, got.last) == (want.first, want.last)


def _sketch(path: Path, profile: ReferenceProfile, engine: Engine) -> Sketch:
    read = batch_columns(path, profile, Roles())
    return sketch_file(path, SketchLayout(profile), read, engine=engine, arrival=ARRIVAL)


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_duckdb_profiles_and_sketches_as_the_in_process_path(
    files: dict[str, Path], kind: str
) -> None:
    memory = _profile(files[f"ref.{kind}"], "memory")
    assert memory.feature("city").kind == "categorical"
    flags = {"csv": {"true", "false"}, "parquet": {"True", "False"}}[kind]  # CSV: as booleans
    assert set(memory.feature("flag").labels) == {*flags, "__other__"}  # type: ignore[union-attr]
    assert_same_profile(_profile(files[f"ref.{kind}"], "duckdb"), memory)
    want = _sketch(files[f"prod.{kind}"], memory, "memory")
    layout = SketchLayout(memory)
    assert want.counts[layout.rows_at] == 3000
    assert want.counts[layout.outside_at + memory.names.index("city")] > 0  # marseille
    assert want.counts[layout.missing_at + memory.names.index("amount")] > 0
    assert_same_sketch(_sketch(files[f"prod.{kind}"], memory, "duckdb"), want)


def test_spark_profiles_and_sketches_as_duckdb_and_the_in_process_path(
    spark: Any, files: dict[str, Path]
) -> None:
    for kind in ("csv", "parquet"):
        memory = _profile(files[f"ref.{kind}"], "memory")
        assert_same_profile(_profile(files[f"ref.{kind}"], "spark"), memory)
        want = _sketch(files[f"prod.{kind}"], memory, "memory")
        assert_same_sketch(_sketch(files[f"prod.{kind}"], memory, "spark"), want)
        assert_same_sketch(_sketch(files[f"prod.{kind}"], memory, "duckdb"), want)


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_the_in_process_path_streams_a_file_in_batches_to_the_same_sketch(
    files: dict[str, Path], kind: str
) -> None:
    """3,000 rows in batches of 97 (memory flat whatever the file's size): the one-batch
    sketch, and DuckDB's."""
    memory = _profile(files[f"ref.{kind}"], "memory")
    path = files[f"prod.{kind}"]
    layout = SketchLayout(memory)
    read = batch_columns(path, memory, Roles())
    whole = sketch_file(path, layout, read, engine="memory", arrival=ARRIVAL, batch_rows=3000)
    batched = sketch_file(path, layout, read, engine="memory", arrival=ARRIVAL, batch_rows=97)
    assert batched.rows == 3000
    assert_same_sketch(batched, whole)
    assert_same_sketch(batched, _sketch(path, memory, "duckdb"))
