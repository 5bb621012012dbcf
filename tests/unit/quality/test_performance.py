"""Realized metrics from labels: binary and macro, undefined ratios as None, the streaming
confusion-matrix accumulator, and bad input."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from bot.core.errors import ValidationError
from bot.quality.performance import Confusion, classification_metrics


def test_binary_by_hand() -> None:
    # TP 2 (rows 0, 3), FN 1 (row 2), TN 1 (row 1), FP 1 (row 4)
    m = classification_metrics([1, 0, 1, 1, 0], [1, 0, 0, 1, 1], positive=1)
    assert (m.n, m.correct, m.average, m.positive) == (5, 3, "binary", 1)
    assert m.accuracy == pytest.approx(0.6)
    assert m.precision == pytest.approx(2 / 3)
    assert m.recall == pytest.approx(2 / 3)
    assert m.f1 == pytest.approx(2 / 3)


def test_positive_label_is_configurable() -> None:
    m = classification_metrics(["fraud", "ok", "ok"], ["fraud", "fraud", "ok"], positive="ok")
    assert m.precision == 1.0
    assert m.recall == 0.5
    assert m.f1 == pytest.approx(2 / 3)


def test_macro_by_hand_with_a_class_never_predicted() -> None:
    m = classification_metrics(["a", "b", "a", "c"], ["a", "a", "a", "b"])
    assert m.average == "macro"
    assert m.accuracy == 0.5
    by_label = {c.label: c for c in m.per_class}
    assert by_label["a"].precision == pytest.approx(2 / 3)
    assert by_label["c"].precision is None  # nobody predicted c: undefined, not 0
    assert by_label["c"].recall == 0.0
    assert by_label["c"].f1 == 0.0
    assert (by_label["c"].support, by_label["c"].predicted) == (1, 0)
    assert m.precision == pytest.approx((2 / 3 + 0.0) / 2)  # over defined classes only
    assert m.recall == pytest.approx((1.0 + 0.0 + 0.0) / 3)
    assert m.f1 == pytest.approx((0.8 + 0.0 + 0.0) / 3)


def test_precision_undefined_without_predicted_positives() -> None:
    m = classification_metrics([1, 0, 1], [0, 0, 0], positive=1)
    assert m.precision is None
    assert m.recall == 0.0
    assert m.f1 == 0.0
    absent = classification_metrics([0, 0], [0, 0], positive=1)
    assert (absent.precision, absent.recall, absent.f1) == (None, None, None)
    assert absent.accuracy == 1.0


def test_confusion_accumulates_batches_like_one_batch() -> None:
    rng = np.random.default_rng(5)
    y_true = rng.integers(0, 3, 600)
    y_pred = np.where(rng.random(600) < 0.8, y_true, rng.integers(0, 3, 600))
    confusion = Confusion()
    for start in range(0, 600, 250):
        confusion.add(y_true[start : start + 250], y_pred[start : start + 250])
    assert confusion.n == 600
    assert confusion.metrics() == classification_metrics(y_true, y_pred)
    labels, matrix = confusion.matrix()
    assert labels == (0, 1, 2)
    assert matrix.sum() == 600
    assert np.trace(matrix) == int((y_true == y_pred).sum())


def test_confusion_merge_and_round_trip() -> None:
    left, right = Confusion(), Confusion()
    left.add([1, 0], [1, 1])
    right.add([0, 0], [0, 1])
    merged = left.merge(right)
    assert merged.counts() == {(1, 1): 1, (0, 1): 2, (0, 0): 1}
    assert Confusion(merged.counts()).metrics(positive=1) == merged.metrics(positive=1)
    assert left.n == 2  # merge leaves the inputs alone


def test_bool_and_object_labels() -> None:
    m = classification_metrics([True, False, True], [True, True, True], positive=True)
    assert m.precision == pytest.approx(2 / 3)
    mixed = classification_metrics(np.array([1, "x"], dtype=object), np.array([1, 1], dtype=object))
    assert mixed.accuracy == 0.5


@pytest.mark.parametrize(
    ("y_true", "y_pred", "field", "detail"),
    [
        ([1, 0, 1], [1, 0], "y_pred", "has 2 values but y_true has 3; they must align"),
        ([], [], "y_true", "has no values"),
        (
            [1.0, float("nan")],
            [1, 0],
            "y_true",
            "contains NaN or infinite labels; drop unlabelled rows first",
        ),
        (
            np.array([1, None], dtype=object),
            [1, 0],
            "y_true",
            "labels must be ints or strings, got None",
        ),
        ([[1, 0]], [[1, 0]], "y_true", "must be one-dimensional, got shape (1, 2)"),
        (
            [1, 0],
            ["1", "0"],
            "y_pred",
            "labels are strings but y_true's are numbers; "
            "convert one side so equal classes compare equal",
        ),
    ],
)
def test_bad_input(y_true: Any, y_pred: Any, field: str, detail: str) -> None:
    with pytest.raises(ValidationError) as info:
        classification_metrics(y_true, y_pred)
    assert (info.value.field, info.value.detail) == (field, detail)


def test_empty_confusion_and_bad_counts() -> None:
    with pytest.raises(ValidationError) as info:
        Confusion().metrics()
    assert (info.value.field, info.value.detail) == (
        "y_true",
        "no labelled predictions counted yet",
    )
    with pytest.raises(ValidationError) as info:
        Confusion({(1, 1): -1})
    assert info.value.field == "counts"
