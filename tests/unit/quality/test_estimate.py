"""Label-free accuracy estimation (CBPE): hand-computed cases, the calibrated-data property,
the sufficient-statistics path a streaming window uses, and every bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bot.core.errors import ValidationError
from bot.quality.estimate import (
    ConfidenceSums,
    binary_confidence,
    binary_predictions,
    calibration_error,
    confidence_sums,
    estimate_accuracy,
    estimate_binary,
    estimate_from_sums,
)

Z95 = 1.959963984540054


def test_hand_computed_estimate() -> None:
    est = estimate_accuracy([0.9, 0.8, 0.7, 0.6])
    # mean 0.75; variance sum 0.09 + 0.16 + 0.21 + 0.24 = 0.7
    assert est.value == pytest.approx(0.75)
    assert est.std_error == pytest.approx(math.sqrt(0.7) / 4)
    assert est.low == pytest.approx(0.75 - Z95 * math.sqrt(0.7) / 4)
    assert est.high == 1.0  # 0.75 + 0.41 clipped to 1
    assert est.n == 4


def test_interval_level_and_clipping_at_zero() -> None:
    est = estimate_accuracy([0.1, 0.2], level=0.5)
    se = math.sqrt(0.09 + 0.16) / 2
    assert est.value == pytest.approx(0.15)
    assert est.high == pytest.approx(0.15 + 0.6744897501960817 * se)
    assert est.low == 0.0


def test_certain_confidence_has_zero_error() -> None:
    est = estimate_accuracy(np.ones(10))
    assert (est.value, est.std_error, est.low, est.high) == (1.0, 0.0, 1.0, 1.0)


def test_calibrated_data_realized_accuracy_within_four_standard_errors() -> None:
    rng = np.random.default_rng(7)
    confidence = rng.uniform(0.5, 1.0, 20_000)
    correct = rng.random(confidence.size) < confidence
    est = estimate_accuracy(confidence)
    assert abs(correct.mean() - est.value) < 4 * est.std_error
    assert calibration_error(confidence, correct) < 0.02


def test_sums_path_matches_rows_and_merges() -> None:
    rng = np.random.default_rng(3)
    confidence = rng.uniform(0.3, 1.0, 1_000)
    whole = confidence_sums(confidence)
    merged = confidence_sums(confidence[:400]) + confidence_sums(confidence[400:])
    assert merged.n == whole.n
    assert merged.sum_conf == pytest.approx(whole.sum_conf)
    assert merged.sum_var == pytest.approx(whole.sum_var)
    from_rows, from_sums = estimate_accuracy(confidence), merged.estimate()
    assert from_sums.value == pytest.approx(from_rows.value)
    assert from_sums.std_error == pytest.approx(from_rows.std_error)
    assert ConfidenceSums() + whole == whole
    direct = estimate_from_sums(whole.n, whole.sum_conf, whole.sum_var)
    assert direct.value == pytest.approx(confidence.mean())


def test_binary_confidence_and_predictions() -> None:
    scores = [0.9, 0.2, 0.5, 0.4]
    assert binary_confidence(scores) == pytest.approx([0.9, 0.8, 0.5, 0.6])
    assert binary_predictions(scores).tolist() == [True, False, True, False]
    assert binary_confidence(scores, threshold=0.3) == pytest.approx([0.9, 0.8, 0.5, 0.4])


def test_binary_expected_confusion_matrix() -> None:
    est = estimate_binary([0.9, 0.6, 0.2, 0.4])
    # predicted positive: 0.9, 0.6 -> TP 1.5, FP 0.5; predicted negative: FN 0.6, TN 1.4
    assert (est.tp, est.fp, est.fn, est.tn) == pytest.approx((1.5, 0.5, 0.6, 1.4))
    assert est.accuracy == pytest.approx(2.9 / 4)
    assert est.precision == pytest.approx(0.75)
    assert est.recall == pytest.approx(1.5 / 2.1)
    assert est.f1 == pytest.approx(3.0 / 4.1)
    assert est.accuracy == pytest.approx(
        estimate_accuracy(binary_confidence([0.9, 0.6, 0.2, 0.4])).value
    )


def test_binary_precision_undefined_without_predicted_positives() -> None:
    est = estimate_binary([0.1, 0.3])
    assert est.precision is None
    assert est.recall == 0.0
    assert est.f1 == 0.0
    assert estimate_binary([0.0, 0.0]).recall is None


def test_calibration_error_by_hand() -> None:
    # one row per bin: |1-0.9| + |1-0.8| + |0-0.7| + |1-0.6| = 1.4 over 4 rows
    assert calibration_error([0.9, 0.8, 0.7, 0.6], [1, 1, 0, 1]) == pytest.approx(0.35)
    # one bin holding 0.95 and 1.0 (the top edge goes in the last bin): |2 - 1.95| / 2
    assert calibration_error([0.95, 1.0], [True, True]) == pytest.approx(0.025)
    assert calibration_error([0.5, 0.5], [1, 0], bins=1) == 0.0


@pytest.mark.parametrize(
    ("values", "detail"),
    [
        ([], "has no values"),
        ([0.5, float("nan")], "contains NaN or infinite values; drop them first"),
        ([0.5, 1.2], "must lie in [0, 1], got 1.2"),
        ([-0.1], "must lie in [0, 1], got -0.1"),
        ([[0.5, 0.6]], "must be one-dimensional, got shape (1, 2)"),
    ],
)
def test_bad_confidence(values: list[float], detail: str) -> None:
    with pytest.raises(ValidationError) as info:
        estimate_accuracy(values)
    assert info.value.field == "confidence"
    assert info.value.detail == detail


def test_bad_scores_and_threshold() -> None:
    with pytest.raises(ValidationError) as info:
        estimate_binary([0.5, 2.0])
    assert (info.value.field, info.value.detail) == ("scores", "must lie in [0, 1], got 2")
    with pytest.raises(ValidationError) as info:
        binary_confidence([0.5], threshold=1.0)
    assert info.value.field == "threshold"
    assert info.value.detail == "must lie strictly between 0 and 1, got 1"


@pytest.mark.parametrize(
    ("args", "field", "detail"),
    [
        ((0, 0.0, 0.0), "n", "must be at least 1, got 0"),
        ((2.0, 1.0, 0.1), "n", "must be an integer, got float"),
        ((4, 5.0, 0.0), "sum_conf", "must lie in [0, n=4], got 5"),
        ((4, float("nan"), 0.0), "sum_conf", "must be finite, got nan"),
        ((4, 3.0, -0.5), "sum_var", "must lie in [0, 0.75] for n=4 and sum_conf=3, got -0.5"),
        ((4, 3.0, 0.9), "sum_var", "must lie in [0, 0.75] for n=4 and sum_conf=3, got 0.9"),
    ],
)
def test_bad_sums(args: tuple[int, float, float], field: str, detail: str) -> None:
    with pytest.raises(ValidationError) as info:
        estimate_from_sums(*args)
    assert (info.value.field, info.value.detail) == (field, detail)


def test_bad_level() -> None:
    with pytest.raises(ValidationError) as info:
        estimate_accuracy([0.5], level=1.0)
    assert (info.value.field, info.value.detail) == (
        "level",
        "must lie strictly between 0 and 1, got 1",
    )


def test_bad_calibration_inputs() -> None:
    with pytest.raises(ValidationError) as info:
        calibration_error([0.9, 0.8], [1])
    assert info.value.field == "correct"
    assert info.value.detail == "has 1 values but confidence has 2; they must align"
    with pytest.raises(ValidationError) as info:
        calibration_error([0.9], [2])
    assert (info.value.field, info.value.detail) == ("correct", "must be booleans or 0/1")
    with pytest.raises(ValidationError) as info:
        calibration_error([0.9], [1], bins=0)
    assert info.value.field == "bins"
