"""The evidence charts: real PNGs that decode to the size asked for, whatever the data lacks."""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from PIL import Image

from bot.evidence.charts import (
    DPI,
    HEIGHT_IN,
    MAX_BARS,
    WIDTH_IN,
    accuracy_chart,
    bin_labels,
    drift_chart,
)
from bot.monitoring.watched import AccuracyPoint
from bot.quality.binning import bin_counts
from bot.quality.profile import CategoricalProfile, NumericProfile, build_profile

T0 = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
SIZE = (int(WIDTH_IN * DPI), int(HEIGHT_IN * DPI))


def decoded(png: bytes) -> Image.Image:
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    image = Image.open(io.BytesIO(png))
    image.load()  # a truncated or corrupt file fails here
    return image


def painted(image: Image.Image) -> int:
    """How many distinct colours the picture holds: a blank frame has a handful."""
    colours = image.convert("RGB").getcolors(maxcolors=1 << 16)
    return len(colours) if colours is not None else 1 << 16


def profiles() -> tuple[NumericProfile, CategoricalProfile, CategoricalProfile]:
    rng = np.random.default_rng(0)
    n = 4000
    built = build_profile(
        {
            "income": rng.normal(55, 18, n),
            "region": rng.choice(["north", "south", "east"], n),
            "city": [f"city-{i % 60}" for i in range(n)],
        },
        max_categories=50,
    )
    income, region, city = built.features
    assert isinstance(income, NumericProfile)
    assert isinstance(region, CategoricalProfile)
    assert isinstance(city, CategoricalProfile)
    return income, region, city


def test_a_numeric_feature_draws_a_decodable_png_of_the_asked_size() -> None:
    income, _, _ = profiles()
    current = bin_counts(np.random.default_rng(1).normal(80, 18, 1000), income.edges_array())
    png = drift_chart(income, current, model="credit", psi=0.61, window_text="last 1,000 rows")
    image = decoded(png)
    assert image.size == SIZE
    assert painted(image) > 50  # bars, text and antialiasing, not an empty frame


def test_numeric_labels_are_open_at_both_ends_and_align_with_the_bins() -> None:
    income, _, _ = profiles()
    labels = bin_labels(income)
    assert len(labels) == len(income.histogram)
    assert labels[0].startswith("< ")
    assert labels[-1].startswith("≥ ")  # values past the reference range land here
    assert " to " in labels[1]


def test_a_categorical_feature_labels_its_categories_and_the_unseen_bin() -> None:
    _, region, _ = profiles()
    assert bin_labels(region) == [*region.categories, "unseen"]  # complete: only new values
    png = drift_chart(
        region, [100, 300, 500, 100], model="credit", psi=0.4, window_text="last 1,000 rows"
    )
    assert decoded(png).size == SIZE


def test_many_categories_are_pooled_into_a_readable_number_of_bars() -> None:
    _, _, city = profiles()
    assert len(city.histogram) > MAX_BARS
    assert bin_labels(city)[-1] == "other"  # a tail was pooled: not only new values there
    counts = np.arange(len(city.histogram))
    png = drift_chart(city, counts, model="credit", psi=0.3, window_text="last 1,000 rows")
    assert decoded(png).size == SIZE


def test_an_empty_window_draws_the_reference_alone() -> None:
    income, region, _ = profiles()
    for profile in (income, region):
        zeros = np.zeros(len(profile.histogram), dtype=np.int64)
        png = drift_chart(profile, zeros, model="credit", psi=0.0, window_text="last 0 rows")
        assert decoded(png).size == SIZE


def test_counts_that_do_not_match_the_reference_bins_are_refused() -> None:
    income, _, _ = profiles()
    with pytest.raises(ValueError, match="current bins"):
        drift_chart(income, [1, 2, 3], model="credit", psi=0.1, window_text="last 6 rows")


def history(n: int, *, estimated: bool = True, realized: bool = True) -> list[AccuracyPoint]:
    return [
        AccuracyPoint(
            T0 + timedelta(minutes=i),
            0.9 - 0.002 * i if estimated else None,
            0.88 - 0.002 * i if estimated else None,
            0.92 - 0.002 * i if estimated else None,
            0.91 - 0.003 * i if realized and i >= n // 3 else None,
        )
        for i in range(n)
    ]


@pytest.mark.parametrize(
    ("points", "sla"),
    [
        pytest.param(history(120), 0.85, id="estimate-band-realized-and-sla"),
        pytest.param(history(60, realized=False), 0.85, id="estimate-only"),
        pytest.param(history(60, estimated=False), None, id="realized-only-no-sla"),
        pytest.param(history(1), 0.85, id="single-point"),
        pytest.param(history(1, estimated=False), None, id="single-realized-point"),
        pytest.param([], 0.9, id="no-points"),
    ],
)
def test_accuracy_over_time_draws_whatever_figures_there_are(
    points: list[AccuracyPoint], sla: float | None
) -> None:
    image = decoded(accuracy_chart(points, model="credit", sla=sla))
    assert image.size == SIZE
    assert painted(image) > 20


def test_points_out_of_order_and_any_object_with_the_fields_are_accepted() -> None:
    @dataclass(frozen=True)
    class Point:
        at: datetime
        estimated: float | None
        low: float | None
        high: float | None
        realized: float | None

    points = [Point(T0 + timedelta(minutes=m), 0.8, 0.78, 0.82, None) for m in (5, 1, 3)]
    assert decoded(accuracy_chart(points, model="credit", sla=None)).size == SIZE


def test_renders_in_threads_at_once_all_succeed() -> None:
    income, _, _ = profiles()
    current = bin_counts(np.random.default_rng(2).normal(70, 18, 500), income.edges_array())

    def drift(_: int) -> bytes:
        return drift_chart(income, current, model="credit", psi=0.5, window_text="last 500 rows")

    def accuracy(_: int) -> bytes:
        return accuracy_chart(history(30), model="credit", sla=0.85)

    with ThreadPoolExecutor(max_workers=4) as pool:
        pngs = [*pool.map(drift, range(4)), *pool.map(accuracy, range(4))]
    assert all(decoded(p).size == SIZE for p in pngs)
    assert len({p for p in pngs[:4]}) == 1  # same input, same picture: no shared state leaked
